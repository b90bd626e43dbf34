"""W2, the console's clients and inbound screens in Debian's Chromium: a manual register record with
an attachment (H2), a received e-mail that matched no client assigned to one (I3), and a reply to a
client's e-mail from its detail view, sent through the outbox and threaded (H3).

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server; mail goes to the real SMTP catcher. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from infrastructure.local.imapserver import Dovecot
from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    all_drawn,
    console_screenshot,
    count_calls,
    expire_session,
    nav_screens,
    open_screen,
    sign_in,
    sign_in_again,
    wait_until,
)
from tests.steps.inbound import inbound_ceilings, receive_mail
from tests.steps.mail import text_of
from tests.steps.mailboxes import add_mailbox, filed_mail, run_syncs
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant, smtp_sender_account

pytestmark = pytest.mark.browser


def register_of(api: Client, tenant: Tenant, client_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/clients/{client_id}/register", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    return list(json.loads(response.body)["items"])


def register_subjects(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('.b-register tbody tr')].map(r => r.cells[3].textContent)"
        )
    )


def detail_field(driver: Any, term: str) -> str | None:
    """What a record's detail says beside ``term`` (its «De», «Para» ...)."""
    return driver.execute_script(
        "const dt = [...document.querySelectorAll('.b-detail dl dt')]"
        ".find(t => t.textContent === arguments[0]);"
        "return dt ? dt.nextElementSibling.textContent : null;",
        term,
    )


def attachment_rows(driver: Any) -> list[str]:
    """A record's files as its *Adjuntos* table shows them: "<name> (<size, and notes>)"."""
    rows = driver.find_elements(By.CSS_SELECTOR, ".b-detail .b-attachments tbody tr")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    return [f"{c[0]} ({c[1]})" for c in cells]


def test_a_client_opened_after_another_stays_shown_when_the_first_ones_answer_comes_last(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given two clients, and a network on which the first one's answers take a second and a half
    put_client(api, tenant, "CLI-1", name="Ferretería Norte")
    put_client(api, tenant, "CLI-2", name="Panadería Sur")
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients")
    browser.execute_script(
        "const plain = window.fetch; window.slowCalls = { started: 0, pending: 0 };"
        "window.fetch = (url, options) => {"
        "  if (!String(url).includes('CLI-1')) return plain(url, options);"
        "  slowCalls.started += 1; slowCalls.pending += 1;"
        "  const later = new Promise((done) => setTimeout(done, 1500)).then(() => plain(url, options));"
        "  return later.finally(() => { slowCalls.pending -= 1; });"
        "};"
    )
    count_calls(browser)
    # When staff open the first client and, before it has come, the second
    browser.execute_script("location.hash = '#/clients?client=CLI-1'")
    wait_until(browser, lambda d: d.execute_script("return slowCalls.started") > 0)
    open_screen(browser, "clients", "client=CLI-2")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Panadería Sur (CLI-2)")
    # Then once the first client's answers have all come, the second client is still the one shown
    wait_until(browser, lambda d: d.execute_script("return slowCalls.pending") == 0)
    all_drawn(browser)  # (the first client's draw, were it kept, is in the page by now)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Panadería Sur (CLI-2)"


def test_staff_add_a_register_record_with_an_attachment(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Path
) -> None:
    # Given a client and a motive of the company
    put_client(api, tenant, "CLI-7", name="Estudio Pérez <b>&</b> Asociados")
    added = api.http.post(
        "/register/motives", headers=tenant.admin_headers(), body=json.dumps({"code": "iva", "name": "IVA"})
    )
    assert added.status_code == 201, added.body
    scan = tmp_path / "constancia IVA.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    # When staff open the client's register and add a call with its motive and a file
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", "client=CLI-7")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-add-record"), seconds=20)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Estudio Pérez <b>&</b> Asociados (CLI-7)"
    # (the register's filters by motive and area start at every one: "(todos)", "(todas)")
    filters = browser.find_element(By.ID, "b-register-filters")
    assert [
        Select(filters.find_element(By.NAME, n)).first_selected_option.text for n in ("motive", "area")
    ] == [
        "(todos)",
        "(todas)",
    ]
    # (a subject of blanks, a clerk's slip, is refused beside the subject, nothing added; until
    # session 42 a toast said "debe tener al menos 1 carácter" and named no box)
    form.find_element(By.NAME, "subject").send_keys("   ")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    refused = wait_until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#b-add-record [name=subject] + .field-error")
    )
    assert refused[0].text == "debe tener al menos 1 carácter"
    assert register_of(api, tenant, "CLI-7") == []
    Select(form.find_element(By.NAME, "record_type")).select_by_value("call")
    Select(form.find_element(By.NAME, "initiated_by")).select_by_value("client")
    form.find_element(By.NAME, "subject").clear()
    form.find_element(By.NAME, "subject").send_keys("Llamó por el IVA de noviembre")
    form.find_element(By.NAME, "text").send_keys("Pide la constancia.")
    Select(form.find_element(By.NAME, "motive")).select_by_value("iva")
    form.find_element(By.ID, "b-new-file").send_keys(str(scan))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the record is in the register and its detail shows the attachment
    wait_until(browser, lambda d: register_subjects(d) == ["Llamó por el IVA de noviembre"], seconds=20)
    # (its row says who started it, a field seed 004 names: "Iniciada por")
    columns = browser.execute_script(
        "const t = document.querySelector('.b-register');"
        "return Object.fromEntries([...t.tHead.rows[0].cells].map((c, i) =>"
        " [c.textContent, t.tBodies[0].rows[0].cells[i].textContent]))"
    )
    assert columns["Iniciada por"] == "El cliente", columns
    detail = wait_until(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, ".b-detail .b-attachments")
            if d.find_elements(By.CSS_SELECTOR, ".b-detail .b-attachments")
            else None
        ),
        seconds=20,
    )
    assert detail.find_element(By.TAG_NAME, "a").text == "constancia IVA.pdf"
    console_screenshot(browser, "clients-register-record")
    # And the API keeps it as a manual call by the user, with the file
    [record] = register_of(api, tenant, "CLI-7")
    assert (record["record_type"], record["motive"], record["initiated_by"], record["automatic"]) == (
        "call",
        "iva",
        "client",
        False,
    )
    assert record["created_by"] == f"clerk@{tenant.company_id}"
    one = json.loads(
        api.http.get(
            f"/clients/CLI-7/register/{record['communication_id']}", headers=tenant.admin_headers()
        ).body
    )
    assert [a["name"] for a in one["attachments"]] == ["constancia IVA.pdf"]
    assert not browser.find_elements(By.ID, "b-register-own-only")
    # And a level-4 colleague who opens the client reads why the clerk's call is not listed to them:
    # their level sees their own records only (until session 42: "Nada en el registro con estos
    # filtros", with no filter set, as if the client had no history)
    sign_in(browser, site.web, tenant, 4)
    open_screen(browser, "clients", "client=CLI-7")
    said = wait_until(browser, lambda d: d.find_element(By.ID, "b-register-own-only"), seconds=20)
    assert said.text.startswith("Su nivel ve solo los registros y mensajes que usted escribió o envió")
    assert register_subjects(browser) == []


