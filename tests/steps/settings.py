"""The service's settings as a test changes them: they are read once per process
(``chalicelib.core.settings.get_settings``), so a test that sets an environment variable has them
read again, and puts the variables back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def settings_read_again() -> None:
    """Forget the settings read so far and read them now, from the tests' environment: read first
    inside a test client's call, they would be that stage's variables (another table prefix)."""
    from chalicelib.core.settings import get_settings, reset_settings

    reset_settings()
    get_settings()


@contextmanager
def environment_kept(names: Iterable[str]) -> Iterator[None]:
    """Whatever the block does to these environment variables is undone after it (one not set
    before is removed), and the settings are read again."""
    before = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        settings_read_again()
