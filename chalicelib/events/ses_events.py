"""SES's delivery events (Q5, H1): the configuration set every SES send names publishes them to
the SNS topic ``pregon-ses-events``, which delivers them (raw) to the SQS queue this function
reads ten at a time (issue 14: one invocation, one log line and one set of metrics per batch
instead of per event). Each one moves the communication it names to delivered, bounced,
complained or failed, and hard bounces and complaints put the address on the suppression list.
Only the records that failed for our own reasons are tried again (a partial batch response:
``ses_events`` is in ``chalicelib.events.REPORTS_BATCH_ITEM_FAILURES``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

ses_events = Blueprint(__name__)

SES_EVENTS_TOPIC = "pregon-ses-events"
SES_EVENTS_QUEUE = "pregon-ses-feedback"
# The event types the configuration set publishes (SES's names for its event destination).
# Not ``send``: it changes nothing here (the message is recorded sent when SES accepts it), yet
# each one cost an SNS publish and an invocation per e-mail (issue 14).
SES_EVENT_TYPES = ("reject", "bounce", "complaint", "delivery")


@ses_events.on_sqs_message(
    queue=SES_EVENTS_QUEUE, batch_size=10, maximum_batching_window_in_seconds=5, name="ses_events"
)
def on_ses_events(event: Any) -> dict[str, Any]:
    """Apply a batch of SES notifications. Bad payloads are logged and dropped (no retry loop);
    a failure of our own store fails only its record, which SQS delivers again (then to the
    dead-letter queue)."""
    from chalicelib.messaging.feedback import handle_sqs_batch

    return handle_sqs_batch(event.to_dict())
