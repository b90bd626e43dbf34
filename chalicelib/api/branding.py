"""W3: a company's branding (logo, colours, tracking page URL), set by its administrators, and the
public logo its e-mails load."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, PUBLIC, STAFF
from chalicelib.api.http import Routes, if_match, parse_body, versioned_response
from chalicelib.tenants.auth.principal import Principal
from chalicelib.tenants.branding import Brand

branding = Blueprint(__name__)
route = Routes(branding, schemas="branding_schemas")

# The logo upload's body: base64 of a 200 kB image (wrapped in lines, as mail programs do) and the
# JSON around it, with room; a bigger body is refused as a logo over 200 kB before it is parsed.
MAX_LOGO_BODY_BYTES = 450 * 1024
# Whoever asks for a logo without putting an image type first gets an S3 link valid this long.
LINK_SECONDS = 600
# The API's binary media types must cover the first type browsers put in Accept for an <img>
# (image/avif, image/webp, ...): API Gateway decides by it whether to send the bytes (app.py).
IMAGE_ACCEPTS = ["image/*"]


@route("GET /company/branding", STAFF, response="BrandingOut", versioned=True)
def get_branding(caller: Principal) -> Response:
    """The company's branding: logo, colours and public tracking page URL (W3)"""
    from chalicelib.tenants.branding import get_brand

    return _out(get_brand(caller.company_id))


@route("PATCH /company/branding", ADMIN, body="BrandingIn", response="BrandingOut", versioned=True)
def update_branding(caller: Principal) -> Response:
    """Set the logo's https URL, the primary and accent colours (#RRGGBB), the public tracking page's
    URL (https, with `{tracking_id}`) and the postal address e-mails print; the fields given change,
    `null` clears one (W3)"""
    from chalicelib.api.branding_schemas import BrandingIn
    from chalicelib.tenants.branding import update_branding as update

    request = branding.current_request
    body = parse_body(request, BrandingIn)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    return _out(update(caller.company_id, changes, by=caller.subject, if_match=if_match(request)))


@route("PUT /company/branding/logo", ADMIN, body="BrandingLogoIn", response="BrandingOut", versioned=True)
def upload_logo(caller: Principal) -> Response:
    """Upload the logo (PNG or JPEG, at most 200 kB; SVG is refused): Pregón keeps it and serves it at a
    stable public URL for mail programs (W3)"""
    from chalicelib.api.branding_schemas import BrandingLogoIn
    from chalicelib.core.files import upload_too_large
    from chalicelib.tenants.branding import LOGO_TOO_LARGE
    from chalicelib.tenants.branding import upload_logo as upload

    # A body over the cap is a logo far over 200 kB: the same answer, and it is never read
    request = branding.current_request
    body = parse_body(
        request,
        BrandingLogoIn,
        max_bytes=MAX_LOGO_BODY_BYTES,
        too_large=upload_too_large("content_base64", LOGO_TOO_LARGE),
    )
    return _out(upload(caller.company_id, body.content_base64, by=caller.subject, if_match=if_match(request)))


@route("DELETE /company/branding/logo", ADMIN, response="BrandingOut", versioned=True)
def remove_logo(caller: Principal) -> Response:
    """Show no logo: e-mails and the tracking page show the company's name in its place (W3)"""
    from chalicelib.tenants.branding import remove_logo as remove

    return _out(remove(caller.company_id, by=caller.subject, if_match=if_match(branding.current_request)))


@route(
    "GET /brand/{company_id}/logo/{file_id}/{file_name}",
    PUBLIC,
    answer="image",
    errors={302: "A request that does not ask for an image first (`Accept: */*`): a short-lived S3 link."},
)
def logo(company_id: str, file_id: str, file_name: str) -> Response:
    """An uploaded logo, public so mail programs can load it; a new upload gets a new URL, so this one
    never changes and may be cached for a year"""
    from chalicelib.tenants.branding import logo_file, logo_link

    headers = branding.current_request.headers
    accept = str(headers.get("accept", "")) if headers else ""
    first = accept.split(",")[0].split(";")[0].strip().lower()
    if not first.startswith("image/"):
        # API Gateway returns a binary body only to a request whose first Accept type is a binary
        # type (here image/*); anything else (curl's */*, some image proxies) follows a redirect.
        link = logo_link(company_id, file_id, file_name, LINK_SECONDS)
        return Response(
            body="",
            status_code=302,
            headers={"Location": link, "Cache-Control": f"public, max-age={LINK_SECONDS // 2}"},
        )
    data, content_type = logo_file(company_id, file_id, file_name)
    return Response(
        body=data,
        status_code=200,
        headers={
            "Content-Type": content_type,
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


def _out(brand: Brand) -> Response:
    """The branding as answered, with its version as the ETag (a logo uploaded or removed is a
    save of the branding too: the console edits on with the ETag it answers)."""
    from urllib.parse import quote

    from chalicelib.core.settings import get_settings
    from chalicelib.tenants.branding import parcel_url

    base = get_settings().public_base_url
    shown = {
        "logo_url": brand.logo_url,
        "logo_source": brand.logo_source,
        "logo_width": brand.logo_width,
        "logo_height": brand.logo_height,
        "colors": {
            "primary": brand.primary_color,
            "accent": brand.accent_color,
            "on_primary": brand.on_primary,
            "on_accent": brand.on_accent,
        },
        "colors_set": brand.colors_set,
        "tracking_page_url": brand.tracking_page_url,
        "postal_address": brand.postal_address,
        "tracking_page_example": parcel_url(brand.company_id, "EXAMPLE-1", brand.tracking_page_url),
        "stylesheet_url": f"{base}/track/{quote(brand.company_id, safe='')}/brand.css",
    }
    return versioned_response(shown, brand.version)
