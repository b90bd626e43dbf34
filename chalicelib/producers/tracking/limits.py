"""Limits on what anonymous callers of a company's tracking site may ask (T1, T3).

Nobody signs in on the public routes, so each kind of request is counted in fixed windows by
Pregón's one limiter (``store.rate_limits``: ``Limit``, ``count``): within one company, and the
ones that cost a stranger nothing to repeat across every company too, so that a caller cannot
multiply a limit by the number of tenants (a victim's address asked for at a hundred carriers;
one host enumerating tracking ids on every company's site).
"""

from __future__ import annotations

import ipaddress

from chalicelib.core.errors import TooManyRequests
from chalicelib.store.rate_limits import Limit, count

#: The scope of a limit counted across all companies (no company id is ``*``).
EVERY_COMPANY = "*"

# Subscribe requests (T3): per client (every request), per parcel and per address (each
# confirmation e-mail sent), within one company; per client and per address across companies.
SUBSCRIBE_PER_CLIENT = Limit("ip", 20, 3600)
SUBSCRIBE_PER_PARCEL = Limit("parcel", 10, 3600)
CONFIRMATIONS_PER_ADDRESS = Limit("address", 3, 86400)
SUBSCRIBE_PER_CLIENT_ANYWHERE = Limit("ip", 60, 3600)
CONFIRMATIONS_PER_ADDRESS_ANYWHERE = Limit("address", 10, 86400)
# A phone for SMS alerts is not verified (whoever confirms an e-mail address may give any), so
# the subscriptions asked for with one phone are counted too: within a company and across them.
SUBSCRIPTIONS_PER_PHONE = Limit("phone", 3, 86400)
SUBSCRIPTIONS_PER_PHONE_ANYWHERE = Limit("phone", 5, 86400)
# Parcel look-ups (T1), found or not, as JSON or as the tracking page, across companies: a
# person looks up a handful, a script walking through tracking ids thousands.
LOOKUPS_PER_CLIENT_ANYWHERE = Limit("lookup", 300, 3600)
# An IPv6 client's site, its /48 (session 35): a /48 holds 65,536 /64s, and one is what a
# tunnel broker gives away and many hosts and offices are given, so a script could take each
# request from another /64 and pass every per-client limit above. A site may make five times
# what one client may (an office's few networks), as IPv4 clients behind one NAT share one.
SITE_CLIENTS = 5
SUBSCRIBE_PER_SITE = Limit("site", SUBSCRIBE_PER_CLIENT.count * SITE_CLIENTS, 3600)
SUBSCRIBE_PER_SITE_ANYWHERE = Limit("site", SUBSCRIBE_PER_CLIENT_ANYWHERE.count * SITE_CLIENTS, 3600)
LOOKUPS_PER_SITE_ANYWHERE = Limit("lookup-site", LOOKUPS_PER_CLIENT_ANYWHERE.count * SITE_CLIENTS, 3600)


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The caller's address; an IPv6 one that carries an IPv4 address (IPv4-mapped, 6to4,
    Teredo's client) as that IPv4 address: each IPv4 address owns a whole 6to4 /48."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return embedded
    return address


def client_of(ip: str | None) -> str:
    """The key a per-client limit counts a caller by: its IPv4 address, or the /64 network of an
    IPv6 one (a home or a host is given a whole /64 and may send each request from another
    address of it)."""
    address = _address(ip)
    if address is None:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def site_of(ip: str | None) -> str | None:
    """The key a per-site limit counts an IPv6 caller by: its /48 network; None for an IPv4
    caller (its address is its client and its site)."""
    address = _address(ip)
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    return str(ipaddress.IPv6Network((address, 48), strict=False))


def count_subscribe_request(company_id: str, client_ip: str | None) -> None:
    """Every public subscribe request, by its client and, on IPv6, its site: in the company and
    across companies."""
    client = client_of(client_ip)
    count(company_id, SUBSCRIBE_PER_CLIENT, client, "too many requests from this address")
    count(EVERY_COMPANY, SUBSCRIBE_PER_CLIENT_ANYWHERE, client, "too many requests from this address")
    site = site_of(client_ip)
    if site is not None:
        count(company_id, SUBSCRIBE_PER_SITE, site, "too many requests from this network")
        count(EVERY_COMPANY, SUBSCRIBE_PER_SITE_ANYWHERE, site, "too many requests from this network")


def confirmations_per_company() -> Limit:
    """Confirmation e-mails one company's public tracking site may send in a UTC day, whoever asks
    (``PREGON_PUBLIC_CONFIRMATIONS_PER_DAY``): the per-client limits bound one caller, not a
    botnet of many IPv4 addresses, and every confirmation is mail from the company's account."""
    from chalicelib.core.settings import get_settings

    return Limit("confirmations", get_settings().public_confirmations_per_day, 86400)


#: What a caller is told once the company's day of confirmations is used up.
COMPANY_CONFIRMATIONS_USED_UP = (
    "this company's tracking site has sent all the confirmation e-mails it may send today (a UTC day)"
)


def count_confirmation(company_id: str, tracking_id: str, email: str) -> None:
    """A confirmation e-mail about to be sent: per parcel, and per mailbox in the company and
    across companies (every ``+tag`` of an address, every Gmail spelling of one, is one mailbox);
    then in the company's day of confirmations, whoever asks (its refusals count the operator's
    metric ``PublicConfirmationsCapped``)."""
    from chalicelib.core.emails import mailbox_key

    count(company_id, SUBSCRIBE_PER_PARCEL, tracking_id, "too many subscriptions asked for this parcel")
    address = mailbox_key(email)
    message = "too many confirmations sent to this address"
    count(company_id, CONFIRMATIONS_PER_ADDRESS, address, message)
    count(EVERY_COMPANY, CONFIRMATIONS_PER_ADDRESS_ANYWHERE, address, message)
    try:
        count(company_id, confirmations_per_company(), company_id, COMPANY_CONFIRMATIONS_USED_UP)
    except TooManyRequests:
        from chalicelib.core.observability import logger, metrics

        metrics().add_metric(name="PublicConfirmationsCapped", unit="Count", value=1)
        logger().warning(
            "public confirmation refused: the company's confirmations of the day are used up",
            extra={"company_id": company_id},
        )
        raise


def count_phone(company_id: str, phone: str) -> None:
    """A public subscription asked for with ``phone`` (E.164) for SMS alerts: 429 naming
    ``phone`` past the limits, so nobody can sign a stranger's phone up for parcel after parcel."""
    message = "too many subscriptions asked for with this phone number"
    count(company_id, SUBSCRIPTIONS_PER_PHONE, phone, message, field="phone")
    count(EVERY_COMPANY, SUBSCRIPTIONS_PER_PHONE_ANYWHERE, phone, message, field="phone")


def count_lookup(client_ip: str | None) -> None:
    """A public parcel look-up, by its client and, on IPv6, its site, across companies."""
    client = client_of(client_ip)
    count(EVERY_COMPANY, LOOKUPS_PER_CLIENT_ANYWHERE, client, "too many look-ups from this address")
    site = site_of(client_ip)
    if site is not None:
        count(EVERY_COMPANY, LOOKUPS_PER_SITE_ANYWHERE, site, "too many look-ups from this network")
