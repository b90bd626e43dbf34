"""Receivables as the company's ERP pushes them (R3), and keeping their reminder plan true.

Idempotent by document number: pushing the same receivable again replaces its data and keeps what
was already sent. Many at once are all checked before any is stored (a 422 names
``receivables[<n>].<field>``). Every write re-plans the receivable's next reminder day (the key the
daily run reads by) and is conditioned on the version read, so a push that races the run or
another push reads again and plans again; it never undoes a reminder sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from chalicelib.core import clock
from chalicelib.core.domain import ClientReminders, Receivable, ReminderConcept
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.localization import NOT_A_CURRENCY, today
from chalicelib.producers.reminders.plan import next_day, planned
from chalicelib.store import receivables as store

STATES = ("open", "paid", "cancelled")
MAX_BATCH = 500
_ATTEMPTS = 5


@dataclass(frozen=True)
class ReceivableData:
    """One receivable as the ERP sends it."""

    document_number: str
    client_id: str
    issued_on: date
    due_on: date
    amount: Decimal
    balance: Decimal
    currency: str
    state: str = "open"


@dataclass(frozen=True)
class Saved:
    document_number: str
    created: bool
    state: str
    remind_on: date | None


def _company_today(company_id: str) -> date:
    from chalicelib.tenants.companies import get_company

    return today(get_company(company_id).time_zone, clock.now())


def push_receivables(company_id: str, items: list[ReceivableData]) -> list[Saved]:
    """Create or replace receivables; every item is checked (its client must exist) first."""
    from babel.numbers import is_currency

    from chalicelib.tenants.clients import get_clients

    if not items:
        raise ValidationFailed([{"field": "receivables", "message": "must hold at least one receivable"}])
    if len(items) > MAX_BATCH:
        raise ValidationFailed([{"field": "receivables", "message": f"holds more than {MAX_BATCH}"}])
    known = get_clients(company_id, sorted({i.client_id for i in items}))
    problems: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for n, item in enumerate(items):
        at = f"receivables[{n}]"
        if item.document_number in seen:
            problems.append(
                {
                    "field": f"{at}.document_number",
                    "message": f"repeats receivables[{seen[item.document_number]}]",
                }
            )
        seen.setdefault(item.document_number, n)
        if item.client_id not in known:
            problems.append({"field": f"{at}.client_id", "message": f"there is no client {item.client_id!r}"})
        if not is_currency(item.currency):
            problems.append({"field": f"{at}.currency", "message": NOT_A_CURRENCY})
        if item.due_on < item.issued_on:
            problems.append({"field": f"{at}.due_on", "message": "is before issued_on"})
        if item.balance > item.amount:
            problems.append({"field": f"{at}.balance", "message": "is larger than the amount"})
        if item.state not in STATES:
            problems.append({"field": f"{at}.state", "message": f"must be one of {', '.join(STATES)}"})
    if problems:
        raise ValidationFailed(problems)
    from chalicelib.producers.reminders.settings import concepts

    catalog = concepts(company_id)
    settings = store.get_many_client_reminders(company_id, known)
    day = _company_today(company_id)
    stored = store.get_receivables(company_id, [i.document_number for i in items])
    now = clock.now()
    saved = []
    for item in items:
        current = stored.get(item.document_number)
        for _ in range(_ATTEMPTS):
            rec = Receivable(
                company_id=company_id,
                document_number=item.document_number,
                client_id=item.client_id,
                issued_on=item.issued_on,
                due_on=item.due_on,
                amount=item.amount,
                balance=item.balance,
                currency=item.currency.upper(),
                state=item.state,
                updated_at=now,
                reminded=current.reminded if current else (),
                version=current.version + 1 if current else 1,
            )
            rec = replace(rec, remind_on=next_day(planned(rec, settings.get(rec.client_id), catalog, day)))
            if store.save_receivable(rec, read_version=current.version if current else None):
                saved.append(Saved(rec.document_number, current is None, rec.state, rec.remind_on))
                break
            current = store.get_receivable(company_id, item.document_number)
        else:  # pragma: no cover - five writers in a row won the race
            raise RuntimeError(f"receivable {item.document_number!r} kept changing; try again")
    return saved


def get_receivable(company_id: str, document_number: str) -> Receivable:
    rec = store.get_receivable(company_id, document_number)
    if rec is None:
        raise NotFound(f"there is no receivable {document_number!r}")
    return rec


def set_state(company_id: str, document_number: str, state: str) -> Receivable:
    """Mark a receivable paid or cancelled (or open again): a paid or cancelled one leaves the
    daily run's index in the same write, and the run's own write is conditioned on ``open``."""
    if state not in STATES:
        raise ValidationFailed([{"field": "state", "message": f"must be one of {', '.join(STATES)}"}])
    for _ in range(_ATTEMPTS):
        current = get_receivable(company_id, document_number)
        rec = replace(current, state=state, updated_at=clock.now(), version=current.version + 1)
        rec = replace(rec, remind_on=_plan_one(rec))
        if store.save_receivable(rec, read_version=current.version):
            return rec
    raise RuntimeError(f"receivable {document_number!r} kept changing; try again")  # pragma: no cover


def _plan_one(rec: Receivable) -> date | None:
    from chalicelib.producers.reminders.settings import concepts

    settings = store.get_client_reminders(rec.company_id, rec.client_id)
    return next_day(planned(rec, settings, concepts(rec.company_id), _company_today(rec.company_id)))


def _replan(
    receivables: Iterable[Receivable],
    settings_of: Mapping[str, ClientReminders | None],
    catalog: Mapping[str, ReminderConcept],
    day: date,
) -> int:
    changed = 0
    for rec in receivables:
        current: Receivable | None = rec
        for _ in range(_ATTEMPTS):
            if current is None:
                break
            remind_on = next_day(planned(current, settings_of.get(current.client_id), catalog, day))
            if remind_on == current.remind_on or store.replan(current, remind_on):
                changed += remind_on != current.remind_on
                break
            current = store.get_receivable(rec.company_id, rec.document_number)
    return changed


def replan_client(
    company_id: str, client_id: str, settings: ClientReminders, catalog: Mapping[str, ReminderConcept]
) -> int:
    """Re-plan a client's open receivables after its settings changed (one Query of its own)."""
    receivables = list(store.open_receivables_of_client(company_id, client_id))
    return _replan(receivables, {client_id: settings}, catalog, _company_today(company_id))


def replan_pending(company_id: str) -> int:
    """Re-plan every receivable still waiting for a reminder (a concept's days changed)."""
    from chalicelib.producers.reminders.settings import concepts

    receivables = list(store.due_receivables(company_id, None))
    settings = store.get_many_client_reminders(company_id, {r.client_id for r in receivables})
    return _replan(receivables, settings, concepts(company_id), _company_today(company_id))