def assign_and_follow(browser: Any, form: Any, client_id: str, subject: str) -> None:
    """Assign the unassigned mail shown to ``client_id`` with the detail's form; once it left the
    unassigned list, follow the link to the client's register, which shows it."""
    form.find_element(By.NAME, "assign_client").send_keys(client_id)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(
        browser,
        lambda d: "No hay correo sin asignar." in d.find_element(By.ID, "b-unassigned").text,
        seconds=20,
    )
    browser.find_element(By.LINK_TEXT, f"Verlo en el registro de {client_id}").click()
    wait_until(browser, lambda d: register_subjects(d) == [subject], seconds=20)


def test_an_administrator_sees_what_a_days_ceilings_held_and_releases_it_page_by_page(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    from datetime import timedelta

    from chalicelib.records import inbound_flood

    monkeypatch.setattr(inbound_flood, "KEPT_PER_SENDER", 2)  # a page of 2 here (20 in service)
    with inbound_ceilings(monkeypatch, sender=1, client=1, strangers=5):
        # Given a robot that wrote 4 times to the inbound address on Monday, one a day allowed: 3 held
        for n in (1, 2, 3, 4):
            receive_mail(api, tenant.company_id, "robot@loop.example", f"Aviso {n}", "Mensaje automático")
        monday = clock.now().date().isoformat()
        # When the administrator opens the received mail on Tuesday
        clock.set_now(clock.now() + timedelta(days=1))
        sign_in(browser, site.web, tenant, 1, screen="inbound")
        # Then today's held mail shows none, and the unassigned list holds the robot's first
        held = browser.find_element(By.ID, "b-held")
        wait_until(browser, lambda d: "Hoy no se retuvo correo." in held.text, seconds=20)
        assert len(browser.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view")) == 1
        # When the administrator picks Monday
        picker = browser.find_element(By.ID, "b-held-day")
        browser.execute_script(
            "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))",
            picker,
            monday,
        )
        # Then Monday's held mail shows, with its sender, a first page of 2 to release, and more
        row = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-held tbody tr"), seconds=20)
        assert f"El {monday} se retuvieron 3 mensajes" in held.text
        assert "robot@loop.example" in row[0].text and "2 (y más)" in row[0].text
        # When the administrator releases it, Then its first page joins the unassigned list
        browser.find_element(By.CSS_SELECTOR, ".b-held .b-release").click()
        wait_until(
            browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view")) == 3, seconds=20
        )
        # And releasing again brings the rest, after which there is nothing left to release
        wait_until(
            browser,
            lambda d: [b.text for b in d.find_elements(By.CSS_SELECTOR, ".b-held .b-release")] == ["Liberar"],
            seconds=20,
        )
        browser.find_element(By.CSS_SELECTOR, ".b-held .b-release").click()
        wait_until(
            browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view")) == 4, seconds=20
        )
        wait_until(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, ".b-held .b-release"), seconds=20)


def test_staff_assign_an_unassigned_mail_to_a_client(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given two clients, and a mail from an address no client has
    put_client(api, tenant, "CLI-9", name="Ferretería Los Andes")
    put_client(api, tenant, "CLI-10", name="Ferretería Los Pinos")
    receive_mail(api, tenant.company_id, "desconocido@mail.example.net", "Consulta de saldo", "¿Cuánto debo?")
    [unassigned_id] = [
        m["communication_id"]
        for m in json.loads(api.http.get("/inbound/unassigned", headers=tenant.admin_headers()).body)["items"]
    ]
    # When staff open the unassigned mail and view it
    sign_in(browser, site.web, tenant, 3, screen="inbound")
    view = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view"), seconds=20)
    view[0].click()
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-assign"), seconds=20)
    assert "¿Cuánto debo?" in browser.find_element(By.CSS_SELECTOR, ".b-detail .b-text").text
    console_screenshot(browser, "inbound-unassigned")
    # And type part of a name, as a clerk who knows the client by name does (seed 004): the clients
    # it names are offered by name to pick from (until session 42 the box took a code only, and a
    # name was refused as "debe ser un código...")
    box = form.find_element(By.NAME, "assign_client")
    box.send_keys("ferreteria")
    wait_until(
        browser,
        lambda d: (
            sorted(
                o.get_attribute("label") or o.text
                for o in d.find_elements(By.CSS_SELECTOR, "#b-candidates option")
            )
            == ["Ferretería Los Andes (CLI-9)", "Ferretería Los Pinos (CLI-10)"]
        ),
        seconds=20,
    )
    # Then assigning to a name two clients share is refused beside the box, nothing assigned
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    said = wait_until(
        browser, lambda d: d.find_element(By.ID, "b-assign").find_elements(By.CSS_SELECTOR, ".field-error")
    )
    assert said[0].text == "Varios clientes coinciden con «ferreteria»: elija uno de la lista."
    assert unassigned_subjects(api, tenant) == ["Consulta de saldo"]
    # And a name that names one client assigns to it: it leaves the unassigned list, and is in the
    # client's register, where the link leads
    box.clear()
    box.send_keys("Los Andes")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(
        browser,
        lambda d: "No hay correo sin asignar." in d.find_element(By.ID, "b-unassigned").text,
        seconds=20,
    )
    assert (
        browser.find_element(By.LINK_TEXT, "Verlo en el registro de CLI-9")
        .get_attribute("href")
        .endswith("#/clients?client=CLI-9&record=" + unassigned_id)
    )
    # And the clerk is told the sender's next mail would be unassigned again, and offered the
    # client's card with the address written in its e-mails, to save (seed 004: the clients'
    # addresses make the register; until session 42 nothing said so)
    said = browser.find_element(By.ID, "b-assigned-address")
    assert said.text.startswith(
        "El próximo correo de desconocido@mail.example.net también llegará sin asignar"
    )
    browser.find_element(By.ID, "b-assigned-card").click()
    wait_until(browser, lambda d: register_subjects(d) == ["Consulta de saldo"], seconds=20)
    emails = wait_until(browser, lambda d: d.find_element(By.ID, "b-card-emails"), seconds=20)
    assert emails.get_attribute("value").splitlines() == ["cli-9@example.com", "desconocido@mail.example.net"]
    emails.find_element(By.XPATH, "ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]"
    ).click()
    wait_until(
        browser, lambda d: "Datos del cliente guardados" in d.find_element(By.ID, "toasts").text, seconds=20
    )
    receive_mail(api, tenant.company_id, "desconocido@mail.example.net", "Otra consulta", "¿Y el recibo?")
    assert unassigned_subjects(api, tenant) == []
    assert [r["subject"] for r in register_of(api, tenant, "CLI-9")] == ["Otra consulta", "Consulta de saldo"]
    console_screenshot(browser, "inbound-assigned")


def unassigned_subjects(api: Client, tenant: Tenant) -> list[str]:
    response = api.http.get("/inbound/unassigned", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    return [m["subject"] for m in json.loads(response.body)["items"]]


def test_a_client_typed_in_an_unassigned_mails_form_when_the_session_ends_is_back_in_that_mail(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given two mails from addresses no client has, and a clerk assigning the second one: opened
    # with its "Ver" button, the client's code typed in its form
    put_client(api, tenant, "CLI-4", name="Panadería Sur")
    receive_mail(api, tenant.company_id, "uno@mail.example.net", "Horario de atención", "¿Abren el sábado?")
    receive_mail(
        api, tenant.company_id, "dos@mail.example.net", "Pedido de factura", "Necesito la factura B."
    )
    sign_in(browser, site.web, tenant, 3, screen="inbound")
    row = wait_until(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, ".b-inbound .b-view[aria-label^='Ver «Pedido de factura»']"
        ),
    )
    row.click()
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-assign"))
    form.find_element(By.NAME, "assign_client").send_keys("CLI-4")
    # When the session has run out by the time they press "Asignar"
    expire_session(browser, tenant, 3)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # And they sign in again
    sign_in_again(browser, tenant, 3)
    # Then that mail is open again with the client's code as they had typed it, nothing assigned
    typed = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-assign [name=assign_client]"))
    wait_until(browser, lambda d: typed.get_attribute("value") == "CLI-4")
    assert browser.find_element(By.CSS_SELECTOR, ".b-detail h3").text == "Pedido de factura"
    assert sorted(unassigned_subjects(api, tenant)) == ["Horario de atención", "Pedido de factura"]
    assert register_of(api, tenant, "CLI-4") == []


def test_mail_ses_judged_spam_and_a_machines_mail_are_marked_so_among_the_unassigned_in_spanish(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client, and a mail from its address that SES's spam filter judged spam
    put_client(api, tenant, "CLI-9", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    receive_mail(
        api,
        tenant.company_id,
        "compras@losandes.example",
        "Oferta increíble",
        "Gane ya",
        verdicts={"spamVerdict": "FAIL"},
    )
    # When staff open the unassigned mail
    sign_in(browser, site.web, tenant, 3, screen="inbound")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view"), seconds=20)
    # Then the mail is listed, marked as spam
    row = browser.find_element(By.CSS_SELECTOR, ".b-inbound tbody tr")
    assert "Oferta increíble" in row.text and row.find_element(By.CSS_SELECTOR, ".b-flagged").text == "Spam"
    # And its detail says, in Spanish, what SES judged and what staff may do
    row.find_element(By.CSS_SELECTOR, ".b-view").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "b-assign"), seconds=20)
    shown = browser.find_element(By.CSS_SELECTOR, ".b-detail dl").text
    assert "SES lo consideró spam: no se asignó a ningún cliente. Si no lo es, asígnelo." in shown
    console_screenshot(browser, "inbound-spam")
    assert register_of(api, tenant, "CLI-9") == []

    # When staff judge it wrong and assign it to the client
    assign_and_follow(browser, browser.find_element(By.ID, "b-assign"), "CLI-9", "Oferta increíble")
    # Then the record in the client's register still says SES judged it spam, and that it was assigned by hand
    [record] = register_of(api, tenant, "CLI-9")
    open_screen(browser, "clients", f"client=CLI-9&record={record['communication_id']}")
    wait_until(
        browser,
        lambda d: (
            "SES lo consideró spam; se asignó a mano a este cliente."
            in d.find_element(By.CSS_SELECTOR, ".b-detail dl").text
        ),
        seconds=20,
    )

    # When a supplier's newsletter comes from a no-reply address (docs/inbound-email.md: mail a
    # machine sent) and staff open the unassigned mail again
    receive_mail(
        api, tenant.company_id, "noreply@news.proveedora.example", "Novedades de diciembre", "20% menos"
    )
    open_screen(browser, "inbound")
    # Then it is listed marked as a machine's, and its detail says what that means, in Spanish
    mark = wait_until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-automatic"), seconds=20
    )
    assert [m.text for m in mark] == ["Automático"]
    browser.find_element(By.CSS_SELECTOR, ".b-inbound .b-view").click()
    wait_until(
        browser,
        lambda d: "generado por una máquina" in d.find_element(By.CSS_SELECTOR, ".b-detail dl").text,
        seconds=20,
    )
    # And staff who hide the mail machines sent see none waiting (a person's would stay)
    browser.find_element(By.ID, "b-people-only").click()
    wait_until(
        browser,
        lambda d: (
            "No hay correo sin asignar escrito por personas." in d.find_element(By.ID, "b-unassigned").text
        ),
        seconds=20,
    )
    # And the history lists the newsletter with the same mark
    open_screen(browser, "history")
    marks = wait_until(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-history .b-automatic"), seconds=20
    )
    assert [m.text for m in marks] == ["Automático"]


def test_staff_reply_to_a_client_mail_from_its_detail_view(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, browser: Any
) -> None:
    # Given a company account for every area and a client who wrote in, her mail program naming
    # her, and her mail filed under a motive and an area
    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "info@cargasdelsur.example")
    put_client(api, tenant, "CLI-5", name="Ana García", emails=["ana@example.com"])
    receive_mail(
        api,
        tenant.company_id,
        '"Ana Garcia" <ana@example.com>',
        "Duda con la factura",
        "No entiendo el recargo.",
    )
    [received] = register_of(api, tenant, "CLI-5")
    admin = tenant.admin_headers()
    for table, code, name in (("motives", "cobro", "Cobro de honorarios"), ("areas", "conta", "Contable")):
        added = api.http.post(
            f"/register/{table}", headers=admin, body=json.dumps({"code": code, "name": name})
        )
        assert added.status_code == 201, added.body
    path = f"/clients/CLI-5/register/{received['communication_id']}"
    tagged = api.http.patch(path, headers=admin, body=json.dumps({"motive": "cobro", "area": "conta"}))
    assert tagged.status_code == 200, tagged.body
    # When staff open it in her register
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", f"client=CLI-5&record={received['communication_id']}")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-reply"), seconds=20)
    # Then its «De» reads as a mail program shows it: her name and her address
    assert detail_field(browser, "De") == "Ana Garcia <ana@example.com>"
    # And the reply starts filed under the motive and area of her mail (the clerk may change them)
    assert (
        Select(browser.find_element(By.ID, "b-reply-motive")).first_selected_option.text
        == "Cobro de honorarios"
    )
    assert Select(browser.find_element(By.ID, "b-reply-area")).first_selected_option.text == "Contable"
    # When they reply
    form.find_element(By.NAME, "reply_text").send_keys("El recargo es por pago fuera de término.")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", form)
    console_screenshot(browser, "clients-reply-form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the reply is a new record of her register, sent through the outbox, threaded
    wait_until(browser, lambda d: "Re: Duda con la factura" in register_subjects(d), seconds=20)
    console_screenshot(browser, "clients-reply")
    # filed under the same motive and area
    answer = register_of(api, tenant, "CLI-5")[0]
    assert (answer["subject"], answer["motive"], answer["area"]) == (
        "Re: Duda con la factura",
        "cobro",
        "conta",
    )
    # And its «Para» names her as the reply's To does
    open_screen(browser, "clients", f"client=CLI-5&record={answer['communication_id']}")
    wait_until(browser, lambda d: detail_field(d, "Para") == "Ana Garcia <ana@example.com>", seconds=20)
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["ana@example.com"]
    assert mail["Subject"] == "Re: Duda con la factura"
    assert mail["In-Reply-To"] and "El recargo es por pago fuera de término." in text_of(mail)


def test_a_reply_typed_when_the_session_ends_is_back_in_its_message_after_signing_in_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client who wrote in, and the clerk replying from her register: the message opened
    # with its "Ver" button, a reply typed
    put_client(api, tenant, "CLI-6", name="Eva Ruiz", emails=["eva@example.com"])
    receive_mail(api, tenant.company_id, "eva@example.com", "Cambio de domicilio", "Me mudé a Salta.")
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", "client=CLI-6")
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-register .b-view")).click()
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-reply"))
    form.find_element(By.NAME, "reply_subject").send_keys("Domicilio actualizado")
    form.find_element(By.NAME, "reply_text").send_keys("Ya figura su domicilio de Salta.")
    # When the session has run out by the time they press "Enviar respuesta"
    expire_session(browser, tenant, 3)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "sign-in-form"))
    # And they sign in again
    sign_in_again(browser, tenant, 3)
    # Then the message is open again with the reply as they had typed it, nothing sent
    text = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-reply [name=reply_text]"))
    wait_until(browser, lambda d: text.get_attribute("value") == "Ya figura su domicilio de Salta.")
    subject = browser.find_element(By.CSS_SELECTOR, "#b-reply [name=reply_subject]")
    assert subject.get_attribute("value") == "Domicilio actualizado"
    assert [r["subject"] for r in register_of(api, tenant, "CLI-6")] == ["Cambio de domicilio"]


