"""The webhook worker: each SQS message is one event for one endpoint (docs/webhooks.md)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from chalice import Blueprint

from chalicelib.messaging.webhooks import WEBHOOKS_QUEUE

webhook_events = Blueprint(__name__)


@webhook_events.on_sqs_message(queue=WEBHOOKS_QUEUE, batch_size=1, name="deliver_webhook")
def deliver_webhook(event: Any) -> dict[str, int]:
    """Post the event each message carries (``{"company_id", "endpoint_id", "event", "attempt",
    "first_at"}``, and ``"not_before"`` for a retry) to its endpoint, once; a passing failure is
    queued again by ``deliver`` itself, so the message is done either way."""
    from chalicelib.messaging.webhooks.service import deliver

    done: Counter[str] = Counter()
    for record in event:
        done[deliver(json.loads(record.body))] += 1
    return dict(done)
