"""Erasing a client on request (GDPR art. 17, Ley 25.326, LFPDPPP; docs/privacy.md): an
administrator asks, a job erases page by page everything Pregón holds about the client, keeps its
suppressions as a digest, and leaves other clients and companies as they were. Real DynamoDB
Local, SMTP server and moto's S3."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import stored_items_naming
from tests.steps.clients import put_client
from tests.steps.documents import documents_key, file_exists, post_document
from tests.steps.erasure import (
    ANA,
    ANAS,
    BETO,
    BETOS,
    ORDER,
    a_client_with_everything,
    erase,
    erased_while,
    erasure_company,  # noqa: F401 - the fixture company
    erasure_ended,
    erasures_have_time,  # noqa: F401 - an autouse fixture: erasure_in_the_request
    sent_with_a_request_id,
)
from tests.steps.history import add_register_record, listed, register_items, send_email
from tests.steps.notes import client_notes, staff_headers, write_note
from tests.steps.outbox import deliver_outboxes, run_minute_schedule
from tests.steps.reminders import erp_headers, push_ok, receivable
from tests.steps.tenants import Tenant
from tests.steps.tracking import post_event, staff_subscribe, sweep


def a_push_sent_with_a_request_id(api: Client, tenant: Tenant, client_id: str) -> str:
    """The client's phone registered for push, and a push sent to it by staff with a request id
    (so it has an idempotency key, naming the device); the device's id."""
    from tests.steps.push import push_platform_application, register_device, set_push

    arn = push_platform_application(tenant.company_id, "GCM")
    assert set_push(api, tenant, fcm_application_arn=arn).status_code == 200
    registered = register_device(api, tenant, client_id, f"fcm-token-{client_id}")
    assert registered.status_code == 201, registered.body
    sent_with_a_request_id(api, tenant, client_id, "push")
    return str(body(registered)["device_id"])


def register_shown(api: Client, headers: dict[str, str], client_id: str) -> list[Any]:
    """What the client's register shows: nothing when there is no such client (404)."""
    answer = api.http.get(f"/clients/{client_id}/register", headers=headers)
    assert answer.status_code in (200, 404), answer.body
    return list(body(answer)["items"]) if answer.status_code == 200 else []


def notes_shown(api: Client, headers: dict[str, str], client_id: str) -> list[Any]:
    answer = api.http.get(f"/clients/{client_id}/notes", headers=headers)
    assert answer.status_code in (200, 404), answer.body
    return list(body(answer)["items"]) if answer.status_code == 200 else []


def searched(api: Client, headers: dict[str, str], q: str) -> list[str]:
    """The codes of the clients a clerk's search finds (first page)."""
    from urllib.parse import quote

    answer = api.http.get(f"/clients?q={quote(q)}", headers=headers)
    assert answer.status_code == 200, answer.body
    return [c["client_id"] for c in body(answer)["items"]]


def items_naming(company_id: str, *needles: str, but: tuple[str, ...] = ()) -> list[str]:
    """Every item of every table (a Scan: the test looks at all the storage) that belongs to
    ``company_id`` and names one of ``needles``, as ``table: item``; the tables ``but`` names
    (base names) are not looked at."""
    found = []
    for model, item in stored_items_naming(company_id, but=but):
        text = json.dumps(item, default=str)
        if company_id in text and any(n in text for n in needles):
            found.append(f"{model.Meta.table_name}: {text[:200]}")
    return found


def test_an_erased_client_is_gone_from_every_screen_and_table_and_no_one_else_is_touched(
    api: Client, company: Tenant, other_tenant: Tenant
) -> None:
    # Given Ana, with messages, an order's PDF, a register record, a note, a receivable, a parcel
    # whose alerts go to her address and a bounce of it; Beto, a client of the same company with
    # the same; and another company that has a client under Ana's code too
    ana = a_client_with_everything(api, company, ANA, ANAS)
    a_client_with_everything(api, company, BETO, BETOS)
    put_client(api, other_tenant, ANA, emails=[ANAS])
    write_note(api, other_tenant.staff_headers(), ANA, "La nota de la otra empresa")
    pdf_keys = [a["key"] for a in _attachments_of(company, ana["document"]["communication_id"])]
    assert pdf_keys and all(file_exists(k) for k in pdf_keys)
    # And staff pushed a message to Ana's phone with a request id (its key names her device)
    device_id = a_push_sent_with_a_request_id(api, company, ANA)
    # And she wrote to the company (SES kept the raw e-mail in the inbound bucket)
    from tests.steps.inbound import raw_mail_kept, raw_mail_key, receive_mail

    [received] = receive_mail(api, company.company_id, ANAS, "Consulta", "Mi saldo")["communications"]
    raw_key = raw_mail_key(company.company_id, received)
    assert raw_mail_kept(raw_key)
    assert items_naming(company.company_id, ANA, ANAS)
    assert searched(api, company.staff_headers(), "ana-per") == [ANA]
    # When the administrator asks to erase Ana
    answer = erase(api, company.admin_headers(), ANA)
    # Then the job is accepted, and a client this small is erased within the request
    assert answer.status_code == 202, answer.body
    job = body(answer)
    assert job["state"] == "done" and job["phase"] == "done"
    assert job["erased"]["messages"] >= 5 and job["erased"]["register_records"] == 1
    assert (job["erased"]["notes"], job["erased"]["documents"], job["suppressions_kept"]) == (1, 1, 1)
    assert job["erased"]["files"] >= 1
    assert body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers())) == job
    # And no route shows anything of her: the client, her register, notes, history, document, followers
    staff = company.staff_headers()
    assert api.http.get(f"/clients/{ANA}", headers=company.key_headers()).status_code == 404
    assert register_shown(api, staff, ANA) == []
    assert notes_shown(api, staff, ANA) == []
    assert not [s for s in listed(api, staff) if ANA in s or ANAS in s]
    assert listed(api, staff, f"q={ANAS}") == []
    # (a clerk's search by her code, e-mail or phone: Beto shares her phone)
    assert searched(api, staff, "ana-per") == searched(api, staff, ANAS) == []
    assert searched(api, staff, "+5491155550000") == [BETO]
    assert api.http.get("/documents/sent/order/P-2026-0101", headers=staff).status_code == 404
    followers = body(api.http.get(f"/parcels/{ana['tracking_id']}/subscriptions", headers=staff))
    assert ANAS not in json.dumps(followers)
    suppressions = body(api.http.get("/suppressions", headers=company.admin_headers()))
    assert ANAS not in json.dumps(suppressions)
    # And no item of the company names her code, her address or her device, the parcel of her
    # shipment neither, nor the push's idempotency key
    assert items_naming(company.company_id, ANA, ANAS, device_id) == []
    # And the order's PDF is gone from S3, and the raw e-mail she wrote
    assert not any(file_exists(k) for k in pdf_keys)
    assert not raw_mail_kept(raw_key)
    # And Beto and the other company's Ana are as they were
    assert f"Llamada de {BETO}" in [r["subject"] for r in register_items(api, staff, BETO)]
    assert client_notes(api, staff, BETO) == [f"Nota sobre {BETO}"]
    assert body(api.http.get(f"/clients/{BETO}", headers=company.key_headers()))["emails"] == [BETOS]
    assert client_notes(api, other_tenant.staff_headers(), ANA) == ["La nota de la otra empresa"]
    assert api.http.get(f"/clients/{ANA}", headers=other_tenant.key_headers()).status_code == 200
    assert searched(api, other_tenant.staff_headers(), ANAS) == [ANA]


