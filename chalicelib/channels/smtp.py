"""SMTP: one connection per channel, plain, STARTTLS or implicit TLS, with the server's own errors.

The connection goes only to a public address of the account's host, the one that was checked
(``channels/destinations.py``); TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import hmac
import io
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from typing import TYPE_CHECKING

from chalicelib.channels.base import SEND_SECONDS, OutgoingChannelMessage
from chalicelib.channels.deadlines import Deadline, DeadlineReader, send_all
from chalicelib.channels.destinations import DestinationRefused, connect_checked
from chalicelib.channels.email import mime_of, wire_of
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed

if TYPE_CHECKING:
    from typing_extensions import Buffer

TIMEOUT_SECONDS = 20  # the polite QUIT at the end (smtplib's own timeout, which the deadline replaces)
#: One attempt at a message: connecting (the host name's lookup included) and logging in when
#: needed, then its whole exchange. The lookup, each address tried and each read and write wait at
#: most what is left of it (``channels.deadlines``), so a server trickling its replies, or a name
#: whose DNS answers slowly, cannot hold a send longer. Two attempts (a kept connection that went
#: stale, then a new one: ``messaging.delivery``) stay within ``SEND_SECONDS``.
ATTEMPT_SECONDS = SEND_SECONDS / 2


_MAX_REPLY_TEXT = 300


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_REPLY_TEXT else text[:_MAX_REPLY_TEXT] + "…"


#: Lines one reply may have: an EHLO answer has a dozen; ``smtplib`` reads a reply's lines until
#: one without a dash, so a server writing "250-" lines forever would fill the worker's memory.
_MAX_REPLY_LINES = 100


class _ReplyLines:
    """The connection's reading side: each read waits at most until the exchange's deadline
    (``raw.deadline``), and a reply's line after the last allowed is refused (``left`` is set
    again before each reply)."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.raw = DeadlineReader(sock, deadline)
        self.file = io.BufferedReader(self.raw)
        self.left = _MAX_REPLY_LINES

    def readline(self, limit: int = -1) -> bytes:
        if self.left == 0:  # smtplib closes the connection: SMTPServerDisconnected
            raise OSError(f"a reply of more than {_MAX_REPLY_LINES} lines")
        self.left -= 1
        line: bytes = self.file.readline(limit)
        return line

    def close(self) -> None:
        self.file.close()


