"""One run of a per-company schedule (the tracking sweep, the reminder run, the SMS credit check):
the companies go side by side, a few at a time, and one company's failure is logged and stays its
own (what it did not do stays due for its next run).

    reports = each_company(company_ids, sweep_company, what="tracking sweep")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from chalicelib.core.observability import logger

# Companies run at the same time by one run of a schedule.
COMPANIES_AT_ONCE = 4

Report = TypeVar("Report")


def each_company(
    company_ids: Sequence[str],
    run: Callable[[str], Report],
    *,
    what: str,
    start_until: float | None = None,
) -> list[Report]:
    """``run`` for every company, ``COMPANIES_AT_ONCE`` at a time; the reports of those that did
    not fail, in the companies' order. A failure is logged as ``"<what> failed"``. With
    ``start_until`` (a ``time.monotonic()`` instant) no company starts after it: those left are
    not run (nor reported) and are logged once as ``"<what> out of time"`` with how many."""
    left: list[str] = []

    def one(company_id: str) -> Report | None:
        if start_until is not None and time.monotonic() >= start_until:
            left.append(company_id)
            return None
        try:
            return run(company_id)
        except Exception:
            logger().exception(f"{what} failed", extra={"company_id": company_id})
            return None

    prefix = what.replace(" ", "-")
    with ThreadPoolExecutor(max_workers=COMPANIES_AT_ONCE, thread_name_prefix=prefix) as pool:
        reports = [report for report in pool.map(one, company_ids) if report is not None]
    if left:
        logger().warning(f"{what} out of time", extra={"left": len(left), "first_left": left[0]})
    return reports
