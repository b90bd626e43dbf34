"""A plain reading of an HTML body: for a received message with no text part (its search text)
and for an e-mail of ours whose plain-text body rendered blank (its text/plain alternative)."""

from __future__ import annotations

import html as html_lib
import re

_OPENING = re.compile(r"<(script|style)\b", re.IGNORECASE)
_CLOSING = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_TAG = re.compile(r"<[^<>]*>")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
MAX_MARKUP_CHARS = 2_000_000  # of a longer HTML body, only this much is read


def _without_scripts(markup: str) -> str:
    """``markup`` without its ``<script>`` and ``<style>`` elements, in one pass (an element
    left open runs to the end, as in a browser): a lazy ``<script.*?</script>`` looked for the
    end again from every opening, so unclosed ones took time growing with the square of the size."""
    kept = []
    at = 0
    while (opening := _OPENING.search(markup, at)) is not None:
        kept.append(markup[at : opening.start()])
        closing = _CLOSING[opening.group(1).lower()].search(markup, opening.end())
        if closing is None:
            return "".join(kept)
        at = closing.end()
    kept.append(markup[at:])
    return "".join(kept)


def html_to_text(markup: str) -> str:
    """The text of ``markup`` (of its first :data:`MAX_MARKUP_CHARS`): a line per paragraph,
    ``<br>``, ``div`` or table row, no tags, scripts or styles, entities decoded, runs of blank
    lines made one. Time grows in step with the markup's size, whatever it holds."""
    markup = _without_scripts(markup[:MAX_MARKUP_CHARS])
    text = re.sub(r"<br\s*/?>|</p\s*>|</div\s*>|</tr\s*>", "\n", markup, flags=re.IGNORECASE)
    text = html_lib.unescape(_TAG.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
