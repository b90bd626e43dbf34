"""SES delivery notifications -> the communication's delivery truth and the suppression list.

SES publishes, through the configuration set every send names, one JSON record per event to an
SNS topic. Two formats reach us, and both are read:

* event publishing: ``{"eventType": "Bounce" | "Complaint" | "Delivery" | "Send" | "Reject" |
  "DeliveryDelay" | "Open" | "Click" | "Rendering Failure" | "Subscription", "mail": {...}, ...}``;
* identity notifications (older): ``{"notificationType": "Bounce" | "Complaint" | "Delivery", ...}``.

``mail.messageId`` is the id SES answered the send with, stored as the communication's provider
id. A notification only ever touches the communication it names, in that communication's own
company: the company tag we send with every message must match (event publishing carries it),
and the address must be one the message went to.

What each event does:

=============  ===================================================================================
Delivery       sent -> delivered
Bounce         sent/delivered -> bounced, detail "<type>/<subtype>: <diagnostic>"; a Permanent
               bounce puts the address on the suppression list (reason ``bounce``); Transient and
               Undetermined bounces do not
Complaint      sent/delivered/bounced -> complained, detail "complaint: <feedback type>"; the
               address is suppressed (reason ``complaint``)
Reject         sent -> failed (SES refused it, e.g. a virus)
others         logged only (Send, DeliveryDelay, Open, Click, ...)
=============  ===================================================================================

The same notification twice changes nothing more (conditional updates; a suppression is put
once). Unknown message ids are logged and ignored; a payload that is not an SES notification is
logged with the SNS message id and dropped, never retried.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from chalicelib.channels.ses import COMPANY_TAG, company_tag_value
from chalicelib.core import clock
from chalicelib.core.domain import Communication, Suppression
from chalicelib.core.observability import logger, metrics
from chalicelib.store import communications as store
from chalicelib.store import outbox as outbox_store

# Where each event may move a message from (a state not listed is left alone: a late Delivery
# never hides a bounce or a complaint).
_FROM_STATES = {
    "delivered": ("sent",),
    "bounced": ("sent", "delivered"),
    "complained": ("sent", "delivered", "bounced"),
    "failed": ("sent",),
}


class MalformedNotification(ValueError):
    """The text is not an SES notification we can read."""


@dataclass(frozen=True)
class SesNotification:
    event_type: str
    message_id: str
    destination: tuple[str, ...] = ()
    tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    recipients: tuple[str, ...] = ()  # bounced / complained / delivered recipients, lower-cased
    bounce_type: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What one notification did: ``result`` is delivered | bounced | complained | failed |
    duplicate | ignored | unknown | foreign | malformed."""

    result: str
    company_id: str | None = None
    communication_id: str | None = None
    suppressed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "company_id": self.company_id,
            "communication_id": self.communication_id,
            "suppressed": self.suppressed,
        }


def _address(raw: Any) -> str:
    return parseaddr(str(raw or ""))[1].strip().lower()


