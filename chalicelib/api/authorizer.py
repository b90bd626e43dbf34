"""The one authorizer: ``Authorization: Bearer <staff JWT>`` or ``Authorization: ApiKey <key>``."""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import AuthRequest, AuthResponse

from chalicelib.tenants.auth.api_keys import verify_api_key
from chalicelib.tenants.auth.principal import Principal
from chalicelib.tenants.auth.tokens import InvalidToken, verify_user_token

auth = Blueprint(__name__)

_DENY = AuthResponse(routes=[], principal_id="anonymous")


@auth.authorizer(name="pregon_auth", ttl_seconds=300)
def pregon_auth(request: AuthRequest) -> AuthResponse:
    scheme, _, credential = (request.token or "").strip().partition(" ")
    credential = credential.strip()
    principal: Principal | None = None
    if scheme.lower() == "bearer" and credential:
        try:
            principal = verify_user_token(credential)
        except InvalidToken:
            principal = None
    elif scheme.lower() == "apikey" and credential:
        key = verify_api_key(credential)
        if key is not None:
            principal = Principal(
                company_id=key.company_id, kind="api_key", subject=f"key:{key.key_id}", scopes=key.scopes
            )
    from chalicelib.tenants.companies import company_exists

    if principal is None or not company_exists(principal.company_id):
        return _DENY  # O2: a token for a company that does not exist is refused on every route
    return AuthResponse(routes=["*"], principal_id=principal.subject, context=principal.to_context())
