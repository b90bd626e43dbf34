"""Parcels for the company's systems (API key) and staff (JWT): issue, status events, follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import (
    cursor_param,
    describe,
    encode_cursor,
    json_response,
    limit_param,
    parse_body,
    principal_of,
)

parcels = Blueprint(__name__)


def _caller(scope: str) -> str:
    """The caller's company, after checking the API key's scope (staff pass by level)."""
    caller = principal_of(parcels.current_request)
    caller.require_scope(scope)
    return caller.company_id


def _staff() -> str:
    caller = principal_of(parcels.current_request)
    caller.require_staff()
    return caller.company_id


@parcels.route("/parcels", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Issue (create or update) a parcel; a first issue subscribes its flagged contacts (T6)",
    body="IssueParcel",
    response="IssueResultOut",
    status=201,
)
def issue_parcel() -> Response:
    from chalicelib.api.schemas import IssueParcel
    from chalicelib.producers.tracking.issue import Party, Shipment, issue_shipment
    from chalicelib.producers.tracking.subscriptions import Subscriber

    company_id = _caller("parcels:write")
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
    return json_response(out, 201 if result.created else 200)


@parcels.route("/parcels/{tracking_id}", methods=["GET"], authorizer=pregon_auth)
@describe(summary="A parcel's full history, hidden statuses included", response="StaffParcelOut")
def get_parcel(tracking_id: str) -> Response:
    from chalicelib.producers.tracking.parcels import staff_history

    parcel, history = staff_history(_caller("parcels:read"), tracking_id)
    return json_response(_parcel_out(parcel, history))


def _parcel_out(parcel: object, history: Sequence[object]) -> dict[str, object]:
    from chalicelib.api.http import plain

    data = plain(parcel)
    pending = data.pop("pending", None)
    for internal in ("company_id", "version", "notified_occurred_at"):
        data.pop(internal, None)
    data["history"] = plain(history)
    data["pending_alert"] = pending
    return dict(data)


@parcels.route("/parcels/{tracking_id}/events", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Post one status event of a parcel; the same event id twice is stored once (T4)",
    body="StatusEventBody",
    response="IngestResultOut",
    status=201,
)
def post_status_event(tracking_id: str) -> Response:
    from chalicelib.api.schemas import StatusEventBody
    from chalicelib.producers.tracking.parcels import StatusEvent, record_status_event

    company_id = _caller("parcels:write")
    body = parse_body(parcels.current_request, StatusEventBody)
    result = record_status_event(company_id, StatusEvent(tracking_id=tracking_id, **body.model_dump()))
    return json_response(result, 201 if result.created else 200)


@parcels.route("/parcel-events", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Post a batch of status events (up to 100); all are checked before any is stored",
    body="StatusEventBatch",
    response="IngestBatchOut",
)
def post_status_events() -> Response:
    from chalicelib.api.schemas import StatusEventBatch
    from chalicelib.producers.tracking.parcels import StatusEvent, record_status_events

    company_id = _caller("parcels:write")
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


@parcels.route("/parcels/{tracking_id}/subscriptions", methods=["GET"], authorizer=pregon_auth)
@describe(summary="Who follows a parcel (active, expired and cancelled)", response="SubscriptionsOut")
def list_subscriptions(tracking_id: str) -> Response:
    from chalicelib.producers.tracking.subscriptions import subscriptions_of

    items = subscriptions_of(_staff(), tracking_id)
    return json_response({"items": [_subscription_out(s) for s in items]})


@parcels.route("/parcels/{tracking_id}/subscriptions", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Subscribe someone by hand (T6.4)",
    body="StaffSubscribeIn",
    response="SubscriptionOut",
    status=201,
)
def add_subscription(tracking_id: str) -> Response:
    from chalicelib.api.schemas import StaffSubscribeIn
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    company_id = _staff()
    body = parse_body(parcels.current_request, StaffSubscribeIn)
    subscription = subscribe(
        company_id,
        tracking_id,
        Subscriber(body.first_name, body.last_name, str(body.email), body.phone),
        source="staff",
    ).subscription
    return json_response(_subscription_out(subscription), 201)


@parcels.route(
    "/parcels/{tracking_id}/subscriptions/{subscription_id}", methods=["DELETE"], authorizer=pregon_auth
)
@describe(summary="Cancel a subscription (T7)", status=204)
def cancel_subscription(tracking_id: str, subscription_id: str) -> Response:
    from chalicelib.producers.tracking.subscriptions import cancel

    cancel(_staff(), tracking_id, subscription_id)
    return Response(body="", status_code=204)


@parcels.route("/follow-ups", methods=["GET"], authorizer=pregon_auth)
@describe(summary="Parcels under follow-up now, with their active subscribers (T7)", response="FollowUpsOut")
def list_follow_ups() -> Response:
    from chalicelib.producers.tracking.subscriptions import follow_ups

    request = parcels.current_request
    items, cursor = follow_ups(_staff(), limit_param(request), cursor_param(request))
    return json_response(
        {
            "items": [
                {
                    "tracking_id": f.parcel.tracking_id,
                    "followed_until": f.parcel.followed_until,
                    "subscribers": [_subscription_out(s) for s in f.subscriptions],
                }
                for f in items
            ],
            "next_cursor": encode_cursor(cursor),
        }
    )


@parcels.route("/parcels/{tracking_id}/alerts", methods=["GET"], authorizer=pregon_auth)
@describe(summary="Alerts sent about a parcel, newest first (T7)", response="AlertsOut")
def list_parcel_alerts(tracking_id: str) -> Response:
    from chalicelib.producers.tracking.subscriptions import alerts_for_parcel

    return json_response({"items": [_alert_out(a) for a in alerts_for_parcel(_staff(), tracking_id)]})


@parcels.route("/subscribers/{email}/alerts", methods=["GET"], authorizer=pregon_auth)
@describe(summary="Alerts sent to one subscriber address, newest first (T7)", response="AlertsOut")
def list_subscriber_alerts(email: str) -> Response:
    from urllib.parse import unquote

    from chalicelib.producers.tracking.subscriptions import alerts_for_subscriber

    request = parcels.current_request
    items, cursor = alerts_for_subscriber(
        _staff(), unquote(email), limit_param(request), cursor_param(request)
    )
    return json_response({"items": [_alert_out(a) for a in items], "next_cursor": encode_cursor(cursor)})


def _alert_out(alert: object) -> dict[str, object]:
    from chalicelib.api.http import plain

    data = plain(alert)
    data.pop("company_id", None)
    return dict(data)
