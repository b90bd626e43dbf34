"""IMAP with the standard library's ``imaplib``: read-only, to checked public addresses only.

* The connection goes to an address ``channels/destinations.py`` checked (Q7), like SMTP's; TLS
  (implicit or STARTTLS) verifies the certificate against the host name.
* Every socket has a timeout, so a server that stops answering ends its own sync only; and every
  read and write waits at most what is left of a deadline (``channels/deadlines.py``), given by
  the caller for connecting and logging in and then for what follows (:meth:`Session.bound`), so a
  server trickling a byte every few seconds (never tripping the timeout) cannot hold a connection
  test or a sync longer: it fails with :class:`ImapTimedOut`.
* Folders are opened with EXAMINE and messages read with ``BODY.PEEK``: nothing in the mailbox
  changes, not even the \\Seen flag; nothing is ever stored, moved or expunged.
* It logs in with a password (``LOGIN``; SASL ``PLAIN`` in UTF-8 for one with characters beyond
  ASCII, such as ``ñ``) or an OAuth2 bearer token (SASL ``XOAUTH2``, Microsoft 365); neither is
  ever logged.
* What goes wrong is reported in the server's own words (``[AUTHENTICATIONFAILED] ...``), but
  not what a service that does not speak IMAP wrote.
"""

from __future__ import annotations

import base64
import imaplib
import io
import re
import socket
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.channels.deadlines import Deadline, DeadlineReader, SendTimedOut, send_all
from chalicelib.channels.destinations import DestinationRefused, connect_checked
from chalicelib.core.domain import Mailbox

if TYPE_CHECKING:
    from typing_extensions import Buffer

TIMEOUT_SECONDS = 20.0
_MAX_TEXT = 300
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapFailed(Exception):
    """A connection, login or folder failure, in the server's words (``str``), safe to show."""


class ImapTimedOut(ImapFailed):
    """The server did not finish within the exchange's deadline (it may have trickled its answer
    a byte at a time): the connection is no use any more."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timeout: the IMAP server did not finish within {seconds:g} s")


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
        text = re.sub(r"^command: [A-Z]+ => ", "", text)  # imaplib's prefix to what went wrong
    elif isinstance(exc, socket.timeout | TimeoutError):
        text = "timed out: the server did not answer"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"


#: The most one command's answer may hold, its lines and literals (message texts) together. The sync
#: asks for at most 24 MB of whole messages a command, or one message of up to 40 MB, as the server
#: counts them (``sync.MESSAGE_BATCH_BYTES``, ``sync.MAX_MESSAGE_BYTES``). imaplib makes room for a
#: literal's announced size before reading it, so a server announcing 4 GB (or answering with
#: endless lines) would take the Lambda's memory; past this the answer is refused.
MAX_ANSWER_BYTES = 48 * 1024 * 1024


class _Bounded(imaplib.IMAP4):
    """``imaplib.IMAP4`` reading and writing only until ``deadline``: each read (imaplib reads
    through ``self.file``) and each write (``send``) waits at most what is left of it, and so does
    the TLS handshake. The constructor connects and reads the greeting, so it is given the deadline
    first; :meth:`bound` sets the next exchanges'."""

    _tls_established: bool  # imaplib's
    _answered = 0  # bytes of the current command's answer so far

    def __init__(self, host: str, port: int, *, deadline: Deadline, timeout: float, **kwargs: Any) -> None:
        self.deadline = deadline  # before imaplib's constructor connects and reads the greeting
        super().__init__(host, port, timeout=timeout, **kwargs)

    def _command(self, name: str, *args: Any) -> Any:
        self._answered = 0
        return super()._command(name, *args)  # type: ignore[misc]  # imaplib's, not in its stubs

    def _counted(self, size: int) -> None:
        self._answered += size
        if self._answered > MAX_ANSWER_BYTES:
            raise self.abort(f"the IMAP server's answer is larger than {MAX_ANSWER_BYTES // 2**20} MB")

    def read(self, size: int) -> bytes:
        self._counted(size)  # before imaplib makes room for it
        return bytes(super().read(size))

    def _get_line(self) -> bytes:
        line = bytes(super()._get_line())  # type: ignore[misc]  # imaplib's, not in its stubs
        self._counted(len(line))
        return line

    def bound(self, deadline: Deadline) -> None:
        self.deadline = self._reader.deadline = deadline

    def _read_within_deadline(self) -> None:
        self._reader = DeadlineReader(self.sock, self.deadline)
        self.file = io.BufferedReader(self._reader)

    def open(self, host: str = "", port: int | None = None, timeout: float | None = None) -> None:
        """imaplib's ``open`` (its constructor gives the port), reading through the deadline instead
        of ``sock.makefile('rb')``."""
        assert port is not None
        self.host, self.port = host, port
        self.sock = self._create_socket(timeout)
        self._read_within_deadline()

    def send(self, data: Buffer) -> None:
        sys.audit("imaplib.send", self, data)
        send_all(self.sock, bytes(data), self.deadline)

    def starttls(self, ssl_context: Any | None = None) -> Any:
        """imaplib's ``starttls``, with the handshake within the deadline, and the capabilities
        after it (and all that follows) read through it: imaplib's reads them through a new
        ``makefile``. Whatever the server sent before TLS and was not read yet is dropped."""
        if self._tls_established:
            raise self.abort("TLS session already established")
        if "STARTTLS" not in self.capabilities:
            raise self.abort("TLS not supported by server")
        typ, data = self._simple_command("STARTTLS")
        if typ != "OK":
            raise self.error("Couldn't establish TLS session")
        self.sock.settimeout(self.deadline.next_wait())  # the TLS handshake
        context = ssl_context or ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        self._read_within_deadline()
        self._tls_established = True
        self._get_capabilities()
        return self._untagged_response(typ, data, "STARTTLS")


