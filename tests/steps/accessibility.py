"""Accessibility checks in the browser: axe-core (the npm package the project installs under
.local/npm, infrastructure/local/npm.py) injected into the page Chromium shows, and run there.

    problems = axe_violations(driver)        # serious and critical WCAG 2.1 A/AA violations
    assert not problems, described(problems)

One browser session serves every check: the language a page is asked in and the window's size are
changed through Chromium's DevTools protocol (``asked_in``; ``sized`` in tests/steps/screens.py), not a new
browser.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalice.test import Client
from selenium.webdriver.common.by import By

from tests.steps.browser import press_enter, tab_to, type_keys, wait_for_text, wait_until_gone
from tests.steps.console import wait_until
from tests.steps.tenants import Tenant
from tests.steps.tracking import T0, ask_for_alerts

# What is checked: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, one h1,
# ...); a violation fails a test when its impact is one of these.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
FAILING = ("serious", "critical")

_RUN = """
const done = arguments[arguments.length - 1];
const context = arguments[1] ? {include: [arguments[1]]} : document;
const only = arguments[2] ? {type: "rule", values: arguments[2]} : {type: "tag", values: arguments[0]};
axe.run(context, {runOnly: only, resultTypes: ["violations"]})
  .then((r) => done(r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), impact: n.impact}))}))))
  .catch((e) => done({error: String(e)}));
"""


def with_axe(driver: Any) -> None:
    """Have Chromium load axe-core into every page it opens from now on (before the page's own
    scripts; the DevTools protocol is not bound by a page's Content-Security-Policy). Loading it
    this way costs a tenth of injecting it after each page load."""
    from infrastructure.local.npm import axe_script

    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": axe_script()})


def axe_violations(
    driver: Any,
    impacts: tuple[str, ...] = FAILING,
    within: str | None = None,
    rules: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """axe-core's violations on the page shown, of the given impacts (each with its elements);
    ``within``: only in the element this CSS selector finds (a screen of a shell checked once);
    ``rules``: only these rules (else every rule of ``AXE_TAGS``)."""
    from infrastructure.local.npm import axe_script

    if not driver.execute_script("return typeof window.axe === 'object'"):  # opened before with_axe
        driver.execute_script(axe_script())
    driver.set_script_timeout(30)
    found = driver.execute_async_script(_RUN, list(AXE_TAGS), within, list(rules) or None)
    if isinstance(found, dict):
        raise AssertionError(f"axe.run failed: {found['error']}")
    return [v for v in found if v["impact"] in impacts]


_UNNAMED_HINTS = """
const root = arguments[0] ? document.querySelector(arguments[0]) : document;
const unnamed = [];
for (const hint of root.querySelectorAll("small")) {
  const box = hint.closest("label, .field, .b-field");
  const controls = box ? [...box.querySelectorAll("input, select, textarea")] : [];
  const named = box && box.htmlFor && document.getElementById(box.htmlFor);
  if (named) controls.push(named);
  if (!controls.length) continue;
  const names = (c) => (c.getAttribute("aria-describedby") || "").split(/\\s+/);
  const said = hint.id && controls.some((c) => names(c).includes(hint.id));
  if (!said) unnamed.push(hint.outerHTML.slice(0, 160));
}
// a hint paragraph among a form's fields (not in a field's label, whose text is its name; not a
// live status, said as it changes): named by a control (the submit button, for the whole form)
const named = new Set();
for (const node of document.querySelectorAll("[aria-describedby]")) {
  for (const id of node.getAttribute("aria-describedby").split(/\\s+/)) named.add(id);
}
for (const hint of root.querySelectorAll("form .hint:not(small)")) {
  if (hint.closest("label, [role=status], [aria-live]") || hint.hidden) continue;
  // before the form's first control: the form's instructions, read before its fields (WCAG G184)
  const first = hint.closest("form").querySelector("input:not([type=hidden]), select, textarea, button");
  if (first && hint.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING) continue;
  if (!hint.id || !named.has(hint.id)) unnamed.push(hint.outerHTML.slice(0, 160));
}
return unnamed;
"""


def unnamed_hints(driver: Any, within: str | None = None) -> list[dict[str, Any]]:
    """Each hint (a ``<small>`` in a field beside its control) that its control does not name in
    its ``aria-describedby``, and each hint paragraph among a form's fields that no control names
    (the submit button, for what holds for the whole form), so a screen reader moving from field
    to field never says it (WCAG 1.3.1, 3.3.2): as axe-core's violations are listed, under the
    made-up rule ``hint-not-named``. (A paragraph before a form's first control is its
    instructions, read before its fields.)"""
    found = driver.execute_script(_UNNAMED_HINTS, within)
    rule = {"id": "hint-not-named", "impact": "serious"}
    meaning = "a field's hint is named by its control's aria-describedby"
    return [{**rule, "help": meaning, "nodes": [{"target": html}]} for html in found]


def described(violations: list[dict[str, Any]]) -> str:
    """One line per element: the rule's id, its impact, the element (a CSS selector) and the rule."""
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {node['target']} — {v['help']}"
        for v in violations
        for node in v["nodes"]
    )


