"""The channel that sends as a company's e-mail sender account (C1, C5): SMTP or SES."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.channels.base import Channel
from chalicelib.channels.ses import SesChannel
from chalicelib.channels.smtp import SmtpChannel
from chalicelib.core.domain import SenderAccount


def email_channel(
    account: SenderAccount, password: Callable[[], str | None], *, attempt_seconds: float | None = None
) -> Channel:
    """The account's provider: SMTP (one connection, opened on the first send, logging in with
    ``password()``; one attempt at a message within ``attempt_seconds``, by default the outbox's)
    or the SES v2 API. Messages without a sender go from the account's address."""
    if account.kind == "ses":
        return SesChannel(account)
    return SmtpChannel(account, password, attempt_seconds=attempt_seconds)
