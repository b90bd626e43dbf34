"""Inbound e-mail (I3, H2): what SES received becomes a communication in the client's register.

SES receives mail for ``<company_id>@<inbound domain>`` (``PREGON_INBOUND_DOMAIN``), writes the raw
message to the inbound bucket and publishes its "Received" notification to SNS; the SNS handler
calls :func:`receive_notification`. For each company the mail was addressed to, the message is

* parsed defensively (:mod:`chalicelib.records.mime`; what cannot be read is named in ``error``),
* matched to a client by the sender's address (the client's e-mails and its contacts'), unless SES
  judged it spam or found a virus in it (``spamVerdict`` / ``virusVerdict`` ``FAIL``: it is
  ``flagged`` so, waits unassigned and joins no thread), or found it fails DMARC for a domain that
  enforces it (``p=quarantine`` or ``reject``: the domain disowns it, so it waits unassigned,
  saying so; a ``p=none`` failure is filed, with a warning),
* threaded to the message it answers: our reply token ``ref-<id>.<company>@...`` in
  In-Reply-To/References first (SES rewrites the Message-ID we send), then the plus-addressed
  Reply-To it was sent to (``<company>+r-<id>@...``, for mail programs that drop References), then
  the Message-ID we wrote,
* logged once per SES message id (a repeated notification writes nothing), with its attachments
  in S3 up to :data:`MAX_KEPT_BYTES` in all (larger ones are listed as omitted, too large); when
  SES's virus scan fails the message, none is kept: each is listed, withheld, and staff are told.

A message whose sender matches no client (or several) goes to the company's unassigned list,
unless it answers a message of ours to a client; staff assign it to a client later.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.core import clock, files
from chalicelib.core.domain import AttachmentRef, Communication, Company, PhoneOwner
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.messaging.addresses import company_of, inbound_address, reply_tag
from chalicelib.records.automatic_mail import DELIVERY_REPORT, automatic_kind
from chalicelib.records.inbound_flood import HeldMail, admitted
from chalicelib.records.mime import ParsedMail, Report, parse_mail
from chalicelib.store import clients as client_store
from chalicelib.store import communications as store
from chalicelib.store.companies import get_company
from chalicelib.tenants.auth.principal import Principal, may_see, own_only

MAX_KEPT_BYTES = 10 * 1024 * 1024  # attachments kept per message, in all
MAX_ATTACHMENTS = 50
_REPLY_TOKEN = re.compile(r"^ref-([0-9a-f]{24})\.(.+)@[^@]+$", re.IGNORECASE)
OMITTED_TOO_LARGE = "omitted (too large)"
OMITTED_VIRUS = "withheld (SES found a virus in the message)"
# What SES's scan judged a received message (``Communication.flagged``).
FLAGGED_SPAM = "spam"
FLAGGED_VIRUS = "virus"


def reply_token(message_id: str) -> tuple[str, str] | None:
    """(company, communication id) of a reference we wrote (``core.links.reply_reference``)."""
    found = _REPLY_TOKEN.match(message_id.strip("<> "))
    return (found.group(2), found.group(1).lower()) if found else None


# --- the SES notification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What an SES "Received" notification of an S3 action says."""

    bucket: str
    key: str
    ses_message_id: str
    recipients: tuple[str, ...]
    source: str | None
    # SES found the message fails DMARC for its From header's domain: anyone can write a client's
    # address in From. ``dmarc_policy`` is what the domain asks of such mail (none, quarantine,
    # reject); only a domain that enforces it disowns the message (a ``none`` domain is often
    # one whose own mail does not pass yet).
    dmarc_failed: bool = False
    dmarc_policy: str | None = None
    # SES's virus scan found one: no attachment of it is offered for download.
    virus_found: bool = False
    # SES's spam filter judged it spam. Like a virus, it names no client and joins no thread:
    # it waits unassigned, flagged, for staff to judge (an unsure scan, GRAY, files it as usual).
    spam_found: bool = False
    # The envelope sender's domain allows the server that sent it (SPF). The envelope sender is
    # anyone's to write: it names the sender only for a message with no single From address, and
    # only when this holds.
    spf_passed: bool = False
    # The envelope sender was empty (``MAIL FROM:<>``, ``Return-Path: <>``): delivery reports and
    # other automatic mail (RFC 3834 section 3.1.1, RFC 5321 section 4.5.5).
    null_sender: bool = False

    @property
    def flagged(self) -> str | None:
        """What SES's scan judged the message (a virus before spam), or None."""
        if self.virus_found:
            return FLAGGED_VIRUS
        return FLAGGED_SPAM if self.spam_found else None

    @property
    def disowned(self) -> bool:
        """The From domain says it did not send this (DMARC fails and its policy is enforced)."""
        return self.dmarc_failed and self.dmarc_policy in ("quarantine", "reject")

    @property
    def raw_key(self) -> str:
        return f"{self.bucket}/{self.key}"


