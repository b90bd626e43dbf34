"""Push (C7): a company's SNS platform applications and its clients' registered devices."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.store.models import PushDeviceModel, PushSettingsModel


def get_push_settings(company_id: str) -> domain.PushSettings | None:
    try:
        item = PushSettingsModel.get(company_id)
    except DoesNotExist:
        return None
    return domain.PushSettings(
        company_id=item.company_id,
        fcm_application_arn=item.fcm_application_arn,
        apns_application_arn=item.apns_application_arn,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
    )


def save_push_settings(settings: domain.PushSettings) -> None:
    PushSettingsModel(
        settings.company_id,
        fcm_application_arn=settings.fcm_application_arn,
        apns_application_arn=settings.apns_application_arn,
        updated_at=settings.updated_at,
        updated_by=settings.updated_by or "",
    ).save()


def _device(item: PushDeviceModel) -> domain.PushDevice:
    return domain.PushDevice(
        company_id=item.company_id,
        client_id=item.client_id,
        device_id=item.device_id,
        platform=item.platform,
        token=item.token,
        endpoint_arn=item.endpoint_arn,
        created_at=item.created_at,
    )


def save_device(device: domain.PushDevice) -> None:
    PushDeviceModel(
        device.company_id,
        f"{device.client_id}#{device.device_id}",
        client_id=device.client_id,
        device_id=device.device_id,
        platform=device.platform,
        token=device.token,
        endpoint_arn=device.endpoint_arn,
        created_at=device.created_at,
    ).save()


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
