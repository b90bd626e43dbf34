"""The alert monitor (T9): every alert type the company can use, with enabled, frequency (or, for
the daily reminders, the hour of the company's day), last/next run and counts."""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.domain import AlertSchedule
from chalicelib.core.errors import ValidationFailed, edited_meanwhile
from chalicelib.store import companies as store
from chalicelib.tenants.defaults import ALERT_TYPES, DAILY_ALERT_TYPES, DEFAULT_HOUR

DAY_MINUTES = 24 * 60


def alert_monitor(company_id: str) -> list[AlertSchedule]:
    """Every alert type; one the company never configured shows as off (companies created before
    the type existed have no row for it)."""
    stored = {s.alert_type: s for s in store.list_alert_schedules(company_id)}
    return [
        stored.get(t)
        or AlertSchedule(
            company_id, t, False, 0, None, None, 0, 0, DEFAULT_HOUR if t in DAILY_ALERT_TYPES else None
        )
        for t in ALERT_TYPES
    ]


def configure_alert(
    company_id: str,
    alert_type: str,
    enabled: bool,
    frequency_minutes: int | None = None,
    hour_of_day: int | None = None,
    if_match: tuple[int, ...] | None = None,
) -> AlertSchedule:
    """Switch an alert type on or off and set its frequency; 0 minutes means off (T5). A daily
    type (reminders) takes the hour of the company's day instead, and runs next at that hour.

    The next run of a frequency type is due right away, so a newly enabled alert starts at the
    next tick. With ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else
    saved the settings since (a run of the alert does not count: it is no one's edit).
    """
    if alert_type not in ALERT_TYPES:
        raise ValidationFailed(
            [{"field": "alert_type", "message": f"must be one of {', '.join(ALERT_TYPES)}"}]
        )
    now = clock.now()
    if alert_type in DAILY_ALERT_TYPES:
        from chalicelib.core.localization import next_local_hour
        from chalicelib.tenants.companies import get_company

        current = store.get_alert_schedule(company_id, alert_type)
        hour = hour_of_day if hour_of_day is not None else (current.hour_of_day if current else None)
        hour = DEFAULT_HOUR if hour is None else hour
        if not 0 <= hour <= 23:
            raise ValidationFailed([{"field": "hour_of_day", "message": "must be between 0 and 23"}])
        saved = store.configure_alert_schedule(
            company_id,
            alert_type,
            enabled=enabled,
            frequency_minutes=DAY_MINUTES if enabled else 0,
            next_run_at=next_local_hour(now, hour, get_company(company_id).time_zone),
            hour_of_day=hour,
            expected=if_match,
        )
    else:
        if frequency_minutes is None:
            raise ValidationFailed([{"field": "frequency_minutes", "message": "is required"}])
        if frequency_minutes < 0 or frequency_minutes > 7 * 24 * 60:
            raise ValidationFailed([{"field": "frequency_minutes", "message": "must be between 0 and 10080"}])
        saved = store.configure_alert_schedule(
            company_id,
            alert_type,
            enabled=enabled,
            frequency_minutes=frequency_minutes,
            next_run_at=now,
            expected=if_match,
        )
    if saved is None:
        raise edited_meanwhile("this alert's settings")
    return saved  # the write's own answer: no read after it (which could miss the write)


def tracking_alerts_on(company_id: str) -> bool:
    schedule = store.get_alert_schedule(company_id, "tracking")
    return schedule is not None and schedule.enabled and schedule.frequency_minutes > 0
