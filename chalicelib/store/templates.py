"""Companies' own message templates (C4): one item per company and template key."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import MessageTemplateModel
from chalicelib.store.tables import replace_versioned, written


def _template(item: MessageTemplateModel) -> domain.MessageTemplate:
    return record_from(item, domain.MessageTemplate, key=item.template_key, version=int(item.version or 0))


def get_template(company_id: str, key: str) -> domain.MessageTemplate | None:
    try:
        return _template(MessageTemplateModel.get(company_id, key, consistent_read=True))
    except DoesNotExist:
        return None


def list_templates(company_id: str) -> list[domain.MessageTemplate]:
    return [_template(item) for item in MessageTemplateModel.query(company_id, consistent_read=True)]


def save_template(template: domain.MessageTemplate, expected: tuple[int, ...] | None = None) -> bool:
    """Write (or replace) a company's template as its next version; False (nothing written) when
    it is no longer at a version ``expected`` names (``If-Match``)."""
    return replace_versioned(item_from(MessageTemplateModel, template, template_key=template.key), expected)


def delete_template(company_id: str, key: str) -> bool:
    """Remove a company's template; False if there was none."""
    return written(
        lambda: MessageTemplateModel(company_id, key).delete(
            condition=MessageTemplateModel.template_key.exists()
        )
    )
