"""Webhooks (docs/webhooks.md): an administrator names an endpoint and the events it wants; what
Pregón records (SES's feedback, an unsubscribe, a client's e-mail or SMS, a ticket) reaches that
endpoint once, signed, through the webhook queue's deployed worker, retried on 5xx, never on 4xx,
and never to a private address or through a redirect. The endpoint is a real HTTP server on a
local socket that checks each signature with the recipe the guide prints."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
from chalice.test import Client

from chalicelib.core.domain import Communication
from chalicelib.messaging.outbox import OutgoingMessage, enqueue
from chalicelib.store import communications as comm_store
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import ACCOUNT_ID, access_denied, aws_answering
from tests.steps.clients import put_client
from tests.steps.domains import notices_received, pregon_notice_sender_verified
from tests.steps.outbox import communication_items, deliver_outboxes
from tests.steps.ses_events import (
    deliver_ses_events,
    drain_ses_queue,
    feed,
    logged_lines,
    notification,
    publish_ses_events,
    redelivered_ses_events,
    ses_company,
)
from tests.steps.sms import (
    GATEWAY_PASSWORD,
    AndroidGateway,
    free_inbound_number,
    gateway_company,
    receive_sms,
    run_sms_delivery_check,
)
from tests.steps.tenants import IDENTITY, Tenant, purge_outbox_queue, staff_user
from tests.steps.webhooks import (
    Receiver,
    deliver_webhooks,
    drain_webhook_queue,
    outcomes,
    webhook_queue_refusing,
)

ANA_PHONE = "+5491159876543"
EVERY_EVENT = [
    "message.delivered",
    "message.bounced",
    "message.complained",
    "message.failed",
    "client.unsubscribed",
    "inbound.received",
    "ticket.created",
]


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch, local_aws: dict[str, str]) -> None:
    """Retries after no wait (production waits 1 minute to 10 hours), and an empty queue."""
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "RETRY_SECONDS", (0, 0, 0, 0))
    drain_webhook_queue()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def company(local_aws: dict[str, str], clock: Any) -> Tenant:
    """A company whose e-mail leaves through SES, and whose client CLI-7 is Ana."""
    purge_outbox_queue()
    drain_ses_queue()
    return ses_company("Cable Sur")


def add_endpoint(api: Client, tenant: Tenant, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = api.http.post(
        "/webhooks",
        headers=tenant.admin_headers(),
        body=json.dumps({"url": url, "events": events or EVERY_EVENT}),
    )
    assert response.status_code == 201, response.body
    created: dict[str, Any] = body(response)
    return created


def now_seconds() -> float:
    from chalicelib.core import clock

    return clock.now().timestamp()


def send_to_ana(tenant: Tenant) -> Communication:
    """One e-mail to the client CLI-7 through the outbox and SES (moto)."""
    (queued,) = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"ana.{uuid.uuid4().hex[:6]}@example.com",
                subject="Su factura",
                text="Hola Ana, su factura de noviembre es de $ 15.300,50",
                client_id="CLI-7",
            )
        ],
    )
    deliver_outboxes()
    comm = comm_store.get(tenant.company_id, queued.communication_id)
    assert comm is not None and comm.state == "sent"
    return comm


def deliveries(api: Client, tenant: Tenant, endpoint_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/webhooks/{endpoint_id}/deliveries", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    items: list[dict[str, Any]] = body(response)["items"]
    return items


# --- the events -----------------------------------------------------------------------------------


def test_each_message_outcome_reaches_the_endpoint_once_signed_and_without_the_message(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given an endpoint that wants every event
    endpoint = add_endpoint(api, company, receiver.url)
    # And three e-mails to the client CLI-7 and one SES will reject
    delivered, bounced, complained, rejected = (send_to_ana(company) for _ in range(4))

    # When SES reports a delivery, a hard bounce, a complaint and a reject, and a delivery twice
    feed(notification("event_delivery.json", delivered))
    feed(notification("event_bounce_permanent.json", bounced))
    feed(notification("event_delivery.json", complained))
    feed(notification("event_complaint.json", complained))
    reject = json.loads(notification("event_delivery.json", rejected))
    del reject["delivery"]
    reject |= {"eventType": "Reject", "reject": {"reason": "Bad content"}}
    feed(json.dumps(reject))
    feed(notification("event_delivery.json", delivered))
    assert outcomes(deliver_webhooks()) == {"delivered": 5}

    # Then each happening reached the endpoint once (the delivery SES reported twice too), signed
    events = receiver.events(endpoint["secret"], now_seconds())
    happened = [(e["type"], e["data"]["message_id"]) for e in events]
    assert sorted(happened) == sorted(
        [
            ("message.delivered", delivered.communication_id),
            ("message.bounced", bounced.communication_id),
            ("message.delivered", complained.communication_id),
            ("message.complained", complained.communication_id),
            ("message.failed", rejected.communication_id),
        ]
    )
    assert len({e["id"] for e in events}) == 5
    # And each names the client, the message and its channel, and nothing of the message itself
    for event in events:
        assert event["data"]["client_id"] == "CLI-7" and event["data"]["channel"] == "email"
        assert set(event) == {"id", "type", "created_at", "data"}
        assert event["created_at"] == "2026-11-02T12:00:00Z"
    received = b"".join(got.body for got in receiver.received)
    assert b"15.300,50" not in received and b"@example.com" not in received and b"Ana" not in received
    # And the delivery log shows each, with the status code and the attempt
    log = deliveries(api, company, endpoint["endpoint_id"])
    assert [(d["status_code"], d["attempt"], d["outcome"]) for d in log] == [(200, 1, "delivered")] * 5


def test_an_sms_from_a_client_its_ticket_and_its_stop_reach_the_endpoint(
    api: Client, tenant: Tenant, receiver: Receiver
) -> None:
    # Given a company that receives SMS, opens tickets for "soporte", and whose client Ana texts
    number = free_inbound_number(assigned_to=tenant.company_id)
    for path, settings in (
        ("/sms/settings", {"enabled": True, "provider": "sns", "inbound_number": number}),
        (
            "/sms/auto-replies",
            {
                "ticket": {
                    "enabled": True,
                    "keywords": "soporte",
                    "operator": "Marta",
                    "category": "Técnico",
                    "max_per_day": 3,
                }
            },
        ),
    ):
        response = api.http.put(path, headers=tenant.admin_headers(), body=json.dumps(settings))
        assert response.status_code == 200, response.body
    response = api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps({"name": "Ana", "phones": [ANA_PHONE]}),
    )
    assert response.status_code == 200, response.body
    # And an endpoint for inbound messages, tickets and unsubscribes
    endpoint = add_endpoint(
        api, tenant, receiver.url, ["inbound.received", "ticket.created", "client.unsubscribed"]
    )

    # When Ana texts "soporte: sin internet", then BAJA
    opened = receive_sms(api, number, ANA_PHONE, "soporte: sin internet")
    stopped = receive_sms(api, number, ANA_PHONE, "BAJA")
    deliver_webhooks()

    # Then the endpoint heard of both SMS, of the ticket and of the unsubscribe, signed
    events = receiver.events(endpoint["secret"], now_seconds())
    assert sorted(
        (e["type"], e["data"].get("message_id"), e["data"].get("ticket_id")) for e in events
    ) == sorted(
        [
            ("inbound.received", opened["communication_id"], None),
            ("ticket.created", opened["communication_id"], opened["ticket_id"]),
            ("inbound.received", stopped["communication_id"], None),
            ("client.unsubscribed", stopped["communication_id"], None),
        ]
    )
    assert all(e["data"]["client_id"] == "CLI-7" and e["data"]["channel"] == "sms" for e in events)
    # And none carries what Ana wrote
    assert not any(b"internet" in got.body or b"BAJA" in got.body for got in receiver.received)


def test_an_sms_the_provider_refuses_reaches_the_endpoint_as_failed(
    api: Client, tenant: Tenant, receiver: Receiver
) -> None:
    # Given a company that sends SMS through SNS, and an endpoint for sent messages' outcomes
    response = api.http.put(
        "/sms/settings", headers=tenant.admin_headers(), body=json.dumps({"enabled": True, "provider": "sns"})
    )
    assert response.status_code == 200, response.body
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.delivered", "message.failed"])
    # When staff text the client CLI-7 at a Madrid landline (refused for good), and at her mobile
    refused, sent = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(channel="sms", to_address=phone, text="Su saldo es $ 1.500", client_id="CLI-7")
            for phone in ("+34911234567", ANA_PHONE)
        ],
    )
    deliver_outboxes()
    deliver_webhooks()
    # Then the endpoint heard that the first failed, as an SMS, signed and without the text
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]) == (
        "message.failed",
        {"client_id": "CLI-7", "message_id": refused.communication_id, "channel": "sms"},
    )
    assert b"1.500" not in receiver.received[0].body
    # And nothing of the second: SNS reports no delivery of an SMS to Pregón (docs/webhooks.md)
    stored = comm_store.get(tenant.company_id, sent.communication_id)
    assert stored is not None and stored.state == "sent"


def test_an_email_ses_refuses_is_told_in_our_words_without_our_account_role_or_arns(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given a company sending through SES, and an endpoint for its failed messages
    endpoint = add_endpoint(api, company, receiver.url, ["message.failed"])
    (queued,) = enqueue(
        company.company_id,
        [
            OutgoingMessage(
                channel="email", to_address="ana@example.com", text="Su factura", client_id="CLI-7"
            )
        ],
    )
    # When SES refuses the send as AWS words it for our role: our account, role and ARNs in it
    denied = access_denied("ses:SendEmail", f"arn:aws:ses:us-east-1:{ACCOUNT_ID}:identity/example.com")
    with logged_lines() as lines, aws_answering("sesv2", "SendEmail", "AccessDeniedException", denied):
        deliver_outboxes()
    deliver_webhooks()
    # Then the history names SES, its code and what it refused, and nothing of our account
    headers = company.staff_headers()
    shown = body(api.http.get(f"/history/email/{queued.communication_id}", headers=headers))
    assert shown["state"] == "failed"
    assert shown["error"].startswith("SES refused the message: AccessDeniedException: User: ")
    assert "is not authorized to perform: ses:SendEmail" in shown["error"]
    for leak in (ACCOUNT_ID, "arn:", "pregon-prod", "5f2e7c1a"):
        assert leak not in shown["error"]
    # (in Spanish for the console, with AWS's words as they came)
    spanish = api.http.get(
        f"/history/email/{queued.communication_id}", headers=headers | {"Accept-Language": "es"}
    )
    assert body(spanish)["error"].startswith("SES rechazó el mensaje: AccessDeniedException: ")
    # And the endpoint heard it failed, with no word of AWS's on the wire
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]["message_id"]) == ("message.failed", queued.communication_id)
    assert ACCOUNT_ID.encode() not in receiver.received[0].body
    # And operators find AWS's whole answer and its request id in the log
    [logged] = [line for line in lines if line.get("aws_code") == "AccessDeniedException"]
    assert denied in logged["aws_error"] and logged["aws_request_id"].startswith("5f2e7c1a")
    assert logged["communication_id"] == queued.communication_id


def test_what_the_phone_reports_of_an_sms_reaches_the_history_and_the_endpoint_once(
    api: Client, tenant: Tenant, receiver: Receiver, clock: Any
) -> None:
    # Given a company whose SMS go out through its Android phone, and an endpoint for outcomes
    with AndroidGateway() as phone:
        gateway_company(api, tenant, phone)
        endpoint = add_endpoint(api, tenant, receiver.url, ["message.delivered", "message.failed"])
        # And two SMS to the client CLI-7 the phone took
        delivered, failed = enqueue(
            tenant.company_id,
            [
                OutgoingMessage(
                    channel="sms", to_address=number, text="Su saldo es $ 1.500", client_id="CLI-7"
                )
                for number in (ANA_PHONE, "+5493515551234")
            ],
        )
        deliver_outboxes()
        [first, second] = [history_sms(api, tenant, m.communication_id) for m in (delivered, failed)]
        assert (first["state"], second["state"]) == ("sent", "sent")
        # When the phone hears the first was delivered and fails the second, and a minute passes
        phone.phone_delivered(first["provider_message_id"])
        phone.phone_failed(second["provider_message_id"], "RESULT_ERROR_NO_SERVICE")
        clock.set_now(clock.now() + timedelta(minutes=1))
        run_sms_delivery_check(api)
        deliver_webhooks()
        # Then the history shows the first delivered, the second failed with the phone's reason
        first, second = (history_sms(api, tenant, m.communication_id) for m in (delivered, failed))
        assert first["state"] == "delivered", first
        assert (second["state"], second["error"]) == (
            "failed",
            "failed on the phone: RESULT_ERROR_NO_SERVICE",
        )
        # (in Spanish for the console, the phone's own words as they came)
        spanish = history_sms(api, tenant, failed.communication_id, language="es")
        assert spanish["error"] == "falló en el teléfono: RESULT_ERROR_NO_SERVICE"
        # And the endpoint heard each once, as an SMS
        events = receiver.events(endpoint["secret"], now_seconds())
        assert sorted((e["type"], e["data"]["message_id"], e["data"]["channel"]) for e in events) == sorted(
            [
                ("message.delivered", delivered.communication_id, "sms"),
                ("message.failed", failed.communication_id, "sms"),
            ]
        )
        # And later checks ask the phone nothing more about them, and tell nothing more
        asked = len(phone.asked)
        for minutes in (5, 60):
            clock.set_now(clock.now() + timedelta(minutes=minutes))
            run_sms_delivery_check(api)
        deliver_webhooks()
        assert len(phone.asked) == asked and len(receiver.received) == 2


def test_an_sms_the_phone_never_reports_stays_sent_and_is_asked_for_no_more(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from chalicelib.messaging.delivery_reports import REPORT_WINDOW

    # Given an SMS the company's phone took and keeps Pending (the phone is out of coverage)
    with AndroidGateway() as phone:
        gateway_company(api, tenant, phone)
        [sms] = enqueue(
            tenant.company_id,
            [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")],
        )
        deliver_outboxes()
        gateway_id = history_sms(api, tenant, sms.communication_id)["provider_message_id"]
        # When the minute check runs after a minute, and again once the report window is over
        clock.set_now(clock.now() + timedelta(minutes=1))
        run_sms_delivery_check(api)
        clock.set_now(clock.now() + REPORT_WINDOW)
        run_sms_delivery_check(api)
        # Then the phone was asked each time, and the SMS stays sent
        assert phone.asked == [gateway_id, gateway_id]
        assert history_sms(api, tenant, sms.communication_id)["state"] == "sent"
        # And a later check asks the phone nothing more
        clock.set_now(clock.now() + timedelta(hours=5))
        run_sms_delivery_check(api)
        assert phone.asked == [gateway_id, gateway_id]


class SlowPhone(AndroidGateway):
    """A phone that takes ``SLOW_PHONE_SECONDS`` to answer each question about an SMS (a weak
    signal), within the check's timeout: never taken for down."""

    def find(self, message_id: str) -> dict[str, Any] | None:
        time.sleep(SLOW_PHONE_SECONDS)
        return super().find(message_id)


