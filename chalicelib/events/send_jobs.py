"""The send-job workers (C8, Q3): each SQS message is one page of a job's recipients."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.producers.sends import SEND_JOBS_QUEUE

send_job_events = Blueprint(__name__)


@send_job_events.on_sqs_message(queue=SEND_JOBS_QUEUE, batch_size=1, name="expand_send_job")
def expand_send_job(event: Any) -> dict[str, Any]:
    """Expand the page each message names (``{"company_id", "job_id", "page", "client_ids" |
    "cursor"}``, and ``"kind": "statements"`` for bulk statements, whose rest parts also carry
    ``"after"``, ``"carried"`` and ``"until"`` or ``"last_page"``) into the outbox."""
    from chalicelib.producers.documents.bulk import KIND as STATEMENTS
    from chalicelib.producers.documents.bulk import expand_statement_page
    from chalicelib.producers.sends.manual import expand_page

    totals = {"pages": 0, "messages": 0, "skipped": 0}
    for record in event:
        request = json.loads(record.body)
        if request.get("kind") == STATEMENTS:  # a page of bulk statements (D2)
            page = expand_statement_page(
                str(request["company_id"]),
                str(request["job_id"]),
                int(request["page"]),
                request.get("cursor"),
                after=request.get("after"),
                carried=request.get("carried"),
                until=request.get("until"),
                last_page=bool(request.get("last_page")),
            )
            totals["pages"] += 1
            totals["messages"] += page.messages
            totals["skipped"] += sum(page.skip_reasons.values())
            continue
        report = expand_page(
            str(request["company_id"]),
            str(request["job_id"]),
            int(request["page"]),
            client_ids=request.get("client_ids"),
            cursor=request.get("cursor"),
        )
        totals["pages"] += 1
        totals["messages"] += report.messages
        totals["skipped"] += report.skipped
    return totals
