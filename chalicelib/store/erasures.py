"""Erasing a client (docs/privacy.md, docs/decisions/0017-erasing-a-client.md): the job's item
and the pages of what it deletes.

Every page is found by a Query of an index by client (never a Scan) and deleted in one
transaction with the job's counters, each item on condition that it still exists: a page run
twice (two workers, a retry) deletes and counts nothing twice, and one cancelled by a race is
found again by the next page's Query. The S3 objects of a page's items are written into the job
(``pending_files``) in the same transaction and deleted after it, so a worker that dies between
the two leaves their names for the next run, and no screen ever shows an item whose body is gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store import preferred_agents as agents
from chalicelib.store.clients import as_read, pending_index_items, search_keys
from chalicelib.store.communications import about_key
from chalicelib.store.fields import record_from
from chalicelib.store.history_exports import access_report_keys
from chalicelib.store.models import (
    AlertModel,
    BusinessEventModel,
    ClientAddressModel,
    ClientErasureModel,
    ClientModel,
    ClientNoteModel,
    ClientPhoneModel,
    ClientSearchModel,
    CommunicationModel,
    CompanyModel,
    DocumentModel,
    HistoryExportModel,
    MessageKeyModel,
    OpenMovementsModel,
    ParcelModel,
    PushDeviceModel,
    ReceivableModel,
    RegisterLookupModel,
    ReminderSentModel,
    ReminderSettingsModel,
    SendJobModel,
    SubscriptionModel,
    SuppressionModel,
    TicketDayModel,
    TicketModel,
)
from chalicelib.store.publications import item_keys, portal_key_item
from chalicelib.store.tables import Check, existing_items, key_of, transacted, written

# In order; each is done when its Query finds nothing left. ``client`` deletes the client's item
# (read until then for its addresses) in the transaction that marks the erasure done.
PHASES = (
    "communications",
    "notes",
    "receivables",
    "events",
    "message_keys",
    "tracking",
    "subscriptions",
    "parcels",
    "send_jobs",
    "items",
    "late_messages",
    "client",
)
COUNTERS = ("messages", "records", "notes", "documents", "files", "other_items", "suppressions_kept")
# A transaction holds 100 actions: a page of messages is up to 4 deletions each (the message, its
# idempotency key or its job's, the document it carried) and the job's update.
MESSAGES_PAGE = 24
EVENTS_PAGE = 20
ITEMS_PAGE = 90
HASHED = "sha256:"
# The states of a message the outbox has not finished with (its outcome not yet counted on its job).
UNSENT = ("queued", "sending")
# What a send job's selection shows instead of an erased client's code.
ERASED_CODE = "(erased client)"
# How long an erasure waits for a send job that names the client and is still expanding (its
# pages read the selection) to move on; one stuck longer (a page failing, its message in a
# dead-letter queue) is changed anyway, with stand-ins for its range's pages (send_jobs_page).
EXPANDING_WAIT = timedelta(minutes=30)
# Where a send job's stored selection keeps those stand-ins (field -> code, or None: no one left).
STAND_INS = "stand_ins"


def erasure_key(company_id: str, client_id: str) -> str:
    return hashlib.sha256(f"{company_id}#{client_id}".encode()).hexdigest()


def hashed_address(company_id: str, address: str) -> str:
    """The suppression key an erasure leaves for an address: the company's digest of it, so the
    same address given again is found (``store.outbox.suppressed_among``) and no one reads it."""
    return HASHED + hashlib.sha256(f"{company_id}#{address}".encode()).hexdigest()


def _erasure(item: ClientErasureModel) -> domain.ClientErasure:
    return record_from(
        item,
        domain.ClientErasure,
        pending_files=tuple(sorted(item.pending_files or ())),
        **{name: int(getattr(item, name) or 0) for name in COUNTERS},
    )


def get_erasure(company_id: str, key: str) -> domain.ClientErasure | None:
    try:
        return _erasure(ClientErasureModel.get(company_id, key, consistent_read=True))
    except DoesNotExist:
        return None


def start_erasure(
    company_id: str, client_id: str, job_id: str, by: str, now: datetime
) -> tuple[domain.ClientErasure, bool]:
    """A new erasure of the client, unless one is running (then that one); and whether this call
    started it. A done one is replaced by the new one (the client was pushed again since). The
    company's item lists the erasure's digest (``erasing``) from the same transaction until the
    one that ends it: a send's page reads it there and skips the client."""
    key = erasure_key(company_id, client_id)
    item = ClientErasureModel(
        company_id,
        key,
        job_id=job_id,
        client_id=client_id,
        state="erasing",
        phase=PHASES[0],
        created_by=by,
        created_at=now,
        updated_at=now,
    )

    not_running = ClientErasureModel.erasure_key.does_not_exist() | (ClientErasureModel.state != "erasing")

    def build(tx: TransactWrite) -> None:
        tx.save(item, condition=not_running)
        # in the same transaction: no erasure runs before a send's page can see it (is_being_erased)
        tx.update(CompanyModel(company_id), actions=[CompanyModel.erasing.add({key})])

    for _ in range(5):  # cancelled by a condition (one runs: that one), or by a racing writer
        started = transacted(build)
        found = get_erasure(company_id, key)
        if started or (found is not None and found.state == "erasing"):
            assert found is not None
            return found, started
    raise RuntimeError(f"the erasure of a client of {company_id!r} could not start: writers kept racing it")


