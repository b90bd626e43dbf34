"""W2, the console's notes, reminders and documents screens in Debian's Chromium: bulk statements
whose progress bar reaches 100 % with the skipped clients and why (D2), a note written and the
notes report as each level may see it (N1-N3), and the reminder concepts with one added (R1).

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server; mail goes to the real SMTP catcher. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    all_drawn,
    console_screenshot,
    count_calls,
    demo_user,
    expire_session,
    open_screen,
    sign_in,
    sign_in_again,
    wait_until,
)
from tests.steps.notes import add_department, client_notes, staff_headers, write_note
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

pytestmark = pytest.mark.browser


def bulk_progress(driver: Any) -> int:
    """The last progress bar's value, read in one script: the screen redraws it as it polls, so a
    bar found by one WebDriver call may be gone by the next (a stale element)."""
    value = driver.execute_script(
        "const bars = document.querySelectorAll('#b-bulk-status [role=progressbar]');"
        "return bars.length ? bars[bars.length - 1].getAttribute('aria-valuenow') : null;"
    )
    return int(value) if value is not None else -1


def test_bulk_statements_show_their_progress_to_100_and_who_was_skipped(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements
    from chalicelib.tenants.clients import save_client

    # Given five clients with open movements, one of them without an e-mail address, and a sixth
    # who owes nothing
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    for n in range(1, 7):
        client_id = f"C{n:04d}"
        save_client(
            tenant.company_id,
            client_id,
            name=f"Cliente {n}",
            emails=[] if n == 5 else [f"{client_id.lower()}@clientes.example"],
            phones=[],
            contacts=[],
            message_switches={},
            preferred_agent=None,
            collection_agent=None,
            classification={},
        )
        movement = Movement("2026-10-01", f"A-0001-{n:08d}", f"{1000 + n}.50", "Factura", "2026-10-31")
        save_open_movements(tenant.company_id, client_id, [movement] if n < 6 else [], None)
    # When an administrator sends statements to every client from the documents screen, those
    # who owe nothing too
    sign_in(browser, site.web, tenant, 1, screen="documents")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-bulk-statements"), seconds=20)
    form.find_element(By.NAME, "include_settled").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then its progress bar reaches 100 % while the workers run, and the client with no e-mail is skipped
    wait_until(
        browser,
        lambda d: bulk_progress(d) >= 0 or d.find_elements(By.CSS_SELECTOR, ".toast-error"),
        seconds=20,
    )
    assert bulk_progress(browser) >= 0, browser.find_element(By.ID, "toasts").text
    deadline = time.monotonic() + 90
    while bulk_progress(browser) < 100 and time.monotonic() < deadline:
        deliver_outboxes()
        time.sleep(0.3)
    status = wait_until(
        browser,
        lambda d: d.find_element(By.ID, "b-bulk-status") if bulk_progress(d) == 100 else None,
        seconds=20,
    )
    wait_until(browser, lambda d: "enviados 5" in status.text, seconds=20)
    assert "omitidos 1" in status.text and "clientes sin dirección de e-mail: 1" in status.text
    console_screenshot(browser, "documents-bulk-statements")
    assert len(mailbox.wait_for(5)) == 5


def test_a_statement_sent_twice_unchanged_says_it_went_before_and_after_a_payment_goes_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, mailbox: MailCatcher
) -> None:
    from chalicelib.core.domain import Movement
    from chalicelib.producers.documents.settings import save_open_movements

    # Given a client owing two invoices
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    put_client(api, tenant, "C0001", emails=["c0001@clientes.example"])
    invoices = [Movement("2026-10-01", f"A-0001-{n:08d}", f"{n}00", "Factura") for n in (5, 3)]
    save_open_movements(tenant.company_id, "C0001", invoices, None)
    sign_in(browser, site.web, tenant, 1, screen="documents")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-one-statement"), seconds=20)

    def send_statement() -> str:
        """Staff ask for the client's statement; what the screen answers."""
        browser.execute_script("document.getElementById('b-one-statement-sent').replaceChildren()")
        form.find_element(By.NAME, "statement_client").clear()
        form.find_element(By.NAME, "statement_client").send_keys("C0001")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        return str(wait_until(browser, lambda d: d.find_element(By.ID, "b-one-statement-sent").text))

    # When staff send its statement, then press the button again
    assert "estado_de_cuenta_EC-C0001-" in send_statement()
    # Then the screen says the same statement went today, and nothing more is sent
    assert "Ya se envió hoy este mismo estado de cuenta" in send_statement()
    # When the client pays one invoice and staff send the statement again
    save_open_movements(tenant.company_id, "C0001", invoices[:1], None)
    answer = send_statement()
    # Then a new statement goes, numbered apart
    assert "-2.pdf" in answer and "Ya se envió" not in answer
    deliver_outboxes()
    assert len(mailbox.wait_for(2)) == 2