def receipt_of(notification: dict[str, Any]) -> Receipt:
    """Read an SES receipt notification; ValueError names what is missing."""
    if notification.get("notificationType") != "Received":
        raise ValueError(f"not a Received notification ({notification.get('notificationType')!r})")
    receipt = notification.get("receipt") or {}
    action = receipt.get("action") or {}
    mail = notification.get("mail") or {}
    if action.get("type") != "S3":
        raise ValueError(f"the receipt action is {action.get('type')!r}, not S3")
    bucket, key = action.get("bucketName"), action.get("objectKey")
    if not bucket or not key:
        raise ValueError("the S3 action names no bucketName / objectKey")
    recipients = receipt.get("recipients") or mail.get("destination") or []
    return Receipt(
        bucket=str(bucket),
        key=str(key),
        ses_message_id=str(mail.get("messageId") or key),
        recipients=tuple(str(r) for r in recipients),
        source=str(mail["source"]) if mail.get("source") else None,
        dmarc_failed=_status(receipt.get("dmarcVerdict")) == "FAIL",
        dmarc_policy=str(receipt["dmarcPolicy"]).lower() if receipt.get("dmarcPolicy") else None,
        virus_found=_status(receipt.get("virusVerdict")) == "FAIL",
        spam_found=_status(receipt.get("spamVerdict")) == "FAIL",
        spf_passed=_status(receipt.get("spfVerdict")) == "PASS",
        null_sender="source" in mail and str(mail.get("source") or "").strip("<> ") == "",
    )


def _status(verdict: Any) -> str | None:
    """The ``status`` of an SES verdict (``{"status": "PASS"}``), upper case; None when absent."""
    status = verdict.get("status") if isinstance(verdict, dict) else None
    return str(status).upper() if status else None


# --- receiving -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """The outcome of one received message for one company."""

    company_id: str
    communication_id: str | None
    created: bool
    client_id: str | None = None
    error: str | None = None
    automatic: str | None = None  # a machine sent it (``records.automatic_mail``): no webhook event
    held: bool = False  # past the day's ceilings (``records.inbound_flood``): not logged, counted


def receive_notification(notification: dict[str, Any]) -> list[Logged]:
    """Log the message an SES notification announces, once per company it was addressed to (past
    the day's ceilings, held instead: ``records.inbound_flood``)."""
    return _receive(receipt_of(notification), ceilings=True)


def record_held(company_id: str, held: HeldMail) -> str | None:
    """Log a message the ceilings held (staff release it): as it would have been, ceilings aside;
    the id of its record (None when it cannot be: the company left, say)."""
    receipt = Receipt(
        bucket=held.bucket,
        key=held.key,
        ses_message_id=held.ses_message_id,
        recipients=(held.recipient,),
        source=held.source or None,
        dmarc_failed="d" in held.flags,
        dmarc_policy=held.flags.partition("d")[2].partition(",")[0] or None,
        virus_found="v" in held.flags.partition("d")[0],
        spam_found="s" in held.flags.partition("d")[0],
        spf_passed="p" in held.flags.partition("d")[0],
        null_sender="n" in held.flags.partition("d")[0],
    )
    outcomes = [o for o in _receive(receipt, ceilings=False) if o.company_id == company_id]
    return outcomes[0].communication_id if outcomes else None


def held_mail(receipt: Receipt, company_id: str) -> HeldMail:
    """What :func:`record_held` needs of a receipt to log its message later."""
    flags = "".join(
        flag
        for flag, on in (
            ("v", receipt.virus_found),
            ("s", receipt.spam_found),
            ("p", receipt.spf_passed),
            ("n", receipt.null_sender),
        )
        if on
    )
    if receipt.dmarc_failed:
        flags += f"d{receipt.dmarc_policy or ''},"
    recipient = next(
        (r for r in receipt.recipients if company_of(r) == company_id), inbound_address(company_id)
    )
    source = "<>" if receipt.null_sender else (receipt.source or "")
    return HeldMail(receipt.ses_message_id, receipt.bucket, receipt.key, recipient, flags, source)


