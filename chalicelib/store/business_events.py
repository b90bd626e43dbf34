"""Back-office events that caused messages (C9, T10): one item per (company, type, event id), with
the answer given; a client's are found through the keys-only ``by-client`` index (its erasure)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import BusinessEventModel
from chalicelib.store.tables import Check, saved_once


def _key(event_type: str, event_id: str) -> str:
    return f"{event_type}#{event_id}"


def get_event(company_id: str, event_type: str, event_id: str) -> domain.BusinessEvent | None:
    try:
        item = BusinessEventModel.get(company_id, _key(event_type, event_id), consistent_read=True)
    except DoesNotExist:
        return None
    return domain.BusinessEvent(
        company_id=item.company_id,
        event_type=event_type,
        event_id=event_id,
        client_id=item.client_id,
        outcome=json.loads(item.outcome),
        created_at=item.created_at,
    )


def record_event(event: domain.BusinessEvent, *, checks: Sequence[Check] = ()) -> bool:
    """Store an event the first time; False (nothing written) when it was recorded before.
    ``checks``: conditions on other items it is written with (``store.tables.saved_once``)."""
    item = BusinessEventModel(
        event.company_id,
        _key(event.event_type, event.event_id),
        client_id=event.client_id,
        client_key=f"{event.company_id}#{event.client_id}",
        outcome=json.dumps(event.outcome, ensure_ascii=False),
        created_at=event.created_at,
    )
    return saved_once(item, BusinessEventModel.event_key.does_not_exist(), checks)
