"""The operator credential (O1, O2): Pregón's own staff, who onboard companies and manage their
keys. It is not a company JWT nor an API key: ``Authorization: Operator <token>``, where only the
token's SHA-256 is configuration (``PREGON_OPERATOR_TOKEN_SHA256``, from the stage's settings or
Secrets Manager on AWS), compared in constant time."""

from __future__ import annotations

import hashlib
import secrets

from chalicelib.core.secrets import same_secret
from chalicelib.core.settings import get_settings
from chalicelib.tenants.auth.principal import Principal

OPERATOR = "operator"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_operator_token() -> tuple[str, str]:
    """A fresh token (256 random bits) and the hash to configure."""
    token = f"op_{secrets.token_urlsafe(32)}"
    return token, token_hash(token)


def verify_operator_token(presented: str) -> Principal | None:
    """The operator when ``presented`` is the configured token; None otherwise (also when no
    token is configured)."""
    expected = get_settings().operator_token_sha256
    if not expected or not presented or len(presented) > 200:
        return None
    if not same_secret(token_hash(presented), expected):
        return None
    # The subject names the token (its hash's start), never the token.
    return Principal(company_id="", kind=OPERATOR, subject=f"operator:{expected[:12]}")