def test_what_pregon_did_not_keep_of_a_mailbox_message_is_said_in_spanish_in_its_detail(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, imap_server: Dovecot, monkeypatch: Any
) -> None:
    from chalicelib.records import inbound_mail
    from chalicelib.records.mailboxes import sync

    # Given a client, and in a clerk's mailbox a message from it over the size Pregón keeps (5 MB
    # here: 40 MB in production), and one whose second attachment goes past what Pregón keeps of
    # a message's files (1 MB here: 10 MB in production)
    monkeypatch.setattr(sync, "MAX_MESSAGE_BYTES", 5 * 2**20)
    monkeypatch.setattr(inbound_mail, "MAX_KEPT_BYTES", 2**20)
    put_client(api, tenant, "CLI-5", name="Talleres Ríos", emails=["rios@talleres.example"])
    scan = bytes(range(256)) * (6 * 2**20 // 256)
    ana = "ana@estudio.example"
    imap_server.append(
        ana,
        "INBOX",
        [
            filed_mail(
                "rios@talleres.example",
                ana,
                "Planos del taller",
                attachments=[("planos.pdf", "application/pdf", scan)],
            ),
            filed_mail(
                "rios@talleres.example",
                ana,
                "Facturas de octubre",
                attachments=[
                    ("resumen.txt", "text/plain", b"Total: 12.500\n" * 60),
                    ("facturas.pdf", "application/pdf", bytes(range(256)) * 5000),
                ],
            ),
        ],
    )
    token = IDENTITY.mint(tenant.company_id, user_id=ana, level=1)  # an administrator: the office's mailbox
    add_mailbox(
        api,
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        imap_server,
        ana,
        folders=["INBOX"],
        visibility="public",
    )
    run_syncs()
    # When staff open the client's register and the message's detail
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", "client=CLI-5")
    wait_until(
        browser,
        lambda d: sorted(register_subjects(d)) == ["Facturas de octubre", "Planos del taller"],
        seconds=20,
    )
    rows = browser.find_elements(By.CSS_SELECTOR, ".b-register tbody tr")
    next(r for r in rows if "Planos del taller" in r.text).find_element(By.TAG_NAME, "button").click()
    detail = wait_until(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, ".b-detail")
            if d.find_elements(By.CSS_SELECTOR, ".b-detail")
            else None
        ),
        seconds=20,
    )
    # Then it says, in Spanish, why only its headers are there, and offers no attachment
    assert (
        "Aviso El mensaje ocupa 8,2 MB, más de los 5 MB que Pregón guarda: solo se registraron sus "
        "encabezados; sigue en el buzón." in " ".join(detail.text.split())
    )
    assert not detail.find_elements(By.CSS_SELECTOR, ".b-attachments a")
    console_screenshot(browser, "clients-register-too-large")
    # And the other message lists both files with their sizes, the one not kept saying why
    rows = browser.find_elements(By.CSS_SELECTOR, ".b-register tbody tr")
    next(r for r in rows if "Facturas de octubre" in r.text).find_element(By.TAG_NAME, "button").click()
    files = wait_until(browser, lambda d: attachment_rows(d) or None, seconds=20)
    assert files == ["resumen.txt (840 bytes)", "facturas.pdf (1,3 MB, no se guardó: demasiado grande)"]


