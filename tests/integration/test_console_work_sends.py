"""W2, the console's sends screen in Debian's Chromium: staff pick 30 clients and a template, send,
and watch the job's progress bar reach 100 % while the outbox workers deliver (C8); a level-4 user
sees only the send jobs they started (the API's own-only rule).

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server; mail goes to the real SMTP catcher. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    expire_session,
    open_screen,
    sign_in,
    sign_in_again,
    toast_says,
    wait_until,
)
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

pytestmark = pytest.mark.browser

NOTICE = {
    "subject": "Aviso para {{ client.name }}",
    "text": "Hola {{ client.name }}: {{ aviso }}",
    "html": "<p>Hola {{ client.name }}: {{ aviso }}</p>",
}


@pytest.fixture
def company(api: Client, tenant: Tenant, mailbox: MailCatcher) -> Tenant:
    """The tenant with an `all` sender account on the test's SMTP server and a custom notice."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "info@cargasdelsur.example")
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    return tenant


def progress_value(driver: Any) -> int:
    """The last progress bar's value, read in one step in the page (the screen redraws it while
    the job moves, so an element found first may be gone when it is read); -1 when there is none."""
    return int(
        driver.execute_script(
            "const bars = document.querySelectorAll('.b-send-status [role=progressbar]');"
            "return bars.length ? Number(bars[bars.length - 1].getAttribute('aria-valuenow')) : -1;"
        )
    )


def label_contrast(driver: Any) -> float:
    """The contrast ratio (WCAG) of the last progress bar's label against what is behind its text."""
    label, behind = driver.execute_script(
        "const labels = document.querySelectorAll('.b-send-status .progress-label');"
        "const label = labels[labels.length - 1]; const r = label.getBoundingClientRect();"
        "const stack = document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        "const behind = stack.map((e) => getComputedStyle(e).backgroundColor)"
        "  .find((c) => c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent');"
        "return [getComputedStyle(label).color, behind];"
    )

    def luminance(css: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(label), luminance(behind)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_staff_send_to_30_clients_and_watch_the_progress_bar_reach_100(
    api: Client, company: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given 30 clients with an e-mail address
    ids = [f"C{n:03d}" for n in range(30)]
    for client_id in ids:
        put_client(api, company, client_id)
    # When an administrator opens the sends screen, picks the notice and every listed client, and sends
    sign_in(browser, site.web, company, 1, screen="sends")
    wait_until(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".b-client-pick input[type=checkbox]")) == 30,
        seconds=20,
    )
    Select(browser.find_element(By.ID, "b-template")).select_by_value("custom:aviso")
    browser.find_element(By.ID, "b-variables").send_keys("aviso=corte el lunes")
    browser.find_element(By.ID, "b-select-all").click()
    browser.find_element(By.ID, "b-send").click()
    # Then a progress bar appears and, while the outbox workers run, it reaches 100 %
    wait_until(
        browser,
        lambda d: progress_value(d) >= 0 or d.find_elements(By.CSS_SELECTOR, ".toast-error"),
        seconds=20,
    )
    assert progress_value(browser) >= 0, browser.find_element(By.ID, "toasts").text
    console_screenshot(browser, "sends-started")
    deadline = time.monotonic() + 90
    while progress_value(browser) < 100 and time.monotonic() < deadline:
        deliver_outboxes()
        time.sleep(0.3)
    wait_until(browser, lambda d: progress_value(d) == 100, seconds=20)
    wait_until(
        browser, lambda d: "enviados 30" in d.find_element(By.CSS_SELECTOR, ".b-send-status").text, seconds=20
    )
    console_screenshot(browser, "sends-done")
    # And the bar's "100 %" reads clearly over the full bar (not dark text on the dark fill)
    assert label_contrast(browser) >= 4.5
    # And each client got its one e-mail, rendered for them
    mails = mailbox.wait_for(30)
    assert sorted(r for m in mails for r in envelope_recipients(m)) == sorted(
        f"{c.lower()}@example.com" for c in ids
    )
    assert {m["Subject"] for m in mails} == {f"Aviso para Cliente {c}" for c in ids}


