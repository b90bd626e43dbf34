"""Event messages (C9, T10): invoice issued, payment recorded, ticket changed, pickup approved,
pickups confirmed. Each is the *decide* step of the one flow; rendering is the company's template
of the event's message type, sending is ``messaging.outbox.enqueue``.

Who hears about an event:

* **E-mail** to every address of the client (deduplicated); for the two pickup events also to the
  client's contacts with "wants cargo information" (T6's tick: they asked for cargo news).
* **SMS** only for payments: when the company's switch for that kind of payment (automatic /
  manual) is on, the client's ``payment_sms`` switch is on, the company's SMS service is on, and
  the client has a phone that reads as a valid number in the company's region (the first one that
  does; E.164).
* Each channel only when the client's switch for that message is on. A switch the client never
  set is **on** (the seed's users expect invoices, payments and tickets unless switched off):

  ============================  =====================
  event                         client switch
  ============================  =====================
  invoice issued                ``invoice``
  payment recorded (e-mail)     ``payment_email``
  payment recorded (SMS)        ``payment_sms``
  ticket changed                ``ticket``
  pickup approved / confirmed   ``tracking``
  ============================  =====================

Every recipient who gets nothing is in the outcome's ``skipped`` with the reason, never an error.

Idempotent by event id: the outcome of an event is stored the first time (``store.business_events``)
and a repeated post answers it again with ``duplicate: true``; each message also carries the
idempotency key ``event:<type>:<event id>:<channel>:<address>``, so two posts racing each other
enqueue every message once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from chalicelib.core import clock
from chalicelib.core.domain import AttachmentRef, Client, Company
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.localization import shown_values
from chalicelib.core.names import attachment_name
from chalicelib.store.tables import Check
from chalicelib.tenants.branding import company_variables

MAX_PDF_BYTES = 7 * 1024 * 1024
PDF_MAGIC = b"%PDF-"
PDF_END = b"%%EOF"
STORED = "invoice PDFs"  # how the log names the files an event stores

INVOICE_ISSUED = "invoice-issued"
PAYMENT_RECORDED = "payment-recorded"
TICKET_CHANGED = "ticket-changed"
PICKUP_APPROVED = "pickup-approved"
PICKUPS_CONFIRMED = "pickups-confirmed"

# event type -> (message type / template key, the client's e-mail switch)
MESSAGE_OF = {
    INVOICE_ISSUED: ("invoice", "invoice"),
    PAYMENT_RECORDED: ("payment", "payment_email"),
    TICKET_CHANGED: ("ticket", "ticket"),
    PICKUP_APPROVED: ("pickup_approved", "tracking"),
    PICKUPS_CONFIRMED: ("pickups_confirmed", "tracking"),
}
PAYMENT_SMS_SWITCH = "payment_sms"
CARGO_EVENTS = frozenset({PICKUP_APPROVED, PICKUPS_CONFIRMED})


# --- what the back office posts ------------------------------------------------------------------


@dataclass(frozen=True)
class Invoice:
    number: str
    issued_on: date
    total: str
    due_on: date | None = None


@dataclass(frozen=True)
class Pdf:
    content_base64: str
    file_name: str | None = None


@dataclass(frozen=True)
class Payment:
    receipt_number: str
    amount: str
    received_on: date
    entry: str  # "automatic" | "manual"
    method: str | None = None


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    subject: str
    status: str
    operator: str | None = None
    comment: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Pickup:
    number: str
    branch: str
    date: date | None
    tracking_id: str
    label_url: str


@dataclass(frozen=True)
class ConfirmedPickup:
    tracking_id: str
    address: str | None = None
    date: date | None = None


# --- what Pregón answers -------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedMessage:
    communication_id: str
    channel: str
    to_address: str
    state: str  # "queued", or "failed" when no sender account can send it
    error: str | None = None


@dataclass(frozen=True)
class SkippedRecipient:
    channel: str
    reason: str
    to_address: str | None = None


@dataclass(frozen=True)
class EventOutcome:
    event_type: str
    event_id: str
    client_id: str
    message_type: str
    duplicate: bool
    received_at: str
    messages: tuple[QueuedMessage, ...] = ()
    skipped: tuple[SkippedRecipient, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "event_id": self.event_id,
            "client_id": self.client_id,
            "message_type": self.message_type,
            "received_at": self.received_at,
            "messages": [vars(m) for m in self.messages],
            "skipped": [vars(s) for s in self.skipped],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, duplicate: bool) -> EventOutcome:
        return cls(
            event_type=data["event_type"],
            event_id=data["event_id"],
            client_id=data["client_id"],
            message_type=data["message_type"],
            duplicate=duplicate,
            received_at=data["received_at"],
            messages=tuple(QueuedMessage(**m) for m in data.get("messages", [])),
            skipped=tuple(SkippedRecipient(**s) for s in data.get("skipped", [])),
        )


# --- the five events -----------------------------------------------------------------------------


def invoice_issued(
    company_id: str, event_id: str, client_id: str, invoice: Invoice, pdf: Pdf, *, client_balance: str | None
) -> EventOutcome:
    """E-mail the invoice with its PDF attached (C9). The PDF is checked before anything is written."""
    content = decode_pdf(pdf.content_base64, field="pdf.content_base64")
    file_name = pdf.file_name or f"{invoice.number}.pdf"
    attachment: list[AttachmentRef] = []

    def attach() -> tuple[AttachmentRef, ...]:
        if not attachment:
            from chalicelib.core.files import put_file

            attachment.append(put_file(company_id, "invoices", file_name, "application/pdf", content))
        return tuple(attachment)

    variables: dict[str, Any] = {
        "invoice": {
            "number": invoice.number,
            "issued_on": invoice.issued_on,
            "due_on": invoice.due_on,
            "total": invoice.total,
        },
        "attachments": [attachment_name(file_name)],  # the template may say the PDF is attached
    }
    return _handle(
        company_id,
        INVOICE_ISSUED,
        event_id,
        client_id,
        variables,
        client_balance=client_balance,
        attach=attach,
    )


def payment_recorded(
    company_id: str, event_id: str, client_id: str, payment: Payment, *, client_balance: str | None
) -> EventOutcome:
    """E-mail the receipt; and an SMS when the company's switch for that kind of payment is on (C9)."""
    variables = {
        "payment": {
            "receipt_number": payment.receipt_number,
            "amount": payment.amount,
            "received_on": payment.received_on,
            "method": payment.method,
        }
    }

    def sms_wanted(company: Company) -> str | None:
        wanted = (
            company.sms_on_automatic_payments
            if payment.entry == "automatic"
            else company.sms_on_manual_payments
        )
        return None if wanted else f"the company sends no SMS for {payment.entry} payments"

    return _handle(
        company_id,
        PAYMENT_RECORDED,
        event_id,
        client_id,
        variables,
        client_balance=client_balance,
        sms=sms_wanted,
    )


