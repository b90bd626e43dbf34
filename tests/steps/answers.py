"""Reading the API's answers."""

from __future__ import annotations

import json
from typing import Any


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None
