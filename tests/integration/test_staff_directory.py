"""U1: Pregón keeps the company's staff users. A JWT user seen the first time is added from its
claims; from then on the directory is the truth for level, branch, department and permissions; an
inactive user is refused on every route that needs credentials."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.notes import staff_headers
from tests.steps.races import another_write_after_the_read
from tests.steps.tenants import Tenant, make_tenant


def declared_routes() -> list[tuple[str, str]]:
    """Every route that needs credentials, as the app declares it."""
    from app import app
    from chalicelib.api.http import declaration_of

    return sorted(
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        # (operator routes refuse every company credential before the directory is asked)
        if not declaration_of(entry.view_function).access.public
        and declaration_of(entry.view_function).access.kind != "operator"
    )


def test_a_user_seen_the_first_time_is_added_from_the_tokens_claims(api: Client, tenant: Tenant) -> None:
    # Given a token for a user the directory does not know yet
    lucia = staff_headers(tenant, "lucia", 3, branch="north", department="sales", name="Lucía Pérez")
    # When she calls any route
    response = api.http.get("/staff/me", headers=lucia)
    # Then she is in the directory as the token says
    assert response.status_code == 200, response.body
    me = body(response)
    assert (me["name"], me["level"], me["branch"], me["department"], me["active"], me["source"]) == (
        "Lucía Pérez", 3, "north", "sales", True, "token",
    )  # fmt: skip
    listed = body(api.http.get("/staff/users", headers=tenant.admin_headers()))["items"]
    assert "lucia" in [u["user_id"] for u in listed]


def test_the_directory_then_wins_over_the_token(api: Client, tenant: Tenant) -> None:
    # Given a user whose token says level 1
    boss = staff_headers(tenant, "boss", 1, department="sales")
    assert api.http.get("/sms/auto-replies", headers=boss).status_code == 200
    # When an administrator makes her level 4 in the directory
    response = api.http.put(
        "/staff/users/boss", headers=tenant.admin_headers(), body=json.dumps({"level": 4})
    )
    assert response.status_code == 200, response.body
    # Then the same token no longer opens administrators' routes
    response = api.http.get("/sms/auto-replies", headers=boss)
    assert response.status_code == 403, response.body
    me = body(api.http.get("/staff/me", headers=boss))
    # (and she is still one who came at her first sign-in: an administrator's change says
    # nothing of how she came)
    assert (me["level"], me["source"]) == (4, "token")


def test_only_administrators_or_the_companys_systems_change_users(api: Client, tenant: Tenant) -> None:
    from chalicelib.tenants.companies import issue_api_key

    clerk = staff_headers(tenant, "clerk2", 3, department="sales")
    change = json.dumps({"level": 1})
    assert api.http.put("/staff/users/clerk2", headers=clerk, body=change).status_code == 403
    # The company's systems (an API key with staff:write) add a user with a branch of theirs
    key = issue_api_key(tenant.company_id, "hr", ["staff:write"])
    headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    response = api.http.post(
        "/staff/units/branches", headers=headers, body=json.dumps({"code": "north", "name": "Norte"})
    )
    assert response.status_code == 201, response.body
    new = json.dumps(
        {"name": "Nico", "level": 2, "branch": "north", "permissions": ["change_preferred_agent"]}
    )
    response = api.http.put("/staff/users/nico", headers=headers, body=new)
    assert response.status_code == 201, response.body
    assert body(response)["permissions"] == ["change_preferred_agent"]
    # Bad input is refused naming the field, and nothing changes
    response = api.http.put(
        "/staff/users/nico", headers=headers, body=json.dumps({"branch": "mars", "level": 1})
    )
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "branch"
    response = api.http.put("/staff/users/nico", headers=headers, body=json.dumps({"permissions": ["fly"]}))
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "permissions[0]"
    response = api.http.put("/staff/users/ghost", headers=headers, body=json.dumps({"name": "No level"}))
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "level"
    users = {
        u["user_id"]: u for u in body(api.http.get("/staff/users", headers=tenant.admin_headers()))["items"]
    }
    assert (users["nico"]["level"], users["nico"]["branch"]) == (2, "north") and "ghost" not in users


@pytest.fixture(scope="module")
def deactivated(local_aws: dict[str, str]) -> dict[str, str]:
    """A company whose administrator deactivated a level-1 user who still holds a valid token."""
    from chalice.test import Client as TestClient

    from app import app

    company = make_tenant(None, name="Empresa Inactiva")
    gone = staff_headers(company, "gone", 1, branch="north", department="sales")
    with TestClient(app, stage_name="test") as client:
        assert client.http.get("/staff/me", headers=gone).status_code == 200
        response = client.http.put(
            "/staff/users/gone", headers=company.admin_headers(), body=json.dumps({"active": False})
        )
        assert response.status_code == 200, response.body
    return gone


@pytest.mark.parametrize(("method", "path"), declared_routes())
def test_a_deactivated_user_is_refused_on_every_route(
    api: Client, deactivated: dict[str, str], method: str, path: str
) -> None:
    import re

    concrete = re.sub(r"\{[^}]+\}", "someone", path)
    data = b"{}" if method in ("POST", "PUT", "PATCH") else b""
    response = api.http.request(method, concrete, headers=deactivated, body=data)
    assert response.status_code == 403, (method, path, response.body)
    assert "deactivated" in body(response)["message"]


@pytest.mark.parametrize(
    "address",
    [
        "x@co.example\nBcc: victima@otra.example",
        "uno@co.example, victima@otra.example",
        "Ana <ana@co.example>",
        "ana",
    ],
)
def test_a_staff_address_pregon_could_not_write_to_is_refused_naming_email_and_nothing_is_saved(
    api: Client, tenant: Tenant, address: str
) -> None:
    # Given an administrator
    # When they put a user in the directory with an e-mail field that is not one plain address
    response = api.http.put(
        "/staff/users/rita",
        headers=tenant.admin_headers() | {"Accept-Language": "es"},
        body=json.dumps({"level": 1, "email": address}),
    )
    # Then it is refused naming the field, in Spanish
    assert response.status_code == 422, response.body
    refusal = body(response)
    assert refusal["field"] == "email"
    assert "no es una dirección de e-mail válida" in refusal["message"]
    # And nobody was added
    listed = body(api.http.get("/staff/users", headers=tenant.admin_headers()))["items"]
    assert "rita" not in [u["user_id"] for u in listed]


def test_a_staff_address_is_kept_in_its_normalized_form(api: Client, tenant: Tenant) -> None:
    # When an administrator saves a user's address with its domain in capitals and spaces around it
    response = api.http.put(
        "/staff/users/rita",
        headers=tenant.admin_headers(),
        body=json.dumps({"level": 2, "email": "  Rita.Diaz@CargasDelSur.Example "}),
    )
    # Then the address is kept as one plain address, its domain in lower case
    assert response.status_code in (200, 201), response.body
    assert body(response)["email"] == "Rita.Diaz@cargasdelsur.example"


def _between_read_and_write(monkeypatch: pytest.MonkeyPatch, user_id: str, other_write: Any) -> None:
    """Another request's change lands while a PUT of ``user_id`` is between reading the user and
    writing it: the first read of that user runs ``other_write`` after it (the real directory
    table; only the moment is chosen)."""
    from chalicelib.store import staff as store

    another_write_after_the_read(
        monkeypatch, store, "get_user", other_write, only=lambda company_id, wanted: wanted == user_id
    )


def test_two_changes_to_one_user_at_once_keep_both(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.tenants.companies import issue_api_key
    from chalicelib.tenants.staff import UserFields, forget_cached_users, save_user

    # Given Vera, level 3 in the branch north, active, and the company's HR system
    admin = tenant.admin_headers()
    for table, code in (("branches", "north"), ("departments", "billing")):
        unit = json.dumps({"code": code, "name": code.title()})
        assert api.http.post(f"/staff/units/{table}", headers=admin, body=unit).status_code == 201
    vera = staff_headers(tenant, "vera", 3, branch="north")
    assert api.http.get("/staff/me", headers=vera).status_code == 200
    key = issue_api_key(tenant.company_id, "hr", ["staff:write"])
    hr = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    # When an administrator deactivates her (she left) while the HR system's PUT of her new
    # department is between reading her entry and writing it
    _between_read_and_write(
        monkeypatch, "vera", lambda: save_user(tenant.company_id, "vera", UserFields(active=False))
    )
    response = api.http.put("/staff/users/vera", headers=hr, body=json.dumps({"department": "billing"}))
    # Then both changes hold: she is in billing and she stays deactivated
    assert response.status_code == 200, response.body
    assert (body(response)["department"], body(response)["active"]) == ("billing", False)
    forget_cached_users()
    users = {u["user_id"]: u for u in body(api.http.get("/staff/users", headers=admin))["items"]}
    assert (users["vera"]["department"], users["vera"]["active"], users["vera"]["level"]) == (
        "billing", False, 3,
    )  # fmt: skip
    assert api.http.get("/staff/me", headers=vera).status_code == 403


def test_two_requests_adding_one_user_at_once_add_her_once_and_keep_both(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.tenants.staff import UserFields, forget_cached_users, save_user

    # Given an administrator and a branch
    admin = tenant.admin_headers()
    unit = json.dumps({"code": "north", "name": "Norte"})
    assert api.http.post("/staff/units/branches", headers=admin, body=unit).status_code == 201
    # When two requests add Omar at once: one with his address, the other with his level and
    # branch, the first written while the second is between reading (nobody) and writing
    _between_read_and_write(
        monkeypatch,
        "omar",
        lambda: save_user(tenant.company_id, "omar", UserFields(level=4, email="omar@cargas.example")),
    )
    response = api.http.put(
        "/staff/users/omar", headers=admin, body=json.dumps({"level": 2, "branch": "north"})
    )
    # Then the second answers that it changed him (200, not a second 201) and he has both
    assert response.status_code == 200, response.body
    forget_cached_users()
    users = {u["user_id"]: u for u in body(api.http.get("/staff/users", headers=admin))["items"]}
    assert (users["omar"]["level"], users["omar"]["branch"], users["omar"]["email"]) == (
        2, "north", "omar@cargas.example",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "says"),
    [("level", "1, 2, 3 or 4"), ("active", "true or false"), ("permissions", "[] for none")],
)
def test_a_null_for_a_field_that_cannot_be_cleared_is_refused_naming_it(
    api: Client, tenant: Tenant, field: str, says: str
) -> None:
    # Given Tito, level 2, active, allowed to change preferred agents
    admin = tenant.admin_headers()
    tito = {"level": 2, "permissions": ["change_preferred_agent"]}
    assert api.http.put("/staff/users/tito", headers=admin, body=json.dumps(tito)).status_code == 201
    # When the HR system sends null for a field a user always has
    response = api.http.put("/staff/users/tito", headers=admin, body=json.dumps({field: None}))
    # Then it is refused naming the field (it is not silently ignored), and Tito is as he was
    assert response.status_code == 422, response.body
    assert body(response)["errors"][0]["field"] == field and says in body(response)["errors"][0]["message"]
    users = {u["user_id"]: u for u in body(api.http.get("/staff/users", headers=admin))["items"]}
    assert (users["tito"]["level"], users["tito"]["active"], users["tito"]["permissions"]) == (
        2, True, ["change_preferred_agent"],
    )  # fmt: skip


def test_a_busy_process_keeps_the_entries_it_read_lately(api: Client, tenant: Tenant) -> None:
    from chalicelib.core.domain import StaffUser
    from chalicelib.store.models import StaffUserModel
    from chalicelib.tenants.staff import CACHE_ENTRIES, remember
    from tests.steps.aws import dynamodb_requests

    def another_user(user_id: str) -> None:
        remember(StaffUser(company_id=tenant.company_id, user_id=user_id, level=4))

    # Given Lucía at work, and a process that then sees as many other users as its cache holds
    lucia = staff_headers(tenant, "lucia", 3, name="Lucía Pérez")
    assert api.http.get("/staff/me", headers=lucia).status_code == 200
    for n in range(CACHE_ENTRIES - 1):
        another_user(f"other-{n}")
    assert api.http.get("/staff/me", headers=lucia).status_code == 200
    # When two more users are seen
    another_user("one-more")
    another_user("and-another")
    # Then Lucía's next call costs no read of the directory: the oldest entries made room, not hers
    with dynamodb_requests(StaffUserModel) as reads:
        assert api.http.get("/staff/me", headers=lucia).status_code == 200
    assert reads == []
