"""W2: the console's configuration screens in Debian's Chromium: a template edited with its live
preview, the status catalog, sender accounts; and script typed by a tenant shown as text (or, for
message HTML, kept in a sandboxed frame where it cannot run)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    expire_session,
    nav_screens,
    no_alert_opened,
    not_available,
    open_screen,
    sign_in,
    sign_in_again,
    toast_says,
    wait_until,
    what_reads_wrong,
)
from tests.steps.tenants import Tenant
from tests.steps.tracking import ask_for_alerts, issue, post_event, staff_subscribe, sweep

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=alert(1)>"


def preview_body_text(driver: Any) -> str:
    frame = driver.find_element(By.ID, "template-preview")
    driver.switch_to.frame(frame)
    try:
        return str(driver.find_element(By.TAG_NAME, "body").text)
    finally:
        driver.switch_to.default_content()


def replace_text(driver: Any, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def test_an_administrator_edits_a_template_and_the_preview_follows(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the tracking alert's template
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    browser.find_element(By.CSS_SELECTOR, 'tr[data-template="tracking_alert"] a').click()
    wait_until(browser, lambda d: d.find_element(By.ID, "preview-subject").text)
    # When they change the subject and add a line to the HTML using the variables picker
    replace_text(browser, "template-subject", "Novedad de su envío ")
    browser.find_element(By.XPATH, '//div[@class="chips"]/button[text()="parcel.tracking_id"]').click()
    html = browser.find_element(By.ID, "template-html")
    html.send_keys("<p>Consola de prueba</p>")
    # Then the preview shows the new subject with the sample parcel, and the new line in the e-mail
    wait_until(
        browser, lambda d: d.find_element(By.ID, "preview-subject").text.startswith("Novedad de su envío ")
    )
    subject = browser.find_element(By.ID, "preview-subject").text
    assert "{{" not in subject and len(subject) > len("Novedad de su envío ")
    wait_until(browser, lambda d: "Consola de prueba" in preview_body_text(d))
    # And the e-mail's HTML is in a sandboxed frame that may not run script
    frame = browser.find_element(By.ID, "template-preview")
    assert frame.get_attribute("sandbox") == ""
    browser.execute_script("window.scrollTo(0, 0)")
    console_screenshot(browser, "templates-preview")
    # When they save it
    browser.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_until(browser, lambda d: "Plantilla guardada" in d.find_element(By.ID, "toasts").text)
    # Then the company's template is the edited one
    saved = body(api.http.get("/templates/tracking_alert", headers=bearer(tenant, 1)))
    assert saved["customized"] and saved["subject"] == "Novedad de su envío {{ parcel.tracking_id }}"
    assert "<p>Consola de prueba</p>" in saved["html"]
    # And the variables offer the company's postal address
    chip = '//div[@class="chips"]/button[text()="company.postal_address"]'
    assert browser.find_elements(By.XPATH, chip)
    # When they cut the HTML down to an image and a line, which spam filters score
    replace_text(browser, "template-html", '<img src="https://cdn.example/logo.png" alt="Logo"><p>Hola</p>')
    # Then the preview warns, in Spanish, why, and the template is saved all the same, saying so
    shown = wait_until(browser, lambda d: d.find_element(By.ID, "template-warnings").is_displayed())
    assert shown and "HTML_IMAGE_ONLY" in browser.find_element(By.ID, "template-warnings").text
    assert "caracteres de HTML o menos" in browser.find_element(By.ID, "template-warnings").text
    browser.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    wait_until(browser, lambda d: "guardada, con un aviso" in d.find_element(By.ID, "toasts").text)
    assert body(api.http.get("/templates/tracking_alert", headers=bearer(tenant, 1)))["html"].startswith(
        "<img"
    )


def test_a_template_being_edited_when_the_session_ends_is_back_after_signing_in_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator editing the tracking alert's subject and HTML
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    browser.find_element(By.CSS_SELECTOR, 'tr[data-template="tracking_alert"] a').click()
    wait_until(browser, lambda d: d.find_element(By.ID, "preview-subject").text)
    replace_text(browser, "template-subject", "Su envío avanzó")
    browser.find_element(By.ID, "template-html").send_keys("<p>Texto nuevo a medias</p>")
    wait_until(browser, lambda d: d.find_element(By.ID, "preview-subject").text.startswith("Su envío avanzó"))
    # When their session runs out and the next preview is refused as they type on
    expire_session(browser, tenant, 1)
    browser.find_element(By.ID, "template-subject").send_keys(" hoy")
    # Then they are sent to sign in
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When they sign in again
    sign_in_again(browser, tenant, 1)
    # Then the template is back as they had typed it, its preview following it, nothing saved
    subject = wait_until(browser, lambda d: d.find_element(By.ID, "template-subject"))
    wait_until(browser, lambda d: subject.get_attribute("value") == "Su envío avanzó hoy")
    assert "<p>Texto nuevo a medias</p>" in browser.find_element(By.ID, "template-html").get_attribute(
        "value"
    )
    wait_until(
        browser, lambda d: d.find_element(By.ID, "preview-subject").text.startswith("Su envío avanzó hoy")
    )
    saved = body(api.http.get("/templates/tracking_alert", headers=bearer(tenant, 1)))
    assert not saved["subject"].startswith("Su envío avanzó")


def test_script_in_a_template_neither_runs_in_the_preview_nor_in_the_console(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a template whose subject and HTML carry script
    template = {
        "subject": f"{XSS} Hola",
        "text": "Hola",
        "html": f"<p id='body'>Hola</p><script>document.body.setAttribute('data-ran', '1')</script>{XSS}",
    }
    saved = api.http.put("/templates/invoice", headers=bearer(tenant, 1), body=json.dumps(template).encode())
    assert saved.status_code == 200, saved.body
    # When the administrator opens it in the console
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    open_screen(browser, "templates", "key=invoice")
    wait_until(browser, lambda d: d.find_element(By.ID, "preview-subject").text)
    # Then the subject is shown as the text it is, and no script ran anywhere
    assert browser.find_element(By.ID, "preview-subject").text == f"{XSS} Hola"
    assert no_alert_opened(browser)
    browser.switch_to.frame(browser.find_element(By.ID, "template-preview"))
    try:
        assert browser.find_element(By.ID, "body").text == "Hola"
        assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ran") is None
    finally:
        browser.switch_to.default_content()
    assert browser.find_element(By.ID, "template-subject").get_attribute("value") == f"{XSS} Hola"


def test_a_status_renamed_with_markup_reads_as_text_and_the_rename_is_saved(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the status catalog
    sign_in(browser, site.web, tenant, level=1, screen="catalog")
    # When they rename "received at destination" to a name with markup, hide nothing, and save
    replace_text(browser, "status-RECEIVED_AT_DESTINATION-name", f"En Sucursal {XSS}")
    browser.find_element(By.CSS_SELECTOR, "#status-RECEIVED_AT_DESTINATION-form button[type=submit]").click()
    row = 'tr[data-status="RECEIVED_AT_DESTINATION"] .display-name'
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, row).text == f"En Sucursal {XSS}")
    # Then the console says which status it saved by the name the user reads, not its code
    toast_says(browser, f"Estado «En Sucursal {XSS}» guardado.")
    # Then after a reload the catalog shows the name as typed, as text, and no script ran
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, row))
    assert browser.find_element(By.CSS_SELECTOR, row).text == f"En Sucursal {XSS}"
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    assert no_alert_opened(browser)
    # And a status made hidden says beside "se notifica" that it is never notified (seed 000: the
    # final client does not see it), though its box stays as it was
    note = browser.find_element(By.ID, "status-RECEIVED_AT_DESTINATION-notify-note")
    assert note.text == ""
    Select(browser.find_element(By.ID, "status-RECEIVED_AT_DESTINATION-visibility")).select_by_value("hidden")
    wait_until(browser, lambda d: note.text == "oculto: no se avisa")
    console_screenshot(browser, "catalog")


def test_an_account_password_is_set_write_only_and_a_test_send_shows_the_server_answer(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the tracking area's sender account (the test's SMTP server)
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", "area=tracking")
    status = browser.find_element(By.CSS_SELECTOR, '[data-account="area-tracking"] .account-status').text
    assert "contraseña guardada" in status
    # When they set a wrong password
    replace_text(browser, "area-tracking-password", "not-the-password")
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-password-form button[type=submit]").click()
    wait_until(browser, lambda d: "Contraseña guardada" in d.find_element(By.ID, "toasts").text)
    # Then the field is emptied and the password is nowhere in the page or the API's answers
    assert browser.find_element(By.ID, "area-tracking-password").get_attribute("value") == ""
    listed = api.http.get("/sender-accounts", headers=bearer(tenant, 1)).body.decode()
    assert "not-the-password" not in listed and "not-the-password" not in browser.page_source
    # When they send a test message
    replace_text(browser, "area-tracking-test-to", "ops@example.com")
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-test-form button[type=submit]").click()
    # Then the console shows the SMTP server's own refusal of the login
    answer = wait_until(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#area-tracking-test-form .test-answer").text.strip()
            != "Enviando…"
            and d.find_element(By.CSS_SELECTOR, "#area-tracking-test-form .test-answer")
        ),
    )
    assert "535" in answer.text, answer.text
    console_screenshot(browser, "accounts")
    # When they limit the account to 0 messages an hour and save
    replace_text(browser, "area-tracking-rate_limit-messages", "0")
    replace_text(browser, "area-tracking-rate_limit-hours", "1")
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-form button[type=submit]").click()
    # Then the API's rule shows next to that field
    error = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#area-tracking-form .field-error"))
    assert error.get_attribute("id") == "area-tracking-rate_limit-messages-error" and "1" in error.text


def test_testing_an_account_before_its_password_says_so_at_the_password_field_not_with_an_api_route(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the invoices area's account saved with a user (seed 002 a1) and no password yet (a2)
    account = {
        "kind": "smtp",
        "display_name": "ISP Facturación",
        "from_address": "facturas@isp.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "username": "facturas",
        "encryption": "none",
    }
    saved = api.http.put("/sender-accounts/invoices", headers=bearer(tenant, 1), body=json.dumps(account))
    assert saved.status_code == 200, saved.body
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", "area=invoices")
    # When the administrator sends the test message (l) before loading the password
    replace_text(browser, "area-invoices-test-to", "ops@example.com")
    browser.find_element(By.CSS_SELECTOR, "#area-invoices-test-form button[type=submit]").click()
    # Then the password field says to load it there first, in the console's words, and no API
    # route ("PUT /sender-accounts/invoices/password") is shown to them
    error = wait_until(browser, lambda d: d.find_element(By.ID, "area-invoices-password-error"))
    assert error.text == (
        "Cargue aquí la contraseña de la cuenta y pruebe de nuevo: la cuenta inicia sesión con un usuario."
    )
    assert "PUT /" not in browser.find_element(By.TAG_NAME, "main").text
    field = browser.find_element(By.ID, "area-invoices-password")
    assert field.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.CSS_SELECTOR, "#area-invoices-test-form .test-answer").text == ""


def test_an_administrator_is_asked_before_leaving_mail_waiting_and_sees_it_waiting_on_the_area(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from tests.steps.accounts import queue_for_tracking

    # Given two e-mails queued for the tracking area's working account
    queue_for_tracking(tenant, 2)
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", "area=tracking")
    assert not browser.find_elements(By.ID, "area-tracking-waiting")
    # When the administrator unticks "habilitada" and saves, the console asks first, saying why
    browser.find_element(By.ID, "area-tracking-enabled").click()
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-form button[type=submit]").click()
    asked = browser.switch_to.alert
    assert asked.text.startswith("2 correos esperan a esta cuenta. Si la deshabilita, no salen"), asked.text
    # And when they step back, the account stays enabled
    asked.dismiss()
    accounts = body(api.http.get("/sender-accounts", headers=bearer(tenant, 1)))["items"]
    assert [a["enabled"] for a in accounts if a["area"] == "tracking"] == [True]
    # When they save again and confirm
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-form button[type=submit]").click()
    browser.switch_to.alert.accept()
    # Then the area says the two e-mails wait for it, since when, and what to do
    warning = wait_until(browser, lambda d: d.find_element(By.ID, "area-tracking-waiting"))
    said = "2 correos esperan a esta cuenta desde el 2/11/2026 12:00: actívela para que salgan."
    assert warning.text == said
    # When they delete the account, confirming the same question
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-delete-form button[type=submit]").click()
    assert "Si la borra, no salen" in browser.switch_to.alert.text
    browser.switch_to.alert.accept()
    # Then the screen still names the area with its waiting e-mails, though it has no account now
    wait_until(browser, lambda d: not d.find_elements(By.ID, "area-tracking-delete-form"))
    listed = wait_until(browser, lambda d: d.find_element(By.ID, "accounts-waiting"))
    assert "2 correos esperan desde el 2/11/2026 12:00 (sin cuenta)" in listed.text
    warning = browser.find_element(By.ID, "area-tracking-waiting")
    assert "agréguela de nuevo para que salgan" in warning.text
    console_screenshot(browser, "accounts-waiting")
    # When they give up on them instead, confirming
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-waiting-cancel-form button[type=submit]").click()
    assert browser.switch_to.alert.text.startswith("¿Cancelar los 2 correos que esperan a esta cuenta?")
    browser.switch_to.alert.accept()
    # Then the warnings go, and nothing waits any more
    wait_until(browser, lambda d: not d.find_elements(By.ID, "accounts-waiting"))
    assert not browser.find_elements(By.ID, "area-tracking-waiting")
    assert body(api.http.get("/sender-accounts", headers=bearer(tenant, 1)))["waiting"] == []


def test_cancelling_the_one_waiting_e_mail_says_so_in_the_singular(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from tests.steps.accounts import queue_for_tracking

    # Given one e-mail waiting for the tracking area, whose account was deleted
    queue_for_tracking(tenant, 1)
    deleted = api.http.delete("/sender-accounts/tracking", headers=bearer(tenant, 1))
    assert body(deleted)["waiting"]["count"] == 1
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", "area=tracking")
    # When the administrator cancels it, confirming
    wait_until(browser, lambda d: d.find_element(By.ID, "area-tracking-waiting"))
    browser.find_element(By.CSS_SELECTOR, "#area-tracking-waiting-cancel-form button[type=submit]").click()
    assert browser.switch_to.alert.text.startswith("¿Cancelar el correo que espera a esta cuenta?")
    browser.switch_to.alert.accept()
    # Then the console says one e-mail was cancelled, in Spanish as a person writes it
    toast_says(browser, "1 correo cancelado.")
    assert "correos cancelados" not in browser.find_element(By.ID, "toasts").text
    wait_until(browser, lambda d: not d.find_elements(By.ID, "area-tracking-waiting"))


def test_a_user_id_that_is_a_long_address_wraps_in_the_waiting_list_on_a_phone(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    from urllib.parse import quote

    from tests.steps.accounts import queue_for_user
    from tests.steps.browser import DESKTOP
    from tests.steps.tenants import smtp_sender_account, staff_user

    # Given two orders waiting for the deleted own account of a user whose id is a long address
    user = "maria.fernanda.etcheverry@estudio-contable-del-sur.example"
    staff_user(tenant.company_id, user, user, level=3)
    smtp_sender_account(tenant.company_id, f"user:{user}", mailbox, "María", user)
    queue_for_user(tenant, user, 2)
    deleted = api.http.delete(f"/users/{quote(user)}/sender-account", headers=bearer(tenant, 1))
    assert body(deleted)["waiting"]["count"] == 2
    # When the administrator opens the accounts screen on a phone
    browser.set_window_size(390, 844)
    try:
        sign_in(browser, site.web, tenant, level=1, screen="accounts")
        listed = wait_until(browser, lambda d: d.find_element(By.ID, "accounts-waiting"))
        assert f"Cuenta personal de {user}: 2 correos esperan" in listed.text
        # Then the list wraps the id inside the phone's width, and so does the user's card it links to
        browser.get_log("browser")
        assert what_reads_wrong(browser) == []
        listed.find_element(By.PARTIAL_LINK_TEXT, "Cuenta personal de").click()
        wait_until(browser, lambda d: d.find_element(By.ID, "personal-waiting"))
        assert what_reads_wrong(browser) == []
        console_screenshot(browser, "accounts-waiting-phone")
    finally:
        browser.set_window_size(*DESKTOP)


def test_a_clerk_sees_a_followed_parcel_its_alerts_and_cancels_a_subscriber(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company that calls the "out for delivery" status by its own name (T8)
    renamed = api.http.put(
        "/status-catalog/OUT_FOR_DELIVERY",
        headers=bearer(tenant, 1),
        body=json.dumps({"display_name": "Con el repartidor", "visibility": "visible", "notify": True}),
    )
    assert renamed.status_code == 200, renamed.body
    # And a parcel two people follow, about which one alert went out
    issue(api, tenant, "TRK-W2F")
    staff_subscribe(api, tenant, "TRK-W2F", "ana@example.com")
    staff_subscribe(api, tenant, "TRK-W2F", "beto@example.com", first_name="Beto")
    post_event(api, tenant, "TRK-W2F", "e1", "OUT_FOR_DELIVERY", minutes=5)
    assert sweep(tenant).sent == 2
    # When a level-3 clerk opens the follow-ups and picks the parcel
    sign_in(browser, site.web, tenant, level=3, screen="followups")
    browser.find_element(By.CSS_SELECTOR, 'tr[data-parcel="TRK-W2F"] a').click()
    table = wait_until(browser, lambda d: d.find_element(By.ID, "parcel-alerts"))
    # Then the alerts sent about it are listed, one per subscriber, with the status by the name the
    # company gave it, not its code
    assert "ana@example.com" in table.text and "beto@example.com" in table.text
    statuses = [td.text for td in table.find_elements(By.CSS_SELECTOR, "td[data-status]")]
    assert statuses == ["Con el repartidor", "Con el repartidor"], statuses
    console_screenshot(browser, "followups")
    # When the clerk cancels Beto's subscription and confirms
    subscribers = 'tr[data-parcel="TRK-W2F"] ul.subscribers li'
    beto = next(li for li in browser.find_elements(By.CSS_SELECTOR, subscribers) if "beto@" in li.text)
    beto.find_element(By.TAG_NAME, "button").click()
    browser.switch_to.alert.accept()
    # Then only Ana follows the parcel, in the console and in the API
    wait_until(
        browser,
        lambda d: (
            [li.text.split(" · ")[0] for li in d.find_elements(By.CSS_SELECTOR, subscribers)]
            == ["Ana García <ana@example.com>"]
        ),
    )
    followers = body(api.http.get("/parcels/TRK-W2F/subscriptions", headers=bearer(tenant, 1)))["items"]
    assert {s["email"]: s["cancelled_at"] is not None for s in followers} == {
        "ana@example.com": False,
        "beto@example.com": True,
    }


def test_an_administrator_tests_and_deletes_a_users_personal_account(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, mailbox: Any
) -> None:
    from urllib.parse import quote

    from tests.steps.console import demo_user
    from tests.steps.tenants import SMTP_PASSWORD, personal_sender_account

    # Given a clerk's own account on the test's SMTP server, with its password
    clerk = demo_user(tenant, 3)
    path = personal_sender_account(api, bearer(tenant, 3), clerk, mailbox)
    password = json.dumps({"password": SMTP_PASSWORD}).encode()
    assert api.http.put(f"{path}/password", headers=bearer(tenant, 3), body=password).status_code == 204
    # When the administrator opens it from the accounts screen and sends a test
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", f"user={quote(clerk)}")
    replace_text(browser, "personal-test-to", "ops@example.com")
    browser.find_element(By.CSS_SELECTOR, "#personal-test-form button[type=submit]").click()
    # Then the server's acceptance shows, and the test went out from the clerk's address
    wait_until(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "#personal-test-form .test-answer").text.startswith(
            "Enviado"
        ),
    )
    [mail] = mailbox.wait_for(1)
    assert "clara@cargasdelsur.example" in mail["From"]
    # When they delete it
    browser.find_element(By.CSS_SELECTOR, "#personal-delete-form button[type=submit]").click()
    # Then the card says there is none, and so does the API
    wait_until(browser, lambda d: not d.find_elements(By.ID, "personal-delete-form"))
    assert api.http.get(path, headers=bearer(tenant, 1)).status_code == 404


def test_times_read_in_the_companys_time_zone_whatever_the_browsers(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company in Tokyo (UTC+9) and an alert that went out at 12:00 UTC, while the browser
    # itself runs in Los Angeles (04:00 there)
    saved = api.http.patch(
        "/company", headers=bearer(tenant, 1), body=json.dumps({"time_zone": "Asia/Tokyo", "locale": "es_AR"})
    )
    assert saved.status_code == 200, saved.body
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/Los_Angeles"})
    issue(api, tenant, "TRK-TZ1")
    staff_subscribe(api, tenant, "TRK-TZ1", "ana@example.com")
    post_event(api, tenant, "TRK-TZ1", "e1", "OUT_FOR_DELIVERY", minutes=5)
    assert sweep(tenant).sent == 1
    # When a clerk opens the parcel's alerts in the follow-ups
    sign_in(browser, site.web, tenant, level=3, screen="followups")
    browser.find_element(By.CSS_SELECTOR, 'tr[data-parcel="TRK-TZ1"] a').click()
    table = wait_until(browser, lambda d: d.find_element(By.ID, "parcel-alerts"))
    # Then the alert's time reads 21:00 of that day, Tokyo's, not the browser's 04:00, written as the
    # API's own times and the e-mails write it (the year in full, a 24-hour clock)
    row = next(r for r in table.find_elements(By.TAG_NAME, "tr") if "ana@example.com" in r.text)
    assert row.text.startswith("2/11/2026 21:00 "), row.text


def test_an_administrator_starts_a_custom_template_and_a_bad_name_is_refused_at_its_field(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the template list
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    # When they name a new template with capitals and a space
    replace_text(browser, "template-new-key", "Promo Verano")
    browser.find_element(By.CSS_SELECTOR, "#template-new-form button[type=submit]").click()
    # Then the server's rule shows next to the name, in Spanish as the console asks (Accept-Language: es),
    # and no template was made
    error = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#template-new-form .field-error"))
    assert "letras minúsculas" in error.text and "lowercase" not in error.text, error.text
    # When they use a valid name
    replace_text(browser, "template-new-key", "promo-verano")
    browser.find_element(By.CSS_SELECTOR, "#template-new-form button[type=submit]").click()
    # Then its editor opens with the preview of the starter text, and the template exists
    wait_until(
        browser,
        lambda d: d.find_elements(By.ID, "template-form") and d.find_element(By.ID, "preview-subject").text,
    )
    assert "custom:promo-verano" in browser.find_element(By.CSS_SELECTOR, "main").text
    listed = body(api.http.get("/templates", headers=bearer(tenant, 1)))["items"]
    assert "custom:promo-verano" in {t["key"] for t in listed}


def test_an_administrator_adds_an_sms_template_with_just_a_name_and_the_message(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, local_aws: dict[str, str]
) -> None:
    from tests.steps.sms import sms_sent_through_moto

    # Given the administrator on the template list
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    # When they add an SMS template as seed 002's "Agregar sms" has it: a name and the message
    replace_text(browser, "template-new-key", "corte-sms")
    replace_text(browser, "template-new-sms_text", "Estimado %nombre%: mañana hay corte.")
    browser.find_element(By.CSS_SELECTOR, "#template-new-form button[type=submit]").click()
    # Then its editor opens with the SMS previewed
    shown = wait_until(browser, lambda d: d.find_element(By.ID, "preview-sms").text)
    assert shown.startswith("Estimado Ferretería Los Andes: mañana hay corte."), shown

    # And the template holds only what they typed: no e-mail was filled in for them
    def saved() -> Any:
        return body(api.http.get("/templates/custom:corte-sms", headers=bearer(tenant, 1)))

    assert (saved()["subject"], saved()["channels"]) == (None, ["sms"])
    # When they edit the message and save, leaving the e-mail parts empty
    replace_text(browser, "template-sms_text", "Corte el lunes, %nombre%.")
    browser.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    # Then it is saved, still SMS-only
    wait_until(browser, lambda d: saved()["sms_text"] == "Corte el lunes, %nombre%.")
    assert (saved()["html"], saved()["channels"]) == (None, ["sms"])
    # When they test it, with the company's SMS settings filled in (through SNS) but not switched on
    settings = api.http.put("/sms/settings", headers=bearer(tenant, 1), body=json.dumps({"provider": "sns"}))
    assert settings.status_code == 200, settings.body
    browser.refresh()
    by = wait_until(browser, lambda d: d.find_element(By.ID, "template-test-channel"))
    # Then the test goes by SMS (the template has no e-mail), to a phone written as people write it
    assert [o.get_attribute("value") for o in by.find_elements(By.TAG_NAME, "option")] == ["sms"]
    replace_text(browser, "template-test-to", "011 15 5987-6543")
    browser.find_element(By.CSS_SELECTOR, "#template-test-form button[type=submit]").click()
    answer = wait_until(
        browser,
        lambda d: (
            (t := d.find_element(By.CSS_SELECTOR, "#template-test-form .test-answer").text).startswith(
                "Enviado"
            )
            and t
        ),
    )
    message_id = answer.split("id ", 1)[1].rstrip(").")
    sms = sms_sent_through_moto(local_aws, message_id)
    assert (sms["phone_number"], sms["message"]) == (
        "+5491159876543",
        "Corte el lunes, Ferretería Los Andes.",
    )


def test_an_administrator_sets_the_companys_time_zone_and_locale_and_a_supervisor_may_not(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    # When an administrator opens the company's settings
    sign_in(browser, site.web, tenant, level=1, screen="company")
    zone = wait_until(browser, lambda d: d.find_element(By.ID, "company-time_zone"))
    assert (
        zone.get_attribute("value") == body(api.http.get("/company", headers=bearer(tenant, 1)))["time_zone"]
    )
    # And types a zone that does not exist, Then the API's refusal shows next to it
    replace_text(browser, "company-time_zone", "Marte/Olimpo")
    browser.find_element(By.CSS_SELECTOR, "#company-settings-form button[type=submit]").click()
    error = wait_until(browser, lambda d: d.find_element(By.ID, "company-time_zone-error"))
    assert "IANA" in error.text
    # When they put Tokyo and Spain's format, and save
    replace_text(browser, "company-time_zone", "Asia/Tokyo")
    replace_text(browser, "company-locale", "es_ES")
    browser.find_element(By.ID, "company-sms_on_manual_payments").click()
    browser.find_element(By.CSS_SELECTOR, "#company-settings-form button[type=submit]").click()
    toast_says(browser, "Ajustes de la empresa guardados.")
    # Then the company has them, and the console reads times in Tokyo's at once
    company = body(api.http.get("/company", headers=bearer(tenant, 1)))
    assert (company["time_zone"], company["locale"], company["sms_on_manual_payments"]) == (
        "Asia/Tokyo",
        "es_ES",
        True,
    )

    def tokyo_minutes() -> set[str]:
        """Tokyo's minute now and the one before, read at each look: the screen is drawn again
        after the notice, and on a loaded machine a minute may turn before it is."""
        now = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo"))
        return {f"{t.day}/{t.month}/{t.year} {t:%H:%M}" for t in (now, now - timedelta(minutes=1))}

    wait_until(browser, lambda d: d.find_element(By.ID, "company-now").text in tokyo_minutes())
    console_screenshot(browser, "company-settings")
    # And a supervisor (level 2) is offered no such screen, and the API refuses them the change
    sign_in(browser, site.web, tenant, level=2)
    assert "company" not in set(nav_screens(browser))
    open_screen(browser, "company")
    assert wait_until(browser, lambda d: not_available(d))
    refused = api.http.patch("/company", headers=bearer(tenant, 2), body=json.dumps({"locale": "en_US"}))
    assert refused.status_code == 403


def test_an_agent_creates_a_follow_up_by_hand_and_reads_the_alerts_sent_to_that_address(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an issued parcel nobody follows yet
    issue(api, tenant, "TRK-MAN1")
    # When an agent (level 4) opens the follow-ups and asks for one on a parcel that does not exist
    sign_in(browser, site.web, tenant, level=4, screen="followups")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "followup-new"))
    for name, value in (("tracking_id", "NO-EXISTE"), ("first_name", "Ana"), ("last_name", "García")):
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.NAME, "email").send_keys("ana@example.com")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the refusal shows next to the parcel's number
    error = wait_until(browser, lambda d: d.find_element(By.ID, "followup-tracking_id-error"))
    assert "NO-EXISTE" in error.text
    # When they put the parcel's number and send it again
    replace_text(browser, "followup-tracking_id", "TRK-MAN1")
    browser.find_element(By.CSS_SELECTOR, "#followup-new button[type=submit]").click()
    # Then Ana follows it, in the list and in the API, with no confirmation to wait for
    subscribers = 'tr[data-parcel="TRK-MAN1"] ul.subscribers li'
    wait_until(
        browser,
        lambda d: (
            "ana@example.com" in " ".join(li.text for li in d.find_elements(By.CSS_SELECTOR, subscribers))
        ),
    )
    [follower] = body(api.http.get("/parcels/TRK-MAN1/subscriptions", headers=bearer(tenant, 1)))["items"]
    assert (follower["email"], follower["source"], follower["active"]) == ("ana@example.com", "staff", True)
    # When the parcel moves and its alert goes out, and the agent asks what was sent to her address
    post_event(api, tenant, "TRK-MAN1", "e1", "OUT_FOR_DELIVERY", minutes=5)
    assert sweep(tenant).sent == 1
    lookup = browser.find_element(By.ID, "subscriber-email")
    lookup.clear()
    lookup.send_keys("ana@example.com")
    lookup.submit()
    # Then the alert is listed with its parcel and its status by the catalog's name, and the address
    # is in the screen's own address
    table = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#subscriber-alerts table"))
    assert "TRK-MAN1" in table.text and "En distribución" in table.text
    assert "subscriber=ana%40example.com" in browser.execute_script("return location.hash")
    console_screenshot(browser, "followups-by-hand")


def test_staff_look_up_a_parcel_and_see_its_whole_history_hidden_statuses_marked(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a status the public does not see, and a parcel nobody follows that went through it
    hidden = {"display_name": "Recibido en Destino", "visibility": "hidden", "notify": False}
    saved = api.http.put(
        "/status-catalog/RECEIVED_AT_DESTINATION", headers=bearer(tenant, 1), body=json.dumps(hidden)
    )
    assert saved.status_code == 200, saved.body
    # (issued with an eventual recipient ticked "Desea enviarse información de carga", seed 000)
    recipient: dict[str, object] = {"first_name": "Juan", "last_name": "Gómez", "email": "juan@example.com"}
    recipient["wants_cargo_info"] = True
    issued = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "TRK-LOOK1", "waybill_issued": True, "recipient": recipient}),
    )
    assert issued.status_code == 201, issued.body
    # And someone who asked on the tracking page and has not confirmed their address yet
    assert ask_for_alerts(api, tenant, "TRK-LOOK1", "bea@example.com", "Bea").status_code == 202
    # And a clerk who followed it for a customer, before the carrier's system posts two novelties
    staff_subscribe(api, tenant, "TRK-LOOK1", "ana@example.com")
    post_event(api, tenant, "TRK-LOOK1", "e1", "IN_TRANSIT", minutes=1, observation="Sale <b>hoy</b>")
    post_event(api, tenant, "TRK-LOOK1", "e2", "RECEIVED_AT_DESTINATION", minutes=2)
    # When a clerk (level 3) looks the parcel up on the follow-ups screen
    sign_in(browser, site.web, tenant, level=3, screen="followups")
    box = wait_until(browser, lambda d: d.find_element(By.ID, "parcel-lookup-id"))
    box.send_keys("TRK-LOOK1")
    box.submit()
    # Then its whole history is listed, the hidden status too and marked so, observations as text
    table = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#parcel-history table"))
    rows = {r.get_attribute("data-status"): r.text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    assert "Recibido en Destino (oculto al público)" in rows["RECEIVED_AT_DESTINATION"]
    assert "En viaje" in rows["IN_TRANSIT"] and "Sale <b>hoy</b>" in rows["IN_TRANSIT"]
    assert "oculto" not in rows["IN_TRANSIT"]
    # And each says whether it is told: the novelty the alert monitor's next run sends (seed 000: a
    # novelty entered "se activa"), and the status that is not notified, with why
    told = {
        r.get_attribute("data-status"): r.find_element(By.CSS_SELECTOR, "td.told").text
        for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    assert told == {
        "IN_TRANSIT": "pendiente: sale en la próxima ejecución",
        "RECEIVED_AT_DESTINATION": "no: estado sin aviso",
    }
    # And everyone who follows it is listed with how they came and where they stand, the
    # unconfirmed address too (the list of parcels under follow-up names only those followed)
    subscribers = browser.find_elements(By.CSS_SELECTOR, "#parcel-subscribers tbody tr")
    by_email = {r.find_elements(By.TAG_NAME, "td")[1].text: r.text for r in subscribers}
    assert set(by_email) == {"juan@example.com", "bea@example.com", "ana@example.com"}
    assert "destinatario o remitente eventual" in by_email["juan@example.com"]
    assert "recibe avisos hasta" in by_email["juan@example.com"]
    assert "pedido en la página de seguimiento" in by_email["bea@example.com"]
    assert "sin confirmar: el enlace del e-mail vale hasta" in by_email["bea@example.com"]
    assert "creado a mano" in by_email["ana@example.com"] and "Cancelar" in by_email["ana@example.com"]
    console_screenshot(browser, "followups-parcel-history")


def test_an_administrator_picks_the_account_a_template_is_sent_from(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the invoice e-mail, sent from the invoices' account by default
    assert body(api.http.get("/templates/invoice", headers=bearer(tenant, 1)))["sender_area"] == "invoices"
    # When an administrator opens it and picks the general account (seed 002's "Correo saliente")
    sign_in(browser, site.web, tenant, 1)
    open_screen(browser, "templates", "key=invoice")
    area = wait_until(browser, lambda d: d.find_element(By.ID, "template-sender_area"))
    assert area.accessible_name == "Se envía desde"
    Select(area).select_by_value("all")
    browser.find_element(By.CSS_SELECTOR, "#template-form button[type=submit]").click()
    toast_says(browser, "Plantilla guardada.")
    # Then the editor's header names that account at once, and the template is the company's own now
    summary = browser.find_element(By.ID, "template-summary").text
    assert "cuenta del área general de la empresa" in summary and summary.endswith("· propia"), summary
    # And the template is sent from there, and the editor says so when opened again
    assert body(api.http.get("/templates/invoice", headers=bearer(tenant, 1)))["sender_area"] == "all"
    browser.refresh()
    area = wait_until(browser, lambda d: d.find_element(By.ID, "template-sender_area"))
    assert area.get_attribute("value") == "all"
