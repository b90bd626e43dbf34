"""The console's webhooks screen (docs/webhooks.md, docs/web.md) in Debian's Chromium, against a real
receiver on a local socket: an administrator adds an endpoint, sees its signing secret once (not
after a reload), sends a test event and reads it in the delivery log; a refused URL is explained
beside the field in the API's words; a level-3 user reads the log and cannot add one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.answers import body
from tests.steps.browser import DESKTOP
from tests.steps.console import (
    ConsoleSite,
    bearer,
    console_screenshot,
    open_screen,
    sign_in,
    submit,
    type_into,
    wait_until,
    what_reads_wrong,
)
from tests.steps.tenants import Tenant
from tests.steps.webhooks import Receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def log_rows(driver: Any) -> list[list[str]]:
    return [
        [td.text for td in tr.find_elements(By.CSS_SELECTOR, "td")]
        for tr in driver.find_elements(By.CSS_SELECTOR, "#webhook-log tbody tr")
    ]


def test_an_administrator_adds_a_webhook_sees_its_secret_once_and_its_test_event_in_the_log(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, receiver: Receiver
) -> None:
    from chalicelib.core import clock

    # Given the administrator on the webhooks screen
    sign_in(browser, site.web, tenant, level=1, screen="webhooks")
    # When they add the company's receiver for bounces only
    type_into(browser, "new-webhook-url", receiver.url)
    for box in browser.find_elements(By.CSS_SELECTOR, '#new-webhook-form [name="events"]'):
        if box.is_selected() != (box.get_attribute("value") == "message.bounced"):
            box.click()
    submit(browser, "new-webhook-form")
    # Then the endpoint opens with its signing secret, to copy, and the warning it is shown once
    secret = wait_until(browser, lambda d: d.find_element(By.ID, "webhook-secret")).get_attribute("value")
    assert secret.startswith("whsec_")
    assert "no se volverá a mostrar" in browser.find_element(By.ID, "webhook-secret-card").text
    assert browser.find_element(By.ID, "webhook-secret-copy").text == "Copiar"
    [saved] = body(api.http.get("/webhooks", headers=bearer(tenant, 1)))["items"]
    assert (saved["url"], saved["events"]) == (receiver.url, ["message.bounced"])
    console_screenshot(browser, "webhooks")

    # When they send a test event
    browser.find_element(By.ID, "webhook-test").click()
    # Then the receiver got it, signed with the secret the screen showed
    wait_until(browser, lambda d: d.find_element(By.ID, "webhook-test-answer").text.startswith("Entregado"))
    [event] = receiver.events(secret, clock.now().timestamp())
    assert event["type"] == "webhook.test"
    # And the delivery log shows it: the event, the result, the status code and the attempt
    wait_until(browser, lambda d: log_rows(d))
    [[_, what, result, code, attempt]] = log_rows(browser)
    assert (what, result, code, attempt) == ("Evento de prueba", "Entregado", "200", "1")
    # And nothing on the screen reads wrong, on a phone either
    assert what_reads_wrong(browser) == []
    browser.set_window_size(390, 844)
    try:
        assert what_reads_wrong(browser) == []
    finally:
        browser.set_window_size(*DESKTOP)

    # When the page is loaded again
    browser.refresh()
    wait_until(browser, lambda d: d.find_element(By.ID, "webhook-detail"))
    # Then the secret is not shown any more
    assert not browser.find_elements(By.ID, "webhook-secret")

    # When they make a new secret, confirming
    browser.find_element(By.ID, "webhook-rotate").click()
    browser.switch_to.alert.accept()
    # Then the new one is shown once, and differs
    rotated = wait_until(browser, lambda d: d.find_element(By.ID, "webhook-secret")).get_attribute("value")
    assert rotated.startswith("whsec_") and rotated != secret

    # When they turn it off, then remove it, confirming
    browser.find_element(By.ID, "webhook-toggle").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "webhook-state").text == "Apagado")
    assert body(api.http.get("/webhooks", headers=bearer(tenant, 1)))["items"][0]["enabled"] is False
    browser.find_element(By.ID, "webhook-delete").click()
    browser.switch_to.alert.accept()
    # Then it is gone
    wait_until(
        browser,
        lambda d: d.find_element(By.ID, "new-webhook-form") and not d.find_elements(By.ID, "webhook-detail"),
    )
    assert body(api.http.get("/webhooks", headers=bearer(tenant, 1)))["items"] == []


def test_a_refused_url_is_explained_beside_the_field_in_the_apis_words(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    url = "https://10.1.2.3/pregon"
    # Given the administrator on the webhooks screen
    sign_in(browser, site.web, tenant, level=1, screen="webhooks")
    # When they add an endpoint on a private address
    type_into(browser, "new-webhook-url", url)
    submit(browser, "new-webhook-form")
    # Then the API's own message (in Spanish) is beside the URL field, and nothing was added
    shown = wait_until(browser, lambda d: d.find_element(By.ID, "new-webhook-url-error")).text
    refused = api.http.post(
        "/webhooks",
        headers={**bearer(tenant, 1), "Accept-Language": "es"},
        body=json.dumps({"url": url, "events": ["message.bounced"]}),
    )
    assert refused.status_code == 422
    assert shown and shown in json.dumps(body(refused), ensure_ascii=False)
    assert body(api.http.get("/webhooks", headers=bearer(tenant, 1)))["items"] == []


def test_a_level_3_user_reads_an_endpoints_log_and_cannot_add_one(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any, receiver: Receiver
) -> None:
    # Given an endpoint the administrator added and tested
    made = api.http.post(
        "/webhooks",
        headers=bearer(tenant, 1),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"]}),
    )
    assert made.status_code == 201, made.body
    endpoint_id = body(made)["endpoint_id"]
    assert api.http.post(f"/webhooks/{endpoint_id}/test", headers=bearer(tenant, 1)).status_code == 200
    # When a level-3 user opens the webhooks screen with its id
    sign_in(browser, site.web, tenant, level=3, screen="webhooks")
    open_screen(browser, "webhooks", f"endpoint={endpoint_id}")
    # Then they read its delivery log
    wait_until(browser, lambda d: log_rows(d))
    [[_, what, result, code, attempt]] = log_rows(browser)
    assert (what, result, code, attempt) == ("Evento de prueba", "Entregado", "200", "1")
    # And nothing offers to add, change, test or remove one; the API refuses them too
    for absent in (
        "new-webhook-form",
        "edit-webhook-form",
        "webhook-test",
        "webhook-delete",
        "webhook-rotate",
    ):
        assert not browser.find_elements(By.ID, absent)
    assert "Solo un administrador" in browser.find_element(By.ID, "webhooks-admin-only").text
    refused = api.http.post(
        "/webhooks",
        headers=bearer(tenant, 3),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"]}),
    )
    assert refused.status_code == 403