def _receive(receipt: Receipt, *, ceilings: bool) -> list[Logged]:
    companies = []
    in_service = {}
    for recipient in receipt.recipients:
        company_id = company_of(recipient)
        if not company_id or company_id in companies:
            continue
        company = get_company(company_id)
        if company is not None and not company.in_service:
            # a company that left (docs/decisions/0033-a-company-leaves.md): dropped, counted
            from chalicelib.store.leaving import count_inbound_dropped

            count_inbound_dropped(company_id)
            logger().warning("inbound mail for a suspended company dropped", extra={"company_id": company_id})
        elif company is not None:
            companies.append(company_id)
            in_service[company_id] = company
    if not companies:
        logger().error(
            "inbound mail for no known company",
            # the local parts only: on our inbound domain they are company ids and reply tokens
            extra={
                "raw_key": receipt.raw_key,
                "recipients": [r.partition("@")[0] for r in receipt.recipients],
            },
        )
        _unrecorded(receipt)
        return []
    raw: bytes | None = None
    read_error: str | None = None
    outcomes = []
    for company_id in companies:
        key = f"inbound-email:{receipt.ses_message_id}"
        existing = store.existing_key(company_id, key)
        if existing is not None:
            outcomes.append(Logged(company_id, existing, created=False))
            continue
        if raw is None and read_error is None:
            raw, read_error = _read_raw(receipt)
        try:
            counted = in_service[company_id] if ceilings else None
            outcomes.append(_log(company_id, receipt, raw or b"", read_error, key, counted))
        except Exception as exc:
            if not unloggable(exc):
                raise  # a transient failure: the invocation is retried (logging is idempotent)
            # Retried, it would fail the same way until SNS gave up and dropped it: logged from
            # SES's envelope instead, pointing at the raw message.
            logger().exception("inbound mail could not be logged as read", extra={"raw_key": receipt.raw_key})
            problem = (
                f"the message could not be read ({type(exc).__name__}); it was logged from SES's"
                f" envelope only: the raw mail is kept at {receipt.raw_key}"
            )
            outcomes.append(_log(company_id, receipt, b"", problem, key, counted))
    if ceilings and not any(logged.communication_id for logged in outcomes):
        _unrecorded(receipt)  # held by every company it was for: expired unless released
    for logged in outcomes:
        if logged.created and logged.client_id and logged.communication_id and not logged.automatic:
            _announce(logged.company_id, logged.client_id, logged.communication_id)
        elif not logged.created and logged.communication_id:
            # A notification seen before: its event may not have been queued (the queue refused it
            # and this invocation is the retry), so it is queued again, under the same id (none
            # for automatic mail: ``announce_message`` reads the record).
            from chalicelib.messaging.webhooks.service import announce_message

            announce_message(logged.company_id, "inbound.received", logged.communication_id)
    return outcomes


def _unrecorded(receipt: Receipt) -> None:
    """Mark raw mail that no record names for the inbound bucket's lifecycle rule (decision 0037:
    deleted ``inbound_flood.KEPT_DAYS`` after it arrived, unless staff release it first)."""
    from chalicelib.records.inbound_flood import UNRECORDED

    try:
        files.tag_object(receipt.bucket, receipt.key, UNRECORDED)
    except Exception:  # kept for good then, as before: not worth SNS delivering it again
        logger().exception("raw inbound mail could not be tagged", extra={"raw_key": receipt.raw_key})


def _announce(company_id: str, client_id: str, communication_id: str) -> None:
    """Tell the company's webhooks an e-mail from a client came in (docs/webhooks.md)."""
    from chalicelib.messaging.webhooks.service import announce

    announce(
        company_id, "inbound.received", client_id=client_id, message_id=communication_id, channel="email"
    )


