"""Bulk account statements (D2; the seed's "Estado de cuenta E-Mail"): a range of client codes
(from, to) and filters (agents); an empty range and no filter is every client.

It is a send job (the machinery of manual sends, C8): the API call creates the job and asks for
page 0 on the ``pregon-send-jobs`` queue (``"kind": "statements"``); each page reads up to
:data:`PAGE_SIZE` clients by a Query on the code range, asks for the next page, renders each
client's statement PDF and puts the e-mails in the outbox with the job's id, so the outbox's
outcome writer counts sent and failed on the job. Skipped clients are counted at expansion with
their reason (``no_email``, ``no_open_movements`` unless the job includes clients who owe
nothing, ``suppressed``). A page is counted once and
each e-mail has the key ``job:<job>:<client>``, so SQS's at-least-once delivery never sends or
counts twice. Movements come from each client's open movements (``PUT
/clients/{id}/open-movements``), else its open receivables. A statement that cannot be made counts
as failed with its reason (``too_many_receivables``: more open receivables than a statement holds;
``not_rendered``: the company's template fails), and the page goes on with the other clients.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import AttachmentRef, PageBound, SendJob, record_of
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.producers.documents.settings import TooManyReceivables, receivables_as_movements
from chalicelib.producers.documents.templates import STATEMENT
from chalicelib.tenants.auth.principal import Principal, may_see

PAGE_SIZE = 50
KIND = "statements"
#: A page renders for at most this long, then writes what it rendered and asks for its own rest
#: (the same page, ``after`` its last client, with its counts so far): its worker has 240 s, and a
#: 512 MB Lambda renders a long statement's row in 8-10 ms (docs/documents.md, bulk statements).
PART_SECONDS = 100.0


@dataclass(frozen=True)
class StatementSelection:
    """Which clients get a statement; every condition given must hold (none: every client)."""

    from_client: str | None = None
    to_client: str | None = None
    preferred_agent: str | None = None
    collection_agent: str | None = None
    # The client's classification fields that must hold (field -> value), e.g. {"zona": "norte"}.
    classification: dict[str, str] = field(default_factory=dict)
    # Clients with no open movements get a statement too, its balance zero (the seed's "todos los
    # clientes con correo registrado"); by default they are skipped (``no_open_movements``).
    include_settled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v}


# Each reason code of a job's ``skip_reasons`` and ``fail_reasons`` as a sentence a person reads next
# to its count ("clients with no e-mail address: 10"): in the answer's ``skip_details`` and
# ``fail_details``, stored nowhere, English here and in the caller's language at the HTTP boundary
# (their key is ``reason``: decision 0014). The codes stay, for programs.
SKIP_SENTENCES = {
    "no_email": "clients with no e-mail address",
    "no_open_movements": "clients with no open movements (they owe nothing)",
    "suppressed": "clients whose e-mail address is on the suppression list",
}
FAIL_SENTENCES = {
    "too_many_receivables": "clients with more open receivables than a statement prints",
    "not_rendered": "statements the company's template could not render",
    "no_number": "clients with no statement number left that day (20 a day)",
}


def reason_details(counts: dict[str, int], sentences: dict[str, str]) -> list[dict[str, Any]]:
    """``{code: count}`` as ``[{"code", "count", "reason"}]``, in the order of ``sentences``."""
    order = {code: n for n, code in enumerate(sentences)}
    return [
        {"code": code, "count": count, "reason": sentences.get(code, code)}
        for code, count in sorted(counts.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    ]


@dataclass(frozen=True)
class BulkProgress:
    job_id: str
    state: str
    total: int
    sent: int
    failed: int
    skipped: int
    waiting: int
    skip_reasons: dict[str, int]
    fail_reasons: dict[str, int]
    skip_details: list[dict[str, Any]]
    fail_details: list[dict[str, Any]]
    selection: dict[str, Any]
    as_of: str | None
    created_by: str
    created_at: Any
    updated_at: Any


@dataclass
class PageReport:
    job_id: str
    page: int
    messages: int = 0
    failed: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    fail_reasons: dict[str, int] = field(default_factory=dict)


def start_bulk_statements(
    company_id: str,
    selection: StatementSelection,
    *,
    as_of: date | None,
    created_by: str,
    request_id: str | None = None,
) -> tuple[BulkProgress, bool]:
    """Create the job and ask for its first page. Returns (progress, created)."""
    from chalicelib.messaging.accounts.email import account_for
    from chalicelib.producers.documents.settings import get_settings
    from chalicelib.producers.sends.manual import start_job

    if selection.from_client and selection.to_client and selection.from_client > selection.to_client:
        raise ValidationFailed([{"field": "to_client", "message": "must not come before from_client"}])
    if account_for(company_id, get_settings(company_id).statement_area) is None:
        from chalicelib.core.errors import Conflict

        raise Conflict(
            "no working sender account for statements (nor the 'all' fallback)", field="statement_area"
        )
    spec = {
        "kind": KIND,
        "selection": {"statements": selection.as_dict()},
        "as_of": as_of.isoformat() if as_of else None,
    }
    job, created = start_job(
        company_id,
        channel="email",
        template_key=STATEMENT,
        created_by=created_by,
        spec=spec,
        request_key=f"statements:{request_id}" if request_id else None,
        pages=[{"page": 0, "cursor": None, "kind": KIND}],
    )
    logger().info("bulk statements started", extra={"company_id": company_id, "job_id": job.job_id})
    return progress(job), created


def progress(job: SendJob) -> BulkProgress:
    from chalicelib.producers.sends.manual import progress as job_progress

    seen = job_progress(job)
    spec = json.loads(job.selection or "{}")
    return record_of(
        BulkProgress,
        seen,
        skip_reasons=dict(job.skip_reasons),
        fail_reasons=dict(job.fail_reasons),
        skip_details=reason_details(job.skip_reasons, SKIP_SENTENCES),
        fail_details=reason_details(job.fail_reasons, FAIL_SENTENCES),
        selection=(spec.get("selection") or {}).get("statements", {}),
        as_of=spec.get("as_of"),
    )


def get_bulk_statements(viewer: Principal, job_id: str) -> BulkProgress:
    """A bulk statement job's progress; another user's job is not found for a level-4 user, as
    in ``GET /sends/{job_id}`` (``may_see`` its ``created_by``)."""
    from chalicelib.store import outbox as job_store

    job = job_store.get_job(viewer.company_id, job_id)
    if (
        job is None
        or not may_see(viewer, job.created_by)
        or json.loads(job.selection or "{}").get("kind") != KIND
    ):
        raise NotFound(f"there is no bulk statement job {job_id!r}")
    return progress(job)


def _no_one(**_: Any) -> tuple[list[Any], None]:
    """The clients of a range an erasure emptied (:func:`~chalicelib.store.erasures.stand_ins_of`)."""
    return [], None


def expand_statement_page(
    company_id: str,
    job_id: str,
    page: int,
    cursor: dict[str, Any] | None,
    *,
    after: str | None = None,
    carried: dict[str, Any] | None = None,
    until: str | None = None,
    last_page: bool = False,
) -> PageReport:
    """One page of a bulk statement job: the next page asked for first, then each client's
    statement rendered and queued, or skipped with its reason (the send-jobs worker).

    A page whose rendering takes longer than :data:`PART_SECONDS` writes what it rendered, hands
    it off, and asks for its own rest: the same page, ``after`` the last client it went through,
    ``carried``: its counts so far, and the page's bound: ``until`` the client the next page
    starts after, or ``last_page``. The bound is decided once a page: the first delivery of the
    page's first part to read it records it on the job (one conditional write,
    :func:`~chalicelib.store.outbox.record_page_bound`), and every other delivery of any part of
    the page, and the next page's cursor, use the recorded one (the job, read anyway, holds it).
    So a first part delivered again after a client was added or removed reads the clients again
    but keeps to the recorded bound, going on past what it read when the bound is further on. A
    rest part goes through the clients after ``after`` up to the bound as they are now (at most
    :data:`PAGE_SIZE` a part), so a client added or removed meanwhile shifts nothing into the
    next page nor out of both. The part that reaches the page's end counts the whole page, once,
    and forgets its recorded bound in the same write. Each part goes through the clients in order
    from where the one before stopped, so every chain of parts (a part delivered twice may stop
    at another client) goes through each client once and counts the same totals. A rest asked
    for before bounds were recorded records the bound it carries, unless one is recorded; one
    without a bound (older still) reads the page again from its cursor, as then. Any part of a
    page already counted (delivered again after its chain ended) stops after reading the job: it
    would render only to have its count refused.

    A client being erased gets no statement: the company's item, read strongly consistent for
    its name and branding, lists the clients it is erasing (almost always none), so skipping
    them asks DynamoDB nothing more (docs/privacy.md; a part that read the company before the
    erasure started is waited for by its late pass, as a manual send's page is)."""
    from chalicelib.core.files import discard_files
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue_with_files, hand_off
    from chalicelib.producers.documents.send import STORED, Renderer, document_key, statement_data
    from chalicelib.producers.sends.manual import page_waits, put_job_pages
    from chalicelib.store import documents as store
    from chalicelib.store import erasures
    from chalicelib.store import outbox as job_store
    from chalicelib.store.clients import client_of_cursor, cursor_after_client, select_clients
    from chalicelib.tenants.companies import company_and_erasing

    started = time.monotonic()
    report = PageReport(job_id, page)
    job, counted, recorded = job_store.get_job_for_page(company_id, job_id, page)
    if job is None or counted:  # gone, or this page's chain of parts ended: nothing left to do
        return _counted_already(company_id, job_id, page, after, report, counted)
    # The company's item, read for its name and branding anyway (strongly consistent), lists the
    # clients being erased (skipped below: their erasure may have passed their messages already),
    # and says whether it is suspended: then the part waits, unexpanded (decision 0033)
    company, erasing = company_and_erasing(company_id)
    if not company.in_service:
        page_waits(company_id, job_id, page)
        return report
    spec = json.loads(job.selection or "{}")
    # an end of the range erased while the job was stuck expanding reads as its stand-in
    stand_ins, emptied = erasures.stand_ins_of(spec)
    chosen = StatementSelection(**(((spec.get("selection") or {}).get("statements") or {}) | stand_ins))
    choose = (
        _no_one
        if emptied
        else partial(
            select_clients,
            company_id,
            first=chosen.from_client,
            preferred_agent=chosen.preferred_agent,
            collection_agent=chosen.collection_agent,
            classification=chosen.classification,
            limit=PAGE_SIZE,
        )
    )
    bound: PageBound | None = None  # the page's bound, decided once (none: a rest as before)
    more: str | None = None  # this part's clients go on past what it read, up to the bound
    if after is None:  # the page's first part: its bound, then the next page before this one works
        clients, next_cursor = choose(last=chosen.to_client, cursor=cursor)
        read = PageBound(client_of_cursor(next_cursor) if next_cursor else None)
        bound = recorded or job_store.record_page_bound(company_id, job_id, page, read)
        if bound is None:  # counted by another delivery meanwhile
            return _counted_already(company_id, job_id, page, after, report, True)
        clients, more = bound.keep(clients, read)
        if bound.until is not None:
            next_page = {"page": page + 1, "cursor": cursor_after_client(company_id, bound.until)}
            put_job_pages(company_id, job_id, [next_page | {"kind": KIND}])
    elif recorded is not None or until is not None or last_page:  # a rest: up to the page's bound
        # (asked for before bounds were recorded: the bound its first part read, recorded now)
        bound = recorded or job_store.record_page_bound(company_id, job_id, page, PageBound(until))
        if bound is None:
            return _counted_already(company_id, job_id, page, after, report, True)
        last = bound.until if bound.until is not None else chosen.to_client
        clients, read_on = choose(last=last, after=after, cursor=None)
        more = client_of_cursor(read_on) if read_on else None
        more = None if more == last else more  # read up to the bound: nothing after it
    else:  # a rest asked for before pages had a bound: the page read again, as then
        clients, next_cursor = choose(last=chosen.to_client, cursor=cursor)
        last_page = not next_cursor
        clients = [c for c in clients if c.client_id > after]
    if bound is not None:
        last_page = bound.until is None
    clients = [c for c in clients if not erasures.is_being_erased(company_id, c.client_id, erasing)]
    renderer = Renderer(company, STATEMENT)
    as_of = date.fromisoformat(spec["as_of"]) if spec.get("as_of") else _today(company)
    movements = store.open_movements_of(company_id, [c.client_id for c in clients if c.emails])
    suppressed = job_store.suppressed_among(company_id, [c.emails[0].lower() for c in clients if c.emails])
    so_far = carried or {}
    reasons: dict[str, int] = dict(so_far.get("skip_reasons") or {})
    failures: dict[str, int] = dict(so_far.get("fail_reasons") or {})
    messages: list[OutgoingMessage] = []
    stored: list[AttachmentRef] = []  # the PDFs this expansion put in S3
    rest_after: str | None = None  # set when this part stops before the page's end
    last_seen: str | None = None
    try:
        for client in clients:
            if messages and time.monotonic() - started > PART_SECONDS:
                rest_after = last_seen
                break
            last_seen = client.client_id
            reason = None
            open_movements = movements.get(client.client_id)
            if client.emails and open_movements is None:  # nothing put: the open receivables, if any
                try:
                    open_movements = receivables_as_movements(company_id, client.client_id)
                except TooManyReceivables as exc:  # this client's statement fails; the others go
                    _failed(failures, "too_many_receivables", company_id, job_id, client.client_id, exc)
                    continue
            owes_nothing = open_movements is None or not open_movements.movements
            if not client.emails:
                reason = "no_email"
            elif owes_nothing and not chosen.include_settled:
                reason = "no_open_movements"
            elif client.emails[0].lower() in suppressed:
                reason = "suppressed"
            if reason:
                reasons[reason] = reasons.get(reason, 0) + 1
                continue
            lines = open_movements.movements if open_movements else ()
            currency = open_movements.currency if open_movements else None
            number = _claim_number(company, job, client.client_id, as_of)
            if number is None:  # the day's numbers of this client's statements are all taken
                taken = ValueError("every statement number of this client and day is taken")
                _failed(failures, "no_number", company_id, job_id, client.client_id, taken)
                continue
            try:
                pdf_data, mail_data = statement_data(
                    company,
                    renderer.settings,
                    client.client_id,
                    client.name,
                    client.emails,
                    lines,
                    currency,
                    as_of,
                    number,
                )
                pdf = renderer.pdf(pdf_data)
            except ValidationFailed as exc:
                store.release_job_document(company_id, document_key(STATEMENT, number), job_id)
                _failed(failures, "not_rendered", company_id, job_id, client.client_id, exc)
                continue
            stored.append(renderer.attachment(number, pdf))
            messages.append(
                renderer.message(
                    number,
                    (client.name, client.emails[0]),
                    mail_data,
                    stored[-1],
                    client_id=client.client_id,
                    responsible_user=None,
                    idempotency_key=f"job:{job_id}:{client.client_id}",
                    job_id=job_id,
                    created_by=job.created_by or None,
                )
            )
    except Exception:  # nothing written yet: no message names them
        discard_files(
            company_id,
            [r.key or "" for r in stored],
            STORED,
            "the page failed before its messages were written",
        )
        raise
    if rest_after is None and more is not None:  # more of this page than one read: the rest goes on
        rest_after = more
    # A PDF goes when no message written names it: the write failed, or this page was expanded
    # before (a retry) and its messages, with their own PDFs, were written then.
    written = enqueue_with_files(
        company_id, messages, stored, STORED, kick=False, handoff=True
    )  # handed off once counted
    failed_now = sum(1 for c in written if c.state == "failed" and c.outbox is None)
    report.failed = sum(failures.values())
    skipped = sum(reasons.values())
    queued = int(so_far.get("messages") or 0) + len(messages)
    failed_at_enqueue = int(so_far.get("failed_at_enqueue") or 0) + failed_now
    if rest_after is not None:
        # The rest of the page is its own part: written down (with the counts so far) before
        # these are handed off, so a part that dies here is asked for again with its lease.
        rest = {
            "page": page,
            "cursor": cursor,
            "kind": KIND,
            "after": rest_after,
            **({"until": bound.until} if bound and bound.until is not None else {}),
            **({"last_page": True} if bound and bound.until is None else {}),
            "carried": {
                "messages": queued,
                "failed_at_enqueue": failed_at_enqueue,
                "skip_reasons": reasons,
                "fail_reasons": failures,
            },
        }
        put_job_pages(company_id, job_id, [rest])
        hand_off(company_id, written)  # the job stays expanding until this page is counted
        report.messages, report.skip_reasons, report.fail_reasons = len(messages), reasons, failures
        logger().info(
            "bulk statement page continues in another part",
            extra={"company_id": company_id, "job_id": job_id, "page": page, "after": rest_after},
        )
        return report
    job_store.count_job_page(
        company_id,
        job_id,
        page,
        clock.now(),
        total=queued + skipped + report.failed,
        failed=failed_at_enqueue + report.failed,
        skipped=skipped,
        last_page=last_page,
        skip_reasons=reasons,
        fail_reasons=failures,
        bound=bound,
    )
    hand_off(company_id, written)
    job_store.job_page_done(company_id, job_id, page)
    report.messages, report.failed, report.skip_reasons = (
        len(messages),
        failed_at_enqueue + report.failed,
        reasons,
    )
    report.fail_reasons = failures
    logger().info("bulk statement page expanded", extra={"company_id": company_id, **vars(report)})
    return report


def _claim_number(company: Any, job: SendJob, client_id: str, as_of: date) -> str | None:
    """The number a bulk statement prints, recorded as the company's document before it is
    rendered, so ``GET /documents/sent/statement/{number}`` finds it as it finds one sent alone:
    the day's ``EC-<client>-<day>``, or ``-2``, ``-3``... when a statement sent alone or by
    another job holds it. A page expanded again claims the same number (it is this job's for this
    client). One conditional PutItem a statement (1 WRU), one more for each number taken; None
    when the day's numbers are all taken."""
    from chalicelib.core.domain import Document
    from chalicelib.producers.documents.send import STATEMENTS_A_DAY, document_key, file_name_of
    from chalicelib.store import documents as store

    company_id = company.company_id
    base = f"EC-{client_id}-{as_of:%Y%m%d}"
    for n in range(1, STATEMENTS_A_DAY + 1):
        number = base if n == 1 else f"{base}-{n}"
        document = Document(
            company_id=company_id,
            document_key=document_key(STATEMENT, number),
            document_type=STATEMENT,
            number=number,
            recipient_id=client_id,
            responsible=job.created_by or None,
            communication_id=None,
            state="queued",
            created_at=clock.now(),
            file_name=file_name_of(STATEMENT, number, company.language),
            job_id=job.job_id,
        )
        if store.claim_job_document(document):
            return number
    return None


def _counted_already(
    company_id: str, job_id: str, page: int, after: str | None, report: PageReport, counted: bool
) -> PageReport:
    """A part of a page whose job is gone, or whose page is counted (its chain of parts ended):
    nothing left to do but forget the page's request."""
    from chalicelib.store import outbox as job_store

    job_store.job_page_done(company_id, job_id, page)
    if counted:
        logger().info(
            "bulk statement page counted already",
            extra={"company_id": company_id, "job_id": job_id, "page": page, "after": after},
        )
    return report


def _failed(
    failures: dict[str, int], reason: str, company_id: str, job_id: str, client_id: str, exc: Exception
) -> None:
    """Count a client's statement that could not be made, and log why (the job shows the count
    by reason; the log names the client)."""
    failures[reason] = failures.get(reason, 0) + 1
    logger().warning(
        "statement not rendered",
        extra={
            "company_id": company_id,
            "job_id": job_id,
            "client_id": client_id,
            "reason": reason,
            # its class only: a renderer's words may quote the statement (the client's name, lines)
            "error": type(exc).__name__,
        },
    )


def _today(company: Any) -> date:
    from chalicelib.core.localization import today

    return today(company.time_zone, clock.now())
