"""W2: the console's mail set-up screens in Debian's Chromium: staff mailboxes (H3) with their
write-only password, Microsoft 365 client secret or Google Workspace key file, a connection test
against a real IMAP server and their removal; a sending domain and the DNS records to publish;
the suppression list (Q5), an address added and lifted. Tenant-typed markup reads as text; levels
below 1 see only mailboxes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.imapserver import Dovecot
from tests.steps.answers import body
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    demo_user,
    nav_screens,
    not_available,
    open_screen,
    sign_in,
    submit,
    toast_says,
    type_into,
    wait_until,
)
from tests.steps.domains import ses_not_verifying_yet
from tests.steps.imap import MAIL_USERS, GoogleWorkspace
from tests.steps.mailboxes import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.steps.mailboxes import PRIVATE_KEY, PUBLIC_KEY, SERVICE_ACCOUNT, google_key_file
from tests.steps.tenants import Tenant, named_user

pytestmark = pytest.mark.browser
ANA = "ana@estudio.example"
LUIS = "luis@estudio.example"
XSS = "<img src=x onerror=alert(1)>"
TENANT_ID = "7d1c3a52-9b0e-4f3e-8a41-2c6f0b9e5d17"
CLIENT_ID = "3f6e9a10-84c2-4b7d-9e05-a1b2c3d4e5f6"


def no_script_ran(driver: Any) -> bool:
    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return not driver.find_elements(By.CSS_SELECTOR, "main img")
    return False


def connection_test_answer(driver: Any) -> Any:
    """Press the open mailbox's connection test and wait for the server's answer."""
    driver.find_element(By.ID, "mailbox-test").click()
    return wait_until(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, ".test-answer").text.strip() != "Conectando…"
            and d.find_element(By.CSS_SELECTOR, ".test-answer")
        ),
    )


def mailboxes(api: Client, tenant: Tenant) -> list[dict[str, Any]]:
    return list(body(api.http.get("/mailboxes", headers=bearer(tenant, 1)))["items"])


def test_an_administrator_adds_mailboxes_sets_their_secrets_tests_one_and_removes_it(
    api: Client,
    tenant: Tenant,
    site: ConsoleSite,
    browser: Any,
    imap_server: Dovecot,
    google_workspace: GoogleWorkspace,
    tmp_path: Path,
) -> None:
    # Given the administrator on the mailboxes screen
    sign_in(browser, site.web, tenant, level=1, screen="mailboxes")
    # When they add Ana's mailbox without its server
    type_into(browser, "new-mailbox-username", ANA)
    submit(browser, "new-mailbox-form")
    # Then the API's refusal shows next to the server's field
    error = wait_until(browser, lambda d: d.find_element(By.ID, "new-mailbox-host-error"))
    assert error.text
    # When they fill in the test's IMAP server, one folder, and add it
    type_into(browser, "new-mailbox-host", "127.0.0.1")
    type_into(browser, "new-mailbox-port", str(imap_server.port))
    Select(browser.find_element(By.ID, "new-mailbox-encryption")).select_by_value("none")
    type_into(browser, "new-mailbox-folders", "INBOX")
    submit(browser, "new-mailbox-form")
    # Then it is listed, without a password, and open for its password
    card = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-mailbox-card]"))
    mailbox_id = card.get_attribute("data-mailbox-card")
    row = f'tr[data-mailbox="{mailbox_id}"]'
    assert "sin contraseña" in browser.find_element(By.CSS_SELECTOR, row).text
    # When they set its password
    type_into(browser, "mailbox-secret", MAIL_USERS[ANA])
    submit(browser, "mailbox-secret-form")
    # Then the list says a password is set, and the password is nowhere in the page
    wait_until(browser, lambda d: "contraseña guardada" in d.find_element(By.CSS_SELECTOR, row).text)
    assert browser.find_element(By.ID, "mailbox-secret").get_attribute("value") == ""
    assert MAIL_USERS[ANA] not in browser.page_source
    # When they test the connection
    answer = connection_test_answer(browser)
    # Then the console shows the server's answer and the folder it opened
    assert answer.text.startswith("Conectado:") and "INBOX: 0 mensajes" in answer.text, answer.text
    browser.find_element(By.ID, "mailbox-sync").click()
    toast_says(browser, "Sincronización pedida")
    browser.execute_script(
        "arguments[0].scrollIntoView()", browser.find_element(By.CSS_SELECTOR, "[data-mailbox-card]")
    )
    console_screenshot(browser, "mailboxes")

    # When they add a Microsoft 365 mailbox whose address carries markup, and set its client secret
    Select(browser.find_element(By.ID, "new-mailbox-auth")).select_by_value("microsoft365")
    assert not browser.find_element(By.ID, "new-mailbox-host").is_displayed()
    type_into(browser, "new-mailbox-username", f"{XSS}@estudio.example")
    type_into(browser, "new-mailbox-tenant_id", TENANT_ID)
    type_into(browser, "new-mailbox-client_id", CLIENT_ID)
    submit(browser, "new-mailbox-form")
    wait_until(
        browser, lambda d: "sin secreto de cliente" in d.find_element(By.CSS_SELECTOR, ".card dl").text
    )
    type_into(browser, "mailbox-secret", "valor-del-secreto-de-entra")
    submit(browser, "mailbox-secret-form")
    # Then its address reads as typed, its secret shows only as set, and no script ran
    wait_until(
        browser, lambda d: "secreto de cliente guardado" in d.find_element(By.CSS_SELECTOR, ".card dl").text
    )
    assert (
        f"Buzón {XSS}@estudio.example" in browser.find_element(By.CSS_SELECTOR, "[data-mailbox-card] h2").text
    )
    assert "valor-del-secreto-de-entra" not in browser.page_source
    assert no_script_ran(browser)

    # When they add Luis's Google Workspace mailbox and pick the service account's key file
    google_workspace.login.register_service_account(SERVICE_ACCOUNT, PUBLIC_KEY, client_id=GOOGLE_CLIENT_ID)
    Select(browser.find_element(By.ID, "new-mailbox-auth")).select_by_value("google")
    assert not browser.find_element(By.ID, "new-mailbox-host").is_displayed()
    assert not browser.find_element(By.ID, "new-mailbox-tenant_id").is_displayed()
    type_into(browser, "new-mailbox-username", LUIS)
    type_into(browser, "new-mailbox-folders", "INBOX")
    submit(browser, "new-mailbox-form")
    wait_until(
        browser,
        lambda d: "sin clave de la cuenta de servicio" in d.find_element(By.CSS_SELECTOR, ".card dl").text,
    )
    key = tmp_path / "estudio-mail-3c5e1f0a9b8d.json"
    key.write_text(json.dumps(google_key_file()))
    browser.find_element(By.ID, "mailbox-secret").send_keys(str(key))
    submit(browser, "mailbox-secret-form")
    # Then the card names the service account, not its key, and the connection test signs in
    wait_until(
        browser,
        lambda d: f"clave de {SERVICE_ACCOUNT} guardada" in d.find_element(By.CSS_SELECTOR, ".card dl").text,
    )
    pem_line = PRIVATE_KEY.splitlines()[1]
    assert pem_line not in browser.page_source
    answer = connection_test_answer(browser)
    assert answer.text.startswith("Conectado:") and "INBOX: 0 mensajes" in answer.text, answer.text

    # When they open Ana's mailbox again, remove it and confirm
    browser.find_element(By.CSS_SELECTOR, f"{row} a").click()
    card = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'[data-mailbox-card="{mailbox_id}"]')
    )
    card.find_element(By.ID, "mailbox-delete").click()
    browser.switch_to.alert.accept()
    # Then it is gone from the list and from the API; the other stays
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, row))
    assert sorted(m["username"] for m in mailboxes(api, tenant)) == sorted([f"{XSS}@estudio.example", LUIS])


def test_an_administrator_registers_a_sending_domain_and_keeps_an_address_off_the_list(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    domain = f"avisos.{tenant.company_id}.example.com"
    # Given the administrator on the sending domains screen
    sign_in(browser, site.web, tenant, level=1, screen="sender-domains")
    # When they register a domain
    type_into(browser, "new-domain", domain)
    submit(browser, "new-domain-form")
    # Then it opens with the very records the API answers, each in a box to copy, and its checks
    detail = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#domain-detail[data-domain="{domain}"]')
    )
    records = body(api.http.get(f"/sender-domains/{domain}", headers=bearer(tenant, 1)))["records"]
    shown = [
        [box.get_attribute("value") for box in tr.find_elements(By.CSS_SELECTOR, "input.copy")]
        for tr in detail.find_elements(By.CSS_SELECTOR, "#domain-records tbody tr")
    ]
    assert shown == [[r["name"], r["value"]] for r in records]
    assert {r["purpose"] for r in records} == {"dkim", "mail_from_mx", "mail_from_spf", "dmarc"}
    assert browser.find_element(By.ID, "domain-verified").text.startswith(
        "Verificado"
    )  # moto verifies at once
    assert len(browser.find_elements(By.CSS_SELECTOR, "#domain-checks tbody tr")) == 6
    domain_row = f'#sender-domains tr[data-domain="{domain}"]'
    assert browser.find_element(By.CSS_SELECTOR, domain_row)
    console_screenshot(browser, "sender-domains")

    # When the company's SES account sends from it and they remove the domain, confirming
    ses = {
        "kind": "ses",
        "display_name": "Avisos",
        "from_address": f"avisos@{domain}",
        "ses_identity": domain,
    }
    saved = api.http.put("/sender-accounts/all", headers=bearer(tenant, 1), body=json.dumps(ses))
    assert saved.status_code == 200, saved.body
    browser.find_element(By.CSS_SELECTOR, f"{domain_row} button").click()
    browser.switch_to.alert.accept()
    # Then the console says it was not removed and which account sends from it; the domain stays
    toast_says(browser, f"No se quitó {domain}: las cuentas de envío all envían desde {domain}")
    assert browser.find_element(By.CSS_SELECTOR, domain_row)
    # When the account goes and they remove the domain again
    assert api.http.delete("/sender-accounts/all", headers=bearer(tenant, 1)).status_code == 200
    browser.find_element(By.CSS_SELECTOR, f"{domain_row} button").click()
    browser.switch_to.alert.accept()
    # Then it is gone from the screen, its records with it, and from the API
    toast_says(browser, f"Dominio {domain} quitado.")
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f"{domain_row}, #domain-detail"))
    assert body(api.http.get("/sender-domains", headers=bearer(tenant, 1)))["items"] == []

    # When they, Ada Ruiz in the staff directory, put an address on the suppression list with a
    # note that carries markup, beside another
    named_user(tenant.company_id, demo_user(tenant, 1), "Ada Ruiz", level=1)
    other = api.http.post("/suppressions", headers=bearer(tenant, 1), body=json.dumps({"address": LUIS}))
    assert other.status_code == 201, other.body
    open_screen(browser, "suppressions")
    type_into(browser, "suppression-address", "Ana@Example.com")
    type_into(browser, "suppression-note", f"pidió por teléfono {XSS}")
    submit(browser, "suppression-form")
    # Then it is listed, lower-cased, with who added it by name (in Spanish, not the API's "added
    # by <user id>") and the note as typed, and no script ran
    row = 'tr[data-address="ana@example.com"]'
    listed = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, row))
    assert (
        listed.find_element(By.CSS_SELECTOR, ".suppression-detail").text
        == f"Agregada por Ada Ruiz: pidió por teléfono {XSS}"
    )
    assert "A mano" in listed.text and no_script_ran(browser)
    console_screenshot(browser, "suppressions")

    def rows_shown(d: Any) -> list[str]:
        return [
            tr.get_attribute("data-address")
            for tr in d.find_elements(By.CSS_SELECTOR, "#suppressions tbody tr")
        ]

    # When they look for her address as a person types it
    type_into(browser, "suppression-search", " ANA@example.COM ")
    submit(browser, "suppression-search-form")
    # Then only her entry is shown
    wait_until(browser, lambda d: rows_shown(d) == ["ana@example.com"])
    # And an address not on the list says so; text no address is says why next to the box
    type_into(browser, "suppression-search", "nadie@example.com")
    submit(browser, "suppression-search-form")
    wait_until(browser, lambda d: d.find_element(By.ID, "suppression-not-found").is_displayed())
    assert (
        "nadie@example.com no está en la lista" in browser.find_element(By.ID, "suppression-not-found").text
    )
    assert rows_shown(browser) == []
    type_into(browser, "suppression-search", "a" * 260)
    submit(browser, "suppression-search-form")
    assert "254" in wait_until(browser, lambda d: d.find_element(By.ID, "suppression-search-error")).text
    # When they empty the box, the whole list is back
    type_into(browser, "suppression-search", "")
    submit(browser, "suppression-search-form")
    wait_until(browser, lambda d: sorted(rows_shown(d)) == ["ana@example.com", LUIS])
    # When they lift hers and confirm
    browser.find_element(By.CSS_SELECTOR, f"{row} button").click()
    browser.switch_to.alert.accept()
    # Then it is off the list, in the console and in the API
    wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, row))
    # And the keyboard's place is the screen's heading, not the top of the page
    assert browser.switch_to.active_element.text == "Direcciones suprimidas"
    listed_now = body(api.http.get("/suppressions", headers=bearer(tenant, 1)))["items"]
    assert [item["address"] for item in listed_now] == [LUIS]


def test_a_clerk_has_the_mailboxes_screen_only_and_sees_the_offices_mailbox_read_only(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the office's public mailbox and the administrator's private one, the administrator
    # Ada Ruiz in the staff directory
    named_user(tenant.company_id, demo_user(tenant, 1), "Ada Ruiz", level=1)
    for username, visibility in (("oficina@estudio.example", "public"), ("admin@estudio.example", "private")):
        data = {
            "host": "127.0.0.1",
            "port": 1143,
            "encryption": "none",
            "username": username,
            "visibility": visibility,
        }
        response = api.http.post("/mailboxes", headers=bearer(tenant, 1), body=json.dumps(data))
        assert response.status_code == 201, response.body
    # When a level-3 clerk signs in
    sign_in(browser, site.web, tenant, level=3)
    # Then the navigation offers the mailboxes and neither sending domains nor the suppression list
    offered = nav_screens(browser)
    assert "mailboxes" in offered and not {"sender-domains", "suppressions"} & set(offered)
    # And those screens' addresses say they are not available for the clerk's level
    for screen, title in (
        ("sender-domains", "Dominios de envío"),
        ("suppressions", "Direcciones suprimidas"),
    ):
        open_screen(browser, screen)
        wait_until(browser, lambda d, title=title: d.find_element(By.CSS_SELECTOR, "main h1").text == title)
        assert not_available(browser), screen
    # When the clerk opens the mailboxes
    open_screen(browser, "mailboxes")
    # Then only the office's is listed, the clerk may not make one public, nor change the office's
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#mailboxes tbody th a")]
    assert listed == ["oficina@estudio.example"]
    assert "Ada Ruiz" in browser.find_element(By.CSS_SELECTOR, "#mailboxes tbody tr").text
    assert not browser.find_elements(By.ID, "new-mailbox-visibility")
    browser.find_element(By.CSS_SELECTOR, "#mailboxes tbody th a").click()
    card = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-mailbox-card]"))
    assert "Solo su dueño o el nivel 1 lo cambian." in card.text
    assert not card.find_elements(By.TAG_NAME, "form")
    assert "Ada Ruiz" in card.text and demo_user(tenant, 1) not in card.text  # the owner, by name


def test_an_unverified_sending_domain_says_when_its_registration_lapses(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from chalicelib.core import clock

    def registered_on_screen(domain: str) -> str:
        type_into(browser, "new-domain", domain)
        submit(browser, "new-domain-form")
        shown_detail = f'#domain-detail[data-domain="{domain}"]'
        wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, shown_detail))
        assert browser.find_element(By.ID, "domain-verified").text.startswith("Todavía sin verificar")
        return str(browser.find_element(By.ID, "domain-lapses").text)

    def as_shown(moment: str) -> str:
        return str(
            browser.execute_script(
                "return import(document.querySelector('script[src$=\"/app.js\"]').src)"
                ".then((m) => m.when(arguments[0]));",
                moment,
            )
        )

    # Given SES that has not verified the company's domains yet (their records are not published),
    # and the administrator on the sending domains screen (the page judges by the browser's clock)
    sign_in(browser, site.web, tenant, level=1, screen="sender-domains")
    with ses_not_verifying_yet():
        # When they register a domain now
        clock.set_now(datetime.now(timezone.utc))
        fresh = f"nuevo.{tenant.company_id}.example.com"
        lapse = registered_on_screen(fresh)
        # Then the page says when the registration lapses unless SES verifies it, as the API answers
        answer = body(api.http.get(f"/sender-domains/{fresh}", headers=bearer(tenant, 1)))
        assert lapse == (
            f"Si Amazon SES no lo verifica antes del {as_shown(answer['lapses_at'])}, el registro vence "
            "y otra empresa podrá registrar el dominio."
        )
        # When a domain was registered 73 hours ago and SES never verified it
        clock.set_now(datetime.now(timezone.utc) - timedelta(hours=73))
        old = f"viejo.{tenant.company_id}.example.com"
        registered_on_screen(old)
        clock.set_now(datetime.now(timezone.utc))
        browser.find_element(By.ID, "domain-reload").click()
        # Then its page says it lapsed and another company may register it
        answer = body(api.http.get(f"/sender-domains/{old}", headers=bearer(tenant, 1)))
        wait_until(
            browser,
            lambda d: d.find_element(By.ID, "domain-lapses").text.startswith(
                f"El registro venció el {as_shown(answer['lapses_at'])} sin que Amazon SES verificara"
            ),
        )
