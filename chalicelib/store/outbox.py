"""What the outboxes need besides the messages themselves: rate-limit windows, wake-ups,
the suppression list and send jobs."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store.communications import count_outcomes, parse_stamp, stamp
from chalicelib.store.fields import checked_cursor, filtered_read, item_from, page_of, record_from
from chalicelib.store.models import MessageKeyModel, OutboxModel, SendJobModel, SuppressionModel
from chalicelib.store.tables import LOST_RACE, connection, transacted, written

_WAKE_SHARD = "wake"


# --- rate limits over any window -----------------------------------------------------------------
#
# "At most N messages per H hours" holds over ANY window of H hours, not per clock window: one
# item per account outbox (``<outbox>#rate``) keeps how many messages were granted in each
# minute of the last H hours. A grant is booked at the start of the minute after the next
# one (60 to 120 s after it was made), so the time a batch takes to go out is covered too: the
# limit errs on the safe side by at most two minutes. Grants move only by a write conditioned on
# the version read, so concurrent drains never overshoot.

_GRANT_MARGIN = timedelta(minutes=2)


@dataclass(frozen=True)
class RateGrant:
    granted: int
    minute: str | None = None  # where the grant was booked (to give back what went unused)
    room_at: datetime | None = None  # when no room: when some opens again
    limit: int | None = None  # the limit counted against (a stored one's count)
    paused: bool = False  # no room: the item is paused (:func:`pause_rate`) until resumed


def _live_grants(raw: str | None, horizon: datetime) -> dict[str, int]:
    grants = {str(k): int(v) for k, v in json.loads(raw or "{}").items()}
    return {minute: n for minute, n in grants.items() if parse_stamp(minute) > horizon and n > 0}


def _save_grants(company_id: str, key: str, grants: dict[str, int], version: int | None) -> bool:
    # None: no grant was ever saved (the item may exist already, holding the operator's limit)
    condition = (
        OutboxModel.rate_version == version
        if version is not None
        else OutboxModel.rate_version.does_not_exist()
    )
    # False: another drain counted meanwhile; the caller reads again
    return written(
        lambda: OutboxModel(company_id, key).update(
            actions=[
                OutboxModel.rate_grants.set(json.dumps(grants, sort_keys=True)),
                OutboxModel.rate_version.set((version or 0) + 1),
            ],
            condition=condition,
        )
    )


@dataclass(frozen=True)
class RateState:
    """A rate item as read (``<outbox>#rate``): its grants, their version and the count a stored
    limit holds, so a reservation right after the read need not read it again."""

    grants: str | None = None
    version: int | None = None
    limit: int | None = None
    paused_at: str | None = None


def _rate_state(item: OutboxModel | None) -> RateState:
    if item is None:
        return RateState()
    return RateState(
        item.rate_grants,
        None if item.rate_version is None else int(item.rate_version),
        None if item.rate_limit is None else int(item.rate_limit),
        item.paused_at,
    )


# A paused item's drains look again this often (resuming wakes them at once).
PAUSE_RECHECK = timedelta(hours=1)


def _read_rate(company_id: str, key: str) -> RateState:
    try:
        return _rate_state(OutboxModel.get(company_id, key, consistent_read=True))
    except DoesNotExist:
        return RateState()


def reserve_rate(
    company_id: str,
    outbox: str,
    now: datetime,
    hours: int,
    wanted: int,
    limit: int,
    *,
    stored: bool = False,
    known: RateState | None = None,
) -> RateGrant:
    """Count up to ``wanted`` messages against "at most ``limit`` per ``hours`` hours" (``stored``:
    the limit the item keeps, set by :func:`set_rate_limit`, when there is one). ``known``: the
    item as just read (:func:`sender_account_with_rate`): tried first, without reading it again;
    should another drain have written meanwhile, the write's condition fails and it is read."""
    key = f"{outbox}#rate"
    span = timedelta(hours=hours)
    state = known
    while True:
        if state is None:
            state = _read_rate(company_id, key)
        in_force = state.limit if stored and state.limit is not None else limit
        if state.paused_at is not None:  # read with the account or just now: no read more
            return RateGrant(0, room_at=now + PAUSE_RECHECK, limit=in_force, paused=True)
        live = _live_grants(state.grants, now - span)
        used = sum(live.values())
        grant = min(wanted, in_force - used)
        if grant <= 0:
            if known is not None and state is known:
                state = None  # refused on what was read before: read it again to be sure
                continue
            return RateGrant(0, room_at=_room_at(live, used, in_force, span), limit=in_force)
        minute = stamp(now.replace(second=0, microsecond=0) + _GRANT_MARGIN)
        live[minute] = live.get(minute, 0) + grant
        if _save_grants(company_id, key, live, state.version):
            return RateGrant(grant, minute=minute, limit=in_force)
        state = None


def sender_account_with_rate(
    company_id: str, area: str, rate_outbox: str
) -> tuple[domain.SenderAccount | None, RateState]:
    """The area's sender account and the rate item of ``rate_outbox`` (read consistently), in one
    BatchGetItem across both tables: a drain or a hand-off reads its account anyway, and so the
    allowance it then reserves in costs no read of its own (issue 14's requests per e-mail)."""
    from chalicelib.store.companies import sender_of_item
    from chalicelib.store.models import SenderAccountModel

    accounts = SenderAccountModel._get_connection().table_name
    outboxes = OutboxModel._get_connection().table_name
    request: dict[str, Any] = {
        accounts: {"Keys": [{"company_id": {"S": company_id}, "area": {"S": area}}]},
        outboxes: {
            "Keys": [{"company_id": {"S": company_id}, "outbox_key": {"S": f"{rate_outbox}#rate"}}],
            "ConsistentRead": True,
        },
    }
    found: dict[str, list[dict[str, Any]]] = {accounts: [], outboxes: []}
    client: Any = connection().client
    while request:
        answer = client.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found[table] += items
        request = answer.get("UnprocessedKeys") or {}
    account = next((SenderAccountModel.from_raw_data(i) for i in found[accounts]), None)
    rate = next((OutboxModel.from_raw_data(i) for i in found[outboxes]), None)
    return (sender_of_item(account) if account is not None else None), _rate_state(rate)


def set_rate_limit(company_id: str, outbox: str, limit: int | None) -> None:
    """The count a ``stored`` limit holds for the company (None: its default again), on the item
    that counts it; its grants are left as they are."""
    item = OutboxModel(company_id, f"{outbox}#rate")
    item.update(
        actions=[OutboxModel.rate_limit.remove() if limit is None else OutboxModel.rate_limit.set(limit)]
    )


def rate_limit_of(company_id: str, outbox: str) -> int | None:
    """The count :func:`set_rate_limit` set (None: none, the default holds)."""
    try:
        item = OutboxModel.get(company_id, f"{outbox}#rate", consistent_read=True)
    except DoesNotExist:
        return None
    return None if item.rate_limit is None else int(item.rate_limit)


def rate_room_at(
    company_id: str, outbox: str, now: datetime, hours: int, limit: int, *, stored: bool = False
) -> datetime | None:
    """When a full limit has room again (None: it has room now), without counting anything."""
    try:
        item = OutboxModel.get(company_id, f"{outbox}#rate")
    except DoesNotExist:
        return None
    if stored and item.rate_limit is not None:
        limit = int(item.rate_limit)
    span = timedelta(hours=hours)
    live = _live_grants(item.rate_grants, now - span)
    used = sum(live.values())
    return _room_at(live, used, limit, span) if used >= limit else None


def _room_at(live: dict[str, int], used: int, limit: int, span: timedelta) -> datetime:
    """When the oldest grants have left the window enough for one more message."""
    for minute in sorted(live):
        used -= live[minute]
        if used < limit:
            return parse_stamp(minute) + span
    return max(parse_stamp(m) for m in live) + span


# --- a rate item's feedback (decision 0032) -------------------------------------------------------
#
# On the item that counts a company's e-mails through Pregón's SES (its grants: what was sent), the
# feedback of those e-mails: hard bounces and complaints an hour over the same hours, written by
# the SES feedback only (a read and a write per bounce or complaint, nothing per e-mail sent), under
# a version of their own so that drains counting grants never wait on them.


@dataclass(frozen=True)
class Feedback:
    """Over the last hours: the messages granted (sent), hard bounces and complaints; and since
    when the item is paused (None: it is not)."""

    sent: int
    hard_bounces: int
    complaints: int
    paused_at: datetime | None = None


def _live_feedback(raw: str | None, horizon: datetime) -> dict[str, list[int]]:
    counts = {str(k): [int(n) for n in v] for k, v in json.loads(raw or "{}").items()}
    return {hour: n for hour, n in counts.items() if parse_stamp(hour) > horizon}


def _feedback(item: OutboxModel | None, counts: dict[str, list[int]], now: datetime, hours: int) -> Feedback:
    sent = sum(_live_grants(item.rate_grants if item else None, now - timedelta(hours=hours)).values())
    paused = item.paused_at if item is not None else None
    return Feedback(
        sent,
        sum(n[0] for n in counts.values()),
        sum(n[1] for n in counts.values()),
        parse_stamp(paused) if paused else None,
    )


def _get_rate_item(company_id: str, key: str, *, consistent: bool = False) -> OutboxModel | None:
    try:
        return OutboxModel.get(company_id, key, consistent_read=consistent)
    except DoesNotExist:
        return None


def record_feedback(
    company_id: str, outbox: str, now: datetime, hours: int, *, hard_bounces: int = 0, complaints: int = 0
) -> Feedback:
    """Count hard bounces and complaints in the item's hour of ``now``, dropping hours older than
    ``hours``; what the item holds then, its grants of those hours too."""
    key = f"{outbox}#rate"
    span = timedelta(hours=hours)
    hour = stamp(now.replace(minute=0, second=0, microsecond=0))
    while True:
        item = _get_rate_item(company_id, key, consistent=True)
        version = None if item is None or item.feedback_version is None else int(item.feedback_version)
        counts = _live_feedback(item.feedback_counts if item else None, now - span)
        bounced, complained = counts.get(hour, [0, 0])
        counts[hour] = [bounced + hard_bounces, complained + complaints]
        condition = (
            OutboxModel.feedback_version == version
            if version is not None
            else OutboxModel.feedback_version.does_not_exist()
        )
        update: list[Action] = [
            OutboxModel.feedback_counts.set(json.dumps(counts, sort_keys=True)),
            OutboxModel.feedback_version.set((version or 0) + 1),
        ]
        if written(
            functools.partial(OutboxModel(company_id, key).update, actions=update, condition=condition)
        ):
            return _feedback(item, counts, now, hours)


def feedback_of(company_id: str, outbox: str, now: datetime, hours: int) -> Feedback:
    """What :func:`record_feedback` counted over the last ``hours`` (one read)."""
    item = _get_rate_item(company_id, f"{outbox}#rate")
    counts = _live_feedback(item.feedback_counts if item else None, now - timedelta(hours=hours))
    return _feedback(item, counts, now, hours)


def pause_rate(company_id: str, outbox: str, at: datetime) -> bool:
    """No room under the item until :func:`resume_rate`; False when it was paused already."""
    return written(
        lambda: OutboxModel(company_id, f"{outbox}#rate").update(
            actions=[OutboxModel.paused_at.set(stamp(at))], condition=OutboxModel.paused_at.does_not_exist()
        )
    )


def resume_rate(company_id: str, outbox: str) -> bool:
    """Room under the item again, its feedback counted afresh; False when it was not paused."""
    return written(
        lambda: OutboxModel(company_id, f"{outbox}#rate").update(
            actions=[OutboxModel.paused_at.remove(), OutboxModel.feedback_counts.remove()],
            condition=OutboxModel.paused_at.exists(),
        )
    )


def release_rate(company_id: str, outbox: str, grant: RateGrant, unused: int) -> None:
    """Give back room a drain reserved but did not use (it lost the claim race for some messages)."""
    if unused <= 0 or grant.minute is None:
        return
    key = f"{outbox}#rate"
    while True:
        item = OutboxModel.get(company_id, key, consistent_read=True)
        grants = {str(k): int(v) for k, v in json.loads(item.rate_grants or "{}").items()}
        grants[grant.minute] = max(0, grants.get(grant.minute, 0) - unused)
        if _save_grants(company_id, key, grants, int(item.rate_version or 0)):
            return


# --- wake-ups ------------------------------------------------------------------------------------
#
# An outbox item's ``wake_at`` (in the sparse ``wakeups`` index) is the one durable signal that an
# outbox has work: it is set before messages are written (and again after), held by a drain while
# it runs, and settled by the drain when it ends. SQS kicks only make delivery start sooner.


def wake_later(company_id: str, outbox: str, at: datetime, shard: str = _WAKE_SHARD) -> None:
    """Ask for the outbox (or the watch of ``shard``) to be drained again at ``at`` (an earlier
    request wins)."""
    when = stamp(at)
    written(  # not written: an earlier wake-up was asked for, and it wins
        lambda: OutboxModel(company_id, outbox).update(
            actions=[OutboxModel.wake_shard.set(shard), OutboxModel.wake_at.set(when)],
            condition=OutboxModel.wake_at.does_not_exist() | (OutboxModel.wake_at > when),
        )
    )


def take_handoff(company_id: str, token: str, until: datetime, *, recorded: bool = False) -> bool:
    """A worker takes a hand-off (the ids of messages written claimed, in one SQS message): only
    the first delivery of that SQS message gets it (SQS delivers at least once). One small
    conditional put; the item expires a day after the lease. (A recorded hand-off's record is
    ``handoff#<token>``, so its taking is another item.)"""
    key = f"taken#{token}" if recorded else f"handoff#{token}"
    item = OutboxModel(company_id, key, expires=until + timedelta(days=1))
    return written(lambda: item.save(condition=OutboxModel.outbox_key.does_not_exist()))


# --- hand-off records ------------------------------------------------------------------------------
#
# A producer that writes messages claimed and hands them to a worker by id first writes down each
# hand-off (up to 200 ids, the outbox and the lease), due in the wake-ups index (its own shard) at
# the lease's end. The worker deletes it once every message in it has an outcome; one still there
# when the lease ends is what the minute schedule finds: it puts the messages still held by that
# lease back in their outbox's ready index and wakes the outbox. So messages handed off are not
# in the ready index while they are sent (issue 14: their entry was put and removed again, 2 WRU
# a message; a record is about 0.1 WRU a message).

_HANDOFF_SHARD = "handoff"
# ids per hand-off (record and SQS message): one worker invocation and SMTP session, whose fixed
# reads and writes (the token, the account, the record) are shared by 200 e-mails
HANDOFF_IDS = 200
_HANDOFF_KEPT = timedelta(days=7)  # the record expires long after the schedule must have found it


@dataclass(frozen=True)
class HandOff:
    token: str
    outbox: str
    lease_until: datetime
    ids: tuple[str, ...]


def _handoff_key(token: str) -> str:
    return f"handoff#{token}"


def _handoff_work(outbox: str, lease_until: datetime, ids: Iterable[str]) -> str:
    return json.dumps({"outbox": outbox, "lease_until": stamp(lease_until), "ids": list(ids)})


def new_handoffs(comms: Iterable[domain.Communication], size: int = HANDOFF_IDS) -> list[HandOff]:
    """The hand-offs (new tokens) that hold the messages written claimed among ``comms``, by
    outbox and lease, up to ``size`` ids each: what the records written before (or with) them
    hold. Other messages (failed, rate-limited, later) are in none."""
    groups: dict[tuple[str, datetime], list[str]] = {}
    for comm in comms:
        if comm.state == "queued" and comm.outbox is not None and comm.lease_until is not None:
            groups.setdefault((comm.outbox, comm.lease_until), []).append(comm.communication_id)
    return [
        HandOff(uuid.uuid4().hex, outbox, until, tuple(ids[start : start + size]))
        for (outbox, until), ids in sorted(groups.items())
        for start in range(0, len(ids), size)
    ]


def under_handoffs(
    comms: Sequence[domain.Communication], handoffs: Iterable[HandOff]
) -> list[domain.Communication]:
    """The messages as written under their records: each one a record holds carries its token
    (``Communication.handoff``: no ``ready`` keys, no ``by-status`` entry while a worker has it)."""
    tokens = {cid: h.token for h in handoffs for cid in h.ids}
    return [replace(c, handoff=tokens.get(c.communication_id)) for c in comms]


def _handoff_item(company_id: str, handoff: HandOff) -> OutboxModel:
    return OutboxModel(
        company_id,
        _handoff_key(handoff.token),
        work=_handoff_work(handoff.outbox, handoff.lease_until, handoff.ids),
        wake_shard=_HANDOFF_SHARD,
        wake_at=stamp(handoff.lease_until),
        expires=handoff.lease_until + _HANDOFF_KEPT,
    )


def save_handoffs(company_id: str, handoffs: Iterable[HandOff]) -> None:
    """Write hand-off records, before the messages they hold are written."""
    with OutboxModel.batch_write() as batch:
        for handoff in handoffs:
            batch.save(_handoff_item(company_id, handoff))


def add_handoff_to(tx: TransactWrite, company_id: str, handoff: HandOff) -> None:
    """Put a hand-off record in the transaction that writes its messages (the tracking sweep's
    claim): the record exists exactly when they do. One transaction item."""
    tx.save(_handoff_item(company_id, handoff))


def finish_handoff(
    company_id: str,
    outbox: str,
    token: str,
    lease_until: datetime,
    outcomes: Sequence[domain.Communication],
    rest: Sequence[str],
    now: datetime,
) -> bool:
    """The hand-off's worker is done: in one transaction, count the outcomes it recorded (the
    send jobs' and alert monitors' counters) and forget the record, or keep in it only ``rest``
    (what is left to the lease; a record changed this way is due under another wake-up text,
    so a recovery that read it before cannot take it). Only while nobody took the record for
    recovery: False when someone did (the recovery counts them instead)."""
    held = stamp(lease_until)
    record = OutboxModel(company_id, _handoff_key(token))
    condition = OutboxModel.wake_at == held

    def build(tx: TransactWrite) -> None:
        count_outcomes(tx, outcomes, now)
        if not rest:
            tx.delete(record, condition=condition)
            return
        actions: list[Any] = [
            OutboxModel.work.set(_handoff_work(outbox, lease_until, rest)),
            OutboxModel.wake_at.set(f"{held}#rest"),
        ]
        tx.update(record, actions=actions, condition=condition)

    return transacted(build)


def hold_handoff(company_id: str, token: str, wake_at: str, until: datetime) -> str | None:
    """A recovery takes a due record by holding it until ``until`` (None: someone else holds it,
    or its worker finished meanwhile)."""
    return take_wakeup(company_id, _handoff_key(token), wake_at, until)


def forget_handoff(company_id: str, token: str) -> None:
    OutboxModel(company_id, _handoff_key(token)).delete()


def due_handoffs(now: datetime, limit: int = 500) -> list[tuple[str, HandOff, str]]:
    """(company, hand-off, wake-up) of records whose lease has ended."""
    due = OutboxModel.wakeups.query(_HANDOFF_SHARD, OutboxModel.wake_at <= stamp(now), limit=limit)
    return [(item.company_id, _handoff(item), str(item.wake_at)) for item in due]


def get_handoff(company_id: str, token: str) -> tuple[HandOff, str] | None:
    """A hand-off's record and its wake-up, if it is still there."""
    try:
        item = OutboxModel.get(company_id, _handoff_key(token), consistent_read=True)
    except DoesNotExist:
        return None
    return (_handoff(item), str(item.wake_at)) if item.wake_at else None


def _handoff(item: OutboxModel) -> HandOff:
    work = json.loads(item.work or "{}")
    return HandOff(
        item.outbox_key.removeprefix(_handoff_key("")),
        str(work["outbox"]),
        parse_stamp(str(work["lease_until"])),
        tuple(str(i) for i in work["ids"]),
    )


def settle_recovered_handoff(
    company_id: str, token: str, held: str, outcomes: Sequence[domain.Communication], now: datetime
) -> bool:
    """A recovery is done with a record it held (``held``): count the outcomes its worker
    recorded but never counted, and forget it, in one transaction. False when the record is no
    longer the one held (another recovery took it after this one's hold ran out)."""

    def build(tx: TransactWrite) -> None:
        count_outcomes(tx, outcomes, now)
        tx.delete(OutboxModel(company_id, _handoff_key(token)), condition=OutboxModel.wake_at == held)

    return transacted(build)


def outboxes_with_work(company_id: str, prefix: str) -> list[str]:
    """The company's outboxes named ``<prefix>...`` (``email:user:``: the users' own accounts') that
    have work: a wake-up set. One Query of the company's outbox items under that prefix (one item
    an outbox ever used, and its rate item), never a Scan."""
    found = OutboxModel.query(
        company_id,
        OutboxModel.outbox_key.startswith(prefix),
        filter_condition=OutboxModel.wake_at.exists(),
    )
    return [str(item.outbox_key) for item in found if "#" not in str(item.outbox_key)]


def due_wakeups(
    now: datetime, limit: int = 500, *, shard: str = _WAKE_SHARD
) -> Iterator[tuple[str, str, str]]:
    """(company, outbox, wake_at) of outboxes whose wake-up time has come (a sparse index)."""
    for item in OutboxModel.wakeups.query(shard, OutboxModel.wake_at <= stamp(now), limit=limit):
        yield item.company_id, item.outbox_key, str(item.wake_at)


def hold_wakeup(company_id: str, outbox: str, until: datetime) -> str:
    """A drain starts: move the outbox's wake-up to ``until`` (the end of the drain's lease), so
    that if the drain dies, the schedule drains the outbox again then. Returns the wake-up held."""
    held = stamp(until)
    OutboxModel(company_id, outbox).update(
        actions=[OutboxModel.wake_shard.set(_WAKE_SHARD), OutboxModel.wake_at.set(held)]
    )
    return held


def take_wakeup(company_id: str, outbox: str, wake_at: str, until: datetime) -> str | None:
    """The schedule takes a due wake-up by holding it until ``until``: only one caller gets it
    (None for the others). Returns the wake-up held."""
    held = stamp(until)
    if not written(
        lambda: OutboxModel(company_id, outbox).update(
            actions=[OutboxModel.wake_at.set(held)], condition=OutboxModel.wake_at == wake_at
        )
    ):
        return None
    return held


def settle_wakeup(
    company_id: str, outbox: str, held: str, next_at: datetime | None, shard: str = _WAKE_SHARD
) -> None:
    """A drain ends: replace the wake-up it held by ``next_at`` (when the outbox has work again),
    or clear it (nothing waits). When someone changed the wake-up meanwhile (a new message, another
    drain), theirs stays, and ``next_at`` is only added if it is earlier. ``shard``: the wake-ups'
    shard it stays in (an erasure's watch is not an outbox's)."""
    actions: list[Any]
    if next_at is not None:
        actions = [OutboxModel.wake_shard.set(shard), OutboxModel.wake_at.set(stamp(next_at))]
    else:
        actions = [OutboxModel.wake_shard.remove(), OutboxModel.wake_at.remove()]
    settled = written(
        lambda: OutboxModel(company_id, outbox).update(actions=actions, condition=OutboxModel.wake_at == held)
    )
    if not settled and next_at is not None:
        wake_later(company_id, outbox, next_at, shard)


# --- send-job pages not expanded yet ----------------------------------------------------------------
#
# A page of a send job's recipients waits here, with a wake-up in the same sparse index (its own
# shard), from when it is asked for until it is expanded into the outbox: if its SQS message is
# lost (a dead-letter queue, the local stack killed), the schedule puts it on the queue again.

_PAGE_SHARD = "job-page"


def _page_key(job_id: str, page: int) -> str:
    return f"sendjob#{job_id}#{page:06d}"


def save_job_pages(company_id: str, job_id: str, pages: list[dict[str, Any]], wake_at: datetime) -> None:
    """Remember pages that are about to be asked for (``{"page": n, ...}``), each due at ``wake_at``."""
    with OutboxModel.batch_write() as batch:
        for page in pages:
            batch.save(
                OutboxModel(
                    company_id,
                    _page_key(job_id, int(page["page"])),
                    work=json.dumps({"job_id": job_id, **page}, sort_keys=True),
                    wake_shard=_PAGE_SHARD,
                    wake_at=stamp(wake_at),
                )
            )


def job_page_done(company_id: str, job_id: str, page: int) -> None:
    OutboxModel(company_id, _page_key(job_id, page)).delete()


def postpone_job_page(company_id: str, job_id: str, page: int, wake_at: datetime) -> None:
    """Leave a page asked for, its wake-up moved to ``wake_at`` (its company is suspended); gone
    meanwhile (expanded by another delivery, or deleted with the company), nothing."""
    written(
        lambda: OutboxModel(company_id, _page_key(job_id, page)).update(
            actions=[OutboxModel.wake_at.set(stamp(wake_at))], condition=OutboxModel.outbox_key.exists()
        )
    )


def wake_job_pages(company_id: str, now: datetime) -> int:
    """Make every send-job page of the company that is asked for and not expanded due ``now`` (its
    reopening): the minute schedule asks for them again. How many."""
    woken = 0
    for item in OutboxModel.query(
        company_id, OutboxModel.outbox_key.startswith("sendjob#"), consistent_read=True
    ):
        key = str(item.outbox_key)
        woken += written(
            lambda: OutboxModel(company_id, key).update(  # noqa: B023 (called at once)
                actions=[OutboxModel.wake_shard.set(_PAGE_SHARD), OutboxModel.wake_at.set(stamp(now))],
                condition=OutboxModel.outbox_key.exists(),
            )
        )
    return woken


def job_pages_pending(company_id: str) -> bool:
    """Whether any send-job page of the company is asked for and not yet expanded (one Query of
    the company's outbox items under the pages' prefix, at most one item read)."""
    prefix = OutboxModel.outbox_key.startswith("sendjob#")
    return any(True for _ in OutboxModel.query(company_id, prefix, limit=1, consistent_read=True))


def due_job_pages(now: datetime, until: datetime, limit: int = 500) -> Iterator[tuple[str, dict[str, Any]]]:
    """(company, page request) of pages whose expansion is overdue, each taken until ``until`` (so
    one caller puts each page back on the queue) as the caller comes to it: should the caller
    stop or fail at one, the pages after it were never taken and are due again at the next look,
    not one lease later. The index projects the page request: no read per page."""
    due = OutboxModel.wakeups.query(_PAGE_SHARD, OutboxModel.wake_at <= stamp(now), limit=limit)
    for item in due:
        if take_wakeup(item.company_id, item.outbox_key, str(item.wake_at), until) is not None:
            yield item.company_id, dict(json.loads(item.work or "{}"))


# --- preferred-agent changes being applied ------------------------------------------------------
#
# A change being applied (N4) has a wake-up in the same sparse index (its own shard) from just
# before it is marked applying until it is done: should it stall (the process applying it died
# before its pages left, a page's message went to the dead-letter queue), the minute schedule
# finds it and resumes it. Done changes forget theirs; one left behind is forgotten when found.

_AGENT_CHANGE_SHARD = "agent-change"


def _agent_change_key(change_id: str) -> str:
    return f"agentchange#{change_id}"


def watch_agent_change(company_id: str, change_id: str, wake_at: datetime) -> None:
    """Look at a change being applied at ``wake_at`` (and again after, until it is forgotten)."""
    OutboxModel(
        company_id,
        _agent_change_key(change_id),
        work=json.dumps({"change_id": change_id}),
        wake_shard=_AGENT_CHANGE_SHARD,
        wake_at=stamp(wake_at),
    ).save()


def forget_agent_change(company_id: str, change_id: str) -> None:
    OutboxModel(company_id, _agent_change_key(change_id)).delete()


def due_agent_changes(now: datetime, until: datetime, limit: int = 100) -> Iterator[tuple[str, str]]:
    """(company, change id) of changes being applied whose look is due, each taken until
    ``until`` (one caller looks at each; the next look is then) as the caller comes to it, as
    :func:`due_job_pages` does. The index projects the work."""
    due = OutboxModel.wakeups.query(_AGENT_CHANGE_SHARD, OutboxModel.wake_at <= stamp(now), limit=limit)
    for item in due:
        if take_wakeup(item.company_id, item.outbox_key, str(item.wake_at), until) is not None:
            yield item.company_id, str(json.loads(item.work or "{}")["change_id"])


# --- client erasures being run --------------------------------------------------------------------
#
# An erasure (docs/privacy.md) has a wake-up in the same sparse index (its own shard) from before it
# starts until it is done, always a lease ahead of the run that holds it: should that run die (or
# stop at its time budget), the minute schedule takes the erasure up again. Its work names the
# erasure's digest, not the client.

_ERASURE_SHARD = "erasure"


def _erasure_watch_key(erasure_key: str) -> str:
    return f"erasure#{erasure_key}"


def watch_erasure(company_id: str, erasure_key: str, wake_at: datetime) -> str:
    """Look at an erasure at ``wake_at`` (and again after, until it is forgotten); returns the
    wake-up held."""
    held = stamp(wake_at)
    OutboxModel(
        company_id,
        _erasure_watch_key(erasure_key),
        work=json.dumps({"erasure": erasure_key}),
        wake_shard=_ERASURE_SHARD,
        wake_at=held,
    ).save()
    return held


def settle_erasure(company_id: str, erasure_key: str, held: str, next_at: datetime | None) -> None:
    """A run of an erasure ends: look again at ``next_at``, or forget it (it is done)."""
    if next_at is None:
        OutboxModel(company_id, _erasure_watch_key(erasure_key)).delete()
    else:
        settle_wakeup(company_id, _erasure_watch_key(erasure_key), held, next_at, _ERASURE_SHARD)


def due_erasures(now: datetime, until: datetime, limit: int = 20) -> Iterator[tuple[str, str, str]]:
    """(company, erasure digest, wake-up held) of erasures whose look is due, each taken until
    ``until`` as the caller comes to it, as :func:`due_job_pages` does."""
    due = OutboxModel.wakeups.query(_ERASURE_SHARD, OutboxModel.wake_at <= stamp(now), limit=limit)
    for item in due:
        held = take_wakeup(item.company_id, item.outbox_key, str(item.wake_at), until)
        if held is not None:
            yield item.company_id, str(json.loads(item.work or "{}")["erasure"]), held


# --- suppressions ----------------------------------------------------------------------------------


def _suppression(item: SuppressionModel) -> domain.Suppression:
    return record_from(item, domain.Suppression)


def suppress(entry: domain.Suppression) -> bool:
    """Put an address on the company's suppression list; False when it was already there."""
    return written(
        lambda: item_from(SuppressionModel, entry).save(condition=SuppressionModel.address.does_not_exist())
    )


def suppressed_among(company_id: str, addresses: Iterable[str]) -> dict[str, domain.Suppression]:
    """The suppressions of ``addresses``: each under the address, or under its digest when the
    client it belonged to was erased (``store.erasures.hashed_address``), answered by address."""
    from chalicelib.store.erasures import hashed_address

    named = list(dict.fromkeys(addresses))
    by_key = {a: a for a in named} | {hashed_address(company_id, a): a for a in named}
    found: dict[str, domain.Suppression] = {}
    for item in SuppressionModel.batch_get([(company_id, k) for k in by_key]):
        address = by_key[str(item.address)]
        if address not in found or item.address == address:
            found[address] = replace(_suppression(item), address=address)
    return found


def list_suppressions(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Suppression], dict[str, Any] | None]:
    return page_of(
        SuppressionModel,
        company_id,
        limit=limit,
        cursor=checked_cursor(SuppressionModel, company_id, cursor),
        convert=_suppression,
    )


