"""The one e-mail channel interface: open a session on an account, send many messages over it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from email.message import EmailMessage
from typing import Protocol

from chalicelib.core.domain import SenderAccount


class EmailSession(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send one message; return the provider's message id. Raise DeliveryFailed on refusal."""


def open_email_session(account: SenderAccount, password: str | None) -> AbstractContextManager[EmailSession]:
    """A session on the account's provider: one SMTP connection, or the SES v2 API."""
    if account.kind == "ses":
        from chalicelib.channels.ses import SesSession

        return SesSession(account)
    from chalicelib.channels.smtp import SmtpSession

    return SmtpSession(account, password)
