"""A real browser on the app: Debian's Chromium driven by Selenium, and the app served over HTTP
by Chalice's local server (the same routes API Gateway serves), on a free loopback port."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PHONE = (375, 812)
DESKTOP = (1280, 900)
# How often a wait looks again. Selenium's default, half a second, cost each step that waits for a
# page or a screen (most are ready in a few tens of milliseconds) up to 0.5 s for nothing.
POLL_SECONDS = 0.1


_SERVED: dict[str, str] = {}


@contextmanager
def served_app(stage: str = "test") -> Iterator[str]:
    """The app on ``http://127.0.0.1:<port>``; yields that base URL. Chalice's local server wraps
    the app object's class and can do so only once per process, so the first caller starts it and
    every later test module shares it (it stops with the test run)."""
    if stage not in _SERVED:
        from chalice.cli.factory import CLIFactory
        from chalice.local import create_local_server

        from app import app

        config = CLIFactory(project_dir=str(ROOT), environ=dict(os.environ)).create_config_obj(
            chalice_stage_name=stage
        )
        server = create_local_server(app, config, "127.0.0.1", 0)
        port = server.server.server_address[1]
        threading.Thread(target=server.serve_forever, name=f"web-{stage}", daemon=True).start()
        _SERVED[stage] = f"http://127.0.0.1:{port}"
    yield _SERVED[stage]


@contextmanager
def chromium(language: str = "es", size: tuple[int, int] = DESKTOP) -> Iterator[Any]:
    """Headless Debian Chromium with a fresh profile, its UI language set to ``language``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--lang={language}",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    if size[0] < 500:  # narrower than a desktop window may be: emulate the phone's screen
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": size[0], "height": size[1], "pixelRatio": 2}}
        )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: Any, name: str) -> Path:
    """Keep a screenshot for a person to look at (under .local/screenshots/, not committed)."""
    folder = ROOT / ".local" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def tab_to(driver: Any, element: Any, limit: int = 40) -> None:
    """Press Tab until ``element`` has the focus, as a keyboard-only user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        if driver.switch_to.active_element == element:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f"Tab never reached {element.get_attribute('outerHTML')[:120]}")


def type_keys(driver: Any, text: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(text).perform()


def press_enter(driver: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).send_keys(Keys.ENTER).perform()


def left_the_document(exc: Exception) -> bool:
    """Whether reading an element failed because its page is being replaced. Chromium's driver says
    so with a stale-element error or, while the old page is torn down, with an inspector error
    ("Node with given id does not belong to the document")."""
    from selenium.common.exceptions import StaleElementReferenceException

    return isinstance(exc, StaleElementReferenceException) or ("does not belong to the document" in str(exc))


def wait_for_text(driver: Any, text: str, seconds: float = 10) -> None:
    """Wait until the page (after a click that navigates) shows ``text``; the old page's body going
    while it is read only means the new page is arriving ("not yet")."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def shows_text(d: Any) -> bool:
        try:
            return text in (d.find_element("tag name", "body").text or "")
        except WebDriverException as exc:
            if left_the_document(exc):
                return False
            raise

    WebDriverWait(driver, seconds, poll_frequency=POLL_SECONDS).until(shows_text)


def wait_until_gone(driver: Any, element: Any, seconds: float = 10) -> None:
    """Wait until ``element`` left the document (a form posted, the next page arriving)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_: Any) -> bool:
        try:
            element.is_enabled()
        except WebDriverException as exc:
            if left_the_document(exc):
                return True
            raise
        return False

    WebDriverWait(driver, seconds, poll_frequency=POLL_SECONDS).until(gone)
