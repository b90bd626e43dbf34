"""W3: every default e-mail, rendered as it is sent (the company's logo and colours), in Debian's
Chromium at a phone's width (375 px) and a desktop's (1024 px): nothing scrolls sideways on the
phone, the logo loads with the company's name as alt text, the message keeps to one ~600-px column.

Screenshots land in .local/screenshots/emails/ (not committed) for a person to look at; the docs
show two of them (docs/web.md, "Branding (W3)")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.steps.browser import DESKTOP, PHONE, ROOT, chromium

pytestmark = pytest.mark.browser

FOLDER = ROOT / ".local" / "screenshots" / "emails"
COMPANY = "Cargas del Sur"
LANGUAGES = ("es", "en")
WIDTHS = {"phone": PHONE, "desktop": (1024, DESKTOP[1])}


def default_emails() -> list[str]:
    """Every message type that ships a default e-mail, and the subscription confirmation."""
    from chalicelib.messaging.templates import MESSAGE_TYPES

    return [*MESSAGE_TYPES, "tracking_confirmation"]


def sample(key: str, logo_url: str) -> dict[str, Any]:
    """The type's sample data with a company's branding: a logo, a red and a yellow, its address."""
    from dataclasses import replace

    from chalicelib.core.domain import Company
    from chalicelib.messaging.templates import MESSAGE_TYPES
    from chalicelib.tenants.branding import company_variables

    company = Company("cargas", COMPANY, "es", False, None)  # type: ignore[arg-type]
    company = replace(
        company,
        logo_url=logo_url,
        primary_color="#C8102E",
        accent_color="#FFD100",
        postal_address="Av. Vélez Sarsfield 1234, piso 2\nX5000 Córdoba\nArgentina",
    )
    if key == "tracking_confirmation":
        data: dict[str, Any] = {
            "parcel": {"tracking_id": "CDS-000123"},
            "confirm_url": "https://pregon.example/public/subscriptions/confirm?token=sample",
            "hours": 48,
        }
    else:
        data = MESSAGE_TYPES[key].sample_data()
    return {**data, "company": company_variables(company)}


@pytest.fixture(scope="module")
def logo() -> Iterator[str]:
    """A logo image made the way a designer's would look: the company's name on its colour (drawn
    by Chromium itself and kept as a PNG file)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / "logo.png"
    page = (
        "data:text/html;charset=utf-8,<body style='margin:0'><div id='logo' style='display:inline-block;"
        "padding:10px 18px;background:%23C8102E;color:white;font:bold 30px Arial'>Cargas del Sur</div>"
    )
    with chromium("es", DESKTOP) as driver:
        driver.get(page)
        path.write_bytes(driver.find_element(By.ID, "logo").screenshot_as_png)
    yield path.as_uri()


def render(key: str, language: str, logo_url: str) -> Path:
    """The default e-mail's HTML part as the outbox would send it, kept as a file to open."""
    from chalicelib.messaging.sandbox import default_template, render_untrusted

    html = render_untrusted(default_template(key, language), sample(key, logo_url)).html
    path = FOLDER / f"{key}-{language}.html"
    path.write_text(html, encoding="utf-8")
    return path


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_default_email_reads_on_a_phone_and_a_desktop(width: str, logo: str) -> None:
    # Given every default e-mail in Spanish and English, rendered with a company's logo and colours
    # (and its postal address at the foot)
    rendered = [
        (key, language, render(key, language, logo)) for language in LANGUAGES for key in default_emails()
    ]
    problems: list[str] = []
    with chromium("es", WIDTHS[width]) as driver:
        for key, language, path in rendered:
            # When it is opened in Chromium at this width
            driver.get(path.as_uri())
            shot = FOLDER / f"{key}-{language}-{width}.png"
            driver.save_screenshot(str(shot))
            # Then the logo loaded and says the company's name to whoever cannot see it
            image = driver.find_element(By.CSS_SELECTOR, "img")
            if image.get_attribute("alt") != COMPANY:
                problems.append(f"{key}/{language}: the logo's alt text is {image.get_attribute('alt')!r}")
            if not driver.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", image
            ):
                problems.append(f"{key}/{language}: the logo did not load")
            # And on the phone nothing scrolls sideways
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{key}/{language}: {overflow} px scroll sideways at {width} width")
            # And on the desktop the message keeps to one column of at most 600 px
            column = driver.execute_script(
                "return document.querySelector('table table').getBoundingClientRect().width"
            )
            if column > 600 or (width == "phone" and column < 300):
                problems.append(f"{key}/{language}: the message column is {column} px wide")
    assert not problems, "\n".join(problems)
    assert len(rendered) == 2 * len(default_emails()) == 24
