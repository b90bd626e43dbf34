"""I3 / H2: mail received through SES (raw in S3, the "Received" notification over SNS) is logged in
the client's register, threaded to the message it answers, with its attachments; broken mail never
crashes the handler; staff assign what matched no client.

The fixtures in tests/fixtures/mail are messages as mail clients write them (Thunderbird, Outlook,
Apple Mail, Gmail, Mutt); the replies carry a ``{{...}}`` placeholder where the id of the message
we sent goes (it is only known once the outbox sent it).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.inbound import INBOUND_BUCKET, detail, inbound_address, receive, ses_notification
from tests.steps.mail import wire_problems
from tests.steps.mailboxes import register_seen
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant, smtp_sender_account

MAIL = Path(__file__).resolve().parents[1] / "fixtures" / "mail"


# --- helpers: what SES and SNS do -----------------------------------------------------------------


def fixture(name: str, **replacements: str) -> bytes:
    raw = (MAIL / name).read_bytes()
    for placeholder, value in replacements.items():
        raw = raw.replace(f"{{{{{placeholder}}}}}".encode(), value.encode())
    return raw


def register(tenant: Tenant, client_id: str) -> list[Any]:
    from chalicelib.store.communications import register_page

    return register_page(tenant.company_id, client_id).items


@pytest.fixture
def clients(api: Client, tenant: Tenant) -> Tenant:
    """The tenant's clients: their own e-mails and contact persons' e-mails."""
    put_client(api, tenant, "FERR-1", emails=["maria.gomez@ferreteria-norte.example"])
    put_client(
        api,
        tenant,
        "DIST-2",
        emails=["administracion@distribuidora-sur.example"],
        contacts=[
            {
                "contact_id": "c-compras",
                "first_name": "Lucía",
                "last_name": "Fernández",
                "email": "compras@distribuidora-sur.example",
            }
        ],
    )
    put_client(api, tenant, "ANDES-3", emails=["jperez@transportes-andinos.example"])
    put_client(api, tenant, "RUIZ-4", emails=["ana.ruiz@gmail.example"])
    put_client(api, tenant, "SANZ-5", emails=["rodolfo.sanz@estudio-sanz.example"])
    put_client(api, tenant, "NUNEZ-6", emails=["beatriz@contable-nunez.example"])
    return tenant


# --- real messages from mail clients ---------------------------------------------------------------


def test_the_company_inbound_address_is_shown_to_staff(api: Client, tenant: Tenant) -> None:
    response = api.http.get("/inbound/address", headers=tenant.staff_headers())
    assert response.status_code == 200
    assert body(response) == {"address": inbound_address(tenant), "domain": "inbound.pregon.local"}


def test_a_thunderbird_message_from_a_client_is_logged_in_its_register(api: Client, clients: Tenant) -> None:
    # Given a client with the e-mail maria.gomez@...; When she writes to the company
    result = receive(api, fixture("thunderbird_plain.eml"), to=[inbound_address(clients)])

    # Then one message is logged, in FERR-1's register
    assert result["logged"] == 1 and result["errors"] == []
    [entry] = register(clients, "FERR-1")
    assert (entry.direction, entry.channel, entry.state, entry.kind) == (
        "in",
        "email",
        "received",
        "automatic",
    )
    assert entry.raw_key.startswith(f"{INBOUND_BUCKET}/mail/")
    # And the detail shows what she wrote, decoded
    shown = detail(api, clients, entry.communication_id)
    assert shown["from_address"] == "maria.gomez@ferreteria-norte.example"
    assert shown["from_name"] == "María Gómez"
    assert shown["subject"] == "Consulta por el retiro del martes"
    assert "tres bultos" in shown["text"] and "Córdoba" in shown["text"]
    assert shown["sent_at"] == "2026-11-02T11:58:01+00:00"  # its Date header, in UTC
    assert shown["unassigned"] is False and shown["error"] is None
    assert shown["thread_id"] == entry.communication_id and shown["in_reply_to"] is None


def test_an_outlook_html_message_from_a_contact_person_is_matched_to_its_client(
    api: Client, clients: Tenant
) -> None:
    # Given Distribuidora Sur's purchasing contact; When she writes from Outlook (mixed-case address)
    receive(api, fixture("outlook_html_alternative.eml"), to=[inbound_address(clients)])

    # Then it is in DIST-2's register, as from the contact c-compras
    [entry] = register(clients, "DIST-2")
    shown = detail(api, clients, entry.communication_id)
    assert shown["contact_id"] == "c-compras"
    assert shown["from_address"] == "compras@distribuidora-sur.example"
    # And both bodies are kept: ISO-8859-1 quoted-printable decoded
    assert "¿Me pueden reenviar la factura del pedido 4471?" in shown["text"]
    assert "Lucía Fernández" in shown["text"]
    assert "<b>4471</b>" in shown["html"]


def test_apple_mail_attachments_are_kept_and_downloadable(api: Client, clients: Tenant) -> None:
    receive(api, fixture("applemail_pdf_and_image.eml"), to=[inbound_address(clients)])

    [entry] = register(clients, "ANDES-3")
    shown = detail(api, clients, entry.communication_id)
    # The text around the attachments is read in order
    assert "les paso el remito firmado" in shown["text"] and "cómo llegaron los bultos" in shown["text"]
    # And the PDF (RFC 2231 UTF-8 file name) and the inline image are attachments with links
    pdf, image = shown["attachments"]
    assert (pdf["name"], pdf["content_type"]) == ("remito nº 4471.pdf", "application/pdf")
    assert (image["name"], image["content_type"]) == ("bultos.png", "image/png")
    pdf_bytes = requests.get(pdf["download_url"], timeout=10).content
    png_bytes = requests.get(image["download_url"], timeout=10).content
    assert pdf_bytes.startswith(b"%PDF-1.4") and len(pdf_bytes) == pdf["size"]
    assert png_bytes.startswith(b"\x89PNG\r\n") and len(png_bytes) == image["size"]
    assert shown["attachment_count"] == 2 and pdf["omitted"] is None


def test_a_gmail_forward_keeps_the_forwarded_message_as_an_eml(api: Client, clients: Tenant) -> None:
    receive(api, fixture("gmail_forwarded_as_attachment.eml"), to=[inbound_address(clients)])

    [entry] = register(clients, "RUIZ-4")
    shown = detail(api, clients, entry.communication_id)
    assert shown["subject"] == "Fwd: Comprobante de transferencia"
    assert "Les reenvío el comprobante" in shown["text"]
    [forwarded] = shown["attachments"]
    assert forwarded["name"] == "Comprobante de transferencia.eml"
    assert forwarded["content_type"] == "message/rfc822"
    content = requests.get(forwarded["download_url"], timeout=10).content
    assert b"Subject: Comprobante de transferencia" in content and b"125.000,00" in content


@pytest.mark.parametrize(
    ("name", "client_id", "subject", "phrase"),
    [
        (
            "latin1_quoted_printable.eml",
            "SANZ-5",
            "Envío demorado ¿qué pasó?",
            "todavía no llegó a Bahía Blanca",
        ),
        (
            "windows1252_8bit.eml",
            "NUNEZ-6",
            "Reclamo “urgente”: cobro de 50 €",
            "50 € de más en la factura “0003",
        ),
    ],
)
def test_legacy_charsets_and_encoded_word_subjects_are_decoded(
    api: Client, clients: Tenant, name: str, client_id: str, subject: str, phrase: str
) -> None:
    receive(api, fixture(name), to=[inbound_address(clients)])

    [entry] = register(clients, client_id)
    shown = detail(api, clients, entry.communication_id)
    assert shown["subject"] == subject
    assert phrase in shown["text"]
    assert shown["error"] is None


# --- threading -------------------------------------------------------------------------------------


def send_to_client(tenant: Tenant, mailbox: MailCatcher, client_id: str, address: str) -> tuple[str, Any]:
    """The outbox sends "Su pedido fue aprobado" to a client; returns its id and the e-mail received."""
    from chalicelib.core import clock
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    [sent] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=address,
                subject="Su pedido fue aprobado",
                text="Su pedido fue aprobado.",
                client_id=client_id,
                area="tracking",
            )
        ],
    )
    assert deliver_outboxes()["sent"] == 1
    [email] = mailbox.wait_for(1)
    clock.set_now(clock.now() + timedelta(minutes=30))  # the answer comes later
    return sent.communication_id, email


def test_a_reply_is_threaded_by_in_reply_to_to_the_message_we_sent(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we sent María a message (over SMTP, which keeps our Message-ID)
    sent_id, email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")

    # When she answers it
    raw = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(email["Message-ID"]))
    receive(api, raw, to=[inbound_address(clients)])

    # Then the answer is in her register, threaded to our message
    entries = register(clients, "FERR-1")
    assert [e.direction for e in entries] == ["in", "out"]
    shown = detail(api, clients, entries[0].communication_id)
    assert shown["in_reply_to"] == sent_id and shown["thread_id"] == sent_id
    assert shown["subject"] == "Re: Su pedido fue aprobado"


def test_a_reply_at_the_end_of_a_long_thread_is_threaded_by_the_last_of_its_references(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we sent María a message
    sent_id, email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")

    # When she answers it from a mail program that names only References: a thread of 150 earlier
    # messages, oldest first, and ours last (the message she answers)
    earlier = " ".join(f"<old{n}@ferreteria-norte.example>" for n in range(150))
    raw = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(email["Message-ID"]))
    raw = raw.replace(b"In-Reply-To: " + str(email["Message-ID"]).encode() + b"\n", b"")
    raw = raw.replace(b"References: ", b"References: " + earlier.encode() + b" ")
    receive(api, raw, to=[inbound_address(clients)])

    # Then the answer is threaded to our message
    [answer, _] = register(clients, "FERR-1")
    shown = detail(api, clients, answer.communication_id)
    assert shown["in_reply_to"] == sent_id and shown["thread_id"] == sent_id


def test_a_reply_carrying_only_our_reply_token_is_threaded_and_so_is_its_answer(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we sent a message; SES rewrote its Message-ID, only our References token survives
    sent_id, email = send_to_client(clients, mailbox, "DIST-2", "compras@distribuidora-sur.example")
    token = str(email["References"])
    assert token == f"<ref-{sent_id}.{clients.company_id}@pregon.local>"

    # When Outlook answers with the SES id in In-Reply-To and our token in References
    receive(api, fixture("reply_token_in_references.eml", REPLY_TOKEN=token), to=[inbound_address(clients)])

    # Then the answer is threaded to our message
    [answer, ours] = register(clients, "DIST-2")
    assert ours.communication_id == sent_id
    assert (answer.in_reply_to, answer.thread_id) == (sent_id, sent_id)


def test_a_reply_from_an_unknown_address_goes_to_the_client_of_the_message_it_answers(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we wrote to María; When a colleague of hers (unknown address) answers it
    sent_id, email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    raw = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(email["Message-ID"])).replace(
        b"maria.gomez@ferreteria-norte.example>\nContent-Type",
        b"deposito@ferreteria-norte.example>\nContent-Type",
    )
    receive(api, raw, to=[inbound_address(clients)])

    # Then the answer is in FERR-1's register, threaded
    [answer, _ours] = register(clients, "FERR-1")
    assert answer.from_address == "deposito@ferreteria-norte.example"
    assert answer.in_reply_to == sent_id and not answer.unassigned


def test_a_reply_token_of_another_company_is_not_followed(
    api: Client, clients: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a message we sent; When mail to the OTHER company carries our token
    sent_id, email = send_to_client(clients, mailbox, "DIST-2", "compras@distribuidora-sur.example")
    raw = fixture("reply_token_in_references.eml", REPLY_TOKEN=str(email["References"]))
    result = receive(api, raw, to=[inbound_address(other_tenant)])

    # Then it is logged for the other company only, unthreaded and unassigned
    [logged] = result["communications"]
    shown = detail(api, other_tenant, logged)
    assert shown["in_reply_to"] is None and shown["unassigned"] is True
    assert [e.communication_id for e in register(clients, "DIST-2")] == [sent_id]


def reply_without_references(sender: str, to: str) -> bytes:
    """A reply as a phone mail app or a webmail "new message" writes it: no In-Reply-To, no
    References, only the address the Reply-To gave."""
    return (
        f"From: Depósito <{sender}>\r\nTo: {to}\r\nSubject: Re: Su pedido fue aprobado\r\n"
        "Date: Mon, 02 Nov 2026 12:30:00 +0000\r\nMessage-ID: <phone-app-1@ferreteria-norte.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n¿Cuándo llega?\r\n"
    ).encode()


def test_our_email_carries_a_reply_to_of_the_company_inbound_address_that_threads_replies_without_references(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we sent María a message through a sender account with no reply_to of its own
    sent_id, _email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    # Then on the wire its Reply-To is the company's inbound address, plus-addressed with the message
    reply_to = f"{clients.company_id}+r-{sent_id}@inbound.pregon.local"
    raw = mailbox.files()[0].read_bytes()
    assert f"\r\nReply-To: {reply_to}\r\n".encode() in raw
    # When a colleague of hers (an unknown address) answers from a program that drops References
    receive(api, reply_without_references("deposito@ferreteria-norte.example", reply_to), to=[reply_to])
    # Then the answer is logged for the company, in FERR-1's register, threaded to our message
    [answer, ours] = register(clients, "FERR-1")
    assert ours.communication_id == sent_id
    assert (answer.in_reply_to, answer.thread_id, answer.unassigned) == (sent_id, sent_id, False)
    assert answer.to_address == reply_to


def test_a_plus_address_naming_another_companys_message_is_not_followed(
    api: Client, clients: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a message we sent; When mail goes to the OTHER company's inbound address with its id
    sent_id, _email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    forged = f"{other_tenant.company_id}+r-{sent_id}@inbound.pregon.local"
    [logged] = receive(api, reply_without_references("x@example.net", forged), to=[forged])["communications"]
    # Then the other company logs it unthreaded and unassigned; ours is untouched
    shown = detail(api, other_tenant, logged)
    assert shown["in_reply_to"] is None and shown["unassigned"] is True
    assert [e.communication_id for e in register(clients, "FERR-1")] == [sent_id]


def test_a_sender_accounts_own_reply_to_is_what_the_email_carries(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.accounts.email import get_account, save_sender_account

    # Given the tracking account answers to the company's own mailbox
    fields = {k: v for k, v in vars(get_account(clients.company_id, "tracking")).items() if v is not None}
    fields.pop("rate_limit", None)
    save_sender_account(
        clients.company_id, "tracking", {**fields, "reply_to": "atencion@cargasdelsur.example"}
    )
    # When we send a message
    send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    # Then its Reply-To on the wire is that mailbox (References still carries our reply token)
    raw = mailbox.files()[0].read_bytes()
    assert b"\r\nReply-To: atencion@cargasdelsur.example\r\n" in raw
    assert b"\r\nReferences: <ref-" in raw


def test_a_reply_to_an_outlook_message_names_its_long_message_id_whole(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given Distribuidora Sur's contact wrote from Outlook, whose Message-IDs are 80 characters,
    # and the company answers from its default account
    smtp_sender_account(clients.company_id, "all", mailbox, "Cargas del Sur", "atencion@cargasdelsur.example")
    receive(api, fixture("outlook_html_alternative.eml"), to=[inbound_address(clients)])
    [entry] = register(clients, "DIST-2")
    outlook_id = b"<AM9PR07MB72013A1C9E5F4B2D8A6C1E7F9B4D2@AM9PR07MB7201.eurprd07.prod.outlook.com>"
    # When a clerk answers it from the register
    reply = api.http.post(
        f"/clients/DIST-2/register/{entry.communication_id}/reply",
        headers=clients.staff_headers(),
        body=json.dumps({"text": "Se la reenviamos en un momento, Lucía."}),
    )
    assert reply.status_code == 201, reply.body
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    # Then In-Reply-To and References carry that msg-id as it is, never as encoded-words
    # (RFC 5322 3.6.4, RFC 2047 5): Outlook threads the answer under her message
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    assert (
        b"In-Reply-To: " + outlook_id + b"\r\n" in raw or b"In-Reply-To:\r\n " + outlook_id + b"\r\n" in raw
    )
    assert b" " + outlook_id in raw.split(b"\r\nReferences:", 1)[1].split(b"\r\n\r\n", 1)[0]


# --- idempotency, unassigned, isolation --------------------------------------------------------------


def test_the_same_notification_twice_logs_one_record(api: Client, clients: Tenant) -> None:
    raw = fixture("applemail_pdf_and_image.eml")
    first = receive(api, raw, to=[inbound_address(clients)], ses_id="ses-dup-1")
    again = receive(api, raw, to=[inbound_address(clients)], ses_id="ses-dup-1")

    assert (first["logged"], again["logged"], again["duplicates"]) == (1, 0, 1)
    assert again["communications"] == first["communications"]
    assert len(register(clients, "ANDES-3")) == 1


def test_an_unknown_sender_goes_to_the_unassigned_list_until_staff_assign_it(
    api: Client, clients: Tenant
) -> None:
    # Given mail from an address no client has
    raw = fixture("thunderbird_plain.eml").replace(b"maria.gomez@", b"otra.persona@")
    [communication_id] = receive(api, raw, to=[inbound_address(clients)])["communications"]

    # Then it is in the unassigned list, in no register
    listed = body(api.http.get("/inbound/unassigned", headers=clients.staff_headers()))
    assert [i["communication_id"] for i in listed["items"]] == [communication_id]
    assert listed["items"][0]["from_address"] == "otra.persona@ferreteria-norte.example"
    assert register(clients, "FERR-1") == []

    # When staff assign it to a client that does not exist: 422 naming the field, nothing changes
    response = api.http.post(
        f"/inbound/{communication_id}/assign",
        headers=clients.staff_headers(),
        body=json.dumps({"client_id": "NOPE"}),
    )
    assert response.status_code == 422 and body(response)["field"] == "client_id"

    # When staff assign it to FERR-1
    response = api.http.post(
        f"/inbound/{communication_id}/assign",
        headers=clients.staff_headers(),
        body=json.dumps({"client_id": "FERR-1"}),
    )
    assert response.status_code == 200, response.body
    assert body(response)["client_id"] == "FERR-1" and body(response)["unassigned"] is False

    # Then it left the unassigned list and is in FERR-1's register
    listed = body(api.http.get("/inbound/unassigned", headers=clients.staff_headers()))
    assert listed["items"] == []
    assert [e.communication_id for e in register(clients, "FERR-1")] == [communication_id]


def receive_failing_dmarc(api: Client, tenant: Tenant, policy: str, source: str) -> str:
    """María's message (FERR-1's contact) as sent by ``source``'s server: SES finds it fails
    DMARC for her domain (neither its SPF nor its DKIM is her domain's), whose policy is
    ``policy``. Returns the message's id."""
    raw = fixture("thunderbird_plain.eml")
    ses_id = uuid.uuid4().hex
    note = ses_notification([inbound_address(tenant)], f"mail/{ses_id}", ses_id, source)
    note["receipt"]["dmarcVerdict"] = {"status": "FAIL"}
    note["receipt"]["dmarcPolicy"] = policy
    [communication_id] = receive(api, raw, to=[inbound_address(tenant)], ses_id=ses_id, notification=note)[
        "communications"
    ]
    return str(communication_id)


def test_mail_forged_in_a_clients_name_waits_unassigned_saying_why(api: Client, clients: Tenant) -> None:
    # Given mail whose From is FERR-1's María, sent by someone else's server, her domain
    # rejecting what fails DMARC
    # When it arrives
    communication_id = receive_failing_dmarc(api, clients, "reject", "x@attacker.example")
    # Then it is not in her register as if she wrote it: it waits in the unassigned list
    assert register(clients, "FERR-1") == []
    listed = body(api.http.get("/inbound/unassigned", headers=clients.staff_headers()))
    assert [i["communication_id"] for i in listed["items"]] == [communication_id]
    # And its detail says why, for staff to judge before assigning it
    shown = detail(api, clients, communication_id)
    assert shown["unassigned"] is True
    assert "DMARC" in shown["error"] and "maria.gomez@ferreteria-norte.example" in shown["error"]


def test_mail_failing_dmarc_of_a_domain_that_does_not_enforce_it_is_filed_with_a_warning(
    api: Client, clients: Tenant
) -> None:
    # Given mail from FERR-1's María that fails DMARC, her domain publishing p=none (it does not
    # enforce DMARC, as many small companies' domains whose own mail does not pass yet)
    # When it arrives
    communication_id = receive_failing_dmarc(api, clients, "none", "x@relay.example")
    # Then it is in her register as usual, not left unassigned
    assert [r.communication_id for r in register(clients, "FERR-1")] == [communication_id]
    listed = body(api.http.get("/inbound/unassigned", headers=clients.staff_headers()))
    assert listed["items"] == []
    # And its detail warns staff that she may not have written it
    shown = detail(api, clients, communication_id)
    assert shown["unassigned"] is False
    assert "DMARC" in shown["error"] and "policy none" in shown["error"]


def test_mail_with_no_from_whose_envelope_sender_fails_spf_is_not_filed_under_that_client(
    api: Client, clients: Tenant
) -> None:
    # Given a message with no From header (DMARC judges the From domain: there is none to judge),
    # sent by someone else's server with FERR-1's María as its envelope sender, which SES finds
    # her domain's SPF does not allow
    raw = b"To: x@inbound.pregon.local\r\nSubject: Cambien mi CBU\r\n\r\nMi nueva cuenta es la 123.\r\n"
    ses_id = uuid.uuid4().hex
    maria = "maria.gomez@ferreteria-norte.example"
    note = ses_notification([inbound_address(clients)], f"mail/{ses_id}", ses_id, maria)
    note["receipt"]["spfVerdict"] = {"status": "FAIL"}
    note["receipt"]["dmarcVerdict"] = {"status": "GRAY"}
    # When it arrives
    [communication_id] = receive(api, raw, to=[inbound_address(clients)], ses_id=ses_id, notification=note)[
        "communications"
    ]
    # Then it is not in her register as if she wrote it: it waits in the unassigned list, saying why
    assert register(clients, "FERR-1") == []
    shown = detail(api, clients, communication_id)
    assert shown["unassigned"] is True
    assert "SPF" in shown["error"] and maria in shown["error"]
    # And the same message whose envelope sender passes SPF is filed under her, as before
    ses_id = uuid.uuid4().hex
    note = ses_notification([inbound_address(clients)], f"mail/{ses_id}", ses_id, maria)
    note["receipt"]["dmarcVerdict"] = {"status": "GRAY"}
    [filed] = receive(api, raw, to=[inbound_address(clients)], ses_id=ses_id, notification=note)[
        "communications"
    ]
    assert [r.communication_id for r in register(clients, "FERR-1")] == [filed]


def test_a_sender_header_or_a_second_from_address_does_not_file_mail_under_a_client(
    api: Client, clients: Tenant
) -> None:
    # Given messages naming FERR-1's María where DMARC does not look: in a Sender header with no
    # From, and first of two From addresses (the other the sender's own, which passes)
    maria = "maria.gomez@ferreteria-norte.example"
    forged = [
        f"Sender: {maria}\r\nTo: x@inbound.pregon.local\r\nSubject: Cambien mi CBU\r\n\r\nCuenta 123.\r\n",
        f"From: {maria}, x@attacker.example\r\nTo: x@inbound.pregon.local\r\nSubject: Cambien mi CBU\r\n"
        "\r\nCuenta 123.\r\n",
    ]
    received = []
    for raw in forged:
        # When each arrives from the attacker's server, which passes SPF and DMARC for its own domain
        ses_id = uuid.uuid4().hex
        note = ses_notification([inbound_address(clients)], f"mail/{ses_id}", ses_id, "x@attacker.example")
        message = receive(api, raw.encode(), to=[inbound_address(clients)], ses_id=ses_id, notification=note)
        received += message["communications"]
    # Then neither is in her register as if she wrote it: both wait unassigned, saying why
    assert register(clients, "FERR-1") == []
    for communication_id in received:
        shown = detail(api, clients, communication_id)
        assert shown["unassigned"] is True and maria in shown["error"], shown


def test_the_unassigned_list_pages_newest_first(api: Client, tenant: Tenant, clock: Any) -> None:
    ids = []
    for n in range(3):
        raw = fixture("thunderbird_plain.eml").replace(b"maria.gomez@", f"u{n}@".encode())
        ids += receive(api, raw, to=[inbound_address(tenant)])["communications"]
        clock.set_now(clock.now() + timedelta(seconds=1))

    first = body(api.http.get("/inbound/unassigned?limit=2", headers=tenant.staff_headers()))
    assert [i["communication_id"] for i in first["items"]] == [ids[2], ids[1]]
    rest = body(
        api.http.get(
            f"/inbound/unassigned?limit=2&cursor={first['next_cursor']}", headers=tenant.staff_headers()
        )
    )
    assert [i["communication_id"] for i in rest["items"]] == [ids[0]]


def test_an_address_two_clients_share_is_unassigned_with_both_as_candidates(
    api: Client, tenant: Tenant
) -> None:
    put_client(api, tenant, "A-1", emails=["maria.gomez@ferreteria-norte.example"])
    put_client(
        api,
        tenant,
        "B-2",
        emails=[],
        contacts=[
            {
                "contact_id": "m",
                "first_name": "María",
                "last_name": "Gómez",
                "email": "Maria.Gomez@ferreteria-norte.example",
            }
        ],
    )
    [communication_id] = receive(api, fixture("thunderbird_plain.eml"), to=[inbound_address(tenant)])[
        "communications"
    ]

    shown = detail(api, tenant, communication_id)
    assert shown["unassigned"] is True and shown["candidate_clients"] == ["A-1", "B-2"]


def test_a_changed_client_address_is_matched_and_the_old_one_no_more(api: Client, tenant: Tenant) -> None:
    # Given FERR-1 changes its e-mail from maria.gomez@ to ventas@
    put_client(api, tenant, "FERR-1", emails=["maria.gomez@ferreteria-norte.example"])
    put_client(api, tenant, "FERR-1", emails=["ventas@ferreteria-norte.example"])

    # When María's old address writes, and the new one
    receive(api, fixture("thunderbird_plain.eml"), to=[inbound_address(tenant)])
    receive(
        api,
        fixture("thunderbird_plain.eml").replace(b"maria.gomez@", b"ventas@"),
        to=[inbound_address(tenant)],
    )

    # Then only the new address's message is in the register
    assert [e.from_address for e in register(tenant, "FERR-1")] == ["ventas@ferreteria-norte.example"]


def test_tenants_never_see_each_others_inbound_mail(
    api: Client, clients: Tenant, other_tenant: Tenant
) -> None:
    # Given the other company has a client with María's address too
    put_client(api, other_tenant, "X-9", emails=["maria.gomez@ferreteria-norte.example"])

    # When María writes to our company only
    [communication_id] = receive(api, fixture("thunderbird_plain.eml"), to=[inbound_address(clients)])[
        "communications"
    ]

    # Then it is ours: the other company cannot read or assign it, and its client's register is empty
    assert register(clients, "FERR-1")[0].communication_id == communication_id
    assert register(other_tenant, "X-9") == []
    response = api.http.get(f"/inbound/{communication_id}", headers=other_tenant.staff_headers())
    assert response.status_code == 404
    response = api.http.post(
        f"/inbound/{communication_id}/assign",
        headers=other_tenant.staff_headers(),
        body=json.dumps({"client_id": "X-9"}),
    )
    assert response.status_code == 404
    assert body(api.http.get("/inbound/unassigned", headers=other_tenant.staff_headers()))["items"] == []


def test_mail_to_two_companies_is_logged_once_for_each(
    api: Client, clients: Tenant, other_tenant: Tenant
) -> None:
    put_client(api, other_tenant, "X-9", emails=["maria.gomez@ferreteria-norte.example"])
    result = receive(
        api,
        fixture("thunderbird_plain.eml"),
        to=[inbound_address(clients), inbound_address(other_tenant), "someone@elsewhere.example"],
    )
    assert result["logged"] == 2
    assert len(register(clients, "FERR-1")) == 1 and len(register(other_tenant, "X-9")) == 1


def test_inbound_routes_are_for_staff_only(api: Client, tenant: Tenant) -> None:
    response = api.http.get("/inbound/unassigned", headers=tenant.key_headers())
    assert response.status_code == 403
    other = IDENTITY.mint(tenant.company_id, user_id="agent@x", level=4)
    response = api.http.get("/inbound/unassigned", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200


def test_a_level_4_user_sees_only_received_mail_answering_a_message_they_created(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    # Given we sent María a message, and a level-4 user sent one to an address no client has
    _ours, our_email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    junior_id = f"junior@{clients.company_id}"
    junior = {"Authorization": "Bearer " + IDENTITY.mint(clients.company_id, user_id=junior_id, level=4)}
    [theirs] = enqueue(
        clients.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address="proveedor@otro.example",
                subject="Su pedido fue aprobado",
                text="Hola.",
                kind="manual",
                area="tracking",
                created_by=junior_id,
            )
        ],
    )
    assert deliver_outboxes()["sent"] == 1
    their_email = mailbox.wait_for(2)[1]

    # When the supplier answers theirs, María answers ours, and a stranger writes
    reply = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(their_email["Message-ID"])).replace(
        b"maria.gomez@ferreteria-norte.example>\nContent-Type", b"proveedor@otro.example>\nContent-Type"
    )
    [to_junior] = receive(api, reply, to=[inbound_address(clients)])["communications"]
    raw = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(our_email["Message-ID"]))
    [to_us] = receive(api, raw, to=[inbound_address(clients)])["communications"]
    stranger = fixture("thunderbird_plain.eml").replace(b"maria.gomez@", b"otra.persona@")
    [unknown] = receive(api, stranger, to=[inbound_address(clients)])["communications"]

    def unassigned(headers: dict[str, str]) -> list[str]:
        response = api.http.get("/inbound/unassigned", headers=headers)
        assert response.status_code == 200, response.body
        return sorted(i["communication_id"] for i in body(response)["items"])

    # Then the level-4 user sees only the answer to their own message, threaded to it
    assert unassigned(junior) == [to_junior]
    shown = api.http.get(f"/inbound/{to_junior}", headers=junior)
    assert shown.status_code == 200 and body(shown)["in_reply_to"] == theirs.communication_id
    # And any other received mail is not found for them (404, not 403), nor can they assign it
    for hidden in (to_us, unknown):
        response = api.http.get(f"/inbound/{hidden}", headers=junior)
        assert (response.status_code, body(response)["message"]) == (
            404,
            f"there is no received e-mail {hidden!r}",
        )
    assign = api.http.post(
        f"/inbound/{unknown}/assign", headers=junior, body=json.dumps({"client_id": "FERR-1"})
    )
    assert assign.status_code == 404
    assert detail(api, clients, unknown)["unassigned"] is True
    # While levels 3 and 1 see all of it
    for headers in (clients.staff_headers(), clients.admin_headers()):
        assert unassigned(headers) == sorted([to_junior, unknown])
        for seen in (to_junior, to_us, unknown):
            assert api.http.get(f"/inbound/{seen}", headers=headers).status_code == 200
    # And an API key sees none of it (received mail is for staff)
    assert api.http.get("/inbound/unassigned", headers=clients.key_headers()).status_code == 403
    assert api.http.get(f"/inbound/{to_junior}", headers=clients.key_headers()).status_code == 403


