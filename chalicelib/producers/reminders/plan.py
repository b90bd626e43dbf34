"""Which reminders a receivable still has to get, and on which of the company's days (R3).

A receivable gets, while it is open and owes something and its client's reminders are active:

* the before-due reminder on ``due_on - days`` (or later, when a run was missed), but never after
  the due date has passed;
* the after-due notice on ``due_on + days`` or later, when the client's after-due switch is on
  (none when that day is past the calendar's end: a due date of 9999-12-31 means "never due").

Each (receivable, concept) at most once: concepts already sent are in ``receivable.reminded``.
The earliest day still planned is the receivable's ``remind_on``, the key the daily run reads by.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from chalicelib.core.domain import ClientReminders, Receivable, ReminderConcept
from chalicelib.producers.reminders import AFTER_DUE, BEFORE_DUE

Planned = list[tuple[ReminderConcept, date]]


def planned(
    receivable: Receivable,
    settings: ClientReminders | None,
    concepts: Mapping[str, ReminderConcept],
    today: date,
) -> Planned:
    """The reminders still to send, each with the day it is due (which may have passed)."""
    if receivable.state != "open" or receivable.balance <= 0 or settings is None or not settings.active:
        return []
    plan: Planned = []
    before = concepts.get(settings.before_due_concept or "")
    if (
        before is not None
        and before.kind == BEFORE_DUE
        and before.concept_id not in receivable.reminded
        and today <= receivable.due_on
    ):
        plan.append((before, receivable.due_on - timedelta(days=before.days)))
    after = concepts.get(settings.after_due_concept or "") if settings.after_due else None
    if after is not None and after.kind == AFTER_DUE and after.concept_id not in receivable.reminded:
        notice_on = _days_after(receivable.due_on, after.days)
        if notice_on is not None:
            plan.append((after, notice_on))
    return plan


def _days_after(day: date, days: int) -> date | None:
    """``days`` after ``day``; None past the calendar's last day (9999-12-31, which ERPs write
    for "no due date"): a day that never comes plans nothing."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def next_day(plan: Planned) -> date | None:
    return min((day for _, day in plan), default=None)


def due_today(plan: Planned, today: date) -> tuple[Planned, date | None]:
    """What to send today (every planned day up to today: missed days catch up once) and the
    next day still planned after that."""
    now = [(concept, day) for concept, day in plan if day <= today]
    return now, next_day([(concept, day) for concept, day in plan if day > today])