def lift_suppression(company_id: str, address: str) -> bool:
    """Lift an address's suppression, and the one an erasure left under its digest."""
    from chalicelib.store.erasures import hashed_address

    lifted = [_delete_suppression(company_id, key) for key in (address, hashed_address(company_id, address))]
    return any(lifted)


def _delete_suppression(company_id: str, key: str) -> bool:
    return written(
        lambda: SuppressionModel(company_id, key).delete(condition=SuppressionModel.address.exists())
    )


# --- send jobs -------------------------------------------------------------------------------------


# Reasons a bulk statement skips a client (D2), each counted on its own attribute of the job.
SKIP_REASON_ATTRIBUTES = {
    "no_email": "skipped_no_email",
    "no_open_movements": "skipped_no_movements",
    "suppressed": "skipped_suppressed",
}
# Why statements failed at expansion (bulk statements, D2): reason -> the job's counter.
FAIL_REASON_ATTRIBUTES = {
    "too_many_receivables": "failed_too_many_receivables",
    "no_number": "failed_no_number",
    "not_rendered": "failed_not_rendered",
}


def _job(item: SendJobModel) -> domain.SendJob:
    counts = {
        name: int(getattr(item, name) or 0) for name in ("total", "queued", "sent", "failed", "skipped")
    }
    return record_from(
        item,
        domain.SendJob,
        pages_done=len(item.pages_done or ()),
        pages_total=int(item.pages_total) if item.pages_total is not None else None,
        skip_reasons={
            reason: int(getattr(item, attribute) or 0)
            for reason, attribute in SKIP_REASON_ATTRIBUTES.items()
            if getattr(item, attribute)
        },
        fail_reasons={
            reason: int(getattr(item, attribute) or 0)
            for reason, attribute in FAIL_REASON_ATTRIBUTES.items()
            if getattr(item, attribute)
        },
        **counts,
    )