def files_gone(job: domain.ClientErasure, names: Iterable[str]) -> None:
    """The pending S3 objects ``names`` were deleted: forget them."""
    gone = set(names)
    if gone:
        ClientErasureModel(job.company_id, job.erasure_key).update(
            actions=[ClientErasureModel.pending_files.delete(gone)]
        )


def next_phase(job: domain.ClientErasure, now: datetime) -> bool:
    """The job's phase found nothing left: move to the next (False: another worker did)."""
    following = PHASES[PHASES.index(job.phase) + 1]
    return written(
        lambda: ClientErasureModel(job.company_id, job.erasure_key).update(
            actions=[ClientErasureModel.phase.set(following), ClientErasureModel.updated_at.set(now)],
            condition=(ClientErasureModel.phase == job.phase) & (ClientErasureModel.state == "erasing"),
        )
    )


@dataclass
class Page:
    """What one page deletes: items (each on condition it exists), counted by kind, and files; and
    what it clears on items it keeps (``updates``, each with its condition)."""

    deletions: list[Model] = field(default_factory=list)
    unconditional: list[Model] = field(default_factory=list)  # may be gone already (keys, documents)
    guarded: list[tuple[Model, Any]] = field(default_factory=list)  # deletions, with their condition
    counts: dict[str, int] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    writes: list[tuple[Model, Any]] = field(default_factory=list)  # puts, with their condition
    updates: list[tuple[Model, list[Any], Any]] = field(default_factory=list)  # (item, actions, condition)
    # The preferred agents' counts the page moves (the client's item going: store.preferred_agents)
    agent_counts: dict[str, int] = field(default_factory=dict)
    # How many entries the page's Query found: a phase is done only when it finds none (an index
    # entry a little behind its deleted item is found again until the index catches up).
    listed: int = 0

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    @property
    def empty(self) -> bool:
        return not (self.deletions or self.unconditional or self.guarded or self.writes or self.updates)

    @property
    def actions(self) -> int:
        """How many actions its transaction holds so far (besides the erasure's own update)."""
        parts = (self.deletions, self.unconditional, self.guarded, self.writes, self.updates)
        return sum(len(part) for part in parts) + len(self.agent_counts)


def commit(job: domain.ClientErasure, page: Page, now: datetime, *, done: bool = False) -> bool:
    """Delete the page's items and count them in one transaction (with the files to delete next);
    ``done`` marks the erasure done in it and forgets the client's code. False: a condition
    failed (another worker took part of the page first): nothing changed, the next Query finds
    what is left."""
    actions: list[Any] = [ClientErasureModel.updated_at.set(now)]
    actions += [getattr(ClientErasureModel, name).add(n) for name, n in page.counts.items() if n]
    if page.files:
        actions.append(ClientErasureModel.pending_files.add(page.files))
    if done:
        actions += [
            ClientErasureModel.state.set("done"),
            ClientErasureModel.phase.set("done"),
            ClientErasureModel.finished_at.set(now),
            ClientErasureModel.client_id.remove(),
        ]

    def build(tx: TransactWrite) -> None:
        named: set[tuple[str, tuple[Any, ...]]] = set()
        for item in page.deletions:
            named.add((type(item).Meta.table_name, key_of(item)))
            key = type(item)._hash_key_attribute()
            tx.delete(item, condition=key.exists())
        for item, condition in page.guarded:
            named.add((type(item).Meta.table_name, key_of(item)))
            tx.delete(item, condition=condition)
        for item in page.unconditional:
            name = (type(item).Meta.table_name, key_of(item))
            if name not in named:  # a transaction names an item once
                named.add(name)
                tx.delete(item)
        for item, condition in page.writes:
            tx.save(item, condition=condition)
        for item, item_actions, condition in page.updates:
            tx.update(item, actions=item_actions, condition=condition)
        agents.move_counts(tx, job.company_id, page.agent_counts)
        tx.update(
            ClientErasureModel(job.company_id, job.erasure_key),
            actions=actions,
            condition=(ClientErasureModel.state == "erasing") & (ClientErasureModel.phase == job.phase),
        )
        if done:  # the client goes in this transaction: no send finds it to skip any more
            tx.update(CompanyModel(job.company_id), actions=[CompanyModel.erasing.delete({job.erasure_key})])

    return transacted(build)


# --- the pages of each phase ------------------------------------------------------------------


def _document_of(cause: str | None) -> str | None:
    """The document key (``<type>#<number>``) a document's e-mail carried, from its cause."""
    if not cause or not cause.startswith("document:"):
        return None
    parts = cause.split(":", 2)
    return f"{parts[1]}#{parts[2]}" if len(parts) == 3 else None


