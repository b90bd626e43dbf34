"""Receivables, reminder concepts, clients' reminder settings and "reminder sent" markers (R1-R3).

Access patterns (docs/decisions/0008-reminders.md):

* a receivable by (company, document number): GetItem / BatchGetItem;
* the receivables whose next reminder is due by a day: Query of the sparse ``reminders-due``
  index, ``remind_company = <company>`` and ``remind_on <= <day>`` (only receivables with a
  reminder still to send carry it), so the daily run costs what is due, not what is stored;
* a client's open receivables: Query of the sparse ``open-by-client`` index (re-planned when the
  client's reminder settings change); its paid and cancelled ones: the sparse, keys-only
  ``closed-by-client`` index (the client's erasure, decision 0017);
* a company's concepts and client settings: one table, ``concept#<id>`` / ``client#<id>`` keys;
* exactly once: the run writes each (receivable, concept) marker with ``attribute_not_exists``,
  the receivable's new plan conditioned on the version it read (and on being open), and the
  reminder's outbox messages, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store import communications
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import ReceivableModel, ReminderSentModel, ReminderSettingsModel
from chalicelib.store.tables import LOST_RACE, connection, replace_versioned, written

CONCEPT = "concept#"
CLIENT = "client#"
# DynamoDB takes at most 100 actions in one transaction.
MAX_TRANSACTION_ACTIONS = 100


# --- receivables ----------------------------------------------------------------------------


def _receivable(item: ReceivableModel) -> domain.Receivable:
    return record_from(
        item,
        domain.Receivable,
        issued_on=date.fromisoformat(item.issued_on),
        due_on=date.fromisoformat(item.due_on),
        amount=Decimal(item.amount),
        balance=Decimal(item.balance),
        reminded=tuple(str(c) for c in (item.reminded or [])),
        remind_on=date.fromisoformat(item.remind_on) if item.remind_on else None,
        version=int(item.version or 0),
    )


def _item(rec: domain.Receivable) -> ReceivableModel:
    return item_from(
        ReceivableModel,
        rec,
        issued_on=rec.issued_on.isoformat(),
        due_on=rec.due_on.isoformat(),
        amount=str(rec.amount),
        balance=str(rec.balance),
        reminded=list(rec.reminded) or None,
        remind_company=rec.company_id if rec.remind_on else None,
        remind_on=rec.remind_on.isoformat() if rec.remind_on else None,
        open_client=f"{rec.company_id}#{rec.client_id}" if rec.state == "open" else None,
        closed_client=f"{rec.company_id}#{rec.client_id}" if rec.state != "open" else None,
    )


def _plan(rec: domain.Receivable, remind_on: date | None) -> list[Any]:
    """Update actions putting the receivable's next reminder on ``remind_on`` in the sparse
    ``reminders-due`` index (None takes it out: nothing left to send)."""
    if remind_on is None:
        return [ReceivableModel.remind_on.remove(), ReceivableModel.remind_company.remove()]
    return [
        ReceivableModel.remind_on.set(remind_on.isoformat()),
        ReceivableModel.remind_company.set(rec.company_id),
    ]


def get_receivable(company_id: str, document_number: str) -> domain.Receivable | None:
    try:
        return _receivable(ReceivableModel.get(company_id, document_number, consistent_read=True))
    except DoesNotExist:
        return None


def get_receivables(company_id: str, numbers: Iterable[str]) -> dict[str, domain.Receivable]:
    keys = [(company_id, n) for n in dict.fromkeys(numbers)]
    found: dict[str, domain.Receivable] = {}
    for start in range(0, len(keys), 100):
        for item in ReceivableModel.batch_get(keys[start : start + 100], consistent_read=True):
            found[item.document_number] = _receivable(item)
    return found


def save_receivable(rec: domain.Receivable, *, read_version: int | None) -> bool:
    """Create or replace a receivable as planned (``rec.version`` is the new version); False when
    it changed since it was read at ``read_version`` (None: it did not exist), nothing written."""
    item = _item(rec)
    condition: Any = (
        ReceivableModel.document_number.does_not_exist()
        if read_version is None
        else ReceivableModel.version == read_version
    )
    return written(lambda: item.save(condition=condition))


def replan(rec: domain.Receivable, remind_on: date | None) -> bool:
    """Move a receivable's next reminder day (None: nothing left to send), conditioned on the
    version read; False when it changed meanwhile."""
    item = ReceivableModel(rec.company_id, rec.document_number)
    actions = [ReceivableModel.version.set(rec.version + 1), *_plan(rec, remind_on)]
    return written(lambda: item.update(actions=actions, condition=ReceivableModel.version == rec.version))


def due_receivables(company_id: str, day: date | None, page_size: int = 200) -> Iterator[domain.Receivable]:
    """Receivables with a reminder to send by ``day`` (every pending one when ``day`` is None),
    from the sparse index: the daily run's only read of receivables."""
    condition = ReceivableModel.remind_on <= day.isoformat() if day is not None else None
    for item in ReceivableModel.reminders_due.query(company_id, condition, page_size=page_size):
        yield _receivable(item)


