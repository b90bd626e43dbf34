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
from chalicelib.store.models import SmsSettingsModel


def _settings(item: SmsSettingsModel) -> domain.SmsSettings:
    return domain.SmsSettings(
        company_id=item.company_id,
        enabled=bool(item.enabled),
        provider=item.provider or "sns",
        sms_type=item.sms_type or "Transactional",
        default_region=item.default_region or "AR",
        updated_at=item.updated_at,
        sender_id=item.sender_id,
        base_url=item.base_url,
        username=item.username,
        gateway_password_ciphertext=item.gateway_password_ciphertext,
        gateway_password_set_at=item.gateway_password_set_at,
        bulk_password_hash=item.bulk_password_hash,
        bulk_password_set_at=item.bulk_password_set_at,
        inbound_number=item.inbound_number,
        help_text=item.help_text,
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
    actions: list[Any] = [
        SmsSettingsModel.enabled.set(settings.enabled),
        SmsSettingsModel.provider.set(settings.provider),
        SmsSettingsModel.sms_type.set(settings.sms_type),
        SmsSettingsModel.default_region.set(settings.default_region),
        SmsSettingsModel.updated_at.set(settings.updated_at),
    ]
    optional: list[tuple[Any, Any]] = [
        (SmsSettingsModel.sender_id, settings.sender_id),
        (SmsSettingsModel.base_url, settings.base_url),
        (SmsSettingsModel.username, settings.username),
        (SmsSettingsModel.inbound_number, settings.inbound_number),
        (SmsSettingsModel.help_text, settings.help_text),
    ]
    for attribute, value in optional:
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    if clear_gateway_password:
        actions += [
            SmsSettingsModel.gateway_password_ciphertext.remove(),
            SmsSettingsModel.gateway_password_set_at.remove(),
        ]
    item.update(actions=actions)
    return _settings(item)


def _set_secret(company_id: str, actions: list[Any], at: datetime) -> None:
    """Set a secret's attributes; a company without settings gets the defaults (switched off)."""
    model = SmsSettingsModel
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
    _set_secret(
        company_id,
        [
            SmsSettingsModel.gateway_password_ciphertext.set(ciphertext),
            SmsSettingsModel.gateway_password_set_at.set(at),
        ],
        at,
    )


def set_bulk_password_hash(company_id: str, password_hash: str, at: datetime) -> None:
    """Store the bulk-send password's hash, replacing any before it."""
    _set_secret(
        company_id,
        [
            SmsSettingsModel.bulk_password_hash.set(password_hash),
            SmsSettingsModel.bulk_password_set_at.set(at),
        ],
        at,
    )


def companies_by_inbound_number(number: str) -> list[str]:
    """The companies whose two-way number is ``number`` (E.164): one, or none (a sparse index)."""
    return [str(i.company_id) for i in SmsSettingsModel.by_inbound_number.query(number, limit=5)]