CHECK_SECONDS = 1.0  # the check's time to start its questions here (30 s in production)
SLOW_PHONE_SECONDS = CHECK_SECONDS + 0.2  # one answer outlasts it: the second question waits


def test_one_companys_slow_phone_does_not_keep_another_companys_reports_from_being_read(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging import delivery_reports

    # Given a check with 2 threads and 1 s to start its questions (production: 8 and 30 s)
    monkeypatch.setattr(delivery_reports, "THREADS", 2)
    monkeypatch.setattr(delivery_reports, "CHECK_SECONDS", CHECK_SECONDS)
    with SlowPhone() as slow, AndroidGateway() as phone:
        # And a company whose phone answers slowly took two SMS, and then another company's one
        gateway_company(api, tenant, slow)
        gateway_company(api, other_tenant, phone)
        sms = [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")]
        enqueue(tenant.company_id, sms * 2)
        deliver_outboxes()
        clock.set_now(clock.now() + timedelta(seconds=5))
        [other] = enqueue(other_tenant.company_id, sms)
        deliver_outboxes()
        phone.phone_delivered(history_sms(api, other_tenant, other.communication_id)["provider_message_id"])
        # When the minute check runs, with the slow company's SMS due first
        clock.set_now(clock.now() + timedelta(minutes=1))
        run_sms_delivery_check(api)
        # Then the other company's phone was asked too, and its SMS is delivered
        assert len(phone.asked) == 1
        assert history_sms(api, other_tenant, other.communication_id)["state"] == "delivered"
        # And the slow phone was asked one question at a time (the second is due next minute)
        assert len(slow.asked) == 1


def test_one_companys_backlog_of_reports_does_not_hide_another_companys_from_the_check(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging import delivery_reports

    # Given a check that asks about 2 SMS a run, at most 1 of one company's (production: 500, 100)
    monkeypatch.setattr(delivery_reports, "CHECK_LIMIT", 2)
    monkeypatch.setattr(delivery_reports, "PER_COMPANY", 1)
    with AndroidGateway() as busy, AndroidGateway() as phone:
        # And a company with three SMS awaiting their report, due before another company's one
        gateway_company(api, tenant, busy)
        gateway_company(api, other_tenant, phone)
        sms = [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")]
        enqueue(tenant.company_id, sms * 3)
        deliver_outboxes()
        clock.set_now(clock.now() + timedelta(seconds=5))
        [other] = enqueue(other_tenant.company_id, sms)
        deliver_outboxes()
        phone.phone_delivered(history_sms(api, other_tenant, other.communication_id)["provider_message_id"])
        # When the minute check runs
        clock.set_now(clock.now() + timedelta(minutes=1))
        run_sms_delivery_check(api)
        # Then the other company's SMS was asked about too, and is delivered
        assert (len(busy.asked), len(phone.asked)) == (1, 1)
        assert history_sms(api, other_tenant, other.communication_id)["state"] == "delivered"


class WorkerDied(Exception):
    """The outbox worker stopped right there (Lambda's timeout, a machine lost)."""


@pytest.mark.parametrize("handed_off", [False, True], ids=["drain", "hand-off"])
def test_an_sms_whose_worker_dies_right_after_recording_it_sent_still_has_its_report_read(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch, handed_off: bool
) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.store import communications

    # Given a company whose SMS go out through its Android phone
    with AndroidGateway() as phone:
        gateway_company(api, tenant, phone)
        # And an outbox worker (a drain, or the worker a hand-off reaches) that dies right after
        # its write recording the SMS sent
        name = "record_handed_off_outcomes" if handed_off else "record_outcomes"
        record = getattr(communications, name)

        def record_then_die(*args: Any, **kwargs: Any) -> Any:
            record(*args, **kwargs)
            raise WorkerDied

        monkeypatch.setattr(communications, name, record_then_die)
        # When it sends an SMS to the client CLI-7
        [sms] = enqueue(
            tenant.company_id,
            [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")],
            kick=handed_off,
        )
        with pytest.raises(WorkerDied):
            if handed_off:
                deliver_outboxes()
            else:
                drain_outbox(tenant.company_id, str(sms.outbox))
        purge_outbox_queue()
        # Then the SMS is sent, and when the phone hears it was delivered, the minute check a
        # minute later reads it: the history says delivered
        sent = history_sms(api, tenant, sms.communication_id)
        assert sent["state"] == "sent"
        phone.phone_delivered(sent["provider_message_id"])
        clock.set_now(clock.now() + timedelta(minutes=1))
        run_sms_delivery_check(api)
        assert phone.asked == [sent["provider_message_id"]]
        assert history_sms(api, tenant, sms.communication_id)["state"] == "delivered"


def test_a_report_whose_event_cannot_be_told_is_tried_less_and_less_often_and_told_once_the_queue_works(
    api: Client, tenant: Tenant, receiver: Receiver, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging import delivery_reports
    from chalicelib.messaging.webhooks import service
    from chalicelib.store.delivery_reports import awaiting
    from tests.steps.ses_events import logged_lines

    # Given a check that logs an error after 3 of its own failures (production: 8)
    monkeypatch.setattr(delivery_reports, "FAILED_CHECKS", 3)
    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    with AndroidGateway() as phone:
        # And an SMS the company's phone took and then heard was delivered, and an endpoint for it
        gateway_company(api, tenant, phone)
        endpoint = add_endpoint(api, tenant, receiver.url, ["message.delivered"])
        [sms] = enqueue(
            tenant.company_id,
            [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")],
        )
        deliver_outboxes()
        gateway_id = history_sms(api, tenant, sms.communication_id)["provider_message_id"]
        phone.phone_delivered(gateway_id)
        # When the webhook queue refuses every event, and the minute check runs each minute for 12
        failed_at = []
        with webhook_queue_refusing(times=100_000), logged_lines("INFO") as lines:
            for minute in range(1, 13):
                clock.set_now(clock.now() + timedelta(minutes=1))
                try:
                    run_sms_delivery_check(api)
                except RuntimeError as exc:  # the function fails, so that its alarm rings
                    assert "1 SMS delivery report(s) failed" in str(exc)
                    failed_at.append(minute)
        # Then telling was tried at minutes 1, 2 and 4 (1 and 2 minutes apart; after the third
        # failure, hourly), not every minute, and the phone was asked once: the history says
        # delivered from the first minute
        assert failed_at == [1, 2, 4]
        assert phone.asked == [gateway_id]
        assert history_sms(api, tenant, sms.communication_id)["state"] == "delivered"
        # And the report is not given up (its event still to tell): the log says so at the third
        # failure, naming the company and the SMS
        assert awaiting(tenant.company_id, sms.communication_id)
        untold = [line for line in lines if line["message"].startswith("SMS delivery report's event not")]
        assert [(u["company_id"], u["communication_id"], u["state"]) for u in untold] == [
            (tenant.company_id, sms.communication_id, "delivered")
        ]
        assert GATEWAY_PASSWORD not in json.dumps(lines)
        # When the queue takes events again, and the check runs an hour later (and later again)
        clock.set_now(clock.now() + timedelta(hours=1))
        assert run_sms_delivery_check(api)["delivered"] == 1
        clock.set_now(clock.now() + timedelta(hours=5))
        run_sms_delivery_check(api)
        deliver_webhooks()
        # Then the endpoint heard it was delivered, once, and nothing awaits it or asks the phone
        [event] = receiver.events(endpoint["secret"], now_seconds())
        assert (event["type"], event["data"]["message_id"]) == ("message.delivered", sms.communication_id)
        assert len(receiver.received) == 1
        assert not awaiting(tenant.company_id, sms.communication_id)
        assert phone.asked == [gateway_id]


def test_an_sms_whose_gateway_id_is_not_one_we_understand_is_sent_once_and_its_report_not_asked(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from chalicelib.messaging.delivery_reports import FIRST_CHECK
    from chalicelib.store.delivery_reports import awaiting
    from tests.steps.ses_events import logged_lines

    # Given a company whose phone answers each SMS with an id of 300 characters (the app's are 21)
    with AndroidGateway(id_length=300) as phone:
        gateway_company(api, tenant, phone)
        # When the outbox sends an SMS to the client CLI-7 through it
        with logged_lines("INFO") as lines:
            [sms] = enqueue(
                tenant.company_id,
                [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Hola", client_id="CLI-7")],
            )
            deliver_outboxes()
        # Then the phone took it once and the history shows it sent, with no gateway id kept
        assert len(phone.messages) == 1
        stored = history_sms(api, tenant, sms.communication_id)
        assert (stored["state"], stored.get("provider_message_id")) == ("sent", None)
        # And its report is not awaited: the minute check asks the phone nothing
        assert not awaiting(tenant.company_id, sms.communication_id)
        clock.set_now(clock.now() + FIRST_CHECK)
        run_sms_delivery_check(api)
        assert phone.asked == []
        # And the log says why, naming the company and the SMS
        [warned] = [line for line in lines if "no message id we keep" in line["message"]]
        assert (warned["company_id"], warned["communication_id"], warned["channel"]) == (
            tenant.company_id,
            sms.communication_id,
            "sms",
        )


def history_sms(api: Client, tenant: Tenant, communication_id: str, language: str = "en") -> dict[str, Any]:
    """The SMS as staff see it in ``GET /history/sms/{id}`` (the console asks in Spanish)."""
    headers = tenant.staff_headers() | {"Accept-Language": language}
    found: dict[str, Any] = body(api.http.get(f"/history/sms/{communication_id}", headers=headers))
    return found


def email_to_cli7(tenant: Tenant, to_address: str) -> Communication:
    """Queue one e-mail to the client CLI-7 from the company's own SMTP account, and run the
    outbox workers."""
    (queued,) = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                area="tracking",
                to_address=to_address,
                subject="Su factura",
                text="Hola Ana, su factura es de $ 15.300,50",
                client_id="CLI-7",
            )
        ],
    )
    deliver_outboxes()
    return queued


def test_an_email_the_companys_own_smtp_server_gives_up_reaches_the_endpoint_as_failed_once(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    receiver: Receiver,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.messaging import delivery

    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 2)  # production tries 6 times, over half an hour
    # Given a company that sends e-mail through its own SMTP server, and an endpoint for outcomes
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.delivered", "message.failed"])
    # When the server refuses the first e-mail's recipient for good (550)
    mailbox.refuse_next_recipients(1, "550 5.1.1 <ana.vieja@example.com>: no such user")
    refused = email_to_cli7(tenant, "ana.vieja@example.com")
    # And greylists the second (451: tried again later), and takes the third
    mailbox.refuse_next(2, "451 4.7.1 Greylisted, try again later")  # (a kept connection tries twice)
    greylisted = email_to_cli7(tenant, "ana@example.com")
    taken = email_to_cli7(tenant, "ana.trabajo@example.com")
    deliver_webhooks()
    # Then the endpoint heard that the first failed, as an e-mail, signed and without the message
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]) == (
        "message.failed",
        {"client_id": "CLI-7", "message_id": refused.communication_id, "channel": "email"},
    )
    assert b"15.300,50" not in receiver.received[0].body and b"@example.com" not in receiver.received[0].body
    # And nothing yet of the greylisted one, which waits for its retry
    waiting = comm_store.get(tenant.company_id, greylisted.communication_id)
    assert waiting is not None and waiting.state == "queued"

    # When its retry, its last attempt, is greylisted too
    mailbox.refuse_next(2, "451 4.7.1 Greylisted, try again later")
    clock.set_now(clock.now() + timedelta(minutes=2))
    delivery.wake_due_outboxes()
    deliver_webhooks()
    # Then the endpoint heard that it failed too, and of nothing else: each failure once
    events = receiver.events(endpoint["secret"], now_seconds())
    assert sorted((e["type"], e["data"]["message_id"]) for e in events) == sorted(
        [
            ("message.failed", refused.communication_id),
            ("message.failed", greylisted.communication_id),
        ]
    )
    assert len({e["id"] for e in events}) == 2
    # And the third arrived, with no event: an SMTP server reports no delivery (docs/webhooks.md)
    assert [m["To"] for m in mailbox.wait_for(1)] == ["ana.trabajo@example.com"]
    stored = comm_store.get(tenant.company_id, taken.communication_id)
    assert stored is not None and stored.state == "sent"


def test_a_clients_email_and_a_one_click_unsubscribe_reach_the_endpoint(
    api: Client, tenant: Tenant, receiver: Receiver
) -> None:
    from chalicelib.core.links import manual_unsubscribe_url
    from tests.steps.inbound import receive_mail

    # Given the client Ana, known by her e-mail, and an endpoint for inbound mail and unsubscribes
    put_client(api, tenant, "CLI-7", name="Ana", emails=["ana@example.com"])
    endpoint = add_endpoint(api, tenant, receiver.url, ["inbound.received", "client.unsubscribed"])

    # When Ana writes to the company, and then unsubscribes from its manual sends in one click
    [communication_id] = receive_mail(api, tenant.company_id, "ana@example.com", "Consulta", "¿Cuánto debo?")[
        "communications"
    ]
    link = urlsplit(manual_unsubscribe_url(tenant.company_id, "CLI-7"))
    assert api.http.post(f"{link.path}?{link.query}").status_code == 200
    deliver_webhooks()

    # Then the endpoint heard of both, signed
    events = receiver.events(endpoint["secret"], now_seconds())
    assert sorted((e["type"], e["data"]["channel"]) for e in events) == [
        ("client.unsubscribed", "email"),
        ("inbound.received", "email"),
    ]
    [inbound] = [e for e in events if e["type"] == "inbound.received"]
    assert inbound["data"] == {"client_id": "CLI-7", "message_id": communication_id, "channel": "email"}


def test_a_one_click_unsubscribe_used_again_tells_the_endpoint_nothing_more(
    api: Client, tenant: Tenant, receiver: Receiver
) -> None:
    from chalicelib.core.links import manual_unsubscribe_url

    # Given the client Ana and an endpoint for unsubscribes
    put_client(api, tenant, "CLI-7", name="Ana", emails=["ana@example.com"])
    endpoint = add_endpoint(api, tenant, receiver.url, ["client.unsubscribed"])
    link = urlsplit(manual_unsubscribe_url(tenant.company_id, "CLI-7"))
    # When the link is posted three times (Ana clicking again, or whoever has her e-mail)
    for _ in range(3):
        assert api.http.post(f"{link.path}?{link.query}").status_code == 200
    # And the back office pushes Ana again, and the link is posted once more
    put_client(api, tenant, "CLI-7", name="Ana", emails=["ana@example.com"])
    assert api.http.post(f"{link.path}?{link.query}").status_code == 200
    # Then the endpoint was told once
    assert outcomes(deliver_webhooks()) == {"delivered": 1}
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]["client_id"]) == ("client.unsubscribed", "CLI-7")


def test_only_the_events_an_endpoint_asked_for_and_only_its_own_companys_reach_it(
    api: Client, company: Tenant, receiver: Receiver, clock: Any
) -> None:
    # Given an endpoint that wants bounces only, and another company with an endpoint of its own
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    rival = ses_company("Otra Empresa")
    with Receiver() as rivals_receiver:
        add_endpoint(api, rival, rivals_receiver.url, EVERY_EVENT)
        # When the rival's e-mail bounces, and this company's e-mail is delivered
        feed(notification("event_bounce_permanent.json", send_to_ana(rival)))
        feed(notification("event_delivery.json", send_to_ana(company)))
        deliver_webhooks()
        # Then only the rival's endpoint heard of the rival's bounce
        assert [got.event["type"] for got in rivals_receiver.received] == ["message.bounced"]
    # And this endpoint heard nothing: not the rival's bounce, not its own delivery
    assert receiver.received == []
    assert deliveries(api, company, endpoint["endpoint_id"]) == []


# --- retries ------------------------------------------------------------------------------------


def test_a_500_then_a_200_is_retried_and_delivered_once(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given an endpoint whose server fails once with a 500
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    receiver.statuses = [500]
    # When an e-mail bounces
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) == {"retry": 1, "delivered": 1}
    # Then the same event came twice, and the second time it was taken
    events = receiver.events(endpoint["secret"], now_seconds())
    assert len(events) == 2 and events[0] == events[1]
    # And the log shows the 500 (tried again) and the 200, newest first, with the attempts
    log = deliveries(api, company, endpoint["endpoint_id"])
    assert [
        (d["attempt"], d["status_code"], d["outcome"]) for d in sorted(log, key=lambda d: d["attempt"])
    ] == [
        (1, 500, "retrying"),
        (2, 200, "delivered"),
    ]
    # And the endpoint is not failing
    got = api.http.get(f"/webhooks/{endpoint['endpoint_id']}", headers=company.admin_headers())
    assert body(got)["failing_since"] is None and body(got)["enabled"] is True


@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_4xx_is_not_retried(api: Client, company: Tenant, receiver: Receiver, status: int) -> None:
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    receiver.statuses = [status]
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) == {"failed": 1}
    assert len(receiver.received) == 1
    [logged] = deliveries(api, company, endpoint["endpoint_id"])
    assert (logged["status_code"], logged["outcome"]) == (status, "failed")
    assert "never to be shown" not in json.dumps(logged)


def test_a_429_is_retried(api: Client, company: Tenant, receiver: Receiver) -> None:
    add_endpoint(api, company, receiver.url, ["message.bounced"])
    receiver.statuses = [429, 408]
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) == {"retry": 2, "delivered": 1}


