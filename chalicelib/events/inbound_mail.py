"""Inbound e-mail (I3): SES stores a received message in S3 and publishes its "Received"
notification to an SNS topic; this handler logs the message (``chalicelib.records.inbound_mail``).

(An S3 event source cannot be packaged by ``chalice package``; SNS can.) Broken mail never makes
the handler fail: it is logged with what could be read and an error naming the S3 key. Only a
transient failure (S3 or DynamoDB unreachable) raises, so that Lambda retries the invocation;
logging is idempotent per SES message id, so a retry or a repeated notification writes nothing new.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

inbound_mail_events = Blueprint(__name__)

INBOUND_MAIL_TOPIC = "pregon-inbound-mail"


@inbound_mail_events.on_sns_message(topic=INBOUND_MAIL_TOPIC, name="receive_inbound_mail")
def receive_inbound_mail(event: Any) -> dict[str, Any]:
    """Log the received e-mail an SES notification announces."""
    from chalicelib.core.observability import logger
    from chalicelib.records.inbound_mail import receive_notification

    try:
        notification = json.loads(event.message)
        if not isinstance(notification, dict):
            raise ValueError("the SNS message is not a JSON object")
        outcomes = receive_notification(notification)
    except ValueError as exc:  # not an SES receipt we can act on: dropping it is all we can do
        logger().error("inbound mail notification ignored", extra={"reason": str(exc)})
        return {"logged": 0, "duplicates": 0, "ignored": str(exc)}
    return {
        "logged": sum(1 for o in outcomes if o.created),
        "duplicates": sum(1 for o in outcomes if not o.created and not o.held),
        "held": sum(1 for o in outcomes if o.held),
        "communications": [o.communication_id for o in outcomes],
        "errors": [o.error for o in outcomes if o.error],
    }
