"""HTML answers for people's browsers: the language they read, and the headers every page carries.

Every page is rendered by the sandbox with autoescaping (``messaging.sandbox.render_page``), so
nothing a tenant or an end customer typed becomes markup; the Content-Security-Policy below then
forbids any script at all, inline styles and loads from elsewhere, as a second wall.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice import Response
from chalice.app import Request

if TYPE_CHECKING:
    from chalicelib.core.errors import PregonError

# The languages Pregón writes pages in (``messaging.sandbox.LANGUAGES``; not imported here, so the
# template engine loads with the first page rather than with every cold start).
LANGUAGES = ("es", "en")

STYLESHEET_PATH = "/assets/pregon.css"
ICON_PATH = "/assets/favicon.svg"

# No script anywhere; styles only from our stylesheet; images only from https (a company's logo)
# or data: URLs; forms post only to us. Framing is allowed so a company can embed the tracking
# page in its own site (the subscription it could be tricked into is double opt-in anyway).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors *"
)
PAGE_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def browser_language(request: Request, fallback: str) -> str:
    """The first language of the browser's Accept-Language that Pregón writes, else ``fallback``."""
    return preferred_language(request) or (fallback if fallback in LANGUAGES else "es")


def preferred_language(request: Request) -> str | None:
    """The first language of the browser's Accept-Language that Pregón writes, or None when it
    names none (the page then speaks its company's language)."""
    header = str(request.headers.get("accept-language", "")) if request.headers else ""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().split("-")[0].lower()
        if language in LANGUAGES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def wants_html(request: Request) -> bool:
    """A person's browser (posting a page's form), rather than a mail program's one-click POST
    (RFC 8058) or a script: the request accepts ``text/html``."""
    headers: Any = request.headers or {}
    return "text/html" in str(headers.get("accept") or "")


def html_page(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})


def stylesheet() -> Response:
    from chalicelib.messaging.sandbox import TEMPLATES_DIR

    css = (TEMPLATES_DIR / "pages.css").read_text(encoding="utf-8")
    return Response(
        body=css,
        status_code=200,
        headers={"Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600"},
    )


def favicon() -> Response:
    """The pages' icon: the staff console's ``favicon.svg`` (one file for both)."""
    from chalicelib.api.console import CONSOLE_DIR

    return Response(
        body=(CONSOLE_DIR / "favicon.svg").read_text(encoding="utf-8"),
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=86400",
        },
    )


#: The most fields a form body may have: Pregón's largest form has five.
MAX_FORM_FIELDS = 20


