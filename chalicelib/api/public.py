"""Routes for end customers on a company's tracking site: no credentials, nothing beyond T1."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import describe, json_response, parse_body, query_param
from chalicelib.errors import ValidationFailed

public = Blueprint(__name__)


@public.route("/public/{company_id}/parcels/{tracking_id}", methods=["GET"], cors=True)
@describe(
    summary="Look a parcel up by tracking id (T1) and whether alerts can be requested (T2)",
    response="PublicTrackingOut",
)
def track_parcel(company_id: str, tracking_id: str) -> Response:
    from chalicelib.tracking.parcels import public_tracking

    return json_response(public_tracking(company_id, tracking_id))


@public.route("/public/{company_id}/parcels/{tracking_id}/subscriptions", methods=["POST"], cors=True)
@describe(
    summary="Ask for e-mail alerts on a parcel for 30 days; asking again renews (T3)",
    body="SubscribeIn",
    response="PublicSubscriptionOut",
    status=201,
)
def subscribe_to_parcel(company_id: str, tracking_id: str) -> Response:
    from chalicelib.api.schemas import SubscribeIn
    from chalicelib.tracking.subscriptions import Subscriber, subscribe

    body = parse_body(public.current_request, SubscribeIn)
    subscription = subscribe(
        company_id,
        tracking_id,
        Subscriber(body.first_name, body.last_name, str(body.email), body.phone),
        source="public",
    )
    return json_response({"tracking_id": tracking_id, "expires_at": subscription.expires_at}, 201)


def _token() -> str:
    token = query_param(public.current_request, "token")
    if not token:
        raise ValidationFailed([{"field": "token", "message": "is required"}])
    return token


@public.route("/public/unsubscribe", methods=["GET"])
@describe(summary="The unsubscribe link of an alert e-mail: cancels that subscription (T7)")
def unsubscribe_page() -> Response:
    from chalicelib.tracking.subscriptions import unsubscribe_confirmation

    html = unsubscribe_confirmation(_token())
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@public.route(
    "/public/unsubscribe",
    methods=["POST"],
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"],
)
@describe(summary="RFC 8058 one-click unsubscribe (List-Unsubscribe-Post)", response="UnsubscribeOut")
def unsubscribe_one_click() -> Response:
    from chalicelib.tracking.subscriptions import unsubscribe

    subscription = unsubscribe(_token())
    return json_response({"tracking_id": subscription.tracking_id, "unsubscribed": True})