class _CheckedIMAP4(_Bounded):
    """``imaplib.IMAP4`` connecting only to a checked public address of its host."""

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return connect_checked(self.host, self.port, self.deadline)


class _CheckedIMAP4_SSL(_Bounded, imaplib.IMAP4_SSL):
    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = connect_checked(self.host, self.port, self.deadline)
        sock.settimeout(self.deadline.next_wait())  # the TLS handshake
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


def _ran_out(exc: BaseException, deadline: Deadline) -> bool:
    """Whether an exchange failed for its deadline (imaplib turns most into ``socket error``)."""
    return deadline.passed() or isinstance(exc, SendTimedOut)


def _failed(exc: BaseException, deadline: Deadline) -> ImapFailed:
    """What a failed exchange says: that it ran out of time, or the server's words."""
    return ImapTimedOut(deadline.seconds) if _ran_out(exc, deadline) else ImapFailed(server_text(exc))


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
        return _log_in_with_password(conn, credential)
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


def _log_in_with_password(conn: imaplib.IMAP4, credential: Password) -> list[object]:
    """``LOGIN`` with an ASCII user and password, as ever. One with other characters (``ñ``,
    ``é``: imaplib writes commands in ASCII, and its ``LOGIN`` raised ``UnicodeEncodeError``) goes
    as SASL ``PLAIN`` when the server offers it (``AUTH=PLAIN``: dovecot, Gmail, Exchange Online),
    whose user and password are UTF-8 by definition (RFC 4616), else as ``LOGIN`` with its strings
    in UTF-8, as IMAP4rev2 (RFC 9051) and UTF8=ACCEPT (RFC 6855) servers take them; a server that
    takes neither refuses the login in its own words."""
    username, password = credential.username, credential.password
    if username.isascii() and password.isascii():
        return list(conn.login(username, password)[1])
    if "AUTH=PLAIN" in conn.capabilities:
        plain = f"\0{username}\0{password}".encode()
        return list(conn.authenticate("PLAIN", lambda _challenge: plain)[1])
    ascii_only = conn._encoding  # imaplib's
    conn._encoding = "utf-8"  # type: ignore[attr-defined]
    try:
        return list(conn.login(username, password)[1])
    finally:
        conn._encoding = ascii_only  # type: ignore[attr-defined]


