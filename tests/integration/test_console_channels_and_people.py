"""W2: the console's screens for channels and people in Debian's Chromium: the SMS settings (a
write-only password, a test SMS, the keyword auto-replies), the tickets clients open by SMS, the push
settings, the staff directory, preferred agents and suppliers; each only for the levels (and the
permission) the API lets in, and whatever a tenant or a client typed shown as text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from infrastructure.local.sms_masivos import MASIVOS_PASSWORD, SmsMasivosStandIn
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    demo_user,
    nav_screens,
    no_alert_opened,
    not_available,
    open_screen,
    sign_in,
    sign_out,
    submit,
    toast_says,
    type_into,
    wait_until,
)
from tests.steps.sms import assign_sender_ids, free_inbound_number, receive_sms
from tests.steps.tenants import Tenant, named_user

pytestmark = pytest.mark.browser
XSS = "<img src=x onerror=alert(1)>"
ANA_PHONE = "+5491159876543"  # 011-15-5987-6543 as the back office typed it
BULK_PASSWORD = "Clave-masiva-2026"
ADMIN_SCREENS = {"sms": "Ajustes de SMS", "push": "Ajustes de push", "staff": "Personal de la empresa"}


def field_error(driver: Any, form_id: str) -> Any:
    return wait_until(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"#{form_id} .field-error"))


def client_ana(api: Client, tenant: Tenant) -> None:
    answer = api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps({"name": "Ana Pérez", "phones": ["011-15-5987-6543"]}).encode(),
    )
    assert answer.status_code == 200, answer.body


def platform_application(company_id: str) -> str:
    """An Android application in moto's SNS, as the operator creates it for a company."""
    from chalicelib.core.aws import client

    created = client("sns").create_platform_application(
        Name=f"{company_id}_android", Platform="GCM", Attributes={"PlatformCredential": "firebase-key"}
    )
    return str(created["PlatformApplicationArn"])


