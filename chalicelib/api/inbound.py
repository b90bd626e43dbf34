"""Received e-mail for staff (I3, H2): the company's inbound address, messages that matched no
client, assigning one to a client, and a message's detail with its attachments."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF
from chalicelib.api.http import Routes, flag_param, json_response, page_request, page_response, parse_body
from chalicelib.api.webhook_schemas import NOT_ANNOUNCED
from chalicelib.tenants.auth.principal import Principal

inbound = Blueprint(__name__)
route = Routes(inbound, schemas="inbound_schemas")


def _summary(comm: Any) -> dict[str, Any]:
    return {
        "communication_id": comm.communication_id,
        "created_at": comm.created_at,
        "sent_at": comm.sent_at,
        "from_address": comm.from_address,
        "from_name": comm.from_name,
        "to_address": comm.to_address,
        "subject": comm.subject,
        "channel": comm.channel,
        "message_type": comm.message_type,
        "client_id": comm.client_id,
        "unassigned": comm.unassigned,
        "flagged": comm.flagged,
        "auto_submitted": comm.auto_submitted,
        "attachment_count": len(comm.attachments),
        "error": comm.error,
    }


def _detail(comm: Any) -> dict[str, Any]:
    from chalicelib.core.links import without_portal_tokens
    from chalicelib.records.inbound_mail import attachment_links, candidates_for

    return {
        **_summary(comm),
        "contact_id": comm.contact_id,
        # a client's reply quoting its portal access e-mail quotes the link
        "text": without_portal_tokens(comm.text),
        "html": without_portal_tokens(comm.html),
        "headers": comm.headers,
        "in_reply_to": comm.in_reply_to,
        "thread_id": comm.thread_id,
        "raw_key": comm.raw_key,
        "attachments": attachment_links(comm),
        "candidate_clients": candidates_for(comm),
    }


def _communication_id(raw: str) -> str:
    import re

    from chalicelib.core.errors import NotFound

    if not re.fullmatch(r"[0-9a-f]{24}", raw):
        raise NotFound(f"there is no received e-mail {raw!r}")
    return raw


@route("GET /inbound/address", STAFF, response="InboundAddressOut")
def get_inbound_address(caller: Principal) -> Response:
    """The company's inbound e-mail address (I3)

    Point the sender accounts' Reply-To here so that replies are logged in the register."""
    from chalicelib.core.settings import get_settings
    from chalicelib.messaging.addresses import inbound_address

    return json_response(
        {"address": inbound_address(caller.company_id), "domain": get_settings().inbound_domain}
    )


@route(
    "GET /inbound/unassigned", STAFF, response="InboundPageOut", query=("limit", "cursor", "auto_submitted")
)
def list_unassigned(caller: Principal) -> Response:
    """Received e-mail that matched no client, newest first (I3); level 4: only answers to its own messages"""
    from chalicelib.records.inbound_mail import unassigned

    request = inbound.current_request
    page = unassigned(caller, *page_request(request), automatic=flag_param(request, "auto_submitted"))
    return page_response(page.items, page.cursor, _summary)


@route("GET /inbound/held", ADMIN, response="HeldMailOut", query=("date", "channel", "address", "cursor"))
def list_held(caller: Principal) -> Response:
    """Received mail held past the day's ceilings (decision 0037): how many, and from whom

    The held messages are not in the unassigned list nor in any register. `date`: any of the last
    30 days (today, in the company's time zone, unless given); each sender's first 1,000 of a day
    are kept for release, listed 20 a page: `address` lists one sender, `cursor` (a sender's
    `next_cursor`) its next page."""
    from chalicelib.api.http import query_param
    from chalicelib.core.localization import checked_day
    from chalicelib.records.inbound_flood import held_on

    request = inbound.current_request
    day = checked_day(query_param(request, "date"), "date", blank_is_missing=False)
    channel = query_param(request, "channel")
    address, cursor = query_param(request, "address"), query_param(request, "cursor")
    return json_response(held_on(_company(caller), day, channel, address, cursor))


@route(
    "POST /inbound/held/release",
    ADMIN,
    body="ReleaseHeldIn",
    response="ReleasedOut",
    errors={
        404: "No held mail from that address on that day (or it was released already).",
        410: "The held mail's raw copies are gone: held mail is deleted 40 days after it arrived.",
    },
)
def release_held(caller: Principal) -> Response:
    """Record a page of a sender's held e-mails of a day as if no ceiling had held them (decision 0037)

    Up to 20 a call (the sender's first page still holding some: call again for the next); each is
    matched, threaded and announced as on arrival; it is taken off the held list. Held
    mail is kept 40 days after it arrived (a day is listed for 30): past that, 410."""
    from chalicelib.api.inbound_schemas import ReleaseHeldIn
    from chalicelib.records.inbound_flood import release

    body = parse_body(inbound.current_request, ReleaseHeldIn)
    return json_response({"released": release(_company(caller), body.date, body.address)})


def _company(caller: Principal) -> Any:
    from chalicelib.core.errors import NotFound
    from chalicelib.store.companies import get_company

    company = get_company(caller.company_id)
    if company is None:
        raise NotFound("there is no such company")
    return company


@route("GET /inbound/{communication_id}", STAFF, response="InboundMessageOut")
def get_inbound_message(caller: Principal, communication_id: str) -> Response:
    """A received e-mail with its attachments' download links (I3); level 4: only answers to its own
    messages"""
    from chalicelib.records.inbound_mail import get_inbound

    return json_response(_detail(get_inbound(caller, _communication_id(communication_id))))


@route(
    "POST /inbound/{communication_id}/assign",
    STAFF,
    body="AssignInboundIn",
    response="InboundMessageOut",
    errors={503: NOT_ANNOUNCED},
)
def assign_inbound_message(caller: Principal, communication_id: str) -> Response:
    """Assign a received e-mail to a client: it leaves the unassigned list, enters the register"""
    from chalicelib.api.inbound_schemas import AssignInboundIn
    from chalicelib.records.inbound_mail import assign

    viewer = caller
    message_id = _communication_id(communication_id)
    body = parse_body(inbound.current_request, AssignInboundIn)
    return json_response(_detail(assign(viewer, message_id, body.client_id)))
