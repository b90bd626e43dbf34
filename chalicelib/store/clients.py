"""Clients of a company and their contact persons."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.core.names import fold
from chalicelib.store import preferred_agents as agents
from chalicelib.store.fields import checked_cursor, item_from, page_of, record_from
from chalicelib.store.models import (
    ClientAddressModel,
    ClientContact,
    ClientModel,
    ClientPhoneModel,
    ClientSearchModel,
)
from chalicelib.store.tables import fresh_version, transacted, written

# A save that lost the race to another save of the same client is tried again this many times.
SAVE_ATTEMPTS = 3


def as_dict(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return dict(raw.as_dict()) if hasattr(raw, "as_dict") else dict(raw)


def _client(item: ClientModel) -> domain.Client:
    return record_from(
        item,
        domain.Client,
        emails=tuple(str(e) for e in (item.emails or [])),
        phones=tuple(str(p) for p in (item.phones or [])),
        contacts=tuple(
            record_from(
                c,
                domain.Contact,
                wants_cargo_info=bool(c.wants_cargo_info),
                receives_reminders=bool(c.receives_reminders),
            )
            for c in (item.contacts or [])
        ),
        message_switches={str(k): bool(v) for k, v in as_dict(item.message_switches).items()},
        classification={str(k): str(v) for k, v in as_dict(item.classification).items()},
        version=int(item.version or 0),
    )


# The region local phone numbers are read in, or what reads it: called only when a client saved or
# replaced has a phone (a push of clients without phones reads no SMS settings nor company).
PhoneRegion = str | Callable[[], str]


def save_client(
    client: domain.Client,
    phone_region: PhoneRegion = "AR",
    if_match: tuple[int, ...] | None = None,
    *,
    create_only: bool = False,
) -> domain.Client:
    """Create or replace a client (the back office is the source of truth for its clients), with
    its search, phone and address items in the same transaction: a search, an inbound SMS or an
    inbound e-mail never finds it by a name, number or address it does not have (when they do not
    fit in one transaction, :func:`_index_after`). The write holds only if the stored client is
    still the one read (its ``updated_at`` and ``version``): two back offices pushing the same
    client at once each diff against what they replace. Every save gives the client a fresh version
    (docs/decisions/0016-edit-versions.md); with ``if_match`` (the versions an ``If-Match`` names:
    the console's card), a 412 when the stored client is at none of them, someone (a clerk, the
    company's system) having saved it since; with ``create_only`` (``If-None-Match: *``: the
    console's new client), a 412 when there is a client of that code. Refused, nothing is written.
    While the client's erasure runs (from the transaction that starts it to the one that deletes
    the client, across its resumable runs), a 409 saying so (:func:`erasing_refusal`): the save
    neither brings the client back nor leaves an index item the erasure has passed."""
    from chalicelib.core.errors import Conflict

    for _attempt in range(SAVE_ATTEMPTS):
        saved = _save_once(client, phone_region, if_match, create_only)
        if saved is not None:
            return saved
    raise Conflict(f"the client {client.client_id!r} is being saved by someone else; try again")


def _not_erasing(tx: TransactWrite, company_id: str, client_id: str) -> None:
    """The condition, in a transaction that writes a client or its index items, that no erasure
    of the client runs (its company's ``erasing`` does not list it: ``store.erasures.unerased``)."""
    from chalicelib.store.erasures import unerased  # erasures reads this module's helpers

    [not_erasing] = unerased(company_id, client_id, client_item=False)
    not_erasing(tx)


def being_erased(company_id: str, client_id: str) -> bool:
    """Whether the client's erasure is running now (one consistent read of its company's item)."""
    from chalicelib.store.companies import company_and_erasing
    from chalicelib.store.erasures import is_being_erased

    return is_being_erased(company_id, client_id, company_and_erasing(company_id)[1])


def erasing_refusal(client_id: str) -> Exception:
    """The 409 a save of a client being erased answers."""
    from chalicelib.core.errors import Conflict

    return Conflict(
        f"the client {client_id!r} is being erased (GET /clients/{client_id}/erasure): nothing was saved; "
        "once its erasure is done, saving it makes a new, empty client"
    )


# DynamoDB's limit on the actions of one transaction (TransactWriteItems).
TRANSACTION_ACTIONS = 100


def _save_once(
    client: domain.Client, phone_region: PhoneRegion, if_match: tuple[int, ...] | None, create_only: bool
) -> domain.Client | None:
    """One try of :func:`save_client`; None when another save of the client came first."""
    from chalicelib.core.errors import PreconditionFailed, edited_meanwhile

    # The stored client says which index entries to remove; read it once for every index.
    try:
        stored_item: ClientModel | None = ClientModel.get(
            client.company_id, client.client_id, consistent_read=True
        )
    except DoesNotExist:
        stored_item = None
    stored = _client(stored_item) if stored_item is not None else None
    if create_only and stored is not None:
        raise PreconditionFailed(
            f"there is a client {client.client_id!r} already and If-None-Match: * only creates one: "
            "nothing was saved (open that client, or choose another code)",
            field="If-None-Match",
        )
    if if_match is not None and (stored.version if stored is not None else 0) not in if_match:
        raise edited_meanwhile("this client")
    item = ClientModel(
        client.company_id,
        client.client_id,
        name=client.name,
        emails=list(client.emails),
        phones=list(client.phones),
        contacts=[item_from(ClientContact, c) for c in client.contacts],
        message_switches=dict(client.message_switches),
        preferred_agent=client.preferred_agent,
        collection_agent=client.collection_agent,
        updated_at=client.updated_at,
        balance=client.balance,
        classification=dict(client.classification) or None,
        # the client's own unsubscribe outlives the back office pushing the client again
        manual_sends_off_at=client.manual_sends_off_at or (stored.manual_sends_off_at if stored else None),
        manual_sends_off_told=stored_item.manual_sends_off_told if stored_item is not None else None,
        version=fresh_version(),
        agent_counted=True,
    )
    # An unsubscribe (turn_off_manual_sends) changes neither updated_at nor anything else read
    # here: the condition holds its mark as read, or a save racing a click would wipe it.
    unchanged: Any = (
        ClientModel.client_id.does_not_exist()
        if stored_item is None
        else (ClientModel.updated_at == stored_item.updated_at)
        # the version as read, which an If-Match was checked against above: the check and the write
        # are one (another write gave the client a new one)
        & as_read(ClientModel.version, stored_item.version)
        & as_read(ClientModel.manual_sends_off_at, stored_item.manual_sends_off_at)
        & as_read(ClientModel.manual_sends_off_told, stored_item.manual_sends_off_told)
        # the agent's count moves from the one the client was counted under, as read
        & as_read(ClientModel.agent_counted, stored_item.agent_counted)
    )
    counts = agents.moves([(agents.counted_under(stored_item), client.preferred_agent)])
    before = _search_items(stored) if stored is not None else {}
    after = _search_items(client)
    puts, deletes = _index_changes(stored_item, stored, client, phone_region)
    searched = len(before.keys() - after.keys()) + len(after.keys() - before.keys())
    # the client, the check, its agents' counts
    together = 2 + len(counts) + searched + len(puts) + len(deletes) <= TRANSACTION_ACTIONS
    if not together:
        # written after the client, which says so until they are: a save or the repair finishes them
        item.index_pending = cast(Any, sorted(_index_term(i) for i in deletes))

    def build(tx: TransactWrite) -> None:
        _not_erasing(tx, client.company_id, client.client_id)
        tx.save(item, condition=unchanged)
        agents.move_counts(tx, client.company_id, counts)
        for key in before.keys() - after.keys():
            tx.delete(ClientSearchModel(*key))
        for key in after.keys() - before.keys():
            tx.save(after[key])
        if together:
            for index_item in deletes:
                tx.delete(index_item)
            for index_item in puts:
                tx.save(index_item)

    if not transacted(build):
        if being_erased(client.company_id, client.client_id):
            raise erasing_refusal(client.client_id)
        return None
    # a client written before its erasure started, whose items lost to it: it erases what was written
    if (
        not together
        and not _index_after(item, puts, deletes)
        and being_erased(client.company_id, client.client_id)
    ):
        raise erasing_refusal(client.client_id)
    return _client(item)


def _index_changes(
    stored_item: ClientModel | None,
    stored: domain.Client | None,
    client: domain.Client,
    region: PhoneRegion,
) -> tuple[list[Any], list[Any]]:
    """The phone and address items a save of ``client`` over ``stored`` writes and deletes. A
    stored client whose items were left half-written (``index_pending``, :func:`_index_after`)
    has all its items written again and the pending ones deleted too."""
    pending = stored_item.index_pending if stored_item is not None else None
    phones_before = _phones_of(stored, region)
    phones_after = _phones_of(client, region)
    addresses_before = addresses_of(stored) if stored is not None else {}
    addresses_after = addresses_of(client)
    removed_phones = set(phones_before)
    removed_addresses = set(addresses_before)
    if pending is not None:
        removed_phones |= {str(t)[2:] for t in pending if str(t).startswith("p:")}
        removed_addresses |= {str(t)[2:] for t in pending if str(t).startswith("e:")}
        phones_before, addresses_before = {}, {}  # nothing is known to be written: all again
    company_id, client_id = client.company_id, client.client_id
    deletes: list[Any] = [
        _phone_item(company_id, client_id, p) for p in sorted(removed_phones - set(phones_after))
    ]
    deletes += [
        _address_item(company_id, client_id, a) for a in sorted(removed_addresses - set(addresses_after))
    ]
    puts: list[Any] = [
        _phone_item(company_id, client_id, phone, contact_id)
        for phone, contact_id in phones_after.items()
        if phone not in phones_before or phones_before[phone] != contact_id
    ]
    puts += [
        _address_item(company_id, client_id, address, contact_id)
        for address, contact_id in addresses_after.items()
        if address not in addresses_before or addresses_before[address] != contact_id
    ]
    return puts, deletes


def _phone_item(
    company_id: str, client_id: str, phone: str, contact_id: str | None = None
) -> ClientPhoneModel:
    return ClientPhoneModel(
        company_id, f"{phone}#{client_id}", phone=phone, client_id=client_id, contact_id=contact_id
    )


def _address_item(
    company_id: str, client_id: str, address: str, contact_id: str | None = None
) -> ClientAddressModel:
    return ClientAddressModel(f"{company_id}#{address}", client_id, contact_id=contact_id)


def _index_term(index_item: Any) -> str:
    """How ``index_pending`` names a phone (``p:<E.164>``) or address (``e:<address>``) item."""
    if isinstance(index_item, ClientPhoneModel):
        return f"p:{index_item.phone_client.rsplit('#', 1)[0]}"
    return f"e:{index_item.company_address.split('#', 1)[1]}"


def _index_after(item: ClientModel, puts: list[Any], deletes: list[Any]) -> bool:
    """Write the phone and address items of a client saved without them (more than one transaction
    holds), in transactions that each hold only while the client is still the one saved (its
    version) and no erasure of it runs, then clear its ``index_pending``. False when another save
    came first (it saw the mark and wrote every item itself), or the client's erasure started (it
    deletes what was written before, the client's items and the pending ones: nothing is written
    after). Stopped midway (a crash), the mark stays: the next save of the client, or ``ops
    clients index-search``, writes them all again."""
    actions = [(i, False) for i in deletes] + [(i, True) for i in puts]
    room = TRANSACTION_ACTIONS - 2  # the checks of the client's version and of its erasure
    for start in range(0, len(actions), room):
        chunk = actions[start : start + room]

        def build(tx: TransactWrite, chunk: list[tuple[Any, bool]] = chunk) -> None:
            tx.condition_check(
                ClientModel, item.company_id, item.client_id, condition=ClientModel.version == item.version
            )
            _not_erasing(tx, item.company_id, item.client_id)
            for index_item, put in chunk:
                if put:
                    tx.save(index_item)
                else:
                    tx.delete(index_item)

        if not transacted(build):
            return False
    done = written(
        lambda: item.update(
            actions=[ClientModel.index_pending.remove()], condition=ClientModel.version == item.version
        )
    )
    item.index_pending = None
    return done


def pending_index_items(company_id: str, client_id: str) -> list[Any]:
    """The phone and address items a save of the client may have left and not yet deleted (its
    ``index_pending``): erasing the client deletes them with the others."""
    try:
        stored = ClientModel.get(company_id, client_id, consistent_read=True)
    except DoesNotExist:
        return []
    return [
        _phone_item(company_id, client_id, t[2:])
        if t.startswith("p:")
        else _address_item(company_id, client_id, t[2:])
        for t in (str(t) for t in (stored.index_pending or []))
    ]


def as_read(attribute: Any, value: Any) -> Any:
    """A condition that ``attribute`` still holds ``value`` (absent when None)."""
    return attribute.does_not_exist() if value is None else attribute == value


def turn_off_manual_sends(company_id: str, client_id: str, now: datetime) -> tuple[datetime, bool] | None:
    """Record that a client unsubscribed from manual and bulk sends (the first time is kept).
    Returns when it did (that first time) and whether its webhook event was queued already
    (:func:`manual_sends_off_told`); None when there is no such client."""
    item = ClientModel(company_id, client_id)
    if written(
        lambda: item.update(
            actions=[ClientModel.manual_sends_off_at.set(now)],
            condition=ClientModel.client_id.exists() & ClientModel.manual_sends_off_at.does_not_exist(),
        )
    ):
        return now, False
    try:
        stored = ClientModel.get(company_id, client_id, consistent_read=True)
    except DoesNotExist:
        return None
    return stored.manual_sends_off_at or now, bool(stored.manual_sends_off_told)


def manual_sends_off_told(company_id: str, client_id: str) -> None:
    """Note that the client's unsubscribe was told to the company's webhooks (nothing if the client
    is gone meanwhile)."""
    item = ClientModel(company_id, client_id)
    written(
        lambda: item.update(
            actions=[ClientModel.manual_sends_off_told.set(True)], condition=ClientModel.client_id.exists()
        )
    )


def get_client(company_id: str, client_id: str) -> domain.Client | None:
    try:
        return _client(ClientModel.get(company_id, client_id))
    except DoesNotExist:
        return None


def list_clients(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Client], Any]:
    return page_of(
        ClientModel,
        company_id,
        limit=limit,
        cursor=checked_cursor(ClientModel, company_id, cursor),
        convert=_client,
    )