def unloggable(exc: BaseException) -> bool:
    """Whether logging a message failed for something in the message itself (it would fail again
    on every retry): DynamoDB refusing what it was given (``ValidationException``: an item over
    400 KB, a key over its size), or an error in reading it that is no AWS or network failure."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return bool(seen.response.get("Error", {}).get("Code") == "ValidationException")
        seen = seen.__cause__ or seen.__context__
    return not isinstance(exc, BotoCoreError | PynamoDBException | OSError | MemoryError)


def _read_raw(receipt: Receipt) -> tuple[bytes | None, str | None]:
    try:
        return files.read_object(receipt.bucket, receipt.key), None
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code in ("NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403"):
            return None, f"the raw message could not be read ({code})"
        raise  # a transient failure: the invocation is retried (logging is idempotent)


def _log(
    company_id: str, receipt: Receipt, raw: bytes, read_error: str | None, key: str, counted: Company | None
) -> Logged:
    """Log one received message for one company; ``counted``: the company whose day's ceilings
    it counts against (None: none, a message staff released), held past them."""
    parsed = parse_mail(raw) if read_error is None else ParsedMail(defects=[read_error])
    envelope = receipt.source.strip("<>").lower() if receipt.source and "@" in receipt.source else None
    if parsed.from_address is None and envelope:
        parsed.from_address = envelope  # the envelope sender
    # DMARC judges a From of one address. Any other sender (a Sender header, the first of several
    # From addresses, the envelope's) is anyone's to write: it names the sender only when it is
    # the envelope's and SPF vouches for that.
    unvouched = (
        not parsed.from_authored
        and parsed.from_address is not None
        and not (receipt.spf_passed and parsed.from_address.lower() == envelope)
    )
    automatic = automatic_kind(parsed, null_sender=receipt.null_sender)
    now = clock.now()
    communication_id = store.new_communication_id(now)
    sender = parsed.from_address or "the sender"
    held = _held_because(receipt, unvouched=unvouched, sender=sender)
    if held:
        # In no register and no thread, whoever the sender is: it starts nothing a client's
        # message would, and whoever wrote it may have seen our reply token; staff judge it and
        # may assign it.
        parent, client_id, contact_id = None, None, None
        parsed.defects.extend(held)
        from_client = False
    else:
        if receipt.dmarc_failed:  # the domain does not enforce DMARC: filed, but staff are told
            parsed.defects.append(
                f"the sender's domain does not vouch for it (DMARC failed, policy"
                f" {receipt.dmarc_policy or 'none'}): {sender} may not have written it"
            )
        parent = reported_on(company_id, parsed) or find_parent(company_id, parsed, receipt.recipients)
        client_id, contact_id, _ = match_sender(company_id, parsed.from_address)
        # The ceilings' known client is the sender's address, not the thread: a message's reply
        # address is in every copy of it, forwarded ones too, so anyone answering from ever new
        # addresses would count against no ceiling in all (decision 0037, session 40)
        from_client = client_id is not None
        if client_id is None and parent is not None and parent.client_id:
            client_id, contact_id = parent.client_id, None
        if automatic == DELIVERY_REPORT and parent is not None and parsed.report is not None:
            # before the record is written: a failure here is retried with the whole message
            apply_report(parent, parsed.report, receipt.ses_message_id)
    if counted is not None and not admitted(
        counted, "email", parsed.from_address, held_mail(receipt, company_id), known=from_client
    ):
        return Logged(company_id, None, created=False, held=True)
    withheld = OMITTED_VIRUS if receipt.virus_found else None

    def records(attachments: tuple[AttachmentRef, ...]) -> list[Communication]:
        comm = Communication(
            company_id=company_id,
            communication_id=communication_id,
            direction="in",
            channel="email",
            kind="automatic",
            state="received",
            created_at=now,
            updated_at=now,
            client_id=client_id,
            contact_id=contact_id,
            to_address=next(
                (r.lower() for r in receipt.recipients if company_of(r) == company_id),
                inbound_address(company_id),
            ),
            **parsed.record_fields(),
            attachments=attachments,
            error=parsed.problems(),
            provider_message_id=None,
            idempotency_key=key,
            in_reply_to=parent.communication_id if parent else None,
            thread_owner=(parent.created_by or parent.thread_owner) if parent else None,
            thread_id=(parent.thread_id or parent.communication_id) if parent else communication_id,
            sender_area=parent.sender_area if parent else None,
            area=parent.area if parent else None,
            raw_key=receipt.raw_key,
            unassigned=client_id is None,
            flagged=receipt.flagged,
            auto_submitted=automatic,
        )
        return [comm]

    written = write_with_attachments(
        company_id, parsed, "inbound", records, withheld=withheld, if_erased=unmatched
    )
    if not written:  # another delivery of the same notification got there first
        return Logged(company_id, store.existing_key(company_id, key), created=False)
    error = written[0].error
    client_id = written[0].client_id  # none when its client's erasure started meanwhile
    extra = {"company_id": company_id, "communication_id": communication_id, "raw_key": receipt.raw_key}
    if receipt.flagged:  # SES's judgement, not a fault of ours: no ERROR line for every spam
        logger().warning(
            "inbound mail flagged by SES", extra={**extra, "flagged": receipt.flagged, "error": error}
        )
    elif error:
        logger().error("inbound mail logged with errors", extra={**extra, "error": error})
    else:
        logger().info("inbound mail logged", extra={**extra, "client_id": client_id, "automatic": automatic})
    return Logged(
        company_id, communication_id, created=True, client_id=client_id, error=error, automatic=automatic
    )


def _held_because(receipt: Receipt, *, unvouched: bool, sender: str) -> list[str]:
    """Why a received message is filed under no client and in no thread (none: it is matched):
    SES's scan judged it (a virus, spam), nothing vouches for a sender that is not the one From
    address (``unvouched``), or the sender's domain disowns it (DMARC enforced)."""
    if receipt.flagged:
        reasons = []
        if receipt.virus_found:
            reasons.append(
                "SES found a virus in the message (virusVerdict FAIL): it was not matched to a"
                " client nor threaded"
            )
        if receipt.spam_found:
            reasons.append(
                "SES judged the message spam (spamVerdict FAIL): it was not matched to a client"
                " nor threaded; assign it if it is not spam"
            )
        return reasons
    if unvouched:
        return [
            f"no single From address, and nothing vouches for the sender it names (SPF did not pass"
            f" for it): {sender} may not have sent it, so it was not matched to a client"
        ]
    if receipt.disowned:
        return [
            f"the sender's domain disowns it (DMARC failed, policy {receipt.dmarc_policy}): {sender}"
            " may not have written it, so it was not matched to a client"
        ]
    return []


