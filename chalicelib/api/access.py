"""Who may call a route, as the route declares it, and the one check of the caller against it.

Every route says its access in ``@route(blueprint, "METHOD /path", access, ...)`` or
``@describe(access=...)`` (chalicelib/api/http.py):

* :data:`PUBLIC`: no credentials (the route has no authorizer);
* :func:`api_key` ``(scope)``: the company's systems with an API key carrying ``scope``, or any staff
  (``api_key(scope, staff_level=1)``: or staff of that level and above only);
* :data:`STAFF`: any staff JWT (levels 1 to 4); API keys are refused;
* :data:`ADMIN`: a staff JWT of level 1 only;
* :data:`USER_IN_PATH_OR_ADMIN`: the staff user named by the path's ``user_id``, or an administrator;
* :func:`staff_with` ``(permission)``: staff whose staff-directory entry holds ``permission`` (U1).
* :data:`OPERATOR`: Pregón's operators only (``Authorization: Operator <token>``, O1/O2); every other
  route refuses them, and they refuse every company credential.

Every staff caller is first looked up in the staff directory (U1): its level, branch and
department are the directory's, and an inactive user gets 403 on every route.

:func:`authorize` applies the declaration and gives the view its :class:`Principal`; the OpenAPI
generator reads the same declaration, so the published security is the enforced one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote

from chalicelib.core.errors import Forbidden, Unauthorized
from chalicelib.tenants.auth.principal import Principal

Kind = Literal["public", "api_key", "staff", "user_in_path", "operator"]
ADMIN_LEVEL = 1
LOWEST_LEVEL = 4


@dataclass(frozen=True)
class Access:
    kind: Kind
    scope: str | None = None  # api_key: the scope an API key must carry
    level: int = LOWEST_LEVEL  # staff: the lowest level allowed (1 is the highest: administrators)
    path_parameter: str | None = None  # user_in_path: the path parameter naming the user
    permission: str | None = None  # staff: a permission the caller's directory entry must hold

    @property
    def public(self) -> bool:
        return self.kind == "public"

    @property
    def api_keys(self) -> bool:
        """Whether an API key (with the scope) may call the route."""
        return self.kind == "api_key"

    @property
    def admin_only(self) -> bool:
        return self.kind == "staff" and self.level == ADMIN_LEVEL


PUBLIC = Access("public")
STAFF = Access("staff")
ADMIN = Access("staff", level=ADMIN_LEVEL)
USER_IN_PATH_OR_ADMIN = Access("user_in_path", path_parameter="user_id")
OPERATOR = Access("operator")


def api_key(scope: str, *, staff_level: int = LOWEST_LEVEL) -> Access:
    """The company's systems with an API key carrying ``scope``; staff of ``staff_level`` or above
    too (any level by default; 1: administrators only)."""
    return Access("api_key", scope=scope, level=staff_level)


def staff_with(permission: str) -> Access:
    """Staff whose entry in the staff directory holds ``permission``; API keys are refused."""
    return Access("staff", permission=permission)


def staff(level: int) -> Access:
    """Staff of ``level`` or above (1 is the highest); API keys are refused."""
    if not ADMIN_LEVEL <= level <= LOWEST_LEVEL:
        raise ValueError(f"staff levels go from {ADMIN_LEVEL} to {LOWEST_LEVEL}, not {level}")
    return Access("staff", level=level)


def principal_of(request: Any) -> Principal:
    """The caller the authorizer let in (its context), or 401 when there is none."""
    context = (request.context or {}).get("authorizer") or {}
    if "company_id" not in context:
        raise Unauthorized("credentials are required")
    return Principal.from_context(context)


def authorize(access: Access, request: Any, path_parameters: dict[str, Any]) -> Principal | None:
    """The caller when ``access`` lets them call the route (None for a public route); else 401/403."""
    if access.public:
        return None
    caller = principal_of(request)
    if access.kind == "operator":
        if caller.kind != "operator":
            raise Forbidden("only Pregón's operators may do this (Authorization: Operator <token>)")
        return caller
    if caller.kind == "operator":
        raise Forbidden("an operator token is not a company credential: use a company's key or staff JWT")
    if caller.kind == "user":
        from chalicelib.tenants.staff import in_directory

        caller = in_directory(caller)  # U1: the directory's level, branch, department; inactive: 403
    if access.kind == "api_key":
        if caller.kind == "api_key" and access.scope not in caller.scopes:
            raise Forbidden(f"this API key lacks the scope {access.scope!r}")
        if caller.kind != "api_key" and caller.level > access.level:
            raise Forbidden(
                f"only an API key with {access.scope!r} or staff of level {access.level} or above may do this"
            )
        return caller
    if caller.kind != "user":
        raise Forbidden(
            "only a company administrator (level 1) may do this"
            if access.admin_only
            else "only company staff may do this"
        )
    if access.kind == "user_in_path":
        named = unquote(str(path_parameters.get(access.path_parameter or "", "")))
        if caller.level != ADMIN_LEVEL and caller.subject != named:
            raise Forbidden("only the user or a company administrator may manage a personal sender account")
        return caller
    if caller.level > access.level:
        raise Forbidden(
            "only a company administrator (level 1) may do this"
            if access.admin_only
            else f"only company staff of level {access.level} or above may do this"
        )
    if access.permission is not None:
        from chalicelib.tenants.staff import has_permission

        if not has_permission(caller, access.permission):
            raise Forbidden(f"only staff with the permission {access.permission!r} may do this")
    return caller