# --- broken mail ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "defect"),
    [
        ("truncated_mime.eml", "CloseBoundaryNotFoundDefect"),
        ("missing_boundary.eml", "NoBoundaryInMultipartDefect"),
        ("bogus_charset.eml", "unknown charset 'x-klingon-42'"),
        ("no_from.eml", "no From address"),
        ("binary_garbage.eml", "MissingHeaderBodySeparatorDefect"),
        ("bad_headers.eml", "invalid base64"),
    ],
)
def test_broken_mail_is_logged_with_its_s3_key_and_an_error(
    api: Client, tenant: Tenant, name: str, defect: str, caplog: pytest.LogCaptureFixture
) -> None:
    # When a broken message arrives
    result = receive(api, (MAIL / "broken" / name).read_bytes(), to=[inbound_address(tenant)], source="")

    # Then the handler answers (no exception), logging it with the error and the raw message's key
    assert result["logged"] == 1
    [communication_id] = result["communications"]
    shown = detail(api, tenant, communication_id)
    assert defect in shown["error"]
    assert shown["raw_key"].startswith(f"{INBOUND_BUCKET}/mail/")
    assert shown["unassigned"] is True
    json.dumps(shown)  # everything read is valid text
    # And an error log line names the S3 key
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [getattr(r, "raw_key", None) for r in errors] == [shown["raw_key"]]


