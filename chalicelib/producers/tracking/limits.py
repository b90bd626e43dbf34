"""Limits on what anonymous callers of a company's tracking site may ask (T1, T3).

Nobody signs in on the public routes, so each kind of request is counted in fixed windows by
Pregón's one limiter (``store.rate_limits``: ``Limit``, ``count``): within one company, and the
ones that cost a stranger nothing to repeat across every company too, so that a caller cannot
multiply a limit by the number of tenants (a victim's address asked for at a hundred carriers;
one host enumerating tracking ids on every company's site).
"""

from __future__ import annotations

import ipaddress

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


def client_of(ip: str | None) -> str:
    """The key a per-client limit counts a caller by: its IPv4 address, or the /64 network of an
    IPv6 one (a home or a host is given a whole /64 and may send each request from another
    address of it)."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def count_subscribe_request(company_id: str, client_ip: str | None) -> None:
    """Every public subscribe request, by its client: in the company and across companies."""
    client = client_of(client_ip)
    count(company_id, SUBSCRIBE_PER_CLIENT, client, "too many requests from this address")
    count(EVERY_COMPANY, SUBSCRIBE_PER_CLIENT_ANYWHERE, client, "too many requests from this address")


def count_confirmation(company_id: str, tracking_id: str, email: str) -> None:
    """A confirmation e-mail about to be sent: per parcel, and per mailbox in the company and
    across companies (every ``+tag`` of an address, every Gmail spelling of one, is one mailbox)."""
    from chalicelib.core.emails import mailbox_key

    count(company_id, SUBSCRIBE_PER_PARCEL, tracking_id, "too many subscriptions asked for this parcel")
    address = mailbox_key(email)
    message = "too many confirmations sent to this address"
    count(company_id, CONFIRMATIONS_PER_ADDRESS, address, message)
    count(EVERY_COMPANY, CONFIRMATIONS_PER_ADDRESS_ANYWHERE, address, message)


def count_phone(company_id: str, phone: str) -> None:
    """A public subscription asked for with ``phone`` (E.164) for SMS alerts: 429 naming
    ``phone`` past the limits, so nobody can sign a stranger's phone up for parcel after parcel."""
    message = "too many subscriptions asked for with this phone number"
    count(company_id, SUBSCRIPTIONS_PER_PHONE, phone, message, field="phone")
    count(EVERY_COMPANY, SUBSCRIPTIONS_PER_PHONE_ANYWHERE, phone, message, field="phone")


def count_lookup(client_ip: str | None) -> None:
    """A public parcel look-up, by its client, across companies."""
    client = client_of(client_ip)
    count(EVERY_COMPANY, LOOKUPS_PER_CLIENT_ANYWHERE, client, "too many look-ups from this address")
