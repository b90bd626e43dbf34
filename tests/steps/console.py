"""The staff console (W2) in a real browser: the app served over HTTP with the local identity server
beside it (as the local stack runs them), and signing in through the console's own sign-in screen.

    site, browser: module fixtures in tests/conftest.py (console_site() and chromium("es"))
    sign_in(browser, site.web, tenant, level=1)   # then the navigation is there
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from infrastructure.local.identity_server import DEMO_USERS, IdentityServer, demo_email
from tests.steps.browser import POLL_SECONDS, ROOT, left_the_document, served_app
from tests.steps.settings import environment_kept, settings_read_again
from tests.steps.tenants import IDENTITY, Tenant

SCREENSHOTS = ROOT / ".local" / "screenshots" / "console"


@dataclass(frozen=True)
class ConsoleSite:
    web: str  # the app's base URL; the console is at {web}/console
    identity: str  # the local identity server's base URL


@contextmanager
def console_site() -> Iterator[ConsoleSite]:
    """The app and the local identity server, the console told to sign in with the latter."""
    with (
        served_app() as web,
        IdentityServer(IDENTITY, allowed_origin=web) as identity,
        environment_kept(["PREGON_CONSOLE_IDENTITY_URL"]),
    ):
        os.environ["PREGON_CONSOLE_IDENTITY_URL"] = identity.url
        settings_read_again()
        yield ConsoleSite(web, identity.url)


def wait_until(driver: Any, condition: Any, seconds: float = 15) -> Any:
    """Wait for ``condition(driver)``; a screen redrawn meanwhile (an element that left the
    document) is waited out."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def holds(d: Any) -> Any:
        try:
            return condition(d)
        except WebDriverException as exc:
            if left_the_document(exc):
                return False
            raise

    return WebDriverWait(driver, seconds, poll_frequency=POLL_SECONDS).until(holds)


# Counts the page's calls from the moment they are made until the answer's body has been read (a
# call a test's own wrapper of fetch holds back is counted from when the page made it, as this
# wrapper goes on top of it).
COUNT_CALLS = """
const made = window.fetch;
window.callsCounted = { pending: 0 };
const counted = (promise) => {
  callsCounted.pending += 1;
  return promise.finally(() => { callsCounted.pending -= 1; });
};
window.fetch = (url, options) => counted(made(url, options).then((response) => {
  for (const read of ["text", "json", "blob", "arrayBuffer"]) {
    const plain = response[read].bind(response);
    response[read] = () => counted(plain());
  }
  return response;
}));
"""


def count_calls(driver: Any) -> None:
    """From now on, the page's calls are counted until answered and read (see all_drawn)."""
    driver.execute_script(COUNT_CALLS)


def all_drawn(driver: Any, seconds: float = 15) -> None:
    """Wait until every call the page made since ``count_calls`` has been answered and its answer
    read, and the page has then run what it queued (a timer of 0 and the next frame) without
    making another: what those answers draw is drawn, so a test may show that nothing more came."""
    settle = (
        "const done = arguments[arguments.length - 1];"
        "setTimeout(() => requestAnimationFrame(() => setTimeout(() => done(callsCounted.pending), 0)), 0);"
    )

    def settled(d: Any) -> bool:
        if d.execute_script("return callsCounted.pending") != 0:
            return False
        return bool(d.execute_async_script(settle) == 0)

    wait_until(driver, settled, seconds)


def demo_user(tenant: Tenant, level: int) -> str:
    """The local identity's demo user of ``level`` in the tenant's company."""
    user = next(user for user, _, user_level in DEMO_USERS if user_level == level)
    return f"{user}@{tenant.company_id}"


def token_for(tenant: Tenant, level: int) -> str:
    """The token the console holds after signing in as the demo user of ``level``."""
    user_id = demo_user(tenant, level)
    email = demo_email(tenant.company_id, user_id)
    return IDENTITY.mint(tenant.company_id, user_id=user_id, level=level, email=email)


def bearer(tenant: Tenant, level: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(tenant, level)}", "Content-Type": "application/json"}


def sign_in(driver: Any, web: str, tenant: Tenant, level: int = 1, screen: str | None = None) -> None:
    """Open the console and sign in through its sign-in screen as the tenant's demo user of
    ``level`` (the company committed with Tab, as a person does), check who is signed in, then
    open ``screen`` when given."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    driver.get(f"{web}/console")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{web}/console")
    try:
        wait_until(driver, lambda d: d.find_element(By.ID, "signin-company"))
    except TimeoutException:  # a page load that stalled on the loaded 2-core machine: load it again
        driver.refresh()
    sign_in_again(driver, tenant, level)
    if screen is not None:
        open_screen(driver, screen)


def sign_in_again(driver: Any, tenant: Tenant, level: int = 1) -> None:
    """Fill the sign-in screen the console shows now (after a session ended: no reload, the tab's
    sessionStorage and the address kept) as the tenant's demo user of ``level``, and wait until
    they are signed in."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    company = wait_until(driver, lambda d: d.find_element(By.ID, "signin-company"))
    company.clear()
    company.send_keys(tenant.company_id, Keys.TAB)
    user = demo_user(tenant, level)
    wait_until(
        driver,
        lambda d: any(
            o.get_attribute("value") == user for o in d.find_elements(By.CSS_SELECTOR, "#signin-user option")
        ),
    )
    Select(driver.find_element(By.ID, "signin-user")).select_by_value(user)
    Select(driver.find_element(By.ID, "signin-level")).select_by_value(str(level))
    driver.find_element(By.CSS_SELECTOR, "#sign-in-form button[type=submit]").click()
    name = next(name for _, name, user_level in DEMO_USERS if user_level == level)
    signed_in = f"{name} · {tenant.company_id} · nivel {level}"
    wait_until(driver, lambda d: d.find_element(By.ID, "who").text.startswith(signed_in))


