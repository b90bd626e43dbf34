"""A company's keyword rules for inbound SMS (I1 balance, I2 tickets), as administrators set them.

    save_auto_replies("co-1", {"balance": {"enabled": True, "keywords": "deuda, saldo, cuenta",
                                           "template": "Estimado %nombre% su saldo pendiente es $ %deuda%"}},
                      updated_by="admin@co-1")

Saving is a merge per rule: fields left out keep their value. A rule switched on needs keywords
and a template (and, for tickets, an operator and a category); templates may use only the
variables their rule offers, so a reply never fails to render.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import SmsAutoReplies
from chalicelib.core.errors import ValidationFailed, edited_meanwhile
from chalicelib.messaging.sms_text import render_sms
from chalicelib.producers.sms_replies.keywords import keyword_errors
from chalicelib.store import auto_replies as store

DEFAULT_BALANCE_TEMPLATE = (
    "Estimado %nombre% su saldo pendiente es $ %deuda%. Gracias por comunicarse con %empresa%."
)
DEFAULT_TICKET_TEMPLATE = (
    "Estimado %nombre% le asignamos el ticket %id%. %operador% estará trabajando en su reclamo."
)
DEFAULT_LIMIT_TEMPLATE = (
    "Estimado %nombre%, hoy ya registramos %maximo% reclamos suyos y no podemos abrir otro hasta mañana. "
    "Lo estamos atendiendo. %empresa%"
)
MAX_TEMPLATE = 480
MAX_TICKETS_PER_DAY = 50

# The variables each reply offers, with sample values (used to check templates on save).
BALANCE_VARIABLES = {"nombre": "Ana Pérez", "deuda": "15.300,00", "empresa": "Cable Sur", "cliente": "CLI-7"}
TICKET_VARIABLES = {
    "nombre": "Ana Pérez",
    "id": "T-7K2M9QXA",
    "operador": "Soporte",
    "categoria": "Sin servicio",
    "empresa": "Cable Sur",
    "cliente": "CLI-7",
}
LIMIT_VARIABLES = {"nombre": "Ana Pérez", "maximo": 3, "empresa": "Cable Sur", "cliente": "CLI-7"}


@dataclass(frozen=True)
class AutoRepliesView:
    balance: dict[str, Any]
    ticket: dict[str, Any]
    updated_at: str | None
    updated_by: str | None
    version: int = 0  # the rules' version (the answer's ETag)


def _defaults(company_id: str) -> SmsAutoReplies:
    return SmsAutoReplies(
        company_id=company_id,
        balance_enabled=False,
        balance_keywords="deuda, saldo, cuenta",
        balance_template=DEFAULT_BALANCE_TEMPLATE,
        ticket_enabled=False,
        ticket_keywords="soporte, reclamo, servicio",
        ticket_operator=None,
        ticket_category=None,
        ticket_max_per_day=3,
        ticket_template=DEFAULT_TICKET_TEMPLATE,
        ticket_limit_template=DEFAULT_LIMIT_TEMPLATE,
    )


def current_rules(company_id: str) -> SmsAutoReplies:
    """The company's rules; a company that never saved them has both switched off (defaults)."""
    return store.get_auto_replies(company_id) or _defaults(company_id)


def _view(rules: SmsAutoReplies) -> AutoRepliesView:
    return AutoRepliesView(
        balance={
            "enabled": rules.balance_enabled,
            "keywords": rules.balance_keywords,
            "template": rules.balance_template,
        },
        ticket={
            "enabled": rules.ticket_enabled,
            "keywords": rules.ticket_keywords,
            "operator": rules.ticket_operator,
            "category": rules.ticket_category,
            "max_per_day": rules.ticket_max_per_day,
            "template": rules.ticket_template,
            "limit_template": rules.ticket_limit_template,
        },
        updated_at=rules.updated_at.isoformat() if rules.updated_at else None,
        updated_by=rules.updated_by,
        version=rules.version,
    )


def get_auto_replies(company_id: str) -> AutoRepliesView:
    return _view(current_rules(company_id))


_BALANCE_FIELDS = {
    "enabled": "balance_enabled",
    "keywords": "balance_keywords",
    "template": "balance_template",
}
_TICKET_FIELDS = {
    "enabled": "ticket_enabled",
    "keywords": "ticket_keywords",
    "operator": "ticket_operator",
    "category": "ticket_category",
    "max_per_day": "ticket_max_per_day",
    "template": "ticket_template",
    "limit_template": "ticket_limit_template",
}


def _check_template(template: str, variables: dict[str, Any], field: str) -> list[dict[str, str]]:
    if len(template) > MAX_TEMPLATE:
        return [{"field": field, "message": f"must have at most {MAX_TEMPLATE} characters"}]
    try:
        render_sms(template, variables, field=field)
    except ValidationFailed as exc:
        return list(exc.errors)
    return []


def save_auto_replies(
    company_id: str,
    changes: dict[str, dict[str, Any]],
    *,
    updated_by: str,
    if_match: tuple[int, ...] | None = None,
) -> AutoRepliesView:
    """Merge ``{"balance": {...}, "ticket": {...}}`` into the rules; 422 naming every bad field. With
    ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved them since."""
    current = current_rules(company_id)
    fields: dict[str, Any] = {}
    for rule, mapping in (("balance", _BALANCE_FIELDS), ("ticket", _TICKET_FIELDS)):
        for name, value in (changes.get(rule) or {}).items():
            fields[mapping[name]] = value.strip() if isinstance(value, str) else value
    updated = replace(current, **fields, updated_at=clock.now(), updated_by=updated_by)
    errors = _errors(updated)
    if errors:
        raise ValidationFailed(errors)
    version = store.save_auto_replies(updated, if_match)
    if version is None:
        raise edited_meanwhile("the SMS auto-replies")
    return _view(replace(updated, version=version))


def _errors(rules: SmsAutoReplies) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    errors += keyword_errors(rules.balance_keywords, "balance.keywords")
    errors += keyword_errors(rules.ticket_keywords, "ticket.keywords")
    errors += _check_template(rules.balance_template, BALANCE_VARIABLES, "balance.template")
    errors += _check_template(rules.ticket_template, TICKET_VARIABLES, "ticket.template")
    errors += _check_template(rules.ticket_limit_template, LIMIT_VARIABLES, "ticket.limit_template")
    if not 1 <= rules.ticket_max_per_day <= MAX_TICKETS_PER_DAY:
        errors.append(
            {"field": "ticket.max_per_day", "message": f"must be between 1 and {MAX_TICKETS_PER_DAY}"}
        )
    required: list[tuple[str, bool, dict[str, Any]]] = [
        (
            "balance",
            rules.balance_enabled,
            {"keywords": rules.balance_keywords, "template": rules.balance_template},
        ),
        (
            "ticket",
            rules.ticket_enabled,
            {
                "keywords": rules.ticket_keywords,
                "template": rules.ticket_template,
                "limit_template": rules.ticket_limit_template,
                "operator": rules.ticket_operator,
                "category": rules.ticket_category,
            },
        ),
    ]
    for rule, enabled, values in required:
        if not enabled:
            continue
        for name, value in values.items():
            if not value:
                message = f"is required while the {rule} auto-reply is on"
                errors.append({"field": f"{rule}.{name}", "message": message})
    return errors


def as_dict(view: AutoRepliesView) -> dict[str, Any]:
    return asdict(view)
