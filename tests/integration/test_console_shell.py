"""W2: the staff console's shell in Debian's Chromium: signing in with the local identity, the
navigation each level gets, and the alert monitor saving a frequency.

The app is served over HTTP by Chalice's local server on DynamoDB Local, the local identity server
beside it; screenshots land in .local/screenshots/console/ (not committed)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from chalicelib.api.console import SCREENS
from tests.steps.answers import body
from tests.steps.browser import DESKTOP, press_enter, tab_to
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    nav_screens,
    not_available,
    open_screen,
    sign_in,
    wait_until,
    what_reads_wrong,
)
from tests.steps.history import send_email
from tests.steps.tenants import IDENTITY, Tenant
from tests.steps.tracking import issue, staff_subscribe

pytestmark = pytest.mark.browser
CONFIGURATION = {"monitor", "catalog", "accounts", "templates"}


def frequency_cell(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, 'tr[data-alert="tracking"] td.frequency').text)


def test_an_administrator_signs_in_and_changes_the_tracking_frequency(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the company's administrator signed in through the console's sign-in screen
    sign_in(browser, site.web, tenant, level=1)
    # Then the navigation offers the configuration screens, and says who is signed in
    assert set(nav_screens(browser)) >= CONFIGURATION
    assert tenant.company_id in browser.find_element(By.ID, "who").text
    # And its token is kept in the tab only, never in the address
    token = browser.execute_script("return sessionStorage.getItem('pregon.console.token')")
    assert token and token.count(".") == 2 and token not in browser.current_url
    assert not browser.execute_script("return document.cookie") and not browser.get_cookies()
    # When they open the alert monitor and set tracking alerts to every 15 minutes
    open_screen(browser, "monitor")
    assert frequency_cell(browser) == "1 min"
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any(name.endswith("/alerts") for name in fetched)  # (what the agent's test looks for)
    field = browser.find_element(By.ID, "alert-tracking-frequency")
    field.clear()
    field.send_keys("15")
    browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
    wait_until(browser, lambda d: frequency_cell(d) == "15 min")
    console_screenshot(browser, "monitor")
    # Then after a reload (the token is still in the tab's sessionStorage) the monitor shows 15 minutes
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-alert="tracking"]'))
    assert frequency_cell(browser) == "15 min"
    # And the API says the same
    monitor = body(api.http.get("/alerts", headers=bearer(tenant, 1)))
    assert [a["frequency_minutes"] for a in monitor["items"] if a["alert_type"] == "tracking"] == [15]
    # When they set it to 0 minutes, "activa" still ticked (seed 000: no follow-ups offered)
    field = browser.find_element(By.ID, "alert-tracking-frequency")
    field.clear()
    field.send_keys("0")
    browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
    # Then the monitor says the alert is off, not "Sí" with 0 minutes
    wait_until(browser, lambda d: frequency_cell(d) == "0 min: apagada")
    enabled = browser.find_element(By.CSS_SELECTOR, 'tr[data-alert="tracking"] td.enabled').text
    assert enabled == "No"


def next_run_cell(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, 'tr[data-alert="tracking"] td:nth-of-type(4)').text)


def test_a_saved_frequency_says_it_runs_in_the_next_minute_not_at_a_past_time(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the alert monitor, tracking alerts on
    sign_in(browser, site.web, tenant, level=1, screen="monitor")
    # When they save a frequency of 120 minutes (seed 000: "2hs 120 minutos")
    field = browser.find_element(By.ID, "alert-tracking-frequency")
    field.clear()
    field.send_keys("120")
    browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
    wait_until(browser, lambda d: frequency_cell(d) == "120 min")
    # Then «Próxima ejecución» says what happens: a save runs the alert at the scheduler's next
    # minute (decision 0002), not a time that is already past (it read the moment of the save,
    # the same as «Última ejecución» once that minute ran)
    assert next_run_cell(browser) == "ahora: en el próximo minuto"
    assert "corre en el próximo minuto" in browser.find_element(By.TAG_NAME, "main").text
    # And an alert switched off has no next run
    browser.find_element(By.ID, "alert-tracking-enabled").click()
    browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
    wait_until(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-alert="tracking"] td.enabled').text == "No",
    )
    assert next_run_cell(browser) == "—"


def test_a_bad_frequency_is_refused_next_to_its_field(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the alert monitor
    sign_in(browser, site.web, tenant, level=1, screen="monitor")
    # When they type a frequency longer than a week
    field = browser.find_element(By.ID, "alert-tracking-frequency")
    browser.execute_script("arguments[0].removeAttribute('max')", field)
    field.clear()
    field.send_keys("99999")
    browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
    # Then the server's message shows next to that field, and nothing changed
    error = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, "#alert-tracking-form .field-error")
    )
    assert "10080" in error.text
    assert field.get_attribute("aria-invalid") == "true"
    assert frequency_cell(browser) == "1 min"


def test_an_agent_does_not_see_the_configuration_screens_and_their_routes_refuse(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-4 agent signed in
    sign_in(browser, site.web, tenant, level=4)
    # Then no configuration screen is in the navigation (follow-ups are: every staff level may use them)
    offered = set(nav_screens(browser))
    assert not CONFIGURATION & offered
    assert "followups" in offered
    # When they open the monitor's address directly
    browser.execute_script("performance.clearResourceTimings()")
    open_screen(browser, "monitor")
    # Then the console says it is not available for their level, and shows no monitor
    assert not_available(browser)
    assert not browser.find_elements(By.ID, "alert-monitor")
    # (and it called no API for it)
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert not [name for name in fetched if "/alerts" in name], fetched
    console_screenshot(browser, "not-available-level-4")
    # And the API refuses the calls those screens make with that user's token
    refused = {
        ("PUT", "/alerts/tracking"): {"enabled": True, "frequency_minutes": 5},
        ("PUT", "/status-catalog/IN_TRANSIT"): {"display_name": "X", "visibility": "visible", "notify": True},
        ("GET", "/sender-accounts"): None,
        ("PUT", "/templates/tracking_alert"): {"subject": "x"},
    }
    for (method, path), payload in refused.items():
        answer = api.http.request(
            method, path, headers=bearer(tenant, 4), body=json.dumps(payload).encode() if payload else b""
        )
        assert answer.status_code == 403, (method, path, answer.body)


def test_the_console_works_with_the_keyboard_alone(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the sign-in screen, with the company typed in
    browser.get(f"{site.web}/console")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{site.web}/console")
    company = wait_until(browser, lambda d: d.find_element(By.ID, "signin-company"))
    company.clear()
    company.send_keys(tenant.company_id)
    # When the user tabs past the demo user list (the administrator is first) to the button, and presses Enter
    tab_to(browser, browser.find_element(By.ID, "signin-user"))
    wait_until(browser, lambda d: tenant.company_id in d.find_element(By.ID, "signin-user").text)
    tab_to(browser, browser.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]"))
    press_enter(browser)
    # Then they are signed in
    wait_until(browser, lambda d: "nivel 1" in d.find_element(By.ID, "who").text)
    # When they tab to the status catalog in the navigation and press Enter
    tab_to(browser, browser.find_element(By.CSS_SELECTOR, '#nav a[href="#/catalog"]'))
    press_enter(browser)
    # Then the catalog opens and the focus is on the screen, from where Tab reaches its first field
    wait_until(browser, lambda d: d.find_elements(By.ID, "status-catalog"))
    first_field = browser.find_elements(By.CSS_SELECTOR, "#status-catalog input")[0]
    tab_to(browser, first_field, limit=5)
    # When they empty that status's name and press Enter
    first_field.send_keys(Keys.CONTROL, "a")
    first_field.send_keys(Keys.DELETE, Keys.ENTER)
    # Then the browser keeps the form and says why in the console's language, whatever its own
    assert browser.switch_to.active_element == first_field
    assert first_field.get_attribute("validationMessage") == "Complete este campo."
    # When, on the alert monitor, they type a new frequency and press Enter
    open_screen(browser, "monitor")
    frequency = browser.find_element(By.ID, "alert-tracking-frequency")
    frequency.send_keys(Keys.CONTROL, "a")
    frequency.send_keys("5", Keys.ENTER)
    # Then the monitor is drawn again with it, and the keyboard is still on that field
    wait_until(browser, lambda d: frequency_cell(d) == "5 min")
    assert browser.switch_to.active_element.get_attribute("id") == "alert-tracking-frequency"


def test_every_screen_reads_cleanly_on_a_phone(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company with a few rows on its screens: a followed parcel, a client with a long name
    # and an e-mail to them, a suppressed address
    issue(api, tenant, "TRK-PHONE")
    staff_subscribe(api, tenant, "TRK-PHONE", "ana.garcia.con.una.direccion.larga@example.com")
    put_client(api, tenant, "CLI-1", name="Transportes y Logística del Sur Sociedad Anónima")
    send_email(tenant, "cli-1@example.com", "Factura 0001-00012345 de noviembre", client_id="CLI-1")
    answer = api.http.post(
        "/suppressions", headers=bearer(tenant, 1), body=json.dumps({"address": "rebote@example.com"})
    )
    assert answer.status_code in (200, 201), answer.body
    # And the administrator signed in on a phone-sized window
    browser.set_window_size(390, 844)
    try:
        sign_in(browser, site.web, tenant, level=1, screen="monitor")
        # Then the navigation waits behind the header's menu button instead of filling the screen
        menu = browser.find_element(By.ID, "menu")
        assert menu.is_displayed() and menu.get_attribute("aria-expanded") == "false"
        assert not browser.find_element(By.ID, "nav").is_displayed()
        # When they open the menu and pick the status catalog
        menu.click()
        assert menu.get_attribute("aria-expanded") == "true"
        browser.find_element(By.CSS_SELECTOR, '#nav a[href="#/catalog"]').click()
        # Then the catalog shows and the menu closes again
        wait_until(browser, lambda d: d.find_elements(By.ID, "status-catalog"))
        assert not browser.find_element(By.ID, "nav").is_displayed()
        # And on every screen nothing reads "null" or "undefined", no script failed, and the page
        # fits the phone's width (wide tables scroll in their own box)
        browser.get_log("browser")
        problems = {}
        for screen in SCREENS:
            open_screen(browser, screen)
            if found := what_reads_wrong(browser):
                problems[screen] = found
        assert problems == {}
        open_screen(browser, "monitor")
        assert browser.find_element(By.CSS_SELECTOR, ".table-scroll > table#alert-monitor")
        # And an address naming no parcel or no template says so in Spanish, in its place
        open_screen(browser, "followups", "parcel=NO-EXISTE")
        wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#parcel-alerts .form-error"))
        assert (
            browser.find_element(By.CSS_SELECTOR, "#parcel-alerts .form-error").text
            == "No hay un envío NO-EXISTE."
        )
        assert "TRK-PHONE" in browser.find_element(By.TAG_NAME, "main").text  # the list stays
        open_screen(browser, "templates", "key=no-existe")
        wait_until(
            browser, lambda d: "No hay una plantilla «no-existe»." in d.find_element(By.TAG_NAME, "main").text
        )
        # And the templates are named in Spanish, not by the API's keys
        open_screen(browser, "templates")
        wait_until(browser, lambda d: "Aviso de seguimiento" in d.find_element(By.TAG_NAME, "main").text)
        assert "Tracking alert" not in browser.find_element(By.TAG_NAME, "main").text
        console_screenshot(browser, "phone-monitor")
    finally:
        browser.set_window_size(*DESKTOP)


def test_an_expired_session_goes_back_to_the_sign_in(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator signed in, whose token then expires
    sign_in(browser, site.web, tenant, level=1, screen="monitor")
    expired = IDENTITY.mint(
        tenant.company_id, user_id=f"admin@{tenant.company_id}", level=1, ttl=timedelta(seconds=-60)
    )
    browser.execute_script("sessionStorage.setItem('pregon.console.token', arguments[0])", expired)
    # When they open another screen
    browser.execute_script("location.hash = '#/catalog'")
    # Then the console says the session ended (a notice shown for 8 s: waited for, not read once the
    # sign-in is drawn, which on a loaded machine may be later) and shows the sign-in, with no
    # user's data left
    wait_until(browser, lambda d: re.search("vencieron|terminó", d.find_element(By.ID, "toasts").text))
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#nav a")
    assert browser.find_element(By.ID, "who").text == ""
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.token')") is None


def test_the_local_sign_in_refuses_in_spanish_next_to_the_field(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the console's sign-in screen
    browser.get(f"{site.web}/console")
    browser.execute_script("sessionStorage.clear()")
    browser.get(f"{site.web}/console")
    company = wait_until(browser, lambda d: d.find_element(By.ID, "signin-company"))
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#signin-user option"))
    # When they leave the company empty and press "Ingresar"
    company.clear()
    browser.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    # Then the local identity's refusal is shown next to the company, in Spanish
    error = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#sign-in-form .field-error"))
    assert error.text == "es obligatorio (como máximo 64 caracteres)"
    assert company.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "who").text == ""
