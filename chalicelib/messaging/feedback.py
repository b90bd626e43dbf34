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
Reject         sent -> failed, detail "rejected by SES: <reason>" (SES refused it, e.g. a virus)
others         logged only (Send, DeliveryDelay, Open, Click, ...)
=============  ===================================================================================

Every detail is what the company reads (the history's ``error``, the suppression list's ``detail``),
so SES's words in it go through ``channels.provider_errors.tenant_safe``: no ARN, account id, request
id or name of ours reaches a company (decision 0004, session 36).

The same notification twice changes nothing more (conditional updates; a suppression is put
once). Unknown message ids are logged and ignored; a payload that is not an SES notification is
logged with the SQS (or SNS) message id and dropped, never retried.

How they arrive (issue 14): the topic delivers to an SQS queue, and ``ses_events`` reads it ten
at a time (:func:`handle_sqs_batch`); the body is SES's JSON itself (raw message delivery) or
SNS's envelope around it. A record that fails for our own reasons (the store) is reported back
alone (SQS partial batch response) and tried again by SQS, ending in the queue's dead-letter
queue; the others in its batch are done. One INFO line and one set of metrics per batch; the
per-event lines are DEBUG, except what is wrong (foreign, malformed, failed: WARNING).

How an event finds its message: every SES send is tagged with the company and the
communication id (``channels.ses``), so a Delivery or a Reject is one conditional ``UpdateItem``
on that key (the condition holds the rules: an outgoing e-mail, a state in ``_FROM_STATES``, sent
to an address the event names), with nothing read. Bounces and complaints read the item by its
key first (the address to suppress comes from it, and is suppressed before the state moves, so a
failure in between is tried again whole). When that one write's condition fails the item is read
to tell why (duplicate, late, foreign). An event without the communication tag (sent before it,
or an identity notification) is found through the ``by-provider-message`` index as before.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from chalicelib.channels.provider_errors import tenant_safe
from chalicelib.channels.ses import COMMUNICATION_TAG, COMPANY_TAG, company_tag_value
from chalicelib.core import clock
from chalicelib.core.domain import Communication, Suppression
from chalicelib.core.observability import logger, metrics, payload_shape
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
    destination: tuple[str, ...] = ()  # lower-cased
    addressed: tuple[str, ...] = ()  # the same addresses as the event writes them
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
    #: For a ``duplicate``: the state the notification had already put the message in (its
    #: webhook event is queued again, with the same id, in case the first queueing failed).
    state: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "company_id": self.company_id,
            "communication_id": self.communication_id,
            "suppressed": self.suppressed,
        }


def _address(raw: Any) -> str:
    return parseaddr(str(raw or ""))[1].strip().lower()


def _recipients(items: Any, key: str | None, *, lower: bool = True) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    found = []
    for item in items:
        value = item.get(key) if key and isinstance(item, dict) else item
        address = _address(value) if lower else parseaddr(str(value or ""))[1].strip()
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
    return _notification(data)


def _notification(data: Any) -> SesNotification:
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
        addressed=_recipients(mail.get("destination"), None, lower=False),
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
            detail=tenant_safe(f"complaint: {feedback}") if feedback else "complaint",
        )
    if event_type == "Delivery":
        delivery = _object(data, "delivery")
        return _with(note, recipients=_recipients(delivery.get("recipients"), None))
    if event_type == "Reject":
        reject = _object(data, "reject")
        reason = reject.get("reason") or "no reason given"
        return _with(note, detail=tenant_safe(f"rejected by SES: {reason}"))
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
        detail=tenant_safe(f"bounce {kind}/{subtype}: {diagnostic}", limit=1000),
    )


def _with(note: SesNotification, **changes: Any) -> SesNotification:
    from dataclasses import replace

    return replace(note, **changes)


# --- applying ----------------------------------------------------------------------------------

_TARGETS = {"Delivery": "delivered", "Bounce": "bounced", "Complaint": "complained", "Reject": "failed"}
# Applied by one conditional write, nothing read: these never suppress an address.
_WRITE_ONLY = frozenset({"delivered", "failed"})
_MAX_IN_OPERANDS = 100  # DynamoDB's limit for a condition's IN