def communications_page(job: domain.ClientErasure, files_bucket: str, *, whole: bool = False) -> Page:
    """Up to :data:`MESSAGES_PAGE` of the client's messages and register records (its ``by-client``
    index: sent, received, written by hand, logged from mailboxes), then, once none is left, of
    the messages to staff that name it (``store.communications.about_key``: colleagues told of
    its records), with their idempotency keys, the documents they carried, and their S3 bodies,
    attachments and raw mail. A send job's message not sent yet is deleted on condition it still
    is not, and counted skipped on its job. ``whole``: every one at once (read, never committed:
    :func:`erasure_walk`)."""
    company_id = job.company_id
    client_id = str(job.client_id)
    limit = None if whole else MESSAGES_PAGE
    keys = [
        (company_id, entry.communication_id)
        for entry in CommunicationModel.by_client.query(f"{company_id}#{client_id}", limit=limit)
    ]
    if not keys or whole:  # one more Query, once a phase: the rare notices to staff about the client
        keys += [
            (company_id, entry.communication_id)
            for entry in CommunicationModel.by_client.query(about_key(company_id, client_id), limit=limit)
        ]
    page = Page(listed=len(keys))
    unsent: dict[str, int] = {}  # send job -> its messages erased before they were sent
    for item in CommunicationModel.batch_get(keys):
        if not whole and page.actions + len(unsent) + 5 > 99:  # a transaction holds 100 actions
            break
        message = CommunicationModel(company_id, item.communication_id)
        if item.job_id and item.state in UNSENT:
            # erased before the outbox sent it (a page written just before or during the
            # erasure): the job counts it skipped, or it would show it waiting for ever
            page.guarded.append((message, CommunicationModel.state.is_in(*UNSENT)))
            unsent[str(item.job_id)] = unsent.get(str(item.job_id), 0) + 1
        else:
            page.deletions.append(message)
        page.count("records" if item.channel == "note" else "messages")
        if item.idempotency_key:
            page.unconditional.append(MessageKeyModel(f"{company_id}#{item.idempotency_key}"))
        if item.job_id and item.client_id:  # a job's message keeps no key (issue 14): rebuilt
            page.unconditional.append(MessageKeyModel(f"{company_id}#job:{item.job_id}:{item.client_id}"))
        document = _document_of(item.cause)
        if document:
            page.unconditional.append(DocumentModel(company_id, document))
            page.count("documents")
        if item.body_key:
            page.files.add(f"{files_bucket}/{item.body_key}")
        for ref in item.attachments or []:
            if ref.key and ref.deleted_at is None:
                page.files.add(f"{files_bucket}/{ref.key}")
        if item.raw_key:
            page.files.add(item.raw_key)  # "<bucket>/<key>" already (session 38: it was prefixed again)
    for send_job in SendJobModel.batch_get([(company_id, j) for j in sorted(unsent)]) if unsent else ():
        skipped = [SendJobModel.skipped.add(unsent[send_job.job_id])]
        page.updates.append(
            (SendJobModel(company_id, send_job.job_id), skipped, SendJobModel.job_id.exists())
        )
    page.count("files", len(page.files))
    return page


def notes_page(job: domain.ClientErasure, *, whole: bool = False) -> Page:
    page = Page()
    limit = None if whole else ITEMS_PAGE
    for item in ClientNoteModel.by_client.query(f"{job.company_id}#{job.client_id}", limit=limit):
        page.deletions.append(ClientNoteModel(item.author_key, item.note_id))
        page.count("notes")
        page.listed += 1
    return page


def receivables_page(job: domain.ClientErasure, *, whole: bool = False) -> Page:
    """The client's open receivables (``open-by-client``), then its paid and cancelled ones
    (``closed-by-client``), and their "reminder sent" markers."""
    page = Page()
    company_id = job.company_id
    client_key = f"{company_id}#{job.client_id}"
    limit = None if whole else 10
    numbers = [item.document_number for item in ReceivableModel.open_by_client.query(client_key, limit=limit)]
    if not numbers or whole:
        numbers += [
            item.document_number for item in ReceivableModel.closed_by_client.query(client_key, limit=limit)
        ]
    for number in numbers:
        page.listed += 1
        page.deletions.append(ReceivableModel(company_id, number))
        page.count("other_items")
        markers = ReminderSentModel.query(
            company_id, ReminderSentModel.marker.startswith(f"{number}#"), limit=None if whole else 8
        )
        for marker in markers:
            page.deletions.append(ReminderSentModel(company_id, marker.marker))
            page.count("other_items")
    return page


def events_page(job: domain.ClientErasure, *, whole: bool = False) -> Page:
    """The back office's events about the client (``by-client``), each with the answer given to
    it (what a repeated post is answered), and the idempotency keys of the messages it queued
    (``<cause>:<channel>:<address>``, named in that answer): they name the client's addresses."""
    company_id = job.company_id
    listed = BusinessEventModel.by_client.query(
        f"{company_id}#{job.client_id}", limit=None if whole else EVENTS_PAGE
    )
    keys = [(company_id, entry.event_key) for entry in listed]
    page = Page(listed=len(keys))
    for item in BusinessEventModel.batch_get(keys):
        message_keys = [MessageKeyModel(f"{company_id}#{k}") for k in _event_message_keys(item)]
        if (
            not whole
            and page.deletions
            and len(page.deletions) + len(page.unconditional) + 1 + len(message_keys) > ITEMS_PAGE
        ):
            continue  # with the next page
        page.deletions.append(BusinessEventModel(company_id, item.event_key))
        page.unconditional += message_keys
        page.count("other_items")
    return page


