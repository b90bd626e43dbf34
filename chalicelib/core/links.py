"""What an e-mail carries that is a pure function of the message: the ``List-Unsubscribe`` of a
manual or bulk send (C8, Q5) and of a tracking alert (T7: its subscription's signed link), its
``Message-ID`` (the communication's id on the sender's domain), and the plus-addressed
``Reply-To`` and our ``References`` entry that thread a reply (I3).

Producers put them on the message; the store keeps a short marker instead of the text and makes
it again when the item is read (issue 14: every write of an item is billed per KB, and these two
were a third of a bulk e-mail's item). So both must be made here, once, the same way for both.

Tokens are signed with ``PREGON_LINK_SIGNING_KEY`` and verified with it or with one of
``PREGON_LINK_SIGNING_KEYS_PREVIOUS`` (:func:`verified_link_claims`): an operator who rotates the
key keeps the links of e-mails already sent working (docs/decisions/0022-link-key-rotation.md).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.core.settings import get_settings

if TYPE_CHECKING:
    from jwt.types import Options

MANUAL_UNSUBSCRIBE_PATH = "/public/manual-sends/unsubscribe"
TRACKING_UNSUBSCRIBE_PATH = "/public/unsubscribe"
AUTO_SUBMITTED = "auto-generated"  # RFC 3834: an e-mail no person wrote, and no reply to anyone
MANUAL_CHANNEL = "manual"  # the token's ``ch``: a tracking alert's token does not work here
ONE_CLICK = "List-Unsubscribe=One-Click"
MAX_LOCAL_PART = 64  # RFC 5321 4.5.3.1.1
#: Why a URL a company gives (a webhook, an SMS gateway, a logo, a tracking page) is refused when
#: :func:`has_space_or_control` holds: the field's error, in the catalog of ``api.error_language``.
SPACE_OR_CONTROL = "must not contain spaces or control characters"


#: Bidirectional controls (embeddings and overrides U+202A-U+202E, isolates U+2066-U+2069): they
#: reorder what a screen shows, so ``https://a.example/\u202egpj.exe`` reads as another URL.
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


def has_space_or_control(url: str) -> bool:
    """Whether ``url`` holds a space or a control character: ASCII's (below 33, or DEL: 127), the
    C1 controls (U+0080-U+009F) or a bidi control. None belongs in a URL (RFC 3986 has them
    percent-encoded, RFC 3987 forbids bidi controls in an IRI), and a client may cut it there,
    drop them, refuse it or show it reordered, so the URL shown is not the one called or loaded."""
    return any(ord(c) < 33 or 127 <= ord(c) <= 0x9F or ord(c) in _BIDI_CONTROLS for c in url)


def link_signing_key() -> str:
    key = get_settings().link_signing_key
    if len(key) < 32:
        raise RuntimeError("PREGON_LINK_SIGNING_KEY must be set to at least 32 characters")
    return key


def link_verifying_keys() -> tuple[str, ...]:
    """The keys a link's signature is checked with: the current key (everything new is signed
    with it), then each of ``PREGON_LINK_SIGNING_KEYS_PREVIOUS`` (comma-separated, each at least
    32 characters), the keys it replaced, so links in e-mails sent before a rotation keep working."""
    current = link_signing_key()
    previous = get_settings().link_signing_keys_previous
    if any(len(key) < 32 for key in previous):
        raise RuntimeError("each key of PREGON_LINK_SIGNING_KEYS_PREVIOUS must have at least 32 characters")
    return (current, *(key for key in dict.fromkeys(previous) if key != current))


def verified_link_claims(token: str, options: Options) -> dict[str, Any]:
    """The claims of a token signed (HS256) with the current link signing key or a previous one
    (:func:`link_verifying_keys`); PyJWT's errors otherwise (``InvalidSignatureError`` when no
    key signed it). PyJWT checks the signature before the claims, so ``options`` (required
    claims, expiry) are checked once, on the key that signed the token."""
    import jwt

    for key in link_verifying_keys():
        try:
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=["HS256"], options=options)
        except jwt.InvalidSignatureError:
            continue
        return claims
    raise jwt.InvalidSignatureError("Signature verification failed")


def signed_link_claims(token: str) -> dict[str, Any] | None:
    """The claims of a token that a current or previous link key signed, whatever its purpose and
    however long ago it expired; None for any other (forged, cut, or signed by a key the operator
    dropped). What a refused link's page may show: only what the link itself proves."""
    import jwt

    try:
        return verified_link_claims(token, {"require": ["c"], "verify_exp": False})
    except jwt.PyJWTError:
        return None


