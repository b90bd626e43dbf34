"""Manual sends (C8): decide (the clients staff picked) -> render -> outbox.

* **One client** (``client_ids`` with one id): rendered and put in the outbox at once; the answer
  carries the queued communication(s).
* **More** (a list, or a filter): a **send job**. The API call checks everything that can be
  checked up front (template, channel, bulk-send password), creates the job and puts *page*
  messages on the ``pregon-send-jobs`` queue: a list is cut into pages of 200 ids at once; a
  filter starts with page 0 and each page puts the next one (with the Query's cursor) before it
  works. The worker (:func:`expand_page`, an ``on_sqs_message`` handler) renders one page and
  enqueues it with the job's id; the outbox's outcome writer counts sent / failed / skipped on the
  job. Clients with no address for the channel, or who unsubscribed from manual sends
  (:mod:`chalicelib.producers.sends.unsubscribe`, the ``List-Unsubscribe`` every manual e-mail carries), are
  counted as skipped at expansion; one such client named alone is refused (422).

A page is counted into its job once (a conditional update on the set of pages done), and each
message has an idempotency key ``job:<job>:<client>[:<device>]``, so SQS's at-least-once delivery
neither sends twice nor counts twice. A filter's page is bound once (where it ends is recorded on
the job the first time it is read, :func:`expand_page`), so a page delivered again after a client
was added or removed asks for the next page at the same cursor and counts what it sends. A
``request_id`` makes a retried POST answer the first job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Client, Communication, PageBound, SendJob, record_of
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.links import manual_list_unsubscribe
from chalicelib.core.localization import DEFAULT_LOCALE, show_balance
from chalicelib.core.observability import logger
from chalicelib.messaging.outbox import Accounts, OutgoingMessage, enqueue, hand_off, kick_outboxes, outbox_of
from chalicelib.producers.sends import SEND_JOBS_QUEUE
from chalicelib.store import communications as comm_store
from chalicelib.store import outbox as job_store
from chalicelib.store.erasures import is_being_erased
from chalicelib.tenants.auth.principal import Principal, may_see, own_only
from chalicelib.tenants.branding import company_variables

# clients per page: one expand invocation, whose fixed reads and writes (the job, the company, its
# template and account, the wake-up) are shared by 200 e-mails; also one hand-off to the outbox
PAGE_SIZE = 200
MAX_LISTED_CLIENTS = 1000
MAX_VARIABLES_BYTES = 16_000


def send_jobs_queue() -> str:
    import os

    return os.environ.get("PREGON_SEND_JOBS_QUEUE", SEND_JOBS_QUEUE)


@dataclass(frozen=True)
class ClientFilter:
    """Which clients a filter selects; every condition given must hold (none: all clients)."""

    switch: str | None = None
    preferred_agent: str | None = None
    collection_agent: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class SendRequest:
    channel: str
    template_key: str
    variables: Mapping[str, Any]
    client_ids: Sequence[str] | None = None
    client_filter: ClientFilter | None = None
    bulk_password: str | None = None
    request_id: str | None = None
    created_by: str = ""


@dataclass(frozen=True)
class JobProgress:
    job_id: str
    channel: str
    template_key: str
    state: str  # expanding | sending | done
    total: int
    sent: int
    failed: int
    skipped: int
    waiting: int
    created_by: str
    created_at: Any
    updated_at: Any
    selection: dict[str, Any]


@dataclass(frozen=True)
class SendResult:
    created: bool
    job: JobProgress | None = None
    communications: tuple[Communication, ...] = ()


# --- the API call --------------------------------------------------------------------------------


def start_send(company_id: str, request: SendRequest) -> SendResult:
    """Check a manual send and start it: one client at once, many as a job."""
    _check_selection(request)
    template = _checked_template(company_id, request)
    from chalicelib.messaging.templates import check_channel

    check_channel(template, request.channel)  # an SMS-only template by e-mail or push: 422
    _check_channel(company_id, request.channel, template.sender_area)
    single = request.client_ids is not None and len(set(request.client_ids)) == 1
    if request.channel == "sms":
        from chalicelib.messaging.accounts.sms import check_bulk_send

        check_bulk_send(company_id, 1 if single else 2, request.bulk_password, user=request.created_by)
    if single:
        assert request.client_ids is not None
        return _send_to_one(company_id, request, request.client_ids[0])
    return _start_job(company_id, request)


PORTAL_LINK_GIVEN = "may not give portal_link: Pregón signs each client's own link"


def _check_selection(request: SendRequest) -> None:
    errors = []
    if (request.client_ids is None) == (request.client_filter is None):
        errors.append({"field": "client_ids", "message": "give either client_ids or filter (one of them)"})
    elif request.client_ids is not None and not request.client_ids:
        errors.append({"field": "client_ids", "message": "must name at least one client"})
    elif request.client_ids is not None and len(set(request.client_ids)) > MAX_LISTED_CLIENTS:
        errors.append(
            {"field": "client_ids", "message": f"at most {MAX_LISTED_CLIENTS} clients; use a filter for more"}
        )
    if len(json.dumps(dict(request.variables), ensure_ascii=False).encode()) > MAX_VARIABLES_BYTES:
        errors.append(
            {"field": "variables", "message": f"must be at most {MAX_VARIABLES_BYTES:,} bytes as JSON"}
        )
    if "portal_link" in request.variables:
        # the client's own link, signed per client: given, it would put any URL where the
        # company's template promises the client's documents (decision 0035, session 40)
        errors.append({"field": "variables", "message": PORTAL_LINK_GIVEN})
    if request.client_filter is not None and request.client_filter.switch is not None:
        from chalicelib.tenants.clients import MESSAGE_SWITCHES

        if request.client_filter.switch not in MESSAGE_SWITCHES:
            errors.append(
                {"field": "filter.switch", "message": f"must be one of {', '.join(MESSAGE_SWITCHES)}"}
            )
    if errors:
        raise ValidationFailed(errors)


def _checked_template(company_id: str, request: SendRequest) -> Any:
    """The effective template, rendered once with a sample client and the request's variables, so
    a template that cannot render with what was given is refused (422) before anything is sent."""
    from chalicelib.messaging.sandbox import render_untrusted
    from chalicelib.messaging.templates import SAMPLE_CLIENT, SAMPLE_PORTAL_LINK, effective_template

    try:
        template = effective_template(company_id, request.template_key)
    except NotFound as exc:
        raise ValidationFailed([{"field": "template", "message": exc.message}]) from exc
    except ValidationFailed as exc:
        raise ValidationFailed([{"field": "template", "message": e["message"]} for e in exc.errors]) from exc
    try:
        sample = _data(request.variables, dict(SAMPLE_CLIENT), company_variables(None, "Sample"))
        render_untrusted(template.sources, {"portal_link": SAMPLE_PORTAL_LINK, **sample})
    except ValidationFailed as exc:
        raise ValidationFailed(
            [{"field": "template", "message": _in_part(e["field"], e["message"])} for e in exc.errors]
        ) from exc
    return template


def _in_part(part: str, problem: str) -> str:
    """A template's problem with the part it is in, worded for a person (not the field's code)."""
    if part == "subject":
        return f"in the subject: {problem}"
    if part == "text":
        return f"in the text: {problem}"
    if part == "html":
        return f"in the HTML: {problem}"
    return f"{part}: {problem}"


def _check_channel(company_id: str, channel: str, area: str) -> None:
    """Refuse (409) a channel that cannot send for the company now, rather than fail every message."""
    if channel == "email":
        from chalicelib.messaging.accounts.email import account_for

        if account_for(company_id, area) is None:
            raise Conflict(
                f"no working sender account for the area {area!r} (nor the 'all' fallback)", field="template"
            )
    elif channel == "sms":
        from chalicelib.messaging.accounts.sms import sms_sender

        sms_sender(company_id)
    elif channel == "push":
        from chalicelib.messaging.accounts.push import get_push_settings

        settings = get_push_settings(company_id)
        if not (settings.fcm_application_arn or settings.apns_application_arn):
            raise Conflict("push is not set up for this company (PUT /push/settings)", field="channel")


def _send_to_one(company_id: str, request: SendRequest, client_id: str) -> SendResult:
    from chalicelib.tenants.clients import find_client, unless_erased

    client = find_client(company_id, client_id)
    if client is None:
        raise ValidationFailed([{"field": "client_ids[0]", "message": f"there is no client {client_id!r}"}])
    prefix = f"send:{request.request_id}" if request.request_id else None
    page = _Page(
        company_id, request.channel, request.template_key, dict(request.variables), request.created_by
    )
    messages, reason = page.messages_for(client, prefix)
    if not messages:
        raise ValidationFailed([{"field": "client_ids[0]", "message": f"client {client_id!r} {reason}"}])
    # Written on condition that no erasure of the client started since the company was read, nor
    # ended (a send's page waits for nothing of the kind: the erasure waits for it; this request
    # is waited for by no one): its message is either there when the erasure starts, or not written
    with unless_erased(company_id, client.client_id, "client_ids[0]") as checks:
        written = enqueue(company_id, messages, checks=checks)
    if len(written) == len(messages):
        return SendResult(created=True, communications=tuple(written))
    existing = [comm_store.existing_key(company_id, m.idempotency_key or "") for m in messages]
    found = comm_store.get_many(company_id, [cid for cid in existing if cid])
    if not all(same_requester(comm.created_by, page.created_by) for comm in found.values()):
        raise _foreign_request_id()
    return SendResult(created=bool(written), communications=tuple(found.values()))


def same_requester(first: str | None, second: str | None) -> bool:
    """Whether two requests came from one requester: the same user, or the company's systems
    (any of its API keys: a retry after a key was rotated is still the same back office's)."""
    return first == second or (str(first).startswith("key:") and str(second).startswith("key:"))


def _foreign_request_id() -> Conflict:
    """A request id another user's request used: what that request did is theirs (a level-4 user
    may not see it), and this one is no retry of it."""
    return Conflict(
        "this request_id names another user's request: choose one of your own", field="request_id"
    )


def _start_job(company_id: str, request: SendRequest) -> SendResult:
    ids = list(dict.fromkeys(request.client_ids or ()))
    pages = [ids[i : i + PAGE_SIZE] for i in range(0, len(ids), PAGE_SIZE)]
    selection: dict[str, Any] = (
        {"client_ids": len(ids)}
        if request.client_ids is not None
        else {"filter": (request.client_filter or ClientFilter()).as_dict()}
    )
    job, created = start_job(
        company_id,
        channel=request.channel,
        template_key=request.template_key,
        created_by=request.created_by,
        spec={"selection": selection, "variables": dict(request.variables)},
        request_key=f"sendjob:{request.request_id}" if request.request_id else None,
        pages=(
            [{"page": n, "client_ids": p} for n, p in enumerate(pages)]
            if request.client_ids is not None
            else [{"page": 0, "cursor": None}]
        ),
        pages_total=len(pages) if request.client_ids is not None else None,
    )
    logger().info(
        "send job started",
        extra={"company_id": company_id, "job_id": job.job_id, "job_created": created},
    )
    return SendResult(created=created, job=progress(job))


def start_job(
    company_id: str,
    *,
    channel: str,
    template_key: str,
    created_by: str,
    spec: dict[str, Any],
    request_key: str | None,
    pages: list[dict[str, Any]],
    pages_total: int | None = None,
) -> tuple[SendJob, bool]:
    """Create a send job (once per ``request_key``), nothing counted yet, and ask for its first
    ``pages``. Returns (job, created). A retried request re-puts the pages of a job none of whose
    pages ran yet (the first call may have died before); pages are idempotent, so this never
    sends twice."""
    now = clock.now()
    job = SendJob(
        company_id=company_id,
        job_id=comm_store.new_communication_id(now),
        channel=channel,
        template_key=template_key,
        state="expanding",
        total=0,
        queued=0,
        sent=0,
        failed=0,
        skipped=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        selection=json.dumps(spec, ensure_ascii=False),
        pages_total=pages_total,
    )
    job, created = job_store.create_job_once(job, request_key)
    if not created and not same_requester(job.created_by, created_by):
        raise _foreign_request_id()
    if created or (job.state == "expanding" and job.pages_done == 0):
        put_job_pages(company_id, job.job_id, pages)
    return job, created


def put_job_pages(company_id: str, job_id: str, pages: list[dict[str, Any]]) -> None:
    """Ask the send-job workers for pages. Each page is first written down with a wake-up one
    lease away: should its SQS message be lost, the minute schedule asks again
    (:func:`resume_overdue_pages`); a page is forgotten once it is expanded."""
    from chalicelib.core.aws import send_json_messages

    job_store.save_job_pages(company_id, job_id, pages, clock.now() + _page_lease())
    send_json_messages(
        send_jobs_queue(), [{"company_id": company_id, "job_id": job_id, **page} for page in pages]
    )


#: How long a page of a suspended company's job waits before it is asked for again (its reopening
#: asks for it at once: :func:`chalicelib.store.outbox.wake_job_pages`).
SUSPENDED_PAGE_WAIT = timedelta(hours=1)


def page_waits(company_id: str, job_id: str, page: int) -> PageReport:
    """A page of a suspended company's job is not expanded (decision 0033): it stays asked for,
    due again in :data:`SUSPENDED_PAGE_WAIT`; its reopening makes it due at once, and a deletion
    deletes it with the job. Nothing is written, so nothing is lost or doubled."""
    job_store.postpone_job_page(company_id, job_id, page, clock.now() + SUSPENDED_PAGE_WAIT)
    extra = {"company_id": company_id, "job_id": job_id, "page": page}
    logger().info("send job page waits: the company is suspended", extra=extra)
    return PageReport(job_id, page)


def _page_lease() -> timedelta:
    from chalicelib.core.settings import get_settings

    return timedelta(seconds=get_settings().outbox_lease_seconds)


def resume_overdue_pages(now: datetime | None = None) -> int:
    """The minute schedule: put back on the queue every page not expanded within a lease of being
    asked for (its message went to the dead-letter queue, or the queue itself was lost). Pages are
    idempotent, so a slow page asked for twice still sends each message once. Each page is taken
    as it is sent: should SQS refuse one, that page waits its lease and the pages after it, never
    taken, are asked for at the next minute."""
    from chalicelib.core.aws import send_json_messages

    now = now or clock.now()
    asked = 0
    for company_id, page in job_store.due_job_pages(now, now + _page_lease()):
        logger().warning("send job page asked for again", extra={"company_id": company_id, **page})
        send_json_messages(send_jobs_queue(), [{"company_id": company_id, **page}])
        asked += 1
    return asked


# --- progress ----------------------------------------------------------------------------------


def progress(job: SendJob) -> JobProgress:
    """What staff see: waiting = total - sent - failed - skipped; done once every page is
    expanded and nothing waits."""
    waiting = max(0, job.total - job.sent - job.failed - job.skipped)
    state = "done" if job.state in ("sending", "done") and waiting == 0 else job.state
    try:
        selection = dict(json.loads(job.selection or "{}"))
    except ValueError:
        selection = {}
    return record_of(JobProgress, job, state=state, waiting=waiting, selection=selection.get("selection", {}))


def get_send_job(viewer: Principal, job_id: str) -> JobProgress:
    """A job's progress; another user's job is not found for a level-4 user (its existence does
    not leak)."""
    job = job_store.get_job(viewer.company_id, job_id)
    if job is None or not may_see(viewer, job.created_by):
        raise NotFound(f"there is no send job {job_id!r}")
    return progress(job)


def list_send_jobs(
    viewer: Principal, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[JobProgress], dict[str, Any] | None]:
    """The company's send jobs, newest first; a level-4 user's own only."""
    jobs, next_cursor = job_store.list_jobs(viewer.company_id, limit, cursor, created_by=own_only(viewer))
    return [progress(j) for j in jobs], next_cursor


# --- the worker: one page ----------------------------------------------------------------------


def _data(variables: Mapping[str, Any], client: dict[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a manual template renders with: the request's, with the client's own values
    and the company's (``client.*``; ``company.name``, ``company.logo_url``, ``company.colors``)
    merged over them."""
    data = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in variables.items()}
    given_client = data.get("client")
    data["client"] = {**(given_client if isinstance(given_client, dict) else {}), **client}
    given_company = data.get("company")
    company = given_company if isinstance(given_company, dict) else {}
    data["company"] = {**company, **own}
    data["attachments"] = []  # a manual send attaches nothing (an invoice's text says so from this)
    return data


class _Page:
    """Renders one page of clients into outgoing messages (one template and company read per page).

    The company's read also lists the clients it is erasing (almost always none): a client being
    erased gets no message (counted as skipped), since its erasure may have passed its messages
    already and would leave this one (docs/privacy.md)."""

    def __init__(
        self, company_id: str, channel: str, template_key: str, variables: dict[str, Any], created_by: str
    ) -> None:
        from chalicelib.messaging.templates import effective_template
        from chalicelib.tenants.companies import company_and_erasing

        self.company_id = company_id
        self.channel = channel
        self.template = effective_template(company_id, template_key)
        self.variables = variables
        self.created_by = created_by or None
        company, self.erasing = company_and_erasing(company_id)
        self.in_service = company is not None and company.in_service
        self.company = company_variables(company)
        self.locale = company.locale if company else DEFAULT_LOCALE
        self._region: str | None = None
        self.render_failures = 0
        # The sender account of the page's e-mails, by (area, personal user) as the outbox asks for
        # it: resolved once a page, for writing the messages and for the outbox to hand them to.
        self.accounts: Accounts = {}

    def _sms_region(self) -> str:
        if self._region is None:
            from chalicelib.tenants.companies import phone_region

            self._region = phone_region(self.company_id)
        return self._region

    def _addresses(self, client: Client) -> list[tuple[str, str | None]]:
        """(address, device id) pairs the channel reaches the client at."""
        if self.channel == "email":
            return [(client.emails[0], None)] if client.emails else []
        if self.channel == "sms":
            from chalicelib.core.phones import first_sms_number

            number = first_sms_number(client.phones, self._sms_region())
            return [(number, None)] if number else []
        from chalicelib.messaging.accounts.push import devices_of

        return [(d.endpoint_arn, d.device_id) for d in devices_of(self.company_id, client.client_id)]

    def messages_for(self, client: Client, key_prefix: str | None) -> tuple[list[OutgoingMessage], str]:
        """The client's messages, or none and why (no address, or the template failed for it)."""
        from chalicelib.messaging.sandbox import render_untrusted
        from chalicelib.messaging.templates import for_channel, with_portal_link

        if client.manual_sends_off_at is not None:
            return [], "unsubscribed from manual sends"
        if is_being_erased(self.company_id, client.client_id, self.erasing):
            return [], "is being erased"
        addresses = self._addresses(client)
        if not addresses:
            what = {
                "email": "e-mail address",
                "sms": "valid phone number",
                "push": "registered device",
            }
            return [], f"has no {what[self.channel]}"
        values = {
            "code": client.client_id,
            "name": client.name,
            "email": client.emails[0] if client.emails else "",
            "phone": client.phones[0] if client.phones else "",
        }
        balance = show_balance(client.balance, self.locale)
        if balance is not None:  # none pushed: a balance the request's variables give stays
            values["balance"] = balance
        data = _data(self.variables, values, self.company)
        sources = (*self.template.sources, *self.template.channel_sources)
        data = with_portal_link(self.company_id, sources, data)
        try:
            # SMS and push carry the template's own texts (its sms_text, push title and body) when it has them
            rendered = for_channel(
                self.template, self.channel, data, render_untrusted(self.template.sources, data)
            )
        except ValidationFailed as exc:
            [first, *_] = exc.errors
            return [], f"could not be rendered: {_in_part(first['field'], first['message'])}"
        email = self.channel == "email"
        return [
            OutgoingMessage(
                channel=self.channel,
                to_address=address,
                text=rendered.text,
                subject=rendered.subject,
                html=rendered.html if email else None,
                to_name=client.name,  # the history finds a message by its client's name (H1)
                message_type=self.template.key,
                kind="manual",
                client_id=client.client_id,
                area=self.template.sender_area,
                cause=f"manual:{self.template.key}",
                idempotency_key=(
                    f"{key_prefix}:{client.client_id}" + (f":{device}" if device else "")
                    if key_prefix
                    else None
                ),
                created_by=self.created_by,
                headers=manual_list_unsubscribe(self.company_id, client.client_id) if email else {},
            )
            for address, device in addresses
        ], ""

    def outbox(self) -> str | None:
        if self.channel != "email":
            return outbox_of(self.channel)
        wanted = (self.template.sender_area, None)
        if wanted not in self.accounts:
            from chalicelib.messaging.accounts.email import account_for

            self.accounts[wanted] = account_for(self.company_id, self.template.sender_area)
        account = self.accounts[wanted]
        return outbox_of("email", account.area) if account else None


@dataclass(frozen=True)
class PageReport:
    job_id: str
    page: int
    messages: int = 0
    skipped: int = 0
    failed: int = 0
    counted: bool = False


def expand_page(
    company_id: str,
    job_id: str,
    page: int,
    *,
    client_ids: Sequence[str] | None = None,
    cursor: dict[str, Any] | None = None,
) -> PageReport:
    """Expand one page of a job's recipients into the outbox (the send-jobs worker).

    A filter's page is bound once: the first delivery to read it records where it ends (after the
    last client its Query went through, or the end) on the job
    (:func:`~chalicelib.store.outbox.record_page_bound`), and puts the next page after that
    client. Any other delivery of the page keeps to the recorded bound, even after a client was
    added to or removed from the page meanwhile, so the next page is always asked for at the same
    cursor and each client is in one page. A filter's page delivered again after it was counted
    (its bound forgotten) writes nothing: it only wakes the outbox for the messages it wrote."""
    job, counted, recorded = job_store.get_job_for_page(company_id, job_id, page)
    if job is None:
        logger().warning("send job page for a job that does not exist", extra={"job_id": job_id})
        job_store.job_page_done(company_id, job_id, page)
        return PageReport(job_id, page)
    spec = json.loads(job.selection or "{}")
    worker = _Page(
        company_id, job.channel, job.template_key, dict(spec.get("variables") or {}), job.created_by
    )
    if not worker.in_service:  # read with the company's variables: no request more
        return page_waits(company_id, job_id, page)
    bound: PageBound | None = None  # a filter's page: where it ends, decided once
    if client_ids is not None:
        from chalicelib.store.clients import get_clients

        found = get_clients(company_id, list(client_ids))
        clients = [found[c] for c in dict.fromkeys(client_ids) if c in found]
        unknown = len(set(client_ids)) - len(clients)
        last_page = job.pages_total is not None and page == job.pages_total - 1
    else:
        from chalicelib.store.clients import cursor_after_client

        chosen = ClientFilter(**(spec.get("selection", {}).get("filter") or {}))
        bounded = None if counted else _bounded_page(company_id, job_id, page, chosen, cursor, recorded)
        if bounded is None:  # counted already: its messages were written, maybe not handed off
            return _counted_already(company_id, job_id, page, worker)
        clients, bound = bounded
        unknown = 0
        last_page = bound.until is None
        if bound.until is not None:  # the next page starts before this one works: in parallel
            next_page = {"page": page + 1, "cursor": cursor_after_client(company_id, bound.until)}
            put_job_pages(company_id, job_id, [next_page])
    messages: list[OutgoingMessage] = []
    skipped, render_failed = unknown, 0
    for client in clients:
        mine, reason = worker.messages_for(client, f"job:{job_id}")
        if mine:
            messages += mine
        elif reason.startswith("could not be rendered"):
            render_failed += 1
        else:
            skipped += 1
    # Written claimed and handed to the workers by id once the page is counted (issue 14).
    messages, written, earlier = _write_page(company_id, job_id, messages, worker.accounts)
    failed_now = sum(1 for c in [*written, *earlier] if c.state == "failed" and c.outbox is None)
    now_counted = job_store.count_job_page(
        company_id,
        job_id,
        page,
        clock.now(),
        total=len(messages) + skipped + render_failed,
        failed=failed_now + render_failed,
        skipped=skipped,
        last_page=last_page,
        bound=bound,
    )
    outbox = worker.outbox()
    if outbox and messages:
        hand_off(company_id, written)
        if len(written) < len(messages):  # a page expanded again: its first messages may wait
            kick_outboxes(company_id, {outbox})
    job_store.job_page_done(company_id, job_id, page)
    report = PageReport(
        job_id,
        page,
        messages=len(messages),
        skipped=skipped,
        failed=failed_now + render_failed,
        counted=now_counted is not None,
    )
    logger().info("send job page expanded", extra={"company_id": company_id, **vars(report)})
    return report


def _bounded_page(
    company_id: str,
    job_id: str,
    page: int,
    chosen: ClientFilter,
    cursor: dict[str, Any] | None,
    recorded: PageBound | None,
) -> tuple[list[Client], PageBound] | None:
    """A filter's page of clients, from ``cursor`` up to the page's bound: the one ``recorded``,
    or, when none is, the one this delivery read, recorded now (the first delivery's wins). None
    when the page was counted meanwhile. A bound before what was read (a client of the page
    removed since) drops the clients after it; one further on (a client added) reads on up to it."""
    from chalicelib.store.clients import client_of_cursor, select_clients

    choose = partial(
        select_clients,
        company_id,
        switch=chosen.switch,
        preferred_agent=chosen.preferred_agent,
        collection_agent=chosen.collection_agent,
        limit=PAGE_SIZE,
    )
    clients, next_cursor = choose(cursor=cursor)
    read = PageBound(client_of_cursor(next_cursor) if next_cursor else None)
    bound = recorded or job_store.record_page_bound(company_id, job_id, page, read)
    if bound is None:
        return None
    until = bound.until
    clients, after = bound.keep(clients, read)
    while after is not None and (until is None or after < until):
        more, next_cursor = choose(cursor=None, after=after, last=until)
        clients += more
        after = client_of_cursor(next_cursor) if next_cursor else None
    return clients, bound


def _counted_already(company_id: str, job_id: str, page: int, worker: _Page) -> PageReport:
    """A filter's page delivered again after it was counted: its messages were written before
    (the count follows the writing), so it writes nothing (its clients may have changed since),
    only wakes the outbox for messages its first run may not have handed off."""
    outbox = worker.outbox()
    if outbox:
        kick_outboxes(company_id, {outbox})
    job_store.job_page_done(company_id, job_id, page)
    logger().info(
        "send job page counted already", extra={"company_id": company_id, "job_id": job_id, "page": page}
    )
    return PageReport(job_id, page)


def _write_page(
    company_id: str, job_id: str, messages: list[OutgoingMessage], accounts: Accounts
) -> tuple[list[OutgoingMessage], list[Communication], list[Communication]]:
    """Write a page's messages under ids derived from the job and the recipient
    (:func:`~chalicelib.store.communications.derived_communication_id`): the id is the
    idempotency, so a page expanded again writes nothing twice and no ``message-keys`` item is
    needed (issue 14). Returns the messages as written (with their ids), those written now and
    those a run before wrote. An id already holding another message (two recipients' hashes
    met) makes that message take the next id, the same way on every run."""
    keyed = [
        replace(
            m,
            job_id=job_id,
            idempotency_key=None,
            communication_id=comm_store.derived_communication_id(job_id, m.idempotency_key or ""),
        )
        for m in messages
    ]
    keys = {n.communication_id or "": m.idempotency_key or "" for n, m in zip(keyed, messages, strict=True)}
    final: list[OutgoingMessage] = []
    written: list[Communication] = []
    earlier: list[Communication] = []
    for attempt in range(1, 8):
        ids: set[str | None] = set()
        now: list[OutgoingMessage] = []
        twins: list[OutgoingMessage] = []  # two keys of this page with one id: the second waits a round
        for m in keyed:
            (twins if m.communication_id in ids else now).append(m)
            ids.add(m.communication_id)
        fresh = enqueue(company_id, now, kick=False, handoff=True, accounts=accounts)
        written += fresh
        done = {c.communication_id for c in fresh}
        rest = [m for m in now if m.communication_id not in done] + twins
        final += [m for m in now if m.communication_id in done]
        found = comm_store.get_many_consistent(company_id, [m.communication_id or "" for m in rest])
        keyed = []
        for message in rest:
            there = found.get(message.communication_id or "")
            if there is None:  # refused for another reason than its id: try it again
                keyed.append(message)
            elif _same_message(there, message):
                earlier.append(there)
                final.append(message)
            else:  # another recipient's message holds the id: the next id
                key = keys[message.communication_id or ""]
                moved = comm_store.derived_communication_id(job_id, key, attempt)
                keys[moved] = key
                keyed.append(replace(message, communication_id=moved))
        if not keyed:
            return final, written, earlier
    raise RuntimeError(f"send job {job_id}: {len(keyed)} messages found no free id")


def _same_message(comm: Communication, message: OutgoingMessage) -> bool:
    """Whether the message found under an id is this one (its key: the job, the client and,
    for push, the device's endpoint), not another recipient's whose id hashed the same."""
    device = message.channel == "push"
    return (comm.job_id, comm.client_id, comm.channel, comm.to_address if device else None) == (
        message.job_id,
        message.client_id,
        message.channel,
        message.to_address if device else None,
    )
