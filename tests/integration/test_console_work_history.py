"""W2, the console's history screen in Debian's Chromium (H1): filter a channel's history, save the
filter in "my filters" (still there after a reload), view a message as sent with its HTML in a
sandboxed frame that runs no script, and a level-4 user seeing only the messages they sent.

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accounts import put_tracking_account, queue_for_tracking
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    demo_user,
    expire_session,
    open_screen,
    sign_in,
    sign_in_again,
    sign_out,
    toast_says,
    wait_until,
)
from tests.steps.history import (
    LambdaTimedOut,
    run_dead_export_workers,
    run_export_workers,
    send_email,
    time_out_every_delivery,
    write_history,
)
from tests.steps.outbox import deliver_outboxes
from tests.steps.sms import free_inbound_number, receive_sms
from tests.steps.tenants import Tenant

pytestmark = pytest.mark.browser


def subjects(driver: Any) -> list[str]:
    """The subjects the history table lists, in order."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('.b-history tbody tr')].map(r => r.cells[3].textContent)"
        )
    )


def wait_for_subjects(driver: Any, expected: list[str]) -> None:
    wait_until(driver, lambda d: subjects(d) == expected, seconds=20)


def detail_says(driver: Any, term: str) -> str | None:
    """What the open message's detail says beside ``term`` (its <dt>), None when it says nothing."""
    shown = driver.execute_script(
        "const dt = [...document.querySelectorAll('.b-detail dt')].find(d => d.textContent === arguments[0]);"
        "return dt ? dt.nextElementSibling.textContent : null",
        term,
    )
    return None if shown is None else str(shown)


def pick_day(driver: Any, field_id: str, day: str) -> None:
    """Fill a date field as the browser's date picker does (its typed format is the browser's own)."""
    driver.execute_script(
        "arguments[0].value = arguments[1];arguments[0].dispatchEvent(new Event('input', {bubbles: true}))",
        driver.find_element(By.ID, field_id),
        day,
    )


def test_staff_filter_the_history_save_the_filter_and_find_it_after_a_reload(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Path
) -> None:
    # Given three e-mails: two automatic invoices, one sent and one never sent, and a manual notice
    send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    send_email(tenant, "beto@example.com", "Aviso de corte", client_id="CLI-2", kind="manual")
    assert deliver_outboxes()["sent"] == 2
    send_email(tenant, "carla@example.com", "Factura A-2", client_id="CLI-3")  # still waits in the outbox
    # When an administrator opens the history and filters automatic messages with "factura"
    sign_in(browser, site.web, tenant, 1, screen="history")
    wait_for_subjects(browser, ["Factura A-2", "Aviso de corte", "Factura A-1"])
    Select(browser.find_element(By.ID, "b-kind")).select_by_value("automatic")
    browser.find_element(By.ID, "b-q").send_keys("factura")
    browser.find_element(By.ID, "b-history-search").click()
    # Then only the two invoices are listed
    wait_for_subjects(browser, ["Factura A-2", "Factura A-1"])
    # When the filter is narrowed to what was sent and saved as "Facturas enviadas"
    Select(browser.find_element(By.ID, "b-status")).select_by_value("sent")
    browser.find_element(By.ID, "b-history-search").click()
    wait_for_subjects(browser, ["Factura A-1"])
    browser.find_element(By.ID, "b-filter_name").send_keys("Facturas enviadas")
    browser.find_element(By.CSS_SELECTOR, "#b-save-filter button").click()
    wait_until(
        browser, lambda d: "Facturas enviadas" in d.find_element(By.ID, "b-saved-filters").text, seconds=20
    )
    console_screenshot(browser, "history-filtered")
    # And the page is reloaded and the filters cleared
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-screen="history"]'), seconds=20)
    browser.execute_script("location.hash = '#/history'")
    wait_for_subjects(browser, ["Factura A-2", "Aviso de corte", "Factura A-1"])
    # Then the saved filter is still there, and applying it lists what it selected
    saved = wait_until(
        browser,
        lambda d: [
            b
            for b in d.find_elements(By.CSS_SELECTOR, "#b-saved-filters .b-apply")
            if b.text == "Facturas enviadas"
        ],
        seconds=20,
    )
    saved[0].click()
    wait_for_subjects(browser, ["Factura A-1"])
    assert (
        Select(browser.find_element(By.ID, "b-status")).first_selected_option.get_attribute("value") == "sent"
    )
    assert browser.find_element(By.ID, "b-q").get_attribute("value") == "factura"
    console_screenshot(browser, "history-saved-filter")
    # And "Descargar Excel" saves exactly the filtered rows
    [row] = downloaded_rows(browser, tmp_path, "b-history-export", "historial-email.xlsx")
    assert "Factura A-1" in row