def write_with_attachments(
    company_id: str,
    parsed: ParsedMail,
    purpose: str,
    records: Callable[[tuple[AttachmentRef, ...]], list[Communication]],
    *,
    withheld: str | None = None,
    counted: Callable[[Any, list[Communication]], None] | None = None,
    if_erased: Callable[[Communication], Communication | None],
) -> list[Communication]:
    """Keep a message's attachments (:func:`keep_attachments`), make its records naming them
    (``records``) and write those (``store.add_new``, with ``counted``'s updates in the same
    transaction); returns the records written. When none is
    written (the write failed, or another delivery of the message got there first), the files
    this attempt kept are deleted: no record would ever name them (a message logged again from
    its envelope or headers names none), and they are someone's data kept for nothing.

    A record that names a client is written on condition that no erasure of the client runs or
    ran (``store.erasures.unerased``): before the erasure starts, and it finds it, or not at all;
    ``if_erased`` then says what is written instead (the record tied to no client) or None."""
    attachments = keep_attachments(company_id, parsed, purpose, withheld=withheld)
    made: list[Communication] = []
    try:
        made = records(attachments)
        written = written_unless_erased(company_id, made, counted, if_erased)
    except Exception:
        # (store.add_new writes up to 50 in a transaction: a later one failing leaves the earlier)
        files.discard_unless_named(
            company_id,
            [a.key for a in attachments if a.key],
            "attachments of received mail",
            "its record could not be written",
            lambda: any(store.was_written(c) for c in made),
        )
        raise
    if not written:
        discard_attachments(company_id, attachments, "it was logged already")
    return written


def written_unless_erased(
    company_id: str,
    made: list[Communication],
    counted: Callable[[Any, list[Communication]], None] | None,
    if_erased: Callable[[Communication], Communication | None],
) -> list[Communication]:
    """Write the records, each client's with the checks of its erasure (one write per client: a
    mailbox's message may be with several); ``if_erased``'s record instead of one that lost."""
    from chalicelib.store.erasures import unerased
    from chalicelib.store.tables import CheckFailed

    unmatched_ones = [c for c in made if not c.client_id]
    written = store.add_new(unmatched_ones, counted=counted) if unmatched_ones else []
    for comm in [c for c in made if c.client_id]:
        assert comm.client_id is not None
        try:
            written += store.add_new([comm], counted=counted, checks=unerased(company_id, comm.client_id))
        except CheckFailed:
            instead = if_erased(comm)
            logger().warning(
                "received message's sender is a client being erased",
                extra={
                    "company_id": company_id,
                    "communication_id": comm.communication_id,
                    "kept": bool(instead),
                },
            )
            if instead is not None:
                written += store.add_new([instead], counted=counted)
    return written


