"""Register clients and their contacts (the back office pushes them), and read them back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Client, Contact
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.store import clients as store
from chalicelib.store.tables import Check, CheckFailed

MESSAGE_SWITCHES = ("tracking", "invoice", "payment_email", "payment_sms", "ticket", "reminder", "statement")


@dataclass(frozen=True)
class ContactData:
    contact_id: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    wants_cargo_info: bool = False
    receives_reminders: bool = False


def save_client(
    company_id: str,
    client_id: str,
    *,
    name: str,
    emails: list[str],
    phones: list[str],
    contacts: list[ContactData],
    message_switches: dict[str, bool],
    preferred_agent: str | None,
    collection_agent: str | None,
    balance: str | None = None,
    classification: dict[str, str] | None = None,
    if_match: tuple[int, ...] | None = None,
    create_only: bool = False,
) -> Client:
    """Create or replace a client. Every message switch not given is on. ``balance`` is what the
    client owes (a decimal string), quoted by the SMS balance auto-reply (I1). With ``if_match``
    (the versions an ``If-Match`` names), a 412 when the client was saved since (by a clerk or
    the company's system), nothing written; with ``create_only`` (``If-None-Match: *``), a 412
    when there is a client of that code, nothing written."""
    from chalicelib.tenants.companies import phone_region

    # read only when a phone is to be read (here or among the stored client's): most pushes have none
    region = cache(lambda: phone_region(company_id))
    errors: list[dict[str, str]] = []
    stored_phones = [_e164(p, region(), f"phones[{n}]", errors) for n, p in enumerate(phones)]
    contact_phones = [
        _e164(c.phone, region(), f"contacts[{n}].phone", errors) if c.phone else None
        for n, c in enumerate(contacts)
    ]
    if errors:
        raise ValidationFailed(errors)
    switches = {name: True for name in MESSAGE_SWITCHES} | message_switches
    client = Client(
        company_id=company_id,
        client_id=client_id,
        name=name,
        emails=tuple(dict.fromkeys(e.strip() for e in emails)),
        phones=tuple(dict.fromkeys(p for p in stored_phones if p)),
        contacts=tuple(
            Contact(
                c.contact_id,
                c.first_name,
                c.last_name,
                c.email,
                phone,
                c.wants_cargo_info,
                c.receives_reminders,
            )
            for c, phone in zip(contacts, contact_phones, strict=True)
        ),
        message_switches=switches,
        preferred_agent=preferred_agent,
        collection_agent=collection_agent,
        updated_at=clock.now(),
        balance=balance,
        classification=dict(classification or {}),
    )
    return store.save_client(client, phone_region=region, if_match=if_match, create_only=create_only)


def _e164(raw: str, region: str, field: str, errors: list[dict[str, str]]) -> str | None:
    """A phone as stored and returned: E.164, read as a local number of the company's region. A
    number that can never be used is added to ``errors`` naming ``field`` (``phones[1]``)."""
    from chalicelib.core.phones import normalize_phone

    try:
        return normalize_phone(raw, region, field=field)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return None


def get_client(company_id: str, client_id: str) -> Client:
    client = store.get_client(company_id, client_id)
    if client is None:
        raise NotFound(f"there is no client {client_id!r}")
    return client


def find_client(company_id: str, client_id: str) -> Client | None:
    return store.get_client(company_id, client_id)


@contextmanager
def unless_erased(
    company_id: str,
    client_id: str | None,
    field: str = "client_id",
    *,
    gone_not_found: bool = False,
    client_item: bool = True,
) -> Iterator[list[Check]]:
    """The conditions a write to one client goes in with (``store.erasures.unerased``: no erasure
    of the client runs or ran, checked in the write's transaction), and what the request answers
    when the write lost to that erasure: 422 on ``field``, "client 'X' is being erased"; once the
    erasure has ended (the client's item is gone), what a request a moment later answers: 404
    "there is no client 'X'" (``gone_not_found``) or a 422 saying so. No client, no conditions;
    ``client_item`` false: a code with no client item, checked for a running erasure only.

        with unless_erased(company_id, client_id) as checks:
            written = enqueue(company_id, messages, checks=checks)
    """
    from chalicelib.store.erasures import unerased

    try:
        yield unerased(company_id, client_id, client_item=client_item) if client_id else []
    except CheckFailed as lost:
        if lost.failed == (1,):
            gone = f"there is no client {client_id!r}"
            if gone_not_found:
                raise NotFound(gone) from None
            raise ValidationFailed([{"field": field, "message": gone}]) from None
        erasing = f"client {client_id!r} is being erased"
        raise ValidationFailed([{"field": field, "message": erasing}]) from None


def portal_link(company_id: str, client_id: str) -> str:
    """The client's document portal link (docs/portal.md, decision 0035), carrying the client's
    portal key: made (random) with its first link, on condition that the client is there and not
    being erased; for a code with no client, or one being erased, a link that opens nothing."""
    import secrets

    from chalicelib.core.links import NO_PORTAL_KEY, portal_url
    from chalicelib.store import publications
    from chalicelib.store.erasures import unerased

    key = publications.portal_key(company_id, client_id)
    if key is None:
        try:
            key = publications.first_portal_key(
                company_id, client_id, secrets.token_hex(8), clock.now(), unerased(company_id, client_id)
            )
        except CheckFailed:
            key = None
    return portal_url(company_id, client_id, key or NO_PORTAL_KEY)


def list_clients(company_id: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[Client], Any]:
    return store.list_clients(company_id, limit, cursor)


def get_clients(company_id: str, client_ids: list[str]) -> dict[str, Client]:
    """The clients that exist among ``client_ids``, by id (BatchGetItem)."""
    return store.get_clients(company_id, client_ids)


# How long a search text may be (a name, a code, an e-mail or a phone as people write them).
SEARCH_MAX_LENGTH = 100


def search_clients(
    company_id: str, text: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[Client], Any]:
    """The company's clients a clerk finds by what they remember, in name order: the start of
    any word of the name (``ferre`` finds "Ferretería Gómez", ``gomez`` finds "Gómez"), the start
    of the code, a whole e-mail address, or a phone written in any way (read in the company's
    country, as phones are stored; an Argentine mobile with or without its 9; a number said
    without its area code finds the clients with that subscriber number in any area). ``text``
    shorter than 2 letters or digits together, or longer than :data:`SEARCH_MAX_LENGTH`, is a 422
    naming ``q``."""
    from chalicelib.core.phones import normalize_phone, same_number, typed_local_numbers
    from chalicelib.tenants.companies import phone_region

    text = text.strip()
    if len(text) > SEARCH_MAX_LENGTH:
        raise ValidationFailed([{"field": "q", "message": f"must be at most {SEARCH_MAX_LENGTH} characters"}])
    if "@" not in text and max(map(len, store.search_words(text)), default=0) < store.SEARCH_PREFIX[0]:
        raise ValidationFailed(
            [
                {
                    "field": "q",
                    "message": "must hold at least 2 letters or digits together (part of a name, "
                    "a code, an e-mail or a phone)",
                }
            ]
        )
    region = phone_region(company_id)
    try:
        phones = same_number(normalize_phone(text, region, field="q"))
        local_numbers: list[str] = []
    except ValidationFailed:
        # not a whole number: perhaps one said without its area code ("15 5555-1234")
        phones, local_numbers = [], typed_local_numbers(text, region)
    return store.search_clients(company_id, text, limit, cursor, phones=phones, local_numbers=local_numbers)


def index_search(company_id: str) -> int:
    """Give every client of a company stored before search existed its search items, and its
    phones as stored since December 2026 (E.164, read in the company's region) when an older
    release kept them as written (the ``ops clients index-search`` backfill); running it again
    changes nothing."""
    from chalicelib.tenants.companies import phone_region

    region = phone_region(company_id)
    return store.index_search(company_id, lambda client: _phones_as_stored(client, region), region)


def _phones_as_stored(client: Client, region: str) -> Client:
    """The client with its own and its contacts' phones in E.164 as :func:`save_client` stores
    them (an older release kept them as written); a phone that cannot be read stays as it is."""

    def e164(raw: str) -> str:
        return _e164(raw, region, "phones", []) or raw

    return replace(
        client,
        phones=tuple(dict.fromkeys(e164(p) for p in client.phones)),
        contacts=tuple(replace(c, phone=e164(c.phone) if c.phone else c.phone) for c in client.contacts),
    )


def addresses_and_phones(company_id: str, client: Client | None) -> tuple[list[str], list[str]]:
    """The client's e-mail addresses (lower-cased) and phones (E.164), its contacts' too: what a
    client's erasure and a company's deletion find its items by."""
    if client is None:
        return [], []
    from chalicelib.core.errors import ValidationFailed
    from chalicelib.core.phones import normalize_phone
    from chalicelib.tenants.companies import phone_region

    emails = list(client.emails)
    raw_phones = list(client.phones)
    for contact in client.contacts:
        if contact.email:
            emails.append(str(contact.email))
        if contact.phone:
            raw_phones.append(str(contact.phone))
    region = phone_region(company_id) if raw_phones else "AR"
    phones: list[str] = []
    for raw in raw_phones:
        try:
            phones.append(normalize_phone(raw, region))
        except ValidationFailed:
            continue
    return sorted({e.strip().lower() for e in emails if e.strip()}), sorted(set(phones))