class _Utf8(str):
    """An AUTH answer that smtplib's ``auth`` encodes in UTF-8 where it asks for ASCII."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str(self).encode("utf-8", errors)


class _BoundedReplies(smtplib.SMTP):
    """``smtplib.SMTP`` reading at most :data:`_MAX_REPLY_LINES` lines a reply, and reading and
    writing only until ``deadline`` (set before each exchange)."""

    deadline: Deadline
    _host: str  # smtplib's: the name STARTTLS verifies the certificate against
    # Whether the message being sent went (even in part) on the wire after the server's 354: from
    # then on the server may have it. Reset before each message.
    body_sent = False
    _last_code = 0

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:  # connected, or after STARTTLS
            self.file = _ReplyLines(self.sock, self.deadline)
        if isinstance(self.file, _ReplyLines):
            self.file.left = _MAX_REPLY_LINES
            self.file.raw.deadline = self.deadline
        reply = super().getreply()
        self._last_code = reply[0]
        return reply

    def auth(
        self, mechanism: str, authobject: Callable[..., str | None], *, initial_response_ok: bool = True
    ) -> tuple[int, bytes]:
        """smtplib's ``auth`` with what is sent in UTF-8, not ASCII: a user or password with ``ñ``
        or ``é`` raised ``UnicodeEncodeError`` (or CRAM-MD5's HMAC did). SASL PLAIN's strings are
        UTF-8 (RFC 4616), the usual choice for LOGIN and CRAM-MD5 too (Exchange Online, Gmail,
        Postfix's Dovecot SASL and aiosmtpd take it); an ASCII login's bytes are unchanged."""

        def in_utf8(challenge: bytes | None = None) -> _Utf8 | None:
            answer = authobject() if challenge is None else authobject(challenge)
            return None if answer is None else _Utf8(answer)

        # smtplib's stubs want an answer for every call; its code takes None at the first one
        return super().auth(mechanism, in_utf8, initial_response_ok=initial_response_ok)  # type: ignore[arg-type]

    def auth_cram_md5(self, challenge: bytes | None = None) -> str | None:  # type: ignore[override]
        if challenge is None:
            return None
        key = self.password.encode("utf-8")  # smtplib's is ASCII
        return f"{self.user} {hmac.HMAC(key, challenge, 'md5').hexdigest()}"

    def send(self, s: Buffer | str) -> None:
        if not self.sock:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        data = s.encode(self.command_encoding) if isinstance(s, str) else bytes(s)
        if self._last_code == 354:  # what follows DATA's go-ahead is the body
            self.body_sent = True
        try:
            send_all(self.sock, data, self.deadline)
        except OSError:
            self.close()
            raise smtplib.SMTPServerDisconnected("Server not connected") from None


class _CheckedSMTP(_BoundedReplies):
    """``smtplib.SMTP`` connecting only to a checked public address of its host."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return connect_checked(host, port, self.deadline)  # the lookup and each address within it


class _CheckedSMTP_SSL(smtplib.SMTP_SSL, _BoundedReplies):
    """``smtplib.SMTP_SSL`` connecting only to a checked public address of its host."""

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = connect_checked(host, port, self.deadline)
        sock.settimeout(self.deadline.left())  # the TLS handshake
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


def _failure(exc: Exception, deadline: Deadline, *, not_taken: bool) -> DeliveryFailed:
    """What a failed attempt tells the message's record: the server's words, or that it ran out of
    time (transient: a server that was only slow may answer next time). ``not_taken``: the attempt
    failed before the body went, so the server surely does not have the message."""
    if deadline.passed():
        return DeliveryFailed(
            f"timeout: the SMTP server did not finish within {deadline.seconds:g} s",
            transient=True,
            not_taken=not_taken,
        )
    return DeliveryFailed(_server_text(exc), transient=_is_transient(exc), not_taken=not_taken)


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
        return _clip(
            "; ".join(
                f"{addr}: {code} {msg.decode('utf-8', 'replace')}"
                for addr, (code, msg) in exc.recipients.items()
            )
        )
    if isinstance(exc, DestinationRefused):
        return f"refused: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


_LEADING_DOT = re.compile(rb"(?m)^\.")


def _sendmail(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """``smtp.sendmail`` for a message already flattened (CRLF line ends); when the server offers
    PIPELINING (RFC 2920) the envelope goes in one write: MAIL, each RCPT and DATA, then their
    replies read in order, so a message costs two round trips instead of three plus one per
    recipient. Replies are judged as ``sendmail`` judges them, with the same exceptions; after a
    refusal the connection is closed (its channel opens a new one for the next message)."""
    smtp.ehlo_or_helo_if_needed()
    if not smtp.has_extn("pipelining"):
        smtp.sendmail(sender, recipients, data)
        return
    options = f" SIZE={len(data)}" if smtp.has_extn("size") else ""
    commands = [f"MAIL FROM:{smtplib.quoteaddr(sender)}{options}"]
    commands += [f"RCPT TO:{smtplib.quoteaddr(recipient)}" for recipient in recipients]
    commands.append("DATA")
    if any("\r" in command or "\n" in command for command in commands):
        raise ValueError("command and arguments contain prohibited newline characters")  # as putcmd
    smtp.send("".join(f"{command}\r\n" for command in commands))
    mail_reply = smtp.getreply()
    refused: dict[str, tuple[int, bytes]] = {}
    try:
        for recipient in recipients:
            code, text = smtp.getreply()
            if code not in (250, 251):
                refused[recipient] = (code, text)
        data_code, data_text = smtp.getreply()
    except smtplib.SMTPServerDisconnected:
        # A server that hangs up after refusing the sender (or every recipient) said why, as
        # ``sendmail``, waiting for each reply, would report it: not a passing outage.
        if mail_reply[0] != 250:
            raise smtplib.SMTPSenderRefused(mail_reply[0], mail_reply[1], sender) from None
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused) from None
        raise
    failure: smtplib.SMTPException | None = None
    if mail_reply[0] != 250:
        failure = smtplib.SMTPSenderRefused(mail_reply[0], mail_reply[1], sender)
    elif len(refused) == len(recipients):
        failure = smtplib.SMTPRecipientsRefused(refused)
    elif data_code != 354:
        failure = smtplib.SMTPDataError(data_code, data_text)
    if failure is not None:
        # Closed rather than reset: a server that took DATA anyway would take the next line as the
        # message, and the channel opens a new connection after any failure in any case.
        smtp.close()
        raise failure
    body = _LEADING_DOT.sub(b"..", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body + b".\r\n")
    code, text = smtp.getreply()
    if code != 250:
        smtp.close()
        raise smtplib.SMTPDataError(code, text)


class SmtpChannel:
    """One SMTP connection of an account, opened on the first send and kept for the next ones;
    a connection that failed is closed, and the next send opens a new one."""

    def __init__(
        self,
        account: SenderAccount,
        password: Callable[[], str | None],
        *,
        attempt_seconds: float | None = None,
    ) -> None:
        self._account = account
        self._password = password
        self._attempt_seconds = attempt_seconds
        self._smtp: _BoundedReplies | None = None

    def _connect(self, deadline: Deadline) -> _BoundedReplies:
        """A connection, logged in when the account has a user, within ``deadline``."""
        account = self._account
        password = self._password()  # DeliveryFailed when it was set for another destination
        host, port = account.smtp_host or "", int(account.smtp_port or 25)
        smtp: _BoundedReplies
        if account.encryption == "tls":
            smtp = _CheckedSMTP_SSL(timeout=TIMEOUT_SECONDS, context=ssl.create_default_context())
        else:
            smtp = _CheckedSMTP(timeout=TIMEOUT_SECONDS)
        # Not connected by the constructor, so that the greeting is read within the deadline too.
        smtp.deadline, smtp._host = deadline, host
        try:
            code, greeting = smtp.connect(host, port)
            if code != 220:
                smtp.close()
                raise smtplib.SMTPConnectError(code, greeting)
            if account.encryption == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if account.username:
                smtp.login(account.username, password or "")
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise _failure(exc, deadline, not_taken=True) from exc
        except UnicodeError as exc:  # what even UTF-8 cannot write (a lone surrogate): never the secret
            smtp.close()
            raise DeliveryFailed(
                "the user name or password could not be sent: it has characters that are not text",
                transient=True,  # as a refused login: the account's messages wait until it is fixed
                not_taken=True,
            ) from exc
        return smtp

    def prepare(self, message: OutgoingChannelMessage) -> OutgoingChannelMessage:
        """The message with its MIME composed and flattened (a header with a line break raises
        ``HeaderInjection`` here): the worker does this for the next message while one is sent."""
        if message.wire is not None:
            return message
        wire = wire_of(mime_of(message, self._account))
        return message if wire is None else replace(message, wire=wire)

    def send(self, message: OutgoingChannelMessage) -> str:
        """Send one message within :data:`ATTEMPT_SECONDS` (or the channel's own, shorter),
        connecting first when needed. A failure says whether the server surely does not have the
        message (``DeliveryFailed.not_taken``): it came before the body went on the wire."""
        wire = self.prepare(message).wire  # a header with a line break is refused before connecting
        mime = None if wire is not None else mime_of(message, self._account)
        deadline = Deadline(self._attempt_seconds or ATTEMPT_SECONDS)
        try:
            if self._smtp is None:
                self._smtp = self._connect(deadline)
            self._smtp.deadline = deadline
            self._smtp.body_sent = False
            if mime is not None:  # an address that is not ASCII: ``send_message`` asks for SMTPUTF8
                self._smtp.send_message(mime)
                return str(mime["Message-ID"])
            assert wire is not None
            _sendmail(self._smtp, wire.envelope_from, list(wire.recipients), wire.data)
            return wire.message_id
        except (smtplib.SMTPException, OSError) as exc:
            not_taken = self._body_not_sent()
            self._drop()
            raise _failure(exc, deadline, not_taken=not_taken) from exc
        except DeliveryFailed as exc:
            exc.not_taken = self._body_not_sent()
            self._drop()
            raise

    def _body_not_sent(self) -> bool:
        return self._smtp is None or not self._smtp.body_sent

    def _drop(self) -> None:
        """A broken connection is not reused for the next message."""
        with suppress(Exception):  # closing a connection that already failed
            self.close()
        self._smtp = None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.deadline = Deadline(TIMEOUT_SECONDS)  # a polite QUIT, not waited for longer
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
