"""The company's inbound addresses: where clients' replies come back to Pregón (I3).

``<company_id>@<inbound domain>`` (``PREGON_INBOUND_DOMAIN``) receives a company's mail; every
e-mail we send carries ``Reply-To: <company>+r-<communication id>@<inbound domain>`` so that a
reply threads to the message it answers even from a mail program that drops References.
"""

from __future__ import annotations

import re

from chalicelib.core.links import plus_reply_address
from chalicelib.core.settings import get_settings


def inbound_address(company_id: str) -> str:
    """Where a company's clients write to (the sender accounts' Reply-To should point here)."""
    return f"{company_id}@{get_settings().inbound_domain}"


_REPLY_TAG = re.compile(r"^r-([0-9a-f]{24})$", re.IGNORECASE)


def reply_address(company_id: str, communication_id: str, configured: str | None = None) -> str:
    """The Reply-To of an e-mail we send: the company's inbound address, plus-addressed with the
    message's id (``<company>+r-<id>@<inbound domain>``) so that a reply threads even from a mail
    program that drops In-Reply-To/References. A sender account's own ``reply_to`` wins; when that
    is the company's inbound address it is plus-addressed too."""
    if configured and company_of(configured) != company_id.lower():
        return configured
    # a company id over 36 characters: References only
    return plus_reply_address(company_id, communication_id) or inbound_address(company_id)


def reply_tag(address: str) -> tuple[str, str] | None:
    """(company, communication id) of a plus-addressed inbound address (:func:`reply_address`)."""
    company_id = company_of(address)
    local = address.strip().lower().rpartition("@")[0]
    found = _REPLY_TAG.match(local.partition("+")[2])
    return (company_id, found.group(1)) if company_id and found else None


def company_of(address: str) -> str | None:
    """The company an inbound address belongs to (``<company>[+anything]@<inbound domain>``)."""
    local, _, domain = address.strip().lower().rpartition("@")
    if not local or domain != get_settings().inbound_domain:
        return None
    return local.split("+", 1)[0] or None