def open_receivables_of_client(
    company_id: str, client_id: str, *, at_most: int | None = None
) -> Iterator[domain.Receivable]:
    """The client's open receivables: a Query of the sparse ``open-by-client`` index, read a page
    (1 MB) at a time; with ``at_most``, no more than that many items are read."""
    for item in ReceivableModel.open_by_client.query(f"{company_id}#{client_id}", limit=at_most):
        yield _receivable(item)


def count_open_receivables_of_client(company_id: str, client_id: str) -> int:
    """How many open receivables the client has: the same Query with ``Select=COUNT`` (DynamoDB
    counts them a page at a time; no item comes back)."""
    return ReceivableModel.open_by_client.count(f"{company_id}#{client_id}")


@dataclass(frozen=True)
class ReminderClaim:
    """One receivable's reminders of one run: its markers, its new plan and its messages."""

    receivable: domain.Receivable  # as read (its version is the condition)
    concepts: tuple[str, ...]  # markers to write
    remind_on: date | None  # the next reminder day after these
    day: date
    messages: tuple[domain.Communication, ...]
    now: datetime

    @property
    def actions(self) -> int:
        keys = sum(1 for m in self.messages if m.idempotency_key)
        return 1 + len(self.concepts) + len(self.messages) + keys


def _add_claim(tx: TransactWrite, claim: ReminderClaim) -> None:
    rec = claim.receivable
    reminded = list(dict.fromkeys(rec.reminded + claim.concepts))
    actions = [
        ReceivableModel.version.set(rec.version + 1),
        ReceivableModel.reminded.set(reminded),  # type: ignore[arg-type]
        *_plan(rec, claim.remind_on),
    ]
    tx.update(
        ReceivableModel(rec.company_id, rec.document_number),
        actions=actions,
        condition=(ReceivableModel.version == rec.version) & (ReceivableModel.state == "open"),
    )
    for concept_id in claim.concepts:
        tx.save(
            ReminderSentModel(
                rec.company_id,
                f"{rec.document_number}#{concept_id}",
                client_id=rec.client_id,
                day=claim.day.isoformat(),
                created_at=claim.now,
            ),
            condition=ReminderSentModel.marker.does_not_exist(),
        )
    for comm in claim.messages:
        communications.add_to_transaction(tx, comm)


def claim_reminders(claims: Sequence[ReminderClaim]) -> list[bool]:
    """Write each claim all-or-nothing: its markers, its receivable's new plan and its messages.
    Claims are grouped into transactions of up to 100 actions; when a group is refused (a
    receivable changed, or another run wrote a marker first), each of its claims is tried alone so
    only the ones that lost are dropped. Returns, per claim, whether it was written."""
    outcome = [False] * len(claims)
    group: list[int] = []
    size = 0

    def flush() -> None:
        nonlocal group, size
        if not group:
            return
        if _transact([claims[i] for i in group]):
            for i in group:
                outcome[i] = True
        elif len(group) > 1:
            for i in group:
                outcome[i] = _transact([claims[i]])
        group, size = [], 0

    for index, claim in enumerate(claims):
        if size + claim.actions > MAX_TRANSACTION_ACTIONS:
            flush()
        group.append(index)
        size += claim.actions
    flush()
    return outcome