def test_a_level_4_user_sees_only_the_send_jobs_they_started(
    api: Client, company: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a job an administrator started and one the level-4 demo user started
    for client_id in ("J1", "J2"):
        put_client(api, company, client_id)
    data = {"channel": "email", "template": "custom:aviso", "client_ids": ["J1", "J2"], "variables": {}}
    started = {}
    for level in (1, 4):
        answer = api.http.post("/sends", headers=bearer(company, level), body=json.dumps(data))
        assert answer.status_code == 201, answer.body
        started[level] = json.loads(answer.body)["job"]["job_id"]
    # When the level-4 user opens the sends screen
    sign_in(browser, site.web, company, 4, screen="sends")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-jobs .b-job"), seconds=20)
    console_screenshot(browser, "sends-level-4")
    # Then only their own job is listed
    listed = browser.execute_script(
        "return [...document.querySelectorAll('.b-jobs .b-job')].map(e => e.dataset.job)"
    )
    assert listed == [started[4]], (started, browser.find_element(By.ID, "who").text)
    # And opening the administrator's job by its address shows the API's refusal, not the job
    open_screen(browser, "sends", f"job={started[1]}")
    # (in Spanish, as the console asks)
    wait_until(
        browser, lambda d: "no existe el trabajo de envío" in d.find_element(By.ID, "toasts").text, seconds=20
    )
    assert not browser.find_elements(By.CSS_SELECTOR, f'.b-send-status [data-job="{started[1]}"]')


def test_staff_send_to_the_clients_a_filter_selects(
    api: Client, company: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given three clients who get invoices and one who turned invoice messages off
    for client_id in ("F1", "F2", "F3"):
        put_client(api, company, client_id)
    put_client(api, company, "F4", message_switches={"invoice": False})
    # When staff send the notice by filter: clients with the invoice switch on
    sign_in(browser, site.web, company, 3, screen="sends")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-client-pick input"), seconds=20)
    Select(browser.find_element(By.ID, "b-template")).select_by_value("custom:aviso")
    browser.find_element(By.ID, "b-by-filter").click()
    Select(browser.find_element(By.ID, "b-switch")).select_by_value("invoice")
    browser.find_element(By.ID, "b-send").click()
    # Then the job's progress bar reaches 100 % and only the three got it
    wait_until(
        browser,
        lambda d: progress_value(d) >= 0 or d.find_elements(By.CSS_SELECTOR, ".toast-error"),
        seconds=20,
    )
    assert progress_value(browser) >= 0, browser.find_element(By.ID, "toasts").text
    deadline = time.monotonic() + 90
    while progress_value(browser) < 100 and time.monotonic() < deadline:
        deliver_outboxes()
        time.sleep(0.3)
    wait_until(browser, lambda d: progress_value(d) == 100, seconds=20)
    console_screenshot(browser, "sends-by-filter")
    assert sorted(r for m in mailbox.wait_for(3) for r in envelope_recipients(m)) == [
        "f1@example.com",
        "f2@example.com",
        "f3@example.com",
    ]


def offered_templates(driver: Any) -> list[str]:
    return [str(o.get_attribute("value")) for o in Select(driver.find_element(By.ID, "b-template")).options]


def test_the_sends_screen_offers_only_the_templates_a_manual_send_can_fill(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company with no template of its own yet
    # When a clerk opens the sends screen
    sign_in(browser, site.web, tenant, 3, screen="sends")
    # Then the one default a manual send can fill is offered, the document portal's access e-mail
    # (a tracking alert or an invoice cannot be sent by hand: they need a parcel, an invoice)
    wait_until(browser, lambda d: d.find_elements(By.ID, "b-template"))
    assert offered_templates(browser) == ["portal_access"]
    assert "acceso al portal" in browser.find_element(By.ID, "b-template").find_element(By.XPATH, "..").text
    # And named in Spanish, as every other template ("Document portal access" before)
    offered = Select(browser.find_element(By.ID, "b-template")).options[0].text
    assert offered == "Acceso al portal de documentos (portal_access)"
    # When an administrator saves a custom notice and the clerk opens the screen again
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    browser.refresh()
    # Then the notice is offered too, the tracking alert and the invoice are not
    wait_until(
        browser, lambda d: len(offered_templates(d)) == 2 if d.find_elements(By.ID, "b-template") else False
    )
    assert offered_templates(browser) == ["portal_access", "custom:aviso"]
    assert browser.find_element(By.ID, "b-send").get_attribute("disabled") is None


def test_an_sms_only_template_is_offered_for_sms_only(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a custom notice (e-mail, SMS and push) and an SMS-only template (seed 002's "Agregar sms")
    for key, template in (("custom:aviso", NOTICE), ("custom:corte", {"sms_text": "Mañana hay corte."})):
        saved = api.http.put(f"/templates/{key}", headers=tenant.admin_headers(), body=json.dumps(template))
        assert saved.status_code == 200, saved.body
    # When a clerk opens the sends screen, on e-mail
    sign_in(browser, site.web, tenant, 3, screen="sends")
    wait_until(browser, lambda d: d.find_elements(By.ID, "b-template"))

    def pickable() -> list[str]:
        options = Select(browser.find_element(By.ID, "b-template")).options
        return [str(o.get_attribute("value")) for o in options if o.is_enabled()]

    # Then the SMS-only template cannot be picked for an e-mail, nor for a push (the notice and the
    # document portal's access e-mail, a default with e-mail parts, can)
    assert pickable() == ["portal_access", "custom:aviso"]
    Select(browser.find_element(By.ID, "b-channel")).select_by_value("push")
    assert pickable() == ["portal_access", "custom:aviso"]
    # And for SMS all three can
    Select(browser.find_element(By.ID, "b-channel")).select_by_value("sms")
    assert sorted(pickable()) == ["custom:aviso", "custom:corte", "portal_access"]


def test_a_clerk_picking_clients_for_an_sms_sees_their_phones(
    api: Client, company: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client with a mobile (written as seed 002 asks: no 0, no 15) and one with no phone
    put_client(api, company, "CLI-1", name="Ana García", emails=["ana@example.com"], phones=["1159876543"])
    put_client(api, company, "CLI-2", name="Comercial Ñandú SRL", emails=["nandu@example.com"], phones=[])
    # When a clerk opens the sends screen to send an SMS (seed 002: "Seleccioná en listado los clientes")
    sign_in(browser, site.web, company, 3, screen="sends")
    Select(wait_until(browser, lambda d: d.find_element(By.ID, "b-channel"))).select_by_value("sms")
    wait_until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".b-client-pick label")) == 2)
    # Then each client's line shows their phone beside their e-mail, so the one an SMS cannot reach shows
    lines = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".b-client-pick label")]
    assert lines == [
        "CLI-1 · Ana García · ana@example.com, +541159876543",
        "CLI-2 · Comercial Ñandú SRL · nandu@example.com",
    ]


def test_what_was_typed_in_a_send_comes_back_after_the_session_ends_but_never_the_password(
    api: Client, company: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a clerk on the sends screen who picked SMS and typed clients, variables and the
    # bulk-send password
    sign_in(browser, site.web, company, 3, screen="sends")
    wait_until(browser, lambda d: d.find_elements(By.ID, "b-template"))
    Select(browser.find_element(By.ID, "b-channel")).select_by_value("sms")
    browser.find_element(By.ID, "b-client_ids").send_keys("CLI-1, CLI-2")
    browser.find_element(By.ID, "b-variables").send_keys("aviso=Corte el lunes de 9 a 11")
    browser.find_element(By.ID, "b-bulk_password").send_keys("masivos-2026-seguro")
    # When their session has run out by the time they press "Enviar"
    expire_session(browser, company, 3)
    browser.find_element(By.ID, "b-send").click()
    # Then they are sent to sign in, and the password is nowhere in the tab's storage
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    kept = browser.execute_script("return JSON.stringify(sessionStorage)")
    assert "Corte el lunes" in kept and "masivos-2026-seguro" not in kept
    # When they sign in again
    sign_in_again(browser, company, 3)
    # Then the sends screen is back with what they had typed, but not the password
    field = wait_until(browser, lambda d: d.find_element(By.ID, "b-client_ids"))
    wait_until(browser, lambda d: field.get_attribute("value") == "CLI-1, CLI-2")
    assert (
        browser.find_element(By.ID, "b-variables").get_attribute("value") == "aviso=Corte el lunes de 9 a 11"
    )
    assert (
        Select(browser.find_element(By.ID, "b-channel")).first_selected_option.get_attribute("value") == "sms"
    )
    assert browser.find_element(By.ID, "b-bulk_password").get_attribute("value") == ""
    assert browser.find_element(By.ID, "b-bulk_password").is_displayed()  # the SMS channel's field
    toast_says(browser, "Se recuperó lo que había escrito")
    # And the draft is forgotten once restored
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None
