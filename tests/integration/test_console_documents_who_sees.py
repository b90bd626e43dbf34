"""W2, the console's documents screen in Debian's Chromium for a level-4 user (D1-D3 with H1's rule:
they see only the documents they are responsible for and the bulk jobs they started): their own
order opens from its address with its PDF; a colleague's order, or a bulk statement job someone else
started, opened from its address reads "No se encontró ..." in its place, with nothing of it shown;
and the bulk statement button, which level 4 may use, starts a job they then follow. A link whose
number or job is a path's dot segment ("..", "%2e%2e") reads the same, and the console asks the API
nothing for it (it would have asked another of the API's paths with the user's token).

The app is served over HTTP by Chalice's local server on DynamoDB Local, beside the local identity
server; mail goes to the real SMTP catcher. Screenshots: .local/screenshots/console/.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from chalice.test import Client
from selenium.webdriver.common.by import By

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, console_screenshot, demo_user, open_screen, sign_in, wait_until
from tests.steps.documents import documents_key, post_document
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

pytestmark = pytest.mark.browser

LINES = [{"code": "A-100", "description": "Tornillo (caja × 100)", "quantity": "12", "unit_price": "1250"}]


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The ERP's key, the company's `all` account on the test's SMTP server and the client CEDIMU."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    headers = documents_key(tenant)
    put_client(api, headers, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    return headers


def send_order(api: Client, erp: dict[str, str], number: str, responsible: str) -> dict[str, Any]:
    """The ERP sends an order to CEDIMU that ``responsible`` is responsible for; its answer."""
    order = {
        "number": number,
        "date": "2026-11-02",
        "client_id": "CEDIMU",
        "lines": LINES,
        "responsible": {"user_id": responsible},
    }
    answer = post_document(api, erp, "/documents/orders", order)
    assert answer.status_code == 202, answer.body
    return dict(body(answer))


def box_says(driver: Any, element_id: str) -> str:
    """What the element with this id reads on the page."""
    return str(driver.find_element(By.ID, element_id).text)


def bulk_job_ended(driver: Any) -> str:
    """What the bulk statements' box says once its job is *terminado* (or after a minute), the
    outbox drained meanwhile so the job's workers run."""
    deadline = time.monotonic() + 60
    while "terminado" not in box_says(driver, "b-bulk-status") and time.monotonic() < deadline:
        deliver_outboxes()
        time.sleep(0.3)
    return box_says(driver, "b-bulk-status")


