"""Company configuration for administrators: status catalog, alert monitor, sender accounts."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF, USER_IN_PATH_OR_ADMIN
from chalicelib.api.http import Routes, etag, if_match, json_response, parse_body, plain, versioned_response
from chalicelib.api.webhook_schemas import CANCEL_NOT_TOLD
from chalicelib.core.domain import AlertSchedule, Company, StatusDefinition
from chalicelib.tenants.auth.principal import Principal

configuration = Blueprint(__name__)
route = Routes(configuration, schemas="schemas")


@route("GET /company", STAFF, response="CompanyOut", versioned=True)
def get_company(caller: Principal) -> Response:
    """The caller's company and its settings"""
    from chalicelib.tenants.companies import get_company as fetch

    return _company_out(fetch(caller.company_id))


@route("PATCH /company", ADMIN, body="CompanySettingsIn", response="CompanyOut", versioned=True)
def update_company(caller: Principal) -> Response:
    """Change company settings (language of messages, ask for tracking contacts at issue, payment SMS for
    automatic / manual payments, country, time zone and locale)"""
    from chalicelib.api.schemas import CompanySettingsIn
    from chalicelib.tenants.companies import update_settings

    company_id = caller.company_id
    request = configuration.current_request
    body = parse_body(request, CompanySettingsIn)
    return _company_out(update_settings(company_id, **body.model_dump(), if_match=if_match(request)))


def _company_out(company: Company) -> Response:
    """The company as answered: its settings' version as the ETag (the branding has its own)."""
    data = dict(plain(company))
    del data["branding_version"]
    return versioned_response(data, data.pop("settings_version"))


@route("GET /status-catalog", STAFF, response="StatusCatalogOut")
def list_statuses(caller: Principal) -> Response:
    """The company's status catalog (T8)"""
    from chalicelib.producers.tracking.catalog import status_catalog

    catalog = status_catalog(caller.company_id)
    return json_response({"items": [_status_out(s) for s in sorted(catalog.values(), key=lambda s: s.code)]})


def _status_out(status: StatusDefinition) -> dict[str, object]:
    """A status as answered: its version as the ETag to edit it with (``etag``)."""
    data = dict(plain(status))
    data["etag"] = etag(data.pop("version"))
    return data


@route(
    "PUT /status-catalog/{code}",
    ADMIN,
    body="StatusDefinitionIn",
    response="StatusDefinitionOut",
    versioned=True,
)
def save_status(caller: Principal, code: str) -> Response:
    """Rename a status, set its visibility and whether it is notified (T8)"""
    from chalicelib.api.schemas import StatusDefinitionIn
    from chalicelib.producers.tracking.catalog import save_status as save

    company_id = caller.company_id
    request = configuration.current_request
    body = parse_body(request, StatusDefinitionIn)
    status = save(
        company_id, _status_code(code), body.display_name, body.visibility, body.notify, if_match(request)
    )
    return versioned_response(_status_out(status), status.version)


def _status_code(code: str) -> str:
    import re

    from chalicelib.core.errors import ValidationFailed

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", code):
        raise ValidationFailed([{"field": "code", "message": "use 1-64 letters, digits, '_', '.' or '-'"}])
    return code


@route("GET /alerts", STAFF, response="AlertMonitorOut")
def alert_monitor(caller: Principal) -> Response:
    """The alert monitor: every alert type with frequency, last and next run, counts (T9)"""
    from chalicelib.producers.tracking.monitor import alert_monitor as monitor

    return json_response({"items": [_schedule_out(s) for s in monitor(caller.company_id)]})


@route("PUT /alerts/{alert_type}", ADMIN, body="AlertConfigIn", response="AlertScheduleOut", versioned=True)
def configure_alert(caller: Principal, alert_type: str) -> Response:
    """Enable an alert type and set its frequency in minutes, 0 = off (T9, T5); `reminders` runs daily
    at `hour_of_day` of the company's clock (R3)"""
    from chalicelib.api.schemas import AlertConfigIn
    from chalicelib.producers.tracking.monitor import configure_alert as configure

    company_id = caller.company_id
    request = configuration.current_request
    body = parse_body(request, AlertConfigIn)
    schedule = configure(
        company_id, alert_type, body.enabled, body.frequency_minutes, body.hour_of_day, if_match(request)
    )
    return versioned_response(_schedule_out(schedule), schedule.version)


