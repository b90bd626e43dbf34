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
