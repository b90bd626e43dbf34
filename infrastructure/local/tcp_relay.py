"""A TCP relay on this machine in front of a local server, for tests and benchmarks that look at
the wire: it writes down every chunk each side sent, in the order they were read, and can hold
each one for a while before passing it on, as a network's latency would.

    relay = TcpRelay(server_port, one_way=0.005)  # 10 ms round trips
    ...connect to 127.0.0.1:relay.port...
    relay.client_turns()  # what the client wrote between two answers of the server
    relay.close()
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from contextlib import suppress


class TcpRelay:
    """Relays every connection made to ``port`` to ``127.0.0.1:target_port``. ``chunks`` holds
    (``"C"`` for the client or ``"S"`` for the server, bytes) in the order they were read; each
    chunk reaches the other side ``one_way`` seconds after it was read, however many are on the
    way (a link's latency, not its bandwidth)."""

    def __init__(self, target_port: int, one_way: float = 0.0) -> None:
        self.chunks: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._target = target_port
        self._delay = one_way
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target))
            for end in (client, server):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._carry(client, server, "C")
            self._carry(server, client, "S")

    def _carry(self, source: socket.socket, sink: socket.socket, side: str) -> None:
        on_the_way: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            with suppress(OSError):
                while chunk := source.recv(65536):
                    with self._lock:
                        self.chunks.append((side, chunk))
                    on_the_way.put((time.monotonic() + self._delay, chunk))
            on_the_way.put((0.0, b""))

        def deliver() -> None:
            while True:
                due, chunk = on_the_way.get()
                if not chunk:
                    with suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    sink.sendall(chunk)
                except OSError:
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=deliver, daemon=True).start()

    def client_turns(self) -> list[bytes]:
        """What the client wrote between two answers of the server, each turn joined."""
        turns: list[bytes] = []
        last = ""
        with self._lock:
            for side, chunk in self.chunks:
                if side == "C":
                    if last == "C":
                        turns[-1] += chunk
                    else:
                        turns.append(chunk)
                last = side
        return turns

    def close(self) -> None:
        self._listener.close()
