"""Staff mailbox syncs (H3): each SQS message on ``pregon-mailbox-syncs`` is one mailbox's sync,
so a slow or broken mailbox holds up no other; a schedule queues the syncs that are due."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Rate

from chalicelib.records.mailboxes import MAILBOX_SYNCS_QUEUE

mailbox_events = Blueprint(__name__)


@mailbox_events.on_sqs_message(queue=MAILBOX_SYNCS_QUEUE, batch_size=1, name="sync_mailbox")
def sync_mailbox(event: Any) -> dict[str, Any]:
    """Sync the mailbox each message names (``{"company_id", "mailbox_id"}``)."""
    from chalicelib.records.mailboxes.sync import sync_mailbox as sync

    totals: dict[str, Any] = {"mailboxes": 0, "logged": 0, "errors": []}
    for record in event:
        request = json.loads(record.body)
        report = sync(str(request["company_id"]), str(request["mailbox_id"]))
        totals["mailboxes"] += 1 if report.ran else 0
        totals["logged"] += report.logged
        if report.error:
            totals["errors"].append(report.error)
    return totals


@mailbox_events.schedule(Rate(5, unit=Rate.MINUTES), name="sync_due_mailboxes")
def sync_due_mailboxes(event: Any) -> dict[str, Any]:
    """Every 5 minutes: queue the sync of each mailbox whose turn has come (every 15 minutes)."""
    from chalicelib.records.mailboxes.sync import request_due_syncs

    return {"queued": request_due_syncs()}
