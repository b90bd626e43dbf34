"""Counters of received mail per company day (decision 0037): how many came from one sender, from
strangers in all, and which were held past the ceilings (``records.inbound_flood``).

They live in the ``rate-limits`` table (its items are tiny, keyed by a string, expired by TTL a
month after their day). A message counts once on each counter (:func:`counted_once`): one update
adds one and marks, on the counter itself, the count this message made, unless it is marked
already (an invocation retried after a crash counts nothing again, and gets the same count); once
the message's verdict is kept the marks go (:func:`unmark`), so a counter stays tiny. A check so
costs one write per counter and never a read. The held messages' senders and references are kept
as bounded sets (``rate_limits.hit_once``), so no item grows past a few kilobytes; a sender's
held count keeps beside it how many of them were released (:func:`released`), so that its first
page still holding some is found without reading the pages before it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from pynamodb.expressions.operand import Path

from chalicelib.store.models import RateLimitModel
from chalicelib.store.rate_limits import hit_once
from chalicelib.store.tables import backoff, failure_code, written

T = TypeVar("T")

# A release's transaction and the writes of a flood's held mail meet on the same items (the
# sender's held count and page): whichever DynamoDB refuses (the transaction cancelled, or the
# single write answered TransactionConflictException) is tried again, with backoff, this often.
_CONFLICT_TRIES = 8


def _past_releases(write: Callable[[], T]) -> T:
    """``write`` (one update of a counter, a page or a mark, each harmless to repeat), tried again
    while DynamoDB refuses it because a release's transaction holds its item: a held message
    meeting a release is counted and kept, not failed (SNS would hand it again minutes later)."""
    from pynamodb.exceptions import PynamoDBException

    attempt = 0
    while True:
        try:
            return write()
        except PynamoDBException as exc:
            if failure_code(exc) != "TransactionConflictException" or attempt == _CONFLICT_TRIES - 1:
                raise
        backoff(attempt)
        attempt += 1


def counted_once(key: str, message: str, day_end: datetime) -> int | None:
    """Add one to the counter ``key`` (created at 0) for ``message`` (a digest) and return the new
    count; for a message counted on ``key`` already (and not yet :func:`unmark`-ed), nothing is
    added and the count it made then is returned; None when its mark went meanwhile (another
    delivery of the message, at the same time, finished: its verdict is kept)."""
    from pynamodb.exceptions import UpdateError

    hits, mark = RateLimitModel.hits, _mark(message)
    item = RateLimitModel(key)
    try:
        _past_releases(
            lambda: item.update(
                actions=[
                    hits.set((hits | 0) + 1),
                    mark.set((hits | 0) + 1),  # the values are the item's before the update: the same
                    RateLimitModel.expires.set(day_end + timedelta(days=30)),
                ],
                condition=mark.does_not_exist(),
            )
        )
    except UpdateError as exc:
        if failure_code(exc) != "ConditionalCheckFailedException":
            raise
        name = mark.path[0]
        found = RateLimitModel._get_connection().get_item(key, consistent_read=True, attributes_to_get=[name])
        mark_found = found.get("Item", {}).get(name)
        return int(mark_found["N"]) if mark_found else None
    return int(item.hits or 0)


def unmark(keys: list[str], message: str) -> None:
    """Take ``message``'s marks off the counters ``keys`` (its verdict is kept: a counter need not
    remember it any longer, and an item must not grow with each message it counts)."""
    mark = _mark(message)

    def unmarked(key: str) -> None:
        RateLimitModel(key).update(actions=[mark.remove()], condition=mark.exists())

    for key in keys:
        _past_releases(lambda: written(lambda: unmarked(key)))  # noqa: B023 - called at once, in this turn


def _mark(message: str) -> Path:
    return Path(f"counted#{message}")


def verdict(key: str) -> str | None:
    """The verdict kept under ``key`` (:func:`judge`'s), None when there is none."""
    try:
        item = RateLimitModel.get(key, consistent_read=True, attributes_to_get=["members"])
    except RateLimitModel.DoesNotExist:
        return None
    return next(iter(item.members or ()), None)


def judge(key: str, verdict: str, day_end: datetime) -> None:
    """Keep ``verdict`` under ``key`` (one put, overwriting), expired with the day's counters."""
    RateLimitModel(key, members={verdict}, expires=day_end + timedelta(days=30)).save()


def kept(key: str, member: str, limit: int, day_end: datetime) -> bool:
    """Keep ``member`` in the set ``key`` while it holds fewer than ``limit`` (True when it is in)."""
    return _past_releases(lambda: hit_once(key, member, limit, day_end))


def read(key: str) -> tuple[int, list[str]]:
    """(count, members) of ``key``; (0, []) when there is none."""
    try:
        item = RateLimitModel.get(key, consistent_read=True)
    except RateLimitModel.DoesNotExist:
        return 0, []
    return int(item.hits or 0), sorted(item.members or ())


def tally(key: str) -> tuple[int, int]:
    """(count, released) of the held count ``key``: how many were held, how many of them were
    released (:func:`released`); (0, 0) when there is none."""
    try:
        item = RateLimitModel.get(key, consistent_read=True, attributes_to_get=["hits", "released"])
    except RateLimitModel.DoesNotExist:
        return 0, 0
    return int(item.hits or 0), int(item.released or 0)


def released(key: str, member: str, tally_key: str) -> bool:
    """Take ``member`` out of the set ``key`` and count it released on ``tally_key``, in one
    transaction; False (nothing changed) when it was not there (released already)."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.store.tables import connection

    members = RateLimitModel.members
    for attempt in range(_CONFLICT_TRIES):
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(
                    RateLimitModel(key),
                    actions=[members.delete({member})],
                    condition=members.contains(member),
                )
                tx.update(RateLimitModel(tally_key), actions=[RateLimitModel.released.add(1)])
        except TransactWriteError as exc:
            reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
            if "ConditionalCheckFailed" in reasons:
                return False
            if "TransactionConflict" not in reasons:
                raise
            backoff(attempt)  # a held message was counted or kept meanwhile: try again
            continue
        return True
    raise RuntimeError(f"releasing a held message lost {_CONFLICT_TRIES} races in a row")
