"""The e-mail composer reuses the header objects it parsed and the folds it made (issue 14: CPU per
e-mail in the outbox worker); what goes on the wire stays byte for byte what ``email`` writes."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from chalicelib.channels import email as email_channel
from chalicelib.channels.email import OutgoingEmail, compose, wire_of

SENT_AT = datetime(2026, 12, 2, 1, 2, 3, tzinfo=UTC)
LONG_SUBJECT = "Tu factura de noviembre ya está disponible en el portal de clientes de Cargas del Sur " * 2


def hand_off(
    sender: str, name: str, count: int, attachments: tuple[tuple[str, str, bytes], ...] = ()
) -> list[OutgoingEmail]:
    """E-mails as one hand-off carries them: one sender and subject, each its own recipient."""
    return [
        OutgoingEmail(
            from_address=sender,
            from_name=name,
            to_address=f"cliente{i}@example.com",
            to_name=f"Cliente Nº {i} «Peña»" if i % 2 else f"Cliente {i}",
            subject=LONG_SUBJECT if i % 3 == 0 else "Tu factura de noviembre",
            text=f"Hola Cliente {i},\n\nTu factura ya está disponible.\nTotal: $ 12.345,67",
            html=f"<p>Hola Cliente {i},</p><p>Total: <b>$ 12.345,67</b></p>",
            reply_to=f"r+0190{i:06d}.c1@in.pregon.example",
            headers={
                "List-Unsubscribe": f"<https://pregon.example/u/{i:040d}>, <mailto:baja@pregon.example>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                "References": f"<ref-0190{i:06d}.c1@pregon.example>",
                "X-Pregon-Message": f"0190{i:06d}",
            },
            message_id=f"<0190{i:06d}@{sender.split('@')[1]}>",
            attachments=attachments,
        )
        for i in range(count)
    ]


def on_the_wire(mail: OutgoingEmail, policy: object, seed: int) -> bytes:
    kwargs = {} if policy is None else {"policy": policy}
    mime = compose(mail, message_id=mail.message_id or "", **kwargs)  # type: ignore[arg-type]
    random.seed(seed)  # the MIME boundary is random: the same for both
    wire = wire_of(mime)
    assert wire is not None
    return wire.data


@pytest.fixture(autouse=True)
def one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(email_channel, "now", lambda: SENT_AT)


def test_the_bytes_on_the_wire_are_what_emails_own_default_policy_writes() -> None:
    from email.policy import default as email_default

    default = email_channel.wire_policy(email_default)  # 7-bit, 76 columns: as ours

    # Given two hand-offs from two companies' senders, one with a PDF attached, composed in turn
    mails = hand_off("avisos@cargasdelsur.example", "Cargas del Sur", 30) + hand_off(
        "facturas@otra.example",
        "Distribuidora Ñandú",
        30,
        attachments=(("factura.pdf", "application/pdf", b"%PDF-1.4 ..."),),
    )
    mails += mails[:10]  # the same messages again, once their headers are all reused
    for seed, mail in enumerate(mails):
        # When each is composed by the worker's path and by ``email`` with its default policy
        ours, theirs = on_the_wire(mail, None, seed), on_the_wire(mail, default, seed)
        # Then the bytes are the same, and each names its own recipient, sender and subject
        assert ours == theirs
        assert f"<{mail.to_address}>".encode() in ours
        assert f"<{mail.from_address}>".encode() in ours
        assert f"X-Pregon-Message: {mail.headers['X-Pregon-Message']}\r\n".encode() in ours


def test_a_reused_header_still_refuses_line_breaks_and_names_its_own_message() -> None:
    from chalicelib.channels.email import HeaderInjection

    # Given a sender whose headers were composed (and kept) for many messages
    first, second = hand_off("avisos@cargasdelsur.example", "Cargas del Sur", 2)
    compose(first, message_id="<a@cargasdelsur.example>")
    # When a message with a line break in its subject comes next, Then it is refused as before
    from dataclasses import replace

    with pytest.raises(HeaderInjection):
        compose(replace(second, subject="Hola\r\nBcc: x@example.com"), message_id="<b@cargasdelsur.example>")
    # And the next message carries its own values, not the previous one's
    mime = compose(second, message_id="<c@cargasdelsur.example>")
    assert mime["To"].addresses[0].addr_spec == "cliente1@example.com"
    assert mime["Message-ID"] == "<c@cargasdelsur.example>"


def test_a_body_line_that_meets_the_boundary_does_not_break_the_message() -> None:
    from email import message_from_bytes
    from email import policy as policies
    from email.generator import Generator

    # Given the boundary the composer is about to draw, written as a line of the message's text
    random.seed(7)
    boundary = Generator._make_boundary()  # type: ignore[attr-defined]
    [mail] = hand_off("avisos@cargasdelsur.example", "Cargas del Sur", 1)
    mail = OutgoingEmail(**{**mail.__dict__, "text": f"Hola,\n--{boundary}\nTotal: $ 12.345,67"})
    # When it is composed for the wire with the same random draws
    data = on_the_wire(mail, None, 7)
    # Then the message took another boundary, and reads back as the two parts with the text whole
    parsed = message_from_bytes(data, policy=policies.default)
    assert parsed.get_boundary() != boundary
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    text = parsed.get_body(preferencelist=("plain",))
    assert text is not None and f"--{boundary}" in text.get_content()
