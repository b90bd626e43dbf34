"""W2, seed 004's "Publicar en a3doc cloud" in the console (Debian's Chromium): a clerk publishes a
record's file to the client's document portal (its name, a category, "Visible para el cliente"),
the *Publicado* column says Sí, "Enviar acceso al portal" e-mails the link, and the client opens
it in the browser and downloads the file; unpublished, it is gone from the page; "Revocar enlaces
al portal" stops the e-mailed link (docs/portal.md).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, console_screenshot, open_screen, sign_in, toast_says, wait_until
from tests.steps.mail import text_of
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n% Balance 2025 firmado\n" + bytes(range(256)) * 4


def published_column(driver: Any) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#b-attachments tbody tr")
    return [row.find_elements(By.TAG_NAME, "td")[2].text for row in rows]


def test_a_clerk_publishes_a_file_and_the_client_opens_its_portal_from_the_email(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any, tmp_path: Path
) -> None:
    # Given a firm with a general sender account, and a client's visit with the signed balance
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Sur", "avisos@cargasdelsur.example")
    put_client(api, tenant, "CLI-7", name="Ana Pérez", emails=["ana@example.com"])
    added = api.http.post(
        "/clients/CLI-7/register",
        headers=tenant.staff_headers(),
        body=json.dumps({"record_type": "visit", "subject": "Firma del balance"}),
    )
    record_id = json.loads(added.body)["communication_id"]
    attached = api.http.post(
        f"/clients/CLI-7/register/{record_id}/attachments",
        headers=tenant.staff_headers(),
        body=json.dumps({"name": "balance.pdf", "content_base64": base64.b64encode(PDF).decode()}),
    )
    assert attached.status_code == 201
    # When a clerk opens the record: its file is not published
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", f"client=CLI-7&record={record_id}")
    wait_until(browser, lambda d: published_column(d) == ["No"], seconds=20)
    # And presses "Publicar documento", renames it, files it under "Contabilidad" and publishes,
    # "Visible para el cliente" ticked as it comes
    browser.find_element(By.CSS_SELECTOR, "[data-publish='0']").click()
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-publish"), seconds=20)
    assert form.find_element(By.NAME, "visible").is_selected()
    name = form.find_element(By.ID, "b-publish-name")
    name.clear()
    name.send_keys("Balance 2025.pdf")
    form.find_element(By.XPATH, ".//label[contains(., 'Contabilidad')]/input").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the console says so and the column reads Sí
    toast_says(browser, "Publicado en el portal del cliente: Balance 2025.pdf")
    wait_until(browser, lambda d: published_column(d) == ["Sí"], seconds=20)
    console_screenshot(browser, "clients-record-published")

    # When the clerk sends the client its access
    browser.find_element(By.ID, "b-portal-access").click()
    toast_says(browser, "Acceso al portal enviado a ana@example.com")
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    [link] = re.findall(r"https?://\S+/public/portal\?token=[\w.\-]+", text_of(mail))
    # And the client opens the link in the browser
    parts = urlsplit(link)
    browser.get(f"{site.web}{parts.path}?{parts.query}")
    # Then the company's page lists the document under its category
    wait_until(browser, lambda d: "Documentos de Ana Pérez" in d.find_element(By.TAG_NAME, "h1").text)
    row = browser.find_element(By.CSS_SELECTOR, "table.documents tbody tr")
    assert "Balance 2025.pdf" in row.text and "Contabilidad" in row.text
    console_screenshot(browser, "portal-page")
    # And its link downloads the very file
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    row.find_element(By.TAG_NAME, "a").click()
    saved = tmp_path / "Balance 2025.pdf"
    wait_until(browser, lambda d: saved.exists() and saved.read_bytes() == PDF, seconds=20)

    # When the clerk unpublishes it ("Retirar", confirmed)
    browser.get(f"{site.web}/console#/clients?client=CLI-7&record={record_id}")
    wait_until(browser, lambda d: published_column(d) == ["Sí"], seconds=30)
    browser.find_element(By.CSS_SELECTOR, "[data-unpublish='0']").click()
    browser.switch_to.alert.accept()
    wait_until(browser, lambda d: published_column(d) == ["No"], seconds=20)
    # Then the client's page no longer lists it
    browser.get(f"{site.web}{parts.path}?{parts.query}")
    wait_until(browser, lambda d: "Todavía no hay documentos" in d.find_element(By.TAG_NAME, "main").text)

    # When the clerk revokes the client's portal links (confirmed)
    browser.get(f"{site.web}/console#/clients?client=CLI-7")
    revoke = wait_until(browser, lambda d: d.find_element(By.ID, "b-portal-revoke"), seconds=30)
    revoke.click()
    browser.switch_to.alert.accept()
    # Then the console says so and the client's register shows the record of it
    toast_says(browser, "Enlaces al portal revocados")
    wait_until(
        browser, lambda d: "Acceso al portal revocado" in d.find_element(By.ID, "main").text, seconds=20
    )
    # And the e-mailed link opens the company's "link no longer works" page
    browser.get(f"{site.web}{parts.path}?{parts.query}")
    wait_until(browser, lambda d: "Este enlace venció" in d.find_element(By.TAG_NAME, "h1").text)