def test_a_test_event_the_endpoint_answers_with_a_500_is_failed_as_its_log_says(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given an endpoint whose server answers 500
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    receiver.statuses = [500]
    # When the administrator sends it a test event
    tested = api.http.post(f"/webhooks/{endpoint['endpoint_id']}/test", headers=company.admin_headers())
    # Then the answer says it failed (a test event is posted once, never retried), as the log does
    assert tested.status_code == 200, tested.body
    assert (body(tested)["outcome"], body(tested)["status_code"]) == ("failed", 500)
    [logged] = deliveries(api, company, endpoint["endpoint_id"])
    assert (logged["outcome"], logged["status_code"]) == ("failed", 500)
    assert len(receiver.received) == 1


def test_an_event_is_given_up_after_its_tries_and_an_endpoint_failing_for_a_day_is_turned_off_once(
    api: Client, company: Tenant, receiver: Receiver, clock: Any, local_aws: dict[str, str]
) -> None:
    pregon_notice_sender_verified()
    # Given a company in Madrid, an administrator with an e-mail address, and an endpoint whose
    # server answers 503
    zone = api.http.patch(
        "/company",
        headers=company.admin_headers(),
        body=json.dumps({"time_zone": "Europe/Madrid", "locale": "es_ES"}),
    )
    assert zone.status_code == 200, zone.body
    staff_user(company.company_id, "ana", f"ana@{company.company_id}.example", level=1)
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    receiver.statuses = [503] * 20
    # When an e-mail bounces: tried 5 times (the test's four retries), then given up
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) == {"retry": 4, "gave-up": 1}
    got = body(api.http.get(f"/webhooks/{endpoint['endpoint_id']}", headers=company.admin_headers()))
    assert got["failing_since"] == "2026-11-02T12:00:00+00:00" and got["enabled"] is True
    # And a day later it still fails
    clock.set_now(clock.now() + timedelta(days=1, minutes=1))
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    deliver_webhooks()
    # Then it is turned off, saying why
    got = body(api.http.get(f"/webhooks/{endpoint['endpoint_id']}", headers=company.admin_headers()))
    assert got["enabled"] is False and got["disabled_at"] and "2026-11-02T12:00:00" in got["disabled_reason"]
    # And the administrator was told once, in the company's language
    [notice] = notices_received(f"ana@{company.company_id}.example")
    assert "se desactivó un webhook" in notice["Subject"]
    # on the company's clock, naming its zone (12:00 UTC is 13:00 in Madrid in November)
    text = notice.get_body(("plain",)).get_content()
    assert "desde el 2/11/2026 13:00 (Europe/Madrid) y desactivó" in text, text
    # And nothing more is posted there
    tried = len(receiver.received)
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) in ({}, {"dropped": 1})
    assert len(receiver.received) == tried
    assert len(notices_received(f"ana@{company.company_id}.example")) == 1
    # And turning it on again forgets its failures
    response = api.http.put(
        f"/webhooks/{endpoint['endpoint_id']}",
        headers=company.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"], "enabled": True}),
    )
    assert body(response)["enabled"] is True and body(response)["failing_since"] is None


