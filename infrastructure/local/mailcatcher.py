"""A real SMTP server (aiosmtpd) that catches every message into ``.eml`` files a person can open.

    with MailCatcher(tmp_path / "mail", credentials={"demo": "demo-password"}) as catcher:
        ...send with smtplib to 127.0.0.1:catcher.port...
        [message] = catcher.wait_for(1)

Files are named ``YYYYmmddTHHMMSS-<seq>-<subject-slug>.eml`` (UTC arrival time, a 6-digit sequence
that keeps counting across restarts), so sorting by name is arrival order.

Envelope: like an MTA's ``Return-Path``/``Delivered-To`` trace headers, two headers are prepended to
the raw bytes received: ``X-Pregon-Envelope-From`` (MAIL FROM) and ``X-Pregon-Envelope-To`` (every
RCPT TO, comma-separated; Bcc recipients show up only here). Everything after them is byte-for-byte
what the client sent. :func:`envelope_recipients` reads them back from a parsed message.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import ssl
import threading
import time
import unicodedata
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from chalicelib.core.secrets import same_secret
from infrastructure.local.paths import free_port

log = logging.getLogger(__name__)

ENVELOPE_FROM_HEADER = "X-Pregon-Envelope-From"
ENVELOPE_TO_HEADER = "X-Pregon-Envelope-To"
_NAME = re.compile(r"^(\d{8}T\d{6})-(\d+)-.*\.eml$")


class CaughtMail(NamedTuple):
    """One line of :func:`list_mail`."""

    path: Path
    subject: str
    to: str
    date: str


def _slug(text: str, limit: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "no-subject"


def _mail_files(maildir: Path) -> list[Path]:
    if not maildir.is_dir():
        return []
    return sorted(path for path in maildir.glob("*.eml") if _NAME.match(path.name))


def _parse(path: Path) -> EmailMessage:
    message = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    return message


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The RCPT TO addresses the catcher recorded for a message it caught."""
    value = message.get(ENVELOPE_TO_HEADER, "")
    return [address.strip() for address in str(value).split(",") if address.strip()]


def list_mail(maildir: Path) -> list[CaughtMail]:
    """Every caught message in ``maildir``, oldest first: (path, subject, to, date)."""
    parser = BytesHeaderParser(policy=policy.default)
    caught = []
    for path in _mail_files(maildir):
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        to = str(headers.get("To", "") or headers.get(ENVELOPE_TO_HEADER, ""))
        caught.append(CaughtMail(path, str(headers.get("Subject", "")), to, str(headers.get("Date", ""))))
    return caught