@lru_cache(maxsize=4096)
def _manual_token(key: str, company_id: str, client_id: str) -> str:
    import jwt

    return jwt.encode({"c": company_id, "k": client_id, "ch": MANUAL_CHANNEL}, key, algorithm="HS256")


def manual_unsubscribe_token(company_id: str, client_id: str) -> str:
    """The signed token (HS256) naming the company, the client and the ``manual`` channel. It
    has no time in it: the same client always gets the same token while the key is the same."""
    return _manual_token(link_signing_key(), company_id, client_id)


def manual_unsubscribe_url(company_id: str, client_id: str) -> str:
    base = get_settings().public_base_url
    return f"{base}{MANUAL_UNSUBSCRIBE_PATH}?token={manual_unsubscribe_token(company_id, client_id)}"


def manual_list_unsubscribe(company_id: str, client_id: str) -> dict[str, str]:
    """The headers every manual or bulk e-mail to a client carries (RFC 2369, RFC 8058)."""
    return {
        "List-Unsubscribe": f"<{manual_unsubscribe_url(company_id, client_id)}>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }


@lru_cache(maxsize=4096)
def _subscription_token(
    key: str,
    purpose: str,
    company_id: str,
    tracking_id: str,
    subscription_id: str,
    nonce: str | None,
    exp: int,
) -> str:
    import jwt

    claims = {"p": purpose, "c": company_id, "t": tracking_id, "s": subscription_id, "n": nonce, "exp": exp}
    return jwt.encode(claims, key, algorithm="HS256")


def subscription_link_token(
    purpose: str, company_id: str, tracking_id: str, subscription_id: str, nonce: str | None, exp: int
) -> str:
    """The signed token (HS256) of a tracking subscription's link (``confirm`` or
    ``unsubscribe``): it names the subscription and its nonce, and expires at ``exp`` (seconds)."""
    return _subscription_token(
        link_signing_key(), purpose, company_id, tracking_id, subscription_id, nonce, exp
    )


def tracking_unsubscribe_url(
    company_id: str, tracking_id: str, subscription_id: str, nonce: str | None, exp: int
) -> str:
    token = subscription_link_token("unsubscribe", company_id, tracking_id, subscription_id, nonce, exp)
    return f"{get_settings().public_base_url}{TRACKING_UNSUBSCRIBE_PATH}?token={token}"


def tracking_alert_headers(
    company_id: str, tracking_id: str, subscription_id: str, nonce: str | None, exp: int
) -> dict[str, str]:
    """The headers every tracking alert e-mail carries, in this order: its subscription's
    one-click unsubscribe (RFC 2369, RFC 8058) and RFC 3834's ``Auto-Submitted``."""
    url = tracking_unsubscribe_url(company_id, tracking_id, subscription_id, nonce, exp)
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": ONE_CLICK,
        "Auto-Submitted": AUTO_SUBMITTED,
    }


PORTAL_PATH = "/public/portal"
PORTAL_PURPOSE = "portal"  # a portal token's ``p``: no other link of Pregón's opens the portal
PORTAL_LINK_DAYS = 30  # a portal link works at least this long (to the end of the UTC day 30 days on)


