"""The outbox (C2, Q3): per-account rate limits, retries with backoff, concurrent drains, leases,
and the record every message leaves — against DynamoDB Local, moto's SQS and a real SMTP server."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.hostile_mail import company_files
from tests.steps.mail import recipients
from tests.steps.outbox import deliver_outboxes, limit_tracking_account, raw_items
from tests.steps.ses_events import logged_lines
from tests.steps.tenants import SMTP_USER, Tenant
from tests.steps.tracking import T0


def _messages(count: int, prefix: str = "c") -> list[Any]:
    from chalicelib.messaging.outbox import OutgoingMessage

    return [
        OutgoingMessage(
            channel="email",
            to_address=f"{prefix}{n:02d}@example.com",
            to_name=f"Cliente {n}",
            subject=f"Aviso {n:02d}",
            text=f"Hola {n}",
            area="tracking",
            idempotency_key=f"test:{prefix}:{n}",
        )
        for n in range(count)
    ]


def test_a_rate_limit_of_5_per_hour_sends_12_messages_over_three_windows_oldest_first(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue

    # Given an account limited to 5 messages per hour, and 12 messages queued at 12:00
    limit_tracking_account(api, tenant, mailbox, messages=5, hours=1)
    clock.set_now(T0)
    enqueue(tenant.company_id, _messages(12))
    # When the outbox worker runs now
    first = deliver_outboxes()
    # Then 5 go now, the oldest ones, and the rest wait
    assert first["sent"] == 5
    assert sorted(recipients(mailbox)) == [f"c{n:02d}@example.com" for n in range(5)]
    # And nothing more goes out within the same hour, even when woken again
    clock.set_now(T0 + timedelta(minutes=59))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    # When the first five have left the hour (each counted two minutes late, the margin for the
    # time a batch takes to go out), the wake-up sends the next 5, then the last 2 an hour later
    clock.set_now(T0 + timedelta(hours=1, minutes=1, seconds=59))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    clock.set_now(T0 + timedelta(hours=1, minutes=2, seconds=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 5
    clock.set_now(T0 + timedelta(hours=2, minutes=4, seconds=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 2
    # Then all 12 arrived, each exactly once, in the order they were queued
    mails = mailbox.wait_for(12)
    assert len(mails) == 12
    assert [str(m["Subject"]) for m in mails] == [f"Aviso {n:02d}" for n in range(12)]


def test_a_rate_limit_holds_over_any_window_not_per_clock_hour(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue

    # Given an account limited to 3 messages per hour, and 3 messages sent at 12:59:30
    limit_tracking_account(api, tenant, mailbox, messages=3, hours=1)
    clock.set_now(T0 + timedelta(minutes=59, seconds=30))
    enqueue(tenant.company_id, _messages(3, prefix="a"))
    assert deliver_outboxes()["sent"] == 3
    # When 3 more are queued a minute later, just after the clock hour turned
    clock.set_now(T0 + timedelta(hours=1, seconds=30))
    enqueue(tenant.company_id, _messages(3, prefix="b"))
    # Then none goes out: 6 within a minute would break "3 per hour"
    assert deliver_outboxes()["sent"] == 0
    clock.set_now(T0 + timedelta(hours=1, minutes=59))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    # And they go an hour (plus the two-minute margin) after the first three
    clock.set_now(T0 + timedelta(hours=2, minutes=1, seconds=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 3
    assert len(mailbox.wait_for(6)) == 6


def test_an_attempt_the_server_refused_before_the_body_does_not_use_up_the_rate_limit(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue

    # Given an account limited to 3 messages per hour, and a server that answers the first
    # attempt's RCPT TO with "451 try again later" (the body never goes)
    limit_tracking_account(api, tenant, mailbox, messages=3, hours=1)
    mailbox.refuse_next_recipients(1, "451 4.3.0 Mailbox busy, try again later")
    clock.set_now(T0)
    enqueue(tenant.company_id, _messages(3))
    # When the worker runs: two go, and the refused one is left for a retry
    assert deliver_outboxes() == {"sent": 2, "failed": 0, "retried": 1, "suppressed": 0}
    # Then its retry goes in the same hour: the refused attempt took no room in the window
    clock.set_now(T0 + timedelta(minutes=1, seconds=30))
    assert [r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id] == [1]
    mails = mailbox.wait_for(3)
    assert sorted(envelope_recipients(m)[0] for m in mails) == [f"c{n:02d}@example.com" for n in range(3)]


def test_an_attempt_reset_after_its_body_keeps_counting_in_the_rate_limit(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue

    # Given an account limited to 3 messages per hour, and a server that keeps the first message
    # and then resets the connection before answering its final dot
    limit_tracking_account(api, tenant, mailbox, messages=3, hours=1)
    mailbox.reset_after_next(1)
    clock.set_now(T0)
    enqueue(tenant.company_id, _messages(3))
    # When the worker runs: the reset one is left for a retry (the server may have it, and has)
    assert deliver_outboxes() == {"sent": 2, "failed": 0, "retried": 1, "suppressed": 0}
    assert len(mailbox.wait_for(3)) == 3
    # Then its retry waits for the window: the attempt counted, and the server got 3 in the hour
    clock.set_now(T0 + timedelta(minutes=59))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    assert len(mailbox.messages()) == 3
    # And it goes once the first attempts have left the hour (and the two-minute margin)
    clock.set_now(T0 + timedelta(hours=1, minutes=2, seconds=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 1
    assert len(mailbox.wait_for(4)) == 4


def test_two_workers_on_a_rate_limited_outbox_never_overshoot_the_limit(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.messaging.outbox import enqueue

    # Given 20 messages for an account limited to 7 per hour
    limit_tracking_account(api, tenant, mailbox, messages=7, hours=1)
    enqueue(tenant.company_id, _messages(20), kick=False)
    # When three workers drain it at once
    reports: list[Any] = []
    workers = [
        threading.Thread(target=lambda: reports.append(drain_outbox(tenant.company_id, "email:tracking")))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Then exactly 7 went out
    assert sum(r.sent for r in reports) == 7
    assert len(mailbox.wait_for(7)) == 7


def test_a_server_failing_twice_then_accepting_delivers_the_message_once(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.store.communications import get

    # Given a server that answers "451 try again later" to the next two attempts
    mailbox.refuse_next(2)
    [queued] = enqueue(tenant.company_id, _messages(1))
    # When the worker runs, and the wake-ups come back after the backoff
    with logged_lines() as lines:
        assert deliver_outboxes()["retried"] == 1
    # (the log tells the operator why it is tried again: "The outbox is late", step 4)
    [drained] = [line for line in lines if line["message"] == "outbox drained"]
    assert drained["retried"] == 1 and drained["error"].startswith("451"), drained
    clock.set_now(T0 + timedelta(minutes=1, seconds=30))
    assert [r.retried for r in wake_due_outboxes() if r.company_id == tenant.company_id] == [1]
    clock.set_now(T0 + timedelta(minutes=10))
    assert [r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id] == [1]
    # Then the message arrived once, and its record says sent on the third attempt
    assert len(mailbox.wait_for(1)) == 1
    record = get(tenant.company_id, queued.communication_id)
    assert record is not None
    assert (record.state, record.attempts) == ("sent", 3)
    assert record.provider_message_id == record.rfc_message_id


def test_a_permanent_refusal_fails_at_once_with_the_servers_words(
    tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.store.communications import get

    # Given a server that rejects the next message for good
    mailbox.refuse_next(1, "554 5.7.1 Message rejected: spam score too high")
    [queued] = enqueue(tenant.company_id, _messages(1))
    # When the worker runs
    with logged_lines() as lines:
        assert deliver_outboxes()["failed"] == 1
    # Then the record is failed with the server's own text, and nothing is retried
    record = get(tenant.company_id, queued.communication_id)
    assert record is not None and record.state == "failed"
    assert record.error == "554 5.7.1 Message rejected: spam score too high"
    # And the operator on call, who cannot read the company's history, reads the same in the
    # worker's log (docs/operations.md, "Sends fail"): which company, which message, why
    [drained] = [line for line in lines if line["message"] == "outbox drained"]
    assert (drained["company_id"], drained["failed"]) == (tenant.company_id, 1)
    assert drained["error"] == "554 5.7.1 Message rejected: spam score too high"
    assert drained["error_communication_id"] == queued.communication_id


def test_two_workers_draining_one_outbox_send_each_message_once(tenant: Tenant, mailbox: MailCatcher) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.messaging.outbox import enqueue

    # Given 60 messages in one outbox
    enqueue(tenant.company_id, _messages(60), kick=False)
    # When two workers drain it at the same time
    reports: list[Any] = []
    workers = [
        threading.Thread(target=lambda: reports.append(drain_outbox(tenant.company_id, "email:tracking")))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Then every recipient got exactly one e-mail, and the two workers shared the work
    mails = mailbox.wait_for(60)
    assert sorted(r for m in mails for r in envelope_recipients(m)) == [
        f"c{n:02d}@example.com" for n in range(60)
    ]
    assert sum(r.sent for r in reports) == 60


def test_the_same_message_enqueued_twice_is_sent_once(tenant: Tenant, mailbox: MailCatcher) -> None:
    from chalicelib.messaging.outbox import enqueue

    # Given a message enqueued, then enqueued again with the same idempotency key (a retried request)
    first = enqueue(tenant.company_id, _messages(1))
    again = enqueue(tenant.company_id, _messages(1))
    # Then only the first was written, and one e-mail goes out
    assert len(first) == 1 and again == []
    assert deliver_outboxes()["sent"] == 1
    assert len(mailbox.wait_for(1)) == 1


def test_a_message_of_a_worker_that_died_goes_out_when_its_lease_runs_out(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.store import communications

    # Given a worker claimed a message and died before sending it
    enqueue(tenant.company_id, _messages(1), kick=False)
    ready = communications.ready_messages(tenant.company_id, "email:tracking", T0, 10)
    assert len(communications.claim(ready, T0, LEASE)) == 1
    # When the outbox is drained again before the lease ends, nothing is sent twice
    from chalicelib.messaging.delivery import drain_outbox

    assert drain_outbox(tenant.company_id, "email:tracking").sent == 0
    # When the lease has run out, the wake-up finds the message and sends it
    clock.set_now(T0 + LEASE + timedelta(seconds=1))
    assert [r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id] == [1]
    assert len(mailbox.wait_for(1)) == 1


def test_a_disabled_account_keeps_its_messages_until_it_is_enabled(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.accounts.email import save_sender_account
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.messaging.outbox import enqueue

    # Given messages queued for the tracking account, which an administrator then disables
    enqueue(tenant.company_id, _messages(2), kick=False)
    fields = {
        "kind": "smtp",
        "display_name": "Avisos",
        "from_address": "avisos@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "username": SMTP_USER,
    }
    save_sender_account(tenant.company_id, "tracking", {**fields, "enabled": False})
    # When the outbox is drained, nothing goes and nothing is lost
    report = drain_outbox(tenant.company_id, "email:tracking")
    assert report.sent == 0 and "disabled" in (report.reason or "")
    # When it is enabled again, both go out
    save_sender_account(tenant.company_id, "tracking", {**fields, "enabled": True})
    assert drain_outbox(tenant.company_id, "email:tracking").sent == 2
    assert len(mailbox.wait_for(2)) == 2


def test_with_no_working_account_for_the_area_the_message_is_recorded_failed(tenant: Tenant) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    # Given a company with an account for tracking only, and a message for the invoices area
    [record] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email", to_address="x@example.com", subject="S", text="T", area="invoices"
            )
        ],
    )
    # Then it is recorded as failed with the reason, not silently dropped
    assert record.state == "failed" and "invoices" in (record.error or "")


def test_a_bad_rate_limit_is_refused_naming_the_field(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    response = api.http.put(
        "/sender-accounts/tracking",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {
                "display_name": "Avisos",
                "from_address": "avisos@cargasdelsur.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": mailbox.port,
                "rate_limit": {"messages": 0, "hours": 1},
            }
        ),
    )
    assert response.status_code == 422
    assert body(response)["field"].startswith("rate_limit")


def test_a_very_large_message_is_kept_in_s3_and_arrives_whole(tenant: Tenant, mailbox: MailCatcher) -> None:
    from chalicelib.messaging.outbox import INLINE_BODY_LIMIT, OutgoingMessage, enqueue, message_body

    # Given a newsletter whose HTML is larger than a DynamoDB item may hold comfortably
    html = "<p>" + ("Novedades de noviembre. " * (INLINE_BODY_LIMIT // 10)) + "</p>"
    [record] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address="ana@example.com",
                subject="Boletín",
                text="Boletín",
                html=html,
                area="tracking",
            )
        ],
    )
    # Then the item keeps a pointer to the body in S3, not the body
    assert record.body_key is not None and record.html is None
    assert message_body(record) == ("Boletín", html)
    # And the e-mail arrives with the whole HTML
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    part = mail.get_body(preferencelist=("html",))
    # (the fragment inside the whole document every e-mail is: docs/web.md, Valid markup)
    assert part is not None and f"<body>\n{html}\n</body>" in part.get_content().replace("\r\n", "\n")


def test_a_very_large_message_enqueued_twice_keeps_one_body_in_s3(tenant: Tenant) -> None:
    from chalicelib.messaging.outbox import INLINE_BODY_LIMIT, OutgoingMessage, enqueue

    # Given a newsletter too large for an item, enqueued under an idempotency key
    html = "<p>" + ("Novedades de noviembre. " * (INLINE_BODY_LIMIT // 10)) + "</p>"
    newsletter = OutgoingMessage(
        channel="email",
        to_address="ana@example.com",
        subject="Boletín",
        text="Boletín",
        html=html,
        area="tracking",
        idempotency_key="newsletter:2026-11:ana",
    )
    [record] = enqueue(tenant.company_id, [newsletter])
    # When it is enqueued again (a retried request)
    again = enqueue(tenant.company_id, [newsletter])
    # Then nothing more is written, and the body the retry put in S3 is gone: the bucket holds
    # only the body the record names
    assert again == []
    assert company_files(tenant.company_id, "bodies") == [record.body_key]


def test_a_message_another_worker_holds_is_not_claimed_even_when_read_after_its_claim(
    tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.delivery import LEASE
    from chalicelib.store import communications

    # Given a worker that read the outbox, and another that claimed the message just after
    enqueue_one = _messages(1)
    from chalicelib.messaging.outbox import enqueue

    [queued] = enqueue(tenant.company_id, enqueue_one, kick=False)
    assert len(communications.claim([queued], T0, LEASE)) == 1
    # When the first worker looks again (its read now shows the other's lease) and tries to claim
    held = communications.get(tenant.company_id, queued.communication_id)
    assert held is not None and held.state == "sending"
    # Then it gets nothing: neither from the ready listing nor by claiming what it read
    assert communications.ready_messages(tenant.company_id, "email:tracking", T0, 25) == []
    assert communications.claim([held], T0, LEASE) == []


def test_the_dashboard_metrics_are_written_per_channel(
    tenant: Tenant, mailbox: MailCatcher, capsys: Any
) -> None:
    from chalicelib.messaging.outbox import enqueue

    # Given three e-mails enqueued and delivered
    capsys.readouterr()
    enqueue(tenant.company_id, _messages(3, prefix="m"))
    assert deliver_outboxes()["sent"] == 3
    # Then CloudWatch's embedded metric format lines say, for the e-mail channel, 3 queued, 3 sent,
    # none failed and how long the oldest waited, as the operations dashboard reads them
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    figures: dict[str, float] = {}
    for line in lines:
        if line.get("Channel") == "email" and line.get("service") == "pregon":
            for definition in line["_aws"]["CloudWatchMetrics"]:
                assert definition["Namespace"] == "Pregon"
                assert ["Channel", "service"] in [sorted(d) for d in definition["Dimensions"]]
                for metric in definition["Metrics"]:
                    value = line[metric["Name"]]
                    values = value if isinstance(value, list) else [value]
                    figures[metric["Name"]] = figures.get(metric["Name"], 0) + sum(values)
    assert figures["MessagesQueued"] == 3 and figures["MessagesSent"] == 3
    assert figures["MessagesFailed"] == 0 and figures["OutboxAgeSeconds"] >= 0


def _history_states(tenant: Tenant) -> list[str]:
    from chalicelib.store.communications import history_page

    return sorted(c.state for c in history_page(tenant.company_id, "email", limit=100).items)


def test_a_hand_off_that_sqs_delivers_twice_sends_each_message_once(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import deliver_handed_off
    from chalicelib.messaging.outbox import enqueue

    # Given 3 messages written claimed (issue 14), still shown queued, handed off by id
    clock.set_now(T0)
    written = enqueue(tenant.company_id, _messages(3, prefix="h"), kick=False, handoff=True)
    assert _history_states(tenant) == ["queued"] * 3
    ids = [c.communication_id for c in written]
    lease_until, token = written[0].lease_until, written[0].handoff
    assert lease_until is not None and token is not None
    # When SQS delivers the same hand-off twice (at least once), to two workers
    first = deliver_handed_off(tenant.company_id, "email:tracking", ids, lease_until, token, recorded=True)
    second = deliver_handed_off(tenant.company_id, "email:tracking", ids, lease_until, token, recorded=True)
    # Then only the first sends, each message once, and all are recorded sent
    assert (first.sent, second.sent) == (3, 0)
    assert sorted(recipients(mailbox)) == [f"h{n:02d}@example.com" for n in range(3)]
    assert _history_states(tenant) == ["sent"] * 3
    # And no drain finds them again, even after their lease
    clock.set_now(T0 + timedelta(minutes=6))
    assert deliver_outboxes()["sent"] == 0
    assert len(recipients(mailbox)) == 3


def test_a_hand_off_that_arrives_after_its_lease_is_sent_by_a_drain_once(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, deliver_handed_off, wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue

    # Given 2 messages written claimed at 12:00 whose hand-off is late (a worker that died)
    clock.set_now(T0)
    written = enqueue(tenant.company_id, _messages(2, prefix="l"), kick=False, handoff=True)
    lease_until = written[0].lease_until
    assert lease_until is not None and lease_until == T0 + LEASE
    # When the minute schedule comes before the lease ends, nothing is taken from the worker
    clock.set_now(T0 + timedelta(minutes=4))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    # And when the hand-off arrives after the lease ended, a drain claims and sends them
    clock.set_now(T0 + LEASE + timedelta(seconds=1))
    ids, token = [c.communication_id for c in written], written[0].handoff
    assert token is not None
    report = deliver_handed_off(tenant.company_id, "email:tracking", ids, lease_until, token, recorded=True)
    assert report.sent == 2
    # Then each went once and is recorded sent
    assert sorted(recipients(mailbox)) == ["l00@example.com", "l01@example.com"]
    assert _history_states(tenant) == ["sent"] * 2


def test_a_hand_off_of_30_composed_ahead_sends_in_order_skipping_a_bad_header_and_a_suppressed_address(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import deliver_handed_off
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.messaging.suppression import add_suppression
    from chalicelib.store.communications import history_page

    # Given 30 messages handed off by id (more than a batch of 25, so the rate-window check and
    # the short last write both come into play), the 7th with a line break in its subject, and
    # the 12th to an address the company suppressed (the hand-off names no addresses, as an SQS
    # body written before they were named: the worker reads them after the messages)
    clock.set_now(T0)
    add_suppression(tenant.company_id, "b11@example.com", note=None, by="test")
    messages = _messages(30, prefix="b")
    messages[6] = OutgoingMessage(**{**vars(messages[6]), "subject": "Aviso\r\nBcc: intruso@example.com"})
    written = enqueue(tenant.company_id, messages, kick=False, handoff=True)
    lease_until, token = written[0].lease_until, written[0].handoff
    assert lease_until is not None and token is not None
    # When one worker sends the hand-off (each e-mail composed while the one before is on the wire)
    ids = [c.communication_id for c in written]
    report = deliver_handed_off(tenant.company_id, "email:tracking", ids, lease_until, token, recorded=True)
    # Then the other 28 arrive once each, in the order they were written, and no one else got one
    expected = [f"b{n:02d}@example.com" for n in range(30) if n not in (6, 11)]
    assert recipients(mailbox) == expected
    assert (report.sent, report.failed, report.suppressed) == (28, 1, 1)
    # And the history says what became of each: the bad header named, the suppressed one skipped
    by_address = {c.to_address: c for c in history_page(tenant.company_id, "email", limit=100).items}
    assert by_address["b06@example.com"].state == "failed"
    assert "line break" in (by_address["b06@example.com"].error or "")
    assert by_address["b11@example.com"].state == "suppressed"
    assert all(by_address[a].state == "sent" and by_address[a].provider_message_id for a in expected)


def test_a_hand_off_names_its_addresses_and_the_worker_skips_the_suppressed_ones_among_them(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.messaging.suppression import add_suppression
    from tests.steps.outbox import outbox_queue_bodies

    # Given two addresses the company suppressed, and 4 messages to s00..s03, the second written
    # with capitals
    clock.set_now(T0)
    add_suppression(tenant.company_id, "s01@example.com", note=None, by="test")
    add_suppression(tenant.company_id, "s02@example.com", note=None, by="test")
    messages = _messages(4, prefix="s")
    messages[1] = OutgoingMessage(**{**vars(messages[1]), "to_address": "S01@Example.COM"})
    # When they are enqueued and handed to the workers
    enqueue(tenant.company_id, messages, kick=True)
    # Then the one SQS message names their addresses as the suppression list keys them, so the
    # worker reads their suppressions beside the messages, not after them (issue 14)
    [handed] = outbox_queue_bodies()
    assert handed["addresses"] == [f"s{n:02d}@example.com" for n in range(4)]
    # When the worker takes it
    totals = deliver_outboxes()
    # Then only the two not suppressed got the e-mail, and the others are recorded suppressed
    assert sorted(recipients(mailbox)) == ["s00@example.com", "s03@example.com"]
    assert (totals["sent"], totals["suppressed"]) == (2, 2)
    assert _history_states(tenant) == ["sent", "sent", "suppressed", "suppressed"]


def test_a_hand_off_that_names_only_some_of_its_addresses_still_skips_a_suppressed_one_it_left_out(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import deliver_handed_off
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.messaging.suppression import add_suppression

    # Given a suppressed address, and 3 messages written claimed, one of them to it
    clock.set_now(T0)
    add_suppression(tenant.company_id, "p01@example.com", note=None, by="test")
    written = enqueue(tenant.company_id, _messages(3, prefix="p"), kick=False, handoff=True)
    lease_until, token = written[0].lease_until, written[0].handoff
    assert lease_until is not None and token is not None
    # When a worker is handed them with only the first address named (a body that left the
    # suppressed one out)
    ids = [c.communication_id for c in written]
    report = deliver_handed_off(
        tenant.company_id,
        "email:tracking",
        ids,
        lease_until,
        token,
        recorded=True,
        addresses=["p00@example.com"],
    )
    # Then the suppressed address is still skipped: what the body does not name is read after
    assert sorted(recipients(mailbox)) == ["p00@example.com", "p02@example.com"]
    assert (report.sent, report.suppressed) == (2, 1)


def test_a_hand_off_of_250_messages_is_read_in_parallel_parts_and_each_is_sent_once_in_order(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import READ_ITEMS, deliver_hand_offs
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.messaging.suppression import add_suppression

    # Given 250 messages written claimed (three reads of 100), and one suppressed address in each
    # hundred: the first message, the 151st and the last
    clock.set_now(T0)
    assert READ_ITEMS == 100
    for n in (0, 150, 249):
        add_suppression(tenant.company_id, f"m{n:02d}@example.com", note=None, by="test")
    written = enqueue(tenant.company_id, _messages(250, prefix="m"), kick=False, handoff=True)
    lease_until = written[0].lease_until
    assert lease_until is not None and all(c.lease_until == lease_until for c in written)
    handoffs: dict[str, list[str]] = {}
    for comm in written:
        assert comm.handoff is not None
        handoffs.setdefault(comm.handoff, []).append(comm.communication_id)
    # When one worker is handed all of them, every address named
    report = deliver_hand_offs(
        tenant.company_id,
        "email:tracking",
        list(handoffs.items()),
        lease_until,
        recorded=True,
        addresses=[f"m{n:02d}@example.com" for n in range(250)],
    )
    # Then the 247 others arrived once each, in the order they were written, and the three
    # suppressed ones are recorded so
    expected = [f"m{n:02d}@example.com" for n in range(250) if n not in (0, 150, 249)]
    assert [str(m["Subject"]) for m in mailbox.messages()] == [
        f"Aviso {n:02d}" for n in range(250) if n not in (0, 150, 249)
    ]
    assert sorted(recipients(mailbox)) == sorted(expected)
    assert (report.sent, report.suppressed) == (247, 3)


def test_a_hand_off_whose_worker_never_comes_is_found_by_its_record_when_its_lease_ends(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import LEASE, wake_due_outboxes
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.store.models import CommunicationModel, OutboxModel

    # Given 3 messages written claimed at 12:00 and handed off, whose worker never comes
    clock.set_now(T0)
    enqueue(tenant.company_id, _messages(3, prefix="r"), kick=False, handoff=True)
    # Then they are not in the outbox's ready index (issue 14), and one record holds the three
    items = raw_items(CommunicationModel.Meta.table_name, tenant.company_id)
    assert len(items) == 3 and not any("ready_outbox" in item for item in items)
    [record] = raw_items(OutboxModel.Meta.table_name, tenant.company_id, "handoff#")
    assert sorted(json.loads(record["work"]["S"])["ids"]) == sorted(i["communication_id"]["S"] for i in items)
    # When the minute schedule comes before the lease ends, nothing is sent
    clock.set_now(T0 + timedelta(minutes=4))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    # And when it comes after, the record puts them back in the outbox and they are sent, once
    clock.set_now(T0 + LEASE + timedelta(minutes=1))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 3
    assert sorted(recipients(mailbox)) == [f"r{n:02d}@example.com" for n in range(3)]
    assert _history_states(tenant) == ["sent"] * 3
    # And the record is gone, and nothing is sent again
    assert raw_items(OutboxModel.Meta.table_name, tenant.company_id, "handoff#") == []
    clock.set_now(T0 + LEASE + timedelta(minutes=10))
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 0
    assert len(recipients(mailbox)) == 3


def test_a_hand_off_its_worker_finishes_leaves_no_record_and_no_wake_up(
    tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.store.models import OutboxModel
    from chalicelib.store.outbox import due_wakeups

    # Given 3 messages written claimed and handed to the outbox workers over SQS
    clock.set_now(T0)
    enqueue(tenant.company_id, _messages(3, prefix="f"), handoff=True)
    # When the workers deliver them
    assert deliver_outboxes()["sent"] == 3
    # Then no hand-off record and no wake-up is left: the schedule has nothing to do for them
    assert raw_items(OutboxModel.Meta.table_name, tenant.company_id, "handoff#") == []
    clock.set_now(T0 + timedelta(days=1))
    assert [o for c, o, _ in due_wakeups(clock.now()) if c == tenant.company_id] == []
    assert sorted(recipients(mailbox)) == [f"f{n:02d}@example.com" for n in range(3)]
