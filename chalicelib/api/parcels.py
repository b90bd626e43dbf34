"""Parcels for the company's systems (API key) and staff (JWT): issue, status events, follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF, api_key
from chalicelib.api.http import (
    Routes,
    json_response,
    page_request,
    page_response,
    parse_body,
    reasons_as_written,
)
from chalicelib.tenants.auth.principal import Principal

parcels = Blueprint(__name__)
route = Routes(parcels, schemas="schemas")


@route(
    "POST /parcels",
    api_key("parcels:write"),
    body="IssueParcel",
    response="IssueResultOut",
    status=201,
    existing=200,
)
def issue_parcel(caller: Principal) -> Response:
    """Issue (create or update) a parcel; a first issue subscribes its flagged contacts (T6)"""
    from chalicelib.api.schemas import IssueParcel
    from chalicelib.producers.tracking.issue import Party, Shipment, issue_shipment
    from chalicelib.producers.tracking.subscriptions import Subscriber

    company_id = caller.company_id
    body = parse_body(parcels.current_request, IssueParcel)

    def party(p: Any) -> Party | None:
        if p is None:
            return None
        return Party(
            p.first_name, p.last_name, str(p.email) if p.email else None, p.phone, p.wants_cargo_info
        )

    result = issue_shipment(
        company_id,
        Shipment(
            tracking_id=body.tracking_id,
            waybill_issued=body.waybill_issued,
            client_id=body.client_id,
            waybill_number=body.waybill_number,
            sender=party(body.sender),
            recipient=party(body.recipient),
            tracking_contacts=[
                Subscriber(c.first_name, c.last_name, str(c.email), c.phone) for c in body.tracking_contacts
            ],
        ),
    )
    out = _parcel_out(result.parcel, [])
    out["subscribed"] = [s.email for s in result.subscriptions]
    return reasons_as_written(json_response(out, 201 if result.created else 200))


@route("GET /parcels/{tracking_id}", api_key("parcels:read"), response="StaffParcelOut")
def get_parcel(caller: Principal, tracking_id: str) -> Response:
    """A parcel's full history, hidden statuses included"""
    from chalicelib.producers.tracking.parcels import staff_history

    parcel, history = staff_history(caller.company_id, tracking_id)
    # a status's reason is the carrier's own words: never translated (docs/api.md)
    return reasons_as_written(json_response(_parcel_out(parcel, history)))


def _parcel_out(parcel: object, history: Sequence[object]) -> dict[str, object]:
    from chalicelib.api.http import plain

    data = plain(parcel)
    pending = data.pop("pending", None)
    for internal in ("company_id", "version", "follow_version", "notified_occurred_at"):
        data.pop(internal, None)
    data["history"] = plain(history)
    data["pending_alert"] = pending
    return dict(data)


@route(
    "POST /parcels/{tracking_id}/events",
    api_key("parcels:write"),
    body="StatusEventBody",
    response="IngestResultOut",
    status=201,
    existing=200,
)
def post_status_event(caller: Principal, tracking_id: str) -> Response:
    """Post one status event of a parcel; the same event id twice is stored once (T4)"""
    from chalicelib.api.schemas import StatusEventBody
    from chalicelib.producers.tracking.parcels import StatusEvent, record_status_event

    company_id = caller.company_id
    body = parse_body(parcels.current_request, StatusEventBody)
    result = record_status_event(company_id, StatusEvent(tracking_id=tracking_id, **body.model_dump()))
    return json_response(result, 201 if result.created else 200)


@route("POST /parcel-events", api_key("parcels:write"), body="StatusEventBatch", response="IngestBatchOut")
def post_status_events(caller: Principal) -> Response:
    """Post a batch of status events (up to 100); all are checked before any is stored"""
    from chalicelib.api.schemas import StatusEventBatch
    from chalicelib.producers.tracking.parcels import StatusEvent, record_status_events

    company_id = caller.company_id
    body = parse_body(parcels.current_request, StatusEventBatch)
    results = record_status_events(company_id, [StatusEvent(**e.model_dump()) for e in body.events])
    return json_response({"results": results})


