"""The company's suppression list as administrators see it (Q5): addresses no message may go
to. SES events add hard-bouncing and complaining addresses; an administrator adds one by hand
(a client asked by phone) or lifts one (the mailbox works again). Every change is logged with
who made it and when.

Addresses are kept as the outbox compares them: e-mails lower-cased, phone numbers in E.164 as
the SMS reaches them (an Argentine mobile with its 9).
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Communication, Suppression
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.store import outbox as store

MANUAL_REASONS = ("manual", "bounce", "complaint", "unsubscribe")
MAX_ADDRESS_CHARS = 254


def suppression_key(message: Communication) -> str:
    """The key a message's address has on the suppression list: an e-mail address in lower case,
    a phone number as the number the SMS reaches (an Argentine number stored without its 9 is its
    ``+549…`` mobile, the number a STOP comes from), a push token as written (all stored already
    normalized, :func:`normalize_address`)."""
    address = message.to_address or ""
    if message.channel == "email":
        return address.lower()
    if message.channel == "sms" and address.startswith("+"):
        from chalicelib.core.phones import texted_number

        return texted_number(address)
    return address


def same_number_keys(key: str) -> list[str]:
    """``key`` and the keys one number may have been put on the list under before entries were
    keyed as the SMS reaches them (session 29): an Argentine mobile's ``+549…`` and the form without
    its 9 (``+54…``), which a hand-added entry of "11 5987-6543" got. Read together, so such an
    entry still holds SMS to that mobile and can be found and lifted."""
    from chalicelib.core.phones import stored_forms

    return stored_forms(key)  # an e-mail address or a token is its one form


def suppression_keys(message: Communication) -> list[str]:
    """Every key on the list that holds ``message`` (:func:`suppression_key` first)."""
    key = suppression_key(message)
    return same_number_keys(key) if message.channel == "sms" else [key]


# A HELP reply (C6) is the one message a suppressed number still gets: carriers (CTIA, the US/CA
# short-code and 10DLC rules AWS End User Messaging follows) require HELP to be answered even after
# STOP. It is told apart by its cause, which only the inbound-SMS producer writes (every producer
# sets its own prefix: ``event:``, ``manual:``, ``document:``...; no caller chooses a cause), so no
# template, event type or send can pass the list this way.
HELP_REPLY_CAUSE = "sms-help:"


def help_reply_cause(inbound_id: str) -> str:
    """The cause of the reply to one inbound SMS's HELP."""
    return f"{HELP_REPLY_CAUSE}{inbound_id}"


def answers_help(message: Communication) -> bool:
    """True for the automatic reply to an inbound SMS's HELP (an SMS caused by
    :func:`help_reply_cause`); not for staff resending it (a resend keeps the cause)."""
    return (
        message.channel == "sms"
        and message.kind == "automatic"
        and message.resend_of is None
        and (message.cause or "").startswith(HELP_REPLY_CAUSE)
    )


def holding_back(message: Communication, suppressed: dict[str, Any]) -> Any | None:
    """The suppression entry that keeps ``message`` from being sent, or None: a suppressed
    address's entry, except for a HELP reply (:func:`answers_help`), which goes out regardless."""
    entry = next((suppressed[k] for k in suppression_keys(message) if k in suppressed), None)
    return None if entry is None or answers_help(message) else entry


def _channel_of(key: str) -> str:
    """What a key on the list is, for the log (which never names the address itself)."""
    return "email" if "@" in key else "sms" if key.startswith("+") else "push"


def normalize_address(company_id: str, raw: str, *, field: str = "address") -> str:
    """An e-mail address (checked, lower-cased) or a phone number (E.164, read in the company's
    SMS region when it has no country code). Raises ValidationFailed naming ``field``."""
    text = (raw or "").strip()
    if not text:
        raise ValidationFailed([{"field": field, "message": "is required"}])
    if len(text) > MAX_ADDRESS_CHARS:
        raise ValidationFailed(
            [{"field": field, "message": f"is longer than {MAX_ADDRESS_CHARS} characters"}]
        )
    if "@" in text:
        from chalicelib.core.emails import checked_email

        return checked_email(text, field=field).lower()
    from chalicelib.core.phones import normalize_phone, texted_number
    from chalicelib.tenants.companies import phone_region

    # keyed as the SMS reaches it (suppression_key): "11 5987-6543" is the mobile +54 9 11 5987-6543
    return texted_number(normalize_phone(text, phone_region(company_id), field=field))


