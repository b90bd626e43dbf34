"""The outbox workers: SQS messages ask for an outbox to be drained (Q3); a minute schedule
wakes outboxes whose rate-limit window or retry time has come."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, Rate

outbox_events = Blueprint(__name__)

T = TypeVar("T")

OUTBOX_QUEUE = "pregon-outbox"


@outbox_events.on_sqs_message(queue=OUTBOX_QUEUE, batch_size=1, name="deliver_outbox")
def deliver_outbox(event: Any) -> dict[str, Any]:
    """Send the messages a producer handed over (``{"company_id", "outbox", "ids", "lease_until",
    "token"}``, and ``"recorded": true`` when the producer wrote the hand-off down; or several
    recorded hand-offs of one outbox and lease, ``"handoffs": [{"token", "ids"}, ...]``; either
    with the ``"addresses"`` of its messages), or
    drain the outbox a message names (``{"company_id", "outbox"}``)."""
    from datetime import datetime

    from chalicelib.messaging.delivery import deliver_hand_offs, deliver_handed_off, drain_outbox

    totals = {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}
    for record in event:
        request = json.loads(record.body)
        company_id, outbox = str(request["company_id"]), str(request["outbox"])
        if "handoffs" in request:  # several records of one producer, one stream (GatheredHandOffs)
            report = deliver_hand_offs(
                company_id,
                outbox,
                [(str(h["token"]), [str(i) for i in h["ids"]]) for h in request["handoffs"]],
                datetime.fromisoformat(str(request["lease_until"])),
                recorded=bool(request.get("recorded")),
                addresses=_named_addresses(request),
            )
        elif "ids" in request:
            report = deliver_handed_off(
                company_id,
                outbox,
                [str(i) for i in request["ids"]],
                datetime.fromisoformat(str(request["lease_until"])),
                str(request["token"]),
                recorded=bool(request.get("recorded")),
                addresses=_named_addresses(request),
            )
        else:
            report = drain_outbox(company_id, outbox)
        for name in totals:
            totals[name] += getattr(report, name)
    return totals


def _named_addresses(request: dict[str, Any]) -> list[str] | None:
    """The suppression keys a hand-off's body names (None in a body written before they were)."""
    named = request.get("addresses")
    return [str(a) for a in named] if isinstance(named, list) else None


@outbox_events.schedule(Rate(1, unit=Rate.MINUTES), name="wake_outboxes")
def wake_outboxes(event: Any) -> dict[str, Any]:
    """Every minute: drain the outboxes that have work due (a new message whose kick was lost, a
    dead worker's lease, a retry, room under a rate limit: C2, Q3), ask again for send-job
    pages whose SQS message was lost, resume preferred-agent changes that stalled (N4), and go on
    with client erasures (docs/privacy.md). Each
    part runs even when one before it failed; the failure is raised at the end (the function's
    error alarm, and EventBridge's retry of the whole minute, which every part takes twice
    without doing anything twice)."""
    from chalicelib.core.observability import logger
    from chalicelib.messaging.delivery import DrainReport, wake_due_outboxes
    from chalicelib.producers.sends.manual import resume_overdue_pages
    from chalicelib.records.erasure import resume_due_erasures
    from chalicelib.tenants.staff_agents import resume_stalled_changes

    failures: list[Exception] = []

    def part(name: str, run: Callable[[], T], nothing: T) -> T:
        try:
            return run()
        except Exception as exc:
            logger().exception("minute schedule: a part failed", extra={"part": name})
            failures.append(exc)
            return nothing

    pages = part("send-job pages", resume_overdue_pages, 0)
    changes = part("preferred-agent changes", resume_stalled_changes, 0)
    no_reports: list[DrainReport] = []
    reports = part("outboxes", wake_due_outboxes, no_reports)
    erasures = part("client erasures", resume_due_erasures, 0)  # after the mail, which waits for none
    if failures:
        raise failures[0]
    return {
        "outboxes": len(reports),
        "sent": sum(r.sent for r in reports),
        "pages": pages,
        "agent_changes": changes,
        "erasures": erasures,
    }