def expire_session(driver: Any, tenant: Tenant, level: int = 1) -> None:
    """Put an expired token of the signed-in demo user where the console keeps its token, as if
    the session had run out: the console's next call to the API is refused."""
    expired = IDENTITY.mint(
        tenant.company_id, user_id=demo_user(tenant, level), level=level, ttl=timedelta(seconds=-60)
    )
    driver.execute_script("sessionStorage.setItem('pregon.console.token', arguments[0])", expired)


def open_screen(driver: Any, screen: str, query: str = "") -> None:
    """Go to a screen by its hash (as a bookmark would) and wait until it is drawn for this address.
    When the address changed, the screen shown before stays until the console has drawn the new one
    (the hash change is handled after this call returns): the same screen for another address (a
    document, a record) or a "not available" must not pass for the new one, so the wait is for a
    screen drawn since."""
    from selenium.webdriver.common.by import By

    def shown(d: Any) -> list[Any]:
        return d.find_elements(By.CSS_SELECTOR, f'[data-screen="{screen}"]') or d.find_elements(
            By.CSS_SELECTOR, "main .not-available"
        )

    before = shown(driver)
    changed = driver.execute_script(
        "const before = location.hash; location.hash = arguments[0]; return location.hash !== before",
        f"#/{screen}{'?' + query if query else ''}",
    )
    wait_until(driver, lambda d: (drawn := shown(d)) and not (changed and any(e in before for e in drawn)))


def nav_screens(driver: Any) -> list[str]:
    """The screens the navigation offers, by id."""
    from selenium.webdriver.common.by import By

    return [
        str(a.get_attribute("href")).split("#/")[1] for a in driver.find_elements(By.CSS_SELECTOR, "#nav a")
    ]


def console_screenshot(driver: Any, name: str) -> Path:
    """Keep a screenshot of a console screen (under .local/screenshots/console/, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def not_available(driver: Any) -> bool:
    """Whether the screen shown says it is not available for the signed-in level (and drew nothing)."""
    from selenium.webdriver.common.by import By

    shown = driver.find_elements(By.CSS_SELECTOR, "main .not-available")
    return bool(shown) and "no está disponible para su nivel" in shown[0].text


def sign_out(driver: Any) -> None:
    """Press *Salir* and wait for the sign-in screen."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, "sign-out").click()
    wait_until(driver, lambda d: d.find_elements(By.ID, "sign-in-form"))


def type_into(driver: Any, element_id: str, text: str) -> None:
    """Replace what the field with this id holds by ``text``, typed as a person would."""
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def submit(driver: Any, form_id: str) -> None:
    """Press the submit button of the form with this id."""
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def toast_says(driver: Any, text: str) -> Any:
    """Wait until a toast (the console's short notices) says ``text``."""
    from selenium.webdriver.common.by import By

    return wait_until(driver, lambda d: text in d.find_element(By.ID, "toasts").text)


def no_alert_opened(driver: Any) -> bool:
    """True when no JavaScript alert is open (a payload such as ``<img onerror=alert(1)>`` that
    ran would have opened one); dismisses one that is."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return True
    return False


READS_BADLY = re.compile(r"\b(undefined|null|NaN)\b|\[object Object\]")
# The API's refusals in English, which the console asks for in Spanish (Accept-Language: es).
READS_ENGLISH = re.compile(
    r"\b(is required|is not a known field|must be (one of|a|an|at|between)|there is no|"
    r"(String|Input) should|Field required|Value error)\b"
)
# Every text node of the page that a person would read (not in a hidden part), and how much wider
# than the window the page is (0 when it fits).
_PAGE_TEXT = """
const texts = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const parent = node.parentElement;
  const text = node.textContent.trim();
  if (text && parent && !parent.closest("[hidden], script, style")) texts.push(text);
}
const broken = [];
for (const cell of document.querySelectorAll("main td, main th")) {
  if (cell.closest("[hidden]") || !cell.offsetParent) continue;
  const cellWalker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = cellWalker.nextNode(); node; node = cellWalker.nextNode()) {
    for (const word of node.textContent.matchAll(/[^\\s\\-\\/]+[-\\/]?/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      if (lines.size > 1) broken.push(word[0]);
    }
  }
}
return [texts, document.documentElement.scrollWidth - document.documentElement.clientWidth, broken];
"""


def what_reads_wrong(driver: Any) -> list[str]:
    """What a person would trip on in the screen shown: a script error in the browser's log (a
    request the API refused is not one: the screen says so itself), text that reads "undefined",
    "null", "NaN" or "[object Object]", an API refusal in English, a page wider than the window
    (then the screen scrolls sideways as a whole: on a phone, whatever is wide must scroll in its
    own box), and a table cell that breaks a word in the middle ("adminis/trador": a table squeezed
    to the phone's width instead of scrolling in its box)."""
    problems = [
        f"script error: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and entry.get("source") != "network"
    ]
    texts, too_wide, broken = driver.execute_script(_PAGE_TEXT)
    problems += [f"reads {text!r}" for text in texts if READS_BADLY.search(text)]
    problems += [f"reads the API's English {text!r}" for text in texts if READS_ENGLISH.search(text)]
    if too_wide > 1:
        problems.append(f"the page is {too_wide} px wider than the window")
    problems += [f"a table breaks the word {word!r} across lines" for word in broken]
    return problems
