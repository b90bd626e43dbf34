"""Which reminders a receivable still has to get, and on which of the company's days (R3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal

from chalicelib.core.domain import ClientReminders, Receivable, ReminderConcept
from chalicelib.producers.reminders.plan import due_today, next_day, planned

NOW = datetime(2026, 11, 2, tzinfo=timezone.utc)
BEFORE = ReminderConcept("co", "before-7", "7 antes", 7, "before_due", NOW)
AFTER = ReminderConcept("co", "after-7", "7 después", 7, "after_due", NOW)
CATALOG = {c.concept_id: c for c in (BEFORE, AFTER)}
SETTINGS = ClientReminders(
    "co", "CLI-1", active=True, before_due_concept="before-7", after_due=True, after_due_concept="after-7"
)
OPEN = Receivable(
    "co",
    "A-1",
    "CLI-1",
    date(2026, 11, 1),
    date(2026, 11, 20),
    Decimal("100"),
    Decimal("100"),
    "ARS",
    "open",
    NOW,
)


def test_an_open_receivable_is_planned_7_days_before_and_7_after() -> None:
    plan = planned(OPEN, SETTINGS, CATALOG, date(2026, 11, 2))
    assert [(c.concept_id, d) for c, d in plan] == [
        ("before-7", date(2026, 11, 13)),
        ("after-7", date(2026, 11, 27)),
    ]
    assert next_day(plan) == date(2026, 11, 13)


def test_a_missed_before_due_day_is_sent_late_but_never_after_the_due_date() -> None:
    send, following = due_today(planned(OPEN, SETTINGS, CATALOG, date(2026, 11, 15)), date(2026, 11, 15))
    assert [c.concept_id for c, _ in send] == ["before-7"] and following == date(2026, 11, 27)
    send, following = due_today(planned(OPEN, SETTINGS, CATALOG, date(2026, 11, 21)), date(2026, 11, 21))
    assert send == [] and following == date(2026, 11, 27)
    on_the_due_date = planned(OPEN, SETTINGS, CATALOG, date(2026, 11, 20))
    assert [c.concept_id for c, _ in on_the_due_date] == ["before-7", "after-7"]


def test_nothing_is_planned_for_what_was_sent_paid_owes_nothing_or_is_switched_off() -> None:
    day = date(2026, 11, 2)
    assert [
        c.concept_id for c, _ in planned(replace(OPEN, reminded=("before-7",)), SETTINGS, CATALOG, day)
    ] == ["after-7"]
    assert planned(replace(OPEN, state="paid"), SETTINGS, CATALOG, day) == []
    assert planned(replace(OPEN, state="cancelled"), SETTINGS, CATALOG, day) == []
    assert planned(replace(OPEN, balance=Decimal("0")), SETTINGS, CATALOG, day) == []
    assert planned(OPEN, replace(SETTINGS, active=False), CATALOG, day) == []
    assert planned(OPEN, None, CATALOG, day) == []
    assert [c.concept_id for c, _ in planned(OPEN, replace(SETTINGS, after_due=False), CATALOG, day)] == [
        "before-7"
    ]


def test_a_concept_of_the_wrong_type_in_a_slot_is_never_planned() -> None:
    crossed = replace(SETTINGS, before_due_concept="after-7", after_due_concept="before-7")
    assert planned(OPEN, crossed, CATALOG, date(2026, 11, 2)) == []
