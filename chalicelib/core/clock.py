"""The one clock. Every "now" in Pregón comes from here, so tests can move time."""

from __future__ import annotations

from datetime import datetime, timezone

_frozen: datetime | None = None


def now() -> datetime:
    """The current time, aware and in UTC."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at ``moment`` (aware), or let it run again with ``None``."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock only takes aware datetimes")
    _frozen = moment.astimezone(timezone.utc) if moment is not None else None