# --- follow-up management (T6.4, T7) --------------------------------------------------------


def _subscription_out(subscription: object) -> dict[str, object]:
    from chalicelib.api.http import plain
    from chalicelib.core import clock

    data = plain(subscription)
    data.pop("company_id", None)
    data.pop("last_alert_at", None)
    data.pop("link_nonce", None)  # signed into its links; never shown
    data["active"] = subscription.is_active(clock.now())  # type: ignore[attr-defined]
    return dict(data)


@route("GET /parcels/{tracking_id}/subscriptions", STAFF, response="SubscriptionsOut")
def list_subscriptions(caller: Principal, tracking_id: str) -> Response:
    """Who follows a parcel (active, expired and cancelled)"""
    from chalicelib.producers.tracking.subscriptions import subscriptions_of

    items = subscriptions_of(caller.company_id, tracking_id)
    return json_response({"items": [_subscription_out(s) for s in items]})


@route(
    "POST /parcels/{tracking_id}/subscriptions",
    STAFF,
    body="StaffSubscribeIn",
    response="SubscriptionOut",
    status=201,
    errors={409: "The parcel already has the most subscriptions it may have."},
)
def add_subscription(caller: Principal, tracking_id: str) -> Response:
    """Subscribe someone by hand (T6.4)"""
    from chalicelib.api.schemas import StaffSubscribeIn
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    company_id = caller.company_id
    body = parse_body(parcels.current_request, StaffSubscribeIn)
    subscription = subscribe(
        company_id,
        tracking_id,
        Subscriber(body.first_name, body.last_name, str(body.email), body.phone),
        source="staff",
    ).subscription
    return json_response(_subscription_out(subscription), 201)


@route("DELETE /parcels/{tracking_id}/subscriptions/{subscription_id}", STAFF, status=204)
def cancel_subscription(caller: Principal, tracking_id: str, subscription_id: str) -> Response:
    """Cancel a subscription (T7)"""
    from chalicelib.producers.tracking.subscriptions import cancel

    cancel(caller.company_id, tracking_id, subscription_id)
    return Response(body="", status_code=204)


@route("GET /follow-ups", STAFF, response="FollowUpsOut", query=("limit", "cursor"))
def list_follow_ups(caller: Principal) -> Response:
    """Parcels under follow-up now, with their active subscribers (T7)"""
    from chalicelib.producers.tracking.subscriptions import follow_ups

    request = parcels.current_request
    items, cursor = follow_ups(caller.company_id, *page_request(request))
    return page_response(items, cursor, _follow_up_out)


def _follow_up_out(follow_up: Any) -> dict[str, object]:
    return {
        "tracking_id": follow_up.parcel.tracking_id,
        "followed_until": follow_up.parcel.followed_until,
        "subscribers": [_subscription_out(s) for s in follow_up.subscriptions],
    }


@route("GET /parcels/{tracking_id}/alerts", STAFF, response="AlertsOut")
def list_parcel_alerts(caller: Principal, tracking_id: str) -> Response:
    """Alerts sent about a parcel, newest first (T7)"""
    from chalicelib.producers.tracking.subscriptions import alerts_for_parcel

    return json_response(
        {"items": [_alert_out(a) for a in alerts_for_parcel(caller.company_id, tracking_id)]}
    )


@route("GET /subscribers/{email}/alerts", STAFF, response="AlertsOut", query=("limit", "cursor"))
def list_subscriber_alerts(caller: Principal, email: str) -> Response:
    """Alerts sent to one subscriber address, newest first (T7)"""
    from urllib.parse import unquote

    from chalicelib.producers.tracking.subscriptions import alerts_for_subscriber

    request = parcels.current_request
    items, cursor = alerts_for_subscriber(caller.company_id, unquote(email), *page_request(request))
    return page_response(items, cursor, _alert_out)


def _alert_out(alert: object) -> dict[str, object]:
    from chalicelib.api.http import plain

    data = plain(alert)
    data.pop("company_id", None)
    return dict(data)
