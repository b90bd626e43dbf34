"""Company configuration for administrators: status catalog, alert monitor, sender accounts."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF, USER_IN_PATH_OR_ADMIN
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body
from chalicelib.core.domain import AlertSchedule
from chalicelib.tenants.auth.principal import Principal

configuration = Blueprint(__name__)


@configuration.route("/company", methods=["GET"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="The caller's company and its settings",
    response="chalicelib.api.schemas.CompanyOut",
    access=STAFF,
)
def get_company(caller: Principal) -> Response:
    from chalicelib.tenants.companies import get_company as fetch

    return json_response(fetch(caller.company_id))


@configuration.route("/company", methods=["PATCH"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Change company settings (language of messages, ask for tracking contacts at issue, "
    "payment SMS for automatic / manual payments, country, time zone and locale)",
    body="chalicelib.api.schemas.CompanySettingsIn",
    response="chalicelib.api.schemas.CompanyOut",
    access=ADMIN,
)
def update_company(caller: Principal) -> Response:
    from chalicelib.api.schemas import CompanySettingsIn
    from chalicelib.tenants.companies import update_settings

    company_id = caller.company_id
    body = parse_body(configuration.current_request, CompanySettingsIn)
    return json_response(
        update_settings(
            company_id,
            language=body.language,
            ask_tracking_contacts=body.ask_tracking_contacts,
            sms_on_automatic_payments=body.sms_on_automatic_payments,
            sms_on_manual_payments=body.sms_on_manual_payments,
            country=body.country,
            time_zone=body.time_zone,
            locale=body.locale,
        )
    )


@configuration.route("/status-catalog", methods=["GET"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="The company's status catalog (T8)",
    response="chalicelib.api.schemas.StatusCatalogOut",
    access=STAFF,
)
def list_statuses(caller: Principal) -> Response:
    from chalicelib.producers.tracking.catalog import status_catalog

    catalog = status_catalog(caller.company_id)
    return json_response({"items": sorted(catalog.values(), key=lambda s: s.code)})


@configuration.route("/status-catalog/{code}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Rename a status, set its visibility and whether it is notified (T8)",
    body="chalicelib.api.schemas.StatusDefinitionIn",
    response="chalicelib.api.schemas.StatusDefinitionOut",
    access=ADMIN,
)
def save_status(caller: Principal, code: str) -> Response:
    from chalicelib.api.schemas import StatusDefinitionIn
    from chalicelib.producers.tracking.catalog import save_status as save

    company_id = caller.company_id
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
    configuration,
    summary="The alert monitor: every alert type with frequency, last and next run, counts (T9)",
    response="chalicelib.api.schemas.AlertMonitorOut",
    access=STAFF,
)
def alert_monitor(caller: Principal) -> Response:
    from chalicelib.producers.tracking.monitor import alert_monitor as monitor

    return json_response({"items": [_schedule_out(s) for s in monitor(caller.company_id)]})


@configuration.route("/alerts/{alert_type}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Enable an alert type and set its frequency in minutes; 0 = off (T9, T5)",
    body="chalicelib.api.schemas.AlertConfigIn",
    response="chalicelib.api.schemas.AlertScheduleOut",
    access=ADMIN,
)
def configure_alert(caller: Principal, alert_type: str) -> Response:
    from chalicelib.api.schemas import AlertConfigIn
    from chalicelib.producers.tracking.monitor import configure_alert as configure

    company_id = caller.company_id
    body = parse_body(configuration.current_request, AlertConfigIn)
    return json_response(
        _schedule_out(configure(company_id, alert_type, body.enabled, body.frequency_minutes))
    )


def _schedule_out(schedule: AlertSchedule) -> dict[str, object]:
    """The monitor's row; its times also as the company's people read them (Z1)."""
    from chalicelib.api.http import plain
    from chalicelib.core.localization import show_datetime
    from chalicelib.tenants.companies import get_company

    company = get_company(schedule.company_id)
    data = plain(schedule)
    data.pop("company_id", None)
    for name in ("last_run", "next_run"):
        moment = getattr(schedule, f"{name}_at")
        data[f"{name}_shown"] = show_datetime(moment, company.time_zone, company.locale) if moment else None
    data["time_zone"] = company.time_zone
    return dict(data)


@configuration.route("/sender-accounts", methods=["GET"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Sender accounts per area; passwords are never returned (C1)",
    response="chalicelib.api.schemas.SenderAccountsOut",
    access=ADMIN,
)
def list_sender_accounts(caller: Principal) -> Response:
    from chalicelib.messaging.accounts.email import list_accounts

    return json_response({"items": list_accounts(caller.company_id)})


@configuration.route("/sender-accounts/{area}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Create or change the sender account of an area; `all` is the fallback (C1)",
    body="chalicelib.api.schemas.SenderAccountIn",
    response="chalicelib.api.schemas.SenderAccountOut",
    access=ADMIN,
)
def save_sender_account(caller: Principal, area: str) -> Response:
    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.email import save_sender_account as save

    company_id = caller.company_id
    body = parse_body(configuration.current_request, SenderAccountIn)
    return json_response(save(company_id, area, body.model_dump(mode="json")))


@configuration.route("/sender-accounts/{area}/password", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Set the account's password: write-only, stored encrypted with KMS (C1)",
    body="chalicelib.api.schemas.PasswordIn",
    status=204,
    access=ADMIN,
)
def set_sender_password(caller: Principal, area: str) -> Response:
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id = caller.company_id
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@configuration.route("/sender-accounts/{area}", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Remove an area's sender account (the area falls back to `all`)",
    status=204,
    access=ADMIN,
)
def delete_sender_account(caller: Principal, area: str) -> Response:
    from chalicelib.messaging.accounts.email import delete_sender_account as delete

    delete(caller.company_id, area)
    return Response(body="", status_code=204)


# --- personal sender accounts (C5) -----------------------------------------------------------


def _personal_area(user_id: str) -> str:
    """The personal account's key of the user named in the path (which may arrive URL-encoded)."""
    from urllib.parse import unquote

    from chalicelib.messaging.accounts.email import personal_area

    return personal_area(unquote(user_id))