def test_staff_attach_a_file_to_and_answer_a_mail_logged_from_the_offices_mailbox(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    site: ConsoleSite,
    browser: Any,
    imap_server: Dovecot,
    tmp_path: Path,
) -> None:
    # Given a company account, and a client's message logged from the office's mailbox
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio", "info@estudio.example")
    put_client(api, tenant, "CLI-5", name="Talleres Ríos", emails=["rios@talleres.example"])
    ana = "ana@estudio.example"
    imap_server.append(ana, "INBOX", [filed_mail("rios@talleres.example", ana, "Balance firmado")])
    token = IDENTITY.mint(tenant.company_id, user_id=ana, level=1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    add_mailbox(api, headers, imap_server, ana, folders=["INBOX"], visibility="public")
    run_syncs()
    [logged] = register_of(api, tenant, "CLI-5")
    scan = tmp_path / "balance 2025.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    # When a clerk opens it in the client's register and attaches a file to it
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", f"client=CLI-5&record={logged['communication_id']}")
    upload = wait_until(browser, lambda d: d.find_element(By.ID, "b-attach-file"))
    upload.send_keys(str(scan))
    upload.find_element(By.XPATH, "./ancestor::form").find_element(
        By.CSS_SELECTOR, "button[type=submit]"
    ).click()
    # Then its detail lists the file and who attached it
    wait_until(
        browser,
        lambda d: any("balance 2025.pdf" in row and "adjuntado por" in row for row in attachment_rows(d)),
    )
    console_screenshot(browser, "clients-register-mailbox-attachment")
    # And the clerk answers it from the same detail view: the client gets the answer
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-reply"))
    form.find_element(By.NAME, "reply_text").send_keys("Recibido, gracias.")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: "Re: Balance firmado" in register_subjects(d))
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["rios@talleres.example"]
    assert "Recibido, gracias." in text_of(mail)