def downloaded_rows(driver: Any, folder: Path, button: str, name: str) -> list[tuple[Any, ...]]:
    """Click the download button and read the .xlsx file the browser saved (rows after the header)."""
    from openpyxl import load_workbook

    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    driver.find_element(By.ID, button).click()
    saved = folder / name
    wait_until(driver, lambda d: saved.exists() and saved.stat().st_size > 0, seconds=20)
    sheet = load_workbook(saved, read_only=True).active
    assert sheet is not None
    return [tuple(r) for r in sheet.iter_rows(min_row=2, values_only=True)]


def saved_filter_names(driver: Any) -> list[str]:
    return [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#b-saved-filters .b-apply")]


def test_an_export_past_the_limit_is_built_in_the_background_and_offered_when_ready(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import chalicelib.records.exports

    # Given an export made at once holds at most 10 rows (10,000 in production), and 12 e-mails
    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_ROWS", 10)
    write_history(tenant.company_id, 12, datetime(2026, 11, 2, 11, 0, tzinfo=timezone.utc))
    # When an administrator opens the history and presses «Descargar Excel»
    sign_in(browser, site.web, tenant, 1, screen="history")
    wait_until(browser, lambda d: len(subjects(d)) == 12, seconds=20)
    browser.find_element(By.ID, "b-history-export").click()
    # Then the console says the file is being prepared in the background, with no error
    status = lambda d: d.find_element(By.ID, "b-history-exporting").text  # noqa: E731
    wait_until(browser, lambda d: "segundo plano" in status(d), seconds=20)
    assert browser.find_element(By.ID, "toasts").text == ""
    # When its worker builds it
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}]
    # Then the console offers the file once ready, and saving it gives every message
    wait_until(browser, lambda d: "El Excel está listo: 12 mensajes" in status(d), seconds=20)
    console_screenshot(browser, "history-export-ready")
    rows = downloaded_rows(browser, tmp_path, "b-history-export-file", "history-email.xlsx")
    assert [row[10] for row in rows] == [f"Resumen de cuenta {n}" for n in range(11, -1, -1)]


def test_a_registers_export_past_the_limit_is_built_in_the_background_and_one_given_up_says_why(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    import chalicelib.records.exports
    import chalicelib.records.history.exports as exports

    # Given an export made at once holds at most 3 rows (10,000 in production), and CLI-7 with 5 e-mails
    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_ROWS", 3)
    put_client(api, tenant, "CLI-7")
    write_history(tenant.company_id, 5, datetime(2026, 11, 2, 11, 0, tzinfo=timezone.utc), client_id="CLI-7")
    # When an administrator opens the client and presses the register's «Descargar Excel»
    sign_in(browser, site.web, tenant, 1)
    open_screen(browser, "clients", "client=CLI-7")
    browser.find_element(By.ID, "b-register-export").click()
    # Then the console says the file is being prepared in the background, with no error
    status = lambda d: d.find_element(By.ID, "b-register-exporting").text  # noqa: E731
    wait_until(browser, lambda d: "segundo plano" in status(d), seconds=20)
    assert browser.find_element(By.ID, "toasts").text == ""
    # When its worker builds it, the console offers the file, which holds every record
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}]
    wait_until(browser, lambda d: "El Excel está listo: 5 registros" in status(d), seconds=20)
    rows = downloaded_rows(browser, tmp_path, "b-register-export-file", "register-CLI-7.xlsx")
    assert [row[5] for row in rows] == [f"Resumen de cuenta {n}" for n in range(4, -1, -1)]

    # When it is asked for again and its worker is stopped at its time limit on every delivery
    def times_out(*args: Any, **kwargs: Any) -> Any:
        raise LambdaTimedOut

    monkeypatch.setattr(exports, "_sheet", times_out)
    browser.find_element(By.ID, "b-register-export").click()
    wait_until(browser, lambda d: "segundo plano" in status(d), seconds=20)
    assert time_out_every_delivery() == 5
    assert run_dead_export_workers() == [{"failed": 1, "skipped": 0}]
    # Then the console says it could not be exported, and why
    wait_until(browser, lambda d: "No se pudo exportar" in status(d), seconds=20)
    assert "pídala para un período más corto" in status(browser)