def test_bogus_charset_text_is_still_readable(api: Client, tenant: Tenant) -> None:
    result = receive(api, (MAIL / "broken" / "bogus_charset.eml").read_bytes(), to=[inbound_address(tenant)])
    shown = detail(api, tenant, result["communications"][0])
    assert shown["text"] == "Cotización para 3 pallets a Neuquén.\n"
    assert shown["subject"] == "Qaplaé cotización"


def jorges_message(subject: str, text: str, files: dict[str, tuple[str, bytes]]) -> bytes:
    """A message from ANDES-3's Jorge with ``files`` (name: content type, bytes) attached."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Jorge Pérez <jperez@transportes-andinos.example>"
    message["To"] = "avisos@cargasdelsur.example"
    message["Subject"] = subject
    message.set_content(text)
    for name, (content_type, data) in files.items():
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_a_15_mb_attachment_is_omitted_and_the_rest_kept(api: Client, clients: Tenant) -> None:
    # Given a client's message with a small PDF and a 15 MB video
    raw = jorges_message(
        "Video de la descarga",
        "Les mando el video de la descarga.",
        {
            "remito.pdf": ("application/pdf", b"%PDF-1.4 small"),
            "descarga.mp4": ("video/mp4", b"\0" * (15 * 1024 * 1024)),
        },
    )

    # When it arrives
    result = receive(api, raw, to=[inbound_address(clients)])

    # Then it is logged in the register; the PDF is kept, the video listed as omitted (too large)
    assert result["logged"] == 1
    shown = detail(api, clients, result["communications"][0])
    pdf, video = shown["attachments"]
    assert pdf["download_url"] and pdf["omitted"] is None
    assert video["name"] == "descarga.mp4" and video["size"] == 15 * 1024 * 1024
    assert video["download_url"] is None and video["omitted"] == "omitted (too large)"
    assert "descarga.mp4" in shown["error"] and shown["client_id"] == "ANDES-3"


def in_register(api: Client, tenant: Tenant, client_id: str) -> list[str]:
    """The ids of the records staff see in a client's register (``GET /clients/{id}/register``)."""
    return [r["communication_id"] for r in register_seen(api, tenant.staff_headers(), client_id)]


