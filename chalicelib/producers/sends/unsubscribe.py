"""Unsubscribing from manual and bulk sends (C8, Q5): the ``List-Unsubscribe`` of those e-mails.

Every manual or bulk e-mail carries ``List-Unsubscribe:
<…/public/manual-sends/unsubscribe?token=…>`` and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 2369, RFC 8058). The token is signed (HS256 with the link signing
key; a key a rotation replaced still verifies it, so links already sent keep working) and names the
company, the client and the channel ``manual`` — a tracking alert's token does not work here, nor
this one there. Opening the link shows a confirmation page (mail scanners follow links: a GET
changes nothing); the page's button, or the mail provider's one-click POST, turns off that client's
manual sends. Later manual and bulk sends skip the client (counted as skipped); event messages and
tracking alerts are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core import clock
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.links import (
    MANUAL_CHANNEL,
    MANUAL_UNSUBSCRIBE_PATH,
    verified_link_claims,
)
from chalicelib.core.settings import get_settings
from chalicelib.store import clients as client_store


@dataclass(frozen=True)
class ManualUnsubscribe:
    company_id: str
    client_id: str


def read_token(token: str) -> ManualUnsubscribe:
    """What a link names; a tampered token, or one made for another channel, is refused (422)."""
    import jwt

    try:
        claims = verified_link_claims(token, {"require": ["c", "k", "ch"]})
    except jwt.PyJWTError as exc:
        raise ValidationFailed([{"field": "token", "message": "this link is not valid"}]) from exc
    if claims["ch"] != MANUAL_CHANNEL:
        raise ValidationFailed([{"field": "token", "message": "this link is not valid"}])
    found = ManualUnsubscribe(str(claims["c"]), str(claims["k"]))
    if client_store.get_client(found.company_id, found.client_id) is None:
        raise NotFound("this client no longer exists")
    return found


def unsubscribe(token: str) -> ManualUnsubscribe:
    """Turn off the manual sends of the client a link names (asking again changes nothing)."""
    found = read_token(token)
    state = client_store.turn_off_manual_sends(found.company_id, found.client_id, clock.now())
    if state is None:
        raise NotFound("this client no longer exists")
    off_at, told = state
    if told:  # the link used again: nothing happened that the company's systems do not know
        return found
    from chalicelib.messaging.webhooks.service import announce_or_try_later, stable_event_id

    # Told until the queue takes it (a 503 asks the client to try again), under one id for this
    # unsubscribe, so a receiver told twice (two clicks at once) sees one event.
    announce_or_try_later(
        found.company_id,
        "client.unsubscribed",
        client_id=found.client_id,
        channel="email",
        event_id=stable_event_id(
            found.company_id, "client.unsubscribed", "email", found.client_id, off_at.isoformat()
        ),
    )
    client_store.manual_sends_off_told(found.company_id, found.client_id)
    return found


def _page(name: str, company_id: str, language: str | None, variables: dict[str, str]) -> str:
    """A page of the link (/public/manual-sends/unsubscribe) in ``language`` (the browser's, when
    it names one Pregón writes) or else the company's, in the company's look (W3)."""
    from chalicelib.messaging.sandbox import render_page
    from chalicelib.store.companies import get_company
    from chalicelib.tenants.branding import page_brand

    company = get_company(company_id)
    shown = {"company_name": company.name if company else "", "brand": page_brand(company, "../../")}
    return render_page(name, language or (company.language if company else "es"), {**shown, **variables})


def confirmation_page(token: str, language: str | None = None) -> str:
    """The page a GET shows: what will stop, and a button that POSTs the same link."""
    found = read_token(token)
    action = f"{get_settings().public_base_url}{MANUAL_UNSUBSCRIBE_PATH}?token={token}"
    return _page("manual_unsubscribe", found.company_id, language, {"action": action})


def done_page(found: ManualUnsubscribe, language: str | None = None) -> str:
    return _page("manual_unsubscribed", found.company_id, language, {})
