"""Scheduled rules (EventBridge): one Lambda per alert type (tracking alerts, reminders) and per
check (sending domains, SMS credit, SMS delivery reports)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate

schedules = Blueprint(__name__)


@schedules.schedule(Rate(1, unit=Rate.MINUTES), name="sweep_tracking_alerts")
def sweep_tracking_alerts(event: Any) -> dict[str, Any]:
    """Every minute: run the tracking sweep of each company whose frequency says it is due (T5)."""
    from chalicelib.producers.tracking.sweep import sweep_due_tracking_alerts

    reports = sweep_due_tracking_alerts()
    return {
        "companies": len(reports),
        "queued": sum(r.queued for r in reports),
        "failed": sum(r.failed for r in reports),
    }


@schedules.schedule(Rate(5, unit=Rate.MINUTES), name="run_reminders")
def run_reminders(event: Any) -> dict[str, Any]:
    """Every 5 minutes: run the receivable reminders of each company whose hour has come (R3)."""
    from chalicelib.producers.reminders.run import run_due_reminders

    reports = run_due_reminders()
    return {
        "companies": len(reports),
        "reminders": sum(r.reminders for r in reports),
        "queued": sum(r.queued for r in reports),
    }


@schedules.schedule(Rate(1, unit=Rate.HOURS), name="check_sending_domains")
def check_sending_domains(event: Any) -> dict[str, Any]:
    """Every hour: read SES's verification state of every registered sending domain, note it, and
    tell a company's administrators when one of its domains stops verifying (docs/deliverability.md).
    Hourly, so a domain whose records went starts its 72 hours to lapse, and its company hears of it,
    within the hour (daily would take up to a third of them); two SES calls per 100 domains."""
    from chalicelib.messaging.accounts.domain_checks import check_sending_domains as check

    report = check()
    if report.failed:
        # every other domain was checked; the function fails so that its alarm rings (each failure
        # is logged as "sending domain check failed" with its company and domain)
        raise RuntimeError(f"{report.failed} sending domain check(s) failed; {report.checked} checked")
    return {"checked": report.checked, "failed": report.failed, "notices": report.notices}


@schedules.schedule(Rate(1, unit=Rate.DAYS), name="check_sms_credit")
def check_sms_credit(event: Any) -> dict[str, Any]:
    """Every day: read the credit of each company whose SMS are on with SMS Masivos and e-mail its
    administrators when it runs low or the package expires within 7 days, once a company's day at
    most (docs/sms.md, "Credit and expiry"). A rate, not a cron hour: the local scheduler runs
    rates, and the notice is claimed per company's day whenever the run comes."""
    from chalicelib.messaging.accounts.sms_credit import check_sms_credit as check

    report = check()
    if report.failed:
        # the others were checked; the function fails so that its alarm rings (each failure is
        # logged as "SMS credit check failed" with its company)
        raise RuntimeError(f"{report.failed} SMS credit check(s) failed; {report.checked} checked")
    return {
        "checked": report.checked,
        "failed": report.failed,
        "notices": report.notices,
        "left": report.left,
    }


@schedules.schedule(Rate(1, unit=Rate.MINUTES), name="check_sms_deliveries")
def check_sms_deliveries(event: Any) -> dict[str, Any]:
    """Every minute: ask the companies' Android gateways for the final state of the SMS whose
    report is due (a sparse index of those only), record ``delivered`` or ``failed`` and tell the
    webhooks; give up on one 2 days after it was sent (docs/sms.md, decision 0023)."""
    from chalicelib.messaging.delivery_reports import check_sms_deliveries as check

    report = check()
    if report.failed:
        # the others were applied; those are due again later (backing off; given up after a few
        # failures unless their state moved, whose event is told however long it takes), and the
        # function fails so that its alarm rings (each is logged as "SMS delivery report failed")
        applied = report.asked - report.failed
        raise RuntimeError(f"{report.failed} SMS delivery report(s) failed; {applied} applied")
    return {"asked": report.asked, **dict(report.results)}
