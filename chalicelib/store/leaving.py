"""A company that leaves (GDPR art. 28(3)(g); docs/decisions/0033-a-company-leaves.md): its
suspension, and every item it owns, table by table, found by key.

How each table reaches the company's items (:data:`REACHED`): most are partitioned by
``company_id`` (a Query of the partition); API keys and sending domains through their
``by-company`` index; what is keyed ``<company>#...`` from the company's own items (a client's
addresses, search terms and notes from its clients; novelties, subscriptions and alerts from the
parcels). Parcels have no index by company, and some items keyed ``<company>#...`` are named by
nothing of the company's (:data:`SCANNED_BY_PREFIX`): those tables are Scanned (filtered, paged,
resumable by their position). :data:`NOT_REACHED` names what is left, and why.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import BinaryAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.store import models as m
from chalicelib.store.publications import ACCESS_PREFIX
from chalicelib.store.tables import written

PAGE = 100

# Tables partitioned by the company (every model whose hash key is ``company_id``, but the
# companies' own), found from the models so that a table added later is reached too.
PARTITIONED: tuple[type[Model], ...] = tuple(
    model for model in m.ALL_MODELS if model is not m.CompanyModel and model._hash_keyname == "company_id"
)
# Keyed apart, each reached from something of the company's (see the module's docstring).
BY_INDEX: tuple[type[Model], ...] = (m.ApiKeyModel, m.SenderDomainModel)
UNDER_PARCELS: tuple[type[Model], ...] = (m.NoveltyModel, m.SubscriptionModel, m.AlertModel)
FROM_CLIENTS: tuple[type[Model], ...] = (m.ClientAddressModel, m.ClientSearchModel, m.ClientNoteModel)
# Keyed ``<company>#...`` with items no item of the company's names, so Scanned on that prefix:
# an endpoint's delivery log (kept after the endpoint is removed, until it expires); idempotency
# keys (a message keeps none of its own, and only a client's are indexed: a stranger's e-mail, a
# send's request id name no client); rate-limit counters (a key digests what it counts).
SCANNED_BY_PREFIX: tuple[type[Model], ...] = (m.WebhookDeliveryModel, m.MessageKeyModel, m.RateLimitModel)
REACHED: tuple[type[Model], ...] = (
    PARTITIONED + BY_INDEX + UNDER_PARCELS + FROM_CLIENTS + (m.ParcelModel,) + SCANNED_BY_PREFIX
)
# What a company's deletion does not reach, and why (its answer says so).
NOT_REACHED = {
    "rate-limits": "the counters of limits across every company (scope '*': digests of an IP address, "
    "e-mail address or phone, naming no company); they expire a month after their window",
}
# The tables :func:`export_sources` does not export, and why (the export's README.txt says so):
# Pregón's own indexes and bookkeeping, derived from what the export holds or naming no one;
# deleted with the company. Every other table is exported (a unit test holds them to it).
NOT_EXPORTED: dict[type[Model], str] = {
    m.ClientAddressModel: "client-addresses: Pregón's index of the clients by address "
    "(derived from clients.jsonl)",
    m.ClientSearchModel: "client-search: Pregón's index of the clients' search terms "
    "(derived from clients.jsonl)",
    m.MessageKeyModel: "message-keys: Pregón's idempotency keys, each guarding a message or a request once",
    m.RateLimitModel: "rate-limits: Pregón's own bookkeeping of rate limits "
    "(counters of digests naming no one)",
    m.SmsNumberClaimModel: "sms-number-claims: Pregón's claims of the company's two-way numbers "
    "(given back at the deletion; sms-settings.jsonl names them)",
    m.OutboxModel: "outboxes: Pregón's bookkeeping of sending (when each outbox wakes, its rate limit's "
    "grants, the hand-off records of messages being sent, send jobs' pages not expanded yet, the hourly "
    "bounce counts of its e-mails through Pregón's SES); its messages are in communications.jsonl",
}
# Attributes that are Pregón's bookkeeping on the company's items, not its data, never handed over
# (its export, a client's access report: :func:`handed_over`): a message's packing, index keys,
# drain's lease, attempt counter and idempotency key (``store.communications.NOT_HANDED_OVER``);
# the leases of a mailbox's sync and a domain's notices; the marks of work pending or done (a
# client's index writes left to do, its count under its agent; a parcel's place in the sweep's and
# the follow-ups' indexes, and the version a sweep's claim checks; a receivable's in the
# reminders' and open-by-client indexes; a held webhook delivery's queue message; where an access
# report's parts are kept and which run of it holds it; an erasure's files left to delete); and
# the keys of the indexes that only copy the item's own data in another form (``<company>#<client>``,
# ``<company>#<address>``, a branch's or department's key) or mark it for a sweep (a company in the
# listing, a registered domain, a schedule due, SMS credit watched). Decision 0033 lists every
# index key looked at, and why those not here are data.
BOOKKEEPING: dict[type[Model], tuple[str, ...]] = {
    m.CompanyModel: ("listed",),
    m.SenderDomainModel: ("registered", "unverified_notice_sending_until", "lapse_notice_sending_until"),
    m.AlertScheduleModel: ("due_alert_type",),
    m.SmsSettingsModel: ("credit_watch",),
    m.ClientModel: ("index_pending", "agent_counted"),
    m.ParcelModel: (
        "client_key",
        "pending_company",
        "pending_since",
        "followed_company",
        "followed_until",
        "follow_version",
    ),
    m.SubscriptionModel: ("recipient_key",),
    m.AlertModel: ("recipient_key",),
    m.MessageKeyModel: ("client_key",),
    m.SendJobModel: ("from_client_key", "to_client_key"),
    m.BusinessEventModel: ("client_key",),
    m.StaffUserModel: ("branch_key", "department_key"),
    m.ClientNoteModel: ("client_key",),
    m.ReceivableModel: ("remind_company", "open_client", "closed_client"),
    m.MailboxModel: ("sync_lease_until", "sync_shard"),
    m.WebhookDeliveryModel: ("held_job",),
    m.HistoryExportModel: ("progress", "attempt"),
    m.ClientErasureModel: ("pending_files",),
}
# Attributes never exported: secrets (KMS ciphertexts, password and key hashes), the company's
# private handle key; any binary attribute is left out too (a message's packed body is unpacked).
SECRET_WORDS = ("password", "secret", "ciphertext", "_hash", "handle_key", "service_account_key")


def table_of(model: type[Model]) -> str:
    from chalicelib.store.tables import base_table_names

    return base_table_names()[model]


# --- suspension ------------------------------------------------------------------------------


def set_suspension(company_id: str, at: datetime | None) -> bool:
    """Suspend the company (``at``) or reopen it (None), on its item first (the authorizer and
    the public pages read it), then on its sender accounts and SMS settings (the outbox reads
    those) and its webhook endpoints (their deliveries read them); False when there is no such
    company, or it was deleted. Run twice, the same."""
    action = m.CompanyModel.suspended_at.set(at) if at else m.CompanyModel.suspended_at.remove()
    condition = m.CompanyModel.company_id.exists() & m.CompanyModel.deleted_at.does_not_exist()
    if not written(lambda: m.CompanyModel(company_id).update(actions=[action], condition=condition)):
        return False
    # its sender accounts, webhook endpoints and SMS settings (their copies), each by its key
    for model in (m.SenderAccountModel, m.WebhookEndpointModel, m.SmsSettingsModel):
        _copy_suspension(model, company_id, at)
    return True


def _copy_suspension(model: Any, company_id: str, at: datetime | None) -> None:
    """Set (or remove) ``suspended_at`` on each of the company's items of ``model`` that exists."""
    field = model.suspended_at
    keys = [model._hash_keyname] + ([model._range_keyname] if model._range_keyname else [])
    for found in model.query(company_id, attributes_to_get=keys):
        item = model(*(getattr(found, k) for k in keys))
        written(
            lambda: item.update(  # noqa: B023 (called at once)
                actions=[field.set(at) if at else field.remove()],
                condition=getattr(model, keys[-1]).exists(),
            )
        )