def _event_message_keys(item: BusinessEventModel) -> list[str]:
    """The idempotency keys of the messages an event queued (``producers.business_events``)."""
    event_type, _, event_id = str(item.event_key).partition("#")
    try:
        messages = json.loads(item.outcome or "{}").get("messages") or []
    except ValueError:
        return []
    keys = []
    for message in messages:
        channel, address = message.get("channel"), message.get("to_address")
        if channel and address:
            shown = address.casefold() if channel == "email" else address
            keys.append(f"event:{event_type}:{event_id}:{channel}:{shown}")
    return keys


def message_keys_page(job: domain.ClientErasure, *, whole: bool = False) -> Page:
    """The idempotency keys of the client's messages left after its messages and events (their
    ``by-client`` index): those that cannot be rebuilt from the message, e.g. a push message's,
    which names the device (``send:<request>:<client>:<device>``), or a mailbox's logged mail."""
    page = Page()
    limit = None if whole else ITEMS_PAGE
    for entry in MessageKeyModel.by_client.query(f"{job.company_id}#{job.client_id}", limit=limit):
        page.listed += 1
        page.deletions.append(MessageKeyModel(entry.key))
        page.count("other_items")
    return page


def tracking_page(job: domain.ClientErasure, addresses: Iterable[str], *, whole: bool = False) -> Page:
    """Tracking alerts sent to the client's addresses (``by-recipient``) and the parcel
    subscriptions (followers) they were sent to."""
    page = Page()
    seen: set[tuple[str, str]] = set()
    for alert in _by_recipient(page, AlertModel.by_recipient, job.company_id, addresses, whole):
        page.listed += 1
        page.deletions.append(AlertModel(alert.parcel_key, alert.alert_id))
        page.count("other_items")
        subscription = (str(alert.parcel_key), str(alert.subscription_id))
        if subscription not in seen:
            seen.add(subscription)
            page.unconditional.append(SubscriptionModel(*subscription))
    return page


def _by_recipient(
    page: Page, index: Any, company_id: str, addresses: Iterable[str], whole: bool = False
) -> Iterator[Any]:
    """The items ``index`` (a ``by-recipient`` index) holds for each of ``addresses``, each
    address's Query asking for no more than the 40 deletions ``page`` still has room for (read
    when the caller has taken the previous address's items); ``whole``: all of them."""
    for address in addresses:
        room = 40 - len(page.deletions)
        if room <= 0 and not whole:
            return
        yield from index.query(f"{company_id}#{address}", limit=None if whole else room)


def subscriptions_page(job: domain.ClientErasure, addresses: Iterable[str], *, whole: bool = False) -> Page:
    """Parcel subscriptions (followers) of the client's addresses (``by-recipient``), those never
    sent an alert too; each parcel whose followers change gets the change a cancellation makes
    (``follow_version`` bumped, so a sweep that read the followers before cannot send to these;
    the legacy copy of the followers dropped)."""
    page = Page()
    parcels: set[str] = set()
    for entry in _by_recipient(page, SubscriptionModel.by_recipient, job.company_id, addresses, whole):
        page.listed += 1
        page.deletions.append(SubscriptionModel(entry.parcel_key, entry.subscription_id))
        page.count("other_items")
        parcels.add(str(entry.parcel_key))
    for parcel in ParcelModel.batch_get(sorted(parcels)):  # those that exist
        actions = [ParcelModel.follow_version.add(1), ParcelModel.followers.remove()]
        page.updates.append((ParcelModel(parcel.parcel_key), actions, ParcelModel.parcel_key.exists()))
    return page


def parcels_page(job: domain.ClientErasure, *, whole: bool = False) -> Page:
    """The parcels of the client's shipments (``by-client``): their client's code is cleared, and
    the legacy copy of their followers (addresses) dropped; the parcel itself, its tracking ID,
    waybill and novelties stay: they are the carrier's record of the shipment and, without the
    code, name no one (docs/privacy.md)."""
    page = Page()
    client_key = f"{job.company_id}#{job.client_id}"
    for entry in ParcelModel.by_client.query(client_key, limit=None if whole else ITEMS_PAGE):
        page.listed += 1
        actions = [
            ParcelModel.client_id.remove(),
            ParcelModel.client_key.remove(),
            ParcelModel.followers.remove(),
        ]
        page.updates.append((ParcelModel(entry.parcel_key), actions, ParcelModel.client_key == client_key))
        page.count("other_items")
    return page


