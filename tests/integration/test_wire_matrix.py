"""What goes on the wire, for every kind of e-mail Pregón sends (Q5, T7, C8, RFC 3834): each kind
sent through its real path with Spanish content (accents, ñ, «», €, a subject over 78
characters, a sender and a client whose names hold accents and a comma, a PDF named
``Factura nº 12 – octubre.pdf``), and checked on the bytes the SMTP server received (or the raw
message handed to SES), never on what a parser makes of them: the generic rules of
``tests/steps/mail.py::wire_problems``, then the kind's own headers.

| kind | List-Unsubscribe + one-click | Auto-Submitted |
|---|---|---|
| tracking alert (T7) | yes | auto-generated |
| manual and bulk send (C8) | yes | none |
| confirmation, invoice, payment, ticket, pickups, documents, statements, reminder | no | auto-generated |
| staff reply from the register, account and template test sends | no | none |
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import moto_received
from tests.steps.clients import put_client
from tests.steps.inbound import receive_mail
from tests.steps.mail import header_fields, wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.reminders import push_ok, receivable, run_now, set_reminders_ok
from tests.steps.sends import expand_pages
from tests.steps.tenants import Tenant, smtp_sender_account
from tests.steps.tracking import ask_for_alerts, issue, post_event, staff_subscribe, sweep

DOMAIN = "cargasdelsur.example"
SENDER = "Cargas del Sur – Envíos, S.A."
CLIENT_NAME = "Ferretería Núñez, S.R.L."
LONG_SUBJECT = (
    "Aviso «{{ client.name }}»: su factura nº 12 de octubre por 1.234,56 € ya está disponible para descargar"
)
NOTICE = {
    "subject": LONG_SUBJECT,
    "text": "Hola {{ client.name }}: «corte» el lunes, 12 €.",
    "html": "<p>Hola {{ client.name }}: «corte» el lunes, 12 €.</p>",
}
PDF_NAME = "Factura nº 12 – octubre.pdf"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
ONE_CLICK = b"List-Unsubscribe-Post: List-Unsubscribe=One-Click"
JOSE = '"Núñez, José" <compras@nunez.example>'  # writes from the client's address


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The company sends every area from the test's SMTP server as "Cargas del Sur – Envíos,
    S.A."; its back office's key may post events, receivables and documents; its client CLI-1 is
    "Ferretería Núñez, S.R.L."."""
    from chalicelib.tenants.companies import issue_api_key

    for area in ("all", "tracking"):
        smtp_sender_account(tenant.company_id, area, mailbox, SENDER, f"avisos@{DOMAIN}")
    scopes = ["events:write", "clients:write", "receivables:write", "documents:write", "documents:read"]
    headers = {
        "Authorization": f"ApiKey {issue_api_key(tenant.company_id, 'erp', scopes)}",
        "Content-Type": "application/json",
    }
    put_client(api, headers, "CLI-1", name=CLIENT_NAME, emails=["compras@nunez.example"])
    return headers


def kind_headers(raw: bytes) -> tuple[bool, bytes | None]:
    """(whether it offers RFC 8058's one-click unsubscribe, its Auto-Submitted value), read from
    the bytes: each header once, on one line."""
    unsubscribe, post, auto = (
        header_fields(raw, n) for n in ("List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted")
    )
    assert len(unsubscribe) == len(post) <= 1 and len(auto) <= 1, (unsubscribe, post, auto)
    if unsubscribe:
        assert post == [ONE_CLICK] and b"\r\n" not in unsubscribe[0], (unsubscribe, post)
    return bool(unsubscribe), auto[0].partition(b":")[2].strip() if auto else None


def the_only_mail(mailbox: MailCatcher) -> bytes:
    [path] = mailbox.files()
    return path.read_bytes()


def names_on_the_wire(raw: bytes) -> tuple[str, str]:
    """From's and To's display names as a mail program decodes the bytes."""
    mail = message_from_bytes(raw, policy=policy.default)
    return mail["From"].addresses[0].display_name, mail["To"].addresses[0].display_name


def post_business_event(api: Client, erp: dict[str, str], event: str, payload: dict[str, Any]) -> None:
    answer = api.http.post(f"/events/{event}", headers=erp, body=json.dumps(payload))
    assert answer.status_code == 202 and body(answer)["messages"], answer.body


# --- automatic: no one-click unsubscribe, Auto-Submitted: auto-generated --------------------------

EVENTS: dict[str, dict[str, Any]] = {
    "invoice-issued": {
        "invoice": {"number": "A-0001-00001234", "issued_on": "2026-11-02", "total": "1.234,56 €"},
        "pdf": {"content_base64": base64.b64encode(PDF).decode(), "file_name": PDF_NAME},
    },
    "payment-recorded": {
        "payment": {
            "receipt_number": "X-0001-567",
            "amount": "500 €",
            "received_on": "2026-11-02",
            "entry": "manual",
        },
        "client_balance": "1.500,00 €",
    },
    "ticket-changed": {
        "notify_client": True,
        "ticket": {
            "id": "4711",
            "subject": "Sin conexión «fibra»",
            "status": "En curso",
            "operator": "Martín",
        },
    },
    "pickup-approved": {
        "pickup_number": "R-1187",
        "branch": "Sucursal Córdoba – Centro",
        "pickup_date": "2026-11-03",
        "tracking_id": "CDS-000124",
        "label_url": "https://labels.cargasdelsur.example/CDS-000124.pdf",
    },
    "pickups-confirmed": {"pickups": [{"tracking_id": "CDS-000130", "address": "San Martín 56, Córdoba"}]},
}


