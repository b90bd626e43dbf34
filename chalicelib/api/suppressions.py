"""The company's suppression list for administrators (Q5): list, add by hand, lift."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.http import Routes, json_response, page_request, parse_body, query_param
from chalicelib.tenants.auth.principal import Principal

suppressions = Blueprint(__name__)
route = Routes(suppressions, schemas="suppression_schemas")


def _entry_out(entry: Any) -> dict[str, Any]:
    from chalicelib.messaging.suppression import added_by

    return {
        "address": entry.address,
        "reason": entry.reason,
        "detail": entry.detail,
        "communication_id": entry.communication_id,
        "created_at": entry.created_at,
        "created_by": added_by(entry),
    }


def _named_page(caller: Principal, items: Any, cursor: dict[str, Any] | None) -> Response:
    from chalicelib.api.people import named_page

    return named_page(caller, items, cursor, _entry_out, "created_by")


@route("GET /suppressions", ADMIN, response="SuppressionsOut", query=("limit", "cursor", "q"))
def list_suppressions(caller: Principal) -> Response:
    """Addresses no message goes to: hard bounces, complaints, added by hand (Q5)

    With `q`, one address's entry only (or no item): an e-mail address in any case, a phone number
    however it is written (`011 15-5987-6543` finds `+5491159876543`)."""
    from chalicelib.messaging.suppression import find_suppression
    from chalicelib.messaging.suppression import list_suppressions as fetch

    company_id = caller.company_id
    request = suppressions.current_request
    wanted = query_param(request, "q")
    page = page_request(request)  # checked with `q` too, though `q` answers one entry
    if wanted:
        return _named_page(caller, find_suppression(company_id, wanted), None)
    items, cursor = fetch(company_id, *page)
    return _named_page(caller, items, cursor)


@route(
    "POST /suppressions",
    ADMIN,
    body="SuppressionIn",
    response="SuppressionAddedOut",
    status=201,
    existing=200,
)
def add_suppression(caller: Principal) -> Response:
    """Put an address on the suppression list by hand, e.g. a client asked by phone (Q5)

    201 with the new entry; 200 with the existing entry when the address was already there."""
    from chalicelib.api.suppression_schemas import SuppressionIn
    from chalicelib.messaging.suppression import add_suppression as add

    company_id, user = caller.company_id, caller.subject
    body = parse_body(suppressions.current_request, SuppressionIn)
    entry, created = add(company_id, body.address, reason=body.reason, note=body.note, by=user)
    from chalicelib.api.people import named

    answer = named(caller, {**_entry_out(entry), "created": created}, "created_by")
    return json_response(answer, 201 if created else 200)


@route("DELETE /suppressions/{address}", ADMIN, status=204)
def lift_suppression(caller: Principal, address: str) -> Response:
    """Lift a suppression: messages go to the address again (Q5)

    The address is URL-encoded (`ana%40example.com`, `%2B5491159876543`). Who lifted it and
    when is written to the log."""
    from urllib.parse import unquote

    from chalicelib.messaging.suppression import lift_suppression as lift

    company_id, user = caller.company_id, caller.subject
    lift(company_id, unquote(address), by=user)
    return Response(body="", status_code=204)
