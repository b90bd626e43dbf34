"""Communications: every message in an outbox, sent, failed or received, and every record staff
write by hand. One item each; the history, the register and the outboxes are indexes over them.

* ``ready`` (sparse) lists an outbox's queued messages by ``not_before``: what a drain claims;
* ``by-channel`` / ``by-status`` are the history per channel (and per status group, but for the
  ``sent`` group, which ``by-channel`` serves), newest first;
* ``by-client`` is a client's register (removing its key takes a record out of the register only);
  a message to staff that names a client (``about_client``) is under :func:`about_key`, for the
  client's erasure only;
* ``by-provider-message`` / ``by-rfc-message`` find a message from a delivery notification or a reply;
* ``unassigned`` lists inbound messages that matched no client.

A message is enqueued once per idempotency key (a ``message-keys`` item put in the same
transaction) and claimed by one drain at a time (a conditional update from ``queued`` with the
``ready_at`` it was read with).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cache, partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.core.links import (
    ONE_CLICK,
    communication_of_message_id,
    manual_list_unsubscribe,
    own_message_id,
    plus_reply_address,
    reply_reference,
    tracking_alert_headers,
)
from chalicelib.core.names import fold
from chalicelib.store.fields import checked_cursor, cursor_within, item_from, record_from
from chalicelib.store.models import (
    AlertScheduleModel,
    AttachmentRef,
    CommunicationModel,
    MessageKeyModel,
    RecordNoticeItem,
    SendJobModel,
)
from chalicelib.store.tables import (
    Check,
    CheckFailed,
    attribute_value,
    execute_all_or_drop,
    failure_code,
    insert_all_or_drop,
    transact_all_or_drop,
    transacted,
)
from chalicelib.store.tables import written as condition_held

if TYPE_CHECKING:  # the report items' store reads this one's stamps: imported only for types
    from chalicelib.store.delivery_reports import ReportsAwaited

HISTORY_CHANNELS = frozenset({"email", "sms", "push"})
_TX_ENTRIES = 25  # communications per claim transaction (one update each)
_TX_ACTIONS = 100  # DynamoDB's limit of actions per TransactWriteItems


_id_lock = threading.Lock()
_last_id: list[int] = [0, 0]  # the last millisecond used, and a sequence within it


def new_communication_id(now: datetime) -> str:
    """Sortable by creation time (milliseconds; within one millisecond, by creation order in
    this process), unique by 32 random bits more."""
    millis = int(now.timestamp() * 1000)
    with _id_lock:
        # Within one millisecond, a sequence keeps creation order (a frozen test clock, or a
        # fast loop); a clock that moved back simply starts again (the random part keeps ids unique).
        sequence = _last_id[1] + 1 if millis == _last_id[0] else 0
        if sequence > 0xFFFF:  # more than 65,536 in one millisecond: wrap (order only, not identity)
            sequence = 0
        _last_id[:] = [millis, sequence]
    return f"{millis:012x}{sequence:04x}{secrets.token_hex(4)}"


def stamp(moment: datetime) -> str:
    """Fixed-width UTC text that sorts like the instant it names."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


SENT_STATES = frozenset({"sent", "delivered"})  # the history's ``sent`` group


def status_group(state: str) -> str:
    """The history's filter groups: sent (or better), bounced (or complained), received, not sent."""
    if state in SENT_STATES:
        return "sent"
    if state in ("bounced", "complained"):
        return "bounced"
    if state == "received":
        return "received"
    return "not_sent"


def status_index_key(company_id: str, channel: str, state: str) -> str | None:
    """A history message's ``by-status`` key: its channel's status group, except the ``sent``
    group, which has no entry (issue 14: nearly every message ends there, so that group was the
    whole ``by-channel`` index again, and each send moved an entry into it: 2 WRU instead of the
    1 of removing it). ``history_page(status="sent")`` reads ``by-channel`` instead."""
    group = status_group(state)
    return None if group == "sent" else f"{company_id}#{channel}#{group}"


def _search_text(comm: domain.Communication) -> str:
    """What a listing's text criterion is matched in (folded: lower-case, without accents, so
    "constitucion" finds "constitución" as a Spanish clerk types it): subject, addresses, names,
    the client's code, the files' names and the text body (a portal link's token left out: staff
    do not read it, so a search must not tell it a character at a time). Computed when a listing
    filters, never stored (issue 14)."""
    from chalicelib.core.links import without_portal_tokens

    parts = [
        comm.subject,
        comm.to_address,
        comm.to_name,
        comm.from_address,
        comm.from_name,
        comm.client_id,
        *(a.name for a in comm.attachments),
        without_portal_tokens(comm.text),
    ]
    return fold(" ".join(p for p in parts if p))