def test_a_note_is_written_and_the_report_shows_each_level_what_it_may_see(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a department, a client, and the clerk (level 3) and the agent (level 4) in it
    add_department(api, tenant, "ventas", "Ventas")
    answer = api.http.put(
        "/clients/CLI-1", headers=tenant.key_headers(), body=json.dumps({"name": "Ana García", "emails": []})
    )
    assert answer.status_code == 200, answer.body
    people = {
        level: staff_headers(tenant, demo_user(tenant, level), level, department="ventas") for level in (3, 4)
    }
    for headers in people.values():  # each enters the staff directory with the department
        assert api.http.get("/staff/me", headers=headers).status_code == 200
    write_note(api, people[4], "CLI-1", "Visita del agente: pidió catálogo")
    # When the clerk writes a note on the client from the notes screen
    sign_in(browser, site.web, tenant, 3, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"), seconds=20)
    # (the report's filters offer every branch and every department, each in its own gender)
    assert [
        Select(browser.find_element(By.ID, f"b-{name}")).first_selected_option.text
        for name in ("branch", "department")
    ] == ["(todas)", "(todos)"]
    form.find_element(By.NAME, "note_client").send_keys("CLI-1")
    form.find_element(By.NAME, "note").send_keys("Llamó para pagar <script>alert(1)</script>")
    form.find_element(By.NAME, "treatment").send_keys("Volver a llamar en 2 meses")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def notes(driver: Any) -> list[str]:
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-notes-report tbody tr')]"
                ".map(r => r.cells[5].textContent)"
            )
        )

    # Then the report (level 3: its department) lists both notes, the clerk's as typed
    wait_until(browser, lambda d: len(notes(d)) == 2, seconds=20)
    assert sorted(notes(browser)) == sorted(
        ["Llamó para pagar <script>alert(1)</script>", "Visita del agente: pidió catálogo"]
    )
    browser.execute_script("document.getElementById('b-notes-report').scrollIntoView()")
    console_screenshot(browser, "notes-report")
    # And the agent (level 4) sees only their own note
    sign_in(browser, site.web, tenant, 4, screen="notes")
    wait_until(browser, lambda d: notes(d) == ["Visita del agente: pidió catálogo"], seconds=20)


