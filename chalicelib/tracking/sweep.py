"""The tracking alert sweep (T5, T11).

decide -> render -> deliver -> record, per company at its frequency:

* parcels with a pending novelty come from a sparse index (cost grows with the work due);
* each parcel is claimed in one conditional transaction that writes one queued alert per
  active subscriber and clears the pending marker, so concurrent sweeps never send twice and a
  novelty that lands meanwhile stays pending for the next sweep;
* alerts go out over one connection of the company's tracking sender account while further
  parcels are still being claimed, and their outcome is written back in batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.message import EmailMessage

from chalicelib import clock
from chalicelib.channels.base import EmailSession, open_email_session
from chalicelib.channels.email import HeaderInjection, OutgoingEmail, address_domain, compose, new_message_id
from chalicelib.errors import DeliveryFailed, ValidationFailed
from chalicelib.messaging.templates import effective_template
from chalicelib.observability import logger, metrics
from chalicelib.rendering import render_untrusted
from chalicelib.senders.service import account_for, password_of
from chalicelib.settings import get_settings
from chalicelib.store import companies as company_store
from chalicelib.store import tracking as store
from chalicelib.store.records import (
    Alert,
    Company,
    Follower,
    Novelty,
    Parcel,
    SenderAccount,
    StatusDefinition,
)
from chalicelib.tracking.catalog import is_notifiable, status_catalog
from chalicelib.tracking.subscriptions import unsubscribe_url

ALERT_TYPE = "tracking"
# Parcels claimed per transaction (a parcel with one follower is 3 of its 100 items).
CLAIM_CHUNK = 32
_CHUNKS_AHEAD = 8
_RESULT_BATCH = 25


@dataclass
class SweepReport:
    company_id: str
    parcels: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


@dataclass(frozen=True)
class _Claimed:
    parcel: Parcel
    novelty: Novelty
    status: StatusDefinition
    alerts: list[tuple[Alert, Follower]]


def sweep_due_tracking_alerts(now: datetime | None = None) -> list[SweepReport]:
    """Run the tracking sweep of every company whose frequency says it is due (the schedule)."""
    now = now or clock.now()
    reports = []
    for schedule in company_store.due_alert_schedules(ALERT_TYPE, now):
        if not company_store.claim_alert_run(schedule, now):
            continue  # another invocation took this run
        try:
            report = sweep_company(schedule.company_id, now)
        except Exception:
            # One company's failure must not hold back the others; its novelties stay pending
            # and its next run tries again.
            logger().exception("tracking sweep failed", extra={"company_id": schedule.company_id})
            continue
        company_store.count_alert_results(
            schedule.company_id, ALERT_TYPE, sent=report.sent, failed=report.failed
        )
        reports.append(report)
    return reports


def sweep_company(company_id: str, now: datetime | None = None, *, workers: int | None = None) -> SweepReport:
    """Send every pending tracking alert of one company once."""
    now = now or clock.now()
    report = SweepReport(company_id)
    company = company_store.get_company(company_id)
    account = account_for(company_id, "tracking")
    if company is None or account is None:
        # Nothing can be sent; novelties stay pending until an account works again.
        logger().warning(
            "tracking sweep skipped: no working sender account", extra={"company_id": company_id}
        )
        return report
    catalog = status_catalog(company_id)
    # The company's own tracking_alert template when it has one, else the default in its language.
    sources = effective_template(company_id, "tracking_alert").sources
    mailer = _AlertMailer(company, account, sources, now, report)
    with ThreadPoolExecutor(max_workers=workers or get_settings().sweep_workers) as pool, mailer:
        # A feeder thread pages through the due parcels and hands chunks to the pool to claim
        # (a transaction per chunk), while this thread sends what is already claimed, in order.
        for claimed in _claimed_in_order(pool, store.pending_parcels(company_id), catalog, now, report):
            for item in claimed:
                mailer.deliver(item)
    metrics().add_metric(name="TrackingAlertsSent", unit="Count", value=report.sent)
    metrics().add_metric(name="TrackingAlertsFailed", unit="Count", value=report.failed)
    logger().info(
        "tracking sweep done",
        extra={
            "company_id": company_id,
            "parcels": report.parcels,
            "sent": report.sent,
            "failed": report.failed,
        },
    )
    return report


class _AlertMailer:
    """Renders and sends claimed alerts over one session; outcomes are written in batches by a
    background writer, so the SMTP connection never waits for DynamoDB."""

    def __init__(
        self,
        company: Company,
        account: SenderAccount,
        sources: tuple[str, str, str],
        now: datetime,
        report: SweepReport,
    ) -> None:
        self._company = company
        self._account = account
        self._sources = sources
        self._domain = address_domain(account.from_address)
        self._now = now
        self._report = report
        self._stack = ExitStack()
        self._session: EmailSession | None = None
        self._outcomes: list[Alert] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-outcomes")
        self._writes: list[Future[None]] = []

    def __enter__(self) -> _AlertMailer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stack.close()
        finally:
            self._flush()
            self._writer.shutdown(wait=True)
            for write in self._writes:
                write.result()  # a failed outcome write is an error of the sweep, not silence

    def deliver(self, item: _Claimed) -> None:
        for alert, subscription in item.alerts:
            self._outcomes.append(self._send(item, alert, subscription))
            if len(self._outcomes) >= _RESULT_BATCH:
                self._flush()

    def _flush(self) -> None:
        if self._outcomes:
            self._writes.append(self._writer.submit(store.record_alert_results, self._outcomes))
            self._outcomes = []

    def _open(self) -> EmailSession:
        if self._session is None:
            password = password_of(self._account)
            self._session = self._stack.enter_context(open_email_session(self._account, password))
        return self._session

    def _send(self, item: _Claimed, alert: Alert, subscription: Follower) -> Alert:
        try:
            message = self._compose(item, subscription, alert)
            provider_id = self._open().send(message)
        except (DeliveryFailed, HeaderInjection, ValidationFailed) as exc:
            self._report.failed += 1
            return replace(alert, state="failed", error=str(exc))
        self._report.sent += 1
        return replace(alert, state="sent", message_id=provider_id, sent_at=self._now)

    def _compose(self, item: _Claimed, subscription: Follower, alert: Alert) -> EmailMessage:
        link = unsubscribe_url(
            self._company.company_id, item.parcel.tracking_id, subscription.subscription_id
        )
        novelty, status = item.novelty, item.status
        rendered = render_untrusted(
            self._sources,
            {
                "company": {"name": self._company.name},
                "subscriber": {"first_name": subscription.first_name, "last_name": subscription.last_name},
                "subscription": {"expires_on": subscription.expires_at.date().isoformat()},
                "parcel": {"tracking_id": item.parcel.tracking_id},
                "novelty": {
                    "status_name": status.display_name,
                    "occurred_at": novelty.occurred_at.strftime("%Y-%m-%d %H:%M UTC"),
                    "reason": novelty.reason if status.visibility == "with_reason" else None,
                    "observation": novelty.observation,
                },
                "unsubscribe_url": link,
            },
        )
        return compose(
            OutgoingEmail(
                from_address=self._account.from_address,
                from_name=self._account.display_name,
                to_address=subscription.email,
                to_name=f"{subscription.first_name} {subscription.last_name}",
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                reply_to=self._account.reply_to,
                headers={
                    "List-Unsubscribe": f"<{link}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    "Auto-Submitted": "auto-generated",
                    "X-Pregon-Alert": f"{item.parcel.tracking_id}/{alert.alert_id}",
                },
            ),
            message_id=new_message_id(self._domain),
        )


def _claimed_in_order(
    pool: ThreadPoolExecutor,
    parcels: Iterable[Parcel],
    catalog: dict[str, StatusDefinition],
    now: datetime,
    report: SweepReport,
) -> Iterator[list[_Claimed]]:
    """Claims of successive chunks, in order. The queue is bounded, so a sweep of any size
    holds only a few chunks in memory, and paging never blocks sending."""
    ready: queue.Queue[Future[list[_Claimed]] | BaseException | None] = queue.Queue(maxsize=_CHUNKS_AHEAD)
    stop = threading.Event()

    def feed() -> None:
        try:
            for chunk in _chunks(parcels, CLAIM_CHUNK):
                if stop.is_set():
                    break
                ready.put(pool.submit(_claim, chunk, catalog, now, report))
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


def _claim(
    parcels: list[Parcel], catalog: dict[str, StatusDefinition], now: datetime, report: SweepReport
) -> list[_Claimed]:
    """Claim what is due in a chunk of parcels; parcels that changed meanwhile are left for the
    next sweep (a newer novelty arrived, a follower came or went, or another sweep won)."""
    wanted: list[tuple[Parcel, StatusDefinition | None, list[Follower]]] = []
    skipped = 0
    for parcel in parcels:
        if parcel.pending is None:
            continue
        status = catalog.get(parcel.pending.status)
        followers = [f for f in parcel.followers.values() if f.expires_at > now]
        if status is None or not is_notifiable(status) or not followers:
            # The status stopped being notifiable, or nobody follows the parcel any more: the
            # claim with no followers just clears the pending novelty, in the same transaction.
            followers = []
            skipped += 1
        wanted.append((parcel, status, followers))
    with report.lock:  # chunks are claimed on several threads
        report.parcels += len(parcels)
        report.skipped += skipped
    outcomes = store.claim_many_pending_alerts([(p, f) for p, _, f in wanted], now)
    claimed = []
    for (parcel, status, followers), alerts in zip(wanted, outcomes, strict=True):
        if not alerts or status is None:
            continue
        assert parcel.pending is not None
        by_id = {f.subscription_id: f for f in followers}
        claimed.append(
            _Claimed(parcel, parcel.pending, status, [(a, by_id[a.subscription_id]) for a in alerts])
        )
    return claimed
