"""Room under a company's send limits: its accounts' send-rate limits (C2) and Pregón's daily
allowances of SMS on its SNS and of e-mails on its SES, counted in the outbox's rate items
(``store.outbox.reserve_rate``).

Both the drain of an outbox and a test send (C3) take their room here, so a test counts like any
message and a drain never overshoots a limit a test used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.store import outbox as outbox_store


@dataclass(frozen=True)
class RateLimit:
    """One "at most ``count`` per ``hours`` hours" a drain counts its messages into, in the rate
    item of ``key`` (``store.outbox.reserve_rate``): the outbox's own (C2), or the company's
    allowance of SMS or e-mails on Pregón's bill (``allowance``: :data:`SMS_ALLOWANCE`,
    :data:`EMAIL_ALLOWANCE`). ``stored``: the operator's count for the company, kept on the rate
    item itself, holds instead of ``count`` (the default) when there is one."""

    key: str
    count: int
    hours: int
    allowance: bool = False
    stored: bool = False


# The rate item counting a company's SMS through Pregón's SNS over the last 24 hours.
SMS_ALLOWANCE = "sms-allowance"
# The rate item counting a company's e-mails through Pregón's SES (its "ses" accounts) over 24 hours.
EMAIL_ALLOWANCE = "ses-allowance"
# Why they wait while the company's e-mails through Pregón's SES are paused for its bounces or
# complaints (``messaging.accounts.email_reputation``).
PAUSED = (
    "Pregón paused the company's e-mails through its SES: too many hard bounces or complaints in the "
    "last 24 h; they wait until Pregón resumes them"
)


@dataclass(frozen=True)
class Room:
    """The room reserved under every limit of an outbox: ``granted`` messages, booked in each
    limit's item (``grants``); none: when some opens again, why, and the limit that is full."""

    granted: int
    grants: tuple[tuple[str, outbox_store.RateGrant], ...] = ()
    room_at: datetime | None = None
    reason: str | None = None
    allowance_reached: bool = False
    full: RateLimit | None = None
    paused: bool = False  # the company's e-mails through Pregón's SES are paused (decision 0032)


def reserve_room(
    company_id: str,
    limits: Sequence[RateLimit],
    now: datetime,
    wanted: int,
    known: Mapping[str, outbox_store.RateState] | None = None,
) -> Room:
    """Count up to ``wanted`` messages into each limit in turn (each a conditional write, so
    several drains never overshoot any of them); a later limit that grants fewer gives the
    earlier ones back the difference. ``known``: rate items just read, by key (not read again)."""
    granted, grants = wanted, list[tuple[str, outbox_store.RateGrant]]()
    for limit in limits:
        grant = outbox_store.reserve_rate(
            company_id,
            limit.key,
            now,
            limit.hours,
            granted,
            limit.count,
            stored=limit.stored,
            known=(known or {}).get(limit.key),
        )
        if grant.granted < granted:
            for key, earlier in grants:
                outbox_store.release_rate(company_id, key, earlier, granted - grant.granted)
        if grant.granted == 0:
            assert grant.room_at is not None
            limit = replace(limit, count=grant.limit if grant.limit is not None else limit.count)
            count, hours, at = limit.count, limit.hours, grant.room_at.isoformat()
            if grant.paused:
                return Room(0, room_at=grant.room_at, reason=PAUSED, full=limit, paused=True)
            if limit.key == EMAIL_ALLOWANCE:
                reason = f"Pregón's e-mail allowance: {count} per {hours} h reached; room again at {at}"
            elif limit.allowance:
                reason = f"Pregón's SMS allowance: {count} per {hours} h reached; room again at {at}"
            else:
                reason = f"rate limit: {count} per {hours} h reached; room again at {at}"
            reached = limit.allowance
            return Room(0, room_at=grant.room_at, reason=reason, allowance_reached=reached, full=limit)
        granted = grant.granted
        grants.append((limit.key, grant))
    return Room(granted, tuple(grants))


def give_room_back(company_id: str, room: Room | None, unused: int) -> None:
    """Give back room reserved and not used (claims lost to another drain, messages given back, a
    test the provider surely did not take)."""
    for key, grant in room.grants if room is not None else ():
        outbox_store.release_rate(company_id, key, grant, unused)


def when_room_opens(company_id: str, room_at: datetime, now: datetime) -> tuple[str, int]:
    """For a test refused with 429: when the next message may go, on the company's clock with its
    UTC offset there and the zone's name (``31/10/2027 02:30 (UTC+01:00, Europe/Madrid)``: in the
    hour a clock repeats, 02:30 alone is two moments), and the seconds until then (``Retry-After``)."""
    from chalicelib.core.localization import show_datetime_offset
    from chalicelib.tenants.companies import get_company

    company = get_company(company_id)
    seconds = max(1, math.ceil((room_at - now).total_seconds()))
    return show_datetime_offset(room_at, company.time_zone, company.locale), seconds
