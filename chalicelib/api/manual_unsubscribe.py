"""The ``List-Unsubscribe`` link of manual and bulk e-mails (C8, RFC 8058): no credentials, the
signed token in the query string says which client of which company."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC
from chalicelib.api.http import Routes, query_param
from chalicelib.api.pages import (
    LINK_GONE,
    LINK_REFUSED,
    answered_as_page,
    html_page,
    preferred_language,
    wants_html,
)
from chalicelib.api.webhook_schemas import NOT_ANNOUNCED
from chalicelib.core.errors import ValidationFailed

manual_unsubscribe = Blueprint(__name__)
route = Routes(manual_unsubscribe)


def _token() -> str:
    token = query_param(manual_unsubscribe.current_request, "token")
    if not token:
        raise ValidationFailed([{"field": "token", "message": "is required"}])
    return token


@route(
    "GET /public/manual-sends/unsubscribe",
    PUBLIC,
    query=("token",),
    answer="page",
    errors={404: LINK_GONE, 422: LINK_REFUSED},
)
def manual_unsubscribe_page() -> Response:
    """The unsubscribe link of a manual or bulk e-mail: a confirmation page (changes nothing)"""
    from chalicelib.producers.sends.unsubscribe import confirmation_page

    request = manual_unsubscribe.current_request
    return answered_as_page(
        request, "manual", lambda: html_page(confirmation_page(_token(), preferred_language(request)))
    )


@route(
    "POST /public/manual-sends/unsubscribe",
    PUBLIC,
    query=("token",),
    answer="one_click",
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"],
    errors={404: LINK_GONE, 422: LINK_REFUSED, 503: NOT_ANNOUNCED},
)
def manual_unsubscribe_one_click() -> Response:
    """Turn off the client's manual and bulk sends (the page's button; RFC 8058 one-click)"""
    from chalicelib.producers.sends.unsubscribe import done_page, unsubscribe

    request = manual_unsubscribe.current_request
    language = preferred_language(request)
    # A person's browser (the page's button) is answered a page, refusals too; a mail program's
    # one-click POST (RFC 8058) keeps its JSON refusals.

    def stops() -> Response:
        return html_page(done_page(unsubscribe(_token()), language))

    return answered_as_page(request, "manual", stops, page=wants_html(request))
