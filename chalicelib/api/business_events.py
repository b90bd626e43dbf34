"""Events from the company's back office that the client hears about (C9, T10).

API keys need the scope ``events:write``; staff may post them too. The first post of an event
answers 202 (messages queued); the same ``event_id`` again answers 200 with the first answer and
``"duplicate": true``, and sends nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from chalice import Blueprint, Response

from chalicelib.api.access import api_key
from chalicelib.api.http import Routes, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

if TYPE_CHECKING:
    from chalicelib.producers.business_events import EventOutcome

business_events = Blueprint(__name__)
route = Routes(business_events, schemas="business_events_schemas")

T = TypeVar("T")
# An invoice carries its PDF (at most 7 MB, base64: 4/3 of it) in the JSON body.
MAX_INVOICE_BODY_BYTES = 10 * 1024 * 1024


def _event(name: str, body: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """The route of the event ``name``: posted with the ``events:write`` scope (or by staff), its body
    the model ``body`` of business_events_schemas; 202 when first posted, 200 on a repeat."""
    return route(
        f"POST /events/{name}",
        api_key("events:write"),
        body=body,
        response="EventOut",
        status=202,
        existing=200,
    )


def _answer(outcome: EventOutcome) -> Response:
    return json_response(outcome, 200 if outcome.duplicate else 202)


def _parse_large(model: type[T]) -> T:
    """``parse_body`` with room for an attached PDF."""
    from chalicelib.core.errors import ValidationFailed

    too_large = ValidationFailed(
        [{"field": "pdf.content_base64", "message": "the request is larger than 10 MB (the PDF may be 7 MB)"}]
    )
    return parse_body(
        business_events.current_request, model, max_bytes=MAX_INVOICE_BODY_BYTES, too_large=too_large
    )


@_event("invoice-issued", "InvoiceIssuedIn")
def invoice_issued(caller: Principal) -> Response:
    """An invoice was issued: e-mail it to the client with its PDF attached (C9)"""
    from chalicelib.api.business_events_schemas import InvoiceIssuedIn
    from chalicelib.producers.business_events import Invoice, Pdf
    from chalicelib.producers.business_events import invoice_issued as handle

    body = _parse_large(InvoiceIssuedIn)
    outcome = handle(
        caller.company_id,
        body.event_id,
        body.client_id,
        Invoice(body.invoice.number, body.invoice.issued_on, body.invoice.total, body.invoice.due_on),
        Pdf(body.pdf.content_base64, body.pdf.file_name),
        client_balance=body.client_balance,
    )
    return _answer(outcome)


@_event("payment-recorded", "PaymentRecordedIn")
def payment_recorded(caller: Principal) -> Response:
    """A payment was recorded: e-mail the receipt, and an SMS when the company's switch for automatic / manual
    payments is on (C9)"""
    from chalicelib.api.business_events_schemas import PaymentRecordedIn
    from chalicelib.producers.business_events import Payment
    from chalicelib.producers.business_events import payment_recorded as handle

    body = parse_body(business_events.current_request, PaymentRecordedIn)
    paid = body.payment
    outcome = handle(
        caller.company_id,
        body.event_id,
        body.client_id,
        Payment(paid.receipt_number, paid.amount, paid.received_on, paid.entry, paid.method),
        client_balance=body.client_balance,
    )
    return _answer(outcome)


@_event("ticket-changed", "TicketChangedIn")
def ticket_changed(caller: Principal) -> Response:
    """A ticket changed: e-mail the client when the ticket asks to notify the client (C9)"""
    from chalicelib.api.business_events_schemas import TicketChangedIn
    from chalicelib.producers.business_events import Ticket
    from chalicelib.producers.business_events import ticket_changed as handle

    body = parse_body(business_events.current_request, TicketChangedIn)
    t = body.ticket
    outcome = handle(
        caller.company_id,
        body.event_id,
        body.client_id,
        Ticket(t.id, t.subject, t.status, t.operator, t.comment, t.updated_at),
        notify_client=body.notify_client,
    )
    return _answer(outcome)


@_event("pickup-approved", "PickupApprovedIn")
def pickup_approved(caller: Principal) -> Response:
    """A branch approved a pickup: e-mail the branch, the label's link and the tracking id (T10)"""
    from chalicelib.api.business_events_schemas import PickupApprovedIn
    from chalicelib.producers.business_events import Pickup
    from chalicelib.producers.business_events import pickup_approved as handle

    body = parse_body(business_events.current_request, PickupApprovedIn)
    pickup = Pickup(body.pickup_number, body.branch, body.pickup_date, body.tracking_id, str(body.label_url))
    outcome = handle(caller.company_id, body.event_id, body.client_id, pickup)
    return _answer(outcome)


@_event("pickups-confirmed", "PickupsConfirmedIn")
def pickups_confirmed(caller: Principal) -> Response:
    """Pickups were confirmed: ONE e-mail saying which and how many (T10)"""
    from chalicelib.api.business_events_schemas import PickupsConfirmedIn
    from chalicelib.producers.business_events import ConfirmedPickup
    from chalicelib.producers.business_events import pickups_confirmed as handle

    body = parse_body(business_events.current_request, PickupsConfirmedIn)
    pickups = [ConfirmedPickup(p.tracking_id, p.address, p.date) for p in body.pickups]
    outcome = handle(caller.company_id, body.event_id, body.client_id, pickups)
    return _answer(outcome)
