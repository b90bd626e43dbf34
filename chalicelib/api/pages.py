"""HTML answers for people's browsers: the language they read, and the headers every page carries.

Every page is rendered by the sandbox with autoescaping (``messaging.sandbox.render_page``), so
nothing a tenant or an end customer typed becomes markup; the Content-Security-Policy below then
forbids any script at all, inline styles and loads from elsewhere, as a second wall.
"""

from __future__ import annotations

from typing import Any

from chalice import Response
from chalice.app import Request

# The languages Pregón writes pages in (``messaging.sandbox.LANGUAGES``; not imported here, so the
# template engine loads with the first page rather than with every cold start).
LANGUAGES = ("es", "en")

STYLESHEET_PATH = "/assets/pregon.css"

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
    return min(ranked)[2] if ranked else (fallback if fallback in LANGUAGES else "es")


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