def test_deleting_a_saved_filter_asks_first_and_cancelling_keeps_it(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator with two saved filters in "mis filtros"
    mine = bearer(tenant, 1)
    for name in ("Facturas enviadas", "Avisos manuales"):
        saved = api.http.post(
            "/history/filters", headers=mine, body=json.dumps({"name": name, "criteria": {"q": "x"}})
        )
        assert saved.status_code == 201, saved.body
    sign_in(browser, site.web, tenant, 1, screen="history")
    wait_until(browser, lambda d: sorted(saved_filter_names(d)) == ["Avisos manuales", "Facturas enviadas"])
    delete = browser.find_element(By.CSS_SELECTOR, '[aria-label="Borrar el filtro Facturas enviadas"]')
    # When they press its × and the console asks first, and they cancel
    delete.click()
    question = wait_until(browser, lambda d: d.switch_to.alert)
    assert question.text == "¿Borrar el filtro «Facturas enviadas»? No se puede deshacer."
    question.dismiss()
    # Then the filter is still there, in the screen and in the API
    assert sorted(saved_filter_names(browser)) == ["Avisos manuales", "Facturas enviadas"]
    kept = body(api.http.get("/history/filters", headers=mine))["items"]
    assert sorted(f["name"] for f in kept) == ["Avisos manuales", "Facturas enviadas"]
    # When they press it again and confirm
    delete.click()
    wait_until(browser, lambda d: d.switch_to.alert).accept()
    # Then only that filter is gone
    wait_until(browser, lambda d: saved_filter_names(d) == ["Avisos manuales"])
    left = body(api.http.get("/history/filters", headers=mine))["items"]
    assert [f["name"] for f in left] == ["Avisos manuales"]


def test_each_history_lists_its_own_saved_filters_and_saves_with_its_channel(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator with a filter saved from the e-mail history and one saved without a channel
    mine = bearer(tenant, 1)
    for name, extra in (("Correos enviados", {"channel": "email"}), ("Manuales de todo", {})):
        saved = api.http.post(
            "/history/filters",
            headers=mine,
            body=json.dumps({"name": name, "criteria": {"kind": "manual"}, **extra}),
        )
        assert saved.status_code == 201, saved.body
    # When they open the history (e-mail, as it opens)
    sign_in(browser, site.web, tenant, 1, screen="history")
    # Then "mis filtros" holds both
    wait_until(browser, lambda d: sorted(saved_filter_names(d)) == ["Correos enviados", "Manuales de todo"])
    # When they switch to the SMS history
    Select(browser.find_element(By.ID, "b-channel")).select_by_value("sms")
    browser.find_element(By.ID, "b-history-search").click()
    # Then the e-mail filter is gone from "mis filtros", the one without a channel stays
    wait_until(browser, lambda d: saved_filter_names(d) == ["Manuales de todo"])
    # When they save a filter there
    browser.find_element(By.ID, "b-filter_name").send_keys("SMS manuales")
    browser.find_element(By.CSS_SELECTOR, "#b-save-filter button").click()
    # Then it is listed in the SMS history, and the API keeps it as the SMS history's
    wait_until(browser, lambda d: sorted(saved_filter_names(d)) == ["Manuales de todo", "SMS manuales"])
    kept = body(api.http.get("/history/filters", headers=mine))["items"]
    assert {f["name"]: f["channel"] for f in kept}["SMS manuales"] == "sms"
    console_screenshot(browser, "history-sms-filters")
    # And back on the e-mail history, the SMS filter is not offered
    Select(browser.find_element(By.ID, "b-channel")).select_by_value("email")
    browser.find_element(By.ID, "b-history-search").click()
    wait_until(browser, lambda d: sorted(saved_filter_names(d)) == ["Correos enviados", "Manuales de todo"])


def test_a_message_is_viewed_as_sent_and_its_html_runs_no_script(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an e-mail whose subject carries markup
    send_email(tenant, "ana@example.com", "<img src=x onerror=alert(1)>Factura", client_id="CLI-1")
    assert deliver_outboxes()["sent"] == 1
    # When staff open it from the history
    sign_in(browser, site.web, tenant, 3, screen="history")
    view = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-history .b-view"), seconds=20)
    view[0].click()
    detail = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-detail"), seconds=20)
    console_screenshot(browser, "history-message")
    # Then the subject is text, and the HTML is in a frame sandboxed without scripts
    assert detail.find_element(By.TAG_NAME, "h3").text == "<img src=x onerror=alert(1)>Factura"
    assert not detail.find_elements(By.CSS_SELECTOR, "h3 img")
    frame = detail.find_element(By.CSS_SELECTOR, "iframe.b-message")
    assert frame.get_attribute("sandbox") == ""
    # And its state is said once: "Enviado", not "Enviado (Enviado)" (the parenthesis is for a
    # state within the group that says more, as "No enviado (Falló)")
    assert detail_says(browser, "Estado") == "Enviado"
    browser.switch_to.frame(frame)
    assert "Texto de" in browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()


def test_a_level_4_user_sees_only_the_messages_they_sent(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a message sent by the company and one the level-4 demo user sent by hand
    send_email(tenant, "ana@example.com", "Aviso general", client_id="CLI-1", kind="manual")
    send_email(
        tenant,
        "beto@example.com",
        "Mi aviso",
        client_id="CLI-2",
        kind="manual",
        created_by=demo_user(tenant, 4),
    )
    # When the level-4 user opens the history
    sign_in(browser, site.web, tenant, 4, screen="history")
    # Then only their own message is listed
    wait_for_subjects(browser, ["Mi aviso"])
    console_screenshot(browser, "history-level-4")


def test_staff_resend_a_message_from_the_history(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an invoice e-mail that went out
    original = send_email(tenant, "ana@example.com", "Factura A-7", client_id="CLI-1")
    assert deliver_outboxes()["sent"] == 1
    # When staff tick it in the history and resend it
    sign_in(browser, site.web, tenant, 3, screen="history")
    wait_for_subjects(browser, ["Factura A-7"])
    browser.find_element(By.CSS_SELECTOR, ".b-history tbody input[type=checkbox]").click()
    browser.find_element(By.ID, "b-resend").click()
    # Then a new manual message to the same address is listed above the original
    wait_until(browser, lambda d: subjects(d) == ["Factura A-7", "Factura A-7"], seconds=20)
    kinds = browser.execute_script(
        "return [...document.querySelectorAll('.b-history tbody tr')].map(r => r.cells[5].textContent)"
    )
    assert kinds == ["Manual", "Automático"]
    console_screenshot(browser, "history-resent")
    # And the history keeps it as a resend of the original
    listed = json.loads(api.http.get("/history/email", headers=tenant.admin_headers()).body)["items"]
    assert listed[0]["resend_of"] == original and listed[1]["resent_as"] == [listed[0]["communication_id"]]


def test_staff_resend_sms_to_two_clients_with_the_bulk_password(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    # Given SMS on with a bulk-send password, and an SMS that went to each of two clients
    admin = tenant.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    saved = api.http.put("/sms/bulk-password", headers=admin, body=json.dumps({"password": "masivos-2026"}))
    assert saved.status_code == 204
    enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="sms", to_address=phone, text="Corte el lunes", client_id=client, kind="manual"
            )
            for client, phone in (("CLI-1", "+5491159876543"), ("CLI-2", "+5493515551234"))
        ],
    )
    assert deliver_outboxes()["sent"] == 2
    # When staff tick both on the SMS list and resend them without the password
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "history", "channel=sms")
    rows = "return document.querySelectorAll('.b-history tbody tr').length"
    wait_until(browser, lambda d: d.execute_script(rows) == 2, seconds=20)
    for box in browser.find_elements(By.CSS_SELECTOR, ".b-history tbody input[type=checkbox]"):
        box.click()
    browser.find_element(By.ID, "b-resend").click()
    # Then the console says the bulk-send password is missing, and nothing was resent
    toast_says(browser, "contraseña")
    assert len(body(api.http.get("/history/sms", headers=admin))["items"]) == 2
    # When they type it beside the button and resend again
    browser.find_element(By.ID, "b-bulk_password").send_keys("masivos-2026")
    browser.find_element(By.ID, "b-resend").click()
    # Then both SMS are resent
    wait_until(browser, lambda d: d.execute_script(rows) == 4, seconds=20)
    listed = body(api.http.get("/history/sms", headers=admin))["items"]
    assert sorted(item["to_address"] for item in listed if item["resend_of"]) == [
        "+5491159876543",
        "+5493515551234",
    ]
    console_screenshot(browser, "history-sms-resent-with-bulk-password")


def test_the_sms_history_says_what_each_sms_is_and_who_sent_the_ones_received(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company answering "saldo" by SMS (seed 002 c), and Ana, who texted it
    admin = tenant.admin_headers()
    number = free_inbound_number(assigned_to=tenant.company_id)
    settings = {"enabled": True, "provider": "sns", "inbound_number": number}
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps(settings)).status_code == 200
    rules = {"balance": {"enabled": True, "keywords": "saldo", "template": "Su saldo es $ %deuda%"}}
    assert api.http.put("/sms/auto-replies", headers=admin, body=json.dumps(rules)).status_code == 200
    put_client(api, tenant, "CLI-1", name="Ana García", phones=["011 15-5987-6543"], balance="15300.50")
    assert receive_sms(api, number, "+5491159876543", "saldo")["outcome"] == "replied"
    deliver_outboxes()
    # When a clerk opens the SMS history (SMS have no subject)
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "history", "channel=sms")
    # Then each row says what the SMS is instead of an empty subject, newest first
    wait_for_subjects(browser, ["Respuesta automática por SMS", "SMS recibido"])
    # And the one received names Ana's number, not the company's own number it was sent to
    cells = "return [...document.querySelectorAll('.b-history tbody tr')].map(r => r.cells[2].textContent)"
    assert browser.execute_script(cells) == ["+5491159876543", "De +5491159876543"]
    # And its detail is headed by what it is, not "(sin asunto)"
    browser.find_elements(By.CSS_SELECTOR, ".b-history .b-view")[1].click()
    detail = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-detail h3"))
    assert detail.text == "SMS recibido"

    # And Ana's register on her page says the same of both, in its list and its detail
    open_screen(browser, "clients", "client=CLI-1")
    rows = "return [...document.querySelectorAll('.b-register tbody tr')].map(r => r.cells[3].textContent)"
    wait_until(browser, lambda d: d.execute_script(rows) == ["Respuesta automática por SMS", "SMS recibido"])
    browser.find_elements(By.CSS_SELECTOR, ".b-register .b-view")[0].click()
    heading = ".b-detail h3"
    wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, heading).text == "Respuesta automática por SMS"
    )
    # And an SMS from a number no client has, on the inbound list, is an «SMS recibido» too
    assert receive_sms(api, number, "+5491144440000", "hola")["outcome"] == "logged"
    open_screen(browser, "inbound")
    unassigned = (
        "return [...document.querySelectorAll('.b-inbound tbody tr')].map(r => r.cells[2].textContent)"
    )
    wait_until(browser, lambda d: d.execute_script(unassigned) == ["SMS recibido"])
    browser.find_element(By.CSS_SELECTOR, ".b-inbound .b-view").click()
    # (it opened nothing: the API's detail and assignment took received e-mail only)
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, heading).text == "SMS recibido")
    # And assigned to Ana, it leaves the list for her register
    received = browser.find_element(By.CSS_SELECTOR, ".b-detail").get_attribute("data-id")
    assigned = api.http.post(
        f"/inbound/{received}/assign", headers=tenant.staff_headers(), body=json.dumps({"client_id": "CLI-1"})
    )
    assert assigned.status_code == 200, assigned.body
    assert body(assigned)["client_id"] == "CLI-1" and not body(assigned)["unassigned"]


