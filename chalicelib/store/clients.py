"""Clients of a company and their contact persons."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import records
from chalicelib.store.models import ClientContact, ClientModel
from chalicelib.store.tables import bind


def _as_dict(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    return dict(raw.as_dict()) if hasattr(raw, "as_dict") else dict(raw)


def _client(item: ClientModel) -> records.Client:
    return records.Client(
        company_id=item.company_id,
        client_id=item.client_id,
        name=item.name,
        emails=tuple(str(e) for e in (item.emails or [])),
        phones=tuple(str(p) for p in (item.phones or [])),
        contacts=tuple(
            records.Contact(
                contact_id=c.contact_id,
                first_name=c.first_name,
                last_name=c.last_name,
                email=c.email,
                phone=c.phone,
                wants_cargo_info=bool(c.wants_cargo_info),
            )
            for c in (item.contacts or [])
        ),
        message_switches={str(k): bool(v) for k, v in _as_dict(item.message_switches).items()},
        preferred_agent=item.preferred_agent,
        collection_agent=item.collection_agent,
        updated_at=item.updated_at,
    )


def save_client(client: records.Client) -> records.Client:
    """Create or replace a client (the back office is the source of truth for its clients)."""
    bind()
    item = ClientModel(
        client.company_id,
        client.client_id,
        name=client.name,
        emails=list(client.emails),
        phones=list(client.phones),
        contacts=[
            ClientContact(
                contact_id=c.contact_id,
                first_name=c.first_name,
                last_name=c.last_name,
                email=c.email,
                phone=c.phone,
                wants_cargo_info=c.wants_cargo_info,
            )
            for c in client.contacts
        ],
        message_switches=dict(client.message_switches),
        preferred_agent=client.preferred_agent,
        collection_agent=client.collection_agent,
        updated_at=client.updated_at,
    )
    item.save()
    return _client(item)


def get_client(company_id: str, client_id: str) -> records.Client | None:
    bind()
    try:
        return _client(ClientModel.get(company_id, client_id))
    except DoesNotExist:
        return None


def list_clients(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[records.Client], Any]:
    bind()
    result = ClientModel.query(company_id, limit=limit, last_evaluated_key=cursor)
    items = [_client(i) for i in result]
    return items, result.last_evaluated_key


def get_clients(company_id: str, client_ids: list[str]) -> dict[str, records.Client]:
    """The company's clients among ``client_ids`` (ids of other companies' clients find nothing)."""
    bind()
    keys = [(company_id, client_id) for client_id in dict.fromkeys(client_ids)]
    return {item.client_id: _client(item) for item in ClientModel.batch_get(keys)}


def select_clients(
    company_id: str,
    *,
    switch: str | None,
    preferred_agent: str | None,
    collection_agent: str | None,
    limit: int,
    cursor: dict[str, Any] | None,
) -> tuple[list[records.Client], dict[str, Any] | None]:
    """One page of the company's clients that match a filter: a Query over the company's
    partition (never a Scan), the conditions applied by DynamoDB as a filter expression."""
    bind()
    conditions: list[Any] = []
    if switch is not None:
        conditions.append(ClientModel.message_switches[switch] == True)  # noqa: E712 (a condition)
    if preferred_agent is not None:
        conditions.append(ClientModel.preferred_agent == preferred_agent)
    if collection_agent is not None:
        conditions.append(ClientModel.collection_agent == collection_agent)
    condition = None
    for extra in conditions:
        condition = extra if condition is None else condition & extra
    result = ClientModel.query(
        company_id, filter_condition=condition, limit=limit, page_size=limit, last_evaluated_key=cursor
    )
    items = [_client(i) for i in result]
    return items, result.last_evaluated_key
