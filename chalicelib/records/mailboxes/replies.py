"""H3: answer, from the register, a record that came from an e-mail (sent by Pregón, received
through SES, or logged from a staff mailbox).

The answer is an ordinary message through the outbox (``messaging/outbox.enqueue`` ->
``prepare``): from the user's own sender account, else the area's, else ``all`` (C5, C1);
threaded to the message it answers (``In-Reply-To`` its Message-ID, ``References`` the thread's
ids and then ours, so the client's next answer comes back to the thread, I3); and, like every
message sent, a new record in the client's register.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from chalicelib.core.domain import Communication
from chalicelib.core.errors import Conflict
from chalicelib.messaging.accounts.email import AREAS, account_for
from chalicelib.messaging.outbox import OutgoingMessage, enqueue
from chalicelib.records.register import check_fields, get_record
from chalicelib.tenants.auth.principal import Principal
from chalicelib.tenants.clients import unless_erased

MAX_REFERENCES = 10
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|rv|sv)\s*:", re.IGNORECASE)


def _message_id(record: Communication) -> str | None:
    return record.rfc_message_id or record.headers.get("Message-ID")


def _subject(original: str | None) -> str:
    subject = (original or "").strip()
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}".strip()


def reply_to_record(
    viewer: Principal,
    client_id: str,
    record_id: str,
    *,
    text: str,
    html: str | None = None,
    subject: str | None = None,
    tags: Mapping[str, str | None] | None = None,
) -> Communication:
    """``tags``: the register's ``motive`` and ``area`` the answer is filed under, where the clerk
    chose them (None: none); those not given are the answered record's (seed 004: a reply is one
    more record of the same matter, which the clerk should not have to tag again)."""
    record = get_record(viewer, client_id, record_id)  # 404 for what the caller may not see
    tags = dict(tags or {})
    check_fields(viewer.company_id, tags)
    if record.channel not in ("email", "mailbox") or record.direction not in ("in", "out"):
        raise Conflict("only a record that came from an e-mail can be answered", field="record_id")
    message_id = _message_id(record)
    to_address = record.from_address if record.direction == "in" else record.to_address
    if not to_address:
        raise Conflict("this e-mail has no address to answer", field="record_id")
    area = record.sender_area or (record.area if record.area in AREAS else None) or "all"
    if account_for(viewer.company_id, area, personal_user=viewer.subject) is None:
        raise Conflict(
            "no working sender account: set up your own (PUT /users/{user_id}/sender-account), "
            f"the area {area!r}'s or 'all'",
            field="record_id",
        )
    # A message without a Message-ID (a script's, or `curl --upload-file` of a bare file) is still
    # answered: the client's program cannot thread it, but Pregón's own Reply-To still does (I3).
    thread = [r for r in (record.headers.get("References") or "").split() if r != message_id]
    references = " ".join(
        [*thread[-(MAX_REFERENCES - 1) :], message_id] if message_id else thread[-MAX_REFERENCES:]
    )
    headers = {"In-Reply-To": message_id} if message_id else {}
    if references:
        headers["References"] = references
    message = OutgoingMessage(
        channel="email",
        to_address=to_address,
        to_name=record.from_name if record.direction == "in" else record.to_name,
        subject=subject or _subject(record.subject),
        text=text,
        html=html,
        message_type="reply",
        kind="manual",
        client_id=record.client_id,
        contact_id=record.contact_id,
        area=area,
        personal_user=viewer.subject,
        cause=f"reply:{record.communication_id}",
        created_by=viewer.subject,
        headers=headers,
        in_reply_to=record.communication_id,
        thread_id=record.thread_id or record.communication_id,
        motive=tags.get("motive", record.motive),
        register_area=tags.get("area", record.area),
    )
    # To a client, written on condition that no erasure of it started since the record was read,
    # nor ended (``store.erasures.unerased``): the erasure finds the answer, or it is refused
    with unless_erased(viewer.company_id, record.client_id, gone_not_found=True) as checks:
        written = enqueue(viewer.company_id, [message], checks=checks)
    return written[0]
