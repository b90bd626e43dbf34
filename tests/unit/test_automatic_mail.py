"""Which received messages a machine sent (records.automatic_mail), read from the bytes as the
inbound handler reads them: the headers and reports robots write, and the people's messages that
only look like them."""

from __future__ import annotations

import pytest

from chalicelib.records.automatic_mail import automatic_kind
from chalicelib.records.mime import parse_mail


def mail(headers: str, subject: str = "Re: Factura A-0001", sender: str = "ana@cliente.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: demo@inbound.pregon.local\r\nSubject: {subject}\r\n{headers}\r\nHola\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (mail("Auto-Submitted: auto-replied\r\n"), "auto_reply"),
        (mail("Auto-Submitted: Auto-Replied; owner-email=ana@cliente.example\r\n"), "auto_reply"),
        (mail("X-Autoreply: yes\r\n"), "auto_reply"),
        (mail("X-Autorespond: Factura A-0001\r\n"), "auto_reply"),
        (mail("", subject="Respuesta automática: Factura A-0001"), "auto_reply"),
        (mail("", subject="=?UTF-8?Q?Respuesta_autom=C3=A1tica:_Factura?="), "auto_reply"),
        (mail("", subject="Fuera de la oficina"), "auto_reply"),
        (mail("", subject="Automatic reply: Factura A-0001"), "auto_reply"),
        (mail("", subject="Auto: Factura A-0001"), "auto_reply"),
        (mail("Auto-Submitted: auto-generated\r\n"), "auto_generated"),
        (mail("Precedence: bulk\r\n"), "auto_generated"),
        (mail("Precedence: junk\r\n"), "auto_generated"),
        (mail("", sender="MAILER-DAEMON@mx.cliente.example"), "auto_generated"),
        (mail("", sender="no-reply@banco.example"), "auto_generated"),
        # a person's
        (mail("Auto-Submitted: no\r\n"), None),
        (mail("X-Autoreply: no\r\n"), None),
        (mail("", subject="Re: Fuera de la oficina? No, acá estoy"), None),
        (mail("", subject="Auto payment received"), None),
        (mail("List-Id: <facturacion.cliente.example>\r\nPrecedence: list\r\n"), None),
        (mail("", sender="noreplyes@cliente.example"), None),
    ],
)
def test_what_a_machine_wrote_is_told_from_what_a_person_wrote(raw: bytes, kind: str | None) -> None:
    assert automatic_kind(parse_mail(raw)) == kind


def test_an_empty_envelope_sender_is_a_machine() -> None:
    assert automatic_kind(parse_mail(mail("")), null_sender=True) == "auto_generated"
    assert automatic_kind(parse_mail(mail(""))) is None


def test_a_report_is_told_by_its_type_and_names_the_message_it_is_about() -> None:
    raw = (
        b"From: postmaster@cliente.example\r\nSubject: Undeliverable\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nNo se pudo entregar.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; Ana@Cliente.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"Final-Recipient: rfc822; luis@cliente.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <0190abc@empresa.example>\r\n"
        b"References: <ref-0190abc.demo@pregon.local>\r\n\r\n--b--\r\n"
    )
    parsed = parse_mail(raw)
    assert automatic_kind(parsed) == "delivery_report"
    assert parsed.report is not None
    assert [(r.address, r.action, r.status) for r in parsed.report.recipients] == [
        ("ana@cliente.example", "failed", "5.1.1"),
        ("luis@cliente.example", "delayed", "4.4.1"),
    ]
    assert parsed.report.original_message_id == "0190abc@empresa.example"
    assert parsed.report.original_references == ["ref-0190abc.demo@pregon.local"]


QMAIL_TEXT = (
    "Hi. This is the qmail-send program at mail.cliente.example.\r\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
    "<Ana@Cliente.example>:\r\nSorry, no mailbox here by that name.\r\n\r\n"
    "<otro@cliente.example>:\r\n203.0.113.25 failed after I sent the message.\r\n"
    "Remote host said: 452 4.2.2 Mailbox full\r\n\r\n"
    "--- Below this line is a copy of the message.\r\n\r\n"
    "From: facturas@empresa.example\r\nMessage-ID: <ours@pregon>\r\nReferences: <r-1@pregon>\r\n\r\nHola\r\n"
)


def test_a_bounce_in_plain_text_from_the_mail_system_is_read_as_a_report() -> None:
    raw = f"From: MAILER-DAEMON@mail.cliente.example\r\nSubject: failure notice\r\n\r\n{QMAIL_TEXT}".encode()
    parsed = parse_mail(raw)
    assert automatic_kind(parsed) == "delivery_report"
    assert parsed.report is not None
    # each address with what its paragraph says: a permanent error with no code is 5.0.0
    assert [(r.address, r.action, r.status) for r in parsed.report.recipients] == [
        ("ana@cliente.example", "failed", "5.0.0"),
        ("otro@cliente.example", "failed", "4.2.2"),
    ]
    assert (parsed.report.original_message_id, parsed.report.original_references) == (
        "ours@pregon",
        ["r-1@pregon"],
    )


def test_a_person_who_pastes_a_bounce_is_no_bounce() -> None:
    raw = f"From: ana@cliente.example\r\nSubject: Fwd: failure notice\r\n\r\n{QMAIL_TEXT}".encode()
    parsed = parse_mail(raw)
    assert parsed.report is None and automatic_kind(parsed) is None
