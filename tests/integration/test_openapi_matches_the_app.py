"""The published OpenAPI document says what the running app does (Q4): who may call each route,
what each answers. Real DynamoDB Local, moto and SMTP server; the document as generated."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.app import Request, Response
from chalice.test import Client

from app import app
from chalicelib.api.openapi import build_openapi
from chalicelib.core.errors import PregonError
from tests.steps.answers import INJECTED_OUTAGES, body
from tests.steps.tenants import IDENTITY, Tenant

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Every answer the app gives in this test run, per operation: (status, content type). Pytest imports
# every test module before running any, so this records the calls of the whole suite, whatever file
# they are in (a run of one file records that file's calls).
ANSWERED: dict[tuple[str, str], set[tuple[int, str]]] = {}


def _record_answers(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """App middleware for tests: note what each operation answered (errors included). Cheap: it is
    on ~15 % of a run's stacks because it wraps every answer, but its own work (a set insert per
    answer, no validation) was 19 of those ~55,000 samples in session 41's profile."""
    operation = (str((request.context or {}).get("resourcePath")), str(request.method).lower())
    try:
        response = get_response(request)
    except PregonError as exc:  # map_errors, outside this middleware, turns it into JSON
        ANSWERED.setdefault(operation, set()).add((exc.status, "application/json"))
        raise
    except Exception:
        if not INJECTED_OUTAGES:  # a 500 a test caused on purpose is not the API's answer
            ANSWERED.setdefault(operation, set()).add((500, "application/json"))
        raise
    content_type = str(response.headers.get("Content-Type") or "").split(";")[0]
    if response.status_code != 500 or not INJECTED_OUTAGES:
        ANSWERED.setdefault(operation, set()).add((response.status_code, content_type))
    return response


app.register_middleware(_record_answers, "http")


def undocumented_answers(document: dict[str, Any]) -> list[str]:
    """Answers given so far in this run that the document does not list for their operation."""
    found = []
    for (path, method), answers in sorted(ANSWERED.items()):
        responses = document["paths"][path][method]["responses"]
        for status, content_type in sorted(answers):
            documented = responses.get(str(status))
            if documented is None:
                found.append(f"{method.upper()} {path}: {status}")
            elif content_type and "content" in documented and content_type not in documented["content"]:
                found.append(f"{method.upper()} {path}: {status} as {content_type}")
    return found


@pytest.fixture(scope="session")
def answers_of_the_whole_run() -> Iterator[dict[str, Any]]:
    """The document, and at the end of the run a last check of the answers of every later test."""
    document = build_openapi()
    yield document
    missing = undocumented_answers(document)
    assert missing == [], "answers the OpenAPI document does not list: " + "; ".join(missing)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op) for path, methods in document["paths"].items() for method, op in methods.items()
    ]


def call(api: Client, method: str, path: str, headers: dict[str, str]) -> Any:
    concrete = re.sub(r"\{[^}]+\}", "someone", path)
    data = b"{}" if method in ("post", "put", "patch") else b""
    return api.http.request(method.upper(), concrete, headers=headers, body=data)


