"""W3: a company's logo, colours and tracking page URL, set through the API, and what goes on the
wire: the raw bytes of an alert caught by the real SMTP server carry the logo and the parcel link."""

from __future__ import annotations

import base64
import email
import json
import re
from email import policy
from email.message import EmailMessage

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body, outage_injected
from tests.steps.branding import SVG_WITH_SCRIPT, get_branding, png, set_branding, upload_logo
from tests.steps.hostile_mail import company_files
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event, subscribe, sweep

LOGO = "https://cdn.cargasdelsur.example/img/logo.png"
# What Chromium and Firefox ask for when they load an <img> (API Gateway, like Chalice, answers a
# binary body only to a request that accepts it).
BROWSER_IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
OWN_PAGE = "https://www.cargasdelsur.example/seguimiento?envio={tracking_id}"
ADDRESS = "Pasaje Núñez & Hijos, local <3\nX5000 Córdoba"


def test_an_administrator_sets_the_branding_and_bad_input_names_the_field(
    api: Client, tenant: Tenant
) -> None:
    # Given a company that set no branding: the default colours, no logo, Pregón's own page
    shown = body(get_branding(api, tenant))
    assert shown["logo_url"] is None and shown["colors_set"] is False
    assert shown["tracking_page_example"].endswith(f"/track/{tenant.company_id}?tracking_id=EXAMPLE-1")
    # When an administrator sends a named colour, an http logo and a page URL with a stray placeholder
    refused = set_branding(
        api,
        tenant,
        primary_color="red",
        accent_color="#12345",
        logo_url="http://cdn.example/logo.png",
        tracking_page_url="https://www.example/track/{id}",
    )
    # Then each field is named, and nothing was written
    assert refused.status_code == 422
    named = {e["field"] for e in body(refused)["errors"]}
    assert named == {"primary_color", "accent_color", "logo_url", "tracking_page_url"}
    assert body(get_branding(api, tenant)) == shown
    # And a page URL that is not https is refused too
    plain = set_branding(api, tenant, tracking_page_url="http://www.example/?id={tracking_id}")
    assert plain.status_code == 422 and body(plain)["field"] == "tracking_page_url"
    # And so are a logo and a page URL holding a DEL (0x7f), as a webhook's URL is, naming each field;
    # and a C1 control (U+0085) or a bidi override (U+202E, which reorders what is shown)
    for logo_char, page_char in (("\x7f", "\x7f"), ("\u0085", "\u202e")):
        refused = set_branding(
            api,
            tenant,
            logo_url=f"https://cdn.example/logo{logo_char}.png",
            tracking_page_url=f"https://www.example/seguimiento?envio={{tracking_id}}{page_char}",
        )
        assert refused.status_code == 422
        assert {(e["field"], e["message"]) for e in body(refused)["errors"]} == {
            ("logo_url", "must not contain spaces or control characters"),
            ("tracking_page_url", "must not contain spaces or control characters"),
        }
        assert body(get_branding(api, tenant)) == shown
    # And a postal address holding markup, or of too many lines, is refused naming the field
    for address, message in (
        ("Av. Colón <b>1234</b>", "is printed as text: it may not hold HTML tags or character references"),
        ("\n".join(["Córdoba"] * 7), "give at most 6 lines and 300 characters"),
    ):
        refused = set_branding(api, tenant, postal_address=address, primary_color="#000000")
        assert refused.status_code == 422
        assert body(refused)["errors"] == [{"field": "postal_address", "message": message}]
        assert body(get_branding(api, tenant)) == shown
    # When a clerk (level 3) tries to change it
    clerk = set_branding(api, tenant, headers=tenant.staff_headers(), primary_color="#000000")
    # Then it is refused
    assert clerk.status_code == 403
    # When the administrator sets everything right
    saved = set_branding(
        api,
        tenant,
        primary_color="#c8102e",
        accent_color="#FFD100",
        logo_url=LOGO,
        tracking_page_url=OWN_PAGE,
    )
    # Then the answer and every later read show it
    assert saved.status_code == 200, saved.body
    shown = body(get_branding(api, tenant))
    assert shown["colors"] == {
        "primary": "#C8102E",
        "accent": "#FFD100",
        "on_primary": "#FFFFFF",
        "on_accent": "#1A1A1A",
    }
    assert shown["logo_url"] == LOGO and shown["logo_source"] == "url"
    assert shown["tracking_page_example"] == "https://www.cargasdelsur.example/seguimiento?envio=EXAMPLE-1"
    # And null clears one setting, leaving the others
    cleared = body(set_branding(api, tenant, tracking_page_url=None))
    assert cleared["tracking_page_url"] is None and cleared["colors"]["primary"] == "#C8102E"