# --- where Pregón connects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:192.168.1.1]/hook",
        "https://[fe80::1%25eth0]/hook",  # link-local with a zone: it never resolves, yet is no name
        "http://erp.example.com/hook",
        "https://user:pass@erp.example.com/hook",
        "ftp://erp.example.com/hook",
        "https://erp.example.com/hook#part",
        "https://erp.example.com:0/hook",  # no port: it would have been posted to 443
        "https://erp.example.com/ho\u0085ok",  # a C1 control (NEL): a line break to some readers
        "https://erp.example.com/\u202ekooh",  # a right-to-left override: shown reversed
        "https://erp.example.com/hook\u2066",  # a bidi isolate
    ],
)
def test_a_private_plain_or_odd_url_is_refused_on_save(api: Client, company: Tenant, url: str) -> None:
    response = api.http.post(
        "/webhooks",
        headers=company.admin_headers(),
        body=json.dumps({"url": url, "events": ["message.bounced"]}),
    )
    assert response.status_code == 422, response.body
    assert [e["field"] for e in body(response)["errors"]] == ["url"]
    assert body(api.http.get("/webhooks", headers=company.admin_headers()))["items"] == []


def test_a_loopback_endpoint_is_refused_at_send_where_loopback_is_not_allowed(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint saved while loopback was allowed (as on the local stack)
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    # When loopback is not allowed any more (as on AWS) and an e-mail bounces
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    # Then nothing is posted, nor tried again, and the log says why
    assert outcomes(deliver_webhooks()) == {"refused": 1}
    assert receiver.received == []
    [logged] = deliveries(api, company, endpoint["endpoint_id"])
    assert logged["outcome"] == "refused" and "public addresses" in logged["error"]
    # And it cannot be saved so either
    response = api.http.post(
        "/webhooks",
        headers=company.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"]}),
    )
    assert response.status_code == 422


def test_a_name_public_when_saved_and_private_at_send_is_refused_at_send(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    # Given a name whose DNS answers a public address when the endpoint is saved
    answers = {"hooks.erp.example": "93.184.215.14"}
    real = socket.getaddrinfo

    def dns(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    endpoint = add_endpoint(api, company, "https://hooks.erp.example/pregon", ["message.bounced"])
    # When it answers the cloud's metadata address by the time an event is sent (DNS rebinding)
    answers["hooks.erp.example"] = "169.254.169.254"
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    # Then nothing is posted there, nor tried again, and the log says why
    assert outcomes(deliver_webhooks()) == {"refused": 1}
    [logged] = deliveries(api, company, endpoint["endpoint_id"])
    assert logged["outcome"] == "refused" and "169.254.169.254" in logged["error"]


def test_a_redirect_is_not_followed(api: Client, company: Tenant, receiver: Receiver) -> None:
    # Given an endpoint whose server redirects to another one
    with Receiver() as elsewhere:
        endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
        receiver.statuses, receiver.location = [307], elsewhere.url
        # When an e-mail bounces
        feed(notification("event_bounce_permanent.json", send_to_ana(company)))
        assert outcomes(deliver_webhooks()) == {"failed": 1}
        # Then the event went to the endpoint only, once
        assert len(receiver.received) == 1 and elsewhere.received == []
    [logged] = deliveries(api, company, endpoint["endpoint_id"])
    assert (logged["status_code"], logged["error"]) == (307, "redirects are not followed")


# --- the secret ----------------------------------------------------------------------------------


def test_the_secret_is_answered_once_and_appears_in_no_answer_log_or_delivery_log(
    api: Client, company: Tenant, receiver: Receiver, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    from tests.steps.ses_events import logged_lines

    headers = company.admin_headers()
    with logged_lines("DEBUG") as lines:
        # Given an endpoint just added: its answer holds the secret
        endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
        secret, endpoint_id = endpoint["secret"], endpoint["endpoint_id"]
        assert secret.startswith("whsec_") and len(secret) > 40
        # When staff read it, change it, test it, and an event is delivered
        answers = [
            api.http.get("/webhooks", headers=headers),
            api.http.get(f"/webhooks/{endpoint_id}", headers=headers),
            api.http.put(
                f"/webhooks/{endpoint_id}",
                headers=headers,
                body=json.dumps({"url": receiver.url, "events": ["message.bounced", "message.complained"]}),
            ),
            api.http.post(f"/webhooks/{endpoint_id}/test", headers=headers),
        ]
        feed(notification("event_bounce_permanent.json", send_to_ana(company)))
        deliver_webhooks()
        answers.append(api.http.get(f"/webhooks/{endpoint_id}/deliveries", headers=headers))
        # And the secret is rotated: the new one is answered once, and signs from then on
        rotated = api.http.post(f"/webhooks/{endpoint_id}/secret", headers=headers)
        new_secret = body(rotated)["secret"]
        assert new_secret != secret
        tested = api.http.post(f"/webhooks/{endpoint_id}/test", headers=headers)
        answers.append(tested)
    # Then every answer worked, and none holds a secret
    assert all(a.status_code == 200 for a in answers), [a.body for a in answers]
    assert body(answers[3])["outcome"] == "delivered" and body(answers[3])["status_code"] == 200
    for answer in answers:
        assert secret.encode() not in answer.body and new_secret.encode() not in answer.body
        assert b"whsec_" not in answer.body
    # And no log line, printed or captured, holds it
    printed = capsys.readouterr()
    logged = json.dumps(lines) + caplog.text + printed.out + printed.err
    assert secret not in logged and new_secret not in logged
    # And the last test event was signed with the new secret (and, for a day, the old one)
    verify = __import__("tests.steps.webhooks", fromlist=["documented_verifier"]).documented_verifier()
    last = receiver.received[-1]
    assert verify(new_secret, last.headers["Pregon-Signature"], last.body, now=now_seconds())
    assert not verify("whsec_" + "x" * 43, last.headers["Pregon-Signature"], last.body, now=now_seconds())
    # And the signature is refused on another body, or five minutes late
    assert not verify(new_secret, last.headers["Pregon-Signature"], last.body + b" ", now=now_seconds())
    assert not verify(new_secret, last.headers["Pregon-Signature"], last.body, now=now_seconds() + 301)


def test_a_new_secret_signs_beside_the_old_one_for_a_day_so_the_receiver_never_refuses_an_event(
    api: Client, company: Tenant, receiver: Receiver, clock: Any
) -> None:
    from chalicelib.messaging.webhooks.service import signature

    headers = company.admin_headers()
    # Given an endpoint whose server checks each event with its secret, by the documented recipe
    endpoint = add_endpoint(api, company, receiver.url, ["message.bounced"])
    old, endpoint_id = endpoint["secret"], endpoint["endpoint_id"]
    # When an administrator makes a new secret, and an e-mail bounces before the server has it
    rotated = api.http.post(f"/webhooks/{endpoint_id}/secret", headers=headers)
    assert rotated.status_code == 200, rotated.body
    new = body(rotated)["secret"]
    assert body(rotated)["previous_secret_until"] == "2026-11-03T12:00:00+00:00"
    feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    assert outcomes(deliver_webhooks()) == {"delivered": 1}
    # Then the server takes the event with its old secret, and would with the new one
    [with_old] = receiver.events(old, now_seconds())
    assert receiver.events(new, now_seconds()) == [with_old]
    # And the header carries the new secret's v1 first and the old one's last (Stripe's way)
    [got] = receiver.received
    t = got.headers["Pregon-Signature"].split(",")[0].removeprefix("t=")
    assert got.headers["Pregon-Signature"] == signature([new, old], int(t), got.body)

    # When a test event is sent 23 hours later, the server still on its old secret
    clock.set_now(clock.now() + timedelta(hours=23))
    receiver.received.clear()
    assert body(api.http.post(f"/webhooks/{endpoint_id}/test", headers=headers))["outcome"] == "delivered"
    # Then it still takes it
    receiver.events(old, now_seconds())
    # When the day is over (the server given the new secret by then)
    clock.set_now(clock.now() + timedelta(hours=1, minutes=1))
    receiver.received.clear()
    assert body(api.http.post(f"/webhooks/{endpoint_id}/test", headers=headers))["outcome"] == "delivered"
    # Then only the new secret signs: one v1, which the old secret does not check
    [last] = receiver.received
    assert last.headers["Pregon-Signature"].count("v1=") == 1
    receiver.events(new, now_seconds())
    verify = __import__("tests.steps.webhooks", fromlist=["documented_verifier"]).documented_verifier()
    assert not verify(old, last.headers["Pregon-Signature"], last.body, now=now_seconds())


# --- who may do what, and the bounds --------------------------------------------------------------


def test_each_kind_of_caller_gets_the_right_answer(
    api: Client, company: Tenant, other_tenant: Tenant, receiver: Receiver
) -> None:
    endpoint_id = add_endpoint(api, company, receiver.url, ["message.bounced"])["endpoint_id"]
    company_id = company.company_id
    level = {
        n: {"Authorization": f"Bearer {IDENTITY.mint(company_id, user_id=f'u{n}', level=n)}"}
        for n in (2, 3, 4)
    }
    callers: dict[str, dict[str, str]] = {
        "no token": {},
        "API key": company.key_headers(),
        "level 1": company.admin_headers(),
        "level 2": level[2],
        "level 3": level[3],
        "level 4": level[4],
        "another company's administrator": other_tenant.admin_headers(),
    }
    change = json.dumps({"url": receiver.url, "events": ["message.bounced"]})
    routes = [
        ("GET", "/webhooks", None),
        ("GET", f"/webhooks/{endpoint_id}", None),
        ("PUT", f"/webhooks/{endpoint_id}", change),
        ("POST", f"/webhooks/{endpoint_id}/test", None),
        ("GET", f"/webhooks/{endpoint_id}/deliveries", None),
        ("POST", f"/webhooks/{endpoint_id}/secret", None),
    ]
    answers = {}
    for who, headers in callers.items():
        for method, path, data in routes:
            response = api.http.request(
                method,
                path,
                headers={**headers, "Content-Type": "application/json"},
                body=(data or "").encode(),
            )
            answers[(who, method, path.replace(endpoint_id, "{id}"))] = response.status_code
    expected = {}
    for who in callers:
        for method, path, _ in routes:
            path = path.replace(endpoint_id, "{id}")
            if who == "no token":
                status = 401
            elif who == "level 1":
                status = 200
            elif who == "another company's administrator":
                status = 200 if path == "/webhooks" else 404
            elif path.endswith("/deliveries") and who.startswith("level"):
                status = 200
            else:
                status = 403
            expected[(who, method, path)] = status
    assert answers == expected
    # And the other company's administrator saw none of this company's endpoints
    others = api.http.get("/webhooks", headers=other_tenant.admin_headers())
    assert body(others)["items"] == []
    # And only the administrator deletes
    for who in ("API key", "level 2", "level 4", "another company's administrator"):
        denied = api.http.delete(f"/webhooks/{endpoint_id}", headers=callers[who])
        assert denied.status_code in (403, 404)
    assert api.http.delete(f"/webhooks/{endpoint_id}", headers=company.admin_headers()).status_code == 204
    assert api.http.get(f"/webhooks/{endpoint_id}", headers=company.admin_headers()).status_code == 404


def test_a_company_has_at_most_five_endpoints_and_each_takes_a_bounded_number_a_minute(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.aws import client
    from chalicelib.messaging.webhooks import service
    from infrastructure.local.queues import ensure_queue

    # (a queue of the test's own: what waits in it must not reach another test)
    own_queue = f"pregon-webhooks-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PREGON_WEBHOOKS_QUEUE", own_queue)
    own_queue_url = ensure_queue(own_queue)
    # Given five endpoints: a sixth is refused
    first = add_endpoint(api, company, receiver.url, ["message.bounced"])
    for _ in range(4):
        add_endpoint(api, company, receiver.url + "&n=" + uuid.uuid4().hex[:4], ["message.complained"])
    response = api.http.post(
        "/webhooks",
        headers=company.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"]}),
    )
    assert response.status_code == 409 and "at most 5" in body(response)["message"]
    # And an endpoint takes at most 2 deliveries a minute (production: 120)
    monkeypatch.setattr(service, "EVENTS_PER_MINUTE", 2)
    # When three e-mails bounce within the minute
    for _ in range(3):
        feed(notification("event_bounce_permanent.json", send_to_ana(company)))
    # Then two are posted and the third waits for the next minute, in the queue
    assert outcomes(deliver_webhooks()) == {"delivered": 2, "throttled": 1}
    assert len(receiver.received) == 2
    waiting = client("sqs").get_queue_attributes(
        QueueUrl=own_queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert waiting["ApproximateNumberOfMessagesDelayed"] == "1"
    # And test events are bounded too
    answers = [
        api.http.post(f"/webhooks/{first['endpoint_id']}/test", headers=company.admin_headers()).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429


def test_two_administrators_adding_the_fifth_endpoint_at_once_leave_five(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service

    # Given four endpoints
    for _ in range(4):
        add_endpoint(api, company, receiver.url, ["message.bounced"])
    # And another administrator adds a fifth just after this one's request counted them
    writing = service.store.create_endpoint
    others: list[str] = []

    def other_first(*args: Any) -> bool:
        if not others:
            others.append("adding")
            monkeypatch.setattr(service.store, "create_endpoint", writing)
            other, _secret = service.create_endpoint(
                company.company_id, "otra@example.com", receiver.url, ["ticket.created"]
            )
            others[0] = other.endpoint_id
        return writing(*args)

    monkeypatch.setattr(service.store, "create_endpoint", other_first)
    # When this administrator's endpoint is written
    response = api.http.post(
        "/webhooks",
        headers=company.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["message.bounced"]}),
    )
    # Then it is refused as a sixth, and the company keeps five: the other administrator's among them
    assert response.status_code == 409 and "at most 5" in body(response)["message"]
    listed = body(api.http.get("/webhooks", headers=company.admin_headers()))["items"]
    assert len(listed) == 5 and others[0] in [e["endpoint_id"] for e in listed]


def test_deleting_and_adding_endpoints_again_does_not_lift_the_bound_on_test_events(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service

    # Given a company may send 2 test events a minute (production: 25, 5 per endpoint)
    monkeypatch.setattr(service, "COMPANY_TESTS_PER_MINUTE", 2)
    answers = []
    # When its administrator adds an endpoint, tests it and deletes it, three times in a minute
    for _ in range(3):
        endpoint_id = add_endpoint(api, company, receiver.url, ["message.bounced"])["endpoint_id"]
        answers.append(api.http.post(f"/webhooks/{endpoint_id}/test", headers=company.admin_headers()))
        api.http.delete(f"/webhooks/{endpoint_id}", headers=company.admin_headers())
    # Then the third test is refused, and the receiver got two POSTs
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "for the company" in body(answers[2])["message"]
    assert len(receiver.received) == 2


def test_an_unknown_event_type_is_refused(api: Client, company: Tenant, receiver: Receiver) -> None:
    response = api.http.post(
        "/webhooks",
        headers=company.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["message.opened"]}),
    )
    assert response.status_code == 422 and body(response)["errors"][0]["field"].startswith("events")


def test_what_ses_says_of_a_rejected_or_bounced_email_reaches_the_company_without_our_account(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given an endpoint for failures and bounces, and two e-mails to the client CLI-7 through SES
    endpoint = add_endpoint(api, company, receiver.url, ["message.failed", "message.bounced"])
    rejected, bounced = send_to_ana(company), send_to_ana(company)
    # When SES rejects the first and bounces the second (the address on its suppression list),
    # each in words that name our account, an ARN and a request id
    feed(notification("event_reject.json", rejected))
    feed(notification("event_bounce_suppressed.json", bounced))
    deliver_webhooks()
    # Then the history shows why, in SES's words with what is ours replaced, in English and Spanish
    for language in ("en", "es"):
        headers = company.staff_headers() | {"Accept-Language": language}
        failed = body(api.http.get(f"/history/email/{rejected.communication_id}", headers=headers))
        assert (failed["state"], failed["error"]) == (
            "failed",
            "rejected by SES: Bad content: refused for [AWS resource] ([request id])",
        )
        shown = body(api.http.get(f"/history/email/{bounced.communication_id}", headers=headers))
        assert shown["state"] == "bounced"
        assert shown["error"] == (
            "bounce Permanent/OnAccountSuppressionList: Amazon SES did not send the message to this "
            "address because it is on the suppression list for account [account] ([AWS resource], "
            "[request id])."
        )
    # And the suppression list gives the same detail
    listed = body(api.http.get("/suppressions?limit=200", headers=company.admin_headers()))["items"]
    [entry] = [item for item in listed if item["address"] == (bounced.to_address or "").lower()]
    assert entry["detail"] == shown["error"]
    # And nothing the company can read names our account, an ARN or a request id: the history's
    # list, its Excel export, the suppression list, the webhook events
    read = [
        api.http.get("/history/email?limit=50", headers=company.staff_headers()).body,
        api.http.get("/history/email/export", headers=company.staff_headers() | {"Accept": XLSX}).body,
        api.http.get("/suppressions?limit=200", headers=company.admin_headers()).body,
        *(got.body for got in receiver.received),
    ]
    events = receiver.events(endpoint["secret"], now_seconds())
    assert sorted(e["type"] for e in events) == ["message.bounced", "message.failed"]
    for text in read:
        for ours in (ACCOUNT_ID.encode(), b"arn:aws", b"5f2e7c1a", b"7a1b2c3d", b"RequestId"):
            assert ours not in _unzipped(text), ours


def _unzipped(data: bytes) -> bytes:
    """``data``, or, for an Excel file, the XML of its sheets and shared strings."""
    import io
    import zipfile

    if not data.startswith(b"PK"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return b"".join(book.read(name) for name in book.namelist() if name.endswith(".xml"))


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- nothing lost when the webhook queue refuses ---------------------------------------------------


def test_a_webhook_queue_refusing_a_moment_loses_no_event(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint that wants every event, and an e-mail to the client CLI-7
    endpoint = add_endpoint(api, company, receiver.url)
    bounced = send_to_ana(company)

    # When SES reports a bounce while the webhook queue answers 500 to the first two sends
    with webhook_queue_refusing(times=2) as tried:
        feed(notification("event_bounce_permanent.json", bounced))
    assert outcomes(deliver_webhooks()) == {"delivered": 1}

    # Then the send was tried again and the endpoint got the bounce, once
    assert len(tried) == 3
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]["message_id"]) == ("message.bounced", bounced.communication_id)


def test_an_ses_event_whose_webhook_cannot_be_queued_is_retried_and_posted_once(
    api: Client, company: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint that wants every event, and an e-mail to the client CLI-7
    endpoint = add_endpoint(api, company, receiver.url)
    bounced = send_to_ana(company)

    # When SES reports a bounce while the webhook queue refuses everything
    publish_ses_events(notification("event_bounce_permanent.json", bounced))
    with webhook_queue_refusing(times=1000):
        [answer] = deliver_ses_events(visibility_timeout=1)
    # Then the SES record is given back to SQS, not dropped
    assert len(answer["batchItemFailures"]) == 1
    # And the message's bounce is recorded all the same
    stored = comm_store.get(company.company_id, bounced.communication_id)
    assert stored is not None and stored.state == "bounced"

    # When SQS gives the record again a second later, the queue working, and SES reports it again
    assert redelivered_ses_events(visibility_timeout=1) == [{"batchItemFailures": []}]
    feed(notification("event_bounce_permanent.json", bounced))
    assert outcomes(deliver_webhooks()) == {"delivered": 1}

    # Then the endpoint got the bounce once
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]["message_id"]) == ("message.bounced", bounced.communication_id)


def test_an_email_ses_will_not_take_reaches_the_endpoint_as_failed(
    api: Client, company: Tenant, receiver: Receiver
) -> None:
    # Given a company that sends through SES, and an endpoint for outcomes
    endpoint = add_endpoint(api, company, receiver.url, ["message.failed"])
    # When it writes to the client CLI-7 at an address SES cannot take (not ASCII: no SMTPUTF8)
    [queued] = enqueue(
        company.company_id,
        [OutgoingMessage(channel="email", to_address="josé@example.com", text="Hola", client_id="CLI-7")],
    )
    deliver_outboxes()
    deliver_webhooks()
    # Then the outbox gave it up, and the endpoint heard so (SES never reports what it did not take)
    failed = comm_store.get(company.company_id, queued.communication_id)
    assert failed is not None and failed.state == "failed" and "SMTPUTF8" in (failed.error or "")
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]) == (
        "message.failed",
        {"client_id": "CLI-7", "message_id": queued.communication_id, "channel": "email"},
    )


def state_of(tenant: Tenant, communication_id: str) -> str:
    stored = comm_store.get(tenant.company_id, communication_id)
    assert stored is not None
    return stored.state


def test_an_email_given_up_while_the_webhook_queue_refuses_is_tried_again_and_told_once(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    receiver: Receiver,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.messaging import delivery
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint for failures, and two e-mails to the client CLI-7 in the outbox
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email", area="tracking", to_address=address, text="Hola", client_id="CLI-7"
            )
            for address in ("ana@example.com", "ana.trabajo@example.com")
        ],
        kick=False,
    )
    # When the company's server refuses the first one sent for good (550), and takes the other,
    # while the webhook queue refuses everything
    mailbox.refuse_next_recipients(1, "550 5.1.1 no such user")
    with webhook_queue_refusing(times=1000), pytest.raises(Exception, match="InternalError"):
        delivery.drain_outbox(tenant.company_id, "email:tracking")
    # Then the refused one is not recorded failed without its event: it is still the outbox's
    states = {q.communication_id: state_of(tenant, q.communication_id) for q in queued}
    [refused] = [cid for cid, state in states.items() if state != "sent"]
    assert states[refused] == "sending"
    # And the other is recorded sent, so it never goes twice
    assert sorted(states.values()) == ["sending", "sent"]

    # When its lease ends and the outbox drains again, the queue working, and the server refuses again
    mailbox.refuse_next_recipients(1, "550 5.1.1 no such user")
    clock.set_now(clock.now() + delivery.lease() + timedelta(seconds=1))
    assert delivery.drain_outbox(tenant.company_id, "email:tracking").failed == 1
    assert outcomes(deliver_webhooks()) == {"delivered": 1}
    # Then the endpoint heard of the failure, once, and the record says failed in the server's words
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert (event["type"], event["data"]["message_id"]) == ("message.failed", refused)
    failed = comm_store.get(tenant.company_id, refused)
    assert failed is not None and failed.state == "failed" and "550 5.1.1" in (failed.error or "")
    # And the e-mail the server took arrived once
    assert len(mailbox.wait_for(1)) == 1