def test_the_erp_may_push_an_erased_client_again_as_a_new_empty_client_that_its_bounce_still_guards(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana, whose address bounced, was erased
    a_client_with_everything(api, company, ANA, ANAS)
    assert body(erase(api, company.admin_headers(), ANA))["state"] == "done"
    mailbox.clear()
    # When the ERP pushes a client under her code and address again
    put_client(api, company, ANA, name="Ana Pérez", emails=[ANAS])
    # Then it is a new client, with an empty register
    assert body(api.http.get(f"/clients/{ANA}", headers=company.key_headers()))["name"] == "Ana Pérez"
    assert register_shown(api, company.staff_headers(), ANA) == []
    # And a message to her address is still not sent: the bounce was kept
    send_email(company, ANAS, "Otra vez", client_id=ANA)
    assert deliver_outboxes()["sent"] == 0
    assert mailbox.messages() == []
    # And lifting the suppression by her address lifts the kept one
    lifted = api.http.delete(f"/suppressions/{ANAS}", headers=company.admin_headers())
    assert lifted.status_code == 204, lifted.body
    send_email(company, ANAS, "Ya se puede", client_id=ANA)
    assert deliver_outboxes()["sent"] == 1


def test_an_erasure_whose_worker_died_half_way_is_finished_by_the_minute_schedule(
    api: Client, company: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.records import erasure

    # Given Ana with more messages than a page, and an order's PDF
    ana = a_client_with_everything(api, company, ANA, ANAS)
    for n in range(30):
        send_email(company, ANAS, f"Resumen {n}", client_id=ANA)
    pdf = body(
        api.http.get(f"/history/email/{ana['document']['communication_id']}", headers=company.staff_headers())
    )
    [attachment_key] = [a["key"] for a in _attachments_of(company, ana["document"]["communication_id"])]
    assert pdf["attachments"] and file_exists(attachment_key)
    # And the worker dies right after its first page: the items deleted, their files not yet
    real = erasure._delete_pending_files
    deaths = []

    def dies_with_files_to_delete(job: Any) -> None:
        if job.pending_files:
            deaths.append(job.phase)
            raise RuntimeError("the worker died")
        real(job)

    monkeypatch.setattr(erasure, "_delete_pending_files", dies_with_files_to_delete)
    # When the administrator asks to erase Ana
    answer = erase(api, company.admin_headers(), ANA)
    # Then the job is accepted and left half-way
    assert answer.status_code == 202, answer.body
    assert body(answer)["state"] == "erasing" and deaths
    half = body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))
    assert 0 < half["erased"]["messages"] < 30
    # And what her register still shows opens whole (no message whose body is gone)
    for record in register_items(api, company.staff_headers(), ANA):
        if record["channel"] == "email":
            shown = api.http.get(
                f"/history/email/{record['communication_id']}", headers=company.staff_headers()
            )
            assert shown.status_code == 200, shown.body
    # And asking again while it runs answers that job: one erasure, not a second one beside it
    again_meanwhile = erase(api, company.admin_headers(), ANA)
    assert again_meanwhile.status_code == 202, again_meanwhile.body
    assert body(again_meanwhile)["job_id"] == body(answer)["job_id"]
    assert body(again_meanwhile)["state"] == "erasing"
    # When the worker is back and the minute schedule runs before the dead run's lease is over
    monkeypatch.setattr(erasure, "_delete_pending_files", real)
    assert run_minute_schedule(api)["erasures"] == 0
    # Then nothing happens; and once the lease is over the schedule finishes it
    clock.set_now(clock.now() + erasure.LEASE + timedelta(seconds=1))
    assert run_minute_schedule(api)["erasures"] == 1
    done = body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))
    assert done["state"] == "done" and done["erased"]["messages"] >= 35
    assert register_shown(api, company.staff_headers(), ANA) == []
    assert not file_exists(attachment_key)
    assert items_naming(company.company_id, ANA, ANAS) == []
    # And asking again answers the finished job, and the schedule has nothing more to do
    again = erase(api, company.admin_headers(), ANA)
    assert body(again)["state"] == "done"
    assert run_minute_schedule(api)["erasures"] == 0


def _attachments_of(tenant: Tenant, communication_id: str) -> list[Any]:
    from chalicelib.store.models import CommunicationModel

    item = CommunicationModel.get(tenant.company_id, communication_id, consistent_read=True)
    return [{"key": a.key} for a in item.attachments or []]


