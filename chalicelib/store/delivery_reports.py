"""SMS awaiting the phone's delivery report (``messaging.delivery_reports``, decision 0023).

One small item per SMS the Android gateway took, in the ``outboxes`` table under
``smsreport#<communication id>``, due in that table's sparse ``wakeups`` index under its own shard
(``sms-report``), as the outboxes' wake-ups and the hand-off records are: the minute check reads
only what is due, never a table. It is written in the transaction that records the SMS sent
(:class:`ReportsAwaited`). The item holds the gateway's message id, when the SMS was sent, how many
times the phone was asked and how many of those checks failed in our own code; it goes when the
SMS's final state is known or the check gives up, and expires on its own (TTL) a day after that at
the latest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.core.domain import Communication
from chalicelib.store.communications import parse_stamp, stamp
from chalicelib.store.models import OutboxModel
from chalicelib.store.tables import written

_SHARD = "sms-report"
_PREFIX = "smsreport#"
_KEPT = timedelta(days=1)  # the TTL's margin past the last time the check may read it


@dataclass(frozen=True)
class AwaitedReport:
    company_id: str
    communication_id: str
    provider_message_id: str
    sent_at: datetime
    checks: int  # how many times the phone was asked so far
    due: str  # the wake-up as read: what a change of the item is conditioned on
    failures: int = 0  # checks that failed in our own code (the store, the webhook queue)


@dataclass(frozen=True)
class ReportsAwaited:
    """The SMS an outcome write records ``sent`` through a gateway that reports: each gets its
    report item in the same transaction as its outcome (``store.communications.record_outcomes``),
    due at ``first_at`` and kept (TTL) a day past ``until``. One update each, never a request more."""

    first_at: datetime
    until: datetime

    def awaits(self, comm: Communication) -> bool:
        """Whether ``comm`` is such an SMS (sent, with the gateway's id for it)."""
        return (
            comm.channel == "sms"
            and comm.state == "sent"
            and comm.sent_at is not None
            and bool(comm.provider_message_id)
        )

    def add(self, tx: TransactWrite, comm: Communication) -> None:
        """The report item of ``comm`` (one of :meth:`awaits`), written by ``tx``: an unconditional
        update, so it commits exactly when the outcome beside it does."""
        assert comm.sent_at is not None
        work = {"id": str(comm.provider_message_id), "sent_at": stamp(comm.sent_at), "checks": 0}
        tx.update(
            OutboxModel(comm.company_id, _PREFIX + comm.communication_id),
            actions=_item_actions(work, self.first_at, self.until),
        )


def _item_actions(work: dict[str, Any], due: datetime, until: datetime) -> list[Any]:
    return [
        OutboxModel.work.set(json.dumps(work)),
        OutboxModel.wake_shard.set(_SHARD),
        OutboxModel.wake_at.set(stamp(due)),
        OutboxModel.expires.set(until + _KEPT),
    ]


def due_reports(
    now: datetime, limit: int, per_company: int | None = None, read_at_most: int | None = None
) -> list[AwaitedReport]:
    """The SMS whose report is due by ``now``, earliest first (a Query of the sparse index), at most
    ``limit``, and at most ``per_company`` of one company: past that, a company's SMS are read
    over (up to ``read_at_most`` items in all), so one company's backlog never hides the others'."""
    due = OutboxModel.wakeups.query(
        _SHARD, OutboxModel.wake_at <= stamp(now), limit=read_at_most or limit, page_size=min(limit, 500)
    )
    found: list[AwaitedReport] = []
    counted: dict[str, int] = {}
    for item in due:
        company = str(item.company_id)
        if per_company is not None and counted.get(company, 0) >= per_company:
            continue
        counted[company] = counted.get(company, 0) + 1
        found.append(_report(item))
        if len(found) >= limit:
            break
    return found


def ask_again_at(report: AwaitedReport, at: datetime, *, failed: bool = False) -> bool:
    """The phone had no final word: ask again at ``at``, one check more (``failed``: one that
    failed in our own code, counted apart). False when the item is no longer the one read
    (another run handled it, or it is gone)."""
    work = {
        "id": report.provider_message_id,
        "sent_at": stamp(report.sent_at),
        "checks": report.checks + 1,
        "failures": report.failures + failed,
    }
    return written(
        lambda: OutboxModel(report.company_id, _PREFIX + report.communication_id).update(
            actions=[OutboxModel.wake_at.set(stamp(at)), OutboxModel.work.set(json.dumps(work))],
            condition=OutboxModel.wake_at == report.due,
        )
    )


def forget(report: AwaitedReport) -> None:
    """The SMS's report is in, or no longer awaited: nothing asks the phone for it again."""
    OutboxModel(report.company_id, _PREFIX + report.communication_id).delete()


def awaiting(company_id: str, communication_id: str) -> bool:
    """Whether the SMS's report is still awaited (for tests and the operator's questions)."""
    try:
        OutboxModel.get(company_id, _PREFIX + communication_id, consistent_read=True)
    except OutboxModel.DoesNotExist:
        return False
    return True


def _report(item: OutboxModel) -> AwaitedReport:
    work = json.loads(item.work or "{}")
    return AwaitedReport(
        company_id=item.company_id,
        communication_id=item.outbox_key.removeprefix(_PREFIX),
        provider_message_id=str(work["id"]),
        sent_at=parse_stamp(str(work["sent_at"])),
        checks=int(work.get("checks") or 0),
        due=str(item.wake_at),
        failures=int(work.get("failures") or 0),
    )
