"""A company's inbound SMS keyword rules (I1 balance, I2 tickets): one item per company."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import SmsAutoRepliesModel
from chalicelib.store.tables import replace_versioned

# Texts an empty string stands for when unset (the item leaves them out).
_TEXTS = (
    "balance_keywords",
    "balance_template",
    "ticket_keywords",
    "ticket_template",
    "ticket_limit_template",
)


def get_auto_replies(company_id: str) -> domain.SmsAutoReplies | None:
    try:
        item = SmsAutoRepliesModel.get(company_id, consistent_read=True)
    except DoesNotExist:
        return None
    texts = {name: getattr(item, name) or "" for name in _TEXTS}
    return record_from(
        item,
        domain.SmsAutoReplies,
        balance_enabled=bool(item.balance_enabled),
        ticket_enabled=bool(item.ticket_enabled),
        ticket_max_per_day=int(item.ticket_max_per_day or 0),
        version=int(item.version or 0),
        **texts,
    )


def save_auto_replies(rules: domain.SmsAutoReplies, expected: tuple[int, ...] | None = None) -> int | None:
    """Write the rules as their next version (the version written); None (nothing written) when
    they are no longer at a version ``expected`` names (``If-Match``)."""
    texts: dict[str, Any] = {name: getattr(rules, name) or None for name in _TEXTS}
    item = item_from(SmsAutoRepliesModel, rules, **texts)
    return int(item.version) if replace_versioned(item, expected) else None
