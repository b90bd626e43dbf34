"""The one authorizer: ``Authorization: Bearer <staff JWT>``, ``Authorization: ApiKey <key>`` or,
for Pregón's operators, ``Authorization: Operator <token>``.

API Gateway caches each answer for :data:`CACHE_SECONDS` per ``Authorization`` value, so a key
revoked (or past its rotation overlap) is refused within that time on AWS, and on the next call
locally (``chalice local`` and the test client call the authorizer every time). docs/operations.md.
"""

from __future__ import annotations

from chalice import Blueprint
from chalice.app import AuthRequest, AuthResponse

from chalicelib.tenants.auth.api_keys import verify_api_key
from chalicelib.tenants.auth.operators import verify_operator_token
from chalicelib.tenants.auth.principal import Principal
from chalicelib.tenants.auth.tokens import InvalidToken, verify_user_token

auth = Blueprint(__name__)

_DENY = AuthResponse(routes=[], principal_id="anonymous")
CACHE_SECONDS = 300  # API Gateway's authorizer cache (authorizerResultTtlInSeconds)


@auth.authorizer(name="pregon_auth", ttl_seconds=CACHE_SECONDS)
def pregon_auth(request: AuthRequest) -> AuthResponse:
    scheme, _, credential = (request.token or "").strip().partition(" ")
    credential = credential.strip()
    principal: Principal | None = None
    if scheme.lower() == "bearer" and credential:
        try:
            principal = verify_user_token(credential)
        except InvalidToken:
            principal = None
    elif scheme.lower() == "operator" and credential:
        operator = verify_operator_token(credential)
        if operator is None:
            return _DENY
        return AuthResponse(routes=["*"], principal_id=operator.subject, context=operator.to_context())
    elif scheme.lower() == "apikey" and credential:
        key = verify_api_key(credential)
        if key is not None:
            principal = Principal(
                company_id=key.company_id, kind="api_key", subject=f"key:{key.key_id}", scopes=key.scopes
            )
    from chalicelib.tenants.companies import company_in_service

    if principal is None or not company_in_service(principal.company_id):
        # O2: a token for a company that does not exist is refused on every route; so is one
        # for a company suspended or deleted (docs/decisions/0033-a-company-leaves.md)
        return _DENY
    return AuthResponse(routes=["*"], principal_id=principal.subject, context=principal.to_context())
