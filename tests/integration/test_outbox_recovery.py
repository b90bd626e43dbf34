"""Crash recovery of the outbox (Q3, C2, issue 16): whatever moment a worker dies at, and whether or
not its SQS kick survives, the minute wake-up alone finds every queued or leased message within
one lease plus one tick; every message is delivered and recorded once, and a send job's progress
ends at the truth of its messages. Workers are killed for real (SIGKILL of a process)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.crashes import killed_in_a_fork
from tests.steps.mail import recipients
from tests.steps.outbox import (
    communication_items,
    deliver_outboxes,
    handoff_records,
    limit_tracking_account,
    outbox_queue_bodies,
    queue_bodies,
    sqs_failing,
)
from tests.steps.sends import PAGE_CLIENTS_NOTICE, job_of, progress
from tests.steps.tenants import Tenant, purge_outbox_queue
from tests.steps.tracking import T0, alerts_monitor, followed_by_staff, followed_parcels, post_event

OUTBOX = "email:tracking"
MESSAGES = 40


def _queue_a_job(tenant: Tenant, count: int, *, handoff: bool = False) -> str:
    """A send job of ``count`` e-mails, all expanded into the tracking account's outbox: queued
    (their kick to be lost), or written claimed and handed to the workers by id (issue 14)."""
    from chalicelib.core.domain import SendJob
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.store import outbox as job_store
    from chalicelib.store.communications import new_communication_id

    job_id = new_communication_id(T0)
    job_store.create_job(
        SendJob(
            company_id=tenant.company_id,
            job_id=job_id,
            channel="email",
            template_key="invoice",
            state="sending",
            total=count,
            queued=0,
            sent=0,
            failed=0,
            skipped=0,
            created_by="admin@test",
            created_at=T0,
            updated_at=T0,
            selection="{}",
            pages_total=1,
        )
    )
    enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"client{n:03d}@example.com",
                subject=f"Factura {n:03d}",
                text="Su factura",
                area="tracking",
                kind="manual",
                idempotency_key=f"job:{job_id}:{n}",
                job_id=job_id,
            )
            for n in range(count)
        ],
        kick=handoff,
    )
    return job_id


def _kill_a_worker_at(
    tenant: Tenant, point: str, n: int = 0, now: datetime = T0, path: str = "drain"
) -> None:
    """Run a real outbox worker in its own process (forked from the test's) and let it SIGKILL
    itself at ``point`` (``tests.steps.crashing_worker``)."""
    from tests.steps.crashing_worker import main

    killed_in_a_fork(lambda: main(tenant.company_id, OUTBOX, point, n, now.isoformat(), path))


def _wake_until_idle(clock: Any, start: datetime, minutes: int) -> list[Any]:
    """The minute schedule, tick after tick, from ``start`` for ``minutes`` minutes."""
    from chalicelib.messaging.delivery import wake_due_outboxes

    reports = []
    for minute in range(minutes + 1):
        clock.set_now(start + timedelta(minutes=minute, seconds=1))
        reports += wake_due_outboxes()
    return reports


def _job_progress(tenant: Tenant, job_id: str) -> Any:
    """The job as staff see it (GET /sends/{id})."""
    from chalicelib.producers.sends.manual import progress
    from chalicelib.store.outbox import get_job

    job = get_job(tenant.company_id, job_id)
    assert job is not None
    return progress(job)


def _recipients(mailbox: MailCatcher) -> Counter[str]:
    return Counter(recipients(mailbox))


def _states(tenant: Tenant) -> Counter[str]:
    return Counter(c.state for c in _history(tenant))


def _attempts(tenant: Tenant) -> Counter[int]:
    """How many attempts the history shows for the e-mails (``GET /history/email/{id}``)."""
    return Counter(c.attempts for c in _history(tenant))


def _history(tenant: Tenant) -> list[Any]:
    from chalicelib.store.communications import history_page

    found: list[Any] = []
    cursor = None
    while True:
        page = history_page(tenant.company_id, "email", limit=100, cursor=cursor)
        found += page.items
        cursor = page.cursor
        if not cursor:
            return found


@pytest.mark.parametrize("path", ["drain", "handoff"])
@pytest.mark.parametrize(
    ("point", "accepted_before_crash"),
    [
        ("after-claim", 0),  # claimed 25 (or took the hand-off of 40), sent none
        ("mid-batch", 10),  # the server accepted 10 of the first batch; none was recorded
        ("before-record", None),  # the first batch was sent; its outcomes were never written
    ],
)
def test_a_worker_killed_at_any_moment_loses_nothing(
    tenant: Tenant,
    mailbox: MailCatcher,
    clock: Any,
    point: str,
    accepted_before_crash: int | None,
    path: str,
) -> None:
    from chalicelib.messaging.delivery import HANDOFF_TAIL, LEASE

    if path == "drain":
        # Given a job of 40 e-mails queued, whose SQS kick was lost
        job_id = _queue_a_job(tenant, MESSAGES)
        purge_outbox_queue()
    else:
        # Given a job of 40 e-mails written claimed and handed to the workers by id
        job_id = _queue_a_job(tenant, MESSAGES, handoff=True)
    # When a worker drains the outbox (or takes the hand-off) and is killed at that moment
    _kill_a_worker_at(tenant, point, n=accepted_before_crash or 0, path=path)
    accepted = sum(_recipients(mailbox).values())
    if accepted_before_crash is not None:
        assert accepted == accepted_before_crash
    else:
        # at least the first write's messages went out before the crash: a drain's batch of 25;
        # a hand-off writes what it sent when only its last HANDOFF_TAIL are left to send
        assert accepted >= (25 if path == "drain" else MESSAGES - HANDOFF_TAIL)
    # And only the minute schedule runs from then on, for one lease and two ticks
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then every client got the e-mail; only those the server accepted before the crash twice
    received = _recipients(mailbox)
    assert sorted(received) == [f"client{n:03d}@example.com" for n in range(MESSAGES)]
    assert sum(received.values()) - MESSAGES == accepted
    # And every message is recorded sent, once; none is stuck queued or sending
    assert _states(tenant) == Counter({"sent": MESSAGES})
    # And the job's progress is the truth of its messages
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", MESSAGES, 0, 0)


def test_a_forked_crash_worker_makes_its_own_aws_clients(local_aws: dict[str, str]) -> None:
    import os
    import signal
    import threading

    from chalicelib.core.aws import CLIENT_CREATION, client, sending_client
    from chalicelib.store.models import RateLimitModel
    from infrastructure.local.queues import _sqs

    # Given the test's process, whose clients have asked SQS (the local queues' poller among
    # them), SES and DynamoDB, their connections kept open
    def in_use() -> list[Any]:
        return [
            _sqs(),
            client("sqs"),
            sending_client("ses"),
            RateLimitModel._get_connection().connection.client,
        ]

    tests = in_use()
    tests[0].list_queues()
    RateLimitModel.count("none")
    # and another of its threads making a client at the moment of the fork
    making, made = threading.Event(), threading.Event()

    def making_a_client() -> None:
        with CLIENT_CREATION:
            making.set()
            made.wait(30)

    def work() -> None:
        # When a crash worker forked from it takes the clients it works with
        shared = [n for n, (mine, theirs) in enumerate(zip(in_use(), tests, strict=True)) if mine is theirs]
        # Then none is the test's process's (a request cut by its kill would be on their wire)
        assert shared == [], f"the worker shares the test's clients {shared}"
        os.kill(os.getpid(), signal.SIGKILL)

    other = threading.Thread(target=making_a_client)
    other.start()
    making.wait(30)
    try:
        killed_in_a_fork(work, timeout=15)
    finally:
        made.set()
        other.join()


def test_a_rate_limited_message_whose_drain_died_reads_queued_until_its_window_has_room(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE

    def shown() -> list[str]:
        """The states a clerk reads in the history (``GET /history/email``)."""
        listed = api.http.get("/history/email", headers=tenant.staff_headers())
        assert listed.status_code == 200, listed.body
        return [item["state"] for item in body(listed)["items"]]

    # Given the tracking account allowed one e-mail an hour, and one e-mail queued for it
    limit_tracking_account(api, tenant, mailbox, 1)
    _queue_a_job(tenant, 1)
    purge_outbox_queue()
    # When a drain claims it (its room counted in the hour) and dies before sending it
    _kill_a_worker_at(tenant, "after-claim")
    assert shown() == ["sending"] and _recipients(mailbox) == Counter()
    # And the minute schedule runs past the drain's lease, finding the hour's room taken
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then nobody is sending it, and the clerk reads it queued (waiting for room), not sending
    assert _recipients(mailbox) == Counter()
    assert shown() == ["queued"]
    # When the hour has room again it goes, and reads sent
    _wake_until_idle(clock, T0 + timedelta(hours=1), 3)
    assert _recipients(mailbox) == Counter({"client000@example.com": 1})
    assert shown() == ["sent"]


def test_a_hand_off_worker_killed_after_recording_before_counting_is_counted_once_by_its_record(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE

    # Given a job of 40 e-mails written claimed and handed off (issue 14: outcomes are written
    # without a transaction and counted when the hand-off ends)
    job_id = _queue_a_job(tenant, MESSAGES, handoff=True)
    # When the worker sends and records all 40, and is killed before it counts them
    _kill_a_worker_at(tenant, "before-count", path="handoff")
    assert sum(_recipients(mailbox).values()) == MESSAGES
    assert _states(tenant) == Counter({"sent": MESSAGES})
    assert _job_progress(tenant, job_id).sent == 0
    # And only the minute schedule runs from then on, for one lease and two ticks
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then the hand-off's record counts them, once, and nothing is sent again
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", MESSAGES, 0, 0)
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES


def test_a_worker_whose_database_stops_answering_sends_at_most_three_batches_that_go_again(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import BATCH, LEASE, QUEUED_WRITES

    # Given a job of 200 e-mails queued, whose SQS kick was lost
    total = 8 * BATCH
    job_id = _queue_a_job(tenant, total)
    purge_outbox_queue()
    # When a worker drains the outbox while DynamoDB takes no outcome write, and is killed once the
    # mail server has taken nothing for three seconds
    _kill_a_worker_at(tenant, "records-hang", n=3)
    # Then it stopped sending once one write was under way and one waited behind it: the e-mails
    # sent and not recorded, which go again, are those two batches and the one it was sending
    accepted = sum(_recipients(mailbox).values())
    assert accepted <= (QUEUED_WRITES + 2) * BATCH < total
    # And after one lease and two ticks of the minute schedule every client has the e-mail, only
    # those sent before the crash twice, and every message is recorded sent once
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    received = _recipients(mailbox)
    assert sorted(received) == [f"client{n:03d}@example.com" for n in range(total)]
    assert sum(received.values()) - total == accepted
    assert _states(tenant) == Counter({"sent": total})
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", total, 0, 0)


def test_a_drain_whose_outcome_write_fails_stops_sending_and_only_that_batch_goes_again(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.delivery import BATCH, LEASE, QUEUED_WRITES, drain_outbox
    from chalicelib.store import communications

    # Given a job of 200 e-mails queued, whose SQS kick was lost
    total = 8 * BATCH
    job_id = _queue_a_job(tenant, total)
    purge_outbox_queue()
    # And DynamoDB refuses the first outcome write (its retries spent), then answers again
    record = communications.record_outcomes
    writes = {"count": 0}

    def first_refused(*args: Any, **kwargs: Any) -> Any:
        writes["count"] += 1
        if writes["count"] == 1:
            raise RuntimeError("DynamoDB is unavailable")
        return record(*args, **kwargs)

    monkeypatch.setattr(communications, "record_outcomes", first_refused)
    # When a worker drains the outbox
    with pytest.raises(RuntimeError, match="unavailable"):
        drain_outbox(tenant.company_id, OUTBOX)
    # Then it stopped sending when the next batch found the failed write: the batch being written,
    # the one waiting behind it and the one it was sending went out, no more
    assert sum(_recipients(mailbox).values()) == (QUEUED_WRITES + 2) * BATCH
    # And after one lease and two ticks every client has the e-mail, and only the batch whose
    # outcomes were never written went twice
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    received = _recipients(mailbox)
    assert sorted(received) == [f"client{n:03d}@example.com" for n in range(total)]
    assert sum(received.values()) - total == BATCH
    assert _states(tenant) == Counter({"sent": total})
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", total, 0, 0)


ALERTS = 20  # one claim transaction of the sweep: one hand-off record, one SQS message


@pytest.mark.parametrize(
    ("point", "accepted_before_crash"),
    [
        ("after-claim", 0),  # took the hand-off of the 20 alerts, sent none
        ("mid-batch", 10),  # the server accepted 10; none was recorded
        ("before-record", None),  # the first alerts were sent; their outcomes were never written
        ("before-count", ALERTS),  # every alert sent and recorded, none counted
    ],
)
def test_a_worker_killed_while_sending_a_sweeps_alerts_loses_none_of_them(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    clock: Any,
    point: str,
    accepted_before_crash: int | None,
) -> None:
    from chalicelib.messaging.delivery import HANDOFF_TAIL, LEASE
    from chalicelib.producers.tracking.sweep import sweep_company

    # Given 20 followed parcels whose alerts the sweep wrote claimed, with the hand-off record of
    # its claim (issue 14), and handed to the outbox workers
    followers = followed_parcels(api, tenant, ALERTS, "w")
    assert sweep_company(tenant.company_id).queued == ALERTS
    [record] = handoff_records(tenant.company_id)
    assert len(record["ids"]) == ALERTS
    assert not any("ready_outbox" in item for item in communication_items(tenant.company_id))
    # When the worker that takes the hand-off is killed at that moment
    _kill_a_worker_at(tenant, point, n=accepted_before_crash or 0, path="handoff")
    accepted = sum(_recipients(mailbox).values())
    if accepted_before_crash is not None:
        assert accepted == accepted_before_crash
    else:
        assert accepted >= ALERTS - HANDOFF_TAIL
    # And only the minute schedule runs from then on, for one lease and two ticks
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then every follower got the alert; only those the server accepted before the crash and
    # that were never recorded twice
    received = _recipients(mailbox)
    assert sorted(received) == followers
    assert sum(received.values()) - ALERTS == (0 if point == "before-count" else accepted)
    # And every alert is recorded sent and counted once, and no record is left
    assert _states(tenant) == Counter({"sent": ALERTS})
    monitor = alerts_monitor(api, tenant)
    assert (monitor["sent_count"], monitor["failed_count"]) == (ALERTS, 0)
    assert handoff_records(tenant.company_id) == []


def _kill_the_sweep(tenant: Tenant, now: datetime = T0) -> None:
    """Run the company's sweep in its own process (forked from the test's) and let it SIGKILL
    itself once its first claim has committed, before handing it to the workers
    (``tests.steps.crashing_sweep``)."""
    from tests.steps.crashing_sweep import sweep_until_the_first_hand_off

    killed_in_a_fork(lambda: sweep_until_the_first_hand_off(tenant.company_id, now.isoformat()))


def test_a_sweep_killed_between_its_claim_and_the_hand_off_has_every_alert_sent_once_by_the_schedule(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, wake_due_outboxes
    from chalicelib.producers.tracking.sweep import CLAIM_CHUNK, sweep_due_tracking_alerts

    # Given 40 followed parcels with a pending novelty: two claims of the sweep (32, then 8)
    followers = followed_parcels(api, tenant, 40, "k")
    # When the sweep is killed right after its first claim committed, before its SQS message
    _kill_the_sweep(tenant)
    # Then those 32 alerts are written claimed, outside the outbox's ready index, and the record
    # written in the same transaction holds them; no worker was asked to send them
    items = communication_items(tenant.company_id)
    assert len(items) == CLAIM_CHUNK and not any("ready_outbox" in item for item in items)
    [record] = handoff_records(tenant.company_id)
    assert sorted(record["ids"]) == sorted(item["communication_id"]["S"] for item in items)
    assert deliver_outboxes()["sent"] == 0
    # When only the minute schedule runs from then on (the sweep, every minute for this company,
    # the outbox workers, the wake-ups and records), for one lease and two ticks
    for minute in range(int(LEASE.total_seconds() // 60) + 3):
        clock.set_now(T0 + timedelta(minutes=minute, seconds=1))
        sweep_due_tracking_alerts()
        deliver_outboxes()
        wake_due_outboxes()
        if minute < LEASE.total_seconds() // 60:  # the 32 wait for their lease to end
            assert sum(_recipients(mailbox).values()) == 40 - CLAIM_CHUNK
    # Then every follower got the alert exactly once, recorded sent and counted once
    assert sorted(_recipients(mailbox).items()) == [(f, 1) for f in followers]
    assert _states(tenant) == Counter({"sent": 40})
    monitor = alerts_monitor(api, tenant)
    assert (monitor["sent_count"], monitor["failed_count"]) == (40, 0)
    # And no record is left
    assert handoff_records(tenant.company_id) == []


def test_a_sweeps_claims_reach_the_workers_gathered_and_a_record_taken_elsewhere_waits_for_its_lease(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE
    from chalicelib.producers.tracking.sweep import sweep_company
    from chalicelib.store.outbox import take_handoff

    # Given 70 followed parcels with a pending novelty: three claims of the sweep (32, 32, 6),
    # each with the hand-off record of its alerts
    followers = followed_parcels(api, tenant, 70, "g")
    assert sweep_company(tenant.company_id).queued == 70
    records = handoff_records(tenant.company_id)
    assert sorted(len(r["ids"]) for r in records) == [6, 32, 32]
    # Then the workers are handed them in two SQS messages: the first claim's at once, the
    # other two gathered into one (issue 14: fewer, fuller worker invocations)
    bodies = outbox_queue_bodies()
    assert sorted(len(b["handoffs"]) for b in bodies) == [1, 2]
    handed = sorted(sorted(h["ids"]) for b in bodies for h in b["handoffs"])
    assert handed == sorted(sorted(r["ids"]) for r in records)
    # And each names the addresses of its alerts, for the worker to read their suppressions
    # beside the messages
    items = communication_items(tenant.company_id)
    to = {i["communication_id"]["S"]: i["to_address"]["S"].lower() for i in items}
    for sent in bodies:
        assert sorted(sent["addresses"]) == sorted(to[i] for h in sent["handoffs"] for i in h["ids"])
    # When a delivery of the gathered message took its first record and died before sending
    # (SQS delivers at least once), and then the workers run
    gathered = next(b for b in bodies if len(b["handoffs"]) == 2)
    lost = gathered["handoffs"][0]
    lease_until = datetime.fromisoformat(gathered["lease_until"])
    assert take_handoff(tenant.company_id, lost["token"], lease_until, recorded=True)
    deliver_outboxes()
    # Then every alert but that record's went out once, and that record is all that is left
    assert sum(_recipients(mailbox).values()) == 70 - len(lost["ids"])
    assert [sorted(r["ids"]) for r in handoff_records(tenant.company_id)] == [sorted(lost["ids"])]
    # When only the minute schedule runs from then on, for one lease and two ticks
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then every follower got the alert exactly once, recorded sent and counted once
    assert sorted(_recipients(mailbox).items()) == [(f, 1) for f in followers]
    assert _states(tenant) == Counter({"sent": 70})
    monitor = alerts_monitor(api, tenant)
    assert (monitor["sent_count"], monitor["failed_count"]) == (70, 0)
    # And no record is left
    assert handoff_records(tenant.company_id) == []


class _SweepDied(Exception):
    """The sweep's process ended here (Lambda's timeout, a machine lost)."""


@pytest.mark.parametrize("leaving", [0, 10], ids=["same-followers", "ten-alerted-leave-after"])
def test_a_sweep_that_dies_between_the_transactions_of_a_parcel_with_50_followers_loses_no_alert(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    leaving: int,
) -> None:
    from chalicelib.messaging.delivery import LEASE
    from chalicelib.producers.tracking.sweep import sweep_company
    from chalicelib.store import tracking

    # Given a parcel followed by 50 people (the most one may have), with a pending novelty: more
    # alerts and e-mails than one transaction holds
    followers = sorted(f"big{n:02d}@example.com" for n in range(50))
    followed_by_staff(tenant, "TRK-BIG", *followers)
    post_event(api, tenant, "TRK-BIG", "ev-1", "OUT_FOR_DELIVERY", minutes=1)
    # When the sweep dies once its first transaction for that parcel committed
    committed: list[bool] = []

    class DiesAfterTheFirst(tracking.TransactWrite):
        def __enter__(self) -> Any:
            if committed:
                raise _SweepDied
            return super().__enter__()

        def __exit__(self, *exc: Any) -> Any:
            answer = super().__exit__(*exc)
            committed.append(True)
            return answer

    monkeypatch.setattr(tracking, "TransactWrite", DiesAfterTheFirst)
    with pytest.raises(_SweepDied):
        sweep_company(tenant.company_id)
    monkeypatch.undo()
    # Then some alerts are written (with their e-mails, under their hand-off record), none sent,
    # and the parcel is still due
    written = len(communication_items(tenant.company_id))
    assert 0 < written < 50
    assert deliver_outboxes()["sent"] == 0
    # And some of the followers already alerted leave (the parcel then fits one transaction)
    staff = tenant.staff_headers()
    alerted = {
        a["subscription_id"] for a in body(api.http.get("/parcels/TRK-BIG/alerts", headers=staff))["items"]
    }
    for subscription in sorted(alerted)[:leaving]:
        gone = api.http.delete(f"/parcels/TRK-BIG/subscriptions/{subscription}", headers=staff)
        assert gone.status_code == 204
    # When the next sweep runs, and then only the minute schedule, for one lease and two ticks
    assert sweep_company(tenant.company_id).queued == 50 - written
    deliver_outboxes()
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    # Then every follower got the alert exactly once, recorded sent and counted once
    assert sorted(_recipients(mailbox).items()) == [(f, 1) for f in followers]
    assert _states(tenant) == Counter({"sent": 50})
    monitor = alerts_monitor(api, tenant)
    assert (monitor["sent_count"], monitor["failed_count"]) == (50, 0)
    # And the parcel's 50 alerts are listed once each, and no record is left
    alerts = body(api.http.get("/parcels/TRK-BIG/alerts", headers=staff))["items"]
    assert sorted(a["recipient_email"] for a in alerts) == followers
    assert handoff_records(tenant.company_id) == []
    assert sweep_company(tenant.company_id).queued == 0


def test_queued_messages_whose_kicks_were_all_lost_go_out_with_the_wake_up_alone(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes

    # Given 100 e-mails queued, and the outbox queue purged (every SQS kick lost)
    job_id = _queue_a_job(tenant, 100)
    purge_outbox_queue()
    # When no worker ever ran, and the minute schedule comes
    clock.set_now(T0 + timedelta(minutes=1))
    reports = [r for r in wake_due_outboxes() if r.company_id == tenant.company_id]
    # Then the wake-up alone delivers all of them, each once
    assert sum(r.sent for r in reports) == 100
    assert sorted(_recipients(mailbox).values()) == [1] * 100
    assert _job_progress(tenant, job_id).state == "done"


def test_the_minute_schedule_still_wakes_outboxes_when_another_of_its_parts_fails(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any
) -> None:
    from app import app
    from chalicelib.store import outbox as outbox_store

    # Given 40 e-mails queued whose kicks were all lost
    _queue_a_job(tenant, 40)
    purge_outbox_queue()

    # And the lost send-job pages cannot be read this minute
    def unreadable(*_: Any, **__: Any) -> Any:
        raise RuntimeError("DynamoDB throttled the job-page wake-ups")

    monkeypatch.setattr(outbox_store, "due_job_pages", unreadable)
    # When the minute schedule runs
    clock.set_now(T0 + timedelta(minutes=1))
    with pytest.raises(RuntimeError, match="throttled"):
        _schedule(app)
    # Then the outbox was still woken and every e-mail went out once; the run failed all the same
    # (the function's error alarm), and EventBridge's retry sends nothing twice
    assert sorted(_recipients(mailbox).values()) == [1] * 40
    monkeypatch.undo()
    assert _schedule(app)["sent"] == 0
    assert sorted(_recipients(mailbox).values()) == [1] * 40


def test_a_drain_that_runs_out_of_time_leaves_a_wake_up_even_if_its_kick_is_lost(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import drain_outbox, wake_due_outboxes

    # Given 60 e-mails queued and a drain with no time left after its first batch
    _queue_a_job(tenant, 60)
    purge_outbox_queue()
    first = drain_outbox(tenant.company_id, OUTBOX, seconds=0)
    assert first.more and first.sent == 25
    # When the kick it sent to go on is lost
    purge_outbox_queue()
    # Then the next tick carries on until all are sent
    clock.set_now(T0 + timedelta(minutes=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 35
    assert sum(_recipients(mailbox).values()) == 60


def test_an_idle_outbox_has_no_wake_up_left(tenant: Tenant, mailbox: MailCatcher, clock: Any) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.store.outbox import due_wakeups

    # Given messages queued (written claimed and handed off) and delivered
    _queue_a_job(tenant, 3, handoff=True)
    assert deliver_outboxes()["sent"] == 3
    # Then the outbox no longer asks to be woken: the schedule costs what is due, not what exists
    clock.set_now(T0 + timedelta(days=1))
    assert [o for c, o, _ in due_wakeups(clock.now()) if c == tenant.company_id] == []
    assert [r for r in wake_due_outboxes() if r.company_id == tenant.company_id] == []


@pytest.mark.parametrize("selection", ["list", "filter"])
def test_send_job_pages_whose_messages_were_lost_are_asked_for_again(
    api: Any, tenant: Tenant, mailbox: MailCatcher, clock: Any, selection: str, monkeypatch: Any
) -> None:
    import json

    from app import app
    from chalicelib.messaging.delivery import lease
    from infrastructure.local.queues import purge_queues

    # Given 15 clients, two pages of recipients at 10 a page (the deployed 200 would take 201
    # clients to show the same), and a notice template on the tracking account
    monkeypatch.setattr("chalicelib.producers.sends.manual.PAGE_SIZE", 10)
    ids = [f"P{n:03d}" for n in range(15)]
    for client_id in ids:
        put_client(api, tenant, client_id)
    saved = api.http.put(
        "/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(PAGE_CLIENTS_NOTICE)
    )
    assert saved.status_code == 200, saved.body
    # When staff start a job, and every SQS message of its pages is lost before a worker runs
    chosen: dict[str, Any] = {"client_ids": ids} if selection == "list" else {"filter": {}}
    started = api.http.post(
        "/sends",
        headers=tenant.staff_headers(),
        body=json.dumps({"channel": "email", "template": "custom:aviso", **chosen}),
    )
    assert started.status_code == 201, started.body
    job_id = body(started)["job"]["job_id"]
    assert purge_queues(app) >= 1
    # Then nothing happens within the lease
    clock.set_now(T0 + lease() - timedelta(seconds=1))
    assert _schedule(app)["pages"] == 0
    # And after it the minute schedule asks for the pages again, and the job ends done
    asked = []
    for minute in range(4):
        clock.set_now(T0 + lease() + timedelta(minutes=minute, seconds=1))
        asked.append(_schedule(app)["pages"])
        deliver_outboxes()
    # (both pages of a list are written at its start; a filter's second is asked for by its first)
    assert asked[0] == (2 if selection == "list" else 1)
    assert progress(job_of(api, tenant, job_id)) == ("done", 15, 15, 0, 0, 0)
    assert sorted(_recipients(mailbox).values()) == [1] * 15


def test_a_send_job_page_sqs_refuses_holds_up_only_itself_not_the_pages_after_it(
    tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    from chalicelib.messaging.delivery import lease
    from chalicelib.producers.sends.manual import resume_overdue_pages, send_jobs_queue
    from chalicelib.store.outbox import job_page_done, save_job_pages

    def pages_asked_for() -> list[int]:
        bodies = queue_bodies(send_jobs_queue())
        return sorted(b["page"] for b in bodies if b.get("company_id") == tenant.company_id)

    # Given three pages of a send job asked for at T0, whose SQS messages were all lost
    purge_outbox_queue()
    pages = [{"page": n, "client_ids": [f"C{n}"]} for n in range(3)]
    save_job_pages(tenant.company_id, "JOB-LOST", pages, T0)
    # And SQS refuses the minute schedule's second ask of them (other tenants' pages go through)
    asked: list[int] = []

    def refusing_the_second(bodies: list[dict[str, Any]]) -> BaseException | None:
        ours = [b["page"] for b in bodies if b.get("company_id") == tenant.company_id]
        asked.extend(ours)
        return RuntimeError("SQS is unavailable") if ours and len(asked) == 2 else None

    sqs_failing(monkeypatch, refusing_the_second)
    # When the minute schedule looks after the pages' lease
    clock.set_now(T0 + lease() + timedelta(seconds=1))
    with pytest.raises(RuntimeError, match="unavailable"):
        resume_overdue_pages()
    # Then the first page it came to is on the queue again, and it came to no other after the refusal
    first, refused = asked
    (never_taken,) = {0, 1, 2} - {first, refused}
    assert pages_asked_for() == [first]
    job_page_done(tenant.company_id, "JOB-LOST", first)  # a worker expands it
    # And at the next minute the page after the refused one is asked for: it was never taken, so
    # it waits no lease
    clock.set_now(T0 + lease() + timedelta(minutes=1, seconds=1))
    resume_overdue_pages()
    assert asked == [first, refused, never_taken]
    assert pages_asked_for() == sorted([first, never_taken])
    # And the page SQS refused is asked for once its own lease has ended
    clock.set_now(T0 + 2 * lease() + timedelta(seconds=2))
    resume_overdue_pages()
    assert asked == [first, refused, never_taken, refused]
    assert pages_asked_for() == [0, 1, 2]


def _schedule(app: Any) -> dict[str, Any]:
    """The deployed ``wake_outboxes`` schedule, as EventBridge invokes it."""
    from chalice.test import Client

    with Client(app, stage_name="test") as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="us-east-1"
        )
        return dict(client.lambda_.invoke("wake_outboxes", event).payload)


def _take_one_outbox_message() -> None:
    """One outbox worker invocation: the first message on the outbox queue (a hand-off), alone."""
    from app import app
    from chalicelib.events.outbox import OUTBOX_QUEUE
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.queue == OUTBOX_QUEUE]
    assert worker.poll_once() == 1


@pytest.mark.parametrize("path", ["drain", "handoff"])
def test_a_server_slow_enough_to_outlast_the_lease_never_gets_an_e_mail_twice(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any, path: str
) -> None:
    from chalicelib.channels.smtp import SmtpChannel
    from chalicelib.messaging.delivery import LEASE, SEND_MARGIN, drain_outbox

    # Given a job of 40 e-mails: queued, their kick lost (drain), or handed to the workers by id
    clock.set_now(T0)
    if path == "drain":
        _queue_a_job(tenant, MESSAGES)
        purge_outbox_queue()
    else:
        _queue_a_job(tenant, MESSAGES, handoff=True)
    # And an SMTP server that takes 40 s over each e-mail (each within its send's deadline)
    fast_send = _server_takes_seconds_per_email(monkeypatch, clock, 40)
    # When a worker delivers them (and the kick it sends to go on is lost)
    if path == "drain":
        drain_outbox(tenant.company_id, OUTBOX)
    else:
        _take_one_outbox_message()
    purge_outbox_queue()
    # Then it started no send within SEND_MARGIN of its lease's end: 6 went, at 0, 40 ... 200 s
    # (the lease ends at 300 s), and it gave the rest back
    cutoff = (LEASE - SEND_MARGIN).total_seconds()
    assert sum(_recipients(mailbox).values()) == len(range(0, int(cutoff), 40)) == 6
    # And with the server fast again, the schedule's next tick sends the rest, before the lease ends
    monkeypatch.setattr(SmtpChannel, "send", fast_send)
    _wake_until_idle(clock, clock.now(), 0)
    assert sum(_recipients(mailbox).values()) == MESSAGES
    _wake_until_idle(clock, clock.now(), int(LEASE.total_seconds() // 60) + 2)
    # And every client got the e-mail exactly once, each recorded sent once
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES
    assert _states(tenant) == Counter({"sent": MESSAGES})


def test_a_hand_off_a_slow_server_stops_gives_back_the_rate_limit_room_it_reserved_for_the_rest(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any
) -> None:
    from chalicelib.channels.smtp import SmtpChannel

    # Given a job of 40 e-mails handed to the workers by id, and then a limit of 40 an hour put
    # on the account (the worker reserves room for them 25 at a time)
    _queue_a_job(tenant, MESSAGES, handoff=True)
    limit_tracking_account(api, tenant, mailbox, MESSAGES)
    # And an SMTP server that takes 40 s over each e-mail
    fast_send = _server_takes_seconds_per_email(monkeypatch, clock, 40)
    # When the worker takes the hand-off, sends 6 and stops short of its lease's end (its kick
    # to go on lost)
    _take_one_outbox_message()
    purge_outbox_queue()
    assert sum(_recipients(mailbox).values()) == 6
    # Then, with the server fast again, the schedule's next tick sends the other 34 within the
    # limit: the room reserved for the 19 of the first 25 it did not send was given back
    monkeypatch.setattr(SmtpChannel, "send", fast_send)
    _wake_until_idle(clock, clock.now(), 0)
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES
    assert _states(tenant) == Counter({"sent": MESSAGES})


def test_the_minute_schedule_hands_the_outboxes_it_has_no_time_for_to_the_workers(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any
) -> None:
    from chalicelib.messaging import delivery

    # Given 30 e-mails queued whose kicks were all lost
    _queue_a_job(tenant, 30)
    purge_outbox_queue()
    # And a minute schedule whose time for draining itself is already spent
    monkeypatch.setattr(delivery, "WAKE_SECONDS", 0)
    # When the minute schedule runs
    clock.set_now(T0 + timedelta(minutes=1))
    reports = [r for r in delivery.wake_due_outboxes() if r.company_id == tenant.company_id]
    # Then it sent nothing itself, but asked the outbox workers to drain the outbox
    assert reports == []
    assert sum(_recipients(mailbox).values()) == 0
    assert {"company_id": tenant.company_id, "outbox": OUTBOX} in outbox_queue_bodies()
    # And the workers send every e-mail once
    assert deliver_outboxes()["sent"] == 30
    assert sorted(_recipients(mailbox).values()) == [1] * 30


def _server_takes_seconds_per_email(monkeypatch: Any, clock: Any, seconds: int) -> Any:
    """The SMTP server takes ``seconds`` over each e-mail (the test's clock moves on by that much
    with each send, each within its send's deadline); returns the channel's own ``send``, which
    makes the server fast again when put back."""
    from chalicelib.channels.smtp import SmtpChannel

    fast_send = SmtpChannel.send

    def slow_send(channel: SmtpChannel, message: Any) -> str:
        provider_id = fast_send(channel, message)
        clock.set_now(clock.now() + timedelta(seconds=seconds))
        return provider_id

    monkeypatch.setattr(SmtpChannel, "send", slow_send)
    return fast_send


class _Stopwatch:
    """The drain's own time (``time.monotonic`` in ``messaging.delivery``), moved by the test: a
    drain's time and grace run out at the step the test chooses, without waiting for them."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def monotonic(self) -> float:
        return self.seconds


def _drain_time_runs_out_at_send(monkeypatch: Any, number: int) -> None:
    """The drain's time and its grace are spent while its ``number``-th e-mail is on the wire."""
    from types import SimpleNamespace

    from chalicelib.channels.smtp import SmtpChannel
    from chalicelib.core.settings import get_settings
    from chalicelib.messaging import delivery

    stopwatch = _Stopwatch()
    monkeypatch.setattr(delivery, "time", SimpleNamespace(monotonic=stopwatch.monotonic))
    fast_send = SmtpChannel.send
    sends = 0

    def send(channel: SmtpChannel, message: Any) -> str:
        nonlocal sends
        sends += 1
        if sends == number:
            stopwatch.seconds += get_settings().drain_seconds + delivery.DRAIN_GRACE_SECONDS + 1
        return fast_send(channel, message)

    monkeypatch.setattr(SmtpChannel, "send", send)


@pytest.mark.parametrize("limit", [None, 50], ids=["no-limit", "50-per-hour"])
def test_a_drain_stopped_by_its_grace_gives_back_what_it_claimed_and_the_next_drain_sends_it_at_once(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any, limit: int | None
) -> None:
    from chalicelib.messaging.delivery import LEASE, drain_outbox

    # Given an account without a rate limit, or limited to 50 e-mails an hour
    if limit is not None:
        limit_tracking_account(api, tenant, mailbox, limit)
    # And a job of 50 e-mails queued, their kick lost
    job_id = _queue_a_job(tenant, 50)
    purge_outbox_queue()
    # When a drain claims the first batch of 25 and, ahead, the next 25, and its time and grace
    # run out while the 10th e-mail is on the wire
    _drain_time_runs_out_at_send(monkeypatch, 10)
    first = drain_outbox(tenant.company_id, OUTBOX)
    assert (first.sent, first.more) == (10, True)
    # Then the next drain, which its kick starts at once (the clock has not moved), sends the 40
    # it had claimed and not sent, within the limit: the room it reserved for them was given back
    assert deliver_outboxes()["sent"] == 40
    # And every client got the e-mail exactly once, each recorded sent once, at its first
    # attempt: a message given back was never tried, so the give-back took its claim's count back
    assert sorted(_recipients(mailbox).values()) == [1] * 50
    assert _states(tenant) == Counter({"sent": 50})
    assert _attempts(tenant) == Counter({1: 50})
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", 50, 0, 0)
    # And nothing goes again once their first leases would have ended
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    assert sorted(_recipients(mailbox).values()) == [1] * 50


def test_a_hand_off_that_arrives_too_late_to_send_gives_its_messages_back_and_they_go_at_once(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, SEND_MARGIN

    # Given a job of 40 e-mails written claimed and handed to the workers by id
    job_id = _queue_a_job(tenant, MESSAGES, handoff=True)
    # When the hand-off reaches a worker only 4 minutes later (a deep queue), too late to start a
    # send under the lease its producer wrote (it ends at 5 minutes; no send within SEND_MARGIN)
    clock.set_now(T0 + LEASE - SEND_MARGIN + timedelta(seconds=30))
    totals = deliver_outboxes()
    # Then the worker gave them back and kicked the outbox, and a drain sent all 40 at once,
    # each at its first attempt (the hand-off tried none of them)
    assert totals["sent"] == MESSAGES
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES
    assert _states(tenant) == Counter({"sent": MESSAGES})
    assert _attempts(tenant) == Counter({1: MESSAGES})
    # And the job counts each once; the hand-off's record is gone
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", MESSAGES, 0, 0)
    assert handoff_records(tenant.company_id) == []
    # And nothing goes again when the lease ends and the schedule looks
    _wake_until_idle(clock, clock.now(), int(LEASE.total_seconds() // 60) + 2)
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES
    assert _job_progress(tenant, job_id).sent == MESSAGES


def test_a_sweeps_gathered_hand_offs_that_arrive_too_late_give_every_alert_back_to_go_once(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, SEND_MARGIN
    from chalicelib.producers.tracking.sweep import sweep_company

    # Given 70 followed parcels whose alerts the sweep wrote claimed in three claims, each with
    # its hand-off record, handed to the workers in two SQS messages (one of them gathered)
    followers = followed_parcels(api, tenant, 70, "z")
    assert sweep_company(tenant.company_id).queued == 70
    assert sorted(len(b["handoffs"]) for b in outbox_queue_bodies()) == [1, 2]
    # When the workers get them only 4 minutes later, too late to start a send under the lease
    clock.set_now(T0 + LEASE - SEND_MARGIN + timedelta(seconds=30))
    assert deliver_outboxes()["sent"] == 70
    # Then every follower got the alert at once, exactly once, recorded sent and counted once
    assert sorted(_recipients(mailbox).items()) == [(f, 1) for f in followers]
    assert _states(tenant) == Counter({"sent": 70})
    monitor = alerts_monitor(api, tenant)
    assert (monitor["sent_count"], monitor["failed_count"]) == (70, 0)
    # And no record is left, and the schedule sends nothing again once the lease has ended
    assert handoff_records(tenant.company_id) == []
    _wake_until_idle(clock, clock.now(), int(LEASE.total_seconds() // 60) + 2)
    assert sorted(_recipients(mailbox).values()) == [1] * 70
    assert alerts_monitor(api, tenant)["sent_count"] == 70


def test_a_give_back_that_comes_after_another_drain_took_the_messages_over_changes_nothing(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, monkeypatch: Any
) -> None:
    from chalicelib.channels.smtp import SmtpChannel
    from chalicelib.messaging.delivery import LEASE, drain_outbox
    from chalicelib.store import communications

    # Given a job of 40 e-mails queued, their kick lost
    job_id = _queue_a_job(tenant, MESSAGES)
    purge_outbox_queue()
    # And a drain whose time and grace run out while its 10th e-mail is on the wire, and whose
    # give-back comes late: meanwhile its lease has ended and a second drain has claimed the
    # messages and is sending them
    _drain_time_runs_out_at_send(monkeypatch, 10)
    give_back = communications.give_back
    counted_send = SmtpChannel.send
    late: list[list[str]] = []
    stale: Any = None  # the first drain's give-back, held back

    def second_drain_sends(channel: SmtpChannel, message: Any) -> str:
        if not late:  # the first drain's give-back arrives while the second holds the messages
            late.append(give_back(*stale))
        return counted_send(channel, message)

    def given_back_late(*args: Any) -> list[str]:
        nonlocal stale
        if stale is None:
            stale = args
            clock.set_now(T0 + LEASE + timedelta(seconds=1))
            monkeypatch.setattr(SmtpChannel, "send", second_drain_sends)
            drain_outbox(tenant.company_id, OUTBOX)
        return give_back(*args)

    monkeypatch.setattr(communications, "give_back", given_back_late)
    # When the first drain stops
    first = drain_outbox(tenant.company_id, OUTBOX)
    assert first.sent == 10
    # Then its give-back, under a lease that is no longer the messages', gave nothing back
    assert late == [[]]
    # And once the schedule has run for a lease, every client got the e-mail exactly once, each
    # recorded sent once, and the job counts each once
    _wake_until_idle(clock, clock.now(), int(LEASE.total_seconds() // 60) + 2)
    assert sorted(_recipients(mailbox).values()) == [1] * MESSAGES
    assert _states(tenant) == Counter({"sent": MESSAGES})
    progress = _job_progress(tenant, job_id)
    assert (progress.state, progress.sent, progress.failed, progress.waiting) == ("done", MESSAGES, 0, 0)


def _wake_later(company_id: str) -> None:
    from chalicelib.core import clock
    from chalicelib.store import outbox as outbox_store

    outbox_store.wake_later(company_id, OUTBOX, clock.now())


def _webhook_answered(company_id: str) -> None:
    from chalicelib.store import webhooks

    webhooks.note_success(company_id, "ep-soak")


@pytest.mark.parametrize("write", [_wake_later, _webhook_answered], ids=["outbox-wake-up", "webhook-success"])
def test_a_conditional_write_whose_connection_is_reset_raises_dynamodbs_error_not_an_attribute_error(
    tenant: Tenant, write: Any
) -> None:
    from botocore.exceptions import ConnectionClosedError
    from pynamodb.exceptions import UpdateError

    from tests.steps.aws import dynamodb_connection_reset

    # Given DynamoDB's connection reset under every UpdateItem, before its reply comes (the soak's
    # proxy resetting connections while the minute schedule woke an outbox, bench/soak.py)
    with dynamodb_connection_reset("UpdateItem") as reset, pytest.raises(Exception) as raised:
        # When a conditional write is made (the outbox's wake-up, an endpoint's success)
        write(tenant.company_id)
    # Then what is raised is PynamoDB's error for the lost connection, as for any other failed
    # write, and the log names it: not an AttributeError read from the reply that never came
    assert reset, "the write reached the wire"
    assert isinstance(raised.value, UpdateError), repr(raised.value)
    assert isinstance(raised.value.cause, ConnectionClosedError)
    # And once DynamoDB answers again the same write goes through
    write(tenant.company_id)


def _dead_outbox_messages() -> list[dict[str, Any]]:
    """What waits in pregon-outbox-dead, taken out of it (a test starts it empty)."""
    from chalicelib.core.aws import client
    from chalicelib.events.outbox import OUTBOX_QUEUE

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=f"{OUTBOX_QUEUE}-dead")["QueueUrl"]
    taken: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
        taken += messages
    return taken


def test_a_hand_off_parked_in_a_dead_letter_queue_is_moved_back_by_the_operator_and_sends_each_email_once(
    tenant: Tenant, mailbox: MailCatcher, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/operations.md, "A dead-letter queue has messages", followed as written: list, show,
    (the schedule drains the rows meanwhile), redrive; the worker that then takes the hand-off
    sends nothing twice."""
    from chalicelib.core.aws import client
    from chalicelib.events.outbox import OUTBOX_QUEUE
    from chalicelib.messaging.delivery import LEASE
    from infrastructure import ops

    # Given a job of 5 e-mails handed to the workers by id, whose hand-off failed five times and
    # was parked in pregon-outbox-dead (as SQS's redrive does: test_local_aws_loops shows it)
    clock.set_now(T0)
    _dead_outbox_messages()
    _queue_a_job(tenant, 5, handoff=True)
    [handoff] = outbox_queue_bodies()
    purge_outbox_queue()
    sqs = client("sqs")
    dead = sqs.get_queue_url(QueueName=f"{OUTBOX_QUEUE}-dead")["QueueUrl"]
    sqs.send_message(QueueUrl=dead, MessageBody=json.dumps(handoff))
    run = ["--target", "env"]
    # When the operator lists the dead-letter queues and reads the parked message
    assert ops.main([*run, "dead-letters", "list"]) == 0
    listed = capsys.readouterr().out
    assert ops.main([*run, "dead-letters", "show", "pregon-outbox-dead"]) == 0
    shown = capsys.readouterr().out
    # Then the list names the queue, its one message and where a redrive moves it, and the message
    # is shown (its body: the company whose hand-off it was) and left where it was
    assert "pregon-outbox-dead                    1 messages  redrive: back to pregon-outbox" in listed
    assert "pregon-local-async-failures" in listed and "redrive: invoked again" in listed
    assert tenant.company_id in shown and "received 1 times" in shown
    # And meanwhile the minute schedule sends the e-mails from their rows once their lease ends
    _wake_until_idle(clock, T0, int(LEASE.total_seconds() // 60) + 2)
    assert sorted(_recipients(mailbox).values()) == [1] * 5
    capsys.readouterr()  # (the drains' metrics)
    # When the operator moves the parked hand-off back and a worker takes it
    assert ops.main([*run, "dead-letters", "redrive", "pregon-outbox-dead"]) == 0
    assert capsys.readouterr().out.strip() == "1 messages moved from pregon-outbox-dead back to pregon-outbox"
    assert outbox_queue_bodies() == [handoff]
    _take_one_outbox_message()
    _wake_until_idle(clock, clock.now(), 1)
    # Then no client got an e-mail twice, each is recorded sent once, and nothing is left to move
    assert sorted(_recipients(mailbox).values()) == [1] * 5
    assert _states(tenant) == Counter({"sent": 5})
    assert _dead_outbox_messages() == []
    capsys.readouterr()
    assert ops.main([*run, "dead-letters", "redrive", "pregon-outbox-dead"]) == 0
    assert capsys.readouterr().out.startswith("0 messages moved")
    # And a queue that is no dead-letter queue is refused, naming the ones that are
    assert ops.main([*run, "dead-letters", "redrive", "pregon-outbox"]) == 2
    refused = capsys.readouterr().err
    assert "queue: 'pregon-outbox' is not a dead-letter queue" in refused and "pregon-outbox-dead" in refused
