"""SES's delivery events arrive over SNS (Q5, H1): the configuration set every SES send names
publishes them to this topic; each one moves the communication it names to delivered, bounced,
complained or failed, and hard bounces and complaints put the address on the suppression list."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

ses_events = Blueprint(__name__)

SES_EVENTS_TOPIC = "pregon-ses-events"
# The event types the configuration set publishes (SES's names for its event destination).
# Not ``send``: it changes nothing here (the message is recorded sent when SES accepts it), yet
# each one cost an SNS publish and an invocation per e-mail (issue 14).
SES_EVENT_TYPES = ("reject", "bounce", "complaint", "delivery")


@ses_events.on_sns_message(topic=SES_EVENTS_TOPIC, name="ses_events")
def on_ses_event(event: Any) -> dict[str, Any]:
    """Apply one SES notification. Bad payloads are logged and dropped (no retry loop); a
    failure of our own store raises, so Lambda tries the notification again."""
    from chalicelib.messaging.feedback import handle_sns_message

    records = event.to_dict().get("Records") or [{}]
    sns_message_id = (records[0].get("Sns") or {}).get("MessageId")
    return handle_sns_message(event.message, sns_message_id).as_dict()
