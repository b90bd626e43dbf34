"""The ``List-Unsubscribe`` link of manual and bulk e-mails (C8, RFC 8058): no credentials, the
signed token in the query string says which client of which company."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC
from chalicelib.api.http import Routes, query_param
from chalicelib.api.pages import html_page
from chalicelib.api.webhook_schemas import NOT_ANNOUNCED
from chalicelib.core.errors import ValidationFailed

manual_unsubscribe = Blueprint(__name__)
route = Routes(manual_unsubscribe)


def _token() -> str:
    token = query_param(manual_unsubscribe.current_request, "token")
    if not token:
        raise ValidationFailed([{"field": "token", "message": "is required"}])
    return token


@route("GET /public/manual-sends/unsubscribe", PUBLIC, query=("token",), answer="html")
def manual_unsubscribe_page() -> Response:
    """The unsubscribe link of a manual or bulk e-mail: a confirmation page (changes nothing)"""
    from chalicelib.producers.sends.unsubscribe import confirmation_page

    return html_page(confirmation_page(_token()))


@route(
    "POST /public/manual-sends/unsubscribe",
    PUBLIC,
    query=("token",),
    answer="html",
    content_types=["application/x-www-form-urlencoded", "application/json", "text/plain"],
    errors={503: NOT_ANNOUNCED},
)
def manual_unsubscribe_one_click() -> Response:
    """Turn off the client's manual and bulk sends (the page's button; RFC 8058 one-click)"""
    from chalicelib.producers.sends.unsubscribe import done_page, unsubscribe

    return html_page(done_page(unsubscribe(_token())))