def failed_events(receiver: Receiver, endpoint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``message.failed`` events the endpoint got, by message id; each message's once."""
    events = receiver.events(endpoint["secret"], now_seconds())
    assert {e["type"] for e in events} <= {"message.failed"}
    assert len({e["id"] for e in events}) == len(events) == len({e["data"]["message_id"] for e in events})
    return {e["data"]["message_id"]: e["data"] for e in events}


def test_emails_staff_cancel_while_their_account_is_disabled_reach_the_endpoint_as_cancelled_once(
    api: Client, tenant: Tenant, mailbox: MailCatcher, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service
    from tests.steps.accounts import put_tracking_account

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint for failures, and two e-mails to the client CLI-7 waiting for the
    # tracking account, which an administrator disabled
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(channel="email", area="tracking", to_address=a, text="Hola", client_id="CLI-7")
            for a in ("ana@example.com", "ana.trabajo@example.com")
        ],
        kick=False,
    )
    assert put_tracking_account(api, tenant, mailbox, enabled=False).status_code == 200
    cancel = "/sender-accounts/tracking/waiting/cancel"
    # When the administrator cancels them while the webhook queue refuses everything
    with webhook_queue_refusing(times=1000):
        refused = api.http.post(cancel, headers=tenant.admin_headers())
    # Then she is asked to try again, and they still wait: none is recorded failed untold
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "60", refused.body
    assert {state_of(tenant, q.communication_id) for q in queued} == {"queued"}

    # When she cancels again, the queue working
    cancelled = api.http.post(cancel, headers=tenant.admin_headers())
    assert cancelled.status_code == 200, cancelled.body
    assert body(cancelled)["cancelled"] == 2
    deliver_webhooks()
    # Then the endpoint heard that each failed, once, as cancelled (not the address's fault)
    assert failed_events(receiver, endpoint) == {
        q.communication_id: {
            "client_id": "CLI-7",
            "message_id": q.communication_id,
            "channel": "email",
            "reason": "cancelled",
        }
        for q in queued
    }
    assert {state_of(tenant, q.communication_id) for q in queued} == {"failed"}


