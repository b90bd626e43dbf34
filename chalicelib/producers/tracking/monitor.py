"""The alert monitor (T9): every alert type with enabled, frequency, last/next run and counts."""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.domain import AlertSchedule
from chalicelib.core.errors import ValidationFailed
from chalicelib.store import companies as store
from chalicelib.tenants.defaults import ALERT_TYPES


def alert_monitor(company_id: str) -> list[AlertSchedule]:
    return sorted(store.list_alert_schedules(company_id), key=lambda s: s.alert_type)


def configure_alert(company_id: str, alert_type: str, enabled: bool, frequency_minutes: int) -> AlertSchedule:
    """Switch an alert type on or off and set its frequency; 0 minutes means off (T5).

    The next run is due right away, so a newly enabled alert starts at the next tick.
    """
    if alert_type not in ALERT_TYPES:
        raise ValidationFailed(
            [{"field": "alert_type", "message": f"must be one of {', '.join(ALERT_TYPES)}"}]
        )
    if frequency_minutes < 0 or frequency_minutes > 7 * 24 * 60:
        raise ValidationFailed([{"field": "frequency_minutes", "message": "must be between 0 and 10080"}])
    store.configure_alert_schedule(
        company_id, alert_type, enabled=enabled, frequency_minutes=frequency_minutes, next_run_at=clock.now()
    )
    schedule = store.get_alert_schedule(company_id, alert_type)
    assert schedule is not None
    return schedule


def tracking_alerts_on(company_id: str) -> bool:
    schedule = store.get_alert_schedule(company_id, "tracking")
    return schedule is not None and schedule.enabled and schedule.frequency_minutes > 0
