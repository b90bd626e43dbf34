"""The console in Chromium when someone else saved what a person is editing (docs/api.md, "Editing
safely"): it sends the ETag it loaded as If-Match, and on the 412 says so in Spanish, keeps the
person's text on screen, and loads the screen again only when asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    demo_user,
    open_screen,
    sign_in,
    wait_until,
)
from tests.steps.documents import documents_key
from tests.steps.notes import add_department, staff_headers, write_note
from tests.steps.tenants import Tenant

pytestmark = pytest.mark.browser

NOTICE = "No se guardó: otra persona guardó cambios aquí"


@dataclass(frozen=True)
class Screen:
    """A screen that edits one thing: where it is (``screen``, ``query``), the form and the field a
    person types into (by CSS), what another administrator saves meanwhile (``other``: path and
    body, PUT with no If-Match, as the ERP would), and what a GET shows of the thing (``stored``)."""

    name: str
    screen: str
    query: str
    form: str
    field: str
    other: tuple[str, dict[str, Any]]
    stored: Callable[[Client, Tenant], str]
    given: Callable[[Client, Tenant], None] = lambda api, tenant: None
    # how the other saves (a settings screen's PATCH), and what the first types
    method: str = "PUT"
    typed: str = "Lo que escribió Ana"
    # a thing under an id made when it is given (a mailbox): the screen's query and the other's path
    # read it
    made: Callable[[Client, Tenant], str] | None = None


def _get(path: str, *keys: str) -> Callable[[Client, Tenant], str]:
    def stored(api: Client, tenant: Tenant) -> str:
        value: Any = body(api.http.get(path, headers=bearer(tenant, 1)))
        for key in keys:
            value = value[key]
        return str(value)

    return stored


def _listed(path: str, key: str, wanted: Any, field: str) -> Callable[[Client, Tenant], str]:
    def stored(api: Client, tenant: Tenant) -> str:
        items = body(api.http.get(path, headers=bearer(tenant, 1)))["items"]
        return str(next(i[field] for i in items if i[key] == wanted))

    return stored


def _client(api: Client, tenant: Tenant) -> None:
    put_client(api, tenant, "CLI-1")


def _motive(api: Client, tenant: Tenant) -> None:
    entry = {"code": "RECL", "name": "Reclamo"}
    added = api.http.post("/register/motives", headers=bearer(tenant, 1), body=json.dumps(entry))
    assert added.status_code == 201, added.body


def _mailbox(api: Client, tenant: Tenant) -> None:
    mailbox = {
        "host": "127.0.0.1",
        "port": 10993,
        "encryption": "none",
        "username": "ana",
        "folders": ["INBOX"],
    }
    added = api.http.post("/mailboxes", headers=bearer(tenant, 1), body=json.dumps(mailbox))
    assert added.status_code == 201, added.body


def _mailbox_id(api: Client, tenant: Tenant) -> str:
    return str(body(api.http.get("/mailboxes", headers=bearer(tenant, 1)))["items"][0]["mailbox_id"])


def _sender_account(display_name: str) -> dict[str, Any]:
    """A sender account's settings (no server listens: only saved, never used)."""
    return {
        "display_name": display_name,
        "from_address": "clara@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "encryption": "none",
        "username": "clara",
    }


def _put_sender_account(api: Client, tenant: Tenant, path: str) -> None:
    saved = api.http.put(path, headers=bearer(tenant, 1), body=json.dumps(_sender_account("Avisos")))
    assert saved.status_code == 200, saved.body


def _supplier(api: Client, tenant: Tenant) -> None:
    first = {"name": "Comint", "emails": ["ventas@comint.example"]}
    saved = api.http.put("/suppliers/COMINT", headers=documents_key(tenant), body=json.dumps(first))
    assert saved.status_code == 200, saved.body


def _webhook(api: Client, tenant: Tenant) -> None:
    endpoint = {"url": "http://127.0.0.1:9/pregon", "events": ["message.bounced"]}  # saved, never posted to
    added = api.http.post("/webhooks", headers=bearer(tenant, 1), body=json.dumps(endpoint))
    assert added.status_code == 201, added.body


def _webhook_id(api: Client, tenant: Tenant) -> str:
    return str(body(api.http.get("/webhooks", headers=bearer(tenant, 1)))["items"][0]["endpoint_id"])


