"""Fixed-window counters for limits on anonymous requests (public tracking subscriptions).

Each (limit, key, window) is one item; a hit is one conditional update that adds 1 while the
count is under the limit, so concurrent requests never overshoot. Items expire by TTL, a month
after their window (tiny items; a short TTL would let DynamoDB delete a window still counted
when a frozen test clock lags behind DynamoDB's own).

A limit whose hits may be repeated (a notification delivered twice must not count twice) counts
members instead (:func:`hit_once`): the item holds the set of what was counted, and adding one
already there is no new hit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.store.models import RateLimitModel
from chalicelib.store.tables import written


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


def forget(limit_key: str) -> None:
    """Remove ``limit_key``'s counter: what it counted is no longer counted (a claim taken back)."""
    RateLimitModel(limit_key).delete()
