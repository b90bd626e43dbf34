"""SMTP: one connection per channel, plain, STARTTLS or implicit TLS, with the server's own errors.

The connection goes only to a public address of the account's host, the one that was checked
(``channels/destinations.py``); TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.channels.destinations import DestinationRefused, connect_checked
from chalicelib.channels.email import mime_of, wire_of
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed

TIMEOUT_SECONDS = 20


_MAX_REPLY_TEXT = 300


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REPLY_TEXT else text[:_MAX_REPLY_TEXT] + "…"


class _CheckedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` connecting only to a checked public address of its host."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_checked(host, port, timeout)


class _CheckedSMTP_SSL(smtplib.SMTP_SSL):
    """``smtplib.SMTP_SSL`` connecting only to a checked public address of its host."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_checked(host, port, timeout)
        return self.context.wrap_socket(sock, server_hostname=host)


def _is_transient(exc: Exception) -> bool:
    """4xx replies, dropped connections and network errors may pass later; 5xx replies will not
    (a refused login is the account's problem: its messages wait until it is fixed)."""
    if isinstance(exc, DestinationRefused):
        return exc.unresolved  # a name without DNS may get it; a private address will not change
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return 400 <= exc.smtp_code < 500
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPServerDisconnected | OSError)


def _server_text(exc: Exception) -> str:
    """The SMTP server's reply code and text (``535 5.7.8 ...``), kept as it is the server's own
    answer; but what a server that does not speak SMTP wrote is not echoed."""
    if isinstance(exc, smtplib.SMTPResponseException) and not 200 <= exc.smtp_code <= 599:
        return "not an SMTP server: its answer was not an SMTP reply"
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return _clip(f"{exc.smtp_code} {detail}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{addr}: {code} {msg.decode('utf-8', 'replace')}" for addr, (code, msg) in exc.recipients.items()
        )
    if isinstance(exc, DestinationRefused):
        return f"refused: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


class SmtpChannel:
    """One SMTP connection of an account, opened on the first send and kept for the next ones;
    a connection that failed is closed, and the next send opens a new one."""

    def __init__(self, account: SenderAccount, password: Callable[[], str | None]) -> None:
        self._account = account
        self._password = password
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        account = self._account
        password = self._password()  # DeliveryFailed when it was set for another destination
        host, port = account.smtp_host or "", int(account.smtp_port or 25)
        try:
            if account.encryption == "tls":
                smtp: smtplib.SMTP = _CheckedSMTP_SSL(
                    host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
                )
            else:
                smtp = _CheckedSMTP(host, port, timeout=TIMEOUT_SECONDS)
                if account.encryption == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if account.username:
                smtp.login(account.username, password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(_server_text(exc), transient=_is_transient(exc)) from exc
        return smtp

    def prepare(self, message: OutgoingChannelMessage) -> OutgoingChannelMessage:
        """The message with its MIME composed and flattened (a header with a line break raises
        ``HeaderInjection`` here): the worker does this for the next message while one is sent."""
        if message.wire is not None:
            return message
        wire = wire_of(mime_of(message, self._account))
        return message if wire is None else replace(message, wire=wire)

    def send(self, message: OutgoingChannelMessage) -> str:
        wire = self.prepare(message).wire  # a header with a line break is refused before connecting
        mime = None if wire is not None else mime_of(message, self._account)
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            if mime is not None:  # an address that is not ASCII: ``send_message`` asks for SMTPUTF8
                self._smtp.send_message(mime)
                return str(mime["Message-ID"])
            assert wire is not None
            self._smtp.sendmail(wire.envelope_from, list(wire.recipients), wire.data)
            return wire.message_id
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryFailed(_server_text(exc), transient=_is_transient(exc)) from exc
        except DeliveryFailed:
            self._drop()
            raise

    def _drop(self) -> None:
        """A broken connection is not reused for the next message."""
        with suppress(Exception):  # closing a connection that already failed
            self.close()
        self._smtp = None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
