"""Request fields of the wrong JSON type (Q4): a number or a yes/no given as another type, and a
number where a day goes, are a 422 naming the field and nothing is written, where pydantic's lax
reading took them (true as 1, "no" as false, a Unix time as a day). Real DynamoDB Local and moto."""

from __future__ import annotations

import json

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant


def test_a_boolean_or_a_text_where_a_number_or_a_boolean_goes_is_refused_naming_the_field(
    api: Client, tenant: Tenant
) -> None:
    admin = tenant.admin_headers()
    # When an administrator's (or a system's) call gives true for a number, a number for a
    # boolean, or a text for either, where lax parsing would read true as 1 and "no" as false
    answers = {
        "level": api.http.put("/staff/users/nuevo", headers=admin, body=json.dumps({"level": True})),
        "active": api.http.put(
            "/staff/users/nuevo", headers=admin, body=json.dumps({"level": 4, "active": "no"})
        ),
        "days": api.http.post(
            "/reminders/concepts",
            headers=admin,
            body=json.dumps({"description": "Un día antes", "days": True, "type": "before_due"}),
        ),
        "after_due": api.http.put(
            "/clients/CLI-1/reminders", headers=admin, body=json.dumps({"active": True, "after_due": 1})
        ),
        "delete_after_sending.order": api.http.patch(
            "/documents/settings", headers=admin, body=json.dumps({"delete_after_sending": {"order": "yes"}})
        ),
        "port": api.http.post(
            "/mailboxes",
            headers=admin,
            body=json.dumps({"host": "imap.example.com", "port": True, "username": "ana@example.com"}),
        ),
    }
    # Then each is a 422 naming the field
    for field, response in answers.items():
        assert response.status_code == 422, (field, response.body)
        assert body(response)["errors"][0]["field"] == field, (field, response.body)
    # And nothing was written: no user made an administrator, no concept, PDFs kept
    users = body(api.http.get("/staff/users", headers=admin))["items"]
    assert "nuevo" not in [u["user_id"] for u in users]
    concepts = body(api.http.get("/reminders/concepts", headers=admin))["items"]
    assert "Un día antes" not in [c["description"] for c in concepts]
    assert body(api.http.get("/documents/settings", headers=admin))["delete_after_sending"] == {}


def test_a_number_where_a_day_goes_is_refused_naming_the_field_and_nothing_is_stored(
    api: Client, tenant: Tenant
) -> None:
    from tests.steps.clients import put_client
    from tests.steps.documents import documents_key
    from tests.steps.reminders import erp_headers

    # Given the company's ERP and a client
    erp = erp_headers(tenant)
    put_client(api, erp, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    documents = documents_key(tenant)
    receivable = {
        "document_number": "A-1",
        "client_id": "CLI-1",
        "issued_on": "2026-11-01",
        "due_on": 1798761600,  # 2027-01-01 as a Unix time
        "amount": "10",
        "balance": "10",
        "currency": "ARS",
    }
    line = {"code": "A-100", "description": "Tornillos", "quantity": "1", "unit_price": "10"}
    movement = {"date": 1767225600, "document": "F-1", "amount": "10"}
    # When it sends a Unix time where a day goes (lax parsing read it as that day)
    answers = {
        "receivables[0].due_on": api.http.post(
            "/receivables", headers=erp, body=json.dumps({"receivables": [receivable]})
        ),
        "date": api.http.post(
            "/documents/orders",
            headers=documents,
            body=json.dumps({"number": "P-1", "date": 1767225600, "client_id": "CLI-1", "lines": [line]}),
        ),
        "movements[0].date": api.http.put(
            "/clients/CLI-1/open-movements", headers=documents, body=json.dumps({"movements": [movement]})
        ),
    }
    # Then each is a 422 naming the field, and nothing is stored
    for field, response in answers.items():
        assert response.status_code == 422, (field, response.body)
        assert body(response)["errors"][0]["field"] == field, (field, response.body)
    assert api.http.get("/receivables/A-1", headers=erp).status_code == 404
    assert api.http.get("/documents/sent/order/P-1", headers=tenant.staff_headers()).status_code == 404
