"""Every page a person uses, checked for accessibility (WCAG 2.1 AA) by axe-core in Debian's
Chromium: the public pages (tracking page, alert form, confirmation and unsubscribe pages, refused
links, the manual unsubscribe) in Spanish and English, plain and in a company's own colours; and
each screen of the staff console, for an administrator and a level-4 user, with a form's errors
shown too (test_small_screens.py runs axe on them on a 360-px phone). A serious or critical
violation fails the test, which lists each one by rule id and element; so does a console field's
hint its control does not name in its ``aria-describedby`` (``hint-not-named``). One browser
session serves every page (docs/web.md, Accessibility)."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accessibility import (
    asked_in,
    axe_violations,
    described,
    public_pages,
    unnamed_hints,
    with_axe,
)
from tests.steps.branding import set_branding
from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, nav_screens, open_screen, sign_in, sign_out, wait_until
from tests.steps.tenants import Tenant, make_tenant
from tests.steps.tracking import issue, post_event, staff_subscribe

pytestmark = pytest.mark.browser

# A company colour white text reads on at only 4.25:1, and that reads on the page at 3.96:1: the
# pages must still show every text at 4.5:1 or more (docs/web.md, the colour rule).
SEA_GREEN = "#2E8B57"
LANGUAGES = {"es": "es-AR,es;q=0.9", "en": "en-GB,en;q=0.9"}


class Findings:
    """What axe found on each page checked, kept until the end so one run lists them all."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.pages: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str, within: str | None = None) -> None:
        self.pages[name] = axe_violations(self.driver, within=within) + unnamed_hints(self.driver, within)

    def summary(self) -> str:
        failing = {name: found for name, found in self.pages.items() if found}
        counts = ", ".join(
            f"{name}: {sum(len(v['nodes']) for v in found)}" for name, found in failing.items()
        )
        listed = "\n".join(f"{name}:\n{described(found)}" for name, found in failing.items())
        heading = f"{len(failing)} of {len(self.pages)} pages with serious/critical violations"
        return f"{heading} ({counts})\n{listed}"


@pytest.fixture(scope="module")
def checked(browser: Any) -> Findings:
    """The module's one Chromium, loading axe-core into every page it opens."""
    with_axe(browser)
    return Findings(browser)


def test_every_public_page_reads_for_everyone_in_both_languages_and_in_company_colours(
    api: Client, tenant: Tenant, mailbox: MailCatcher, site: ConsoleSite, checked: Findings
) -> None:
    # Given a parcel with a visible status and alerts available, and the client it belongs to; and
    # another company that chose a colour white text barely reads on
    branded = make_tenant(mailbox, name="Verde Mar")
    assert set_branding(api, branded, primary_color=SEA_GREEN, accent_color="#FFD100").status_code == 200
    for company in (tenant, branded):
        put_client(api, company, "CLI-1")
        issue(api, company, "TRK-A11Y")
        post_event(api, company, "TRK-A11Y", "e1", "IN_TRANSIT", minutes=1)
    browser = checked.driver
    checked.pages.clear()
    try:
        # When each public page is opened in Spanish and in English, its forms sent by keyboard
        # alone, and axe-core checks each
        for language, accept in LANGUAGES.items():
            asked_in(browser, accept)
            public_pages(checked, site.web, tenant, api, f"{language}")
        asked_in(browser, LANGUAGES["es"])
        # And the pages of the company with its own colours
        public_pages(checked, site.web, branded, api, "es branded")
    finally:
        asked_in(browser, LANGUAGES["es"])
    # Then no page has a serious or critical violation
    print(checked.summary())
    assert not any(checked.pages.values()), checked.summary()


def test_every_console_screen_reads_for_everyone_for_an_administrator_and_a_level_4_user(
    api: Client, tenant: Tenant, site: ConsoleSite, checked: Findings
) -> None:
    # Given a client, a parcel and someone following it, so the screens' lists have rows
    put_client(api, tenant, "CLI-1")
    issue(api, tenant, "TRK-A11Y")
    staff_subscribe(api, tenant, "TRK-A11Y", "ana@example.com")
    browser = checked.driver
    checked.pages.clear()
    # And the console's sign-in screen
    browser.get(f"{site.web}/console")
    wait_until(browser, lambda d: d.find_element(By.ID, "signin-company"))
    checked.check("sign-in")
    # When an administrator, then a level-4 user, signs in and opens each screen the navigation
    # offers (for the second, the company has chosen a colour white text barely reads on)
    for level in (1, 4):
        if level == 4:
            assert (
                set_branding(api, tenant, primary_color=SEA_GREEN, accent_color="#FFD100").status_code == 200
            )
        sign_in(browser, site.web, tenant, level=level)
        for n, screen in enumerate(nav_screens(browser)):
            open_screen(browser, screen)
            # (the header and navigation are the same on every screen: checked on the first one)
            checked.check(f"level {level} {screen}", within=None if n == 0 else "main")
        # And a client's page with its card (its contacts' ticks, the messages it gets)
        open_screen(browser, "clients", "client=CLI-1")
        wait_until(browser, lambda d: d.find_element(By.ID, "b-client-card"))
        checked.check(f"level {level} clients client card", within="main")
        if level == 1:
            # And a form's errors are shown (a frequency longer than a week)
            open_screen(browser, "monitor")
            field = browser.find_element(By.ID, "alert-tracking-frequency")
            browser.execute_script("arguments[0].removeAttribute('max')", field)
            field.clear()
            field.send_keys("99999")
            browser.find_element(By.CSS_SELECTOR, "#alert-tracking-form button[type=submit]").click()
            shown = "#alert-tracking-form .field-error"
            wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, shown))  # noqa: B023
            checked.check("level 1 monitor with an error", within="main")
        sign_out(browser)
    # Then no screen has a serious or critical violation
    print(checked.summary())
    assert not any(checked.pages.values()), checked.summary()