def lookup_key(company_id: str, raw: str, *, field: str = "q") -> str:
    """What an administrator searches for, keyed as :func:`suppression_key` keys a message's
    address: an e-mail address (it has an ``@``) in lower case; a phone number in E.164 however it
    is written (``011 15-5987-6543`` in Argentina finds ``+5491159876543``), as the list shows it;
    other text as written; surrounding spaces dropped. Raises ValidationFailed naming ``field`` for
    text no address is (too long, control characters)."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw or ""):
        raise ValidationFailed([{"field": field, "message": "must not contain control characters"}])
    text = (raw or "").strip()
    if len(text) > MAX_ADDRESS_CHARS:
        raise ValidationFailed(
            [{"field": field, "message": f"is longer than {MAX_ADDRESS_CHARS} characters"}]
        )
    if "@" in text:
        return text.lower()
    try:
        return normalize_address(company_id, text, field=field) if text else text
    except ValidationFailed:
        return text  # not a phone number either: looked up as written, and found or not


def find_suppression(company_id: str, raw: str) -> list[Suppression]:
    """The list's entry for one address (:func:`lookup_key`): a list of it, or an empty list
    (also for blank text)."""
    key = lookup_key(company_id, raw)
    if not key:
        return []
    _, entry = _entry_of(company_id, key)
    return [entry] if entry else []


def _entry_of(company_id: str, key: str) -> tuple[str, Suppression | None]:
    """The key the address ``key`` names is on the list under, and its entry: its own key or, for
    a phone, the form it may have been put on the list with before (:func:`same_number_keys`);
    (``key``, None) when it is not on the list. One BatchGetItem."""
    keys = same_number_keys(key)
    found = store.suppressed_among(company_id, keys)
    return next(((k, found[k]) for k in keys if k in found), (key, None))


def list_suppressions(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Suppression], dict[str, Any] | None]:
    """One page of the list, in address order."""
    return store.list_suppressions(company_id, limit, cursor)


def add_suppression(
    company_id: str, address: str, *, reason: str = "manual", note: str | None, by: str
) -> tuple[Suppression, bool]:
    """Put an address on the list by hand. Returns the entry and whether it was new (an address
    already there keeps its first entry)."""
    if reason not in MANUAL_REASONS:
        raise ValidationFailed(
            [{"field": "reason", "message": f"must be one of {', '.join(MANUAL_REASONS)}"}]
        )
    key = normalize_address(company_id, address)
    now = clock.now()
    detail = f"added by {by}" + (f": {note.strip()}" if note and note.strip() else "")
    entry = Suppression(
        company_id=company_id, address=key, reason=reason, created_at=now, detail=detail, created_by=by
    )
    created = store.suppress(entry)
    if not created:
        entry = store.suppressed_among(company_id, [key]).get(key, entry)
    logger().info(
        "suppression added by hand" if created else "suppression already there",
        extra={
            "company_id": company_id,
            "channel": _channel_of(key),
            "reason": reason,
            "by": by,
            "at": now.isoformat(),
        },
    )
    return entry, created


def added_by(entry: Suppression) -> str | None:
    """The staff user who put ``entry`` on the list by hand, or None: kept since 2026-12-05, read
    from the ``detail`` :func:`add_suppression` wrote (``added by <user>[: <note>]``) before."""
    import re

    if entry.created_by:
        return entry.created_by
    written = re.match(r"added by (\S+?)(?:: |$)", entry.detail or "")
    return written.group(1) if written else None


def lift_suppression(company_id: str, address: str, *, by: str) -> Suppression:
    """Take an address off the list, so messages go to it again. NotFound when it is not there."""
    key, entry = _entry_of(company_id, normalize_address(company_id, address))
    if entry is None or not store.lift_suppression(company_id, key):
        raise NotFound(f"{key} is not on the suppression list", field="address")
    logger().info(
        "suppression lifted",
        extra={
            "company_id": company_id,
            "channel": _channel_of(key),
            "by": by,
            "at": clock.now().isoformat(),
            "reason": entry.reason,
            "communication_id": entry.communication_id,
        },
    )
    return entry
