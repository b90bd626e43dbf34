"""The tracking alert sweep (T5, T11): the "decide" step of the one flow.

decide -> render -> outbox, per company at its frequency:

* parcels with a pending novelty come from a sparse index (cost grows with the work due), and
  only those parcels' active followers are queried (one query each, in the subscriptions table);
* each follower's alert is rendered with the company's template (and, when the company's SMS
  service is on, its SMS text once per phone the followers gave), and each parcel is claimed in
  one conditional transaction that writes one alert item and its queued outbox messages per
  active follower and clears the pending marker, so concurrent sweeps never send twice and a
  novelty that lands (or a follower who comes or goes) meanwhile waits for the next sweep;
* through an account without a rate limit, each claim writes its messages claimed (leased) with
  the hand-off record that holds them, and their ids go to the outbox workers (the first claim's
  at once, later ones gathered ~200 ids to an SQS message), so a worker delivers (and records)
  while further parcels are still being claimed; a rate-limited account's outbox is kicked after
  the first chunk.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import (
    Communication,
    Company,
    Follower,
    Novelty,
    Parcel,
    SenderAccount,
    StatusDefinition,
)
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.localization import show_date, show_datetime
from chalicelib.core.observability import logger, metrics
from chalicelib.core.schedules import each_company
from chalicelib.core.settings import get_settings
from chalicelib.messaging.accounts.email import account_for
from chalicelib.messaging.accounts.sms import get_sms_settings
from chalicelib.messaging.outbox import (
    FAILING_OUTBOX,
    Accounts,
    GatheredHandOffs,
    OutgoingMessage,
    announce,
    discard_bodies,
    failing,
    kick_outboxes,
    outbox_of,
    prepare,
)
from chalicelib.messaging.sandbox import render_untrusted
from chalicelib.messaging.sms_text import render_sms
from chalicelib.messaging.templates import effective_template, message_type
from chalicelib.producers.tracking.catalog import is_notifiable, status_catalog
from chalicelib.producers.tracking.subscriptions import alert_headers, header_name, unsubscribe_url
from chalicelib.store import companies as company_store
from chalicelib.store import tracking as store
from chalicelib.tenants.branding import company_variables, parcel_url

ALERT_TYPE = "tracking"
# Parcels claimed per transaction (a parcel with one follower is 3 of its 100 items: the parcel,
# the alert, its e-mail; the hand-off record is one more).
CLAIM_CHUNK = 32
_CHUNKS_AHEAD = 8
# One company's sweep may render and claim for this long per run; what is left stays pending for
# its next run, so a company with a slow template cannot hold the schedule for the others.
COMPANY_SECONDS = 60.0


@dataclass
class SweepReport:
    company_id: str
    parcels: int = 0
    queued: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0  # parcels left pending for the next run: the company's time was up
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


def sweep_due_tracking_alerts(
    now: datetime | None = None, *, company_seconds: float = COMPANY_SECONDS
) -> list[SweepReport]:
    """Run the tracking sweep of every company whose frequency says it is due (the schedule).

    Companies are swept side by side, each within ``company_seconds``: a company whose template
    is slow (or fails) uses up its own time and its own worker, never another company's."""
    now = now or clock.now()
    due = [
        schedule.company_id
        for schedule in company_store.due_alert_schedules(ALERT_TYPE, now)
        if company_store.claim_alert_run(schedule, now)  # else another invocation took this run
    ]

    # A company that fails keeps its novelties pending; its next run tries again.
    return each_company(due, lambda c: sweep_company(c, now, seconds=company_seconds), what="tracking sweep")


