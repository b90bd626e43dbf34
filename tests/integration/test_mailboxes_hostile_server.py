"""H3 against a hostile or broken IMAP server: the company chooses the host, and a server that
trickles its answers a byte every few seconds never trips a socket's timeout. Played by a raw
socket here (dovecot answers too well), it must neither hold a connection test past API Gateway's
29 s nor a sync until its Lambda is killed: each ends at its deadline, saying so."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.imapserver import Dovecot
from tests.steps.answers import body
from tests.steps.imap import MAIL_USERS
from tests.steps.mailboxes import add_mailbox, filed_mail, monitor, office_clients, register_seen, run_syncs
from tests.steps.tenants import Tenant
from tests.steps.tls import certificates

ANA, OFICINA = "ana@estudio.example", "oficina@estudio.example"
PAUSE = 0.25  # between two bytes of a trickled answer: far under any socket's timeout
GIVE_UP = 30.0  # the server's own end, so that code without deadlines fails here instead of hanging
# How soon a test or a sync with 1 s deadlines must be over: its deadline, plus slack for a loaded
# 2-core machine (a sync of two mailboxes took 6.6 s there), and far under GIVE_UP, which is when
# code without deadlines would end
IN_TIME = 12.0
TIMEOUT = "timeout: the IMAP server did not finish within 1 s"
# How each trickled answer starts (then an endless line, literal or TLS record of x's)
TRICKLED = {
    "greeting": b"* OK ",
    "handshake": b"\x16\x03\x03\x40\x00",  # a TLS handshake record of 16 kB, in place of the ServerHello
    "EXAMINE": b"* 1 EXISTS\r\n* OK [UIDVALIDITY ",
    "FETCH": b"* 1 FETCH (UID 1 RFC822.SIZE 4000 BODY[HEADER.FIELDS (FROM TO CC MESSAGE-ID)] {4000}\r\n",
}
# Answers far larger than the sync asked for: a literal announced at 4 GB (imaplib would make room
# for it before reading a byte), and lines of 900 kB for ever
HUGE = {
    "literal": b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO CC MESSAGE-ID)] {4000000000}\r\n",
    "lines": b"* OK " + b"x" * 900_000 + b"\r\n",
}
ANSWERS = {
    "CAPABILITY": b"* CAPABILITY IMAP4rev1 STARTTLS\r\n",
    "EXAMINE": b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] UIDs valid\r\n",
    "UID SEARCH": b"* SEARCH 1\r\n",
    "LOGOUT": b"* BYE logging out\r\n",
}


class TricklingImap:
    """An IMAP server on a loopback port, plain, TLS or STARTTLS (``tls`` its server context), that
    answers like dovecot (any user logs in, a folder of one message) until ``slow`` ("greeting",
    "handshake" after STARTTLS, "EXAMINE" or "FETCH"), whose answer it trickles one byte every
    :data:`PAUSE` for ever, never ending it (until the client hangs up)."""

    def __init__(self, slow: str, encryption: str = "none", tls: ssl.SSLContext | None = None) -> None:
        self.slow, self.encryption, self._tls = slow, encryption, tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            with suppress(TimeoutError):
                conn, _ = self._listener.accept()
                thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _trickle(self, conn: socket.socket, start: bytes) -> None:
        conn.sendall(start)
        ends = time.monotonic() + GIVE_UP
        while not self._stop.is_set() and time.monotonic() < ends:
            conn.sendall(b"x")  # raises once the client has hung up
            self._stop.wait(PAUSE)

    def _flood(self, conn: socket.socket, start: bytes) -> None:
        """``start``, then (a line) again or (a literal) its promised bytes, as fast as taken."""
        conn.sendall(start)
        chunk = start if start.startswith(b"* OK") else b"x" * 65536
        ends = time.monotonic() + GIVE_UP
        while not self._stop.is_set() and time.monotonic() < ends:
            conn.sendall(chunk)  # raises once the client has hung up

    def _secured(self, conn: socket.socket) -> socket.socket:
        assert self._tls is not None
        conn.settimeout(5)
        return self._tls.wrap_socket(conn, server_side=True)

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.encryption == "tls":
                conn = self._secured(conn)
            if self.slow == "greeting":
                self._trickle(conn, TRICKLED["greeting"])
                return
            conn.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
            lines = conn.makefile("rb")
            while line := lines.readline():
                tag, command, *rest = line.decode().split()
                command = f"{command} {rest[0]}" if command.upper() == "UID" else command
                command = command.upper()
                if command in (self.slow, f"UID {self.slow}"):
                    self._trickle(conn, TRICKLED[self.slow])
                    return
                if command == "UID FETCH" and self.slow in HUGE:
                    self._flood(conn, HUGE[self.slow])
                    return
                conn.sendall(ANSWERS.get(command, b"") + tag.encode() + b" OK done\r\n")
                if command == "STARTTLS" and self.slow == "handshake":
                    self._trickle(conn, TRICKLED["handshake"])
                    return
                if command == "STARTTLS":
                    lines.close()
                    conn = self._secured(conn)
                    lines = conn.makefile("rb")
                if command == "LOGOUT":
                    return
        except OSError:
            pass  # the client hung up
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def trickling(tmp_path: Path) -> Iterator[Any]:
    """Starts a :class:`TricklingImap`; with TLS, its certificate is trusted as a company's CA
    would be (OpenSSL's ``SSL_CERT_FILE``)."""
    servers: list[TricklingImap] = []
    ca, cert, key = certificates(tmp_path / "tls")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def start(slow: str, encryption: str = "none") -> TricklingImap:
        servers.append(TricklingImap(slow, encryption, tls))
        return servers[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(ca))
        yield start
    for server in servers:
        server.close()


@pytest.fixture
def one_second_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection test's 20 s, and a sync's 60 s to log in and 270 s in all, made 1 s."""
    from chalicelib.records.mailboxes import accounts, sync

    monkeypatch.setattr(accounts, "TEST_SECONDS", 1.0, raising=False)
    monkeypatch.setattr(sync, "LOGIN_SECONDS", 1.0, raising=False)
    monkeypatch.setattr(sync, "SESSION_SECONDS", 1.0, raising=False)


def point_at(api: Client, headers: dict[str, str], port: int, user: str, encryption: str = "none") -> str:
    """A mailbox on a loopback port, with its password; its id."""
    settings = {"host": "127.0.0.1", "port": port, "encryption": encryption, "username": user}
    added = body(api.http.post("/mailboxes", headers=headers, body=json.dumps(settings)))
    path = f"/mailboxes/{added['mailbox_id']}"
    password = json.dumps({"password": MAIL_USERS[user]})
    assert api.http.put(f"{path}/password", headers=headers, body=password).status_code == 204
    return str(added["mailbox_id"])


@pytest.mark.usefixtures("one_second_deadlines")
@pytest.mark.parametrize(
    ("encryption", "slow"),
    [
        ("none", "greeting"),
        ("none", "EXAMINE"),
        ("tls", "greeting"),
        ("starttls", "handshake"),
        ("starttls", "EXAMINE"),
    ],
)
def test_a_server_trickling_its_answer_gets_the_connection_test_a_timeout_within_its_deadline(
    api: Client, tenant: Tenant, trickling: Any, encryption: str, slow: str
) -> None:
    # Given a mailbox on a server that trickles its greeting (over TLS too), its TLS handshake
    # after STARTTLS or the folder's answer (before or after STARTTLS) a byte at a time, for ever;
    # the test's 20 s made 1 s
    server = trickling(slow, encryption)
    admin = tenant.admin_headers()
    mailbox_id = point_at(api, admin, server.port, OFICINA, encryption)

    # When the mailbox is tested
    started = time.monotonic()
    response = api.http.post(f"/mailboxes/{mailbox_id}/test", headers=admin)

    # Then the answer says it timed out, soon after the deadline (never API Gateway's 504)
    assert time.monotonic() - started < IN_TIME
    assert response.status_code == 200
    assert body(response) == {"ok": False, "answer": TIMEOUT, "folders": {}}


@pytest.mark.usefixtures("one_second_deadlines")
@pytest.mark.parametrize("slow", ["greeting", "FETCH"])
def test_a_server_trickling_its_answer_ends_its_mailboxs_sync_at_the_deadline_and_no_other(
    api: Client, tenant: Tenant, imap_server: Dovecot, trickling: Any, slow: str
) -> None:
    # Given the office's mailbox on a server that logs in and then trickles its messages' headers
    # (or that trickles its greeting), and Ana's mailbox on a working server; deadlines of 1 s
    office_clients(api, tenant)
    imap_server.append(ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, "Sigo aquí")])
    admin = tenant.admin_headers()
    hostile = point_at(api, admin, trickling(slow).port, OFICINA)
    working = add_mailbox(api, admin, imap_server, ANA, visibility="public", folders=["INBOX"])

    # When every mailbox is synced (one job each)
    started = time.monotonic()
    queued = body(api.http.post("/mailboxes/sync", headers=admin))["queued"]
    run_syncs()

    # Then the hostile one's sync ended at its deadline, saying so, and the working one is logged
    assert time.monotonic() - started < IN_TIME
    assert sorted(queued) == sorted([hostile, working["mailbox_id"]])
    shown = monitor(api, admin, hostile)
    assert shown["last_error"] == TIMEOUT and shown["last_sync_at"]
    assert monitor(api, admin, working["mailbox_id"])["last_error"] is None
    assert [r["subject"] for r in register_seen(api, admin, "CLI-3")] == ["Sigo aquí"]


@pytest.mark.parametrize("huge", ["literal", "lines"])
def test_a_server_answering_far_more_than_asked_ends_its_mailboxs_sync_without_filling_memory(
    api: Client, tenant: Tenant, trickling: Any, huge: str
) -> None:
    import tracemalloc

    # Given the office's mailbox on a server that answers the headers' FETCH with a literal it
    # announces at 4 GB, or with lines of 900 kB that never end
    office_clients(api, tenant)
    admin = tenant.admin_headers()
    hostile = point_at(api, admin, trickling(huge).port, OFICINA)

    # When the mailbox is synced
    tracemalloc.start()
    try:
        api.http.post(f"/mailboxes/{hostile}/sync", headers=admin)
        run_syncs()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then its sync ended saying the answer was too large, having held far less than 4 GB
    shown = monitor(api, admin, hostile)["last_error"]
    assert shown == "INBOX: the IMAP server's answer is larger than 48 MB"
    assert peak < 200 * 1024 * 1024