@pytest.mark.parametrize("event", EVENTS)
def test_an_event_message_says_it_is_automatic_and_offers_no_unsubscribe(
    api: Client, erp: dict[str, str], mailbox: MailCatcher, event: str
) -> None:
    # Given the back office posts what happened to Ferretería Núñez, S.R.L.
    post_business_event(api, erp, event, {"event_id": f"{event}-1", "client_id": "CLI-1", **EVENTS[event]})
    # When the outbox delivers the e-mail
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then its bytes are what a strict receiver takes, the names as they were written
    assert wire_problems(raw, domain=DOMAIN) == []
    assert names_on_the_wire(raw) == (SENDER, CLIENT_NAME)
    # And it says no person wrote it (RFC 3834: the client's vacation responder does not answer
    # it into the register), with no unsubscribe: it is transactional
    assert kind_headers(raw) == (False, b"auto-generated")


def test_an_invoice_carries_its_pdf_as_an_attachment_named_as_the_erp_named_it(
    api: Client, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the back office posts an invoice with its PDF named "Factura nº 12 – octubre.pdf"
    post_business_event(
        api, erp, "invoice-issued", {"event_id": "inv-pdf", "client_id": "CLI-1", **EVENTS["invoice-issued"]}
    )
    # When it is delivered
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then the attachment is an application/pdf whose name is an RFC 2231 parameter (7-bit, no
    # encoded-word) followed by its ASCII spelling, in Content-Type and Content-Disposition, and
    # a mail program shows that name and opens the PDF as it was
    assert wire_problems(raw, domain=DOMAIN) == []
    rfc2231 = b"*=utf-8''Factura%20n%C2%BA%2012%20%E2%80%93%20octubre.pdf;\r\n"
    assert attachment_head(raw) == (
        b"Content-Type: application/pdf;\r\n name" + rfc2231 + b' name="Factura no 12 - octubre.pdf"',
        b"Content-Disposition: attachment;\r\n filename"
        + rfc2231
        + b' filename="Factura no 12 - octubre.pdf"',
    )
    [attachment] = list(message_from_bytes(raw, policy=policy.default).iter_attachments())
    assert attachment.get_filename() == PDF_NAME and attachment.get_content() == PDF


def attachment_head(raw: bytes) -> tuple[bytes, bytes]:
    """The PDF part's Content-Type and Content-Disposition fields as they went on the wire."""
    part = raw.split(b"\r\nContent-Type: application/pdf", 1)[1].split(b"\r\n\r\n", 1)[0]
    head = b"Content-Type: application/pdf" + part + b"\r\n\r\n"
    return header_fields(head, "Content-Type")[0], header_fields(head, "Content-Disposition")[0]


LONG_NAME = ("Resumen de cuenta — Peña, Núñez y Cía. «año 2026» " * 4)[:176] + ".pdf"


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("Resumen de cuenta — Peña.pdf", "Resumen de cuenta - Pena.pdf"),
        (LONG_NAME, "Resumen de cuenta - Pena, Nunez y Cia. _ano 2026_ Resume.pdf"),
    ],
    ids=["accented", "180 characters"],
)
def test_an_attachment_named_with_accents_goes_with_an_ascii_name_for_old_mail_programs(
    api: Client, erp: dict[str, str], mailbox: MailCatcher, name: str, fallback: str
) -> None:
    from urllib.parse import quote

    from chalicelib.core.names import attachment_name

    # Given the back office names the invoice's PDF with accents (the long one: 180 characters,
    # which Pregón attaches under its first 120, extension kept)
    assert len(LONG_NAME) == 180
    pdf = {"content_base64": base64.b64encode(PDF).decode(), "file_name": name}
    post_business_event(
        api,
        erp,
        "invoice-issued",
        {"event_id": "inv-named", "client_id": "CLI-1", **EVENTS["invoice-issued"]} | {"pdf": pdf},
    )
    # When it is delivered
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then both headers carry the name twice: RFC 2231's utf-8 form, cut in numbered sections
    # between two characters when it is longer than a line, then the quoted ASCII spelling
    # Outlook 2010 and some webmail show instead of ATT00001.bin; every line within 76
    assert wire_problems(raw, domain=DOMAIN) == []
    sent = attachment_name(name)
    for field, param in zip(attachment_head(raw), (b"name", b"filename"), strict=True):
        lines = field.split(b"\r\n")
        assert all(len(line) <= 76 for line in lines), field
        assert lines[-1] == b" " + param + b'="' + fallback.encode() + b'"'
        extended = [line.strip().rstrip(b";").split(b"=", 1) for line in lines[1:-1]]
        if len(lines) == 3:
            assert extended[0][0] == param + b"*"
        else:
            assert [key for key, _ in extended] == [param + f"*{n}*".encode() for n in range(len(lines) - 2)]
        assert b"".join(value for _, value in extended) == b"utf-8''" + quote(sent, safe="").encode()
    # And Python's e-mail parser gives the whole name back (no second parser is locked)
    [attachment] = list(message_from_bytes(raw, policy=policy.default).iter_attachments())
    assert attachment.get_filename() == sent and attachment.get_content() == PDF
    assert attachment["Content-Type"].params["name"] == sent


