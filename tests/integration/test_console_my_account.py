"""W2 / C5: a staff user's own sender account on the console's *Mi cuenta de envío* screen, in
Debian's Chromium: created and given a password by the user (never shown back), used for their reply
to a client's e-mail (it reaches the real SMTP catcher from their address); another user's account
out of their reach; the API's refusal of a bad port or address shown next to its field."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    demo_user,
    open_screen,
    sign_in,
    type_into,
    wait_until,
)
from tests.steps.inbound import receive_mail
from tests.steps.mail import text_of
from tests.steps.mailboxes import register_seen
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import SMTP_PASSWORD, SMTP_USER, Tenant

pytestmark = pytest.mark.browser
CARD = '[data-account="my-account"]'


def account_status(driver: Any) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f"{CARD} .account-status").text)


def fill_account(driver: Any, mailbox: MailCatcher, from_address: str, port: str) -> None:
    type_into(driver, "my-account-display_name", "Clara Atención")
    type_into(driver, "my-account-from_address", from_address)
    type_into(driver, "my-account-smtp_host", "127.0.0.1")
    type_into(driver, "my-account-smtp_port", port)
    type_into(driver, "my-account-username", SMTP_USER)
    Select(driver.find_element(By.ID, "my-account-encryption")).select_by_value("none")
    driver.find_element(By.CSS_SELECTOR, "#my-account-form button[type=submit]").click()


def test_a_clerk_sets_up_their_own_account_and_their_reply_goes_out_from_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-3 user without an account of their own, on their account screen
    sign_in(browser, site.web, tenant, 3, screen="my-account")
    assert "No tiene cuenta propia" in account_status(browser)
    # And its From comes filled with their own address, which the screen says it must be
    from_field = browser.find_element(By.ID, "my-account-from_address")
    assert from_field.get_attribute("value") == "clara@cargasdelsur.example"
    own = browser.find_element(By.ID, "my-account-own-address").text
    assert "su propia dirección, clara@cargasdelsur.example" in own
    # When they create it on the test's SMTP server, then set its password
    fill_account(browser, mailbox, "clara@cargasdelsur.example", str(mailbox.port))
    wait_until(browser, lambda d: "contraseña sin cargar" in account_status(d))
    type_into(browser, "my-account-password", SMTP_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#my-account-password-form button[type=submit]").click()
    # Then the screen says a password is set, and the password is nowhere in the page or the API's answer
    wait_until(browser, lambda d: "contraseña guardada" in account_status(d))
    assert browser.find_element(By.ID, "my-account-password").get_attribute("value") == ""
    assert SMTP_PASSWORD not in browser.page_source
    clerk = quote(demo_user(tenant, 3))
    mine = api.http.get(f"/users/{clerk}/sender-account", headers=bearer(tenant, 3))
    assert body(mine)["password_set"] and SMTP_PASSWORD not in mine.body.decode()
    console_screenshot(browser, "my-account")

    # When a client writes in and the user answers through the API
    put_client(api, tenant, "CLI-7", name="Ana García", emails=["ana@example.com"])
    receive_mail(api, tenant.company_id, "ana@example.com", "Duda con la factura", "¿Y el recargo?")
    [received] = register_seen(api, tenant.admin_headers(), "CLI-7")
    reply = api.http.post(
        f"/clients/CLI-7/register/{received['communication_id']}/reply",
        headers=bearer(tenant, 3),
        body=json.dumps({"text": "Es por pago fuera de término."}).encode(),
    )
    assert reply.status_code == 201, reply.body
    assert deliver_outboxes()["sent"] == 1
    # Then it reaches the client from the user's own address, through their account's server
    [mail] = mailbox.wait_for(1)
    assert "clara@cargasdelsur.example" in mail["From"] and "Clara Atención" in mail["From"]
    assert "Es por pago fuera de término." in text_of(mail)

    # When they send a test message from their account to themselves
    type_into(browser, "my-account-test-to", "clara.prueba@example.com")
    browser.find_element(By.CSS_SELECTOR, "#my-account-test-form button[type=submit]").click()
    # Then the screen shows the server's acceptance, and the message reached the server from their
    # address, marked as a test of their personal account, to that address only
    answer = wait_until(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#my-account-test-form .test-answer").text.startswith("Enviado")
            and d.find_element(By.CSS_SELECTOR, "#my-account-test-form .test-answer")
        ),
    )
    test_mail = mailbox.wait_for(2)[1]
    assert test_mail["Message-ID"] in answer.text
    assert envelope_recipients(test_mail) == ["clara.prueba@example.com"]
    assert "clara@cargasdelsur.example" in test_mail["From"]
    assert test_mail["X-Pregon-Test-Send"] == f"account user:{demo_user(tenant, 3)}"
    assert "cuenta de envío personal" in text_of(test_mail)

    # When they delete their account
    browser.find_element(By.CSS_SELECTOR, "#my-account-delete-form button[type=submit]").click()
    # Then the screen says they have none, and so does the API
    wait_until(browser, lambda d: "No tiene cuenta propia" in account_status(d))
    assert api.http.get(f"/users/{clerk}/sender-account", headers=bearer(tenant, 3)).status_code == 404


def test_a_clerk_cannot_reach_another_users_account(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the supervisor's own account
    supervisor = quote(demo_user(tenant, 2))
    account = {
        "display_name": "Sofía",
        "from_address": "sofia@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
    }
    saved = api.http.put(
        f"/users/{supervisor}/sender-account", headers=bearer(tenant, 2), body=json.dumps(account).encode()
    )
    assert saved.status_code == 200, saved.body
    # When a level-3 user opens their screen
    sign_in(browser, site.web, tenant, 3, screen="my-account")
    # Then it shows their own (none), nothing of the supervisor's
    assert "No tiene cuenta propia" in account_status(browser)
    assert "sofia@" not in browser.page_source
    # And the API the screen calls refuses them every call on another user's account
    clerk = bearer(tenant, 3)
    path = f"/users/{supervisor}/sender-account"
    assert api.http.get(path, headers=clerk).status_code == 403
    assert api.http.put(path, headers=clerk, body=json.dumps(account).encode()).status_code == 403
    assert api.http.put(f"{path}/password", headers=clerk, body=b'{"password": "x"}').status_code == 403
    assert api.http.delete(path, headers=clerk).status_code == 403
    test = api.http.post(f"{path}/test", headers=clerk, body=b'{"to": "x@example.com"}')
    assert test.status_code == 403
    assert body(api.http.get(path, headers=bearer(tenant, 2)))["from_address"] == "sofia@cargasdelsur.example"
    # And the console offers the screen to every level
    me = body(api.http.get("/console/me", headers=clerk))
    [screen] = [s for s in me["screens"] if s["id"] == "my-account"]
    assert screen["allowed"] and screen["levels"] == [1, 2, 3, 4]


def test_a_bad_port_and_address_are_shown_next_to_their_fields(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-3 user on their account screen
    sign_in(browser, site.web, tenant, 3, screen="my-account")
    # When they save a port out of range and an address without a domain the API accepts
    fill_account(browser, mailbox, "clara@intranet", "70000")
    # Then each refusal shows next to its field, and nothing was saved
    wait_until(browser, lambda d: d.find_elements(By.ID, "my-account-smtp_port-error"))
    errors = {
        str(e.get_attribute("id")): e.text
        for e in browser.find_elements(By.CSS_SELECTOR, "#my-account-form .field-error")
    }
    assert "65535" in errors["my-account-smtp_port-error"], errors
    assert "my-account-from_address-error" in errors, errors
    open_screen(browser, "my-account")
    clerk = quote(demo_user(tenant, 3))
    assert api.http.get(f"/users/{clerk}/sender-account", headers=bearer(tenant, 3)).status_code == 404


def test_a_junior_cannot_make_their_account_speak_as_the_management(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-4 user on their account screen
    sign_in(browser, site.web, tenant, 4, screen="my-account")
    # When they save it with the management's address as its From
    fill_account(browser, mailbox, "gerencia@cargasdelsur.example", str(mailbox.port))
    # Then the refusal shows next to the From, in Spanish, naming their own address, and nothing was saved
    error = wait_until(browser, lambda d: d.find_elements(By.ID, "my-account-from_address-error"))[0]
    assert "debe ser la dirección propia del usuario (agente@cargasdelsur.example)" in error.text
    agent = quote(demo_user(tenant, 4))
    assert api.http.get(f"/users/{agent}/sender-account", headers=bearer(tenant, 4)).status_code == 404


def test_a_user_sees_the_orders_waiting_for_her_deleted_account_and_so_does_the_administrator(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    from tests.steps.accounts import queue_for_user
    from tests.steps.tenants import smtp_sender_account, staff_user

    # Given a level-3 user's own account, two orders she is responsible for queued for it, and the
    # account then deleted through the API
    user = demo_user(tenant, 3)
    staff_user(tenant.company_id, user, "clara@cargasdelsur.example", level=3)
    smtp_sender_account(tenant.company_id, f"user:{user}", mailbox, "Clara", "clara@cargasdelsur.example")
    queue_for_user(tenant, user, 2)
    path = f"/users/{quote(user)}/sender-account"
    assert api.http.delete(path, headers=bearer(tenant, 3)).status_code == 200
    # When she opens her account screen
    sign_in(browser, site.web, tenant, 3, screen="my-account")
    # Then it says the two orders wait for her account, and what to do
    warning = wait_until(browser, lambda d: d.find_element(By.ID, "my-account-waiting"))
    assert (
        warning.text
        == "2 correos esperan a esta cuenta desde el 2/11/2026 12:00: agréguela de nuevo para que salgan."
    )
    assert "No tiene cuenta propia" in account_status(browser)
    # When an administrator opens the accounts screen
    sign_in(browser, site.web, tenant, 1, screen="accounts")
    # Then the list of what waits names her account, and its link opens her card with the warning
    listed = wait_until(browser, lambda d: d.find_element(By.ID, "accounts-waiting"))
    assert (
        f"Cuenta personal de {user}: 2 correos esperan desde el 2/11/2026 12:00 (sin cuenta)" in listed.text
    )
    listed.find_element(By.LINK_TEXT, f"Cuenta personal de {user}").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "account-user").get_attribute("value") == user)
    assert (
        "agréguela de nuevo" in wait_until(browser, lambda d: d.find_element(By.ID, "personal-waiting")).text
    )
    # When the administrator gives up on them, confirming
    browser.find_element(By.CSS_SELECTOR, "#personal-waiting-cancel-form button[type=submit]").click()
    assert browser.switch_to.alert.text.startswith("¿Cancelar los 2 correos que esperan a esta cuenta?")
    browser.switch_to.alert.accept()
    # Then the warnings go, and nothing waits for her account any more
    wait_until(browser, lambda d: not d.find_elements(By.ID, "accounts-waiting"))
    assert not browser.find_elements(By.ID, "personal-waiting")
    assert body(api.http.get(f"{path}/waiting", headers=bearer(tenant, 3)))["waiting"] is None
