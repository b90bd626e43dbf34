"""Routes for end customers on a company's tracking site: no credentials, nothing beyond T1."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC
from chalicelib.api.http import Routes, json_response, parse_body, query_param, reasons_as_written
from chalicelib.api.pages import (
    LINK_EXPIRED,
    LINK_GONE,
    LINK_REFUSED,
    answered_as_page,
    html_page,
    preferred_language,
    wants_html,
)
from chalicelib.core.errors import ValidationFailed

public = Blueprint(__name__)
route = Routes(public, schemas="schemas")


@route(
    "GET /public/{company_id}/parcels/{tracking_id}",
    PUBLIC,
    response="PublicTrackingOut",
    errors={
        429: "Too many look-ups from this client (300 an hour, found or not, across companies); "
        "the `Retry-After` header says in how many seconds to try again.",
    },
    cors=True,
)
def track_parcel(company_id: str, tracking_id: str) -> Response:
    """Look a parcel up by tracking id (T1) and whether alerts can be requested (T2). Rate-limited per
    client (429 with Retry-After); a company's own systems use `GET /parcels/{tracking_id}` with their key"""
    from chalicelib.producers.tracking.parcels import public_tracking

    found = public_tracking(company_id, tracking_id, client_ip=client_ip(public.current_request))
    # Only PublicTrackingOut's fields: the history entries are the staff view's type, whose
    # hidden / event_id / notified_at are not the end customer's (and were always false / null).
    # a status's reason is the carrier's own words: never translated (docs/api.md)
    answer = json_response(
        {
            "tracking_id": found.tracking_id,
            "history": [
                {name: getattr(entry, name) for name in PUBLIC_HISTORY_FIELDS} for entry in found.history
            ],
            "alerts_available": found.alerts_available,
        }
    )
    return reasons_as_written(answer)


PUBLIC_HISTORY_FIELDS = ("status", "status_name", "occurred_at", "branch", "reason", "observation")


@route(
    "POST /public/{company_id}/parcels/{tracking_id}/subscriptions",
    PUBLIC,
    body="SubscribeIn",
    response="PublicSubscriptionOut",
    status=202,
    errors={
        403: "Alerts cannot be requested for this parcel (its `alerts_available` is false).",
        409: "The parcel already has the most subscriptions it may have.",
        429: "Too many requests from this client, for this parcel, to this address or with this phone "
        "(within the company or across companies); the `Retry-After` header says in how many seconds to "
        "try again.",
    },
    cors=True,
)
def subscribe_to_parcel(company_id: str, tracking_id: str) -> Response:
    """Ask for alerts on a parcel (T3): the address is sent a confirmation e-mail (double opt-in), whose
    button starts the subscription or, for a confirmed one, renews it for 30 days. Rate-limited (429 with
    Retry-After)"""
    from chalicelib.api.schemas import SubscribeIn

    request = public.current_request
    result = subscribe_from_public(request, company_id, tracking_id, parse_body(request, SubscribeIn))
    return json_response(
        {
            "tracking_id": tracking_id,
            "status": "confirmation_sent",  # also for a confirmed address: it renews by the link
            "expires_at": result.subscription.expires_at,
        },
        202,
    )


def subscribe_from_public(request: Any, company_id: str, tracking_id: str, body: Any) -> Any:
    """Subscribe the person a public form or call names (T3), rate-limited by the caller's address."""
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    return subscribe(
        company_id,
        tracking_id,
        Subscriber(body.first_name, body.last_name, str(body.email), body.phone),
        source="public",
        client_ip=client_ip(request),
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


def _link_page(action: str, page_name: str) -> Response:
    """The page a subscription's ``action`` link opens: it asks to confirm, with a form that posts
    the link's token back; a link refused, a page saying why and what to do."""
    from chalicelib.producers.tracking.subscriptions import link_subscription, page

    request = public.current_request

    def asks() -> Response:
        token = _token()
        subscription = link_subscription(token, action)
        context = {"tracking_id": subscription.tracking_id, "token": token}
        return html_page(page(page_name, subscription.company_id, context, preferred_language(request)))

    return answered_as_page(request, action, asks)


_FORM_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain"]
# How a link's page answers what it refuses (each a page: api.pages.link_refusal_page).
_LINK_REFUSALS = {404: LINK_GONE, 410: LINK_EXPIRED, 422: LINK_REFUSED}


@route("GET /public/subscriptions/confirm", PUBLIC, query=("token",), answer="page", errors=_LINK_REFUSALS)
def confirm_page() -> Response:
    """The confirmation link of a subscription: a page asking to confirm; changes nothing"""
    return _link_page("confirm", "confirm_subscription")


@route(
    "POST /public/subscriptions/confirm",
    PUBLIC,
    response="ConfirmedOut",
    errors={
        404: LINK_GONE,
        409: "The parcel already has the most subscriptions it may have, or it is changing right now.",
        410: "The confirmation link lapsed (48 hours); ask for alerts again.",
        422: LINK_REFUSED,
    },
    query=("token",),
    answer="json_or_html",
    content_types=_FORM_TYPES,
)
def confirm_subscription() -> Response:
    """Confirm a subscription (the confirmation page's button)"""
    from chalicelib.producers.tracking.subscriptions import confirm, page

    request = public.current_request

    def confirms() -> Response:
        subscription = confirm(_token())
        if wants_html(request):
            return html_page(
                page(
                    "subscription_confirmed",
                    subscription.company_id,
                    {"tracking_id": subscription.tracking_id},
                    preferred_language(request),
                    days={"expires_on": subscription.expires_at},
                )
            )
        return json_response(
            {
                "tracking_id": subscription.tracking_id,
                "confirmed": True,
                "expires_at": subscription.expires_at,
            }
        )

    return answered_as_page(request, "confirm", confirms, page=wants_html(request))


@route("GET /public/unsubscribe", PUBLIC, query=("token",), answer="page", errors=_LINK_REFUSALS)
def unsubscribe_page() -> Response:
    """The unsubscribe link of an alert e-mail: a page asking to confirm; changes nothing (T7)"""
    return _link_page("unsubscribe", "confirm_unsubscribe")


@route(
    "POST /public/unsubscribe",
    PUBLIC,
    response="UnsubscribeOut",
    errors={
        404: LINK_GONE,
        410: "The link expired (30 days after the subscription it names).",
        422: LINK_REFUSED,
    },
    query=("token",),
    answer="json_or_html",
    content_types=_FORM_TYPES,
)
def unsubscribe_one_click() -> Response:
    """Cancel the subscription the link names: the page's button, or RFC 8058 one-click
    (List-Unsubscribe-Post)"""
    from chalicelib.producers.tracking.subscriptions import page, unsubscribe

    request = public.current_request

    def cancels() -> Response:
        subscription = unsubscribe(_token())
        if wants_html(request):
            shown = {"tracking_id": subscription.tracking_id}
            language = preferred_language(request)
            return html_page(page("unsubscribed", subscription.company_id, shown, language))
        return json_response({"tracking_id": subscription.tracking_id, "unsubscribed": True})

    # A mail program's one-click POST (RFC 8058) keeps its JSON answers, refusals too.
    return answered_as_page(request, "unsubscribe", cancels, page=wants_html(request))
