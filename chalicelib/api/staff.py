"""The staff directory (U1), its branches and departments, and the preferred-agent changes (N4)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN_LEVEL, STAFF, api_key, staff_with
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

staff = Blueprint(__name__)


def user_out(user: Any) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "level": user.level,
        "branch": user.branch,
        "department": user.department,
        "permissions": list(user.permissions),
        "active": user.active,
        "source": user.source,
    }


@staff.route("/staff/me", methods=["GET"], authorizer=pregon_auth)
@describe(
    staff,
    summary="The caller's own entry in the staff directory (added from the token the first time)",
    response="chalicelib.api.notes_schemas.StaffUserOut",
    access=STAFF,
)
def me(caller: Principal) -> Response:
    from chalicelib.tenants.staff import directory_entry

    return json_response(user_out(directory_entry(caller)))


@staff.route("/staff/users", methods=["GET"], authorizer=pregon_auth)
@describe(
    staff,
    summary="The company's staff users (administrators, or an API key with staff:read)",
    response="chalicelib.api.notes_schemas.StaffUsersOut",
    access=api_key("staff:read", staff_level=ADMIN_LEVEL),
)
def list_users(caller: Principal) -> Response:
    from chalicelib.tenants.staff import list_users as fetch

    return json_response({"items": [user_out(u) for u in fetch(caller.company_id)]})


@staff.route("/staff/users/{user_id}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    staff,
    summary="Add a staff user or change the fields given: level, branch, department, permissions, "
    "active (administrators, or an API key with staff:write)",
    body="chalicelib.api.notes_schemas.StaffUserIn",
    response="chalicelib.api.notes_schemas.StaffUserOut",
    status=201,
    existing=200,
    access=api_key("staff:write", staff_level=ADMIN_LEVEL),
)
def save_user(caller: Principal, user_id: str) -> Response:
    from urllib.parse import unquote

    from chalicelib.api.notes_schemas import StaffUserIn
    from chalicelib.tenants.staff import UserFields
    from chalicelib.tenants.staff import save_user as save

    body = parse_body(staff.current_request, StaffUserIn)
    given = body.model_dump(exclude_unset=True)
    fields = UserFields(
        **{k: v for k, v in given.items() if v is not None and k != "permissions"},
        permissions=tuple(body.permissions) if body.permissions is not None else None,
        cleared=frozenset(k for k, v in given.items() if v is None),
    )
    user, created = save(caller.company_id, unquote(user_id), fields)
    return json_response(user_out(user), 201 if created else 200)


@staff.route("/staff/units/{table}", methods=["GET"], authorizer=pregon_auth)
@describe(
    staff,
    summary="The company's branches or departments (table: branches | departments)",
    response="chalicelib.api.notes_schemas.StaffUnitsOut",
    access=STAFF,
)
def list_units(caller: Principal, table: str) -> Response:
    from chalicelib.tenants.staff import list_units as fetch

    return json_response(
        {"items": [{"code": u.code, "name": u.name} for u in fetch(caller.company_id, table)]}
    )


@staff.route("/staff/units/{table}", methods=["POST"], authorizer=pregon_auth)
@describe(
    staff,
    summary="Add or rename a branch or a department (administrators, or an API key with staff:write)",
    body="chalicelib.api.notes_schemas.StaffUnitIn",
    response="chalicelib.api.notes_schemas.StaffUnitOut",
    status=201,
    access=api_key("staff:write", staff_level=ADMIN_LEVEL),
)
def save_unit(caller: Principal, table: str) -> Response:
    from chalicelib.api.notes_schemas import StaffUnitIn
    from chalicelib.tenants.staff import save_unit as save

    body = parse_body(staff.current_request, StaffUnitIn)
    unit = save(caller.company_id, table, body.code, body.name)
    return json_response({"code": unit.code, "name": unit.name}, 201)


# --- preferred agents (N4) -------------------------------------------------------------------------


def change_out(change: Any) -> dict[str, Any]:
    return {
        "token": change.change_id,
        "state": change.state,
        "moves": list(change.moves),
        "total": change.total,
        "moved": change.moved,
        "skipped": change.skipped,
        "created_by": change.created_by,
        "created_at": change.created_at.isoformat(),
        "applied_by": change.applied_by,
        "applied_at": change.applied_at.isoformat() if change.applied_at else None,
    }


@staff.route("/preferred-agents", methods=["GET"], authorizer=pregon_auth)
@describe(
    staff,
    summary="The preferred agents assigned to clients, with how many clients each (needs the "
    "change_preferred_agent permission)",
    response="chalicelib.api.notes_schemas.PreferredAgentsOut",
    access=staff_with("change_preferred_agent"),
)
def preferred_agents(caller: Principal) -> Response:
    from chalicelib.tenants.staff_agents import preferred_agents as fetch

    return json_response({"items": [{"agent": a.agent, "clients": a.clients} for a in fetch(caller)]})


@staff.route("/preferred-agents/changes", methods=["POST"], authorizer=pregon_auth)
@describe(
    staff,
    summary="Preview a change of preferred agents: which agent to which, how many clients, and "
    "the token that confirms it",
    body="chalicelib.api.notes_schemas.AgentChangesIn",
    response="chalicelib.api.notes_schemas.AgentChangeOut",
    status=201,
    access=staff_with("change_preferred_agent"),
)
def preview_change(caller: Principal) -> Response:
    from chalicelib.api.notes_schemas import AgentChangesIn
    from chalicelib.tenants.staff_agents import preview

    body = parse_body(staff.current_request, AgentChangesIn)
    return json_response(change_out(preview(caller, dict(body.change_to))), 201)


@staff.route("/preferred-agents/apply", methods=["POST"], authorizer=pregon_auth)
@describe(
    staff,
    summary="Apply a previewed change in one step (idempotent; a job for many clients)",
    body="chalicelib.api.notes_schemas.AgentChangeApplyIn",
    response="chalicelib.api.notes_schemas.AgentChangeOut",
    status=202,
    existing=200,
    errors={409: "a client of these agents changed since the preview: preview again"},
    access=staff_with("change_preferred_agent"),
)
def apply_change(caller: Principal) -> Response:
    from chalicelib.api.notes_schemas import AgentChangeApplyIn
    from chalicelib.tenants.staff_agents import apply

    body = parse_body(staff.current_request, AgentChangeApplyIn)
    change, started = apply(caller, body.token)
    return json_response(change_out(change), 202 if started else 200)


@staff.route("/preferred-agents/changes/{change_id}", methods=["GET"], authorizer=pregon_auth)
@describe(
    staff,
    summary="A preferred-agent change and how far it got",
    response="chalicelib.api.notes_schemas.AgentChangeOut",
    access=staff_with("change_preferred_agent"),
)
def get_change(caller: Principal, change_id: str) -> Response:
    from chalicelib.tenants.staff_agents import get_change as fetch

    return json_response(change_out(fetch(caller, change_id)))
