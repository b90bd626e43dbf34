"""Push (C7): a company's SNS platform applications and its clients' registered devices."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import PushDeviceModel, PushSettingsModel
from chalicelib.store.tables import replace_versioned


def get_push_settings(company_id: str) -> domain.PushSettings | None:
    try:
        item = PushSettingsModel.get(company_id)
    except DoesNotExist:
        return None
    return record_from(item, domain.PushSettings, version=int(item.version or 0))


def save_push_settings(settings: domain.PushSettings, expected: tuple[int, ...] | None = None) -> int | None:
    """Write the settings as their next version (the version written); None (nothing written)
    when they are no longer at a version ``expected`` names (``If-Match``)."""
    item = item_from(PushSettingsModel, settings, updated_by=settings.updated_by or "")
    return int(item.version) if replace_versioned(item, expected) else None


def _device(item: PushDeviceModel) -> domain.PushDevice:
    return record_from(item, domain.PushDevice)


def save_device(device: domain.PushDevice) -> None:
    item_from(PushDeviceModel, device, device_key=f"{device.client_id}#{device.device_id}").save()


def get_device(company_id: str, client_id: str, device_id: str) -> domain.PushDevice | None:
    try:
        return _device(PushDeviceModel.get(company_id, f"{client_id}#{device_id}", consistent_read=True))
    except DoesNotExist:
        return None


def delete_device(company_id: str, client_id: str, device_id: str) -> None:
    PushDeviceModel(company_id, f"{client_id}#{device_id}").delete()


def devices_of(company_id: str, client_id: str) -> list[domain.PushDevice]:
    """A client's devices: one query on the key prefix ``<client>#``."""
    return [
        _device(i)
        for i in PushDeviceModel.query(company_id, PushDeviceModel.device_key.startswith(f"{client_id}#"))
    ]