# --- the phone index (inbound SMS finds its client by number) --------------------------------


def _phones_of(client: domain.Client | None, region: PhoneRegion) -> dict[str, str | None]:
    """``E.164 -> contact id`` (None for the client's own phones); unreadable numbers are left out."""
    from chalicelib.core.errors import ValidationFailed
    from chalicelib.core.phones import normalize_phone

    if client is None:
        return {}
    numbers: dict[str, str | None] = {}
    pairs = [(p, None) for p in client.phones] + [(c.phone, c.contact_id) for c in client.contacts if c.phone]
    for raw, contact_id in pairs:
        region = region if isinstance(region, str) else region()
        try:
            numbers.setdefault(normalize_phone(raw, region), contact_id)
        except ValidationFailed:
            continue
    return numbers


def clients_by_phone(company_id: str, phone: str, limit: int = 10) -> list[domain.PhoneOwner]:
    """The clients of a company a number (E.164) belongs to (a query, never a Scan)."""
    items = ClientPhoneModel.query(
        company_id, ClientPhoneModel.phone_client.startswith(f"{phone}#"), limit=limit
    )
    return [domain.PhoneOwner(client_id=i.client_id, contact_id=i.contact_id) for i in items]


# --- e-mail addresses -> clients (I3: matching the sender of inbound mail) --------------------


