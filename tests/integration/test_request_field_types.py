"""Request fields of the wrong JSON type (Q4): a number or a yes/no given as another type, and a
number where a day goes, are a 422 naming the field and nothing is written, where pydantic's lax
reading took them (true as 1, "no" as false, a Unix time as a day). Real DynamoDB Local and moto."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
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


# --- every other route: one mechanism (parse_body validates in pydantic's strict JSON mode) -------

CLIENT = "CLI-7"
TICKET = {"id": "4711", "subject": "Sin conexión", "status": "En curso"}
PDF = base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode()
A_DAY_AS_UNIX_TIME = 1798761600  # 2027-01-01: lax parsing took it for that day


@dataclass(frozen=True)
class WrongType:
    """A request with one field of the wrong JSON type, and where a user would see it saved."""

    caller: str  # "erp", "back_office", "admin", "staff" or "operator" (see ``callers``)
    method: str
    path: str
    payload: dict[str, Any]
    field: str
    shown_by: str
    shown_at: str


WRONG_TYPES = {
    # business events: a string for a yes/no, a number for a day
    "event notify_client": WrongType(
        "erp",
        "POST",
        "/events/ticket-changed",
        {"event_id": "t-1", "client_id": CLIENT, "notify_client": "yes", "ticket": TICKET},
        "notify_client",
        "staff",
        "/history/email",
    ),
    "event payment day": WrongType(
        "erp",
        "POST",
        "/events/payment-recorded",
        {
            "event_id": "p-1",
            "client_id": CLIENT,
            "payment": {
                "receipt_number": "X-1",
                "amount": "$ 5.000,00",
                "received_on": A_DAY_AS_UNIX_TIME,
                "entry": "automatic",
            },
        },
        "payment.received_on",
        "staff",
        "/history/email",
    ),
    "event invoice day": WrongType(
        "erp",
        "POST",
        "/events/invoice-issued",
        {
            "event_id": "i-1",
            "client_id": CLIENT,
            "invoice": {"number": "A-1", "issued_on": A_DAY_AS_UNIX_TIME, "total": "$ 10,00"},
            "pdf": {"content_base64": PDF},
        },
        "invoice.issued_on",
        "staff",
        "/history/email",
    ),
    # tracking: a parcel issued, its events
    "parcel waybill_issued": WrongType(
        "back_office",
        "POST",
        "/parcels",
        {"tracking_id": "PK-9", "waybill_issued": "no"},
        "waybill_issued",
        "back_office",
        "/parcels/PK-9",
    ),
    "parcel party wants_cargo_info": WrongType(
        "back_office",
        "POST",
        "/parcels",
        {
            "tracking_id": "PK-9",
            "waybill_issued": True,
            "recipient": {"first_name": "Ana", "last_name": "Paz", "wants_cargo_info": 1},
        },
        "recipient.wants_cargo_info",
        "back_office",
        "/parcels/PK-9",
    ),
    "parcel event time": WrongType(
        "back_office",
        "POST",
        "/parcel-events",
        {
            "events": [
                {
                    "tracking_id": "PK-1",
                    "event_id": "e-1",
                    "status": "DELIVERED",
                    "occurred_at": A_DAY_AS_UNIX_TIME,
                }
            ]
        },
        "events[0].occurred_at",
        "back_office",
        "/parcels/PK-1",
    ),
    "client message switch": WrongType(
        "back_office",
        "PUT",
        "/clients/CLI-8",
        {"name": "Cliente 8", "message_switches": {"invoice": 0}},
        "message_switches.invoice",
        "back_office",
        "/clients/CLI-8",
    ),
    # sends (no number, yes/no or day: a client id as a number was refused before too)
    "send client id": WrongType(
        "staff",
        "POST",
        "/sends",
        {"channel": "email", "template": "invoice", "client_ids": [7]},
        "client_ids[0]",
        "staff",
        "/sends",
    ),
    # sender accounts
    "sender account rate": WrongType(
        "admin",
        "PUT",
        "/sender-accounts/billing",
        {
            "display_name": "Cobranzas",
            "from_address": "cobranzas@cargasdelsur.example",
            "rate_limit": {"messages": True, "hours": 1},
        },
        "rate_limit.messages",
        "admin",
        "/sender-accounts",
    ),
    "sender account port": WrongType(
        "admin",
        "PUT",
        "/sender-accounts/billing",
        {
            "display_name": "Cobranzas",
            "from_address": "cobranzas@cargasdelsur.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": "2525",
        },
        "smtp_port",
        "admin",
        "/sender-accounts",
    ),
    "sender account enabled": WrongType(
        "admin",
        "PUT",
        "/sender-accounts/billing",
        {"display_name": "Cobranzas", "from_address": "cobranzas@cargasdelsur.example", "enabled": "no"},
        "enabled",
        "admin",
        "/sender-accounts",
    ),
    # SMS settings and auto-replies
    "sms enabled": WrongType(
        "admin", "PUT", "/sms/settings", {"enabled": "yes"}, "enabled", "admin", "/sms/settings"
    ),
    "auto-reply max_per_day": WrongType(
        "admin",
        "PUT",
        "/sms/auto-replies",
        {"ticket": {"max_per_day": True}},
        "ticket.max_per_day",
        "admin",
        "/sms/auto-replies",
    ),
    # company settings, alerts, status catalog
    "company switch": WrongType(
        "admin",
        "PATCH",
        "/company",
        {"ask_tracking_contacts": "no"},
        "ask_tracking_contacts",
        "staff",
        "/company",
    ),
    "alert frequency": WrongType(
        "admin",
        "PUT",
        "/alerts/tracking",
        {"enabled": True, "frequency_minutes": True},
        "frequency_minutes",
        "staff",
        "/alerts",
    ),
    "status notify": WrongType(
        "admin",
        "PUT",
        "/status-catalog/DELIVERED",
        {"display_name": "Entregado", "visibility": "visible", "notify": "no"},
        "notify",
        "staff",
        "/status-catalog",
    ),
    # templates and history filters (texts only: a number was refused before too)
    "template subject": WrongType(
        "admin",
        "PUT",
        "/templates/invoice",
        {"subject": 1, "text": "Hola", "html": "<p>Hola</p>"},
        "subject",
        "staff",
        "/templates/invoice",
    ),
    "history filter day": WrongType(
        "staff",
        "POST",
        "/history/filters",
        {"name": "Enero", "criteria": {"from": A_DAY_AS_UNIX_TIME}},
        "criteria.from",
        "staff",
        "/history/filters",
    ),
    # operator: a company, a key's rotation
    "operator company": WrongType(
        "operator",
        "POST",
        "/operator/companies",
        {"company_id": "co-strict-types", "name": "Tipos SA", "ask_tracking_contacts": "no"},
        "ask_tracking_contacts",
        "operator",
        "/operator/companies/co-strict-types/api-keys",
    ),
    "operator key rotation": WrongType(
        "operator",
        "POST",
        "/operator/companies/{company}/api-keys/{key}/rotate",
        {"overlap_minutes": True},
        "overlap_minutes",
        "operator",
        "/operator/companies/{company}/api-keys",
    ),
}


@pytest.fixture
def operator_token(local_aws: dict[str, str]) -> Iterator[str]:
    import os

    from chalicelib.core.settings import reset_settings
    from tests.steps.operators import configure_operator_token

    yield configure_operator_token()
    os.environ.pop("PREGON_OPERATOR_TOKEN_SHA256", None)
    reset_settings()


@pytest.mark.parametrize("case", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_a_field_of_the_wrong_json_type_is_refused_naming_it_and_nothing_is_saved(
    api: Client, tenant: Tenant, mailbox: MailCatcher, operator_token: str, case: WrongType
) -> None:
    from chalicelib.tenants.companies import issue_api_key
    from tests.steps.clients import put_client
    from tests.steps.operators import issue_key, operator_headers
    from tests.steps.tenants import smtp_sender_account
    from tests.steps.tracking import issue

    # Given a company whose systems and people would have had this call saved (a client with an
    # address, a sender account for every message, a parcel, an API key the operator issued)
    erp_key = issue_api_key(tenant.company_id, "erp", ["events:write", "clients:write"])
    callers = {
        "erp": {"Authorization": f"ApiKey {erp_key}", "Content-Type": "application/json"},
        "back_office": tenant.key_headers(),
        "admin": tenant.admin_headers(),
        "staff": tenant.staff_headers(),
        "operator": operator_headers(operator_token),
    }
    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "avisos@cargasdelsur.example")
    put_client(api, tenant, CLIENT)
    issue(api, tenant, "PK-1")
    key_id = issue_key(api, operator_token, tenant.company_id, "clients:read")["key_id"]
    path, shown_at = (p.format(company=tenant.company_id, key=key_id) for p in (case.path, case.shown_at))
    before = api.http.get(shown_at, headers=callers[case.shown_by])

    # When the call gives the wrong JSON type for one field
    answer = api.http.request(
        case.method, path, headers=callers[case.caller], body=json.dumps(case.payload).encode()
    )

    # Then it is a 422 naming the field
    assert answer.status_code == 422, answer.body
    assert [error["field"] for error in body(answer)["errors"]] == [case.field], answer.body
    # And nothing was saved: what a user sees is as before
    after = api.http.get(shown_at, headers=callers[case.shown_by])
    assert (after.status_code, after.body) == (before.status_code, before.body)


def test_a_text_with_a_lone_surrogate_is_still_refused_naming_the_field(api: Client, tenant: Tenant) -> None:
    # When the back office sends a client whose name JSON writes with a lone UTF-16 surrogate
    # ("\ud800": no text holds one, and DynamoDB cannot store it as UTF-8)
    answer = api.http.put(
        "/clients/CLI-9", headers=tenant.key_headers(), body=b'{"name": "Ferreter\\ud800a", "emails": []}'
    )
    # Then it is a 422 naming the field, as before strict reading, and the client is not stored
    assert answer.status_code == 422, answer.body
    assert body(answer)["field"] == "name", answer.body
    assert api.http.get("/clients/CLI-9", headers=tenant.key_headers()).status_code == 404
