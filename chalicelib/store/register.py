"""The register's company tables (motives, areas) and each user's saved history filters.

One table, ``register-lookups``, keyed by company: ``motive#<code>``, ``area#<code>`` and
``filter#<user>#<id>``. Every listing is a Query on the company with a key prefix, never a Scan;
a user's filters sit under that user's own prefix, so nobody else's are ever read.
"""

from __future__ import annotations

import json

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import RegisterLookupModel
from chalicelib.store.tables import fresh_version, new_version, version_held, written


def _lookup(item: RegisterLookupModel) -> domain.RegisterLookup:
    table, code = item.entry_key.split("#", 1)
    return domain.RegisterLookup(
        item.company_id, table, code, item.name, item.created_at, version=int(item.version or 0)
    )


def add_lookup(entry: domain.RegisterLookup, created_by: str) -> int | None:
    """Create a motive or an area at a fresh version (the version written); None when that code
    exists already."""
    version = fresh_version()
    added = written(
        lambda: RegisterLookupModel(
            entry.company_id,
            f"{entry.table}#{entry.code}",
            name=entry.name,
            created_by=created_by,
            created_at=entry.created_at,
            version=version,
        ).save(condition=RegisterLookupModel.entry_key.does_not_exist())
    )
    return version if added else None


def rename_lookup(
    company_id: str, table: str, code: str, name: str, expected: tuple[int, ...] | None = None
) -> domain.RegisterLookup | None:
    """Rename a motive or an area as its next version; None (nothing written) when there is none,
    or it is no longer at a version ``expected`` names (``If-Match``)."""
    item = RegisterLookupModel(company_id, f"{table}#{code}")
    condition = RegisterLookupModel.entry_key.exists()
    held = version_held(RegisterLookupModel, expected)
    if held is not None:
        condition = condition & held
    actions = [RegisterLookupModel.name.set(name), new_version(RegisterLookupModel)]
    if not written(lambda: item.update(actions=actions, condition=condition)):
        return None
    return _lookup(item)


def get_lookup(company_id: str, table: str, code: str) -> domain.RegisterLookup | None:
    try:
        return _lookup(RegisterLookupModel.get(company_id, f"{table}#{code}"))
    except DoesNotExist:
        return None


def list_lookups(company_id: str, table: str) -> list[domain.RegisterLookup]:
    items = RegisterLookupModel.query(company_id, RegisterLookupModel.entry_key.startswith(f"{table}#"))
    return [_lookup(i) for i in items]


def seed_once(company_id: str, table: str) -> bool:
    """True the first time it is asked for a company's ``table`` (its defaults are to be written
    then), False ever after: a marker ``seeded#<table>`` is written on condition it is not there."""
    from chalicelib.core import clock

    return written(
        lambda: RegisterLookupModel(company_id, f"seeded#{table}", name=table, created_at=clock.now()).save(
            condition=RegisterLookupModel.entry_key.does_not_exist()
        )
    )


def seeded(company_id: str, table: str) -> bool:
    """Whether :func:`seed_once` was asked for ``table`` already (one GetItem of its marker)."""
    try:
        RegisterLookupModel.get(company_id, f"seeded#{table}", consistent_read=True)
    except DoesNotExist:
        return False
    return True


def delete_lookup(company_id: str, table: str, code: str) -> bool:
    return written(
        lambda: RegisterLookupModel(company_id, f"{table}#{code}").delete(
            condition=RegisterLookupModel.entry_key.exists()
        )
    )


# --- saved history filters ("my filters") --------------------------------------------------------


def _filter_prefix(user_id: str) -> str:
    return f"filter#{user_id}#"


def _saved(item: RegisterLookupModel) -> domain.SavedFilter:
    user_and_id = item.entry_key[len("filter#") :]
    user_id, filter_id = user_and_id.rsplit("#", 1)
    return domain.SavedFilter(
        company_id=item.company_id,
        user_id=user_id,
        filter_id=filter_id,
        name=item.name,
        criteria=dict(json.loads(item.data or "{}")),
        created_at=item.created_at,
        channel=item.channel,
    )


def save_filter(saved: domain.SavedFilter) -> domain.SavedFilter:
    RegisterLookupModel(
        saved.company_id,
        _filter_prefix(saved.user_id) + saved.filter_id,
        name=saved.name,
        data=json.dumps(saved.criteria, sort_keys=True),
        channel=saved.channel,
        created_by=saved.user_id,
        created_at=saved.created_at,
    ).save()
    return saved


def list_filters(company_id: str, user_id: str, channel: str | None = None) -> list[domain.SavedFilter]:
    """The user's saved filters (a key-prefix query); with ``channel``, those saved from that
    history and those saved for every history (no channel), as a filter on the user's own items."""
    condition = None
    if channel is not None:
        condition = (RegisterLookupModel.channel == channel) | RegisterLookupModel.channel.does_not_exist()
    items = RegisterLookupModel.query(
        company_id,
        RegisterLookupModel.entry_key.startswith(_filter_prefix(user_id)),
        filter_condition=condition,
    )
    return [_saved(i) for i in items]


def get_filter(company_id: str, user_id: str, filter_id: str) -> domain.SavedFilter | None:
    try:
        return _saved(RegisterLookupModel.get(company_id, _filter_prefix(user_id) + filter_id))
    except DoesNotExist:
        return None


def delete_filter(company_id: str, user_id: str, filter_id: str) -> bool:
    return written(
        lambda: RegisterLookupModel(company_id, _filter_prefix(user_id) + filter_id).delete(
            condition=RegisterLookupModel.entry_key.exists()
        )
    )