def sweep_company(
    company_id: str,
    now: datetime | None = None,
    *,
    workers: int | None = None,
    seconds: float = COMPANY_SECONDS,
) -> SweepReport:
    """Queue every pending tracking alert of one company once; the outbox delivers them. After
    ``seconds`` no further parcel is rendered: those stay pending for the next run."""
    now = now or clock.now()
    company = company_store.get_company(company_id)
    if company is not None:
        # Babel reads the locale's CLDR data once per process (~50 ms): not from the time budget.
        show_datetime(now, company.time_zone, company.locale)
    report = SweepReport(company_id)
    if company is not None and not company.in_service:
        # a company that left (docs/decisions/0033-a-company-leaves.md): its novelties stay pending
        logger().info("tracking sweep skipped: the company is suspended", extra={"company_id": company_id})
        return report
    # The company's own tracking_alert template when it has one, else the default in its language;
    # alerts go out from the area it names (``tracking`` unless the company chose another), or ``all``.
    template = (
        effective_template(company_id, "tracking_alert", language=company.language) if company else None
    )
    account = account_for(company_id, template.sender_area) if template else None
    if company is None or template is None or account is None:
        # Nothing can be sent; novelties stay pending until an account works again.
        logger().warning(
            "tracking sweep skipped: no working sender account", extra={"company_id": company_id}
        )
        return report
    catalog = status_catalog(company_id)
    # T3's optional phone is for SMS: alerts go by SMS too while the company's SMS service is on.
    sms_text = template.sms_text if get_sms_settings(company_id).ready else None
    # The company's time counts from the writer's creation, once its settings are read (on a loaded
    # machine those reads alone could use up a short budget). Alerts through an account without a
    # rate limit are written claimed until ``until`` and handed to the outbox workers by id as each
    # chunk's claim commits (issue 14): no drain searches for them. The hand-off records written
    # in the same claims find them when the lease ends, should no worker send them.
    until = None if account.rate_limit_count else now + timedelta(seconds=get_settings().outbox_lease_seconds)
    deadline = time.monotonic() + seconds
    writer = _AlertWriter(
        company, account, template.sources, now, sms_text, deadline, until, area=template.sender_area
    )
    outbox = {outbox_of("email", account.area)} | ({outbox_of("sms")} if sms_text is not None else set())
    due = store.pending_parcels(company_id)
    first = next(due, None)
    if first is None:
        return report
    # Without a lease (a rate limit), the outboxes' wake-ups are set before any alert is written
    # and again after: the SQS kicks below only make delivery start sooner. Alerts written
    # claimed are found by the hand-off record written with them, should no worker come.
    if until is None:
        announce(company_id, dict.fromkeys(outbox, now))
    kicked = until is not None  # handed off chunk by chunk instead
    try:
        with ThreadPoolExecutor(max_workers=workers or get_settings().sweep_workers) as pool:
            # A feeder thread pages through the due parcels and hands chunks to the pool to render
            # and claim (a transaction per chunk); the outbox starts delivering after the first.
            for claimed in _claimed_in_order(pool, chain([first], due), catalog, writer, now, report):
                if claimed and not kicked:
                    kick_outboxes(company_id, outbox)
                    kicked = True
    finally:
        # what the last claims wrote (also when a later chunk failed: those records committed)
        writer.handoffs.flush()
    if report.queued and until is None:
        announce(company_id, dict.fromkeys(outbox, now))
    if until is None and (report.queued or kicked):
        # what was claimed after the first drain finished (handed-off chunks need no kick)
        kick_outboxes(company_id, outbox)
    metrics().add_metric(name="TrackingAlertsQueued", unit="Count", value=report.queued)
    logger().info(
        "tracking sweep done",
        extra={
            "company_id": company_id,
            "parcels": report.parcels,
            "queued": report.queued,
            "failed": report.failed,
            "deferred": report.deferred,
        },
    )
    return report


