"""What the outboxes need besides the messages themselves: rate-limit windows, wake-ups,
the suppression list and send jobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.store import records
from chalicelib.store.communications import stamp
from chalicelib.store.models import MessageKeyModel, OutboxModel, SendJobModel, SuppressionModel
from chalicelib.store.tables import LOST_RACE, bind, connection

_WAKE_SHARD = "wake"


def _conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


# --- rate-limit windows ------------------------------------------------------------------------


def reserve_in_window(
    company_id: str, outbox: str, window_start: datetime, window_end: datetime, wanted: int, limit: int
) -> int:
    """Count up to ``wanted`` messages into a window that holds ``limit``; returns how many fit.

    The counter moves only by conditional updates, so concurrent drains never overshoot."""
    bind()
    key = f"{outbox}#window#{stamp(window_start)}"
    expires = window_end + timedelta(days=2)
    while True:
        try:
            current = int(OutboxModel.get(company_id, key, consistent_read=True).window_count or 0)
        except DoesNotExist:
            current = 0
        grant = min(wanted, limit - current)
        if grant <= 0:
            return 0
        condition = (
            OutboxModel.window_count == current if current else OutboxModel.outbox_key.does_not_exist()
        )
        try:
            OutboxModel(company_id, key).update(
                actions=[OutboxModel.window_count.add(grant), OutboxModel.expires.set(expires)],
                condition=condition,
            )
            return grant
        except UpdateError as exc:
            if not _conditional(exc):
                raise  # another drain counted meanwhile: read again


def release_in_window(company_id: str, outbox: str, window_start: datetime, unused: int) -> None:
    """Give back reserved room a drain did not use (it lost the claim race for some messages)."""
    if unused <= 0:
        return
    bind()
    key = f"{outbox}#window#{stamp(window_start)}"
    OutboxModel(company_id, key).update(actions=[OutboxModel.window_count.add(-unused)])


# --- wake-ups ------------------------------------------------------------------------------------


def wake_later(company_id: str, outbox: str, at: datetime) -> None:
    """Ask for the outbox to be drained again at ``at`` (an earlier request wins)."""
    bind()
    when = stamp(at)
    try:
        OutboxModel(company_id, outbox).update(
            actions=[OutboxModel.wake_shard.set(_WAKE_SHARD), OutboxModel.wake_at.set(when)],
            condition=OutboxModel.wake_at.does_not_exist() | (OutboxModel.wake_at > when),
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise


def due_wakeups(now: datetime, limit: int = 500) -> Iterator[tuple[str, str, str]]:
    """(company, outbox, wake_at) of outboxes whose wake-up time has come (a sparse index)."""
    bind()
    for item in OutboxModel.wakeups.query(_WAKE_SHARD, OutboxModel.wake_at <= stamp(now), limit=limit):
        yield item.company_id, item.outbox_key, str(item.wake_at)


def take_wakeup(company_id: str, outbox: str, wake_at: str) -> bool:
    """Clear a due wake-up; only one caller gets True for it."""
    bind()
    try:
        OutboxModel(company_id, outbox).update(
            actions=[OutboxModel.wake_shard.remove(), OutboxModel.wake_at.remove()],
            condition=OutboxModel.wake_at == wake_at,
        )
    except UpdateError as exc:
        if _conditional(exc):
            return False
        raise
    return True


# --- suppressions ----------------------------------------------------------------------------------


def _suppression(item: SuppressionModel) -> records.Suppression:
    return records.Suppression(
        company_id=item.company_id,
        address=item.address,
        reason=item.reason,
        created_at=item.created_at,
        detail=item.detail,
        communication_id=item.communication_id,
    )


def suppress(entry: records.Suppression) -> bool:
    """Put an address on the company's suppression list; False when it was already there."""
    bind()
    try:
        SuppressionModel(
            entry.company_id,
            entry.address,
            reason=entry.reason,
            detail=entry.detail,
            communication_id=entry.communication_id,
            created_at=entry.created_at,
        ).save(condition=SuppressionModel.address.does_not_exist())
    except PutError as exc:
        if _conditional(exc):
            return False
        raise
    return True


def suppressed_among(company_id: str, addresses: Iterable[str]) -> dict[str, records.Suppression]:
    bind()
    keys = [(company_id, a) for a in dict.fromkeys(addresses)]
    return {item.address: _suppression(item) for item in SuppressionModel.batch_get(keys)}


def list_suppressions(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[records.Suppression], dict[str, Any] | None]:
    bind()
    result = SuppressionModel.query(company_id, limit=limit, last_evaluated_key=cursor)
    return [_suppression(i) for i in result], result.last_evaluated_key


def lift_suppression(company_id: str, address: str) -> bool:
    bind()
    try:
        SuppressionModel(company_id, address).delete(condition=SuppressionModel.address.exists())
    except Exception as exc:
        if _conditional(exc):
            return False
        raise
    return True


# --- send jobs -------------------------------------------------------------------------------------


