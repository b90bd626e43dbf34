"""Draining an outbox: deliver -> record, within the account's rate limit, with retries.

A drain (one ``on_sqs_message`` invocation, or a wake-up) works on one outbox:

1. reads the oldest ready messages from the sparse ``ready`` index, 25 at a time;
2. counts them into the account's rate-limit window (C2) with a conditional update; when the
   window is full it stops and asks to be woken when the next window opens;
3. claims them (conditional updates: of two drains, one owns each message);
4. skips suppressed addresses (Q5, STOP; only the reply to an SMS's HELP passes), sends the rest
   over one session of the channel (one SMTP connection, SES, SNS, the SMS gateway) and records
   each outcome on the message: sent with the provider's id; a transient failure queued again
   after an exponential backoff; a permanent one (or the last attempt) failed with the provider's
   own text.

Outcomes are written by a background writer 25 at a time, so the connection never waits on
DynamoDB. A drain that runs out of time kicks its outbox again instead of running on, and gives
back what it claimed and did not start sending (the batch claimed ahead, the rest of its batch),
so the next drain takes it at once rather than when its lease ends.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.channels.accounts import email_channel
from chalicelib.channels.base import COMMUNICATION_HEADER, SEND_SECONDS, Channel, OutgoingChannelMessage
from chalicelib.channels.email import HeaderInjection
from chalicelib.core import clock
from chalicelib.core.domain import Communication, SenderAccount
from chalicelib.core.errors import DeliveryFailed, PregonError
from chalicelib.core.observability import channel_metric, logger, metrics
from chalicelib.core.settings import get_settings
from chalicelib.messaging.accounts.allowance_notice import allowance_reached
from chalicelib.messaging.delivery_reports import reports_awaited, reports_delivery
from chalicelib.messaging.send_room import RateLimit, Room, give_room_back, reserve_room
from chalicelib.messaging.suppression import holding_back, suppression_keys
from chalicelib.store import communications as store
from chalicelib.store import companies as company_store
from chalicelib.store import outbox as outbox_store
from chalicelib.store.communications import stamp

BATCH = 25
LEASE = timedelta(minutes=5)  # the default of PREGON_OUTBOX_LEASE_SECONDS
# No send starts this late in its claim on the message: one send takes at most SEND_SECONDS
# (``channels.base``), so it ends before the lease does and no other worker can own the message
# meanwhile. What is not sent by then is given back (``store.give_back``), claimable at once.
SEND_MARGIN = timedelta(seconds=SEND_SECONDS + 30)
# A drain stops claiming when its time (``PREGON_DRAIN_SECONDS``) is up and delivers what it
# claimed; it starts no send later than this after it, whatever the lease. So the function's
# timeout must be at least its time, this grace, one send and the last writes
# (``tests/integration/test_infrastructure.py`` checks the deployment's).
DRAIN_GRACE_SECONDS = 30
# The minute schedule drains due outboxes itself for this long in all; it hands the others to the
# outbox workers (SQS), whose function has the time for a long drain.
WAKE_SECONDS = 20
MAX_ATTEMPTS = 6
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=2)
ACCOUNT_RETRY = timedelta(minutes=15)
# Why a suspended company's outbox waits (docs/decisions/0033-a-company-leaves.md).
SUSPENDED = "the company is suspended: its messages wait until it is reopened or deleted"


def lease() -> timedelta:
    """How long a drain holds what it claimed (and the outbox's wake-up): a worker that dies
    leaves its messages to the next drain after this."""
    return timedelta(seconds=get_settings().outbox_lease_seconds)


def send_margin() -> timedelta:
    """How long before a lease's end no send starts: :data:`SEND_MARGIN`, or half the lease when
    the lease is set shorter than twice that (``PREGON_OUTBOX_LEASE_SECONDS``: the end-to-end
    crash test uses 20 s so as not to wait five minutes; with such a lease a send slower than half
    of it could outlive it, which the deployment's 300 s never allows)."""
    return min(SEND_MARGIN, lease() / 2)


def backoff(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1``: 1, 2, 4, 8, 16 minutes..., capped, with ±20 % jitter
    so that messages failed together do not come back together."""
    base = min(BACKOFF_BASE * (2 ** max(attempt - 1, 0)), BACKOFF_CAP)
    return base * random.uniform(0.8, 1.2)  # nosec B311 # jitter for a retry's delay, not a secret


@dataclass
class DrainReport:
    company_id: str
    outbox: str
    sent: int = 0
    failed: int = 0
    retried: int = 0
    suppressed: int = 0
    wake_at: datetime | None = None
    more: bool = False
    reason: str | None = None
    # the failing outbox's: how many of each channel (email, sms, push) it recorded failed
    decided: Counter[str] = field(default_factory=Counter)
    # the first send that failed or is tried again: its error as its history shows it, with the
    # recipient's address and name masked, and its id (the operator on call reads them in the log;
    # the history, the company's, keeps the words whole)
    error: str | None = None
    error_communication_id: str | None = None
    not_taken: int = 0  # attempts the provider refused before it had the message

    def failed_with(self, message: Communication, error: str | None) -> None:
        if self.error is None and error:
            from chalicelib.core.observability import masked

            said = masked(error, message.to_address, message.to_name)
            self.error, self.error_communication_id = said, message.communication_id


class _Composer:
    """Composes the next messages on a thread of their own while one is on the wire: the sender
    waits for the server's replies (four per e-mail over SMTP) without holding the interpreter, so
    the next MIME is built in that time and one connection is kept busy, as a plain loop cannot.
    A message that cannot be composed raises its error when its send asks for it."""

    AHEAD = 3  # messages composed ahead of the one being sent

    def __init__(self, channel: Channel | None) -> None:
        self._channel = channel
        self._pool = None
        if channel is not None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-compose")

    def _prepare(self, message: Communication) -> OutgoingChannelMessage:
        assert self._channel is not None
        return self._channel.prepare(_outgoing(message))

    def ahead(
        self, messages: Sequence[Communication], suppressed: dict[str, Any]
    ) -> Iterator[tuple[Communication, Callable[[], OutgoingChannelMessage]]]:
        """Each message with what composes it (already under way for the next ``AHEAD``);
        suppressed addresses are not composed."""
        pool = self._pool
        if pool is None:
            for message in messages:
                yield message, _later(message)
            return
        pending: deque[tuple[Communication, Future[OutgoingChannelMessage] | None]] = deque()
        upcoming = iter(messages)

        def top_up() -> None:
            while len(pending) <= self.AHEAD:
                message = next(upcoming, None)
                if message is None:
                    return
                skip = holding_back(message, suppressed) is not None
                pending.append((message, None if skip else pool.submit(self._prepare, message)))

        top_up()
        while pending:
            message, future = pending.popleft()
            top_up()
            yield message, (future.result if future is not None else _later(message))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _later(message: Communication) -> Callable[[], OutgoingChannelMessage]:
    return lambda: _outgoing(message)


def _outgoing(message: Communication) -> OutgoingChannelMessage:
    """What the channel sends for an outbox message: an e-mail with its body (from S3 when it
    was kept there), its attachments and our ``X-Pregon-Message`` header; an SMS's text; a push
    notification's title, text and the communication's id as data."""
    data = {"communication_id": message.communication_id}
    if message.channel != "email":
        return OutgoingChannelMessage(
            to_address=message.to_address or "",
            text=message.text or "",
            subject=message.subject or "",
            data=data,
        )
    from chalicelib.messaging.outbox import message_body

    attachments = tuple(_attachment(ref) for ref in message.attachments)
    text, html = message_body(message)
    return OutgoingChannelMessage(
        to_address=message.to_address or "",
        text=text,
        subject=message.subject or "",
        html=html,
        to_name=message.to_name or "",
        from_address=message.from_address or "",  # else the account's (channels.email.mime_of)
        from_name=message.from_name or "",
        reply_to=message.reply_to,
        headers={
            **message.headers,
            **_auto_submitted(message),
            COMMUNICATION_HEADER: message.communication_id,
        },
        attachments=attachments,
        message_id=message.rfc_message_id or f"<{message.communication_id}@pregon>",
    )


def _auto_submitted(message: Communication) -> dict[str, str]:
    """An e-mail no person wrote (``kind`` automatic: an invoice, a payment, a ticket, a pickup,
    a document, a bulk statement...) says so: ``Auto-Submitted: auto-generated`` (RFC 3834 5),
    which tells the client's vacation responder not to answer it. Its answer would come back
    through our Reply-To and be logged in the client's register as mail from the client. Staff
    replies, manual sends and resends (``manual``) carry none; a message that names its own
    value (tracking alerts, reminders, confirmations) keeps it."""
    if message.kind != "automatic" or any(name.lower() == "auto-submitted" for name in message.headers):
        return {}
    from chalicelib.core.links import AUTO_SUBMITTED

    return {"Auto-Submitted": AUTO_SUBMITTED}


def _attachment(ref: Any) -> tuple[str, str, bytes]:
    from botocore.exceptions import ClientError

    from chalicelib.core.files import read_file

    try:
        return ref.name, ref.content_type, read_file(ref.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        # e.g. a resend of a message whose PDF was deleted once sent (D3): failed, never retried
        gone = "was deleted after sending" if ref.deleted_at else "is no longer stored"
        raise DeliveryFailed(f"the attachment {ref.name!r} {gone}") from exc


@dataclass(frozen=True)
class _Setup:
    channel: Channel | None
    limits: tuple[RateLimit, ...]
    reason: str | None = None
    fail_all: bool = False
    account: SenderAccount | None = None
    # the failing outbox: each message fails with the reason its producer wrote (``error``)
    decided: bool = False
    # rate items read with the account (Pregón's e-mail allowance), for the first reservation only
    rates: Mapping[str, outbox_store.RateState] = field(default_factory=dict, compare=False)


def _setup(company_id: str, outbox: str) -> _Setup:
    """The outbox's channel (one per drain, closed at its end) and its account's rate limit."""
    from chalicelib.messaging.outbox import FAILING_OUTBOX

    if outbox == FAILING_OUTBOX:  # its producer decided they cannot go; recorded failed, and told
        return _Setup(None, (), None, fail_all=True, decided=True)
    kind, _, area = outbox.partition(":")
    if kind == "email":
        from chalicelib.messaging.accounts.email import from_problem, is_working, password_of
        from chalicelib.messaging.send_room import EMAIL_ALLOWANCE

        # the allowance's item comes with the account, in one request (issue 14's requests per e-mail)
        account, allowance = outbox_store.sender_account_with_rate(company_id, area, EMAIL_ALLOWANCE)
        if account is not None and account.suspended_at is not None:
            return _Setup(None, (), SUSPENDED)  # they wait: reopened, they go; deleted, they go with it
        if account is None or not is_working(account):
            return _Setup(None, (), f"the sender account {area!r} is missing, disabled or incomplete")
        refused = from_problem(account)  # C5: its owner's address changed since it was queued
        if refused:
            return _Setup(None, (), refused, fail_all=True)
        from chalicelib.messaging.accounts.email_allowance import email_limits

        working: SenderAccount = account
        channel = email_channel(working, lambda: password_of(working))
        return _Setup(channel, email_limits(working), account=working, rates={EMAIL_ALLOWANCE: allowance})
    if kind == "sms":
        from chalicelib.messaging.accounts.sms import send_limits, sms_sender_of
        from chalicelib.store.sms import get_sms_settings

        settings = get_sms_settings(company_id)
        if settings is not None and settings.suspended_at is not None:
            return _Setup(None, (), SUSPENDED)
        try:
            channel = sms_sender_of(settings)  # Conflict while SMS is off or incomplete
        except PregonError as exc:
            # SMS switched off: its messages are not kept for a later blast; they fail, recorded.
            return _Setup(None, (), exc.message, fail_all=True)
        assert settings is not None
        return _Setup(channel, send_limits(settings))
    if kind == "push":
        from chalicelib.channels.push import PushSender

        if not company_store.in_service(company_id):  # push reads nothing else: one read, push only
            return _Setup(None, (), SUSPENDED)
        return _Setup(PushSender(), ())
    return _Setup(None, (), f"unknown outbox {outbox!r}", fail_all=True)


QUEUED_WRITES = 1  # outcome writes that may wait behind the one under way


class _OutcomeWriter:
    """Writes outcomes in the background, 25 per transaction (90 for a hand-off), with job and
    monitor counters.

    At most ``QUEUED_WRITES`` writes wait behind the one under way: a batch that would be the next
    waits (and so does the drain's sending) until the oldest write ends. A database slower than
    the mail server then slows the sending down rather than piling up messages sent and not yet
    recorded, which a worker that dies would send again: those are at most the batch being
    written, the one waiting and the one being sent (75 e-mails for a drain). A write that failed
    stops the sending at the next batch (its error is the drain's, as at the end)."""

    def __init__(
        self, company_id: str, batch: int = BATCH, *, counted: bool = True, reported: bool = False
    ) -> None:
        self._company_id = company_id
        self._batch = batch
        self._counted = counted  # False: a recorded hand-off, which counts when it finishes
        self._reported = reported  # the channel's SMS get their final state read back
        self._pending: list[Communication] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-outcomes")
        self._writes: list[Future[list[Communication]]] = []
        self.written: list[Communication] = []

    def add(self, outcome: Communication) -> None:
        self._pending.append(outcome)
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            write = partial(_write_outcomes, counted=self._counted, reported=self._reported)
            self._writes.append(self._pool.submit(write, self._company_id, self._pending))
            self._pending = []
            if len(self._writes) > QUEUED_WRITES + 1:
                # one write runs at a time, in order: once this one ends, no more than
                # QUEUED_WRITES wait behind the one under way
                self._writes[-QUEUED_WRITES - 2].result()

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)
        for write in self._writes:
            # a failed write is the drain's error (the lease brings messages back)
            self.written += write.result()


def _write_outcomes(
    company_id: str, outcomes: list[Communication], *, counted: bool = True, reported: bool = False
) -> list[Communication]:
    """Record outcomes; the jobs' and alert monitors' counters move in the same transactions
    (not ``counted``: a recorded hand-off's, written without a transaction and counted when the
    hand-off ends). Files marked ``delete_after_sending`` (D3) are deleted from S3 once their
    message is recorded sent: a crash in between leaves the file to the bucket's lifecycle rule,
    never a record pointing at a file that is gone while the message may still be sent again.

    A message given up is announced to the company's webhooks first (:func:`_announce_given_up`);
    one whose event the queue refused is not written, the others are, and then this raises: the
    lease brings that message back (the rest, sent ones included, are recorded and never go
    twice).

    ``reported``: the SMS recorded sent get their phone's delivery report awaited, in the
    transaction that records them (``messaging.delivery_reports``, decision 0023)."""
    now = clock.now()
    outcomes = [_files_deleted(outcome, now) for outcome in outcomes]
    refused, error = _announce_given_up(company_id, outcomes, now)
    record = store.record_outcomes if counted else store.record_handed_off_outcomes
    reports = reports_awaited(now) if reported else None
    written = record([o for o in outcomes if o.communication_id not in refused], now, reports=reports)
    _delete_files([ref for outcome in written for ref in outcome.attachments if ref.deleted_at == now])
    if error is not None:
        raise error
    return written


def _announce_given_up(
    company_id: str, outcomes: list[Communication], now: datetime
) -> tuple[set[str], Exception | None]:
    """Tell the company's webhook endpoints (``message.failed``, docs/webhooks.md) of each e-mail,
    SMS or push notification to a client that the outbox gave up: refused for good (an SMTP
    server's 5xx, SES's API, the SMS provider, SNS for a device), its retries run out, or its
    account unable to send it at all. Done before the outcome is written; returns the messages
    whose event the queue refused (left unwritten, for the lease to bring back; their event id is
    the same the second time) and the first error. A message left for a retry is ``queued``, not
    announced. An e-mail SES took and then rejected is told from SES's feedback instead
    (``messaging.feedback``): that moves only a ``sent`` message, so never both."""
    from chalicelib.messaging.webhooks.service import announce_failed

    return announce_failed(company_id, outcomes, now)


def _files_deleted(outcome: Communication, now: datetime) -> Communication:
    if outcome.state != "sent" or not any(
        a.delete_after_sending and not a.deleted_at for a in outcome.attachments
    ):
        return outcome
    attachments = tuple(
        replace(a, deleted_at=now) if a.delete_after_sending and not a.deleted_at else a
        for a in outcome.attachments
    )
    return replace(outcome, attachments=attachments)


def _delete_files(refs: list[Any]) -> None:
    from chalicelib.core.files import delete_file

    for ref in refs:
        delete_file(ref.key)


def drain_outbox(
    company_id: str, outbox: str, *, seconds: float | None = None, held: str | None = None
) -> DrainReport:
    """Deliver what an outbox may send now. Safe to run several at once on one outbox.

    The drain first holds the outbox's wake-up at the end of its lease (``held``, when the
    schedule already took it): if this process dies anywhere below, the schedule drains the
    outbox again when the lease of what it claimed runs out. It settles the wake-up at the end."""
    report = DrainReport(company_id, outbox)
    deadline = time.monotonic() + (seconds if seconds is not None else get_settings().drain_seconds)
    if held is None:
        held = outbox_store.hold_wakeup(company_id, outbox, clock.now() + lease())
    setup = _setup(company_id, outbox)
    if setup.channel is None and not setup.fail_all:
        report.reason = setup.reason
        report.wake_at = clock.now() + ACCOUNT_RETRY
        outbox_store.settle_wakeup(company_id, outbox, held, report.wake_at)
        logger().warning(
            "outbox waits", extra={"company_id": company_id, "outbox": outbox, "reason": setup.reason}
        )
        return report
    writer = _OutcomeWriter(company_id, reported=reports_delivery(setup.channel))
    composer = _Composer(setup.channel)
    fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-claims")
    retry_at: datetime | None = None
    oldest = 0.0
    unsent: list[tuple[_Batch, list[Communication]]] = []  # claimed, and no send started
    refused: list[Room] = []  # the room of each attempt the provider did not take
    upcoming: Future[_Batch] | None = None
    try:
        # The next batch is read and claimed on another thread while this one is delivered,
        # so the connection does not wait on DynamoDB between batches.
        upcoming = fetcher.submit(_next_batch, company_id, outbox, setup, first=True)
        while upcoming is not None:
            batch = upcoming.result()
            upcoming = None
            if batch.stop:
                report.wake_at, report.reason = batch.wake_at, batch.reason
                if batch.allowance_reached and batch.room is not None:
                    allowance_reached(company_id, batch.room)
                break
            out_of_time = time.monotonic() > deadline
            if not out_of_time:
                upcoming = fetcher.submit(_next_batch, company_id, outbox, setup)
            # claimed: delivered even when time is up, but no send starts past the grace or
            # near the lease's end (the rest are given back)
            send_until = batch.now + lease() - send_margin()
            ahead = composer.ahead(batch.messages, batch.suppressed)
            for index, (message, outgoing) in enumerate(ahead):
                if time.monotonic() > deadline + DRAIN_GRACE_SECONDS or clock.now() >= send_until:
                    report.more = out_of_time = True
                    unsent.append((batch, batch.messages[index:]))
                    break
                waited = (batch.now - (message.not_before or message.created_at)).total_seconds()
                oldest = max(oldest, waited)
                not_taken = report.not_taken
                outcome = _deliver(setup, message, outgoing, batch.suppressed, batch.now, report)
                if report.not_taken > not_taken and batch.room is not None:
                    refused.append(batch.room)
                if outcome.state == "queued" and outcome.not_before is not None:
                    retry_at = min(retry_at or outcome.not_before, outcome.not_before)
                writer.add(outcome)
            if out_of_time:
                report.more = True
                break
    finally:
        try:
            composer.close()
            fetcher.shutdown(wait=True)
            writer.close()
        finally:
            if setup.channel is not None:
                setup.channel.close()
    prefetched = _claimed_ahead(upcoming)
    if prefetched is not None:
        unsent.append((prefetched, prefetched.messages))
    if unsent:
        _give_back(company_id, outbox, unsent)
    if refused:
        _room_back(company_id, outbox, refused)
        report.wake_at = None  # a window found full has room again: the retry's time decides
    _plan_next(report, retry_at, held)
    _report(report, oldest)
    return report


def _claimed_ahead(upcoming: Future[_Batch] | None) -> _Batch | None:
    """The batch claimed ahead on the other thread that the drain stopped before (None when there
    is none, or its claim failed: then nothing of it is known to be ours)."""
    if upcoming is None or upcoming.exception() is not None:
        return None
    batch = upcoming.result()
    return None if batch.stop else batch


def _give_back(
    company_id: str, outbox: str, unsent: Sequence[tuple[_Batch, Sequence[Communication]]]
) -> None:
    """A drain that stops (its grace, or the lease's margin) before sending messages it claimed
    gives them back at once (``store.give_back``), so the next drain, which its settled wake-up
    and its kick start now, takes them instead of waiting for their lease to end; and gives back
    the room it reserved for them under the account's rate limit. Should it die in between, what
    it did not give back goes when its lease ends, as a dead drain's claims do."""
    now = clock.now()
    for batch, messages in unsent:
        by_lease: dict[datetime, list[Communication]] = {}
        for message in messages:
            assert message.lease_until is not None  # claimed
            by_lease.setdefault(message.lease_until, []).append(message)
        back = sum(
            len(store.give_back(company_id, outbox, held, until, now)) for until, held in by_lease.items()
        )
        # this drain sent none of them: another drain that takes them counts them again
        give_room_back(company_id, batch.room, len(messages))
        logger().info(
            "outbox drain stopped: messages given back",
            extra={"company_id": company_id, "outbox": outbox, "count": back, "claimed": len(messages)},
        )


def _room_back(company_id: str, outbox: str, refused: Sequence[Room]) -> None:
    """Give back the room under every limit of the outbox (C2, Pregón's allowance) of each attempt
    the provider surely did not take (``DeliveryFailed.not_taken``: refused before it had it), so
    that its retry, or the next message, goes in this window: only what went counts. Done once per
    drain, after its sends (a read and a write of the rate item per minute the grants were booked
    in; nothing when every attempt was taken), with ``release_rate``'s exact conditional decrement.
    An attempt whose outcome is unknown (a reset after the body) keeps counting; so does all of a
    drain that dies before this: conservative, never an overshoot."""
    by_minute = Counter(
        (key, grant.minute) for room in refused for key, grant in room.grants if grant.minute is not None
    )
    for (key, minute), count in by_minute.items():
        outbox_store.release_rate(company_id, key, outbox_store.RateGrant(count, minute=minute), count)
    logger().info(
        "refused attempts no longer count in the rate limit",
        extra={"company_id": company_id, "outbox": outbox, "count": len(refused)},
    )


class _Sessions(threading.local):
    """E-mail sessions kept open between invocations of one worker (a warm Lambda container runs
    one invocation at a time; the local runner's threads each stand for one): hand-offs of 100
    messages would otherwise connect and log in to the account's server for every 100."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], tuple[_Setup, float]] = {}


_sessions = _Sessions()
SESSION_IDLE_SECONDS = 30.0  # a session idle longer is closed, not reused
_SESSIONS_KEPT = 8


def _session(company_id: str, outbox: str) -> tuple[_Setup, bool, Mapping[str, outbox_store.RateState]]:
    """The outbox's setup, reusing this worker's open session when the account read now is the
    one it was opened with (a changed password, server or limit opens a new one). Returns it,
    whether it was reused, and the rate items read now with the account."""
    fresh = _setup(company_id, outbox)
    key = (company_id, outbox)
    cached = _sessions.open.pop(key, None)
    now = time.monotonic()
    if cached is not None:
        old, last_used = cached
        if (
            fresh.account is not None
            and old.channel is not None
            and fresh.account == old.account
            and now - last_used < SESSION_IDLE_SECONDS
        ):
            _sessions.open[key] = (old, now)
            return old, True, fresh.rates
        if old.channel is not None:
            old.channel.close()
    if fresh.account is not None and fresh.channel is not None:  # e-mail only: SMS and push are stateless
        _sessions.open[key] = (fresh, now)
        while len(_sessions.open) > _SESSIONS_KEPT:
            oldest = min(_sessions.open, key=lambda k: _sessions.open[k][1])
            setup, _ = _sessions.open.pop(oldest)
            if setup.channel is not None:
                setup.channel.close()
    return fresh, False, fresh.rates


def _release(company_id: str, outbox: str, setup: _Setup, failed: bool) -> None:
    """Keep a session for the next invocation, or close it (not kept, or the drain failed)."""
    key = (company_id, outbox)
    kept = _sessions.open.get(key)
    if kept is not None and kept[0] is setup and not failed:
        _sessions.open[key] = (setup, time.monotonic())
        return
    if kept is not None and kept[0] is setup:
        del _sessions.open[key]
    if setup.channel is not None:
        setup.channel.close()


class _FirstSendRetried:
    """A reused session's connection may have been closed by the server while it was idle: its
    first send, failing transiently, is tried once more at once (the channel reconnects)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._first = True

    def prepare(self, message: OutgoingChannelMessage) -> OutgoingChannelMessage:
        return self._channel.prepare(message)

    def send(self, message: OutgoingChannelMessage) -> str | None:
        first, self._first = self._first, False
        try:
            return self._channel.send(message)
        except DeliveryFailed as exc:
            if not (first and exc.transient):
                raise
            try:
                return self._channel.send(message)
            except DeliveryFailed as again:
                again.not_taken = again.not_taken and exc.not_taken  # the first may have sent
                raise

    def close(self) -> None:
        self._channel.close()


# A hand-off's outcomes are written up to 90 to a transaction while the next are sent, and its
# last 20 on their own, so the invocation waits only for a short write at its end: 200 e-mails are
# 3 transactions (90, 90, 20), 100 are 2 (80, 20).
HANDOFF_WRITES = 90
HANDOFF_TAIL = 20
# A hand-off's messages (and its named addresses' suppressions) are read in requests of this many
# items (BatchGetItem's limit), all at once.
READ_ITEMS = 100


def deliver_handed_off(
    company_id: str,
    outbox: str,
    communication_ids: list[str],
    lease_until: datetime,
    token: str,
    *,
    recorded: bool = False,
    addresses: Sequence[str] | None = None,
) -> DrainReport:
    """Send messages their producer wrote claimed until ``lease_until`` and handed over by id
    (:func:`chalicelib.messaging.outbox.hand_off`): no index is searched and nothing is claimed.

    Exactly once: the producer's write is the claim (no drain sees the messages before the lease
    ends); of the SQS deliveries of one hand-off only the first takes its token (one conditional
    put); no send starts within ``SEND_MARGIN`` of the lease's end (what is left then, all of a
    hand-off delivered that late, is given back and the outbox kicked, so a drain sends it at
    once); outcomes are recorded only while the lease is still this one (``record_outcomes``'
    condition). A later delivery of the
    same hand-off (SQS is at-least-once; or this worker died) sends nothing while the lease holds
    and, once it ended, drains the outbox the usual way (claims). The safety net if no worker
    ever comes is, for a ``recorded`` hand-off, its record (the minute schedule puts what it
    still holds back in the ready index when the lease ends: :func:`recover_handoffs`; this
    worker deletes it once every message has an outcome), and otherwise the wake-up the
    producer announced for the lease's end (the messages are in the ready index all along)."""
    return deliver_hand_offs(
        company_id, outbox, [(token, communication_ids)], lease_until, recorded=recorded, addresses=addresses
    )


def deliver_hand_offs(
    company_id: str,
    outbox: str,
    handoffs: Sequence[tuple[str, Sequence[str]]],
    lease_until: datetime,
    *,
    recorded: bool = False,
    addresses: Sequence[str] | None = None,
) -> DrainReport:
    """:func:`deliver_handed_off` for several hand-offs of one outbox and lease handed over in
    one SQS message (``(token, ids)`` each: the tracking sweep gathers the records of its small
    claims, :class:`~chalicelib.messaging.outbox.GatheredHandOffs`), sent as one stream over one
    session. Each token is taken on its own (only the hand-offs this delivery took are sent),
    and each record is finished on its own with exactly its outcomes.

    ``addresses``, the suppression keys the producer named in the SQS body, are looked up on the
    suppression list beside the token takes and the messages' read rather than after it (one
    DynamoDB wait less before the first send); an address of a message that is not among them
    (a body written before they were named) is looked up after the read, as before."""
    report = DrainReport(company_id, outbox)
    if clock.now() >= lease_until:
        # Too late to send as handed off: a recorded hand-off is recovered now rather than at the
        # next minute (what its lease still holds goes back to the outbox), then a drain claims it.
        for token, _ in handoffs if recorded else ():
            found = outbox_store.get_handoff(company_id, token)
            if found is not None:
                _recover(company_id, *found, clock.now())
        return drain_outbox(company_id, outbox)
    communication_ids = [i for _, ids in handoffs for i in ids]

    named = set(addresses or ())

    parts = [communication_ids[n : n + READ_ITEMS] for n in range(0, len(communication_ids), READ_ITEMS)]
    named_keys = sorted(named)
    named_parts = [named_keys[n : n + READ_ITEMS] for n in range(0, len(named_keys), READ_ITEMS)]

    def read() -> tuple[list[Communication], dict[str, Any]]:
        messages = [m for part in readings for m in part.result()]
        # one read of the suppression list (100 addresses a request) for what the body did not name
        unnamed = [key for m in messages for key in suppression_keys(m) if key not in named]
        return messages, outbox_store.suppressed_among(company_id, unnamed) if unnamed else {}

    # The tokens, the messages (100 a request), the named addresses' suppressions and the account
    # are all read side by side: one round trip's wait, however many requests.
    threads = min(len(handoffs), 8) + len(parts) + len(named_parts) + 2
    with ThreadPoolExecutor(max_workers=min(threads, 32), thread_name_prefix="handoff-start") as start:
        takes = [
            start.submit(outbox_store.take_handoff, company_id, token, lease_until, recorded=recorded)
            for token, _ in handoffs
        ]
        readings = [start.submit(store.held, company_id, part, lease_until) for part in parts]
        listings = [start.submit(outbox_store.suppressed_among, company_id, part) for part in named_parts]
        reading = start.submit(read)
        session, reused, rates = _session(company_id, outbox)
        taken = [handoff for handoff, take in zip(handoffs, takes, strict=True) if take.result()]
        if not taken:
            report.reason = "hand-off already taken by another delivery of its SQS message"
            _release(company_id, outbox, session, False)
            return report
        messages, suppressed = reading.result()
        for listing in listings:
            suppressed = {**listing.result(), **suppressed}
    if len(taken) < len(handoffs):  # only what this delivery took is its to send
        ours = {i for _, ids in taken for i in ids}
        messages = [m for m in messages if m.communication_id in ours]
    if session.channel is None and not session.fail_all:
        # Left to the lease: the wake-up at its end drains the outbox, and waits for the account.
        report.reason = session.reason
        return report
    setup = session
    if reused and session.channel is not None:
        setup = replace(session, channel=_FirstSendRetried(session.channel))
    writer = _OutcomeWriter(
        company_id, HANDOFF_WRITES, counted=not recorded, reported=reports_delivery(session.channel)
    )
    composer = _Composer(setup.channel)
    retry_at: datetime | None = None
    oldest = 0.0
    failed = True
    left = False  # some messages are left to the lease (its end, or a rate limit)
    counted = len(messages)  # how many the rate window let through (all, without a limit)
    room: Room | None = None
    stopped_at: int | None = None  # where the lease's margin stopped the sends
    refused: list[Room] = []  # the room of each attempt the provider did not take
    margin = send_margin()
    now = clock.now()
    try:
        for index, (message, outgoing) in enumerate(composer.ahead(messages, suppressed)):
            now = clock.now()
            if now >= lease_until - margin:
                report.more = left = True
                stopped_at = index
                break
            if index == 0 and setup.limits:
                # Pregón's allowance, or a limit set after they were written: the whole hand-off
                # is counted at once (a read and a write of each limit's item per hand-off)
                room = reserve_room(company_id, setup.limits, now, len(messages), rates)
                counted = room.granted
                if room.allowance_reached:
                    allowance_reached(company_id, room)
            if index >= counted:
                # No room under a limit (Pregón's allowance, a rate limit): the rest wait in the
                # outbox, given back below, and go when a drain finds room for them
                left = True
                stopped_at = index
                break
            oldest = max(oldest, (now - message.created_at).total_seconds())
            not_taken = report.not_taken
            outcome = _deliver(setup, message, outgoing, suppressed, now, report)
            if report.not_taken > not_taken and room is not None:
                refused.append(room)
            if outcome.state == "queued" and outcome.not_before is not None:
                retry_at = min(retry_at or outcome.not_before, outcome.not_before)
            writer.add(outcome)
            if len(messages) - index - 1 == HANDOFF_TAIL:
                writer.flush()  # what is written after the last send is a short transaction
        failed = False
    finally:
        try:
            composer.close()
            writer.close()
        finally:
            _release(company_id, outbox, session, failed)
    if refused:
        _room_back(company_id, outbox, refused)
    given_back: list[str] = []
    if stopped_at is not None:
        # Too late to send the rest (a deep queue, a slow server), or no room for them under a
        # limit: given back now rather than left to the lease, with the room reserved for them; a
        # drain takes them (or, with no room, waits for it: they show as waiting meanwhile).
        given_back = store.give_back(company_id, outbox, messages[stopped_at:], lease_until, now)
        if counted > stopped_at:
            give_room_back(company_id, room, counted - stopped_at)
        if given_back:
            outbox_store.wake_later(company_id, outbox, now)
            logger().info(
                "hand-off stopped (too late, or no room under a limit): messages given back",
                extra={"company_id": company_id, "outbox": outbox, "count": len(given_back)},
            )
    if recorded:
        _finish(company_id, outbox, taken, lease_until, writer.written, left, set(given_back))
        if retry_at is not None:
            outbox_store.wake_later(company_id, outbox, retry_at)
        report.wake_at = retry_at
    else:
        # The producer announced the lease's end as the outbox's wake-up: now that the hand-off is
        # recorded, settle it to what still waits (a retry, another hand-off's lease), or clear it.
        candidates = [t for t in (retry_at, store.earliest_ready(company_id, outbox)) if t]
        report.wake_at = min(candidates) if candidates else None
        outbox_store.settle_wakeup(company_id, outbox, stamp(lease_until), report.wake_at)
    if given_back:
        from chalicelib.messaging.outbox import kick_outboxes

        report.wake_at = now
        kick_outboxes(company_id, {outbox})
    _report(report, oldest)
    return report


def _finish(
    company_id: str,
    outbox: str,
    taken: Sequence[tuple[str, Sequence[str]]],
    lease_until: datetime,
    written: Sequence[Communication],
    left: bool,
    given_back: Collection[str] = (),
) -> None:
    """Count what each record's messages recorded and forget the record, or keep in it what is
    left to the lease (not what was given back: a drain takes those now and counts them); a retry
    is in the ready index, due then. (Should a record have been taken by the recovery meanwhile,
    it counts instead.) Several records are finished side by side."""
    by_id = {c.communication_id: c for c in written}

    def finish(token: str, ids: Sequence[str]) -> None:
        outcomes = [by_id[i] for i in ids if i in by_id]
        rest = [i for i in ids if i not in by_id and i not in given_back] if left else []
        outbox_store.finish_handoff(company_id, outbox, token, lease_until, outcomes, rest, clock.now())

    if len(taken) == 1:
        finish(*taken[0])
        return
    with ThreadPoolExecutor(max_workers=min(len(taken), 8), thread_name_prefix="handoff-finish") as pool:
        for done in [pool.submit(finish, token, ids) for token, ids in taken]:
            done.result()


def _report(report: DrainReport, oldest: float) -> None:
    metrics().add_metric(name="MessagesSent", unit="Count", value=report.sent)
    metrics().add_metric(name="MessagesFailed", unit="Count", value=report.failed)
    from chalicelib.messaging.outbox import FAILING_OUTBOX

    if report.outbox == FAILING_OUTBOX:
        # its messages are each their own channel's failures; none waited for a channel to send
        for channel, failed in sorted(report.decided.items()):
            channel_metric("MessagesFailed", channel, failed)
    else:
        channel = report.outbox.partition(":")[0]
        channel_metric("MessagesSent", channel, report.sent)
        channel_metric("MessagesFailed", channel, report.failed)
        channel_metric("OutboxAgeSeconds", channel, oldest, unit="Seconds")
    logger().info(
        "outbox drained",
        extra={
            "company_id": report.company_id,
            "outbox": report.outbox,
            "sent": report.sent,
            "failed": report.failed,
            "retried": report.retried,
            "suppressed": report.suppressed,
            "reason": report.reason,
            "error": report.error,
            "error_communication_id": report.error_communication_id,
        },
    )


@dataclass(frozen=True)
class _Batch:
    now: datetime
    messages: list[Communication]
    suppressed: dict[str, Any]
    stop: bool = False
    wake_at: datetime | None = None
    reason: str | None = None
    room: Room | None = None  # the room reserved for ``messages``
    allowance_reached: bool = False  # stopped: the company's SMS (or SES e-mail) allowance is used up


def _next_batch(company_id: str, outbox: str, setup: _Setup, *, first: bool = False) -> _Batch:
    """Read the oldest ready messages, count them into the rate window, claim them, and look up
    which recipients are suppressed. ``stop`` when the outbox is empty or the window is full.
    ``first``: the drain's first batch, which reserves on the rate items read with its account."""
    known = setup.rates if first else None
    while True:
        now = clock.now()
        ready = store.ready_messages(company_id, outbox, now, BATCH)
        if not ready:
            return _Batch(now, [], {}, stop=True)
        room = None
        if setup.limits:
            room = reserve_room(company_id, setup.limits, now, len(ready), known)
            known = None  # read once: a later try reads them again
            if room.granted == 0:
                return _Batch(
                    now,
                    [],
                    {},
                    stop=True,
                    wake_at=room.room_at,
                    reason=room.reason,
                    room=room,
                    allowance_reached=room.allowance_reached,
                )
            ready = ready[: room.granted]
        owned = store.claim(ready, now, lease())
        give_room_back(company_id, room, len(ready) - len(owned))
        if owned:
            keys = list(dict.fromkeys(k for m in owned for k in suppression_keys(m)))
            suppressed = outbox_store.suppressed_among(company_id, keys)
            return _Batch(now, owned, suppressed, room=room)
        # another drain took all of these: look again


def _deliver(
    setup: _Setup,
    message: Communication,
    outgoing: Callable[[], OutgoingChannelMessage],
    suppressed: dict[str, Any],
    now: datetime,
    report: DrainReport,
) -> Communication:
    if setup.decided:  # failed as decided, suppressed address or not (the reason is written)
        report.failed += 1
        report.decided[message.channel] += 1
        return replace(message, state="failed")
    entry = holding_back(message, suppressed)  # a HELP reply is sent even to a STOPped number
    if entry is not None:
        report.suppressed += 1
        return replace(
            message, state="suppressed", error=f"not sent: the address is suppressed ({entry.reason})"
        )
    if setup.channel is None:
        report.failed += 1
        report.failed_with(message, setup.reason)
        return replace(message, state="failed", error=setup.reason)
    try:
        provider_id = setup.channel.send(outgoing())
    except DeliveryFailed as exc:
        report.failed_with(message, exc.message)
        report.not_taken += exc.not_taken
        if exc.transient and message.attempts < MAX_ATTEMPTS:
            report.retried += 1
            return replace(
                message, state="queued", not_before=now + backoff(message.attempts), error=exc.message
            )
        report.failed += 1
        return replace(message, state="failed", error=exc.message)
    except (HeaderInjection, PregonError) as exc:
        report.failed += 1
        report.failed_with(message, str(exc))
        return replace(message, state="failed", error=str(exc))
    report.sent += 1
    if provider_id is None:
        logger().warning(
            "sent, but the provider's answer named no message id we keep: no delivery report is asked",
            extra={
                "company_id": message.company_id,
                "communication_id": message.communication_id,
                "channel": message.channel,
            },
        )
    return replace(message, state="sent", sent_at=clock.now(), provider_message_id=provider_id, error=None)


def _plan_next(report: DrainReport, retry_at: datetime | None, held: str) -> None:
    """Settle the outbox's wake-up: now (out of time: kicked again, and woken at the next tick
    should the kick be lost), at the next window, at the earliest retry, or when a message that is
    not due yet (a later not-before, another drain's lease) becomes due; cleared when empty."""
    from chalicelib.messaging.outbox import kick_outboxes

    company_id, outbox = report.company_id, report.outbox
    if report.more:
        outbox_store.settle_wakeup(company_id, outbox, held, clock.now())
        kick_outboxes(company_id, {outbox})
        return
    candidates = [t for t in (report.wake_at, retry_at, store.earliest_ready(company_id, outbox)) if t]
    if candidates:
        report.wake_at = min(candidates) if report.wake_at is None else max(report.wake_at, min(candidates))
    outbox_store.settle_wakeup(company_id, outbox, held, report.wake_at)


def wake_due_outboxes(now: datetime | None = None) -> list[DrainReport]:
    """The minute schedule: drain every outbox whose wake-up time has come (a sparse index).

    Each wake-up is taken by moving it to the end of a lease, not by deleting it, so a drain
    that dies leaves the outbox to be found again. The drains here take :data:`WAKE_SECONDS` in
    all; an outbox due after that is kicked to the outbox workers instead (if that kick is lost,
    its wake-up is due again at the end of the lease it was taken for)."""
    from chalicelib.messaging.outbox import kick_outboxes

    now = now or clock.now()
    started = time.monotonic()
    recover_handoffs(now)
    reports = []
    for company_id, outbox, wake_at in list(outbox_store.due_wakeups(now)):
        held = outbox_store.take_wakeup(company_id, outbox, wake_at, now + lease())
        if held is None:
            continue  # another invocation took it
        left = WAKE_SECONDS - (time.monotonic() - started)
        try:
            if left <= 0:
                kick_outboxes(company_id, {outbox})
                continue
            reports.append(drain_outbox(company_id, outbox, held=held, seconds=left))
        except Exception:
            logger().exception("outbox wake-up failed", extra={"company_id": company_id, "outbox": outbox})
            outbox_store.wake_later(company_id, outbox, now + ACCOUNT_RETRY)
    return reports


def recover_handoffs(now: datetime | None = None) -> int:
    """The minute schedule, first: every hand-off record still there when its lease has ended
    (its worker died, never came, or left some messages to the lease) is recovered. Returns how
    many messages were put back in their outbox."""
    now = now or clock.now()
    back = 0
    for company_id, handoff, wake_at in outbox_store.due_handoffs(now):
        try:
            back += _recover(company_id, handoff, wake_at, now)
        except Exception:  # due again when the hold taken on it ends
            logger().exception("hand-off recovery failed", extra={"company_id": company_id})
    return back


def _recover(company_id: str, handoff: outbox_store.HandOff, wake_at: str, now: datetime) -> int:
    """Recover one hand-off whose lease ended: hold its record (one caller at a time; should it
    die, the record is due again when the hold ends), put the messages the lease still holds
    back in the outbox's ready index (taking the lease from them, so a late outcome of the worker
    is not recorded) and wake the outbox; then count what the worker recorded but never counted
    (a final state under this lease) and forget the record, in one transaction. Nothing is counted
    twice: the worker counts only while nobody holds its record. Returns how many were put back."""
    held = outbox_store.hold_handoff(company_id, handoff.token, wake_at, now + lease())
    if held is None:
        return 0  # another caller holds it, or its worker finished meanwhile
    back = store.back_to_ready(company_id, handoff.outbox, handoff.ids, handoff.lease_until)
    if back:
        outbox_store.wake_later(company_id, handoff.outbox, now)
        logger().warning(
            "hand-off not finished by its lease: its messages are back in the outbox",
            extra={"company_id": company_id, "outbox": handoff.outbox, "count": len(back)},
        )
    put_back = set(back)
    others = [i for i in handoff.ids if i not in put_back]
    recorded = store.recorded_under(company_id, others, handoff.lease_until) if others else []
    outbox_store.settle_recovered_handoff(company_id, handoff.token, held, recorded, now)
    return len(back)
