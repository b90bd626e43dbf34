"""Accessibility checks in the browser: axe-core (the npm package the project installs under
.local/npm, infrastructure/local/npm.py) injected into the page Chromium shows, and run there.

    problems = axe_violations(driver)        # serious and critical WCAG 2.1 A/AA violations
    assert not problems, described(problems)

One browser session serves every check: the language a page is asked in and the window's size are
changed through Chromium's DevTools protocol (``asked_in``, ``phone_window``), not a new browser.
"""

from __future__ import annotations

from typing import Any

from tests.steps.browser import PHONE

# What is checked: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, one h1,
# ...); a violation fails a test when its impact is one of these.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
FAILING = ("serious", "critical")

_RUN = """
const done = arguments[arguments.length - 1];
const context = arguments[1] ? {include: [arguments[1]]} : document;
axe.run(context, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
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
    driver: Any, impacts: tuple[str, ...] = FAILING, within: str | None = None
) -> list[dict[str, Any]]:
    """axe-core's violations on the page shown, of the given impacts (each with its elements);
    ``within``: only in the element this CSS selector finds (a screen of a shell checked once)."""
    from infrastructure.local.npm import axe_script

    if not driver.execute_script("return typeof window.axe === 'object'"):  # opened before with_axe
        driver.execute_script(axe_script())
    driver.set_script_timeout(30)
    found = driver.execute_async_script(_RUN, list(AXE_TAGS), within)
    if isinstance(found, dict):
        raise AssertionError(f"axe.run failed: {found['error']}")
    return [v for v in found if v["impact"] in impacts]


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


def phone_window(driver: Any, on: bool = True) -> None:
    """Show pages as a 375-px phone does (or back to the desktop window)."""
    if on:
        width, height = PHONE
        metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
