"""How long a company's server may keep one send: a deadline over all its reads and writes.

A socket's ``timeout`` bounds one wait. A server that trickles a byte every 19 seconds never trips
a 20-second timeout, and could hold a send (and the outbox's claim on the message) for hours. A
``Deadline`` bounds every wait of one exchange together: each read or write waits at most what is
left of it, and once it has passed the next one raises ``SendTimedOut`` (a ``TimeoutError``, so an
``OSError`` as the channels expect of a connection's failures):

    deadline = Deadline(30)
    replies = io.BufferedReader(DeadlineReader(sock, deadline))    # each read waits what is left
    send_all(sock, data, deadline)                                   # so does each write

A TLS socket works the same: its reads and writes (and its handshake) wait at most the socket's
timeout each, which is set to what is left before each of them.

A deadline may also bound each wait on its own (``Deadline(270, wait=20)``: IMAP's socket timeout),
so a server that stops answering fails at once with the socket's own ``TimeoutError``, and only
one that keeps trickling runs into the deadline.
"""

from __future__ import annotations

import io
import socket
import time

# Each write goes in pieces of at most this many bytes (one TLS record), so a server reading slowly
# is checked against the deadline between pieces.
_PIECE = 16 * 1024


class SendTimedOut(TimeoutError):
    """The exchange's deadline passed before the server finished answering or reading."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the server did not finish within {seconds:g} s")
        self.seconds = seconds


class Deadline:
    """A moment ``seconds`` from now (monotonic clock); ``wait``, when given, bounds each wait too."""

    def __init__(self, seconds: float, *, wait: float | None = None) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.wait = wait

    def left(self) -> float:
        """Seconds left; raises ``SendTimedOut`` once none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise SendTimedOut(self.seconds)
        return left

    def passed(self) -> bool:
        return time.monotonic() >= self.at

    def next_wait(self) -> float:
        """The next wait's timeout: what is left, or ``wait`` when that is shorter."""
        left = self.left()
        return left if self.wait is None else min(left, self.wait)

    def timed_out(self) -> SendTimedOut | None:
        """After a wait timed out: ``SendTimedOut`` when it was the deadline's, None when it was
        only the one wait's (``wait``), for the socket's own ``TimeoutError`` to go on."""
        if self.wait is None or self.passed():
            return SendTimedOut(self.seconds)
        return None


class DeadlineReader(io.RawIOBase):
    """A socket's reading side in which every read waits at most until ``deadline`` (replace the
    attribute to start a new exchange on the same connection)."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        self.sock.settimeout(self.deadline.next_wait())
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            if (timed_out := self.deadline.timed_out()) is None:
                raise
            raise timed_out from None


def send_all(sock: socket.socket, data: bytes, deadline: Deadline) -> None:
    """``sock.sendall(data)``, every piece waiting at most until ``deadline``."""
    view = memoryview(data)
    for start in range(0, len(view), _PIECE):
        sock.settimeout(deadline.next_wait())
        try:
            sock.sendall(view[start : start + _PIECE])
        except TimeoutError:
            if (timed_out := deadline.timed_out()) is None:
                raise
            raise timed_out from None