def test_an_administrator_sets_up_sms_and_push_and_reads_the_ticket_an_sms_opened(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chalicelib.store.fields

    # Given the client Ana, whose mobile the back office typed, and a number for two-way SMS that
    # Pregón's operator gave the company
    client_ana(api, tenant)
    number = free_inbound_number(assigned_to=tenant.company_id)
    # When the administrator switches SMS on through SNS, with that number and a HELP answer
    sign_in(browser, site.web, tenant, level=1, screen="sms")
    # (settings the company never saved say so; the operator's grant of the number is their one
    # change, and no change date reads a bare "—")
    assert browser.find_element(By.ID, "sms-status").text == (
        "Apagado · contraseña del gateway sin cargar · contraseña de envíos masivos sin cargar"
        " · cambiado 2/11/2026 12:00"
    )
    browser.find_element(By.ID, "sms-enabled").click()
    type_into(browser, "sms-inbound_number", number)
    type_into(browser, "sms-help_text", "Cargas del Sur: 0800-555-0101")
    # and at most 50 SMS every 2 hours (C2)
    type_into(browser, "sms-rate_limit_messages", "50")
    type_into(browser, "sms-rate_limit_hours", "2")
    submit(browser, "sms-settings-form")
    toast_says(browser, "Ajustes de SMS guardados")
    # Then after a reload the screen shows them saved and ready, with Pregón's allowance beside
    browser.refresh()
    status = wait_until(browser, lambda d: d.find_element(By.ID, "sms-status"))
    assert status.text.startswith("Listo para enviar") and "masivos sin cargar" in status.text
    assert browser.find_element(By.ID, "sms-inbound_number").get_attribute("value") == number
    assert browser.find_element(By.ID, "sms-rate_limit_messages").get_attribute("value") == "50"
    assert browser.find_element(By.ID, "sms-rate_limit_hours").get_attribute("value") == "2"
    assert "Pregón permite 500 SMS por día" in browser.find_element(By.ID, "sms-settings").text
    assert browser.find_element(By.ID, "sms-enabled").is_selected()
    # When they give a bulk-send password too short, Then the API's rule shows next to it
    type_into(browser, "sms-bulk-password-password", "corta")
    submit(browser, "sms-bulk-password-form")
    assert "8" in field_error(browser, "sms-bulk-password-form").text
    # When they give a good one
    type_into(browser, "sms-bulk-password-password", BULK_PASSWORD)
    submit(browser, "sms-bulk-password-form")
    # Then the screen says only that it is set: the password is nowhere in the page or the API's answer
    wait_until(browser, lambda d: "masivos guardada" in d.find_element(By.ID, "sms-status").text)
    secret = browser.find_element(By.CSS_SELECTOR, '[data-secret="sms-bulk-password"]')
    assert secret.find_element(By.CSS_SELECTOR, ".secret-status").text.startswith("Guardada.")
    assert browser.find_element(By.ID, "sms-bulk-password-password").get_attribute("value") == ""
    assert BULK_PASSWORD not in browser.page_source
    assert BULK_PASSWORD not in browser.execute_script("return document.documentElement.outerHTML")
    settings = api.http.get("/sms/settings", headers=bearer(tenant, 1))
    assert body(settings)["bulk_password_set"] and BULK_PASSWORD not in settings.body.decode()
    # When they send a test SMS to Ana's number as typed locally
    type_into(browser, "sms-test-to", "011-15-5987-6543")
    submit(browser, "sms-test-form")
    # Then the provider's answer shows, with the number as it was sent
    answer = wait_until(
        browser,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#sms-test-form .test-answer").text.startswith("Enviado")
            and d.find_element(By.CSS_SELECTOR, "#sms-test-form .test-answer")
        ),
    )
    assert ANA_PHONE in answer.text
    # When they switch the ticket auto-reply on with a variable the reply does not have
    browser.find_element(By.ID, "auto-ticket-enabled").click()
    type_into(browser, "auto-ticket-keywords", "soporte")
    type_into(browser, "auto-ticket-operator", "Marta")
    type_into(browser, "auto-ticket-category", "Técnico")
    type_into(browser, "auto-ticket-template", "Ticket %id% de %cliente_x%")
    submit(browser, "sms-auto-replies-form")
    # Then the refusal shows next to the template; with the right variables it is saved
    assert field_error(browser, "sms-auto-replies-form").get_attribute("id") == "auto-ticket-template-error"
    type_into(browser, "auto-ticket-template", "Ticket %id%: %operador% lo atiende.")
    submit(browser, "sms-auto-replies-form")
    toast_says(browser, "Respuestas automáticas guardadas")
    rules = body(api.http.get("/sms/auto-replies", headers=bearer(tenant, 1)))
    assert rules["ticket"]["enabled"] and rules["ticket"]["operator"] == "Marta"
    console_screenshot(browser, "sms")
    # When Ana writes for support, with markup in her SMS
    opened = receive_sms(api, number, ANA_PHONE, f"Soporte {XSS} sin servicio")
    assert opened["ticket_id"], opened
    # Then the tickets screen lists her ticket, her text as text
    open_screen(browser, "tickets")
    row = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#tickets-list tbody tr"))
    for shown in (opened["ticket_id"], "CLI-7", f"Soporte {XSS} sin servicio"):
        assert shown in row.text, row.text
    # And opening it shows what she wrote, its operator, and a link to the SMS in her register
    row.find_element(By.CSS_SELECTOR, "button.b-view").click()
    detail = wait_until(browser, lambda d: d.find_element(By.ID, "ticket-detail"))
    assert detail.find_element(By.CSS_SELECTOR, ".ticket-text").text == f"Soporte {XSS} sin servicio"
    assert "Marta" in detail.text and "Técnico" in detail.text
    assert "client=CLI-7" in detail.find_element(By.TAG_NAME, "a").get_attribute("href")
    assert not browser.find_elements(By.CSS_SELECTOR, "main img") and no_alert_opened(browser)
    console_screenshot(browser, "tickets")
    # When they filter by another client, Then none is listed
    type_into(browser, "b-client_id", "CLI-8")
    submit(browser, "tickets-filters")
    wait_until(browser, lambda d: "Ningún ticket" in d.find_element(By.ID, "tickets-list").text)
    # When a page reads at most 1 ticket (a year's: 1,000 of thousands) and they filter again
    monkeypatch.setattr(chalicelib.store.fields, "PAGE_READ", 1, raising=False)
    monkeypatch.setattr(chalicelib.store.fields, "READ_PER_PAGE", 1, raising=False)
    submit(browser, "tickets-filters")
    # Then the first part read holds none: the screen says so and offers «Más», which reads on
    part = "Ninguno en esta parte de los tickets; «Más» sigue buscando en los anteriores."
    wait_until(browser, lambda d: part in d.find_element(By.ID, "tickets-list").text)
    browser.find_element(By.CSS_SELECTOR, "#tickets-list .b-more").click()
    wait_until(browser, lambda d: "No hay más tickets" in d.find_element(By.ID, "tickets-list").text)
    assert not browser.find_elements(By.CSS_SELECTOR, "#tickets-list .b-more")
    # When they name an Android push application that is not the company's
    open_screen(browser, "push")
    type_into(browser, "push-fcm_application_arn", "arn:aws:sns:us-east-1:123456789012:app/GCM/otra")
    submit(browser, "push-settings-form")
    # Then the refusal shows next to it, in Spanish; with the company's own it is there after a reload
    assert "creada para esta empresa" in field_error(browser, "push-settings-form").text
    arn = platform_application(tenant.company_id)
    type_into(browser, "push-fcm_application_arn", arn)
    submit(browser, "push-settings-form")
    toast_says(browser, "Ajustes de push guardados")
    browser.refresh()
    saved = wait_until(browser, lambda d: d.find_element(By.ID, "push-fcm_application_arn"))
    assert saved.get_attribute("value") == arn
    assert body(api.http.get("/push/settings", headers=bearer(tenant, 1)))["fcm_application_arn"] == arn


