"""W3 on the staff console, in Debian's Chromium: an administrator uploads the company's logo and
sets its colours on the branding screen, and the console's own header wears them (after a reload
too); a bad colour is refused next to its field; an agent neither sees the screen nor may write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.branding import get_branding, png, set_branding
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    nav_screens,
    open_screen,
    sign_in,
    token_for,
    type_into,
    wait_until,
)
from tests.steps.tenants import Tenant

pytestmark = pytest.mark.browser
RED, YELLOW = "rgb(200, 16, 46)", "rgb(255, 209, 0)"
SHELL_BLUE = "rgb(29, 78, 137)"  # console.css's --accent


def style(driver: Any, selector: str, prop: str) -> str:
    return str(
        driver.execute_script(
            "return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue(arguments[1])",
            selector,
            prop,
        )
    )


def loaded_width(driver: Any, selector: str) -> int:
    """The natural width of an image once it has loaded (0 while it has not, or when it is broken)."""
    return int(
        driver.execute_script(
            "const i = document.querySelector(arguments[0]); return i && i.complete ? i.naturalWidth : 0",
            selector,
        )
    )


def signed_in(driver: Any, site: ConsoleSite, tenant: Tenant, level: int) -> None:
    """Sign in through the console's sign-in screen (tests/steps/console.py) and make sure of the
    level: there, picking the demo user can blur the company field, whose change event reloads the
    users and resets the choice to the first (the administrator) before the form is sent. When that
    happened, the tab is given the token that sign-in screen hands out for ``level`` instead."""
    sign_in(driver, site.web, tenant, level=level)
    if f"nivel {level}" not in driver.find_element(By.ID, "who").text:
        driver.execute_script(
            "sessionStorage.setItem('pregon.console.token', arguments[0])", token_for(tenant, level)
        )
        driver.refresh()
    wait_until(driver, lambda d: f"nivel {level}" in d.find_element(By.ID, "who").text)


def watch_csp(driver: Any) -> None:
    """From the next page on, collect what the page's Content-Security-Policy refuses."""
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.cspViolations = []; document.addEventListener('securitypolicyviolation',"
            " (e) => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
        },
    )


def test_an_administrator_brands_the_company_and_the_console_wears_it(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Path
) -> None:
    # Given the company's administrator on the branding screen, and a logo file of theirs
    logo = tmp_path / "logo.png"
    logo.write_bytes(png(240, 60, (29, 36, 48)))
    signed_in(browser, site, tenant, 1)
    assert "branding" in nav_screens(browser)
    open_screen(browser, "branding")
    assert browser.find_element(By.ID, "brand-no-logo").is_displayed()
    # When they choose the file, the sample shows it before anything is saved
    browser.find_element(By.ID, "brand-logo-file").send_keys(str(logo))
    wait_until(browser, lambda d: loaded_width(d, "#brand-sample .sample-logo") == 240)
    # And they upload it
    browser.find_element(By.CSS_SELECTOR, "#brand-logo-form button[type=submit]").click()
    # Then the screen shows the logo as kept, and the console's header shows it too
    wait_until(browser, lambda d: loaded_width(d, "#brand-current-logo") == 240)
    wait_until(browser, lambda d: loaded_width(d, "#console-logo") == 240)
    assert get_branding(api, tenant).json_body["logo_source"] == "upload"

    # When they type a red primary colour and a yellow accent, the sample follows as they type
    type_into(browser, "brand-primary", "#C8102E")
    type_into(browser, "brand-accent", "#FFD100")
    # (and the company's postal address, on two lines, as on an envelope)
    type_into(browser, "brand-postal-address", "Av. Colón 1234 \nX5000 Córdoba")
    assert style(browser, "#brand-sample .sample-band", "background-color") == RED
    assert style(browser, "#brand-sample .sample-band", "border-bottom-color") == YELLOW
    # And they save: the header band takes the colours at once
    browser.find_element(By.CSS_SELECTOR, "#brand-form button[type=submit]").click()
    wait_until(browser, lambda d: style(d, "header.top", "background-color") == RED)
    colors = get_branding(api, tenant).json_body["colors"]
    assert (colors["primary"], colors["accent"]) == ("#C8102E", "#FFD100")
    # And the address is kept as its lines, which the field shows as e-mails print them
    assert get_branding(api, tenant).json_body["postal_address"] == "Av. Colón 1234\nX5000 Córdoba"
    field = browser.find_element(By.ID, "brand-postal-address")
    wait_until(browser, lambda d: field.get_attribute("value") == "Av. Colón 1234\nX5000 Córdoba")

    # When the page is reloaded (the tab keeps its sign-in)
    watch_csp(browser)
    browser.refresh()
    wait_until(browser, lambda d: "nivel" in d.find_element(By.ID, "who").text)
    # Then the header shows the logo (the company's name as its alt text) in the company's colours,
    # and the navigation marks the current screen in them
    wait_until(browser, lambda d: loaded_width(d, "#console-logo") == 240)
    assert browser.find_element(By.ID, "console-logo").get_attribute("alt") == "Cargas del Sur"
    assert style(browser, "header.top", "background-color") == RED
    assert style(browser, "header.top", "border-bottom-color") == YELLOW
    assert style(browser, 'nav a[aria-current="page"]', "background-color") == RED
    open_screen(browser, "branding")
    wait_until(browser, lambda d: loaded_width(d, "#brand-current-logo") == 240)
    # And the console's Content-Security-Policy refused nothing to do so
    assert browser.execute_script("return window.cspViolations") == []
    console_screenshot(browser, "branding")

    # When they type a colour that is not #RRGGBB and save
    type_into(browser, "brand-primary", "rojo")
    browser.find_element(By.CSS_SELECTOR, "#brand-form button[type=submit]").click()
    # Then the API's refusal is shown next to the primary colour's field, and nothing changed
    error = wait_until(browser, lambda d: d.find_element(By.ID, "brand-primary-error"))
    assert "#RRGGBB" in error.text
    assert browser.find_element(By.ID, "brand-primary").get_attribute("aria-invalid") == "true"
    assert get_branding(api, tenant).json_body["colors"]["primary"] == "#C8102E"
    console_screenshot(browser, "branding-bad-colour")
    # And the field is described by its hint, then its error: a screen reader says both
    described_by = browser.find_element(By.ID, "brand-primary").get_attribute("aria-describedby")
    assert described_by == "brand-primary-hint brand-primary-error"
    # When they put the colour back as it was and save again (nothing to save)
    type_into(browser, "brand-primary", "#C8102E")
    browser.find_element(By.CSS_SELECTOR, "#brand-form button[type=submit]").click()
    # Then the error goes, and the field is described by its hint alone again
    wait_until(browser, lambda d: not d.find_elements(By.ID, "brand-primary-error"))
    field = browser.find_element(By.ID, "brand-primary")
    assert (field.get_attribute("aria-describedby"), field.get_attribute("aria-invalid")) == (
        "brand-primary-hint",
        None,
    )

    # When they remove the logo, the header drops it and the screen says there is none
    browser.find_element(By.ID, "brand-logo-remove").click()
    wait_until(browser, lambda d: not d.find_elements(By.ID, "console-logo"))
    assert browser.find_element(By.ID, "brand-no-logo").is_displayed()
    assert get_branding(api, tenant).json_body["logo_url"] is None


