"""Small screens: what a page must hold on a phone or a tablet, measured in the page Chromium shows
(docs/web.md, Small screens). The window's size is changed through the DevTools protocol, so one
browser session serves every page at every size.

    sized(driver, (360, 640))
    problems = layout_problems(driver)   # one line per offending element, empty when all holds
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

# A small Android and an iPad held upright. Not a 390 x 844 iPhone: it is on the same side of every
# breakpoint as 360 x 640 (the console's 700 and 760 px, the fields' 1024 px) and larger both ways,
# so what fits at 360 x 640 fits there too (session 37 found nothing at 390 it did not find at 360);
# the console's other browser tests use it as their phone (test_console_shell, _webhooks, ...).
SIZES = ((360, 640), (768, 1024))

_SCRIPT = Path(__file__).with_name("screens.js")


def sized(driver: Any, size: tuple[int, int] | None) -> None:
    """Show pages in a window of ``size`` (CSS px), as a phone or a tablet does (a touch screen);
    None: back to the desktop window."""
    if size is None:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return
    width, height = size
    metrics = {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    # what the page does at the new size (its resize observers) is done once the next frame is
    # drawn: a task queued from that frame's animation callback runs after its observers
    driver.execute_async_script(
        "const done = arguments[0]; requestAnimationFrame(() => setTimeout(() => done(), 0));"
    )


def keyboard_used(driver: Any) -> None:
    """A key pressed (Shift, which does nothing), as a keyboard user does: from then on a focused
    element shows its focus indicator (:focus-visible) even when focused by script."""
    for kind in ("rawKeyDown", "keyUp"):
        driver.execute_cdp_cmd(
            "Input.dispatchKeyEvent",
            {"type": kind, "key": "Shift", "code": "ShiftLeft", "windowsVirtualKeyCode": 16},
        )


def layout_problems(driver: Any, size: tuple[int, int], focus: bool = False) -> list[str]:
    """What fails on the page shown on a screen of ``size`` (set with ``sized``), one line per
    element: sideways scrolling, text cut off, over other text or past the window, small tap
    targets, fields iOS would zoom into, dialogs wider or taller than the window; with ``focus``,
    each target is focused in turn and its focus outline must read at 3:1 on what is behind it."""
    return list(driver.execute_script(_script(), "layout", focus, *size))


def menu_problem(driver: Any, width: int) -> str | None:
    """Whether every screen of the console's navigation can be reached at the window's size (shown,
    or behind the menu button, which opens and closes it) on a screen ``width`` px wide; None when it can."""
    found = driver.execute_script(_script(), "menu", width)
    return None if found is None else str(found)


@cache
def _script() -> str:
    """The checks run in the page (screens.js, the body of one function)."""
    return _SCRIPT.read_text(encoding="utf-8")