def test_only_administrators_and_the_erps_key_with_clients_write_may_erase(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from chalicelib.tenants.companies import SCOPES, issue_api_key

    # Given Ana with a note, and every kind of caller
    put_client(api, tenant, ANA, emails=[ANAS])
    write_note(api, tenant.staff_headers(), ANA, "Nota")
    readonly = issue_api_key(tenant.company_id, "lectura", [s for s in SCOPES if s != "clients:write"])
    writer = issue_api_key(tenant.company_id, "erp", ["clients:write"])
    callers = {
        "no token": {"Content-Type": "application/json"},
        "API key without clients:write": {"Authorization": f"ApiKey {readonly}"},
        **{f"level {n}": staff_headers(tenant, f"user{n}@empresa.example", n) for n in (2, 3, 4)},
    }
    # When each asks to erase her, and to see the erasure
    statuses = {
        who: (erase(api, h, ANA).status_code, api.http.get(f"/clients/{ANA}/erasure", headers=h).status_code)
        for who, h in callers.items()
    }
    # Then no token is 401 and the others are refused, and her note is still there
    assert statuses.pop("no token") == (401, 401)
    assert set(statuses.values()) == {(403, 403)}, statuses
    assert client_notes(api, tenant.staff_headers(), ANA) == ["Nota"]
    # When another company's administrator asks to erase a client of that code
    elsewhere = erase(api, other_tenant.admin_headers(), ANA)
    # Then it is told its company has no such client, and her note is still there
    assert (elsewhere.status_code, body(elsewhere)["message"]) == (404, f"there is no client {ANA!r}")
    assert client_notes(api, tenant.staff_headers(), ANA) == ["Nota"]
    # And the ERP's key with clients:write, and the administrator, may
    assert api.http.get(f"/clients/{ANA}/erasure", headers=tenant.admin_headers()).status_code == 404
    answer = erase(api, {"Authorization": f"ApiKey {writer}"}, ANA)
    assert answer.status_code == 202 and body(answer)["state"] == "done"
    assert notes_shown(api, tenant.staff_headers(), ANA) == []
    assert erase(api, tenant.admin_headers(), ANA).status_code == 202


def test_a_code_that_names_nothing_starts_no_erasure_but_one_with_data_left_and_no_client_does(
    api: Client, company: Tenant
) -> None:
    # Given a parcel the ERP pushed for the code GONE-1, which it never pushed as a client
    parcel = {"tracking_id": "TRK-GONE", "client_id": "GONE-1", "waybill_issued": True}
    assert (
        api.http.post("/parcels", headers=company.key_headers(), body=json.dumps(parcel)).status_code == 201
    )
    # When the administrator asks to erase NADIE, a code that names nothing
    nothing = erase(api, company.admin_headers(), "NADIE")
    # Then it is refused as no client, and no erasure was started
    assert (nothing.status_code, body(nothing)["message"]) == (404, "there is no client 'NADIE'")
    assert api.http.get("/clients/NADIE/erasure", headers=company.admin_headers()).status_code == 404
    # When the administrator asks to erase GONE-1
    gone = erase(api, company.admin_headers(), "GONE-1")
    # Then its erasure runs to its end, and nothing names the code any more
    assert (gone.status_code, body(gone)["state"]) == (202, "done")
    assert items_naming(company.company_id, "GONE-1") == []
    # And asked again, it answers an erasure again (one ran), as for a client erased before
    assert erase(api, company.admin_headers(), "GONE-1").status_code == 202


def test_an_erased_clients_paid_and_cancelled_receivables_are_erased_too(
    api: Client, company: Tenant
) -> None:
    # Given Ana with a receivable she paid, one the ERP cancelled and one still open; and Beto's paid one
    put_client(api, company, ANA, emails=[ANAS])
    put_client(api, company, BETO, emails=[BETOS])
    erp = erp_headers(company)
    push_ok(
        api,
        erp,
        receivable("F-ANA-1", "2026-12-01", client_id=ANA),
        receivable("F-ANA-2", "2026-12-01", client_id=ANA),
        receivable("F-ANA-3", "2026-12-01", client_id=ANA),
        receivable("F-BETO-1", "2026-12-01", client_id=BETO),
    )
    for number, state in (("F-ANA-1", "paid"), ("F-ANA-2", "cancelled"), ("F-BETO-1", "paid")):
        assert api.http.post(f"/receivables/{number}/{state}", headers=erp).status_code == 200
    # When the administrator erases Ana
    job = body(erase(api, company.admin_headers(), ANA))
    # Then none of her receivables is found any more, closed or open, and they were counted
    assert job["state"] == "done" and job["erased"]["other_items"] >= 3
    for number in ("F-ANA-1", "F-ANA-2", "F-ANA-3"):
        assert api.http.get(f"/receivables/{number}", headers=erp).status_code == 404, number
    assert items_naming(company.company_id, ANA, but=("parcels",)) == []
    # And Beto's paid receivable is as it was
    assert body(api.http.get("/receivables/F-BETO-1", headers=erp))["state"] == "paid"
    # And the answer no longer says closed receivables are left
    assert "closed receivables: no index finds them by client" not in job["not_erased"]


def payment_event(event_id: str, client_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": client_id,
        "payment": {
            "receipt_number": "X-1",
            "amount": "$ 1.000,00",
            "received_on": "2026-11-02",
            "entry": "manual",
        },
    }


def test_an_erased_clients_business_events_and_the_answers_given_to_them_are_erased(
    api: Client, company: Tenant
) -> None:
    from chalicelib.tenants.companies import issue_api_key

    # Given the back office posted a payment event about Ana and one about Beto
    back_office = {"Authorization": f"ApiKey {issue_api_key(company.company_id, 'erp', ['events:write'])}"}
    put_client(api, company, ANA, emails=[ANAS])
    put_client(api, company, BETO, emails=[BETOS])
    for event_id, client_id in (("inv-ana", ANA), ("inv-beto", BETO)):
        posted = api.http.post(
            "/events/payment-recorded",
            headers=back_office,
            body=json.dumps(payment_event(event_id, client_id)),
        )
        assert posted.status_code == 202, posted.body
    assert items_naming(company.company_id, ANA, but=("parcels",))
    # When the administrator erases Ana
    job = body(erase(api, company.admin_headers(), ANA))
    # Then no item names her, not the event nor the answer given to it
    assert job["state"] == "done"
    assert items_naming(company.company_id, ANA, ANAS, but=("parcels",)) == []
    assert not [line for line in job["not_erased"] if line.startswith("business events")]
    # And Ana pushed again and her event posted again is a new event, not the answer kept
    put_client(api, company, ANA, emails=[ANAS])
    again = api.http.post(
        "/events/payment-recorded", headers=back_office, body=json.dumps(payment_event("inv-ana", ANA))
    )
    assert again.status_code == 202, again.body
    assert body(again)["duplicate"] is False
    # And Beto's event is still answered as the one it was
    beto = api.http.post(
        "/events/payment-recorded", headers=back_office, body=json.dumps(payment_event("inv-beto", BETO))
    )
    assert (beto.status_code, body(beto)["duplicate"]) == (200, True)


def test_an_erased_clients_parcels_keep_their_tracking_but_not_her_code_nor_her_subscriptions(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana's parcel, followed by her address (never sent an alert) and by Beto's; and Beto's
    # parcel, which Ana's address follows too (never sent an alert either)
    put_client(api, company, ANA, emails=[ANAS])
    put_client(api, company, BETO, emails=[BETOS])
    for tracking_id, client_id in (("TRK-ANA", ANA), ("TRK-BETO", BETO)):
        parcel = {"tracking_id": tracking_id, "client_id": client_id, "waybill_issued": True}
        assert (
            api.http.post("/parcels", headers=company.key_headers(), body=json.dumps(parcel)).status_code
            == 201
        )
        staff_subscribe(api, company, tracking_id, ANAS)
    staff_subscribe(api, company, "TRK-ANA", BETOS)
    post_event(api, company, "TRK-ANA", "ev-1", "IN_TRANSIT", minutes=1)
    # When the administrator erases Ana
    job = body(erase(api, company.admin_headers(), ANA))
    # Then no item names her code or her address, the parcels neither
    assert job["state"] == "done"
    assert items_naming(company.company_id, ANA, ANAS) == []
    assert not [line for line in job["not_erased"] if line.startswith("parcels")]
    # And her parcel keeps its tracking for the carrier, with no client
    shown = body(api.http.get("/parcels/TRK-ANA", headers=company.key_headers()))
    assert shown["client_id"] is None and shown["waybill_issued"] is True
    assert [h["status"] for h in shown["history"]][-1:] == ["IN_TRANSIT"]
    # And her address follows neither parcel; Beto still follows his and hers
    staff = company.staff_headers()
    for tracking_id, followers in (("TRK-ANA", [BETOS]), ("TRK-BETO", [])):
        listed_ = body(api.http.get(f"/parcels/{tracking_id}/subscriptions", headers=staff))
        assert sorted(s["email"] for s in listed_["items"]) == followers, tracking_id
    # And the next novelty of her parcel is mailed to Beto only
    mailbox.clear()
    post_event(api, company, "TRK-ANA", "ev-2", "OUT_FOR_DELIVERY", minutes=2)
    sweep(company)
    [alert] = mailbox.messages()
    assert alert["To"].endswith(f"<{BETOS}>")


def test_a_send_jobs_selection_no_longer_names_an_erased_client(api: Client, company: Tenant) -> None:
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements
    from tests.steps.sends import expand_pages

    # Given Ana and Beto owe something, and staff sent the statements of the clients from Ana to
    # Beto, and of the clients from Beto on
    for n, (client_id, email) in enumerate(((ANA, ANAS), (BETO, BETOS)), start=1):
        put_client(api, company, client_id, emails=[email])
        movement = Movement("2026-10-01", f"A-0001-0000000{n}", "1000.50", "Factura", "2026-10-31")
        save_open_movements(company.company_id, client_id, [movement], None)
    started = []
    for selection in ({"from_client": ANA, "to_client": BETO}, {"from_client": BETO}):
        answer = api.http.post(
            "/documents/statements/bulk", headers=documents_key(company), body=json.dumps(selection)
        )
        assert answer.status_code == 201, answer.body
        started.append(body(answer)["job_id"])
    expand_pages()
    deliver_outboxes()
    # When the administrator erases Ana
    job = body(erase(api, company.admin_headers(), ANA))
    # Then the first job's selection shows her code erased, Beto's as it was
    assert job["state"] == "done"
    shown = [
        body(api.http.get(f"/documents/statements/bulk/{j}", headers=company.staff_headers()))["selection"]
        for j in started
    ]
    assert shown == [{"from_client": "(erased client)", "to_client": BETO}, {"from_client": BETO}]
    # And no item names her code or her address
    assert items_naming(company.company_id, ANA, ANAS) == []
    assert not [line for line in job["not_erased"] if line.startswith("send-job selections")]


def test_an_erasure_skips_the_client_in_pages_expanded_meanwhile_and_waits_for_a_stuck_job_only_so_long(
    api: Client, company: Tenant, clock: Any, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements
    from chalicelib.records import erasure
    from tests.steps.sends import expand_pages

    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 1.0)  # it waits for a job: the request stops
    # Given Aarón, Ana, Beto and Carla owe something, and staff sent the statements of the
    # clients up to Ana, not expanded yet
    people = {"AARON": "aaron@correo.example", ANA: ANAS, BETO: BETOS, "CARLA": "carla@correo.example"}
    for n, (client_id, email) in enumerate(people.items(), start=1):
        put_client(api, company, client_id, emails=[email])
        movement = Movement("2026-10-01", f"A-0001-0000000{n}", "1000.50", "Factura", "2026-10-31")
        save_open_movements(company.company_id, client_id, [movement], None)

    def statements(selection: dict[str, str]) -> str:
        answer = api.http.post(
            "/documents/statements/bulk", headers=documents_key(company), body=json.dumps(selection)
        )
        assert answer.status_code == 201, answer.body
        return str(body(answer)["job_id"])

    up_to_ana = statements({"to_client": ANA})
    # When the administrator erases Ana: the erasure waits for the job, which reads her code
    assert body(erase(api, company.admin_headers(), ANA))["state"] == "erasing"
    # And the job's pages are expanded meanwhile (her client is still there, being erased)
    expand_pages()
    # And then the ERP sends the statements from Ana to Beto, whose pages get stuck
    from_ana = statements({"from_client": ANA, "to_client": BETO})
    # Then once the stuck job has not moved for the erasure's wait, the minute schedule finishes it
    clock.set_now(clock.now() + timedelta(hours=1))  # its wait: 30 minutes
    assert run_minute_schedule(api)["erasures"] == 1
    done = body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))
    assert done["state"] == "done"
    shown = [
        body(api.http.get(f"/documents/statements/bulk/{j}", headers=company.staff_headers()))["selection"]
        for j in (up_to_ana, from_ana)
    ]
    assert shown == [{"to_client": "(erased client)"}, {"from_client": "(erased client)", "to_client": BETO}]
    # And when the stuck job's pages go on, each job's statements went to the clients of its range
    # but Ana: Aarón's up to her, Beto's from her on; not Carla's
    expand_pages()
    deliver_outboxes()
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m in mailbox.messages()) == [
        "aaron@correo.example",
        BETOS,
    ]
    # And no item names her code or her address
    assert items_naming(company.company_id, ANA, ANAS) == []