def test_an_agent_has_no_branding_screen_and_may_not_change_the_branding(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-4 agent signed in
    signed_in(browser, site, tenant, 4)
    # Then the branding screen is not in the navigation, and its address says it is not available
    assert "branding" not in nav_screens(browser)
    open_screen(browser, "branding")
    assert "no está disponible para su nivel" in browser.find_element(By.CSS_SELECTOR, "main").text
    assert not browser.find_elements(By.ID, "brand-form")
    # And the API refuses the screen's writes with that user's token
    refused = {
        ("PATCH", "/company/branding"): {"primary_color": "#000000"},
        ("PUT", "/company/branding/logo"): {"content_base64": "iVBORw0KGgo="},
        ("DELETE", "/company/branding/logo"): None,
    }
    for (method, path), payload in refused.items():
        answer = api.http.request(
            method, path, headers=bearer(tenant, 4), body=json.dumps(payload).encode() if payload else b""
        )
        assert answer.status_code == 403, (method, path, answer.body)


def test_every_level_sees_the_companys_colours_and_a_light_one_keeps_the_text_readable(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company whose primary colour is a light yellow (white text would not read on it)
    assert set_branding(api, tenant, primary_color="#FFD100", accent_color="#1F4E79").status_code == 200
    # When a level-2 supervisor signs in
    signed_in(browser, site, tenant, 2)
    # Then the header band is yellow with near-black text, ruled in the accent colour
    wait_until(browser, lambda d: style(d, "header.top", "background-color") == YELLOW)
    assert style(browser, "header.top", "color") == "rgb(26, 26, 26)"
    assert style(browser, "header.top", "border-bottom-color") == "rgb(31, 78, 121)"
    # And the console's buttons and links keep the shell's own blue, which reads on white
    assert style(browser, "nav a:not([aria-current])", "color") == SHELL_BLUE
    console_screenshot(browser, "branding-light-primary-level-2")
    # When they sign out, the header goes back to the shell's own look
    browser.find_element(By.ID, "sign-out").click()
    wait_until(browser, lambda d: style(d, "header.top", "background-color") == SHELL_BLUE)
    assert not browser.find_elements(By.ID, "console-logo")
