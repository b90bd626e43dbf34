"""The outbox: the one way a message leaves Pregón (decide -> render -> **outbox** -> deliver -> record).

Producers (the tracking sweep, event messages, manual and bulk sends, auto-replies, resends) hand
rendered messages to :func:`enqueue`, or, to write them in a transaction of their own (the
tracking sweep's claim), take them from :func:`prepare`, the one way in that both go through.
Each becomes a ``queued`` communication in the outbox of the account that will send it
(``email:<area>`` for e-mail, ``sms``, ``push``), once per idempotency key, its body in S3 when
too large for an item, and the outbox is kicked over SQS. The worker
(:mod:`chalicelib.messaging.delivery`, run by ``on_sqs_message``) drains it within the account's
rate limit, retries transient failures with backoff and records every outcome on the same item,
which the history and the register read.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock, domain
from chalicelib.core.domain import AttachmentRef, Communication, SenderAccount
from chalicelib.core.files import discard_files
from chalicelib.core.links import own_message_id, reply_reference
from chalicelib.core.observability import channel_metric, logger
from chalicelib.core.settings import get_settings
from chalicelib.messaging.accounts.email import account_for, from_problem
from chalicelib.messaging.suppression import suppression_keys
from chalicelib.store import communications as store
from chalicelib.store.outbox import (
    HANDOFF_IDS,
    HandOff,
    forget_handoff,
    new_handoffs,
    save_handoffs,
    under_handoffs,
)
from chalicelib.store.tables import Check, CheckFailed

CHANNELS = ("email", "sms", "push")
#: Where a scheduled producer (the tracking sweep, the reminder run) writes a message it decided
#: can never go (no working sender account, its template failed, a refused From): ``queued``
#: with the reason in ``error``, so that the drain, which holds a lease, records it failed after
#: telling the company's webhooks, and a refused ``message.failed`` event leaves it for the lease
#: to bring back (decision 0018). Nothing is ever sent from it; reads show it ``failed``
#: (``Communication.shown_state``).
FAILING_OUTBOX = domain.FAILING_OUTBOX


def _addresses(comms: Sequence[Communication]) -> list[str]:
    """What a hand-off's SQS body names besides its ids: the suppression keys of its messages, so
    the worker reads the suppression list beside its messages rather than after them (issue 14)."""
    return list(dict.fromkeys(k for c in comms for k in suppression_keys(c)))


# A body larger than this goes to S3 and the item keeps a pointer (DynamoDB items hold 400 kB).
INLINE_BODY_LIMIT = 100_000


@dataclass(frozen=True)
class OutgoingMessage:
    """A decided and rendered message for one recipient.

    ``to_address`` is an e-mail address, an E.164 number (SMS) or an SNS endpoint ARN (push).
    ``idempotency_key`` makes enqueueing the same message twice a no-op (e.g. ``event:<id>:<client>``).
    ``area`` picks the sender account of an e-mail (C1), ``personal_user`` a user's own (C5).
    """

    channel: str
    to_address: str
    text: str
    subject: str | None = None
    html: str | None = None
    to_name: str | None = None
    message_type: str | None = None
    kind: str = "automatic"
    client_id: str | None = None
    contact_id: str | None = None
    area: str = "all"
    personal_user: str | None = None
    cause: str | None = None
    idempotency_key: str | None = None
    job_id: str | None = None
    resend_of: str | None = None
    alert_ref: str | None = None
    alert_type: str | None = None
    created_by: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRef, ...] = ()
    not_before: datetime | None = None
    # A reply (H3): the communication it answers and its thread; ``headers`` carry In-Reply-To
    # and the References it continues (our own reference is added after them).
    in_reply_to: str | None = None
    thread_id: str | None = None
    # The id to write it under, when the producer derives it from what the message is (a send
    # job's page: expanding it again names the same ids, so the id is the idempotency; issue 14).
    communication_id: str | None = None
    # Where replies go instead of the company's inbound address (a staff notice: the user who sent
    # it); None: the sender account's Reply-To, else the plus-addressed inbound one (I3).
    reply_to: str | None = None
    # A client the message names though it is not to them (a colleague's notice of its record):
    # the client's erasure erases it too (``Communication.about_client``).
    about_client: str | None = None
    # The register's motive and area the message is filed under (a reply takes those of what it
    # answers); ``area`` above is the sender account's.
    motive: str | None = None
    register_area: str | None = None
    # Why the message could not even be rendered (e.g. the company's template goes past the
    # sandbox's limits): it is recorded as failed with this reason and never sent.
    error: str | None = None


def outbox_of(channel: str, area: str | None = None) -> str:
    return f"email:{area}" if channel == "email" else channel


def _plain_text(message: OutgoingMessage) -> str:
    """An e-mail's plain-text body; when a company's template rendered it blank (a variable the
    send did not give, an ``if`` not taken) and its HTML is not, the HTML's text: the
    text/plain alternative is what text-only mail programs show and what spam filters compare
    with the HTML, so it is never sent blank beside an HTML body that says something."""
    if message.channel != "email" or message.text.strip() or not message.html:
        return message.text
    from chalicelib.core.plain_text import html_to_text

    return html_to_text(message.html) or message.text


def _communication_for(
    company_id: str,
    message: OutgoingMessage,
    now: datetime,
    account: SenderAccount | None = None,
) -> Communication:
    """The queued communication a message becomes (or a failed one, when no account can send it)."""
    communication_id = message.communication_id or store.new_communication_id(now)
    base = Communication(
        company_id=company_id,
        communication_id=communication_id,
        direction="out",
        channel=message.channel,
        kind=message.kind,
        state="queued",
        created_at=now,
        updated_at=now,
        message_type=message.message_type,
        client_id=message.client_id,
        contact_id=message.contact_id,
        outbox=outbox_of(message.channel, account.area if account else message.area),
        to_address=message.to_address,
        to_name=message.to_name,
        subject=message.subject,
        text=_plain_text(message),
        html=message.html,
        headers=dict(message.headers),
        attachments=message.attachments,
        not_before=message.not_before or now,
        cause=message.cause,
        idempotency_key=message.idempotency_key,
        job_id=message.job_id,
        resend_of=message.resend_of,
        alert_ref=message.alert_ref,
        alert_type=message.alert_type,
        created_by=message.created_by,
        in_reply_to=message.in_reply_to,
        thread_id=message.thread_id,
        about_client=message.about_client,
        motive=message.motive,
        area=message.register_area,
    )
    if message.error:
        return replace(base, state="failed", outbox=None, error=message.error)
    if message.channel != "email":
        return base
    if account is None:
        return replace(
            base,
            state="failed",
            outbox=None,
            error=f"no working sender account for the area {message.area!r} (nor the 'all' fallback)",
        )
    from chalicelib.messaging.addresses import reply_address

    references = reply_reference(company_id, communication_id)  # made in core.links
    return replace(
        base,
        sender_area=account.area,
        from_address=account.from_address,
        from_name=account.display_name,
        # replies reach Pregón (I3) and carry the message's id in the address they go to
        reply_to=message.reply_to or reply_address(company_id, communication_id, account.reply_to),
        rfc_message_id=own_message_id(communication_id, account.from_address),
        headers={
            **base.headers,
            "References": " ".join(filter(None, [base.headers.get("References"), references])),
        },
    )


Accounts = dict[tuple[str, str | None], SenderAccount | None]


def prepare(
    company_id: str,
    messages: Sequence[OutgoingMessage],
    *,
    now: datetime | None = None,
    accounts: Accounts | None = None,
    lease_until: datetime | None = None,
    failing_through_outbox: bool = False,
) -> list[Communication]:
    """The communications messages become, ready to be written: the one way into the outbox.

    Each e-mail gets the account that sends it (its area's, else the 'all' fallback, C1; a
    user's own, C5), or is failed when none works; a body too large for a DynamoDB item goes to
    S3 and the communication keeps a pointer. ``accounts`` holds accounts already resolved, by
    (area, personal user), and is filled as more are. :func:`enqueue` writes what this returns;
    the tracking sweep writes it inside its own claim transaction.

    With ``lease_until``, every message that may go now through an account without a rate limit
    is written already claimed until then (see :func:`born_claimed`): the producer then hands its
    ids to a worker (:func:`hand_off`) and no drain has to find, read back and claim it.

    With ``failing_through_outbox`` (a producer that writes them in a claim of its own), a
    message that fails is written ``queued`` in :data:`FAILING_OUTBOX` instead (see
    :func:`failing_later`), for the drain to record failed and tell."""
    now = now or clock.now()
    accounts = {} if accounts is None else accounts
    refusals: dict[str, str | None] = {}
    comms = []
    for message in messages:
        if message.channel not in CHANNELS:
            raise ValueError(f"unknown channel {message.channel!r}")
        account = None
        if message.channel == "email":
            wanted = (message.area, message.personal_user)
            if wanted not in accounts:
                accounts[wanted] = account_for(company_id, message.area, personal_user=message.personal_user)
            account = accounts[wanted]
            if account is not None and account.area not in refusals:
                refusals[account.area] = from_problem(account)
            if account is not None and refusals[account.area]:
                # C5: a personal account whose From is not its owner's fails the message, with why
                message = replace(message, error=refusals[account.area])
        comm = _offload_large_body(_communication_for(company_id, message, now, account))
        if failing_through_outbox:
            comm = failing_later(comm)
        if lease_until is not None and not (account is not None and account.rate_limit_count):
            comm = born_claimed(comm, now, lease_until)
        comms.append(comm)
    return comms


def failing_later(comm: Communication) -> Communication:
    """A message that fails as it is decided, as a scheduled producer writes it: ``queued`` in
    :data:`FAILING_OUTBOX` with the reason in ``error`` (the drain records it ``failed`` once its
    ``message.failed`` event is queued). Others are left as they are."""
    if comm.state != "failed":
        return comm
    return replace(comm, state="queued", outbox=FAILING_OUTBOX)


def failing(comm: Communication) -> bool:
    """Whether a message is one its producer decided can never go (:func:`failing_later`)."""
    return comm.outbox == FAILING_OUTBOX


def born_claimed(comm: Communication, now: datetime, lease_until: datetime) -> Communication:
    """A queued message that may go now, written as a drain's claim leaves it, but still shown
    ``queued``: its first attempt, leased until ``lease_until`` (its ``ready_at`` is the lease's
    end). The worker the producer hands it to owns it without a claim write; if that worker
    never comes or dies, the message is ready again when the lease ends and the outbox's wake-up
    (announced for then) finds it, exactly like a claimed message of a dead drain. Other
    messages are left as they are (failed ones, later not-before times)."""
    if comm.state != "queued" or comm.outbox is None or (comm.not_before or comm.created_at) > now:
        return comm
    return replace(comm, attempts=1, lease_until=lease_until, not_before=lease_until)


def enqueue(
    company_id: str,
    messages: Sequence[OutgoingMessage],
    *,
    kick: bool = True,
    handoff: bool | None = None,
    accounts: Accounts | None = None,
    checks: Sequence[Check] = (),
) -> list[Communication]:
    """Put messages in their outboxes and wake the outboxes up. Returns the communications
    written (a message whose idempotency key was used before is not written again).
    ``accounts``: sender accounts the caller resolved already (:func:`prepare`). ``checks``:
    conditions the messages are written on (``store.communications.add_new``'s); when one does
    not hold, nothing is written and ``store.tables.CheckFailed`` is raised. A message written
    with checks that fails as it is queued is told (``message.failed``) only once written: it
    goes ``queued`` to :data:`FAILING_OUTBOX` (:func:`failing_later`), whose drain records it
    failed and tells, and is returned as it will be, ``failed`` with its reason (telling before
    the write, as for the others, would tell of a message the checks then kept unwritten).

    With ``handoff`` (the default when ``kick``), messages that may go now are written claimed
    (:func:`born_claimed`), written down first in hand-off records instead of the ready index
    (issue 14), and, when ``kick``, handed to the workers by id (:func:`hand_off`);
    a caller that passes ``kick=False, handoff=True`` calls :func:`hand_off` itself, once what
    must be counted first is counted."""
    if not messages:
        return []
    handoff = kick if handoff is None else handoff
    now = clock.now()
    comms = prepare(
        company_id,
        messages,
        now=now,
        accounts=accounts,
        lease_until=now + _lease() if handoff else None,
        failing_through_outbox=bool(checks),
    )
    handoffs: list[HandOff] = []
    try:
        handoffs = _recorded_handoffs(company_id, comms) if handoff else []
        if handoffs:
            comms = under_handoffs(comms, handoffs)
        due = _due_by_outbox(comms)
        announce(company_id, due)
        comms, refused, not_told = announce_failed_at_once(company_id, comms, now)
        written = store.add_new([c for c in comms if c.communication_id not in refused], checks=checks)
    except CheckFailed as exc:  # those written before it (more than a transaction holds) stay
        _discard_unwritten_bodies(company_id, comms, exc.written, "a condition of their write did not hold")
        _forget_unwritten(company_id, handoffs, exc.written)
        raise
    except Exception:
        _discard_unwritten_bodies(company_id, comms, None, "their messages could not be written")
        raise
    _discard_unwritten_bodies(company_id, comms, written, "their messages were written before")
    _forget_unwritten(company_id, handoffs, written)
    announce(company_id, _due_by_outbox(written))
    if kick:
        hand_off(company_id, written)
    for channel, count in Counter(
        c.channel for c in written if c.state == "queued" and not failing(c)
    ).items():
        channel_metric("MessagesQueued", channel, count)
    failed = [c for c in written if c.state == "failed" or failing(c)]
    if failed:
        logger().warning(
            "messages not queued: no working sender account, or the template failed",
            extra={"company_id": company_id, "count": len(failed), "area": failed[0].outbox},
        )
    if not_told is not None:
        # the caller runs again (an ERP's request, answered 503 with Retry-After; a worker's
        # message, redelivered): those not written are told then, and written
        from chalicelib.core.errors import ServiceUnavailable

        raise ServiceUnavailable(FAILED_NOT_ANNOUNCED, retry_after=60) from not_told
    return [replace(c, state="failed") if failing(c) else c for c in written]


#: Why ``enqueue`` asks to be run again: messages that fail as they are queued were not recorded,
#: since the company's webhook queue refused their ``message.failed`` events.
FAILED_NOT_ANNOUNCED = (
    "some messages could not be recorded yet (the company's webhook event queue refused their events): "
    "try again in a minute"
)


def announce_failed_at_once(
    company_id: str, comms: Sequence[Communication], now: datetime
) -> tuple[list[Communication], set[str], Exception | None]:
    """Tell the company's webhooks (``message.failed``) of each message to a client that fails as
    it is queued (no working sender account, its template failed, C5's refused From), before it is
    written with the rest: ``enqueue`` leaves unwritten the ones whose event the queue refused
    (returned, with the first error), writes the others and then raises, so its caller runs again
    and tells and writes them then. A message an earlier run wrote (its idempotency key, or its
    derived id, taken) was told then, and is not told again. One with an idempotency key is told
    and written under the id the first request with that key named (``store.failure_id``): two
    identical requests at the very same moment tell one event, about the message one of them
    writes. Returns the messages (those ids in), the refused ids and the error. Costs nothing for
    a company without endpoints for ``message.failed``."""
    from chalicelib.messaging.webhooks.service import FAILED_CHANNELS, announce_failed, subscribed

    failing = [c for c in comms if c.state == "failed" and c.channel in FAILED_CHANNELS and c.client_id]
    if not failing or not subscribed(company_id, "message.failed"):
        return list(comms), set(), None
    new = {c.communication_id: c for c in failing if not _written_before(c)}
    named = {
        old: replace(c, communication_id=store.failure_id(c)) if c.idempotency_key else c
        for old, c in new.items()
    }
    comms = [named.get(c.communication_id, c) for c in comms]
    refused, error = announce_failed(company_id, list(named.values()), now)
    return comms, refused, error


def _written_before(comm: Communication) -> bool:
    if comm.idempotency_key:
        return store.existing_key(comm.company_id, comm.idempotency_key, consistent=True) is not None
    return store.get(comm.company_id, comm.communication_id) is not None


def enqueue_with_files(
    company_id: str,
    messages: Sequence[OutgoingMessage],
    stored: Sequence[AttachmentRef],
    what: str,
    **how: Any,
) -> list[Communication]:
    """:func:`enqueue` messages that name files this attempt ``stored`` (an invoice's PDF, a
    document's), then delete the stored files no written message names: none when another post of
    the same request wrote its messages first (idempotency keys), nor when the write failed. A
    file is kept when that cannot be told (a message without an idempotency key, a failed
    look-up): a file a written message names must never go. ``what`` names them in the log."""
    keys = [ref.key for ref in stored if ref.key]
    try:
        written = enqueue(company_id, messages, **how)
    except Exception:
        named = _named_after_failure(company_id, messages)
        if named is not None:
            unnamed = [key for key in keys if key not in named]
            discard_files(company_id, unnamed, what, "their messages could not be written")
        raise
    named = {ref.key for comm in written for ref in comm.attachments}
    discard_files(
        company_id, [key for key in keys if key not in named], what, "their messages were written before"
    )
    return written


def written_before(
    company_id: str, messages: Sequence[OutgoingMessage], written: Sequence[Communication]
) -> list[Communication]:
    """The messages an earlier request wrote under these messages' idempotency keys (those not in
    ``written``), as they are now: what a repeat of that request answers, so a caller whose first
    answer was lost learns what was queued for it (in ``messages``' order)."""
    mine = {c.idempotency_key for c in written}
    keys = [m.idempotency_key for m in messages if m.idempotency_key and m.idempotency_key not in mine]
    if not keys:
        return []
    ids = [store.existing_key(company_id, key, consistent=True) for key in keys]
    found = store.get_many_consistent(company_id, [i for i in ids if i])
    return [found[i] for i in ids if i and i in found]


def _named_after_failure(company_id: str, messages: Sequence[OutgoingMessage]) -> set[str] | None:
    """The files the messages written under these messages' idempotency keys name (a write that
    failed may have written some); None when that cannot be told. Read strongly: an eventually
    consistent read may miss a write whose answer was lost, and its files would go."""
    if any(not m.idempotency_key for m in messages):
        return None
    try:
        ids = [
            store.existing_key(company_id, m.idempotency_key, consistent=True)
            for m in messages
            if m.idempotency_key
        ]
        found = store.get_many_consistent(company_id, [i for i in ids if i])
    except Exception:
        logger().exception("could not tell whether a failed write of messages wrote some")
        return None
    return {ref.key for comm in found.values() for ref in comm.attachments if ref.key}


def _discard_unwritten_bodies(
    company_id: str, comms: Sequence[Communication], written: Sequence[Communication] | None, why: str
) -> None:
    """Delete the bodies :func:`prepare` put in S3 for messages that were not written (another
    request wrote them first, or the write failed: ``written`` None, then each is looked up, and
    every body kept when that fails)."""
    offloaded = [c for c in comms if c.body_key]
    if not offloaded:
        return
    if written is not None:
        mine = {c.communication_id for c in written}
    else:
        try:
            mine = {c.communication_id for c in offloaded if store.was_written(c)}
        except Exception:
            logger().exception("could not tell whether a failed write of messages wrote some")
            return
    discard_bodies(company_id, [c for c in offloaded if c.communication_id not in mine], why)


def discard_bodies(company_id: str, unwritten: Sequence[Communication], why: str) -> int:
    """Delete the bodies :func:`prepare` put in S3 for messages known not to be written (a
    producer's claim lost its race: the claim transaction wrote none of them); returns how many
    went. The messages decided again get bodies of their own."""
    return discard_files(company_id, [c.body_key for c in unwritten if c.body_key], "message bodies", why)


def _recorded_handoffs(company_id: str, comms: Sequence[Communication]) -> list[HandOff]:
    """Group the messages written claimed into hand-offs of up to ``HANDOFF_IDS`` (by outbox and
    lease) and write down each hand-off before the messages (``store.outbox.save_handoffs``):
    the record, not the ready index, finds them if their worker never sends them."""
    handoffs = new_handoffs(comms)
    if handoffs:
        save_handoffs(company_id, handoffs)
    return handoffs


def _forget_unwritten(company_id: str, handoffs: Sequence[HandOff], written: Sequence[Communication]) -> None:
    """A hand-off none of whose messages was written (all written before: a page expanded
    again) has nothing to find: its record goes at once."""
    mine = {c.communication_id for c in written}
    for handoff in handoffs:
        if not mine.intersection(handoff.ids):
            forget_handoff(company_id, handoff.token)


def _lease() -> timedelta:
    return timedelta(seconds=get_settings().outbox_lease_seconds)


def _due_by_outbox(comms: Sequence[Communication]) -> dict[str, datetime]:
    """When each outbox's new messages are due; a message written claimed is due when its lease
    ends (its ``not_before``): the wake-up that finds it if its worker never sends it. A message
    in a hand-off record is left out: the record is what finds it."""
    due: dict[str, datetime] = {}
    for comm in comms:
        if comm.state == "queued" and comm.outbox and comm.handoff is None:  # a record finds those
            when = comm.not_before or comm.created_at
            due[comm.outbox] = min(due.get(comm.outbox, when), when)
    return due


def announce(company_id: str, due: dict[str, datetime]) -> None:
    """Set each outbox's wake-up no later than when its new messages are due: the durable signal
    the minute schedule finds, whatever becomes of the SQS kick. Producers call it before they
    write messages (a crash in between leaves a harmless early wake-up) and after (a drain that
    settled the wake-up while they were writing cannot leave the messages unannounced)."""
    from chalicelib.store.outbox import wake_later

    for outbox, at in sorted(due.items()):
        wake_later(company_id, outbox, at)


def _offload_large_body(comm: Communication) -> Communication:
    size = len((comm.text or "").encode()) + len((comm.html or "").encode())
    if size <= INLINE_BODY_LIMIT:
        return comm
    from chalicelib.core.files import put_file

    body = json.dumps({"text": comm.text, "html": comm.html}).encode()
    ref = put_file(comm.company_id, "bodies", f"{comm.communication_id}.json", "application/json", body)
    return replace(comm, text=None, html=None, body_key=ref.key)


def message_body(comm: Communication) -> tuple[str, str | None]:
    """The text and HTML of a message as sent, wherever they are kept."""
    if comm.body_key is None:
        return comm.text or "", comm.html
    from chalicelib.core.files import read_file

    body = json.loads(read_file(comm.body_key))
    return str(body.get("text") or ""), body.get("html")


# --- kicking outboxes over SQS -----------------------------------------------------------------


def kick_outboxes(company_id: str, outboxes: set[str] | frozenset[str], *, workers: int = 1) -> None:
    """Ask the outbox workers to drain these outboxes now (``workers`` drains of each)."""
    if not outboxes:
        return
    from chalicelib.core.aws import send_json_messages

    bodies = [{"company_id": company_id, "outbox": outbox} for outbox in sorted(outboxes) * workers]
    send_json_messages(get_settings().outbox_queue, bodies)


def hand_off(company_id: str, comms: Sequence[Communication]) -> None:
    """Give the workers what was just written: the ids of the messages written claimed (in SQS
    messages of up to 200, each with the lease they hold, a token that lets only the first
    delivery of the SQS message send them, and their addresses' suppression keys), and an
    ordinary kick for outboxes with other queued messages (a rate limit, a later not-before).
    Nothing is searched or read back to find them. Messages :func:`enqueue` wrote down in a
    hand-off record go under that record's token (``"recorded": true``); others written claimed
    (the tracking sweep's) under a new one."""
    from chalicelib.core.aws import send_json_messages

    claimed: dict[tuple[str, datetime], list[Communication]] = {}
    recorded: dict[tuple[str, datetime, str], list[Communication]] = {}
    others: set[str] = set()
    for comm in comms:
        if comm.outbox is None:
            continue
        if comm.state == "queued" and comm.lease_until is not None and comm.handoff is not None:
            group = (comm.outbox, comm.lease_until, comm.handoff)
            recorded.setdefault(group, []).append(comm)
        elif comm.state == "queued" and comm.lease_until is not None:
            claimed.setdefault((comm.outbox, comm.lease_until), []).append(comm)
        elif comm.state == "queued":
            others.add(comm.outbox)
    bodies = [
        {
            "company_id": company_id,
            "outbox": outbox,
            "lease_until": until.isoformat(),
            "token": uuid.uuid4().hex,
            "ids": [c.communication_id for c in part],
            "addresses": _addresses(part),
        }
        for (outbox, until), written in sorted(claimed.items(), key=lambda kv: kv[0])
        for part in (written[start : start + HANDOFF_IDS] for start in range(0, len(written), HANDOFF_IDS))
    ] + [
        {
            "company_id": company_id,
            "outbox": outbox,
            "lease_until": until.isoformat(),
            "token": token,
            "recorded": True,
            "ids": [c.communication_id for c in written],
            "addresses": _addresses(written),
        }
        for (outbox, until, token), written in sorted(recorded.items(), key=lambda kv: kv[0])
    ]
    if bodies:
        send_json_messages(get_settings().outbox_queue, bodies)
    kick_outboxes(company_id, others)


class GatheredHandOffs:
    """A producer that writes its messages claimed in many small transactions, each with the
    hand-off record of what it wrote (the tracking sweep: at most 32 alerts a claim), gives them
    to the workers in SQS messages of several records, about :data:`HANDOFF_IDS` ids each
    (``"handoffs": [{"token", "ids"}, ...]`` and the ``"addresses"`` of all their messages), rather
    than one message per record: each worker
    invocation has fixed reads and writes (the tokens, the account, the messages' read, its
    last outcomes' write), which a claim's few dozen e-mails paid for alone (issue 14).

    The first records of each outbox and lease go at once, so a worker starts while the producer
    is still writing; later ones wait until :data:`HANDOFF_IDS` ids are gathered, or
    :meth:`flush`. Nothing is lost while they wait: every record is written with its messages,
    and the minute schedule finds one whose SQS message never left (``recover_handoffs``).
    Messages not under a record go through :func:`hand_off` at once. Thread-safe."""

    def __init__(self, company_id: str, size: int = HANDOFF_IDS) -> None:
        self._company_id = company_id
        self._size = size
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, datetime], list[tuple[str, list[Communication]]]] = {}
        self._started: set[tuple[str, datetime]] = set()

    def add(self, comms: Sequence[Communication]) -> None:
        records: dict[tuple[str, datetime, str], list[Communication]] = {}
        rest: list[Communication] = []
        for comm in comms:
            if comm.outbox and comm.state == "queued" and comm.lease_until is not None and comm.handoff:
                record = (comm.outbox, comm.lease_until, comm.handoff)
                records.setdefault(record, []).append(comm)
            else:
                rest.append(comm)
        bodies: list[dict[str, object]] = []
        with self._lock:
            for (outbox, until, token), written in records.items():
                group = (outbox, until)
                self._waiting.setdefault(group, []).append((token, written))
                if group not in self._started or sum(len(i) for _, i in self._waiting[group]) >= self._size:
                    self._started.add(group)
                    bodies.append(self._body(group, self._waiting.pop(group)))
        self._send(bodies)
        if rest:
            hand_off(self._company_id, rest)

    def flush(self) -> None:
        with self._lock:
            bodies = [self._body(group, records) for group, records in self._waiting.items()]
            self._waiting.clear()
        self._send(bodies)

    def _body(
        self, group: tuple[str, datetime], records: list[tuple[str, list[Communication]]]
    ) -> dict[str, object]:
        outbox, until = group
        return {
            "company_id": self._company_id,
            "outbox": outbox,
            "lease_until": until.isoformat(),
            "recorded": True,
            "handoffs": [
                {"token": token, "ids": [c.communication_id for c in written]} for token, written in records
            ],
            "addresses": _addresses([c for _, written in records for c in written]),
        }

    @staticmethod
    def _send(bodies: list[dict[str, object]]) -> None:
        if bodies:
            from chalicelib.core.aws import send_json_messages

            send_json_messages(get_settings().outbox_queue, bodies)