def _job(item: SendJobModel) -> records.SendJob:
    return records.SendJob(
        company_id=item.company_id,
        job_id=item.job_id,
        channel=item.channel,
        template_key=item.template_key,
        state=item.state,
        total=int(item.total or 0),
        queued=int(item.queued or 0),
        sent=int(item.sent or 0),
        failed=int(item.failed or 0),
        skipped=int(item.skipped or 0),
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        selection=item.selection,
        pages_done=len(item.pages_done or ()),
        pages_total=int(item.pages_total) if item.pages_total is not None else None,
    )


def _job_item(job: records.SendJob) -> SendJobModel:
    return SendJobModel(
        job.company_id,
        job.job_id,
        channel=job.channel,
        template_key=job.template_key,
        state=job.state,
        total=job.total,
        queued=job.queued,
        sent=job.sent,
        failed=job.failed,
        skipped=job.skipped,
        created_by=job.created_by,
        created_at=job.created_at,
        updated_at=job.updated_at,
        selection=job.selection,
        pages_total=job.pages_total,
    )


def create_job(job: records.SendJob) -> None:
    bind()
    _job_item(job).save(condition=SendJobModel.job_id.does_not_exist())


def get_job(company_id: str, job_id: str) -> records.SendJob | None:
    bind()
    try:
        return _job(SendJobModel.get(company_id, job_id, consistent_read=True))
    except DoesNotExist:
        return None


def count_job(
    company_id: str,
    job_id: str,
    now: datetime,
    *,
    total: int = 0,
    queued: int = 0,
    sent: int = 0,
    failed: int = 0,
    skipped: int = 0,
    state: str | None = None,
) -> None:
    """Move a job's counters (one update for a whole batch of outcomes)."""
    bind()
    actions: list[Any] = [SendJobModel.updated_at.set(now)]
    for attribute, value in (
        (SendJobModel.total, total),
        (SendJobModel.queued, queued),
        (SendJobModel.sent, sent),
        (SendJobModel.failed, failed),
        (SendJobModel.skipped, skipped),
    ):
        if value:
            actions.append(attribute.add(value))
    if state:
        actions.append(SendJobModel.state.set(state))
    SendJobModel(company_id, job_id).update(actions=actions)


def list_jobs(
    company_id: str, limit: int, cursor: dict[str, Any] | None, *, created_by: str | None = None
) -> tuple[list[records.SendJob], dict[str, Any] | None]:
    """The company's send jobs, newest first; with ``created_by``, only that user's."""
    bind()
    result = SendJobModel.query(
        company_id,
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=cursor,
        filter_condition=(SendJobModel.created_by == created_by) if created_by else None,
    )
    return [_job(i) for i in result], result.last_evaluated_key


def create_job_once(job: records.SendJob, request_key: str | None) -> tuple[records.SendJob, bool]:
    """Create a job, once per ``request_key`` (the caller's request id): a retried request gets
    the job the first one created. Returns (job, created)."""
    if request_key is None:
        create_job(job)
        return job, True
    bind()
    key = f"{job.company_id}#{request_key}"
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(
                MessageKeyModel(key, communication_id=job.job_id, created_at=job.created_at),
                condition=MessageKeyModel.key.does_not_exist(),
            )
            tx.save(_job_item(job), condition=SendJobModel.job_id.does_not_exist())
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if not any(r is not None and r.code in LOST_RACE for r in reasons):
            raise
        existing_id = str(MessageKeyModel.get(key, consistent_read=True).communication_id)
        existing = get_job(job.company_id, existing_id)
        if existing is None:  # the key exists but its job does not: cannot happen (one transaction)
            raise
        return existing, False
    return job, True


def count_job_page(
    company_id: str,
    job_id: str,
    page: int,
    now: datetime,
    *,
    total: int,
    failed: int,
    skipped: int,
    last_page: bool,
) -> records.SendJob | None:
    """Count one expanded page of recipients into its job, once: a page handled again (SQS
    delivers at least once) changes nothing and returns None. When every page is counted the job
    moves from ``expanding`` to ``sending``. Returns the job as updated."""
    bind()
    actions: list[Any] = [
        SendJobModel.updated_at.set(now),
        SendJobModel.pages_done.add({page}),
        SendJobModel.total.add(total),
        SendJobModel.failed.add(failed),
        SendJobModel.skipped.add(skipped),
    ]
    if last_page:
        actions.append(SendJobModel.pages_total.set(page + 1))
    item = SendJobModel(company_id, job_id)
    try:
        item.update(
            actions=actions,
            condition=SendJobModel.job_id.exists()
            & (SendJobModel.pages_done.does_not_exist() | ~SendJobModel.pages_done.contains(page)),
        )
    except UpdateError as exc:
        if _conditional(exc):
            return None
        raise
    job = _job(item)
    if job.state == "expanding" and job.pages_total is not None and job.pages_done >= job.pages_total:
        SendJobModel(company_id, job_id).update(actions=[SendJobModel.state.set("sending")])
        job = replace(job, state="sending")
    return job