def test_an_administrator_chooses_the_sms_sender_among_those_the_operator_assigned(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given Pregón's operator gave the company two sender IDs
    assign_sender_ids(tenant.company_id, "CableSur", "CSur-Avisos")
    # When the administrator opens the SMS settings
    sign_in(browser, site.web, tenant, level=1, screen="sms")
    sender = Select(wait_until(browser, lambda d: d.find_element(By.ID, "sms-sender_id")))
    # Then the sender is a choice among those two, or none (the carrier's default); nothing to type
    assert [o.text for o in sender.options] == [
        "Ninguno (el remitente por defecto del operador telefónico)",
        "CSur-Avisos",
        "CableSur",
    ]
    assert sender.first_selected_option.get_attribute("value") == ""
    hint = browser.find_element(By.ID, "sms-sender-hint").text
    assert hint == "Solo los remitentes que el operador de Pregón asignó a la empresa."
    # When they choose CableSur and save
    browser.find_element(By.ID, "sms-enabled").click()
    sender.select_by_value("CableSur")
    submit(browser, "sms-settings-form")
    toast_says(browser, "Ajustes de SMS guardados")
    # Then it is the company's sender, and the screen shows it chosen after a reload
    assert body(api.http.get("/sms/settings", headers=bearer(tenant, 1)))["sender_id"] == "CableSur"
    browser.refresh()
    sender = Select(wait_until(browser, lambda d: d.find_element(By.ID, "sms-sender_id")))
    assert sender.first_selected_option.get_attribute("value") == "CableSur"
    # When the operator takes CSur-Avisos back while the screen still offers it, and the
    # administrator chooses it
    assign_sender_ids(tenant.company_id, "CableSur")
    sender.select_by_value("CSur-Avisos")
    submit(browser, "sms-settings-form")
    # Then the refusal shows next to the sender, in Spanish, saying the operator assigns them
    error = field_error(browser, "sms-settings-form")
    assert error.get_attribute("id") == "sms-sender_id-error"
    # (the sender is described by its hint, then the error: a screen reader says both)
    described = browser.find_element(By.ID, "sms-sender_id").get_attribute("aria-describedby")
    assert described == "sms-sender-hint sms-sender_id-error"
    assert (
        error.text
        == "CSur-Avisos no es un remitente de SMS de esta empresa: los asigna el operador de Pregón"
    )
    assert body(api.http.get("/sms/settings", headers=bearer(tenant, 1)))["sender_id"] == "CableSur"
    # When the operator takes every one back, Then the screen says SMS go out with the default sender
    assign_sender_ids(tenant.company_id)
    browser.refresh()
    sender = Select(wait_until(browser, lambda d: d.find_element(By.ID, "sms-sender_id")))
    assert [o.get_attribute("value") for o in sender.options] == [""]
    assert browser.find_element(By.ID, "sms-sender-hint").text.startswith(
        "El operador de Pregón no asignó remitentes a la empresa: los SMS salen con el remitente por defecto."
    )


def test_an_administrator_sets_up_sms_masivos_with_its_user_and_write_only_password(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the company's account at SMS Masivos (seed 002 §2: a user and a password it was given)
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")
    with SmsMasivosStandIn() as masivos:
        monkeypatch.setenv("SMS_MASIVOS_URL", masivos.url)
        # When the administrator chooses SMS Masivos as the provider, types its user and saves
        sign_in(browser, site.web, tenant, level=1, screen="sms")
        provider = Select(wait_until(browser, lambda d: d.find_element(By.ID, "sms-provider")))
        assert "SMS Masivos (Argentina)" in [o.text for o in provider.options]
        provider.select_by_value("sms_masivos")
        type_into(browser, "sms-masivos_username", "demo")
        submit(browser, "sms-settings-form")
        toast_says(browser, "Ajustes de SMS guardados")
        # Then the status speaks of SMS Masivos' password, not yet set
        # (waited for: the toast shows before the screen is drawn again)
        wait_until(
            browser,
            lambda d: "contraseña de SMS Masivos sin cargar" in d.find_element(By.ID, "sms-status").text,
        )
        # When they type the password SMS Masivos gave them
        type_into(browser, "sms-masivos-password-password", MASIVOS_PASSWORD)
        submit(browser, "sms-masivos-password-form")
        # Then the screen says only that it is set: it is nowhere in the page or the API's answer
        wait_until(browser, lambda d: "SMS Masivos guardada" in d.find_element(By.ID, "sms-status").text)
        assert browser.find_element(By.ID, "sms-masivos-password-password").get_attribute("value") == ""
        assert MASIVOS_PASSWORD not in browser.execute_script("return document.documentElement.outerHTML")
        settings = api.http.get("/sms/settings", headers=bearer(tenant, 1))
        assert body(settings)["masivos_password_set"] and MASIVOS_PASSWORD not in settings.body.decode()
        # And the screen shows what SMS Masivos says of the prepaid package, in the company's
        # locale (es_AR: 5.000), without a warning
        credit = wait_until(browser, lambda d: d.find_element(By.ID, "sms-credit"))
        assert browser.find_element(By.ID, "sms-credit-status").text == (
            "Quedan 5.000 SMS · el paquete vence el 30/6/2027 · enviados este mes: 0"
        )
        assert "credit-low" not in (credit.get_attribute("class") or "")
        # When the package runs low (40 SMS, under the default 100) and the screen is drawn again
        masivos.credit = 40
        browser.refresh()
        credit = wait_until(browser, lambda d: d.find_element(By.ID, "sms-credit"))
        # Then the credit is marked with the warning style and says what to do
        assert "credit-low" in (credit.get_attribute("class") or "")
        assert browser.find_element(By.ID, "sms-credit-status").text.startswith("Quedan 40 SMS")
        warning = credit.find_element(By.CSS_SELECTOR, "[role=alert]").text
        assert warning.startswith("Quedan menos de 100 SMS o el paquete vence en menos de una semana")
        assert credit.value_of_css_property("border-left-color") == "rgba(164, 38, 44, 1)"
        # When they send a test SMS to Ana's number as the back office types it
        type_into(browser, "sms-test-to", "011-15-5987-6543")
        submit(browser, "sms-test-form")
        # Then SMS Masivos got the 10-digit number and the screen says it was sent
        wait_until(
            browser,
            lambda d: d.find_element(By.CSS_SELECTOR, "#sms-test-form .test-answer").text.startswith(
                "Enviado"
            ),
        )
        assert [s["tos"] for s in masivos.sent] == ["1159876543"]
        # When the password is replaced by a wrong one and they test again
        before = browser.find_element(By.ID, "sms-test-form")
        type_into(browser, "sms-masivos-password-password", "una-clave-vieja")
        submit(browser, "sms-masivos-password-form")
        toast_says(browser, "Contraseña de SMS Masivos: guardada")
        wait_until(browser, lambda d: staleness_of(before)(d))  # the screen is drawn again
        type_into(browser, "sms-test-to", "011-15-5987-6543")
        submit(browser, "sms-test-form")
        # Then the answer says the user or password is wrong
        answer = wait_until(
            browser,
            lambda d: (
                "usuario o clave incorrectos"
                in d.find_element(By.CSS_SELECTOR, "#sms-test-form .test-answer").text
                and d.find_element(By.CSS_SELECTOR, "#sms-test-form .test-answer")
            ),
        )
        assert answer.text.startswith("No se envió: rechazado: SMS Masivos: usuario o clave incorrectos")
        # And the credit card says, in our words, that SMS Masivos did not take the password
        assert (
            browser.find_element(By.ID, "sms-credit-status").text.startswith("No se pudo leer el saldo:")
            and "usuario o clave incorrectos" in browser.find_element(By.ID, "sms-credit-status").text
        )


def test_a_sender_id_typed_before_the_operator_assigned_them_is_marked_unused(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    from dataclasses import replace

    from chalicelib.store import sms as store

    # Given a company whose administrator typed "AFIP" before sender IDs were the operator's to give
    # (the operator has given it none yet)
    saved = api.http.put("/sms/settings", headers=bearer(tenant, 1), body=b'{"enabled": true}')
    assert saved.status_code == 200
    before = store.get_sms_settings(tenant.company_id)
    assert before is not None
    store.save_sms_settings(replace(before, sender_id="AFIP"))
    # When the administrator opens the SMS settings
    sign_in(browser, site.web, tenant, level=1, screen="sms")
    sender = Select(wait_until(browser, lambda d: d.find_element(By.ID, "sms-sender_id")))
    # Then it is shown chosen but marked as not assigned, and the hint says SMS go out without it
    assert sender.first_selected_option.text == "AFIP (no asignado: no se usa)"
    assert browser.find_element(By.ID, "sms-sender-hint").text == (
        "El operador de Pregón no asignó remitentes a la empresa: los SMS salen con el remitente por "
        "defecto. Pídale uno. «AFIP» no está asignado: los SMS salen sin él."
    )
    # When they choose none, Then it is gone
    sender.select_by_value("")
    submit(browser, "sms-settings-form")
    toast_says(browser, "Ajustes de SMS guardados")
    assert body(api.http.get("/sms/settings", headers=bearer(tenant, 1)))["sender_id"] is None


def test_an_administrator_edits_the_staff_directory_then_moves_an_agents_clients(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given three clients whose preferred agent is Juan, and Juan and Sofía by name in the directory
    for n in range(3):
        put_client(api, tenant, f"J{n}", preferred_agent="juan")
    named_user(tenant.company_id, "juan", "Juan Pérez")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    # And the administrator on the staff directory, with no preferred-agents screen to open
    sign_in(browser, site.web, tenant, level=1, screen="staff")
    assert "admin@" in browser.find_element(By.ID, "staff-users").text
    assert "agents" not in nav_screens(browser)
    # And the company's branches and departments, none yet, say so in words that agree with them
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Todavía no hay sucursales." in main and "Todavía no hay departamentos." in main
    # When they add a branch whose code has a space, Then the API's rule shows next to the code
    type_into(browser, "unit-branches-code", "norte 1")
    type_into(browser, "unit-branches-name", "Norte")
    submit(browser, "unit-branches-form")
    assert field_error(browser, "unit-branches-form").get_attribute("id") == "unit-branches-code-error"
    # When they add it with a good code and a name with markup
    type_into(browser, "unit-branches-code", "norte")
    type_into(browser, "unit-branches-name", f"Norte {XSS}")
    submit(browser, "unit-branches-form")
    # Then the branch is listed with its name as typed, as text
    wait_until(browser, lambda d: f"Norte {XSS}" in d.find_element(By.ID, "unit-branches").text)
    # When they add a level-2 user in that branch who may change preferred agents
    browser.find_element(By.LINK_TEXT, "Agregar un usuario").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "staff-user-id"))
    type_into(browser, "staff-user-id", "nico@cargas.example")
    type_into(browser, "staff-name", f"Nico {XSS}")
    browser.find_element(By.CSS_SELECTOR, '#staff-level option[value="2"]').click()
    browser.find_element(By.CSS_SELECTOR, '#staff-branch option[value="norte"]').click()
    browser.find_element(By.ID, "staff-permission-change_preferred_agent").click()
    submit(browser, "staff-user-form")
    toast_says(browser, "Usuario nico@cargas.example guardado")
    # Then the directory lists them with that level, branch and permission, their name as text
    nico_row = 'tr[data-user="nico@cargas.example"]'
    row = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, nico_row))
    for shown in (f"Nico {XSS}", "2 · supervisor", f"Norte {XSS}", "Cambiar agentes preferidos", "Activo"):
        assert shown in row.text, row.text
    assert not browser.find_elements(By.CSS_SELECTOR, "main img") and no_alert_opened(browser)
    console_screenshot(browser, "staff")
    # And the API has the same entry
    users = {u["user_id"]: u for u in body(api.http.get("/staff/users", headers=bearer(tenant, 1)))["items"]}
    nico = users["nico@cargas.example"]
    assert (nico["level"], nico["branch"], nico["permissions"]) == (2, "norte", ["change_preferred_agent"])
    # When the administrator gives themselves that permission too
    admin = demo_user(tenant, 1)
    browser.find_element(By.LINK_TEXT, admin).click()
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, f'#staff-user[data-user="{admin}"]'))
    browser.find_element(By.ID, "staff-permission-change_preferred_agent").click()
    before = browser.find_element(By.ID, "staff-user")
    submit(browser, "staff-user-form")
    toast_says(browser, f"Usuario {admin} guardado")
    WebDriverWait(browser, 15).until(staleness_of(before))  # the form drawn again, as saved
    # Then their form still says how they came to the directory: at their first sign-in
    came = "Agregado al ingresar por primera vez."
    hint = wait_until(
        browser, lambda d: [p.text for p in d.find_elements(By.CSS_SELECTOR, "#staff-user .hint")]
    )
    assert came in hint and not [h for h in hint if h.startswith("Agregado por un administrador")], hint
    # And once the console is loaded again it offers the preferred agents, with Juan's three
    # clients: Juan by name, beside his user id
    browser.refresh()
    wait_until(browser, lambda d: "agents" in nav_screens(d))
    open_screen(browser, "agents")
    wait_until(browser, lambda d: agent_rows(d) == [["Juan Pérez (juan)", "3"]])
    # And "Cambiar a" is a labelled choice among the directory's people, by name (Juan left out),
    # that keeps his clients until one is chosen
    box = browser.find_element(By.ID, "agent-to-juan")
    change_to = Select(box)
    assert box.accessible_name == "Cambiar Juan Pérez (juan) a"
    assert change_to.first_selected_option.text == "sin cambio"
    people = [o.text for o in change_to.options]
    assert {"Sofía Gómez (sofia)", f"Nico {XSS} (nico@cargas.example)"} <= set(people)
    assert "Juan Pérez (juan)" not in people
    # When they choose Sofía by name, preview and apply
    change_to.select_by_visible_text("Sofía Gómez (sofia)")
    submit(browser, "agents-form")
    moves = wait_until(browser, lambda d: d.find_element(By.ID, "agent-moves"))
    assert [r.text for r in moves.find_elements(By.CSS_SELECTOR, "tbody tr")] == [
        "Juan Pérez (juan) Sofía Gómez (sofia) 3"
    ]
    browser.find_element(By.ID, "agent-apply").click()
    # Then the change is done, and the list shows Sofía with the three clients
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#agent-change-status[data-state="done"]'))
    assert "3 movidos" in browser.find_element(By.ID, "agent-change-status").text
    wait_until(browser, lambda d: agent_rows(d) == [["Sofía Gómez (sofia)", "3"]])
    console_screenshot(browser, "agents")
    agents = body(api.http.get("/preferred-agents", headers=bearer(tenant, 1)))["items"]
    assert agents == [{"agent": "sofia", "agent_name": "Sofía Gómez", "clients": 3}]
    # When a level-4 user is given the permission too, and moves Sofía's clients back to Juan
    clerk = {"level": 4, "permissions": ["change_preferred_agent"]}
    path = f"/staff/users/{quote(demo_user(tenant, 4), safe='')}"
    given = api.http.put(path, headers=bearer(tenant, 1), body=json.dumps(clerk))
    assert given.status_code in (200, 201), given.body
    sign_in(browser, site.web, tenant, level=4, screen="agents")
    # Then the screen names colleagues by name only (it was given handles, never their user ids),
    # and "Cambiar a" sends back what it was given
    wait_until(browser, lambda d: agent_rows(d) == [["Sofía Gómez", "3"]])
    change_to = Select(browser.find_element(By.CSS_SELECTOR, "#preferred-agents select"))
    change_to.select_by_visible_text("Juan Pérez")
    submit(browser, "agents-form")
    moves = wait_until(browser, lambda d: d.find_element(By.ID, "agent-moves"))
    assert [r.text for r in moves.find_elements(By.CSS_SELECTOR, "tbody tr")] == ["Sofía Gómez Juan Pérez 3"]
    browser.find_element(By.ID, "agent-apply").click()
    wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, '#agent-change-status[data-state="done"]'))
    wait_until(browser, lambda d: agent_rows(d) == [["Juan Pérez", "3"]])
    agents = body(api.http.get("/preferred-agents", headers=bearer(tenant, 1)))["items"]
    assert agents == [{"agent": "juan", "agent_name": "Juan Pérez", "clients": 3}]


