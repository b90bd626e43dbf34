"""The operator-only API (O1, O2): onboard companies, issue, list, revoke and rotate their API keys,
assign their two-way SMS numbers and SMS sender IDs, set what they may send on Pregón's bill.

Guarded by the operator credential (``Authorization: Operator <token>``, access :data:`OPERATOR`);
a company's JWT or API key is refused with 403. The same use cases as ``infrastructure/ops.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import OPERATOR
from chalicelib.api.http import Routes, json_response, limit_param, parse_body, query_param
from chalicelib.core import clock
from chalicelib.core.domain import ApiKey, Company
from chalicelib.tenants.auth.principal import Principal

operators = Blueprint(__name__)
route = Routes(operators, schemas="operator_schemas")
REVOKED = {409: "the key was revoked already"}
REPLACED = {409: "the key was revoked or rotated already"}


def company_out(company: Company) -> dict[str, Any]:
    return {
        "company_id": company.company_id,
        "name": company.name,
        "language": company.language,
        "country": company.country,
        "time_zone": company.time_zone,
        "locale": company.locale,
        "ask_tracking_contacts": company.ask_tracking_contacts,
        "created_at": company.created_at,
    }


def key_state(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None:
        return "rotating" if key.usable_at(clock.now()) else "expired"
    return "active"


def key_out(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "prefix": key.prefix,
        "name": key.name,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
        "expires_at": key.expires_at,
        "replaced_by": key.replaced_by,
        "state": key_state(key),
    }


@route(
    "POST /operator/companies",
    OPERATOR,
    body="CompanyIn",
    response="CompanyCreatedOut",
    status=201,
    existing=200,
)
def create_company(caller: Principal) -> Response:
    """Create a company: language, country, time zone, locale, default catalog and alerts (O1)"""
    from chalicelib.api.operator_schemas import CompanyIn
    from chalicelib.tenants.companies import create_company as create
    from chalicelib.tenants.companies import get_company

    body = parse_body(operators.current_request, CompanyIn)
    created = create(
        body.company_id,
        body.name,
        body.language,
        country=body.country,
        time_zone=body.time_zone,
        locale=body.locale,
        ask_tracking_contacts=body.ask_tracking_contacts,
        by=caller.subject,
    )
    answer = company_out(get_company(body.company_id)) | {"created": created}
    return json_response(answer, 201 if created else 200)


@route("GET /operator/companies", OPERATOR, response="CompaniesOut", query=("limit", "cursor"))
def list_companies(caller: Principal) -> Response:
    """Companies in id order, a page at a time (O1)"""
    from chalicelib.tenants.companies import list_companies as fetch

    request = operators.current_request
    items, after = fetch(query_param(request, "cursor"), limit_param(request))
    return json_response({"items": [company_out(c) for c in items], "next_cursor": after})


@route(
    "POST /operator/companies/{company_id}/api-keys",
    OPERATOR,
    body="ApiKeyIn",
    response="ApiKeyIssuedOut",
    status=201,
)
def issue_api_key(caller: Principal, company_id: str) -> Response:
    """Issue an API key with scopes; the whole key is in this answer only (O2)"""
    from chalicelib.api.operator_schemas import ApiKeyIn
    from chalicelib.tenants.auth.api_keys import key_id_of
    from chalicelib.tenants.companies import issue_api_key as issue
    from chalicelib.tenants.companies import own_api_key

    body = parse_body(operators.current_request, ApiKeyIn)
    plaintext = issue(company_id, body.name, list(body.scopes), by=caller.subject)
    key = own_api_key(company_id, key_id_of(plaintext))
    return json_response(key_out(key) | {"api_key": plaintext}, 201)


@route("GET /operator/companies/{company_id}/api-keys", OPERATOR, response="ApiKeysOut")
def list_api_keys(caller: Principal, company_id: str) -> Response:
    """A company's API keys: prefix, scopes, created, last used, state; never a secret (O2)"""
    from chalicelib.tenants.companies import list_api_keys as fetch

    return json_response({"items": [key_out(k) for k in fetch(company_id)]})


@route(
    "DELETE /operator/companies/{company_id}/api-keys/{key_id}",
    OPERATOR,
    response="ApiKeyOut",
    errors=REVOKED,
)
def revoke_api_key(caller: Principal, company_id: str, key_id: str) -> Response:
    """Revoke an API key: refused from the next call (within the authorizer cache's 300 s on AWS) (O2)"""
    from chalicelib.tenants.companies import revoke_api_key as revoke

    return json_response(key_out(revoke(company_id, key_id, by=caller.subject)))


@route(
    "POST /operator/companies/{company_id}/api-keys/{key_id}/rotate",
    OPERATOR,
    body="RotateIn",
    response="ApiKeyRotatedOut",
    status=201,
    errors=REPLACED,
)
def rotate_api_key(caller: Principal, company_id: str, key_id: str) -> Response:
    """Rotate an API key: a new key now, the old secret working until the overlap ends (O2)"""
    from chalicelib.api.operator_schemas import RotateIn
    from chalicelib.tenants.companies import rotate_api_key as rotate

    body = parse_body(operators.current_request, RotateIn)
    plaintext, new, ends = rotate(
        company_id, key_id, timedelta(minutes=body.overlap_minutes), by=caller.subject
    )
    answer = key_out(new) | {"api_key": plaintext, "old_key_id": key_id, "old_key_stops_at": ends}
    return json_response(answer, 201)


