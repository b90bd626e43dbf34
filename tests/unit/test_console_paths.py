"""The staff console turns values into API paths in one place: segment() in
chalicelib/console/app.js, which encodes a value and refuses an empty one or a path's dot segment
("..", "%2e%2e": a crafted link would otherwise make the console call another of the API's paths
with the user's token). The browser tests in tests/integration/test_console_documents_who_sees.py
show what it does; this one keeps every screen on it."""

from __future__ import annotations

import re
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "chalicelib" / "console"

# A value put after a "/" of a template string, other than a console address ("#/${screen}").
VALUE_AFTER_SLASH = re.compile(r"(?<!#)/\$\{(?!segment\()")
# encodeURIComponent where it does not write a query's value ("?client=${...}").
ENCODED_NOT_AS_QUERY_VALUE = re.compile(r"(?<!=\$\{)encodeURIComponent\(")


def scripts() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(CONSOLE.glob("*.js"))}


def places(pattern: re.Pattern[str]) -> list[str]:
    return [
        f"{name}:{text.count(chr(10), 0, found.start()) + 1}"
        for name, text in scripts().items()
        for found in pattern.finditer(text)
    ]


def test_every_value_in_a_console_api_path_goes_through_segment() -> None:
    # Given the console's scripts
    assert "screen-documents.js" in scripts()
    # When every value a template string puts after a "/" is read
    # Then each goes through segment(), whatever the screen
    assert places(VALUE_AFTER_SLASH) == []


def test_only_segment_encodes_a_path_segment() -> None:
    # Given the console's scripts
    # When every encodeURIComponent that does not write a query's value is read
    # Then there is one: segment()'s own, in app.js
    assert [place.split(":")[0] for place in places(ENCODED_NOT_AS_QUERY_VALUE)] == ["app.js"]
    assert "export function segment(value)" in scripts()["app.js"]
