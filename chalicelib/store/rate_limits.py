"""Fixed-window counters: Pregón's one limiter of "at most N in each window of S seconds".

    NOTICE_EMAILS = Limit("register-notice-email", 60, 3600)
    count(company_id, NOTICE_EMAILS, user_id, "too many e-mails", hits=3)   # 429 past it
    within(company_id, DAILY_NOTICES, company_id)                           # False past it

Every fixed-window allowance counts here (the public tracking routes' limits, the register
notices, the SMS provider's account reads, the daily cap of notices to administrators): windows
start at multiples of their length since the Unix epoch (an hour's on the UTC hour, a day's at UTC
midnight), and only a digest of the key is stored. Each (limit, key, window) is one item; a hit
is one conditional update that adds 1 while the count is under the limit, so concurrent requests
never overshoot. Items expire by TTL, a month
after their window (tiny items; a short TTL would let DynamoDB delete a window still counted
when a frozen test clock lags behind DynamoDB's own).

A limit whose hits may be repeated (a notification delivered twice must not count twice) counts
members instead (:func:`hit_once`): the item holds the set of what was counted, and adding one
already there is no new hit.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from chalicelib.core import clock
from chalicelib.core.errors import TooManyRequests
from chalicelib.store.models import RateLimitModel
from chalicelib.store.tables import written


@dataclass(frozen=True)
class Limit:
    """At most ``count`` within each fixed window of ``seconds``."""

    name: str
    count: int
    seconds: int


def _window(limit: Limit, now: datetime) -> tuple[int, datetime]:
    """The start (Unix seconds) and the end of the window of ``limit`` that ``now`` falls in."""
    start = int(now.timestamp()) // limit.seconds * limit.seconds
    return start, datetime.fromtimestamp(start + limit.seconds, tz=timezone.utc)


def _key(scope: str, limit: Limit, key: str, start: int) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return f"{scope}#{limit.name}#{digest}#{start}"


def within(scope: str, limit: Limit, key: str, *, hits: int = 1) -> bool:
    """Count ``hits`` of ``key`` against ``limit`` within ``scope`` (a company id, say), all or
    none; False (nothing counted) when the window cannot take them."""
    start, end = _window(limit, clock.now())
    return hit(_key(scope, limit, key, start), limit.count, end, hits)


def count(
    scope: str,
    limit: Limit,
    key: str,
    message: str,
    *,
    field: str | None = None,
    hits: int = 1,
    retry: str = "try again in {seconds} seconds",
) -> str:
    """Count ``hits`` (one unless told) of ``key`` (a client, a parcel, an address, a user)
    against ``limit`` within ``scope``, all or none; past it ``TooManyRequests`` (429) saying
    ``message; retry`` (``{seconds}`` in ``retry`` is how long until the window's end), with
    Retry-After, naming ``field`` when one is to blame. Returns the window's counter, for
    :func:`give_back` when what was counted is not done after all."""
    now = clock.now()
    start, end = _window(limit, now)
    limit_key = _key(scope, limit, key, start)
    if not hit(limit_key, limit.count, end, hits):
        retry_after = max(1, math.ceil((end - now).total_seconds()))
        raise TooManyRequests(
            f"{message}; {retry.format(seconds=retry_after)}", retry_after=retry_after, field=field
        )
    return limit_key


def give_back(limit_key: str, hits: int) -> None:
    """Uncount ``hits`` that :func:`count` counted in the window ``limit_key`` names (the write
    they were for lost, say, to a client's erasure): counted first, given back only once known
    not done, so concurrent requests never pass the limit in between."""
    written(
        lambda: RateLimitModel(limit_key).update(
            actions=[RateLimitModel.hits.add(-hits)], condition=RateLimitModel.hits >= hits
        )
    )


def hit(limit_key: str, limit: int, window_end: datetime, hits: int = 1) -> bool:
    """Count ``hits`` (one e-mail per recipient, say) against ``limit_key`` in one conditional
    update; False (nothing counted) when the window cannot take them all."""
    if hits > limit:
        return False
    return written(
        lambda: RateLimitModel(limit_key).update(
            actions=[
                RateLimitModel.hits.add(hits),
                RateLimitModel.expires.set(window_end + timedelta(days=30)),
            ],
            condition=RateLimitModel.hits.does_not_exist() | (RateLimitModel.hits <= limit - hits),
        )
    )


def hit_once(limit_key: str, member: str, limit: int, window_end: datetime) -> bool:
    """Count ``member`` against ``limit_key`` unless it was counted already; True when it is
    counted (now or before), False (nothing counted) when the window holds ``limit`` others."""
    from pynamodb.expressions.condition import size

    members = RateLimitModel.members
    return written(
        lambda: RateLimitModel(limit_key).update(
            actions=[members.add({member}), RateLimitModel.expires.set(window_end + timedelta(days=30))],
            condition=members.does_not_exist() | members.contains(member) | (size(members) < limit),
        )
    )


def give_back_once(limit_key: str, member: str) -> None:
    """Uncount ``member`` (:func:`hit_once`'s), whose reply was not written after all."""
    members = RateLimitModel.members
    written(
        lambda: RateLimitModel(limit_key).update(
            actions=[members.delete({member})], condition=members.contains(member)
        )
    )


def forget(limit_key: str) -> None:
    """Remove ``limit_key``'s counter: what it counted is no longer counted (a claim taken back)."""
    RateLimitModel(limit_key).delete()
