"""W1: the public tracking page an end customer opens (or a company embeds): look a parcel up, ask
for alerts. Server-rendered HTML over the same use cases as the public JSON API (T1–T3), so it
works without script, with the keyboard alone and on a phone."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.api.access import PUBLIC
from chalicelib.api.http import Routes
from chalicelib.api.pages import (
    ICON_PATH,
    STYLESHEET_PATH,
    browser_language,
    favicon,
    form_fields,
    html_page,
    stylesheet,
)

tracking_page = Blueprint(__name__)
route = Routes(tracking_page, schemas="schemas")

MAX_TRACKING_ID = 64
TOO_MANY_LOOK_UPS = "Too many look-ups from this client; `Retry-After` says in how many seconds to try again."
MAX_ENTERED = 320  # the longest a form's box may hold (an e-mail address: 64 + 1 + 255)


@route(f"GET {STYLESHEET_PATH}", PUBLIC, answer="css")
def pages_stylesheet() -> Response:
    """The stylesheet of Pregón's pages"""
    return stylesheet()


@route(f"GET {ICON_PATH}", PUBLIC, answer="asset")
def pages_icon() -> Response:
    """The icon of Pregón's pages (the console's own), which their heads link to"""
    return favicon()


@route("GET /favicon.ico", PUBLIC, answer="asset")
def site_icon() -> Response:
    """The same icon where a browser looks for it unasked (a page without a link to one, a JSON answer
    opened in a tab): answered, not refused, so the browser logs no error"""
    return favicon()


@route("GET /track/{company_id}/brand.css", PUBLIC, answer="css")
def brand_stylesheet(company_id: str) -> Response:
    """The company's colours for its tracking page (W3), made from its checked branding settings"""
    from chalicelib.core.errors import NotFound
    from chalicelib.tenants.branding import brand_css, brand_of
    from chalicelib.tenants.companies import find_company

    company = find_company(company_id)
    if company is None:
        raise NotFound(f"company {company_id!r} does not exist")
    return Response(
        body=brand_css(brand_of(company)),
        status_code=200,
        headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=300"},
    )


@route(
    "GET /track/{company_id}",
    PUBLIC,
    query=("tracking_id",),
    answer="page",
    errors={429: TOO_MANY_LOOK_UPS},
)
def show_tracking_page(company_id: str) -> Response:
    """The company's public tracking page (W1): a tracking id box and, given `tracking_id`, the parcel's
    history as T1 allows and the form to ask for alerts when T2 allows (look-ups rate-limited per client)"""
    request = tracking_page.current_request
    params: dict[str, str] = dict(request.query_params or {})
    tracking_id = params.get("tracking_id", "").strip()
    return _page(company_id, tracking_id, "page")


@route(
    "GET /track/{company_id}/subscriptions",
    PUBLIC,
    query=("tracking_id",),
    answer="page",
    errors={429: TOO_MANY_LOOK_UPS},
)
def show_tracking_page_again(company_id: str) -> Response:
    """The address the alert form posts to, opened in the browser (reloaded from the address bar,
    bookmarked, shared): the tracking page again, with the parcel given as `tracking_id`; nothing
    is asked for"""
    params: dict[str, str] = dict(tracking_page.current_request.query_params or {})
    return _page(company_id, params.get("tracking_id", "").strip(), "form")


