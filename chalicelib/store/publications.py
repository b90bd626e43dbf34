"""The files published to each client's document portal (seed 004, "Publicar en a3doc cloud").

Kept in ``register-lookups`` under the company, as ``publication#<client>#<id>`` with a
time-ordered id: a client's publications, newest first, are one Query on that prefix (the
portal's page, the staff's list, a record's "Publicado" column, the client's erasure); the
company's export reads them with the rest of the table. Client codes hold no ``#``.

Beside them, ``portal#<client>`` keeps the client's **portal key** (its ``name``): the random
value every link to the client's portal carries (``g``), made the first time a link is, and
replaced when staff revoke the client's links; the client's erasure deletes it, so a new client
of the same code gets another and no old link opens its portal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import RegisterLookupModel
from chalicelib.store.tables import Check, saved_once, transact_all_or_drop, written

PREFIX = "publication#"
ACCESS_PREFIX = "portal#"


def _prefix(client_id: str) -> str:
    return f"{PREFIX}{client_id}#"


def _publication(item: RegisterLookupModel) -> domain.Publication:
    client_id, publication_id = item.entry_key[len(PREFIX) :].rsplit("#", 1)
    data = json.loads(item.data or "{}")
    return domain.Publication(
        company_id=item.company_id,
        client_id=client_id,
        publication_id=publication_id,
        name=item.name,
        categories=tuple(sorted(item.categories or ())),
        visible=bool(item.visible),
        file=domain.AttachmentRef(
            name=item.name, content_type=data["type"], size=int(data["size"]), key=data["key"]
        ),
        record_id=data["record"],
        attachment=int(data["attachment"]),
        created_at=item.created_at,
        created_by=item.created_by,
        private_to=data.get("private_to"),
    )


def _item(publication: domain.Publication) -> RegisterLookupModel:
    data = {
        "type": publication.file.content_type,
        "size": publication.file.size,
        "key": publication.file.key,
        "record": publication.record_id,
        "attachment": publication.attachment,
        "private_to": publication.private_to,
    }
    return RegisterLookupModel(
        publication.company_id,
        _prefix(publication.client_id) + publication.publication_id,
        name=publication.name,
        data=json.dumps(data, sort_keys=True),
        visible=publication.visible,
        categories=set(publication.categories) or None,
        created_by=publication.created_by,
        created_at=publication.created_at,
    )


def add(publication: domain.Publication, checks: Sequence[Check] = ()) -> None:
    """Write a new publication, on ``checks`` (``store.erasures.unerased``: in one transaction with
    them, ``store.tables.CheckFailed`` when the client is being erased or gone, nothing written)."""
    saved_once(_item(publication), RegisterLookupModel.entry_key.does_not_exist(), checks)


def replace(publication: domain.Publication) -> bool:
    """Save a publication's new name, categories or visibility; False when it was unpublished meanwhile."""
    return written(lambda: _item(publication).save(condition=RegisterLookupModel.entry_key.exists()))


def get(company_id: str, client_id: str, publication_id: str) -> domain.Publication | None:
    try:
        return _publication(RegisterLookupModel.get(company_id, _prefix(client_id) + publication_id))
    except DoesNotExist:
        return None


def remove(company_id: str, client_id: str, publication_id: str) -> bool:
    return written(
        lambda: RegisterLookupModel(company_id, _prefix(client_id) + publication_id).delete(
            condition=RegisterLookupModel.entry_key.exists()
        )
    )


def _conditions(
    *,
    visible_only: bool = False,
    category: str | None = None,
    record_id: str | None = None,
    created_by: str | None = None,
    private_viewer: str | None = None,
) -> Any:
    """The filter of a listing: visible ones (the client's page), one category, one record's,
    one user's own (a level-4 user), and no other user's private mailbox's (H3)."""
    conditions: list[Any] = []
    if visible_only:
        conditions.append(RegisterLookupModel.visible == True)  # noqa: E712 (a DynamoDB condition)
    if category is not None:
        conditions.append(RegisterLookupModel.categories.contains(category))
    if record_id is not None:
        conditions.append(RegisterLookupModel.data.contains(json.dumps({"record": record_id})[1:-1]))
    if created_by is not None:
        conditions.append(RegisterLookupModel.created_by == created_by)
    if private_viewer is not None:
        private = json.dumps({"private_to": None})[1:-1]
        mine = json.dumps({"private_to": private_viewer})[1:-1]
        conditions.append(
            RegisterLookupModel.data.contains(private) | RegisterLookupModel.data.contains(mine)
        )
    condition = None
    for each in conditions:
        condition = each if condition is None else condition & each
    return condition