def test_routes_documented_for_staff_only_refuse_api_keys_and_admin_routes_refuse_staff(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    # Given every operation whose security offers no API key, and those for administrators only
    staff_only = [(p, m) for p, m, op in operations(document) if op["security"] == [{"bearerAuth": []}]]
    admin_only = [
        (p, m) for p, m, op in operations(document) if op["description"].startswith("Administrators only")
    ]
    self_or_admin = [
        (p, m) for p, m, op in operations(document) if "the user named in the path" in op["description"]
    ]
    assert ("/sms/auto-replies", "put") in admin_only and ("/sms/auto-replies", "get") in admin_only
    assert ("/users/{user_id}/sender-account", "get") in self_or_admin
    clerk = tenant.staff_headers()

    # When an API key calls the first, and a level-3 clerk the others (not the user in the path)
    # Then each answers 403, as documented
    for path, method in staff_only:
        response = call(api, method, path, tenant.key_headers())
        assert response.status_code == 403, (method, path, response.status_code, response.body)
    for path, method in admin_only + self_or_admin:
        response = call(api, method, path, clerk)
        assert response.status_code == 403, (method, path, response.status_code, response.body)
        assert "403" in document["paths"][path][method]["responses"]


def test_a_personal_sender_account_is_the_users_own_as_documented(api: Client, tenant: Tenant) -> None:
    # Given a level-3 clerk; When they read their own personal sender account
    clerk_id = f"clerk@{tenant.company_id}"
    own = api.http.get(f"/users/{clerk_id}/sender-account", headers=tenant.staff_headers())
    # Then it is not refused (none set yet: 404), while an API key is
    assert own.status_code == 404, own.body
    assert api.http.get(f"/users/{clerk_id}/sender-account", headers=tenant.key_headers()).status_code == 403


def test_exports_answer_the_documented_spreadsheet_type(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    for path, concrete in (
        ("/history/{channel}/export", "/history/email/export"),
        ("/clients/{client_id}/register/export", "/clients/CLI-X/register/export"),
    ):
        # Given what the document says the export answers
        documented = list(document["paths"][path]["get"]["responses"]["200"]["content"])
        if path.startswith("/clients"):
            api.http.put(
                "/clients/CLI-X", headers=tenant.key_headers(), body=json.dumps({"name": "Cliente X"})
            )
        # When staff export; Then the answer is that type, a real workbook
        response = api.http.get(concrete, headers={**tenant.staff_headers(), "Accept": XLSX})
        assert response.status_code == 200, response.body
        assert documented == [XLSX] == [response.headers["Content-Type"]]
        assert response.body[:2] == b"PK"


def test_repeated_parcels_and_events_answer_the_documented_200(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    parcel = json.dumps({"tracking_id": "DUP-1", "waybill_issued": True})
    event = json.dumps({"event_id": "ev-1", "status": "IN_TRANSIT", "occurred_at": "2026-11-02T10:00:00Z"})
    for path, documented, post in (
        ("/parcels", "/parcels", parcel),
        ("/parcels/DUP-1/events", "/parcels/{tracking_id}/events", event),
    ):
        # When the same parcel or event is posted twice
        first = api.http.post(path, headers=tenant.key_headers(), body=post)
        again = api.http.post(path, headers=tenant.key_headers(), body=post)
        # Then the first is 201, the repeat 200, and the document lists both
        assert (first.status_code, again.status_code) == (201, 200), again.body
        assert {"200", "201"} <= set(document["paths"][documented]["post"]["responses"])


def test_what_the_company_has_not_set_up_answers_the_documented_409(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    # Given a company with no SMS settings, no push settings and no working account for invoices
    from chalicelib.messaging.accounts.email import delete_sender_account

    delete_sender_account(tenant.company_id, "tracking")
    admin = tenant.admin_headers()
    calls = [
        ("/sms/test", "/sms/test", admin, {"to": "+5491159876543"}),
        ("/templates/{key}/test", "/templates/invoice/test", admin, {"to": "ana@example.com"}),
        (
            "/clients/{client_id}/devices",
            "/clients/CLI-P/devices",
            tenant.key_headers(),
            {"platform": "fcm", "token": "t" * 40},
        ),
    ]
    api.http.put("/clients/CLI-P", headers=tenant.key_headers(), body=json.dumps({"name": "Cliente P"}))
    for documented, path, headers, data in calls:
        # When the route is called
        response = api.http.post(path, headers=headers, body=json.dumps(data))
        # Then it is a 409 saying what to set up, and the document lists that answer
        assert response.status_code == 409, (path, response.body)
        assert body(response)["error"] == "Conflict"
        assert "409" in document["paths"][documented]["post"]["responses"], documented


def test_a_junior_may_not_read_another_users_personal_account(api: Client, tenant: Tenant) -> None:
    junior = IDENTITY.mint(tenant.company_id, user_id="junior@x", level=4)
    response = api.http.get(
        f"/users/clerk@{tenant.company_id}/sender-account", headers={"Authorization": f"Bearer {junior}"}
    )
    assert response.status_code == 403


# --- every operation, every kind of credential ------------------------------------------------

SCOPE = re.compile(r"an API key with the scope `([^`]+)`")


def expected_to_accept(operation: dict[str, Any], credential: str, scope: str | None) -> bool:
    """What the document promises for one kind of credential: let in (True) or refuse (False)."""
    if operation["security"] == []:
        return True
    if credential == "none" or operation["description"].startswith("Operators only"):
        return False  # (operators' own token: tests/integration/test_operators.py)
    documented_scope = SCOPE.search(operation["description"])
    if credential.startswith("key"):
        return documented_scope is not None and scope == documented_scope.group(1)
    level = int(credential.removeprefix("jwt-level-").removesuffix("-named-in-path"))
    if operation["description"].startswith("Administrators only"):
        return level == 1
    if "with the permission" in operation["description"]:
        return False  # these users' directory entries hold no permission
    if "the user named in the path" in operation["description"]:
        return level == 1 or credential.endswith("-named-in-path")
    lowest = re.search(r"[Ss]taff of level (\d) or above", operation["description"])
    return lowest is None or level <= int(lowest.group(1))


def test_every_operation_lets_in_exactly_the_credentials_its_security_documents(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    # Given every operation of the document, and one credential of each kind: none, an API key with
    # the operation's scope and one without it, staff JWTs of level 1, 3 and 4 (and, for a route
    # about one user, a level-4 JWT of the user the path names)
    from chalicelib.tenants.companies import SCOPES, issue_api_key

    company = tenant.company_id
    keys = {scope: issue_api_key(company, f"only {scope}", [scope]) for scope in SCOPES}
    junior = "junior@x"
    tokens = {level: IDENTITY.mint(company, user_id=f"level{level}@x", level=level) for level in (1, 3, 4)}
    surprises: list[str] = []
    undocumented: list[str] = []
    for path, method, operation in operations(document):
        documented_scope = SCOPE.search(operation["description"])
        scope = documented_scope.group(1) if documented_scope else "parcels:read"
        other_scope = next(s for s in SCOPES if s != scope)
        credentials: list[tuple[str, str | None, dict[str, str]]] = [
            ("none", None, {}),
            ("key-with-scope", scope, {"Authorization": f"ApiKey {keys[scope]}"}),
            ("key-without-scope", other_scope, {"Authorization": f"ApiKey {keys[other_scope]}"}),
        ]
        credentials += [
            (f"jwt-level-{level}", None, {"Authorization": f"Bearer {token}"})
            for level, token in tokens.items()
        ]
        concrete = re.sub(r"\{[^}]+\}", "someone", path)
        if "{user_id}" in path:
            concrete = path.replace("{user_id}", junior)
            named = IDENTITY.mint(company, user_id=junior, level=4)
            credentials.append(("jwt-level-4-named-in-path", None, {"Authorization": f"Bearer {named}"}))
        for credential, key_scope, headers in credentials:
            # When the operation is called with it
            data = b"{}" if method in ("post", "put", "patch") else b""
            response = api.http.request(
                method.upper(),
                concrete,
                headers={**headers, "Content-Type": "application/json"},
                body=data,
            )
            # Then it is let in exactly when the document says so (401/403 otherwise) ...
            accepted = response.status_code not in (401, 403)
            if accepted != expected_to_accept(operation, credential, key_scope):
                surprises.append(f"{method.upper()} {path} {credential}: {response.status_code}")
            if credential == "none" and operation["security"] and response.status_code != 401:
                surprises.append(f"{method.upper()} {path} none: {response.status_code}, not 401")
            # ... and whatever it answers is one of its documented answers, in a documented type
            documented = operation["responses"].get(str(response.status_code))
            if documented is None:
                undocumented.append(f"{method.upper()} {path} {credential}: {response.status_code}")
            elif response.headers.get("Content-Type") and "content" in documented:
                # (the local gateway's own 401 has no Content-Type; API Gateway's is JSON)
                answered = response.headers["Content-Type"].split(";")[0]
                if answered not in documented["content"]:
                    undocumented.append(f"{method.upper()} {path} {credential}: {answered}")
    assert surprises == []
    assert undocumented == []


def test_the_manual_send_unsubscribe_pages_answer_the_documented_html(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    # Given a client of the company and the unsubscribe link of its manual e-mails
    from chalicelib.core.links import manual_unsubscribe_token as unsubscribe_token

    api.http.put("/clients/CLI-U", headers=tenant.key_headers(), body=json.dumps({"name": "Cliente U"}))
    link = f"/public/manual-sends/unsubscribe?token={unsubscribe_token(tenant.company_id, 'CLI-U')}"
    for method, headers, data in (
        ("get", {}, b""),
        ("post", {"Content-Type": "application/x-www-form-urlencoded"}, b"List-Unsubscribe=One-Click"),
    ):
        # When the page is opened, and its button (or a mail program's one-click) posts
        response = api.http.request(method.upper(), link, headers=headers, body=data)
        # Then the answer is an HTML page, which is what the document says the 200 is
        documented = document["paths"]["/public/manual-sends/unsubscribe"][method]["responses"]["200"]
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"].startswith("text/html")
        assert list(documented["content"]) == ["text/html"]


def test_the_unsubscribe_button_answers_a_page_the_document_lists(
    api: Client, tenant: Tenant, document: dict[str, Any]
) -> None:
    # Given Ana follows a parcel, and the unsubscribe link of her alerts
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe, unsubscribe_token

    issued = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "TRK-H1", "waybill_issued": True}),
    )
    assert issued.status_code == 201, issued.body
    subscription = subscribe(
        tenant.company_id, "TRK-H1", Subscriber("Ana", "Paz", "ana@example.com", None), source="staff"
    ).subscription
    token = unsubscribe_token(
        tenant.company_id,
        "TRK-H1",
        subscription.subscription_id,
        subscription.link_nonce,
        subscription.expires_at,
    )
    # When she presses the page's button (her browser accepts HTML)
    done = api.http.post(
        f"/public/unsubscribe?token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=b"",
    )
    # Then she gets a page, and the document lists a page among the 200's answers (beside the JSON
    # a mail program's one-click gets)
    assert done.status_code == 200, done.body
    assert done.headers["Content-Type"].startswith("text/html")
    for path in ("/public/unsubscribe", "/public/subscriptions/confirm"):
        content = document["paths"][path]["post"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/html"}, path


def test_every_answer_the_app_gave_in_this_run_is_documented(
    answers_of_the_whole_run: dict[str, Any],
) -> None:
    # Given every answer the app has given so far in this test run (every test file that ran before
    # this one; the ones after are checked when the run ends)
    assert ANSWERED, "no answer was recorded: is the recording middleware registered?"
    # When each is looked up in the document, under its operation
    # Then its status, and its content type, are listed there
    assert undocumented_answers(answers_of_the_whole_run) == []