@contextmanager
def session(server: Server, credential: Password | BearerToken, deadline: Deadline) -> Iterator[Session]:
    """A logged-in connection: connecting, the greeting, STARTTLS and logging in within
    ``deadline`` (and each wait within its ``wait``): ``ImapFailed`` with the server's words when
    that fails, ``ImapTimedOut`` when the deadline passes first. What follows, logging out
    included, has the same deadline unless :meth:`Session.bound` gives another."""
    timeout = deadline.wait or deadline.seconds  # imaplib's; each wait is the deadline's
    conn: _Bounded | None = None
    try:
        if server.encryption == "tls":
            conn = _CheckedIMAP4_SSL(
                server.host,
                server.port,
                deadline=deadline,
                timeout=timeout,
                ssl_context=ssl.create_default_context(),
            )
        else:
            conn = _CheckedIMAP4(server.host, server.port, deadline=deadline, timeout=timeout)
            if server.encryption == "starttls":
                conn.starttls(ssl.create_default_context())
        answer = _answer(_log_in(conn, credential))
    except (imaplib.IMAP4.error, OSError, ssl.SSLError, UnicodeError) as exc:
        if conn is not None:
            with suppress(Exception):
                conn.shutdown()
        if isinstance(exc, UnicodeError):  # never the account's secret itself, nor where it is in it
            raise ImapFailed(
                "the user name or password could not be sent: it has characters that are not text"
            ) from exc
        raise _failed(exc, deadline) from exc
    try:
        yield Session(conn, answer)
    finally:
        try:
            conn.logout()
        except Exception:  # the server's or the deadline's: imaplib then leaves the socket open
            with suppress(Exception):
                conn.shutdown()


def _quoted(folder: str) -> str:
    name = folder if folder.isascii() else _modified_utf7(folder)
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _modified_utf7(folder: str) -> str:
    """A folder name with characters beyond ASCII (``Correo electrónico no deseado``) as IMAP
    writes it (RFC 3501 5.1.3, modified UTF-7: ``Correo electr&APM-nico no deseado``); imaplib
    writes commands in ASCII, so such a name raised ``UnicodeEncodeError``. A name in ASCII is
    left as given (one already written in modified UTF-7 included)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be", "surrogatepass")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


class Session:
    """One logged-in IMAP connection; only read-only commands."""

    def __init__(self, conn: _Bounded, login_answer: str) -> None:
        self.conn = conn
        self.login_answer = login_answer

    def bound(self, deadline: Deadline) -> None:
        """Let what follows (logging out included) read and write until ``deadline``."""
        self.conn.bound(deadline)

    @contextmanager
    def _exchange(self) -> Iterator[None]:
        """A command: ``ImapTimedOut`` when it failed for its deadline, else its own failure."""
        try:
            yield
        except (imaplib.IMAP4.error, OSError) as exc:
            if _ran_out(exc, self.conn.deadline):
                raise ImapTimedOut(self.conn.deadline.seconds) from exc
            raise

    def examine(self, folder: str) -> tuple[int, int]:
        """Open a folder read-only (EXAMINE): its UIDVALIDITY and how many messages it holds."""
        with self._exchange():
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
        with self._exchange():
            status, data = self.conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            raise ImapFailed(_answer(list(data)))
        found = [int(u) for u in (data[0] or b"").split()]
        return sorted(u for u in found if u > last_uid)

    def _fetch(self, uids: list[int], what: str, sizes: dict[int, int] | None = None) -> dict[int, bytes]:
        with self._exchange():
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