def addresses_of(client: domain.Client) -> dict[str, str | None]:
    """Every e-mail address of a client, lower-cased: to the contact it belongs to, or None for
    the client's own (which wins when a contact shares it)."""
    found: dict[str, str | None] = {}
    for contact in client.contacts:
        if contact.email and contact.email.strip():
            found.setdefault(contact.email.strip().lower(), contact.contact_id)
    for email in client.emails:
        if email.strip():
            found[email.strip().lower()] = None
    return found


def clients_by_address(company_id: str, address: str) -> list[domain.ClientAddress]:
    """The clients of a company (with the contact, if any) that have this e-mail address."""
    address = address.strip().lower()
    return [
        domain.ClientAddress(company_id, address, item.client_id, item.contact_id)
        for item in ClientAddressModel.query(f"{company_id}#{address}", limit=50)
    ]


def reindex_addresses(company_id: str) -> int:
    """Index the addresses of every client of a company (clients saved before the index existed);
    a query per page of clients, no scan; each client's items in one transaction, skipped for a
    client being erased and read again for one a save changed meanwhile
    (:func:`_each_client_unless_erased`). Returns how many clients were indexed."""

    def build(tx: TransactWrite, client: domain.Client, stored: ClientModel, unchanged: Any) -> None:
        tx.condition_check(ClientModel, company_id, client.client_id, condition=unchanged)
        for address, contact_id in addresses_of(client).items():
            tx.save(ClientAddressModel(f"{company_id}#{address}", client.client_id, contact_id=contact_id))

    return _each_client_unless_erased(company_id, build)


