"""The operator rotates the link-signing key (docs/operations.md, "Rotating the link-signing key"):
a new ``PREGON_LINK_SIGNING_KEY`` signs everything from now on, and the old one goes into
``PREGON_LINK_SIGNING_KEYS_PREVIOUS``, where it only verifies the links already sent."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

NAMES = ("PREGON_LINK_SIGNING_KEY", "PREGON_LINK_SIGNING_KEYS_PREVIOUS")


@dataclass(frozen=True)
class Rotation:
    old: str  # the key that signed what was sent before: now a previous key
    new: str  # the key everything is signed with from now on


def _settings_read_again() -> None:
    from chalicelib.core.settings import get_settings, reset_settings

    reset_settings()
    get_settings()  # read now: inside a test client's call the stage's variables apply


@contextmanager
def link_key_rotated() -> Iterator[Rotation]:
    """The deployment as the runbook leaves it after a rotation (the functions restarted with the
    new settings); the settings as they were afterwards."""
    before = {name: os.environ.get(name) for name in NAMES}
    rotation = Rotation(old=os.environ["PREGON_LINK_SIGNING_KEY"], new=secrets.token_urlsafe(48))
    os.environ["PREGON_LINK_SIGNING_KEY"] = rotation.new
    os.environ["PREGON_LINK_SIGNING_KEYS_PREVIOUS"] = rotation.old
    _settings_read_again()
    try:
        yield rotation
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _settings_read_again()


def signed_with(token: str, key: str) -> dict[str, Any] | None:
    """The claims of a link's token when ``key`` signed it, else None (expiry not checked)."""
    import jwt

    try:
        return dict(jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False}))
    except jwt.InvalidSignatureError:
        return None


def signed_by_a_stranger(token: str) -> str:
    """The same claims, signed with a key that is neither the current nor a previous one."""
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, secrets.token_urlsafe(48), algorithm="HS256")
