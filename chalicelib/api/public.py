"""Routes for end customers on a company's tracking site: no credentials, nothing beyond T1."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC
from chalicelib.api.http import describe, json_response, parse_body, query_param
from chalicelib.api.pages import html_page
from chalicelib.core.errors import ValidationFailed

public = Blueprint(__name__)


@public.route("/public/{company_id}/parcels/{tracking_id}", methods=["GET"], cors=True)
@describe(
    public,
    summary="Look a parcel up by tracking id (T1) and whether alerts can be requested (T2)",
    response="chalicelib.api.schemas.PublicTrackingOut",
    access=PUBLIC,
)
def track_parcel(company_id: str, tracking_id: str) -> Response:
    from chalicelib.producers.tracking.parcels import public_tracking

    return json_response(public_tracking(company_id, tracking_id))


@public.route("/public/{company_id}/parcels/{tracking_id}/subscriptions", methods=["POST"], cors=True)
@describe(
    public,
    summary="Ask for alerts on a parcel (T3): a new address is sent a confirmation e-mail first "
    "(double opt-in); a confirmed one is renewed for 30 days. Rate-limited (429 with Retry-After)",
    body="chalicelib.api.schemas.SubscribeIn",
    response="chalicelib.api.schemas.PublicSubscriptionOut",
    status=202,
    access=PUBLIC,
    errors={
        403: "Alerts cannot be requested for this parcel (its `alerts_available` is false).",
        409: "The parcel already has the most subscriptions it may have.",
        429: "Too many requests from this client, for this parcel or to this address; "
        "the `Retry-After` header says in how many seconds to try again.",
    },
)
def subscribe_to_parcel(company_id: str, tracking_id: str) -> Response:
    from chalicelib.api.schemas import SubscribeIn
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    request = public.current_request
    body = parse_body(request, SubscribeIn)
    result = subscribe(
        company_id,
        tracking_id,
        Subscriber(body.first_name, body.last_name, str(body.email), body.phone),
        source="public",
        client_ip=client_ip(request),
    )
    return json_response(
        {
            "tracking_id": tracking_id,
            "status": "confirmation_sent" if result.confirmation_sent else "renewed",
            "expires_at": result.subscription.expires_at,
        },
        202,
    )


def client_ip(request: Any) -> str | None:
    """The caller's address as API Gateway saw it (the rate limits' per-client key)."""
    context = request.context or {}
    ip = (context.get("identity") or {}).get("sourceIp")
    return str(ip) if ip else None


def _token() -> str:
    token = query_param(public.current_request, "token")
    if not token:
        raise ValidationFailed([{"field": "token", "message": "is required"}])
    return token


def _html(body: str) -> Response:
    return html_page(body)


def _wants_html() -> bool:
    """A person's browser posting the page's form, rather than a mail program (RFC 8058) or a script."""
    accept = public.current_request.headers.get("accept") or ""
    return "text/html" in str(accept)


_FORM_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain"]


@public.route("/public/subscriptions/confirm", methods=["GET"])
@describe(
    public,
    summary="The confirmation link of a subscription: a page asking to confirm; changes nothing",
    access=PUBLIC,
    query=("token",),
    answer="html",
)
def confirm_page() -> Response:
    from chalicelib.producers.tracking.subscriptions import link_subscription, page

    token = _token()
    subscription = link_subscription(token, "confirm")
    return _html(
        page(
            "confirm_subscription",
            subscription.company_id,
            {"tracking_id": subscription.tracking_id, "token": token},
        )
    )


@public.route("/public/subscriptions/confirm", methods=["POST"], content_types=_FORM_TYPES)
@describe(
    public,
    summary="Confirm a subscription (the confirmation page's button)",
    response="chalicelib.api.schemas.ConfirmedOut",
    answer="json_or_html",
    access=PUBLIC,
    query=("token",),
    errors={410: "The confirmation link lapsed (48 hours); ask for alerts again."},
)
def confirm_subscription() -> Response:
    from chalicelib.producers.tracking.subscriptions import confirm, page

    subscription = confirm(_token())
    if _wants_html():
        return _html(
            page(
                "subscription_confirmed",
                subscription.company_id,
                {
                    "tracking_id": subscription.tracking_id,
                    "expires_on": subscription.expires_at.date().isoformat(),
                },
            )
        )
    return json_response(
        {"tracking_id": subscription.tracking_id, "confirmed": True, "expires_at": subscription.expires_at}
    )


@public.route("/public/unsubscribe", methods=["GET"])
@describe(
    public,
    summary="The unsubscribe link of an alert e-mail: a page asking to confirm; changes nothing (T7)",
    access=PUBLIC,
    query=("token",),
    answer="html",
)
def unsubscribe_page() -> Response:
    from chalicelib.producers.tracking.subscriptions import link_subscription, page

    token = _token()
    subscription = link_subscription(token, "unsubscribe")
    return _html(
        page(
            "confirm_unsubscribe",
            subscription.company_id,
            {"tracking_id": subscription.tracking_id, "token": token},
        )
    )


@public.route("/public/unsubscribe", methods=["POST"], content_types=_FORM_TYPES)
@describe(
    public,
    summary="Cancel the subscription the link names: the page's button, "
    "or RFC 8058 one-click (List-Unsubscribe-Post)",
    response="chalicelib.api.schemas.UnsubscribeOut",
    answer="json_or_html",
    access=PUBLIC,
    query=("token",),
    errors={410: "The link expired (30 days after the subscription it names)."},
)
def unsubscribe_one_click() -> Response:
    from chalicelib.producers.tracking.subscriptions import page, unsubscribe

    subscription = unsubscribe(_token())
    if _wants_html():
        return _html(page("unsubscribed", subscription.company_id, {"tracking_id": subscription.tracking_id}))
    return json_response({"tracking_id": subscription.tracking_id, "unsubscribed": True})
