"""W1: the public tracking page as an end customer uses it, in Debian's Chromium.

The app is served over HTTP by Chalice's local server on DynamoDB Local; mail goes to the real
SMTP catcher. Screenshots land in .local/screenshots/ (not committed) for a person to look at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.browser import (
    PHONE,
    chromium,
    press_enter,
    screenshot,
    served_app,
    tab_to,
    type_keys,
    wait_for_text,
    wait_until_gone,
)
from tests.steps.mail import text_of
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, make_tenant
from tests.steps.tracking import confirmation_link, issue, post_event, sweep

pytestmark = pytest.mark.browser
IN_TRANSIT_NAME = "En viaje"


@pytest.fixture(scope="module")
def web(api: Client) -> Iterator[str]:
    with served_app() as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium("es") as driver:
        yield driver


def open_page(driver: Any, web: str, tenant: Tenant, tracking_id: str | None = None) -> None:
    query = f"?tracking_id={tracking_id}" if tracking_id else ""
    driver.get(f"{web}/track/{tenant.company_id}{query}")


def history_texts(driver: Any) -> list[str]:
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "ol.history li")]


def fill_alert_form(driver: Any, email: str, first: str = "Ana", last: str = "García") -> None:
    for name, value in (("first_name", first), ("last_name", last), ("email", email)):
        field = driver.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)
    button = driver.find_element(By.CSS_SELECTOR, "form[method=post] button")
    button.click()
    wait_until_gone(driver, button)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def alert_text(mailbox: MailCatcher, email: str) -> str:
    """The text of the last e-mail to ``email`` that carries an unsubscribe link (an alert)."""
    texts = [text_of(m) for m in mailbox.messages() if envelope_recipients(m) == [email]]
    alerts = [t for t in texts if "/public/unsubscribe" in t]
    assert alerts, f"no alert to {email}"
    return alerts[-1]


def caught_link(mailbox: MailCatcher, email: str, pattern: str) -> str:
    for message in mailbox.messages():
        if envelope_recipients(message) == [email]:
            found = re.search(r"https?://[^/\s]+(" + pattern + r"\?token=[\w.\-]+)", text_of(message))
            if found:
                return found.group(1)
    raise AssertionError(f"no e-mail to {email} with a link to {pattern}")


def test_a_customer_looks_up_a_parcel_and_sees_only_what_the_company_shows(
    api: Client, tenant: Tenant, web: str, browser: Any
) -> None:
    # Given a parcel in transit that also went through a hidden internal transfer
    issue(api, tenant, "TRK-W1")
    post_event(api, tenant, "TRK-W1", "e1", "IN_TRANSIT", minutes=1)
    post_event(api, tenant, "TRK-W1", "e2", "INTERNAL_TRANSFER", minutes=2)
    # When the customer types the tracking id into the company's page and presses Enter
    open_page(browser, web, tenant)
    assert "Seguimiento de envíos" in browser.title and "Cargas del Sur" in browser.title
    box = browser.find_element(By.ID, "tracking_id")
    box.send_keys("TRK-W1")
    press_enter(browser)
    wait_for_text(browser, "Envío TRK-W1")
    # Then the history shows the visible status in the company's words, and nothing of the hidden one
    entries = history_texts(browser)
    assert len(entries) == 1 and entries[0].startswith(IN_TRANSIT_NAME)
    assert not any("Transferencia interna" in e for e in entries)
    # And the alert form is offered (a waybill is issued, an account works, alerts are on)
    assert browser.find_element(By.ID, "email").is_displayed()
    screenshot(browser, "w1-tracking-page-desktop")


def test_the_page_has_an_icon_and_chromium_logs_no_error_for_it(
    api: Client, tenant: Tenant, web: str, browser: Any
) -> None:
    # Given the company's tracking page open in Chromium
    open_page(browser, web, tenant)
    # When the browser loads the icon the page's head names, and /favicon.ico where it looks for one
    # unasked (a page without that link, a JSON answer opened in a tab)
    icon = browser.find_element(By.CSS_SELECTOR, 'head link[rel="icon"]').get_attribute("href")
    assert icon.startswith(web), icon  # one of ours: the pages' policy allows no image from elsewhere
    for address in (icon, f"{web}/favicon.ico"):
        browser.get(address)
        # Then each is an image (Pregón's), not a refusal
        assert "<svg" in browser.page_source and "Missing Authentication Token" not in browser.page_source
    # And Chromium's console logged no error (the 403 for /favicon.ico was one on every public page)
    severe = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_an_unknown_id_and_a_parcel_without_alerts_say_so_clearly(
    api: Client, tenant: Tenant, web: str, browser: Any
) -> None:
    # Given a parcel whose waybill is not issued yet (no alerts, T2)
    issue(api, tenant, "TRK-NOWB", waybill=False)
    # When the customer looks up a number that does not exist
    open_page(browser, web, tenant, "NOPE-1")
    # Then the page says it was not found
    assert "No encontramos el envío NOPE-1" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    # And for the parcel without alerts, the page says alerts are not available and offers no form
    open_page(browser, web, tenant, "TRK-NOWB")
    assert "no tiene avisos por e-mail disponibles" in browser.page_source
    assert browser.find_elements(By.ID, "email") == []


def test_subscribe_confirm_get_an_alert_and_unsubscribe_all_in_the_browser(
    api: Client, tenant: Tenant, mailbox: MailCatcher, web: str, browser: Any
) -> None:
    from chalicelib.store.tracking import list_subscriptions

    # Given a parcel with alerts available
    issue(api, tenant, "TRK-W2")
    open_page(browser, web, tenant, "TRK-W2")
    # When the customer first mistypes the e-mail
    fill_alert_form(browser, "ana-at-example.com")
    # Then the page says what to correct, next to the field, and keeps what was typed
    assert "Escriba un e-mail válido" in browser.find_element(By.ID, "email-error").text
    assert browser.find_element(By.ID, "first_name").get_attribute("value") == "Ana"
    # When the customer corrects it and sends the form
    fill_alert_form(browser, "ana@example.com")
    # Then the page says a confirmation e-mail was sent, and until when alerts would come
    notice = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "ana@example.com" in notice and "confirmar" in notice
    # When the confirmation e-mail arrives and its link is opened in the browser and confirmed
    deliver_outboxes()
    _, link = confirmation_link(mailbox, "ana@example.com")
    browser.get(web + link)
    # (the page a link opens names the company, logo or not: a customer must know who asks)
    assert browser.find_element(By.CSS_SELECTOR, "header.company").text == "Cargas del Sur"
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    wait_for_text(browser, "Le avisaremos de las novedades del envío TRK-W2")
    # Then the page names the company and says until when as the alerts will (5/1/2027, not ISO)
    assert browser.find_element(By.CSS_SELECTOR, "header.company").text == "Cargas del Sur"
    until = re.search(r"hasta el (\S+)\.", browser.find_element(By.TAG_NAME, "main").text)
    assert until and re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", until.group(1)), until
    # And the parcel moves: an alert goes out
    post_event(api, tenant, "TRK-W2", "e1", "OUT_FOR_DELIVERY", minutes=5)
    assert sweep(tenant).sent >= 1
    # And the alert links the parcel on the company's page, which shows the new status
    parcel_page = re.search(r"https?://[^/\s]+(/track/[^\s]+)", alert_text(mailbox, "ana@example.com"))
    assert parcel_page, "the alert links the tracking page"
    browser.get(web + parcel_page.group(1))
    wait_for_text(browser, "Envío TRK-W2")
    assert history_texts(browser)[0].startswith("En distribución")
    assert f"hasta el {until.group(1)}." in alert_text(mailbox, "ana@example.com")
    unsubscribe = caught_link(mailbox, "ana@example.com", "/public/unsubscribe")
    # When the alert's unsubscribe link is opened in the browser and its button pressed
    browser.get(web + unsubscribe)
    assert browser.find_element(By.CSS_SELECTOR, "header.company").text == "Cargas del Sur"
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    # Then the page confirms it, naming the company, and the subscription is cancelled
    wait_for_text(browser, "No recibirá más avisos del envío TRK-W2")
    assert browser.find_element(By.CSS_SELECTOR, "header.company").text == "Cargas del Sur"
    left = [s for s in list_subscriptions(tenant.company_id, "TRK-W2") if s.email == "ana@example.com"]
    assert left and all(s.cancelled_at is not None for s in left), left


def test_keyboard_alone_on_a_375_px_phone(
    api: Client, tenant: Tenant, mailbox: MailCatcher, web: str
) -> None:
    # Given a parcel with alerts available, and a phone-sized browser
    issue(api, tenant, "TRK-KB")
    post_event(api, tenant, "TRK-KB", "e1", "IN_TRANSIT", minutes=1)
    with chromium("es", PHONE) as phone:
        open_page(phone, web, tenant)
        # When the customer uses only the keyboard: Tab to the box, type, Enter
        tab_to(phone, phone.find_element(By.ID, "tracking_id"))
        type_keys(phone, "TRK-KB")
        press_enter(phone)
        wait_for_text(phone, "Envío TRK-KB")
        # Then the history shows, with nothing wider than the screen
        assert len(history_texts(phone)) == 1
        assert phone.execute_script("return window.innerWidth") == PHONE[0]
        assert phone.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
        # And the alert form is filled and sent with Tab and Enter alone
        for name, value in (("first_name", "Bea"), ("last_name", "Ruiz"), ("email", "bea@example.com")):
            tab_to(phone, phone.find_element(By.ID, name))
            type_keys(phone, value)
        press_enter(phone)
        wait_for_text(phone, "Le enviamos un e-mail")
        assert "bea@example.com" in phone.find_element(By.CSS_SELECTOR, "[role=status]").text
        screenshot(phone, "w1-tracking-page-phone")
    deliver_outboxes()
    assert confirmation_link(mailbox, "bea@example.com")


def test_an_english_browser_gets_the_page_in_english(api: Client, tenant: Tenant, web: str) -> None:
    issue(api, tenant, "TRK-EN")
    with chromium("en-US") as driver:
        open_page(driver, web, tenant, "TRK-EN")
        assert driver.title.startswith("Parcel tracking")
        assert "Send me alerts" in driver.page_source


def test_script_in_a_company_name_or_an_observation_is_shown_as_text(
    api: Client, mailbox: MailCatcher, clock: Any, web: str, browser: Any
) -> None:
    # Given a company named with markup and a status whose observation carries a script payload
    evil = make_tenant(mailbox, name="<script>alert('name')</script> Cargas")
    shown = api.http.put(
        "/status-catalog/IN_TRANSIT",
        headers=evil.admin_headers(),
        body=json.dumps({"display_name": IN_TRANSIT_NAME, "visibility": "with_observations", "notify": True}),
    )
    assert shown.status_code == 200, shown.body
    issue(api, evil, "TRK-XSS")
    payload = "<img src=x onerror=alert('obs')>"
    post_event(api, evil, "TRK-XSS", "e1", "IN_TRANSIT", minutes=1, observation=payload)
    # When the customer opens the parcel
    open_page(browser, web, evil, "TRK-XSS")
    # Then both read as text, no element was made of them and no script ran
    assert "<script>alert('name')</script> Cargas" in browser.find_element(By.CSS_SELECTOR, "header").text
    assert payload in history_texts(browser)[0]
    assert browser.find_elements(By.CSS_SELECTOR, "ol.history img") == []
    with pytest.raises(NoAlertPresentException):
        _ = browser.switch_to.alert.text
    # And the page forbids scripts outright
    csp = browser.execute_script("return document.querySelector('meta[http-equiv]')")
    assert csp is None  # the policy comes as a header (checked below), not a tag a payload could forge


def test_every_page_for_a_person_carries_a_policy_that_forbids_scripts(api: Client, tenant: Tenant) -> None:
    issue(api, tenant, "TRK-CSP")
    for path in (
        f"/track/{tenant.company_id}",
        f"/track/{tenant.company_id}?tracking_id=TRK-CSP",
        "/track/nobody",
    ):
        response = api.http.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert api.http.get("/track/nobody").status_code == 404


def test_the_alert_form_cannot_mail_many_strangers_about_one_parcel(api: Client, tenant: Tenant) -> None:
    from chalicelib.producers.tracking.limits import SUBSCRIBE_PER_PARCEL as PER_PARCEL

    # Given a parcel with alerts, and someone posting the page's form with address after address
    issue(api, tenant, "TRK-ABUSE")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def post(n: int) -> Any:
        fields = f"tracking_id=TRK-ABUSE&first_name=Ana&last_name=Paz&email=victim{n}%40example.com"
        return api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=form, body=fields)

    # When the parcel's hourly limit of confirmation requests is used up
    answers = [post(n) for n in range(PER_PARCEL.count + 1)]
    # Then each request within it got a confirmation page, and the next one is refused with a page
    # that says when to try again (429 + Retry-After), and no e-mail is queued for it
    assert [a.status_code for a in answers[:-1]] == [202] * PER_PARCEL.count
    refused = answers[-1]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Recibimos demasiados pedidos" in refused.body.decode()
    assert "text/html" in refused.headers["Content-Type"] and "Content-Security-Policy" in refused.headers


def test_the_parcel_shown_again_with_a_subscription_taken_is_not_counted_as_a_look_up(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.tracking import limits

    # Given a client allowed two look-ups an hour, who looked the parcel up on the page once
    monkeypatch.setattr(limits, "LOOKUPS_PER_CLIENT_ANYWHERE", limits.Limit("lookup", 2, 3600))
    issue(api, tenant, "TRK-SEEN")
    assert api.http.get(f"/track/{tenant.company_id}?tracking_id=TRK-SEEN").status_code == 200
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    def ask(email: str) -> Any:
        fields = f"tracking_id=TRK-SEEN&first_name=Ana&last_name=Paz&email={email}%40example.com"
        return api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=form, body=fields)

    # When it asks for alerts twice on that page (each answer shows the parcel again)
    answers = [ask("ana"), ask("beto")]
    # Then both answers show the parcel with the request taken
    assert [a.status_code for a in answers] == [202, 202]
    assert all("TRK-SEEN</h2>" in a.body.decode() for a in answers)
    # And its second look-up is still allowed, the third refused
    assert api.http.get(f"/track/{tenant.company_id}?tracking_id=TRK-SEEN").status_code == 200
    assert api.http.get(f"/track/{tenant.company_id}?tracking_id=TRK-SEEN").status_code == 429


def test_a_name_too_long_is_explained_in_the_pages_language(api: Client, tenant: Tenant) -> None:
    # Given a parcel with alerts, and the form posted with a first name of 81 characters
    issue(api, tenant, "TRK-LONG")
    fields = f"tracking_id=TRK-LONG&first_name={'A' * 81}&last_name=Paz&email=ana%40example.com"

    def post(language: str) -> str:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": language}
        answer = api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=headers, body=fields)
        assert answer.status_code == 422, answer.body
        return answer.body.decode()

    # When a Spanish browser and an English one post it
    spanish, english = post("es-AR,es;q=0.9"), post("en-US")

    # Then the Spanish page says what to correct in Spanish, with no English in it
    assert "Revise este dato: debe tener como máximo 80 caracteres." in spanish
    assert "String should" not in spanish
    # And the English page in English, as before
    assert "Check this (String should have at most 80 characters)." in english
