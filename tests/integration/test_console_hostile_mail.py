"""W2 / I3 against an attacker: a stranger's HTML e-mail (script, a refresh, a base, remote images,
CSS expressions) as staff see it in the console's inbound screen, in Debian's Chromium: in a frame
that runs no script, has no origin of its own, and loads nothing from the internet."""

from __future__ import annotations

import time
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.console import ConsoleSite, console_screenshot, sign_in, wait_until
from tests.steps.hostile_mail import HEAD, HOSTILE_HTML, hostile_received
from tests.steps.tenants import Tenant

pytestmark = pytest.mark.browser


def test_a_strangers_hostile_html_mail_is_shown_in_a_frame_that_runs_nothing_and_loads_nothing(
    api: Client, tenant: Tenant, site: ConsoleSite, browser: Any
) -> None:
    # Given a stranger's HTML mail with script, a refresh to their site, a base, a remote image
    hostile_received(api, tenant, HEAD + b"Content-Type: text/html\r\n\r\n" + HOSTILE_HTML)
    # When staff open it in the inbound screen
    sign_in(browser, site.web, tenant, 3, screen="inbound")
    view = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".b-inbound .b-view"), seconds=20)
    view[0].click()
    frame = wait_until(
        browser, lambda d: d.find_element(By.CSS_SELECTOR, ".b-detail iframe.b-message"), seconds=20
    )
    at = browser.current_url
    time.sleep(1.5)  # what a refresh of 0 seconds, or a script, would have done by now
    console_screenshot(browser, "inbound-hostile-html")
    # Then the frame is sandboxed with nothing allowed (no script, no origin of its own)
    assert frame.get_attribute("sandbox") == ""
    # and its document may load no image, style sheet or font from anywhere (a remote image tells
    # the sender when and from where it was read)
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
    assert frame.get_attribute("srcdoc").startswith(
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
    )
    # and the script did not run, the refresh did not take the console (nor the frame) anywhere
    assert browser.execute_script("return window.pwned") is None and browser.current_url == at
    browser.switch_to.frame(frame)
    assert "Pay here" in browser.find_element(By.TAG_NAME, "body").text
    browser.switch_to.default_content()
