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
    """A moment ``seconds`` from now (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; raises ``SendTimedOut`` once none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise SendTimedOut(self.seconds)
        return left

    def passed(self) -> bool:
        return time.monotonic() >= self.at


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
        self.sock.settimeout(self.deadline.left())
        try:
            return self.sock.recv_into(buffer)
        except TimeoutError:
            raise SendTimedOut(self.deadline.seconds) from None


def send_all(sock: socket.socket, data: bytes, deadline: Deadline) -> None:
    """``sock.sendall(data)``, every piece waiting at most until ``deadline``."""
    view = memoryview(data)
    for start in range(0, len(view), _PIECE):
        sock.settimeout(deadline.left())
        try:
            sock.sendall(view[start : start + _PIECE])
        except TimeoutError:
            raise SendTimedOut(deadline.seconds) from None
