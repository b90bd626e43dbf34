"""API keys: ``pk_<key id>.<secret>``. The id is looked up, the secret compared by its hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from chalicelib.core import clock
from chalicelib.core.domain import ApiKey
from chalicelib.core.secrets import same_secret

PREFIX = "pk_"
# O2 "last used": written at most once per key in this time, so a busy key costs one conditional
# write every few minutes, not one per call (the authorizer cache spares most calls anyway).
LAST_USED_EVERY = timedelta(minutes=5)


def _hash(secret: str) -> str:
    # The secret is 256 random bits, so a plain SHA-256 is not brute-forceable. UTF-8, not ASCII:
    # the same bytes for every secret we issue, and a caller's other characters are a wrong secret.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key(company_id: str, name: str, scopes: tuple[str, ...], now: datetime) -> tuple[str, ApiKey]:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(key_id, company_id, name, _hash(secret), scopes, now)
    return f"{PREFIX}{key_id}.{secret}", key


def key_id_of(plaintext: str) -> str:
    """The key id in ``pk_<key id>.<secret>``."""
    return plaintext[len(PREFIX) :].partition(".")[0]


def verify_api_key(presented: str) -> ApiKey | None:
    """The key's record when the presented key is valid and not revoked; None otherwise."""
    if not presented.startswith(PREFIX) or "." not in presented:
        return None
    key_id, _, secret = presented[len(PREFIX) :].partition(".")
    if not key_id or not secret or len(presented) > 200:
        return None
    from chalicelib.store import companies as store  # (not at import: the authorizer starts cold)

    key = store.get_api_key(key_id)
    if key is None:
        return None
    if not same_secret(_hash(secret), key.secret_hash):
        return None
    now = clock.now()
    if not key.usable_at(now):  # revoked, or rotated and past its overlap
        return None
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        store.mark_api_key_used(key.key_id, now, LAST_USED_EVERY)
    return key
