"""The ERP's receivables and a client's reminder settings, as their calls send them (R1-R3)."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant


def erp_headers(tenant: Tenant) -> dict[str, str]:
    """An API key of the ERP with ``receivables:write`` and ``clients:write``."""
    from chalicelib.tenants.companies import issue_api_key

    key = issue_api_key(tenant.company_id, "erp", ["receivables:write", "clients:write"])
    return {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}


def receivable(number: str, due_on: str, client_id: str = "CLI-1", **fields: Any) -> dict[str, Any]:
    """A receivable of ``$ 12.345,67`` (all of it owed) issued on 2026-11-01."""
    return {
        "document_number": number,
        "client_id": client_id,
        "issued_on": "2026-11-01",
        "due_on": due_on,
        "amount": "12345.67",
        "balance": "12345.67",
        "currency": "ARS",
    } | fields


def push(api: Client, headers: dict[str, str], *receivables: dict[str, Any]) -> Any:
    return api.http.post("/receivables", headers=headers, body=json.dumps({"receivables": list(receivables)}))


def push_ok(api: Client, headers: dict[str, str], *receivables: dict[str, Any]) -> Any:
    response = push(api, headers, *receivables)
    assert response.status_code == 200, response.body
    return body(response)


def set_reminders(api: Client, headers: dict[str, str], client_id: str, **settings: Any) -> Any:
    return api.http.put(f"/clients/{client_id}/reminders", headers=headers, body=json.dumps(settings))


def set_reminders_ok(api: Client, headers: dict[str, str], client_id: str, **settings: Any) -> Any:
    response = set_reminders(api, headers, client_id, **settings)
    assert response.status_code == 200, response.body
    return body(response)


def run_now(api: Client, tenant: Tenant) -> Any:
    """An administrator runs today's reminders (what the daily run does)."""
    response = api.http.post("/reminders/run", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    return body(response)


def preview_run(api: Client, tenant: Tenant) -> Any:
    response = api.http.get("/reminders/preview", headers=tenant.staff_headers())
    assert response.status_code == 200, response.body
    return body(response)