def _recipients(items: Any, key: str | None) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        value = item.get(key) if key and isinstance(item, dict) else item
        address = _address(value)
        if address:
            found.append(address)
    return tuple(found)


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def parse_notification(text: str) -> SesNotification:
    """Read an SES notification (either format). Raises MalformedNotification."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise MalformedNotification(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedNotification("not a JSON object")
    event_type = data.get("eventType") or data.get("notificationType")
    mail = data.get("mail")
    if not isinstance(event_type, str) or not isinstance(mail, dict):
        raise MalformedNotification("no eventType/notificationType or no mail object")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        raise MalformedNotification("no mail.messageId")
    raw_tags = _object(mail, "tags")
    tags = {
        str(k): tuple(str(v) for v in (vs if isinstance(vs, list) else [vs])) for k, vs in raw_tags.items()
    }
    note = SesNotification(
        event_type=event_type,
        message_id=message_id,
        destination=_recipients(mail.get("destination"), None),
        tags=tags,
    )
    if event_type == "Bounce":
        return _bounce(note, data.get("bounce"))
    if event_type == "Complaint":
        complaint = _object(data, "complaint")
        feedback = complaint.get("complaintFeedbackType")
        return _with(
            note,
            recipients=_recipients(complaint.get("complainedRecipients"), "emailAddress"),
            detail=f"complaint: {feedback}" if feedback else "complaint",
        )
    if event_type == "Delivery":
        delivery = _object(data, "delivery")
        return _with(note, recipients=_recipients(delivery.get("recipients"), None))
    if event_type == "Reject":
        reject = _object(data, "reject")
        return _with(note, detail=f"rejected by SES: {reject.get('reason') or 'no reason given'}")
    return note


def _bounce(note: SesNotification, bounce: Any) -> SesNotification:
    if not isinstance(bounce, dict):
        raise MalformedNotification("a Bounce without its bounce object")
    kind = str(bounce.get("bounceType") or "Undetermined")
    subtype = str(bounce.get("bounceSubType") or "Undetermined")
    found = bounce.get("bouncedRecipients")
    recipients: list[Any] = found if isinstance(found, list) else []
    diagnostics = [
        str(r.get("diagnosticCode") or r.get("status") or "")
        for r in recipients
        if isinstance(r, dict) and (r.get("diagnosticCode") or r.get("status"))
    ]
    diagnostic = diagnostics[0] if diagnostics else "no diagnostic given"
    return _with(
        note,
        recipients=_recipients(recipients, "emailAddress"),
        bounce_type=kind,
        detail=f"bounce {kind}/{subtype}: {diagnostic}"[:1000],
    )


def _with(note: SesNotification, **changes: Any) -> SesNotification:
    from dataclasses import replace

    return replace(note, **changes)


# --- applying ----------------------------------------------------------------------------------


def handle_sns_message(text: str, sns_message_id: str | None = None) -> Outcome:
    """Parse and apply one SNS message from the SES events topic. Never raises for bad input."""
    try:
        note = parse_notification(text)
    except MalformedNotification as exc:
        logger().warning(
            "ses event dropped: not an SES notification",
            extra={"sns_message_id": sns_message_id, "reason": str(exc), "payload": str(text)[:500]},
        )
        return Outcome("malformed")
    return apply_notification(note, sns_message_id)


def apply_notification(note: SesNotification, sns_message_id: str | None = None) -> Outcome:
    log_keys = {
        "sns_message_id": sns_message_id,
        "ses_message_id": note.message_id,
        "ses_event": note.event_type,
    }
    comm = store.by_provider_message_id(note.message_id)
    if comm is None or comm.channel != "email" or comm.direction != "out":
        logger().info("ses event for an unknown message ignored", extra=log_keys)
        return Outcome("unknown")
    log_keys |= {"company_id": comm.company_id, "communication_id": comm.communication_id}
    reason = _foreign(note, comm)
    if reason is not None:
        logger().warning(
            "ses event does not match the message it names; ignored", extra=log_keys | {"reason": reason}
        )
        return Outcome("foreign")
    target = {
        "Delivery": "delivered",
        "Bounce": "bounced",
        "Complaint": "complained",
        "Reject": "failed",
    }.get(note.event_type)
    if target is None:
        logger().info("ses event recorded in the log only", extra=log_keys)
        return Outcome("ignored", comm.company_id, comm.communication_id)
    if comm.state == target and (note.detail is None or comm.error == note.detail):
        logger().info("ses event already applied", extra=log_keys)
        return Outcome("duplicate", comm.company_id, comm.communication_id)
    if comm.state not in _FROM_STATES[target] and comm.state != target:
        logger().info("ses event does not change the message's state", extra=log_keys | {"state": comm.state})
        return Outcome("ignored", comm.company_id, comm.communication_id)
    now = clock.now()
    suppressed = _suppress_if_needed(note, comm, now)
    updated = store.advance_delivery_state(comm, target, now, note.detail, from_states=_FROM_STATES[target])
    if updated is None:
        logger().info("ses event already applied", extra=log_keys)
        return Outcome("duplicate", comm.company_id, comm.communication_id, suppressed)
    metrics().add_metric(name=f"Email{target.capitalize()}", unit="Count", value=1)
    logger().info(
        "ses event applied",
        extra=log_keys | {"state": target, "detail": note.detail, "suppressed": suppressed},
    )
    return Outcome(target, comm.company_id, comm.communication_id, suppressed)


def _foreign(note: SesNotification, comm: Communication) -> str | None:
    """Why a notification cannot be about this communication, or None when it can."""
    companies = note.tags.get(COMPANY_TAG)
    if companies and company_tag_value(comm.company_id) not in companies:
        return "the company tag names another company"
    address = (comm.to_address or "").lower()
    if note.destination and address not in note.destination:
        return "the message was not sent to the communication's address"
    return None


def _suppress_if_needed(note: SesNotification, comm: Communication, now: datetime) -> str | None:
    """Put the address on the company's list for a hard bounce or a complaint about it."""
    if note.event_type == "Bounce" and note.bounce_type == "Permanent":
        reason = "bounce"
    elif note.event_type == "Complaint":
        reason = "complaint"
    else:
        return None
    address = (comm.to_address or "").lower()
    if not address or (note.recipients and address not in note.recipients):
        return None
    outbox_store.suppress(
        Suppression(
            company_id=comm.company_id,
            address=address,
            reason=reason,
            created_at=now,
            detail=note.detail,
            communication_id=comm.communication_id,
        )
    )
    return address