@route(
    "POST /track/{company_id}/subscriptions",
    PUBLIC,
    body="TrackingPageFormIn",
    status=202,
    answer="page",
    errors={
        403: "Alerts cannot be requested for this parcel.",
        409: "The parcel already has the most subscriptions it may have.",
        429: "Too many requests; `Retry-After` says in how many seconds to try again.",
    },
    content_types=["application/x-www-form-urlencoded"],
)
def subscribe_from_page(company_id: str) -> Response:
    """The tracking page's alert form (T3, double opt-in, rate-limited): answers the page with the result or
    what to correct"""
    from pydantic import ValidationError

    from chalicelib.api.http import pydantic_errors
    from chalicelib.api.public import subscribe_from_public
    from chalicelib.api.schemas import TrackingPageFormIn
    from chalicelib.core.errors import Conflict, Forbidden, NotFound, TooManyRequests, ValidationFailed

    request = tracking_page.current_request
    here = "form"
    try:
        fields = form_fields(request)
    except ValidationFailed as exc:  # no page's form sends it: the page again, nothing asked for
        errors = {e["field"]: e["message"] for e in exc.errors}
        return _page(company_id, "", here, errors=errors, status=422)
    tracking_id = str(fields.get("tracking_id", "")).strip()[:MAX_TRACKING_ID]
    typed = {k: str(fields.get(k, "")).strip() for k in ("first_name", "last_name", "email", "phone")}
    wanted = {k: v for k, v in typed.items() if v or k != "phone"}
    # What the page shows back in its boxes: no more than any of them may hold (a stranger's
    # 300,000 characters are refused by the validation, not echoed: nor a 500 past the sandbox's
    # output limit).
    entered = {k: v[:MAX_ENTERED] for k, v in typed.items()}
    try:
        body = TrackingPageFormIn.model_validate({**wanted, "tracking_id": tracking_id})
        result = subscribe_from_public(request, company_id, tracking_id, body)
    except ValidationError as exc:
        errors = {e["field"]: e["message"] for e in pydantic_errors(exc)}
        return _page(company_id, tracking_id, here, entered=entered, errors=errors, status=422)
    except ValidationFailed as exc:
        errors = {e["field"]: e["message"] for e in exc.errors}
        return _page(company_id, tracking_id, here, entered=entered, errors=errors, status=422)
    except TooManyRequests as exc:
        minutes = max(1, round(exc.retry_after / 60))
        return _page(
            company_id,
            tracking_id,
            here,
            entered=entered,
            problem={"code": "too_many", "minutes": minutes},
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except (Conflict, Forbidden, NotFound) as exc:
        code = {Conflict: "full", Forbidden: "alerts_unavailable", NotFound: "not_found"}[type(exc)]
        return _page(
            company_id, tracking_id, here, entered=entered, problem={"code": code}, status=exc.status
        )
    outcome = {
        "code": "confirmation_sent" if result.confirmation_sent else "renewed",
        "email": str(body.email),
        "expires_at": result.subscription.expires_at,
    }
    return _page(company_id, tracking_id, here, outcome=outcome, status=202)


def _page(
    company_id: str,
    tracking_id: str,
    here: str,
    *,
    entered: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    outcome: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    from chalicelib.api.public import client_ip
    from chalicelib.core.errors import NotFound, TooManyRequests
    from chalicelib.core.localization import default_locale, show_date, show_datetime
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.producers.tracking.parcels import public_tracking
    from chalicelib.tenants.branding import page_logo
    from chalicelib.tenants.companies import find_company

    request = tracking_page.current_request
    company = find_company(company_id)
    language = browser_language(request, company.language if company else "es")
    if company is None:
        up = "../" if here == "page" else "../../"
        links = {"css": f"{up}assets/pregon.css", "icon": f"{up}{ICON_PATH[1:]}"}
        body = render_page("tracking_page", language, {"missing_company": True, "links": links})
        return html_page(body, 404)
    locale = default_locale(language, company.country)
    if errors:  # what to correct, in the page's language
        from chalicelib.api.error_language import in_language

        errors = {field: in_language(message, language) for field, message in errors.items()}
    parcel = None
    tracking_id = tracking_id[:MAX_TRACKING_ID]
    if tracking_id and (problem or {}).get("code") != "not_found":
        try:
            # A page answering a subscription that was taken shows the parcel once more: that
            # request was counted against the subscribe limits, not as a look-up.
            found = public_tracking(
                company_id, tracking_id, client_ip=client_ip(request), counted=outcome is None
            )
        except NotFound:
            problem = problem or {"code": "not_found"}
            status = 404 if status == 200 else status
        except TooManyRequests as exc:
            problem = {"code": "too_many", "minutes": max(1, round(exc.retry_after / 60))}
            status = 429
            headers = {**(headers or {}), "Retry-After": str(exc.retry_after)}
        else:
            parcel = {
                "alerts_available": found.alerts_available,
                "history": [
                    {
                        "status_name": entry.status_name,
                        "when": show_datetime(entry.occurred_at, company.time_zone, locale),
                        "branch": entry.branch,
                        "reason": entry.reason,
                        "observation": entry.observation,
                    }
                    for entry in sorted(found.history, key=lambda e: e.occurred_at, reverse=True)
                ],
            }
    if outcome and outcome.get("expires_at"):
        outcome = {**outcome, "until": show_date(outcome["expires_at"], locale, company.time_zone)}
    # Links relative to where the page is (on AWS the API lives under its stage, e.g. /api/track/x).
    quoted = quote(company_id, safe="")
    root = "../" if here == "page" else "../../"
    if here == "page":  # /track/{company}
        links = {
            "css": "../assets/pregon.css",
            "icon": f"..{ICON_PATH}",
            "brand_css": f"{quoted}/brand.css",
            "look_up": quoted,
            "subscribe": f"{quoted}/subscriptions",
        }
    else:  # /track/{company}/subscriptions
        links = {
            "css": "../../assets/pregon.css",
            "icon": f"../..{ICON_PATH}",
            "brand_css": "brand.css",
            "look_up": f"../{quoted}",
            "subscribe": "subscriptions",
        }
    variables = {
        "links": links,
        "company": company.name,
        "logo_url": page_logo(company, root),
        "company_id": company_id,
        "tracking_id": tracking_id,
        "parcel": parcel,
        "entered": entered or {},
        "errors": errors or {},
        "problem": problem,
        "outcome": outcome,
    }
    return html_page(render_page("tracking_page", language, variables), status, headers)