def count_inbound_dropped(company_id: str) -> None:
    """One more message (mail or SMS) that arrived for the suspended company and was dropped."""
    written(
        lambda: m.CompanyModel(company_id).update(
            actions=[m.CompanyModel.inbound_dropped.add(1)], condition=m.CompanyModel.company_id.exists()
        )
    )


def leaving_state(company_id: str) -> dict[str, Any] | None:
    """The company's suspension, deletion and counts; None when there is no such company."""
    try:
        item = m.CompanyModel.get(company_id, consistent_read=True)
    except DoesNotExist:
        return None
    return {
        "company_id": company_id,
        "suspended_at": item.suspended_at,
        "deleted_at": item.deleted_at,
        "inbound_dropped": int(item.inbound_dropped or 0),
        "deleted": json.loads(item.deletion) if item.deletion else {},
    }


# --- reading everything the company owns (the export) ----------------------------------------


def handed_over(item: Model) -> dict[str, Any]:
    """An item's attributes as they are handed over (a company's export, a client's access
    report), as stored but without Pregón's bookkeeping (:data:`BOOKKEEPING`); a message as it was
    sent (``store.communications.as_sent``: its body and headers unpacked, no packing marker)."""
    if isinstance(item, m.CommunicationModel):
        from chalicelib.store.communications import as_sent

        return as_sent(item)
    kept = BOOKKEEPING.get(type(item), ())
    return {name: value for name, value in item.attribute_values.items() if name not in kept}


