"""Push (C7): the company's SNS platform applications (administrators) and the devices its
clients' apps register (the company's systems with an API key, or staff)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, api_key
from chalicelib.api.http import Routes, if_match, json_response, parse_body, versioned_response
from chalicelib.tenants.auth.principal import Principal

push = Blueprint(__name__)
route = Routes(push, schemas="sends_schemas")


def _device_out(device: Any) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "client_id": device.client_id,
        "platform": device.platform,
        "endpoint_arn": device.endpoint_arn,
        "created_at": device.created_at,
    }


def _settings_out(caller: Principal, settings: Any) -> dict[str, Any]:
    from chalicelib.api.people import named

    answer = {
        "fcm_application_arn": settings.fcm_application_arn,
        "apns_application_arn": settings.apns_application_arn,
        "updated_at": settings.updated_at,
        "updated_by": settings.updated_by,
    }
    return named(caller, answer, "updated_by")


@route("GET /push/settings", ADMIN, response="PushSettingsOut", versioned=True)
def get_push_settings(caller: Principal) -> Response:
    """The company's SNS platform applications for push, per platform (C7)"""
    from chalicelib.messaging.accounts.push import get_push_settings as fetch

    settings = fetch(caller.company_id)
    return versioned_response(_settings_out(caller, settings), settings.version)


@route("PUT /push/settings", ADMIN, body="PushSettingsIn", response="PushSettingsOut", versioned=True)
def save_push_settings(caller: Principal) -> Response:
    """Set the SNS platform application of each platform (fcm, apns); a missing one is removed (C7)"""
    from chalicelib.api.sends_schemas import PushSettingsIn
    from chalicelib.messaging.accounts.push import save_push_settings as save

    company_id, user = caller.company_id, caller.subject
    request = push.current_request
    body = parse_body(request, PushSettingsIn)
    settings = save(
        company_id,
        fcm_application_arn=body.fcm_application_arn,
        apns_application_arn=body.apns_application_arn,
        updated_by=user,
        if_match=if_match(request),
    )
    return versioned_response(_settings_out(caller, settings), settings.version)


@route(
    "POST /clients/{client_id}/devices",
    api_key("clients:write"),
    body="DeviceIn",
    response="DeviceOut",
    status=201,
    existing=200,
    errors={409: "Push to the device's platform is not set up for the company (`PUT /push/settings`)."},
)
def register_device(caller: Principal, client_id: str) -> Response:
    """Register a client's device for push: an SNS platform endpoint; the same token again is answered with
    the same device (C7)"""
    from chalicelib.api.sends_schemas import DeviceIn
    from chalicelib.messaging.accounts.push import register_device as register

    company_id = caller.company_id
    body = parse_body(push.current_request, DeviceIn)
    device, created = register(company_id, client_id, body.platform, body.token)
    return json_response(_device_out(device), 201 if created else 200)


@route("GET /clients/{client_id}/devices", api_key("clients:read"), response="DevicesOut")
def list_devices(caller: Principal, client_id: str) -> Response:
    """A client's registered devices (C7)"""
    from chalicelib.messaging.accounts.push import list_devices as fetch

    company_id = caller.company_id
    return json_response({"items": [_device_out(d) for d in fetch(company_id, client_id)]})


@route("DELETE /clients/{client_id}/devices/{device_id}", api_key("clients:write"), status=204)
def unregister_device(caller: Principal, client_id: str, device_id: str) -> Response:
    """Unregister a device: its SNS endpoint is deleted (C7)"""
    from chalicelib.messaging.accounts.push import unregister_device as unregister

    company_id = caller.company_id
    unregister(company_id, client_id, device_id)
    return Response(body="", status_code=204)
