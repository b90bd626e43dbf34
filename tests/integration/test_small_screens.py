"""Every page a person uses, on a small Android (360 x 640) and an upright iPad (768 x 1024), with
the long names, addresses, ids and subjects real companies have: the public pages (tracking page,
alert form, confirmation and unsubscribe pages, the manual unsubscribe), the tracking pages again
in a company's colours, and every screen of the staff console. On each: the page does not scroll
sideways, no text is cut off or drawn over other text, tap targets are 24 x 24 px at least (or
spaced), fields are at 16 px (iOS does not zoom), dialogs fit, the focus outline reads at 3:1, the
console's navigation is within reach; and axe-core's width-dependent rules find nothing serious at
360 px, nor a field's hint its control does not name (``hint-not-named``, as in
test_accessibility.py). A failure lists every offending element by page and size. One browser
session serves it all, resized through the DevTools protocol (docs/web.md, Small screens)."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accessibility import (
    axe_violations,
    described,
    public_pages,
    tracking_pages,
    unnamed_hints,
    with_axe,
)
from tests.steps.branding import set_branding
from tests.steps.clients import put_client
from tests.steps.console import ConsoleSite, nav_screens, open_screen, sign_in, sign_out, wait_until
from tests.steps.history import send_email
from tests.steps.inbound import receive_mail
from tests.steps.screens import SIZES, keyboard_used, layout_problems, menu_problem, sized
from tests.steps.tenants import Tenant, make_tenant
from tests.steps.tracking import T0, issue, post_event, staff_subscribe

pytestmark = pytest.mark.browser

# What real companies write: a 40-character tracking id, long Spanish names and e-mail addresses,
# addresses in the parcels' observations, long subjects, many events.
PARCEL = "AR0000" + "1234567890" * 3 + "4242"
COMPANY = "Transportes y Logística Integral Patagónica Hermanos Fernández de la Torre"
CLIENT = "Distribuidora Mayorista de Artículos de Ferretería Fernández de la Torre S.R.L."
EMAIL = "administracion.cuentascorrientes.sucursalnorte@ferreteriahermanosfernandezdelatorre.com.ar"
WHERE = "Avenida Presidente Figueroa Alcorta 3400, piso 12, departamento B, Ciudad Autónoma de Buenos Aires"
SUBJECT = "Factura electrónica B 0004-00012345 de Transportes y Logística Integral Patagónica: vencimiento"
STATUSES = ("IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERY_FAILED")
# axe-core's rules whose answer can change with the screen's width: what is drawn over what
# (contrast), a box that starts to scroll, the viewport's zoom, and the roles and names the
# console gives a table's box when it scrolls. Every other rule reads the same document at every
# size, and test_accessibility.py runs them all.
AXE_AT_360 = (
    "color-contrast",
    "scrollable-region-focusable",
    "meta-viewport",
    "aria-allowed-role",
    "aria-allowed-attr",
    "aria-valid-attr-value",
    "nested-interactive",
    "landmark-unique",
    "link-in-text-block",
)


class ScreenChecks:
    """What fails on each page at each size, kept until the end so one run lists them all."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.found: dict[str, list[str]] = {}
        self.size: tuple[int, int] | None = None  # the window's, as last set

    def resize(self, size: tuple[int, int] | None) -> None:
        if size != self.size:
            sized(self.driver, size)
            self.size = size

    def sizes(self) -> list[tuple[int, int]]:
        """Every size, the one the page was opened at first (a page opened after the previous
        one's checks is drawn at the size they ended at: one resize a page, not one a size)."""
        return sorted(SIZES, key=lambda size: size != self.size)

    def check(self, name: str, within: str | None = None) -> None:
        """The page shown, at every size: its layout; and its focus outlines and axe-core at 360 px
        (``within``: only there, a console screen whose shell was checked once)."""
        for width, height in self.sizes():
            self.resize((width, height))
            smallest = (width, height) == SIZES[0]
            if smallest:  # (the focus outline's colours are the same at every size)
                keyboard_used(self.driver)
            problems = layout_problems(self.driver, (width, height), focus=smallest)
            if smallest:  # (and the hints the controls name: as test_accessibility.py checks them)
                found = axe_violations(self.driver, within=within, rules=AXE_AT_360)
                problems += described(found + unnamed_hints(self.driver, within)).splitlines()
            self.found[f"{name} @ {width}x{height}"] = problems

    def menu(self, name: str) -> None:
        """The console's navigation within reach at every size."""
        for width, height in self.sizes():
            self.resize((width, height))
            problem = menu_problem(self.driver, width)
            self.found[f"{name} navigation @ {width}x{height}"] = [problem] if problem else []

    def summary(self) -> str:
        failing = {name: found for name, found in self.found.items() if found}
        listed = "\n".join(
            f"{name}:\n" + "\n".join(f"  {p}" for p in found) for name, found in failing.items()
        )
        return f"{len(failing)} of {len(self.found)} pages x sizes with problems\n{listed}"


