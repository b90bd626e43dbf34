"""Signing in to the console as exactly the demo user of a level, for the work screens' tests.

``tests.steps.console.sign_in`` types the company and fires a synthetic ``change``; choosing the user
then blurs the company box, the browser fires its own ``change``, the sign-in screen reloads the demo
users and the choice falls back to the first one (the administrator) with the level picked. This one
commits the company with Tab (one ``change``), then picks the user and checks who signed in.
"""

from __future__ import annotations

from typing import Any

from infrastructure.local.identity_server import DEMO_USERS
from tests.steps.console import demo_user, open_screen, wait_until
from tests.steps.tenants import Tenant


def sign_in_as(driver: Any, web: str, tenant: Tenant, level: int, screen: str | None = None) -> None:
    """Sign in through the console's sign-in screen as the tenant's demo user of ``level``."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver.get(f"{web}/console")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{web}/console")
    try:
        company = wait_until(driver, lambda d: d.find_element(By.ID, "signin-company"))
    except TimeoutException:  # a page load that stalled on the loaded 2-core machine: load it again
        driver.refresh()
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
    signed_in = f"{name} · {tenant.company_id}"
    wait_until(driver, lambda d: d.find_element(By.ID, "who").text.startswith(signed_in))
    if screen is not None:
        open_screen(driver, screen)