SCREENS = [
    Screen(
        "template",
        "templates",
        "key=invoice",
        "#template-form",
        "#template-subject",
        ("/templates/invoice", {"subject": "Factura de Bea", "text": "Hola", "html": "<p>Hola</p>"}),
        _get("/templates/invoice", "subject"),
    ),
    Screen(
        "status",
        "catalog",
        "",
        "#status-RECEIVED_AT_DESTINATION-form",
        "#status-RECEIVED_AT_DESTINATION-name",
        (
            "/status-catalog/RECEIVED_AT_DESTINATION",
            {"display_name": "Llegó (Bea)", "visibility": "visible", "notify": True},
        ),
        _listed("/status-catalog", "code", "RECEIVED_AT_DESTINATION", "display_name"),
    ),
    Screen(
        "alert settings",
        "monitor",
        "",
        "#alert-tracking-form",
        "#alert-tracking-frequency",
        ("/alerts/tracking", {"enabled": True, "frequency_minutes": 45}),
        _listed("/alerts", "alert_type", "tracking", "frequency_minutes"),
    ),
    Screen(
        "SMS auto-replies",
        "sms",
        "",
        "#sms-auto-replies-form",
        '#sms-auto-replies-form [name="balance.keywords"]',
        ("/sms/auto-replies", {"balance": {"keywords": "cuenta de Bea"}}),
        lambda api, tenant: _get("/sms/auto-replies", "balance", "keywords")(api, tenant),
    ),
    Screen(
        "supplier",
        "suppliers",
        "supplier=COMINT",
        "#supplier-form",
        "#supplier-name",
        ("/suppliers/COMINT", {"name": "Comint de Bea", "emails": ["ventas@comint.example"]}),
        lambda api, tenant: str(
            body(api.http.get("/suppliers/COMINT", headers=documents_key(tenant)))["name"]
        ),
        _supplier,
    ),
    Screen(
        "reminder concept",
        "reminders",
        "",
        "#b-concept-rows > form:first-of-type",
        '#b-concept-rows > form:first-of-type [name="description"]',
        ("", {}),  # the concept's id is read when the screen is drawn
        lambda api, tenant: str(
            body(api.http.get("/reminders/concepts", headers=bearer(tenant, 1)))["items"][0]["description"]
        ),
    ),
    Screen(
        "client's reminder settings",
        "reminders",
        "client=CLI-1",
        "#b-client-reminders",
        '#b-client-reminders [name="subject"]',
        ("/clients/CLI-1/reminders", {"active": True, "subject": "Aviso de Bea"}),
        _get("/clients/CLI-1/reminders", "subject"),
        _client,
    ),
    Screen(
        "company settings",
        "company",
        "",
        "#company-settings-form",
        "#company-time_zone",
        ("/company", {"time_zone": "America/Argentina/Cordoba"}),
        _get("/company", "time_zone"),
        method="PATCH",
        typed="America/Argentina/Salta",
    ),
    Screen(
        "branding",
        "branding",
        "",
        "#brand-form",
        "#brand-page-url",
        ("/company/branding", {"tracking_page_url": "https://bea.example/seguimiento/{tracking_id}"}),
        _get("/company/branding", "tracking_page_url"),
        method="PATCH",
        typed="https://ana.example/envios/{tracking_id}",
    ),
    Screen(
        "document settings",
        "documents",
        "",
        "#b-document-settings-form",
        '#b-document-settings-form [name="statement_comment"]',
        ("/documents/settings", {"statement_comment": "Comentario de Bea"}),
        _get("/documents/settings", "statement_comment"),
        method="PATCH",
    ),
    Screen(
        "SMS settings",
        "sms",
        "",
        "#sms-settings-form",
        '#sms-settings-form [name="help_text"]',
        ("/sms/settings", {"help_text": "Ayuda de Bea"}),
        _get("/sms/settings", "help_text"),
    ),
    Screen(
        "register table entry",
        "clients",
        "",
        '#b-register-tables form[data-code="RECL"]',
        '#b-register-tables form[data-code="RECL"] [name="name"]',
        ("/register/motives/RECL", {"name": "Reclamo de Bea"}),
        _listed("/register/motives", "code", "RECL", "name"),
        _motive,
    ),
    Screen(
        "mailbox",
        "mailboxes",
        "mailbox={id}",
        "#mailbox-form",
        "#mailbox-folders",
        ("/mailboxes/{id}", {"folders": ["Bandeja de Bea"]}),
        lambda api, tenant: ", ".join(
            body(api.http.get("/mailboxes", headers=bearer(tenant, 1)))["items"][0]["folders"]
        ),
        _mailbox,
        method="PATCH",
        made=_mailbox_id,
    ),
    Screen(
        "area's sender account",
        "accounts",
        "area=tracking",
        "#area-tracking-form",
        "#area-tracking-display_name",
        ("/sender-accounts/tracking", _sender_account("Avisos de Bea")),
        _listed("/sender-accounts", "area", "tracking", "display_name"),
        lambda api, tenant: _put_sender_account(api, tenant, "/sender-accounts/tracking"),
    ),
    Screen(
        "personal sender account",
        "accounts",
        "user=clara",
        "#personal-form",
        "#personal-display_name",
        ("/users/clara/sender-account", _sender_account("Clara de Bea")),
        _get("/users/clara/sender-account", "display_name"),
        lambda api, tenant: _put_sender_account(api, tenant, "/users/clara/sender-account"),
    ),
    Screen(
        "webhook endpoint",
        "webhooks",
        "endpoint={id}",
        "#edit-webhook-form",
        "#edit-webhook-url",
        ("/webhooks/{id}", {"url": "http://127.0.0.1:9/bea", "events": ["message.bounced"]}),
        _listed("/webhooks", "events", ["message.bounced"], "url"),
        _webhook,
        typed="http://127.0.0.1:9/ana",
        made=_webhook_id,
    ),
]


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_a_save_over_someone_elses_newer_one_is_refused_in_spanish_and_the_typed_text_stays(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, screen: Screen
) -> None:
    # Given an administrator with the thing open in the console
    screen.given(api, tenant)
    made = screen.made(api, tenant) if screen.made else ""
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, screen.screen, screen.query.format(id=made))
    field = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, screen.field))
    # And another administrator saves it meanwhile
    path, other = screen.other[0].format(id=made), screen.other[1]
    if screen.name == "reminder concept":
        concept = body(api.http.get("/reminders/concepts", headers=bearer(tenant, 1)))["items"][0]
        path = f"/reminders/concepts/{concept['concept_id']}"
        other = {"description": "Aviso de Bea", "days": concept["days"], "type": concept["type"]}
    bea = documents_key(tenant) if screen.screen == "suppliers" else staff_headers(tenant, "bea", 1)
    saved = api.http.request(screen.method, path, headers=bea, body=json.dumps(other).encode())
    assert saved.status_code == 200, saved.body
    theirs = screen.stored(api, tenant)
    # When the first types their change and saves
    field.clear()
    field.send_keys("25" if screen.screen == "monitor" else screen.typed)
    typed = field.get_attribute("value")
    browser.find_element(By.CSS_SELECTOR, f"{screen.form} button[type=submit]").click()
    # Then the console says in Spanish that someone else saved it and nothing was saved
    notice = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{screen.form} .edited-meanwhile")
    )
    assert NOTICE in notice.text and notice.get_attribute("role") == "alert"
    console_screenshot(browser, f"edited-meanwhile-{screen.screen}")
    # And what they typed is still on screen, and the other's save is what is stored
    assert browser.find_element(By.CSS_SELECTOR, screen.field).get_attribute("value") == typed
    assert screen.stored(api, tenant) == theirs
    # When they ask to load it again
    notice.find_element(By.CSS_SELECTOR, "button.reload").click()
    # Then the screen shows the other's save, and their next save (at its new ETag) is saved
    reloaded = wait_until(
        browser,
        lambda d: [
            f for f in d.find_elements(By.CSS_SELECTOR, screen.field) if f.get_attribute("value") == theirs
        ],
    )
    reloaded[0].clear()
    reloaded[0].send_keys(typed)
    browser.find_element(By.CSS_SELECTOR, f"{screen.form} button[type=submit]").click()
    wait_until(browser, lambda d: screen.stored(api, tenant) == typed)
    assert not browser.find_elements(By.CSS_SELECTOR, ".edited-meanwhile")


