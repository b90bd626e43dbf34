"""Where Pregón may connect on a company's behalf: public addresses only (SPEC Q7).

A company names its SMTP server and its SMS gateway, and Pregón connects there from inside AWS.
Without a check, ``169.254.169.254`` (the instance metadata), ``10.x`` (the VPC) or ``127.0.0.1``
(the Lambda's own runtime; locally DynamoDB Local and moto) would be reachable through the test
answers. So every destination is resolved, and each address it resolves to must be public:

    host_problem("smtp.gmail.com", 587)                     # None: fine
    host_problem("10.0.0.5", 25)                            # "10.0.0.5 is a private address; ..."
    connect_checked("smtp.gmail.com", 587, timeout=20)      # a socket to the address that was checked
    connect_checked("smtp.gmail.com", 587, Deadline(20))    # the same: its lookup and addresses within 20 s
    with http_exchange("https", "api.sms-gate.app", 443, Deadline(15)) as connection:
        ...                                                 # one HTTP request, all of it within 15 s

* Refused: loopback, private (RFC 1918, unique-local, site-local), link-local, shared (100.64/10),
  multicast, reserved, unspecified and every other non-global address, also inside IPv4-mapped and
  6to4 IPv6.
* ``PREGON_ALLOW_LOOPBACK_DESTINATIONS=1`` allows loopback only (the local stack and the tests run
  their SMTP servers and SMS gateway on 127.0.0.1); private and link-local stay refused.
* Names are checked when saved (a clear 4xx) and again when connecting, and the connection goes to
  the very address that was checked, so a DNS answer that changes in between (rebinding) cannot
  send the connection somewhere else.
* The lookup itself is bounded: given a timeout or a ``Deadline``, a name whose DNS answers slowly
  (a company chooses its host, and a hostile one controls its DNS) fails when that is up, as a
  connection that did not answer would, instead of holding the caller for as long as the resolver
  retries. ``getaddrinfo`` cannot be interrupted, so it runs on one of a few threads
  (:data:`LOOKUP_THREADS`) and the caller stops waiting for it.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import queue
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.channels.base import ANSWER_WITHIN_SECONDS
from chalicelib.channels.deadlines import Deadline, DeadlineReader, send_all

# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressInfo = list[tuple[Any, ...]]

#: Host-name lookups running at once. A lookup whose caller stopped waiting still holds its thread
#: until the resolver gives up; past this many, a lookup waits for a thread (within its own bound),
#: so a flood of names whose DNS never answers cannot start more threads than this.
LOOKUP_THREADS = 8
#: Saving an SMTP host or an SMS gateway looks its name up within this (before API Gateway gives
#: up on the call); a name not looked up by then is taken as one that does not resolve yet.
SAVE_LOOKUP_SECONDS = float(ANSWER_WITHIN_SECONDS)


class DestinationRefused(OSError):
    """A destination that is not a public address (or does not resolve). An ``OSError`` so that
    the channels treat it like any other connection failure; ``reason`` is short and safe to show."""

    def __init__(self, reason: str, *, unresolved: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unresolved = unresolved

    def __str__(self) -> str:
        return self.reason


def is_host_name_or_address(host: str) -> bool:
    """A host name (RFC 1123) or an IP address literal: no spaces, CR/LF, ports or paths."""
    if _HOST_NAME.match(host):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _why_refused(address: IpAddress) -> str | None:
    """Why Pregón does not connect to ``address``; None for a public address."""
    from chalicelib.core.settings import allow_loopback_destinations

    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:  # fec0::/10: deprecated, but still a network's own (RFC 3879)
            return "a private address"
        # An IPv4 address inside IPv6 (::ffff:a.b.c.d, or 6to4's 2002:aabb:ccdd::/48) is judged
        # as that IPv4 address: 6to4 of 169.254.169.254 is no more public than it is.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            address = embedded
    if address.is_loopback:
        return None if allow_loopback_destinations() else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


class _Lookup:
    """One ``getaddrinfo`` call, run by :class:`_Lookups`; ``done`` is set when it has answered."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.done = threading.Event()
        self.abandoned = False  # its caller stopped waiting: not started if it has not been yet
        self.infos: AddressInfo = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except BaseException as exc:  # handed to the caller, which raises it
            self.error = exc
        self.done.set()


class _Lookups:
    """At most :data:`LOOKUP_THREADS` daemon threads, started as lookups come and then kept, taking
    lookups from one queue. (``ThreadPoolExecutor``'s threads are not daemons: the interpreter
    waits for them at exit, and a lookup that never ends would hold it.)"""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Lookup] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0

    def start(self, host: str, port: int) -> _Lookup:
        lookup = _Lookup(host, port)
        self._queue.put(lookup)
        with self._lock:
            if self._threads < LOOKUP_THREADS:
                self._threads += 1
                threading.Thread(target=self._work, name="pregon-lookups", daemon=True).start()
        return lookup

    def _work(self) -> None:
        while True:
            lookup = self._queue.get()
            if not lookup.abandoned:
                lookup.run()


_lookups = _Lookups()