class _QuietDeprecations(logging.Filter):
    """aiosmtpd logs a deprecation warning on every successful AUTH; it is not ours to fix."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


_AIOSMTPD_LOG = logging.getLogger("mail.log")
if not any(isinstance(f, _QuietDeprecations) for f in _AIOSMTPD_LOG.filters):
    _AIOSMTPD_LOG.addFilter(_QuietDeprecations())


class _Handler:
    """aiosmtpd handler: refuses MAIL before AUTH when required; writes each DATA to a file."""

    def __init__(self, maildir: Path, *, require_auth: bool, pipelining: bool = True) -> None:
        self.maildir = maildir
        self.require_auth = require_auth
        self.pipelining = pipelining
        self._lock = threading.Lock()
        self.refusals: list[str] = []  # replies to give the next DATA commands (greylisting, outages)
        # replies to give the next RCPT commands, and whether DATA is taken after them anyway
        self.recipient_refusals: list[tuple[str, bool]] = []
        self.resets = 0  # the next messages kept, then their connection reset before the reply
        existing = [int(m.group(2)) for p in _mail_files(maildir) if (m := _NAME.match(p.name))]
        self._sequence = itertools.count(max(existing, default=0) + 1)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """aiosmtpd's reply, plus PIPELINING (RFC 2920) unless told not to: aiosmtpd answers
        pipelined commands one by one in order, as the servers accounts name (Postfix, Exim,
        Gmail, Microsoft 365) offer to."""
        session.host_name = hostname  # aiosmtpd leaves this to a handler that answers EHLO
        if not self.pipelining:
            return responses
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        # Enforced here rather than with aiosmtpd's auth_required, which warns on every
        # connection when AUTH is allowed without TLS (as it is on this local catcher).
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self._lock:
            refusal = self.recipient_refusals.pop(0) if self.recipient_refusals else None
        if refusal is None or refusal[1]:
            envelope.rcpt_tos.append(address)  # taken anyway: DATA is answered 354, as RFC 2920 forbids
            envelope.rcpt_options.extend(rcpt_options)
        return "250 OK" if refusal is None else refusal[0]

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.refusals:
                return self.refusals.pop(0)
        raw = envelope.original_content or b""
        newline = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
        trace = (
            f"{ENVELOPE_FROM_HEADER}: {envelope.mail_from or ''}".encode()
            + newline
            + f"{ENVELOPE_TO_HEADER}: {', '.join(envelope.rcpt_tos)}".encode()
            + newline
        )
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        subject = str(headers.get("Subject", "") or "")
        self.save(trace + raw, subject)
        with self._lock:
            reset, self.resets = self.resets > 0, max(0, self.resets - 1)
        if reset and isinstance(server.transport, asyncio.Transport):
            server.transport.abort()  # RST: the client cannot know that the message was kept
        return "250 Message accepted for delivery"

    def save(self, data: bytes, subject: str) -> Path:
        with self._lock:
            self.maildir.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            name = f"{stamp}-{next(self._sequence):06d}-{_slug(subject)}.eml"
            path = self.maildir / name
            partial = self.maildir / f".{name}.partial"
            partial.write_bytes(data)
            partial.replace(path)  # readers never see half a message
        log.info("caught mail %s", path.name)
        return path


class _Authenticator:
    def __init__(self, credentials: dict[str, str]) -> None:
        self._credentials = dict(credentials)

    def __call__(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            username = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if same_secret(password, self._credentials.get(username)):
                return AuthResult(success=True)
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=False, handled=False)


class MailCatcher:
    """A real SMTP server on ``host:port`` catching every message into ``maildir``.

    With ``credentials`` (username -> password) it advertises AUTH PLAIN and LOGIN without TLS,
    requires AUTH before MAIL, and rejects bad credentials with
    ``535 5.7.8 Authentication credentials invalid``.

    With ``tls_context`` (a server-side ``ssl.SSLContext`` holding a certificate and key) it
    advertises STARTTLS and requires it before anything else: a client that does not upgrade
    gets ``530 Must issue a STARTTLS command first``.
    """

    def __init__(
        self,
        maildir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        credentials: dict[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        smtputf8: bool = True,
        pipelining: bool = True,
    ) -> None:
        self.maildir = Path(maildir)
        self.smtputf8 = smtputf8  # False: a server that does not offer SMTPUTF8 (RFC 6531)
        self.pipelining = pipelining  # False: a server that does not offer PIPELINING (RFC 2920)
        self.host = host
        self._port = port if port is not None else free_port(host)
        self.credentials = credentials
        self.tls_context = tls_context
        self._controller: Controller | None = None
        self._handler: _Handler | None = None

    def refuse_next(self, count: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        """Answer the next ``count`` messages with ``reply`` instead of accepting them, as a
        greylisting or overloaded server does (a 4xx reply) or a rejecting one (5xx)."""
        assert self._handler is not None, "start the catcher first"
        self._handler.refusals.extend([reply] * count)

    def refuse_next_recipients(
        self, count: int, reply: str = "550 5.1.1 No such user here", *, then_take_data: bool = False
    ) -> None:
        """Answer the next ``count`` RCPT commands with ``reply``. ``then_take_data``: still count
        them as recipients, so DATA after them is answered 354, as a few broken servers do."""
        assert self._handler is not None, "start the catcher first"
        self._handler.recipient_refusals.extend([(reply, then_take_data)] * count)

    def reset_after_next(self, count: int) -> None:
        """Keep the next ``count`` messages, then reset their connection before the reply to their
        final dot, as a server that dies or a network path dropped at that moment: the sender
        cannot know whether the message went."""
        assert self._handler is not None, "start the catcher first"
        self._handler.resets += count

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> MailCatcher:
        if self._controller is not None:
            return self
        self.maildir.mkdir(parents=True, exist_ok=True)
        smtp_options: dict[str, Any] = {"enable_SMTPUTF8": self.smtputf8}
        if self.credentials is not None:
            smtp_options.update(
                authenticator=_Authenticator(self.credentials),
                auth_require_tls=False,
            )
        if self.tls_context is not None:
            smtp_options.update(tls_context=self.tls_context, require_starttls=True)
        self._handler = _Handler(
            self.maildir, require_auth=self.credentials is not None, pipelining=self.pipelining
        )
        controller = Controller(
            self._handler,
            hostname=self.host,
            port=self._port,
            server_hostname="pregon-mailcatcher.local",
            **smtp_options,
        )
        controller.start()
        self._controller = controller
        log.info("mail catcher listening on %s:%s, writing %s", self.host, self._port, self.maildir)
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def files(self) -> list[Path]:
        """The ``.eml`` files caught so far, in arrival order."""
        return _mail_files(self.maildir)

    def messages(self) -> list[EmailMessage]:
        """Every caught message, parsed with ``email.policy.default``, in arrival order.

        Each carries the envelope in ``X-Pregon-Envelope-From`` / ``X-Pregon-Envelope-To``.
        """
        return [_parse(path) for path in self.files()]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages were caught; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            files = self.files()
            if len(files) >= count:
                return [_parse(path) for path in files]
            if time.monotonic() >= deadline:
                subjects = [str(_parse(path).get("Subject", "")) for path in files]
                raise TimeoutError(
                    f"expected {count} message(s) in {self.maildir} within {timeout}s, "
                    f"got {len(files)}: {subjects}"
                )
            time.sleep(0.05)

    def clear(self) -> None:
        """Delete every caught message."""
        for path in self.files():
            path.unlink(missing_ok=True)

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
