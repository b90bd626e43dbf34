"""Clients of a company and their contact persons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.fields import checked_cursor, item_from, page_of, record_from
from chalicelib.store.models import ClientAddressModel, ClientContact, ClientModel, ClientPhoneModel
from chalicelib.store.tables import written


def _as_dict(raw: Any) -> dict[str, Any]:
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
        message_switches={str(k): bool(v) for k, v in _as_dict(item.message_switches).items()},
        classification={str(k): str(v) for k, v in _as_dict(item.classification).items()},
    )


def save_client(client: domain.Client, phone_region: str = "AR") -> domain.Client:
    """Create or replace a client (the back office is the source of truth for its clients)."""
    # The stored client says which index entries to remove; read it once for both indexes.
    try:
        stored: domain.Client | None = _client(
            ClientModel.get(client.company_id, client.client_id, consistent_read=True)
        )
    except DoesNotExist:
        stored = None
    _index_phones(stored, client, phone_region)
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
    )
    _index_addresses(stored, client)
    item.save()
    return _client(item)


def turn_off_manual_sends(company_id: str, client_id: str, now: datetime) -> bool:
    """Record that a client unsubscribed from manual and bulk sends (the first time is kept).
    False when there is no such client."""
    item = ClientModel(company_id, client_id)
    if not written(
        lambda: item.update(
            actions=[ClientModel.manual_sends_off_at.set(now)],
            condition=ClientModel.client_id.exists() & ClientModel.manual_sends_off_at.does_not_exist(),
        )
    ):
        return get_client(company_id, client_id) is not None
    return True


def get_client(company_id: str, client_id: str) -> domain.Client | None:
    try:
        return _client(ClientModel.get(company_id, client_id))
    except DoesNotExist:
        return None


def list_clients(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Client], Any]:
    return page_of(
        ClientModel.query(
            company_id, limit=limit, last_evaluated_key=checked_cursor(ClientModel, company_id, cursor)
        ),
        _client,
    )


# --- the phone index (inbound SMS finds its client by number) --------------------------------


def _phones_of(client: domain.Client | None, region: str) -> dict[str, str | None]:
    """``E.164 -> contact id`` (None for the client's own phones); unreadable numbers are left out."""
    from chalicelib.core.errors import ValidationFailed
    from chalicelib.core.phones import normalize_phone

    if client is None:
        return {}
    numbers: dict[str, str | None] = {}
    pairs = [(p, None) for p in client.phones] + [(c.phone, c.contact_id) for c in client.contacts if c.phone]
    for raw, contact_id in pairs:
        try:
            numbers.setdefault(normalize_phone(raw, region), contact_id)
        except ValidationFailed:
            continue
    return numbers


def _index_phones(stored: domain.Client | None, client: domain.Client, region: str) -> None:
    """Keep ``client-phones`` in step with the client's phones (and its contacts'), E.164."""
    before = _phones_of(stored, region)
    after = _phones_of(client, region)
    with ClientPhoneModel.batch_write() as batch:
        for phone in before.keys() - after.keys():
            batch.delete(ClientPhoneModel(client.company_id, f"{phone}#{client.client_id}"))
        for phone, contact_id in after.items():
            if phone in before and before[phone] == contact_id:
                continue
            batch.save(
                ClientPhoneModel(
                    client.company_id,
                    f"{phone}#{client.client_id}",
                    phone=phone,
                    client_id=client.client_id,
                    contact_id=contact_id,
                )
            )


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


def _index_addresses(stored: domain.Client | None, client: domain.Client) -> None:
    """Bring the ``client-addresses`` items of a client in step with the client about to be saved
    (``stored``, the one being replaced, says what to remove)."""
    before = addresses_of(stored) if stored is not None else {}
    after = addresses_of(client)
    with ClientAddressModel.batch_write() as batch:
        for address in before.keys() - after.keys():
            batch.delete(ClientAddressModel(f"{client.company_id}#{address}", client.client_id))
        for address, contact_id in after.items():
            if address not in before or before[address] != contact_id:
                batch.save(
                    ClientAddressModel(
                        f"{client.company_id}#{address}", client.client_id, contact_id=contact_id
                    )
                )


def clients_by_address(company_id: str, address: str) -> list[domain.ClientAddress]:
    """The clients of a company (with the contact, if any) that have this e-mail address."""
    address = address.strip().lower()
    return [
        domain.ClientAddress(company_id, address, item.client_id, item.contact_id)
        for item in ClientAddressModel.query(f"{company_id}#{address}", limit=50)
    ]


def reindex_addresses(company_id: str) -> int:
    """Index the addresses of every client of a company (clients saved before the index existed);
    a query per page of clients, no scan. Returns how many clients were indexed."""
    count = 0
    for item in ClientModel.query(company_id, consistent_read=True):
        client = _client(item)
        with ClientAddressModel.batch_write() as batch:
            for address, contact_id in addresses_of(client).items():
                batch.save(
                    ClientAddressModel(f"{company_id}#{address}", client.client_id, contact_id=contact_id)
                )
        count += 1
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
    result = ClientModel.query(
        company_id,
        range_key_condition=range_condition,
        filter_condition=condition,
        limit=limit,
        page_size=limit,
        last_evaluated_key=checked_cursor(ClientModel, company_id, cursor),
    )
    return page_of(result, _client)


def client_of_cursor(cursor: dict[str, Any]) -> str:
    """The code of the last client a page of :func:`select_clients` went through (matched or not):
    the page after it starts past this code."""
    return str(cursor["client_id"]["S"])


def cursor_after_client(company_id: str, client_id: str) -> dict[str, Any]:
    """The cursor of a page of :func:`select_clients` that went through ``client_id``: the page
    after it starts past this code (:func:`client_of_cursor` the other way round)."""
    return {"company_id": {"S": company_id}, "client_id": {"S": client_id}}
