"""Reading the API's answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: What tests are making fail on purpose right now (a store outage they inject): a 500 the app
#: answers meanwhile is that outage's, not an answer the API document should list, and the
#: run's check of documented answers (test_openapi_matches_the_app) leaves it out.
INJECTED_OUTAGES: list[str] = []


@contextmanager
def outage_injected(what: str) -> Iterator[None]:
    """While inside, the app's 500s are the outage ``what`` the test injects."""
    INJECTED_OUTAGES.append(what)
    try:
        yield
    finally:
        INJECTED_OUTAGES.remove(what)


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None
