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
    )


def get_sms_settings(company_id: str) -> domain.SmsSettings | None:
    try:
        return _settings(SmsSettingsModel.get(company_id, consistent_read=True))
    except DoesNotExist:
        return None


def save_sms_settings(
    settings: domain.SmsSettings, *, clear_gateway_password: bool = False
) -> domain.SmsSettings:
    """Write the settings (not the secrets, which are kept unless ``clear_gateway_password``:
    the gateway it was for changed); returns the stored item."""
    item = SmsSettingsModel(settings.company_id)
    password = ("gateway_password_ciphertext", "gateway_password_set_at") if clear_gateway_password else ()
    item.update(actions=set_or_remove(SmsSettingsModel, settings, _SETTINGS, remove=password))
    return _settings(item)


def _set_secret(company_id: str, secret: Any, set_at: Any, value: Any, at: datetime) -> None:
    """Set a secret and when it was set; a company without settings gets the defaults (switched off)."""
    model = SmsSettingsModel
    actions: list[Any] = [secret.set(value), set_at.set(at)]
    defaults: list[Any] = [
        model.enabled.set(model.enabled | False),
        model.provider.set(model.provider | "sns"),
        model.sms_type.set(model.sms_type | "Transactional"),
        model.default_region.set(model.default_region | "AR"),
        model.updated_at.set(model.updated_at | at),
    ]
    model(company_id).update(actions=actions + defaults)


def set_gateway_password(company_id: str, ciphertext: bytes, at: datetime) -> None:
    """Store the gateway password's KMS ciphertext, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(company_id, model.gateway_password_ciphertext, model.gateway_password_set_at, ciphertext, at)


def set_bulk_password_hash(company_id: str, password_hash: str, at: datetime) -> None:
    """Store the bulk-send password's hash, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(company_id, model.bulk_password_hash, model.bulk_password_set_at, password_hash, at)


def companies_by_inbound_number(number: str) -> list[str]:
    """The companies whose two-way number is ``number`` (E.164): one, or none (a sparse index)."""
    return [str(i.company_id) for i in SmsSettingsModel.by_inbound_number.query(number, limit=5)]
