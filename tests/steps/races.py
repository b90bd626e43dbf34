"""Two requests at once, with the real tables: only the moment another one writes is chosen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def another_write_after_the_read(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    read_name: str,
    other_write: Callable[[], object],
    *,
    only: Callable[..., bool] = lambda *args, **kwargs: True,
) -> None:
    """Another request's change lands while a request is between reading and writing: the first
    call of ``owner.read_name`` that ``only`` accepts runs ``other_write`` right after it reads,
    once (later reads, the retry's among them, read what is there)."""
    read = getattr(owner, read_name)

    def read_then_another_writes(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        if only(*args, **kwargs):
            monkeypatch.setattr(owner, read_name, read)
            other_write()
        return found

    monkeypatch.setattr(owner, read_name, read_then_another_writes)
