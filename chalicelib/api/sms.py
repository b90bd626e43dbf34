"""The company's SMS service for administrators (C6): settings, the two write-only passwords and a
test send."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.http import Routes, if_match, json_response, parse_body, plain, versioned_response
from chalicelib.tenants.auth.principal import Principal

sms = Blueprint(__name__)
route = Routes(sms, schemas="schemas")


def _fields_of(raw_body: str | bytes | None) -> set[str]:
    """The keys the caller actually sent (saving is a merge: the others keep their value)."""
    import json

    data = json.loads(raw_body or b"{}")
    return set(data) if isinstance(data, dict) else set()


@route("GET /sms/settings", ADMIN, response="SmsSettingsOut", versioned=True)
def get_sms_settings(caller: Principal) -> Response:
    """The SMS settings; passwords are never returned (C6)"""
    from chalicelib.messaging.accounts.sms import get_sms_settings as fetch

    return _settings_out(fetch(caller.company_id))


def _settings_out(settings: Any) -> Response:
    """The settings as answered, their version as the ETag."""
    data = dict(plain(settings))
    return versioned_response(data, data.pop("version"))


@route(
    "GET /sms/settings/provider-status",
    ADMIN,
    response="SmsProviderStatusOut",
    errors={
        409: "SMS Masivos' `masivos_username` or password is not set yet: there is no account to read.",
        429: "The company read its provider's account 30 times this hour (each read is three requests to "
        "SMS Masivos); `Retry-After` says when the next hour starts.",
    },
)
def get_provider_status(caller: Principal) -> Response:
    """What the SMS provider says of the company's account now: SMS Masivos' credit, expiry, month's count"""
    from chalicelib.messaging.accounts.sms_credit import provider_status

    # its ``error`` (our words) reads in the caller's language as every answer's reasons do (map_errors)
    return json_response(provider_status(caller.company_id))


@route(
    "PUT /sms/settings",
    ADMIN,
    body="SmsSettingsIn",
    response="SmsSettingsOut",
    versioned=True,
    errors={
        409: "The `inbound_number` already receives SMS for another company.",
        422: "Also: an `inbound_number` or `sender_id` that is not one Pregón's operator assigned the "
        "company (the one it had is kept), or an `inbound_number` whose claim is another company's "
        "(a number assigned to two companies before numbers were claimed), sent new or again as it "
        "was: choose another, or leave it empty, and ask Pregón's operator.",
    },
)
def save_sms_settings(caller: Principal) -> Response:
    """Change the SMS settings: switch on/off (keeping them), provider, sender, region (C6)"""
    from chalicelib.api.schemas import SmsSettingsIn
    from chalicelib.messaging.accounts.sms import save_sms_settings as save

    company_id = caller.company_id
    request = sms.current_request
    body = parse_body(request, SmsSettingsIn)
    fields = body.model_dump(mode="json", include=_fields_of(request.raw_body))
    return _settings_out(save(company_id, fields, if_match(request)))


@route(
    "PUT /sms/settings/gateway-password",
    ADMIN,
    body="PasswordIn",
    status=204,
    errors={
        409: "The gateway's `base_url` and `username` are not set yet (`PUT /sms/settings`): the "
        "password is only ever sent to that gateway."
    },
)
def set_gateway_password(caller: Principal) -> Response:
    """Set the SMS gateway's password: write-only, stored encrypted with KMS (C6)"""
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.sms import set_gateway_password as set_password

    company_id = caller.company_id
    body = parse_body(sms.current_request, PasswordIn)
    set_password(company_id, body.password)
    return Response(body="", status_code=204)


@route(
    "PUT /sms/settings/sms-masivos-password",
    ADMIN,
    body="PasswordIn",
    status=204,
    errors={
        409: "The `masivos_username` is not set yet (`PUT /sms/settings`): the password is only ever "
        "sent for that user."
    },
)
def set_masivos_password(caller: Principal) -> Response:
    """Set the SMS Masivos password: write-only, stored encrypted with KMS (C6)"""
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.sms import set_masivos_password as set_password

    company_id = caller.company_id
    body = parse_body(sms.current_request, PasswordIn)
    set_password(company_id, body.password)
    return Response(body="", status_code=204)


@route("PUT /sms/bulk-password", ADMIN, body="BulkPasswordIn", status=204)
def set_bulk_password(caller: Principal) -> Response:
    """Set the bulk-send password asked for sends to more than one client: write-only, hashed (C6)"""
    from chalicelib.api.schemas import BulkPasswordIn
    from chalicelib.messaging.accounts.sms import set_bulk_password as set_password

    company_id = caller.company_id
    body = parse_body(sms.current_request, BulkPasswordIn)
    set_password(company_id, body.password)
    return Response(body="", status_code=204)


@route(
    "POST /sms/test",
    ADMIN,
    body="SmsTestIn",
    response="SmsTestOut",
    errors={
        409: "SMS is not set up or incomplete for the company (`PUT /sms/settings`); it may be switched off.",
        429: "The company's SMS send-rate limit (C2), or through Pregón's SNS Pregón's daily SMS allowance, "
        "is reached: a test counts in both like any SMS; the message names the limit, and it and "
        "`Retry-After` say when the next one can go.",
    },
)
def send_test_sms(caller: Principal) -> Response:
    """Send one test SMS with the company's settings; the provider's refusal comes back as text (C6)"""
    from chalicelib.api.schemas import SmsTestIn
    from chalicelib.messaging.accounts.sms import send_test_sms as send

    company_id = caller.company_id
    body = parse_body(sms.current_request, SmsTestIn)
    return json_response(send(company_id, body.to, body.text))