def page(
    company_id: str, client_id: str, limit: int, before: str | None = None, **criteria: Any
) -> tuple[list[domain.Publication], str | None]:
    """A client's publications newest first (one Query on its prefix), ``limit`` of them from
    just before the id ``before``, and the id the next page starts before (None: no more)."""
    prefix = _prefix(client_id)
    key = (
        RegisterLookupModel.entry_key.between(prefix, prefix + before)
        if before
        else RegisterLookupModel.entry_key.startswith(prefix)
    )
    found: list[domain.Publication] = []
    items = RegisterLookupModel.query(
        company_id, key, filter_condition=_conditions(**criteria), scan_index_forward=False
    )
    for item in items:
        publication = _publication(item)
        if publication.publication_id == before:
            continue
        if len(found) == limit:
            return found, found[-1].publication_id
        found.append(publication)
    return found, None


def every(company_id: str, client_id: str, **criteria: Any) -> Iterator[domain.Publication]:
    """All of a client's publications the criteria select (one Query, paged by DynamoDB)."""
    items = RegisterLookupModel.query(
        company_id,
        RegisterLookupModel.entry_key.startswith(_prefix(client_id)),
        filter_condition=_conditions(**criteria),
        scan_index_forward=False,
    )
    return (_publication(i) for i in items)


def item_keys(company_id: str, client_id: str) -> list[tuple[RegisterLookupModel, str]]:
    """Each of a client's publication items (to delete, its key only) with its file's key: what
    the client's erasure removes."""
    return [
        (RegisterLookupModel(company_id, i.entry_key), json.loads(i.data or "{}").get("key", ""))
        for i in RegisterLookupModel.query(
            company_id, RegisterLookupModel.entry_key.startswith(_prefix(client_id))
        )
    ]


# --- the client's portal key ---------------------------------------------------------------------


def _access_item(company_id: str, client_id: str, key: str, now: datetime) -> Any:
    return RegisterLookupModel(company_id, f"{ACCESS_PREFIX}{client_id}", name=key, created_at=now)


def portal_key(company_id: str, client_id: str) -> str | None:
    """The client's portal key (a consistent read: a link made right after a revocation carries
    the new one); None before its first link."""
    try:
        return str(
            RegisterLookupModel.get(company_id, f"{ACCESS_PREFIX}{client_id}", consistent_read=True).name
        )
    except DoesNotExist:
        return None


def first_portal_key(
    company_id: str, client_id: str, key: str, now: datetime, checks: Sequence[Check]
) -> str | None:
    """Keep ``key`` as the client's portal key unless it has one (that one is answered), on
    ``checks`` (``store.erasures.unerased``: ``store.tables.CheckFailed`` when the client is being
    erased or gone, nothing written)."""
    item = _access_item(company_id, client_id, key, now)
    if saved_once(item, RegisterLookupModel.entry_key.does_not_exist(), checks):
        return key
    return portal_key(company_id, client_id)


def replace_portal_key(
    company_id: str,
    client_id: str,
    key: str,
    now: datetime,
    record: domain.Communication,
    checks: Sequence[Check],
) -> None:
    """Give the client a new portal key (every link made before stops opening its portal) and
    write the register ``record`` that says who did, in one transaction, on ``checks``
    (``store.tables.CheckFailed``: nothing written)."""
    from chalicelib.store.communications import add_to_transaction

    item = _access_item(company_id, client_id, key, now)
    item.created_by = record.created_by
    transact_all_or_drop([record], add_to_transaction, extra=lambda tx, _: tx.save(item), checks=checks)


def portal_key_item(company_id: str, client_id: str) -> Any:
    """The client's portal key's item, by its key only: what the client's erasure deletes."""
    return RegisterLookupModel(company_id, f"{ACCESS_PREFIX}{client_id}")
