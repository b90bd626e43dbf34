"""Where Pregón may connect on a company's behalf: public addresses only (SPEC Q7).

A company names its SMTP server and its SMS gateway, and Pregón connects there from inside AWS.
Without a check, ``169.254.169.254`` (the instance metadata), ``10.x`` (the VPC) or ``127.0.0.1``
(the Lambda's own runtime; locally DynamoDB Local and moto) would be reachable through the test
answers. So every destination is resolved, and each address it resolves to must be public:

    host_problem("smtp.gmail.com", 587)                     # None: fine
    host_problem("10.0.0.5", 25)                            # "10.0.0.5 is a private address; ..."
    connect_checked("smtp.gmail.com", 587, timeout=20)      # a socket to the address that was checked
    connect_checked("smtp.gmail.com", 587, Deadline(20))    # the same, all its addresses within 20 s

* Refused: loopback, private (RFC 1918, unique-local, site-local), link-local, shared (100.64/10),
  multicast, reserved, unspecified and every other non-global address, also inside IPv4-mapped and
  6to4 IPv6.
* ``PREGON_ALLOW_LOOPBACK_DESTINATIONS=1`` allows loopback only (the local stack and the tests run
  their SMTP servers and SMS gateway on 127.0.0.1); private and link-local stay refused.
* Names are checked when saved (a clear 4xx) and again when connecting, and the connection goes to
  the very address that was checked, so a DNS answer that changes in between (rebinding) cannot
  send the connection somewhere else.
"""

from __future__ import annotations

import ipaddress
import re
import socket

from chalicelib.channels.deadlines import Deadline

# RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def resolve_checked(host: str, port: int) -> list[IpAddress]:
    """The addresses ``host`` resolves to, when every one of them may be connected to; raise
    ``DestinationRefused`` otherwise (one bad address refuses the name: it could be picked)."""
    if not is_host_name_or_address(host):
        raise DestinationRefused(f"{host!r} is not a host name")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"{host} cannot be resolved", unresolved=True) from exc
    try:
        literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
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
    accepted (its DNS may come later); it is checked again on every connection."""
    try:
        resolve_checked(host, port)
    except DestinationRefused as exc:
        return None if exc.unresolved else exc.reason
    return None


def connect_checked(host: str, port: int, timeout: float | Deadline | None) -> socket.socket:
    """A TCP connection to one of the checked addresses of ``host`` (never re-resolved). Each
    address is tried for ``timeout`` seconds, or, given a ``Deadline``, for what is left of it: a
    name with several unreachable addresses cannot hold the connecting longer (``SendTimedOut``)."""
    last: OSError | None = None
    for address in resolve_checked(host, port):
        wait = timeout.left() if isinstance(timeout, Deadline) else timeout
        try:
            return socket.create_connection((str(address), port), wait)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last
