"""The outbox workers, run the way AWS runs them: the deployed SQS handlers, in this thread."""

from __future__ import annotations

from typing import Any


def deliver_outboxes() -> dict[str, int]:
    """What the outbox workers (``on_sqs_message``) do on AWS: handle every queued SQS message
    with the deployed handler, in this thread, until the queue is empty. Returns the totals."""
    from app import app
    from infrastructure.local.queues import run_queues_until_empty

    totals = {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}
    for answer in run_queues_until_empty(app):
        for name in totals:
            totals[name] += int((answer or {}).get(name, 0))
    return totals


def queue_email(tenant: Any, **fields: Any) -> Any:
    """Queue one e-mail through the real outbox (to ana@example.com from the tracking area unless
    ``fields`` say otherwise); returns the communication written."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    message = {"channel": "email", "to_address": "ana@example.com", "subject": "Hola", "text": "Texto"}
    [comm] = enqueue(tenant.company_id, [OutgoingMessage(**({"area": "tracking"} | message | fields))])
    return comm