def test_sends_to_all_clients_just_before_and_while_one_is_being_erased_reach_the_others_and_not_her(
    api: Client, company: Tenant, clock: Any, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import Counter
    from datetime import timedelta

    from chalicelib.records import erasure
    from chalicelib.tenants.companies import company_and_erasing
    from tests.steps.sends import PAGE_CLIENTS_NOTICE, expand_pages, job_of, progress

    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 0.0)  # the request works one step: she is being erased
    # Given Aarón, Ana and Beto, and a notice to all clients whose page wrote its messages (Ana's
    # too), not yet delivered
    for client_id, email in (("AARON", "aaron@correo.example"), (ANA, ANAS), (BETO, BETOS)):
        put_client(api, company, client_id, emails=[email])
    saved = api.http.put(
        "/templates/custom:aviso", headers=company.admin_headers(), body=json.dumps(PAGE_CLIENTS_NOTICE)
    )
    assert saved.status_code == 200, saved.body
    send = {"channel": "email", "template": "custom:aviso", "filter": {}}

    def send_to_all() -> str:
        started = api.http.post("/sends", headers=company.staff_headers(), body=json.dumps(send))
        assert started.status_code == 201, started.body
        expand_pages()
        return str(body(started)["job"]["job_id"])

    before = send_to_all()
    # When the administrator starts erasing Ana: its first step erases her messages, that one too
    started = body(erase(api, company.admin_headers(), ANA))
    assert (started["state"], started["erased"]["messages"]) == ("erasing", 1)
    # And staff send the notice to all clients again while she is being erased
    meanwhile = send_to_all()
    deliver_outboxes()
    # Then Aarón and Beto got both, Ana neither: each job counts her skipped
    assert Counter(m["To"].split("<")[-1].rstrip(">") for m in mailbox.messages()) == {
        "aaron@correo.example": 2,
        BETOS: 2,
    }
    assert [progress(job_of(api, company, j)) for j in (before, meanwhile)] == [("done", 3, 2, 0, 1, 0)] * 2
    # And a send to her alone is refused, naming why
    to_her = {"channel": "email", "template": "custom:aviso", "client_ids": [ANA]}
    alone = api.http.post("/sends", headers=company.staff_headers(), body=json.dumps(to_her))
    assert (alone.status_code, body(alone)["errors"]) == (
        422,
        [{"field": "client_ids[0]", "message": f"client {ANA!r} is being erased"}],
    )
    # When the minute schedule finishes the erasure
    clock.set_now(clock.now() + timedelta(minutes=3))  # its lease: 2 minutes
    assert run_minute_schedule(api)["erasures"] == 1
    done = body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))
    # Then it erased her one message, and the company's item lists no one being erased any more
    # (that nothing else names her, the next test shows)
    assert (done["state"], done["erased"]["messages"]) == ("done", 1)
    assert company_and_erasing(company.company_id)[1] == frozenset()


LAG = 0.4  # the index's lag the tests that look at the late pass's order give it (2 s in production)