def test_a_message_failed_as_it_is_queued_reaches_the_endpoint_once_even_when_queued_again(
    api: Client, tenant: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint for failures, and a company with no sender account for billing (nor 'all')
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    invoices = [
        OutgoingMessage(
            channel="email",
            area="billing",
            to_address=address,
            text="Su factura",
            client_id="CLI-7",
            idempotency_key=f"invoice:F-1:{address}",
        )
        for address in ("ana@example.com", "ana.trabajo@example.com")
    ]
    # When its ERP's invoice is queued while the webhook queue refuses everything
    from chalicelib.core.errors import ServiceUnavailable

    with webhook_queue_refusing(times=1000), pytest.raises(ServiceUnavailable):
        enqueue(tenant.company_id, invoices)
    # Then no e-mail is recorded failed untold
    assert all(comm_store.existing_key(tenant.company_id, m.idempotency_key or "") is None for m in invoices)

    # When the ERP posts it again, and once more, the queue working
    written = enqueue(tenant.company_id, invoices)
    assert enqueue(tenant.company_id, invoices) == []
    deliver_webhooks()
    # Then both are recorded failed and the endpoint heard of each once
    assert [c.state for c in written] == ["failed", "failed"]
    assert failed_events(receiver, endpoint) == {
        c.communication_id: {"client_id": "CLI-7", "message_id": c.communication_id, "channel": "email"}
        for c in written
    }


def test_two_identical_requests_of_a_failing_message_at_the_same_moment_tell_one_event(
    api: Client, tenant: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an endpoint for failures, and a company with no sender account for billing (nor 'all')
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    invoice = [
        OutgoingMessage(
            channel="email",
            area="billing",
            to_address="ana@example.com",
            text="Su factura",
            client_id="CLI-7",
            idempotency_key="invoice:F-2:ana@example.com",
        )
    ]
    # When its ERP posts the invoice twice at the very same moment: the second request tells and
    # writes while the first has told and not yet written
    really_add = comm_store.add_new
    second: list[list[Communication]] = []

    def add_new(comms: Any, **how: Any) -> list[Communication]:
        if not second:
            second.append([])
            second[0] = enqueue(tenant.company_id, invoice)
        return really_add(comms, **how)

    monkeypatch.setattr(comm_store, "add_new", add_new)
    first = enqueue(tenant.company_id, invoice)
    deliver_webhooks()
    # Then one of them wrote the failed e-mail, and the endpoint heard one event, about it
    [written] = first + second[0]
    assert state_of(tenant, written.communication_id) == "failed"
    events = receiver.events(endpoint["secret"], now_seconds())
    assert len({e["id"] for e in events}) == 1, events
    assert {e["data"]["message_id"] for e in events} == {written.communication_id}


def recorded_failed(tenant: Tenant) -> list[str]:
    """The ids of the company's messages recorded failed."""
    items = communication_items(tenant.company_id)
    return [i["communication_id"]["S"] for i in items if i["state"]["S"] == "failed"]


def test_a_reminder_the_daily_run_cannot_send_reaches_the_endpoint_as_failed_once_when_the_queue_works_again(
    api: Client, tenant: Tenant, receiver: Receiver, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service
    from tests.steps.outbox import run_minute_schedule
    from tests.steps.reminders import erp_headers, push_ok, receivable, run_now, set_reminders_ok

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given a company with no sender account for reminders (nor 'all'), an endpoint for failures,
    # and a receivable of the client CLI-7, reminders on, due on the 20th
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    erp = erp_headers(tenant)
    put_client(api, erp, "CLI-7", name="Ana", emails=["ana@example.com"])
    set_reminders_ok(api, erp, "CLI-7", active=True)
    push_ok(api, erp, receivable("A-0001-00000007", "2026-11-20", client_id="CLI-7"))
    # When the run goes on the 13th (7 days before) while the webhook queue refuses everything
    run_at = datetime(2026, 11, 13, 9, tzinfo=timezone.utc)
    clock.set_now(run_at)
    with webhook_queue_refusing(times=1000):
        assert run_now(api, tenant)["failed"] == 1
        assert recorded_failed(tenant) == []  # not yet: the outbox records it, once told
        with pytest.raises(Exception, match="InternalError"):  # the worker fails; SQS would retry
            deliver_outboxes()
    # Then the reminder is not recorded failed untold
    assert recorded_failed(tenant) == []

    # When the queue works again, the minute schedule runs once the outbox's lease is over, and
    # the run goes again later that day
    clock.set_now(run_at + timedelta(minutes=10))
    run_minute_schedule(api)
    deliver_outboxes()
    assert run_now(api, tenant)["reminders"] == 0
    deliver_webhooks()
    # Then the endpoint heard once that the client's reminder failed, as recorded
    [(message_id, data)] = failed_events(receiver, endpoint).items()
    assert data == {"client_id": "CLI-7", "message_id": message_id, "channel": "email"}
    assert state_of(tenant, message_id) == "failed"


def test_a_tracking_alert_whose_template_fails_reaches_the_endpoint_as_failed_when_the_queue_works_again(
    api: Client, tenant: Tenant, receiver: Receiver, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.domain import MessageTemplate
    from chalicelib.messaging.webhooks import service
    from chalicelib.producers.tracking.sweep import sweep_company
    from chalicelib.store import templates as template_store
    from tests.steps.outbox import run_minute_schedule
    from tests.steps.tracking import alerts_monitor, issue, post_event, staff_subscribe

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given an endpoint for failures, a company whose stored tracking template builds a value
    # past the sandbox's limit (saved before the save-time check knew), and a parcel of its
    # client CLI-1 that Ana follows, just delivered
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    template_store.save_template(
        MessageTemplate(
            company_id=tenant.company_id,
            key="tracking_alert",
            sender_area="tracking",
            subject="{{ parcel.tracking_id }}",
            text="{{ 'x' * 300000 }}",
            html="<p>{{ parcel.tracking_id }}</p>",
            language="es",
            updated_at=clock.now(),
            updated_by="admin@old",
        )
    )
    issue(api, tenant, "TRK-1")
    staff_subscribe(api, tenant, "TRK-1", "ana@example.com")
    post_event(api, tenant, "TRK-1", "ev-1", "DELIVERED", minutes=1)
    # When the sweep runs while the webhook queue refuses everything
    with webhook_queue_refusing(times=1000):
        assert sweep_company(tenant.company_id).failed == 1
        assert recorded_failed(tenant) == []  # not yet: the outbox records it, once told
        with pytest.raises(Exception, match="InternalError"):  # the worker fails; SQS would retry
            deliver_outboxes()
    # Then the alert's e-mail is not recorded failed untold
    assert recorded_failed(tenant) == []

    # When the queue works again, and the minute schedule runs once the hand-off's lease is over
    clock.set_now(clock.now() + timedelta(minutes=10))
    run_minute_schedule(api)
    deliver_outboxes()
    deliver_webhooks()
    # Then the endpoint heard once that the client's alert failed, as recorded, saying why
    [(message_id, data)] = failed_events(receiver, endpoint).items()
    assert data == {"client_id": "CLI-1", "message_id": message_id, "channel": "email"}
    [alert] = body(api.http.get("/parcels/TRK-1/alerts", headers=tenant.staff_headers()))["items"]
    assert alert["state"] == "failed" and "longer than 200,000 characters" in alert["error"]
    assert state_of(tenant, message_id) == "failed"
    # And the alerts monitor counts it failed, once
    assert alerts_monitor(api, tenant)["failed_count"] == 1


def test_a_push_to_a_device_sns_disabled_reaches_the_endpoint_as_failed(
    api: Client, tenant: Tenant, receiver: Receiver
) -> None:
    from tests.steps.push import push_platform_application, register_device, set_push, sns

    # Given a client whose app registered its device, which SNS has since disabled (app removed)
    assert (
        set_push(api, tenant, fcm_application_arn=push_platform_application(tenant.company_id)).status_code
        == 200
    )
    put_client(api, tenant, "CLI-7", name="Ana", emails=[], phones=[])
    device = body(register_device(api, tenant, "CLI-7", "fcm-token-ana"))
    sns().set_endpoint_attributes(EndpointArn=device["endpoint_arn"], Attributes={"Enabled": "false"})
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    # When a push to the client goes through the outbox
    [queued] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="push",
                to_address=device["endpoint_arn"],
                subject="Corte",
                text="Mañana",
                client_id="CLI-7",
            )
        ],
    )
    deliver_outboxes()
    deliver_webhooks()
    # Then it is recorded failed, and the endpoint heard so, as a push
    assert state_of(tenant, queued.communication_id) == "failed"
    assert failed_events(receiver, endpoint) == {
        queued.communication_id: {
            "client_id": "CLI-7",
            "message_id": queued.communication_id,
            "channel": "push",
        }
    }


def test_an_unsubscribe_whose_webhook_cannot_be_queued_fails_so_the_client_can_try_again(
    api: Client, tenant: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.links import manual_unsubscribe_url
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given the client Ana and an endpoint for unsubscribes
    put_client(api, tenant, "CLI-7", name="Ana", emails=["ana@example.com"])
    endpoint = add_endpoint(api, tenant, receiver.url, ["client.unsubscribed"])
    link = urlsplit(manual_unsubscribe_url(tenant.company_id, "CLI-7"))

    # When Ana unsubscribes in one click while the webhook queue refuses everything
    with webhook_queue_refusing(times=1000):
        refused = api.http.post(f"{link.path}?{link.query}")
    # Then she is not told it worked, and clicking again (the queue working) does
    assert refused.status_code >= 500
    assert api.http.post(f"{link.path}?{link.query}").status_code == 200
    # And the endpoint is told once
    assert outcomes(deliver_webhooks()) == {"delivered": 1}
    [event] = receiver.events(endpoint["secret"], now_seconds())
    assert event["type"] == "client.unsubscribed" and event["data"]["client_id"] == "CLI-7"


def test_an_inbound_email_whose_webhook_cannot_be_queued_is_told_when_sns_tries_again(
    api: Client, tenant: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.webhooks import service
    from tests.steps.inbound import inbound_mail_event

    monkeypatch.setattr(service, "ENQUEUE_PAUSE_SECONDS", 0.01)
    # Given the client Ana, known by her e-mail, and an endpoint for inbound mail
    put_client(api, tenant, "CLI-7", name="Ana", emails=["ana@example.com"])
    endpoint = add_endpoint(api, tenant, receiver.url, ["inbound.received"])
    event = inbound_mail_event(api, tenant.company_id, "ana@example.com", "Consulta", "¿Cuánto debo?")

    # When Ana's e-mail comes in while the webhook queue refuses everything
    with webhook_queue_refusing(times=1000), pytest.raises(Exception, match="InternalError"):
        api.lambda_.invoke("receive_inbound_mail", event)
    # And SNS hands the notification again, the queue working
    [logged] = api.lambda_.invoke("receive_inbound_mail", event).payload["communications"]
    assert outcomes(deliver_webhooks()) == {"delivered": 1}

    # Then the endpoint heard of her e-mail, once
    [told] = receiver.events(endpoint["secret"], now_seconds())
    assert told["type"] == "inbound.received"
    assert told["data"] == {"client_id": "CLI-7", "message_id": logged, "channel": "email"}


def test_an_erp_event_about_her_that_fails_as_queued_and_loses_to_her_erasure_tells_nothing(
    api: Client, tenant: Tenant, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.tenants.companies import issue_api_key
    from tests.steps.erasure import erased_while, erasure_in_the_request

    erasure_in_the_request(monkeypatch)
    # Given an endpoint for failures, a company with no sender account, and Ana and Beto
    endpoint = add_endpoint(api, tenant, receiver.url, ["message.failed"])
    put_client(api, tenant, "ANA", emails=["ana@example.com"])
    put_client(api, tenant, "BETO", emails=["beto@example.com"])
    erp = {"Authorization": f"ApiKey {issue_api_key(tenant.company_id, 'erp', ['events:write'])}"}

    def payment_of(client_id: str) -> Any:
        payment = {
            "receipt_number": "X-1",
            "amount": "$ 1.000,00",
            "received_on": "2026-11-02",
            "entry": "manual",
        }
        event = {"event_id": f"pay-{client_id}", "client_id": client_id, "payment": payment}
        return api.http.post("/events/payment-recorded", headers=erp, body=json.dumps(event))

    # When the ERP posts a payment of Beto's
    his = payment_of("BETO")
    # Then its e-mail failed, as the answer says, and the endpoint hears of it once, about it
    assert his.status_code in (200, 201, 202), his.body
    [message] = body(his)["messages"]
    assert (message["state"], message["to_address"]) == ("failed", "beto@example.com")
    assert "no working sender account" in message["error"]
    deliver_outboxes()
    deliver_webhooks()
    assert state_of(tenant, message["communication_id"]) == "failed"
    told = failed_events(receiver, endpoint)
    assert [(k, v["client_id"]) for k, v in told.items()] == [(message["communication_id"], "BETO")]
    # When the ERP posts a payment of Ana's, and between the post's read of her client and its
    # write of her e-mail the administrator erases her (stopped just before her item goes)
    erased = erased_while(api, tenant, "ANA", monkeypatch)
    hers = payment_of("ANA")
    assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then it is refused, and the endpoint hears of no message to her: none was written
    assert (hers.status_code, body(hers)["errors"]) == (
        422,
        [{"field": "client_id", "message": "client 'ANA' is being erased"}],
    )
    deliver_outboxes()
    deliver_webhooks()
    assert failed_events(receiver, endpoint) == told


def test_only_who_may_read_an_endpoints_url_reads_its_host_in_the_delivery_log(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    # Given an endpoint on a port where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint_id = add_endpoint(api, company, f"http://127.0.0.1:{port}/pregon", ["message.bounced"])[
        "endpoint_id"
    ]
    # And its log holds a delivery nothing accepted, and one refused for its loopback address
    assert (
        body(api.http.post(f"/webhooks/{endpoint_id}/test", headers=company.admin_headers()))["outcome"]
        == "failed"
    )
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    assert (
        body(api.http.post(f"/webhooks/{endpoint_id}/test", headers=company.admin_headers()))["outcome"]
        == "refused"
    )
    company_id = company.company_id
    callers = {
        "level 1": company.admin_headers(),
        **{
            f"level {n}": {"Authorization": f"Bearer {IDENTITY.mint(company_id, user_id=f'u{n}', level=n)}"}
            for n in (2, 3, 4)
        },
        "API key": company.key_headers(),
    }
    for who, headers in callers.items():
        for language in ("en", "es"):
            # When each kind of caller reads the delivery log
            response = api.http.get(
                f"/webhooks/{endpoint_id}/deliveries", headers={**headers, "Accept-Language": language}
            )
            if who == "API key":  # Then an API key reads nothing (as for every webhook route)
                assert response.status_code == 403, response.body
                continue
            assert response.status_code == 200, response.body
            # (both deliveries may carry the frozen clock's one time: their order in the log is not told)
            errors = sorted(d["error"] for d in body(response)["items"])
            # the endpoint's URL is theirs to read only at level 1 (GET /webhooks/{id}), so its host too
            can_read_url = api.http.get(f"/webhooks/{endpoint_id}", headers=headers).status_code == 200
            assert can_read_url == (who == "level 1")
            if can_read_url:  # Then the administrator reads the host and port in each error
                assert all("127.0.0.1" in e for e in errors), errors
                assert any(f"127.0.0.1:{port}" in e for e in errors), errors
            else:  # Then staff below level 1 read why, without the host or port
                assert not any("127.0.0.1" in e or str(port) in e for e in errors), errors
                assert errors == sorted(
                    {
                        "en": [
                            "refused: the endpoint's address is a loopback address; "
                            "Pregón connects only to public addresses",
                            "refused: nothing accepts connections at the endpoint's address",
                        ],
                        "es": [
                            "rechazado: la dirección del webhook es una dirección de loopback; "
                            "Pregón solo se conecta a direcciones públicas",
                            "rechazado: nada acepta conexiones en la dirección del webhook",
                        ],
                    }[language]
                ), (who, errors)