def _address_info(host: str, port: int, within: float | Deadline | None) -> AddressInfo:
    """``getaddrinfo`` for a TCP connection, ending within ``within`` (seconds, or what is left of
    a ``Deadline`` and within its ``wait``); past it ``SendTimedOut`` (the deadline's) or
    ``TimeoutError`` (a wait's), as a connection that did not answer would raise."""
    if within is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    wait = within.next_wait() if isinstance(within, Deadline) else within
    lookup = _lookups.start(host, port)
    if not lookup.done.wait(wait):
        lookup.abandoned = True
        timed_out = within.timed_out() if isinstance(within, Deadline) else None
        raise timed_out or TimeoutError(f"the lookup of {host} did not finish within {wait:g} s")
    if lookup.error is not None:
        raise lookup.error
    return lookup.infos


def resolve_checked(host: str, port: int, within: float | Deadline | None = None) -> list[IpAddress]:
    """The addresses ``host`` resolves to, when every one of them may be connected to; raise
    ``DestinationRefused`` otherwise (one bad address refuses the name: it could be picked).
    Given ``within``, the lookup ends by then (``TimeoutError`` otherwise: ``_address_info``)."""
    if not is_host_name_or_address(host):
        raise DestinationRefused(f"{host!r} is not a host name")
    try:
        literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    # An address is judged as written, before any lookup: one that does not resolve (a link-local
    # address with a zone no interface has, fe80::1%25eth0) must not pass as a name without DNS yet.
    refused = _why_refused(literal) if literal is not None else None
    if refused:
        raise DestinationRefused(f"{host.strip('[]')} is {refused}; Pregón connects only to public addresses")
    try:  # an address needs no lookup: getaddrinfo answers it at once, on this thread
        infos = _address_info(host.strip("[]"), port, None if literal is not None else within)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"{host} cannot be resolved", unresolved=True) from exc
    addresses: list[IpAddress] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        reason = _why_refused(address)
        if reason:
            shown = host if address == literal else f"{host} ({address})"
            raise DestinationRefused(f"{shown} is {reason}; Pregón connects only to public addresses")
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise DestinationRefused(f"{host} cannot be resolved", unresolved=True)
    return addresses


def host_problem(host: str, port: int) -> str | None:
    """For saving: why ``host`` can never be a destination (not a host name, or an address or a
    name resolving to one that is not public), else None. A name that does not resolve yet is
    accepted (its DNS may come later), and so is one whose lookup takes longer than
    :data:`SAVE_LOOKUP_SECONDS`; it is checked again on every connection."""
    try:
        resolve_checked(host, port, SAVE_LOOKUP_SECONDS)
    except DestinationRefused as exc:
        return None if exc.unresolved else exc.reason
    except TimeoutError:
        return None
    return None


def connect_checked(host: str, port: int, timeout: float | Deadline | None) -> socket.socket:
    """A TCP connection to one of the checked addresses of ``host`` (never re-resolved). The
    lookup and each address are given ``timeout`` seconds, or, given a ``Deadline``, what is left
    of it (and at most its ``wait``): a name whose DNS answers slowly, or with several unreachable
    addresses, cannot hold the connecting longer (``SendTimedOut``)."""
    last: OSError | None = None
    for address in resolve_checked(host, port, timeout):
        wait = timeout.next_wait() if isinstance(timeout, Deadline) else timeout
        try:
            return socket.create_connection((str(address), port), wait)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


@contextmanager
def http_exchange(
    scheme: str, host: str, port: int, deadline: Deadline
) -> Iterator[http.client.HTTPConnection]:
    """An ``http.client`` connection to a checked address of ``host`` (HTTPS verifying the
    certificate against the host name) in which everything ends by ``deadline`` together: the
    lookup, connecting, the TLS handshake, writing the request and reading its status line, headers
    and body. No proxy, no redirect followed; the socket is closed on leaving, and the connection
    opens no other."""
    sock = connect_checked(host, port, deadline)
    try:
        connection: http.client.HTTPConnection
        if scheme == "https":
            tls = ssl.create_default_context()
            sock.settimeout(deadline.next_wait())  # the whole handshake waits at most this long
            sock = tls.wrap_socket(sock, server_hostname=host)
            connection = http.client.HTTPSConnection(host, port, context=tls)
        else:
            connection = http.client.HTTPConnection(host, port)
        connection.sock = _DeadlineSocket(sock, deadline)
        connection.auto_open = 0
        yield connection
    finally:
        sock.close()


class _DeadlineSocket:
    """The socket ``http.client`` is given: it writes with ``sendall`` and reads the answer through
    ``makefile``, and here each write and each read waits at most what is left of ``deadline``
    (a server trickling a byte every few seconds trips no socket timeout, but runs out of this).

    ``http.client`` closes its socket as soon as the headers say the server will close, and reads
    the body after; so ``close`` leaves the socket open, for ``http_exchange`` to close at the end.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        send_all(self._sock, data, self._deadline)

    def makefile(self, mode: str = "rb", *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(DeadlineReader(self._sock, self._deadline))

    def close(self) -> None:
        return None