def test_an_uploaded_logo_is_served_publicly_and_svg_or_a_big_file_is_refused(
    api: Client, tenant: Tenant
) -> None:
    # When an administrator uploads an SVG carrying a script
    svg = upload_logo(api, tenant, SVG_WITH_SCRIPT)
    # Then it is refused, naming the field and why
    assert svg.status_code == 422 and body(svg)["field"] == "content_base64"
    assert "SVG" in body(svg)["message"]
    # And an HTML file calling itself a PNG, and a PNG over 200 kB, are refused too
    assert upload_logo(api, tenant, b"<html><script>alert(1)</script></html>").status_code == 422
    big = upload_logo(api, tenant, png() + b"\0" * 210_000)
    assert big.status_code == 422 and "200 kB" in body(big)["message"]
    # When a real PNG is uploaded
    image = png()
    uploaded = upload_logo(api, tenant, image)
    # Then its public URL serves the same bytes to anyone (a mail program), with no credentials
    assert uploaded.status_code == 200, uploaded.body
    url = body(uploaded)["logo_url"]
    assert body(uploaded)["logo_source"] == "upload"
    # And e-mails will show it 48 px high (its size, read from its bytes, for Outlook)
    assert (body(uploaded)["logo_width"], body(uploaded)["logo_height"]) == (240, 48)
    path = re.sub(r"^https?://[^/]+", "", url)
    assert path.startswith(f"/brand/{tenant.company_id}/logo/")
    served = api.http.get(path, headers={"Accept": BROWSER_IMAGE_ACCEPT})
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png" and served.body == image
    assert "immutable" in served.headers["Cache-Control"]
    # And a fetcher that does not ask for an image first (curl's */*) follows a short-lived S3 link
    redirected = api.http.get(path, headers={"Accept": "*/*"})
    assert redirected.status_code == 302
    assert requests.get(redirected.headers["Location"], timeout=10).content == image
    # And a made-up logo address, or a path that is not a logo, is not found
    for made_up in ("0123456789abcdef/logo.png", "..%2F..%2Fx/logo.png", f"{path.split('/')[-2]}/logo.gif"):
        missing = api.http.get(f"/brand/{tenant.company_id}/logo/{made_up}", headers={"Accept": "*/*"})
        assert missing.status_code == 404, made_up
    # When the logo is removed, the company's name stands in its place
    removed = api.http.delete("/company/branding/logo", headers=tenant.admin_headers())
    assert removed.status_code == 200 and body(removed)["logo_url"] is None


@pytest.mark.parametrize(
    "size",
    [
        210_000,  # a little over 200 kB
        400_000,  # its base64 is past the 420,000 characters the field once allowed
        2_000_000,  # its body is past the route's cap: refused before it is read
    ],
)
def test_every_logo_over_200_kb_gets_the_same_clear_answer_in_english_and_spanish(
    api: Client, tenant: Tenant, size: int
) -> None:
    request = {"content_base64": base64.b64encode(png() + b"\0" * size).decode()}
    # When an administrator uploads a logo over 200 kB, however much over
    answer = api.http.put("/company/branding/logo", headers=tenant.admin_headers(), body=json.dumps(request))
    # Then it is refused naming the field, saying the logo is larger than 200 kB
    assert answer.status_code == 422, answer.body
    assert body(answer)["field"] == "content_base64"
    assert body(answer)["message"] == "content_base64: the logo is larger than 200 kB"
    # And in Spanish when the caller asks for it
    spanish = api.http.put(
        "/company/branding/logo",
        headers={**tenant.admin_headers(), "Accept-Language": "es-AR"},
        body=json.dumps(request),
    )
    assert spanish.status_code == 422 and body(spanish)["field"] == "content_base64"
    assert body(spanish)["message"] == "content_base64: el logo supera los 200 kB"
    # And the company still has no logo
    assert body(get_branding(api, tenant))["logo_url"] is None


def _raw_alert(mailbox: MailCatcher) -> bytes:
    [path] = sorted(mailbox.maildir.glob("*.eml"))
    return path.read_bytes()


def _parts(raw: bytes) -> dict[str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    }


