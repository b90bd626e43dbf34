"""W3's rules that need no stack: colours, URLs, where an alert links, the page's stylesheet."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from chalicelib.core.domain import Company
from chalicelib.core.errors import ValidationFailed
from chalicelib.tenants.branding import (
    PAGE_GROUND,
    _checked,
    brand_css,
    brand_of,
    company_variables,
    contrast,
    parcel_url,
    readable_on,
)

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)


def test_text_on_a_colour_is_white_on_dark_and_near_black_on_light() -> None:
    assert readable_on("#1F4E79") == "#FFFFFF"
    assert readable_on("#C8102E") == "#FFFFFF"
    assert readable_on("#FFD100") == "#1A1A1A"
    assert readable_on("#FFFFFF") == "#1A1A1A"


def test_text_on_any_company_colour_reads_at_4_5_to_1_black_on_a_mid_tone() -> None:
    # Given colours where white and near-black both read below WCAG AA's 4.5:1 (about 4.1-4.4)
    for mid_tone in ("#2E8B57", "#808080", "#009639"):
        # Then the text on them is black
        assert readable_on(mid_tone) == "#000000", mid_tone
    # And on every colour (a grid over the RGB cube) the text chosen reads at 4.5:1 or more
    grid = [
        f"#{r:02X}{g:02X}{b:02X}"
        for r in range(0, 256, 17)
        for g in range(0, 256, 17)
        for b in range(0, 256, 17)
    ]
    assert min(contrast(color, readable_on(color)) for color in grid) >= 4.5


def test_the_tracking_page_takes_the_primary_colour_for_text_only_where_it_reads() -> None:
    # Given a company whose primary colour reads on the page at only 3.96:1 (white on it: 4.25:1)
    brand = brand_of(Company("c", "C", "es", False, T0, primary_color="#2E8B57", accent_color="#FFD100"))
    css = brand_css(brand)
    # Then headings and links keep Pregón's ink, and the buttons' text is black
    assert "h1, h2, a { color: #1D2430; }" in css
    assert "button { background: #2E8B57; color: #000000; }" in css
    # And the focus outline, whose yellow accent would read at 1.4:1 on the page, is the ink too
    assert ":focus-visible { outline-color: #1D2430; }" in css


def test_the_focus_outline_takes_the_accent_colour_only_where_it_reads_at_3_to_1() -> None:
    # Given an accent that reads on the page at 3:1 or more, and Pregón's own orange that does not
    for accent, outline in (("#B5121B", "#B5121B"), ("#E8A33D", "#1D2430"), ("#767676", "#767676")):
        brand = brand_of(Company("c", "C", "es", False, T0, primary_color="#1F4E79", accent_color=accent))
        # Then the outline is the accent where it reads, else the ink (3:1 at least either way)
        assert f":focus-visible {{ outline-color: {outline}; }}" in brand_css(brand)
        assert contrast(outline, PAGE_GROUND) >= 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_color", "red"),
        ("primary_color", "#12345G"),
        ("accent_color", "#FFF"),
        ("accent_color", "#1F4E79;}body{"),
        ("logo_url", "http://cdn.example/logo.png"),
        ("logo_url", "javascript:alert(1)"),
        ("logo_url", "https://user:pw@cdn.example/logo.png"),
        ("logo_url", 'https://cdn.example/"onerror="x'),
        ("logo_url", "https://[::1/logo.png"),
        ("logo_url", "https://cdn.example:port/logo.png"),
        ("tracking_page_url", "https://www.example/{id}"),
        ("tracking_page_url", "https://www.example/{tracking_id}}"),
        ("tracking_page_url", "ftp://www.example/{tracking_id}"),
        ("tracking_page_url", "https:///{tracking_id}"),
    ],
)
def test_bad_branding_values_are_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _checked(field, value)
    assert refused.value.errors[0]["field"] == field


def test_good_values_are_kept_colours_in_capitals() -> None:
    assert _checked("primary_color", " #c8102e ") == "#C8102E"
    assert (
        _checked("logo_url", "https://cdn.example/img/logo.png?v=2") == "https://cdn.example/img/logo.png?v=2"
    )
    page = "https://www.example/seguimiento/{tracking_id}#historial"
    assert _checked("tracking_page_url", page) == page


def test_an_alert_links_the_companys_page_or_pregons() -> None:
    assert parcel_url("acme", "AB 1/2", "https://x.example/s?envio={tracking_id}") == (
        "https://x.example/s?envio=AB%201%2F2"
    )
    assert parcel_url("acme", "T-1", "https://x.example/seguimiento") == (
        "https://x.example/seguimiento?tracking_id=T-1"
    )
    assert parcel_url("acme", "T-1", "https://x.example/s?lang=es#top") == (
        "https://x.example/s?lang=es&tracking_id=T-1#top"
    )
    assert parcel_url("acme", "T-1", None).endswith("/track/acme?tracking_id=T-1")


def test_a_company_without_branding_gets_the_defaults_and_no_logo() -> None:
    company = Company("acme", "Acme", "es", False, T0)
    variables = company_variables(company)
    assert variables["logo_url"] is None and variables["name"] == "Acme"
    assert variables["colors"] == {
        "primary": "#1F4E79",
        "accent": "#E8A33D",
        "on_primary": "#FFFFFF",
        "on_accent": "#1A1A1A",
    }
    assert brand_of(company).colors_set is False


def test_an_uploaded_logo_wins_and_the_stylesheet_holds_only_the_colours() -> None:
    company = Company(
        "acme",
        "Acme",
        "es",
        False,
        T0,
        logo_url="https://cdn.example/old.png",
        logo_file="acme/brand-logos/0123456789abcdef/logo.png",
        primary_color="#0A7B3E",
        accent_color="#F2C200",
    )
    brand = brand_of(company)
    assert brand.logo_source == "upload"
    assert brand.logo_url and brand.logo_url.endswith("/brand/acme/logo/0123456789abcdef/logo.png")
    css = brand_css(brand)
    assert "#0A7B3E" in css and "#F2C200" in css and "url(" not in css


def test_a_logos_size_is_read_from_its_bytes() -> None:
    import struct

    from chalicelib.core.files import image_size
    from tests.steps.branding import png

    # Given a PNG, and a JPEG whose frame header follows an APP0 segment
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 90, 300, 1) + b"\x01\x11\x00"
    jpeg = b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"
    # Then their sizes are read; anything else has none
    assert image_size(png(320, 64)) == (320, 64)
    assert image_size(jpeg) == (300, 90)
    assert image_size(b"<svg/>") is None


def test_e_mails_give_an_uploaded_logo_its_size_for_outlook() -> None:
    from chalicelib.messaging.sandbox import default_template, render_untrusted
    from chalicelib.messaging.templates import MESSAGE_TYPES
    from chalicelib.tenants.branding import shown_size

    # Given logos of several shapes: shown 48 px high, narrower than 240 px
    assert shown_size(480, 96) == (240, 48)
    assert shown_size(100, 100) == (48, 48)
    assert shown_size(1200, 100) == (240, 20)
    # When a company with an uploaded 480x96 logo sends its default tracking alert
    company = Company("acme", "Acme", "es", False, T0, logo_file="acme/brand-logos/0123456789abcdef/logo.png")
    wide = brand_of(Company(**{**company.__dict__, "logo_width": 480, "logo_height": 96}))
    data = {**MESSAGE_TYPES["tracking_alert"].sample_data(), "company": wide.template_variables()}
    html = render_untrusted(default_template("tracking_alert", "es"), data).html
    # Then the image carries width and height attributes (Outlook ignores CSS sizes)
    assert 'alt="Acme" width="240" height="48"' in html


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (" \n \r\n ", "give the address, or null to print none"),
        (
            "Av. Colón 1234\n<b>X5000</b> Córdoba",
            "is printed as text: it may not hold HTML tags or character references",
        ),
        (
            "Av. Colón 1234 <!-- x -->",
            "is printed as text: it may not hold HTML tags or character references",
        ),
        ("Smith &amp; Co.", "is printed as text: it may not hold HTML tags or character references"),
        ("Smith &#38; Co.", "is printed as text: it may not hold HTML tags or character references"),
        ("\n".join(["Línea"] * 7), "give at most 6 lines and 300 characters"),
        ("\n".join(["x" * 60] * 5) + "\nx", "give at most 6 lines and 300 characters"),
        ("x" * 101, "a line may hold at most 100 characters"),
        ("Av. Colón\x071234", "must not contain control characters"),
        ("Av. Colón\u00851234", "must not contain control characters"),
    ],
)
def test_a_postal_address_with_markup_or_too_long_is_refused_naming_the_field(
    value: str, message: str
) -> None:
    # Given an address that is empty, holds markup or a control character, or is too long
    # When it is checked / Then it is refused, naming the field and why
    with pytest.raises(ValidationFailed) as refused:
        _checked("postal_address", value)
    assert refused.value.errors == [{"field": "postal_address", "message": message}]


def test_a_postal_address_keeps_its_lines_trimmed_and_a_lone_ampersand_or_angle() -> None:
    # Given an address typed in a form: CR LF and CR line breaks, spaces, a blank line
    typed = "  Pasaje Núñez & Hijos, local <3 \r\n\r\n X5000 Córdoba \rArgentina\n"
    # Then its lines are kept, trimmed, LF apart, and '&' or '<' that make no markup stay as typed
    assert _checked("postal_address", typed) == "Pasaje Núñez & Hijos, local <3\nX5000 Córdoba\nArgentina"


ADDRESS = "Pasaje Núñez & Hijos, local <3\nX5000 Córdoba"
# The address's lines in the default templates: HTML (a paragraph, its lines apart by <br>), text.
ADDRESS_LINES = re.compile(
    r"\{% if company\.postal_address %\}(<p [^\n]*?\{% endfor %\}</p>|\n\{\{ company\.postal_address \}\})"
    r"\{% endif %\}"
)
HTML_ADDRESS = '<p style="margin: 8px 0 0 0;">Pasaje Núñez &amp; Hijos, local &lt;3<br>X5000 Córdoba</p>'


def default_emails() -> list[tuple[str, str]]:
    from chalicelib.messaging.sandbox import TEMPLATES_DIR

    return sorted(
        (lang, path.name.removesuffix(".subject.txt"))
        for lang in ("es", "en")
        for path in (TEMPLATES_DIR / lang).glob("*.subject.txt")
    )


@pytest.mark.parametrize(("language", "key"), default_emails())
def test_every_default_email_prints_the_postal_address_in_both_parts_and_nothing_without_one(
    language: str, key: str
) -> None:
    from chalicelib.messaging.sandbox import default_template, render_untrusted
    from chalicelib.messaging.templates import SAMPLE_PORTAL_LINK, message_type

    # Given a default e-mail's sample data, for a company with a postal address and one without
    # (the double opt-in confirmation is no message type: no company template replaces it)
    kind = message_type("tracking_alert" if key == "tracking_confirmation" else key)
    extra = {"portal_link": SAMPLE_PORTAL_LINK, "confirm_url": "https://pregon.example/c", "hours": 48}
    data = kind.sample_data() | extra
    sources = default_template(key, language)
    with_address = {**data, "company": {**data["company"], "postal_address": ADDRESS}}
    # When it is rendered for each
    shown = render_untrusted(sources, with_address)
    bare = render_untrusted(sources, data)
    # Then with one, the text part prints its lines and the HTML escapes them, a line break apart
    assert ADDRESS in shown.text
    assert HTML_ADDRESS in shown.html
    # And without one, both read as the template without the address's lines would (the compressed
    # bodies' dictionaries know them so)
    subject, text, html = (ADDRESS_LINES.sub("", source) for source in sources)
    without = (subject, text, html)
    assert "postal_address" not in "".join(without)
    assert render_untrusted(without, data) == bare
