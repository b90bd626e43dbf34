"""Support tickets (I2) and the per-client-per-day counter that caps how many a client opens.

A ticket and its day's counter are written in one transaction: the counter moves only while it
is below the company's maximum, and the ticket only when its id is new. So the (N+1)th ticket of
a day is refused with nothing written, and the same inbound SMS handled twice opens one ticket.
With ``checks`` (``store.erasures.unerased``), both are written only while the client is not
being erased nor gone (decision 0017, session 35).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store.fields import (
    checked_cursor,
    cursor_within,
    filtered_read,
    item_from,
    page_of,
    record_from,
)
from chalicelib.store.models import TicketDayModel, TicketModel
from chalicelib.store.tables import LOST_RACE, Check, CheckFailed, connection

_RACE_RETRIES = 5


def _ticket(item: TicketModel) -> domain.Ticket:
    return record_from(item, domain.Ticket)


def get_ticket(company_id: str, ticket_id: str) -> domain.Ticket | None:
    try:
        return _ticket(TicketModel.get(company_id, ticket_id, consistent_read=True))
    except DoesNotExist:
        return None


def open_ticket(
    ticket: domain.Ticket, day: str, max_per_day: int, checks: Sequence[Check] = ()
) -> tuple[domain.Ticket | None, bool]:
    """Open ``ticket`` counting it on the client's ``day`` (``YYYY-MM-DD``).

    Returns ``(ticket, True)`` when written now, ``(existing, False)`` when a ticket with this id
    was opened before, and ``(None, False)`` when the client already has ``max_per_day`` tickets
    that day (nothing is written). ``checks``: conditions on other items, first in the
    transaction; :class:`CheckFailed` (nothing written) when one does not hold."""
    counter = TicketDayModel(ticket.company_id, f"{ticket.client_id}#{day}")
    item = item_from(TicketModel, ticket)
    for _ in range(_RACE_RETRIES):
        existing = get_ticket(ticket.company_id, ticket.ticket_id)
        if existing is not None:
            return existing, False
        try:
            with TransactWrite(connection=connection()) as tx:
                for check in checks:
                    check(tx)
                tx.save(item, condition=TicketModel.ticket_id.does_not_exist())
                tx.update(
                    counter,
                    actions=[TicketDayModel.tickets.add(1)],
                    condition=TicketDayModel.tickets.does_not_exist()
                    | (TicketDayModel.tickets < max_per_day),
                )
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = [
                n
                for n, reason in enumerate(reasons[: len(checks)])
                if reason is not None and reason.code == "ConditionalCheckFailed"
            ]
            if failed:
                raise CheckFailed(failed) from exc
            codes = {r.code for r in reasons if r is not None}
            if not codes or codes - LOST_RACE:
                raise
            if "TransactionConflict" in codes:
                continue  # another writer touched the counter meanwhile: look again
            if get_ticket(ticket.company_id, ticket.ticket_id) is not None:
                continue  # the same message won elsewhere: the loop returns that ticket
            return None, False  # the day's counter is full
        return ticket, True
    raise RuntimeError("could not open the ticket: too many concurrent writers")


def tickets_page(
    company_id: str,
    *,
    limit: int,
    cursor: dict[str, Any] | None,
    since: datetime | None = None,
    client_id: str | None = None,
) -> tuple[list[domain.Ticket], dict[str, Any] | None]:
    """A company's tickets, newest first, opened at ``since`` or later, of one client or all
    (``by-time``); the key to go on from, or None on the last page. With ``client_id`` the others'
    tickets are read and left out, at most :data:`~chalicelib.store.fields.READ_PER_PAGE` a page:
    a page may hold fewer than ``limit``, even none, and a cursor to read on."""
    opened = TicketModel.created_at >= since if since else None
    start = cursor_within(
        checked_cursor(TicketModel.by_time, company_id, cursor), TicketModel.created_at, since
    )
    if client_id:
        items, after, _read = filtered_read(
            TicketModel.by_time,
            company_id,
            opened,
            filter_condition=TicketModel.client_id == client_id,
            limit=limit,
            cursor=start,
        )
        return [_ticket(i) for i in items], after
    return page_of(
        TicketModel.by_time,
        company_id,
        opened,
        scan_index_forward=False,
        limit=limit,
        cursor=start,
        convert=_ticket,
    )


def tickets_of_client(company_id: str, client_id: str, limit: int = 100) -> list[domain.Ticket]:
    """A client's tickets (a filtered query over the company's tickets; small per company)."""
    items = TicketModel.query(company_id, filter_condition=TicketModel.client_id == client_id, limit=limit)
    return [_ticket(i) for i in items]