def carries_one_click(headers: dict[str, str]) -> bool:
    """Whether an e-mail's headers offer RFC 8058's one-click unsubscribe."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return bool(lowered.get("list-unsubscribe")) and lowered.get("list-unsubscribe-post") == ONE_CLICK


def about_key(company_id: str, client_id: str) -> str:
    """The ``by-client`` key of the messages that name a client but are not in its register: to
    staff (``about_client``: a colleague's notice of its record), or a message of the client's
    that staff took out of its register. Apart from the register's key: no listing reads it, the
    client's erasure does (a client's code has no ``#``, so it is no other client's key)."""
    return f"{company_id}#{client_id}#about"


def _register_key(company_id: str, client_id: str) -> str:
    return f"{company_id}#{client_id}"


def _client_key(comm: domain.Communication) -> str | None:
    if comm.client_id:
        if comm.in_register:
            return _register_key(comm.company_id, comm.client_id)
        return about_key(comm.company_id, comm.client_id)  # out of the register, still hers
    return about_key(comm.company_id, comm.about_client) if comm.about_client else None


def _index_keys(comm: domain.Communication) -> dict[str, str | None]:
    company = comm.company_id
    # A message its producer handed off under a record is found through that record, not the
    # ready index, while the lease it was written with lasts (issue 14: 2 index WRU a message).
    queued = comm.state in ("queued", "sending") and comm.outbox is not None and comm.handoff is None
    history = comm.channel in HISTORY_CHANNELS and comm.direction in ("out", "in")
    return {
        "ready_outbox": f"{company}#{comm.outbox}" if queued else None,
        "ready_at": f"{stamp(comm.not_before or comm.created_at)}#{comm.communication_id}"
        if queued
        else None,
        "client_key": _client_key(comm),
        "history_key": f"{company}#{comm.channel}" if history else None,
        # nor in ``by-status`` while its worker has it: nearly all go straight to ``sent`` (no
        # entry), so the entry's put and removal (2 index WRU) bought a few seconds under "not
        # sent"; one that fails, waits for a retry or outlives its lease gets it then.
        "status_key": status_index_key(company, comm.channel, comm.state)
        if history and comm.handoff is None
        else None,
        "unassigned_company": company if comm.unassigned else None,
    }


_COMPRESS_FROM = 200  # bytes of text and HTML; below this zlib saves nothing worth a format
# zlib's preset dictionary for bodies (issue 14): the default Spanish e-mail templates (text and
# HTML, JSON-escaped, 32 KB), so the layout every e-mail repeats costs a few bytes: a bulk
# invoice's body is 186 bytes instead of 933. A stream names its dictionary (the Adler-32 in its
# header), so the file must never change: a better one is a new file added to ``_DICTIONARIES``.
_DICTIONARIES = (
    "email_bodies.zdict",
    "tracking_alerts.zdict",
    "tracking_alerts_2.zdict",
    "email_bodies_2.zdict",
)
# Tracking alert bodies: the default tracking alert rendered with the default branding, English and
# Spanish (``bench/tracking_zdict.py`` wrote it; like the first, it never changes). The second
# holds the alert with session 38's footer and preview text; bodies written with the first still
# read back with it.
_BY_MESSAGE_TYPE = {"tracking_alert": "tracking_alerts_2.zdict"}
# The default templates with session 38's footer and preview text (``bench/email_zdict.py``).
_GENERAL = "email_bodies_2.zdict"
_FDICT = 0x20  # zlib header: the stream was compressed with a preset dictionary
# A tracking alert's unsubscribe link in its body (twice: text and HTML, ~290 bytes a signed token
# zlib cannot shrink) is kept as this character when the headers' ``alert`` marker makes the link
# again; a body that already holds the character is kept as it is.
_LINK = "\x00"


@cache
def _dictionary(name: str) -> bytes:
    return (Path(__file__).parent / name).read_bytes()


def _compress(data: bytes, dictionary: str = _GENERAL) -> bytes:
    compressor = zlib.compressobj(6, zdict=_dictionary(dictionary))
    return compressor.compress(data) + compressor.flush()


def _decompress(packed: bytes) -> bytes:
    """A body compressed with one of the dictionaries, or without one (items written before)."""
    if len(packed) < 6 or not packed[1] & _FDICT:
        return zlib.decompress(packed)
    wanted = int.from_bytes(packed[2:6], "big")
    dictionary = next(d for d in map(_dictionary, _DICTIONARIES) if zlib.adler32(d) == wanted)
    decompressor = zlib.decompressobj(zdict=dictionary)
    return decompressor.decompress(packed) + decompressor.flush()


def _packed_body(comm: domain.Communication, link: str | None = None) -> dict[str, Any]:
    """The body as the item keeps it: text and HTML in one zlib-compressed JSON attribute when
    that is smaller (a fifth of an e-mail's HTML, with the dictionary), else as they are. Given
    the ``link`` the item makes again, its occurrences become ``_LINK`` (then the JSON array has a
    third element, 1)."""
    text, html = comm.text, comm.html
    if len((text or "").encode()) + len((html or "").encode()) < _COMPRESS_FROM:
        return {"text": text, "html": html}
    parts: list[Any] = [text, html]
    if link and not any(_LINK in (part or "") for part in parts) and any(link in (p or "") for p in parts):
        parts = [None if p is None else p.replace(link, _LINK) for p in parts] + [1]
    dictionary = _BY_MESSAGE_TYPE.get(comm.message_type or "", _GENERAL)
    packed = _compress(json.dumps(parts, ensure_ascii=False).encode(), dictionary)
    return {"text": None, "html": None, "body_z": packed}


def _unpacked_body(item: CommunicationModel) -> dict[str, Any]:
    if item.body_z is None:
        return {}
    text, html, *link = json.loads(_decompress(item.body_z))
    if link:
        url = _made_alert_headers(item.company_id, item.alert_ref, item.headers_from)["List-Unsubscribe"][
            1:-1
        ]
        text, html = (None if p is None else p.replace(_LINK, url) for p in (text, html))
    return {"text": text, "html": html}


def _item(comm: domain.Communication) -> CommunicationModel:
    keys: dict[str, Any] = _index_keys(comm)
    headers = _packed_headers(comm)
    return item_from(
        CommunicationModel,
        comm,
        # The idempotency key is kept in ``message-keys`` (which names this item); nothing reads
        # it from here. Empty headers and attachments are left out (issue 14: each write is
        # billed by size).
        leave_out=("idempotency_key",),
        **_packed_body(comm, _left_out_link(comm, headers["headers_from"])),
        **headers,
        **_packed_times(comm),
        reply_to=_packed_reply_to(comm),
        attachments=_attachment_items(comm.attachments) or None,
        resent_as=list(comm.resent_as) or None,
        one_click_unsubscribe=True if comm.channel == "email" and carries_one_click(comm.headers) else None,
        mailbox_id=comm.mailbox_id,
        private_to=comm.private_to,
        notices=_notice_items(comm.notices) or None,
        **keys,
    )


# What the item keeps instead of text it can make again (issue 14; :mod:`chalicelib.core.links`):
# a manual or bulk e-mail's ``List-Unsubscribe`` pair (a signed link of its company and client,
# ~290 bytes), our own entry at the end of every e-mail's ``References`` (~70) and its
# plus-addressed ``Reply-To`` (~70). A bulk e-mail's item is then under 1 KB: one write unit a
# write (two in a transaction) instead of two (four). Read back, they are made again as they are
# made now (the same text, unless the link signing key, the public URL, the mail or the inbound
# domain changed since). ``headers_from`` names which headers were left out.
_MANUAL_UNSUBSCRIBE = "unsub"  # the manual-send List-Unsubscribe pair
_OWN_REFERENCE = "ref"  # our entry at the end of References
_OWN_MESSAGE_ID = "mid"  # rfc_message_id is <communication id@sender's domain>: not in by-rfc-message
_PLUS_ADDRESSED = "+r"  # ``reply_to``: <company>+r-<id>@<inbound domain> (an address has an @)
# A tracking alert's List-Unsubscribe (its subscription's signed link, ~330 bytes),
# List-Unsubscribe-Post and Auto-Submitted, first in that order: ``alert:<nonce>:<expiry>``; the
# company, parcel and subscription the link names are those of the message's ``alert_ref``.
_TRACKING_ALERT = "alert"
_NONCE = re.compile(r"[A-Za-z0-9_-]+")  # secrets.token_urlsafe


def _alert_subscription(company_id: str, alert_ref: str | None) -> tuple[str, str] | None:
    """The parcel's tracking id and the subscription an ``alert_ref`` names
    (``<company>#<tracking id>|<novelty id>#<subscription id>``, as ``store.tracking`` makes it)."""
    if not alert_ref or not alert_ref.startswith(f"{company_id}#"):
        return None
    parcel, bar, alert = alert_ref[len(company_id) + 1 :].partition("|")
    subscription = alert.rpartition("#")[2]
    return (parcel, subscription) if bar and subscription else None


def _link_claims(list_unsubscribe: str) -> dict[str, Any]:
    """The claims of the signed link in a ``List-Unsubscribe`` value, not verified: the caller
    makes the link again from them and compares."""
    import base64

    try:
        token = list_unsubscribe.removesuffix(">").rpartition("?token=")[2]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _tracking_alert_marker(comm: domain.Communication, headers: dict[str, str]) -> str | None:
    """``alert:<nonce>:<expiry>`` when the message's first three headers are exactly those
    :func:`chalicelib.core.links.tracking_alert_headers` makes for its ``alert_ref``."""
    named = _alert_subscription(comm.company_id, comm.alert_ref)
    if named is None or "List-Unsubscribe" not in headers:
        return None
    claims = _link_claims(headers["List-Unsubscribe"])
    nonce, expiry = claims.get("n"), claims.get("exp")
    if not isinstance(expiry, int) or not (nonce is None or _NONCE.fullmatch(str(nonce))):
        return None
    made = tracking_alert_headers(comm.company_id, *named, nonce, expiry)
    if list(headers.items())[: len(made)] != list(made.items()):
        return None
    return f"{_TRACKING_ALERT}:{nonce or ''}:{expiry}"


def _made_alert_headers(company_id: str, alert_ref: str | None, headers_from: str | None) -> dict[str, str]:
    """The tracking alert headers an item's ``alert`` marker names, made again (else none)."""
    marker = next((m for m in (headers_from or "").split() if m.startswith(f"{_TRACKING_ALERT}:")), None)
    named = _alert_subscription(company_id, alert_ref)
    if marker is None or named is None:
        return {}
    _, nonce, expiry = marker.split(":")
    return tracking_alert_headers(company_id, *named, nonce or None, int(expiry))


def _left_out_link(comm: domain.Communication, headers_from: str | None) -> str | None:
    """The tracking alert's unsubscribe link, when its headers were left out (made again)."""
    made = _made_alert_headers(comm.company_id, comm.alert_ref, headers_from)
    return made["List-Unsubscribe"][1:-1] if made else None


def _packed_headers(comm: domain.Communication) -> dict[str, Any]:
    headers = dict(comm.headers)
    made: list[str] = []
    if comm.channel == "email" and comm.direction == "out":
        own = reply_reference(comm.company_id, comm.communication_id)
        references = headers.get("References", "")
        if references == own or references.endswith(f" {own}"):
            made.append(_OWN_REFERENCE)
            rest = references.removesuffix(own).rstrip()
            if rest:
                headers["References"] = rest
            else:
                del headers["References"]
        alert = _tracking_alert_marker(comm, headers)
        if alert is not None:
            made.append(alert)
            headers = dict(list(headers.items())[3:])
        elif comm.client_id:
            pair = manual_list_unsubscribe(comm.company_id, comm.client_id)
            if all(headers.get(name) == value for name, value in pair.items()):
                made.append(_MANUAL_UNSUBSCRIBE)
                headers = {name: value for name, value in headers.items() if name not in pair}
    rfc_message_id = comm.rfc_message_id
    if rfc_message_id and _is_own_message_id(comm):
        made.append(_OWN_MESSAGE_ID)
        rfc_message_id = None
    return {
        "headers": headers or None,
        "headers_from": " ".join(made) or None,
        "rfc_message_id": rfc_message_id,
    }


def _is_own_message_id(comm: domain.Communication) -> bool:
    """Whether the Message-ID is the one :func:`chalicelib.core.links.own_message_id` makes:
    then it is neither stored nor put in ``by-rfc-message`` (a reply finds it by key)."""
    if comm.direction != "out" or comm.channel != "email" or not comm.from_address:
        return False
    try:
        return comm.rfc_message_id == own_message_id(comm.communication_id, comm.from_address)
    except ValueError:  # an address the header parser cannot read: kept as it is
        return False


def _packed_times(comm: domain.Communication) -> dict[str, Any]:
    """Times and names that repeat another attribute are not stored twice: ``updated_at`` while
    it is ``created_at``, a producer-claimed message's ``not_before`` (its lease's end: see
    ``messaging.outbox.born_claimed``) and ``sender_area`` when the outbox names it."""
    return {
        "updated_at": None if comm.updated_at == comm.created_at else comm.updated_at,
        "not_before": None if comm.not_before == comm.lease_until else comm.not_before,
        "sender_area": None if comm.outbox == f"email:{comm.sender_area}" else comm.sender_area,
    }


def _unpacked_times(item: CommunicationModel) -> dict[str, Any]:
    outbox = item.outbox or ""
    area = outbox.removeprefix("email:") if outbox.startswith("email:") else None
    return {
        "updated_at": item.updated_at or item.created_at,
        "not_before": item.not_before or item.lease_until,
        "sender_area": item.sender_area or area,
    }


def _packed_reply_to(comm: domain.Communication) -> str | None:
    if comm.reply_to and comm.reply_to == plus_reply_address(comm.company_id, comm.communication_id):
        return _PLUS_ADDRESSED
    return comm.reply_to


def _unpacked_message_id(item: CommunicationModel) -> str | None:
    if _OWN_MESSAGE_ID in (item.headers_from or "").split() and item.from_address:
        return own_message_id(item.communication_id, item.from_address)
    return item.rfc_message_id


def _unpacked_headers(item: CommunicationModel) -> dict[str, str]:
    made = (item.headers_from or "").split()
    headers = _made_alert_headers(item.company_id, item.alert_ref, item.headers_from) | _headers(item.headers)
    if _MANUAL_UNSUBSCRIBE in made and item.client_id:
        headers |= manual_list_unsubscribe(item.company_id, item.client_id)
    if _OWN_REFERENCE in made:
        own = reply_reference(item.company_id, item.communication_id)
        headers["References"] = f"{headers['References']} {own}" if headers.get("References") else own
    return headers


# What a message's item keeps for Pregón alone, never handed over as the company's or the client's
# data (:func:`as_sent`): the packing above (the compressed body, the marker of the headers made
# again: an alert's holds its link's nonce), the keys of its indexes (copies of the company, the
# client, the state, the outbox and a time; derived from the other attributes), a drain's lease
# and its count of attempts, the idempotency key that kept its producer from writing it twice
# (Pregón's, made from the cause and the address, or the caller's request id: the message-keys
# table, not exported, holds it too), and the flag the by-channel index counts (the headers say it).
NOT_HANDED_OVER = (
    "body_z",
    "headers_from",
    "ready_outbox",
    "ready_at",
    "client_key",
    "history_key",
    "status_key",
    "unassigned_company",
    "lease_until",
    "attempts",
    "idempotency_key",
    "one_click_unsubscribe",
)
# What the item keeps packed, as :func:`_record` makes it again.
_UNPACKED = (
    "text",
    "html",
    "headers",
    "rfc_message_id",
    "provider_message_id",
    "reply_to",
    "updated_at",
    "not_before",
    "sender_area",
)


def as_sent(item: CommunicationModel) -> dict[str, Any]:
    """The message's attributes as it was sent, received or written, for handing over (a
    company's export, a client's access report): what the item packs made again by the reading
    a resend and the history use (:func:`_record`): its text and HTML, every header as it went on
    the wire (a tracking alert's or a send's List-Unsubscribe, our References entry), our own
    Message-ID, the plus-addressed Reply-To, the times left out; without what
    :data:`NOT_HANDED_OVER` names. Values as the item holds them (times, lists), absent when none."""
    record = _record(item)
    shown = {name: value for name, value in item.attribute_values.items() if name not in NOT_HANDED_OVER}
    for name in _UNPACKED:
        value = getattr(record, name)
        if value:
            shown[name] = value
        else:
            shown.pop(name, None)
    return shown


def _unpacked_reply_to(item: CommunicationModel) -> str | None:
    if item.reply_to == _PLUS_ADDRESSED:
        return plus_reply_address(item.company_id, item.communication_id)
    return item.reply_to


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    mapping = raw.as_dict() if hasattr(raw, "as_dict") else raw
    return {str(k): str(v) for k, v in dict(mapping).items()}


def _record(item: CommunicationModel) -> domain.Communication:
    rfc_message_id = _unpacked_message_id(item)
    return record_from(
        item,
        domain.Communication,
        **_unpacked_body(item),
        headers=_unpacked_headers(item),
        **_unpacked_times(item),
        reply_to=_unpacked_reply_to(item),
        attachments=tuple(
            record_from(
                a, domain.AttachmentRef, size=int(a.size), delete_after_sending=bool(a.delete_after_sending)
            )
            for a in (item.attachments or [])
        ),
        attempts=int(item.attempts or 0),
        in_register=item.client_id is None
        or item.client_key == _register_key(item.company_id, item.client_id),
        unassigned=item.unassigned_company is not None,
        resent_as=tuple(str(i) for i in (item.resent_as or ())),
        mailbox_id=item.mailbox_id,
        private_to=item.private_to,
        notices=tuple(
            domain.RecordNotice(at=n.at, by=str(n.by), users=tuple(str(u) for u in (n.users or ())))
            for n in (item.notices or [])
        ),
        handoff=None,  # not stored: a record names its messages, not they it
        rfc_message_id=rfc_message_id,
        # sent over SMTP: the provider's id is our own Message-ID, which is all that is stored
        provider_message_id=item.provider_message_id
        or (rfc_message_id if item.sent_at is not None and item.direction == "out" else None),
    )


# --- writing ---------------------------------------------------------------------------------


def add_to_transaction(tx: TransactWrite, comm: domain.Communication) -> None:
    """Put a new communication (and its idempotency key, when it has one) in a caller's transaction."""
    if comm.idempotency_key:
        tx.save(
            MessageKeyModel(
                f"{comm.company_id}#{comm.idempotency_key}",
                communication_id=comm.communication_id,
                created_at=comm.created_at,
                # found by the client's erasure: the key may name the client, its address or device
                client_key=f"{comm.company_id}#{comm.client_id}" if comm.client_id else None,
            ),
            condition=MessageKeyModel.key.does_not_exist(),
        )
    tx.save(_item(comm), condition=CommunicationModel.communication_id.does_not_exist())


def add_new(
    comms: Sequence[domain.Communication],
    *,
    counted: Callable[[TransactWrite, list[domain.Communication]], None] | None = None,
    checks: Sequence[Check] = (),
) -> list[domain.Communication]:
    """Write new communications; one whose idempotency key was used before is dropped, and so
    is one whose id is taken (a producer that derives its ids from what the message is, as a
    send job's pages do, gets idempotency from the id itself: :func:`derived_communication_id`).

    Returns what was written. A communication and its idempotency key are one all-or-nothing
    pair (a transaction); one without a key is a single conditional put, and those go 25 to a
    request without a transaction (issue 14: 1 WRU per KB, not 2, and no ``message-keys`` item).
    ``counted`` adds to each transaction the updates that count the keyed communications it
    writes (a mailbox's ``logged_count``): they commit exactly when those do, so a writer that
    dies after writing never leaves them uncounted, and one that writes again counts nothing.
    ``checks`` (``store.tables.transact_all_or_drop``'s) are conditions on other items every
    communication is written with, in the same transaction as its ``counted`` updates (those
    without a key too, then not batched: a few messages, as one client's; more than a
    transaction holds, as an event's to a client and 50 contacts, go in several, each with the
    checks): ``store.tables.CheckFailed``
    when one does not hold, its ``written`` what the transactions before it wrote.
    """
    written: list[domain.Communication] = []
    keyed = [c for c in comms if c.idempotency_key]
    plain = [c for c in comms if not c.idempotency_key]
    if checks:
        assert counted is None or not plain, "only keyed communications are counted with their write"
        for group, actions in ((keyed, 2), (plain, 1)):  # the message and its key, or the message
            size = (_TX_ACTIONS - len(checks) - (1 if counted else 0)) // actions
            for start in range(0, len(group), size):
                try:
                    part = group[start : start + size]
                    written += transact_all_or_drop(
                        part, add_to_transaction, actions, checks=checks, extra=counted
                    )
                except CheckFailed as exc:
                    raise CheckFailed(exc.failed, written) from exc
        return written
    assert counted is None or not plain, "only keyed communications are counted with their write"
    # As many as one transaction holds (issue 14: a page of 100 keyed messages is 2, not 4),
    # with room for the counting update
    size = _TX_ACTIONS // 2 - (1 if counted else 0)
    for start in range(0, len(keyed), size):
        written += transact_all_or_drop(keyed[start : start + size], add_to_transaction, 2, extra=counted)
    if plain:
        inserted = insert_all_or_drop([_item(c) for c in plain])
        written += [c for c, fresh in zip(plain, inserted, strict=True) if fresh]
    return written


def derived_communication_id(parent_id: str, key: str, attempt: int = 0) -> str:
    """The id of the message ``key`` names within ``parent_id`` (a send job's id): the parent's
    time (so the history keeps its order and date filters) and 48 bits of a hash of both, so
    expanding a page again names the same messages. Two keys of one parent whose hashes meet
    (about one in 10^5 for a job of 100,000) are told apart by the producer, which compares
    the message found under the id with its own and takes the next ``attempt``."""
    digest = hashlib.sha256(f"{parent_id}\x00{key}\x00{attempt}".encode()).hexdigest()
    return f"{parent_id[:12]}{digest[:12]}"


def save(comm: domain.Communication) -> domain.Communication:
    """Create or replace one communication as it is (inbound messages, register records)."""
    _item(comm).save()
    return comm


def save_many(comms: Iterable[domain.Communication]) -> int:
    """Write finished messages as they are, in batches (``BatchWriteItem``), unconditionally: a
    company's history loaded at once (the benchmarks' year of e-mail, the tests' big histories).
    Returns how many were written."""
    written = 0
    with CommunicationModel.batch_write() as batch:
        for comm in comms:
            batch.save(_item(comm))
            written += 1
    return written


def get(company_id: str, communication_id: str) -> domain.Communication | None:
    try:
        return _record(CommunicationModel.get(company_id, communication_id, consistent_read=True))
    except DoesNotExist:
        return None


def get_many(company_id: str, communication_ids: Iterable[str]) -> dict[str, domain.Communication]:
    keys = [(company_id, cid) for cid in dict.fromkeys(communication_ids)]
    return {item.communication_id: _record(item) for item in CommunicationModel.batch_get(keys)}


def existing_key(company_id: str, idempotency_key: str, *, consistent: bool = False) -> str | None:
    """The communication an idempotency key was used for, if any. ``consistent``: a strongly
    consistent read, which sees a write of the last second (an eventually consistent one may not)."""
    try:
        key = f"{company_id}#{idempotency_key}"
        return str(MessageKeyModel.get(key, consistent_read=consistent).communication_id)
    except DoesNotExist:
        return None


def failure_id(comm: domain.Communication) -> str:
    """The id a failing message with an idempotency key is told (``message.failed``) and written
    under: the first request to ask names its own (a conditional put of a marker beside the key,
    ``<company>#told#<key>``); every other, at the very same moment or later, gets that one. So
    two identical requests that both tell before one write loses tell the same event, about the
    message written, and a request tried again after the queue refused tells the same event id.
    A marker whose message was never written (its caller never came back) names nothing anyone
    reads but a later failing message with its key; the client's erasure finds it (``client_key``)."""
    assert comm.idempotency_key
    key = f"{comm.company_id}#told#{comm.idempotency_key}"
    marker = MessageKeyModel(
        key,
        communication_id=comm.communication_id,
        created_at=comm.created_at,
        client_key=f"{comm.company_id}#{comm.client_id}" if comm.client_id else None,
    )
    if condition_held(lambda: marker.save(condition=MessageKeyModel.key.does_not_exist())):
        return comm.communication_id
    return str(MessageKeyModel.get(key, consistent_read=True).communication_id)


def was_written(comm: domain.Communication) -> bool:
    """Whether this message, as made before a write that failed or was refused, is in the table:
    under its idempotency key when it has one, else by its id (strongly consistent reads: a write
    whose answer was lost is seen, and the files it names are kept)."""
    if comm.idempotency_key:
        return existing_key(comm.company_id, comm.idempotency_key, consistent=True) == comm.communication_id
    return get(comm.company_id, comm.communication_id) is not None


# --- the outbox ------------------------------------------------------------------------------


def ready_messages(company_id: str, outbox: str, now: datetime, limit: int) -> list[domain.Communication]:
    """The oldest queued messages of an outbox that may go at ``now`` (not claimed)."""
    keys = [
        (company_id, item.communication_id)
        for item in CommunicationModel.ready.query(
            f"{company_id}#{outbox}", CommunicationModel.ready_at <= f"{stamp(now)}#~", limit=limit
        )
    ]
    found = {i.communication_id: i for i in CommunicationModel.batch_get(keys, consistent_read=True)}
    # In the index's order (oldest first). The item is read after the index: one that another
    # drain claimed in between now has a lease ending later than ``now`` and is left out.
    bound = f"{stamp(now)}#~"
    return [
        _record(item)
        for _, cid in keys
        if (item := found.get(cid)) is not None and item.ready_outbox and str(item.ready_at) <= bound
    ]


def held(
    company_id: str, communication_ids: Sequence[str], lease_until: datetime
) -> list[domain.Communication]:
    """The messages among ``communication_ids`` still held by the lease ``lease_until`` (written
    claimed by their producer and handed to this worker), in the order given. One consistent
    read of up to 100 items; a message recorded since, or claimed by a drain after its lease
    ran out, is left out."""
    found = get_many_consistent(company_id, communication_ids)
    return [
        comm
        for cid in communication_ids
        if (comm := found.get(cid)) is not None and comm.state == "queued" and comm.lease_until == lease_until
    ]


def back_to_ready(
    company_id: str, outbox: str, communication_ids: Sequence[str], lease_until: datetime
) -> list[str]:
    """Put the messages of a hand-off whose lease ran out unsent back in their outbox's ready
    index, due at the lease's end, and take the lease from them (so nothing its worker writes
    late is recorded): each only while it is still queued under that lease. Returns the ids put
    back; a message recorded since, or already put back, is left alone."""
    channel = outbox.split(":", 1)[0]  # ``email:<area>``, ``sms``, ``push``
    not_sent = status_index_key(company_id, channel, "queued")
    assert not_sent is not None
    back: list[str] = []
    for cid in communication_ids:
        item = CommunicationModel(company_id, cid)
        actions: list[Any] = [
            # the lease goes (an outcome written late by its worker no longer holds), its end
            # is the message's not-before, as a drain's claim would have left it
            CommunicationModel.lease_until.remove(),
            CommunicationModel.not_before.set(lease_until),
            CommunicationModel.ready_outbox.set(f"{company_id}#{outbox}"),
            CommunicationModel.ready_at.set(f"{stamp(lease_until)}#{cid}"),
            # and under "not sent", which a message its worker had was not (``_index_keys``)
            CommunicationModel.status_key.set(not_sent),
        ]
        condition = (CommunicationModel.state == "queued") & (CommunicationModel.lease_until == lease_until)
        if condition_held(partial(item.update, actions=actions, condition=condition)):
            back.append(cid)
    return back


def give_back(
    company_id: str,
    outbox: str,
    messages: Sequence[domain.Communication],
    lease_until: datetime,
    now: datetime,
) -> list[str]:
    """A worker that stops before sending messages it holds under ``lease_until`` (a drain's
    claim, or a hand-off written claimed) makes them claimable at once instead of at the lease's
    end: queued, in the ready index at ``now``, the lease taken off, and the attempt its claim
    counted taken back (nothing was tried: the claim that sends it counts it again). Each only
    while it is still unsent and held by exactly that lease (conditional PartiQL ``UPDATE``s, 25
    to a request), so its attempts are still the ones ``messages`` hold: one recorded since, or
    taken by another worker after the lease ended, is left alone. Returns the ids given back.
    Never call it for a message whose send was started: only the lease keeps another worker from
    sending it too."""
    channel = outbox.split(":", 1)[0]  # ``email:<area>``, ``sms``, ``push``
    not_sent = status_index_key(company_id, channel, "queued")
    assert not_sent is not None
    table = CommunicationModel.Meta.table_name
    model = CommunicationModel
    statements = []
    for message in messages:
        cid = message.communication_id
        changes: list[tuple[Any, Any]] = [
            (model.state, "queued"),
            (model.attempts, max(message.attempts - 1, 0)),
            (model.updated_at, now),
            (model.not_before, now),
            (model.ready_outbox, f"{company_id}#{outbox}"),
            (model.ready_at, f"{stamp(now)}#{cid}"),
            # under "not sent": a message a hand-off held had no ``by-status`` entry (``_index_keys``)
            (model.status_key, not_sent),
        ]
        sets = " ".join(f'SET "{attribute.attr_name}"=?' for attribute, _ in changes)
        where = 'WHERE "company_id"=? AND "communication_id"=? AND "state" IN [?, ?] AND "lease_until"=?'
        statements.append(
            {
                "Statement": f'UPDATE "{table}" {sets} REMOVE "{model.lease_until.attr_name}" {where}',
                "Parameters": [
                    *(attribute_value(attribute, value) for attribute, value in changes),
                    {"S": company_id},
                    {"S": cid},
                    {"S": "queued"},
                    {"S": "sending"},
                    attribute_value(model.lease_until, lease_until),
                ],
            }
        )
    done = execute_all_or_drop(statements)
    return [m.communication_id for m, fresh in zip(messages, done, strict=True) if fresh]


def recorded_under(
    company_id: str, communication_ids: Sequence[str], lease_until: datetime
) -> list[domain.Communication]:
    """The messages among ``communication_ids`` whose outcome a hand-off under ``lease_until``
    recorded (a final state, the lease still on them): what its recovery counts."""
    found = get_many_consistent(company_id, communication_ids)
    return [
        comm for comm in found.values() if comm.state in _FINAL_BUCKETS and comm.lease_until == lease_until
    ]


def get_many_consistent(company_id: str, communication_ids: Iterable[str]) -> dict[str, domain.Communication]:
    keys = [(company_id, cid) for cid in dict.fromkeys(communication_ids)]
    return {
        item.communication_id: _record(item)
        for item in CommunicationModel.batch_get(keys, consistent_read=True)
    }


def ready_summary(company_id: str, outbox: str, cap: int) -> tuple[int, bool, datetime | None]:
    """How many messages wait in an outbox (its ``ready`` partition: queued, or claimed by a drain
    that has not recorded them yet), stopping after ``cap``, and when the oldest may go: (count,
    more, earliest), ``more`` when there are more than ``cap``. One Query of keys-only entries,
    oldest first (about 20 RCU for 1,000, 0.5 when the outbox is empty)."""
    count, earliest = 0, None
    for item in CommunicationModel.ready.query(f"{company_id}#{outbox}", limit=cap + 1):
        if earliest is None:
            earliest = parse_stamp(str(item.ready_at).split("#", 1)[0])
        count += 1
    return min(count, cap), count > cap, earliest


def earliest_ready(company_id: str, outbox: str) -> datetime | None:
    """When the oldest queued message of an outbox may go, or None when the outbox is empty."""
    for item in CommunicationModel.ready.query(f"{company_id}#{outbox}", limit=1):
        return parse_stamp(str(item.ready_at).split("#", 1)[0])
    return None


def claim(
    messages: Sequence[domain.Communication], now: datetime, lease: timedelta
) -> list[domain.Communication]:
    """Take ready messages for sending: a conditional update each, from exactly the ``ready_at``
    they were read with. Returns the ones this caller owns.

    A claimed message stays in the ready index with ``ready_at`` moved to the end of its lease:
    if the worker dies before recording an outcome, the message is ready again when the lease
    runs out (and the outbox's wake-up finds it), so nothing is lost."""
    until = now + lease

    def add(tx: TransactWrite, comm: domain.Communication) -> None:
        sending = replace(comm, state="sending")
        tx.update(
            CommunicationModel(comm.company_id, comm.communication_id),
            actions=[
                CommunicationModel.state.set("sending"),
                CommunicationModel.lease_until.set(until),
                CommunicationModel.attempts.add(1),
                CommunicationModel.updated_at.set(now),
                CommunicationModel.ready_at.set(f"{stamp(until)}#{comm.communication_id}"),
                *_status_key_actions(sending),
            ],
            condition=CommunicationModel.ready_at == _read_at(comm),
        )

    # Only what is due: a message whose lease (or not-before) ends later is someone else's.
    due = [m for m in messages if _read_at(m) <= f"{stamp(now)}#~"]
    owned: list[domain.Communication] = []
    for start in range(0, len(due), _TX_ENTRIES):
        owned += transact_all_or_drop(due[start : start + _TX_ENTRIES], add)
    return [
        replace(c, state="sending", lease_until=until, attempts=c.attempts + 1, not_before=until)
        for c in owned
    ]


def _read_at(comm: domain.Communication) -> str:
    """The ``ready_at`` a message was read with: its not-before while queued, its lease's end
    while a worker holds it (or held it, and the lease ran out)."""
    if comm.state == "sending" and comm.lease_until is not None:
        return f"{stamp(comm.lease_until)}#{comm.communication_id}"
    return f"{stamp(comm.not_before or comm.created_at)}#{comm.communication_id}"


def _status_key_actions(comm: domain.Communication) -> list[Any]:
    """What a state change writes to a history message's ``by-status`` key: set to its group's,
    or removed when it is in the ``sent`` group (see :func:`status_index_key`)."""
    keys = _index_keys(comm)
    if keys["history_key"] is None:
        return []
    return [_status_key_action(keys["status_key"])]


def _status_key_action(key: str | None) -> Any:
    return CommunicationModel.status_key.set(key) if key else CommunicationModel.status_key.remove()


def _attachment_items(attachments: Sequence[domain.AttachmentRef]) -> list[AttachmentRef]:
    return [
        item_from(AttachmentRef, a, delete_after_sending=a.delete_after_sending or None) for a in attachments
    ]


def record_outcomes(
    outcomes: Sequence[domain.Communication], now: datetime, *, reports: ReportsAwaited | None = None
) -> list[domain.Communication]:
    """Write what became of claimed messages (state, provider id, error, next attempt), many to a
    transaction (a tracking alert reads its state from its message when listed). A message is
    only written while this drain still holds it (its lease: ``sending`` after a claim, still ``queued`` when
    its producer wrote it claimed). Returns the outcomes written.

    ``reports``: the SMS it names (sent through a gateway that reports) get their report item in
    the same transaction as their outcome (decision 0023): recorded sent means awaited."""

    def add(tx: TransactWrite, comm: domain.Communication) -> None:
        _update_outcome(tx, comm, now)

    def extra(tx: TransactWrite, written: list[domain.Communication]) -> None:
        count_outcomes(tx, written, now)
        _await_reports(tx, written, reports)

    written: list[domain.Communication] = []
    for chunk in _outcome_chunks(outcomes, reports):
        written += transact_all_or_drop(chunk, add, extra=extra)
    return written


def _update_outcome(
    tx: TransactWrite, comm: domain.Communication, now: datetime, *, keep_lease: bool = False
) -> None:
    """The outcome's conditional update: only while the writer still holds the message (its lease)."""
    tx.update(
        CommunicationModel(comm.company_id, comm.communication_id),
        actions=[
            attribute.remove() if value is _REMOVE else attribute.set(value)
            for attribute, value in _outcome_changes(comm, now, keep_lease=keep_lease)
        ],
        condition=CommunicationModel.state.is_in("queued", "sending")
        & (CommunicationModel.lease_until == comm.lease_until),
    )


def _await_reports(
    tx: TransactWrite, written: Sequence[domain.Communication], reports: ReportsAwaited | None
) -> None:
    if reports is None:
        return
    for comm in written:
        if reports.awaits(comm):
            reports.add(tx, comm)


_REMOVE = object()  # an attribute an outcome removes


def _outcome_changes(
    comm: domain.Communication, now: datetime, *, keep_lease: bool = False
) -> list[tuple[Any, Any]]:
    """What an outcome writes: (attribute, value), or (attribute, ``_REMOVE``). With
    ``keep_lease`` the lease stays on the item: it shows which hand-off recorded the outcome."""
    keys = _index_keys(comm)
    changes: list[tuple[Any, Any]] = [
        (CommunicationModel.state, comm.state),
        (CommunicationModel.updated_at, now),
    ]
    if not keep_lease or comm.state == "queued":  # a retry is the drain's from now on
        changes.append((CommunicationModel.lease_until, _REMOVE))
    if keys["history_key"] is not None:
        changes.append((CommunicationModel.status_key, keys["status_key"] or _REMOVE))
    optional: tuple[tuple[Any, Any], ...] = (
        (CommunicationModel.error, comm.error),
        (CommunicationModel.sent_at, comm.sent_at),
        # over SMTP the provider's id is the Message-ID we wrote: not stored twice (issue 14)
        (CommunicationModel.provider_message_id, _provider_id_to_store(comm)),
        (CommunicationModel.rfc_message_id, None if _is_own_message_id(comm) else comm.rfc_message_id),
        # the next attempt's time; a message done keeps none (its lease's end meant nothing)
        (CommunicationModel.not_before, comm.not_before if comm.state == "queued" else None),
    )
    changes += [(attribute, value) for attribute, value in optional if value is not None]
    if any(a.deleted_at for a in comm.attachments):  # D3: the files sent were deleted
        changes.append((CommunicationModel.attachments, _attachment_items(comm.attachments)))
    ready_outbox, ready_at = keys["ready_outbox"], keys["ready_at"]
    if ready_outbox is not None and ready_at is not None:  # queued again for a later attempt
        changes += [(CommunicationModel.ready_outbox, ready_outbox), (CommunicationModel.ready_at, ready_at)]
    else:
        changes += [(CommunicationModel.ready_outbox, _REMOVE), (CommunicationModel.ready_at, _REMOVE)]
    return changes


def record_handed_off_outcomes(
    outcomes: Sequence[domain.Communication], now: datetime, *, reports: ReportsAwaited | None = None
) -> list[domain.Communication]:
    """Write what became of messages a recorded hand-off held, as :func:`record_outcomes` does
    but without a transaction: conditional PartiQL ``UPDATE``s, 25 to a request (issue 14: 1 WRU
    per KB, not 2). The counters they move are not written here: the hand-off's worker counts
    its outcomes when it finishes, in the transaction that deletes its record, or the record's
    recovery does (``store.outbox.finish_handoff``, ``messaging.delivery.recover_handoffs``). A
    final outcome keeps the lease it was sent under: the recovery counts exactly the messages
    in a final state still carrying the record's lease (a drain's claim replaces it).

    An SMS that ``reports`` names is written in a transaction with its report item instead
    (decision 0023), 50 to a transaction; every other outcome (every e-mail) as above."""
    awaited = [c for c in outcomes if reports is not None and reports.awaits(c)]
    others = [c for c in outcomes if not (reports is not None and reports.awaits(c))]
    fresh: set[str] = set()
    if others:
        done = execute_all_or_drop([_outcome_statement(comm, now) for comm in others])
        fresh |= {comm.communication_id for comm, ok in zip(others, done, strict=True) if ok}
    if awaited:
        assert reports is not None

        def add(tx: TransactWrite, comm: domain.Communication) -> None:
            _update_outcome(tx, comm, now, keep_lease=True)

        half = _TX_ACTIONS // 2  # an outcome and its report item each
        for start in range(0, len(awaited), half):
            chunk = awaited[start : start + half]
            written = transact_all_or_drop(chunk, add, extra=lambda tx, w: _await_reports(tx, w, reports))
            fresh |= {comm.communication_id for comm in written}
    return [comm for comm in outcomes if comm.communication_id in fresh]


def _outcome_statement(comm: domain.Communication, now: datetime) -> dict[str, Any]:
    table = CommunicationModel.Meta.table_name
    sets: list[str] = []
    removes: list[str] = []
    parameters: list[dict[str, Any]] = []
    for attribute, value in _outcome_changes(comm, now, keep_lease=True):
        if value is _REMOVE:
            removes.append(f'REMOVE "{attribute.attr_name}"')
        else:
            sets.append(f'SET "{attribute.attr_name}"=?')
            parameters.append(attribute_value(attribute, value))
    lease = CommunicationModel.lease_until
    where = 'WHERE "company_id"=? AND "communication_id"=? AND "state" IN [?, ?] AND "lease_until"=?'
    parameters += [
        {"S": comm.company_id},
        {"S": comm.communication_id},
        {"S": "queued"},
        {"S": "sending"},
        attribute_value(lease, comm.lease_until),
    ]
    return {"Statement": f'UPDATE "{table}" {" ".join(sets + removes)} {where}', "Parameters": parameters}


def _provider_id_to_store(comm: domain.Communication) -> str | None:
    return None if comm.provider_message_id == comm.rfc_message_id else comm.provider_message_id


def _outcome_chunks(
    outcomes: Sequence[domain.Communication], reports: ReportsAwaited | None = None
) -> list[list[domain.Communication]]:
    """Outcomes packed into transactions of at most 100 actions: one per outcome, one per job
    or alert monitor whose counters they move (issue 14: a hand-off of 100 is 2 transactions),
    and one per SMS report item (``reports``)."""
    chunks: list[list[domain.Communication]] = []
    chunk: list[domain.Communication] = []
    counters: set[tuple[str, str]] = set()
    items = 0  # actions of the chunk's outcomes: their own and their report items'
    for outcome in outcomes:
        mine = {("job", outcome.job_id)} if outcome.job_id else set()
        mine |= {("alert", outcome.alert_type)} if outcome.alert_type else set()
        size = 2 if reports is not None and reports.awaits(outcome) else 1
        if chunk and items + size + len(counters | mine) > _TX_ACTIONS:
            chunks.append(chunk)
            chunk, counters, items = [], set(), 0
        chunk.append(outcome)
        counters |= mine
        items += size
    return [*chunks, chunk] if chunk else chunks


_FINAL_BUCKETS = {"sent": "sent", "failed": "failed", "suppressed": "skipped"}


def count_outcomes(tx: TransactWrite, outcomes: Sequence[domain.Communication], now: datetime) -> None:
    """Move the counters of the send jobs and alert monitors these outcomes end, in the
    transaction that records them: a crash can never leave a message recorded but not counted
    (or counted twice), so a job's progress is always the truth of its messages."""
    jobs: dict[tuple[str, str], Counter[str]] = {}
    alerts: dict[tuple[str, str], Counter[str]] = {}
    for outcome in outcomes:
        bucket = _FINAL_BUCKETS.get(outcome.state)
        if bucket is None:
            continue
        if outcome.job_id:
            jobs.setdefault((outcome.company_id, outcome.job_id), Counter())[bucket] += 1
        if outcome.alert_type:
            alerts.setdefault((outcome.company_id, outcome.alert_type), Counter())[bucket] += 1
    for (company_id, job_id), counts in jobs.items():
        tx.update(
            SendJobModel(company_id, job_id),
            actions=[SendJobModel.updated_at.set(now)]
            + [getattr(SendJobModel, name).add(n) for name, n in counts.items() if n],
        )
    for (company_id, alert_type), counts in alerts.items():
        tx.update(
            AlertScheduleModel(company_id, alert_type),
            actions=[
                AlertScheduleModel.sent_count.add(counts["sent"]),
                AlertScheduleModel.failed_count.add(counts["failed"] + counts["skipped"]),
            ],
        )


def set_delivery_state(
    comm: domain.Communication, state: str, at: datetime, detail: str | None = None
) -> domain.Communication:
    """A provider's later word on a sent message: delivered, bounced or complained."""
    updated = advance_delivery_state(comm, state, at, detail)
    return updated if updated is not None else comm


def advance_delivery_state(
    comm: domain.Communication,
    state: str,
    at: datetime,
    detail: str | None = None,
    *,
    from_states: Collection[str] | None = None,
) -> domain.Communication | None:
    """Move a sent message to ``state`` only while it is in one of ``from_states`` (any state
    when None), or already in ``state`` with another ``detail`` (a permanent bounce after a
    transient one). Returns the updated record, or None when nothing changed: the same
    notification applied twice writes once."""
    updated = replace(comm, state=state, updated_at=at, error=detail or comm.error)
    actions: list[Any] = [
        CommunicationModel.state.set(state),
        CommunicationModel.updated_at.set(at),
        *_status_key_actions(updated),
    ]
    if state == "delivered":
        actions.append(CommunicationModel.delivered_at.set(at))
        updated = replace(updated, delivered_at=at)
    if detail:
        actions.append(CommunicationModel.error.set(detail))
    condition: Any = CommunicationModel.communication_id.exists()
    if from_states is not None:
        allowed: Any = CommunicationModel.state.is_in(*from_states)
        if detail:
            allowed = allowed | (
                (CommunicationModel.state == state)
                & (CommunicationModel.error.does_not_exist() | (CommunicationModel.error != detail))
            )
        condition = condition & allowed
    try:
        CommunicationModel(comm.company_id, comm.communication_id).update(
            actions=actions, condition=condition
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
    return updated


def by_provider_message_id(provider_message_id: str) -> domain.Communication | None:
    """The message a provider's notification names (the index is keys-only: the item is read)."""
    for item in CommunicationModel.by_provider_message.query(provider_message_id, limit=1):
        return get(item.company_id, item.communication_id)
    return None


# --- listings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A listing's page; ``read``: the index entries DynamoDB read for it (its ``ScannedCount``)."""

    items: list[domain.Communication]
    cursor: dict[str, Any] | None
    read: int = 0


def id_range(since: datetime | None, until: datetime | None) -> tuple[str, str] | None:
    """Communication ids created in ``[since, until]``: ids begin with their creation time in
    milliseconds (hex), so a date range is a key condition on any listing, not a filter."""
    if since is None and until is None:
        return None
    low = f"{max(0, int(since.timestamp() * 1000)):012x}" if since else "0"
    high = f"{int(until.timestamp() * 1000):012x}~" if until else "~"
    return low, high


def _listing(
    index: Any,
    hash_key: str,
    *,
    limit: int,
    cursor: dict[str, Any] | None,
    filter_condition: Any,
    created: tuple[str, str] | None,
    text: str | None = None,
    states: Collection[str] | None = None,
    keep: Callable[[domain.Communication], bool] | None = None,
) -> Page:
    """Newest first. The index holds only the keys and the small attributes the filters read
    (issue 14): the other criteria are DynamoDB filters on it, and the page's items are read with
    ``BatchGetItem``. With a filter, DynamoDB reads up to ``_PAGE_READ`` entries a request and the
    page is filled to ``limit`` over as many requests as needed, up to :data:`READ_PER_PAGE`
    entries read; the cursor resumes after the last item returned, or where the reading stopped.
    Either way one entry past the page is read to tell whether another page follows: the page
    holding the index's last entry has no cursor, no empty page follows it. ``text`` and
    ``states`` (the message's state is not projected) are matched here, in the items read (see
    :func:`_matched_listing`), as is ``keep`` (what else an item must be)."""
    range_condition = CommunicationModel.communication_id.between(*created) if created else None
    cursor = checked_cursor(index, hash_key, cursor)
    if created:
        cursor = cursor_within(cursor, CommunicationModel.communication_id, *created)
    if text or states or keep:
        wanted = fold(text) if text else None
        return _matched_listing(
            index,
            hash_key,
            range_condition,
            limit=limit,
            cursor=cursor,
            filter_condition=filter_condition,
            matches=lambda comm: (
                (states is None or comm.state in states)
                and (wanted is None or wanted in _search_text(comm))
                and (keep is None or keep(comm))
            ),
        )
    if filter_condition is None:
        # One entry past the page tells whether another page follows: DynamoDB answers a
        # LastEvaluatedKey whenever it stops at Limit, even when nothing is left after it.
        entries = list(
            index.query(
                hash_key,
                range_condition,
                scan_index_forward=False,
                limit=limit + 1,
                page_size=limit + 1,
                last_evaluated_key=cursor,
            )
        )
        scanned, resume = len(entries), None
    else:
        read = _Reading()
        reading = _entries(index, hash_key, range_condition, cursor, filter_condition, read)
        entries = list(islice(reading, limit + 1))
        scanned, resume = read.scanned, read.resume
    if len(entries) > limit:
        entries = entries[:limit]
        resume = _index_key(index, entries[-1])
    items = _full_items(entries)
    return Page([items[e.communication_id] for e in entries if e.communication_id in items], resume, scanned)


_PAGE_READ = 200
_BATCH_GET = 100  # DynamoDB's limit of keys per BatchGetItem
# The index entries one page of a filtered or searched listing reads at most (its Query requests'
# ``ScannedCount``; a searched listing reads each entry's item too): a page costs the same in a
# company of a million messages as in one of a thousand. A rare match answers a page with fewer
# than ``limit`` items, even none, and a cursor to search on from where it stopped.
READ_PER_PAGE = 1_000


@dataclass
class _Reading:
    """What :func:`_entries` read: the entries DynamoDB scanned, and the key the listing resumes
    from when it stopped at :data:`READ_PER_PAGE` (None when the index ended)."""

    scanned: int = 0
    resume: dict[str, Any] | None = None


def _entries(
    index: Any,
    hash_key: str,
    range_condition: Any,
    cursor: dict[str, Any] | None,
    filter_condition: Any,
    read: _Reading,
) -> Iterator[CommunicationModel]:
    """The index's entries newest first from ``cursor``, filtered by DynamoDB, request after
    request until the index ends or the requests have read :data:`READ_PER_PAGE` entries."""
    pages = index.query(
        hash_key,
        range_condition,
        scan_index_forward=False,
        page_size=_PAGE_READ,
        last_evaluated_key=cursor,
        filter_condition=filter_condition,
    ).page_iter
    for page in pages:
        read.scanned += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", ()):
            yield CommunicationModel.from_raw_data(raw)
        read.resume = page.get("LastEvaluatedKey")
        if read.resume is None or read.scanned >= READ_PER_PAGE:
            return


def _full_items(entries: Sequence[CommunicationModel]) -> dict[str, domain.Communication]:
    """The stored items of a listing's index entries (all of one company), by id."""
    if not entries:
        return {}
    return get_many(entries[0].company_id, [e.communication_id for e in entries])


def _matched_listing(
    index: Any,
    hash_key: str,
    range_condition: Any,
    *,
    limit: int,
    cursor: dict[str, Any] | None,
    filter_condition: Any,
    matches: Callable[[domain.Communication], bool],
) -> Page:
    """A listing whose criteria include what the lean index cannot match (the text, the state):
    its entries (filtered by DynamoDB on the other criteria) are read ``_BATCH_GET`` at a time and
    matched here, until the page has ``limit`` matches, the index ends or :data:`READ_PER_PAGE`
    entries were read. The cursor is the index key of the last item returned (table keys and the
    index's hash key, as PynamoDB gives it), so the next page resumes right after it: nothing
    skipped, nothing repeated; or, when the reading stopped, the key DynamoDB stopped at. A full
    page whose last match was the index's last (nothing after it in what was read matches, and
    the index ended there, not the :data:`READ_PER_PAGE` share) has no cursor: no empty page
    follows it."""
    read = _Reading()
    entries = _entries(index, hash_key, range_condition, cursor, filter_condition, read)
    found: list[domain.Communication] = []

    def kept(entry: CommunicationModel, items: dict[str, domain.Communication]) -> bool:
        comm = items.get(entry.communication_id)
        return comm is not None and matches(comm)

    while chunk := list(islice(entries, _BATCH_GET)):
        items = _full_items(chunk)
        for at, entry in enumerate(chunk):
            if not kept(entry, items):
                continue
            found.append(items[entry.communication_id])
            if len(found) == limit:
                rest = chunk[at + 1 :]
                ended = (
                    not any(kept(e, items) for e in rest)
                    and next(entries, None) is None
                    and read.resume is None  # the index ended, not the reading's share
                )
                return Page(found, None if ended else _index_key(index, entry), read.scanned)
    return Page(found, read.resume, read.scanned)


def _index_key(index: Any, entry: CommunicationModel) -> dict[str, Any]:
    """The key a query of ``index`` resumes after ``entry`` from: the table's keys and the
    index's, serialized (the shape of DynamoDB's ``LastEvaluatedKey``)."""
    names = {"company_id", "communication_id"} | {a.attr_name for a in index.Meta.attributes.values()}
    serialized = entry.serialize(null_check=False)
    return {name: serialized[name] for name in sorted(names)}


def history_page(
    company_id: str,
    channel: str,
    *,
    status: str | None = None,
    limit: int = 50,
    cursor: dict[str, Any] | None = None,
    filter_condition: Any = None,
    created: tuple[str, str] | None = None,
    text: str | None = None,
) -> Page:
    """One channel's history, newest first, optionally one status group only; ``text``
    (folded: any case, accents or none) must be in the subject, an address, a name, a file's name
    or the text body.

    The ``not_sent``, ``bounced`` and ``received`` groups are read from ``by-status``. The
    ``sent`` group has no entries there (:func:`status_index_key`): it is the channel's outgoing
    messages in ``by-channel`` whose items are in a sent state, matched in the items the listing
    reads like the text (nearly every outgoing message is sent, so few are read for nothing).
    Entries an older version wrote in the ``sent`` group are no longer read."""
    if status == "sent":
        outgoing = CommunicationModel.direction == "out"
        return _listing(
            CommunicationModel.by_channel,
            f"{company_id}#{channel}",
            limit=limit,
            cursor=cursor,
            filter_condition=outgoing if filter_condition is None else filter_condition & outgoing,
            created=created,
            text=text,
            states=SENT_STATES,
        )
    index: Any = CommunicationModel.by_status if status else CommunicationModel.by_channel
    key = f"{company_id}#{channel}#{status}" if status else f"{company_id}#{channel}"
    return _listing(
        index, key, limit=limit, cursor=cursor, filter_condition=filter_condition, created=created, text=text
    )


def register_page(
    company_id: str,
    client_id: str,
    *,
    limit: int = 50,
    cursor: dict[str, Any] | None = None,
    filter_condition: Any = None,
    created: tuple[str, str] | None = None,
    text: str | None = None,
) -> Page:
    """A client's register, newest first; ``text`` as in :func:`history_page`."""
    return _listing(
        CommunicationModel.by_client,
        f"{company_id}#{client_id}",
        limit=limit,
        cursor=cursor,
        filter_condition=filter_condition,
        created=created,
        text=text,
    )


def listing_filter(
    *,
    kind: str | None = None,
    client_id: str | None = None,
    created_by: str | None = None,
    record_type: str | None = None,
    motive: str | None = None,
    area: str | None = None,
    direction: str | None = None,
    private_viewer: str | None = None,
) -> Any:
    """The filter a listing applies after its key condition (all given criteria combined), or
    None; every criterion is an attribute the listing indexes project (the text criterion is
    the listing's own ``text``, matched in the items read). ``record_type``
    matches a manual record's type or an automatic record's channel (``email``, ``sms``...);
    with ``private_viewer``, records from another user's private mailbox (H3) are left out."""
    parts: list[Any] = []
    if kind:
        parts.append(CommunicationModel.kind == kind)
    if client_id:
        parts.append(CommunicationModel.client_id == client_id)
    if created_by:
        parts.append(CommunicationModel.created_by == created_by)
    if record_type:
        parts.append(
            (CommunicationModel.record_type == record_type) | (CommunicationModel.channel == record_type)
        )
    if motive:
        parts.append(CommunicationModel.motive == motive)
    if area:
        parts.append(CommunicationModel.area == area)
    if direction:
        parts.append(CommunicationModel.direction == direction)
    if private_viewer:
        parts.append(
            CommunicationModel.private_to.does_not_exist() | (CommunicationModel.private_to == private_viewer)
        )
    condition = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def link_resend(company_id: str, original_id: str, resend_id: str, now: datetime) -> None:
    """Note on the original message that ``resend_id`` was sent again from it (H1); nothing when
    the original is gone (its client's erasure, started since the resend was written, took it)."""
    condition_held(
        lambda: CommunicationModel(company_id, original_id).update(
            actions=[
                CommunicationModel.resent_as.set((CommunicationModel.resent_as | []).append([resend_id])),
                CommunicationModel.updated_at.set(now),
            ],
            condition=CommunicationModel.communication_id.exists(),
        )
    )


def remove_from_register(company_id: str, communication_id: str, client_id: str, now: datetime) -> None:
    """Take a record out of its client's register: its ``by-client`` key becomes the client's
    :func:`about_key`, which no listing reads and the client's erasure does (the message still
    names the client). The item stays, so an outgoing or received message is still in the history."""
    update_fields(company_id, communication_id, {"client_key": about_key(company_id, client_id)}, now)


def update_fields(company_id: str, communication_id: str, fields: dict[str, Any], now: datetime) -> None:
    """Set (or, for None, remove) plain attributes of a communication that exists."""
    actions: list[Any] = [CommunicationModel.updated_at.set(now)]
    for name, value in fields.items():
        attribute = getattr(CommunicationModel, name)
        actions.append(attribute.set(value) if value is not None else attribute.remove())
    try:
        CommunicationModel(company_id, communication_id).update(
            actions=actions, condition=CommunicationModel.communication_id.exists()
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            raise LookupError(communication_id) from exc
        raise


def append_attachment(
    company_id: str, communication_id: str, ref: domain.AttachmentRef, now: datetime, *, at_most: int
) -> bool:
    """Add one attachment to a record that exists and holds fewer than ``at_most``; False (nothing
    written) when it does not. An update of the list, not a save of the record read before: two
    uploads at once each add theirs (a save would keep only the last, its file named by nothing)."""
    from pynamodb.expressions.condition import size

    attachments = CommunicationModel.attachments
    try:
        CommunicationModel(company_id, communication_id).update(
            actions=[
                CommunicationModel.updated_at.set(now),
                attachments.set((attachments | []).append(_attachment_items([ref]))),
            ],
            condition=CommunicationModel.communication_id.exists()
            & (attachments.does_not_exist() | (size(attachments) < at_most)),
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _notice_items(notices: Sequence[domain.RecordNotice]) -> list[RecordNoticeItem]:
    return [RecordNoticeItem(at=n.at, by=n.by, users=list(n.users)) for n in notices]


def append_notice(
    company_id: str, communication_id: str, notice: domain.RecordNotice, *, at_most: int
) -> bool:
    """Note on a record that colleagues were told of it (H2): an update of the list, so two
    notices at once both stay. False (nothing written) when the record is gone or holds
    ``at_most`` notices already."""
    from pynamodb.expressions.condition import size

    notices = CommunicationModel.notices
    try:
        CommunicationModel(company_id, communication_id).update(
            actions=[notices.set((notices | []).append(_notice_items([notice])))],
            condition=CommunicationModel.communication_id.exists()
            & (notices.does_not_exist() | (size(notices) < at_most)),
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


# --- inbound messages (I3) ---------------------------------------------------------------------


def by_rfc_message_id_in(company_id: str, rfc_message_id: str) -> domain.Communication | None:
    """A message of this company with that RFC Message-ID (the index is not scoped by company:
    another tenant's message with the same id is never returned). One we made names its message:
    it is read by key (issue 14: our e-mails are not in the index)."""
    own = communication_of_message_id(rfc_message_id)
    if own is not None:
        found = get(company_id, own)
        if found is not None and found.rfc_message_id == rfc_message_id:
            return found
    for item in CommunicationModel.by_rfc_message.query(
        rfc_message_id, filter_condition=CommunicationModel.company_id == company_id
    ):
        return get(company_id, item.communication_id)  # the index is keys-only
    return None


def unassigned_page(
    company_id: str,
    *,
    limit: int = 50,
    cursor: dict[str, Any] | None = None,
    thread_owner: str | None = None,
    automatic: bool | None = None,
) -> Page:
    """Inbound messages that matched no client, newest first; with ``thread_owner``, only those
    answering a message that user created; ``automatic`` False: only those a person wrote, True:
    only those a machine sent (``auto_submitted``, not in the lean index: matched on the items)."""
    return _listing(
        CommunicationModel.unassigned,
        company_id,
        limit=limit,
        cursor=cursor,
        filter_condition=(CommunicationModel.thread_owner == thread_owner) if thread_owner else None,
        created=None,
        keep=None if automatic is None else (lambda comm: bool(comm.auto_submitted) == automatic),
    )


def assign_client(
    company_id: str, communication_id: str, client_id: str, contact_id: str | None, now: datetime
) -> domain.Communication:
    """Put a message in a client's register (and out of the unassigned list). Raises LookupError
    when the company has no such message."""
    try:
        CommunicationModel(company_id, communication_id).update(
            actions=[
                CommunicationModel.client_id.set(client_id),
                CommunicationModel.client_key.set(f"{company_id}#{client_id}"),
                CommunicationModel.contact_id.set(contact_id)
                if contact_id
                else CommunicationModel.contact_id.remove(),
                CommunicationModel.unassigned_company.remove(),
                CommunicationModel.updated_at.set(now),
            ],
            condition=CommunicationModel.communication_id.exists(),
        )
    except UpdateError as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            raise LookupError(communication_id) from exc
        raise
    found = get(company_id, communication_id)
    if found is None:
        raise LookupError(communication_id)
    return found


# --- SES feedback by key (issue 14) --------------------------------------------------------------


def advance_email_state_by_key(
    company_id: str,
    communication_id: str,
    state: str,
    at: datetime,
    detail: str | None = None,
    *,
    from_states: Collection[str],
    to_addresses: Collection[str] = (),
) -> bool:
    """:func:`advance_delivery_state` for an outgoing e-mail known only by its key (an SES event
    tagged with it): one conditional ``UpdateItem``, nothing read first. The item moves only
    while it is an outgoing e-mail in one of ``from_states`` and, when ``to_addresses`` are given
    (at most 100), its ``to_address`` is one of them, compared exactly as stored (pass each
    address as the event writes it and lower-cased). Returns False when the condition does not
    hold (no such item, another state, another address): the caller reads the item to know why."""
    condition: Any = CommunicationModel.state.is_in(*from_states)
    if to_addresses:
        condition = condition & CommunicationModel.to_address.is_in(*to_addresses)
    return _advance_outgoing(company_id, communication_id, "email", state, at, detail, condition)


def _advance_outgoing(
    company_id: str,
    communication_id: str,
    channel: str,
    state: str,
    at: datetime,
    detail: str | None,
    condition: Any,
    also: Check | None = None,
) -> bool:
    """Move an outgoing message of ``channel`` to a delivery ``state`` (its history status key with
    it; ``delivered_at`` for ``delivered``; ``detail`` as its error) on ``condition``, in one
    conditional ``UpdateItem`` (with ``also``: in one transaction with what ``also`` writes). False
    when a condition does not hold."""
    actions: list[Any] = [
        CommunicationModel.state.set(state),
        CommunicationModel.updated_at.set(at),
        # what _index_keys gives an outgoing message in the history (none in the sent group)
        _status_key_action(status_index_key(company_id, channel, state)),
    ]
    if state == "delivered":
        actions.append(CommunicationModel.delivered_at.set(at))
    if detail:
        actions.append(CommunicationModel.error.set(detail))
    condition = (CommunicationModel.channel == channel) & (CommunicationModel.direction == "out") & condition
    if also is not None:
        write = also

        def build(tx: TransactWrite) -> None:
            tx.update(CommunicationModel(company_id, communication_id), actions=actions, condition=condition)
            write(tx)

        return transacted(build)
    return condition_held(
        lambda: CommunicationModel(company_id, communication_id).update(actions=actions, condition=condition)
    )


def advance_sms_state_by_key(
    company_id: str,
    communication_id: str,
    provider_message_id: str,
    state: str,
    at: datetime,
    detail: str | None = None,
    *,
    also: Check | None = None,
) -> bool:
    """The phone's final word on an SMS (``delivered`` or ``failed``; decision 0023): one
    conditional ``UpdateItem``, nothing read first, or, with ``also`` (the report item noting the
    event still to tell), one transaction. The item moves only while it is an outgoing SMS still
    ``sent`` under that gateway message id. Returns False when a condition does not hold (already
    moved, erased, another message, another run's report): the caller reads the item to know why."""
    condition = (CommunicationModel.state == "sent") & (
        CommunicationModel.provider_message_id == provider_message_id
    )
    return _advance_outgoing(company_id, communication_id, "sms", state, at, detail, condition, also)