Repair = Callable[[TransactWrite, domain.Client, ClientModel, Any], None]


def _each_client_unless_erased(
    company_id: str, build: Repair, after: Callable[[ClientModel], None] | None = None
) -> int:
    """An operator's repair of every client of a company (a Query of its clients, page by page,
    never a Scan): ``build`` fills one transaction per client, given the client, its item and the
    condition that it is still the one read (``build`` puts it on the client's item); the
    transaction also holds that no erasure of the client runs. A client being erased is skipped:
    what a repair wrote after the erasure passed its items would outlive it. A client a save
    changed meanwhile is read again and repaired as it is now (gone: skipped). ``after`` runs for
    each client repaired. Returns how many were."""
    count = 0
    for item in ClientModel.query(company_id, consistent_read=True):
        current: ClientModel | None = item
        while current is not None:
            client, stored = _client(current), current

            def whole(
                tx: TransactWrite, client: domain.Client = client, stored: ClientModel = stored
            ) -> None:
                _not_erasing(tx, company_id, client.client_id)
                # its agent's count as read too: a count of the client meanwhile is not put back
                unchanged = (ClientModel.updated_at == stored.updated_at) & as_read(
                    ClientModel.agent_counted, stored.agent_counted
                )
                build(tx, client, stored, unchanged)

            if transacted(whole):
                if after is not None:
                    after(current)
                count += 1
                break
            if being_erased(company_id, client.client_id):
                break
            try:
                current = ClientModel.get(company_id, client.client_id, consistent_read=True)
            except DoesNotExist:
                current = None
    return count


