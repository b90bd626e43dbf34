"""Receiving one inbound SMS: event in -> store -> decide -> render -> outbox (I1, I2, C6, H2).

The message arrives as AWS End User Messaging's two-way SMS payload (``originationNumber``,
``destinationNumber``, ``messageBody``, ``inboundMessageId``, ...) published on an SNS topic:

1. the company is the one whose ``inbound_number`` is the destination; the client, the one whose
   phone (or contact's phone) is the sender's number, through the ``client-phones`` index;
2. the message is logged as a received communication (in the client's register, or unassigned);
3. STOP / BAJA ... put the number on the suppression list (reason ``stop``), START / ALTA lift it,
   HELP / AYUDA are answered with the company's help text (even to a STOPped number);
4. otherwise the company's keyword rules: a ticket (with the day's cap) or the client's balance;
5. a reply goes through the outbox (``message_type="sms_auto_reply"``) linked by ``in_reply_to``,
   while the sender's day has replies left (``allowance``: SMS pumping, auto-responder loops): the
   company's day in which the SMS was received (the notification's ``Timestamp``, kept on the
   inbound record), and only for a reply that will be sent (not a keyword reply to a STOPped
   number, which the outbox records suppressed).

Idempotent by the inbound message id: the record, the ticket and the reply each carry a key
derived from it, so a notification delivered twice (or retried after a crash half-way) ends with
one record, one ticket and one reply.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from chalicelib.core import clock, domain
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.localization import DEFAULT_LOCALE, show_balance
from chalicelib.core.observability import logger, payload_shape
from chalicelib.messaging.sms_text import render_sms
from chalicelib.messaging.suppression import help_reply_cause
from chalicelib.producers.sms_replies.keywords import compliance_action, mentions, parse_keywords
from chalicelib.producers.sms_replies.rules import current_rules
from chalicelib.store import communications as comm_store

MAX_BODY = 1600
AUTO_REPLY_TYPE = "sms_auto_reply"
# Why an SMS from a client gets no automatic reply when the client is being erased meanwhile.
BEING_ERASED = "the client is being erased: no reply"
# Why a ticket SMS from a client opens no ticket (and gets no reply) when she is being erased meanwhile.
NO_TICKET_BEING_ERASED = "the client is being erased: no ticket, no reply"
DEFAULT_HELP_TEXT = "%empresa%: escriba BAJA para no recibir más mensajes."
# Why an SMS from a two-way number of Pregón's gets no automatic reply: it is a company's own
# automatic reply (another company's, or this one's to itself), and answering it would start two
# robots answering each other (docs/inbound-sms.md, "Robots answering robots").
# Why an SMS was not logged: the day's ceilings on received messages held it (decision 0037).
HELD = "past the day's ceilings on received messages: held (counted, not logged, no reply)"
FROM_PREGON = "the sender is a two-way number Pregón sends from (a company's automatic reply): no reply"


class BadPayload(Exception):
    """The notification is not a two-way SMS we can read."""


@dataclass(frozen=True)
class InboundSms:
    origination: str
    destination: str
    body: str
    inbound_id: str
    keyword: str | None = None
    previous_id: str | None = None
    #: When the SMS was received (aware UTC): the notification's ``Timestamp``, else when it is read.
    received_at: datetime | None = None


@dataclass(frozen=True)
class InboundOutcome:
    """What became of one notification (returned by the handler, for logs and tests)."""

    # replied | logged | capped | held | stopped | started | duplicate | no_company | suspended | rejected
    outcome: str
    company_id: str | None = None
    communication_id: str | None = None
    client_id: str | None = None
    reply_id: str | None = None
    ticket_id: str | None = None
    reason: str | None = None


def received_moment(timestamp: str | None) -> datetime:
    """When the SMS was received: the SNS notification's ``Timestamp`` (ISO 8601 UTC, the moment
    End User Messaging published it, the same on every delivery of it), never later than now (a
    clock ahead is not trusted); now when there is none or it cannot be read."""
    now = clock.now()
    try:
        moment = datetime.fromisoformat((timestamp or "").strip())
    except ValueError:
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return min(moment.astimezone(timezone.utc), now)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: str) -> str:
    """Text that can be stored: a lone UTF-16 surrogate (JSON may carry ``"\\ud800"``, and a UCS-2
    SMS any 16-bit unit) as U+FFFD. Kept, it made the write fail, so the notification was
    retried until SNS dropped it, never logged."""
    return _LONE_SURROGATE.sub("\ufffd", value)


def parse_payload(message: str, fallback_id: str | None = None, timestamp: str | None = None) -> InboundSms:
    """Read a two-way SMS payload (``timestamp``: its SNS notification's); BadPayload when it is not one."""
    try:
        data = json.loads(message)
    except (TypeError, ValueError) as exc:
        raise BadPayload("the message is not JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("the message is not a JSON object")

    def text(name: str) -> str | None:
        value = data.get(name)
        return _storable(value.strip()) if isinstance(value, str) and value.strip() else None

    origination, destination = text("originationNumber"), text("destinationNumber")
    inbound_id = text("inboundMessageId") or fallback_id
    body = data.get("messageBody")
    body = _storable(body) if isinstance(body, str) else body
    missing = [
        name
        for name, value in (
            ("originationNumber", origination),
            ("destinationNumber", destination),
            ("inboundMessageId", inbound_id),
        )
        if not value
    ]
    if not isinstance(body, str):
        missing.append("messageBody")
    if missing:
        raise BadPayload(f"missing or not text: {', '.join(missing)}")
    assert origination and destination and inbound_id and isinstance(body, str)
    if len(inbound_id) > 200:
        raise BadPayload("inboundMessageId is too long")
    return InboundSms(
        origination=origination[:32],
        destination=destination[:32],
        body=body[:MAX_BODY],
        inbound_id=inbound_id,
        keyword=text("messageKeyword"),
        previous_id=text("previousPublishedMessageId"),
        received_at=received_moment(timestamp),
    )


def _e164(raw: str, region: str) -> str | None:
    from chalicelib.core.phones import normalize_phone

    try:
        return normalize_phone(raw, region)
    except ValidationFailed:
        return None


def _sender_number(raw: str, region: str) -> str | None:
    """The sender's number in E.164 as every SMS to it is stored: an SMS comes from a mobile, so an
    Argentine one given without its 9 (``+543514123456``, ``3514123456``, as a gateway or provider
    may write it) is the ``+549…`` form a manual SMS to the same client is addressed to
    (:func:`chalicelib.core.phones.texted_number`). None when it is not a phone number."""
    from chalicelib.core.phones import texted_number

    number = _e164(raw, region)
    return texted_number(number) if number else None


def _company_of(destination: str) -> str | None:
    from chalicelib.store.sms import companies_by_inbound_number

    number = _e164(destination, "AR") or destination
    owners = companies_by_inbound_number(number)
    return owners[0] if len(owners) == 1 else None


def _pregon_number(number: str) -> bool:
    """Whether a number is one of Pregón's two-way numbers: claimed by a company (the operator
    gave it) or named by one as its ``inbound_number`` (before claims existed)."""
    from chalicelib.core.phones import same_number
    from chalicelib.store.sms import companies_by_inbound_number, number_holders

    forms = same_number(number)  # a company's number may be stored with or without the mobile 9
    return bool(number_holders(forms) or any(companies_by_inbound_number(form) for form in forms))


def _client_of(company_id: str, sender: str) -> tuple[domain.Client | None, str | None]:
    """The one client the number belongs to (and the contact, for a contact's phone). A number
    several clients share is left unassigned: a reply could tell one client another's balance.
    An Argentine mobile also finds a client whose record holds it without the 9 (``+54 11…``)."""
    from chalicelib.core.phones import stored_forms
    from chalicelib.store.clients import clients_by_phone
    from chalicelib.tenants.clients import find_client

    owners = [owner for form in stored_forms(sender) for owner in clients_by_phone(company_id, form)]
    if len({o.client_id for o in owners}) != 1:
        return None, None
    return find_client(company_id, owners[0].client_id), owners[0].contact_id


def receive_inbound_sms(
    message: str, *, fallback_id: str | None = None, timestamp: str | None = None
) -> InboundOutcome:
    """Handle one SNS notification's message (``timestamp``: the notification's ``Timestamp``). A
    payload that cannot be read is logged and dropped (``rejected``); storage errors raise, so
    that SNS delivers the message again."""
    try:
        sms = parse_payload(message, fallback_id, timestamp)
    except BadPayload as exc:
        logger().warning(
            "inbound SMS rejected", extra={"reason": str(exc), "payload": payload_shape(message)}
        )
        return InboundOutcome("rejected", reason=str(exc))
    company_id = _company_of(sms.destination)
    if company_id is None:
        logger().warning(
            "inbound SMS to a number no company receives on",
            extra={"destination_ends_with": sms.destination[-4:], "inbound_id": sms.inbound_id},
        )
        return InboundOutcome("no_company", reason=f"no company receives SMS on {sms.destination}")
    from chalicelib.tenants.companies import company_in_service

    if not company_in_service(company_id):  # a company that left: dropped, counted (decision 0033)
        from chalicelib.store.leaving import count_inbound_dropped

        count_inbound_dropped(company_id)
        logger().warning("inbound SMS for a suspended company dropped", extra={"company_id": company_id})
        return InboundOutcome("suspended", company_id, reason="the company is suspended")
    return _handle(company_id, sms)


def _handle(company_id: str, sms: InboundSms) -> InboundOutcome:
    from chalicelib.tenants.companies import phone_region

    region = phone_region(company_id)
    sender = _sender_number(sms.origination, region)
    client, contact_id = _client_of(company_id, sender) if sender else (None, None)
    if not _admitted(company_id, sms, sender, client):
        return InboundOutcome("held", company_id, client_id=client.client_id if client else None, reason=HELD)
    record, fresh, received_at, matched = _log_inbound(company_id, sms, sender, client, contact_id)
    if not matched:  # logged under no client: its client was being erased
        client, contact_id = None, None
    # A notification seen before runs the same steps again: each is a no-op when already done; its
    # day is the one the first delivery recorded, so a delivery after midnight counts in the same.
    sms = replace(sms, received_at=received_at)
    outcome = _decide(company_id, sms, sender, client, contact_id, record)
    _announce(outcome)
    return outcome if fresh else _with(outcome, "duplicate")


def _admitted(company_id: str, sms: InboundSms, sender: str | None, client: domain.Client | None) -> bool:
    """Whether the SMS is within the day's ceilings on received messages (decision 0037): past
    them it is held (counted, listed, not logged: no webhook, no ticket, no reply). STOP and START
    are always honoured, and uncounted; an SMS logged already (a notification delivered again) is
    not counted again."""
    from chalicelib.records.inbound_flood import HeldMail, admitted
    from chalicelib.store.companies import get_company

    if compliance_action(sms.body) in ("stop", "start"):
        return True
    if comm_store.existing_key(company_id, f"sms-in:{sms.inbound_id}") is not None:
        return True
    company = get_company(company_id)
    if company is None:
        return True
    held = HeldMail(sms.inbound_id, "", "", sms.destination, "", sms.origination)
    return admitted(company, "sms", sender or sms.origination, held, known=client is not None)


def _announce(outcome: InboundOutcome) -> None:
    """Tell the company's webhooks (docs/webhooks.md): an SMS from a client, its STOP, its ticket.
    Told again for a notification SNS delivers twice: the event ids are the same."""
    from chalicelib.messaging.webhooks.service import announce

    company_id, client_id, record = outcome.company_id, outcome.client_id, outcome.communication_id
    if company_id is None or client_id is None:
        return
    announce(company_id, "inbound.received", client_id=client_id, message_id=record, channel="sms")
    if outcome.outcome == "stopped":
        announce(company_id, "client.unsubscribed", client_id=client_id, message_id=record, channel="sms")
    if outcome.ticket_id:
        announce(
            company_id,
            "ticket.created",
            client_id=client_id,
            message_id=record,
            channel="sms",
            ticket_id=outcome.ticket_id,
        )


def _decide(
    company_id: str,
    sms: InboundSms,
    sender: str | None,
    client: domain.Client | None,
    contact_id: str | None,
    record: str,
) -> InboundOutcome:
    base = InboundOutcome(
        "logged",
        company_id=company_id,
        communication_id=record,
        client_id=client.client_id if client else None,
    )
    action = compliance_action(sms.body)
    if action in ("stop", "start"):
        if sender:
            _opt(company_id, sender, action, sms, record)
        return _with(base, "stopped" if action == "stop" else "started")
    if sender is None:
        return _with(base, "logged", reason="the sender's number is not a phone number")
    if _pregon_number(sender):
        return _with(base, "logged", reason=FROM_PREGON)
    if not _service_on(company_id):
        # Seed 002: with the service off "the messages configured before have no effect": no ticket,
        # no reply (it could only fail); the rules and the number are kept for when it is on again.
        return _with(base, "logged", reason="the company's SMS service is switched off: no reply")
    if action == "help":
        # Answered even to a STOPped number (carriers require it): its cause lets it pass the
        # suppression list, and only it; one reply per HELP received, as every auto-reply, and
        # a day's HELP replies to one number are bounded apart from the others (``allowance``).
        text = _help_text(company_id)
        cause = help_reply_cause(sms.inbound_id)
        return _reply(base, company_id, sms, sender, client, contact_id, text, cause=cause)
    if client is None:
        return _with(base, "logged", reason="the number belongs to no single client: no reply")
    rules = current_rules(company_id)
    if rules.ticket_enabled and mentions(sms.body, parse_keywords(rules.ticket_keywords)):
        from chalicelib.store.tables import CheckFailed

        try:
            text, ticket_id = _ticket_reply(company_id, sms, client, rules, record)
        except CheckFailed:
            # her SMS was logged under her before the erasure started (the erasure deletes it):
            # a ticket for no one would keep her words after it (decision 0017, session 35)
            return _with(base, "logged", reason=NO_TICKET_BEING_ERASED)
        return _with(_reply(base, company_id, sms, sender, client, contact_id, text), ticket_id=ticket_id)
    if rules.balance_enabled and mentions(sms.body, parse_keywords(rules.balance_keywords)):
        company = _company(company_id)
        locale = company.locale if company else DEFAULT_LOCALE  # Z1: 15.300,50 in es_AR, 15,300.50 in es_MX
        owed = show_balance(client.balance or "0", locale) or "0"
        variables = {**_common(company_id, client, company), "deuda": owed}
        text = render_sms(rules.balance_template, variables, field="balance.template")
        return _reply(base, company_id, sms, sender, client, contact_id, text)
    return _with(base, "logged", reason="no keyword matched")


def _with(outcome: InboundOutcome, name: str | None = None, **changes: Any) -> InboundOutcome:
    return replace(outcome, **({"outcome": name} if name else {}), **changes)


def _log_inbound(
    company_id: str,
    sms: InboundSms,
    sender: str | None,
    client: domain.Client | None,
    contact_id: str | None,
) -> tuple[str, bool, datetime, bool]:
    """Write the received communication once per inbound id, created when the SMS was received;
    returns (its id, written now, when the SMS was received as the record says, whether it names
    its client). Written on condition that no erasure of the client runs or ran
    (``records.inbound_mail.write_with_attachments``'s way): one that lost is logged under no
    client, as from an unknown number (decision 0017, session 35)."""
    key = f"sms-in:{sms.inbound_id}"
    now = clock.now()
    received_at = sms.received_at or now
    headers = {"inboundMessageId": sms.inbound_id}
    if sms.keyword:
        headers["messageKeyword"] = sms.keyword[:100]
    if sms.previous_id:
        headers["previousPublishedMessageId"] = sms.previous_id[:200]
    comm = domain.Communication(
        company_id=company_id,
        communication_id=comm_store.new_communication_id(received_at),
        direction="in",
        channel="sms",
        kind="automatic",
        state="received",
        created_at=received_at,
        updated_at=now,
        message_type="sms_inbound",
        client_id=client.client_id if client else None,
        contact_id=contact_id,
        from_address=sender or sms.origination,
        from_name=client.name if client else None,
        to_address=sms.destination,
        text=sms.body,
        headers=headers,
        cause=key,
        idempotency_key=key,
        unassigned=client is None,
    )
    from chalicelib.records.inbound_mail import written_unless_erased

    written = written_unless_erased(company_id, [comm], None, _unmatched)
    if written:
        return comm.communication_id, True, received_at, written[0].client_id is not None
    existing = comm_store.existing_key(company_id, key)
    assert existing is not None
    stored = comm_store.get(company_id, existing)
    if stored is None:
        return existing, False, received_at, client is not None
    return existing, False, stored.created_at, stored.client_id is not None


def _unmatched(comm: domain.Communication) -> domain.Communication:
    """An SMS from a client being erased, as from an unknown number (no name either)."""
    from chalicelib.records.inbound_mail import unmatched

    return replace(unmatched(comm), from_name=None)


def _opt(company_id: str, sender: str, action: str, sms: InboundSms, record: str) -> None:
    from chalicelib.core.phones import texted_number
    from chalicelib.store import outbox as outbox_store

    sender = texted_number(sender)  # keyed as the outbox compares SMS (suppression_key)

    if action == "stop":
        outbox_store.suppress(
            domain.Suppression(
                company_id=company_id,
                address=sender,
                reason="stop",
                created_at=clock.now(),
                detail=f"SMS {sms.body.strip()[:40]!r}",
                communication_id=record,
            )
        )
    else:
        from chalicelib.messaging.suppression import same_number_keys

        found = outbox_store.suppressed_among(company_id, same_number_keys(sender))
        for key, existing in found.items():
            if existing.reason == "stop":  # START lifts what STOP put, no more
                outbox_store.lift_suppression(company_id, key)


def _company(company_id: str) -> domain.Company | None:
    from chalicelib.store.companies import get_company

    return get_company(company_id)


def _company_name(company_id: str, company: domain.Company | None = None) -> str:
    """The company's name (read unless the caller has read the company already)."""
    company = company or _company(company_id)
    return company.name if company else company_id


def _common(company_id: str, client: domain.Client, company: domain.Company | None = None) -> dict[str, Any]:
    return {"nombre": client.name, "empresa": _company_name(company_id, company), "cliente": client.client_id}


def _service_on(company_id: str) -> bool:
    from chalicelib.messaging.accounts.sms import get_sms_settings

    return get_sms_settings(company_id).enabled


def _help_text(company_id: str) -> str:
    from chalicelib.store.sms import get_sms_settings

    settings = get_sms_settings(company_id)
    template = (settings.help_text if settings else None) or DEFAULT_HELP_TEXT
    return template.replace("%empresa%", _company_name(company_id))


def ticket_id_for(company_id: str, inbound_id: str) -> str:
    """A short ticket id derived from the inbound message (so a retry finds the same ticket)."""
    digest = hashlib.sha256(f"{company_id}|{inbound_id}".encode()).digest()
    return "T-" + base64.b32encode(digest).decode()[:8]


def _ticket_reply(
    company_id: str, sms: InboundSms, client: domain.Client, rules: domain.SmsAutoReplies, record: str
) -> tuple[str, str | None]:
    """The reply to a ticket SMS, and the ticket opened (None: the day's tickets are used up).
    Opened on condition that no erasure of the client runs or ran (``store.erasures.unerased``):
    ``store.tables.CheckFailed``, nothing written, when one does."""
    from chalicelib.store.erasures import unerased
    from chalicelib.store.tickets import open_ticket

    now = clock.now()
    ticket = domain.Ticket(
        company_id=company_id,
        ticket_id=ticket_id_for(company_id, sms.inbound_id),
        client_id=client.client_id,
        operator=rules.ticket_operator,
        category=rules.ticket_category,
        text=sms.body,
        source="sms",
        created_at=now,
        communication_id=record,
    )
    from chalicelib.core.localization import today
    from chalicelib.tenants.companies import company_time_zone

    # Z1: "N tickets a day" counts the company's days: the day the SMS was received (a notification
    # SNS delivers again after midnight counts in the day it came), as the reply allowance does
    day = today(company_time_zone(company_id), sms.received_at or now).isoformat()
    opened, _ = open_ticket(ticket, day, rules.ticket_max_per_day, unerased(company_id, client.client_id))
    if opened is None:
        variables = {**_common(company_id, client), "maximo": rules.ticket_max_per_day}
        return render_sms(rules.ticket_limit_template, variables, field="ticket.limit_template"), None
    variables = {
        **_common(company_id, client),
        "id": opened.ticket_id,
        "operador": opened.operator or "",
        "categoria": opened.category or "",
    }
    return render_sms(rules.ticket_template, variables, field="ticket.template"), opened.ticket_id


def _reply(
    base: InboundOutcome,
    company_id: str,
    sms: InboundSms,
    sender: str,
    client: domain.Client | None,
    contact_id: str | None,
    text: str,
    *,
    cause: str | None = None,
) -> InboundOutcome:
    """Queue the reply (once per inbound id), link it to the inbound record, then kick the outbox.
    ``cause``: ``sms-in:<id>``, or a HELP's own (:func:`help_reply_cause`), which passes STOP.
    Not sent (``capped``) once the sender's day (the company's day the SMS was received) has no
    reply of its kind left. Not counted: a reply already queued (a notification delivered again),
    and a keyword reply to a suppressed number (STOP), which the outbox records and never sends."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue, kick_outboxes
    from chalicelib.producers.sms_replies.allowance import allowance_of, give_back, within_daily_allowance
    from chalicelib.store.erasures import unerased
    from chalicelib.store.tables import CheckFailed

    key = f"sms-reply:{sms.inbound_id}"
    help_reply = cause is not None
    held_back = counted = False
    received_at = sms.received_at or clock.now()
    if comm_store.existing_key(company_id, key) is None:
        held_back = not help_reply and _suppressed(company_id, sender)
        counted = not held_back
        allowed = held_back or within_daily_allowance(
            company_id, sender, sms.inbound_id, received_at=received_at, help_reply=help_reply
        )
    else:
        allowed = True
    if not allowed:
        limit = allowance_of(help_reply)
        kind = "HELP replies" if help_reply else "automatic replies"
        reason = f"the number had its {limit} {kind} of the day: no reply"
        logger().warning(
            "inbound SMS not answered: the sender's daily automatic replies are used up",
            extra={
                "company_id": company_id,
                "communication_id": base.communication_id,
                "client_id": base.client_id,
                "reply": "help" if help_reply else "keyword",
                "replies_per_day": limit,
            },
        )
        return _with(base, "capped", reason=reason)
    message = OutgoingMessage(
        channel="sms",
        to_address=sender,
        text=text,
        to_name=client.name if client else None,
        message_type=AUTO_REPLY_TYPE,
        kind="automatic",
        client_id=client.client_id if client else None,
        contact_id=contact_id,
        cause=cause or f"sms-in:{sms.inbound_id}",
        idempotency_key=key,
    )
    # To a client, written on condition that no erasure of it started since it was read, nor
    # ended (``store.erasures.unerased``): a reply the erasure would not find is not sent at all
    checks = unerased(company_id, client.client_id) if client else []
    try:
        enqueue(company_id, [message], kick=False, checks=checks)
    except CheckFailed:
        # not written: the number keeps the reply it did not get (unless a delivery of the same
        # SMS wrote it before the erasure started: that one is counted, and the erasure finds it)
        if counted and comm_store.existing_key(company_id, key, consistent=True) is None:
            give_back(company_id, sender, sms.inbound_id, received_at=received_at, help_reply=help_reply)
        return _with(base, "logged", reason=BEING_ERASED)
    reply_id = comm_store.existing_key(company_id, key)
    assert reply_id is not None and base.communication_id is not None
    comm_store.update_fields(company_id, reply_id, {"in_reply_to": base.communication_id}, clock.now())
    kick_outboxes(company_id, {"sms"})
    if held_back:
        reason = "the number is on the suppression list (STOP): the reply is recorded suppressed, not sent"
        return _with(base, "replied", reply_id=reply_id, reason=reason)
    return _with(base, "replied", reply_id=reply_id)


def _suppressed(company_id: str, sender: str) -> bool:
    """True when the outbox will hold a keyword reply to ``sender`` back (the number texted STOP,
    or is on the list for another reason): such a reply is recorded ``suppressed``, not sent, so it
    uses none of the day's allowance. Only a HELP reply passes the list
    (``messaging.suppression.holding_back``), and it is counted in its own allowance."""
    from chalicelib.store import outbox as outbox_store

    return sender in outbox_store.suppressed_among(company_id, [sender])
