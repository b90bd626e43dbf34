"""A company's SMS settings (C6): one item per company in ``sms-settings``.

The settings and the two secrets are written by separate calls, each touching only its own
attributes, so saving the settings never loses a password and setting a password never changes
the settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.fields import record_from, set_or_remove
from chalicelib.store.models import SmsSettingsModel

# What saving the settings writes (an unset one is removed); the secrets have calls of their own.
_SETTINGS = (
    "enabled",
    "provider",
    "sms_type",
    "default_region",
    "updated_at",
    "sender_id",
    "base_url",
    "username",
    "inbound_number",
    "help_text",
)


def _settings(item: SmsSettingsModel) -> domain.SmsSettings:
    return record_from(
        item,
        domain.SmsSettings,
        enabled=bool(item.enabled),
        provider=item.provider or "sns",
        sms_type=item.sms_type or "Transactional",
        default_region=item.default_region or "AR",
        assigned_numbers=tuple(sorted(item.assigned_numbers or ())),
    )


def get_sms_settings(company_id: str) -> domain.SmsSettings | None:
    try:
        return _settings(SmsSettingsModel.get(company_id, consistent_read=True))
    except DoesNotExist:
        return None


class NumberNotAssigned(Exception):
    """The two-way number is not (any more) one the operator assigned the company."""


def save_sms_settings(
    settings: domain.SmsSettings, *, clear_gateway_password: bool = False, new_number: bool = False
) -> domain.SmsSettings:
    """Write the settings (not the secrets, which are kept unless ``clear_gateway_password``:
    the gateway it was for changed); returns the stored item. ``new_number``: its
    ``inbound_number`` is written only while the operator's assignment holds it
    (``NumberNotAssigned`` otherwise)."""
    from pynamodb.exceptions import UpdateError

    item = SmsSettingsModel(settings.company_id)
    password = ("gateway_password_ciphertext", "gateway_password_set_at") if clear_gateway_password else ()
    condition = None
    if new_number and settings.inbound_number:
        condition = SmsSettingsModel.assigned_numbers.contains(settings.inbound_number)
    try:
        item.update(
            actions=set_or_remove(SmsSettingsModel, settings, _SETTINGS, remove=password), condition=condition
        )
    except UpdateError as exc:
        if condition is not None and exc.cause_response_code == "ConditionalCheckFailedException":
            raise NumberNotAssigned(settings.inbound_number) from exc
        raise
    return _settings(item)


def _set_secret(company_id: str, secret: Any, set_at: Any, value: Any, at: datetime) -> None:
    """Set a secret and when it was set; a company without settings gets the defaults (switched off)."""
    SmsSettingsModel(company_id).update(actions=[secret.set(value), set_at.set(at), *_defaults(at)])


def _defaults(at: datetime) -> list[Any]:
    """The settings a company that never saved any gets (switched off) when an item is made for it."""
    model = SmsSettingsModel
    return [
        model.enabled.set(model.enabled | False),
        model.provider.set(model.provider | "sns"),
        model.sms_type.set(model.sms_type | "Transactional"),
        model.default_region.set(model.default_region | "AR"),
        model.updated_at.set(model.updated_at | at),
    ]


def set_gateway_password(company_id: str, ciphertext: bytes, at: datetime) -> None:
    """Store the gateway password's KMS ciphertext, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(company_id, model.gateway_password_ciphertext, model.gateway_password_set_at, ciphertext, at)


def set_bulk_password_hash(company_id: str, password_hash: str, at: datetime) -> None:
    """Store the bulk-send password's hash, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(company_id, model.bulk_password_hash, model.bulk_password_set_at, password_hash, at)


def assign_numbers(company_id: str, numbers: list[str], at: datetime) -> domain.SmsSettings:
    """Set the two-way numbers the operator gave the company (E.164; none: no two-way SMS); its
    ``inbound_number`` goes in the same write when it is not one of them any more."""
    model = SmsSettingsModel
    current = get_sms_settings(company_id)
    actions: list[Any] = [
        model.assigned_numbers.set(set(numbers)) if numbers else model.assigned_numbers.remove()
    ]
    if current is not None and current.inbound_number and current.inbound_number not in numbers:
        actions.append(model.inbound_number.remove())
    item = model(company_id)
    item.update(actions=actions + _defaults(at))
    return _settings(item)


def companies_by_inbound_number(number: str) -> list[str]:
    """The companies whose two-way number is ``number`` (E.164): one, or none (a sparse index)."""
    return [str(i.company_id) for i in SmsSettingsModel.by_inbound_number.query(number, limit=5)]
