"""The phone's word on an SMS sent through the SMS Gateway for Android (decision 0023).

The gateway answers a send with ``Pending``; the phone later marks the message ``Sent``,
``Delivered`` (the network's delivery report) or ``Failed``. Pregón asks for it
(``GET {base_url}/message/{id}``) rather than letting the phone call in: no unauthenticated route.

    record_outcomes(outcomes, now, reports=reports_awaited())  # the outbox: recorded sent, awaited
    check_sms_deliveries()                     # the minute schedule: ask the phone for what is due

What each answer does, as SES's feedback does for an e-mail (``messaging.feedback``):

=============  ===================================================================================
Delivered      sent -> delivered; ``message.delivered`` (``channel: sms``) to the webhooks
Failed         sent -> failed, error "failed on the phone: <the app's error>"; ``message.failed``
others         (Pending, Processed, Sent, or the phone not answering) asked again later: after
               1, 2, 4, ... minutes, at most every 4 hours, until 2 days after the send; then the
               SMS stays ``sent`` and is asked for no more (a phone off for days, or a carrier that
               sends no delivery reports)
=============  ===================================================================================

The final state and the event still to tell are one fact: the SMS moves in one transaction with
its report item, which then names the state (``moved``) and goes only once the event is queued; a
later run tells a refused one without asking the phone again (decision 0023, session 36).

A check that fails in our own code (the store, the webhook queue refusing the event) is tried
again after 1, 2, 4, ... minutes (at most an hour apart). One whose state never moved is given up
after ``FAILED_CHECKS`` of them (logged ``SMS delivery report could not be read`` with the company
and the message; the SMS stays ``sent``); one whose state moved is never given up: from then on it
is tried hourly, each failure logged ``SMS delivery report's event not told yet``.

Cost: one small item per gateway SMS, written in the transaction that records it sent (one action
more, no request more) and removed when its word is in; each check is one request to the
company's phone and one write. The check reads the
sparse index of what is due, never a table; the phone is asked only for SMS still awaited.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from threading import Lock

from chalicelib.channels.base import Channel
from chalicelib.channels.sms import HttpGatewaySender
from chalicelib.core import clock
from chalicelib.core.errors import DeliveryFailed, PregonError
from chalicelib.core.observability import logger, metrics
from chalicelib.store import communications as store
from chalicelib.store import delivery_reports as reports_store
from chalicelib.store.delivery_reports import AwaitedReport, ReportsAwaited

# A test sets these small (a window of seconds); production's are here.
FIRST_CHECK = timedelta(minutes=1)  # the first question, a minute after the send
LONGEST_WAIT = timedelta(hours=4)  # between two questions, doubling from FIRST_CHECK up to this
REPORT_WINDOW = timedelta(days=2)  # after this the SMS stays ``sent``: its report is not asked for
ASK_TIMEOUT_SECONDS = 10.0  # one question's whole request, at most (the company's timeout if shorter)
CHECK_SECONDS = 30.0  # one run starts no question later than this (the rest are due next minute)
CHECK_LIMIT = 500  # the most SMS one run asks about
# One company's phone is asked one question at a time: in CHECK_SECONDS it can hardly answer more
# than this, so a run takes no more of one company's SMS and reads past the rest (up to
# CHECK_READ items of the index) to reach the other companies'.
PER_COMPANY = 100
CHECK_READ = 5_000
THREADS = 8  # companies asked at once; each company's phone is asked one question at a time
# A check that fails in our own code (the store, the webhook queue, a bug) is tried again after
# twice the last wait, from FIRST_CHECK up to FAILURE_WAIT; after FAILED_CHECKS such failures the
# report is given up (logged "SMS delivery report could not be read"): about 2 hours in all.
FAILURE_WAIT = timedelta(hours=1)
FAILED_CHECKS = 8

_FINAL = {"Delivered": "delivered", "Failed": "failed"}


def reports_delivery(channel: Channel | None) -> bool:
    """Whether SMS sent over ``channel`` get their final state read back (the Android gateway's)."""
    return isinstance(channel, HttpGatewaySender)


def reports_awaited(now: datetime | None = None) -> ReportsAwaited:
    """What the outbox's outcome write needs to note the gateway's SMS it records sent, in the
    same transaction: their first question a minute from now, none after the report window."""
    now = now or clock.now()
    return ReportsAwaited(now + FIRST_CHECK, now + REPORT_WINDOW)


@dataclass
class ReportCheck:
    """What one run did: how many SMS it asked for and what became of them."""

    results: Counter[str] = field(default_factory=Counter)
    failed: int = 0  # our own failures (the store, the webhook queue): tried again later

    @property
    def asked(self) -> int:
        return sum(self.results.values())


class _Phones:
    """The company's gateway, built once per run (its password decrypted once), and whether it
    answered: a phone that is off is asked once a run, its other SMS wait for the next question."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._senders: dict[str, HttpGatewaySender | str] = {}

    def of(self, company_id: str) -> HttpGatewaySender | str:
        with self._lock:
            found = self._senders.get(company_id)
        if found is None:  # built outside the lock: one company's KMS call holds up no other
            built = _gateway(company_id)
            with self._lock:
                found = self._senders.setdefault(company_id, built)
        return found

    def down(self, company_id: str, reason: str) -> None:
        with self._lock:
            self._senders[company_id] = reason


def _gateway(company_id: str) -> HttpGatewaySender | str:
    from chalicelib.messaging.accounts.sms import sms_sender

    try:
        sender = sms_sender(company_id)
    except PregonError as exc:  # switched off, the password missing
        return exc.message
    if not isinstance(sender, HttpGatewaySender):
        return "the company's SMS no longer go through the Android gateway"
    sender.timeout = min(sender.timeout, ASK_TIMEOUT_SECONDS)
    return sender


def check_sms_deliveries(now: datetime | None = None) -> ReportCheck:
    """The minute schedule: ask each company's phone for the SMS whose report is due, record the
    final ones and tell the webhooks, and ask again later for the others (see the module)."""
    now = now or clock.now()
    started = time.monotonic()
    check = ReportCheck()
    phones = _Phones()
    due = reports_store.due_reports(now, CHECK_LIMIT, PER_COMPANY, CHECK_READ)
    lock = Lock()

    def one(report: AwaitedReport) -> None:
        try:
            result = _check(report, phones, now)
        except Exception as exc:
            logger().exception(
                "SMS delivery report failed; asked again later",
                extra={"company_id": report.company_id, "communication_id": report.communication_id},
            )
            result = _failed(exc.report if isinstance(exc, _Untold) else report, now)
            with lock:
                check.failed += 1
        with lock:
            check.results[result] += 1

    def company(reports: list[AwaitedReport]) -> None:
        # One question at a time to a company's phone: a slow or silent one holds one thread, and
        # the other companies' phones are asked beside it, within the same time budget.
        for report in reports:
            if time.monotonic() - started > CHECK_SECONDS:
                return  # still due: the next run asks
            one(report)

    by_company: dict[str, list[AwaitedReport]] = {}
    for report in due:
        by_company.setdefault(report.company_id, []).append(report)
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sms-reports") as pool:
        list(pool.map(company, by_company.values()))
    for result in ("delivered", "failed"):
        if check.results[result]:
            metrics().add_metric(name=f"Sms{result.capitalize()}", unit="Count", value=check.results[result])
    if check.results["unread"]:
        metrics().add_metric(name="SmsReportsUnread", unit="Count", value=check.results["unread"])
    if due:
        logger().info(
            "SMS delivery reports checked",
            extra={"due": len(due), "results": dict(check.results), "failed": check.failed},
        )
    return check


def _check(report: AwaitedReport, phones: _Phones, now: datetime) -> str:
    """One SMS: what its phone says, applied. Returns delivered | failed | waiting | gave_up |
    unreachable | gone (and, from :func:`_failed`, retrying | unread | untold)."""
    if report.moved:  # moved by an earlier run, whose event was not told: told now, nothing asked
        return _tell(report)
    log_keys = {"company_id": report.company_id, "communication_id": report.communication_id}
    gateway = phones.of(report.company_id)
    if isinstance(gateway, str):
        logger().debug("SMS delivery report not asked", extra=log_keys | {"reason": gateway})
        return _later(report, now, "unreachable")
    try:
        answer = gateway.report(report.provider_message_id)
    except DeliveryFailed as exc:
        if exc.transient:  # the phone is off or unreachable: its other SMS wait too
            phones.down(report.company_id, exc.message)
        logger().debug("SMS delivery report not read", extra=log_keys | {"reason": exc.message})
        return _later(report, now, "unreachable")
    target = _FINAL.get(answer.state)
    if target is None:
        return _later(report, now, "waiting")
    detail = None
    if target == "failed":
        detail = (
            f"failed on the phone: {answer.error}"
            if answer.error
            else "failed on the phone, which gave no reason"
        )
    # The state and the event still to tell are one fact: the SMS moves in one transaction with
    # its report item noting the event (due again a minute on, should this run stop before telling).
    moved, note = reports_store.moved_to(report, target, now + FIRST_CHECK)
    if not store.advance_sms_state_by_key(
        report.company_id,
        report.communication_id,
        report.provider_message_id,
        target,
        clock.now(),
        detail,
        also=note,
    ):
        comm = store.get(report.company_id, report.communication_id)
        if comm is None or comm.state != target:  # gone (erased), or another run's now
            reports_store.forget(report)
            return "gone"
        # moved by a run before session 36 that stopped before telling (its item says nothing of
        # it): told now, under the event's stable id
        moved = replace(report, moved=target)
    logger().debug("SMS delivery report applied", extra=log_keys | {"state": target})
    return _tell(moved)


class _Untold(Exception):
    """The event of a state moved was not queued: the report item, as the move left it, is tried
    again later (:func:`_failed`)."""

    def __init__(self, report: AwaitedReport) -> None:
        super().__init__(f"message.{report.moved} not told")
        self.report = report


def _tell(report: AwaitedReport) -> str:
    """Tell the webhooks of the state the SMS moved to, then forget its report: only once told,
    so a refused event is told by a later run (under its stable id: a receiver told twice, should
    forgetting fail, sees one event). Raises :class:`_Untold` when the queue refused it."""
    from chalicelib.messaging.webhooks.service import announce_message

    state = str(report.moved)
    try:
        announce_message(report.company_id, f"message.{state}", report.communication_id)
    except Exception as exc:
        raise _Untold(report) from exc
    reports_store.forget(report)
    return state


def _later(report: AwaitedReport, now: datetime, result: str) -> str:
    """No final word yet: ask again after twice the last wait (at most LONGEST_WAIT), or, once the
    window is over, no more (the SMS stays ``sent``)."""
    end = report.sent_at + REPORT_WINDOW
    if now >= end:
        reports_store.forget(report)
        logger().info(
            "SMS delivery report never came: the SMS stays sent",
            extra={"company_id": report.company_id, "communication_id": report.communication_id},
        )
        return "gave_up"
    wait = min(FIRST_CHECK * 2 ** min(report.checks + 1, 20), LONGEST_WAIT)
    reports_store.ask_again_at(report, min(now + wait, end))
    return result


def _failed(report: AwaitedReport, now: datetime) -> str:
    """The check failed in our own code: asked again after twice the last such wait (at most
    FAILURE_WAIT), or, after FAILED_CHECKS failures, given up and logged with the company and the
    message (the SMS keeps the state it has: ``sent``, since a state moved is never given up,
    its event told hourly after that until the queue takes it). Should this write fail too, the
    item is still due: the next run tries again."""
    failures = report.failures + 1
    keys = {"company_id": report.company_id, "communication_id": report.communication_id}
    try:
        if report.moved and failures >= FAILED_CHECKS:
            # The SMS moved and its event is not told: never given up (the history says one
            # thing, the company's webhooks must hear it), told as soon as the queue takes it.
            logger().error(
                "SMS delivery report's event not told yet: tried again hourly",
                extra=keys | {"failures": failures, "state": report.moved},
            )
            reports_store.ask_again_at(report, now + FAILURE_WAIT, failed=True)
            return "untold"
        if failures >= FAILED_CHECKS:
            reports_store.forget(report)
            logger().error(
                "SMS delivery report could not be read: given up", extra=keys | {"failures": failures}
            )
            return "unread"
        wait = min(FIRST_CHECK * 2 ** min(report.failures, 20), FAILURE_WAIT)
        reports_store.ask_again_at(report, now + wait, failed=True)
    except Exception:
        logger().exception("SMS delivery report's next check not written", extra=keys)
    return "retrying"