def test_a_to_day_before_the_from_day_is_refused_at_its_field_in_spanish(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator on the history
    send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    sign_in(browser, site.web, tenant, 1, screen="history")
    wait_for_subjects(browser, ["Factura A-1"])
    # When they filter from 10 December to 1 December (the date fields filled as the browser's picker does)
    for name, day in (("from", "2026-12-10"), ("to", "2026-12-01")):
        pick_day(browser, f"b-{name}", day)
    browser.find_element(By.ID, "b-history-search").click()
    # Then the refusal is said under "Hasta", without the API's code of the field ("to: ..."),
    # and the days they picked are still there to correct
    error = wait_until(browser, lambda d: d.find_element(By.ID, "b-to-error"), seconds=20)
    assert error.text.startswith("no puede ser anterior"), error.text
    assert browser.find_element(By.ID, "b-to").get_attribute("aria-invalid") == "true"
    assert [browser.find_element(By.ID, f"b-{n}").get_attribute("value") for n in ("from", "to")] == [
        "2026-12-10",
        "2026-12-01",
    ]
    assert "to:" not in browser.find_element(By.TAG_NAME, "main").text
    assert "to:" not in browser.find_element(By.ID, "toasts").text
    # When they correct the "to" day, Then the refusal goes and the list shows again
    pick_day(browser, "b-to", "2026-12-31")
    browser.find_element(By.ID, "b-history-search").click()
    wait_until(browser, lambda d: not d.find_elements(By.ID, "b-to-error"), seconds=20)


def test_in_an_english_browser_the_days_picked_in_the_history_are_said_in_spanish(
    api: Client, tenant: Tenant, site: ConsoleSite
) -> None:
    from tests.steps.browser import chromium

    put_client(api, tenant, "CLI-1", name="Ana García")
    send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    # Given a clerk whose Chromium is in English: its date fields read and are typed mm/dd/yyyy
    with chromium("en") as english:
        sign_in(english, site.web, tenant, 3, screen="history")
        wait_for_subjects(english, ["Factura A-1"])
        said = english.find_element(By.ID, "b-from-hint")
        assert said.text == ""
        # When they type 12/10/2026 in "Desde" as that browser asks (December 10)
        english.find_element(By.ID, "b-from").send_keys("12102026")
        # Then the day is said beside it in Spanish, so no one reads it as 12 October
        wait_until(english, lambda d: said.text == "jueves, 10 de diciembre de 2026")
        assert english.find_element(By.ID, "b-from").get_attribute("value") == "2026-12-10"
        # And a day that comes in the address (a reload, a shared link) is said too
        open_screen(english, "history", "channel=email&to=2026-12-31")
        said_to = "jueves, 31 de diciembre de 2026"
        wait_until(english, lambda d: d.find_element(By.ID, "b-to-hint").text == said_to)
        # And so are the days of a client's register
        open_screen(english, "clients", "client=CLI-1")
        register_from = "#b-register-filters #b-from"
        wait_until(english, lambda d: d.find_element(By.CSS_SELECTOR, register_from)).send_keys("01052027")
        said_from = "martes, 5 de enero de 2027"
        wait_until(english, lambda d: d.find_element(By.ID, "b-from-hint").text == said_from)


def opened_subject(driver: Any) -> str | None:
    """The subject of the message the history shows open below the list (None when none is)."""
    shown = driver.find_elements(By.CSS_SELECTOR, ".b-detail-box .b-detail h3")
    return shown[0].text if shown else None


def ticked(driver: Any) -> list[str]:
    """The subjects of the rows whose check box is ticked, in the list's order."""
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('.b-history tbody tr')]"
            ".filter(r => r.cells[0].querySelector('input').checked).map(r => r.cells[3].textContent)"
        )
    )


