"""W2, the console's Clientes screen in Debian's Chromium: a clerk finds a client by what they
remember (part of the name, the code, an e-mail, a phone as typed) in a labelled search box, with
results as they type or on Enter, and an unknown code shows the way back (``GET /clients?q=``).
Screenshots: .local/screenshots/console/."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, console_screenshot, open_screen, sign_in, wait_until
from tests.steps.tenants import Tenant

pytestmark = pytest.mark.browser


def names_listed(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('main tbody tr')].map(r => r.cells[1].textContent)"
        )
    )


def search_status(driver: Any) -> str:
    return str(driver.find_element(By.ID, "b-client-search-status").text)


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
