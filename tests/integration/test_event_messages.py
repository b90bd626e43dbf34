"""Event messages (C9, T10): the back office posts what happened; the client gets the e-mail (and
the payment SMS) through the outbox, as received by a real SMTP server and recorded by moto's SNS."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, cast

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body, outage_injected
from tests.steps.aws import moto_received
from tests.steps.clients import put_client
from tests.steps.hostile_mail import company_files
from tests.steps.mail import wire_problems
from tests.steps.outbox import deliver_outboxes, run_minute_schedule
from tests.steps.tenants import Tenant, smtp_sender_account

CLIENT = "CLI-7"
PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
    + bytes(range(256)) * 40  # binary content must arrive byte for byte
    + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


@pytest.fixture
def back_office(tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The tenant's back office: an API key with ``events:write``, a client, and an ``all`` sender
    account (invoices, payments and tickets fall back to it) pointing at the test's SMTP server."""
    from chalicelib.tenants.companies import issue_api_key

    smtp_sender_account(
        tenant.company_id, "all", mailbox, "Cargas del Sur", "administracion@cargasdelsur.example"
    )
    key = issue_api_key(tenant.company_id, "erp", ["events:write", "clients:write"])
    headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    return headers


def put_ferreteria(api: Client, headers: dict[str, str], **fields: Any) -> None:
    """The back office stores its client Ferretería Los Andes (``CLI-7``), ``fields`` changed."""
    ferreteria = {
        "name": "Ferretería Los Andes",
        "emails": ["compras@losandes.example"],
        "phones": ["011-15-5987-6543"],
    }
    put_client(api, headers, CLIENT, **(ferreteria | fields))


def post(api: Client, headers: dict[str, str], event: str, payload: dict[str, Any]) -> Any:
    return api.http.post(f"/events/{event}", headers=headers, body=json.dumps(payload))


def invoice_event(event_id: str = "inv-1", client_id: str = CLIENT, pdf: bytes = PDF) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": client_id,
        "invoice": {
            "number": "A-0001-00001234",
            "issued_on": "2026-11-02",
            "due_on": "2026-11-17",
            "total": "$ 12.345,67",
        },
        "pdf": {"content_base64": base64.b64encode(pdf).decode()},
    }


def payment_event(event_id: str, entry: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": CLIENT,
        "payment": {
            "receipt_number": "X-0001-567",
            "amount": "$ 5.000,00",
            "received_on": "2026-11-02",
            "entry": entry,
        },
        "client_balance": "$ 1.500,00",
    }


def sms_to(local_aws: dict[str, str], number: str) -> list[str]:
    return [sms["message"] for sms in moto_received("sns", "SMS") if sms["phone_number"] == number]


def enable_sms(tenant: Tenant, **switches: Any) -> None:
    from chalicelib.messaging.accounts.sms import save_sms_settings
    from chalicelib.tenants.companies import update_settings

    save_sms_settings(tenant.company_id, {"enabled": True, "provider": "sns"})
    update_settings(tenant.company_id, language=None, ask_tracking_contacts=None, **switches)


# --- invoice issued ------------------------------------------------------------------------------


