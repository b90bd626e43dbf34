"""A client's erasure (docs/privacy.md) asked for by the administrator while another writer is
under way: the moment it starts is chosen, the rest runs as in production."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.documents import documents_key, post_document
from tests.steps.history import add_register_record, send_email
from tests.steps.notes import write_note
from tests.steps.outbox import deliver_outboxes, run_minute_schedule
from tests.steps.reminders import erp_headers, push_ok, receivable
from tests.steps.tenants import Tenant, smtp_sender_account
from tests.steps.tracking import post_event, staff_subscribe, sweep

ANA = "ANA-PEREZ"
ANAS = "ana.perez@correo.example"
BETO = "BETO-GOMEZ"
BETOS = "beto.gomez@correo.example"
ORDER = {
    "number": "P-2026-0101",
    "date": "2026-11-02",
    "client_id": ANA,
    "lines": [{"code": "A-1", "description": "Honorarios", "quantity": "1", "unit_price": "1000"}],
}


def a_client_with_everything(api: Client, tenant: Tenant, client_id: str, email: str) -> dict[str, Any]:
    """The client with e-mails sent and delivered, an order as a PDF, a register record, a note,
    an open receivable, a parcel whose alerts go to its address, and a bounce of its address."""
    erp = documents_key(tenant)
    put_client(api, erp, client_id, name=f"Cliente {client_id}", emails=[email], phones=["+5491155550000"])
    for n in range(3):
        send_email(tenant, email, f"Aviso {n} a {client_id}", client_id=client_id)
    document = None
    if client_id == ANA:
        answer = post_document(api, erp, "/documents/orders", ORDER)
        assert answer.status_code == 202, answer.body
        document = body(answer)
    deliver_outboxes()
    add_register_record(api, tenant.staff_headers(), client_id, subject=f"Llamada de {client_id}")
    write_note(api, tenant.staff_headers(), client_id, f"Nota sobre {client_id}")
    push_ok(api, erp_headers(tenant), receivable(f"F-{client_id}", "2026-12-01", client_id=client_id))
    tracking_id = "TRK-0001" if client_id == ANA else "TRK-0002"
    parcel = {"tracking_id": tracking_id, "client_id": client_id, "waybill_issued": True}
    assert api.http.post("/parcels", headers=tenant.key_headers(), body=json.dumps(parcel)).status_code == 201
    staff_subscribe(api, tenant, tracking_id, email)
    post_event(api, tenant, tracking_id, "ev-1", "OUT_FOR_DELIVERY", minutes=1)
    sweep(tenant)
    bounce = {"address": email, "reason": "bounce"}
    assert (
        api.http.post("/suppressions", headers=tenant.admin_headers(), body=json.dumps(bounce)).status_code
        == 201
    )
    return {"document": document, "tracking_id": tracking_id}


def erase(api: Client, headers: dict[str, str], client_id: str) -> Any:
    return api.http.post(f"/clients/{client_id}/erasure", headers=headers, body=b"")


def erased_while(
    api: Client,
    tenant: Tenant,
    client_id: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    at_write: int = 1,
    ends: bool = False,
    writer: tuple[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """Just before the ``at_write``-th write of messages (``store.communications.add_new``, or the
    ``writer`` given as its module and function's name, e.g. ``store.tickets.open_ticket``), the
    administrator erases the client: the erasure runs to its end (``ends``), or is stopped just
    before it deletes the client's item (the client is still being erased). The erasure's answer
    is appended to the list returned."""
    from chalicelib.store import communications, erasures

    module, name = writer or (communications, "add_new")
    add_new, client_page = getattr(module, name), erasures.client_page
    erased: list[dict[str, Any]] = []
    writes: list[None] = []

    def stopped(job: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    def erasure_first(*args: Any, **kwargs: Any) -> Any:
        writes.append(None)
        if len(writes) == at_write:
            if not ends:
                monkeypatch.setattr(erasures, "client_page", stopped)
            erased.append(body(erase(api, tenant.admin_headers(), client_id)))
            monkeypatch.setattr(erasures, "client_page", client_page)
        return add_new(*args, **kwargs)

    monkeypatch.setattr(module, name, erasure_first)
    return erased


def erasure_ended(api: Client, tenant: Tenant, client_id: str, clock: Any) -> None:
    """The minute schedule, once the erasure's lease is over (2 minutes), takes it to its end."""
    clock.set_now(clock.now() + timedelta(minutes=3))
    run_minute_schedule(api)
    answer = api.http.get(f"/clients/{client_id}/erasure", headers=tenant.admin_headers())
    assert body(answer)["state"] == "done"


def erasure_in_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request's and the schedule's time for an erasure (5 s and 20 s in production) are ample
    here: a client this small is erased within either, also on a machine busy with other tests.
    (The late pass's wait for the index by client is none in every test: tests/conftest.py.)"""
    from chalicelib.records import erasure

    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 120.0)
    monkeypatch.setattr(erasure, "RUN_SECONDS", 120.0)


@pytest.fixture(autouse=True)
def erasures_have_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`erasure_in_the_request` for every test of a module that imports this fixture (an
    autouse fixture applies to the module it is imported into, only)."""
    erasure_in_the_request(monkeypatch)


@pytest.fixture(name="company")
def erasure_company(api: Client, tenant: Tenant, mailbox: MailCatcher) -> Tenant:
    """The erasure tests' company: its e-mail goes through the SMTP server. (Named ``company`` in
    the tests: a module imports it by this name, which their parameters do not redefine.)"""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Contable", "info@estudio.example")
    return tenant


def sent_with_a_request_id(api: Client, tenant: Tenant, client_id: str, channel: str) -> None:
    """Staff send the client a message on ``channel`` with a request id: it has an idempotency key
    (``send:<request>:<client>``, and the device for a push)."""
    template = {"subject": "Aviso", "text": "Hola {{ client.name }}", "html": "<p>Hola</p>"}
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    send = {"channel": channel, "template": "custom:aviso", "client_ids": [client_id], "request_id": "r-1"}
    sent = api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(send))
    assert sent.status_code == 201, sent.body