def _schedule_out(schedule: AlertSchedule) -> dict[str, object]:
    """The monitor's row; its times also as the company's people read them (Z1)."""
    from chalicelib.api.http import plain
    from chalicelib.core import clock
    from chalicelib.core.localization import show_datetime
    from chalicelib.tenants.companies import get_company

    company = get_company(schedule.company_id)
    data = plain(schedule)
    data.pop("company_id", None)
    data["etag"] = etag(data.pop("version"))  # the version to edit it at
    for name in ("last_run", "next_run"):
        moment = getattr(schedule, f"{name}_at")
        data[f"{name}_shown"] = show_datetime(moment, company.time_zone, company.locale) if moment else None
    data["next_run_due"] = schedule.next_run_at is not None and schedule.next_run_at <= clock.now()
    data["time_zone"] = company.time_zone
    return dict(data)


@route("GET /sender-accounts", ADMIN, response="SenderAccountsOut")
def list_sender_accounts(caller: Principal) -> Response:
    """Sender accounts per area; passwords are never returned (C1). `waiting` lists the areas whose
    outbox holds e-mails, a deleted account's area too, and the users' own accounts likewise (area
    `user:<id>`, C5): with an account `missing`, `disabled` or `incomplete` they wait until it
    works again (C2)"""
    from chalicelib.messaging.accounts.waiting import accounts_overview

    overview = accounts_overview(caller.company_id)
    return json_response({**overview, "items": [_account_out(caller, a) for a in overview["items"]]})


def _account_out(caller: Principal, account: Any) -> dict[str, Any]:
    """An account as answered: its version as the ETag to edit it with (``etag``), and the
    administrator who allowed its From as the caller is shown them (a level-4 owner: by handle)."""
    from chalicelib.api.people import named

    data = dict(plain(account))
    data["etag"] = etag(data.pop("version"))
    return named(caller, data, "from_allowed_by")


def _versioned_account(caller: Principal, account: dict[str, Any]) -> Response:
    shown = _account_out(caller, account)
    return versioned_response(shown, account["version"])


@route(
    "PUT /sender-accounts/{area}",
    ADMIN,
    body="SenderAccountIn",
    response="SenderAccountOut",
    errors={409: "Other saves on the SES account's domain kept racing this one (try again)."},
    versioned=True,
)
def save_sender_account(caller: Principal, area: str) -> Response:
    """Create or change the sender account of an area; `all` is the fallback (C1). The answer's
    `waiting` counts the e-mails in the area's outbox: a save that disables the account leaves them
    waiting"""
    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.waiting import save_account

    company_id = caller.company_id
    request = configuration.current_request
    body = parse_body(request, SenderAccountIn)
    saved = save_account(company_id, area, body.model_dump(mode="json"), if_match=if_match(request))
    return _versioned_account(caller, saved)


@route("PUT /sender-accounts/{area}/password", ADMIN, body="PasswordIn", status=204)
def set_sender_password(caller: Principal, area: str) -> Response:
    """Set the account's password: write-only, stored encrypted with KMS (C1)"""
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id = caller.company_id
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@route("DELETE /sender-accounts/{area}", ADMIN, response="SenderAccountDeletedOut")
def delete_sender_account(caller: Principal, area: str) -> Response:
    """Remove an area's sender account: new messages of the area fall back to `all`; e-mails already
    queued for this account (`waiting`) wait until an account for the area is added again"""
    from chalicelib.messaging.accounts.waiting import delete_account

    return json_response(delete_account(caller.company_id, area))


@route(
    "POST /sender-accounts/{area}/waiting/cancel",
    ADMIN,
    response="WaitingCancelledOut",
    errors={
        409: "The area's account works: its queued e-mails are not waiting and go by themselves.",
        503: CANCEL_NOT_TOLD,
    },
)
def cancel_waiting_mail(caller: Principal, area: str) -> Response:
    """Give up on the e-mails waiting for an area's missing, disabled or incomplete account: each is
    recorded `failed` with the reason (who cancelled it) in the history and counted as a failure, and
    each to a client is told to the company's webhooks (`message.failed`, `reason: cancelled`);
    `waiting` is what is left (held by a drain or in a retry's wait), null when nothing"""
    from chalicelib.messaging.accounts.waiting import cancel_waiting

    return json_response(cancel_waiting(caller.company_id, area, caller.subject).body())


# --- personal sender accounts (C5) -----------------------------------------------------------


def _personal_area(user_id: str) -> str:
    """The personal account's key of the user named in the path (which may arrive URL-encoded)."""
    from urllib.parse import unquote

    from chalicelib.messaging.accounts.email import personal_area

    return personal_area(unquote(user_id))


