"""Webhook endpoints: the company's own system told what happened to its messages (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, ADMIN_LEVEL, STAFF
from chalicelib.api.http import (
    Routes,
    etag,
    if_match,
    json_response,
    page_request,
    page_response,
    parse_body,
    plain,
    versioned_response,
)
from chalicelib.tenants.auth.principal import Principal

webhooks = Blueprint(__name__)
route = Routes(webhooks, schemas="webhook_schemas")


def endpoint_out(caller: Principal, endpoint: Any, secret: str | None = None) -> dict[str, Any]:
    from chalicelib.api.people import named

    data = named(caller, dict(plain(endpoint)), "created_by")
    data.pop("company_id", None)
    data["events"] = list(endpoint.events)
    data["etag"] = etag(data.pop("version"))
    if secret is not None:
        data["secret"] = secret
    return data


def _one(caller: Principal, endpoint: Any) -> Response:
    """One endpoint's answer: its ETag header, and the same tag in the body's ``etag``."""
    data = endpoint_out(caller, endpoint)
    del data["etag"]
    return versioned_response(data, endpoint.version)


@route("GET /webhooks", ADMIN, response="WebhooksOut")
def list_webhooks(caller: Principal) -> Response:
    """The company's webhook endpoints (never their secrets)"""
    from chalicelib.messaging.webhooks.service import list_endpoints

    return json_response({"items": [endpoint_out(caller, e) for e in list_endpoints(caller.company_id)]})


@route(
    "POST /webhooks",
    ADMIN,
    body="WebhookIn",
    response="WebhookWithSecretOut",
    status=201,
    errors={409: "The company has its 5 endpoints already."},
)
def create_webhook(caller: Principal) -> Response:
    """Add an endpoint and the events it gets; the answer holds its signing secret, shown this once"""
    from chalicelib.api.webhook_schemas import WebhookIn
    from chalicelib.messaging.webhooks.service import create_endpoint

    body = parse_body(webhooks.current_request, WebhookIn)
    endpoint, secret = create_endpoint(caller.company_id, caller.subject, body.url, list(body.events))
    return json_response(endpoint_out(caller, endpoint, secret), status=201)


@route("GET /webhooks/{endpoint_id}", ADMIN, response="WebhookOut", versioned=True)
def get_webhook(caller: Principal, endpoint_id: str) -> Response:
    """One endpoint (never its secret)"""
    from chalicelib.messaging.webhooks.service import get_endpoint

    return _one(caller, get_endpoint(caller.company_id, endpoint_id))


@route("PUT /webhooks/{endpoint_id}", ADMIN, body="WebhookChangeIn", response="WebhookOut", versioned=True)
def change_webhook(caller: Principal, endpoint_id: str) -> Response:
    """Change an endpoint's URL and events, or turn it off and on (the secret stays); `If-Match`: only
    if no one changed it since"""
    from chalicelib.api.webhook_schemas import WebhookChangeIn
    from chalicelib.messaging.webhooks.service import update_endpoint

    request = webhooks.current_request
    body = parse_body(request, WebhookChangeIn)
    changed = update_endpoint(
        caller.company_id,
        endpoint_id,
        url=body.url,
        events=list(body.events),
        enabled=body.enabled,
        if_match=if_match(request),
    )
    return _one(caller, changed)


@route("DELETE /webhooks/{endpoint_id}", ADMIN, status=204)
def delete_webhook(caller: Principal, endpoint_id: str) -> Response:
    """Remove an endpoint: nothing more is sent there, events waiting for it are dropped"""
    from chalicelib.messaging.webhooks.service import delete_endpoint

    delete_endpoint(caller.company_id, endpoint_id)
    return Response(body="", status_code=204)


@route("POST /webhooks/{endpoint_id}/secret", ADMIN, response="WebhookWithSecretOut")
def rotate_webhook_secret(caller: Principal, endpoint_id: str) -> Response:
    """Make a new signing secret, shown this once; for 24 hours the old one signs each delivery too"""
    from chalicelib.messaging.webhooks.service import rotate_secret

    endpoint, secret = rotate_secret(caller.company_id, endpoint_id)
    return json_response(endpoint_out(caller, endpoint, secret))


@route(
    "POST /webhooks/{endpoint_id}/test",
    ADMIN,
    response="WebhookTestOut",
    errors={
        429: "5 test events a minute per endpoint and 25 per company, "
        "or the endpoint's deliveries for the minute."
    },
)
def test_webhook(caller: Principal, endpoint_id: str) -> Response:
    """Post a signed `webhook.test` event to the endpoint now, once, and say how it answered"""
    from chalicelib.messaging.webhooks.service import send_test_event

    event, result = send_test_event(caller.company_id, endpoint_id)
    return json_response(
        {
            "event_id": event["id"],
            "outcome": result.outcome,
            "status_code": result.status_code,
            "error": result.error,
        }
    )


@route(
    "GET /webhooks/{endpoint_id}/deliveries",
    STAFF,
    response="WebhookDeliveriesPageOut",
    query=("limit", "cursor"),
)
def list_webhook_deliveries(caller: Principal, endpoint_id: str) -> Response:
    """An endpoint's delivery log, newest first (30 days): time, event, status code, attempt, outcome,
    error; below level 1, who may not read the endpoint's URL, the error names no host or port"""
    from chalicelib.messaging.webhooks.service import deliveries

    limit, cursor = page_request(webhooks.current_request)
    shows_url = caller.level == ADMIN_LEVEL  # who may read GET /webhooks/{id} (ADMIN)
    found, after = deliveries(caller.company_id, endpoint_id, limit, cursor, shows_url=shows_url)
    return page_response(found, after, plain)
