"""W2, the console's Clientes screen in Debian's Chromium: a clerk finds a client by what they
remember (part of the name, the code, an e-mail, a phone as typed) in a labelled search box, with
results as they type or on Enter, and an unknown code shows the way back (``GET /clients?q=``).
Screenshots: .local/screenshots/console/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    console_screenshot,
    demo_user,
    open_screen,
    sign_in,
    submit,
    toast_says,
    type_into,
    wait_until,
)
from tests.steps.tenants import Tenant, named_user

pytestmark = pytest.mark.browser
PHONES_HINT = "uno por línea, como se escriben (0351 15 123-4567)"  # the phones' hint, in the form


def names_listed(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('main tbody tr')].map(r => r.cells[1].textContent)"
        )
    )


def search_status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "b-client-search-status").text)


def described_by(driver: Any, control_id: str) -> list[str]:
    """The texts a screen reader says after a control's label: those its ``aria-describedby`` names,
    in order (an id naming nothing reads as nothing, and shows here as None)."""
    return list(
        driver.execute_script(
            "return (document.getElementById(arguments[0]).getAttribute('aria-describedby') || '')"
            ".split(/\\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent ?? null)",
            control_id,
        )
    )


def test_a_clerk_finds_a_client_by_what_they_remember_as_they_type(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given three clients of the company
    put_client(api, tenant, "FG-001", name="Ferretería Gómez", phones=["011 4555-1234"])
    put_client(api, tenant, "GZ-2", name="Gomez y Cía.")
    put_client(api, tenant, "AL-7", name="Almacén Álvarez")
    # When a clerk opens Clientes, every client is listed and a labelled search box is there
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients")
    box = wait_until(browser, lambda d: d.find_element(By.ID, "b-client-q"))
    wait_until(browser, lambda d: len(names_listed(d)) == 3)
    assert box.accessible_name.startswith("Buscar un cliente")
    # And types part of a name without its accent: the list narrows as they type, in name order
    box.send_keys("gomez")
    wait_until(browser, lambda d: names_listed(d) == ["Ferretería Gómez", "Gomez y Cía."])
    assert "«gomez»" in search_status(browser)
    console_screenshot(browser, "clients-search")
    # And a phone as people write it, with Enter
    box.clear()
    box.send_keys("(011) 4555 1234", Keys.ENTER)
    wait_until(browser, lambda d: names_listed(d) == ["Ferretería Gómez"])
    # And what matches nothing says so
    box.clear()
    box.send_keys("zapater")
    wait_until(browser, lambda d: search_status(d) == "Ningún cliente coincide con «zapater».")
    assert names_listed(browser) == []
    # And one letter with Enter is refused in Spanish beside the box
    box.clear()
    box.send_keys("z", Keys.ENTER)
    error = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#b-client-search .field-error"))
    assert "al menos 2 letras o dígitos" in error[0].text
    # And emptying the box lists every client again; a result opens the client's register
    box = browser.find_element(By.ID, "b-client-q")
    box.send_keys(Keys.BACKSPACE)
    wait_until(browser, lambda d: len(names_listed(d)) == 3)
    box.send_keys("alm", Keys.ENTER)
    wait_until(browser, lambda d: names_listed(d) == ["Almacén Álvarez"])
    browser.find_element(By.CSS_SELECTOR, "main tbody tr a").send_keys(Keys.ENTER)
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Almacén Álvarez (AL-7)")


def test_an_unknown_code_shows_the_way_back_to_clientes(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client
    put_client(api, tenant, "FG-001", name="Ferretería Gómez")
    # When a clerk opens a code that does not exist
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", "client=FG-999")
    back = wait_until(browser, lambda d: d.find_element(By.ID, "b-clients-back"))
    assert "No hay un cliente FG-999." in browser.find_element(By.TAG_NAME, "main").text
    # Then "← Clientes" takes them back to the list with its search box
    assert back.text == "← Clientes"
    back.send_keys(Keys.ENTER)
    wait_until(
        browser, lambda d: d.find_elements(By.ID, "b-client-q") and names_listed(d) == ["Ferretería Gómez"]
    )


def test_a_clerk_keeps_a_clients_card_and_ticks_a_contact_for_cargo_info(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client whose back office sent one contact, a balance and a classification
    contact = {"contact_id": "c1", "first_name": "Marta", "last_name": "Sosa", "email": "marta@norte.example"}
    put_client(
        api,
        tenant,
        "NT-1",
        name="Transportes Norte",
        contacts=[contact],
        balance="1500.00",
        classification={"zona": "norte"},
    )
    # and a directory user with no e-mail address (as the demo's admin@demo), whom *Agentes
    # preferidos* offers
    cashier = f"cobros@{tenant.company_id}"
    named_user(tenant.company_id, cashier, "Cobranzas Central", level=2)
    # When a clerk opens the client: its card shows the contact, not yet asking for cargo info
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", "client=NT-1")
    card = wait_until(browser, lambda d: d.find_element(By.ID, "b-client-card"))
    # (and both agent lists offer the user without an e-mail, as *Agentes preferidos* does: an
    # agent gets no e-mail as such)
    for name in ("preferred_agent", "collection_agent"):
        offered = Select(card.find_element(By.ID, f"b-card-{name}")).options
        assert f"Cobranzas Central ({cashier})" in [o.text for o in offered], name
    # (a clerk is not offered the client's data report: only administrators may ask for it)
    assert not browser.find_elements(By.ID, "b-access-report-ask")
    tick = card.find_element(By.NAME, "contacts[0].wants_cargo_info")
    assert tick.accessible_name.startswith("Desea recibir información de carga") and not tick.is_selected()
    # And ticks it (seed 000's "Desea Enviarse información de Carga"), adds an e-mail line, stops
    # the invoice e-mails, and adds a contact whose e-mail is mistyped
    browser.execute_script("arguments[0].scrollIntoView()", tick)
    tick.click()
    card.find_element(By.ID, "b-card-emails").send_keys("\ncompras@norte.example")
    card.find_element(By.NAME, "switch.invoice").click()
    # and makes themselves its preferred agent (a user id that is an e-mail address, as the
    # directory's users' are)
    clerk = demo_user(tenant, 3)
    Select(card.find_element(By.ID, "b-card-preferred_agent")).select_by_value(clerk)
    Select(card.find_element(By.ID, "b-card-collection_agent")).select_by_value(cashier)
    type_into(browser, "b-card-contact-1-first_name", "Raúl")
    type_into(browser, "b-card-contact-1-last_name", "Díaz")
    type_into(browser, "b-card-contact-1-email", "raul@")
    browser.execute_script("arguments[0].noValidate = true", card)  # the API's refusal, not the browser's
    submit(browser, "b-client-card")
    # Then the refusal is shown next to the new contact's e-mail, and nothing is saved
    error = wait_until(browser, lambda d: d.find_elements(By.ID, "b-card-contact-1-email-error"))
    assert error[0].text
    assert len(body(api.http.get("/clients/NT-1", headers=tenant.key_headers()))["contacts"]) == 1
    # When the e-mail is corrected and the card saved
    type_into(browser, "b-card-contact-1-email", "raul@norte.example")
    submit(browser, "b-client-card")
    toast_says(browser, "Datos del cliente guardados")
    # Then the client reads back as the clerk left it, and what the card does not show is kept
    saved = body(api.http.get("/clients/NT-1", headers=tenant.key_headers()))
    assert saved["emails"] == ["nt-1@example.com", "compras@norte.example"]
    assert saved["message_switches"]["invoice"] is False and saved["message_switches"]["tracking"] is True
    assert [(c["first_name"], c["email"], c["wants_cargo_info"]) for c in saved["contacts"]] == [
        ("Marta", "marta@norte.example", True),
        ("Raúl", "raul@norte.example", False),
    ]
    assert saved["balance"] == "1500.00" and saved["classification"] == {"zona": "norte"}
    assert (saved["preferred_agent"], saved["collection_agent"]) == (clerk, cashier)
    # When the company's ERP then changes the client's balance while the card stays open
    put_client(api, tenant, "NT-1", name="Transportes Norte", contacts=saved["contacts"], balance="900.00")
    # And the clerk stops the statements and saves the card again
    card = browser.find_element(By.ID, "b-client-card")
    card.find_element(By.NAME, "switch.statement").click()
    submit(browser, "b-client-card")
    # Then the clerk is told the client changed meanwhile (not by whom) and offered to reload it
    shown = "#b-client-card .edited-meanwhile"
    notice = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, shown))
    assert "No se guardó" in notice.text and "el sistema de la empresa" in notice.text
    # And nothing was saved: the ERP's balance stands, the statements still go
    erp = body(api.http.get("/clients/NT-1", headers=tenant.key_headers()))
    assert erp["balance"] == "900.00" and erp["message_switches"]["statement"] is True
    # When the clerk reloads the client: the card shows it as stored, and saving it keeps the balance
    notice.find_element(By.CSS_SELECTOR, "button.reload").click()
    wait_until(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#b-client-card button[type=submit]")
            and not d.find_elements(By.CSS_SELECTOR, ".edited-meanwhile")
        ),
    )
    submit(browser, "b-client-card")
    toast_says(browser, "Datos del cliente guardados")
    assert body(api.http.get("/clients/NT-1", headers=tenant.key_headers()))["balance"] == "900.00"
    # And a parcel then issued for the client is followed for Marta, with no more steps
    issued = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "NT-777", "client_id": "NT-1", "waybill_issued": True}),
    )
    assert issued.status_code in (200, 201), issued.body
    followers = body(api.http.get("/parcels/NT-777/subscriptions", headers=tenant.staff_headers()))["items"]
    assert [s["email"] for s in followers] == ["marta@norte.example"]
    # And the client's payment notices (seed 001's "Avisos" tab) are one link away from its page
    browser.find_element(By.ID, "b-client-reminders").send_keys(Keys.ENTER)
    wait_until(browser, lambda d: d.execute_script("return location.hash") == "#/reminders?client=NT-1")


def test_a_clerk_adds_a_client_and_a_code_in_use_is_refused_beside_it_replacing_nothing(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client the company's system pushed
    put_client(api, tenant, "FG-001", name="Ferretería Gómez", phones=["011 4555-1234"])
    before = body(api.http.get("/clients/FG-001", headers=tenant.key_headers()))
    # When a clerk opens Clientes and fills in "Alta de cliente" with a phone that is no phone
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-new-client"))
    browser.execute_script("arguments[0].noValidate = true", form)  # the API's refusal, not the browser's
    type_into(browser, "b-new-client-id", "FG-002")
    type_into(browser, "b-new-client-name", "Ferretería del Sur")
    type_into(browser, "b-new-client-emails", "compras@sur.example")
    form.find_element(By.ID, "b-new-client-phones").send_keys("0351 15 555-1234\n12")
    type_into(browser, "b-new-client-classification", "zona=sur")
    type_into(browser, "b-card-contact-0-first_name", "Raúl")
    type_into(browser, "b-card-contact-0-last_name", "Díaz")
    type_into(browser, "b-card-contact-0-email", "raul@sur.example")
    form.find_element(By.NAME, "switch.invoice").click()
    submit(browser, "b-new-client")
    # Then the API's refusal is shown in Spanish beside the phones, naming the line, and nothing is saved
    error = wait_until(browser, lambda d: d.find_elements(By.ID, "b-new-client-phones-error"))
    assert error[0].text.startswith("línea 2: ")
    assert api.http.get("/clients/FG-002", headers=tenant.key_headers()).status_code == 404
    # And the phones are described by their hint, then the error: a screen reader says both
    assert described_by(browser, "b-new-client-phones") == [PHONES_HINT, error[0].text]
    # When the clerk fixes the phone but types the code of the client that exists
    phones = browser.find_element(By.ID, "b-new-client-phones")
    phones.clear()
    phones.send_keys("0351 15 555-1234")
    code = browser.find_element(By.ID, "b-new-client-id")
    code.clear()
    code.send_keys("FG-001")
    submit(browser, "b-new-client")
    # Then it is refused beside the code, in Spanish, and that client is not replaced
    error = wait_until(browser, lambda d: d.find_elements(By.ID, "b-new-client-id-error"))
    assert error[0].text.startswith("ya hay un cliente 'FG-001'")
    # (the code is described by its hint and this error; the fixed phones by their hint alone again)
    code_hint = "letras, dígitos, «_», «.» o «-»; el mismo que en el sistema de la empresa"
    assert described_by(browser, "b-new-client-id") == [code_hint, error[0].text]
    assert described_by(browser, "b-new-client-phones") == [PHONES_HINT]
    assert not browser.find_elements(By.CSS_SELECTOR, "#b-new-client .edited-meanwhile")
    assert body(api.http.get("/clients/FG-001", headers=tenant.key_headers())) == before
    # When the clerk gives it a code of its own
    code = browser.find_element(By.ID, "b-new-client-id")
    code.clear()
    code.send_keys("FG-002")
    submit(browser, "b-new-client")
    # Then the client is added and its page opens at its card
    toast_says(browser, "Cliente dado de alta: Ferretería del Sur (FG-002)")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Ferretería del Sur (FG-002)")
    card = wait_until(browser, lambda d: d.find_element(By.ID, "b-client-card"))
    assert card.find_element(By.ID, "b-card-name").get_attribute("value") == "Ferretería del Sur"
    console_screenshot(browser, "clients-added")
    # And it is stored as typed: phone in E.164, the invoices off, its classification and contact
    added = body(api.http.get("/clients/FG-002", headers=tenant.key_headers()))
    assert added["phones"] == ["+5493515551234"] and added["emails"] == ["compras@sur.example"]
    assert added["message_switches"]["invoice"] is False and added["message_switches"]["tracking"] is True
    assert added["classification"] == {"zona": "sur"}
    assert [(c["first_name"], c["email"]) for c in added["contacts"]] == [("Raúl", "raul@sur.example")]
    # And the search finds it by its contact's e-mail
    answer = api.http.get("/clients?q=raul%40sur.example", headers=tenant.staff_headers())
    assert [c["client_id"] for c in body(answer)["items"]] == ["FG-002"]


def test_an_administrator_asks_for_a_clients_data_report_and_downloads_it_from_the_card(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from tests.steps.history import run_export_workers

    # Given a client
    put_client(api, tenant, "FG-001", name="Ferretería Gómez", emails=["compras@gomez.example"])
    # When the administrator opens it and asks for «Informe de datos del cliente»
    sign_in(browser, site.web, tenant, 1)
    open_screen(browser, "clients", "client=FG-001")
    ask = wait_until(browser, lambda d: d.find_element(By.ID, "b-access-report-ask"))
    browser.execute_script("arguments[0].scrollIntoView()", ask)
    ask.click()
    # Then it is being prepared; once its worker has run, the card offers its ZIP
    wait_until(browser, lambda d: "Preparando el informe" in d.find_element(By.ID, "b-access-report").text)
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}]
    wait_until(browser, lambda d: d.find_elements(By.ID, "b-access-report-file"))
