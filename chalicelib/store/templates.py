"""Companies' own message templates (C4): one item per company and template key."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import MessageTemplateModel
from chalicelib.store.tables import written


def _template(item: MessageTemplateModel) -> domain.MessageTemplate:
    return domain.MessageTemplate(
        company_id=item.company_id,
        key=item.template_key,
        sender_area=item.sender_area,
        subject=item.subject,
        text=item.text,
        html=item.html,
        language=item.language,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
        sms_text=item.sms_text,
        push_title=item.push_title,
        push_body=item.push_body,
    )


def get_template(company_id: str, key: str) -> domain.MessageTemplate | None:
    try:
        return _template(MessageTemplateModel.get(company_id, key, consistent_read=True))
    except DoesNotExist:
        return None


def list_templates(company_id: str) -> list[domain.MessageTemplate]:
    return [_template(item) for item in MessageTemplateModel.query(company_id, consistent_read=True)]


def save_template(template: domain.MessageTemplate) -> None:
    """Write (or replace) a company's template."""
    MessageTemplateModel(
        template.company_id,
        template.key,
        sender_area=template.sender_area,
        subject=template.subject,
        text=template.text,
        html=template.html,
        language=template.language,
        updated_at=template.updated_at,
        updated_by=template.updated_by,
        sms_text=template.sms_text,
        push_title=template.push_title,
        push_body=template.push_body,
    ).save()


def delete_template(company_id: str, key: str) -> bool:
    """Remove a company's template; False if there was none."""
    return written(
        lambda: MessageTemplateModel(company_id, key).delete(
            condition=MessageTemplateModel.template_key.exists()
        )
    )
