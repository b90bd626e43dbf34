"""The published OpenAPI document says what the running app does (Q4): who may call each route,
what each answers. Real DynamoDB Local, moto and SMTP server; the document as generated."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.api.openapi import build_openapi
from tests.steps.answers import body
from tests.steps.tenants import IDENTITY, Tenant

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    from chalicelib.senders.service import delete_sender_account

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