def test_an_invoice_from_the_companys_own_template_folds_its_long_subject_at_legal_points(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company's own invoice template, whose subject renders to over 78 characters
    saved = api.http.put("/templates/invoice", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    # When an invoice is e-mailed
    post_business_event(
        api, erp, "invoice-issued", {"event_id": "inv-own", "client_id": "CLI-1", **EVENTS["invoice-issued"]}
    )
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then the subject is folded into lines of at most 76 characters, as encoded-words each
    # decoding alone, and reads back whole
    assert wire_problems(raw, domain=DOMAIN) == []
    [subject] = header_fields(raw, "Subject")
    assert b"\r\n " in subject and all(len(line) <= 76 for line in subject.split(b"\r\n"))
    expected = (
        f"Aviso «{CLIENT_NAME}»: su factura nº 12 de octubre por 1.234,56 € ya está disponible para descargar"
    )
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == expected
    assert kind_headers(raw) == (False, b"auto-generated")


def test_a_document_the_erp_posts_says_it_is_automatic(
    api: Client, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the ERP posts an order for the client
    lines = [
        {"code": "A-100", "description": "Tornillo «caja» × 100", "quantity": "12", "unit_price": "1250"}
    ]
    order = {"number": "P-2026-0088", "date": "2026-11-02", "client_id": "CLI-1", "lines": lines}
    answer = api.http.post("/documents/orders", headers=erp, body=json.dumps(order))
    assert answer.status_code == 202, answer.body
    # When it is delivered
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then its bytes are well formed, the PDF attached, and it is marked automatic
    assert wire_problems(raw, domain=DOMAIN) == []
    assert b"\r\nContent-Type: application/pdf;\r\n" in raw
    assert kind_headers(raw) == (False, b"auto-generated")


def test_a_bulk_statement_says_it_is_automatic(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements

    # Given the client has an open invoice
    movement = Movement("2026-10-01", "A-0001-00000012", "1234.56", "Factura nº 12", "2026-10-31")
    save_open_movements(tenant.company_id, "CLI-1", [movement], None)
    # When staff send every client its statement
    started = api.http.post(
        "/documents/statements/bulk", headers=erp, body=json.dumps({"as_of": "2026-10-31"})
    )
    assert started.status_code == 201, started.body
    expand_pages()
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then its bytes are well formed, the PDF attached, marked automatic, with no unsubscribe
    # (a statement is transactional, however many go at once)
    assert wire_problems(raw, domain=DOMAIN) == []
    assert b"\r\nContent-Type: application/pdf;\r\n" in raw
    assert kind_headers(raw) == (False, b"auto-generated")


def test_a_reminder_says_it_is_automatic(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given reminders are on for the client, whose invoice is due on the 20th
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    # When the daily run goes 7 days before
    clock.set_now(datetime(2026, 11, 13, 9, tzinfo=timezone.utc))
    assert run_now(api, tenant)["reminders"] == 1
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then
    assert wire_problems(raw, domain=DOMAIN) == []
    assert names_on_the_wire(raw) == (SENDER, CLIENT_NAME)
    assert kind_headers(raw) == (False, b"auto-generated")


def test_a_subscription_confirmation_is_automatic_and_offers_no_unsubscribe(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given someone asks for a parcel's alerts on the tracking site
    issue(api, tenant, "TRK-CONF")
    assert ask_for_alerts(api, tenant, "TRK-CONF", "ana@example.com", "Ana María").status_code == 202
    # When the confirmation e-mail is delivered
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then: nothing to unsubscribe from yet (it asks to subscribe)
    assert wire_problems(raw, domain=DOMAIN) == []
    assert kind_headers(raw) == (False, b"auto-generated")


# --- bulk and subscribed: one-click unsubscribe ----------------------------------------------------


def test_a_tracking_alert_offers_one_click_unsubscribe_on_one_line(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given Ana María Núñez follows a parcel, and the carrier delivers it with a Spanish note
    issue(api, tenant, "TRK-WIRE")
    staff_subscribe(api, tenant, "TRK-WIRE", "ana@example.com", first_name="Ana María", last_name="Núñez")
    post_event(
        api,
        tenant,
        "TRK-WIRE",
        "CARRIER-EV-48213",
        "DELIVERED",
        minutes=1,
        observation="Recibió «Peña» – 12 €",
    )
    # When the sweep e-mails the alert
    assert sweep(tenant).sent == 1
    raw = the_only_mail(mailbox)
    # Then its unsubscribe pair is on one line each (RFC 8058), and it is automatic
    assert wire_problems(raw, domain=DOMAIN) == []
    assert names_on_the_wire(raw) == (SENDER, "Ana María Núñez")
    assert kind_headers(raw) == (True, b"auto-generated")
    assert header_fields(raw, "List-Id") == [f"List-Id: <avisos.{DOMAIN}>".encode()]
    # And it names no alert: the carrier's event id and Ana's subscription id are nowhere in its
    # bytes (X-Pregon-Alert carried both); X-Pregon-Message names the e-mail, which the alert names
    listed = api.http.get("/parcels/TRK-WIRE/alerts", headers=tenant.staff_headers())
    [alert] = body(listed)["items"]
    assert header_fields(raw, "X-Pregon-Alert") == []
    assert b"CARRIER-EV-48213" not in raw and alert["subscription_id"].encode() not in raw
    assert header_fields(raw, "Message-ID") == [f"Message-ID: {alert['message_id']}".encode()]


def test_manual_and_bulk_sends_offer_one_click_unsubscribe_and_each_has_its_own_message_id(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company's own notice, with a subject over 78 characters, and a second client
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    put_client(api, erp, "CLI-2", name="Pérez, Ana", emails=["ana@perez.example"])
    send = {"channel": "email", "template": "custom:aviso"}
    # When staff send it to one client at once, then to both as a job
    one = api.http.post(
        "/sends", headers=tenant.staff_headers(), body=json.dumps(send | {"client_ids": ["CLI-1"]})
    )
    both = api.http.post(
        "/sends", headers=tenant.staff_headers(), body=json.dumps(send | {"client_ids": ["CLI-1", "CLI-2"]})
    )
    assert one.status_code == 201 and both.status_code == 201, (one.body, both.body)
    expand_pages()
    deliver_outboxes()
    mailbox.wait_for(3)
    raws = [path.read_bytes() for path in mailbox.files()]
    # Then each is well formed, offers one-click unsubscribe, and is no automatic message; it
    # names its list (RFC 2919) after its sender, as spam filters expect of a list's message
    for raw in raws:
        assert wire_problems(raw, domain=DOMAIN) == []
        assert kind_headers(raw) == (True, None)
        assert header_fields(raw, "List-Id") == [f"List-Id: <avisos.{DOMAIN}>".encode()]
    # And no two share a Message-ID
    assert len({header_fields(raw, "Message-ID")[0] for raw in raws}) == 3


# --- written by a person, or a test: neither ------------------------------------------------------


def a_clerk_answers(api: Client, tenant: Tenant, sender: str, subject: str, text: str) -> Any:
    """``sender`` writes to the company about CLI-1 with ``subject``; a clerk answers it from the
    client's register with ``text``: the answer to that reply."""
    receive_mail(api, tenant.company_id, sender, subject, "Hola")
    register = body(api.http.get("/clients/CLI-1/register", headers=tenant.staff_headers()))
    [received] = [item for item in register["items"] if item["direction"] == "in"]
    return api.http.post(
        f"/clients/CLI-1/register/{received['communication_id']}/reply",
        headers=tenant.staff_headers(),
        body=json.dumps({"text": text}),
    )


def test_a_staff_reply_from_the_register_is_neither_automatic_nor_a_list(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given José wrote from the client's address under a name with a comma, with a long subject;
    # When a clerk answers it
    reply = a_clerk_answers(
        api,
        tenant,
        JOSE,
        "¿Cuándo llega mi factura nº 12 de octubre? La necesito con urgencia para cerrar el mes",
        "Mañana, José. «Saludos»",
    )
    assert reply.status_code == 201, reply.body
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then it goes to "Núñez, José" (one mailbox), threaded, and is neither automatic nor a list
    assert wire_problems(raw, domain=DOMAIN) == []
    assert names_on_the_wire(raw) == (SENDER, "Núñez, José")
    assert header_fields(raw, "In-Reply-To")
    assert kind_headers(raw) == (False, None)


@pytest.mark.parametrize("path", ["/sender-accounts/all/test", "/templates/invoice/test"])
def test_a_test_send_is_neither_automatic_nor_a_list(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, path: str
) -> None:
    # When the administrator sends an account's or a template's test
    answer = api.http.post(path, headers=tenant.admin_headers(), body=b'{"to": "ana@example.com"}')
    assert answer.status_code == 200 and body(answer)["ok"] is True, answer.body
    raw = the_only_mail(mailbox)
    # Then
    assert wire_problems(raw, domain=DOMAIN) == []
    assert kind_headers(raw) == (False, None)


# --- SES: the same bytes ---------------------------------------------------------------------------


def test_an_invoice_through_ses_is_handed_over_as_the_smtp_path_writes_it(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    from tests.steps.aws import recorded_calls
    from tests.steps.domains import verified_sending_domain

    # Given the company sends from a verified SES domain under its Spanish name
    domain = verified_sending_domain(tenant.company_id, f"{tenant.company_id}.ses.example")
    account = {
        "kind": "ses",
        "display_name": SENDER,
        "from_address": f"avisos@{domain}",
        "ses_identity": domain,
    }
    saved = api.http.put("/sender-accounts/all", headers=tenant.admin_headers(), body=json.dumps(account))
    assert saved.status_code == 200, saved.body
    # When an invoice with its PDF is sent
    with recorded_calls("sesv2", "SendEmail") as calls:
        post_business_event(
            api,
            erp,
            "invoice-issued",
            {"event_id": "inv-ses", "client_id": "CLI-1", **EVENTS["invoice-issued"]},
        )
        assert deliver_outboxes()["sent"] == 1
    # Then SES gets the bytes a strict receiver takes, marked automatic, the PDF attached
    [call] = calls
    raw = call["Content"]["Raw"]["Data"]
    assert wire_problems(raw, domain=domain) == []
    assert names_on_the_wire(raw) == (SENDER, CLIENT_NAME)
    assert kind_headers(raw) == (False, b"auto-generated")
    assert b" filename*=utf-8''Factura%20n%C2%BA" in raw and b' filename="Factura no 12' in raw


def test_a_resent_reply_stays_in_its_thread_and_a_resent_send_keeps_its_unsubscribe(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a clerk answered José's e-mail from the register, and sent the client a notice
    reply = body(
        a_clerk_answers(api, tenant, "José <compras@nunez.example>", "¿Y mi factura nº 12?", "Mañana, José.")
    )
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    send = {"channel": "email", "template": "custom:aviso", "client_ids": ["CLI-1"]}
    [notice] = body(api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(send)))[
        "messages"
    ]
    assert deliver_outboxes()["sent"] == 2
    replied, _ = sorted((p.read_bytes() for p in mailbox.files()), key=lambda raw: b"In-Reply-To" not in raw)
    # When staff resend both from the history
    ids = [reply["communication_id"], notice["communication_id"]]
    resent = api.http.post("/history/resend", headers=tenant.staff_headers(), body=json.dumps({"ids": ids}))
    assert resent.status_code == 202, resent.body
    assert deliver_outboxes()["sent"] == 2
    again, notice_again = sorted(
        (p.read_bytes() for p in mailbox.files()[2:]), key=lambda raw: b"In-Reply-To" not in raw
    )
    # Then the resent reply answers José's message as the reply did (his mail program threads
    # it there), its References the thread then the resend's own reference, not the reply's
    assert wire_problems(again, domain=DOMAIN) == []
    assert header_fields(again, "In-Reply-To") == header_fields(replied, "In-Reply-To") != []
    thread, ours = (
        header_fields(replied, "References")[0][12:].split(),
        header_fields(again, "References")[0][12:].split(),
    )
    assert ours[:-1] == thread[:-1] and ours[-1] != thread[-1] and ours[-1].startswith(b"<ref-")
    # And the resent notice still offers its one-click unsubscribe
    assert wire_problems(notice_again, domain=DOMAIN) == []
    assert kind_headers(notice_again) == (True, None)


def test_a_company_template_whose_text_renders_blank_sends_the_htmls_text(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company's notice says everything in a variable in its text, and in its HTML too
    notice = NOTICE | {
        "text": "{{ aviso }}",
        "html": "<style>p {color: red}</style>"
        "<p>Hola {{ client.name }}:</p><p>«corte» el lunes&nbsp;12 €.</p>",
    }
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(notice))
    assert saved.status_code == 200, saved.body
    # When staff send it without that variable
    send = {"channel": "email", "template": "custom:aviso", "client_ids": ["CLI-1"]}
    assert api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(send)).status_code == 201
    assert deliver_outboxes()["sent"] == 1
    raw = the_only_mail(mailbox)
    # Then the text/plain alternative is not blank: it reads as the HTML does, without its style
    assert wire_problems(raw, domain=DOMAIN) == []
    text = message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text == f"Hola {CLIENT_NAME}:\n«corte» el lunes 12 €.\n"


# --- a real spam filter: SpamAssassin's local rules ------------------------------------------------

SPAM_BAR = 0.5  # points, of SpamAssassin's local tests; 5 is spam, so this leaves a wide margin


@pytest.fixture(scope="module")
def every_kind_sent() -> dict[str, bytes]:
    """Every kind of e-mail Pregón sends, by kind, as the SMTP server (or SES) received it: sent
    once, by the module's first test that needs them (``every_kind_of_email``)."""
    return {}


def every_kind_of_email(
    sent: dict[str, bytes],
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    local_aws: dict[str, str],
    clock: Any,
) -> dict[str, bytes]:
    """Send every kind of e-mail through its real path, as the seeds' Spanish templates write
    them (and a company template of the company's own), into ``sent``; nothing when ``sent`` is
    already filled."""

    from chalicelib.channels.sms import MasivosAccount
    from chalicelib.core.domain import SenderDomain, WebhookEndpoint
    from chalicelib.messaging.accounts import allowance_notice, domain_checks, sms_credit
    from chalicelib.messaging.webhooks.service import _tell_administrators
    from chalicelib.tenants.companies import get_company
    from chalicelib.tenants.staff import UserFields, save_user
    from tests.steps.domains import pregon_notice_sender_verified
    from tests.steps.history import add_register_record, register_tables

    if sent:
        return sent
    from tests.steps.branding import png, set_branding, upload_logo

    # (the company wears its own colours and logo, as most companies do: every e-mail's header
    # shows the logo, its header and button the colours)
    assert set_branding(api, tenant, primary_color="#2E8B57", accent_color="#FFD100").status_code == 200
    assert upload_logo(api, tenant, png()).status_code == 200

    def caught(*kinds: str) -> None:
        """The next e-mails the SMTP server received are these kinds, in this order."""
        seen = len(sent)
        mailbox.wait_for(seen + len(kinds))
        for kind, path in zip(kinds, mailbox.files()[seen:], strict=True):
            sent[kind] = path.read_bytes()

    # Given the company sends as "Cargas del Sur – Envíos, S.A." to Ferretería Núñez, S.R.L.,
    # and its administrator Ana has an address
    company = tenant.company_id
    save_user(company, "ana", UserFields(name="Ana Pérez", email=f"ana@{company}.example", level=1))
    put_client(api, erp, "CLI-2", name="Pérez, Ana", emails=["ana@perez.example"])
    # When it sends every kind of e-mail, as its seeds' Spanish templates write them:
    # a double opt-in confirmation, then a tracking alert to a follower
    issue(api, tenant, "TRK-SPAM")
    assert ask_for_alerts(api, tenant, "TRK-SPAM", "ana@example.com", "Ana María").status_code == 202
    deliver_outboxes()
    caught("confirmation")
    staff_subscribe(api, tenant, "TRK-SPAM", "beto@example.com", first_name="Beto", last_name="Núñez")
    post_event(api, tenant, "TRK-SPAM", "EV-1", "DELIVERED", minutes=1, observation="Recibió «Peña»")
    assert sweep(tenant).sent == 1
    caught("tracking alert")
    # each business event (the invoice with its PDF, a ticket's answer in its thread...)
    for event in EVENTS:
        post_business_event(
            api, erp, event, {"event_id": f"{event}-spam", "client_id": "CLI-1", **EVENTS[event]}
        )
        assert deliver_outboxes()["sent"] == 1
        caught(f"event {event}")
    # a document the ERP posts, and a bulk statement with its PDF
    lines = [{"code": "A-100", "description": "Tornillo × 100", "quantity": "12", "unit_price": "1250"}]
    order = {"number": "P-2026-0088", "date": "2026-11-02", "client_id": "CLI-1", "lines": lines}
    assert api.http.post("/documents/orders", headers=erp, body=json.dumps(order)).status_code == 202
    assert deliver_outboxes()["sent"] == 1
    caught("document")
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements

    save_open_movements(
        company, "CLI-1", [Movement("2026-10-01", "A-1", "1234.56", "Factura nº 1", "2026-10-31")], None
    )
    bulk = api.http.post("/documents/statements/bulk", headers=erp, body=json.dumps({"as_of": "2026-10-31"}))
    assert bulk.status_code == 201, bulk.body
    expand_pages()
    assert deliver_outboxes()["sent"] == 1  # CLI-2 owes nothing
    caught("bulk statement (PDF)")
    # a manual e-mail from staff to one client, then a send job to both
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    send = {"channel": "email", "template": "custom:aviso"}
    one = api.http.post(
        "/sends", headers=tenant.staff_headers(), body=json.dumps(send | {"client_ids": ["CLI-1"]})
    )
    assert one.status_code == 201, one.body
    assert deliver_outboxes()["sent"] == 1
    caught("manual e-mail")
    both = api.http.post(
        "/sends", headers=tenant.staff_headers(), body=json.dumps(send | {"client_ids": ["CLI-1", "CLI-2"]})
    )
    assert both.status_code == 201, both.body
    expand_pages()
    assert deliver_outboxes()["sent"] == 2
    caught("send job", "send job, second client")
    # a clerk's answer in a client's thread, and a colleague told of that record
    answer = a_clerk_answers(api, tenant, JOSE, "¿Cuándo llega mi factura nº 12?", "Mañana, José.")
    assert answer.status_code == 201 and deliver_outboxes()["sent"] == 1, answer.body
    caught("reply in a thread")
    register_tables(api, tenant)
    save_user(company, "marta", UserFields(name="Marta Núñez", email="marta@cargasdelsur.example", level=2))
    record = add_register_record(
        api, tenant.staff_headers(), "CLI-1", record_type="call", subject="Llamó por el IVA de octubre",
        motive="consulta", area="fiscal", initiated_by="client", text="Pide que lo llamen",
    )  # fmt: skip
    told = api.http.post(
        f"/clients/CLI-1/register/{record['communication_id']}/notify",
        headers=tenant.staff_headers(),
        body=json.dumps({"users": ["marta"], "comment": "Llamalo hoy"}),
    )
    assert told.status_code == 201, told.body
    assert deliver_outboxes()["sent"] == 1
    caught("register notice")
    # the administrator's test sends of the account and of a template
    for path in ("/sender-accounts/all/test", "/templates/invoice/test"):
        answer = api.http.post(path, headers=tenant.admin_headers(), body=b'{"to": "ana@example.com"}')
        assert answer.status_code == 200 and body(answer)["ok"] is True, answer.body
        caught(f"test send {path}")
    # a payment reminder 7 days before the due date
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    clock.set_now(datetime(2026, 11, 13, 9, tzinfo=timezone.utc))
    assert run_now(api, tenant)["reminders"] == 1
    assert deliver_outboxes()["sent"] == 1
    caught("reminder")
    # and Pregón's own notices to the administrators, handed to SES by their sending paths
    pregon_notice_sender_verified()
    firm = get_company(company)
    domain = SenderDomain(
        f"avisos.{DOMAIN}",
        company,
        f"bounce.avisos.{DOMAIN}",
        ("a" * 32, "b" * 32, "c" * 32),
        clock.now(),
        "ana",
    )
    notices = {
        "sms-credit": lambda group: sms_credit.notice_message(
            firm,
            MasivosAccount(120, datetime(2026, 11, 20).date(), 4880),
            500,
            7,
            group,
            low=True,
            expiring=False,
        ),
        "sms-allowance": lambda group: allowance_notice.notice_message(firm, 7, group),
        "sending-domain": lambda group: domain_checks.notice_message(
            firm, domain, clock.now(), clock.now() + timedelta(hours=72), [], group, kind="unverified"
        ),
    }
    # (the domain's DKIM tokens are SES's random letters and digits: these two hold 7 consonants
    # in a row, which SpamAssassin's URI_NOVOWEL counts half a point for, the worst they can do)
    for kind, message in notices.items():
        assert sms_credit.tell_once_a_day(firm, f"spam-check-{kind}", kind, message) == 1
    at = clock.now()
    endpoint = WebhookEndpoint(
        company,
        "wh-1",
        "https://erp.cargasdelsur.example/hooks?token=x",
        ("delivered",),
        False,
        at,
        "ana",
        at,
        at,
    )
    _tell_administrators(endpoint, at - timedelta(days=3))
    raw = moto_received("ses", "RawMessage")
    to_ana = [m["raw_data"].encode() for m in raw if f"ana@{company}.example" in m["raw_data"]]
    assert len(to_ana) == 4
    for kind, notice in zip([*notices, "webhook-disabled"], to_ana, strict=True):
        sent[f"notice: {kind}"] = notice

    return sent


def test_no_kind_of_email_looks_like_spam_to_spamassassin(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    local_aws: dict[str, str],
    clock: Any,
    every_kind_sent: dict[str, bytes],
) -> None:
    from chalicelib.messaging.templates import IMAGE_ONLY_CHARS
    from tests.steps.markup import html_part
    from tests.steps.spam import spam_scores

    # Given the company sends every kind of e-mail, its logo at the top of each default one (a
    # remote image: SpamAssassin's HTML_IMAGE_ONLY_* score a short HTML part with any image)
    sent = every_kind_of_email(every_kind_sent, api, tenant, erp, mailbox, local_aws, clock)
    with_logo = [kind for kind, raw in sent.items() if b"/logo/" in (html_part(raw) or b"")]
    assert len(with_logo) == 11, with_logo
    # And then writes in English: every English default e-mail, with its logo and without, and two
    # notices of its own with the logo, a line of text (its save warns) and a whole e-mail's worth
    english, warnings = english_and_own_templates(api, tenant, mailbox)
    assert all(
        b'<html lang="en"' in (html_part(raw) or b"") for kind, raw in english.items() if "en " in kind
    )
    assert warnings == {"custom:short": ["html_image_only"], "custom:long": []}
    # When SpamAssassin's local tests score them all (in one process: loading its rules is the cost)
    scored = spam_scores({**sent, **english})
    # Then none of Pregón's e-mails, Spanish or English, logo or not, is anywhere near spam
    own = {"custom:short", "custom:long"}
    assert {kind: s.shown() for kind, s in scored.items() if s.score > SPAM_BAR and kind not in own} == {}
    # And the warned notice scores HTML_IMAGE_ONLY_*, the other does not: the warning's bound is the rule's
    image_only = {key: [r for r in scored[key].rules if r.startswith("HTML_IMAGE_ONLY")] for key in own}
    assert len(image_only["custom:short"]) == 1 and image_only["custom:long"] == [], image_only
    assert scored["custom:long"].score <= SPAM_BAR, scored["custom:long"].shown()
    assert len((html_part(english["custom:long"]) or b"").decode("utf-8-sig")) > IMAGE_ONLY_CHARS


def english_and_own_templates(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> tuple[dict[str, bytes], dict[str, list[str]]]:
    """Every English default e-mail, with the company's logo and without it, and two notices of the
    company's own with the logo (a line of text; and one that goes on to list every branch), as the
    SMTP server received them, by kind; and the warnings each notice's save answered. The defaults
    go by the administrator's test send (``POST /templates/{key}/test``: the template with its
    preview data), the subscription confirmation (no template replaces it) by asking for alerts:
    their bodies are what differs from the Spanish run; each kind's headers are checked there."""
    from chalicelib.messaging.templates import MESSAGE_TYPES
    from tests.steps.branding import png, remove_logo, upload_logo
    from tests.steps.templates import LONG_WITH_LOGO, SHORT_WITH_LOGO

    admin = tenant.admin_headers()
    sent: dict[str, bytes] = {}
    caught = len(mailbox.files())

    def arrived(label: str) -> None:
        nonlocal caught
        caught += 1
        mailbox.wait_for(caught)
        sent[label] = mailbox.files()[caught - 1].read_bytes()

    def test_send(key: str, label: str) -> None:
        answer = api.http.post(f"/templates/{key}/test", headers=admin, body=b'{"to": "ana@example.com"}')
        assert answer.status_code == 200 and body(answer)["ok"] is True, answer.body
        arrived(label)

    def confirmation(label: str) -> None:
        email = f"{label.replace(' ', '.')}@example.com"
        assert ask_for_alerts(api, tenant, "TRK-EN", email, "Ann").status_code == 202
        assert deliver_outboxes()["sent"] == 1
        arrived(f"tracking_confirmation {label}")

    # (the company writes to its clients in English, with its logo)
    to_english = api.http.patch("/company", headers=admin, body=json.dumps({"language": "en"}))
    assert to_english.status_code == 200, to_english.body
    assert upload_logo(api, tenant, png()).status_code == 200
    issue(api, tenant, "TRK-EN")
    defaults = [key for key, kind in MESSAGE_TYPES.items() if not kind.custom]
    for key in defaults:
        test_send(key, f"en {key} with the logo")
    confirmation("en with the logo")
    warnings = {}
    for key, template in (("custom:short", SHORT_WITH_LOGO), ("custom:long", LONG_WITH_LOGO)):
        saved = api.http.put(f"/templates/{key}", headers=admin, body=json.dumps(template))
        assert saved.status_code == 200, saved.body
        warnings[key] = [w["code"] for w in body(saved)["warnings"]]
        test_send(key, key)
    assert remove_logo(api, tenant).status_code == 200
    for key in defaults:
        test_send(key, f"en {key} without a logo")
    confirmation("en without a logo")
    return sent, warnings


# --- valid HTML: every page as served and every e-mail as sent, by the W3C's Nu HTML Checker -------


@pytest.mark.browser
def test_every_page_served_and_every_email_sent_is_valid_html(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    local_aws: dict[str, str],
    clock: Any,
    every_kind_sent: dict[str, bytes],
    site: Any,
    browser: Any,
) -> None:
    from tests.steps.branding import remove_logo
    from tests.steps.markup import (
        IGNORED_SEEN,
        console_screens,
        html_part,
        markup_problems,
        served_pages,
        shown,
    )

    # Given every kind of e-mail the company sends (in its own colours and logo), as the SMTP
    # server or SES received it, and its HTML part as a mail program decodes it
    sent = every_kind_of_email(every_kind_sent, api, tenant, erp, mailbox, local_aws, clock)
    # (and the administrator's test send of a template once the company removed its logo: its
    # name in its place)
    assert remove_logo(api, tenant).status_code == 200
    answer = api.http.post(
        "/templates/invoice/test", headers=tenant.admin_headers(), body=b'{"to": "ana@example.com"}'
    )
    assert answer.status_code == 200 and body(answer)["ok"] is True, answer.body
    sent = {**sent, "test send without a logo": mailbox.files()[-1].read_bytes()}
    documents = {f"e-mail {kind}": part for kind, raw in sent.items() if (part := html_part(raw))}
    # (the notice and send job's HTML is the company's own few paragraphs: NOTICE)
    kinds = {name: "fragment" if "manual" in name or "send job" in name else "e-mail" for name in documents}
    # (Pregón's notices to administrators and a clerk's reply are plain text: nothing to check)
    # And a sample of the console's screens as the browser leaves them, once its script drew them
    documents |= console_screens(browser, site.web, tenant, api)
    # And every public page as the app answers it (bytes of the HTTP answer): the tracking page in
    # its states, the alert form with a mistake, the confirmation and unsubscribe pages and their
    # answers, refused links, a closed company's 410 pages, 404s; and the console's shell
    documents |= served_pages(api, site.web, tenant)
    # When the checker reads them all
    found = markup_problems(documents, kinds)
    # Then none has an error or a warning (but those of IGNORED, each for its reason)
    print(f"{len(documents)} documents checked; not counted: {IGNORED_SEEN}")
    assert found == {}, shown(found)
