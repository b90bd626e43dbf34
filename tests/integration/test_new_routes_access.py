"""Who may call the routes sessions 30, 31 and 37-39 added (docs/history-and-register.md, "who
sees what"; client search, erasure and webhooks; the access report, held mail, background exports,
the document portal and the operators' suspension and allowances): each kind of caller at each,
through the real authorizer (Chalice's test client, DynamoDB Local). What a caller may do with its
answer is tested with each feature; here only whether the door opens, and that another company's
credentials reach nothing of this company."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.notes import staff_headers
from tests.steps.tenants import Tenant

ROUTES = [
    ("GET", "/sender-accounts"),
    ("POST", "/sender-accounts/all/waiting/cancel"),
    ("GET", "/users/marta%40cargas.example/sender-account/waiting"),
    ("POST", "/users/marta%40cargas.example/sender-account/waiting/cancel"),
    ("GET", "/sms/settings/provider-status"),
    ("PUT", "/sms/settings/sms-masivos-password"),
    ("GET", "/staff/colleagues"),
    ("POST", "/clients/CLI-1/register/R1/notify"),
    ("GET", "/clients/CLI-1/register/R1/task.ics"),
    # session 38: the client's document portal (docs/portal.md), the register's rule at each
    ("GET", "/clients/CLI-1/publications"),
    ("POST", "/clients/CLI-1/publications"),
    ("GET", "/clients/CLI-1/publications/P1"),
    ("PATCH", "/clients/CLI-1/publications/P1"),
    ("DELETE", "/clients/CLI-1/publications/P1"),
    ("POST", "/clients/CLI-1/portal-access"),
    # session 39: revoking the client's portal links
    ("POST", "/clients/CLI-1/portal-access/revoke"),
]
ADMIN_ONLY = {
    "/sender-accounts",
    "/sender-accounts/all/waiting/cancel",
    "/sms/settings/provider-status",
    "/sms/settings/sms-masivos-password",
}
MARTAS = "marta%40cargas.example"


def every_scope_key(tenant: Tenant) -> dict[str, str]:
    from chalicelib.tenants.companies import SCOPES, issue_api_key

    key = issue_api_key(tenant.company_id, "everything", list(SCOPES))
    # ApiKey, the scheme a key is sent with: as a Bearer token it is no credential at all (403 by
    # the authorizer on every route, which is all this caller tested until session 40)
    return {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}


def call(api: Client, method: str, path: str, headers: dict[str, str]) -> Any:
    return api.http.request(method, path, headers=headers, body=b"{}")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_each_new_route_opens_only_to_whom_it_says(
    api: Client, tenant: Tenant, method: str, path: str
) -> None:
    # Given no token, an API key carrying every scope, and staff of each level below administrator
    callers = {
        "no token": {"Content-Type": "application/json"},
        "API key with every scope": every_scope_key(tenant),
        **{f"level {n}": staff_headers(tenant, f"user{n}@cargas.example", n) for n in (2, 3, 4)},
    }
    # When each calls the route
    statuses = {who: call(api, method, path, headers).status_code for who, headers in callers.items()}
    # Then no token is 401 and an API key 403 (none of them is a company system's route)
    assert statuses.pop("no token") == 401
    assert statuses.pop("API key with every scope") == 403
    # And staff below administrator are refused the administrators' routes and the other user's own
    # account, and reach the others (404: the record R1 does not exist; 422: no body to tell anyone)
    refused = path in ADMIN_ONLY or MARTAS in path
    for who, status in statuses.items():
        assert (status == 403) == refused, (who, status)


def test_another_companys_administrator_reaches_nothing_of_this_company(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from chalicelib.tenants.staff import UserFields, save_user
    from tests.steps.clients import put_client
    from tests.steps.history import add_register_record

    # Given a record in this company's register, and a colleague with an address in its directory
    save_user(
        tenant.company_id, "marta", UserFields(name="Marta Núñez", email="marta@estudio.example", level=2)
    )
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    record = add_register_record(api, tenant.staff_headers(), "CLI-1", record_type="call", subject="IVA")
    rid = record["communication_id"]
    other = other_tenant.admin_headers()
    other_key = every_scope_key(other_tenant)
    # When another company's administrator asks for it, tells of it, or lists colleagues
    task = api.http.get(f"/clients/CLI-1/register/{rid}/task.ics", headers=other)
    told = api.http.post(f"/clients/CLI-1/register/{rid}/notify", headers=other, body=b'{"users": ["admin"]}')
    colleagues = body(api.http.get("/staff/colleagues", headers=other))["items"]
    # And its administrator and its key with every scope try the client's portal, its access
    # report and its publications (sessions 37-39)
    client_routes = [
        ("POST", "/clients/CLI-1/portal-access"),
        ("POST", "/clients/CLI-1/portal-access/revoke"),
        ("GET", "/clients/CLI-1/publications"),
        ("POST", "/clients/CLI-1/access-report"),
        ("POST", "/clients/CLI-1/register/exports"),
    ]
    elsewhere = {
        (method, path, who): call(api, method, path, headers).status_code
        for method, path in client_routes
        for who, headers in (("administrator", other), ("key", other_key))
    }
    # Then the record is not found, and the colleagues are their own company's only
    assert (task.status_code, told.status_code) == (404, 404)
    # And no client of theirs goes by that code: 404 to the administrator; the key is refused the
    # staff's routes (403) and, where a key may call (the access report), finds no client (404)
    assert elsewhere == {
        (method, path, who): 404 if who == "administrator" or path.endswith("access-report") else 403
        for method, path, who in elsewhere
    }
    assert "marta" not in [c["user_id"] for c in colleagues]
    assert "marta" in [
        c["user_id"] for c in body(api.http.get("/staff/colleagues", headers=tenant.staff_headers()))["items"]
    ]
    # And asked for every active user (a client's agents), those without an e-mail address too,
    # they list their own company's only, and a level-4 user of this one reads handles, not user ids
    save_user(tenant.company_id, "sinmail", UserFields(name="Sin Correo", level=3))
    everyone = "/staff/colleagues?without_email=true"
    theirs = body(api.http.get(everyone, headers=other))["items"]
    assert not {"marta", "sinmail"} & {c["user_id"] for c in theirs}
    assert "Sin Correo" not in [c["name"] for c in theirs]
    four = staff_headers(tenant, "user4@cargas.example", 4)
    seen = {c["name"]: c for c in body(api.http.get(everyone, headers=four))["items"]}
    assert seen["Sin Correo"]["has_email"] is False
    assert seen["Sin Correo"]["user_id"] == seen["Sin Correo"]["handle"] != "sinmail"


# Session 31's routes: (method, path, who gets in: "read" any staff and a key with clients:read;
# "erase" administrators and a key with clients:write; "admin" administrators; "staff" any staff).
SESSION_31_ROUTES = [
    ("GET", "/clients?q=gomez", "read"),
    ("POST", "/clients/CLI-1/erasure", "erase"),
    ("GET", "/clients/CLI-1/erasure", "erase"),
    ("GET", "/webhooks", "admin"),
    ("POST", "/webhooks", "admin"),
    ("GET", "/webhooks/wh_1", "admin"),
    ("PUT", "/webhooks/wh_1", "admin"),
    ("DELETE", "/webhooks/wh_1", "admin"),
    ("POST", "/webhooks/wh_1/secret", "admin"),
    ("POST", "/webhooks/wh_1/test", "admin"),
    ("GET", "/webhooks/wh_1/deliveries", "staff"),
]
# Sessions 37-39's routes (the portal's are in ROUTES above): "operator" the operators' token only.
# (Only the operator routes that change nothing on an empty body: a suspension would shut the rest.)
SESSION_37_39_ROUTES = [
    ("POST", "/clients/CLI-1/access-report", "erase"),
    ("GET", "/clients/CLI-1/access-report/R1", "erase"),
    ("GET", "/inbound/held", "admin"),
    ("POST", "/inbound/held/release", "admin"),
    ("POST", "/history/email/exports", "staff"),
    ("GET", "/history/email/exports/E1", "staff"),
    ("POST", "/clients/CLI-1/register/exports", "staff"),
    ("GET", "/clients/CLI-1/register/exports/E1", "staff"),
    ("POST", "/notes/report/exports", "staff"),
    ("GET", "/notes/report/exports/E1", "staff"),
    ("GET", "/operator/companies/{company}/suspension", "operator"),
    ("GET", "/operator/companies/{company}/allowances", "operator"),
]
# Session 42's answers that name more (the subscribers of a parcel, which the Seguimientos screen
# now lists; the notes report's client_name; the register's Excel file with its De and Para):
# staff of every level, no API key (the level-4 rule narrows what each answer holds, not the door).
SESSION_42_ROUTES = [
    ("GET", "/parcels/TRK-1/subscriptions", "staff"),
    ("GET", "/notes/report", "staff"),
    ("GET", "/clients/CLI-1/register/export", "staff"),
    # and the follow-ups merged after the first review: every active user (agents without an
    # e-mail), an unassigned SMS's detail and assignment, a record's detail and reply (from_name,
    # to_name, the reply's motive and area), the document lookup (to_address, error); and the public
    # pages' icon, which anyone's browser asks for
    ("GET", "/staff/colleagues?without_email=true", "staff"),
    ("GET", "/inbound/SMS1", "staff"),
    ("POST", "/inbound/SMS1/assign", "staff"),
    ("GET", "/clients/CLI-1/register/R1", "staff"),
    ("POST", "/clients/CLI-1/register/R1/reply", "staff"),
    ("GET", "/documents/sent/statement/EC-1", "staff"),
    ("GET", "/favicon.ico", "public"),
    ("GET", "/assets/favicon.svg", "public"),
]


@pytest.fixture
def operator_token(local_aws: dict[str, str]) -> Iterator[str]:
    import os

    from chalicelib.core.settings import get_settings, reset_settings
    from tests.steps.operators import configure_operator_token

    yield configure_operator_token()
    os.environ.pop("PREGON_OPERATOR_TOKEN_SHA256", None)
    reset_settings()
    get_settings()  # from the tests' environment (configure_operator_token says why)


def test_each_route_of_search_erasure_webhooks_reports_and_exports_opens_only_to_whom_it_says(
    api: Client, tenant: Tenant, operator_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.tenants.companies import SCOPES, issue_api_key
    from tests.steps.operators import operator_headers

    # Given no token, the operators' token, an API key with clients:read, one with clients:write,
    # one with every other scope, staff of each level, and a level-2 user of another department
    scopes = {
        "key clients:read": ["clients:read"],
        "key clients:write": ["clients:write"],
        "key with every other scope": [s for s in SCOPES if not s.startswith("clients:")],
    }
    callers: dict[str, dict[str, str]] = {
        "no token": {"Content-Type": "application/json"},
        "operators' token": operator_headers(operator_token),
        **{
            who: {
                "Authorization": f"ApiKey {issue_api_key(tenant.company_id, who, granted)}",
                "Content-Type": "application/json",
            }
            for who, granted in scopes.items()
        },
        **{f"level {n}": staff_headers(tenant, f"user{n}@cargas.example", n) for n in (1, 2, 3, 4)},
        "level 2 of sales": staff_headers(tenant, "ventas@cargas.example", 2, department="sales"),
    }
    staff = {"level 1", "level 2", "level 3", "level 4", "level 2 of sales"}
    let_in = {
        "read": {"key clients:read", *staff},
        "erase": {"key clients:write", "level 1"},
        "admin": {"level 1"},
        "staff": staff,
        "operator": {"operators' token"},
        "public": set(callers),
    }
    routes = [
        (method, path.format(company=tenant.company_id), kind)
        for method, path, kind in SESSION_31_ROUTES + SESSION_37_39_ROUTES + SESSION_42_ROUTES
    ]
    # When each calls each route
    opened = {
        (method, path, who): call(api, method, path, headers).status_code not in (401, 403)
        for method, path, _ in routes
        for who, headers in callers.items()
    }
    # Then the door opens to exactly whom the route says (past it: 200, 202, 404 or 422)
    assert opened == {
        (method, path, who): who in let_in[kind] for method, path, kind in routes for who in callers
    }


def test_another_companys_staff_read_neither_this_companys_subscribers_nor_its_clients_names(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from tests.steps.clients import put_client
    from tests.steps.notes import report, write_note
    from tests.steps.tracking import issue, staff_subscribe

    # Given a parcel of this company followed by Ana, and a note on its client CLI-1, Ana Pérez
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    issue(api, tenant, "TRK-1")
    staff_subscribe(api, tenant, "TRK-1", "ana@example.com", phone="+5491155550000")
    clerk = staff_headers(tenant, "clerk@cargas.example", 2, department="sales")
    write_note(api, clerk, "CLI-1", "Pide factura A")
    # And another company with a parcel and a client of the same ids, and a note of its own
    put_client(api, other_tenant, "CLI-1", name="Otra Ferretería")
    issue(api, other_tenant, "TRK-1")
    theirs = staff_headers(other_tenant, "boss@otra.example", 1, department="ventas")
    write_note(api, theirs, "CLI-1", "Llamar el lunes")
    # When its administrator lists the parcel's subscribers and reads the notes report
    followers = api.http.get("/parcels/TRK-1/subscriptions", headers=theirs)
    rows = report(api, theirs)
    # Then they read their own parcel's (no one) and their own note, by their client's name
    assert followers.status_code == 200, followers.body
    assert body(followers)["items"] == []
    assert [(r["note"], r["client_name"]) for r in rows] == [("Llamar el lunes", "Otra Ferretería")]
    # And a parcel this company has and theirs has not is not found for them
    issue(api, tenant, "TRK-2")
    staff_subscribe(api, tenant, "TRK-2", "ana@example.com")
    assert api.http.get("/parcels/TRK-2/subscriptions", headers=theirs).status_code == 404
    # While this company's level-4 user reads the subscribers (as the follow-ups list shows them)
    # and, in the report, only their own notes, each with its client's name
    four = staff_headers(tenant, "user4@cargas.example", 4, department="sales")
    write_note(api, four, "CLI-1", "Mía")
    listed = body(api.http.get("/parcels/TRK-1/subscriptions", headers=four))["items"]
    assert [(s["email"], s["phone"]) for s in listed] == [("ana@example.com", "+5491155550000")]
    assert "link_nonce" not in listed[0] and "company_id" not in listed[0]
    assert [(r["note"], r["client_name"]) for r in report(api, four)] == [("Mía", "Ana Pérez")]
