"""Received e-mail that a machine sent, not a person (RFC 3834): out-of-office replies, delivery
status notifications (bounces and delays, RFC 3464), read receipts (RFC 8098), bulk and no-reply
mail.

When a company sends 5,000 invoices, most of what comes back is such mail. It is logged like any
received message (in the client's register, threaded to the message it answers, found by the
history's search), marked ``auto_submitted`` with its kind, but it is not "the client wrote back":

* it raises no ``inbound.received`` webhook event (the company's help desk would open a ticket for
  each out-of-office, and an autoresponder behind it could answer a robot, which answers again);
* Pregón answers no received e-mail automatically (only SMS have auto-replies, I1/I2), and every
  e-mail it writes on its own says ``Auto-Submitted: auto-generated``, so robots that follow
  RFC 3834 do not answer those either;
* a delivery status notification naming one of our messages (its returned headers carry the
  Message-ID or the reply reference we wrote) for the address that message went to is applied as
  SES's bounce events are (``messaging.feedback``): ``Action: failed`` marks the message bounced,
  and a permanent status (5.x.x) also puts the address on the suppression list; a delay
  (``Action: delayed``) is only recorded.

How a message is recognised, first match wins: a ``multipart/report`` (``report-type``
``delivery-status``: a delivery report; ``disposition-notification``: a read receipt);
``Auto-Submitted: auto-replied``, ``X-Autoreply``, ``X-Autorespond`` / ``X-Autoresponder``, or a
subject that starts as autoresponders write it ("Respuesta automática:", "Fuera de la oficina",
"Automatic reply:", "Out of Office", "Auto:", "Réponse automatique", "Abwesenheitsnotiz"): an
automatic reply; any other ``Auto-Submitted`` but ``no``, ``Precedence: bulk`` or ``junk``: auto
generated; an empty envelope sender (``Return-Path: <>``) or a sender such as ``mailer-daemon@``,
``postmaster@``, ``noreply@``: auto generated. A mailing list's mail (``List-Id``, ``Precedence:
list``) is not, by that alone: a client's billing address is often a group (Google Groups adds
both), and what comes through it is a person's answer.
"""

from __future__ import annotations

import re

from chalicelib.records.mime import ParsedMail

AUTO_REPLY = "auto_reply"
DELIVERY_REPORT = "delivery_report"
READ_RECEIPT = "read_receipt"
AUTO_GENERATED = "auto_generated"
KINDS = (AUTO_REPLY, DELIVERY_REPORT, READ_RECEIPT, AUTO_GENERATED)

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto:|(?:automatic reply|auto(?:matic)?[ -]?reply|respuesta autom[aá]tica|"
    r"fuera de (?:la )?oficina|out of (?:the )?office|r[ée]ponse automatique|abwesenheitsnotiz)"
    r"\s*(?::|$|\s))",
    re.IGNORECASE,
)
_MACHINE_SENDER = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|no_reply|noreply[.+-].*|bounces?)@",
    re.IGNORECASE,
)


def automatic_kind(parsed: ParsedMail, *, null_sender: bool = False) -> str | None:
    """What kind of machine sent the message (one of :data:`KINDS`), or None for a person's.
    ``null_sender``: its envelope sender was empty (``MAIL FROM:<>``)."""
    report = parsed.report
    if report is not None and (report.report_type == "delivery-status" or report.recipients):
        return DELIVERY_REPORT
    if report is not None and report.report_type == "disposition-notification":
        return READ_RECEIPT
    headers = parsed.automatic_headers
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    responder = any(
        headers.get(name, "no").strip().lower() not in ("no", "false", "0")
        for name in ("x-autoreply", "x-autorespond", "x-autoresponder")
    )
    if auto_submitted == "auto-replied" or responder or _AUTO_REPLY_SUBJECT.match(parsed.subject or ""):
        return AUTO_REPLY
    precedence = headers.get("precedence", "").strip().lower()
    if (auto_submitted and auto_submitted != "no") or precedence in ("bulk", "junk"):
        return AUTO_GENERATED
    if null_sender or _MACHINE_SENDER.match(parsed.from_address or ""):
        return AUTO_GENERATED
    return None