def test_an_invoice_arrives_with_its_pdf_intact(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client with an e-mail address
    put_ferreteria(api, back_office)
    # When the back office posts the invoice with its PDF
    response = post(api, back_office, "invoice-issued", invoice_event())
    # Then it is accepted, one e-mail queued
    assert response.status_code == 202, response.body
    answer = body(response)
    assert answer["duplicate"] is False
    assert [(m["channel"], m["to_address"], m["state"]) for m in answer["messages"]] == [
        ("email", "compras@losandes.example", "queued")
    ]
    # And the client receives the company's invoice e-mail from the invoices' sender (the `all` account)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    assert mail["To"].endswith("<compras@losandes.example>")
    assert "administracion@cargasdelsur.example" in mail["From"]
    assert "A-0001-00001234" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hola Ferretería Los Andes" in text and "$ 12.345,67" in text and "17/11/2026" in text
    assert "Le enviamos la factura A-0001-00001234, adjunta en PDF." in text
    # With the PDF attached, byte for byte
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "A-0001-00001234.pdf"
    assert attachment.get_content() == PDF


def test_the_same_invoice_event_twice_sends_one_email(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    put_ferreteria(api, back_office)
    first = post(api, back_office, "invoice-issued", invoice_event("inv-dup"))
    # When the same event id comes again
    again = post(api, back_office, "invoice-issued", invoice_event("inv-dup"))
    # Then the answer is 200 with what was queued the first time, and nothing new
    assert (first.status_code, again.status_code) == (202, 200)
    assert body(again)["duplicate"] is True
    assert body(again)["messages"] == body(first)["messages"]
    assert deliver_outboxes()["sent"] == 1
    assert len(mailbox.wait_for(1)) == 1
    assert len(mailbox.messages()) == 1


def test_an_invoice_posted_again_after_its_outcome_was_lost_keeps_one_pdf(
    api: Client,
    tenant: Tenant,
    back_office: dict[str, str],
    mailbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.store import business_events

    put_ferreteria(api, back_office)

    # Given an invoice whose e-mail was queued but whose outcome DynamoDB then refused to record
    def throttled(*_: Any) -> bool:
        raise RuntimeError("DynamoDB throttled the event's outcome")

    monkeypatch.setattr(business_events, "record_event", throttled)
    with outage_injected("the event's outcome"):
        lost = post(api, back_office, "invoice-issued", invoice_event("inv-lost"))
    assert lost.status_code == 500
    monkeypatch.undo()
    [first_pdf] = company_files(tenant.company_id, "invoices")

    # When the back office posts it again (its retry)
    again = post(api, back_office, "invoice-issued", invoice_event("inv-lost"))

    # Then no second e-mail is queued: the answer lists the one the first post queued, and the PDF
    # this post stored is gone: the bucket holds only the PDF the queued e-mail names, which the
    # client receives
    [queued] = body(again)["messages"]
    assert again.status_code == 202 and queued["state"] == "queued" and queued["channel"] == "email"
    shown = body(api.http.get(f"/history/email/{queued['communication_id']}", headers=tenant.staff_headers()))
    assert shown["client_id"] == CLIENT and len(shown["attachments"]) == 1, shown
    assert company_files(tenant.company_id, "invoices") == [first_pdf]
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content() == PDF


def test_an_invoice_whose_email_cannot_be_written_leaves_no_pdf(
    api: Client, tenant: Tenant, back_office: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import communications

    put_ferreteria(api, back_office)

    # Given DynamoDB refuses to write messages
    def throttled(*_: Any, **__: Any) -> Any:
        raise RuntimeError("DynamoDB throttled the messages' write")

    monkeypatch.setattr(communications, "add_new", throttled)
    # When the back office posts an invoice
    with outage_injected("the messages' write"):
        refused = post(api, back_office, "invoice-issued", invoice_event("inv-refused"))
    # Then it fails, and the PDF it stored is gone: no message names it
    assert refused.status_code == 500
    assert company_files(tenant.company_id, "invoices") == []
    # And posting it again, DynamoDB back, queues the e-mail with one PDF
    monkeypatch.undo()
    fixed = post(api, back_office, "invoice-issued", invoice_event("inv-refused"))
    assert fixed.status_code == 202 and len(body(fixed)["messages"]) == 1
    assert len(company_files(tenant.company_id, "invoices")) == 1


def replicas_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB's eventually consistent reads of messages and their idempotency keys answer as a
    replica that has not yet seen this test's writes (DynamoDB documents such reads may miss a write
    of the last second; DynamoDB Local always answers the latest): they find nothing. Strongly
    consistent reads answer as the table is."""
    from chalicelib.store.models import CommunicationModel, MessageKeyModel

    real_get = MessageKeyModel.get.__func__  # type: ignore[attr-defined]
    real_batch_get = CommunicationModel.batch_get.__func__  # type: ignore[attr-defined]

    def stale_get(
        cls: Any, hash_key: Any, range_key: Any = None, consistent_read: bool = False, **kw: Any
    ) -> Any:
        if not consistent_read:
            raise cls.DoesNotExist()
        return real_get(cls, hash_key, range_key, consistent_read, **kw)

    def stale_batch_get(cls: Any, items: Any, consistent_read: bool | None = None, **kw: Any) -> Any:
        if not consistent_read:
            return iter(())
        return real_batch_get(cls, items, consistent_read, **kw)

    monkeypatch.setattr(MessageKeyModel, "get", classmethod(stale_get))
    monkeypatch.setattr(CommunicationModel, "batch_get", classmethod(stale_batch_get))


def test_an_invoice_whose_write_answer_was_lost_keeps_the_pdf_its_written_email_names(
    api: Client,
    clock: Any,
    tenant: Tenant,
    back_office: dict[str, str],
    mailbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.store import communications

    put_ferreteria(api, back_office)

    # Given DynamoDB writes the invoice's e-mail but its answer is lost on the way back (a timeout),
    # and the replica an eventually consistent read reaches has not seen that write yet
    real_add_new = communications.add_new

    def written_then_lost(*args: Any, **kwargs: Any) -> Any:
        real_add_new(*args, **kwargs)
        raise RuntimeError("the answer of the messages' write was lost")

    monkeypatch.setattr(communications, "add_new", written_then_lost)
    replicas_behind(monkeypatch)
    # When the back office posts an invoice
    with outage_injected("the messages' write answer"):
        lost = post(api, back_office, "invoice-issued", invoice_event("inv-written"))
    assert lost.status_code == 500
    monkeypatch.undo()
    # Then the PDF stays: the e-mail that was written names it (whether a message was written is
    # read strongly, never from a replica that may not have seen it)
    [pdf] = company_files(tenant.company_id, "invoices")
    # And the back office's retry is answered with that e-mail, which carries that one PDF
    again = post(api, back_office, "invoice-issued", invoice_event("inv-written"))
    [queued] = body(again)["messages"]
    shown = body(api.http.get(f"/history/email/{queued['communication_id']}", headers=tenant.staff_headers()))
    assert len(shown["attachments"]) == 1 and shown["attachments"][0]["download_url"], shown
    assert company_files(tenant.company_id, "invoices") == [pdf]
    # And once its first worker's lease is over, the minute schedule finds it and the client
    # receives it with its PDF intact
    clock.set_now(clock.now() + timedelta(minutes=10))
    run_minute_schedule(api)
    deliver_outboxes()
    [mail] = mailbox.wait_for(1)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content() == PDF


@pytest.mark.parametrize(
    ("pdf", "message"),
    [
        (b"<html>not a pdf</html>", "is not a PDF"),
        (b"%PDF-1.4\n" + b"0" * (7 * 1024 * 1024) + b"%%EOF", "larger than 7 MB"),
    ],
)
def test_an_invoice_without_a_real_pdf_is_refused_and_nothing_is_written(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher, pdf: bytes, message: str
) -> None:
    put_ferreteria(api, back_office)
    # When the PDF is not a PDF, or too large
    response = post(api, back_office, "invoice-issued", invoice_event("inv-bad", pdf=pdf))
    # Then 422 names the field
    assert response.status_code == 422
    assert body(response)["field"] == "pdf.content_base64" and message in body(response)["message"]
    # And the event was not recorded: posting it right afterwards sends it
    fixed = post(api, back_office, "invoice-issued", invoice_event("inv-bad"))
    assert fixed.status_code == 202 and len(body(fixed)["messages"]) == 1
    # Nothing was sent for the refused post
    assert deliver_outboxes()["sent"] == 1


def test_bad_input_names_the_field(api: Client, tenant: Tenant, back_office: dict[str, str]) -> None:
    put_ferreteria(api, back_office)
    event = invoice_event("inv-x")
    event["invoice"]["issued_on"] = "yesterday"
    event["pdf"]["content_base64"] = "%%% not base64 %%%"
    response = post(api, back_office, "invoice-issued", event)
    assert response.status_code == 422
    assert body(response)["field"] == "invoice.issued_on"
    # And base64 that is not base64
    bad = post(api, back_office, "invoice-issued", invoice_event("inv-y") | {"pdf": {"content_base64": "!!"}})
    assert bad.status_code == 422 and body(bad)["field"] == "pdf.content_base64"
    # And a payment with an unknown entry kind
    wrong = payment_event("pay-x", "cash-box")
    response = post(api, back_office, "payment-recorded", wrong)
    assert response.status_code == 422 and body(response)["field"] == "payment.entry"
    # And nothing was queued by any of them
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}


def test_an_unknown_client_and_another_tenants_client_are_404(
    api: Client, tenant: Tenant, other_tenant: Tenant, back_office: dict[str, str]
) -> None:
    # Given a client of another company
    from chalicelib.tenants.clients import save_client

    save_client(
        other_tenant.company_id,
        "OTHER-1",
        name="Cliente ajeno",
        emails=["ajeno@otra.example"],
        phones=[],
        contacts=[],
        message_switches={},
        preferred_agent=None,
        collection_agent=None,
    )
    # When our back office posts an invoice for it, or for a client nobody registered
    for client_id in ("OTHER-1", "NOBODY"):
        response = post(api, back_office, "invoice-issued", invoice_event(f"inv-{client_id}", client_id))
        # Then 404 names the client, and nothing is sent
        assert response.status_code == 404
        assert client_id in body(response)["message"]
    assert deliver_outboxes()["sent"] == 0


def test_an_api_key_without_the_events_scope_is_refused(api: Client, tenant: Tenant) -> None:
    response = post(api, tenant.key_headers(), "invoice-issued", invoice_event())
    assert response.status_code == 403 and "events:write" in body(response)["message"]


# --- client switches -----------------------------------------------------------------------------


def test_a_client_with_the_invoice_switch_off_gets_nothing(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    put_ferreteria(api, back_office, message_switches={"invoice": False})
    response = post(api, back_office, "invoice-issued", invoice_event("inv-off"))
    assert response.status_code == 202
    assert body(response)["messages"] == []
    assert body(response)["skipped"] == [
        {"channel": "email", "reason": "the client's 'invoice' switch is off", "to_address": None}
    ]
    assert deliver_outboxes()["sent"] == 0
    assert mailbox.messages() == []


def test_a_client_with_no_email_is_skipped_not_an_error(
    api: Client, tenant: Tenant, back_office: dict[str, str]
) -> None:
    put_ferreteria(api, back_office, emails=[])
    response = post(api, back_office, "invoice-issued", invoice_event("inv-noaddr"))
    assert response.status_code == 202
    assert body(response)["skipped"][0]["reason"] == "the client has no e-mail address"


def test_why_a_client_was_skipped_is_in_spanish_when_the_back_office_asks(
    api: Client, tenant: Tenant, back_office: dict[str, str]
) -> None:
    # Given a client with no e-mail address
    put_ferreteria(api, back_office, emails=[])
    # When the back office sends an invoice for it, asking for Spanish answers
    response = post(
        api, {**back_office, "Accept-Language": "es-AR"}, "invoice-issued", invoice_event("inv-es")
    )
    # Then the answer says in Spanish why the client was skipped, the channel as the API names it
    assert response.status_code == 202, response.body
    assert [(s["channel"], s["reason"]) for s in body(response)["skipped"]] == [
        ("email", "el cliente no tiene dirección de e-mail")
    ]


# --- payment recorded ----------------------------------------------------------------------------


def test_payment_sms_follows_the_company_switch_for_each_kind_of_payment(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher, local_aws: dict[str, str]
) -> None:
    # Given SMS on for automatic payments only, and a client with a Buenos Aires mobile
    enable_sms(tenant, sms_on_automatic_payments=True, sms_on_manual_payments=False)
    number = "+5491159876543"
    before = len(sms_to(local_aws, number))
    put_ferreteria(api, back_office)
    # When an automatic payment and a manual one are recorded
    automatic = body(post(api, back_office, "payment-recorded", payment_event("pay-auto", "automatic")))
    manual = body(post(api, back_office, "payment-recorded", payment_event("pay-manual", "manual")))
    # Then the automatic one queues an e-mail and an SMS; the manual one the e-mail only
    assert sorted(m["channel"] for m in automatic["messages"]) == ["email", "sms"]
    assert [m["channel"] for m in manual["messages"]] == ["email"]
    assert manual["skipped"] == [
        {"channel": "sms", "reason": "the company sends no SMS for manual payments", "to_address": None}
    ]
    assert deliver_outboxes()["sent"] == 3
    # And the client gets two receipts by e-mail
    mails = mailbox.wait_for(2)
    assert all("$ 5.000,00" in m["Subject"] for m in mails)
    # And one SMS, the company's default payment SMS with the seed's variables filled in
    assert sms_to(local_aws, number)[before:] == [
        "Estimado Ferretería Los Andes, recibimos su pago de $ 5.000,00. Su saldo pendiente es de "
        "$ 1.500,00. Gracias, Cargas del Sur."
    ]


def test_manual_payment_sms_uses_the_company_sms_template(
    api: Client, tenant: Tenant, back_office: dict[str, str], local_aws: dict[str, str]
) -> None:
    # Given SMS on for manual payments and the company's own payment SMS text
    enable_sms(tenant, sms_on_manual_payments=True)
    template = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    own = {k: template[k] for k in ("subject", "text", "html")} | {
        "sms_text": "Pago %recibo%: %monto%. ¡Gracias!"
    }
    assert (
        api.http.put("/templates/payment", headers=tenant.admin_headers(), body=json.dumps(own)).status_code
        == 200
    )
    put_ferreteria(api, back_office, phones=["+54 9 351 555-1234"])
    # When a manual payment is recorded
    answer = body(post(api, back_office, "payment-recorded", payment_event("pay-m2", "manual")))
    # Then the SMS goes to the client's number in E.164 with the company's text
    assert [m["to_address"] for m in answer["messages"] if m["channel"] == "sms"] == ["+5493515551234"]
    deliver_outboxes()
    assert sms_to(local_aws, "+5493515551234")[-1] == "Pago X-0001-567: $ 5.000,00. ¡Gracias!"


def test_the_seeds_payment_sms_prints_each_amount_with_one_currency_sign(
    api: Client, tenant: Tenant, back_office: dict[str, str], local_aws: dict[str, str]
) -> None:
    # Given the payment SMS typed as seed 002 writes it ("$ %monto%", "$ %deuda%"), and a back
    # office that sends its amounts formatted, sign included ("$ 5.000,00"), as docs/events.md shows
    enable_sms(tenant, sms_on_automatic_payments=True)
    template = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    seed = (
        "Estimado %nombre%, le informamos que hemos recibido su pago por un importe de $ %monto%. "
        "Su saldo pendiente de pago es de $ %deuda%."
    )
    own = {k: template[k] for k in ("subject", "text", "html")} | {"sms_text": seed}
    preview = body(
        api.http.post("/templates/payment/preview", headers=tenant.admin_headers(), body=json.dumps(own))
    )
    assert (
        api.http.put("/templates/payment", headers=tenant.admin_headers(), body=json.dumps(own)).status_code
        == 200
    )
    put_ferreteria(api, back_office, phones=["+54 9 351 555-2345"])
    # When an automatic payment is recorded
    post(api, back_office, "payment-recorded", payment_event("pay-seed", "automatic"))
    deliver_outboxes()
    # Then the client's SMS has one "$" before each amount, not "$ $ 5.000,00"
    assert sms_to(local_aws, "+5493515552345")[-1] == (
        "Estimado Ferretería Los Andes, le informamos que hemos recibido su pago por un importe de "
        "$ 5.000,00. Su saldo pendiente de pago es de $ 1.500,00."
    )
    # And the editor's preview showed the administrator the same
    assert "importe de $ 5.000,00. Su saldo pendiente de pago es de $ 15.300,00." in preview["sms_text"]


def test_the_payment_sms_goes_to_the_first_phone_that_takes_sms(
    api: Client, tenant: Tenant, back_office: dict[str, str], local_aws: dict[str, str]
) -> None:
    # Given a client whose first phone is a Madrid landline and whose second is stored without its 9
    enable_sms(tenant, sms_on_manual_payments=True)
    put_ferreteria(api, back_office, phones=["+34 91 123 45 67", "+54 351 555-1234"])
    # When a payment is recorded
    answer = body(post(api, back_office, "payment-recorded", payment_event("pay-tel", "manual")))
    # Then the SMS goes to the Argentine mobile in its +549 form, not to the landline
    assert [m["to_address"] for m in answer["messages"] if m["channel"] == "sms"] == ["+5493515551234"]
    deliver_outboxes()
    assert len(sms_to(local_aws, "+5493515551234")) >= 1
    assert sms_to(local_aws, "+34911234567") == []
    # And a client with a landline only gets no SMS, saying why
    put_ferreteria(api, back_office, phones=["+34 91 123 45 67"])
    answer = body(post(api, back_office, "payment-recorded", payment_event("pay-tel-2", "manual")))
    assert [m["channel"] for m in answer["messages"]] == ["email"]
    assert answer["skipped"] == [
        {"channel": "sms", "reason": "none of the client's phones takes SMS", "to_address": None}
    ]


def test_the_client_sms_switch_and_the_sms_service_switch_stop_the_sms(
    api: Client, tenant: Tenant, back_office: dict[str, str]
) -> None:
    enable_sms(tenant, sms_on_automatic_payments=True)
    put_ferreteria(api, back_office, message_switches={"payment_sms": False})
    answer = body(post(api, back_office, "payment-recorded", payment_event("pay-s1", "automatic")))
    assert [m["channel"] for m in answer["messages"]] == ["email"]
    assert answer["skipped"][0]["reason"] == "the client's 'payment_sms' switch is off"
    # And with the company's SMS service switched off
    from chalicelib.messaging.accounts.sms import save_sms_settings

    save_sms_settings(tenant.company_id, {"enabled": False})
    put_ferreteria(api, back_office)
    answer = body(post(api, back_office, "payment-recorded", payment_event("pay-s2", "automatic")))
    assert answer["skipped"][0]["reason"] == "the company's SMS service is switched off"


def test_company_payment_sms_switches_are_company_settings(api: Client, tenant: Tenant) -> None:
    # Off by default
    company = body(api.http.get("/company", headers=tenant.staff_headers()))
    assert (company["sms_on_automatic_payments"], company["sms_on_manual_payments"]) == (False, False)
    # The administrator turns one on; the other keeps its value
    patch = {"sms_on_manual_payments": True}
    response = api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps(patch))
    assert response.status_code == 200
    assert (body(response)["sms_on_automatic_payments"], body(response)["sms_on_manual_payments"]) == (
        False,
        True,
    )
    bad = api.http.patch(
        "/company", headers=tenant.admin_headers(), body=json.dumps({"sms_on_manual_payments": 3})
    )
    assert bad.status_code == 422 and body(bad)["field"] == "sms_on_manual_payments"


# --- tickets -------------------------------------------------------------------------------------


def ticket_event(event_id: str, notify: bool) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "client_id": CLIENT,
        "notify_client": notify,
        "ticket": {
            "id": "4711",
            "subject": "Sin conexión desde ayer",
            "status": "En curso",
            "operator": "Martín Ruiz",
            "comment": "Un técnico visitará su domicilio mañana.",
            "updated_at": "2026-11-02T10:15:00Z",
        },
    }


def test_a_ticket_change_is_emailed_only_when_the_ticket_says_so(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    put_ferreteria(api, back_office)
    silent = body(post(api, back_office, "ticket-changed", ticket_event("t-1", notify=False)))
    assert silent["messages"] == [] and "does not ask to notify" in silent["skipped"][0]["reason"]
    loud = post(api, back_office, "ticket-changed", ticket_event("t-2", notify=True))
    assert loud.status_code == 202 and len(body(loud)["messages"]) == 1
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "#4711" in text and "En curso" in text and "Un técnico visitará" in text
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


# --- pickups (T10) -------------------------------------------------------------------------------


def test_an_approved_pickup_tells_the_branch_the_label_link_and_the_tracking_id(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client with a contact who wants cargo information, and one who does not
    contacts = [
        {
            "contact_id": "c1",
            "first_name": "Ana",
            "last_name": "Paz",
            "email": "ana@losandes.example",
            "wants_cargo_info": True,
        },
        {"contact_id": "c2", "first_name": "Luis", "last_name": "Gil", "email": "luis@losandes.example"},
    ]
    put_ferreteria(api, back_office, contacts=contacts)
    # When the branch approves the pickup
    event = {
        "event_id": "pk-1",
        "client_id": CLIENT,
        "pickup_number": "R-1187",
        "branch": "Sucursal Córdoba Centro",
        "pickup_date": "2026-11-03",
        "tracking_id": "CDS-000124",
        "label_url": "https://labels.cargasdelsur.example/CDS-000124.pdf",
    }
    response = post(api, back_office, "pickup-approved", event)
    assert response.status_code == 202, response.body
    # Then the client and the contact who asked get it (from the tracking account), the other does not
    assert sorted(m["to_address"] for m in body(response)["messages"]) == [
        "ana@losandes.example",
        "compras@losandes.example",
    ]
    assert deliver_outboxes()["sent"] == 2
    mails = mailbox.wait_for(2)
    for mail in mails:
        assert "avisos@cargasdelsur.example" in mail["From"]
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Sucursal Córdoba Centro" in text
        assert "CDS-000124" in text
        assert "https://labels.cargasdelsur.example/CDS-000124.pdf" in text
        html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert 'href="https://labels.cargasdelsur.example/CDS-000124.pdf"' in html
    for path in mailbox.files():  # and each arrived as a strict receiver reads it
        assert wire_problems(path.read_bytes(), domain="cargasdelsur.example") == []


def test_pickups_confirmed_to_a_client_with_fifty_contacts_who_want_cargo_news_reach_all_of_them(
    api: Client, tenant: Tenant, back_office: dict[str, str]
) -> None:
    # Given a client with the most contacts it may have (50), each wanting cargo information: more
    # messages than one DynamoDB transaction holds with the conditions an erasure sets on them
    contacts = [
        {"contact_id": f"c{n}", "first_name": "Contacto", "last_name": f"{n}", "wants_cargo_info": True}
        | {"email": f"contacto{n}@losandes.example"}
        for n in range(50)
    ]
    put_ferreteria(api, back_office, contacts=contacts)
    # When the back office confirms a pickup
    event = {"event_id": "pc-50", "client_id": CLIENT, "pickups": [{"tracking_id": "CDS-000125"}]}
    response = post(api, back_office, "pickups-confirmed", event)
    # Then the client and its 50 contacts each get one, queued
    assert response.status_code == 202, response.body
    assert len({m["to_address"] for m in body(response)["messages"]}) == 51


def test_an_approved_pickup_links_the_parcel_on_the_companys_tracking_page(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    from chalicelib.core.settings import get_settings

    put_ferreteria(api, back_office)
    # When the branch approves a pickup
    event = {
        "event_id": "pk-web",
        "client_id": CLIENT,
        "pickup_number": "R-1188",
        "branch": "Sucursal Córdoba Centro",
        "pickup_date": "2026-11-03",
        "tracking_id": "CDS-000128",
        "label_url": "https://labels.cargasdelsur.example/CDS-000128.pdf",
    }
    assert post(api, back_office, "pickup-approved", event).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    # Then the e-mail gives the tracking id with the link to follow the parcel on the web (T10,
    # seed 000: "el número de Tracking ID para realizar el seguimiento desde el sitio WEB")
    [mail] = mailbox.wait_for(1)
    page = f"{get_settings().public_base_url}/track/{tenant.company_id}?tracking_id=CDS-000128"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert page in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f'href="{page}"' in html


def confirm_pickups(
    api: Client, back_office: dict[str, str], mailbox: MailCatcher
) -> tuple[Any, EmailMessage]:
    """The back office confirms three pickups (two of 3 November 2026, one by its id alone): its
    answer, and the e-mail as it arrived on the wire."""
    from email import message_from_bytes, policy

    put_ferreteria(api, back_office)
    event = {
        "event_id": "pc-1",
        "client_id": CLIENT,
        "pickups": [
            {"tracking_id": "CDS-000125", "address": "Av. Colón 1234, Córdoba", "date": "2026-11-03"},
            {"tracking_id": "CDS-000126", "address": "San Martín 56, Córdoba", "date": "2026-11-03"},
            {"tracking_id": "CDS-000127"},
        ],
    }
    response = post(api, back_office, "pickups-confirmed", event)
    assert response.status_code == 202 and len(body(response)["messages"]) == 1
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    raw = mailbox.files()[0].read_bytes()
    return event, cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def test_confirmed_pickups_come_in_one_email_saying_which_and_how_many_each_with_its_link(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    from chalicelib.core.settings import get_settings

    event, mail = confirm_pickups(api, back_office, mailbox)
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Confirmamos 3 retiros" in text
    # Each tracking id comes with its link on the company's page under it in the plain text, as the
    # pickup-approved e-mail gives one (seed 000: follow it "desde el sitio WEB"), and the HTML
    # part links the id itself
    lines = text.splitlines()
    for tracking_id in ("CDS-000125", "CDS-000126", "CDS-000127"):
        page = f"{get_settings().public_base_url}/track/{tenant.company_id}?tracking_id={tracking_id}"
        [at] = [n for n, line in enumerate(lines) if line.startswith(f"- {tracking_id}")]
        assert lines[at + 1] == f"  {page}", text
        assert f'href="{page}"' in html and f">{tracking_id}</a>" in html
    # An empty list is refused naming the field
    empty = post(api, back_office, "pickups-confirmed", event | {"event_id": "pc-2", "pickups": []})
    assert empty.status_code == 422 and body(empty)["field"] == "pickups"


def test_a_template_preview_writes_days_as_the_sent_email_does(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    from datetime import datetime

    from chalicelib.core.localization import show_datetime, zone
    from chalicelib.tenants.companies import get_company
    from tests.steps.templates import preview

    # Given the e-mail the client got for a pickup of 3 November 2026
    _, mail = confirm_pickups(api, back_office, mailbox)
    sent = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [sent_line] = [line for line in sent.splitlines() if line.startswith("- CDS-000125")]
    # When staff preview the same template (its sample: the same pickup, the same day)
    shown = body(preview(api, tenant, "pickups_confirmed"))
    [shown_line] = [line for line in shown["text"].splitlines() if line.startswith("- CDS-000125")]
    # Then the day reads as in the e-mail (3/11/2026 in es_AR), not 03/11/2026
    assert shown_line == sent_line == "- CDS-000125: Av. Colón 1234, Córdoba (3/11/2026)"
    # And a moment reads as the sweep's alert writes one, in the company's zone and locale
    company = get_company(tenant.company_id)
    alert = body(preview(api, tenant, "tracking_alert"))
    moment = datetime(2026, 11, 2, 11, 30, tzinfo=zone(company.time_zone))
    assert show_datetime(moment, company.time_zone, company.locale) in alert["text"]
    assert "02/11/2026" not in alert["text"] and "02/12/2026" not in alert["text"]


def test_an_invoice_pdf_named_with_a_path_keeps_only_its_base_name_on_the_wire_and_in_the_record(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client; When the back office posts an invoice whose PDF is named like a path
    put_ferreteria(api, back_office)
    event = invoice_event()
    event["pdf"]["file_name"] = "../../../etc/passwd.pdf"
    response = post(api, back_office, "invoice-issued", event)
    assert response.status_code == 202, response.body
    deliver_outboxes()
    mailbox.wait_for(1)
    # Then the attachment header on the wire names only the base name
    raw = mailbox.files()[0].read_bytes()
    assert b'filename="passwd.pdf"' in raw and b"../" not in raw and b"etc" not in raw.split(b"\r\n\r\n")[0]
    # And the stored message's attachment is named the same
    [message] = body(response)["messages"]
    shown = body(
        api.http.get(f"/history/email/{message['communication_id']}", headers=tenant.staff_headers())
    )
    assert [a["name"] for a in shown["attachments"]] == ["passwd.pdf"]


def test_a_non_ascii_pdf_name_downloads_under_its_own_name(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given an invoice whose PDF is named with an ñ
    put_ferreteria(api, back_office)
    event = invoice_event()
    event["pdf"]["file_name"] = "estado_de_cuenta_año_2026.pdf"
    [message] = body(post(api, back_office, "invoice-issued", event))["messages"]
    deliver_outboxes()
    # Then the e-mail attaches it under that name (RFC 2231)
    [mail] = mailbox.wait_for(1)
    assert [a.get_filename() for a in mail.iter_attachments()] == ["estado_de_cuenta_año_2026.pdf"]
    # When staff download it from the history
    shown = body(
        api.http.get(f"/history/email/{message['communication_id']}", headers=tenant.staff_headers())
    )
    [attachment] = shown["attachments"]
    assert attachment["name"] == "estado_de_cuenta_año_2026.pdf"
    download = requests.get(attachment["download_url"], timeout=10)
    # Then the browser gets an ASCII fallback and the real name as filename* (RFC 6266 / 5987)
    assert download.content == PDF
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="estado_de_cuenta_ano_2026.pdf"; '
        "filename*=UTF-8''estado_de_cuenta_a%C3%B1o_2026.pdf"
    )


def test_an_invoice_with_an_accented_pdf_name_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client; When the back office posts an invoice whose PDF has a long Spanish name
    put_ferreteria(api, back_office)
    event = invoice_event()
    name = "Factura Nº A-0001-00001234 – Ferretería Los Andes, Córdoba (noviembre de 2026).pdf"
    event["pdf"]["file_name"] = name
    assert post(api, back_office, "invoice-issued", event).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then the bytes are 7-bit and well formed, the file name an RFC 2231 parameter (never an
    # encoded-word), the PDF base64 in lines of 76
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    assert b"filename*" in raw and b"=?utf-8?" not in raw.split(b"Content-Disposition:")[1][:400]
    # And the client's mail program shows the name and opens the PDF as it was
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == name and attachment.get_content() == PDF


def test_names_with_accents_and_a_comma_stay_one_sender_and_one_recipient_on_the_wire(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company sends as "Distribuidora Ñandú, S.A." and its client is
    # "Ferretería Los Andes, S.R.L." (how Spanish company names are written)
    smtp_sender_account(
        tenant.company_id, "all", mailbox, "Distribuidora Ñandú, S.A.", "administracion@cargasdelsur.example"
    )
    put_ferreteria(api, back_office, name="Ferretería Los Andes, S.R.L.")
    # When an invoice is e-mailed
    assert post(api, back_office, "invoice-issued", invoice_event()).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then From and To each hold one address: the comma sits inside the encoded-word or quotes,
    # never bare (a bare one makes two mailboxes: "Ferretería Los Andes" and "S.R.L. <...>", and a
    # From with two mailboxes breaks RFC 5322 3.6.2, which Gmail's bulk-sender rules enforce)
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    assert [(a.display_name, a.addr_spec) for a in mail["From"].addresses] == [
        ("Distribuidora Ñandú, S.A.", "administracion@cargasdelsur.example")
    ]
    assert [(a.display_name, a.addr_spec) for a in mail["To"].addresses] == [
        ("Ferretería Los Andes, S.R.L.", "compras@losandes.example")
    ]


def test_a_payment_email_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client; When the back office posts a payment
    put_ferreteria(api, back_office)
    assert post(api, back_office, "payment-recorded", payment_event("pay-w", "manual")).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    # Then its bytes are 7-bit and well formed
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


def test_a_pickup_without_address_or_date_prints_no_none(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given confirmed pickups, one of which has neither address nor date (issue 8, item 17)
    put_ferreteria(api, back_office)
    event = {
        "event_id": "pc-none",
        "client_id": CLIENT,
        "pickups": [
            {"tracking_id": "CDS-000130"},
            {"tracking_id": "CDS-000131", "address": "San Martín 56, Córdoba", "date": "2026-11-03"},
        ],
    }
    # When the back office posts them and the outbox delivers the e-mail
    assert post(api, back_office, "pickups-confirmed", event).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    # Then the e-mail the SMTP server received shows no "None": the sparse pickup by its id alone
    raw = mailbox.files()[0].read_bytes()
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert b"None" not in raw and "None" not in text + html
    lines = text.splitlines()
    assert "- CDS-000130" in lines and "- CDS-000131: San Martín 56, Córdoba (3/11/2026)" in lines


def test_a_template_bomb_fails_the_message_not_the_event(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher
) -> None:
    import time

    from chalicelib.core import clock
    from chalicelib.core.domain import MessageTemplate
    from chalicelib.store import templates as template_store

    # Given the company's invoice template hides a resource bomb (stored before the save-time
    # check knew about it), and a client with an e-mail address
    put_ferreteria(api, back_office)
    template_store.save_template(
        MessageTemplate(
            company_id=tenant.company_id,
            key="invoice",
            sender_area="invoices",
            subject="Factura {{ invoice.number }}",
            text="{% if invoice.number %}{{ ([[1]*199999]*2000)|string|length }}{% endif %}",
            html="<p>{{ '%.*f' % (500000000, 1) }}</p>",
            language="es",
            updated_at=clock.now(),
            updated_by="admin@old",
        )
    )
    # When the back office posts an invoice
    started = time.monotonic()
    response = post(api, back_office, "invoice-issued", invoice_event("inv-bomb"))
    # Then the event is accepted at once and its e-mail is recorded as failed, saying why
    assert time.monotonic() - started < 10.0  # fails at once (it took minutes); slack: loaded CI
    assert response.status_code == 202, response.body
    [message] = body(response)["messages"]
    assert message["state"] == "failed" and "longer than 200,000 characters" in message["error"]
    # And the history, read right after the answer (the outbox not yet drained), says failed too,
    # with the same reason (decision 0018, session 36: it showed "queued" for a few seconds)
    at_once = api.http.get(f"/history/email/{message['communication_id']}", headers=tenant.staff_headers())
    assert at_once.status_code == 200, at_once.body
    assert (body(at_once)["state"], body(at_once)["status_group"]) == ("failed", "not_sent")
    assert "longer than 200,000 characters" in body(at_once)["error"]
    # And once the outbox has it (it records a failure written with a client's erasure checks,
    # and tells it, a moment later: decision 0017, session 35), the history shows it failed and
    # nothing is sent
    assert deliver_outboxes()["sent"] == 0
    history = api.http.get(f"/history/email/{message['communication_id']}", headers=tenant.staff_headers())
    assert history.status_code == 200, history.body
    assert body(history)["state"] == "failed" and "longer than" in body(history)["error"]
    assert mailbox.messages() == []


def test_a_payment_without_the_clients_balance_sends_no_sms_that_would_print_it_empty(
    api: Client, tenant: Tenant, back_office: dict[str, str], mailbox: MailCatcher, local_aws: dict[str, str]
) -> None:
    # Given SMS on for automatic payments, the company's default payment SMS (which prints the
    # client's balance as %deuda%), and a client with a Buenos Aires mobile
    enable_sms(tenant, sms_on_automatic_payments=True)
    number = "+5491159876543"
    before = len(sms_to(local_aws, number))
    put_ferreteria(api, back_office)
    # When the back office records a payment without saying what the client still owes
    event = {k: v for k, v in payment_event("pay-nobal", "automatic").items() if k != "client_balance"}
    answer = body(post(api, back_office, "payment-recorded", event))
    # Then the receipt goes by e-mail, and the SMS is not sent half-filled ("Su saldo pendiente es
    # de .") but skipped, the answer saying what the back office should send
    assert [m["channel"] for m in answer["messages"]] == ["email"]
    assert answer["skipped"] == [
        {
            "channel": "sms",
            "reason": "the event gives no client_balance, which the company's SMS text prints "
            "(%deuda%, %saldo%)",
            "to_address": None,
        }
    ]
    assert deliver_outboxes()["sent"] == 1
    assert len(mailbox.wait_for(1)) == 1
    assert sms_to(local_aws, number)[before:] == []


def test_a_payment_sms_that_does_not_print_the_balance_goes_without_it(
    api: Client, tenant: Tenant, back_office: dict[str, str], local_aws: dict[str, str]
) -> None:
    # Given the company's own payment SMS, which does not print the balance
    enable_sms(tenant, sms_on_automatic_payments=True)
    template = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    own = {k: template[k] for k in ("subject", "text", "html")} | {"sms_text": "Recibimos %monto%. ¡Gracias!"}
    assert (
        api.http.put("/templates/payment", headers=tenant.admin_headers(), body=json.dumps(own)).status_code
        == 200
    )
    put_ferreteria(api, back_office, phones=["+54 9 351 555-1234"])
    # When a payment is recorded without the client's balance
    event = {k: v for k, v in payment_event("pay-nobal-2", "automatic").items() if k != "client_balance"}
    answer = body(post(api, back_office, "payment-recorded", event))
    # Then the SMS goes, since nothing in it is left empty
    assert sorted(m["channel"] for m in answer["messages"]) == ["email", "sms"]
    deliver_outboxes()
    assert sms_to(local_aws, "+5493515551234")[-1] == "Recibimos $ 5.000,00. ¡Gracias!"