def asked_in(driver: Any, language: str) -> None:
    """Every request from now on asks for pages in ``language`` (Accept-Language)."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": language}})


class Checker(Protocol):
    """What checks each page a walk opens (axe-core's findings, the small screens' layout)."""

    driver: Any

    def check(self, name: str, within: str | None = None) -> None: ...


def tracking_pages(
    findings: Checker, web: str, tenant: Tenant, key: str, tracking_id: str = "TRK-A11Y"
) -> None:
    """The tracking page: empty, a parcel looked up and its alert form sent with a mistake, all by
    keyboard alone; an unknown parcel and an unknown company."""
    driver, company = findings.driver, tenant.company_id
    driver.get(f"{web}/track/{company}")
    findings.check(f"{key} tracking page")
    # the look-up, by keyboard: Tab to the box, type, Enter
    tab_to(driver, driver.find_element(By.ID, "tracking_id"))
    type_keys(driver, tracking_id)
    press_enter(driver)
    wait_for_text(driver, tracking_id, seconds=15)
    findings.check(f"{key} parcel with its alert form")
    # the alert form with a mistake, by keyboard: the error shown next to its field
    for name, value in (("first_name", "Ana"), ("last_name", "Paz"), ("email", "ana-at-example.com")):
        tab_to(driver, driver.find_element(By.ID, name))
        type_keys(driver, value)
    button = driver.find_element(By.CSS_SELECTOR, "form[method=post] button")
    press_enter(driver)
    wait_until_gone(driver, button)
    error = wait_until(driver, lambda d: d.find_element(By.ID, "email-error"))
    # (the field to correct has the focus, and is described by its error: a screen reader says both)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("id") == "email", focused.get_attribute("outerHTML")
    assert focused.get_attribute("aria-describedby") == error.get_attribute("id")
    findings.check(f"{key} alert form with an error")
    driver.get(f"{web}/track/{company}?tracking_id=NOPE-1")
    findings.check(f"{key} unknown parcel")
    driver.get(f"{web}/track/nobody-here")
    findings.check(f"{key} unknown company")


def public_pages(
    findings: Checker, web: str, tenant: Tenant, api: Client, key: str, tracking_id: str = "TRK-A11Y"
) -> None:
    """Open (and check) each public page of ``tenant`` the way a person reaches it, the forms sent
    with the keyboard alone."""
    from chalicelib.core.links import manual_unsubscribe_token, subscription_link_token
    from chalicelib.store.tracking import list_subscriptions

    tracking_pages(findings, web, tenant, key, tracking_id)
    driver, company = findings.driver, tenant.company_id
    # the confirmation and unsubscribe pages (their one button pressed with Enter), and refusals
    email = f"{key.replace(' ', '-')}@example.com"
    assert ask_for_alerts(api, tenant, tracking_id, email).status_code == 202
    exp = int(T0.timestamp()) + 86_400

    def link(purpose: str) -> str:
        sub = next(s for s in list_subscriptions(company, tracking_id) if s.email == email)
        return subscription_link_token(
            purpose, company, tracking_id, sub.subscription_id, sub.link_nonce, exp
        )

    driver.get(f"{web}/public/subscriptions/confirm?token={link('confirm')}")
    findings.check(f"{key} confirm alerts")
    pressed(driver)
    findings.check(f"{key} alerts confirmed")
    driver.get(f"{web}/public/unsubscribe?token={link('unsubscribe')}")
    findings.check(f"{key} stop alerts")
    pressed(driver)
    findings.check(f"{key} alerts stopped")
    driver.get(f"{web}/public/unsubscribe?token=not-a-token")
    findings.check(f"{key} refused link")
    driver.get(f"{web}/public/unsubscribe")
    findings.check(f"{key} incomplete link")
    manual = manual_unsubscribe_token(company, "CLI-1")
    driver.get(f"{web}/public/manual-sends/unsubscribe?token={manual}")
    findings.check(f"{key} manual unsubscribe")  # (its form posts to the public base URL: not here)
    # the client's document portal (docs/portal.md), with nothing published yet
    from urllib.parse import urlsplit

    from chalicelib.tenants.clients import portal_link

    portal = urlsplit(portal_link(company, "CLI-1"))
    driver.get(f"{web}{portal.path}?{portal.query}")
    findings.check(f"{key} document portal")


def pressed(driver: Any) -> None:
    """Tab to the page's one button and press Enter, then wait for the next page."""
    button = driver.find_element(By.CSS_SELECTOR, "form button")
    tab_to(driver, button)
    press_enter(driver)
    wait_until_gone(driver, button)
