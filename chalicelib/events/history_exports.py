"""The history export workers (H1): each SQS message asks for one background export's file."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.records.history.export_queue import EXPORTS_DEAD_QUEUE, EXPORTS_QUEUE

history_export_events = Blueprint(__name__)

# As the queue's redrive policy (infrastructure/aws/synth.py, infrastructure/local/queues.py): the
# fifth failed receive moves a message to the dead-letter queue, so that attempt says it failed.
LAST_RECEIVE = 5


@history_export_events.on_sqs_message(queue=EXPORTS_QUEUE, batch_size=1, name="build_history_export")
def build_history_export(event: Any) -> dict[str, int]:
    """Build the export each message names (``{"company_id", "export_id"}``); a failure is raised
    for SQS to deliver the message again (the export is built again from the start), but on its
    last delivery the export fails, saying so."""
    from chalicelib.api.error_language import in_language
    from chalicelib.records.history.exports import build_export

    totals = {"done": 0, "failed": 0, "skipped": 0}
    for record in event:
        request = json.loads(record.body)
        receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount") or 1)
        outcome = build_export(
            str(request["company_id"]),
            str(request["export_id"]),
            in_language,
            last_attempt=receives >= LAST_RECEIVE,
        )
        totals[outcome] = totals.get(outcome, 0) + 1  # "continued": an access report's next run asked for
    return totals


@history_export_events.on_sqs_message(queue=EXPORTS_DEAD_QUEUE, batch_size=10, name="give_up_history_export")
def give_up_history_export(event: Any) -> dict[str, int]:
    """A request SQS gave up on (every delivery failed: the worker timed out or ran out of memory
    each time, so no attempt could say so): its export fails with the reason, rather than show
    ``running`` until it expires."""
    from chalicelib.records.history.exports import give_up_export

    totals = {"failed": 0, "skipped": 0}
    for record in event:
        request = json.loads(record.body)
        failed = give_up_export(str(request["company_id"]), str(request["export_id"]))
        totals["failed" if failed else "skipped"] += 1
    return totals