@route(
    "PUT /operator/companies/{company_id}/sms-numbers",
    OPERATOR,
    body="SmsNumbersIn",
    response="SmsNumbersOut",
    errors={
        409: "another company holds one of the numbers (`field` is `numbers`; the message names it), "
        "or the company's SMS settings kept changing while they were written (try again)"
    },
)
def assign_sms_numbers(caller: Principal, company_id: str) -> Response:
    """Give a company its two-way SMS numbers: the only ones its administrators may name as the
    `inbound_number` clients write to; a number taken back stops reaching it, and a number is one
    company's at a time (I1, I2, Q7)"""
    from chalicelib.api.operator_schemas import SmsNumbersIn
    from chalicelib.messaging.accounts.sms import assign_inbound_numbers

    body = parse_body(operators.current_request, SmsNumbersIn)
    numbers = assign_inbound_numbers(company_id, list(body.numbers))
    return json_response({"company_id": company_id, "numbers": numbers})


@route(
    "PUT /operator/companies/{company_id}/sms-sender-ids",
    OPERATOR,
    body="SmsSenderIdsIn",
    response="SmsSenderIdsOut",
    errors={
        409: "the company's SMS settings kept changing while they were written (`field` is `sender_ids`; "
        "try again)"
    },
)
def assign_sms_sender_ids(caller: Principal, company_id: str) -> Response:
    """Give a company its SMS sender IDs: the only names its administrators may choose as the
    `sender_id` its SMS show, and the only ones sent; one taken back stops being shown (C6, Q7)"""
    from chalicelib.api.operator_schemas import SmsSenderIdsIn
    from chalicelib.messaging.accounts.sms import assign_sender_ids

    body = parse_body(operators.current_request, SmsSenderIdsIn)
    sender_ids = assign_sender_ids(company_id, list(body.sender_ids), by=caller.subject)
    return json_response({"company_id": company_id, "sender_ids": sender_ids})


def _service_out(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "company_id": state["company_id"],
        "in_service": state["suspended_at"] is None and state["deleted_at"] is None,
        "suspended_at": state["suspended_at"],
        "deleted_at": state["deleted_at"],
        "inbound_dropped": state["inbound_dropped"],
    }


@route("GET /operator/companies/{company_id}/suspension", OPERATOR, response="CompanyServiceOut")
def get_company_suspension(caller: Principal, company_id: str) -> Response:
    """Whether a company is in service, suspended (it is leaving) or deleted"""
    from chalicelib.records.leaving import company_leaving

    return json_response(_service_out(company_leaving(company_id)))


@route(
    "PUT /operator/companies/{company_id}/suspension",
    OPERATOR,
    body_required=False,
    response="CompanyServiceOut",
    errors={409: "The company was deleted."},
)
def suspend_company(caller: Principal, company_id: str) -> Response:
    """Suspend a company that leaves (ops company close): its keys and staff are refused, nothing more
    is sent, its public pages and links answer 410, inbound mail and SMS for it are dropped and
    counted; nothing is deleted"""
    from chalicelib.records.leaving import close_company

    return json_response(_service_out(close_company(company_id, by=caller.subject)))


@route(
    "DELETE /operator/companies/{company_id}/suspension",
    OPERATOR,
    response="CompanyServiceOut",
    errors={409: "The company's data is being deleted or was deleted."},
)
def reopen_company(caller: Principal, company_id: str) -> Response:
    """Reopen a suspended company (ops company reopen), before its deletion: what waited is sent"""
    from chalicelib.records.leaving import reopen_company as reopen

    return json_response(_service_out(reopen(company_id, by=caller.subject)))


@route("GET /operator/companies/{company_id}/allowances", OPERATOR, response="AllowancesOut")
def get_allowances(caller: Principal, company_id: str) -> Response:
    """What a company may send a day on Pregón's bill: its SMS through Pregón's SNS, its e-mails
    through Pregón's SES"""
    from chalicelib.messaging.accounts.sms import allowance_of

    return json_response(allowance_of(company_id))


@route(
    "PATCH /operator/companies/{company_id}/allowances",
    OPERATOR,
    body="AllowancesIn",
    response="AllowancesOut",
)
def set_allowances(caller: Principal, company_id: str) -> Response:
    """Set how many SMS a day a company may send through Pregón's SNS, and e-mails through Pregón's
    SES (null: the default; a field left out: unchanged); beyond it they wait for room, never
    dropped, and its administrators are told once a day"""
    from chalicelib.api.operator_schemas import AllowancesIn
    from chalicelib.messaging.accounts.sms import allowance_of, set_allowances

    body = parse_body(operators.current_request, AllowancesIn)
    given = body.model_fields_set
    set_allowances(company_id, {name: getattr(body, name) for name in given}, by=caller.subject)
    return json_response(allowance_of(company_id))


@route("DELETE /operator/companies/{company_id}/email-pause", OPERATOR, response="AllowancesOut")
def resume_emails(caller: Principal, company_id: str) -> Response:
    """Resume a company's e-mails through Pregón's SES that Pregón paused for too many hard bounces
    or complaints (decision 0032): what waited goes now, and its rates are counted afresh; a company
    not paused is left as it is"""
    from chalicelib.messaging.accounts.email_reputation import resume_emails
    from chalicelib.messaging.accounts.sms import allowance_of

    resume_emails(company_id, by=caller.subject)
    return json_response(allowance_of(company_id))