class _AlertWriter:
    """Renders one follower's alert into the outbox message the claim writes."""

    def __init__(
        self,
        company: Company,
        account: SenderAccount,
        sources: tuple[str, str, str],
        now: datetime,
        sms_text: str | None = None,
        deadline: float = float("inf"),
        lease_until: datetime | None = None,
        *,
        area: str = "tracking",
    ) -> None:
        self._company = company
        self._area = area
        self.lease_until = lease_until
        self._sources = sources
        self._now = now
        self._sms_text = sms_text
        self._deadline = deadline
        self._rendered = False  # each run renders at least one parcel, so every run makes progress
        # The account the sweep resolved for the template's area (C1 fallback included): no alert
        # looks it up again.
        self._accounts: Accounts = {(area, None): account}
        # Claims commit a record of up to 24 alerts each; the workers get them ~200 at a time.
        self.handoffs = GatheredHandOffs(company.company_id)

    def messages(
        self, parcel: Parcel, novelty: Novelty, status: StatusDefinition, followers: list[Follower]
    ) -> list[Communication]:
        """One e-mail per follower (in the followers' order), then one SMS per phone while the
        SMS service is on (to the first follower who gave it: phones are not verified, so one
        typed on many subscriptions of a parcel must not multiply its texts), as the outbox takes
        them in (:func:`prepare`: large bodies offloaded) for the claim to write."""
        self._rendered = True
        emails = []
        texts = []
        phones: set[str] = set()
        for follower in followers:
            email, variables = self.message(parcel, novelty, status, follower)
            emails.append(email)
            if self._sms_text is not None and follower.phone and follower.phone not in phones:
                phones.add(follower.phone)
                texts.append(self._sms(parcel, novelty, follower, variables))
        return prepare(
            self._company.company_id,
            emails + texts,
            now=self._now,
            accounts=self._accounts,
            lease_until=self.lease_until,
            failing_through_outbox=True,  # recorded failed (and told) by the drain: decision 0018
        )

    def _sms(
        self, parcel: Parcel, novelty: Novelty, follower: Follower, variables: dict[str, Any]
    ) -> OutgoingMessage:
        assert self._sms_text is not None and follower.phone is not None
        outgoing = OutgoingMessage(
            channel="sms",
            to_address=follower.phone,
            text="",
            message_type="tracking_alert",
            client_id=parcel.client_id,
            area="tracking",
            cause=f"novelty:{parcel.tracking_id}/{novelty.event_id}",
            # counted by the alerts monitor when recorded, sent or failed, as the e-mail is
            alert_type=ALERT_TYPE,
        )
        try:
            text = render_sms(self._sms_text, message_type("tracking_alert").sms_values(variables)).strip()
        except ValidationFailed as exc:
            return replace(outgoing, error=str(exc))
        return replace(outgoing, text=text)

    def out_of_time(self) -> bool:
        """Whether the company's time is up; never before the run has rendered one parcel."""
        return self._rendered and time.monotonic() > self._deadline

    def message(
        self, parcel: Parcel, novelty: Novelty, status: StatusDefinition, follower: Follower
    ) -> tuple[OutgoingMessage, dict[str, Any]]:
        company = self._company
        company_id = company.company_id
        link = unsubscribe_url(company_id, parcel.tracking_id, follower)  # cached: made once
        ref = store.alert_ref(company_id, parcel.tracking_id, novelty.event_id, follower.subscription_id)
        outgoing = OutgoingMessage(
            channel="email",
            to_address=follower.email,
            # Names typed by the public reach the To header only when they pass a strict check.
            to_name=header_name(follower.first_name, follower.last_name),
            subject="",
            text="",
            message_type="tracking_alert",
            client_id=parcel.client_id,
            area=self._area,
            cause=f"novelty:{parcel.tracking_id}/{novelty.event_id}",
            alert_ref=ref,
            alert_type=ALERT_TYPE,
            # the store makes these again from ``alert_ref`` rather than keeping them (issue 14).
            # No header names the alert: its ids are ours, not the recipient's (X-Pregon-Message
            # names the e-mail, and the alert keeps that e-mail's id)
            headers=alert_headers(company_id, parcel.tracking_id, follower),
        )
        variables: dict[str, Any] = {
            "company": company_variables(self._company),
            "subscriber": {"first_name": follower.first_name, "last_name": follower.last_name},
            "subscription": {"expires_on": show_date(follower.expires_at, company.locale, company.time_zone)},
            "parcel": {
                "tracking_id": parcel.tracking_id,
                "url": parcel_url(company_id, parcel.tracking_id, self._company.tracking_page_url),
            },
            "novelty": {
                "status_name": status.display_name,
                # Z1: "23/11/2026 07:30" in the company's zone and locale, not "2026-11-23 10:30 UTC"
                "occurred_at": show_datetime(novelty.occurred_at, company.time_zone, company.locale),
                "reason": novelty.reason if status.visibility == "with_reason" else None,
                "observation": novelty.observation,
            },
            "unsubscribe_url": link,
        }
        try:
            rendered = render_untrusted(self._sources, variables)
        except ValidationFailed as exc:
            return replace(outgoing, error=str(exc)), variables
        return replace(outgoing, subject=rendered.subject, text=rendered.text, html=rendered.html), variables


def _claimed_in_order(
    pool: ThreadPoolExecutor,
    parcels: Iterable[Parcel],
    catalog: dict[str, StatusDefinition],
    writer: _AlertWriter,
    now: datetime,
    report: SweepReport,
) -> Iterator[list[Parcel]]:
    """Claims of successive chunks, in order. The queue is bounded, so a sweep of any size
    holds only a few chunks in memory, and paging never blocks sending."""
    ready: queue.Queue[Future[list[Parcel]] | BaseException | None] = queue.Queue(maxsize=_CHUNKS_AHEAD)
    stop = threading.Event()

    def feed() -> None:
        try:
            for chunk in _chunks(parcels, CLAIM_CHUNK):
                if stop.is_set() or writer.out_of_time():
                    break
                ready.put(pool.submit(_claim, chunk, catalog, writer, now, report))
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)
        finally:
            ready.put(None)

    feeder = threading.Thread(target=feed, name="sweep-feeder", daemon=True)
    feeder.start()
    try:
        while (next_item := ready.get()) is not None:
            if isinstance(next_item, BaseException):
                raise next_item
            yield next_item.result()
    finally:
        stop.set()
        while next_item is not None:  # let the feeder finish: drain until its end mark
            next_item = ready.get()
        feeder.join()