def test_a_double_click_on_save_writes_the_note_once(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client, and the clerk (in a department, as writing notes needs) on the notes screen
    # with a note typed
    answer = api.http.put(
        "/clients/CLI-2", headers=tenant.key_headers(), body=json.dumps({"name": "Juan Pérez", "emails": []})
    )
    assert answer.status_code == 200, answer.body
    added = api.http.post(
        "/staff/units/departments",
        headers=tenant.admin_headers(),
        body=json.dumps({"code": "cobranzas", "name": "Cobranzas"}),
    )
    assert added.status_code in (200, 201), added.body
    clerk = staff_headers(tenant, demo_user(tenant, 3), 3, department="cobranzas")
    assert api.http.get("/staff/me", headers=clerk).status_code == 200  # in the directory, in it
    sign_in(browser, site.web, tenant, 3, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"), seconds=20)
    form.find_element(By.NAME, "note_client").send_keys("CLI-2")
    form.find_element(By.NAME, "note").send_keys("Pidió la factura de octubre")
    # When they double-click "Guardar nota" (as people do on buttons that seem slow)
    count_calls(browser)
    ActionChains(browser).double_click(form.find_element(By.CSS_SELECTOR, "button[type=submit]")).perform()
    # Then the note is saved once: the console says so, and the client has one note, not two
    wait_until(browser, lambda d: "Nota guardada" in d.find_element(By.ID, "toasts").text, seconds=20)
    wait_until(browser, lambda d: d.find_element(By.NAME, "note").get_attribute("value") == "", seconds=20)
    all_drawn(browser)  # (a second request, were one sent, has been answered by now)
    assert client_notes(api, tenant.admin_headers(), "CLI-2") == ["Pidió la factura de octubre"]
    # And the button may be pressed again for the next note
    button = browser.find_element(By.CSS_SELECTOR, "#b-write-note button[type=submit]")
    assert button.get_attribute("aria-disabled") is None


def test_a_note_typed_when_the_session_ends_is_back_after_signing_in_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the notes screen, a note typed on a client
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"))
    form.find_element(By.NAME, "note_client").send_keys("CLI-1")
    form.find_element(By.NAME, "note").send_keys("Llamó: quiere pagar la factura en dos cuotas")
    form.find_element(By.NAME, "location").send_keys("Carpeta azul")
    # When the session has run out by the time they press "Guardar nota"
    expire_session(browser, tenant, 1)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then they are sent to sign in
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When they sign in again
    sign_in_again(browser, tenant, 1)
    # Then the notes screen is back with the note as they had typed it, for them to save
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    wait_until(
        browser, lambda d: note.get_attribute("value") == "Llamó: quiere pagar la factura en dos cuotas"
    )
    assert (
        browser.find_element(By.CSS_SELECTOR, "#b-write-note [name=note_client]").get_attribute("value")
        == "CLI-1"
    )
    assert (
        browser.find_element(By.CSS_SELECTOR, "#b-write-note [name=location]").get_attribute("value")
        == "Carpeta azul"
    )
    # And it is kept no longer: a reload draws the screen empty
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None
    browser.refresh()
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    assert note.get_attribute("value") == ""


def test_a_draft_is_never_shown_to_another_user_who_signs_in(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator's note left when their session ended
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"))
    form.find_element(By.NAME, "note_client").send_keys("CLI-1")
    form.find_element(By.NAME, "note").send_keys("Dato reservado del cliente")
    expire_session(browser, tenant, 1)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When another user signs in on the same tab
    sign_in_again(browser, tenant, 2)
    # Then the notes screen is drawn empty for them, and the draft is gone
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    assert note.get_attribute("value") == ""
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None


def test_a_note_typed_when_the_page_is_reloaded_after_the_session_ended_is_back_after_signing_in(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the notes screen, a note typed on a client
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"))
    form.find_element(By.NAME, "note_client").send_keys("CLI-1")
    form.find_element(By.NAME, "note").send_keys("Pide que lo llamen después de las 15")
    # When the session has run out and they reload the page
    expire_session(browser, tenant, 1)
    browser.refresh()
    # Then they are sent to sign in
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When they sign in again
    sign_in_again(browser, tenant, 1)
    # Then the notes screen is back with the note as they had typed it
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    wait_until(browser, lambda d: note.get_attribute("value") == "Pide que lo llamen después de las 15")
    assert (
        browser.find_element(By.CSS_SELECTOR, "#b-write-note [name=note_client]").get_attribute("value")
        == "CLI-1"
    )
    wait_until(browser, lambda d: "Se recuperó lo que había escrito" in d.find_element(By.ID, "toasts").text)
    # And it is kept no longer
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None


def test_a_reload_while_the_session_holds_draws_the_screen_anew(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator on the notes screen, a note typed, their session still valid
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"))
    form.find_element(By.NAME, "note").send_keys("Borrador que se descarta")
    # When they reload the page
    browser.refresh()
    # Then the notes screen is drawn empty, as a reload always drew it, and nothing is kept
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    assert note.get_attribute("value") == ""
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None


def test_a_draft_kept_at_a_reload_is_never_shown_to_another_user_nor_after_salir(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator's note, typed before a reload that found their session ended
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"))
    form.find_element(By.NAME, "note").send_keys("Dato reservado del cliente")
    expire_session(browser, tenant, 1)
    browser.refresh()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # When the supervisor signs in on the same browser tab
    sign_in_again(browser, tenant, 2)
    # Then the notes screen is drawn empty for them, and the draft is gone from the tab
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    assert note.get_attribute("value") == ""
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None
    # When the supervisor types a note of their own and leaves with "Salir", and the page is reloaded
    note.send_keys("Nota a medias del supervisor")
    browser.find_element(By.ID, "sign-out").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    browser.refresh()
    # Then nothing of it is kept: signed in again they find the notes screen empty
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    assert browser.execute_script("return sessionStorage.getItem('pregon.console.draft')") is None
    sign_in_again(browser, tenant, 2)
    note = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note [name=note]"))
    assert note.get_attribute("value") == ""


def test_a_screen_still_loading_when_the_session_ends_is_not_drawn_over_the_sign_in(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator signed in on the follow-ups screen, their session run out
    sign_in(browser, site.web, tenant, 1, screen="followups")
    expire_session(browser, tenant, 1)
    # When they open the notes screen (whose lists are refused while it loads)
    count_calls(browser)
    browser.execute_script(
        "const plain = window.fetch; window.calls = { pending: 0 };"
        "window.fetch = (url, options) => {"
        "  calls.pending += 1; return plain(url, options).finally(() => { calls.pending -= 1; });"
        "};"
        "location.hash = '#/notes';"
    )
    # Then they are sent to sign in, once, and the sign-in stays: the notes screen that finished
    # loading after the refusal is not drawn over it (what they typed there would be lost)
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    wait_until(browser, lambda d: d.execute_script("return calls.pending") == 0)  # all answered
    all_drawn(browser)  # (what the last answers would draw is drawn by now)
    assert len(browser.find_elements(By.ID, "sign-in-form")) == 1
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-screen]")
    # When they sign in again
    sign_in_again(browser, tenant, 1)
    # Then the notes screen is drawn for them
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-screen="notes"] #b-write-note'))


def test_a_note_refused_says_why_above_the_form_and_keeps_what_was_typed(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given the administrator, in no department (writing a note needs one), on the notes screen
    sign_in(browser, site.web, tenant, 1, screen="notes")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-write-note"), seconds=20)
    # When they write a note on a client and save it
    form.find_element(By.NAME, "note_client").send_keys("CLI-1")
    form.find_element(By.NAME, "note").send_keys("Llamó por la factura")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the form says why, in Spanish and without the API's code of the field ("department: ...")
    error = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-write-note .form-error"), seconds=20
    )
    assert error.text.startswith("su usuario no tiene departamento"), error.text
    assert "department" not in error.text and "department" not in browser.find_element(By.ID, "toasts").text
    # And what they typed is still there
    assert form.find_element(By.NAME, "note").get_attribute("value") == "Llamó por la factura"


def test_an_administrator_adds_a_reminder_concept(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # When an administrator opens the reminders screen
    sign_in(browser, site.web, tenant, 1, screen="reminders")

    def concepts(driver: Any) -> list[str]:
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-concepts input[name=description]')]"
                ".map(e => e.value)"
            )
        )

    # Then the company's concepts are there (the two defaults, plus an empty line to add one)
    wait_until(browser, lambda d: len(concepts(d)) == 3, seconds=20)

    # under their columns' headings, each field named by its column and its concept
    def labelled(driver: Any) -> bool:
        [first, *_, new] = driver.find_elements(By.CSS_SELECTOR, "#b-concepts form")
        shown = driver.find_element(By.ID, "b-concepts").text
        for column, name in (("Descripción", "description"), ("Días", "days"), ("Tipo", "type")):
            path = f'//*[@id="b-concepts"]//*[normalize-space()="{column}"]'
            [heading] = driver.find_elements(By.XPATH, path)
            assert heading.is_displayed() and column in shown
            field = new.find_element(By.NAME, name)
            assert abs(heading.rect["x"] - field.rect["x"]) < 2 and heading.rect["y"] < field.rect["y"]
            assert field.accessible_name == f"{column}: concepto nuevo"
            named = first.find_element(By.NAME, name).accessible_name
            assert named == f"{column}: Recordatorio 7 días antes del vencimiento"
        return True

    wait_until(browser, labelled)  # (a screen drawn again meanwhile is read again)
    [*_, new] = browser.find_elements(By.CSS_SELECTOR, "#b-concepts form")
    # When they add "15 días después del vencimiento"
    new.find_element(By.NAME, "description").send_keys("15 días después")
    days = new.find_element(By.NAME, "days")
    days.clear()
    days.send_keys("15")
    Select(new.find_element(By.NAME, "type")).select_by_value("after_due")
    new.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the catalog lists it, with a new empty line to add another
    wait_until(browser, lambda d: concepts(d)[2:] == ["15 días después", ""], seconds=20)
    console_screenshot(browser, "reminders-concepts")
    listed = json.loads(api.http.get("/reminders/concepts", headers=tenant.admin_headers()).body)["items"]
    assert ("15 días después", 15, "after_due") in [(c["description"], c["days"], c["type"]) for c in listed]
    # When they open a client's reminders from the client's screen
    put_client(api, tenant, "CLI-R", name="Vivero Norte")
    open_screen(browser, "clients", "client=CLI-R")
    wait_until(browser, lambda d: d.find_element(By.ID, "b-client-reminders")).click()
    # Then its settings are open and the Cliente box above them names the client
    wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-client-reminders h3").text == "Cliente CLI-R"
    )
    assert browser.find_element(By.NAME, "reminder_client").get_attribute("value") == "CLI-R"


def test_a_clients_reminder_settings_typed_when_the_session_ends_are_back_after_signing_in_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator changing a client's reminder settings: the client asked for, a subject
    # and a text typed in its form
    put_client(api, tenant, "CLI-R", name="Vivero Norte")
    sign_in(browser, site.web, tenant, 1, screen="reminders")
    asked = wait_until(browser, lambda d: d.find_element(By.NAME, "reminder_client"))
    asked.send_keys("CLI-R")
    asked.submit()
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-client-reminders"))
    form.find_element(By.NAME, "subject").send_keys("Su cuota vence pronto")
    form.find_element(By.NAME, "reminder_body").send_keys("Le recordamos la cuota de diciembre.")
    # When the session has run out by the time they press "Guardar"
    expire_session(browser, tenant, 1)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # And they sign in again
    sign_in_again(browser, tenant, 1)
    # Then that client's settings are open again with what they had typed, nothing saved
    subject = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-client-reminders [name=subject]")
    )
    wait_until(browser, lambda d: subject.get_attribute("value") == "Su cuota vence pronto")
    text = browser.find_element(By.CSS_SELECTOR, "#b-client-reminders [name=reminder_body]")
    assert text.get_attribute("value") == "Le recordamos la cuota de diciembre."
    assert browser.find_element(By.CSS_SELECTOR, "#b-client-reminders h3").text == "Cliente CLI-R"
    saved = api.http.get("/clients/CLI-R/reminders", headers=tenant.admin_headers())
    assert saved.status_code == 200, saved.body
    assert json.loads(saved.body)["subject"] in (None, "")
    # And the reminder's SMS box shows the text it sends when left empty; ticking SMS and typing
    # the client's own text saves both (a text that goes by SMS too)
    sms = browser.find_element(By.CSS_SELECTOR, "#b-client-reminders [name=reminder_sms]")
    assert (sms.get_attribute("placeholder") or "").startswith("Estimado %nombre%: el comprobante")
    browser.find_element(By.CSS_SELECTOR, "#b-client-reminders [name=sms]").click()
    sms.send_keys("Hola %nombre%, vence %comprobante%.")
    browser.find_element(By.CSS_SELECTOR, "#b-client-reminders button[type=submit]").click()

    def saved_by_sms(_: Any) -> bool:
        settings = json.loads(api.http.get("/clients/CLI-R/reminders", headers=tenant.admin_headers()).body)
        return bool(settings["sms"]) and settings["reminder_sms"] == "Hola %nombre%, vence %comprobante%."

    wait_until(browser, saved_by_sms)
    # And each e-mail text says what empty sends (the template, with the document) and that a text
    # of one's own replaces it, naming the document's variables: a sentence alone named no document
    for name in ("reminder_body", "after_due_body"):
        described = browser.execute_script(
            "const box = document.querySelector(`#b-client-reminders [name=${arguments[0]}]`);"
            "return box.getAttribute('aria-describedby').split(' ')"
            ".map((id) => document.getElementById(id).textContent).join(' ')",
            name,
        )
        assert described.startswith("Vacío: se envía la plantilla «Recordatorio de pago»"), described
        assert "{{ receivable.number }} (número)" in described and "{{ receivable.due_on }}" in described
    # and a text written with them is saved
    text.clear()
    text.send_keys("Vence {{ receivable.number }} el {{ receivable.due_on }}.")
    browser.find_element(By.CSS_SELECTOR, "#b-client-reminders button[type=submit]").click()

    def saved_body(_: Any) -> bool:
        settings = json.loads(api.http.get("/clients/CLI-R/reminders", headers=tenant.admin_headers()).body)
        return bool(settings["reminder_body"] == "Vence {{ receivable.number }} el {{ receivable.due_on }}.")

    wait_until(browser, saved_body)


def test_a_notes_author_edits_it_and_an_administrator_deletes_it_from_the_report(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a department, a client, and a note the clerk (level 3) wrote and one the agent wrote
    add_department(api, tenant, "ventas", "Ventas")
    put_client(api, tenant, "CLI-2", name="Ana García")
    people = {
        level: staff_headers(tenant, demo_user(tenant, level), level, department="ventas") for level in (3, 4)
    }
    write_note(api, people[3], "CLI-2", "Llamó para pagar", treatment="Llamar en 2 meses")
    write_note(api, people[4], "CLI-2", "Visita del agente")

    def rows(driver: Any) -> list[list[str]]:
        """Each row's note and the buttons it offers."""
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-notes-report tbody tr')].map(r => "
                "[r.cells[5].textContent, ...[...r.querySelectorAll('button')].map(b => b.textContent)])"
            )
        )

    # When the clerk opens the notes report
    sign_in(browser, site.web, tenant, 3, screen="notes")
    # Then only their own note offers "Editar", and no note "Eliminar" (level 1 only deletes, N2)
    wait_until(browser, lambda d: sorted(rows(d)) == [["Llamó para pagar", "Editar"], ["Visita del agente"]])
    # When they edit it
    browser.find_element(By.CSS_SELECTOR, "#b-notes-report .b-edit-note").click()
    form = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-note-edit form"))
    assert form.find_element(By.NAME, "treatment").get_attribute("value") == "Llamar en 2 meses"
    text = form.find_element(By.NAME, "note")
    text.clear()
    text.send_keys("Llamó para pagar: transfiere el lunes")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the report shows it changed, and so does the API
    wait_until(browser, lambda d: ["Llamó para pagar: transfiere el lunes", "Editar"] in rows(d))
    assert sorted(client_notes(api, tenant.admin_headers(), "CLI-2")) == [
        "Llamó para pagar: transfiere el lunes",
        "Visita del agente",
    ]
    # When an administrator opens the report: every note offers "Eliminar"; they delete the agent's
    sign_in(browser, site.web, tenant, 1, screen="notes")
    wait_until(
        browser,
        lambda d: (
            sorted(rows(d))
            == [["Llamó para pagar: transfiere el lunes", "Eliminar"], ["Visita del agente", "Eliminar"]]
        ),
    )
    browser.execute_script("window.confirm = () => true")
    browser.find_element(
        By.CSS_SELECTOR, "#b-notes-report button[aria-label*='Eliminar'][aria-label*='CLI-2']"
    )
    browser.execute_script(
        "[...document.querySelectorAll('#b-notes-report tbody tr')]"
        ".find(r => r.cells[5].textContent === 'Visita del agente').querySelector('.b-delete-note').click()"
    )
    # Then it is gone from the report and from the client's notes
    wait_until(browser, lambda d: rows(d) == [["Llamó para pagar: transfiere el lunes", "Eliminar"]])
    console_screenshot(browser, "notes-edit-delete")
    assert client_notes(api, tenant.admin_headers(), "CLI-2") == ["Llamó para pagar: transfiere el lunes"]


def test_what_the_reminders_run_would_send_reads_the_companys_day_and_the_concepts_name(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from chalicelib.core import clock
    from tests.steps.reminders import erp_headers, push_ok, receivable, set_reminders_ok

    # Given a company in Buenos Aires, and a client with reminders on whose invoice falls due in
    # 7 of its days (the default concept reminds 7 days before)
    saved = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": "America/Argentina/Buenos_Aires", "locale": "es_AR"}),
    )
    assert saved.status_code == 200, saved.body
    today = clock.now().astimezone(ZoneInfo("America/Argentina/Buenos_Aires")).date()  # the app's now
    erp = erp_headers(tenant)
    put_client(api, tenant, "CLI-1", name="Ana García", emails=["ana@example.com"])
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-0001-00000042", (today + timedelta(days=7)).isoformat()))
    # and another whose e-mail address nobody has
    put_client(api, tenant, "CLI-2", name="Kiosco Sol", emails=[])
    set_reminders_ok(api, erp, "CLI-2", active=True)
    push_ok(api, erp, receivable("B-1", (today + timedelta(days=7)).isoformat(), client_id="CLI-2"))
    # When a clerk asks what today's run would send
    sign_in(browser, site.web, tenant, 3, screen="reminders")
    wait_until(browser, lambda d: d.find_element(By.XPATH, "//button[text()='Ver qué se enviaría']")).click()
    counts = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-run-counts"))
    # Then the day reads as the company writes days, and the reminder names its concept, not its id
    assert counts.text.startswith(f"Día {today.day}/{today.month}/{today.year} · "), counts.text
    row = browser.find_element(By.XPATH, "//td[text()='A-0001-00000042']/..")
    assert "Recordatorio 7 días antes del vencimiento" in row.text, row.text
    # And the one left out says why in the console's language
    left_out = browser.find_element(By.XPATH, "//td[text()='B-1']/..")
    assert "el cliente no tiene dirección de e-mail" in left_out.text, left_out.text
    console_screenshot(browser, "reminders-preview")


def test_the_notes_report_grouped_by_department_shows_each_department_under_its_heading(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given two departments, and a note written by someone of each on the same client
    for code, name in (("ventas", "Ventas"), ("cobranza", "Cobranza")):
        added = api.http.post(
            "/staff/units/departments",
            headers=tenant.admin_headers(),
            body=json.dumps({"code": code, "name": name}),
        )
        assert added.status_code == 201, added.body
    put_client(api, tenant, "CLI-3", name="Ana García")
    clerk = staff_headers(tenant, demo_user(tenant, 3), 3, department="ventas", name="Clara Ruiz")
    agent = staff_headers(tenant, demo_user(tenant, 4), 4, department="cobranza", name="Pablo Gómez")
    write_note(api, clerk, "CLI-3", "Pidió cotización")
    write_note(api, agent, "CLI-3", "Prometió pagar el lunes")
    # When the administrator asks for the notes report grouped by department (seed 001: "Agrupar
    # por departamento")
    sign_in(browser, site.web, tenant, 1, screen="notes")
    filters = wait_until(browser, lambda d: d.find_element(By.ID, "b-notes-filters"), seconds=20)
    filters.find_element(By.NAME, "group_by").click()
    filters.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def groups(driver: Any) -> list[list[str]]:
        """Each group's heading and the notes under it."""
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-notes-report .b-group')].map(g => ["
                "g.querySelector('h3').textContent,"
                "...[...g.querySelectorAll('tbody tr')].map(r => r.cells[5].textContent)])"
            )
        )

    # Then each department's notes sit under its own heading, by the department's name
    wait_until(browser, lambda d: len(groups(d)) == 2, seconds=20)
    assert groups(browser) == [
        ["Departamento: Cobranza", "Prometió pagar el lunes"],
        ["Departamento: Ventas", "Pidió cotización"],
    ]
    # And the "Usuario" filter (the seed's "Recurso Humano") suggests each author by name, though
    # it takes the user's id
    offered = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#b-note-users option')]"
        ".map(o => [o.value, o.label]))"
    )
    assert offered[demo_user(tenant, 3)] == "Clara Ruiz" and offered[demo_user(tenant, 4)] == "Pablo Gómez", (
        offered
    )

    def rows(driver: Any) -> list[list[str]]:
        """Each row's author, department and note."""
        return list(
            driver.execute_script(
                "return [...document.querySelectorAll('#b-notes-report tbody tr')]"
                ".map(r => [r.cells[2].textContent, r.cells[4].textContent, r.cells[5].textContent])"
            )
        )

    # And each row names its department as the heading does, not by its code, and its client by name
    assert sorted(rows(browser)) == [
        ["Clara Ruiz", "Ventas", "Pidió cotización"],
        ["Pablo Gómez", "Cobranza", "Prometió pagar el lunes"],
    ]
    clients = browser.execute_script(
        "return [...document.querySelectorAll('#b-notes-report tbody tr')].map(r => r.cells[1].textContent)"
    )
    assert clients == ["Ana García (CLI-3)", "Ana García (CLI-3)"]
    # When they type an author by name in "Usuario", as the report shows them, and ask again
    user = filters.find_element(By.NAME, "user")
    user.send_keys("clara ruiz")
    filters.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the report holds that author's notes only
    wait_until(browser, lambda d: rows(d) == [["Clara Ruiz", "Ventas", "Pidió cotización"]])
    # When they ask for a "Hasta" before "Desde"
    for name, day in (("from", "2026-11-20"), ("to", "2026-11-10")):
        browser.execute_script("arguments[0].value = arguments[1]", filters.find_element(By.NAME, name), day)
    filters.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the refusal shows beside "Hasta", and the rows asked for before are gone, not left as its answer
    refusal = wait_until(browser, lambda d: d.find_element(By.ID, "b-to-error"))
    assert refusal.text == "no puede ser anterior a la fecha «Desde» (from)"
    wait_until(browser, lambda d: rows(d) == [])