def tick(driver: Any, subject: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f".b-history input[aria-label^='Elegir «{subject}»']").click()


def history_of(api: Client, tenant: Tenant) -> list[dict[str, Any]]:
    answer = api.http.get("/history/email", headers=tenant.admin_headers())
    assert answer.status_code == 200, answer.body
    return list(json.loads(answer.body)["items"])


def test_a_message_opened_in_the_history_is_open_again_after_a_reload_and_after_back(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an automatic invoice and a manual notice that went out
    invoice = send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    send_email(tenant, "beto@example.com", "Aviso de corte", client_id="CLI-2", kind="manual")
    assert deliver_outboxes()["sent"] == 2
    # And a clerk on the history who filters the automatic messages and opens the invoice with "Ver"
    sign_in(browser, site.web, tenant, 3, screen="history")
    wait_for_subjects(browser, ["Aviso de corte", "Factura A-1"])
    Select(browser.find_element(By.ID, "b-kind")).select_by_value("automatic")
    browser.find_element(By.ID, "b-history-search").click()
    wait_for_subjects(browser, ["Factura A-1"])
    browser.find_element(By.CSS_SELECTOR, ".b-history .b-view").click()
    wait_until(browser, lambda d: opened_subject(d) == "Factura A-1")
    # Then the address names the channel, the filter and the message
    address = browser.execute_script("return location.hash")
    assert address == f"#/history?channel=email&kind=automatic&message={invoice}", address
    # When they reload the page
    browser.refresh()
    # Then the same filtered list is drawn with the invoice open below it
    wait_until(browser, lambda d: opened_subject(d) == "Factura A-1")
    wait_for_subjects(browser, ["Factura A-1"])
    assert Select(browser.find_element(By.ID, "b-kind")).first_selected_option.get_attribute("value") == (
        "automatic"
    )
    # When they go to another screen and come back with the browser's "back"
    browser.find_element(By.CSS_SELECTOR, "#nav a[href='#/clients']").click()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-screen="clients"]'))
    browser.back()
    # Then the history is back with the invoice open
    wait_until(browser, lambda d: opened_subject(d) == "Factura A-1")
    wait_for_subjects(browser, ["Factura A-1"])


