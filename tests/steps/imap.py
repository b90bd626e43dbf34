"""A real IMAP server per test (``infrastructure/local/imapserver.py``: dovecot) with the
office's staff as its mail users; and Exchange Online as a Microsoft 365 mailbox meets it, and
Gmail as a Google Workspace one does: a dovecot that also takes OAuth2 bearer tokens (SASL
XOAUTH2), and a local Microsoft or Google sign-in service (``infrastructure/local/oauthserver.py``)
issuing and vouching for them, the deployment's settings pointed at both."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from infrastructure.local.imapserver import Dovecot
from infrastructure.local.oauthserver import GoogleLogin, MicrosoftLogin

# The office's staff as mail users of the test's IMAP server (address -> password).
MAIL_USERS = {
    "ana@estudio.example": "clave-de-ana",
    "luis@estudio.example": "clave-de-luis",
    "oficina@estudio.example": "clave-de-oficina",
    # a password with an ñ, as many in Spain and Argentina are (IMAP's LOGIN is ASCII)
    "marta@estudio.example": "contraseña-Ñandú",
}


@pytest.fixture
def imap_server() -> Iterator[Dovecot]:
    """A dovecot of its own for the test, with the office's staff mail users."""
    with Dovecot(MAIL_USERS) as server:
        yield server


@dataclass(frozen=True)
class ExchangeOnline:
    """Microsoft's side of a Microsoft 365 mailbox: its sign-in service and its IMAP server."""

    login: MicrosoftLogin
    server: Dovecot


@pytest.fixture
def exchange_online(monkeypatch: pytest.MonkeyPatch) -> Iterator[ExchangeOnline]:
    """The test's own Microsoft sign-in and XOAUTH2 IMAP server, where the deployment's
    ``PREGON_MICROSOFT_LOGIN_URL`` and ``PREGON_MICROSOFT_IMAP_URL`` send Pregón."""
    with (
        MicrosoftLogin() as login,
        Dovecot(MAIL_USERS, oauth2_introspection_url=login.introspection_url) as server,
    ):
        monkeypatch.setenv("PREGON_MICROSOFT_LOGIN_URL", login.url)
        monkeypatch.setenv("PREGON_MICROSOFT_IMAP_URL", f"imap://127.0.0.1:{server.port}")
        yield ExchangeOnline(login, server)


@dataclass(frozen=True)
class GoogleWorkspace:
    """Google's side of a Google Workspace mailbox: its token endpoint and Gmail's IMAP server."""

    login: GoogleLogin
    server: Dovecot


@pytest.fixture
def google_workspace(monkeypatch: pytest.MonkeyPatch) -> Iterator[GoogleWorkspace]:
    """The test's own Google token endpoint (the office's staff as the Workspace domain's users)
    and XOAUTH2 IMAP server, where the deployment's ``PREGON_GOOGLE_TOKEN_URL`` and
    ``PREGON_GOOGLE_IMAP_URL`` send Pregón."""
    with (
        GoogleLogin(users=MAIL_USERS) as login,
        Dovecot(MAIL_USERS, oauth2_introspection_url=login.introspection_url) as server,
    ):
        monkeypatch.setenv("PREGON_GOOGLE_TOKEN_URL", login.token_url)
        monkeypatch.setenv("PREGON_GOOGLE_IMAP_URL", f"imap://127.0.0.1:{server.port}")
        yield GoogleWorkspace(login, server)