def test_a_level_4_user_opens_their_own_order_from_its_address_and_not_a_colleagues(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any
) -> None:
    # Given two orders the ERP sent: P-1 the level-4 demo user is responsible for, P-2 a colleague
    mine = send_order(api, erp, "P-1", demo_user(tenant, 4))
    theirs = send_order(api, erp, "P-2", f"colega@{tenant.company_id}")
    deliver_outboxes()
    # When the level-4 user follows a link to their own order
    sign_in(browser, site.web, tenant, 4)
    open_screen(browser, "documents", "type=order&number=P-1")
    # Then it is shown with its file and a link that downloads its PDF
    link = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-document-found a"))
    assert mine["file_name"] in box_says(browser, "b-document-found")
    assert link.text == "Descargar PDF"
    pdf = requests.get(str(link.get_attribute("href")), timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # When they follow a link to their colleague's order
    open_screen(browser, "documents", "type=order&number=P-2")
    # Then the screen says in its place, in Spanish, that it was not found, and shows nothing of it
    wait_until(browser, lambda d: box_says(d, "b-document-found") == "No se encontró el pedido P-2.")
    assert not browser.find_elements(By.CSS_SELECTOR, "#b-document-found a")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert theirs["file_name"] not in main and mine["file_name"] not in main
    assert "no existe order" not in main
    console_screenshot(browser, "documents-level-4-not-found")
    # And a reload asks again and says the same (the order looked up is in the address)
    browser.refresh()
    wait_until(browser, lambda d: box_says(d, "b-document-found") == "No se encontró el pedido P-2.")
    # And looking their own order up again with the form shows it, and the address follows
    number = browser.find_element(By.ID, "b-number")
    number.clear()
    number.send_keys("P-1")
    browser.find_element(By.CSS_SELECTOR, "#b-document-lookup button[type=submit]").click()
    wait_until(browser, lambda d: mine["file_name"] in box_says(d, "b-document-found"))
    assert browser.execute_script("return location.hash") == "#/documents?type=order&number=P-1"


def pdf_attached(message: Any) -> tuple[str, bytes]:
    """The name and bytes of the PDF a caught e-mail carries, as its MIME part says them."""
    (part,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    assert part.get_content_disposition() == "attachment"
    return str(part.get_filename()), bytes(part.get_payload(decode=True))


def test_a_clerk_sends_a_found_order_again_and_a_statement_without_email_is_refused_beside_it(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any, mailbox: MailCatcher
) -> None:
    # Given an order the ERP sent to CEDIMU, delivered (seed 003's "Enviar e-mail" in the ERP)
    order = send_order(api, erp, "P-7", demo_user(tenant, 3))
    deliver_outboxes()
    (first,) = mailbox.wait_for(1)
    # When a clerk (level 3) looks it up on the documents screen, as the client asks "did you send it?"
    sign_in(browser, site.web, tenant, 3)
    open_screen(browser, "documents", "type=order&number=P-7")
    wait_until(browser, lambda d: "Descargar PDF" in box_says(d, "b-document-found"))
    # Then it says the address it went to and its e-mail's state in Spanish (before: "e-mail: sent")
    found = box_says(browser, "b-document-found")
    assert "pedido_P-7.pdf · CEDIMU → compras@losandes.example" in found, found
    # And it is the screen's first section, in view and with the focus, not below the bulk
    # statements' form (where the clerk had to scroll to find what the link was for)
    placed = browser.execute_script(
        "const first = document.querySelector('main section');"
        "const box = document.getElementById('b-document-found').getBoundingClientRect();"
        "return [first.querySelector('h2').textContent, document.activeElement.textContent,"
        " box.top >= 0 && box.bottom <= window.innerHeight]"
    )
    assert placed == ["Un documento enviado", "Un documento enviado", True], placed
    assert "e-mail: Enviado" in found and "e-mail: sent" not in found, found
    # And a link opens its e-mail in the history
    history = browser.find_element(By.ID, "b-document-history")
    assert str(history.get_attribute("href")).endswith(
        f"#/history?channel=email&message={order['communication_id']}"
    )
    console_screenshot(browser, "documents-order-found")
    # When the client lost it and the clerk presses "Enviar de nuevo" twice
    again = browser.find_element(By.ID, "b-document-resend")
    again.click()
    browser.execute_script("arguments[0].click()", again)  # a double click
    wait_until(
        browser,
        lambda d: box_says(d, "b-document-resent").startswith("Enviado de nuevo a compras@losandes.example"),
    )
    # Then the client receives it once more: the same PDF under the same name, to the same address
    deliver_outboxes()
    messages = mailbox.wait_for(2)
    assert len(messages) == 2, [str(m["Subject"]) for m in messages]
    resent = messages[1]
    assert resent["To"].addresses[0].addr_spec == "compras@losandes.example"
    assert resent["Subject"] == first["Subject"]
    assert pdf_attached(resent) == pdf_attached(first)
    assert pdf_attached(resent)[0] == "pedido_P-7.pdf"
    # When, on the same screen, the clerk sends CEDIMU its statement (seed 003's "Envía Edo. Cta.")
    # and then SINMAIL's, a client with no e-mail on its card
    put_client(api, erp, "SINMAIL", name="Ferretería Sin Correo", emails=[])
    client = browser.find_element(By.ID, "b-statement_client")
    submit = browser.find_element(By.CSS_SELECTOR, "#b-one-statement button[type=submit]")
    client.send_keys("CEDIMU")
    submit.click()
    wait_until(browser, lambda d: "→ compras@losandes.example" in box_says(d, "b-one-statement-sent"))
    # And, once it went, presses again with nothing new since: it is not sent again, and the box
    # does not say it is still queued (the first post's answer; before, "En cola" however long ago)
    deliver_outboxes()
    submit.click()
    wait_until(browser, lambda d: "Ya se envió hoy" in box_says(d, "b-one-statement-sent"))
    assert "En cola" not in box_says(browser, "b-one-statement-sent")
    client.clear()
    client.send_keys("SINMAIL")
    submit.click()
    # Then the refusal is said beside the client, in Spanish
    error = wait_until(browser, lambda d: d.find_element(By.ID, "b-statement_client-error"))
    assert error.text == "'SINMAIL' no tiene dirección de e-mail"
    # And nothing of CEDIMU's statement stays where SINMAIL's answer would be (before, it read
    # "estado_de_cuenta_EC-CEDIMU-… → compras@losandes.example", as if SINMAIL's had gone there)
    assert box_says(browser, "b-one-statement-sent") == ""
    console_screenshot(browser, "documents-statement-no-email")


def test_a_level_4_user_following_a_link_to_someone_elses_bulk_job_reads_that_it_was_not_found(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any
) -> None:
    # Given a bulk statement job the ERP started
    started = api.http.post("/documents/statements/bulk", headers=erp, body=json.dumps({}))
    assert started.status_code == 201, started.body
    job_id = body(started)["job_id"]
    # When the level-4 user follows a link to it
    sign_in(browser, site.web, tenant, 4)
    open_screen(browser, "documents", f"job={job_id}")
    # Then the bulk statements' box says it was not found, with no progress of it
    expected = f"No se encontró el trabajo de estados de cuenta {job_id}."
    wait_until(browser, lambda d: box_says(d, "b-bulk-status") == expected)
    assert not browser.find_elements(By.CSS_SELECTOR, "#b-bulk-status [role=progressbar]")
    # And an administrator following the same link sees its progress
    sign_in(browser, site.web, tenant, 1)
    open_screen(browser, "documents", f"job={job_id}")
    wait_until(browser, lambda d: f"Trabajo {job_id}" in box_says(d, "b-bulk-status"))


def test_a_level_4_user_starts_a_bulk_statement_job_and_follows_it_to_the_end(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any
) -> None:
    # Given a level-4 user on the documents screen: level 4 may start bulk statements (the API
    # takes them from any staff level), so the button is there for them
    sign_in(browser, site.web, tenant, 4, screen="documents")
    button = browser.find_element(By.CSS_SELECTOR, "#b-bulk-statements button[type=submit]")
    assert button.is_displayed() and button.text == "Enviar estados de cuenta"
    # When they press it
    button.click()
    # Then the job they started is followed to its end (CEDIMU has no open movements: skipped)
    status = bulk_job_ended(browser)
    assert "terminado" in status and "total 1" in status, status
    assert "clientes sin movimientos abiertos (no deben nada): 1" in status
    # And the address names the job they started, so a reload follows that job again
    job_id = status.split("Trabajo ", 1)[1].split()[0]
    assert browser.execute_script("return location.hash") == f"#/documents?job={job_id}"
    browser.refresh()
    wait_until(browser, lambda d: f"Trabajo {job_id}" in box_says(d, "b-bulk-status"))


def test_a_link_whose_type_is_no_document_type_reads_that_it_was_not_found(
    tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a level-4 user signed in
    sign_in(browser, site.web, tenant, 4)
    # When they follow a link whose type is a name every script object has, or a path's "..",
    # which would take the look-up to another of the API's paths
    for link, says in [
        ("type=constructor&number=P-1", "No se encontró el documento (constructor) P-1."),
        ("type=..&number=orders", "No se encontró el documento (..) orders."),
    ]:
        open_screen(browser, "documents", link)
        # Then the screen says in its place that it was not found, as for any document not found
        wait_until(browser, lambda d, says=says: box_says(d, "b-document-found") == says)


# What every drawing of the screen reads: its settings and the PDF template it shows first
SCREEN_READS = {"/documents/settings", "/documents/templates/statement"}


def api_paths_fetched(driver: Any) -> list[str]:
    """The paths the page fetched since the resource timings were last cleared, as the browser
    resolved them (a path's dot segments resolved: what the server received)."""
    return list(
        driver.execute_script(
            "return performance.getEntriesByType('resource')"
            ".filter((e) => e.initiatorType === 'fetch').map((e) => new URL(e.name).pathname)"
        )
    )


def open_link(driver: Any, link: str) -> None:
    """Follow a link to the documents screen as a new one: open_screen waits until the screen shown
    before is replaced, so what is read next is the screen this link drew."""
    open_screen(driver, "documents", link)


def test_a_link_whose_number_or_job_is_a_dot_segment_reads_not_found_and_asks_the_api_nothing(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any
) -> None:
    # Given an administrator (who may read every document and job) signed in, and an order to find
    send_order(api, erp, "P-1", demo_user(tenant, 1))
    sign_in(browser, site.web, tenant, 1)
    # When they follow links whose number or job is a path's "." or "..", written plainly or
    # percent-encoded (the browser would resolve /documents/sent/order/.. to /documents/sent/)
    for link, box, says in [
        ("type=order&number=..", "b-document-found", "No se encontró el pedido ..."),
        ("type=order&number=%2e%2e", "b-document-found", "No se encontró el pedido ..."),
        ("type=order&number=.%2E", "b-document-found", "No se encontró el pedido ..."),
        ("type=order&number=.", "b-document-found", "No se encontró el pedido .."),
        ("job=..", "b-bulk-status", "No se encontró el trabajo de estados de cuenta ..."),
        ("job=%2e%2E", "b-bulk-status", "No se encontró el trabajo de estados de cuenta ..."),
    ]:
        browser.execute_script("performance.clearResourceTimings()")
        open_link(browser, link)
        wait_until(browser, lambda d, box=box: box_says(d, box))
        # Then the console asked the API for nothing but the screen's own settings: no request left
        # the page, with the user's token, for the path the dot segment would have made (one under
        # /documents/; the sign-in's own calls, the first screen's and the mailbox sync nothing
        # waits for, may still end after the timings were cleared on a loaded machine)
        asked = [path for path in api_paths_fetched(browser) if path.startswith("/documents/")]
        assert [path for path in asked if path not in SCREEN_READS] == [], link
        # And the screen says in its place that it was not found, as for any document not found
        assert box_says(browser, box) == says
    # And a link to a real order still opens it (the rule refuses only dot segments)
    browser.execute_script("performance.clearResourceTimings()")
    open_link(browser, "type=order&number=P-1")
    wait_until(browser, lambda d: "Descargar PDF" in box_says(d, "b-document-found"))
    assert [
        path for path in api_paths_fetched(browser) if "/documents/" in path and path not in SCREEN_READS
    ] == ["/documents/sent/order/P-1"]


# Values as a screen takes them from the page's address, a form or an API answer, and what
# segment() (chalicelib/console/app.js) makes of them: the segment of an API path, or refused as not
# found (404) before any request.
SEGMENTS: list[tuple[str | None, str | int]] = [
    ("P-1", "P-1"),
    ("a/b", "a%2Fb"),
    ("x?y#z", "x%3Fy%23z"),
    ("...", "..."),
    ("..a", "..a"),
    ("%2e%2e%2e", "%252e%252e%252e"),
    ("Ñandú 1", "%C3%91and%C3%BA%201"),
    ("", 404),
    (None, 404),
    (".", 404),
    ("..", 404),
    ("%2e", 404),
    ("%2E", 404),
    ("%2e%2e", 404),
    (".%2E", 404),
    ("%2E.", 404),
    ("%2e%2E", 404),
]


def test_the_console_makes_a_path_segment_of_a_value_only_when_it_is_no_dot_segment(
    site: ConsoleSite, browser: Any
) -> None:
    # Given the console's page
    browser.get(f"{site.web}/console")
    wait_until(browser, lambda d: d.find_elements(By.ID, "main"))
    # When each value is made a path segment by the console's own helper
    made = browser.execute_async_script(
        """
        const [values, done] = arguments;
        import(new URL("console/assets/app.js", document.baseURI).href)
          .then((app) => done(values.map((value) => {
            try {
              return app.segment(value);
            } catch (error) {
              return error.status;
            }
          })))
          .catch((error) => done(String(error)));
        """,
        [value for value, _ in SEGMENTS],
    )
    # Then each is encoded, or refused as not found
    assert isinstance(made, list), made
    assert dict(zip([value for value, _ in SEGMENTS], made, strict=True)) == dict(SEGMENTS)


def test_an_administrator_sets_the_documents_settings_and_a_clerk_reads_them(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Any
) -> None:
    from tests.steps.branding import png

    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    # When an administrator opens the documents screen's settings and sets the statements' account,
    # their comment and which PDFs are deleted once sent, and saves
    sign_in(browser, site.web, tenant, 1, screen="documents")
    form = wait_until(browser, lambda d: d.find_element(By.ID, "b-document-settings-form"))
    from selenium.webdriver.support.ui import Select

    Select(form.find_element(By.NAME, "statement_area")).select_by_value("payments")
    form.find_element(By.NAME, "statement_comment").send_keys("Pague por transferencia <b>CBU</b> 0110")
    form.find_element(By.ID, "b-delete-statement").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # (drawn again with what was saved: who changed them and when)
    wait_until(browser, lambda d: "Cambiados" in d.find_element(By.ID, "b-document-settings").text)
    # And uploads the documents' logo
    browser.find_element(By.ID, "b-document-logo").send_keys(str(logo))
    browser.find_element(By.CSS_SELECTOR, "#b-document-logo-form button[type=submit]").click()
    wait_until(browser, lambda d: "hay uno cargado" in d.find_element(By.ID, "b-document-logo-form").text)
    console_screenshot(browser, "documents-settings")
    # Then the API has every one of them
    settings = body(api.http.get("/documents/settings", headers=tenant.admin_headers()))
    assert (
        settings["statement_comment"],
        settings["delete_after_sending"]["statement"],
        settings["has_logo"],
    ) == (
        "Pague por transferencia <b>CBU</b> 0110",
        True,
        True,
    )
    # And a clerk (level 3) reads them, the comment as text, with no form to change them
    sign_in(browser, site.web, tenant, 3, screen="documents")
    box = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-document-settings dl"))
    assert "Pague por transferencia <b>CBU</b> 0110" in box.text and "pagos" in box.text
    assert not browser.find_elements(By.ID, "b-document-settings-form")


TYPE_IN = "document.querySelector(arguments[0]).value = arguments[1]"  # a long text, at once


def test_an_administrator_previews_and_saves_a_pdf_template_and_an_unsafe_one_is_refused_at_it(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, tmp_path: Any
) -> None:
    from selenium.webdriver.support.ui import Select

    # When an administrator opens the documents screen's PDF templates and picks the order's
    sign_in(browser, site.web, tenant, 1, screen="documents")
    Select(wait_until(browser, lambda d: d.find_element(By.ID, "b-template-type"))).select_by_value("order")
    form = '#b-template-form[data-type="order"]'
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{form} textarea"))
    default = body(api.http.get("/documents/templates/order", headers=tenant.admin_headers()))
    assert browser.find_element(By.ID, "b-template-state").text == "Plantilla predeterminada."
    assert (
        browser.find_element(By.CSS_SELECTOR, f"{form} textarea").get_attribute("value") == default["source"]
    )
    # And adds a line that reads a file, and saves: Then the refusal shows next to the template
    unsafe = '#read("/etc/passwd")\n' + default["source"]
    browser.execute_script(TYPE_IN, f"{form} textarea", unsafe)
    browser.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"{form} .field-error"))
    # When they write a line of their own instead, preview it and save it
    own = default["source"] + "\nGracias por su compra.\n"
    browser.execute_script(TYPE_IN, f"{form} textarea", own)
    downloads = {"behavior": "allow", "downloadPath": str(tmp_path)}
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", downloads)
    browser.find_element(By.ID, "b-template-preview").click()
    preview = tmp_path / "vista-previa-order.pdf"
    wait_until(browser, lambda d: preview.exists() and preview.stat().st_size > 0, 30)
    assert preview.read_bytes().startswith(b"%PDF")
    browser.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()
    # Then the company's own template is the one saved
    own_state = "Plantilla propia de la empresa."
    wait_until(browser, lambda d: d.find_element(By.ID, "b-template-state").text == own_state)
    saved = body(api.http.get("/documents/templates/order", headers=tenant.admin_headers()))
    assert saved["customized"] and saved["source"].rstrip() == own.rstrip()
    console_screenshot(browser, "documents-templates")


def test_bulk_statements_go_only_to_the_clients_of_a_classification(
    api: Client, tenant: Tenant, erp: dict[str, str], site: ConsoleSite, browser: Any
) -> None:
    # Given the documents screen (the company's one client, CEDIMU, has no classification)
    sign_in(browser, site.web, tenant, 1, screen="documents")
    box = wait_until(browser, lambda d: d.find_element(By.ID, "b-classification"))
    assert box.accessible_name.startswith("Clasificación del cliente")
    # When a line is not field=value, it is refused next to the box and nothing starts
    box.send_keys("zona")
    browser.find_element(By.CSS_SELECTOR, "#b-bulk-statements button[type=submit]").click()
    error = wait_until(browser, lambda d: d.find_element(By.ID, "b-classification-error"))
    assert "campo=valor" in error.text
    assert not box_says(browser, "b-bulk-status")
    # When the send is narrowed to zona=norte (seed 003's "filtros de parámetros")
    box.clear()
    box.send_keys("zona=norte")
    browser.find_element(By.CSS_SELECTOR, "#b-bulk-statements button[type=submit]").click()
    # Then the job selects no client (its workers run as the outbox drains)
    status = bulk_job_ended(browser)
    assert "terminado" in status and "total 0" in status, status