def test_a_link_to_a_message_opens_it_for_its_level_4_sender_and_is_refused_for_another(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a message the level-4 demo user sent by hand and one another level-4 user sent
    mine = send_email(
        tenant,
        "beto@example.com",
        "Mi aviso",
        client_id="CLI-2",
        kind="manual",
        created_by=demo_user(tenant, 4),
    )
    theirs = send_email(
        tenant,
        "ana@example.com",
        "Aviso de otro agente",
        client_id="CLI-1",
        kind="manual",
        created_by=f"otro-agente@{tenant.company_id}",
    )
    # When the level-4 user follows a link to their own message
    sign_in(browser, site.web, tenant, 4)
    open_screen(browser, "history", f"channel=email&message={mine}")
    # Then it is open below their list
    wait_until(browser, lambda d: opened_subject(d) == "Mi aviso")
    wait_for_subjects(browser, ["Mi aviso"])
    # When they follow a link to the other agent's message
    open_screen(browser, "history", f"channel=email&message={theirs}")
    # Then the console says, in Spanish, what the API answers (it is not in their history), shows
    # nothing of it, and the address is their list again
    toast_says(browser, f"no existe el mensaje de email '{theirs}' en su historial")
    wait_until(browser, lambda d: d.execute_script("return location.hash") == "#/history?channel=email")
    wait_for_subjects(browser, ["Mi aviso"])
    assert opened_subject(browser) is None
    assert "Aviso de otro agente" not in browser.find_element(By.TAG_NAME, "main").text


def test_messages_ticked_for_resending_are_still_ticked_after_a_reload_and_a_session_end(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given three invoices that went out
    first = send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    send_email(tenant, "beto@example.com", "Factura A-2", client_id="CLI-2")
    third = send_email(tenant, "carla@example.com", "Factura A-3", client_id="CLI-3")
    assert deliver_outboxes()["sent"] == 3
    # And a clerk on the history who ticks the first and the third
    sign_in(browser, site.web, tenant, 3, screen="history")
    wait_for_subjects(browser, ["Factura A-3", "Factura A-2", "Factura A-1"])
    tick(browser, "Factura A-1")
    tick(browser, "Factura A-3")
    # When they reload the page
    browser.refresh()
    # Then the same two are ticked, and the screen says how many are chosen
    wait_for_subjects(browser, ["Factura A-3", "Factura A-2", "Factura A-1"])
    wait_until(browser, lambda d: ticked(d) == ["Factura A-3", "Factura A-1"])
    assert browser.find_element(By.ID, "b-picked").text == "2 mensajes elegidos"
    # When the session has run out by the time they press "Reenviar los elegidos"
    expire_session(browser, tenant, 3)
    browser.find_element(By.ID, "b-resend").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # Then nothing was resent
    assert len(history_of(api, tenant)) == 3
    # When they sign in again
    sign_in_again(browser, tenant, 3)
    # Then the history is back with the same two ticked
    wait_for_subjects(browser, ["Factura A-3", "Factura A-2", "Factura A-1"])
    wait_until(browser, lambda d: ticked(d) == ["Factura A-3", "Factura A-1"])
    # When they press "Reenviar los elegidos"
    browser.find_element(By.ID, "b-resend").click()
    # Then exactly those two are resent, and nothing is ticked any more, nor kept in the tab
    toast_says(browser, "Reenviados: 2")
    wait_until(browser, lambda d: len(subjects(d)) == 5)
    resent = [m["resend_of"] for m in history_of(api, tenant) if m.get("resend_of")]
    assert sorted(resent) == sorted([first, third])
    assert ticked(browser) == []
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.picked')") is None


def test_messages_ticked_by_one_user_are_never_ticked_for_another_nor_after_salir(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given two invoices that went out, both ticked by the administrator when their session ended
    send_email(tenant, "ana@example.com", "Factura A-1", client_id="CLI-1")
    send_email(tenant, "beto@example.com", "Factura A-2", client_id="CLI-2")
    assert deliver_outboxes()["sent"] == 2
    sign_in(browser, site.web, tenant, 1, screen="history")
    wait_for_subjects(browser, ["Factura A-2", "Factura A-1"])
    tick(browser, "Factura A-1")
    tick(browser, "Factura A-2")
    expire_session(browser, tenant, 1)
    browser.find_element(By.ID, "b-resend").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When the supervisor signs in on the same tab
    sign_in_again(browser, tenant, 2)
    # Then the history is drawn for them with nothing ticked, and the ticks are gone from the tab
    wait_for_subjects(browser, ["Factura A-2", "Factura A-1"])
    assert ticked(browser) == []
    assert browser.find_element(By.ID, "b-picked").text == ""
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.picked')") is None
    # When the supervisor ticks one, leaves with "Salir" and signs in again
    tick(browser, "Factura A-1")
    wait_until(browser, lambda d: ticked(d) == ["Factura A-1"])
    sign_out(browser)
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.picked')") is None
    sign_in_again(browser, tenant, 2)
    # Then nothing is ticked, and nothing was resent
    wait_for_subjects(browser, ["Factura A-2", "Factura A-1"])
    assert ticked(browser) == []
    assert len(history_of(api, tenant)) == 2


def test_a_failed_messages_reason_reads_in_spanish_on_the_history_screen(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given an e-mail that failed because its area's sender account was disabled (its wait cancelled)
    queue_for_tracking(tenant, 1)
    assert put_tracking_account(api, tenant, mailbox, enabled=False).status_code == 200
    cancelled = api.http.post("/sender-accounts/tracking/waiting/cancel", headers=tenant.admin_headers())
    assert body(cancelled)["cancelled"] == 1, cancelled.body
    # When a clerk opens it from the history
    sign_in(browser, site.web, tenant, 3, screen="history")
    wait_for_subjects(browser, ["Factura 0"])
    browser.find_element(By.CSS_SELECTOR, ".b-history .b-view").click()
    wait_until(browser, lambda d: opened_subject(d) == "Factura 0")
    console_screenshot(browser, "history-failed-reason")
    # Then the state says which "No enviado" it is
    assert detail_says(browser, "Estado") == "No enviado (Falló)"
    # And the reason it failed reads in Spanish (the API answers the console's Accept-Language: es)
    shown = detail_says(browser, "Error")
    assert shown == (
        f"cancelado por admin@{tenant.company_id} mientras la cuenta de envío tracking estaba desactivada: "
        "nunca salió"
    )


def test_a_clients_code_in_the_history_opens_the_clients_page(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chalicelib.store.communications

    # Given a client and an e-mail sent to it
    put_client(api, tenant, "CLI-7", name="Ferretería Gómez")
    send_email(tenant, "ana@example.com", "Factura de noviembre", client_id="CLI-7")
    assert deliver_outboxes()["sent"] == 1
    # When staff read the history, the client is a link (seed 002's "Interna cliente")
    sign_in(browser, site.web, tenant, 3, screen="history")
    link = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-history tbody a.b-client-link"), seconds=20
    )
    assert link.text == "CLI-7"
    # Then following it opens the client's page, its card and its register
    link.send_keys(Keys.ENTER)
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Ferretería Gómez (CLI-7)")
    assert browser.find_elements(By.ID, "b-client-card")

    # Given a newer e-mail to the client, and a page that reads at most 1 message of the history
    # (a year's search reads 1,000 of a million: READ_PER_PAGE), so "noviembre" is a rare match
    send_email(tenant, "ana@example.com", "Aviso de corte", client_id="CLI-7")
    assert deliver_outboxes()["sent"] == 1
    monkeypatch.setattr(chalicelib.store.communications, "_PAGE_READ", 1)
    monkeypatch.setattr(chalicelib.store.communications, "READ_PER_PAGE", 1)
    # When the client's register is searched for "noviembre"
    # Then the first part holds no match: the console says so and keeps «Más», which finds it
    search_past_a_part(
        browser,
        "#b-register-filters button[type=submit]",
        "Nada en esta parte del registro; «Más» sigue buscando en los anteriores.",
        "register-part-without-matches",
    )
    wait_until(
        browser, lambda d: "Factura de noviembre" in d.find_element(By.CSS_SELECTOR, ".b-register").text
    )
    # When the history is searched the same way
    # Then it says the same of the history, and «Más» finds the e-mail
    open_screen(browser, "history")
    wait_until(browser, lambda d: subjects(d)[:1] == ["Aviso de corte"], seconds=20)
    search_past_a_part(
        browser,
        "#b-history-search",
        "Ninguno en esta parte del historial; «Más» sigue buscando en los anteriores.",
        "history-part-without-matches",
    )
    wait_for_subjects(browser, ["Factura de noviembre"])


def search_past_a_part(driver: Any, search_button: str, part: str, screenshot: str) -> None:
    """Search the screen's "Buscar" for "noviembre", see ``part`` said of a first part without a
    match, and press «Más»."""
    driver.find_element(By.ID, "b-q").send_keys("noviembre")
    driver.find_element(By.CSS_SELECTOR, search_button).click()
    wait_until(driver, lambda d: part in d.find_element(By.TAG_NAME, "main").text, seconds=20)
    console_screenshot(driver, screenshot)
    driver.find_element(By.CSS_SELECTOR, ".b-more").click()
