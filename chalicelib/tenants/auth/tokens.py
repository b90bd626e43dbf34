"""Staff JWTs. The issuer and its keys are configuration: a local key pair, or Cognito's JWKS."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalicelib.core.settings import get_settings
from chalicelib.tenants.auth.principal import Principal


class InvalidToken(Exception):
    pass


@lru_cache(maxsize=1)
def _jwks_client() -> Any:
    import jwt

    return jwt.PyJWKClient(get_settings().jwks_url, cache_keys=True)


@lru_cache(maxsize=1)
def _inline_keys() -> dict[str, Any]:
    import jwt

    keys = jwt.PyJWKSet.from_json(get_settings().jwks_json).keys
    return {k.key_id or "": k for k in keys}


def _signing_key(token: str) -> Any:
    import jwt

    settings = get_settings()
    if settings.jwks_json:
        kid = jwt.get_unverified_header(token).get("kid") or ""
        keys = _inline_keys()
        if kid not in keys:
            raise InvalidToken("unknown signing key")
        return keys[kid].key
    if settings.jwks_url:
        return _jwks_client().get_signing_key_from_jwt(token).key
    raise InvalidToken("no token issuer is configured")


def verify_user_token(token: str) -> Principal:
    import jwt

    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            _signing_key(token),
            algorithms=["RS256"],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub"]},
        )
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
    company_id = claims.get("custom:company_id")
    level = claims.get("custom:level")
    if not company_id or str(level) not in ("1", "2", "3", "4"):
        raise InvalidToken("the token carries no company or access level")
    return Principal(
        company_id=str(company_id),
        kind="user",
        subject=str(claims["sub"]),
        level=int(str(level)),
        branch=claims.get("custom:branch") or None,
        department=claims.get("custom:department") or None,
        name=str(claims.get("name") or "") or None,
        # An address the identity provider says is not verified is nobody's yet (a personal sender
        # account may speak only as its owner's address, C5).
        email=(str(claims.get("email") or "") or None) if _verified(claims.get("email_verified")) else None,
    )


def _verified(claim: object) -> bool:
    """Whether a token's ``email_verified`` lets its ``email`` stand: absent, or true (Cognito
    writes a boolean, some providers the string ``"true"``)."""
    return claim is None or claim is True or str(claim).lower() == "true"
