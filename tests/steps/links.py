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

from tests.steps.settings import environment_kept, settings_read_again

NAMES = ("PREGON_LINK_SIGNING_KEY", "PREGON_LINK_SIGNING_KEYS_PREVIOUS")


@dataclass(frozen=True)
class Rotation:
    old: str  # the key that signed what was sent before: now a previous key
    new: str  # the key everything is signed with from now on


@contextmanager
def link_key_rotated() -> Iterator[Rotation]:
    """The deployment as the runbook leaves it after a rotation (the functions restarted with the
    new settings); the settings as they were afterwards."""
    rotation = Rotation(old=os.environ["PREGON_LINK_SIGNING_KEY"], new=secrets.token_urlsafe(48))
    with environment_kept(NAMES):
        os.environ["PREGON_LINK_SIGNING_KEY"] = rotation.new
        os.environ["PREGON_LINK_SIGNING_KEYS_PREVIOUS"] = rotation.old
        settings_read_again()
        yield rotation


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


@contextmanager
def link_key_dropped() -> Iterator[Rotation]:
    """A rotation whose old key the operator has since dropped (after the runbook's 60 days, or
    at once after a leak): links signed with it verify no more."""
    rotation = Rotation(old=os.environ["PREGON_LINK_SIGNING_KEY"], new=secrets.token_urlsafe(48))
    with environment_kept(NAMES):
        os.environ["PREGON_LINK_SIGNING_KEY"] = rotation.new
        os.environ["PREGON_LINK_SIGNING_KEYS_PREVIOUS"] = ""
        settings_read_again()
        yield rotation