def _job_item(job: domain.SendJob) -> SendJobModel:
    """A new job's item: the pages done are a set of page numbers the workers add to; the client
    codes its selection names, in the sparse indexes that find them for a client's erasure."""
    named = selection_codes(job.selection)
    return item_from(
        SendJobModel,
        job,
        leave_out=("pages_done",),
        from_client_key=f"{job.company_id}#{named['from_client']}" if named.get("from_client") else None,
        to_client_key=f"{job.company_id}#{named['to_client']}" if named.get("to_client") else None,
    )


# The fields of a job's selection (``{"selection": {<kind>: {...}}}``) that hold a client's code.
CODE_FIELDS = ("from_client", "to_client")


def selection_codes(selection: str | None) -> dict[str, str]:
    """The client codes a job's stored selection names, by field (a bulk statement's range)."""
    try:
        spec = json.loads(selection or "{}")
    except ValueError:
        return {}
    chosen = spec.get("selection") if isinstance(spec, dict) else None
    found: dict[str, str] = {}
    for conditions in (chosen or {}).values() if isinstance(chosen, dict) else ():
        if isinstance(conditions, dict):
            found |= {f: str(conditions[f]) for f in CODE_FIELDS if conditions.get(f)}
    return found


def create_job(job: domain.SendJob) -> None:
    _job_item(job).save(condition=SendJobModel.job_id.does_not_exist())


