"""The outbox workers, run the way AWS runs them: the deployed SQS handlers, in this thread."""

from __future__ import annotations


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