@pytest.fixture(scope="module")
def checks(browser: Any) -> ScreenChecks:
    with_axe(browser)
    return ScreenChecks(browser)


def busy_company(api: Client, mailbox: MailCatcher, *, id_length: int = 13) -> Tenant:
    """A company with a long name, a client with a long name and address, a parcel with a 40-char
    id and many events, and someone following it."""
    company = make_tenant(mailbox, name=COMPANY, id_length=id_length)
    contact = {"contact_id": "c1", "first_name": "María de los Ángeles", "last_name": "Fernández de la Torre"}
    put_client(api, company, "CLI-1", name=CLIENT, emails=[EMAIL], contacts=[contact | {"email": EMAIL}])
    issue(api, company, PARCEL)
    for n in range(10):
        status = STATUSES[n % len(STATUSES)]
        post_event(api, company, PARCEL, f"e{n}", status, minutes=n, observation=f"Visita {n}: {WHERE}")
    staff_subscribe(api, company, PARCEL, EMAIL)
    return company


def test_every_public_page_fits_a_phone_and_a_tablet_plain_and_in_company_colours(
    api: Client, mailbox: MailCatcher, clock: Any, site: ConsoleSite, checks: ScreenChecks
) -> None:
    # Given a company with a long name, a parcel with a 40-character id and ten events with
    # long addresses; and another company with a colour white text barely reads on and a yellow
    # accent
    plain = busy_company(api, mailbox)
    branded = busy_company(api, mailbox)
    assert set_branding(api, branded, primary_color="#2E8B57", accent_color="#FFD100").status_code == 200
    checks.found.clear()
    try:
        # When each public page is opened, its forms sent by keyboard alone, at each size
        public_pages(checks, site.web, plain, api, "plain", PARCEL)
        # And the tracking pages of the company with its own colours
        tracking_pages(checks, site.web, branded, "branded", PARCEL)
    finally:
        checks.resize(None)
    # Then nothing scrolls sideways, is cut off or too small, and the focus reads, on any of them
    print(checks.summary())
    assert not any(checks.found.values()), checks.summary()


def test_every_console_screen_fits_a_phone_and_a_tablet_with_long_names_and_many_rows(
    api: Client, mailbox: MailCatcher, site: ConsoleSite, checks: ScreenChecks
) -> None:
    from chalicelib.core.domain import Ticket
    from chalicelib.store.tickets import open_ticket

    # Given a company with a 40-character id and long names; its history with ten e-mails
    # with long subjects to a long address, a long e-mail received from the client, and a ticket
    company = busy_company(api, mailbox, id_length=40)
    sent = [send_email(company, EMAIL, f"{SUBJECT} {n}", client_id="CLI-1") for n in range(10)]
    receive_mail(api, company.company_id, EMAIL, SUBJECT, f"Buenos días, les escribo por {SUBJECT}. {WHERE}.")
    ticket = Ticket(company.company_id, "T-1", "CLI-1", "Marta", "Técnico", f"Reclamo: {WHERE}", "sms", T0)
    assert open_ticket(ticket, T0.date().isoformat(), 3)[0] is not None
    browser = checks.driver
    checks.found.clear()
    try:
        # And the console's sign-in screen
        browser.get(f"{site.web}/console")
        wait_until(browser, lambda d: d.find_element(By.ID, "signin-company"))
        checks.check("sign-in")
        # When an administrator opens each screen the navigation offers, at each size
        sign_in(browser, site.web, company, level=1)
        for n, screen in enumerate(nav_screens(browser)):
            open_screen(browser, screen)
            if n == 0:
                checks.menu(screen)
            checks.check(screen, within=None if n == 0 else "main")
        # And a client's card, a message of the history, the e-mail received, the ticket and the
        # parcel's followers opened
        for screen, query in (
            ("clients", "client=CLI-1"),
            ("history", f"message={sent[0]}"),
            ("inbound", ""),
            ("tickets", "ticket=T-1"),
            ("followups", f"parcel={PARCEL}"),
        ):
            open_screen(browser, screen, query)
            checks.check(f"{screen}?{query}", within="main")
        # And the company's colours on the header (a mid-tone white barely reads on)
        assert set_branding(api, company, primary_color="#2E8B57", accent_color="#FFD100").status_code == 200
        sign_in(browser, site.web, company, level=1, screen="history")
        checks.check("branded history")
        sign_out(browser)
    finally:
        checks.resize(None)
    # Then nothing scrolls sideways, is cut off or too small, and the focus reads, on any of them
    print(checks.summary())
    assert not any(checks.found.values()), checks.summary()