def erasure_looks_noted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    """From now on, the erasure's late pass waits :data:`LAG` for the index by client; what it
    does, in order, with when (``time.monotonic``): "no page pending" when it found no send page
    pending, "her messages" when it Queried the client's messages."""
    import time

    from chalicelib.records import erasure
    from chalicelib.store import erasures
    from chalicelib.store import outbox as watches

    monkeypatch.setattr(erasure, "INDEX_LAG_SECONDS", LAG)
    noted: list[tuple[str, float]] = []
    pending, query = watches.job_pages_pending, erasures.communications_page

    def pending_noted(company_id: str) -> bool:
        answer = pending(company_id)
        if not answer:
            noted.append(("no page pending", time.monotonic()))
        return answer

    def query_noted(job: Any, *args: Any) -> Any:
        if job.phase == "late_messages":
            noted.append(("her messages", time.monotonic()))
        return query(job, *args)

    monkeypatch.setattr(watches, "job_pages_pending", pending_noted)
    monkeypatch.setattr(erasures, "communications_page", query_noted)
    return noted


def test_a_message_a_send_page_wrote_after_her_erasure_passed_her_messages_is_erased_at_its_end(
    api: Client, company: Tenant, clock: Any, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.producers.sends import manual
    from chalicelib.records import erasure
    from tests.steps.sends import PAGE_CLIENTS_NOTICE, expand_pages, job_of, progress

    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 0.0)  # the request works one step
    # Given Ana and Beto, and staff sending a notice to all clients
    for client_id, email in ((ANA, ANAS), (BETO, BETOS)):
        put_client(api, company, client_id, emails=[email])
    saved = api.http.put(
        "/templates/custom:aviso", headers=company.admin_headers(), body=json.dumps(PAGE_CLIENTS_NOTICE)
    )
    assert saved.status_code == 200, saved.body
    send = {"channel": "email", "template": "custom:aviso", "filter": {}}
    started = api.http.post("/sends", headers=company.staff_headers(), body=json.dumps(send))
    assert started.status_code == 201, started.body
    # When the send's page has read its clients (Ana not yet being erased) and, before it writes
    # their messages, the administrator erases Ana and the minute schedule goes on with it
    write_page = manual._write_page
    seen: list[dict[str, Any]] = []

    def erasure_meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not seen:
            assert body(erase(api, company.admin_headers(), ANA))["state"] == "erasing"
            clock.set_now(clock.now() + timedelta(minutes=3))  # its lease: 2 minutes
            run_minute_schedule(api)
            seen.append(body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers())))
        return write_page(*args, **kwargs)

    monkeypatch.setattr(manual, "_write_page", erasure_meanwhile)
    expand_pages()
    # Then the erasure, past her messages, waited for the page before deleting her
    assert [(e["state"], e["phase"]) for e in seen] == [("erasing", "late_messages")]
    # And once the page is done, the minute schedule finishes it (still within the 4 minutes a
    # page may run), the page's message to her erased
    looked = erasure_looks_noted(monkeypatch)
    clock.set_now(clock.now() + timedelta(seconds=30))
    assert run_minute_schedule(api)["erasures"] == 1
    done = body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))
    assert (done["state"], done["erased"]["messages"]) == ("done", 1)
    # And each look for her messages came the index's lag after it saw no page pending (DynamoDB
    # Local's index does not lag: the order is what shows a lagging one's entry would be in it)
    assert looked and [what for what, _ in looked][:2] == ["no page pending", "her messages"]
    for (before, seen_at), (what, asked_at) in pairwise(looked):
        if what == "her messages":
            assert before == "no page pending" and asked_at - seen_at >= LAG
    assert items_naming(company.company_id, ANA, ANAS) == []
    # And when the outbox delivers, Beto gets the notice, and the job ends counting hers skipped
    deliver_outboxes()
    assert [m["To"].split("<")[-1].rstrip(">") for m in mailbox.messages()] == [BETOS]
    assert progress(job_of(api, company, body(started)["job"]["job_id"])) == ("done", 2, 1, 0, 1, 0)


@pytest.mark.parametrize(
    ("request_id", "meanwhile", "refused"),
    [
        pytest.param("r-1", "ends", f"there is no client {ANA!r}", id="erasure_ends"),
        pytest.param(None, "stops", f"client {ANA!r} is being erased", id="erasure_stops_before_her_item"),
    ],
)
def test_a_send_to_her_alone_that_read_the_company_before_her_erasure_and_writes_after_it_is_refused(
    api: Client,
    company: Tenant,
    clock: Any,
    mailbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    request_id: str | None,
    meanwhile: str,
    refused: str,
) -> None:
    from datetime import timedelta

    from chalicelib.store import communications, erasures

    # Given Ana, and a notice staff send
    put_client(api, company, ANA, emails=[ANAS])
    notice = json.dumps({"subject": "Aviso", "text": "Hola {{ client.name }}", "html": "<p>Hola</p>"})
    saved = api.http.put("/templates/custom:aviso", headers=company.admin_headers(), body=notice)
    assert saved.status_code == 200, saved.body
    # When staff send it to her alone, and between the send's read of the company (no erasure
    # then) and its write of her message the administrator erases her: the erasure passes her
    # messages (none), looks for them again at its end, and ends (or is stopped just before it
    # deletes her item)
    add_new, client_page = communications.add_new, erasures.client_page
    erased: list[dict[str, Any]] = []

    def stopped(job: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    def erasure_first(*args: Any, **kwargs: Any) -> Any:
        if not erased:
            if meanwhile != "ends":
                monkeypatch.setattr(erasures, "client_page", stopped)
            erased.append(body(erase(api, company.admin_headers(), ANA)))
            monkeypatch.setattr(erasures, "client_page", client_page)
        return add_new(*args, **kwargs)

    monkeypatch.setattr(communications, "add_new", erasure_first)
    send = {"channel": "email", "template": "custom:aviso", "client_ids": [ANA]}
    if request_id:
        send["request_id"] = request_id
    sent = api.http.post("/sends", headers=company.staff_headers(), body=json.dumps(send))
    assert [(e["state"], e["phase"]) for e in erased] == (
        [("done", "done")] if meanwhile == "ends" else [("erasing", "client")]
    )
    # Then the send is refused, saying why, and writes nothing
    assert (sent.status_code, body(sent).get("errors")) == (
        422,
        [{"field": "client_ids[0]", "message": refused}],
    )
    # And when the minute schedule ends the erasure and the outbox delivers, nothing went to her
    # and nothing names her
    clock.set_now(clock.now() + timedelta(minutes=3))  # the erasure's lease: 2 minutes
    run_minute_schedule(api)
    assert body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))["state"] == "done"
    deliver_outboxes()
    assert mailbox.messages() == []
    assert items_naming(company.company_id, ANA, ANAS) == []


