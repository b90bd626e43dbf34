"""Support tickets clients opened by SMS (I2), for the company's ticket system and its staff.

Pregón opens a ticket when a client's SMS names a ticket keyword (``producers.sms_replies``) and
answers the client with its id; the company's own ticket system, which is where the ticket is
worked on, learns of it here: it polls the tickets opened since its last look (``since``), newest
first. Who sees what is the one rule of the register (``own_only``): a ticket is opened by the
system, not by a user, so a level-4 user sees none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core.domain import Ticket
from chalicelib.core.errors import NotFound
from chalicelib.store import tickets as store
from chalicelib.tenants.auth.principal import Principal, may_see


def list_tickets(
    viewer: Principal,
    *,
    limit: int,
    cursor: dict[str, Any] | None,
    since: str | None = None,
    client_id: str | None = None,
) -> tuple[list[Ticket], dict[str, Any] | None]:
    """The tickets ``viewer`` may see, newest first, opened at ``since`` or later (an ISO 8601
    date-time with its offset, or a day of the company's), of one client or all."""
    from_moment = _since(viewer.company_id, since) if since else None
    if not may_see(viewer, None):
        return [], None
    return store.tickets_page(
        viewer.company_id, limit=limit, cursor=cursor, since=from_moment, client_id=client_id or None
    )


def _since(company_id: str, raw: str) -> datetime:
    from chalicelib.records.history.criteria import parse_moment
    from chalicelib.store.companies import get_company

    company = get_company(company_id)
    return parse_moment(raw, "since", time_zone=company.time_zone if company else "UTC")


def get_ticket(viewer: Principal, ticket_id: str) -> Ticket:
    """One ticket; 404 when the company has none by that id, or ``viewer`` may not see it."""
    found = store.get_ticket(viewer.company_id, ticket_id) if len(ticket_id) <= 64 else None
    if found is None or not may_see(viewer, None):
        raise NotFound(f"there is no ticket {ticket_id[:64]!r}")
    return found
