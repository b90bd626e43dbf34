"""The repository's own Python files, read and parsed once per test process for the tests that
check the code itself (tests/unit/test_security_checks.py, test_sending_clients.py,
test_module_boundaries.py, test_test_layout.py). Parsing chalicelib/ or tests/ takes about half a
CPU-second each, and a process of the whole run is handed several of those files; the trees are
shared, so a test reads them and changes none (test_error_language.py annotates its nodes with
their parents, so it parses its own)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Source:
    path: Path
    name: str  # the path from the repository's root, with "/" (chalicelib/core/secrets.py)
    text: str
    tree: ast.Module


@cache
def parsed_source(path: Path) -> Source:
    text = path.read_text(encoding="utf-8")
    return Source(path, path.relative_to(ROOT).as_posix(), text, ast.parse(text, filename=str(path)))


@cache
def parsed_sources(folder: str) -> tuple[Source, ...]:
    """Every ``*.py`` under ``folder`` (from the repository's root), in path order."""
    return tuple(parsed_source(path) for path in sorted((ROOT / folder).rglob("*.py")))