def get_clients(company_id: str, client_ids: list[str]) -> dict[str, domain.Client]:
    """The company's clients among ``client_ids`` (ids of other companies' clients find nothing)."""
    keys = [(company_id, client_id) for client_id in dict.fromkeys(client_ids)]
    return {item.client_id: _client(item) for item in ClientModel.batch_get(keys)}


def select_clients(
    company_id: str,
    *,
    switch: str | None = None,
    preferred_agent: str | None,
    collection_agent: str | None,
    limit: int,
    cursor: dict[str, Any] | None,
    first: str | None = None,
    last: str | None = None,
    classification: dict[str, str] | None = None,
    after: str | None = None,
) -> tuple[list[domain.Client], dict[str, Any] | None]:
    """One page of the company's clients that match a filter: a Query over the company's
    partition (never a Scan), with a key condition on the client code when ``first`` or ``last``
    bound it (either end open), the other conditions applied by DynamoDB as a filter expression.
    ``after`` (a client code, instead of a ``cursor``) starts the page after that code; one at or
    past ``last`` is an empty page."""
    if after is not None:
        if last is not None and after >= last:
            return [], None
        # Where a page that ended at ``after`` stopped (before the range: the range's start)
        before_range = first is not None and after < first
        cursor = None if before_range else cursor_after_client(company_id, after)
    range_condition: Any = None
    if first is not None and last is not None:
        range_condition = ClientModel.client_id.between(first, last)
    elif first is not None:
        range_condition = ClientModel.client_id >= first
    elif last is not None:
        range_condition = ClientModel.client_id <= last
    conditions: list[Any] = []
    if switch is not None:
        conditions.append(ClientModel.message_switches[switch] == True)  # noqa: E712 (a condition)
    if preferred_agent is not None:
        conditions.append(ClientModel.preferred_agent == preferred_agent)
    if collection_agent is not None:
        conditions.append(ClientModel.collection_agent == collection_agent)
    for name, value in (classification or {}).items():
        conditions.append(ClientModel.classification[name] == value)
    condition = None
    for extra in conditions:
        condition = extra if condition is None else condition & extra
    return page_of(
        ClientModel,
        company_id,
        range_condition,
        filter_condition=condition,
        limit=limit,
        cursor=checked_cursor(ClientModel, company_id, cursor),
        convert=_client,
    )


