"""W2, seed 004 in the console's register (Debian's Chromium): from a record's view, "Enviar un
mensaje" tells colleagues picked by name, and "Crear tarea" downloads the record as a calendar task.

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server; mail goes to the real SMTP catcher. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, console_screenshot, open_screen, sign_in, toast_says, wait_until
from tests.steps.mail import text_of
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

pytestmark = pytest.mark.browser


def test_staff_tell_a_colleague_of_a_record_and_take_it_as_a_task(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any, tmp_path: Path
) -> None:
    from icalendar import Calendar

    from chalicelib.tenants.staff import UserFields, save_user

    # Given a firm with a general sender account, two colleagues with addresses and a call noted
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Sur", "avisos@cargasdelsur.example")
    save_user(
        tenant.company_id, "marta", UserFields(name="Marta Núñez", email="marta@estudio.example", level=2)
    )
    save_user(tenant.company_id, "luis", UserFields(name="Luis Gómez", email="luis@estudio.example", level=2))
    put_client(api, tenant, "CLI-7", name="Ana Pérez", emails=["ana@example.com"])
    added = api.http.post(
        "/clients/CLI-7/register",
        headers=tenant.staff_headers(),
        body=json.dumps({"record_type": "call", "subject": "Llamó por el IVA"}),
    )
    record_id = json.loads(added.body)["communication_id"]
    # When staff open the record, tick Marta by name, add a comment and send
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", f"client=CLI-7&record={record_id}")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-notify"), seconds=20)
    form.find_element(By.XPATH, ".//label[contains(., 'Marta Núñez')]/input").click()
    form.find_element(By.ID, "b-notify-comment").send_keys("Llamalo hoy, por favor")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the console says whom it told, and the record now shows it
    toast_says(browser, "Aviso enviado a Marta Núñez")
    wait_until(
        browser,
        lambda d: any("Marta Núñez" in dd.text for dd in d.find_elements(By.CSS_SELECTOR, ".b-notice")),
        seconds=20,
    )
    console_screenshot(browser, "clients-record-notice")
    # And Marta got the e-mail with the comment
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["marta@estudio.example"]
    assert "Llamalo hoy, por favor" in text_of(mail)

    # When they press "Crear tarea"
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    browser.find_element(By.ID, "b-record-task").click()
    saved = tmp_path / f"tarea-{record_id}.ics"
    wait_until(browser, lambda d: saved.exists() and saved.stat().st_size > 0, seconds=20)
    # Then the browser saved a calendar task of the record
    [task] = Calendar.from_ical(saved.read_bytes()).walk("VTODO")
    assert str(task["SUMMARY"]) == "Llamó por el IVA"
    assert "Ana Pérez (CLI-7)" in str(task["DESCRIPTION"])
