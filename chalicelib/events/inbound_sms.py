"""Two-way SMS (I1, I2): AWS End User Messaging publishes every SMS sent to a company's number on
the ``pregon-inbound-sms`` SNS topic; this handler logs it, honours STOP / HELP and answers by the
company's keyword rules through the outbox."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

inbound_sms_events = Blueprint(__name__)

INBOUND_SMS_TOPIC = "pregon-inbound-sms"


@inbound_sms_events.on_sns_message(topic=INBOUND_SMS_TOPIC, name="receive_inbound_sms")
def receive_inbound_sms(event: Any) -> dict[str, Any]:
    """One SNS notification: its message is the two-way SMS payload (JSON); its ``Timestamp``,
    when the SMS was received (the same on every delivery of the notification)."""
    from chalicelib.producers.sms_replies.replies import receive_inbound_sms as receive

    records = (event.to_dict() or {}).get("Records") or [{}]
    sns = records[0].get("Sns") or {}
    sns_message_id, timestamp = sns.get("MessageId"), sns.get("Timestamp")
    fallback_id = f"sns:{sns_message_id}" if sns_message_id else None
    return asdict(
        receive(
            event.message,
            fallback_id=fallback_id,
            timestamp=timestamp if isinstance(timestamp, str) else None,
        )
    )
