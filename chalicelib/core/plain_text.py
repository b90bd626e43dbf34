"""A plain reading of an HTML body: for a received message with no text part (its search text)
and for an e-mail of ours whose plain-text body rendered blank (its text/plain alternative)."""

from __future__ import annotations

import html as html_lib
import re

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def html_to_text(markup: str) -> str:
    """The text of ``markup``: a line per paragraph, ``<br>``, ``div`` or table row, no tags,
    scripts or styles, entities decoded, runs of blank lines made one."""
    text = re.sub(r"<br\s*/?>|</p\s*>|</div\s*>|</tr\s*>", "\n", markup, flags=re.IGNORECASE)
    text = html_lib.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
