"""Reading the e-mails the SMTP server caught, as their recipients would."""

from __future__ import annotations

from typing import Any

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients


def text_of(message: Any) -> str:
    """The message's plain-text body."""
    return str(message.get_body(preferencelist=("plain",)).get_content())


def html_of(message: Any) -> str:
    """The message's HTML body."""
    return str(message.get_body(preferencelist=("html",)).get_content())


def recipients(mailbox: MailCatcher) -> list[str]:
    """Every envelope recipient of every message caught, in the order they arrived."""
    return [r for m in mailbox.messages() for r in envelope_recipients(m)]
