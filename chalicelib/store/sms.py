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
from chalicelib.core.errors import Conflict
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
        assigned_sender_ids=tuple(sorted(item.assigned_sender_ids or ())),
    )


def get_sms_settings(company_id: str) -> domain.SmsSettings | None:
    try:
        return _settings(SmsSettingsModel.get(company_id, consistent_read=True))
    except DoesNotExist:
        return None


class NotAssigned(Exception):
    """A new ``inbound_number`` or ``sender_id`` is not (any more) one the operator assigned the
    company; ``fields`` names which."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


# The chosen setting and the set of the operator's assignments it must be in.
_ASSIGNED = {"inbound_number": "assigned_numbers", "sender_id": "assigned_sender_ids"}


def save_sms_settings(
    settings: domain.SmsSettings, *, clear_gateway_password: bool = False, newly_chosen: tuple[str, ...] = ()
) -> domain.SmsSettings:
    """Write the settings (not the secrets, which are kept unless ``clear_gateway_password``:
    the gateway it was for changed); returns the stored item. ``newly_chosen`` (``inbound_number``,
    ``sender_id``): each is written only while the operator's assignment holds it (``NotAssigned``
    naming the ones it does not hold otherwise)."""
    from pynamodb.exceptions import UpdateError

    item = SmsSettingsModel(settings.company_id)
    password = ("gateway_password_ciphertext", "gateway_password_set_at") if clear_gateway_password else ()
    chosen = {name: getattr(settings, name) for name in newly_chosen if getattr(settings, name)}
    condition = None
    for name, value in chosen.items():
        held = getattr(SmsSettingsModel, _ASSIGNED[name]).contains(value)
        condition = held if condition is None else condition & held
    try:
        item.update(
            actions=set_or_remove(SmsSettingsModel, settings, _SETTINGS, remove=password), condition=condition
        )
    except UpdateError as exc:
        if condition is not None and exc.cause_response_code == "ConditionalCheckFailedException":
            now = get_sms_settings(settings.company_id)
            held_now = {name: getattr(now, _ASSIGNED[name]) if now else () for name in chosen}
            raise NotAssigned(
                [name for name, value in chosen.items() if value not in held_now[name]]
            ) from exc
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
    return _assign(company_id, "inbound_number", numbers, at)


def assign_sender_ids(company_id: str, sender_ids: list[str], at: datetime) -> domain.SmsSettings:
    """Set the sender IDs the operator gave the company (none: SMS go out without one); its
    ``sender_id`` goes in the same write when it is not one of them any more."""
    return _assign(company_id, "sender_id", sender_ids, at)


# An assignment tries again when an administrator's save changed the setting between its read and
# its write (each save is one write: a few tries always pass).
_ASSIGN_TRIES = 5


def _assign(company_id: str, chosen: str, values: list[str], at: datetime) -> domain.SmsSettings:
    """Replace the operator's assignments for the setting ``chosen``, removing the setting when
    the value the company chose is no longer among them. The write holds only while the setting
    is still what was read: an administrator who chose a value the assignment withdraws, between
    the read and the write, would otherwise keep it (a number that could then be given to another
    company, leaving its SMS to neither)."""
    from pynamodb.exceptions import UpdateError

    model = SmsSettingsModel
    assigned = getattr(model, _ASSIGNED[chosen])
    setting = getattr(model, chosen)
    for _ in range(_ASSIGN_TRIES):
        current = get_sms_settings(company_id)
        value = getattr(current, chosen) if current is not None else None
        actions: list[Any] = [assigned.set(set(values)) if values else assigned.remove()]
        if value and value not in values:
            actions.append(setting.remove())
        item = model(company_id)
        try:
            item.update(
                actions=actions + _defaults(at),
                condition=setting == value if value else setting.does_not_exist(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue  # the company's choice changed since it was read: read it again
            raise
        return _settings(item)
    raise Conflict("the company's SMS settings kept changing: try again", field=chosen)


def settings_of(company_ids: list[str]) -> list[domain.SmsSettings]:
    """The SMS settings of these companies (one batch read; those that never saved any are left
    out): what the operator reviews when sender IDs became theirs to assign."""
    return [_settings(item) for item in SmsSettingsModel.batch_get(company_ids)]


def companies_by_inbound_number(number: str) -> list[str]:
    """The companies whose two-way number is ``number`` (E.164): one, or none (a sparse index)."""
    return [str(i.company_id) for i in SmsSettingsModel.by_inbound_number.query(number, limit=5)]