def unmatched(comm: Communication) -> Communication:
    """A received record as from an unknown sender: no client, no contact, in no thread (its
    parent is the erased client's), for staff to assign, saying why."""
    why = "its sender was a client being erased: it was filed under no client"
    return replace(
        comm,
        client_id=None,
        contact_id=None,
        unassigned=True,
        in_reply_to=None,
        thread_owner=None,
        thread_id=comm.communication_id,
        sender_area=None,
        area=None,
        error="; ".join(e for e in (comm.error, why) if e),
    )


def discard_attachments(
    company_id: str, attachments: tuple[AttachmentRef, ...] | list[AttachmentRef], why: str
) -> int:
    """Delete the files kept for a received message that no record names; returns how many went
    (logged, with how many could not be: those stay until someone deletes them)."""
    keys = [a.key for a in attachments if a.key]
    return files.discard_files(company_id, keys, "attachments of received mail", why)


def keep_attachments(
    company_id: str, parsed: ParsedMail, purpose: str = "inbound", *, withheld: str | None = None
) -> tuple[AttachmentRef, ...]:
    """Store attachments in S3 while they fit in :data:`MAX_KEPT_BYTES`; the rest are listed
    with no key and why (the raw message still holds them). ``withheld``: none is stored, each
    is listed with that reason (a message SES found a virus in)."""
    kept: list[AttachmentRef] = []
    total = 0
    if withheld and parsed.attachments:
        parsed.defects.append(f"{len(parsed.attachments)} attachment(s) {withheld}")
    for part in parsed.attachments[:MAX_ATTACHMENTS]:
        size = len(part.data)
        if withheld or total + size > MAX_KEPT_BYTES:
            reason = withheld or OMITTED_TOO_LARGE
            kept.append(AttachmentRef(part.name, part.content_type, size, key="", omitted=reason))
            if not withheld:
                parsed.defects.append(f"attachment {part.name!r} {reason}: {size} bytes")
            continue
        total += size
        try:
            kept.append(files.put_file(company_id, purpose, part.name, part.content_type, part.data))
        except Exception:
            discard_attachments(company_id, kept, "keeping the message's attachments failed")
            raise  # an AWS failure: the message is read again, its files kept again
    if len(parsed.attachments) > MAX_ATTACHMENTS:
        parsed.defects.append(
            f"{len(parsed.attachments) - MAX_ATTACHMENTS} attachments over {MAX_ATTACHMENTS} omitted"
        )
    return tuple(kept)


# --- matching and threading ----------------------------------------------------------------------


def match_sender(company_id: str, address: str | None) -> tuple[str | None, str | None, list[str]]:
    """(client, contact, candidates): the one client with this address (and the contact it is of),
    or None with every client that has it when there are several."""
    if not address:
        return None, None, []
    found = client_store.clients_by_address(company_id, address)
    candidates = sorted({f.client_id for f in found})
    if len(candidates) != 1:
        return None, None, candidates
    contact = next((f.contact_id for f in found if f.contact_id is None), found[0].contact_id)
    return candidates[0], contact, candidates


def reported_on(company_id: str, parsed: ParsedMail) -> Communication | None:
    """The message of this company a delivery report or read receipt is about: found by the
    Message-ID and References of the message it returns (its own headers seldom name it)."""
    report = parsed.report
    if report is None or not (report.original_message_id or report.original_references):
        return None
    original = ParsedMail(
        in_reply_to=[report.original_message_id] if report.original_message_id else [],
        references=report.original_references,
    )
    return find_parent(company_id, original)


def apply_report(parent: Communication, report: Report, reference: str) -> None:
    """A delivery report's failure for the address our message went to marks it bounced, as SES's
    bounce event does (a permanent one suppresses the address); a delay, or a report about
    another address, changes nothing (it is only logged)."""
    from chalicelib.messaging.feedback import apply_delivery_report

    if parent.channel != "email" or parent.direction != "out" or not parent.to_address:
        return
    address = parent.to_address.lower()
    for recipient in report.recipients:
        if recipient.address == address and recipient.action == "failed":
            apply_delivery_report(parent, address, recipient.status, recipient.diagnostic, reference)
            return