def test_a_note_edited_meanwhile_in_another_tab_is_not_overwritten(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a clerk in a department (as writing notes needs) with a note on a client
    add_department(api, tenant, "ventas", "Ventas")
    put_client(api, tenant, "CLI-1")
    clerk = staff_headers(tenant, demo_user(tenant, 3), 3, department="ventas")
    assert api.http.get("/staff/me", headers=clerk).status_code == 200  # in the directory, in it
    note = write_note(api, clerk, "CLI-1", "Llamó por la cotización")
    # And the note open for editing on the notes screen
    sign_in(browser, site.web, tenant, 3, screen="notes")
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-edit-note")).click()
    text = wait_until(browser, lambda d: d.find_element(By.ID, "b-edit-note-text"))
    # When the clerk saves another edit of it from another tab meanwhile
    path = f"/clients/CLI-1/notes/{note['note_id']}"
    other = api.http.patch(path, headers=clerk, body=json.dumps({"note": "Llamó: cotización enviada"}))
    assert other.status_code == 200, other.body
    # And then saves this one
    text.clear()
    text.send_keys("Llamó: quiere la cotización en dólares")
    browser.find_element(By.CSS_SELECTOR, "#b-note-edit button[type=submit]").click()
    # Then the console says the note was changed meanwhile and this edit was not saved
    notice = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#b-note-edit .edited-meanwhile"))
    assert NOTICE in notice.text
    assert text.get_attribute("value") == "Llamó: quiere la cotización en dólares"
    assert body(api.http.get(path, headers=clerk))["note"] == "Llamó: cotización enviada"
    # When they load the screen again
    notice.find_element(By.CSS_SELECTOR, "button.reload").click()
    # Then the report shows the note as the other tab saved it
    wait_until(browser, lambda d: "Llamó: cotización enviada" in d.find_element(By.ID, "b-notes-report").text)