def plain_item(item: Model) -> dict[str, Any]:
    """An item as JSON-ready values, as :func:`handed_over` gives it, its secrets and binary
    attributes left out."""
    out: dict[str, Any] = {}
    secret = _secret_names(item)
    attributes = type(item).get_attributes()
    for name, value in handed_over(item).items():
        if (
            name in secret
            or any(word in name for word in SECRET_WORDS)
            or isinstance(attributes.get(name), BinaryAttribute)
        ):
            continue
        if value is not None:
            out[name] = _plain(value)
    return out


def _secret_names(item: Model) -> frozenset[str]:
    """The attributes of ``item`` that hold a secret under a plain name: a client's portal key is
    the ``name`` of its ``portal#<client>`` item in register-lookups (store.publications, decision
    0035), the half of every link to the client's portal Pregón keeps; that item is exported
    without it (who revoked the links, and when, stay). A tracking subscription's ``link_nonce``,
    signed into its unsubscribe and confirmation links so that they name it alone, is Pregón's
    secret of its links (no other product checks them), not the company's data."""
    if isinstance(item, m.RegisterLookupModel) and str(item.entry_key).startswith(ACCESS_PREFIX):
        return frozenset({"name"})
    if isinstance(item, m.SubscriptionModel):
        return frozenset({"link_nonce"})
    return frozenset()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "attribute_values"):  # a map attribute
        return {k: _plain(v) for k, v in value.attribute_values.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Position = dict[str, Any] | None


def export_sources(company_id: str) -> list[tuple[str, Callable[[Position], tuple[list[Model], Position]]]]:
    """Each kind the export writes (a table's base name) and how to read one page of it from a
    position (None: the start); a page answers its items and the position after it (None: done).
    Tables reached through another item (a parcel's novelties, a client's notes) are read whole
    under each, one page per owner; an endpoint's deliveries by the Scan of their prefix (the log
    of an endpoint removed is the company's too)."""
    sources: list[tuple[str, Callable[[Position], tuple[list[Model], Position]]]] = [
        (table_of(m.CompanyModel), lambda position: ([m.CompanyModel.get(company_id)], None))
    ]
    for model in PARTITIONED:
        if model not in NOT_EXPORTED:
            sources.append((table_of(model), _partition_pages(model, company_id)))
    for model in BY_INDEX:
        sources.append((table_of(model), _index_pages(model.by_company, company_id)))  # type: ignore[attr-defined]
    sources.append((table_of(m.ParcelModel), _parcel_pages(company_id)))
    for model in UNDER_PARCELS:
        sources.append((table_of(model), _under_parcels(model, company_id)))
    sources.append((table_of(m.ClientNoteModel), _notes_pages(company_id)))
    sources.append((table_of(m.WebhookDeliveryModel), _prefixed_pages(m.WebhookDeliveryModel, company_id)))
    return sources


def _query_page(query: Callable[..., Any], position: Position) -> tuple[list[Model], Position]:
    result = query(limit=PAGE, last_evaluated_key=position)
    items: list[Model] = list(result)
    return items, result.last_evaluated_key


def _partition_pages(
    model: type[Model], company_id: str
) -> Callable[[Position], tuple[list[Model], Position]]:
    return lambda position: _query_page(lambda **k: model.query(company_id, **k), position)


def _index_pages(index: Any, company_id: str) -> Callable[[Position], tuple[list[Model], Position]]:
    return lambda position: _query_page(lambda **k: index.query(company_id, **k), position)


def parcels_page(company_id: str, position: Position) -> tuple[list[Model], Position]:
    """The one Scan: parcels have no index by company (a parcel's key is ``<company>#<id>``), so
    their table is read a page at a time, filtered on the company; the position resumes it."""
    result = m.ParcelModel.scan(
        m.ParcelModel.company_id == company_id, limit=PAGE, page_size=500, last_evaluated_key=position
    )
    items: list[Model] = list(result)
    return items, result.last_evaluated_key


def _parcel_pages(company_id: str) -> Callable[[Position], tuple[list[Model], Position]]:
    return lambda position: parcels_page(company_id, position)


def prefixed_page(
    model: type[Model], company_id: str, position: Position, *, keys_only: bool = False
) -> tuple[list[Model], Position]:
    """A page of ``model``'s items whose key starts ``<company>#`` (:data:`SCANNED_BY_PREFIX`):
    a Scan filtered on the prefix, as the parcels' is; the position resumes it."""
    names = [str(model._hash_keyname)] + ([model._range_keyname] if model._range_keyname else [])
    result = model.scan(
        getattr(model, names[0]).startswith(f"{company_id}#"),
        limit=PAGE,
        page_size=1000,
        last_evaluated_key=position,
        attributes_to_get=names if keys_only else None,
    )
    items: list[Model] = list(result)
    return items, result.last_evaluated_key


def _prefixed_pages(
    model: type[Model], company_id: str
) -> Callable[[Position], tuple[list[Model], Position]]:
    return lambda position: prefixed_page(model, company_id, position)


def _owners_then_items(
    owners: Callable[[Position], tuple[list[str], Position]], items_of: Callable[[str], Iterator[Model]]
) -> Callable[[Position], tuple[list[Model], Position]]:
    """Pages of the items under each owner (a parcel, a client, an endpoint): a page is one page of
    owners and everything under them (an owner's items are few: a parcel's novelties, a client's
    notes)."""

    def page(position: Position) -> tuple[list[Model], Position]:
        keys, after = owners(position)
        return [item for key in keys for item in items_of(key)], after

    return page


def _parcel_keys(company_id: str) -> Callable[[Position], tuple[list[str], Position]]:
    def keys(position: Position) -> tuple[list[str], Position]:
        parcels, after = parcels_page(company_id, position)
        return [str(p.parcel_key) for p in parcels if isinstance(p, m.ParcelModel)], after

    return keys


def _under_parcels(model: type[Model], company_id: str) -> Callable[[Position], tuple[list[Model], Position]]:
    return _owners_then_items(_parcel_keys(company_id), lambda key: iter(model.query(key)))


def client_ids_page(company_id: str, position: Position) -> tuple[list[str], Position]:
    items, after = _query_page(
        lambda **k: m.ClientModel.query(company_id, attributes_to_get=["company_id", "client_id"], **k),
        position,
    )
    return [str(item.client_id) for item in items if isinstance(item, m.ClientModel)], after


def _notes_pages(company_id: str) -> Callable[[Position], tuple[list[Model], Position]]:
    """A company's notes: each is about a client (the notes' ``by-client`` index)."""
    return _owners_then_items(
        lambda position: client_ids_page(company_id, position),
        lambda client_id: iter(m.ClientNoteModel.by_client.query(f"{company_id}#{client_id}")),
    )


def raw_mail_keys(company_id: str) -> Iterator[str]:
    """``<bucket>/<key>`` of each raw e-mail (MIME, as SES stored it) the company received: its
    messages read again, a page at a time, only those naming one kept, only that attribute."""
    model = m.CommunicationModel
    for item in model.query(
        company_id,
        filter_condition=model.raw_key.exists(),
        attributes_to_get=["company_id", "communication_id", "raw_key"],
        page_size=PAGE,
    ):
        yield str(item.raw_key)


# --- deleting everything the company owns ----------------------------------------------------


def delete_items(items: list[Model]) -> int:
    """Delete ``items`` (a batch write of their keys); how many were asked to go."""
    if not items:
        return 0
    by_model: dict[type[Model], list[Model]] = {}
    for item in items:
        by_model.setdefault(type(item), []).append(item)
    for model, group in by_model.items():
        with model.batch_write() as batch:
            for item in group:
                batch.delete(item)
    return len(items)


Counted = Callable[[str, int], None]


def delete_parcels(company_id: str, counted: Counted) -> None:
    """The company's parcels (the one Scan of their table, page after page from where the last
    stopped: a run started again reads it once more from its start), each with its novelties,
    subscriptions and alerts first."""
    position: Position = None
    while True:
        parcels, position = parcels_page(company_id, position)
        keys = [str(p.parcel_key) for p in parcels if isinstance(p, m.ParcelModel)]
        for model in UNDER_PARCELS:
            counted(table_of(model), delete_items([i for key in keys for i in model.query(key)]))
        counted(table_of(m.ParcelModel), delete_items(parcels))
        if position is None:
            return


def delete_client_items(
    company_id: str, addresses_of: Callable[[str, str], list[str]], counted: Counted
) -> None:
    """What each client has outside the company's partitions (:func:`client_derived_items`)."""
    position: Position = None
    while True:
        client_ids, position = client_ids_page(company_id, position)
        for client_id in client_ids:
            for item in client_derived_items(company_id, client_id, addresses_of(company_id, client_id)):
                counted(table_of(type(item)), delete_items([item]))
        if position is None:
            return


def delete_communications(
    company_id: str,
    counted: Counted,
    delete_files: Callable[[set[str]], None],
    files_bucket: str,
) -> None:
    """The company's messages a page at a time: their files first (named on the messages), then
    the messages (their idempotency keys go with :func:`delete_prefixed`)."""
    read_page = _partition_pages(m.CommunicationModel, company_id)
    while items := read_page(None)[0]:
        files = files_of(items, files_bucket)
        delete_files(files)
        counted("files", len(files))
        counted(table_of(m.CommunicationModel), delete_items(items))


def delete_partitions(company_id: str, counted: Counted) -> None:
    """Every item of the company's partitions, and its API keys: the tables side by side (a few
    at a time), each a page of keys at a time."""
    from concurrent.futures import ThreadPoolExecutor

    sources: list[tuple[type[Model], Callable[[Position], tuple[list[Model], Position]]]] = [
        (model, _partition_pages(model, company_id)) for model in PARTITIONED
    ]
    sources.append((m.ApiKeyModel, _index_pages(m.ApiKeyModel.by_company, company_id)))

    def empty(model: type[Model], read_page: Callable[[Position], tuple[list[Model], Position]]) -> None:
        while items := read_page(None)[0]:
            counted(table_of(model), delete_items(items))

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="company-deletion") as pool:
        for done in [pool.submit(empty, model, read_page) for model, read_page in sources]:
            done.result()