def get_job(company_id: str, job_id: str) -> domain.SendJob | None:
    try:
        return _job(SendJobModel.get(company_id, job_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_job_for_page(
    company_id: str, job_id: str, page: int
) -> tuple[domain.SendJob | None, bool, domain.PageBound | None]:
    """The job, as :func:`get_job` reads it, whether ``page`` is already counted into it (its
    ``pages_done``), and the page's bound if one was recorded (:func:`record_page_bound`): one
    read, so a page delivered again after it was counted stops there."""
    try:
        item = SendJobModel.get(company_id, job_id, consistent_read=True)
    except DoesNotExist:
        return None, False, None
    return _job(item), page in (item.pages_done or ()), _page_bound(item, page)


def _page_bound_entry(page: int, bound: domain.PageBound) -> str:
    return f"{page}#{bound.until or ''}"


def _page_bound(item: SendJobModel, page: int) -> domain.PageBound | None:
    if page not in (item.bounded_pages or ()):
        return None
    prefix = f"{page}#"
    for entry in item.page_bounds or ():
        if entry.startswith(prefix):
            return domain.PageBound(entry.removeprefix(prefix) or None)
    return None


def record_page_bound(
    company_id: str, job_id: str, page: int, bound: domain.PageBound
) -> domain.PageBound | None:
    """Decide ``page``'s bound once: the first caller's ``bound`` is written (one conditional
    update of the job); a later one gets the bound recorded before it (one more read). None when
    the page is counted already (or the job is gone): its chain of parts ended, nothing to do."""
    item = SendJobModel(company_id, job_id)
    if written(
        lambda: item.update(
            actions=[
                SendJobModel.bounded_pages.add({page}),
                SendJobModel.page_bounds.add({_page_bound_entry(page, bound)}),
            ],
            condition=SendJobModel.job_id.exists()
            & (SendJobModel.bounded_pages.does_not_exist() | ~SendJobModel.bounded_pages.contains(page))
            & (SendJobModel.pages_done.does_not_exist() | ~SendJobModel.pages_done.contains(page)),
        )
    ):
        return bound
    _, counted, recorded = get_job_for_page(company_id, job_id, page)
    return None if counted else recorded


def list_jobs(
    company_id: str, limit: int, cursor: dict[str, Any] | None, *, created_by: str | None = None
) -> tuple[list[domain.SendJob], dict[str, Any] | None]:
    """The company's send jobs, newest first; with ``created_by``, only that user's (the others'
    are read and left out, at most :data:`~chalicelib.store.fields.READ_PER_PAGE` a page: a page
    may hold fewer than ``limit``, even none, and a cursor to read on)."""
    start = checked_cursor(SendJobModel, company_id, cursor)
    if created_by:
        items, after, _read = filtered_read(
            SendJobModel,
            company_id,
            None,
            filter_condition=SendJobModel.created_by == created_by,
            limit=limit,
            cursor=start,
        )
        return [_job(i) for i in items], after
    return page_of(
        SendJobModel, company_id, scan_index_forward=False, limit=limit, cursor=start, convert=_job
    )


def create_job_once(job: domain.SendJob, request_key: str | None) -> tuple[domain.SendJob, bool]:
    """Create a job, once per ``request_key`` (the caller's request id): a retried request gets
    the job the first one created. Returns (job, created)."""
    if request_key is None:
        create_job(job)
        return job, True
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
    skip_reasons: dict[str, int] | None = None,
    fail_reasons: dict[str, int] | None = None,
    bound: domain.PageBound | None = None,
) -> domain.SendJob | None:
    """Count one expanded page of recipients into its job, once: a page handled again (SQS
    delivers at least once) changes nothing and returns None. When every page is counted the job
    moves from ``expanding`` to ``sending``. Returns the job as updated. The page's recorded
    ``bound`` goes in the same write: no part of a counted page reads it again."""
    actions: list[Any] = [
        SendJobModel.updated_at.set(now),
        SendJobModel.pages_done.add({page}),
        SendJobModel.total.add(total),
        SendJobModel.failed.add(failed),
        SendJobModel.skipped.add(skipped),
    ]
    if bound is not None:
        actions.append(SendJobModel.bounded_pages.delete({page}))
        actions.append(SendJobModel.page_bounds.delete({_page_bound_entry(page, bound)}))
    for reason, count in (skip_reasons or {}).items():
        if count:
            actions.append(getattr(SendJobModel, SKIP_REASON_ATTRIBUTES[reason]).add(count))
    for reason, count in (fail_reasons or {}).items():
        if count:
            actions.append(getattr(SendJobModel, FAIL_REASON_ATTRIBUTES[reason]).add(count))
    if last_page:
        actions.append(SendJobModel.pages_total.set(page + 1))
    item = SendJobModel(company_id, job_id)
    if not written(
        lambda: item.update(
            actions=actions,
            condition=SendJobModel.job_id.exists()
            & (SendJobModel.pages_done.does_not_exist() | ~SendJobModel.pages_done.contains(page)),
        )
    ):
        return None
    job = _job(item)
    if job.state == "expanding" and job.pages_total is not None and job.pages_done >= job.pages_total:
        SendJobModel(company_id, job_id).update(actions=[SendJobModel.state.set("sending")])
        job = replace(job, state="sending")
    return job
