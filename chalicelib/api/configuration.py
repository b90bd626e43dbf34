"""Company configuration for administrators: status catalog, alert monitor, sender accounts."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body, principal_of

configuration = Blueprint(__name__)


def _admin() -> str:
    caller = principal_of(configuration.current_request)
    caller.require_admin()
    return caller.company_id


def _staff() -> str:
    caller = principal_of(configuration.current_request)
    caller.require_staff()
    return caller.company_id


@configuration.route("/company", methods=["GET"], authorizer=pregon_auth)
@describe(summary="The caller's company and its settings", response="CompanyOut")
def get_company() -> Response:
    from chalicelib.tenants.companies import get_company as fetch

    return json_response(fetch(_staff()))


@configuration.route("/company", methods=["PATCH"], authorizer=pregon_auth)
@describe(
    summary="Change company settings (language of messages, ask for tracking contacts at issue, "
    "payment SMS for automatic / manual payments)",
    body="CompanySettingsIn",
    response="CompanyOut",
)
def update_company() -> Response:
    from chalicelib.api.schemas import CompanySettingsIn
    from chalicelib.tenants.companies import update_settings

    company_id = _admin()
    body = parse_body(configuration.current_request, CompanySettingsIn)
    return json_response(
        update_settings(
            company_id,
            language=body.language,
            ask_tracking_contacts=body.ask_tracking_contacts,
            sms_on_automatic_payments=body.sms_on_automatic_payments,
            sms_on_manual_payments=body.sms_on_manual_payments,
        )
    )


@configuration.route("/status-catalog", methods=["GET"], authorizer=pregon_auth)
@describe(summary="The company's status catalog (T8)", response="StatusCatalogOut")
def list_statuses() -> Response:
    from chalicelib.producers.tracking.catalog import status_catalog

    catalog = status_catalog(_staff())
    return json_response({"items": sorted(catalog.values(), key=lambda s: s.code)})


@configuration.route("/status-catalog/{code}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Rename a status, set its visibility and whether it is notified (T8)",
    body="StatusDefinitionIn",
    response="StatusDefinitionOut",
)
def save_status(code: str) -> Response:
    from chalicelib.api.schemas import StatusDefinitionIn
    from chalicelib.producers.tracking.catalog import save_status as save

    company_id = _admin()
    body = parse_body(configuration.current_request, StatusDefinitionIn)
    return json_response(
        save(company_id, _status_code(code), body.display_name, body.visibility, body.notify)
    )


def _status_code(code: str) -> str:
    import re

    from chalicelib.core.errors import ValidationFailed

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", code):
        raise ValidationFailed([{"field": "code", "message": "use 1-64 letters, digits, '_', '.' or '-'"}])
    return code


@configuration.route("/alerts", methods=["GET"], authorizer=pregon_auth)
@describe(
    summary="The alert monitor: every alert type with frequency, last and next run, counts (T9)",
    response="AlertMonitorOut",
)
def alert_monitor() -> Response:
    from chalicelib.producers.tracking.monitor import alert_monitor as monitor

    return json_response({"items": [_schedule_out(s) for s in monitor(_staff())]})


@configuration.route("/alerts/{alert_type}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Enable an alert type and set its frequency in minutes; 0 = off (T9, T5)",
    body="AlertConfigIn",
    response="AlertScheduleOut",
)
def configure_alert(alert_type: str) -> Response:
    from chalicelib.api.schemas import AlertConfigIn
    from chalicelib.producers.tracking.monitor import configure_alert as configure

    company_id = _admin()
    body = parse_body(configuration.current_request, AlertConfigIn)
    return json_response(
        _schedule_out(configure(company_id, alert_type, body.enabled, body.frequency_minutes))
    )


def _schedule_out(schedule: object) -> dict[str, object]:
    from chalicelib.api.http import plain

    data = plain(schedule)
    data.pop("company_id", None)
    return dict(data)


@configuration.route("/sender-accounts", methods=["GET"], authorizer=pregon_auth)
@describe(summary="Sender accounts per area; passwords are never returned (C1)", response="SenderAccountsOut")
def list_sender_accounts() -> Response:
    from chalicelib.messaging.accounts.email import list_accounts

    return json_response({"items": list_accounts(_admin())})


@configuration.route("/sender-accounts/{area}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Create or change the sender account of an area; `all` is the fallback (C1)",
    body="SenderAccountIn",
    response="SenderAccountOut",
)
def save_sender_account(area: str) -> Response:
    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.email import save_sender_account as save

    company_id = _admin()
    body = parse_body(configuration.current_request, SenderAccountIn)
    return json_response(save(company_id, area, body.model_dump(mode="json")))


@configuration.route("/sender-accounts/{area}/password", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Set the account's password: write-only, stored encrypted with KMS (C1)",
    body="PasswordIn",
    status=204,
)
def set_sender_password(area: str) -> Response:
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id = _admin()
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@configuration.route("/sender-accounts/{area}", methods=["DELETE"], authorizer=pregon_auth)
@describe(summary="Remove an area's sender account (the area falls back to `all`)", status=204)
def delete_sender_account(area: str) -> Response:
    from chalicelib.messaging.accounts.email import delete_sender_account as delete

    delete(_admin(), area)
    return Response(body="", status_code=204)


# --- personal sender accounts (C5) -----------------------------------------------------------


def _self_or_admin(user_id: str) -> tuple[str, str]:
    """The company and the personal account's key; only the user or an administrator may."""
    from urllib.parse import unquote

    from chalicelib.core.errors import Forbidden
    from chalicelib.messaging.accounts.email import personal_area

    caller = principal_of(configuration.current_request)
    caller.require_staff()
    user_id = unquote(user_id)
    if caller.level != 1 and caller.subject != user_id:
        raise Forbidden("only the user or a company administrator may manage a personal sender account")
    return caller.company_id, personal_area(user_id)


@configuration.route("/users/{user_id}/sender-account", methods=["GET"], authorizer=pregon_auth)
@describe(
    summary="A user's own sender account (C5); the password is never returned", response="SenderAccountOut"
)
def get_personal_sender_account(user_id: str) -> Response:
    from chalicelib.messaging.accounts.email import get_account

    company_id, area = _self_or_admin(user_id)
    return json_response(get_account(company_id, area))


@configuration.route("/users/{user_id}/sender-account", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Create or change a user's own sender account: orders go out from the responsible "
    "user's account, reminders from the collection agent's, else the company's (C5)",
    body="SenderAccountIn",
    response="SenderAccountOut",
)
def save_personal_sender_account(user_id: str) -> Response:
    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.email import save_sender_account as save

    company_id, area = _self_or_admin(user_id)
    body = parse_body(configuration.current_request, SenderAccountIn)
    return json_response(save(company_id, area, body.model_dump(mode="json")))


@configuration.route("/users/{user_id}/sender-account/password", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Set a personal account's password: write-only, KMS-encrypted (C5)", body="PasswordIn", status=204
)
def set_personal_sender_password(user_id: str) -> Response:
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id, area = _self_or_admin(user_id)
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@configuration.route("/users/{user_id}/sender-account", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    summary="Remove a user's own sender account (their messages fall back to the company's)", status=204
)
def delete_personal_sender_account(user_id: str) -> Response:
    from chalicelib.messaging.accounts.email import delete_sender_account as delete

    company_id, area = _self_or_admin(user_id)
    delete(company_id, area)
    return Response(body="", status_code=204)