def client_of_cursor(cursor: dict[str, Any]) -> str:
    """The code of the last client a page of :func:`select_clients` went through (matched or not):
    the page after it starts past this code."""
    return str(cursor["client_id"]["S"])


def cursor_after_client(company_id: str, client_id: str) -> dict[str, Any]:
    """The cursor of a page of :func:`select_clients` that went through ``client_id``: the page
    after it starts past this code (:func:`client_of_cursor` the other way round)."""
    return {"company_id": {"S": company_id}, "client_id": {"S": client_id}}


# --- finding a client by what a clerk remembers (GET /clients?q=; decision 0020) -------------

# The shortest and longest prefix of a word of the name, or of the code, that has its own item.
# A longer query word reads the items of its first 8 characters and checks the rest on each.
SEARCH_PREFIX = (2, 8)
# A rename deletes every item of the client and writes the new ones, in the transaction that
# saves the client: 2 x 49 + 1 of the 100 actions a transaction may hold.
MAX_SEARCH_TERMS = 49
# Items a search reads of one term before it answers (a shorter page, with a cursor to go on):
# a query's other words are checked on the items of its longest word, and a very common prefix
# with a rare second word must not read a whole company.
SEARCH_READ = 500
_SEARCH_PAGE = 100
_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"[a-z0-9_.\-]+")


def search_words(text: str) -> list[str]:
    """The words of a text as search compares them: runs of letters and digits, lower case,
    without accents (``"Ferretería Gómez S.A."`` -> ``ferreteria``, ``gomez``, ``s``, ``a``)."""
    return _WORD.findall(fold(text))


def _prefixes(word: str) -> list[str]:
    shortest, longest = SEARCH_PREFIX
    return [word[:n] for n in range(shortest, min(len(word), longest) + 1)]


