"""W2: a new company's first week in the console, in Debian's Chromium: what stopped or confused
its office staff as they set the company up (an administrator), looked up a client's history and
wrote a note (a clerk, level 3). Each test is one thing a person tripped on, fixed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    demo_user,
    open_screen,
    sign_in,
    submit,
    toast_says,
    type_into,
    wait_until,
    what_reads_wrong,
)
from tests.steps.notes import add_department, client_notes, staff_headers, write_note
from tests.steps.sends import expand_pages
from tests.steps.tenants import SMTP_PASSWORD, SMTP_USER, Tenant, smtp_sender_account

pytestmark = pytest.mark.browser


def test_a_country_typed_wrong_is_refused_in_words_not_as_a_regular_expression(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the company's settings
    sign_in(browser, site.web, tenant, level=1, screen="company")
    before = body(api.http.get("/company", headers=bearer(tenant, 1)))["country"]
    # When they type one letter for the country and save
    type_into(browser, "company-country", "A")
    submit(browser, "company-settings-form")
    # Then the field says in words what it takes, keeps the letter typed and has the focus
    country = browser.find_element(By.ID, "company-country")
    wait_until(browser, lambda d: d.switch_to.active_element == country)
    assert country.get_attribute("validationMessage") == "Escriba las dos letras del país, como AR, ES o MX."
    assert country.get_attribute("value") == "A"
    # And no regular expression is shown anywhere (the API's refusal read "no tiene el formato
    # esperado (^[A-Za-z]{2}$)"), and the company's country did not change
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "^[" not in page and "formato esperado" not in page, page
    assert body(api.http.get("/company", headers=bearer(tenant, 1)))["country"] == before
    # When they type two letters, Then it saves
    type_into(browser, "company-country", "ES")
    submit(browser, "company-settings-form")
    toast_says(browser, "Ajustes de la empresa guardados.")
    assert body(api.http.get("/company", headers=bearer(tenant, 1)))["country"] == "ES"
    assert what_reads_wrong(browser) == []


def test_a_new_accounts_status_says_it_works_once_its_password_is_set(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, mailbox: Any
) -> None:
    # Given the administrator setting up the invoices' sender account on the company's SMTP server
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts", "area=invoices")
    type_into(browser, "area-invoices-display_name", "Facturación")
    type_into(browser, "area-invoices-from_address", "facturas@cargasdelsur.example")
    type_into(browser, "area-invoices-smtp_host", "127.0.0.1")
    type_into(browser, "area-invoices-smtp_port", str(mailbox.port))
    type_into(browser, "area-invoices-username", SMTP_USER)
    Select(browser.find_element(By.ID, "area-invoices-encryption")).select_by_value("none")
    submit(browser, "area-invoices-form")
    toast_says(browser, "Cuenta del área de facturas guardada.")

    def status(driver: Any) -> str:
        card = driver.find_element(By.CSS_SELECTOR, '[data-account="area-invoices"]')
        return str(card.find_element(By.CLASS_NAME, "account-status").text)

    # Then, with no password yet, the card says so
    wait_until(browser, lambda d: status(d).startswith("No funciona · contraseña sin cargar"))
    # When they type the address for a test send, then set the password
    type_into(browser, "area-invoices-test-to", "yo@cargasdelsur.example")
    type_into(browser, "area-invoices-password", SMTP_PASSWORD)
    submit(browser, "area-invoices-password-form")
    toast_says(browser, "Contraseña guardada.")
    # Then the card says what the API now says: it works and its password is saved (it kept saying
    # "No funciona · contraseña sin cargar" until the page was loaded again)
    wait_until(browser, lambda d: status(d).startswith("Funciona · contraseña guardada"))
    listed = body(api.http.get("/sender-accounts", headers=bearer(tenant, 1)))["items"]
    assert [a["working"] for a in listed if a["area"] == "invoices"] == [True]
    # And the address typed for the test send is still there
    test_to = browser.find_element(By.ID, "area-invoices-test-to")
    assert test_to.get_attribute("value") == "yo@cargasdelsur.example"

    # When they change the account's user, the form says before saving that it removes the password
    # (it is bound to the server and user it was loaded for: decision 0004)
    hint = browser.find_element(By.ID, "area-invoices-password-rebound")
    assert hint.text == ""
    type_into(browser, "area-invoices-username", "facturacion")
    removes = "Al cambiar el usuario se borra la contraseña guardada"
    wait_until(browser, lambda d: hint.text.startswith(removes))
    # And once saved, the toast and the card's status say it was removed and why
    submit(browser, "area-invoices-form")
    toast_says(browser, "Cuenta del área de facturas guardada. Se borró su contraseña al cambiar el usuario")
    wait_until(
        browser,
        lambda d: status(d).startswith("No funciona · contraseña sin cargar: se borró al cambiar el usuario"),
    )


def test_a_clerk_goes_from_a_clients_history_to_their_notes_and_writes_one(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a department the administrator put the clerk (level 3) and the agent (level 4) in, two
    # clients, and a note the agent wrote on each
    add_department(api, tenant, "ventas", "Ventas")
    for level in (3, 4):
        placed = api.http.put(
            f"/staff/users/{demo_user(tenant, level)}",
            headers=tenant.admin_headers(),
            body=json.dumps({"level": level, "department": "ventas"}),
        )
        assert placed.status_code == 201, placed.body
    put_client(api, tenant, "CLI-7", name="Ferretería Núñez")
    put_client(api, tenant, "CLI-8", name="Otra Ferretería")
    agent = staff_headers(tenant, demo_user(tenant, 4), 4, department="ventas")
    write_note(api, agent, "CLI-7", "Visitado: pide lista de precios")
    write_note(api, agent, "CLI-8", "Nota de otro cliente")
    # When the clerk (level 3) opens the client's history
    sign_in(browser, site.web, tenant, level=3)
    open_screen(browser, "clients", "client=CLI-7")
    # Then it links to the client's notes, and following it shows that client's notes only
    wait_until(browser, lambda d: d.find_element(By.ID, "b-client-notes")).click()

    def notes_shown(driver: Any) -> list[str]:
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-notes-report tbody tr')]"
                ".map(r => r.cells[5].textContent)"
            )
        )

    wait_until(browser, lambda d: notes_shown(d) == ["Visitado: pide lista de precios"])
    # And the new note's client is already filled in: they type the note and save it
    assert browser.find_element(By.ID, "b-note_client").get_attribute("value") == "CLI-7"
    type_into(browser, "b-note", "Llamó: paga la factura el lunes")
    submit(browser, "b-write-note")
    toast_says(browser, "Nota guardada")
    # Then it is the client's, and the report shows it beside the other
    wait_until(
        browser,
        lambda d: (
            sorted(notes_shown(d)) == ["Llamó: paga la factura el lunes", "Visitado: pide lista de precios"]
        ),
    )
    assert "Llamó: paga la factura el lunes" in client_notes(api, tenant.admin_headers(), "CLI-7")
    assert what_reads_wrong(browser) == []


def send_the_distributors_notice(api: Client, tenant: Tenant, mailbox: Any) -> None:
    """The distributor's company account, its own notice template and a send of it to two clients
    that their supervisor (level 2), Marta Gómez in the staff directory, started."""
    named = api.http.put(
        f"/staff/users/{demo_user(tenant, 2)}",
        headers=tenant.admin_headers(),
        body=json.dumps({"level": 2, "name": "Marta Gómez", "email": "marta@cargasdelsur.example"}),
    )
    assert named.status_code in (200, 201), named.body
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora", "info@cargasdelsur.example")
    notice = {"subject": "Aviso", "text": "Hola {{ client.name }}", "html": "<p>Hola {{ client.name }}</p>"}
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(notice))
    assert saved.status_code == 200, saved.body
    for client_id in ("CLI-1", "CLI-2"):
        put_client(api, tenant, client_id)
    data = {"channel": "email", "template": "custom:aviso", "client_ids": ["CLI-1", "CLI-2"], "variables": {}}
    started = api.http.post("/sends", headers=bearer(tenant, 2), body=json.dumps(data))
    assert started.status_code == 201, started.body


def test_recent_send_jobs_name_their_template_by_its_title_not_its_key(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, mailbox: Any
) -> None:
    # Given a send of the distributor's own notice to two clients
    send_the_distributors_notice(api, tenant, mailbox)
    # When the administrator opens the sends screen
    sign_in(browser, site.web, tenant, level=1, screen="sends")

    def templates_listed(driver: Any) -> list[str]:
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('.b-jobs tbody tr')].map(r => r.cells[3].textContent)"
            )
        )

    # Then the recent job names its template as the form offers it, not by its key "custom:aviso"
    wait_until(browser, lambda d: templates_listed(d) == ["Plantilla propia «aviso»"])
    # And who started it by name, not by user id
    started_by = browser.execute_script(
        "return [...document.querySelectorAll('.b-jobs tbody tr')].map(r => r.cells[1].textContent)"
    )
    assert started_by == ["Marta Gómez"], started_by
    assert what_reads_wrong(browser) == []


def test_a_message_in_the_history_says_what_it_is_by_name_not_by_code(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, mailbox: Any
) -> None:
    # Given a message of a send of the distributor's own notice
    send_the_distributors_notice(api, tenant, mailbox)
    expand_pages()
    items = body(api.http.get("/history/email?client=CLI-1", headers=bearer(tenant, 1)))["items"]
    assert [m["message_type"] for m in items] == ["custom:aviso"]
    # When a clerk opens it in the history
    sign_in(browser, site.web, tenant, level=3)
    open_screen(browser, "history", f"channel=email&message={items[0]['communication_id']}")

    def described(driver: Any) -> dict[str, str]:
        return dict(
            driver.execute_script(
                "return [...document.querySelectorAll('.b-detail dt')]"
                ".map(dt => [dt.textContent, dt.nextElementSibling.textContent])"
            )
        )

    # Then its type reads as the template's title, not "Manual · custom:aviso"
    kind = wait_until(browser, lambda d: described(d).get("Tipo"))
    assert kind.endswith(" · Plantilla propia «aviso»") and "custom:" not in kind, kind
    # And who sent it by name, not by user id
    assert described(browser)["Creado por"] == "Marta Gómez"


def test_a_clients_register_says_who_wrote_a_record_by_name(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client, and the clerk (level 3) on the client's register
    put_client(api, tenant, "CLI-7", name="Ferretería Núñez")
    sign_in(browser, site.web, tenant, level=3)
    open_screen(browser, "clients", "client=CLI-7")
    # When they note a call by hand
    type_into(browser, "b-subject", "Llamó por su saldo")
    submit(browser, "b-add-record")

    def written_by(driver: Any) -> list[str]:
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('.b-register tbody tr')]"
                ".map(r => r.cells[7].textContent)"
            )
        )

    # Then the register says who wrote it by their name, not by their user id (clerk@<company>;
    # with Cognito, a UUID)
    wait_until(browser, lambda d: written_by(d) == ["Atención al cliente"])
    assert what_reads_wrong(browser) == []


def test_a_keyboard_reaches_a_templates_subject_without_tabbing_through_every_variable(
    tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    # Given the administrator on the tracking alert's template, which offers dozens of variables
    sign_in(browser, site.web, tenant, level=1, screen="templates")
    browser.find_element(By.CSS_SELECTOR, 'tr[data-template="tracking_alert"] a').click()
    wait_until(browser, lambda d: d.find_element(By.ID, "preview-subject").text)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".chips button")) > 20
    back = browser.find_element(By.LINK_TEXT, "← Plantillas")
    browser.execute_script("arguments[0].focus()", back)
    # When they press Tab from the way back to the list
    ActionChains(browser).send_keys(Keys.TAB).perform()
    # Then the first stop offers to skip the variables, in sight
    skip = browser.switch_to.active_element
    assert skip.text == "Saltar las variables: ir a Asunto"
    assert skip.is_displayed() and skip.size["width"] > 50
    # When they press Enter, Then they are on Asunto, and Tab goes on through the fields
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait_until(browser, lambda d: d.switch_to.active_element.get_attribute("id") == "template-subject")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "template-html"
    # And the skip is out of sight for whoever does not use the keyboard
    assert browser.find_element(By.ID, "template-skip-variables").size["width"] <= 1


def test_a_parcel_typed_in_lower_case_is_found_and_its_client_is_a_link_to_their_page(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a parcel of the client CLI-1 that the carrier issued as AB-1001
    put_client(api, tenant, "CLI-1", name="Ferretería Núñez")
    issued = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "AB-1001", "client_id": "CLI-1", "waybill_issued": True}),
    )
    assert issued.status_code in (200, 201), issued.body
    # When a clerk looks it up on Seguimientos typing it as read over the phone, in lower case
    sign_in(browser, site.web, tenant, level=3, screen="followups")
    box = wait_until(browser, lambda d: d.find_element(By.ID, "parcel-lookup-id"))
    box.send_keys("ab-1001")
    box.submit()
    # Then the parcel is found, named as the carrier spells it
    history = wait_until(browser, lambda d: d.find_element(By.ID, "parcel-history"))
    assert "Recorrido de AB-1001" in history.text
    # When they follow its client, Then they are on the client's page
    history.find_element(By.LINK_TEXT, "CLI-1").click()
    wait_until(browser, lambda d: "Ferretería Núñez" in d.find_element(By.TAG_NAME, "main").text)
    assert browser.execute_script("return location.hash") == "#/clients?client=CLI-1"
    assert what_reads_wrong(browser) == []


def test_an_unknown_client_code_says_so_with_the_way_back_to_the_list(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a clerk who opens a client's page by a code no client has (an old link, a typo)
    put_client(api, tenant, "CLI-7", name="Ferretería Núñez")
    sign_in(browser, site.web, tenant, level=3)
    open_screen(browser, "clients", "client=CLI-404")
    main = wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "main"))
    wait_until(browser, lambda d: "No hay un cliente CLI-404." in main.text)
    # When they follow "← Clientes", Then they are on the list of clients again
    main.find_element(By.LINK_TEXT, "← Clientes").click()
    wait_until(browser, lambda d: "CLI-7" in d.find_element(By.TAG_NAME, "main").text)
    assert browser.execute_script("return location.hash") == "#/clients"


def test_staff_without_a_department_are_flagged_with_why_they_cannot_write_notes(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a new company's department, an agent placed in it, and a clerk not placed in any
    add_department(api, tenant, "ventas", "Ventas")
    for level, department in ((3, None), (4, "ventas")):
        placed = api.http.put(
            f"/staff/users/{demo_user(tenant, level)}",
            headers=tenant.admin_headers(),
            body=json.dumps({"level": level, "department": department}),
        )
        assert placed.status_code in (200, 201), placed.body
    # When the administrator opens Personal de la empresa
    sign_in(browser, site.web, tenant, level=1, screen="staff")
    rows = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#staff-users tbody tr[data-user]"))
    by_user = {row.get_attribute("data-user"): row.text for row in rows}
    # Then the clerk's row says they cannot write notes without a department, the agent's does not
    assert "Sin departamento: no puede escribir notas" in by_user[demo_user(tenant, 3)]
    assert "Ventas" in by_user[demo_user(tenant, 4)]
    assert "Sin departamento" not in by_user[demo_user(tenant, 4)]
    # And a line above the list says why and what to do
    why = browser.find_element(By.ID, "staff-without-department").text
    assert "no tienen departamento" in why or "no tiene departamento" in why
    assert "no pued" in why and "escribir notas" in why and "Departamento" in why
    assert what_reads_wrong(browser) == []
