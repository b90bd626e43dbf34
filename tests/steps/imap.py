"""A real IMAP server per test (``infrastructure/local/imapserver.py``: dovecot) with the
office's staff as its mail users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.local.imapserver import Dovecot

# The office's staff as mail users of the test's IMAP server (address -> password).
MAIL_USERS = {
    "ana@estudio.example": "clave-de-ana",
    "luis@estudio.example": "clave-de-luis",
    "oficina@estudio.example": "clave-de-oficina",
}


@pytest.fixture
def imap_server() -> Iterator[Dovecot]:
    """A dovecot of its own for the test, with the office's staff mail users."""
    with Dovecot(MAIL_USERS) as server:
        yield server
