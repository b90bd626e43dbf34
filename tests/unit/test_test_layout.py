"""The tests' own layout: shared steps in ``tests/steps/``, fixtures alone in ``conftest.py``."""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

from tests.steps.sources import parsed_sources

TESTS = Path(__file__).resolve().parents[1]


@cache  # parsed once per process (tests/steps/sources.py; read-only): every file under tests/ takes seconds
def modules() -> dict[str, ast.Module]:
    return {str(source.path.relative_to(TESTS)): source.tree for source in parsed_sources("tests")}


def imported_modules(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def is_fixture(node: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)


def test_no_test_imports_conftest_or_another_test_module() -> None:
    # Given every Python file under tests/
    # When their imports are read (at the top and inside functions)
    wrong = {
        name: sorted(m for m in imported_modules(tree) if m == "tests.conftest" or ".test_" in m)
        for name, tree in modules().items()
    }
    # Then none comes from conftest.py or from a test module: shared steps come from tests.steps
    assert {name: found for name, found in wrong.items() if found} == {}


def test_conftest_holds_only_fixtures() -> None:
    # Given conftest.py
    tree = modules()["conftest.py"]
    # When its top-level functions and classes are listed
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
    # Then every function is a fixture and there is no class
    assert [f.name for f in functions if not is_fixture(f)] == []
    assert classes == []


def test_each_shared_step_is_defined_once() -> None:
    # Given the steps in tests/steps/
    trees = modules()
    steps = {
        node.name
        for name, tree in trees.items()
        if name.startswith("steps/")
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    }
    # When every top-level function and class under tests/ is counted by name
    defined = Counter(
        node.name
        for tree in trees.values()
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
    )
    # Then no step is defined a second time anywhere (one put_client, one body, one Tenant...)
    assert {name: n for name, n in defined.items() if name in steps and n > 1} == {}
    assert {"put_client", "body", "deliver_outboxes", "Tenant", "make_tenant"} <= steps


def test_every_end_to_end_or_beside_test_is_in_a_file_the_test_run_gives_that_pytest() -> None:
    # Given the files the whole run's second pytest collects (infrastructure/local/test.sh)
    script = (TESTS.parent / "infrastructure" / "local" / "test.sh").read_text()
    [listed] = re.findall(r"^beside_files=\(([^)]*)\)", script, re.MULTILINE)
    given = [Path(word) for word in listed.split()]
    assert given and all((TESTS.parent / path).exists() for path in given)
    # When every test module is read for the markers that pytest selects (e2e, beside)
    marked = sorted(
        name
        for name, tree in modules().items()
        if any(
            isinstance(node, ast.Attribute)
            and node.attr in ("e2e", "beside")
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark"
            for node in ast.walk(tree)
        )
    )
    # Then each is in one of those files: a marked test elsewhere would run in neither pytest
    assert marked
    outside = [name for name in marked if not any((Path("tests") / name).is_relative_to(p) for p in given)]
    assert outside == []


def test_the_whole_runs_heaviest_files_exist_and_the_run_hands_them_out_first() -> None:
    from tests.run_order import HEAVIEST

    # Given the files the whole run hands out first (tests/run_order.py) and the script it runs
    script = (TESTS.parent / "infrastructure" / "local" / "test.sh").read_text()
    # Then each is a test file that is there (a renamed one would quietly go back to the end)
    assert HEAVIEST and [name for name in HEAVIEST if not (TESTS.parent / name).is_file()] == []
    assert len(set(HEAVIEST)) == len(HEAVIEST)
    # And the whole run's main pytest loads that order
    assert re.search(r"--dist loadfile -p tests\.run_order", script)