def ticket_changed(
    company_id: str, event_id: str, client_id: str, ticket: Ticket, *, notify_client: bool
) -> EventOutcome:
    """E-mail the client about a ticket, only when the ticket asks to notify the client (C9)."""
    variables = {
        "ticket": {
            "id": ticket.ticket_id,
            "subject": ticket.subject,
            "status": ticket.status,
            "operator": ticket.operator,
            "comment": ticket.comment,
            "updated_at": ticket.updated_at,
        }
    }
    silent = None if notify_client else "the ticket does not ask to notify the client"
    return _handle(company_id, TICKET_CHANGED, event_id, client_id, variables, silent=silent)


def pickup_approved(company_id: str, event_id: str, client_id: str, pickup: Pickup) -> EventOutcome:
    """E-mail: the approving branch, the label's link and the tracking id, with the parcel on the
    company's tracking page to follow it there (T10)."""
    from chalicelib.tenants.branding import parcel_url
    from chalicelib.tenants.companies import get_company

    page = get_company(company_id).tracking_page_url
    variables = {
        "pickup": {
            "number": pickup.number,
            "branch": pickup.branch,
            "date": pickup.date,
        },
        "parcel": {
            "tracking_id": pickup.tracking_id,
            "url": parcel_url(company_id, pickup.tracking_id, page),
        },
        "label_url": pickup.label_url,
    }
    return _handle(company_id, PICKUP_APPROVED, event_id, client_id, variables)


def pickups_confirmed(
    company_id: str, event_id: str, client_id: str, pickups: Iterable[ConfirmedPickup]
) -> EventOutcome:
    """ONE e-mail saying which pickups and how many were confirmed (T10), each with its parcel on
    the company's tracking page, as the pickup-approved e-mail gives it."""
    from chalicelib.tenants.branding import parcel_url
    from chalicelib.tenants.companies import get_company

    page = get_company(company_id).tracking_page_url
    confirmed = [
        {
            "tracking_id": p.tracking_id,
            "url": parcel_url(company_id, p.tracking_id, page),
            "address": p.address,
            "date": p.date,
        }
        for p in pickups
    ]
    variables = {"confirmed": confirmed, "confirmed_count": len(confirmed)}
    return _handle(company_id, PICKUPS_CONFIRMED, event_id, client_id, variables)


# --- checks --------------------------------------------------------------------------------------