def delete_prefixed(company_id: str, counted: Counted) -> None:
    """Every item keyed ``<company>#...`` of the tables no item of the company's leads to whole
    (:data:`SCANNED_BY_PREFIX`: its webhook deliveries, idempotency keys and rate-limit counters):
    each table Scanned once, filtered on the prefix, keys only, deleting a page at a time as it
    goes (an operator's one-off: seconds per million items; a table keyed by digests, or an index
    by company written on every hot-path write, would be the alternatives)."""
    for model in SCANNED_BY_PREFIX:
        position: Position = None
        while True:
            items, position = prefixed_page(model, company_id, position, keys_only=True)
            counted(table_of(model), delete_items(items))
            if position is None:
                break


def client_derived_items(company_id: str, client_id: str, addresses: list[str]) -> list[Model]:
    """What is keyed under the client outside the company's partitions: its addresses' and search
    terms' items (and those a save left pending) and its notes."""
    from chalicelib.store.clients import pending_index_items, search_keys
    from chalicelib.store.tables import existing_items

    candidates: list[Model] = [m.ClientAddressModel(f"{company_id}#{a}", client_id) for a in addresses]
    candidates += [m.ClientSearchModel(*key) for key in search_keys(company_id, client_id)]
    candidates += pending_index_items(company_id, client_id)
    found = existing_items(candidates)
    client_key = f"{company_id}#{client_id}"
    found += list(m.ClientNoteModel.by_client.query(client_key))
    return found