def unassigned_seen(api: Client, tenant: Tenant) -> list[dict[str, Any]]:
    """The unassigned list as staff see it."""
    return list(body(api.http.get("/inbound/unassigned", headers=tenant.staff_headers()))["items"])


def receive_with_verdicts(api: Client, tenant: Tenant, raw: bytes, sender: str, **verdicts: str) -> str:
    """``raw`` from ``sender`` as SES receives it, with the verdicts given (``spamVerdict="FAIL"``);
    the rest PASS. Returns the logged message's id."""
    ses_id = uuid.uuid4().hex
    note = ses_notification([inbound_address(tenant)], f"mail/{ses_id}", ses_id, sender)
    for name, status in verdicts.items():
        note["receipt"][name] = {"status": status}
    result = receive(api, raw, to=[inbound_address(tenant)], ses_id=ses_id, notification=note)
    [communication_id] = result["communications"]
    return str(communication_id)


def test_the_attachments_of_mail_ses_found_a_virus_in_are_withheld_and_it_is_filed_under_no_client(
    api: Client, clients: Tenant
) -> None:
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    # Given a message from ANDES-3's address with a "remito.pdf", in which SES's scan found a virus
    raw = jorges_message(
        "Remito", "Les mando el remito.", {"remito.pdf": ("application/pdf", b"%PDF-1.4 no")}
    )

    # When it arrives
    communication_id = receive_with_verdicts(
        api, clients, raw, "jperez@transportes-andinos.example", virusVerdict="FAIL"
    )

    # Then it is recorded with its text, but in no client's register: it waits in the unassigned
    # list, flagged as carrying a virus, threaded to nothing
    assert in_register(api, clients, "ANDES-3") == []
    [listed] = unassigned_seen(api, clients)
    assert (listed["communication_id"], listed["flagged"]) == (communication_id, "virus")
    shown = detail(api, clients, communication_id)
    assert shown["client_id"] is None and shown["unassigned"] is True
    assert "Les mando el remito." in shown["text"]
    assert shown["in_reply_to"] is None and shown["thread_id"] == communication_id
    # And its attachment is listed, withheld, with no link to download it, and staff are told why
    [pdf] = shown["attachments"]
    assert (pdf["name"], pdf["download_url"]) == ("remito.pdf", None)
    assert pdf["omitted"] == "withheld (SES found a virus in the message)"
    assert "SES found a virus in the message" in shown["error"]
    assert "not matched to a client" in shown["error"]
    # And no copy of it was kept among the company's files
    listed_files = client("s3").list_objects_v2(
        Bucket=get_settings().files_bucket, Prefix=f"{clients.company_id}/"
    )
    assert not [o["Key"] for o in listed_files.get("Contents", []) if "/inbound/" in o["Key"]]


