"""The staff directory (U1), its branches and departments, and the preferred-agent changes (N4).

Access patterns: docs/decisions/0007-notes-and-staff.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store import communications
from chalicelib.store import preferred_agents as agents
from chalicelib.store.clients import TRANSACTION_ACTIONS, as_read
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import AgentChangeModel, ClientModel, StaffUnitModel, StaffUserModel
from chalicelib.store.tables import fresh_version, transact_all_or_drop, written

_TX_CLIENTS = 25  # clients moved per transaction: three puts each (client, register record, its key)


# --- users -------------------------------------------------------------------------------------


def _user(item: StaffUserModel) -> domain.StaffUser:
    return record_from(
        item,
        domain.StaffUser,
        level=int(item.level),
        permissions=tuple(str(p) for p in (item.permissions or [])),
        active=bool(item.active),
    )


def _user_item(user: domain.StaffUser, now: datetime) -> StaffUserModel:
    return item_from(
        StaffUserModel,
        user,
        permissions=list(user.permissions) or None,
        created_at=user.created_at or now,
        updated_at=now,
        branch_key=f"{user.company_id}#{user.branch}" if user.branch else None,
        department_key=f"{user.company_id}#{user.department}" if user.department else None,
    )


def get_user(company_id: str, user_id: str) -> domain.StaffUser | None:
    try:
        return _user(StaffUserModel.get(company_id, user_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_users(company_id: str, user_ids: Iterable[str]) -> dict[str, domain.StaffUser]:
    """The users of the directory that ``user_ids`` name, by id: one ``BatchGetItem`` per 100 ids
    (consistent, as :func:`get_user`); an id naming no one is left out."""
    keys = [(company_id, user_id) for user_id in dict.fromkeys(user_ids) if user_id]
    if not keys:
        return {}
    return {str(item.user_id): _user(item) for item in StaffUserModel.batch_get(keys, consistent_read=True)}


def add_user_once(user: domain.StaffUser, now: datetime) -> domain.StaffUser:
    """Put a user who is not in the directory yet; when someone else put them first, theirs."""
    created = create_user(user, now)
    if created is not None:
        return created
    found = get_user(user.company_id, user.user_id)
    assert found is not None  # the condition failed because it exists
    return found


def save_user(user: domain.StaffUser, now: datetime) -> domain.StaffUser:
    item = _user_item(user, now)
    item.save()
    return _user(item)


def create_user(user: domain.StaffUser, now: datetime) -> domain.StaffUser | None:
    """Put a user who is not in the directory yet; None when someone put them first (nothing
    written: change them with :func:`change_user`)."""
    item = _user_item(user, now)
    if not written(lambda: item.save(condition=StaffUserModel.user_id.does_not_exist())):
        return None
    return _user(item)


#: The fields of a user :func:`change_user` sets; a value None removes it.
USER_FIELDS = ("name", "email", "level", "branch", "department", "permissions", "active")


def change_user(
    company_id: str, user_id: str, changes: dict[str, Any], now: datetime
) -> domain.StaffUser | None:
    """Set only the fields in ``changes`` of a user in the directory (one UpdateItem: a change
    another request made meanwhile to a field not given stays), keeping the branch and department
    indexes' keys with them; the user as written, or None when there is no such user. Its
    ``source`` (how it came: at its first sign-in, or added by the directory) stays."""
    item = StaffUserModel(company_id, user_id)
    actions: list[Any] = [StaffUserModel.updated_at.set(now)]
    for name, value in changes.items():
        if name not in USER_FIELDS:
            raise ValueError(name)
        attribute = getattr(StaffUserModel, name)
        value = list(value) if name == "permissions" else value
        if value is None or value == []:
            actions.append(attribute.remove())
        else:
            actions.append(attribute.set(value))
        if name in ("branch", "department"):
            key = getattr(StaffUserModel, f"{name}_key")
            actions.append(key.set(f"{company_id}#{value}") if value else key.remove())
    if not written(lambda: item.update(actions=actions, condition=StaffUserModel.user_id.exists())):
        return None
    return _user(item)


def list_users(company_id: str) -> list[domain.StaffUser]:
    return [_user(i) for i in StaffUserModel.query(company_id)]


def users_in_branch(company_id: str, branch: str) -> list[domain.StaffUser]:
    return [_user(i) for i in StaffUserModel.by_branch.query(f"{company_id}#{branch}")]


def users_in_department(company_id: str, department: str) -> list[domain.StaffUser]:
    return [_user(i) for i in StaffUserModel.by_department.query(f"{company_id}#{department}")]


# --- branches and departments --------------------------------------------------------------------


def save_unit(unit: domain.StaffUnit) -> domain.StaffUnit:
    StaffUnitModel(
        unit.company_id, f"{unit.kind}#{unit.code}", name=unit.name, created_at=unit.created_at
    ).save()
    return unit


def list_units(company_id: str, kind: str) -> list[domain.StaffUnit]:
    return [
        domain.StaffUnit(company_id, kind, i.unit_key.partition("#")[2], i.name, i.created_at)
        for i in StaffUnitModel.query(company_id, StaffUnitModel.unit_key.startswith(f"{kind}#"))
    ]


def unit_exists(company_id: str, kind: str, code: str) -> bool:
    try:
        StaffUnitModel.get(company_id, f"{kind}#{code}")
    except DoesNotExist:
        return False
    return True


# --- preferred agents (N4) -------------------------------------------------------------------------


def clients_by_preferred_agent(company_id: str) -> dict[str, list[str]]:
    """Every preferred agent of the company's clients -> the ids of its clients (sorted). One
    Query over the company's clients, reading only the two attributes."""
    found: dict[str, list[str]] = {}
    for item in ClientModel.query(
        company_id, attributes_to_get=["client_id", "preferred_agent"], consistent_read=True
    ):
        if item.preferred_agent:
            found.setdefault(item.preferred_agent, []).append(item.client_id)
    return found


