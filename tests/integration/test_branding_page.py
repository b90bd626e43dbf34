"""W3 on the public tracking page, in Debian's Chromium: the company's uploaded logo (served by the
app) and its colours, from a stylesheet made for it (the page keeps `style-src 'self'`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.branding import png, set_branding, upload_logo
from tests.steps.browser import PHONE, chromium, screenshot, served_app, wait_for_text
from tests.steps.tenants import Tenant
from tests.steps.tracking import issue, post_event

pytestmark = pytest.mark.browser
RED, YELLOW = "rgb(200, 16, 46)", "rgb(255, 209, 0)"


@pytest.fixture(scope="module")
def web(api: Client) -> Iterator[str]:
    with served_app() as base:
        yield base


def style(driver: Any, selector: str, prop: str) -> str:
    return str(
        driver.execute_script(
            "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1])",
            selector,
            prop,
        )
    )


def test_the_tracking_page_shows_the_companys_logo_and_colours(api: Client, tenant: Tenant, web: str) -> None:
    # Given a company that uploaded its logo and chose a red and a yellow
    assert upload_logo(api, tenant, png(240, 60, (200, 16, 46))).status_code == 200
    assert set_branding(api, tenant, primary_color="#C8102E", accent_color="#FFD100").status_code == 200
    issue(api, tenant, "TRK-BRAND")
    post_event(api, tenant, "TRK-BRAND", "e1", "IN_TRANSIT", minutes=1)
    with chromium("es", PHONE) as phone:
        # When a customer opens the parcel on the company's page, on a phone
        phone.get(f"{web}/track/{tenant.company_id}?tracking_id=TRK-BRAND")
        wait_for_text(phone, "Envío TRK-BRAND")
        # Then the logo loads and its alt text is the company's name
        logo = phone.find_element(By.CSS_SELECTOR, "header.company img")
        assert logo.get_attribute("alt") == "Cargas del Sur"
        assert phone.execute_script("return arguments[0].complete && arguments[0].naturalWidth", logo) == 240
        # And the button, the header's rule and the latest status wear the company's colours
        assert style(phone, "button", "background-color") == RED
        assert style(phone, "header.company", "border-bottom-color") == YELLOW
        assert style(phone, "ol.history li", "border-left-color") == YELLOW
        # And nothing is wider than the phone
        assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
        screenshot(phone, "w3-tracking-page-branded-phone")


def test_a_light_primary_colour_keeps_text_readable(api: Client, tenant: Tenant, web: str) -> None:
    # Given a company whose primary colour is a light yellow
    assert set_branding(api, tenant, primary_color="#FFE066").status_code == 200
    with chromium("es") as driver:
        # When its page opens
        driver.get(f"{web}/track/{tenant.company_id}")
        # Then the button is yellow with dark text, and the heading stays dark on white
        assert style(driver, "button", "background-color") == "rgb(255, 224, 102)"
        assert style(driver, "button", "color") == "rgb(26, 26, 26)"
        assert style(driver, "h1", "color") == "rgb(29, 36, 48)"
        # And with no logo the company's name stands in the header
        assert driver.find_element(By.CSS_SELECTOR, "header.company").text == "Cargas del Sur"