def test_an_alert_on_the_wire_carries_the_logo_the_colours_the_address_and_the_parcel_on_the_companys_page(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a company with its logo, colours, its own tracking page and its postal address (typed
    # in a form: CR LF between lines, an '&' and a '<')
    saved = set_branding(
        api,
        tenant,
        primary_color="#C8102E",
        accent_color="#FFD100",
        logo_url=LOGO,
        tracking_page_url=OWN_PAGE,
        postal_address=" Pasaje Núñez & Hijos, local <3\r\nX5000 Córdoba ",
    )
    assert saved.status_code == 200, saved.body
    assert body(saved)["postal_address"] == ADDRESS
    # And a parcel Ana follows
    issue(api, tenant, "TRK-BR1")
    assert subscribe(api, tenant, "TRK-BR1", "ana@example.com").status_code == 202
    # When the parcel moves and the sweep sends the alert
    post_event(api, tenant, "TRK-BR1", "e1", "OUT_FOR_DELIVERY", minutes=1)
    assert sweep(tenant).sent == 1
    mailbox.wait_for(1)
    # Then the bytes the SMTP server received hold a plain-text and an HTML part
    raw = _raw_alert(mailbox)
    parts = _parts(raw)
    assert set(parts) == {"text/plain", "text/html"}
    html, text = parts["text/html"], parts["text/plain"]
    # And the HTML shows the logo with the company's name as alt text, in its colours
    assert f'<img src="{LOGO}" alt="Cargas del Sur"' in html
    assert "#C8102E" in html and "#FFD100" in html
    # And both parts link the parcel on the company's own page
    link = "https://www.cargasdelsur.example/seguimiento?envio=TRK-BR1"
    assert f'href="{link}"' in html
    assert link in text
    # And the plain text says what it always said, without markup or colours
    lines = text.replace("\r\n", "\n")
    assert "En distribución" in text and "<" not in lines.replace(ADDRESS, "") and "#C8102E" not in text
    # And both print the postal address in the footer, its lines apart: as typed in the text, escaped
    # in the HTML (a line break between its lines)
    assert f"{ADDRESS}\n" in lines
    assert ">Pasaje Núñez &amp; Hijos, local &lt;3<br>X5000 Córdoba</p>" in html and ADDRESS not in html
    # And the raw message holds the logo URL and the link too (as transferred, before decoding)
    unfolded = re.sub(rb"=\r?\n", b"", raw).replace(b"=3D", b"=")
    assert LOGO.encode() in unfolded and link.encode() in unfolded
    assert b"Hijos, local <3\r\nX5000 C" in unfolded and b"Hijos, local &lt;3<br>X5000 C" in unfolded
    # When Ana opens the alert's unsubscribe link
    unsubscribe = re.search(r"https?://[^/\s]+(/public/unsubscribe\?token=[\w.\-]+)", text)
    assert unsubscribe, text
    page = api.http.get(unsubscribe.group(1)).body.decode()
    # Then that page too shows the company's logo and loads its colours
    assert f'<img src="{LOGO}" alt="Cargas del Sur"' in page
    assert f'href="../track/{tenant.company_id}/brand.css"' in page


def test_the_tracking_page_links_a_stylesheet_of_the_companys_colours_and_shows_the_logo(
    api: Client, tenant: Tenant
) -> None:
    # Given a company with its colours and logo
    set_branding(api, tenant, primary_color="#0A7B3E", accent_color="#F2C200", logo_url=LOGO)
    # When a browser asks for the page and its brand stylesheet
    page = api.http.get(f"/track/{tenant.company_id}")
    css = api.http.get(f"/track/{tenant.company_id}/brand.css")
    # Then the page loads it (no inline style: the policy still allows only our stylesheets)
    assert page.status_code == 200
    assert f'href="{tenant.company_id}/brand.css"' in page.body.decode()
    assert f'<img src="{LOGO}" alt="Cargas del Sur"' in page.body.decode()
    assert "style-src 'self'" in page.headers["Content-Security-Policy"]
    assert " style=" not in page.body.decode()
    # And the stylesheet is made of the company's colours
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert "#0A7B3E" in css.body.decode() and "#F2C200" in css.body.decode()
    # And an unknown company has no stylesheet
    assert api.http.get("/track/no-such-company/brand.css").status_code == 404


def test_a_logo_whose_branding_cannot_be_saved_leaves_no_file(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import companies

    # Given DynamoDB refuses to save the company's branding
    def throttled(*_: object) -> None:
        raise RuntimeError("DynamoDB throttled the branding's write")

    monkeypatch.setattr(companies, "save_branding", throttled)
    # When an administrator uploads a logo
    with outage_injected("the branding's write"):
        failed = upload_logo(api, tenant, png())
    # Then the upload fails, the company shows no logo, and the file it stored is gone
    assert failed.status_code == 500
    monkeypatch.undo()
    assert body(get_branding(api, tenant))["logo_url"] is None
    assert company_files(tenant.company_id, "brand-logos") == []
