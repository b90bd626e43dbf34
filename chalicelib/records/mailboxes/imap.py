"""IMAP with the standard library's ``imaplib``: read-only, to checked public addresses only.

* The connection goes to an address ``channels/destinations.py`` checked (Q7), like SMTP's; TLS
  (implicit or STARTTLS) verifies the certificate against the host name.
* Every socket has a timeout, so a server that stops answering ends its own sync only.
* Folders are opened with EXAMINE and messages read with ``BODY.PEEK``: nothing in the mailbox
  changes, not even the \\Seen flag; nothing is ever stored, moved or expunged.
* It logs in with a password (``LOGIN``) or an OAuth2 bearer token (SASL ``XOAUTH2``, Microsoft
  365); neither is ever logged.
* What goes wrong is reported in the server's own words (``[AUTHENTICATIONFAILED] ...``), but
  not what a service that does not speak IMAP wrote.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from chalicelib.channels.destinations import DestinationRefused, connect_checked
from chalicelib.core.domain import Mailbox

TIMEOUT_SECONDS = 20.0
_MAX_TEXT = 300
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapFailed(Exception):
    """A connection, login or folder failure, in the server's words (``str``), safe to show."""


def server_text(exc: BaseException) -> str:
    """What the server said (imaplib keeps its answer in the exception), or what the network did."""
    if isinstance(exc, ImapFailed):
        return str(exc)
    if isinstance(exc, DestinationRefused):
        return f"refused: {exc.reason}"
    if isinstance(exc, imaplib.IMAP4.abort) and str(exc.args[0] if exc.args else "").startswith(
        "unexpected response:"
    ):
        # a line that is no IMAP reply: a service that is not IMAP (an SSH server, a cache, an
        # internal engine) would have Pregón show whatever it wrote
        return "not an IMAP server: its answer was not an IMAP reply"
    if isinstance(exc, imaplib.IMAP4.error):
        detail = exc.args[0] if exc.args else ""
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        text = re.sub(r"^b'(.*)'$", r"\1", text)
    elif isinstance(exc, socket.timeout | TimeoutError):
        text = "timed out: the server did not answer"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


class _CheckedIMAP4(imaplib.IMAP4):
    """``imaplib.IMAP4`` connecting only to a checked public address of its host."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return connect_checked(self.host, self.port, timeout)


class _CheckedIMAP4_SSL(imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = connect_checked(self.host, self.port, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _answer(data: list[object]) -> str:
    parts = [d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d]
    return " ".join(parts)[:_MAX_TEXT]


@dataclass(frozen=True)
class Server:
    """Where a session connects: host, port and ``tls`` / ``starttls`` / ``none``."""

    host: str
    port: int
    encryption: str


@dataclass(frozen=True)
class Password:
    """IMAP ``LOGIN`` (never logged: ``repr`` hides it)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class BearerToken:
    """SASL ``XOAUTH2``: ``user=<address>^Aauth=Bearer <token>^A^A`` (imaplib base64-encodes it),
    as Exchange Online takes an app's OAuth2 token (never logged: ``repr`` hides it)."""

    username: str
    token: str = field(repr=False)


def server_of(mailbox: Mailbox) -> Server:
    return Server(mailbox.host, mailbox.port, mailbox.encryption)


def _log_in(conn: imaplib.IMAP4, credential: Password | BearerToken) -> list[object]:
    """Log in; the server's answer (``imaplib.IMAP4.error`` with its words when it refuses)."""
    if isinstance(credential, Password):
        return list(conn.login(credential.username, credential.password)[1])
    first = f"user={credential.username}\x01auth=Bearer {credential.token}\x01\x01".encode()
    sent: list[bool] = []

    def answer(challenge: bytes) -> bytes:
        # the first challenge is empty; a second one is the server's JSON error, to be answered
        # with an empty line, after which it says NO in its own words
        if sent:
            return b""
        sent.append(True)
        return first

    return list(conn.authenticate("XOAUTH2", answer)[1])


@contextmanager
def session(
    server: Server, credential: Password | BearerToken, timeout: float = TIMEOUT_SECONDS
) -> Iterator[Session]:
    """A logged-in connection (``ImapFailed`` with the server's words when that fails)."""
    conn: imaplib.IMAP4 | None = None
    try:
        if server.encryption == "tls":
            conn = _CheckedIMAP4_SSL(
                server.host, server.port, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        else:
            conn = _CheckedIMAP4(server.host, server.port, timeout=timeout)
            if server.encryption == "starttls":
                conn.starttls(ssl.create_default_context())
        answer = _answer(_log_in(conn, credential))
    except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        if conn is not None:
            with suppress(Exception):
                conn.shutdown()
        raise ImapFailed(server_text(exc)) from exc
    try:
        yield Session(conn, answer)
    finally:
        with suppress(Exception):
            conn.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Session:
    """One logged-in IMAP connection; only read-only commands."""

    def __init__(self, conn: imaplib.IMAP4, login_answer: str) -> None:
        self.conn = conn
        self.login_answer = login_answer

    def examine(self, folder: str) -> tuple[int, int]:
        """Open a folder read-only (EXAMINE): its UIDVALIDITY and how many messages it holds."""
        status, data = self.conn.select(_quoted(folder), readonly=True)
        if status != "OK":
            raise ImapFailed(f"{folder}: {_answer(list(data))}")
        validity = self.conn.response("UIDVALIDITY")[1]
        if not validity or not validity[0]:
            raise ImapFailed(f"{folder}: the server gave no UIDVALIDITY")
        return int(validity[0]), int(data[0] or 0)

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` in the open folder (``UID SEARCH UID n:*``; ``n:*`` also names
        the last message when none is newer, so it is filtered out)."""
        status, data = self.conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            raise ImapFailed(_answer(list(data)))
        found = [int(u) for u in (data[0] or b"").split()]
        return sorted(u for u in found if u > last_uid)

    def _fetch(self, uids: list[int], what: str, sizes: dict[int, int] | None = None) -> dict[int, bytes]:
        status, data = self.conn.uid("FETCH", ",".join(str(u) for u in uids), f"(UID {what})")
        if status != "OK":
            raise ImapFailed(_answer(list(data)))
        found: dict[int, bytes] = {}
        last: int | None = None
        for entry in data:
            if isinstance(entry, tuple) and len(entry) >= 2:
                uid = _UID.search(entry[0])
                last = int(uid.group(1)) if uid else None
                if last is not None:
                    found[last] = bytes(entry[1])
                items = entry[0]
            else:  # what a server answers after the literal (``RFC822.SIZE n)``), if anything
                items = entry if isinstance(entry, bytes) else b""
            size = _SIZE.search(items)
            if sizes is not None and size and last is not None:
                sizes[last] = int(size.group(1))
        return found

    def headers(self, uids: list[int], sizes: dict[int, int] | None = None) -> dict[int, bytes]:
        """The address headers of these messages (enough to tell whether a client is in them),
        and into ``sizes`` each message's size in bytes (``RFC822.SIZE``) where the server says it."""
        return self._fetch(uids, "RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO CC MESSAGE-ID)]", sizes)

    def whole_headers(self, uids: list[int]) -> dict[int, bytes]:
        """Every header of these messages, without their bodies (``BODY.PEEK[HEADER]``)."""
        return self._fetch(uids, "BODY.PEEK[HEADER]")

    def messages(self, uids: list[int]) -> dict[int, bytes]:
        """Whole messages, without setting \\Seen (``BODY.PEEK[]``)."""
        return self._fetch(uids, "BODY.PEEK[]")
