"""What the guides say about the local stack is what it does."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_events_guide_names_the_demo_keys_real_scopes() -> None:
    from infrastructure.local.demo import API_KEY_SCOPES

    # Given the events guide's sentence about the demo's key
    text = " ".join((DOCS / "events.md").read_text(encoding="utf-8").split())
    found = re.search(r"The demo's key has the scopes (.+?) \(`API_KEY_SCOPES`", text)
    # When its scopes are read; Then they are exactly the ones the demo issues, events:write included
    assert found, "docs/events.md no longer says which scopes the demo's key has"
    assert re.findall(r"`([a-z]+:[a-z]+)`", found.group(1)) == list(API_KEY_SCOPES)
    assert "tracking scopes only" not in text


def python_blocks(text: str) -> list[str]:
    """Every ```python block of a Markdown text."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_guides_python_examples_import_what_exists() -> None:
    import ast
    import builtins
    import importlib

    # Given every Python example in the guides (a reader copies its imports into their code)
    missing = []
    for path in sorted(DOCS.glob("*.md")):
        for block in python_blocks(path.read_text(encoding="utf-8")):
            try:
                tree = ast.parse(block)
            except SyntaxError:  # signatures written as a reader reads them (`-> "GSM-7" | ...`)
                continue
            # When each name it imports from Pregón's own modules is looked up
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("chalicelib", "infrastructure")
                ):
                    module = importlib.import_module(node.module or "")
                    missing += [
                        f"{path.name}: {node.module}.{a.name}"
                        for a in node.names
                        if not hasattr(module, a.name)
                    ]
            # And every function the example calls is imported or defined in it
            defined = {
                a.asname or a.name
                for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom | ast.Import)
                for a in n.names
            }
            defined |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
            defined |= {
                t.id
                for n in ast.walk(tree)
                if isinstance(n, ast.Assign)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            defined |= {
                a.arg
                for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef)
                for a in n.args.args + n.args.kwonlyargs
            }
            if any(isinstance(n, ast.ImportFrom | ast.Import) for n in ast.walk(tree)):
                called = {
                    n.func.id
                    for n in ast.walk(tree)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                }
                missing += [
                    f"{path.name}: {name}() not imported"
                    for name in sorted(called - defined - set(dir(builtins)))
                ]
    # Then it exists where the example says (docs/sms.md once imported a company_region that never was)
    assert not missing, missing