def form_fields(request: Request) -> dict[str, Any]:
    """An ``application/x-www-form-urlencoded`` body as a dict (the last value of each name).

    A body no page of ours sends is refused (:class:`ValidationFailed` on ``body``): more than
    :data:`MAX_FORM_FIELDS` fields (``parse_qsl`` raised, a 500), or bytes or ``%XX`` escapes that
    are not UTF-8 (the pages are UTF-8, so browsers send it; the bytes were replaced by U+FFFD, and
    an address made of them was sent a confirmation)."""
    from urllib.parse import parse_qsl

    from chalicelib.core.errors import ValidationFailed

    body = request.raw_body or b""
    try:
        raw = body.decode("utf-8") if isinstance(body, bytes) else body
        fields = parse_qsl(raw, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except UnicodeDecodeError as exc:
        raise ValidationFailed([{"field": "body", "message": "is not UTF-8"}]) from exc
    except ValueError as exc:  # "Max number of fields exceeded"
        message = f"has more than {MAX_FORM_FIELDS} fields"
        raise ValidationFailed([{"field": "body", "message": message}]) from exc
    return dict(fields)


# --- the links of e-mails and SMS, refused ------------------------------------------------------

#: The links a person opens from an e-mail or SMS, each at its page's place: ``unsubscribe`` (a
#: tracking alert's, /public/unsubscribe), ``confirm`` (a subscription's confirmation,
#: /public/subscriptions/confirm) and ``manual`` (a manual or bulk send's, /public/manual-sends/unsubscribe).
#: The value is the way back to the app's root from the page (its links are relative, so they work
#: under an API Gateway stage too).
LINK_ROOTS = {
    "unsubscribe": "../",
    "confirm": "../../",
    "manual": "../../",
    "portal": "../",  # a client's document portal (/public/portal) and its files
    "portal_file": "../../../",
}

# What the API document says of a link page's refusals (each a page, docs/web.md).
LINK_REFUSED = (
    "`token` is missing, or is no link of Pregón's (cut, altered, or signed by a key the operator "
    "dropped): a page in a neutral look says so and what to do."
)
LINK_GONE = "The link names nothing left to act on (cancelled, ended or replaced): the page says so."
LINK_EXPIRED = "The link expired: the page says so, and how to ask again."


def answered_as_page(
    request: Request, link: str, make: Callable[[], Response], *, page: bool = True
) -> Response:
    """``make()``'s answer; when it refuses the link (bad, cut, expired, forged, a key the operator
    dropped, nothing left to act on), and ``page`` (a person's browser), a page saying so and what
    to do instead, with the refusal's status, rather than JSON (:func:`link_refusal_page`)."""
    from chalicelib.core.errors import PregonError

    try:
        return make()
    except PregonError as exc:
        answer = link_refusal_page(request, exc, link) if page else None
        if answer is None:
            raise
        return answer


OUT_OF_SERVICE = "the company is no longer in service"


def out_of_service_answer(request: Request, path_parameters: dict[str, Any], answer: str) -> Response | None:
    """A public route's answer when the company it names (its path's ``company_id``, or the
    company a link's ``token`` was signed for) is suspended or deleted: ``410``, a page saying
    the service is no longer available for a person's page, JSON otherwise; None when the
    request names no company, or one in service (docs/decisions/0033-a-company-leaves.md)."""
    from chalicelib.core.errors import Gone
    from chalicelib.core.links import signed_link_claims
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.tenants.companies import COMPANY_ID, find_company

    company_id = str(path_parameters.get("company_id") or "")
    if not company_id:
        params: Any = request.query_params or {}
        token = str(params.get("token") or "")
        claims = signed_link_claims(token) if token and len(token) < 4096 else None
        company_id = str(claims.get("c") or "") if claims else ""
    if not company_id or not COMPANY_ID.match(company_id):
        return None
    company = find_company(company_id)
    if company is None or company.in_service:
        return None
    if answer in ("page", "html") or (answer in ("one_click", "json_or_html") and wants_html(request)):
        depth = len([part for part in (request.path or "/").split("/") if part])
        language = browser_language(request, company.language)
        body = render_page("out_of_service", language, {"root": "../" * max(depth - 1, 1)})
        return html_page(body, 410, {"Vary": "Accept-Language"})
    if answer in ("css", "image", "asset"):
        return Response(body="", status_code=410, headers={"Content-Type": "text/plain"})
    raise Gone(OUT_OF_SERVICE)


def link_refusal_page(request: Request, exc: PregonError, link: str) -> Response | None:
    """The page of a refused link, or None for a refusal it has no words for (answered as JSON).

    It speaks the browser's language (else the company's, else Spanish) and wears the company's
    logo and colours (W3) only when the token names a company one of our link keys signed: a
    forged or unreadable token, one signed by a dropped key included, gets a neutral page that
    says nothing of any company, client or parcel. A signed one shows no more than it names."""
    from urllib.parse import quote

    from chalicelib.core.errors import (
        Conflict,
        Gone,
        NotFound,
        ServiceUnavailable,
        TooManyRequests,
        ValidationFailed,
    )
    from chalicelib.core.links import signed_link_claims
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.producers.tracking.subscriptions import ParcelFull
    from chalicelib.tenants.branding import page_brand, parcel_url
    from chalicelib.tenants.companies import find_company

    params: Any = request.query_params or {}
    token = str(params.get("token") or "")
    if isinstance(exc, ValidationFailed) and exc.field == "token":
        problem = "invalid" if token else "missing"
    elif isinstance(exc, Gone):
        problem = "expired"
    elif isinstance(exc, ParcelFull):
        problem = "full"
    elif isinstance(exc, Conflict):
        problem = "busy"
    elif isinstance(exc, NotFound):
        problem = "gone"
    elif isinstance(exc, ServiceUnavailable):
        problem = "try_later"
    elif isinstance(exc, TooManyRequests) and link in ("portal", "portal_file"):
        problem = "too_many"
    else:
        return None
    claims = signed_link_claims(token) if token else None
    company = find_company(str(claims["c"])) if claims else None
    root = LINK_ROOTS[link]
    variables: dict[str, Any] = {
        "root": root,
        "problem": problem,
        "link": link,
        "company": "",
        "brand": {},
        "tracking_id": "",
        "again_url": "",
        "action": f"?token={quote(token, safe='')}",  # the same link again (a form's button)
    }
    if company is not None and claims is not None:
        tracking_id = str(claims["t"]) if link != "manual" and claims.get("t") else ""
        variables.update(
            company=company.name,
            brand=page_brand(company, root),
            tracking_id=tracking_id,
            again_url=parcel_url(company.company_id, tracking_id, company.tracking_page_url)
            if tracking_id
            else "",
        )
    language = browser_language(request, company.language if company else "es")
    body = render_page("link_problem", language, variables)
    return html_page(body, exc.status, {**exc.headers(), "Vary": "Accept-Language"})