def handle_sqs_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Apply a batch of SES events from the SQS queue (Lambda's SQS event). Returns the partial
    batch response, ``{"batchItemFailures": [...]}``: only the records to try again, and nothing
    else (what each record did is counted in the batch's log line and metrics). Bad payloads are
    dropped; a store failure fails its record."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    outcomes: list[Outcome] = []

    def apply_record(record: SQSRecord) -> None:
        try:
            outcome = handle_sqs_body(record.body, record.message_id)
        except Exception as exc:
            logger().warning(
                "ses event failed; SQS tries it again",
                extra={"sqs_message_id": record.message_id, "error": f"{type(exc).__name__}: {exc}"[:300]},
            )
            raise
        # Raising when the webhook queue refuses it: the record is tried again (SQS counts it).
        _announce(outcome, retried=int(record.attributes.approximate_receive_count or 1) > 1)
        outcomes.append(outcome)

    # Not raising when every record failed: the answer names them all, and SQS tries them again.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=apply_record, processor=processor)
    failures = list(response.get("batchItemFailures") or [])
    results = Counter(o.result for o in outcomes)
    if failures:
        results["retried"] = len(failures)
    for target in ("delivered", "bounced", "complained", "failed"):
        if results[target]:
            metrics().add_metric(name=f"Email{target.capitalize()}", unit="Count", value=results[target])
    logger().info(
        "ses events applied", extra={"records": len(event.get("Records") or []), "results": dict(results)}
    )
    return {"batchItemFailures": failures}


def _announce(outcome: Outcome, retried: bool = False) -> None:
    """Tell the company's webhooks (docs/webhooks.md) that a message was delivered, bounced,
    complained about or failed; queued, never posted here. When the queue refuses it this raises
    and SQS gives the record again; the state is recorded by then, so that retry (``retried``) is
    a ``duplicate`` which queues the event again, under the same id. SES reporting an event twice
    comes as a new SQS message, a ``duplicate`` not ``retried``: no second event."""
    state = (outcome.state if retried else None) if outcome.result == "duplicate" else outcome.result
    if state in _FROM_STATES and outcome.company_id and outcome.communication_id:
        from chalicelib.messaging.webhooks.service import announce_message

        announce_message(outcome.company_id, f"message.{state}", outcome.communication_id)


def handle_sqs_body(body: str, sqs_message_id: str | None = None) -> Outcome:
    """One SQS record's body: SES's JSON (raw message delivery) or SNS's envelope around it."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return handle_sns_message(body, sqs_message_id)
    if (
        isinstance(data, dict)
        and data.get("Type") == "Notification"
        and isinstance(data.get("Message"), str)
        and "TopicArn" in data
    ):
        return handle_sns_message(data["Message"], str(data.get("MessageId") or sqs_message_id))
    try:
        note = _notification(data)
    except MalformedNotification as exc:
        return _malformed(body, sqs_message_id, exc)
    return apply_notification(note, sqs_message_id)


def handle_sns_message(text: str, message_id: str | None = None) -> Outcome:
    """Parse and apply one SES notification's text. Never raises for bad input."""
    try:
        note = parse_notification(text)
    except MalformedNotification as exc:
        return _malformed(text, message_id, exc)
    return apply_notification(note, message_id)


def _malformed(text: str, message_id: str | None, exc: Exception) -> Outcome:
    logger().warning(
        "ses event dropped: not an SES notification",
        extra={"message_id": message_id, "reason": str(exc), "payload": payload_shape(text)},
    )
    return Outcome("malformed")


def _tagged_key(note: SesNotification) -> tuple[str, str] | None:
    """The (company, communication) the event's tags name, when it carries both (one each, each a
    value SES allows: anything else is no key of ours, and would only fail the store's call)."""
    companies = note.tags.get(COMPANY_TAG) or ()
    communications = note.tags.get(COMMUNICATION_TAG) or ()
    if len(companies) != 1 or len(communications) != 1:
        return None
    key = (companies[0], communications[0])
    return key if all(value and company_tag_value(value) == value for value in key) else None


def apply_notification(note: SesNotification, message_id: str | None = None) -> Outcome:
    log_keys: dict[str, Any] = {
        "message_id": message_id,
        "ses_message_id": note.message_id,
        "ses_event": note.event_type,
    }
    return _counted(note, _apply_ses_event(note, log_keys))


def _apply_ses_event(note: SesNotification, log_keys: dict[str, Any]) -> Outcome:
    target = _TARGETS.get(note.event_type)
    key = _tagged_key(note)
    if key is None:
        return _apply_to(note, store.by_provider_message_id(note.message_id), target, log_keys)
    company_id, communication_id = key
    log_keys |= {"company_id": company_id, "communication_id": communication_id}
    if target is None:
        logger().debug("ses event recorded in the log only", extra=log_keys)
        return Outcome("ignored", company_id, communication_id)
    addresses = tuple(dict.fromkeys((*note.addressed, *note.destination)))
    if target in _WRITE_ONLY and len(addresses) <= _MAX_IN_OPERANDS:
        moved = store.advance_email_state_by_key(
            company_id,
            communication_id,
            target,
            clock.now(),
            note.detail,
            from_states=_FROM_STATES[target],
            to_addresses=addresses,
        )
        if moved:
            logger().debug("ses event applied", extra=log_keys | {"state": target})
            return Outcome(target, company_id, communication_id)
    # A bounce or complaint, or the one write's condition failed: read the item to know why.
    comm = store.get(company_id, communication_id) or store.by_provider_message_id(note.message_id)
    return _apply_to(note, comm, target, log_keys)


def _counted(note: SesNotification, outcome: Outcome) -> Outcome:
    """A hard bounce or a complaint that moved its message counts in its company's own rates on
    Pregón's SES, which may pause its e-mails there (decision 0032); a failure to count is logged,
    never retried (the retry would find the message moved, and count nothing)."""
    hard = outcome.result == "bounced" and note.bounce_type == "Permanent"
    if outcome.company_id is None or not (hard or outcome.result == "complained"):
        return outcome
    from chalicelib.messaging.accounts.email_reputation import count_feedback

    try:
        count_feedback(outcome.company_id, hard_bounces=int(hard), complaints=int(not hard))
    except Exception:
        logger().exception("bounce or complaint not counted in the company's rates",
                           extra={"company_id": outcome.company_id})  # fmt: skip
    return outcome


def _apply_to(
    note: SesNotification, comm: Communication | None, target: str | None, log_keys: dict[str, Any]
) -> Outcome:
    if comm is None or comm.channel != "email" or comm.direction != "out":
        logger().debug("ses event for an unknown message ignored", extra=log_keys)
        return Outcome("unknown")
    log_keys = log_keys | {"company_id": comm.company_id, "communication_id": comm.communication_id}
    reason = _foreign(note, comm)
    if reason is not None:
        logger().warning(
            "ses event does not match the message it names; ignored", extra=log_keys | {"reason": reason}
        )
        return Outcome("foreign", comm.company_id, comm.communication_id)
    if target is None:
        logger().debug("ses event recorded in the log only", extra=log_keys)
        return Outcome("ignored", comm.company_id, comm.communication_id)
    if comm.state == target and (note.detail is None or comm.error == note.detail):
        logger().debug("ses event already applied", extra=log_keys)
        return Outcome("duplicate", comm.company_id, comm.communication_id, state=target)
    if comm.state not in _FROM_STATES[target] and comm.state != target:
        logger().debug(
            "ses event does not change the message's state", extra=log_keys | {"state": comm.state}
        )
        return Outcome("ignored", comm.company_id, comm.communication_id)
    now = clock.now()
    suppressed = _suppress_if_needed(note, comm, now)
    updated = store.advance_delivery_state(comm, target, now, note.detail, from_states=_FROM_STATES[target])
    if updated is None:
        logger().debug("ses event already applied", extra=log_keys)
        return Outcome("duplicate", comm.company_id, comm.communication_id, suppressed, state=target)
    # A bounce or complaint at INFO: the operator on call finds the companies behind SES's rates by
    # these lines (docs/operations.md, "Bounces or complaints are high"); never the address.
    told = logger().info if target in ("bounced", "complained") else logger().debug
    told("ses event applied", extra=log_keys | {"state": target, "suppressed": suppressed is not None})
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


def apply_delivery_report(
    comm: Communication, address: str, status: str, diagnostic: str | None, reference: str
) -> Outcome:
    """A delivery status notification received by e-mail (``records.automatic_mail``) saying our
    message ``comm`` could not be delivered to ``address``, applied as SES's Bounce event is: the
    message is bounced, and a permanent status (5.x.x, or a 5xx reply when it gives no status)
    puts the address on the suppression list; its webhook event is queued. ``reference`` names
    the report in the log (the received message's SES id)."""
    permanent = status.startswith("5") or (not status and bool(re.search(r"\b5\d\d\b", diagnostic or "")))
    kind = "Permanent" if permanent else "Transient"
    said = " ".join(part for part in (status, diagnostic) if part) or "no diagnostic given"
    note = SesNotification(
        event_type="Bounce",
        message_id=reference,
        destination=(address,),
        addressed=(address,),
        recipients=(address,),
        bounce_type=kind,
        detail=tenant_safe(f"bounce {kind}/delivery report: {said}", limit=1000),
    )
    log_keys: dict[str, Any] = {"ses_message_id": reference, "ses_event": "delivery report"}
    outcome = _apply_to(note, comm, "bounced", log_keys)
    # A duplicate may be the retry of an invocation whose queueing failed: queued again, under the
    # same event id (a receiver told twice sees one event).
    _announce(outcome, retried=True)
    return outcome