@pytest.mark.parametrize(
    ("writer", "during", "meanwhile", "refused"),
    [
        pytest.param(
            "event", "messages", "ends", (404, f"there is no client {ANA!r}"), id="event_erasure_ends"
        ),
        pytest.param(
            "event",
            "record",
            "stops",
            (422, f"client {ANA!r} is being erased"),
            id="event_record_after_it_started",
        ),
        pytest.param(
            "order", "messages", "ends", (422, f"there is no client {ANA!r}"), id="order_erasure_ends"
        ),
    ],
)
def test_an_erp_post_about_her_that_read_her_before_her_erasure_and_writes_after_it_is_refused(
    api: Client,
    company: Tenant,
    clock: Any,
    mailbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
    during: str,
    meanwhile: str,
    refused: tuple[int, str],
) -> None:
    from datetime import timedelta

    from chalicelib.store import business_events, communications, erasures
    from chalicelib.tenants.companies import issue_api_key

    # Given Ana, and the ERP's key for events and documents
    put_client(api, company, ANA, emails=[ANAS])
    erp = {"Authorization": f"ApiKey {issue_api_key(company.company_id, 'erp', ['events:write'])}"}
    # When the ERP posts a payment of hers (or her order), and between the post's read of her
    # client and its write of her message (or, once that is written, of the event's record) the
    # administrator erases her: the erasure ends (or is stopped just before it deletes her item)
    module, name = (communications, "add_new") if during == "messages" else (business_events, "record_event")
    write, client_page = getattr(module, name), erasures.client_page
    erased: list[dict[str, Any]] = []

    def stopped(job: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    def erasure_first(*args: Any, **kwargs: Any) -> Any:
        if not erased:
            if meanwhile != "ends":
                monkeypatch.setattr(erasures, "client_page", stopped)
            erased.append(body(erase(api, company.admin_headers(), ANA)))
            monkeypatch.setattr(erasures, "client_page", client_page)
        return write(*args, **kwargs)

    monkeypatch.setattr(module, name, erasure_first)
    if writer == "event":
        posted = api.http.post(
            "/events/payment-recorded", headers=erp, body=json.dumps(payment_event("pay-1", ANA))
        )
    else:
        posted = post_document(api, documents_key(company), "/documents/orders", ORDER)
    assert [(e["state"], e["phase"]) for e in erased] == (
        [("done", "done")] if meanwhile == "ends" else [("erasing", "client")]
    )
    # Then the post is refused, naming her, and writes nothing
    message = body(posted).get("message") if refused[0] == 404 else body(posted).get("errors")
    assert (posted.status_code, message) == (
        refused[0],
        refused[1] if refused[0] == 404 else [{"field": "client_id", "message": refused[1]}],
    )
    # And when the minute schedule ends the erasure and the outbox delivers, nothing went to her
    # and nothing names her: no message, no event, no document, no PDF
    clock.set_now(clock.now() + timedelta(minutes=3))  # the erasure's lease: 2 minutes
    run_minute_schedule(api)
    assert body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))["state"] == "done"
    deliver_outboxes()
    assert mailbox.messages() == []
    assert items_naming(company.company_id, ANA, ANAS) == []


def test_the_reminder_run_skips_a_client_being_erased_and_marks_nothing_sent(
    api: Client, company: Tenant, clock: Any, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta, timezone

    from chalicelib.records import erasure
    from tests.steps.reminders import run_now, set_reminders_ok

    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 0.0)  # the request works one step: she is being erased
    # Given Ana with reminders on and a receivable due on the 20th
    erp = erp_headers(company)
    put_client(api, erp, ANA, emails=[ANAS])
    set_reminders_ok(api, erp, ANA, active=True)
    push_ok(api, erp, receivable("F-ANA", "2026-11-20", client_id=ANA))
    # When the administrator starts erasing her, and the run goes on her reminder's day (the 13th)
    clock.set_now(datetime(2026, 11, 13, 9, tzinfo=timezone.utc))
    assert body(erase(api, company.admin_headers(), ANA))["state"] == "erasing"
    run = run_now(api, company)
    # Then her reminder is reported skipped, saying why, and nothing goes to her
    assert run["reminders"] == 0
    assert [(i["client_id"], i["skipped"]) for i in run["items"]] == [(ANA, "the client is being erased")]
    deliver_outboxes()
    assert mailbox.messages() == []
    # And when the minute schedule ends the erasure, nothing names her
    clock.set_now(clock.now() + timedelta(minutes=3))  # the erasure's lease: 2 minutes
    run_minute_schedule(api)
    assert body(api.http.get(f"/clients/{ANA}/erasure", headers=company.admin_headers()))["state"] == "done"
    assert items_naming(company.company_id, ANA, ANAS) == []


def test_a_message_staff_took_out_of_her_register_is_still_in_the_history_and_erased_with_her(
    api: Client, company: Tenant
) -> None:
    # Given an e-mail sent to Ana, which staff take out of her register ("deleting a record takes
    # it out of the register only": the message stays in the history)
    put_client(api, company, ANA, emails=[ANAS])
    sent = send_email(company, ANAS, "Aviso que se retira", client_id=ANA)
    deliver_outboxes()
    taken_out = api.http.delete(f"/clients/{ANA}/register/{sent}", headers=company.admin_headers())
    assert taken_out.status_code in (200, 204), taken_out.body
    staff = company.staff_headers()
    assert sent not in [r["communication_id"] for r in register_shown(api, staff, ANA)]
    assert api.http.get(f"/history/email/{sent}", headers=staff).status_code == 200
    # When the administrator erases Ana
    job = body(erase(api, company.admin_headers(), ANA))
    # Then that e-mail is erased with her: nothing names her
    assert job["state"] == "done" and job["erased"]["messages"] >= 1
    assert api.http.get(f"/history/email/{sent}", headers=staff).status_code == 404
    assert items_naming(company.company_id, ANA, ANAS) == []


