"""An account's SMTP server is the company's choice: one that misbehaves in ways aiosmtpd cannot
(a reply that never ends, a refusal followed by a dropped connection) is played here by a raw
socket, and the worker must neither fill its memory nor report a refusal as a passing outage."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress

import pytest

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.core.errors import DeliveryFailed
from tests.steps.channels import GIVE_UP, LATE
from tests.steps.tenants import local_smtp_channel, tracking_alert

pytestmark = pytest.mark.usefixtures("loopback_destinations")

Script = Callable[[socket.socket], None]


@pytest.fixture
def loopback_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The account's server is on this machine."""
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")


class RawServer:
    """One connection on a loopback port, answered by ``script``; what the client wrote is kept.
    ``stopped`` is set when the test ends, for a script that holds the connection."""

    def __init__(self, script: Script) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.stopped = threading.Event()
        self._script = script
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        with conn, suppress(OSError):  # the client hung up
            self._script(conn)

    def close(self) -> None:
        self.stopped.set()
        self._listener.close()
        self._thread.join(timeout=10)


def read_until(conn: socket.socket, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        chunk = conn.recv(65536)
        if not chunk:
            break
        seen += chunk
    return seen


def greeted(conn: socket.socket) -> None:
    """Greeting and an EHLO answer that offers PIPELINING."""
    conn.sendall(b"220 relay.cargasdelsur.example ESMTP\r\n")
    read_until(conn, b"\r\n")
    conn.sendall(b"250-relay.cargasdelsur.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")


@pytest.fixture
def serving() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def start(script: Script) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_a_server_whose_reply_never_ends_fails_the_message_instead_of_filling_memory(
    serving: Callable[[Script], RawServer],
) -> None:
    # Given a server that answers the envelope with continuation lines that go on (here 100 000 of
    # them, then an acceptance, where a hostile one would never stop)
    def endless(conn: socket.socket) -> None:
        greeted(conn)
        read_until(conn, b"DATA\r\n")
        line = b"250-" + b"x" * 60 + b"\r\n"
        for _ in range(1000):
            conn.sendall(line * 100)
        conn.sendall(b"250 OK\r\n250 OK\r\n354 go on\r\n")
        read_until(conn, b"\r\n.\r\n")
        conn.sendall(b"250 queued\r\n")

    server = serving(endless)
    channel = local_smtp_channel(server.port, login=False)
    # When the outbox sends an alert
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(channel.prepare(tracking_alert()))
    channel.close()
    # Then the message fails, saying the reply was too long, without the rest being read
    assert "a reply of more than" in failed.value.message


def test_a_sender_refused_by_a_server_that_then_hangs_up_fails_for_good(
    serving: Callable[[Script], RawServer],
) -> None:
    # Given a server that refuses the sender for good and closes the connection without answering
    # the rest of the envelope (as smtplib, sending one command at a time, would have seen it)
    def refuse_and_hang_up(conn: socket.socket) -> None:
        greeted(conn)
        read_until(conn, b"DATA\r\n")
        conn.sendall(b"550 5.7.1 <avisos@cargasdelsur.example>: sender not allowed\r\n")

    server = serving(refuse_and_hang_up)
    channel = local_smtp_channel(server.port, login=False)
    # When the outbox sends an alert
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(channel.prepare(tracking_alert()))
    channel.close()
    # Then the message fails for good with the server's own words, not as an outage to retry
    assert "550 5.7.1" in failed.value.message
    assert not failed.value.transient


def test_a_recipients_refusal_of_many_long_lines_is_clipped_in_the_messages_error(
    serving: Callable[[Script], RawServer],
) -> None:
    # Given a server that refuses the recipient with a reply of 90 lines of 8 000 characters
    # (720 kB, more than a DynamoDB item holds, where the message's error is written)
    def long_refusal(conn: socket.socket) -> None:
        greeted(conn)
        read_until(conn, b"DATA\r\n")
        conn.sendall(b"250 OK\r\n" + (b"550-" + b"n" * 8000 + b"\r\n") * 89 + b"550 no\r\n503 no\r\n")
        read_until(conn, b"QUIT\r\n")

    server = serving(long_refusal)
    channel = local_smtp_channel(server.port, login=False)
    # When the outbox sends an alert
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(channel.prepare(tracking_alert()))
    channel.close()
    # Then it fails for good, with the server's words clipped as any other refusal's
    assert not failed.value.transient
    assert failed.value.message.startswith("ana@example.com: 550 nnn")
    assert len(failed.value.message) < 400


@pytest.fixture
def short_attempts(monkeypatch: pytest.MonkeyPatch) -> float:
    """One attempt at a message may take 1.5 s here (30 s on AWS)."""
    from chalicelib.channels import smtp

    monkeypatch.setattr(smtp, "ATTEMPT_SECONDS", 1.5)
    return 1.5


PAUSE = 0.25  # between two bytes of a trickled reply: far under any socket's timeout
LONG = int(GIVE_UP / PAUSE)  # characters of a trickled reply's text: it lasts GIVE_UP


def trickle(conn: socket.socket, text: bytes, pause: float = PAUSE) -> None:
    """Write ``text`` a byte at a time: each byte comes well within any socket timeout."""
    for byte in text:
        conn.sendall(bytes([byte]))
        threading.Event().wait(pause)


@pytest.mark.parametrize(
    "stage",
    ["greeting", "ehlo", "envelope", "after the text"],
)
def test_a_server_trickling_its_replies_cannot_hold_a_send_beyond_its_deadline(
    serving: Callable[[Script], RawServer], short_attempts: float, stage: str
) -> None:
    # Given a server that answers one stage of the exchange a byte every quarter second for 30 s
    # (each byte well within a socket timeout: only a deadline over the whole exchange stops it)
    slow_reply = b"250-" + b"x" * LONG + b"\r\n250 OK\r\n"

    def trickling(conn: socket.socket) -> None:
        if stage == "greeting":
            trickle(conn, b"220 " + b"x" * LONG + b"\r\n")
            return
        conn.sendall(b"220 relay.cargasdelsur.example ESMTP\r\n")
        read_until(conn, b"\r\n")
        if stage == "ehlo":
            trickle(conn, slow_reply)
            return
        conn.sendall(b"250-relay.cargasdelsur.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        read_until(conn, b"DATA\r\n")
        if stage == "envelope":
            trickle(conn, slow_reply)
            return
        conn.sendall(b"250 OK\r\n250 OK\r\n354 go on\r\n")
        read_until(conn, b"\r\n.\r\n")
        trickle(conn, slow_reply)

    server = serving(trickling)
    channel = local_smtp_channel(server.port, login=False)
    # When the outbox sends an alert
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(channel.prepare(tracking_alert()))
    took = time.monotonic() - started
    channel.close()
    # Then the send gives up at its deadline (not when the server ends), as an outage to try again
    # later, saying why
    assert failed.value.transient
    assert failed.value.message == f"timeout: the SMTP server did not finish within {short_attempts:g} s"
    assert short_attempts <= took < short_attempts + LATE


def test_a_server_that_stops_reading_the_text_cannot_hold_a_send_beyond_its_deadline(
    serving: Callable[[Script], RawServer], short_attempts: float
) -> None:
    # Given a server that takes the envelope, then reads nothing of a 4 MB message's text (for 30 s)
    def stops_reading(conn: socket.socket) -> None:
        greeted(conn)
        read_until(conn, b"DATA\r\n")
        conn.sendall(b"250 OK\r\n250 OK\r\n354 go on\r\n")
        server.stopped.wait(GIVE_UP)

    server = serving(stops_reading)
    channel = local_smtp_channel(server.port, login=False)
    message = tracking_alert()
    big = OutgoingChannelMessage(
        to_address=message.to_address,
        to_name=message.to_name,
        subject=message.subject,
        text="Detalle de su cuenta.\n" * 200_000,
        message_id=message.message_id,
    )
    # When the outbox sends it
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        channel.send(channel.prepare(big))
    took = time.monotonic() - started
    channel.close()
    # Then the send gives up at its deadline, as an outage to try again later
    assert failed.value.transient
    assert failed.value.message.startswith("timeout: the SMTP server did not finish within")
    assert took < short_attempts + LATE
