"""H3 synchronisation: mail to and from clients in a staff mailbox becomes register records.

A sync is a job: :func:`request_syncs` puts one SQS message per mailbox on
``pregon-mailbox-syncs`` (on adding a mailbox's password, on demand, and from the schedule), and
each message runs :func:`sync_mailbox` for one mailbox, so a slow or broken server (every socket
has a timeout, and all a sync says to it a deadline: :data:`SESSION_SECONDS`) holds up its own
sync only.

For each folder, incrementally: EXAMINE gives its UIDVALIDITY; when that is the one stored, only
UIDs above the last one read are searched (``UID SEARCH UID n:*``), else the folder is read from
the start (records are keyed by Message-ID, so nothing is logged twice). The address headers of
new messages are fetched first, in batches; only messages whose sender or recipients are a
client's (its e-mails or its contacts', as inbound mail matches, I3) are fetched whole, parsed
(``records/mime.py``) and logged, with their attachments in S3, a few at a time and at most
:data:`MESSAGE_BATCH_BYTES` together; one over :data:`MAX_MESSAGE_BYTES` is logged from its
headers only (its record says so). Progress is saved per batch.

A message is logged once per client: the ``message-keys`` item ``mailbox:<Message-ID hash>:<client>``
is written with the record in one transaction (two mailboxes holding the same message, or two
syncs racing, log it once), and one that Pregón itself sent or received (the same Message-ID on
a communication of the company) is not logged again.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.channels.deadlines import Deadline
from chalicelib.core import clock
from chalicelib.core.domain import AttachmentRef, Communication, FolderState, Mailbox
from chalicelib.core.observability import logger, masked
from chalicelib.records.automatic_mail import DELIVERY_REPORT, automatic_kind
from chalicelib.records.inbound_mail import (
    apply_report,
    find_parent,
    match_sender,
    reported_on,
    write_with_attachments,
)
from chalicelib.records.mailboxes import MAILBOX_SYNCS_QUEUE
from chalicelib.records.mailboxes.accounts import open_session
from chalicelib.records.mailboxes.imap import ImapFailed, ImapTimedOut, Session, server_text
from chalicelib.records.mime import ParsedMail, from_mail_system, parse_mail
from chalicelib.store import communications as records
from chalicelib.store import mailboxes as store

SYNC_EVERY = timedelta(minutes=15)  # the schedule's interval per mailbox
LEASE = timedelta(minutes=15)  # a sync's hold on its mailbox (a dead one's is taken after this)
HEADER_BATCH = 200  # address headers fetched per command
MESSAGE_BATCH = 10  # whole messages fetched per command
# A command fetches whole messages of at most this many bytes together (as the server counts them),
# so a batch of large attachments never holds more than this in a Lambda's memory at once.
MESSAGE_BATCH_BYTES = 24 * 1024 * 1024
# A message larger than this (SES's own limit for received mail) is logged from its headers only:
# read whole, parsed and its attachments kept, it could take a sync's Lambda past its memory, and
# the same batch would then fail at every sync, so nothing after it would ever be logged.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
MAX_SCANNED_PER_SYNC = 5000  # new messages looked at per sync; the rest go to a follow-up sync
# A sync's deadlines on its IMAP server, over all its reads and writes (``channels.deadlines``): a
# server that trickles its answers a byte every few seconds never trips a socket's timeout, and
# would hold the sync until its Lambda is killed (its 300 s, ``lambda_timeout`` of sync_mailbox in
# .chalice/config.json), on every schedule, with no error said. Instead it ends the sync with
# "timeout: the IMAP server did not finish within N s" as the monitor's last error.
#: Connecting, the greeting, STARTTLS and logging in (with the token request of an OAuth2 mailbox):
#: a working server takes a second or two.
LOGIN_SECONDS = 60.0
#: Everything the sync says to the server, from its start: it starts no new batch after
#: ``sync_seconds()`` (200), the batch under way may read until 270 s, and the last 30 s of the
#: Lambda's 300 are left for writing what that batch read and the monitor's record.
SESSION_SECONDS = 270.0


def syncs_queue() -> str:
    return os.environ.get("PREGON_MAILBOX_SYNCS_QUEUE", MAILBOX_SYNCS_QUEUE)


def sync_seconds() -> float:
    """How long one sync reads before it leaves the rest to a follow-up sync
    (``PREGON_MAILBOX_SYNC_SECONDS``, default 200: the worker's Lambda has 300)."""
    return float(os.environ.get("PREGON_MAILBOX_SYNC_SECONDS") or 200)


def timeout_seconds() -> float:
    """Every IMAP socket's timeout (``PREGON_IMAP_TIMEOUT_SECONDS``, default 20)."""
    return float(os.environ.get("PREGON_IMAP_TIMEOUT_SECONDS") or 20)


def request_syncs(company_id: str, mailbox_ids: list[str]) -> list[str]:
    """Put one sync message per mailbox on the queue (the fan-out); returns the ids queued."""
    from chalicelib.core.aws import send_json_messages

    ids = list(dict.fromkeys(mailbox_ids))
    if ids:
        send_json_messages(syncs_queue(), [{"company_id": company_id, "mailbox_id": m} for m in ids])
    return ids


def request_due_syncs(now: datetime | None = None) -> int:
    """The schedule: queue a sync of every mailbox whose time has come (a query of the sparse
    ``mailbox-syncs`` index, never a scan); each is moved to its next turn as it is queued."""
    now = now or clock.now()
    due: dict[str, list[str]] = {}
    for company_id, mailbox_id in list(store.due_syncs(now)):
        store.schedule_sync(company_id, mailbox_id, now + SYNC_EVERY)
        due.setdefault(company_id, []).append(mailbox_id)
    return sum(len(request_syncs(company_id, ids)) for company_id, ids in sorted(due.items()))


@dataclass
class SyncReport:
    mailbox_id: str
    ran: bool = True
    logged: int = 0
    scanned: int = 0
    error: str | None = None
    more: bool = False
    folders: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # messages that could not be logged at all
    deadline: float = field(default_factory=lambda: time.monotonic() + sync_seconds())


#: The monitor's last error while the company is suspended (its mail is not read meanwhile).
SUSPENDED = "the company is suspended: its mailboxes are not read until Pregón reopens it"


def sync_mailbox(company_id: str, mailbox_id: str) -> SyncReport:
    """Sync one mailbox (the SQS worker's job). Never raises for the mailbox's own failures: they
    are the monitor's ``last_error``; a failure of our own store raises, and the message is retried."""
    now = clock.now()
    mailbox = store.claim_sync(company_id, mailbox_id, now, now + LEASE)
    if mailbox is None:  # deleted, or another sync holds it
        return SyncReport(mailbox_id, ran=False)
    from chalicelib.tenants.companies import company_in_service

    if not company_in_service(company_id):  # decision 0033: a company that left is not read
        store.finish_sync(company_id, mailbox_id, clock.now(), SUSPENDED, clock.now() + SYNC_EVERY)
        return SyncReport(mailbox_id, ran=False)
    report = SyncReport(mailbox_id)
    errors: list[str] = []
    wait = timeout_seconds()
    session_deadline = Deadline(SESSION_SECONDS, wait=wait)
    try:
        if mailbox.enabled:
            with open_session(mailbox, Deadline(min(LOGIN_SECONDS, SESSION_SECONDS), wait=wait)) as imap:
                imap.bound(session_deadline)
                _sync_folders(imap, mailbox, report, errors)
    except (ImapFailed, imaplib.IMAP4.error, OSError) as exc:
        errors.append(server_text(exc))
    except Exception as exc:  # our own store or KMS: retried by SQS; the monitor says it failed
        errors.append(f"the sync stopped ({type(exc).__name__}); it is tried again")
        raise
    finally:
        report.error = "; ".join(errors + list(dict.fromkeys(report.skipped)))[:1000] or None
        next_at = clock.now() + SYNC_EVERY if mailbox.enabled else None
        store.finish_sync(company_id, mailbox_id, clock.now(), report.error, next_at)
    if report.more:
        request_syncs(company_id, [mailbox_id])
    extra = {"company_id": company_id, "mailbox_id": mailbox_id, "logged": report.logged}
    if report.error:
        # the server's words may quote the login: masked with it (the monitor shows them whole)
        said = masked(report.error, mailbox.username)
        logger().warning("mailbox sync failed", extra={**extra, "error": said})
    else:
        logger().info("mailbox synced", extra={**extra, "scanned": report.scanned})
    return report


def _sync_folders(imap: Session, mailbox: Mailbox, report: SyncReport, errors: list[str]) -> None:
    state = dict(mailbox.folder_state)
    for folder in mailbox.folders:
        try:
            _sync_folder(imap, mailbox, folder, state, report)
        except ImapTimedOut:  # the connection is of no use any more: the sync ends, saying so
            raise
        except ImapFailed as exc:  # a folder that does not exist: the others are still read
            errors.append(str(exc))
        except imaplib.IMAP4.abort as exc:  # the connection is broken (imaplib): the sync ends here
            errors.append(f"{folder}: {server_text(exc)}")
            return
        except imaplib.IMAP4.error as exc:
            errors.append(f"{folder}: {server_text(exc)}")
        if report.more:
            return


def _sync_folder(
    imap: Session, mailbox: Mailbox, folder: str, state: dict[str, FolderState], report: SyncReport
) -> None:
    uidvalidity, _ = imap.examine(folder)
    known = state.get(folder)
    last_uid = known.last_uid if known is not None and known.uidvalidity == uidvalidity else 0
    uids = imap.uids_after(last_uid)
    logged_here = 0
    if not uids and (known is None or known.uidvalidity != uidvalidity):
        state[folder] = FolderState(uidvalidity, last_uid)
        store.save_progress(mailbox.company_id, mailbox.mailbox_id, state)
    cache: dict[str, tuple[str | None, str | None]] = {}
    for start in range(0, len(uids), HEADER_BATCH):
        if report.scanned >= MAX_SCANNED_PER_SYNC or time.monotonic() > report.deadline:
            report.more = True
            break
        batch = uids[start : start + HEADER_BATCH]
        sizes: dict[int, int] = {}
        headers = imap.headers(batch, sizes)
        company_id = mailbox.company_id
        wanted = [uid for uid in batch if _wanted(company_id, parse_mail(headers.get(uid, b"")), cache)]
        logged = 0
        too_large = {uid for uid in wanted if sizes.get(uid, 0) > MAX_MESSAGE_BYTES}
        if too_large:
            for uid, header in sorted(imap.whole_headers(sorted(too_large)).items()):
                logged += _log_or_say(mailbox, header, cache, report, too_large=sizes[uid])
        for chunk in _message_batches([uid for uid in wanted if uid not in too_large], sizes):
            for _, raw in sorted(imap.messages(chunk).items()):
                logged += _log_or_say(mailbox, raw, cache, report)
        report.scanned += len(batch)
        logged_here += logged
        state[folder] = FolderState(uidvalidity, batch[-1])
        store.save_progress(mailbox.company_id, mailbox.mailbox_id, state)
    report.logged += logged_here
    report.folders[folder] = logged_here


def _log_or_say(
    mailbox: Mailbox,
    raw: bytes,
    cache: dict[str, tuple[str | None, str | None]],
    report: SyncReport,
    *,
    too_large: int | None = None,
) -> int:
    """:func:`log_message`; a message that fails to be logged for something in it (it would fail
    the same way at every retry, and nothing after it would ever be logged) is logged from its
    headers only, saying so, or, when even that fails, skipped and named in the sync's error."""
    from chalicelib.records.inbound_mail import unloggable

    try:
        return log_message(mailbox, raw, cache, too_large=too_large)
    except Exception as exc:
        if not unloggable(exc):
            raise
        logger().exception(
            "mailbox message could not be logged as read", extra={"mailbox_id": mailbox.mailbox_id}
        )
        problem = f"{type(exc).__name__}"
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\r\n\r\n"
    try:
        return log_message(mailbox, headers, cache, unreadable=problem)
    except Exception as exc:
        if not unloggable(exc):
            raise
        report.skipped.append(
            f"a message could not be read ({type(exc).__name__}): it is still in the mailbox"
        )
        return 0


def _message_batches(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    """The messages in fetch commands of at most :data:`MESSAGE_BATCH` messages and
    :data:`MESSAGE_BATCH_BYTES` bytes (a larger message alone); a size the server did not say
    counts as nothing."""
    batches: list[list[int]] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if not batches or len(batches[-1]) >= MESSAGE_BATCH or total + size > MESSAGE_BATCH_BYTES:
            batches.append([])
            total = 0
        batches[-1].append(uid)
        total += size
    return batches


def _client_of(
    company_id: str, address: str, cache: dict[str, tuple[str | None, str | None]]
) -> tuple[str | None, str | None]:
    if address not in cache:
        client, contact, _ = match_sender(company_id, address)
        cache[address] = (client, contact)
    return cache[address]


def _clients_in(
    company_id: str, parsed: ParsedMail, cache: dict[str, tuple[str | None, str | None]]
) -> tuple[str, dict[str, tuple[str | None, str]]]:
    """The direction and the clients a message is with: ``in`` when its sender is a client's
    address (that one client), else ``out`` to each client among its recipients. Each client
    maps to its contact (or None) and the address that matched."""
    if parsed.from_address:
        client, contact = _client_of(company_id, parsed.from_address.lower(), cache)
        if client is not None:
            return "in", {client: (contact, parsed.from_address.lower())}
    found: dict[str, tuple[str | None, str]] = {}
    for address in [*parsed.to, *parsed.cc]:
        client, contact = _client_of(company_id, address.lower(), cache)
        if client is not None and client not in found:
            found[client] = (contact, address.lower())
    return "out", found


def _wanted(company_id: str, parsed: ParsedMail, cache: dict[str, tuple[str | None, str | None]]) -> bool:
    """Whether a message, by its address headers, is read whole: a client is in it, or the mail
    system sent it (``MAILER-DAEMON@``, ``postmaster@``: a bounce may name one of our messages)."""
    return bool(_clients_in(company_id, parsed, cache)[1]) or from_mail_system(parsed.from_address)


def _bounced(
    company_id: str, parsed: ParsedMail
) -> tuple[Communication | None, dict[str, tuple[str | None, str]]]:
    """A delivery report (RFC 3464, or a bounce in plain text) in the mailbox, which names no
    client: the message of the company it reports on (its returned Message-ID or our reply
    token), and that message's client, whose register it goes in."""
    if parsed.report is None or automatic_kind(parsed) != DELIVERY_REPORT:
        return None, {}
    parent = reported_on(company_id, parsed)
    if parent is None or not parent.client_id:
        return None, {}
    return parent, {parent.client_id: (None, (parsed.from_address or "").lower())}


def _key(parsed: ParsedMail, raw: bytes, client_id: str) -> str:
    """The message's idempotency key for one client: its Message-ID (or, lacking one, its bytes)."""
    basis = f"id:{parsed.message_id}".encode() if parsed.message_id else b"raw:" + raw
    return f"mailbox:{hashlib.sha256(basis).hexdigest()[:40]}:{client_id}"


def _when(parsed: ParsedMail, now: datetime) -> datetime:
    """The message's date (its Date header, in UTC; never in the future), else now."""
    if parsed.date is None:
        return now
    date = parsed.date if parsed.date.tzinfo else parsed.date.replace(tzinfo=timezone.utc)
    return min(date.astimezone(timezone.utc), now)


def log_message(
    mailbox: Mailbox,
    raw: bytes,
    cache: dict[str, tuple[str | None, str | None]] | None = None,
    *,
    too_large: int | None = None,
    unreadable: str | None = None,
) -> int:
    """Log one message of the mailbox in the register of each client it is with; returns how many
    records were written (0 for a message logged before or that Pregón sent or received itself).
    ``too_large``: ``raw`` is only the headers of a message of that many bytes, over
    :data:`MAX_MESSAGE_BYTES`; its record says so, with no body and no attachments.
    ``unreadable``: ``raw`` is only the headers of a message that failed so to be logged whole."""
    company_id = mailbox.company_id
    parsed = parse_mail(raw)
    direction, clients = _clients_in(company_id, parsed, {} if cache is None else cache)
    reported: Communication | None = None
    if not clients:  # a bounce names no client: the message it reports on does (decision 0030)
        reported, clients = _bounced(company_id, parsed)
        direction = "in"
    if not clients:
        return 0
    if parsed.message_id:
        known = records.by_rfc_message_id_in(company_id, f"<{parsed.message_id}>")
        if known is not None and known.mailbox_id is None:
            return 0  # Pregón sent or received it: it is in the register already
    keys = {client: _key(parsed, raw, client) for client in clients}
    keys = {client: key for client, key in keys.items() if records.existing_key(company_id, key) is None}
    if not keys:
        return 0
    now = clock.now()
    when = _when(parsed, now)
    parent = reported or find_parent(company_id, parsed)
    if reported is not None and parsed.report is not None:
        # as the inbound address applies it, before the record is written: a failure here fails
        # the sync's batch, which the next sync reads again
        apply_report(reported, parsed.report, f"mailbox:{mailbox.mailbox_id}:{next(iter(keys.values()))}")
    said: str | None = None  # the record's error instead of what parsing found
    if too_large is not None:
        said = (
            f"the message is {too_large / 2**20:.1f} MB, over the {MAX_MESSAGE_BYTES // 2**20} MB "
            "Pregón keeps: only its headers were logged; it is still in the mailbox"
        )
    if unreadable is not None:
        said = (
            f"the message could not be read ({unreadable}): only its headers were logged; it is"
            " still in the mailbox"
        )

    def made(attachments: tuple[AttachmentRef, ...]) -> list[Communication]:
        # after keeping them: what could not be kept is among the problems
        error = said or parsed.problems()
        return [record(client_id, key, attachments, error) for client_id, key in keys.items()]

    def record(
        client_id: str, key: str, attachments: tuple[AttachmentRef, ...], error: str | None
    ) -> Communication:
        contact_id, address = clients[client_id]
        communication_id = records.new_communication_id(when)
        return Communication(
            company_id=company_id,
            communication_id=communication_id,
            direction=direction,
            channel="mailbox",
            kind="automatic",
            state="received" if direction == "in" else "sent",
            created_at=when,
            updated_at=now,
            record_type="email",
            client_id=client_id,
            contact_id=contact_id,
            to_address=address if direction == "out" else (parsed.to[0] if parsed.to else None),
            **parsed.record_fields(),
            attachments=attachments,
            error=error,
            idempotency_key=key,
            initiated_by="client" if direction == "in" else "staff",
            created_by=mailbox.owner,
            in_reply_to=parent.communication_id if parent else None,
            thread_id=(parent.thread_id or parent.communication_id) if parent else communication_id,
            mailbox_id=mailbox.mailbox_id,
            private_to=mailbox.owner if mailbox.visibility == "private" else None,
            auto_submitted=automatic_kind(parsed) if direction == "in" else None,
        )

    def counted(tx: Any, written: list[Communication]) -> None:  # in the records' transaction
        store.count_logged(tx, company_id, mailbox.mailbox_id, len(written))

    # A client being erased meanwhile gets no record (the mail stays in the mailbox: once the
    # erasure is done, a sync finds no client in it and logs nothing)
    return len(
        write_with_attachments(company_id, parsed, "mailbox", made, counted=counted, if_erased=lambda _: None)
    )
