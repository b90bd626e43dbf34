"""The staff directory (U1), its branches and departments, and the preferred-agent changes (N4)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN_LEVEL, STAFF, api_key, staff_with
from chalicelib.api.http import Routes, flag_param, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

staff = Blueprint(__name__)
route = Routes(staff, schemas="notes_schemas")
# Administrators, or the company's systems with an API key of this scope.
STAFF_READ = api_key("staff:read", staff_level=ADMIN_LEVEL)
STAFF_WRITE = api_key("staff:write", staff_level=ADMIN_LEVEL)
AGENTS = staff_with("change_preferred_agent")
CHANGED_SINCE = {409: "a client of these agents changed since the preview: preview again"}


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


@route("GET /staff/me", STAFF, response="StaffUserOut")
def me(caller: Principal) -> Response:
    """The caller's own entry in the staff directory (added from the token the first time)"""
    from chalicelib.tenants.staff import directory_entry

    return json_response(user_out(directory_entry(caller)))


@route("GET /staff/users", STAFF_READ, response="StaffUsersOut")
def list_users(caller: Principal) -> Response:
    """The company's staff users (administrators, or an API key with staff:read)"""
    from chalicelib.tenants.staff import list_users as fetch

    return json_response({"items": [user_out(u) for u in fetch(caller.company_id)]})


@route(
    "PUT /staff/users/{user_id}",
    STAFF_WRITE,
    body="StaffUserIn",
    response="StaffUserOut",
    status=201,
    existing=200,
)
def save_user(caller: Principal, user_id: str) -> Response:
    """Add a staff user or change the fields given: level, branch, department, permissions, active
    (administrators, or an API key with staff:write)"""
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


@route("GET /staff/colleagues", STAFF, response="ColleaguesOut", query=("without_email",))
def colleagues(caller: Principal) -> Response:
    """The company's active staff users with an e-mail address, by name: whom a register record can be
    told to, with their branch and department; with `without_email=true`, every active user (whom a
    client's agent lists offer: an agent gets no e-mail as such). A level-4 caller gets an opaque
    `handle` for each, never a colleague's user id"""
    from chalicelib.tenants.staff import active_users, colleague_handle, has_email, list_units, shown_user
    from chalicelib.tenants.staff import colleagues as told

    company_id = caller.company_id
    fetch = active_users if flag_param(staff.current_request, "without_email") else told
    branches = {u.code: u.name for u in list_units(company_id, "branches")}
    departments = {u.code: u.name for u in list_units(company_id, "departments")}
    items = [
        {
            "user_id": shown_user(caller, u.user_id),
            "handle": colleague_handle(company_id, u.user_id),
            "name": u.name,
            "branch": branches.get(u.branch, u.branch) if u.branch else None,
            "department": departments.get(u.department, u.department) if u.department else None,
            "has_email": has_email(u),
        }
        for u in fetch(company_id)
    ]
    return json_response({"items": items})


@route("GET /staff/units/{table}", STAFF, response="StaffUnitsOut")
def list_units(caller: Principal, table: str) -> Response:
    """The company's branches or departments (table: branches | departments)"""
    from chalicelib.tenants.staff import list_units as fetch

    return json_response(
        {"items": [{"code": u.code, "name": u.name} for u in fetch(caller.company_id, table)]}
    )


@route("POST /staff/units/{table}", STAFF_WRITE, body="StaffUnitIn", response="StaffUnitOut", status=201)
def save_unit(caller: Principal, table: str) -> Response:
    """Add or rename a branch or a department (administrators, or an API key with staff:write)"""
    from chalicelib.api.notes_schemas import StaffUnitIn
    from chalicelib.tenants.staff import save_unit as save

    body = parse_body(staff.current_request, StaffUnitIn)
    unit = save(caller.company_id, table, body.code, body.name)
    return json_response({"code": unit.code, "name": unit.name}, 201)


# --- preferred agents (N4) -------------------------------------------------------------------------


def change_out(caller: Principal, change: Any) -> dict[str, Any]:
    """A change as ``caller`` is shown it: each person by name, and by user id or handle
    (``api.people``)."""
    from chalicelib.api.people import named, with_names

    answer = {
        "token": change.change_id,
        "state": change.state,
        "moves": with_names(caller, [dict(m) for m in change.moves], "from_agent", "to_agent"),
        "total": change.total,
        "moved": change.moved,
        "skipped": change.skipped,
        "created_by": change.created_by,
        "created_at": change.created_at.isoformat(),
        "applied_by": change.applied_by,
        "applied_at": change.applied_at.isoformat() if change.applied_at else None,
    }
    return named(caller, answer, "created_by", "applied_by")


@route("GET /preferred-agents", AGENTS, response="PreferredAgentsOut")
def preferred_agents(caller: Principal) -> Response:
    """The preferred agents assigned to clients, with how many clients each, and the people who may
    take them (needs the change_preferred_agent permission); a level-4 caller gets each colleague
    by handle, never their user id, and names them so in `change_to`"""
    from chalicelib.api.people import with_names
    from chalicelib.tenants.staff import shown_user
    from chalicelib.tenants.staff_agents import new_agents
    from chalicelib.tenants.staff_agents import preferred_agents as fetch

    rows = [{"agent": a.agent, "clients": a.clients} for a in fetch(caller)]
    people = [{"user_id": shown_user(caller, u.user_id), "name": u.name} for u in new_agents(caller)]
    return json_response({"items": with_names(caller, rows, "agent"), "people": people})


@route("POST /preferred-agents/changes", AGENTS, body="AgentChangesIn", response="AgentChangeOut", status=201)
def preview_change(caller: Principal) -> Response:
    """Preview a change of preferred agents: which agent to which, how many clients, and the token that
    confirms it"""
    from chalicelib.api.notes_schemas import AgentChangesIn
    from chalicelib.tenants.staff_agents import preview

    body = parse_body(staff.current_request, AgentChangesIn)
    return json_response(change_out(caller, preview(caller, dict(body.change_to))), 201)


@route(
    "POST /preferred-agents/apply",
    AGENTS,
    body="AgentChangeApplyIn",
    response="AgentChangeOut",
    status=202,
    existing=200,
    errors=CHANGED_SINCE,
)
def apply_change(caller: Principal) -> Response:
    """Apply a previewed change in one step (idempotent; a job for many clients; a change stalled
    for 5 minutes is resumed by the minute schedule, or by applying it again)"""
    from chalicelib.api.notes_schemas import AgentChangeApplyIn
    from chalicelib.tenants.staff_agents import apply

    body = parse_body(staff.current_request, AgentChangeApplyIn)
    change, started = apply(caller, body.token)
    return json_response(change_out(caller, change), 202 if started else 200)


@route("GET /preferred-agents/changes/{change_id}", AGENTS, response="AgentChangeOut")
def get_change(caller: Principal, change_id: str) -> Response:
    """A preferred-agent change and how far it got"""
    from chalicelib.tenants.staff_agents import get_change as fetch

    return json_response(change_out(caller, fetch(caller, change_id)))