def send_jobs_page(job: domain.ClientErasure, now: datetime, *, whole: bool = False) -> Page:
    """Send jobs whose selection names the client's code (a bulk statement's range, indexes
    ``by-from-client`` and ``by-to-client``): the code is replaced by :data:`ERASED_CODE`, on
    condition the selection is still the one read. A job still expanding reads its selection for
    each page: it is left for a later page of the erasure while it moves (its ``updated_at``
    within :data:`EXPANDING_WAIT`); one stuck longer is changed anyway, and its pages to come read
    the range's end as a *stand-in*: the nearest client code the other side of the erased one
    (:func:`stand_ins_of`), which selects the same clients, since the erased one is gone."""
    from chalicelib.store.outbox import CODE_FIELDS

    client_key = f"{job.company_id}#{job.client_id}"
    page = Page()
    keys = {
        (job.company_id, str(e.job_id))
        for index in (SendJobModel.by_from_client, SendJobModel.by_to_client)
        for e in index.query(client_key, limit=None if whole else ITEMS_PAGE // 2)
    }
    page.listed = len(keys)
    for item in SendJobModel.batch_get(sorted(keys)):
        expanding = item.state == "expanding"
        if expanding and item.updated_at > now - EXPANDING_WAIT and not whole:
            continue
        spec = json.loads(item.selection or "{}")
        stand_ins: dict[str, str | None] = spec.pop(STAND_INS, None) or {}
        for conditions in (spec.get("selection") or {}).values():
            for name in CODE_FIELDS:
                if isinstance(conditions, dict) and conditions.get(name) == job.client_id:
                    conditions[name] = ERASED_CODE
                    stand_ins[name] = job.client_id
        for name, code in stand_ins.items():  # this client's, or the stand-in is this client
            if code == job.client_id:
                stand_ins[name] = _neighbour(job.company_id, str(code), name) if expanding else None
        kept = stand_ins if expanding else {}  # a job done expanding reads its selection no more
        if kept:
            spec[STAND_INS] = kept
        actions = [SendJobModel.selection.set(json.dumps(spec, ensure_ascii=False))]
        for name in CODE_FIELDS:
            if getattr(item, f"{name}_key") == client_key:
                attribute = getattr(SendJobModel, f"{name}_key")
                stand_in = kept.get(name)  # found again should the stand-in's client be erased
                actions.append(
                    attribute.set(f"{job.company_id}#{stand_in}") if stand_in else attribute.remove()
                )
        page.updates.append(
            (SendJobModel(job.company_id, item.job_id), actions, SendJobModel.selection == item.selection)
        )
        page.count("other_items")
    return page


def _neighbour(company_id: str, client_id: str, name: str) -> str | None:
    """The client code nearest ``client_id`` inside a range whose ``name`` end it is: the next code
    after it for a start (``from_client``), the one before it for an end (``to_client``); None
    when there is none (the range holds no one else)."""
    start = name == "from_client"
    condition = ClientModel.client_id > client_id if start else ClientModel.client_id < client_id
    for item in ClientModel.query(company_id, condition, scan_index_forward=start, limit=1):
        return str(item.client_id)
    return None


def stand_ins_of(spec: dict[str, Any]) -> tuple[dict[str, str], bool]:
    """A send job's stand-ins for the ends of its range an erasure took while it was expanding
    (``from_client``, ``to_client``: see :func:`send_jobs_page`), and whether the range is now
    empty (an end with no client the other side of the erased one)."""
    found = spec.get(STAND_INS) or {}
    return {name: code for name, code in found.items() if code}, any(not c for c in found.values())


def holds_anything(company_id: str, client_id: str) -> bool:
    """Whether Pregón holds anything under ``client_id`` an erasure would find without the
    client's item (which names its addresses): an entry in one of the indexes by client, its
    reminder settings, open movements or push devices. One Query or GetItem of one key each, in
    the erasure's order, the first found answering; all of them (about 11 read units) for a code
    that names nothing. What only the client's addresses find (alerts, subscriptions) is not
    looked for: with the client gone, its erasure could not find them either."""
    client_key = f"{company_id}#{client_id}"
    indexes = (
        CommunicationModel.by_client,
        ClientNoteModel.by_client,
        ReceivableModel.open_by_client,
        ReceivableModel.closed_by_client,
        BusinessEventModel.by_client,
        MessageKeyModel.by_client,
        ParcelModel.by_client,
        SendJobModel.by_from_client,
        SendJobModel.by_to_client,
    )
    if any(next(iter(index.query(client_key, limit=1)), None) is not None for index in indexes):
        return True
    notices = CommunicationModel.by_client.query(about_key(company_id, client_id), limit=1)
    if next(iter(notices), None) is not None:
        return True
    devices = PushDeviceModel.query(
        company_id, PushDeviceModel.device_key.startswith(f"{client_id}#"), limit=1
    )
    if next(iter(devices), None) is not None:
        return True
    singles: list[Model] = [
        ReminderSettingsModel(company_id, f"client#{client_id}"),
        OpenMovementsModel(company_id, client_id),
    ]
    return bool(existing_items(singles))


def unerased(company_id: str, client_id: str, *, client_item: bool = True) -> list[Check]:
    """The conditions a message to one client is written on, in its transaction
    (``store.communications.add_new``'s ``checks``): no erasure of the client runs (the company's
    ``erasing`` does not list it) and none ran to its end (the client's item is there). Either
    the message is written before the erasure starts, and the erasure finds it, or it is not
    written: ``store.tables.CheckFailed`` names the first check (0) when the client is being
    erased, the second (1) when it is gone. Without ``client_item`` (a code no client item ever
    had, as a parcel's alert may name), only the first."""
    key = erasure_key(company_id, client_id)

    def not_erasing(tx: TransactWrite) -> None:
        tx.condition_check(CompanyModel, company_id, condition=~CompanyModel.erasing.contains(key))

    def client_there(tx: TransactWrite) -> None:
        tx.condition_check(ClientModel, company_id, client_id, condition=ClientModel.client_id.exists())

    return [not_erasing, client_there] if client_item else [not_erasing]


def is_being_erased(company_id: str, client_id: str, erasing: frozenset[str]) -> bool:
    """Whether ``client_id`` is among the clients its company is erasing, as the company's item
    lists them (``erasing``, read with the company: ``store.companies.company_and_erasing``)."""
    return bool(erasing) and erasure_key(company_id, client_id) in erasing


def single_items(
    job: domain.ClientErasure, addresses: Iterable[str], phones: Iterable[str], *, whole: bool = False
) -> Page:
    """What is left under the client's code and addresses, each small: its document portal's
    publications (and their files) and its access reports (and their ZIPs) first, then its portal
    key, reminder settings, open movements, push devices, tickets and tickets' day counts, the
    address, phone and search (``GET /clients?q=``) indexes; and its suppressions, put back under
    their digest (:func:`hashed_address`)."""
    company_id, client_id = job.company_id, str(job.client_id)
    page = Page()
    published = item_keys(company_id, client_id)
    reports = access_report_keys(company_id, client_id)
    if not whole:
        published = published[: ITEMS_PAGE // 2]
        reports = reports[: ITEMS_PAGE // 2 - len(published)]
    if published or reports:  # its publications and access reports, and their files, a page of their own
        from chalicelib.core.settings import get_settings

        bucket = get_settings().files_bucket
        for publication, key in published:
            page.deletions.append(publication)
            page.count("other_items")
            if key:
                page.files.add(f"{bucket}/{key}")
        for report, report_file in reports:
            # on condition that its file is still the one read: a report whose build finishes
            # meanwhile keeps its ZIP, and the next Query finds it with it
            held = (
                HistoryExportModel.file_key == report_file
                if report_file
                else HistoryExportModel.file_key.does_not_exist()
            )
            page.guarded.append((report, HistoryExportModel.export_id.exists() & held))
            page.count("other_items")
            if report_file:
                page.files.add(f"{bucket}/{report_file}")
        page.count("files", len(page.files))
        page.listed = len(page.deletions) + len(page.guarded)
        if not whole:
            return page
    candidates: list[Model] = [
        portal_key_item(company_id, client_id),
        ReminderSettingsModel(company_id, f"client#{client_id}"),
        OpenMovementsModel(company_id, client_id),
    ]
    candidates += [
        PushDeviceModel(company_id, d.device_key)
        for d in PushDeviceModel.query(company_id, PushDeviceModel.device_key.startswith(f"{client_id}#"))
    ]
    candidates += [
        TicketDayModel(company_id, d.client_day)
        for d in TicketDayModel.query(company_id, TicketDayModel.client_day.startswith(f"{client_id}#"))
    ]
    candidates += [
        TicketModel(company_id, t.ticket_id)
        for t in TicketModel.query(company_id, filter_condition=TicketModel.client_id == client_id)
    ]
    candidates += [ClientAddressModel(f"{company_id}#{a}", client_id) for a in addresses]
    candidates += [ClientPhoneModel(company_id, f"{p}#{client_id}") for p in phones]
    candidates += [ClientSearchModel(*key) for key in search_keys(company_id, client_id)]
    candidates += pending_index_items(company_id, client_id)  # a save's stale ones not yet deleted
    found = existing_items(candidates)
    for item in found if whole else found[:ITEMS_PAGE]:
        page.deletions.append(item)
        page.count("other_items")
    page.listed = len(page.deletions)
    if page.listed > ITEMS_PAGE // 2 and not whole:
        return page  # the suppressions with the next page (a transaction holds 100 actions)
    suppressed = SuppressionModel.batch_get([(company_id, a) for a in {*addresses, *phones}])
    for entry in suppressed:
        page.deletions.append(SuppressionModel(company_id, entry.address))
        kept = SuppressionModel(
            company_id,
            hashed_address(company_id, str(entry.address)),
            reason=entry.reason,
            created_at=entry.created_at,
        )
        page.writes.append((kept, None))
        page.count("suppressions_kept")
        page.listed += 1
    return page


def client_of(company_id: str, client_id: str) -> ClientModel | None:
    try:
        return ClientModel.get(company_id, client_id, consistent_read=True)
    except DoesNotExist:
        return None


def client_page(job: domain.ClientErasure) -> Page:
    """The client's item itself (the last thing erased), its preferred agent's count going down
    with it: on condition that the client still has the agent and count mark read (a page run
    again finds no client and counts nothing)."""
    page = Page()
    item = client_of(job.company_id, str(job.client_id))
    if item is not None:
        page.listed = 1
        held = as_read(ClientModel.preferred_agent, item.preferred_agent) & as_read(
            ClientModel.agent_counted, item.agent_counted
        )
        page.guarded.append((ClientModel(job.company_id, str(job.client_id)), held))
        page.agent_counts = agents.moves([(agents.counted_under(item), None)])
        page.count("other_items")
    return page


# --- the keys of the indexes by client, for items stored before them -------------------------


def backfill_erasure_keys() -> dict[str, int]:
    """Give the items stored before the erasure's indexes by client their keys (an operator's
    one-off after an upgrade: a Scan, as only such one-offs do, of the seven tables, each item
    once). Each update is conditioned on the item still being as read, so a write racing it wins;
    run again, it finds nothing to do. Returns how many items of each table it keyed."""
    from chalicelib.store.outbox import selection_codes

    keyed = dict.fromkeys(
        (
            "receivables",
            "business_events",
            "parcels",
            "subscriptions",
            "send_jobs",
            "message_keys",
            "register_notices",
            "records_out_of_register",
        ),
        0,
    )
    closed = (ReceivableModel.state != "open") & ReceivableModel.closed_client.does_not_exist()
    for rec in ReceivableModel.scan(closed):
        keyed["receivables"] += _keyed(
            rec,
            [ReceivableModel.closed_client.set(f"{rec.company_id}#{rec.client_id}")],
            (ReceivableModel.state == rec.state) & ReceivableModel.closed_client.does_not_exist(),
        )
    for event in BusinessEventModel.scan(BusinessEventModel.client_key.does_not_exist()):
        keyed["business_events"] += _keyed(
            event,
            [BusinessEventModel.client_key.set(f"{event.company_id}#{event.client_id}")],
            BusinessEventModel.client_id == event.client_id,
        )
    for parcel in ParcelModel.scan(ParcelModel.client_id.exists() & ParcelModel.client_key.does_not_exist()):
        keyed["parcels"] += _keyed(
            parcel,
            [ParcelModel.client_key.set(f"{parcel.company_id}#{parcel.client_id}")],
            ParcelModel.client_id == parcel.client_id,
        )
    for sub in SubscriptionModel.scan(SubscriptionModel.recipient_key.does_not_exist()):
        keyed["subscriptions"] += _keyed(
            sub,
            [SubscriptionModel.recipient_key.set(f"{sub.company_id}#{str(sub.email).lower()}")],
            SubscriptionModel.email == sub.email,
        )
    unkeyed = SendJobModel.from_client_key.does_not_exist() & SendJobModel.to_client_key.does_not_exist()
    for send_job in SendJobModel.scan(unkeyed):
        named = selection_codes(send_job.selection)
        if named:
            actions = [
                getattr(SendJobModel, f"{name}_key").set(f"{send_job.company_id}#{code}")
                for name, code in named.items()
            ]
            keyed["send_jobs"] += _keyed(send_job, actions, SendJobModel.selection == send_job.selection)
    keyed["message_keys"] = _key_message_keys()
    keyed["register_notices"], keyed["records_out_of_register"] = _key_messages_outside_registers()
    return keyed


# The producer's ``message_type`` and ``cause`` (``register-notice:<client>/<record>``) of a
# colleague's notice of a register record (``producers.register_notices``; the store does not
# import producers).
_NOTICE_TYPE = "register_notice"
_NOTICE_CAUSE = "register-notice:"


def _key_messages_outside_registers() -> tuple[int, int]:
    """Give the erasure's key (``store.communications.about_key``) to what names a client outside
    its register and was stored without one: each colleague's notice of a register record sent
    before notices named their client (``about_client``, read from its cause), and each message
    staff took out of a client's register before such messages kept it. A Scan of the
    communications, the largest table: once. Returns (notices, records out of a register)."""
    notices = out_of_register = 0
    unkeyed = CommunicationModel.client_key.does_not_exist() & (
        CommunicationModel.client_id.exists()
        | ((CommunicationModel.message_type == _NOTICE_TYPE) & CommunicationModel.client_id.does_not_exist())
    )
    for item in CommunicationModel.scan(unkeyed):
        if item.client_id:
            key = about_key(item.company_id, item.client_id)
            out_of_register += _keyed(
                item, [CommunicationModel.client_key.set(key)], CommunicationModel.client_key.does_not_exist()
            )
            continue
        cause = str(item.cause or "")
        client_id = cause.removeprefix(_NOTICE_CAUSE).partition("/")[0]
        if cause.startswith(_NOTICE_CAUSE) and client_id:
            notices += _keyed(
                item,
                [
                    CommunicationModel.about_client.set(client_id),
                    CommunicationModel.client_key.set(about_key(item.company_id, client_id)),
                ],
                CommunicationModel.client_key.does_not_exist(),
            )
    return notices, out_of_register


def _key_message_keys() -> int:
    """Give each idempotency key stored before ``by-client`` its message's client (read from the
    message, 100 keys to a batch read); a key whose message is gone or names no client (a send
    job's request key) stays unkeyed."""
    keyed = 0
    unkeyed = MessageKeyModel.scan(MessageKeyModel.client_key.does_not_exist())
    while chunk := list(islice(unkeyed, 100)):
        by_message = {(str(k.key).partition("#")[0], str(k.communication_id)): k for k in chunk}
        for message in CommunicationModel.batch_get(list(by_message)):
            entry = by_message[(message.company_id, message.communication_id)]
            if message.client_id:
                keyed += _keyed(
                    entry,
                    [MessageKeyModel.client_key.set(f"{message.company_id}#{message.client_id}")],
                    MessageKeyModel.communication_id == entry.communication_id,
                )
    return keyed


def _keyed(item: Model, actions: list[Any], condition: Any) -> int:
    """1 when ``item`` took ``actions`` (on ``condition``), 0 when it changed since it was read."""
    return int(written(lambda: item.update(actions=actions, condition=condition)))


# --- the same walk, read only: what a client's access report lists (docs/privacy.md) ----------

# What each item is called in an access report, by its table's model.
KINDS: dict[type[Model], str] = {
    ClientModel: "client",
    CommunicationModel: "messages",
    DocumentModel: "documents",
    ClientNoteModel: "notes",
    ReceivableModel: "receivables",
    ReminderSentModel: "reminders_sent",
    ReminderSettingsModel: "reminder_settings",
    OpenMovementsModel: "open_movements",
    BusinessEventModel: "business_events",
    MessageKeyModel: "message_keys",
    AlertModel: "tracking_alerts",
    SubscriptionModel: "tracking_subscriptions",
    ParcelModel: "parcels",
    SendJobModel: "send_jobs",
    PushDeviceModel: "devices",
    TicketModel: "tickets",
    TicketDayModel: "ticket_days",
    ClientAddressModel: "address_index",
    ClientPhoneModel: "phone_index",
    ClientSearchModel: "search_index",
    SuppressionModel: "suppressions",
    RegisterLookupModel: "portal_publications",
    HistoryExportModel: "access_reports",
}


@dataclass
class Holdings:
    """What an erasure of the client would do now, read and not done: the items it would delete
    and those it would keep changed (each as stored), the S3 objects it would delete, and the
    suppressions it would keep under a digest."""

    deleted: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    changed: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    suppressions_kept: int = 0


def erasure_walk(
    company_id: str,
    client_id: str,
    addresses: list[str],
    phones: list[str],
    files_bucket: str,
    now: datetime,
    *,
    read: tuple[str, ...] | None = None,
) -> Holdings:
    """Every page of an erasure of the client (its phases' own page functions, each ``whole``:
    every Query read to its end, nothing committed), and each item it names as stored. The one
    list both rights answer from: what the erasure deletes is what the access report lists.
    ``read``: of each item, only its key and these attributes (the report reads the rest a part
    at a time); None: all of them."""
    job = domain.ClientErasure(company_id, "", "", "reading", PHASES[0], "", now, now, client_id=client_id)
    pages = [
        communications_page(job, files_bucket, whole=True),
        notes_page(job, whole=True),
        receivables_page(job, whole=True),
        events_page(job, whole=True),
        message_keys_page(job, whole=True),
        tracking_page(job, addresses, whole=True),
        subscriptions_page(job, addresses, whole=True),
        parcels_page(job, whole=True),
        send_jobs_page(job, now, whole=True),
        single_items(job, addresses, phones, whole=True),
        client_page(job),
    ]
    held = Holdings()
    deleted: list[Model] = []
    changed: list[Model] = []
    for page in pages:
        deleted += page.deletions + [item for item, _ in page.guarded] + page.unconditional
        changed += [item for item, _, _ in page.updates]
        held.files |= page.files
        held.suppressions_kept += page.counts.get("suppressions_kept", 0)
    held.deleted = _as_stored(deleted, read)
    named = {(kind, key) for kind, key, _ in held.deleted}
    held.changed = [entry for entry in _as_stored(changed, read) if entry[:2] not in named]
    return held


def items_of_kind(kind: str, keys: list[list[Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The items of ``kind`` (as :data:`KINDS` names a table) under ``keys`` that exist, each as
    handed over (``store.leaving.handed_over``: as stored, less Pregón's bookkeeping; a message as
    it was sent), by key (a batch read: an access report reads a step's items so)."""
    from chalicelib.store.leaving import handed_over
    from chalicelib.store.models import ALL_MODELS

    model = next((m for m, name in KINDS.items() if name == kind), None)
    model = model or next(m for m in ALL_MODELS if m.__name__ == kind)
    wanted = [key[0] if len(key) == 1 else tuple(key) for key in keys]
    return {key_of(item): handed_over(item) for item in model.batch_get(wanted)}


def _as_stored(
    items: list[Model], read: tuple[str, ...] | None = None
) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """Each of ``items`` that exists, once, as its kind, its key and its attributes (a batch read
    of their keys; an unconditional deletion of an item already gone names nothing); ``read``:
    only these attributes besides the key."""
    by_model: dict[type[Model], dict[tuple[Any, ...], None]] = {}
    for item in items:
        by_model.setdefault(type(item), {})[key_of(item)] = None
    found: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for model, keys in by_model.items():
        kind = KINDS.get(model, model.__name__)
        wanted = [key[0] if len(key) == 1 else key for key in keys]  # a table with no range key
        names = None
        if read is not None:
            keys_named = [n for n in (model._hash_keyname, model._range_keyname) if n]
            names = keys_named + [n for n in read if n in model.get_attributes()]
        for stored in model.batch_get(wanted, attributes_to_get=names):
            found.append((kind, key_of(stored), dict(stored.attribute_values)))
    return sorted(found, key=lambda entry: (entry[0], [str(part) for part in entry[1]]))