def decode_pdf(content_base64: str, *, field: str) -> bytes:
    """The PDF's bytes; 422 naming ``field`` unless it is base64 of a PDF of at most 7 MB."""
    from chalicelib.core.files import decode_upload

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed([{"field": field, "message": message}])

    too_large = f"the PDF is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB"
    if len(content_base64) > (MAX_PDF_BYTES // 3 + 1) * 4 + 8:
        raise refuse(too_large)  # before decoding it
    content = decode_upload(content_base64, field=field, max_bytes=MAX_PDF_BYTES, too_large=too_large)
    if not content.startswith(PDF_MAGIC) or PDF_END not in content[-1024:]:
        raise refuse("is not a PDF (it must start with %PDF- and end with %%EOF)")
    return content


# --- the decide step shared by every event --------------------------------------------------------


@dataclass
class _Decision:
    messages: list[Any] = field(default_factory=list)
    skipped: list[SkippedRecipient] = field(default_factory=list)
    stored: list[AttachmentRef] = field(default_factory=list)  # files this post put in S3


def _handle(
    company_id: str,
    event_type: str,
    event_id: str,
    client_id: str,
    variables: dict[str, Any],
    *,
    client_balance: str | None = None,
    attach: Callable[[], tuple[AttachmentRef, ...]] | None = None,
    sms: Callable[[Company], str | None] | None = None,
    silent: str | None = None,
) -> EventOutcome:
    from chalicelib.core.files import discard_files
    from chalicelib.store import business_events as store
    from chalicelib.tenants.clients import get_client
    from chalicelib.tenants.companies import get_company

    message_type, email_switch = MESSAGE_OF[event_type]
    previous = store.get_event(company_id, event_type, event_id)
    if previous is not None:
        return EventOutcome.from_json(previous.outcome, duplicate=True)
    client = get_client(company_id, client_id)  # NotFound (404) naming the client
    company = get_company(company_id)
    # Z1: days and moments as the company's people write them, in its time zone
    variables = {
        **cast(dict[str, Any], shown_values(variables, company.time_zone, company.locale)),
        "client": _client_variables(client, client_balance),
        "company": company_variables(company),
    }
    cause = f"event:{event_type}:{event_id}"
    decision = _Decision()
    try:
        if silent:
            decision.skipped.append(SkippedRecipient("email", silent))
        elif not _switch_on(client, email_switch):
            decision.skipped.append(SkippedRecipient("email", f"the client's {email_switch!r} switch is off"))
        else:
            _decide_email(decision, company_id, client, message_type, variables, cause, event_type, attach)
        if sms is not None:
            _decide_sms(decision, company, client, message_type, variables, cause, sms(company))
    except Exception:  # nothing written yet: no message names the PDF
        discard_files(company_id, [r.key for r in decision.stored if r.key], STORED, "the event failed")
        raise
    # The messages and the event's record are written on condition that no erasure of the client
    # started since it was read, nor ended (``store.erasures.unerased``): each is written before
    # the erasure starts, and the erasure finds it, or not at all (the request is refused).
    from chalicelib.tenants.clients import unless_erased

    with unless_erased(company_id, client.client_id, gone_not_found=True) as checks:
        return _write(company_id, event_type, event_id, client_id, message_type, decision, checks)


def _write(
    company_id: str,
    event_type: str,
    event_id: str,
    client_id: str,
    message_type: str,
    decision: _Decision,
    checks: list[Check],
) -> EventOutcome:
    from chalicelib.core.domain import BusinessEvent
    from chalicelib.messaging.outbox import enqueue_with_files, written_before
    from chalicelib.store import business_events as store

    # The PDF goes when no message written names it: the write failed, or a post of the same
    # event whose outcome could not be recorded wrote the messages (with its own PDF) first.
    written = enqueue_with_files(company_id, decision.messages, decision.stored, STORED, checks=checks)
    # A post repeated after its first answer was lost (its outcome not recorded) answers the
    # messages that first post queued, as they are now, rather than none.
    written += written_before(company_id, decision.messages, written)
    outcome = EventOutcome(
        event_type=event_type,
        event_id=event_id,
        client_id=client_id,
        message_type=message_type,
        duplicate=False,
        received_at=clock.now().isoformat(),
        messages=tuple(
            QueuedMessage(c.communication_id, c.channel, c.to_address or "", c.state, c.error)
            for c in written
        ),
        skipped=tuple(decision.skipped),
    )
    event = BusinessEvent(company_id, event_type, event_id, client_id, outcome.to_json(), clock.now())
    if not store.record_event(event, checks=checks):  # another post of the same event got there first
        first = store.get_event(company_id, event_type, event_id)
        if first is not None:
            return EventOutcome.from_json(first.outcome, duplicate=True)
    return outcome


def _switch_on(client: Client, switch: str) -> bool:
    return bool(client.message_switches.get(switch, True))


def _client_variables(client: Client, balance: str | None) -> dict[str, Any]:
    return {
        "code": client.client_id,
        "name": client.name,
        "email": client.emails[0] if client.emails else None,
        "phone": client.phones[0] if client.phones else None,
        "balance": balance,
    }


def _email_recipients(client: Client, event_type: str) -> list[tuple[str, str, str | None]]:
    """(address, name, contact id) of everyone who gets the e-mail, each address once."""
    recipients: dict[str, tuple[str, str, str | None]] = {}
    for address in client.emails:
        recipients.setdefault(address.casefold(), (address, client.name, None))
    if event_type in CARGO_EVENTS:
        for contact in client.contacts:
            if contact.email and contact.wants_cargo_info:
                name = f"{contact.first_name} {contact.last_name}".strip()
                recipients.setdefault(contact.email.casefold(), (contact.email, name, contact.contact_id))
    return list(recipients.values())


def _decide_email(
    decision: _Decision,
    company_id: str,
    client: Client,
    message_type: str,
    variables: dict[str, Any],
    cause: str,
    event_type: str,
    attach: Callable[[], tuple[AttachmentRef, ...]] | None,
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage
    from chalicelib.messaging.sandbox import RenderedMessage
    from chalicelib.messaging.templates import effective_template, render_for

    recipients = _email_recipients(client, event_type)
    if not recipients:
        decision.skipped.append(SkippedRecipient("email", "the client has no e-mail address"))
        return
    error: str | None = None
    try:
        template, rendered = render_for(company_id, message_type, variables)
    except ValidationFailed as exc:  # the company's template: a failed message, not a refused event
        error = f"the template cannot be rendered: {exc}"
        template, rendered = effective_template(company_id, message_type), RenderedMessage("", "", "")
    attachments = attach() if attach else ()
    decision.stored.extend(attachments)
    for address, name, contact_id in recipients:
        decision.messages.append(
            OutgoingMessage(
                channel="email",
                to_address=address,
                to_name=name,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html or None,
                error=error,
                message_type=message_type,
                kind="automatic",
                client_id=client.client_id,
                contact_id=contact_id,
                area=template.sender_area,
                cause=cause,
                idempotency_key=f"{cause}:email:{address.casefold()}",
                attachments=attachments,
            )
        )


# Why an event's SMS is not sent when its text prints the client's balance and the event gave none.
NO_BALANCE = "the event gives no client_balance, which the company's SMS text prints (%deuda%, %saldo%)"


def _decide_sms(
    decision: _Decision,
    company: Company,
    client: Client,
    message_type: str,
    variables: dict[str, Any],
    cause: str,
    company_refusal: str | None,
) -> None:
    from chalicelib.messaging.accounts.sms import get_sms_settings
    from chalicelib.messaging.outbox import OutgoingMessage
    from chalicelib.messaging.templates import for_channel, render_for, sms_prints, with_portal_link

    if company_refusal:
        decision.skipped.append(SkippedRecipient("sms", company_refusal))
        return
    if not _switch_on(client, PAYMENT_SMS_SWITCH):
        decision.skipped.append(SkippedRecipient("sms", f"the client's {PAYMENT_SMS_SWITCH!r} switch is off"))
        return
    settings = get_sms_settings(company.company_id)
    if not settings.enabled:
        decision.skipped.append(SkippedRecipient("sms", "the company's SMS service is switched off"))
        return
    number = _first_valid_phone(client, settings.default_region)
    if number is None:
        reason = "the client has no phone" if not client.phones else "none of the client's phones takes SMS"
        decision.skipped.append(SkippedRecipient("sms", reason))
        return
    error = None
    try:
        template, rendered = render_for(company.company_id, message_type, variables)
        if variables["client"]["balance"] is None and sms_prints(template, "client.balance"):
            # Nothing goes half-filled ("Su saldo pendiente es de ."): the e-mail still goes, and
            # the answer tells the back office what to send.
            decision.skipped.append(SkippedRecipient("sms", NO_BALANCE))
            return
        given = with_portal_link(company.company_id, template.channel_sources, variables)
        text = for_channel(template, "sms", given, rendered).text
    except ValidationFailed as exc:  # the company's template: a failed message, not a refused event
        text, error = "", f"the template cannot be rendered: {exc}"
    decision.messages.append(
        OutgoingMessage(
            channel="sms",
            to_address=number,
            to_name=client.name,
            text=text,
            error=error,
            message_type=message_type,
            kind="automatic",
            client_id=client.client_id,
            cause=cause,
            idempotency_key=f"{cause}:sms:{number}",
        )
    )


def _first_valid_phone(client: Client, region: str) -> str | None:
    """The first of the client's phones an SMS can reach (a landline is passed over)."""
    from chalicelib.core.phones import first_sms_number

    return first_sms_number(client.phones, region)
