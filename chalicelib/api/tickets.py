"""Support tickets clients opened by SMS (I2): for the company's ticket system and its staff."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import api_key
from chalicelib.api.http import Routes, json_response, page_request, page_response, query_param
from chalicelib.tenants.auth.principal import Principal

tickets = Blueprint(__name__)
route = Routes(tickets, schemas="tickets_schemas")


def ticket_out(ticket: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket.ticket_id,
        "client_id": ticket.client_id,
        "operator": ticket.operator,
        "category": ticket.category,
        "text": ticket.text,
        "source": ticket.source,
        "created_at": ticket.created_at,
        "communication_id": ticket.communication_id,
    }


@route(
    "GET /tickets",
    api_key("tickets:read"),
    response="TicketsPageOut",
    query=("limit", "cursor", "since", "client_id"),
)
def list_tickets(caller: Principal) -> Response:
    """Tickets clients opened by SMS, newest first (I2): the company's ticket system polls those opened
    `since` its last look; level 4 sees none (a ticket is the system's, not a user's)"""
    from chalicelib.records.tickets import list_tickets as listed

    request = tickets.current_request
    limit, cursor = page_request(request)
    found, after = listed(
        caller,
        limit=limit,
        cursor=cursor,
        since=query_param(request, "since"),
        client_id=query_param(request, "client_id"),
    )
    return page_response(found, after, ticket_out)


@route("GET /tickets/{ticket_id}", api_key("tickets:read"), response="TicketOut")
def get_ticket(caller: Principal, ticket_id: str) -> Response:
    """One ticket a client opened by SMS (I2)"""
    from chalicelib.records.tickets import get_ticket as one

    return json_response(ticket_out(one(caller, ticket_id)))