def _transact(claims: Sequence[ReminderClaim]) -> bool:
    try:
        with TransactWrite(connection=connection()) as tx:
            for claim in claims:
                _add_claim(tx, claim)
    except TransactWriteError as exc:
        reasons = exc.cancellation_reasons or []
        if any(r is not None and r.code in LOST_RACE for r in reasons):
            return False
        raise
    return True


# --- concepts (R1) ----------------------------------------------------------------------------


def _concept(item: ReminderSettingsModel) -> domain.ReminderConcept:
    return domain.ReminderConcept(
        company_id=item.company_id,
        concept_id=item.setting_key[len(CONCEPT) :],
        description=item.description or "",
        days=int(item.days or 0),
        kind=item.kind or "before_due",
        updated_at=item.updated_at,
        version=int(item.version or 0),
    )


def list_concepts(company_id: str) -> list[domain.ReminderConcept]:
    return [
        _concept(item)
        for item in ReminderSettingsModel.query(
            company_id, ReminderSettingsModel.setting_key.startswith(CONCEPT), consistent_read=True
        )
    ]


def save_concept(concept: domain.ReminderConcept, *, only_new: bool = False) -> bool:
    """Create or replace a concept; with ``only_new``, False (nothing written) when it exists."""
    item = _concept_item(concept)
    condition = ReminderSettingsModel.setting_key.does_not_exist() if only_new else None
    return written(lambda: item.save(condition=condition))


def replace_concept(concept: domain.ReminderConcept, expected: tuple[int, ...] | None = None) -> int | None:
    """Replace a concept as its next version (the version written); None (nothing written) when
    it is no longer at a version ``expected`` names (``If-Match``), or was deleted."""
    item = _concept_item(concept)
    exists = ReminderSettingsModel.setting_key.exists()
    return int(item.version) if replace_versioned(item, expected, condition=exists) else None


def _concept_item(concept: domain.ReminderConcept) -> ReminderSettingsModel:
    return item_from(
        ReminderSettingsModel, concept, setting_key=CONCEPT + concept.concept_id, leave_out=("version",)
    )


# --- client settings (R2) ---------------------------------------------------------------------


def _settings(item: ReminderSettingsModel) -> domain.ClientReminders:
    return record_from(
        item,
        domain.ClientReminders,
        client_id=item.setting_key[len(CLIENT) :],
        active=bool(item.active),
        send_to_contacts=bool(item.send_to_contacts),
        after_due=bool(item.after_due),
        sms=bool(item.sms),
        version=int(item.version or 0),
    )


def get_client_reminders(company_id: str, client_id: str) -> domain.ClientReminders | None:
    try:
        return _settings(ReminderSettingsModel.get(company_id, CLIENT + client_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_many_client_reminders(
    company_id: str, client_ids: Iterable[str]
) -> dict[str, domain.ClientReminders]:
    keys = [(company_id, CLIENT + c) for c in dict.fromkeys(client_ids)]
    found: dict[str, domain.ClientReminders] = {}
    for start in range(0, len(keys), 100):
        for item in ReminderSettingsModel.batch_get(keys[start : start + 100]):
            settings = _settings(item)
            found[settings.client_id] = settings
    return found


def list_client_reminders(company_id: str) -> list[domain.ClientReminders]:
    return [
        _settings(item)
        for item in ReminderSettingsModel.query(
            company_id, ReminderSettingsModel.setting_key.startswith(CLIENT)
        )
    ]


def save_client_reminders(
    settings: domain.ClientReminders, expected: tuple[int, ...] | None = None
) -> int | None:
    """Write a client's settings as their next version (the version written); None (nothing
    written) when they are no longer at a version ``expected`` names (``If-Match``)."""
    item = item_from(ReminderSettingsModel, settings, setting_key=CLIENT + settings.client_id)
    return int(item.version) if replace_versioned(item, expected) else None