def search_terms(client: domain.Client) -> list[str]:
    """The terms a client is found by, at most :data:`MAX_SEARCH_TERMS` (the first ones kept):
    its code's prefixes, its own e-mails and phones, its name's words' prefixes, then its
    contacts' e-mails and phones."""
    terms = [f"c:{p}" for p in _prefixes(fold(client.client_id))]
    terms += [f"e:{e.strip().lower()}" for e in client.emails if e.strip()]
    terms += _phone_terms(client.phones)
    for word in search_words(client.name):
        terms += [f"w:{p}" for p in _prefixes(word)]
    terms += [f"e:{c.email.strip().lower()}" for c in client.contacts if c.email and c.email.strip()]
    terms += _phone_terms([c.phone for c in client.contacts if c.phone])
    return list(dict.fromkeys(terms))[:MAX_SEARCH_TERMS]


def _phone_terms(phones: Sequence[str]) -> list[str]:
    """``p:<E.164>`` of each phone and, for one with an area code, ``l:<country>:<subscriber>``
    (the number without its area code, ``core.phones.local_number``): a clerk who says only
    ``15 5555-1234`` finds it."""
    from chalicelib.core.phones import local_number

    terms: list[str] = []
    for phone in phones:
        if phone.startswith("+"):
            local = local_number(phone)
            terms += [f"p:{phone}", *([f"l:{local}"] if local else [])]
    return terms


def _sort_key(client: domain.Client) -> str:
    # " #" sorts before any letter or digit: "Gómez" comes before "Gómez Hnos."
    return f"{' '.join(search_words(client.name))} #{client.client_id}"


def _search_items(client: domain.Client) -> dict[tuple[str, str], ClientSearchModel]:
    key = _sort_key(client)
    words = f" {' '.join(search_words(client.name))} "
    return {
        (f"{client.company_id}#{term}", key): ClientSearchModel(
            f"{client.company_id}#{term}", key, client_id=client.client_id, words=words
        )
        for term in search_terms(client)
    }


def search_keys(company_id: str, client_id: str) -> list[tuple[str, str]]:
    """The keys of the search items of a stored client (what erasing it deletes)."""
    found = get_client(company_id, client_id)
    return list(_search_items(found)) if found is not None else []


def _read_term(
    partition: str, after: str | None, accept: Any, want: int
) -> tuple[list[ClientSearchModel], str | None]:
    """Up to ``want`` items of one term after ``after`` that ``accept`` takes, in name order, and
    where the reading stopped (None: the term's items are all read)."""
    found: list[ClientSearchModel] = []
    position, read = after, 0
    while True:
        condition = ClientSearchModel.name_client > position if position is not None else None
        page = list(ClientSearchModel.query(partition, range_key_condition=condition, limit=_SEARCH_PAGE))
        for item in page:
            read += 1
            position = item.name_client
            if accept(item):
                found.append(item)
                if len(found) == want:
                    return found, position
        if len(page) < _SEARCH_PAGE:
            return found, None
        if read >= SEARCH_READ:
            return found, position