def agent_rows(driver: Any) -> list[list[str]]:
    """The preferred agents the agents screen lists: each agent and how many clients."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#preferred-agents tbody tr")
    return [[cell.text.strip() for cell in row.find_elements(By.CSS_SELECTOR, "td")[:2]] for row in rows]


def test_a_supervisor_reads_tickets_but_no_settings_and_an_agent_keeps_suppliers(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a company whose clients open tickets by SMS, and one Ana opened
    client_ana(api, tenant)
    number = free_inbound_number(assigned_to=tenant.company_id)
    admin = tenant.admin_headers()
    settings = {"enabled": True, "provider": "sns", "inbound_number": number}
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps(settings).encode()).status_code == 200
    rule = {"enabled": True, "keywords": "soporte", "operator": "Marta", "category": "Técnico"}
    answer = api.http.put("/sms/auto-replies", headers=admin, body=json.dumps({"ticket": rule}).encode())
    assert answer.status_code == 200, answer.body
    ticket_id = receive_sms(api, number, ANA_PHONE, "soporte: no me llega nada")["ticket_id"]
    # When a supervisor (level 2) signs in
    sign_in(browser, site.web, tenant, level=2)
    # Then the navigation offers the tickets and none of the administrators' settings
    offered = set(nav_screens(browser))
    assert "tickets" in offered and not ADMIN_SCREENS.keys() & offered
    # And the tickets screen lists Ana's ticket
    open_screen(browser, "tickets")
    wait_until(browser, lambda d: ticket_id in d.find_element(By.ID, "tickets-list").text)
    # When they open each settings screen's address, Then it is not available for their level
    for screen, title in ADMIN_SCREENS.items():
        open_screen(browser, screen)
        wait_until(browser, lambda d, title=title: d.find_element(By.CSS_SELECTOR, "main h1").text == title)
        assert not_available(browser), screen
    console_screenshot(browser, "not-available-sms-level-2")
    # When an agent (level 4) signs in, Then there are no tickets for them, in the navigation or by address
    sign_out(browser)
    sign_in(browser, site.web, tenant, level=4)
    assert not ({"tickets"} | ADMIN_SCREENS.keys()) & set(nav_screens(browser))
    open_screen(browser, "tickets")
    assert not_available(browser)
    # And the API refuses them the settings
    for path in ("/sms/settings", "/push/settings", "/staff/users"):
        assert api.http.get(path, headers=bearer(tenant, 4)).status_code == 403, path
    # When the agent adds a supplier with a bad e-mail, Then the refusal shows next to the e-mails
    open_screen(browser, "suppliers")
    wait_until(browser, lambda d: d.find_element(By.ID, "supplier-code"))  # (past the last screen's refusal)
    type_into(browser, "supplier-code", "COMINT")
    type_into(browser, "supplier-name", f"Comint {XSS}")
    type_into(browser, "supplier-emails", "compras-comint")
    submit(browser, "supplier-form")
    assert field_error(browser, "supplier-form").get_attribute("id") == "supplier-emails-error"
    # When they give a good one, Then the supplier is listed, its name as typed, as text
    type_into(browser, "supplier-emails", "compras@comint.example")
    submit(browser, "supplier-form")
    listed = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#suppliers-list tbody tr"))
    assert listed.text.split(" ", 1)[1].startswith(f"Comint {XSS} compras@comint.example"), listed.text
    # When they then add "another" supplier under the same code, as one who did not look at the list
    open_screen(browser, "suppliers")
    wait_until(browser, lambda d: d.find_element(By.ID, "supplier-code").get_attribute("value") == "")
    type_into(browser, "supplier-code", "COMINT")
    type_into(browser, "supplier-name", "Otro proveedor")
    type_into(browser, "supplier-emails", "otro@otro.example")
    submit(browser, "supplier-form")
    # Then it is refused beside the code, in Spanish, and the supplier keeps its name and e-mail
    # (before, the form replaced it: purchase orders then went to the other address)
    refused = field_error(browser, "supplier-form")
    assert refused.get_attribute("id") == "supplier-code-error" and "ya hay un proveedor" in refused.text
    kept = body(api.http.get("/suppliers/COMINT", headers=tenant.admin_headers()))
    assert (kept["name"], kept["emails"]) == (f"Comint {XSS}", ["compras@comint.example"])
    assert not browser.find_elements(By.CSS_SELECTOR, "main img") and no_alert_opened(browser)