def test_signing_in_reads_the_mailboxes_again(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, imap_server: Dovecot
) -> None:
    # Given the office's mailbox, read when it was added, and a client's message that came after
    put_client(api, tenant, "CLI-5", name="Talleres Ríos", emails=["rios@talleres.example"])
    ana = "ana@estudio.example"
    token = IDENTITY.mint(tenant.company_id, user_id=ana, level=1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    add_mailbox(api, headers, imap_server, ana, folders=["INBOX"], visibility="public")
    run_syncs()
    imap_server.append(ana, "INBOX", [filed_mail("rios@talleres.example", ana, "Turno del lunes")])
    assert register_of(api, tenant, "CLI-5") == []
    # When a clerk signs in to the console (the seed: the mail is read again "cada vez que
    # inicias sesión")
    sign_in(browser, site.web, tenant, 3)
    # Then the office's mailbox is read again: the message is in the client's register
    deadline = time.monotonic() + 15
    while not register_of(api, tenant, "CLI-5") and time.monotonic() < deadline:
        run_syncs()
        time.sleep(0.2)
    assert [r["subject"] for r in register_of(api, tenant, "CLI-5")] == ["Turno del lunes"]


def table_entries(api: Client, tenant: Tenant, table: str) -> list[tuple[str, str]]:
    response = api.http.get(f"/register/{table}", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    return [(e["code"], e["name"]) for e in json.loads(response.body)["items"]]


def test_an_administrator_keeps_the_registers_motives_and_areas(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given an area the company no longer uses
    added = api.http.post(
        "/register/areas", headers=tenant.admin_headers(), body=json.dumps({"code": "viejo", "name": "Vieja"})
    )
    assert added.status_code == 201, added.body
    # When an administrator looks for them where seed 004's page says, under the settings
    # ("Configuración y utilidades / Registro de comunicaciones"), and adds a motive with markup in its name
    sign_in(browser, site.web, tenant, 1)
    entry = wait_until(
        browser,
        lambda d: d.find_element(
            By.XPATH,
            "//nav[@id='nav']//section[h2='Configuración']"
            "//a[normalize-space()='Registro de comunicaciones']",
        ),
        seconds=20,
    )
    entry.click()
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Registro de comunicaciones")
    assert browser.find_element(By.ID, "b-register-mailboxes").get_attribute("href").endswith("#/mailboxes")
    add = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "form[data-add=motives]"), seconds=20)
    add.find_element(By.NAME, "code").send_keys("iva")
    add.find_element(By.NAME, "name").send_keys("IVA <b>mensual</b>")
    add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then it is listed as typed, and the API has it
    renamed = wait_until(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, "[data-table=motives] form[data-code=iva]"),
        seconds=20,
    )
    assert renamed.find_element(By.NAME, "name").get_attribute("value") == "IVA <b>mensual</b>"
    # When they rename it and delete the old area after a confirmation
    name = renamed.find_element(By.NAME, "name")
    name.clear()
    name.send_keys("IVA")
    renamed.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(browser, lambda d: table_entries(api, tenant, "motives") == [("iva", "IVA")])
    browser.execute_script("window.confirm = () => true")
    # (clicked by its selector at once: the list is drawn again after the rename)
    browser.execute_script(
        "document.querySelector('[data-table=areas] form[data-code=viejo] .b-danger').click()"
    )
    wait_until(
        browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-table=areas] form[data-code=viejo]")
    )
    # and the empty table says so in its word's gender ("Ninguno todavía." read wrong for áreas)
    wait_until(
        browser,
        lambda d: (
            "Ninguna todavía."
            in d.execute_script("return document.querySelector('[data-table=areas]')?.textContent || ''")
        ),
    )
    console_screenshot(browser, "clients-register-tables")
    # Then the API's tables are the ones the screen shows
    assert table_entries(api, tenant, "areas") == []
    # And they are still at the foot of «Clientes», where administrators kept them before
    open_screen(browser, "clients")
    wait_until(
        browser,
        lambda d: d.find_element(
            By.CSS_SELECTOR, "#b-register-tables [data-table=motives] form[data-code=iva]"
        ),
    )
    # And a clerk (level 3) is not offered them: the API refuses them its writes
    sign_in(browser, site.web, tenant, 3, screen="clients")
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Clientes", seconds=20)
    assert not browser.find_elements(By.ID, "b-register-tables")
    assert "register-settings" not in nav_screens(browser)


