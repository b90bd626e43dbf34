"""SMS awaiting the phone's delivery report (``messaging.delivery_reports``, decision 0023).

One small item per SMS the Android gateway took, in the ``outboxes`` table under
``smsreport#<communication id>``, due in that table's sparse ``wakeups`` index under its own shard
(``sms-report``), as the outboxes' wake-ups and the hand-off records are: the minute check reads
only what is due, never a table. It is written in the transaction that records the SMS sent
(:class:`ReportsAwaited`). The item holds the gateway's message id, when the SMS was sent, how many
times the phone was asked and how many of those checks failed in our own code; it goes when the
SMS's final state is known and told, or the check gives up, and expires on its own (TTL) a day after
that at the latest. The SMS's final state is written in one transaction with the item, which then
holds the state (``moved``) until its webhook event is told: the event is never lost, however long
the webhook queue refuses it (its expiry moves with each try).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pynamodb.transactions import TransactWrite

from chalicelib.core.domain import Communication
from chalicelib.store.communications import parse_stamp, stamp
from chalicelib.store.models import OutboxModel
from chalicelib.store.tables import Check, written

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
    # The state the SMS was moved to (delivered | failed) whose ``message.*`` event is not told
    # yet: written with the move, in its transaction; the item goes once the event is queued.
    moved: str | None = None


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


def _work(report: AwaitedReport, **changes: Any) -> dict[str, Any]:
    work = {
        "id": report.provider_message_id,
        "sent_at": stamp(report.sent_at),
        "checks": report.checks,
        "failures": report.failures,
        "moved": report.moved,
    } | changes
    return {k: v for k, v in work.items() if v is not None}


def ask_again_at(report: AwaitedReport, at: datetime, *, failed: bool = False) -> bool:
    """The phone had no final word, or the event of a state moved was not told: ask again at
    ``at``, one check more (``failed``: one that failed in our own code, counted apart); an item
    whose event is still to tell is kept (TTL) a day past ``at``. False when the item is no
    longer the one read (another run handled it, or it is gone)."""
    work = _work(report, checks=report.checks + 1, failures=report.failures + failed)
    actions: list[Any] = [OutboxModel.wake_at.set(stamp(at)), OutboxModel.work.set(json.dumps(work))]
    if report.moved:
        actions.append(OutboxModel.expires.set(at + _KEPT))
    return written(
        lambda: OutboxModel(report.company_id, _PREFIX + report.communication_id).update(
            actions=actions, condition=OutboxModel.wake_at == report.due
        )
    )


def moved_to(report: AwaitedReport, state: str, due: datetime) -> tuple[AwaitedReport, Check]:
    """The item once the SMS's final ``state`` is written: noting the event still to tell, due
    again at ``due`` (should the run stop before telling it), kept a day past that; and the update
    that writes it, conditioned on the item still being the one read, for the transaction that
    moves the SMS (``store.communications.advance_sms_state_by_key``'s ``also``)."""
    moved = replace(report, moved=state, due=stamp(due))
    work = _work(moved)

    def write(tx: TransactWrite) -> None:
        tx.update(
            OutboxModel(report.company_id, _PREFIX + report.communication_id),
            actions=[
                OutboxModel.work.set(json.dumps(work)),
                OutboxModel.wake_at.set(moved.due),
                OutboxModel.expires.set(due + _KEPT),
            ],
            condition=OutboxModel.wake_at == report.due,
        )

    return moved, write


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
        moved=work.get("moved") or None,
    )
