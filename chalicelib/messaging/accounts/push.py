"""Push (C7): the company's SNS platform applications (one per platform) and the devices its
clients' apps register.

An application serves one company: the operator who creates it in SNS names it after the company,
``<company id>`` or ``<company id>_<label>`` (``cablesur_android``; company ids have no ``_``, so the
name says exactly whose it is). ``PUT /push/settings`` accepts only the calling company's
applications, and registering a device checks it again, so no company can send through another's.

A registered device becomes an SNS platform endpoint (``create_platform_endpoint``) kept on a
device item of the client. A push message is an ``OutgoingMessage(channel="push",
to_address=<endpoint ARN>, subject=<title>, text=<body>)``; the outbox delivers it
(``channels/push.py``). Registering the same token again is a no-op answering the same device.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import PushDevice, PushSettings
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.store import push as store

# SNS names the platforms GCM (Firebase) and APNS / APNS_SANDBOX in application ARNs.
_ARN = re.compile(
    r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:app/(GCM|APNS|APNS_SANDBOX)/[A-Za-z0-9_.\-]{1,256}$"
)
_SNS_PLATFORMS = {"fcm": ("GCM",), "apns": ("APNS", "APNS_SANDBOX")}
OWNER_SEPARATOR = "_"
MAX_TOKEN_CHARS = 4096


def _sns() -> Any:
    from chalicelib.core.aws import client

    return client("sns")


def application_belongs_to(arn: str, company_id: str) -> bool:
    """Whether the platform application's name is ``<company_id>`` or ``<company_id>_<label>``."""
    name = arn.rsplit("/", 1)[-1]
    return name == company_id or name.startswith(company_id + OWNER_SEPARATOR)


def get_push_settings(company_id: str) -> PushSettings:
    return store.get_push_settings(company_id) or PushSettings(company_id, None, None)


def save_push_settings(
    company_id: str,
    *,
    fcm_application_arn: str | None,
    apns_application_arn: str | None,
    updated_by: str,
    if_match: tuple[int, ...] | None = None,
) -> PushSettings:
    """Set the platform application of each platform (``None`` removes one). Each ARN must be
    of its platform, created for this company (its name) and exist in SNS; errors name the field,
    nothing is saved. With ``if_match`` (the versions an ``If-Match`` names), a 412 when someone
    else saved them since."""
    from botocore.exceptions import ClientError

    from chalicelib.channels.provider_errors import aws_refusal

    errors = []
    for platform, arn in (("fcm", fcm_application_arn), ("apns", apns_application_arn)):
        if arn is None:
            continue
        field = f"{platform}_application_arn"
        match = _ARN.match(arn)
        if not match or match.group(1) not in _SNS_PLATFORMS[platform]:
            kinds = " or ".join(f"app/{p}/<name>" for p in _SNS_PLATFORMS[platform])
            errors.append({"field": field, "message": f"must be an SNS platform application ARN ({kinds})"})
            continue
        if not application_belongs_to(arn, company_id):
            errors.append(
                {
                    "field": field,
                    "message": "is not an application created for this company: its name must be "
                    f"{company_id!r} or start with '{company_id}{OWNER_SEPARATOR}'",
                }
            )
            continue
        try:
            _sns().get_platform_application_attributes(PlatformApplicationArn=arn)
        except ClientError as exc:
            message = aws_refusal(exc, "SNS", company_id=company_id, field=field)
            errors.append({"field": field, "message": f"SNS does not know this application: {message}"})
    if errors:
        raise ValidationFailed(errors)
    settings = PushSettings(
        company_id,
        fcm_application_arn,
        apns_application_arn,
        updated_at=clock.now(),
        updated_by=updated_by,
    )
    version = store.save_push_settings(settings, if_match)
    if version is None:
        raise edited_meanwhile("the push settings")
    return replace(settings, version=version)


def device_id_of(platform: str, token: str) -> str:
    return hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:16]


def register_device(company_id: str, client_id: str, platform: str, token: str) -> tuple[PushDevice, bool]:
    """Register a client's device: an SNS platform endpoint on the company's application for
    the platform. Returns (device, created); the same token again answers the existing device."""
    from botocore.exceptions import ClientError

    from chalicelib.channels.provider_errors import aws_refusal
    from chalicelib.tenants.clients import get_client

    get_client(company_id, client_id)  # NotFound for a client of no one (or of another company)
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or any(ch.isspace() for ch in token):
        raise ValidationFailed(
            [{"field": "token", "message": f"must be 1-{MAX_TOKEN_CHARS} characters without spaces"}]
        )
    device_id = device_id_of(platform, token)
    existing = store.get_device(company_id, client_id, device_id)
    if existing is not None:
        return existing, False
    settings = get_push_settings(company_id)
    application = settings.fcm_application_arn if platform == "fcm" else settings.apns_application_arn
    if not application or not application_belongs_to(application, company_id):
        raise Conflict(
            f"push to {platform} is not set up for this company; an administrator sets its SNS "
            "platform application with PUT /push/settings",
            field="platform",
        )
    try:
        answer = _sns().create_platform_endpoint(
            PlatformApplicationArn=application,
            Token=token,
            CustomUserData=f"{company_id}#{client_id}",
        )
    except ClientError as exc:
        message = aws_refusal(exc, "SNS", company_id=company_id, client_id=client_id)
        raise ValidationFailed([{"field": "token", "message": f"SNS refused the token: {message}"}]) from exc
    device = PushDevice(
        company_id=company_id,
        client_id=client_id,
        device_id=device_id,
        platform=platform,
        token=token,
        endpoint_arn=str(answer["EndpointArn"]),
        created_at=clock.now(),
    )
    store.save_device(device)
    return device, True


def unregister_device(company_id: str, client_id: str, device_id: str) -> None:
    """Forget a device: its SNS endpoint is deleted, then its item."""
    device = store.get_device(company_id, client_id, device_id)
    if device is None:
        raise NotFound(f"client {client_id!r} has no device {device_id!r}")
    _sns().delete_endpoint(EndpointArn=device.endpoint_arn)  # idempotent in SNS
    store.delete_device(company_id, client_id, device_id)


def list_devices(company_id: str, client_id: str) -> list[PushDevice]:
    from chalicelib.tenants.clients import get_client

    get_client(company_id, client_id)
    return store.devices_of(company_id, client_id)


def devices_of(company_id: str, client_id: str) -> list[PushDevice]:
    """A client's devices (no existence check: the send-job expansion has the client already)."""
    return store.devices_of(company_id, client_id)