def search_clients(
    company_id: str,
    text: str,
    limit: int,
    cursor: dict[str, Any] | None,
    *,
    phones: Sequence[str] = (),
    local_numbers: Sequence[str] = (),
) -> tuple[list[domain.Client], dict[str, Any] | None]:
    """One page of the company's clients that ``text`` finds, in name order: an e-mail address
    (``@``) finds its owners; otherwise every word must start a word of the name (one Query, of
    the longest word's prefix), or the text must start the code, or one of ``phones`` (the text
    read as a phone, in each E.164 form it may be stored under) be one of its phones, or one of
    ``local_numbers`` (the text read as a number without its area code,
    ``core.phones.local_number``'s form) be one of its phones' subscriber numbers. A Query of one
    term each, never a Scan."""
    after = _search_position(company_id, cursor)
    sources: list[tuple[str, Any]] = []
    if "@" in text:
        sources.append((f"e:{text.strip().lower()}", lambda item: True))
    else:
        words = search_words(text)
        longest = max(words, key=len, default="")
        if len(longest) >= SEARCH_PREFIX[0]:
            sources.append(
                (
                    f"w:{longest[: SEARCH_PREFIX[1]]}",
                    lambda item: all(f" {w}" in str(item.words) for w in words),
                )
            )
        code = fold(text.strip())
        if len(code) >= SEARCH_PREFIX[0] and _CODE.fullmatch(code):
            sources.append(
                (f"c:{code[: SEARCH_PREFIX[1]]}", lambda item: fold(str(item.client_id)).startswith(code))
            )
        sources += [(f"p:{phone}", lambda item: True) for phone in phones]
        sources += [(f"l:{local}", lambda item: True) for local in local_numbers]
    found: dict[str, str] = {}
    stops: list[str] = []
    for term, accept in sources:
        # one past the page: a term whose matches end with the page stops at its end, no cursor
        items, stop = _read_term(f"{company_id}#{term}", after, accept, limit + 1)
        found.update((str(i.name_client), str(i.client_id)) for i in items)
        if stop is not None:
            stops.append(stop)
    # Past where a term stopped reading, another term's items may lack some of its own: a page
    # ends there at the latest, and the next one starts after it.
    bound = min(stops, default=None)
    keys = sorted(k for k in found if bound is None or k <= bound)
    page = keys[:limit]
    if len(keys) > limit:
        position: str | None = page[-1]
    else:
        position = bound
    clients = get_clients(company_id, [found[k] for k in page])
    listed = [clients[found[k]] for k in page if found[k] in clients]
    if position is None:
        return listed, None
    return listed, {"company_id": {"S": company_id}, "name_client": {"S": position}}


def _search_position(company_id: str, cursor: dict[str, Any] | None) -> str | None:
    """Where a search page given out by :func:`search_clients` ended; a 422 for anything else."""
    from chalicelib.store.fields import not_a_cursor

    if cursor is None:
        return None
    if (
        set(cursor) != {"company_id", "name_client"}
        or cursor["company_id"] != {"S": company_id}
        or not isinstance(cursor["name_client"], dict)
        or list(cursor["name_client"]) != ["S"]
        or not isinstance(cursor["name_client"]["S"], str)
    ):
        raise not_a_cursor()
    return str(cursor["name_client"]["S"])


def index_search(
    company_id: str,
    as_stored_now: Callable[[domain.Client], domain.Client] = lambda client: client,
    phone_region: str = "AR",
) -> int:
    """Write the search items of every client of a company (clients saved before search existed):
    a Query of the company's clients, page by page, never a Scan; each client's items in one
    transaction on condition that the client is still the one read (a save meanwhile wrote its
    own; the client is read again). ``as_stored_now`` gives the client as a save would store it
    today (``tenants.clients``: phones an older release kept as written, in E.164): when it
    differs, the same transaction stores that form and drops the items the old one had. Writing
    them twice changes nothing. A client a save left with its phone and address items half-written
    (``index_pending``: the save stopped before :func:`_index_after` ended) gets them all written
    again and the stale ones deleted. A client being erased is skipped
    (:func:`_each_client_unless_erased`). Returns how many clients were indexed."""

    def build(tx: TransactWrite, client: domain.Client, stored: ClientModel, unchanged: Any) -> None:
        upgraded = as_stored_now(client)
        if upgraded == client:
            tx.condition_check(ClientModel, company_id, client.client_id, condition=unchanged)
        else:
            stored.phones = cast(Any, list(upgraded.phones))  # plain strings
            stored.contacts = [item_from(ClientContact, c) for c in upgraded.contacts]
            stored.version = fresh_version()  # a card opened before shows the old phones
            tx.save(stored, condition=unchanged)
        after = _search_items(upgraded)
        for key in _search_items(client).keys() - after.keys():
            tx.delete(ClientSearchModel(*key))
        for entry in after.values():
            tx.save(entry)

    def pending(current: ClientModel) -> None:
        if current.index_pending is not None:
            puts, deletes = _index_changes(current, _client(current), _client(current), phone_region)
            _index_after(current, puts, deletes)

    return _each_client_unless_erased(company_id, build, pending)