def portal_link_expiry(now: datetime) -> int:
    """The end of the UTC day :data:`PORTAL_LINK_DAYS` on (seconds): every portal link made for a
    client in one day is the same link, so a bulk send signs once a client and a day."""
    day = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((day + timedelta(days=PORTAL_LINK_DAYS + 1)).timestamp())


#: A portal key that no client has: the link of a code with no client, or one being erased, opens nothing.
NO_PORTAL_KEY = "-"


@lru_cache(maxsize=4096)
def _portal_token(key: str, company_id: str, client_id: str, portal_key: str, exp: int) -> str:
    import jwt

    claims = {"p": PORTAL_PURPOSE, "c": company_id, "k": client_id, "g": portal_key, "exp": exp}
    return jwt.encode(claims, key, algorithm="HS256")


#: A portal link's token where staff read a message that carries it (decision 0035, session 40).
PORTAL_TOKEN_SHOWN = "[the-clients-own]"  # noqa: S105  # nosec B105 # what a token becomes, not one
_PORTAL_TOKEN = re.compile(r"(/public/portal(?:/files/[0-9a-f]{24})?\?token=)[\w-]+\.[\w-]+\.[\w-]+")


def without_portal_tokens(text: str | None) -> str | None:
    """``text`` (a message's text or HTML) with each portal link's token replaced by
    :data:`PORTAL_TOKEN_SHOWN`: the link opens every document the client sees, the publications
    the register's rule hides from the reader too (another user's to a level-4 user, a private
    mailbox's to all but its owner and level 1), so staff read where the link went, not the link."""
    if not text or "/public/portal" not in text:
        return text
    return _PORTAL_TOKEN.sub(rf"\1{PORTAL_TOKEN_SHOWN}", text)


def portal_url(company_id: str, client_id: str, portal_key: str) -> str:
    """The client's document portal link (decision 0035): signed (HS256, the link key), naming
    the company, the client and the client's portal key (``g``: a random value kept with the
    client's portal data, new when its links are revoked and for a new client of an erased one's
    code: ``tenants.clients.portal_link`` reads it), expiring (:func:`portal_link_expiry`)."""
    from chalicelib.core import clock

    exp = portal_link_expiry(clock.now())
    token = _portal_token(link_signing_key(), company_id, client_id, portal_key, exp)
    return f"{get_settings().public_base_url}{PORTAL_PATH}?token={token}"


def plus_reply_address(company_id: str, communication_id: str) -> str | None:
    """``<company>+r-<id>@<inbound domain>``, or None when the local part would be too long."""
    local = f"{company_id}+r-{communication_id}"
    if len(local) > MAX_LOCAL_PART:
        return None
    return f"{local}@{get_settings().inbound_domain}"


def reply_reference(company_id: str, communication_id: str) -> str:
    """A reference we put in ``References``: replies carry it back even when SES rewrites the
    Message-ID (I3 threads by it)."""
    return f"<ref-{communication_id}.{company_id}@{get_settings().mail_domain}>"


_OWN_MESSAGE_ID = re.compile(r"<([0-9a-f]{24})@[^<>@\s]+>")


@lru_cache(maxsize=1024)
def address_domain(address: str) -> str:
    """The domain of an address, parsed once (``email``'s header parser is slow, and every
    message of an account has the same From). Raises ValueError for what is no address."""
    return Address(addr_spec=address).domain or "localhost"


def own_message_id(communication_id: str, from_address: str) -> str:
    """The ``Message-ID`` of an e-mail we send: ``<communication id@sender's domain>`` (unique:
    the id is a millisecond time, a sequence and 32 random bits). A reply that names it in
    ``In-Reply-To`` or ``References`` finds its message by key, with no index (issue 14)."""
    return f"<{communication_id}@{address_domain(from_address)}>"


def communication_of_message_id(message_id: str) -> str | None:
    """The communication id in a Message-ID made by :func:`own_message_id` (or one that looks
    like it: the caller compares the message's own Message-ID before trusting it)."""
    found = _OWN_MESSAGE_ID.fullmatch(message_id.strip())
    return found.group(1) if found else None
