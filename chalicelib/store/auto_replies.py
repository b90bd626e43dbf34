"""A company's inbound SMS keyword rules (I1 balance, I2 tickets): one item per company."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import SmsAutoRepliesModel


def get_auto_replies(company_id: str) -> domain.SmsAutoReplies | None:
    try:
        item = SmsAutoRepliesModel.get(company_id, consistent_read=True)
    except DoesNotExist:
        return None
    return domain.SmsAutoReplies(
        company_id=item.company_id,
        balance_enabled=bool(item.balance_enabled),
        balance_keywords=item.balance_keywords or "",
        balance_template=item.balance_template or "",
        ticket_enabled=bool(item.ticket_enabled),
        ticket_keywords=item.ticket_keywords or "",
        ticket_operator=item.ticket_operator,
        ticket_category=item.ticket_category,
        ticket_max_per_day=int(item.ticket_max_per_day or 0),
        ticket_template=item.ticket_template or "",
        ticket_limit_template=item.ticket_limit_template or "",
        updated_at=item.updated_at,
        updated_by=item.updated_by,
    )


def save_auto_replies(rules: domain.SmsAutoReplies) -> None:
    SmsAutoRepliesModel(
        rules.company_id,
        balance_enabled=rules.balance_enabled,
        balance_keywords=rules.balance_keywords or None,
        balance_template=rules.balance_template or None,
        ticket_enabled=rules.ticket_enabled,
        ticket_keywords=rules.ticket_keywords or None,
        ticket_operator=rules.ticket_operator,
        ticket_category=rules.ticket_category,
        ticket_max_per_day=rules.ticket_max_per_day,
        ticket_template=rules.ticket_template or None,
        ticket_limit_template=rules.ticket_limit_template or None,
        updated_at=rules.updated_at,
        updated_by=rules.updated_by,
    ).save()
