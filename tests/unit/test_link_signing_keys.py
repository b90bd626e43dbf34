"""The link-signing keys (docs/decisions/0022-link-key-rotation.md): ``PREGON_LINK_SIGNING_KEY``
signs, it and each of ``PREGON_LINK_SIGNING_KEYS_PREVIOUS`` (comma-separated) verify."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.core.links import link_verifying_keys
from chalicelib.core.settings import get_settings

NOW, BEFORE, EARLIER = "n" * 40, "b" * 40, "e" * 40


@pytest.fixture(autouse=True)
def settings_forgotten() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_the_current_key_verifies_first_then_the_previous_ones_as_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a deployment rotated twice, its list written with spaces, an empty entry and a repeat
    monkeypatch.setenv("PREGON_LINK_SIGNING_KEY", NOW)
    monkeypatch.setenv("PREGON_LINK_SIGNING_KEYS_PREVIOUS", f" {BEFORE} ,,{EARLIER},{BEFORE},{NOW}")
    # Then the keys that verify are the current one, then each previous one once
    assert link_verifying_keys() == (NOW, BEFORE, EARLIER)
    # And the settings never print a key
    assert NOW not in repr(get_settings()) and BEFORE not in repr(get_settings())


def test_a_short_previous_key_stops_the_function_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a previous key of 31 characters (cut short when pasted, say)
    monkeypatch.setenv("PREGON_LINK_SIGNING_KEY", NOW)
    monkeypatch.setenv("PREGON_LINK_SIGNING_KEYS_PREVIOUS", f"{BEFORE},{'s' * 31}")
    # When a link is verified; Then it stops, naming the setting and not the key
    with pytest.raises(
        RuntimeError, match="PREGON_LINK_SIGNING_KEYS_PREVIOUS must have at least 32"
    ) as stopped:
        link_verifying_keys()
    assert "s" * 31 not in str(stopped.value)