def files_of(items: list[Model], files_bucket: str) -> set[str]:
    """``<bucket>/<key>`` of the S3 objects messages name (bodies, attachments, raw mail)."""
    files: set[str] = set()
    for item in items:
        if not isinstance(item, m.CommunicationModel):
            continue
        if item.body_key:
            files.add(f"{files_bucket}/{item.body_key}")
        for ref in item.attachments or []:
            if ref.key:
                files.add(f"{files_bucket}/{ref.key}")
        if item.raw_key:
            files.add(item.raw_key)  # "<bucket>/<key>" as SES stored it
    return files


def record_deletion(company_id: str, counts: dict[str, int]) -> None:
    """Keep the deletion's counts so far on the company's item (a resumed run adds to them)."""
    text = json.dumps(counts, sort_keys=True)
    written(
        lambda: m.CompanyModel(company_id).update(
            actions=[m.CompanyModel.deletion.set(text)], condition=m.CompanyModel.company_id.exists()
        )
    )


def leave_tombstone(company_id: str, at: datetime) -> None:
    """The company's item becomes its tombstone: its id (``create_company`` refuses an id that
    exists: never reused by accident), when, and the counts; nothing else it held. It leaves
    the companies' listing, so every-company runs no longer see it."""
    item = m.CompanyModel.get(company_id, consistent_read=True)
    kept = {"company_id", "suspended_at", "deleted_at", "deletion", "inbound_dropped", "created_at"}
    actions = [
        getattr(m.CompanyModel, name).remove()
        for name in m.CompanyModel.get_attributes()
        if name not in kept and getattr(item, name, None) is not None and name not in ("name", "language")
    ]
    actions += [
        m.CompanyModel.deleted_at.set(at),
        m.CompanyModel.name.set("(deleted)"),
    ]
    m.CompanyModel(company_id).update(actions=actions, condition=m.CompanyModel.company_id.exists())