def _chunks(parcels: Iterable[Parcel], size: int) -> Iterator[list[Parcel]]:
    chunk: list[Parcel] = []
    for parcel in parcels:
        chunk.append(parcel)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _latest_still_notifiable(
    parcel: Parcel, catalog: dict[str, StatusDefinition]
) -> tuple[Parcel, StatusDefinition | None]:
    """The novelty waiting for an alert has a status staff stopped notifying (or hid) after it
    arrived: the parcel's newest novelty since its last alert whose status notifies now is sent
    instead (T5: the latest notifiable novelty), or none (``None``: the claim clears the pending
    novelty). One read of the parcel's novelties, only for such a parcel."""
    assert parcel.pending is not None
    since = parcel.notified_occurred_at
    for novelty in reversed(store.list_novelties(parcel.company_id, parcel.tracking_id)):
        if since is not None and novelty.occurred_at <= since:
            break  # alerted already, or older than what was
        status = catalog.get(novelty.status)
        if is_notifiable(status):
            return replace(parcel, pending=novelty), status
    return parcel, None


def _claim(
    parcels: list[Parcel],
    catalog: dict[str, StatusDefinition],
    writer: _AlertWriter,
    now: datetime,
    report: SweepReport,
) -> list[Parcel]:
    """Render and claim what is due in a chunk of parcels; parcels that changed meanwhile are
    left for the next sweep (a newer novelty arrived, a follower came or went, or another sweep
    won). Returns the parcels claimed with at least one alert."""
    wanted: list[tuple[Parcel, list[Follower], list[Communication]]] = []
    skipped = deferred = 0
    due: list[tuple[Parcel, StatusDefinition | None]] = []
    for parcel in parcels:
        if parcel.pending is not None:
            status = catalog.get(parcel.pending.status)
            if not is_notifiable(status):
                parcel, status = _latest_still_notifiable(parcel, catalog)
            due.append((parcel, status))
    # Only due parcels' followers are read: one request for the chunk's notifiable parcels, which
    # DynamoDB runs as a query of each one's subscriptions (issue 14: was a request each).
    notifiable = [p.tracking_id for p, status in due if status is not None and is_notifiable(status)]
    followers_of = store.active_followers_of(parcels[0].company_id, notifiable, now) if notifiable else {}
    for parcel, status in due:
        assert parcel.pending is not None
        if writer.out_of_time():
            deferred += 1  # stays pending: the next run renders it
            continue
        followers = followers_of.get(parcel.tracking_id, [])
        if status is None or not followers:
            # The status stopped being notifiable, or nobody follows the parcel any more: the
            # claim with no followers just clears the pending novelty, in the same transaction.
            wanted.append((parcel, [], []))
            skipped += 1
            continue
        messages = writer.messages(parcel, parcel.pending, status, followers)
        wanted.append((parcel, followers, messages))
    company_id = parcels[0].company_id
    # An alert that fails as rendered (its template failed) is written queued in the failing
    # outbox, for the drain to record failed once the company's webhooks are told (decision
    # 0018). Written claimed, its hand-off record finds it; otherwise the failing outbox's
    # wake-up is set first, as the sweep sets its others' (only when there is such an alert).
    unclaimed = [m for _, _, messages in wanted for m in messages if failing(m) and m.lease_until is None]
    if unclaimed:
        announce(company_id, {FAILING_OUTBOX: now})
    outcomes = store.claim_many_pending_alerts(wanted, now)
    # A parcel whose claim lost (it changed, or another sweep wrote its alerts) wrote none of the
    # messages rendered for it here: their bodies in S3, if any, are named by nothing.
    kept = {m.communication_id for outcome in outcomes if outcome for m in outcome[1]}
    unwritten = [m for _, _, messages in wanted for m in messages if m.communication_id not in kept]
    discard_bodies(company_id, unwritten, "their parcel's claim lost")
    claimed = []
    written: list[Communication] = []
    queued = failed = 0
    for (parcel, _, _), outcome in zip(wanted, outcomes, strict=True):
        if outcome is None or not outcome[0]:  # lost a race, or nobody to alert
            continue
        messages = outcome[1]
        claimed.append(parcel)
        written += messages
        # one failing is counted failed now; the drain records it so, and the monitor counts it then
        queued += sum(1 for m in messages if m.state == "queued" and not failing(m))
        failed += sum(1 for m in messages if failing(m))
    if writer.lease_until is not None and written:
        # Each claim transaction wrote the hand-off records of its messages (issue 14); they go
        # to the workers gathered, ~200 ids an SQS message (the first at once). Should this
        # process die first, the minute schedule finds the records when the lease ends
        # (``recover_handoffs``).
        writer.handoffs.add(written)
    with report.lock:  # chunks are claimed on several threads
        report.parcels += len(parcels)
        report.skipped += skipped
        report.queued += queued
        report.failed += failed
        report.deferred += deferred
    if any(failing(m) and m.lease_until is None for m in written):
        kick_outboxes(company_id, {FAILING_OUTBOX})
    return claimed