@configuration.route("/users/{user_id}/sender-account", methods=["GET"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="A user's own sender account (C5); the password is never returned",
    response="chalicelib.api.schemas.SenderAccountOut",
    access=USER_IN_PATH_OR_ADMIN,
)
def get_personal_sender_account(caller: Principal, user_id: str) -> Response:
    from chalicelib.messaging.accounts.email import get_account

    company_id, area = caller.company_id, _personal_area(user_id)
    return json_response(get_account(company_id, area))


@configuration.route("/users/{user_id}/sender-account", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Create or change a user's own sender account: orders go out from the responsible "
    "user's account, reminders from the collection agent's, else the company's (C5)",
    body="chalicelib.api.schemas.SenderAccountIn",
    response="chalicelib.api.schemas.SenderAccountOut",
    access=USER_IN_PATH_OR_ADMIN,
)
def save_personal_sender_account(caller: Principal, user_id: str) -> Response:
    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.email import save_sender_account as save

    company_id, area = caller.company_id, _personal_area(user_id)
    body = parse_body(configuration.current_request, SenderAccountIn)
    return json_response(save(company_id, area, body.model_dump(mode="json")))


@configuration.route("/users/{user_id}/sender-account/password", methods=["PUT"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Set a personal account's password: write-only, KMS-encrypted (C5)",
    body="chalicelib.api.schemas.PasswordIn",
    status=204,
    access=USER_IN_PATH_OR_ADMIN,
)
def set_personal_sender_password(caller: Principal, user_id: str) -> Response:
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id, area = caller.company_id, _personal_area(user_id)
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@configuration.route("/users/{user_id}/sender-account", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    configuration,
    summary="Remove a user's own sender account (their messages fall back to the company's)",
    status=204,
    access=USER_IN_PATH_OR_ADMIN,
)
def delete_personal_sender_account(caller: Principal, user_id: str) -> Response:
    from chalicelib.messaging.accounts.email import delete_sender_account as delete

    company_id, area = caller.company_id, _personal_area(user_id)
    delete(company_id, area)
    return Response(body="", status_code=204)