def test_a_virus_flagged_reply_to_our_message_joins_no_thread(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given we sent María a message, and an answer to it carries our reply token
    sent_id, email = send_to_client(clients, mailbox, "FERR-1", "maria.gomez@ferreteria-norte.example")
    raw = fixture("reply_in_reply_to.eml", MESSAGE_ID=str(email["Message-ID"]))

    # When it arrives and SES found a virus in it (and judged it spam too)
    communication_id = receive_with_verdicts(
        api,
        clients,
        raw,
        "maria.gomez@ferreteria-norte.example",
        virusVerdict="FAIL",
        spamVerdict="FAIL",
    )

    # Then it is neither threaded to our message nor in her register: only our message is there
    assert in_register(api, clients, "FERR-1") == [sent_id]
    shown = detail(api, clients, communication_id)
    assert (shown["in_reply_to"], shown["thread_id"], shown["flagged"]) == (None, communication_id, "virus")
    # And the error names both of SES's verdicts
    assert "virus" in shown["error"] and "spam" in shown["error"]


def test_mail_ses_judges_spam_waits_unassigned_flagged_until_staff_assign_it(
    api: Client, clients: Tenant
) -> None:
    # Given a message from FERR-1's María, which forges nothing (SPF, DKIM and DMARC pass) but
    # SES's spam filter judges spam
    raw = fixture("thunderbird_plain.eml")

    # When it arrives
    communication_id = receive_with_verdicts(
        api, clients, raw, "maria.gomez@ferreteria-norte.example", spamVerdict="FAIL"
    )

    # Then it is not in FERR-1's register
    assert in_register(api, clients, "FERR-1") == []
    # And staff find it in the unassigned list, flagged as spam, saying why
    [listed] = unassigned_seen(api, clients)
    assert listed["communication_id"] == communication_id
    assert listed["flagged"] == "spam" and listed["client_id"] is None
    assert listed["from_address"] == "maria.gomez@ferreteria-norte.example"
    assert "SES judged the message spam" in listed["error"]
    # And its detail says so too, threaded to nothing, with the client its address is as a candidate
    shown = detail(api, clients, communication_id)
    assert shown["flagged"] == "spam" and shown["in_reply_to"] is None
    assert shown["candidate_clients"] == ["FERR-1"]

    # When staff judge it a false positive and assign it to FERR-1
    response = api.http.post(
        f"/inbound/{communication_id}/assign",
        headers=clients.staff_headers(),
        body=json.dumps({"client_id": "FERR-1"}),
    )

    # Then it is in FERR-1's register and out of the unassigned list (still saying SES flagged it)
    assert response.status_code == 200, response.body
    assert body(response)["client_id"] == "FERR-1" and body(response)["flagged"] == "spam"
    assert in_register(api, clients, "FERR-1") == [communication_id]
    assert unassigned_seen(api, clients) == []
    # And the register's and the e-mail history's details still say SES judged it spam
    record = api.http.get(f"/clients/FERR-1/register/{communication_id}", headers=clients.staff_headers())
    assert record.status_code == 200 and body(record)["flagged"] == "spam"
    message = api.http.get(f"/history/email/{communication_id}", headers=clients.staff_headers())
    assert message.status_code == 200 and body(message)["flagged"] == "spam"


@pytest.mark.parametrize(
    "verdicts",
    [
        {},  # every verdict PASS
        {"spamVerdict": "GRAY", "virusVerdict": "GRAY"},  # SES could not tell
        {"spamVerdict": "PROCESSING_FAILED", "virusVerdict": "PROCESSING_FAILED"},  # the scan failed
    ],
    ids=["pass", "gray", "processing-failed"],
)
def test_mail_ses_passed_or_was_unsure_of_is_filed_as_before(
    api: Client, clients: Tenant, verdicts: dict[str, str]
) -> None:
    # Given a message from ANDES-3's Jorge with a PDF, SES's spam and virus scans passing it or unsure
    raw = jorges_message(
        "Remito", "Les mando el remito.", {"remito.pdf": ("application/pdf", b"%PDF-1.4 ok")}
    )

    # When it arrives
    communication_id = receive_with_verdicts(
        api, clients, raw, "jperez@transportes-andinos.example", **verdicts
    )

    # Then it is in ANDES-3's register, not flagged, and its PDF can be downloaded
    assert in_register(api, clients, "ANDES-3") == [communication_id]
    assert unassigned_seen(api, clients) == []
    shown = detail(api, clients, communication_id)
    assert shown["flagged"] is None and shown["error"] is None
    [pdf] = shown["attachments"]
    assert pdf["omitted"] is None
    assert requests.get(pdf["download_url"], timeout=10).content == b"%PDF-1.4 ok"


def test_mail_with_no_spam_or_virus_verdict_is_filed_as_before(api: Client, clients: Tenant) -> None:
    # Given SES's notification carries no spam nor virus verdict (scanning turned off in the rule)
    raw = fixture("thunderbird_plain.eml")
    ses_id = uuid.uuid4().hex
    maria = "maria.gomez@ferreteria-norte.example"
    note = ses_notification([inbound_address(clients)], f"mail/{ses_id}", ses_id, maria)
    del note["receipt"]["spamVerdict"], note["receipt"]["virusVerdict"]
    # When it arrives
    [communication_id] = receive(api, raw, to=[inbound_address(clients)], ses_id=ses_id, notification=note)[
        "communications"
    ]
    # Then it is in María's register, not flagged
    assert in_register(api, clients, "FERR-1") == [communication_id]
    assert detail(api, clients, communication_id)["flagged"] is None


def test_a_missing_raw_message_is_logged_as_an_error_not_raised(api: Client, tenant: Tenant) -> None:
    notification = ses_notification(
        [inbound_address(tenant)], "mail/never-stored", "ses-missing", "a@b.example"
    )
    result = receive(api, b"", to=[], notification=notification)
    [communication_id] = result["communications"]
    shown = detail(api, tenant, communication_id)
    assert "could not be read (NoSuchKey)" in shown["error"]
    assert shown["raw_key"] == f"{INBOUND_BUCKET}/mail/never-stored"


@pytest.mark.parametrize(
    "message",
    [
        "not json at all",
        json.dumps(["a", "list"]),
        json.dumps({"notificationType": "Bounce"}),
        json.dumps({"notificationType": "Received", "receipt": {"action": {"type": "Lambda"}}, "mail": {}}),
    ],
)
def test_notifications_that_are_not_s3_receipts_are_ignored(api: Client, message: str) -> None:
    event = api.events.generate_sns_event(message=message, subject="x")
    result = api.lambda_.invoke("receive_inbound_mail", event).payload
    assert result["logged"] == 0 and result["ignored"]


def test_mail_for_no_known_company_logs_nothing(api: Client, tenant: Tenant) -> None:
    result = receive(api, fixture("thunderbird_plain.eml"), to=["nobody-here@inbound.pregon.local"])
    assert result["logged"] == 0 and result["communications"] == []