@route(
    "GET /users/{user_id}/sender-account", USER_IN_PATH_OR_ADMIN, response="SenderAccountOut", versioned=True
)
def get_personal_sender_account(caller: Principal, user_id: str) -> Response:
    """A user's own sender account (C5); the password is never returned. `waiting` counts the
    e-mails queued for it (orders the user is responsible for, say): with the account disabled or
    incomplete they wait until it works again"""
    from chalicelib.messaging.accounts.waiting import account_with_waiting

    company_id, area = caller.company_id, _personal_area(user_id)
    return _versioned_account(caller, account_with_waiting(company_id, area))


@route("GET /users/{user_id}/sender-account/waiting", USER_IN_PATH_OR_ADMIN, response="AccountWaitingOut")
def get_personal_waiting_mail(caller: Principal, user_id: str) -> Response:
    """The e-mails waiting for a user's own account (C5), with it or without it: after the account
    was deleted its `GET` is `404`, and its queued e-mails wait until the user has a working account
    again (`waiting`, null when nothing waits)"""
    from chalicelib.messaging.accounts.waiting import waiting_of

    return json_response(waiting_of(caller.company_id, _personal_area(user_id)))


@route(
    "PUT /users/{user_id}/sender-account",
    USER_IN_PATH_OR_ADMIN,
    body="SenderAccountIn",
    response="SenderAccountOut",
    versioned=True,
)
def save_personal_sender_account(caller: Principal, user_id: str) -> Response:
    """Create or change a user's own sender account: orders go out from the responsible user's account,
    reminders from the collection agent's, else the company's (C5). It speaks as its owner:
    `from_address` must be the user's own address (the staff directory's e-mail, else the token's
    `email` claim; case does not matter), else `422` naming `from_address`. Only an administrator
    (level 1) may set another address for a user (a shared mailbox); the user may keep it, not change
    it. An account whose From is no longer its owner's fails its messages with the reason."""
    from urllib.parse import unquote

    from chalicelib.api.schemas import SenderAccountIn
    from chalicelib.messaging.accounts.waiting import save_account
    from chalicelib.tenants.staff import checked_user_id

    # an account is kept only under an id the staff directory could hold (422 naming user_id)
    checked_user_id(unquote(user_id))
    company_id, area = caller.company_id, _personal_area(user_id)
    request = configuration.current_request
    body = parse_body(request, SenderAccountIn)
    fields = body.model_dump(mode="json")
    return _versioned_account(
        caller, save_account(company_id, area, fields, caller=caller, if_match=if_match(request))
    )


@route("PUT /users/{user_id}/sender-account/password", USER_IN_PATH_OR_ADMIN, body="PasswordIn", status=204)
def set_personal_sender_password(caller: Principal, user_id: str) -> Response:
    """Set a personal account's password: write-only, KMS-encrypted (C5)"""
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.messaging.accounts.email import set_sender_password as set_password

    company_id, area = caller.company_id, _personal_area(user_id)
    body = parse_body(configuration.current_request, PasswordIn)
    set_password(company_id, area, body.password)
    return Response(body="", status_code=204)


@route("DELETE /users/{user_id}/sender-account", USER_IN_PATH_OR_ADMIN, response="SenderAccountDeletedOut")
def delete_personal_sender_account(caller: Principal, user_id: str) -> Response:
    """Remove a user's own sender account: their new messages fall back to the area's account or the
    company's; e-mails already queued for this account (`waiting`) wait until the user has a working
    account again"""
    from chalicelib.messaging.accounts.waiting import delete_account

    return json_response(delete_account(caller.company_id, _personal_area(user_id)))


@route(
    "POST /users/{user_id}/sender-account/waiting/cancel",
    USER_IN_PATH_OR_ADMIN,
    response="WaitingCancelledOut",
    errors={
        409: "The account works: its queued e-mails are not waiting and go by themselves.",
        503: CANCEL_NOT_TOLD,
    },
)
def cancel_personal_waiting_mail(caller: Principal, user_id: str) -> Response:
    """Give up on the e-mails waiting for a user's own missing, disabled or incomplete account (C5),
    as for an area's: each is recorded `failed` with who cancelled it, and told to the company's
    webhooks (`message.failed`, `reason: cancelled`); `waiting` is what is left"""
    from chalicelib.messaging.accounts.waiting import cancel_waiting

    return json_response(cancel_waiting(caller.company_id, _personal_area(user_id), caller.subject).body())