def _change(item: AgentChangeModel) -> domain.AgentChange:
    return record_from(
        item,
        domain.AgentChange,
        moves=tuple(json.loads(item.moves)),
        total=int(item.total or 0),
        moved=int(item.moved or 0),
        skipped=int(item.skipped or 0),
        pages_total=int(item.pages_total or 0),
        page_starts=tuple(json.loads(item.page_starts)) if item.page_starts else (),
        done_pages=frozenset(int(p) for p in item.pages_done or ()),
    )


def save_change(change: domain.AgentChange) -> domain.AgentChange:
    AgentChangeModel(
        change.company_id,
        change.change_id,
        moves=json.dumps(list(change.moves), ensure_ascii=False),
        fingerprint=change.fingerprint,
        state=change.state,
        total=change.total,
        created_by=change.created_by,
        created_at=change.created_at,
        updated_at=change.updated_at,
    ).save(condition=AgentChangeModel.change_id.does_not_exist())
    return change


def get_change(company_id: str, change_id: str) -> domain.AgentChange | None:
    try:
        return _change(AgentChangeModel.get(company_id, change_id, consistent_read=True))
    except DoesNotExist:
        return None


def start_applying(
    company_id: str, change_id: str, user_id: str, page_starts: Sequence[str], now: datetime
) -> bool:
    """Mark a previewed change as being applied, in ``len(page_starts)`` pages; False when it was
    applied before (or is being)."""
    item = AgentChangeModel(company_id, change_id)
    return written(
        lambda: item.update(
            actions=[
                AgentChangeModel.state.set("applying" if page_starts else "done"),
                AgentChangeModel.applied_by.set(user_id),
                AgentChangeModel.applied_at.set(now),
                AgentChangeModel.pages_total.set(len(page_starts)),
                AgentChangeModel.page_starts.set(json.dumps(list(page_starts), ensure_ascii=False)),
                AgentChangeModel.updated_at.set(now),
            ],
            condition=AgentChangeModel.state == "previewed",
        )
    )


def resume_applying(company_id: str, change_id: str, seen: datetime, now: datetime) -> bool:
    """Take a stalled change for a resume: only while it is still applying and unchanged since
    it was read (``updated_at``), so two resumes at once send its pages once."""
    item = AgentChangeModel(company_id, change_id)
    return written(
        lambda: item.update(
            actions=[AgentChangeModel.updated_at.set(now)],
            condition=(AgentChangeModel.state == "applying") & (AgentChangeModel.updated_at == seen),
        )
    )


def clients_of_page(company_id: str, start: str, end: str | None) -> list[tuple[str, str | None, datetime]]:
    """The clients whose ids are from ``start`` up to ``end`` (excluded; None: to the last), with
    their preferred agent and when they last changed: one Query of the range, three attributes."""
    condition = ClientModel.client_id >= start if end is None else ClientModel.client_id.between(start, end)
    return [
        (str(item.client_id), item.preferred_agent, item.updated_at)
        for item in ClientModel.query(
            company_id,
            condition,
            attributes_to_get=["client_id", "preferred_agent", "updated_at"],
            consistent_read=True,
        )
        if end is None or item.client_id != end
    ]