def test_items_stored_before_the_indexes_by_client_are_erased_once_the_operator_keys_them(
    api: Client, company: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements
    from chalicelib.store import models
    from chalicelib.tenants.companies import issue_api_key
    from infrastructure import ops
    from tests.steps.sends import expand_pages

    # Given Ana with a paid receivable, a payment event, a parcel her address follows, an e-mail
    # sent with a request id, a bulk statement starting at her code and a colleague's notice of
    # her register record, all stored before the indexes by client (no keys)
    put_client(api, company, ANA, emails=[ANAS])
    erp = erp_headers(company)
    push_ok(api, erp, receivable("F-ANA-OLD", "2026-12-01", client_id=ANA))
    assert api.http.post("/receivables/F-ANA-OLD/paid", headers=erp).status_code == 200
    events = {"Authorization": f"ApiKey {issue_api_key(company.company_id, 'erp', ['events:write'])}"}
    posted = api.http.post(
        "/events/payment-recorded", headers=events, body=json.dumps(payment_event("pay-old", ANA))
    )
    assert posted.status_code == 202, posted.body
    parcel = {"tracking_id": "TRK-OLD", "client_id": ANA, "waybill_issued": True}
    assert (
        api.http.post("/parcels", headers=company.key_headers(), body=json.dumps(parcel)).status_code == 201
    )
    staff_subscribe(api, company, "TRK-OLD", ANAS)
    sent_with_a_request_id(api, company, ANA, "email")
    movement = Movement("2026-10-01", "A-0001-00000001", "1000.50", "Factura", "2026-10-31")
    save_open_movements(company.company_id, ANA, [movement], None)
    started = api.http.post(
        "/documents/statements/bulk", headers=documents_key(company), body=json.dumps({"from_client": ANA})
    )
    assert started.status_code == 201, started.body
    expand_pages()
    # and a colleague told of her register record
    record = add_register_record(api, company.staff_headers(), ANA, subject="Llamo por su deuda")
    assert a_colleague_told_of(api, company, ANA, record["communication_id"]).status_code == 201
    # and an e-mail to her that staff took out of her register before such e-mails kept a key
    taken_out = send_email(company, ANAS, "Aviso retirado del registro", client_id=ANA)
    assert api.http.delete(
        f"/clients/{ANA}/register/{taken_out}", headers=company.admin_headers()
    ).status_code in (200, 204)
    models.CommunicationModel(company.company_id, taken_out).update(
        actions=[models.CommunicationModel.client_key.remove()]
    )
    deliver_outboxes()
    for notice in models.CommunicationModel.scan(models.CommunicationModel.about_client.exists()):
        if notice.company_id == company.company_id:
            unkeyed = [models.CommunicationModel.about_client, models.CommunicationModel.client_key]
            notice.update(actions=[attribute.remove() for attribute in unkeyed])
    for model, key in (
        (models.ReceivableModel, "closed_client"),
        (models.BusinessEventModel, "client_key"),
        (models.ParcelModel, "client_key"),
        (models.SubscriptionModel, "recipient_key"),
        (models.SendJobModel, "from_client_key"),
        (models.MessageKeyModel, "client_key"),
    ):
        for item in model.scan(getattr(model, key).exists()):
            if company.company_id in str(getattr(item, key)):
                item.update(actions=[getattr(model, key).remove()])
    # When the operator keys the items stored before, and the administrator erases Ana
    capsys.readouterr()
    assert ops.main(["--target", "env", "erasure-keys"]) == 0
    keyed = capsys.readouterr().out
    assert "keyed: receivables " in keyed and "register_notices 1" in keyed
    assert "records_out_of_register 1" in keyed
    job = body(erase(api, company.admin_headers(), ANA))
    # Then nothing names her, not even what was stored before the indexes
    assert job["state"] == "done"
    assert items_naming(company.company_id, ANA, ANAS) == []
    assert not [line for line in job["not_erased"] if "backfill" in line]


def test_the_e_mails_colleagues_got_about_her_record_are_erased_with_her_and_were_never_in_her_history(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers import register_notices
    from chalicelib.store import communications
    from chalicelib.store.rate_limits import Limit

    # Given Ana, with a call in her register, and staff who may send 3 notices an hour
    monkeypatch.setattr(register_notices, "NOTICE_EMAILS_PER_USER", Limit("register-notice-email", 3, 3600))
    put_client(api, company, ANA, name="Ana Perez", emails=[ANAS])
    staff = company.staff_headers()
    call = add_register_record(api, staff, ANA, record_type="call", subject="Llamo por su deuda")
    register, history = records_of(api, staff, ANA), listed(api, staff, f"client={ANA}")
    # When staff tell a colleague of the call, and the notice is sent
    told = a_colleague_told_of(api, company, ANA, call["communication_id"])
    assert told.status_code == 201, told.body
    assert deliver_outboxes()["sent"] == 1
    assert "Ana Perez" in str(mailbox.messages()[-1]["subject"])
    # Then her register and her history show what they showed before: the notice is not hers
    assert records_of(api, staff, ANA) == register == [(call["communication_id"], "Llamo por su deuda")]
    assert listed(api, staff, f"client={ANA}") == history
    # When staff tell the colleague once more, and between the notify's read of the call and its
    # write of the notice the administrator erases Ana
    add_new = communications.add_new
    erased: list[dict[str, Any]] = []

    def erasure_first(*args: Any, **kwargs: Any) -> Any:
        if not erased:
            erased.append(body(erase(api, company.admin_headers(), ANA)))
        return add_new(*args, **kwargs)

    monkeypatch.setattr(communications, "add_new", erasure_first)
    again = a_colleague_told_of(api, company, ANA, call["communication_id"])
    # Then the second notice is not sent (she is gone), and the first is erased with her: no item
    # names her code, her name or her call's subject
    assert (again.status_code, body(again).get("message")) == (404, f"there is no client {ANA!r}")
    assert erased[0]["state"] == "done" and erased[0]["erased"]["messages"] == 1, erased
    assert items_naming(company.company_id, ANA, "Ana Perez", "Llamo por su deuda") == []
    assert [s for s in listed(api, staff) if "Ana" in s] == []
    # And the notice not sent is not counted in the hour: staff still tell the colleague of two
    # of Beto's calls (the third of the hour's three, and the one not sent)
    put_client(api, company, BETO, emails=[BETOS])
    for subject in ("Llamada de Beto", "Otra llamada de Beto"):
        record = add_register_record(api, staff, BETO, record_type="call", subject=subject)
        told = a_colleague_told_of(api, company, BETO, record["communication_id"])
        assert told.status_code == 201, told.body


def a_colleague_told_of(api: Client, tenant: Tenant, client_id: str, record_id: str) -> Any:
    """Staff tell Marta, a colleague in the staff directory, of one of the client's register
    records (an e-mail to her that names the client and the record's subject)."""
    from chalicelib.tenants.staff import UserFields, save_user

    save_user(
        tenant.company_id, "marta", UserFields(name="Marta Nunez", email="marta@estudio.example", level=2)
    )
    return api.http.post(
        f"/clients/{client_id}/register/{record_id}/notify",
        headers=tenant.staff_headers(),
        body=json.dumps({"users": ["marta"], "comment": "Llamala vos"}),
    )


def records_of(api: Client, headers: dict[str, str], client_id: str) -> list[tuple[str, str]]:
    """The ids and subjects the client's register lists."""
    return [(r["communication_id"], r["subject"]) for r in register_items(api, headers, client_id)]


@pytest.mark.parametrize("selected", ["hers_and_his", "hers_alone"])
def test_a_resend_that_writes_after_her_erasure_started_resends_the_others_and_refuses_hers_saying_why(
    api: Client,
    company: Tenant,
    clock: Any,
    mailbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    selected: str,
) -> None:
    # Given Ana and Beto, each sent an e-mail, delivered
    put_client(api, company, ANA, emails=[ANAS])
    put_client(api, company, BETO, emails=[BETOS])
    hers = send_email(company, ANAS, "Aviso a Ana", client_id=ANA)
    his = send_email(company, BETOS, "Aviso a Beto", client_id=BETO)
    assert deliver_outboxes()["sent"] == 2
    mailbox.clear()
    # When staff resend hers (and his), and between the resend's read of the messages and its
    # write the administrator erases her (the erasure stops just before it deletes her item)
    erased = erased_while(api, company, ANA, monkeypatch)
    ids = [hers, his] if selected == "hers_and_his" else [hers]
    resent = api.http.post("/history/resend", headers=company.staff_headers(), body=json.dumps({"ids": ids}))
    assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then hers is refused, naming it and saying why; his is resent
    refusal = {"field": "ids[0]", "message": f"client {ANA!r} is being erased"}
    if selected == "hers_and_his":
        assert resent.status_code == 202, resent.body
        assert [(i["resend_of"], i["client_id"]) for i in body(resent)["items"]] == [(his, BETO)]
        assert body(resent)["refused"] == [refusal]
    else:
        assert (resent.status_code, body(resent).get("errors")) == (422, [refusal])
    # And when the erasure ends and the outbox delivers, Beto got his again, Ana nothing, and
    # nothing names her
    erasure_ended(api, company, ANA, clock)
    deliver_outboxes()
    assert [str(m["To"]) for m in mailbox.messages()] == ([BETOS] if selected == "hers_and_his" else [])
    assert items_naming(company.company_id, ANA, ANAS) == []


def test_an_e_mail_she_writes_while_she_is_being_erased_is_kept_as_from_an_unknown_sender(
    api: Client, company: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.steps.inbound import receive_mail

    # Given Ana
    put_client(api, company, ANA, emails=[ANAS])
    # When she writes to the company, and between the inbound handler's match of her address and
    # its write of the mail the administrator erases her (stopped just before her item goes)
    erased = erased_while(api, company, ANA, monkeypatch)
    receive_mail(api, company.company_id, ANAS, "Consulta de Ana", "Quisiera saber mi saldo")
    assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then the mail is not lost: staff find it among the unassigned mail, under no client, saying why
    unassigned = body(api.http.get("/inbound/unassigned", headers=company.staff_headers()))["items"]
    assert [(m["subject"], m["client_id"], m["from_address"]) for m in unassigned] == [
        ("Consulta de Ana", None, ANAS)
    ]
    assert "its sender was a client being erased" in unassigned[0]["error"]
    # And once the erasure ends, it is still there, and nothing names her code
    erasure_ended(api, company, ANA, clock)
    unassigned = body(api.http.get("/inbound/unassigned", headers=company.staff_headers()))["items"]
    assert [m["subject"] for m in unassigned] == ["Consulta de Ana"]
    assert items_naming(company.company_id, ANA) == []


def test_the_minute_schedule_works_on_erasures_for_so_long_and_leaves_the_rest_due(
    api: Client, company: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.records import erasure

    # Given three clients being erased (each request worked one step), and a minute whose time
    # for erasures is up after the first it takes (its function has 180 s for every part)
    monkeypatch.setattr(erasure, "REQUEST_SECONDS", 0.0)
    clients = ("ANA-1", "ANA-2", "ANA-3")
    for client_id in clients:
        put_client(api, company, client_id, emails=[f"{client_id.lower()}@correo.example"])
        assert body(erase(api, company.admin_headers(), client_id))["state"] == "erasing"
    monkeypatch.setattr(erasure, "ERASURES_SECONDS", 0.0, raising=False)

    # When the minute schedule runs three times, a minute apart
    worked = []
    for _minute in range(3):
        clock.set_now(clock.now() + timedelta(minutes=1))
        worked.append(run_minute_schedule(api)["erasures"])

    # Then each minute works on one and leaves the others due, not taken
    assert worked == [1, 1, 1]
    # And with its usual time, one minute works on all three, to their end
    monkeypatch.setattr(erasure, "ERASURES_SECONDS", 60.0)
    clock.set_now(clock.now() + erasure.LEASE + timedelta(seconds=1))
    assert run_minute_schedule(api)["erasures"] == 3
    for client_id in clients:
        answer = body(api.http.get(f"/clients/{client_id}/erasure", headers=company.admin_headers()))
        assert answer["state"] == "done", client_id


@pytest.mark.parametrize("moment", ["between_its_runs", "racing_its_start", "indexing_after_its_start"])
def test_a_save_of_her_while_she_is_being_erased_is_refused_and_neither_brings_her_back_nor_leaves_an_index(
    api: Client, company: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch, moment: str
) -> None:
    from chalicelib.store import clients as store
    from chalicelib.store import erasures
    from chalicelib.store.clients import clients_by_address, clients_by_phone
    from tests.steps.clients import client_answer

    # Given Ana, with her phone and address
    put_client(api, company, ANA, name="Ana Pérez", emails=[ANAS], phones=["+5491155550000"])
    # And the ERP pushing her again with a new phone and address; when her index items are written
    # after her, with 30 contacts (more items than one transaction holds, decision 0016)
    contacts = [
        {
            "contact_id": f"k{n}",
            "first_name": "Contacto",
            "last_name": f"K{n}",
            "phone": f"+54911{4200_0000 + n}",
        }
        | {"email": f"k{n}@correo.example"}
        for n in range(30 if moment == "indexing_after_its_start" else 1)
    ]
    pushed: dict[str, Any] = {"name": "Ana Pérez", "emails": ["ana.nueva@correo.example"]}
    pushed |= {"phones": ["+5491166667777"], "contacts": contacts}
    if moment == "between_its_runs":
        # When the administrator erased her and the erasure's run stopped just before it deletes
        # her item (the minute schedule goes on with it later), and then the ERP pushes her
        def stopped(job: Any) -> Any:
            raise RuntimeError("the erasure's run stopped here")

        client_page = erasures.client_page
        monkeypatch.setattr(erasures, "client_page", stopped)
        assert body(erase(api, company.admin_headers(), ANA))["phase"] == "client"
        monkeypatch.setattr(erasures, "client_page", client_page)
    else:
        # When the ERP's push read her before the administrator erased her and writes after the
        # erasure started: her item (or, once her item is written, her index items)
        writer = "transacted" if moment == "racing_its_start" else "_index_after"
        erased = erased_while(api, company, ANA, monkeypatch, writer=(store, writer))
    answer = client_answer(api, company, ANA, pushed)
    spanish = client_answer(api, company.key_headers() | {"Accept-Language": "es"}, ANA, pushed)
    if moment != "between_its_runs":
        assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then the push is refused with a 409 saying why, in either language
    assert answer.status_code == 409, answer.body
    assert body(answer)["message"] == (
        f"the client {ANA!r} is being erased (GET /clients/{ANA}/erasure): nothing was saved; once its "
        "erasure is done, saving it makes a new, empty client"
    )
    assert (spanish.status_code, body(spanish)["message"]) == (
        409,
        f"el cliente {ANA!r} se está borrando (GET /clients/{ANA}/erasure): no se guardó nada; cuando "
        "termine su borrado, guardarlo crea un cliente nuevo, vacío",
    )
    # And once the erasure ends she is not there, and no phone, address or search item names her
    erasure_ended(api, company, ANA, clock)
    assert api.http.get(f"/clients/{ANA}", headers=company.key_headers()).status_code == 404
    for phone in ("+5491155550000", "+5491166667777", "+5491142000000", "+5491142000029"):
        assert clients_by_phone(company.company_id, phone) == []
    for address in (ANAS, "ana.nueva@correo.example", "k0@correo.example", "k29@correo.example"):
        assert clients_by_address(company.company_id, address) == []
    assert searched(api, company.staff_headers(), "ana") == []
    assert items_naming(company.company_id, ANA, ANAS) == []
    # And a push after the erasure makes a new, empty client, as before
    put_client(api, company, ANA, name="Ana Pérez")
    assert body(api.http.get(f"/clients/{ANA}", headers=company.key_headers()))["phones"] == []