def find_parent(
    company_id: str, parsed: ParsedMail, recipients: tuple[str, ...] = ()
) -> Communication | None:
    """The message of this company that a received one answers."""
    ids = list(dict.fromkeys(parsed.in_reply_to + list(reversed(parsed.references))))
    tokens = [reply_token(message_id) for message_id in ids]
    # our reply token, which survives SES rewriting the Message-ID; then the plus-addressed
    # Reply-To the reply was sent to (mail programs that drop References keep the address)
    tokens += [reply_tag(address) for address in recipients]
    for token in tokens:
        if token and token[0] == company_id.lower():
            found = store.get(company_id, token[1])
            if found is not None:
                return found
    for message_id in ids:  # the Message-ID we wrote (SMTP accounts keep it)
        found = store.by_rfc_message_id_in(company_id, f"<{message_id}>")
        if found is not None:
            return found
    return None


# --- staff: the unassigned list, assigning, the detail -------------------------------------------


def unassigned(
    viewer: Principal, limit: int, cursor: dict[str, Any] | None, automatic: bool | None = None
) -> store.Page:
    """Received mail that matched no client, newest first; a level-4 user sees only the mail that
    answers a message they created (``thread_owner``). ``automatic`` False hides what a machine
    sent (records.automatic_mail), True shows only that."""
    return store.unassigned_page(
        viewer.company_id, limit=limit, cursor=cursor, thread_owner=own_only(viewer), automatic=automatic
    )


def get_inbound(viewer: Principal, communication_id: str) -> Communication:
    """A received e-mail (or SMS: the unassigned list holds those from numbers no single client
    has); for a level-4 user only one answering a message they created (any other is not found,
    so that its existence does not leak)."""
    found = store.get(viewer.company_id, communication_id)
    if (
        found is None
        or found.direction != "in"
        or found.channel not in ("email", "sms")
        or not may_see(viewer, found.thread_owner)
    ):
        raise NotFound(f"there is no received e-mail {communication_id!r}")
    return found


def candidates_for(comm: Communication) -> list[str]:
    """Clients the sender of an unassigned message could be (its address is several clients')."""
    if not comm.unassigned:
        return []
    if comm.channel == "sms":
        return sorted({owner.client_id for owner in _phone_owners(comm)})
    return match_sender(comm.company_id, comm.from_address)[2]


def _phone_owners(comm: Communication) -> list[PhoneOwner]:
    """Who has an SMS's sender number among their phones (in any form it may be stored in)."""
    from chalicelib.core.phones import same_number

    if not comm.from_address:
        return []
    return [
        o
        for form in same_number(comm.from_address)
        for o in client_store.clients_by_phone(comm.company_id, form)
    ]


def assign(viewer: Principal, communication_id: str, client_id: str) -> Communication:
    """Put a received e-mail in a client's register (H2) and take it off the unassigned list."""
    company_id = viewer.company_id
    comm = get_inbound(viewer, communication_id)
    client = client_store.get_client(company_id, client_id)
    if client is None:
        raise ValidationFailed([{"field": "client_id", "message": f"there is no client {client_id!r}"}])
    if comm.channel == "sms":  # the contact whose phone it is, if the number is one of hers
        contact = next((o.contact_id for o in _phone_owners(comm) if o.client_id == client_id), None)
    else:
        contact = client_store.addresses_of(client).get((comm.from_address or "").lower())
    try:
        assigned = store.assign_client(company_id, communication_id, client_id, contact, clock.now())
    except LookupError as exc:
        raise NotFound(f"there is no received e-mail {communication_id!r}") from exc
    if assigned.auto_submitted:  # a machine's: no "the client wrote" event (records.automatic_mail)
        return assigned
    from chalicelib.messaging.webhooks.service import announce_or_try_later

    announce_or_try_later(
        company_id, "inbound.received", client_id=client_id, message_id=communication_id, channel=comm.channel
    )
    return assigned


def attachment_links(comm: Communication) -> list[dict[str, Any]]:
    """The attachments with a short-lived download link each (none for omitted ones)."""
    return [
        {
            "name": a.name,
            "content_type": a.content_type,
            "size": a.size,
            "download_url": files.download_url(a) if a.key else None,
            "omitted": omitted_reason(a),
        }
        for a in comm.attachments
    ]


def omitted_reason(ref: AttachmentRef) -> str | None:
    """Why a received file was not kept (None when it was: it has a key in S3)."""
    return None if ref.key else (ref.omitted or OMITTED_TOO_LARGE)
