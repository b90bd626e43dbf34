"""Listing criteria of the history and the register, read from query parameters (or a saved
filter) and checked field by field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.localization import days_interval

STATUS_GROUPS = ("sent", "not_sent", "bounced", "received")
KINDS = ("automatic", "manual")
MAX_TEXT = 200


@dataclass(frozen=True)
class HistoryCriteria:
    since: datetime | None = None
    until: datetime | None = None
    status: str | None = None
    kind: str | None = None
    client_id: str | None = None
    text: str | None = None

    def as_params(self) -> dict[str, str]:
        """The query parameters that give these criteria back (what a saved filter keeps)."""
        params = {
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "status": self.status,
            "kind": self.kind,
            "client": self.client_id,
            "q": self.text,
        }
        return {k: v for k, v in params.items() if v}


def parse_moment(raw: str, field: str, *, end_of_day: bool = False, time_zone: str = "UTC") -> datetime:
    """``YYYY-MM-DD`` (a whole day of the company, in its ``time_zone``: Z1) or an ISO 8601
    date-time with its offset. ``end_of_day``: the last moment of that day."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start, end = days_interval(day, day, time_zone)
            if end_of_day:  # none: the calendar's last day, to the last moment there is
                return end - timedelta(microseconds=1) if end else datetime.max.replace(tzinfo=timezone.utc)
            return start or datetime.min.replace(tzinfo=timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(
            [{"field": field, "message": "must be a date (YYYY-MM-DD) or an ISO 8601 date-time with offset"}]
        ) from exc
    if parsed.tzinfo is None:
        raise ValidationFailed([{"field": field, "message": "needs a time-zone offset (e.g. Z or -03:00)"}])
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError as exc:  # 0001-01-01T00:00+05:00, 9999-12-31T23:00-03:00
        raise ValidationFailed(
            [{"field": field, "message": "is outside the years 0001 to 9999 in UTC"}]
        ) from exc


def one_of(params: Mapping[str, str | None], name: str, allowed: tuple[str, ...]) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed([{"field": name, "message": f"must be one of {', '.join(allowed)}"}])
    return value


def short_text(params: Mapping[str, str | None], name: str, maximum: int = MAX_TEXT) -> str | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if len(value) > maximum:
        raise ValidationFailed([{"field": name, "message": f"must be at most {maximum} characters"}])
    return value


def date_range(
    params: Mapping[str, str | None], time_zone: str = "UTC"
) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` as UTC moments; dates are the company's days (from its midnight to the
    end of the ``to`` day there)."""
    raw_since, raw_until = params.get("from"), params.get("to")
    since = parse_moment(raw_since, "from", time_zone=time_zone) if raw_since else None
    until = parse_moment(raw_until, "to", end_of_day=True, time_zone=time_zone) if raw_until else None
    if since and until and since > until:
        raise ValidationFailed([{"field": "to", "message": "must not be before from"}])
    return since, until


def history_criteria(params: Mapping[str, str | None], time_zone: str = "UTC") -> HistoryCriteria:
    since, until = date_range(params, time_zone)
    return HistoryCriteria(
        since=since,
        until=until,
        status=one_of(params, "status", STATUS_GROUPS),
        kind=one_of(params, "kind", KINDS),
        client_id=short_text(params, "client", 64),
        text=short_text(params, "q"),
    )