def count_page(
    company_id: str, change_id: str, page: int, moved: int, skipped: int, now: datetime
) -> domain.AgentChange | None:
    """Add one page's counts, once per page (a page run again is not counted again); the change
    is done when every page is. None when the page was counted before."""
    item = AgentChangeModel(company_id, change_id)
    if not written(
        lambda: item.update(
            actions=[
                AgentChangeModel.pages_done.add({page}),
                AgentChangeModel.moved.add(moved),
                AgentChangeModel.skipped.add(skipped),
                AgentChangeModel.updated_at.set(now),
            ],
            condition=AgentChangeModel.pages_done.does_not_exist()
            | ~AgentChangeModel.pages_done.contains(page),
        )
    ):
        return None
    change = _change(item)
    if change.state == "applying" and change.pages_done >= change.pages_total:
        _mark_done(item)
        change = _change(item)  # as the update left it (or as it was, had another page marked it)
    return change


def mark_done(company_id: str, change_id: str) -> None:
    """A change applying whose every page is counted is done."""
    _mark_done(AgentChangeModel(company_id, change_id))


def _mark_done(item: AgentChangeModel) -> None:
    written(
        lambda: item.update(
            actions=[AgentChangeModel.state.set("done")],
            condition=AgentChangeModel.state == "applying",
        )
    )


@dataclass(frozen=True)
class Moving:
    """A client a page of an agent change moves: its item as it will be written, its register
    record, and what the move is conditioned on (the agent, time and count mark it was read with)."""

    item: ClientModel
    record: domain.Communication
    old_agent: str
    stamp: datetime
    counted_under: str | None
    counted: bool | None


def _transactions_of(entries: list[Moving]) -> Iterator[list[Moving]]:
    """The clients in transactions of at most :data:`_TX_CLIENTS`, each also holding one count
    update per agent its clients leave or join, within DynamoDB's 100 actions."""
    chunk: list[Moving] = []
    named: set[str] = set()
    for entry in entries:
        its = {a for a in (entry.counted_under, entry.item.preferred_agent) if a}
        if chunk and (
            len(chunk) == _TX_CLIENTS or 3 * (len(chunk) + 1) + len(named | its) > TRANSACTION_ACTIONS
        ):
            yield chunk
            chunk, named = [], set()
        chunk.append(entry)
        named |= its
    if chunk:
        yield chunk


def move_clients(
    company_id: str,
    client_ids: Iterable[str],
    moves: dict[str, str],
    record: Callable[[str, str, str], domain.Communication],
    key_prefix: str,
    now: datetime,
) -> tuple[int, int]:
    """Move each client whose preferred agent is a key of ``moves`` to its value, each in one
    transaction with its register record (``record(client, from, to)``) and the record's
    idempotency key ``<key_prefix><client>``: a client moves once even when asked twice. Returns
    (moved, skipped): the clients this change moved now or before, and the ones no longer with
    the agent."""
    ids = list(dict.fromkeys(client_ids))
    items = {i.client_id: i for i in ClientModel.batch_get([(company_id, c) for c in ids])}
    entries: list[Moving] = []
    for client_id in ids:
        item = items.get(client_id)
        if item is None or item.preferred_agent not in moves:
            continue
        old_agent, stamp, counted = str(item.preferred_agent), item.updated_at, item.agent_counted
        new_agent = moves[old_agent]
        comm = replace(record(client_id, old_agent, new_agent), idempotency_key=key_prefix + client_id)
        entries.append(Moving(item, comm, old_agent, stamp, agents.counted_under(item), counted))
        item.preferred_agent = new_agent
        item.updated_at = now
        item.version = fresh_version()  # a client's card opened before shows the old agent
        item.agent_counted = True

    def add(tx: TransactWrite, entry: Moving) -> None:
        tx.save(
            entry.item,
            condition=(ClientModel.preferred_agent == entry.old_agent)
            & (ClientModel.updated_at == entry.stamp)
            & as_read(ClientModel.agent_counted, entry.counted),
        )
        communications.add_to_transaction(tx, entry.record)

    def counts(tx: TransactWrite, written: list[Moving]) -> None:
        """The agents' counts, moved with exactly the clients this transaction moves."""
        agents.move_counts(
            tx, company_id, agents.moves((e.counted_under, e.item.preferred_agent) for e in written)
        )

    written_now: list[Moving] = []
    for chunk in _transactions_of(entries):
        written_now += transact_all_or_drop(chunk, add, 3, extra=counts)
    done = {e.item.client_id for e in written_now}
    # Clients not moved now: moved by an earlier run of this change (its key exists), or stale.
    before = sum(
        1
        for client_id in ids
        if client_id not in done and communications.existing_key(company_id, key_prefix + client_id)
    )
    return len(done) + before, len(ids) - len(done) - before