def test_staff_edit_a_manual_record_and_only_the_motive_and_area_of_a_received_mail(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a client with a call written by hand and a mail she sent, and two motives and an area
    put_client(api, tenant, "CLI-8", name="Ana García", emails=["ana@example.com"])
    for table, code, name in (
        ("motives", "iva", "IVA"),
        ("motives", "cobro", "Cobro"),
        ("areas", "conta", "Contable"),
    ):
        added = api.http.post(
            f"/register/{table}",
            headers=tenant.admin_headers(),
            body=json.dumps({"code": code, "name": name}),
        )
        assert added.status_code == 201, added.body
    call = api.http.post(
        "/clients/CLI-8/register",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {"record_type": "call", "initiated_by": "client", "subject": "Llamó", "motive": "iva"}
        ),
    )
    assert call.status_code == 201, call.body
    call_id = json.loads(call.body)["communication_id"]
    receive_mail(api, tenant.company_id, "ana@example.com", "Duda con la factura", "No entiendo el recargo.")
    received = next(r for r in register_of(api, tenant, "CLI-8") if r["communication_id"] != call_id)
    # When a clerk opens the call, changes its subject, type and motive, and saves
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "clients", f"client=CLI-8&record={call_id}")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-edit-record"), seconds=20)
    # (meanwhile a colleague writes the call's notes: the clerk's form holds none; until session 42
    # the clerk's save sent every field, so it wiped the colleague's notes)
    noted = api.http.patch(
        f"/clients/CLI-8/register/{call_id}",
        headers=tenant.staff_headers(),
        body=json.dumps({"text": "Volverá a llamar el lunes"}),
    )
    assert noted.status_code == 200, noted.body
    subject = form.find_element(By.NAME, "subject")
    subject.clear()
    subject.send_keys("Llamó por el IVA de noviembre")
    Select(form.find_element(By.NAME, "record_type")).select_by_value("visit")
    Select(form.find_element(By.NAME, "motive")).select_by_value("cobro")
    Select(form.find_element(By.NAME, "area")).select_by_value("conta")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Then the register lists it changed, its motive and area by the names the company gave them
    wait_until(browser, lambda d: "Llamó por el IVA de noviembre" in register_subjects(d), seconds=20)
    row = browser.find_element(
        By.XPATH, "//table[contains(@class,'b-register')]//td[text()='Llamó por el IVA de noviembre']/.."
    )
    assert "Cobro" in row.text and "Contable" in row.text, row.text
    assert "cobro" not in row.text and "conta" not in row.text.replace("Contable", ""), row.text
    # And the API keeps the change
    one = json.loads(api.http.get(f"/clients/CLI-8/register/{call_id}", headers=tenant.admin_headers()).body)
    assert (one["subject"], one["record_type"], one["motive"], one["area"], one["text"]) == (
        "Llamó por el IVA de noviembre",
        "visit",
        "cobro",
        "conta",
        "Volverá a llamar el lunes",
    )
    # When they open the mail she sent: only its motive and area may change
    open_screen(browser, "clients", f"client=CLI-8&record={received['communication_id']}")
    form = wait_until(
        browser,
        lambda d: (
            d.find_element(By.ID, "b-edit-record")
            if d.find_elements(
                By.CSS_SELECTOR, f".b-detail[data-id='{received['communication_id']}'] #b-edit-record"
            )
            else None
        ),
        seconds=20,
    )
    assert sorted(
        e.get_attribute("name") for e in form.find_elements(By.CSS_SELECTOR, "input, select, textarea")
    ) == [
        "area",
        "motive",
    ]
    Select(form.find_element(By.NAME, "motive")).select_by_value("iva")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    console_screenshot(browser, "clients-register-edit")
    wait_until(
        browser,
        lambda d: (
            json.loads(
                api.http.get(
                    f"/clients/CLI-8/register/{received['communication_id']}", headers=tenant.admin_headers()
                ).body
            )["motive"]
            == "iva"
        ),
    )
