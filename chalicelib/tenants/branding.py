"""A company's branding (W3): its logo, its two colours and the URL of its public tracking page.

Every default e-mail shows the logo (alt text: the company's name) and the colours, and so does
the public tracking page (a stylesheet made from the colours, ``brand_css``); every tracking alert
links the parcel on the page the company set (``parcel_url``), else on Pregón's own. Every default
e-mail's footer prints the company's postal address when it set one (CAN-SPAM, LSSI art. 10):
plain lines, no markup, at most ``MAX_ADDRESS_LINES`` of them.

A logo is either an https URL the company hosts, or an image uploaded here (PNG or JPEG, known by
its bytes; never SVG, which can carry script), kept in S3 and served publicly by the app at a
stable URL (``/brand/<company>/logo/<id>/<file>``) so mail programs can load it. A new upload gets
a new URL; the old one keeps working, so e-mails already sent keep their logo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.core.domain import Company
from chalicelib.core.errors import NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings

DEFAULT_PRIMARY = "#1F4E79"
DEFAULT_ACCENT = "#E8A33D"
MAX_LOGO_BYTES = 200 * 1024
LOGO_TOO_LARGE = f"the logo is larger than {MAX_LOGO_BYTES // 1024} kB"
# How big e-mails show the logo: 48 px high, at most 240 px wide.
LOGO_HEIGHT, LOGO_MAX_WIDTH = 48, 240
MAX_URL = 1000
LOGO_PURPOSE = "brand-logos"
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
PLACEHOLDER = "{tracking_id}"
SETTINGS = ("logo_url", "primary_color", "accent_color", "tracking_page_url", "postal_address")
# The postal address: a few lines (street, town and postcode, country), as an envelope shows it.
MAX_ADDRESS_CHARS, MAX_ADDRESS_LINES, MAX_ADDRESS_LINE_CHARS = 300, 6, 100
# What reads as markup in an address: a tag (``<b``, ``</``, ``<!--``) or a character reference.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_FILE_ID = re.compile(r"^[0-9a-f]{16}$")
_FILE_NAMES = {"logo.png": "image/png", "logo.jpeg": "image/jpeg"}


@dataclass(frozen=True)
class Brand:
    """What people see of a company: the logo to show (or None), the colours (defaults where the
    company set none), the colour text takes on the primary one, and the tracking page setting."""

    company_id: str
    name: str
    logo_url: str | None
    logo_source: str | None  # "url" (the company's own), "upload" (served by Pregón) or None
    primary_color: str
    accent_color: str
    on_primary: str
    on_accent: str
    colors_set: bool
    tracking_page_url: str | None
    # The size e-mails show an uploaded logo at, for Outlook (None: a URL's logo, size unknown).
    logo_width: int | None = None
    logo_height: int | None = None
    postal_address: str | None = None  # lines, ``\n`` between them
    # The version people edit the branding at (its answers' ETag); 0: never saved, or before versions.
    version: int = 0

    def template_variables(self) -> dict[str, Any]:
        """``company`` as every message template gets it."""
        return {
            "name": self.name,
            "logo_url": self.logo_url,
            "logo_width": self.logo_width,
            "logo_height": self.logo_height,
            "postal_address": self.postal_address,
            "colors": {
                "primary": self.primary_color,
                "accent": self.accent_color,
                "on_primary": self.on_primary,
                "on_accent": self.on_accent,
            },
        }


def brand_of(company: Company) -> Brand:
    primary = company.primary_color or DEFAULT_PRIMARY
    accent = company.accent_color or DEFAULT_ACCENT
    logo, source = None, None
    shown: tuple[int | None, int | None] = (None, None)
    if company.logo_file:
        logo, source = uploaded_logo_url(company.logo_file), "upload"
        shown = shown_size(company.logo_width, company.logo_height)
    elif company.logo_url:
        logo, source = company.logo_url, "url"
    return Brand(
        company_id=company.company_id,
        name=company.name,
        logo_url=logo,
        logo_source=source,
        primary_color=primary.upper(),
        accent_color=accent.upper(),
        on_primary=readable_on(primary),
        on_accent=readable_on(accent),
        colors_set=bool(company.primary_color or company.accent_color),
        tracking_page_url=company.tracking_page_url,
        logo_width=shown[0],
        logo_height=shown[1],
        postal_address=company.postal_address,
        version=company.branding_version,
    )


def shown_size(width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """The size to show a logo of ``width`` x ``height`` at: 48 px high, or less to stay within
    240 px wide, in proportion."""
    if not width or not height:
        return None, None
    if width * LOGO_HEIGHT <= LOGO_MAX_WIDTH * height:
        return max(1, round(width * LOGO_HEIGHT / height)), LOGO_HEIGHT
    return LOGO_MAX_WIDTH, max(1, round(height * LOGO_MAX_WIDTH / width))


def get_brand(company_id: str) -> Brand:
    from chalicelib.tenants.companies import get_company

    return brand_of(get_company(company_id))


def company_variables(company: Company | None, name: str | None = None) -> dict[str, Any]:
    """The ``company`` variable of a message: name, ``logo_url`` and ``colors.*`` (defaults when
    the company is unknown)."""
    if company is None:
        return {
            "name": name or "",
            "logo_url": None,
            "logo_width": None,
            "logo_height": None,
            "postal_address": None,
            "colors": {
                "primary": DEFAULT_PRIMARY,
                "accent": DEFAULT_ACCENT,
                "on_primary": readable_on(DEFAULT_PRIMARY),
                "on_accent": readable_on(DEFAULT_ACCENT),
            },
        }
    return brand_of(company).template_variables()


# --- settings --------------------------------------------------------------------------------


def update_branding(
    company_id: str, changes: Mapping[str, str | None], *, by: str, if_match: tuple[int, ...] | None = None
) -> Brand:
    """Change the settings named in ``changes`` (None clears one); all are checked before any is
    written (422 naming each bad field). An https ``logo_url`` replaces an uploaded logo. With
    ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved the branding
    since (a logo uploaded or removed too)."""
    from chalicelib.store import companies as store
    from chalicelib.tenants.companies import get_company

    company = get_company(company_id)
    errors: list[dict[str, str]] = []
    values: dict[str, str | None] = {}
    for field, raw in changes.items():
        if field not in SETTINGS:
            errors.append({"field": field, "message": f"is not a branding setting ({', '.join(SETTINGS)})"})
            continue
        try:
            values[field] = None if raw is None else _checked(field, raw)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    changed = replace(company, **values)  # type: ignore[arg-type]
    if values.get("logo_url"):
        changed = replace(changed, logo_file=None, logo_width=None, logo_height=None)
    version = store.save_branding(changed, if_match)
    if version is None:
        raise edited_meanwhile("the branding")
    logger().info("branding changed", extra={"company_id": company_id, "by": by, "fields": sorted(values)})
    return brand_of(replace(changed, branding_version=version))


def _checked(field: str, raw: str) -> str:
    value = raw.strip()
    if field in ("primary_color", "accent_color"):
        if not COLOR.match(value):
            raise ValidationFailed([{"field": field, "message": "use a colour as #RRGGBB, e.g. #1F4E79"}])
        return value.upper()
    if field == "logo_url":
        return _https_url(value, field)
    if field == "postal_address":
        return postal_address(raw)
    # tracking_page_url: the placeholder, if any, stands for a tracking id while checking.
    if value.count("{") != value.count(PLACEHOLDER) or value.count("}") != value.count(PLACEHOLDER):
        raise ValidationFailed(
            [{"field": field, "message": f"the only placeholder a URL may hold is {PLACEHOLDER}"}]
        )
    _https_url(value.replace(PLACEHOLDER, "TRACKING-ID"), field)
    return value


def postal_address(raw: str) -> str:
    """An address as e-mails print it: its lines, each trimmed, blank ones left out, ``\n``
    between them (a CR LF or CR as typed in a form is a line break too). 422 on ``postal_address``
    for an empty one, one too long or of too many lines, markup (a tag or a character reference:
    e-mails print the address as text) or a control character."""
    field = "postal_address"
    lines = [line.strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    value = "\n".join(lines)
    problem = None
    if not value:
        problem = "give the address, or null to print none"
    elif len(value) > MAX_ADDRESS_CHARS or len(lines) > MAX_ADDRESS_LINES:
        problem = f"give at most {MAX_ADDRESS_LINES} lines and {MAX_ADDRESS_CHARS} characters"
    elif any(len(line) > MAX_ADDRESS_LINE_CHARS for line in lines):
        problem = f"a line may hold at most {MAX_ADDRESS_LINE_CHARS} characters"
    elif any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value.replace("\n", "")):
        problem = "must not contain control characters"
    elif _MARKUP.search(value):
        problem = "is printed as text: it may not hold HTML tags or character references"
    if problem:
        raise ValidationFailed([{"field": field, "message": problem}])
    return value


def _https_url(value: str, field: str) -> str:
    from chalicelib.core.links import SPACE_OR_CONTROL, has_space_or_control

    problem = None
    if not value or len(value) > MAX_URL:
        problem = f"give an https URL of at most {MAX_URL} characters"
    elif has_space_or_control(value):  # DEL (127) too, as a webhook's URL
        problem = SPACE_OR_CONTROL
    elif any(c.isspace() or c in "\"'<>\\`" for c in value):
        problem = "a URL may not hold spaces, quotes, < > or backslashes"
    else:
        try:
            parts = urlsplit(value)
            _ = parts.port  # a port that is not a number is no URL
        except ValueError:
            raise ValidationFailed([{"field": field, "message": "is not a URL"}]) from None
        if parts.scheme != "https" or not parts.hostname:
            problem = "must be an https:// URL"
        elif parts.username or parts.password:
            problem = "a URL may not carry a user name or password"
    if problem:
        raise ValidationFailed([{"field": field, "message": problem}])
    return value


def upload_logo(
    company_id: str, content_base64: str, *, by: str, if_match: tuple[int, ...] | None = None
) -> Brand:
    """Keep an uploaded logo (PNG or JPEG by its bytes, at most 200 kB) and show it from now on. It
    is a save of the branding: with ``if_match`` (the versions an ``If-Match`` names), a 412 when
    someone else saved the branding since, and the uploaded file is not kept."""
    from chalicelib.core.files import decode_upload, discard_unless_named, image_size, image_type, put_file
    from chalicelib.store import companies as store
    from chalicelib.tenants.companies import get_company

    company = get_company(company_id)
    if if_match is not None and (company.branding_version or 0) not in if_match:
        raise edited_meanwhile("the branding")
    field = "content_base64"
    data = decode_upload(content_base64, field=field, max_bytes=MAX_LOGO_BYTES, too_large=LOGO_TOO_LARGE)
    content_type = image_type(data)
    if content_type is None:
        head = data[:512].lstrip().lower()
        svg = head.startswith(b"<") and (b"<svg" in data[:4096].lower() or head.startswith(b"<?xml"))
        message = (
            "SVG is not accepted (it can carry script): send a PNG or JPEG image"
            if svg
            else "must be a PNG or JPEG image"
        )
        raise ValidationFailed([{"field": field, "message": message}])
    ref = put_file(company_id, LOGO_PURPOSE, f"logo.{content_type.rsplit('/', 1)[1]}", content_type, data)
    width, height = image_size(data) or (None, None)
    changed = replace(company, logo_file=ref.key, logo_url=None, logo_width=width, logo_height=height)
    try:
        version = store.save_branding(changed, if_match)
        if version is None and if_match is not None:
            raise edited_meanwhile("the branding")
    except Exception:

        def named() -> bool:
            saved = store.get_company(company_id, consistent=True)
            return saved is not None and saved.logo_file == ref.key

        why = "the company's branding could not be saved"
        discard_unless_named(company_id, [ref.key or ""], "uploaded logos", why, named)
        raise
    logger().info("logo uploaded", extra={"company_id": company_id, "by": by, "bytes": len(data)})
    return brand_of(replace(changed, branding_version=version or 0))


def remove_logo(company_id: str, *, by: str, if_match: tuple[int, ...] | None = None) -> Brand:
    """Show no logo (the company's name stands in its place). With ``if_match``, a 412 when someone
    else saved the branding since."""
    from chalicelib.store import companies as store
    from chalicelib.tenants.companies import get_company

    no_logo = {"logo_file": None, "logo_url": None, "logo_width": None, "logo_height": None}
    changed = replace(get_company(company_id), **no_logo)  # type: ignore[arg-type]
    version = store.save_branding(changed, if_match)
    if version is None and if_match is not None:
        raise edited_meanwhile("the branding")
    logger().info("logo removed", extra={"company_id": company_id, "by": by})
    return brand_of(replace(changed, branding_version=version or 0))


def uploaded_logo_url(key: str) -> str:
    """The public URL of an uploaded logo kept at ``key`` (``<company>/brand-logos/<id>/<file>``)."""
    return f"{get_settings().public_base_url}/{uploaded_logo_path(key)}"


def uploaded_logo_path(key: str) -> str:
    """Where the app serves an uploaded logo, relative to its root (pages link it relatively, so
    it loads from the host and stage that served the page)."""
    company_id, _, file_id, file_name = key.split("/", 3)
    return f"brand/{company_id}/logo/{file_id}/{file_name}"


def page_logo(company: Company, root: str) -> str | None:
    """The logo as a page of the app shows it: an uploaded one under ``root`` (the relative way
    back to the app's root from the page), the company's own URL as it is."""
    if company.logo_file:
        return root + uploaded_logo_path(company.logo_file)
    return company.logo_url


def page_brand(company: Company | None, root: str) -> dict[str, str | None]:
    """A company's look on a page of the app (W3): its colours' stylesheet and its logo, each
    linked from ``root`` (the relative way back to the app's root); nothing for no company."""
    if company is None:
        return {"css": None, "logo_url": None}
    return {
        "css": f"{root}track/{quote(company.company_id, safe='')}/brand.css",
        "logo_url": page_logo(company, root),
    }


def logo_file(company_id: str, file_id: str, file_name: str) -> tuple[bytes, str]:
    """An uploaded logo's bytes and type, by the parts of its public URL; NotFound for anything
    that is not one (only files kept as logos can be read this way)."""
    from botocore.exceptions import ClientError

    from chalicelib.core.files import read_file

    key, content_type = _logo_key(company_id, file_id, file_name)
    try:
        return read_file(key), content_type
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            raise NotFound("there is no such logo") from exc
        raise


def logo_link(company_id: str, file_id: str, file_name: str, seconds: int) -> str:
    """A short-lived S3 link to an uploaded logo (checked to be one, as ``logo_file`` does)."""
    from chalicelib.core.files import image_url

    logo_file(company_id, file_id, file_name)  # NotFound unless it is a kept logo
    return image_url(_logo_key(company_id, file_id, file_name)[0], seconds)


def _logo_key(company_id: str, file_id: str, file_name: str) -> tuple[str, str]:
    from chalicelib.tenants.companies import COMPANY_ID

    content_type = _FILE_NAMES.get(file_name)
    if content_type is None or not _FILE_ID.match(file_id) or not COMPANY_ID.match(company_id):
        raise NotFound("there is no such logo")
    return f"{company_id}/{LOGO_PURPOSE}/{file_id}/{file_name}", content_type


# --- where it shows --------------------------------------------------------------------------


def parcel_url(company_id: str, tracking_id: str, page_url: str | None) -> str:
    """The parcel on the company's public tracking page: ``page_url`` (the company's setting) with
    the tracking id in place of ``{tracking_id}`` (or added as ``tracking_id=``), else Pregón's page."""
    tracking = quote(tracking_id, safe="")
    template = page_url
    if template:
        if PLACEHOLDER in template:
            return template.replace(PLACEHOLDER, tracking)
        base, _, fragment = template.partition("#")
        joined = f"{base}{'&' if '?' in base else '?'}tracking_id={tracking}"
        return f"{joined}#{fragment}" if fragment else joined
    return f"{get_settings().public_base_url}/track/{quote(company_id, safe='')}?tracking_id={tracking}"


def brand_css(brand: Brand) -> str:
    """The tracking page's stylesheet of the company's colours, on top of Pregón's (only checked
    #RRGGBB values go in). Text takes the primary colour only where it reads on the page at 4.5:1;
    the buttons' text is the primary colour's ``on_primary`` (``readable_on``: 4.5:1 at least)."""
    primary, accent = brand.primary_color, brand.accent_color
    if not (COLOR.match(primary) and COLOR.match(accent)):
        raise ValueError("stored colours are checked #RRGGBB values")
    ink = text_color(primary)
    return (
        "/* The company's colours (W3), made from its branding settings. */\n"
        f":root {{ --brand: {primary}; --brand-accent: {accent}; --brand-on: {brand.on_primary}; }}\n"
        f"header.company {{ border-bottom: 4px solid {accent}; padding-bottom: .75rem; }}\n"
        f"h1, h2, a {{ color: {ink}; }}\n"
        f"button {{ background: {primary}; color: {brand.on_primary}; }}\n"
        f":focus-visible {{ outline-color: {focus_color(accent)}; }}\n"
        f"ol.history li:first-child {{ border-left: 6px solid {accent}; }}\n"
    )


# WCAG 2.1 AA: text needs 4.5:1 against what is behind it (docs/web.md, Accessibility).
READABLE = 4.5
FOCUS_READABLE = 3.0  # a focus outline, as any part of a control: 3:1 (WCAG 1.4.11)
PAGE_GROUND = "#F5F7FA"  # the public pages' background (templates/pages.css), the darkest text sits on


def luminance(color: str) -> float:
    """WCAG's relative luminance of a ``#RRGGBB`` colour."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG's contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""
    darker, lighter = sorted((luminance(first), luminance(second)))
    return (lighter + 0.05) / (darker + 0.05)


def readable_on(color: str) -> str:
    """The text colour for ``color``: white or near-black (#1A1A1A), whichever contrasts more, and
    black when that one still reads below 4.5:1 (a mid-tone: white or #1A1A1A can both fall to about
    4.1:1 there, black never below 4.58:1)."""
    best = "#FFFFFF" if contrast(color, "#FFFFFF") >= contrast(color, "#1A1A1A") else "#1A1A1A"
    return best if contrast(color, best) >= READABLE else "#000000"


def focus_color(color: str) -> str:
    """The focus outline's colour on the pages: ``color`` (the accent) when it reads on the page at
    3:1 (WCAG 1.4.11; on the forms' white it then reads better still), else Pregón's ink."""
    return color if contrast(color, PAGE_GROUND) >= FOCUS_READABLE else "#1D2430"


def text_color(color: str) -> str:
    """``color`` for headings and links on the pages when it reads there at 4.5:1, else Pregón's ink."""
    return color if contrast(color, PAGE_GROUND) >= READABLE else "#1D2430"
