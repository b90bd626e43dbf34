"""Counters of received mail per company day (decision 0037): how many came from one sender, from
strangers in all, and which were held past the ceilings (``records.inbound_flood``).

They live in the ``rate-limits`` table (its items are tiny, keyed by a string, expired by TTL a
month after their day): each counter is one unconditional ``ADD`` that returns the new count, so a
check costs one write and never a read; the held messages' senders and references are kept as
bounded sets (``rate_limits.hit_once``), so no item grows past a few kilobytes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.store.models import RateLimitModel
from chalicelib.store.rate_limits import hit_once
from chalicelib.store.tables import written


def counted(key: str, day_end: datetime) -> int:
    """Add one to the counter ``key`` (created at 0) and return its new count."""
    item = RateLimitModel(key)
    item.update(
        actions=[RateLimitModel.hits.add(1), RateLimitModel.expires.set(day_end + timedelta(days=30))]
    )
    return int(item.hits or 0)


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
    return hit_once(key, member, limit, day_end)


def read(key: str) -> tuple[int, list[str]]:
    """(count, members) of ``key``; (0, []) when there is none."""
    try:
        item = RateLimitModel.get(key, consistent_read=True)
    except RateLimitModel.DoesNotExist:
        return 0, []
    return int(item.hits or 0), sorted(item.members or ())


def forget_member(key: str, member: str) -> bool:
    """Take ``member`` out of the set ``key``; False when it was not there (released already)."""
    members = RateLimitModel.members
    return written(
        lambda: RateLimitModel(key).update(
            actions=[members.delete({member})], condition=members.contains(member)
        )
    )
