"""The preferred-agent change workers (N4): each SQS message is one page of a change's clients."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint

from chalicelib.tenants.staff_jobs import AGENT_CHANGES_QUEUE

agent_change_events = Blueprint(__name__)


@agent_change_events.on_sqs_message(queue=AGENT_CHANGES_QUEUE, batch_size=1, name="move_agent_clients")
def move_agent_clients(event: Any) -> dict[str, int]:
    """Move the clients each message names (``{"company_id", "change_id", "page", "client_ids"}``)."""
    from chalicelib.tenants.staff_agents import move_page

    totals = {"pages": 0, "moved": 0, "skipped": 0}
    for record in event:
        request = json.loads(record.body)
        outcome = move_page(
            str(request["company_id"]),
            str(request["change_id"]),
            int(request["page"]),
            [str(c) for c in request["client_ids"]],
        )
        totals["pages"] += 1
        totals["moved"] += outcome["moved"]
        totals["skipped"] += outcome["skipped"]
    return totals
