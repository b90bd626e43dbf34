"""The local stack closes AWS's loops (issue 10): mail sent to the inbound SMTP port arrives the way
SES receiving delivers it; whatever is published to a topic the app subscribes reaches its handler
with Lambda's SNS event; SES sends to the mailbox simulator produce SES's events through the
configuration set's topic and its SQS queue (read in batches); an SMS from the local phone gets
its answer, listed by ``stack sms --outbox``. Real parts: aiosmtpd on a port the test picks,
moto's S3/SNS/SQS/SES, DynamoDB Local, the deployed handlers."""

from __future__ import annotations

import json
import smtplib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.test import Client

from infrastructure.local.inbound_smtp import InboundSmtp
from infrastructure.local.paths import free_port
from infrastructure.local.ses_simulator import SesMailboxSimulator
from infrastructure.local.sms_gateway import GATEWAY_PASSWORD, SmsGatewayCatcher
from infrastructure.local.sms_masivos import MASIVOS_PASSWORD, MASIVOS_USERNAME, SmsMasivosStandIn
from infrastructure.local.stack import main as stack_main
from infrastructure.local.topics import ensure_topic_subscriptions, run_topics_until_empty
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.domains import verified_sending_domain
from tests.steps.history import send_email
from tests.steps.outbox import deliver_outboxes
from tests.steps.ses_events import deliver_ses_events, drain_ses_queue, logged_lines
from tests.steps.sms import free_inbound_number
from tests.steps.tenants import Tenant, make_tenant

INBOUND_DOMAIN = "inbound.pregon.local"


def deliver_topics() -> list[Any]:
    """What SNS does on AWS: every notification published to a subscribed topic, to its handler."""
    from app import app

    return run_topics_until_empty(app)


@pytest.fixture
def inbound(local_aws: dict[str, str]) -> Iterator[InboundSmtp]:
    deliver_topics()  # nothing left over from another test
    with InboundSmtp(port=free_port()) as server:
        yield server


def mail(sender: str, to: str, subject: str, text: str = "Hola, les escribo por la factura.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@cliente.example>"
    message.set_content(text)
    return message


def send_to_inbound_port(server: InboundSmtp, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        smtp.send_message(message)


def register_of(api: Client, tenant: Tenant, client_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body(
        api.http.get(f"/clients/{client_id}/register", headers=tenant.staff_headers())
    )["items"]
    return items


# --- 1. inbound mail on the SMTP port -----------------------------------------------------------


def test_mail_to_the_inbound_port_lands_in_the_clients_register(
    api: Client, tenant: Tenant, inbound: InboundSmtp, local_aws: dict[str, str]
) -> None:
    # Given a client whose address the back office registered
    put_client(api, tenant, "FERR-1", emails=["maria@ferreteria.example"])
    # When she writes to the company's inbound address through the inbound SMTP port
    send_to_inbound_port(
        inbound, mail("María <maria@ferreteria.example>", f"{tenant.company_id}@{INBOUND_DOMAIN}", "Consulta")
    )
    handled = deliver_topics()
    # Then the notification SES publishes reached receive_inbound_mail, which logged one message
    assert [a.get("logged") for a in handled] == [1]
    # And it is in her register, received from her
    [entry] = register_of(api, tenant, "FERR-1")
    assert (entry["direction"], entry["subject"], entry["state"]) == ("in", "Consulta", "received")
    # And the raw message is in the inbound bucket, where the receipt rule writes it
    shown = body(api.http.get(f"/inbound/{entry['communication_id']}", headers=tenant.staff_headers()))
    bucket, _, key = shown["raw_key"].partition("/")
    assert bucket == "pregon-inbound" and key.startswith("inbound/")
    from chalicelib.core.aws import client

    raw = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    assert raw.startswith(b"Return-Path: <maria@ferreteria.example>") and b"Subject: Consulta" in raw


def test_mail_from_an_unknown_sender_goes_to_the_unassigned_list(
    api: Client, tenant: Tenant, inbound: InboundSmtp
) -> None:
    # When someone nobody registered writes to the company
    send_to_inbound_port(
        inbound, mail("desconocido@example.org", f"{tenant.company_id}@{INBOUND_DOMAIN}", "Presupuesto")
    )
    deliver_topics()
    # Then staff find it in the unassigned list
    items = body(api.http.get("/inbound/unassigned", headers=tenant.staff_headers()))["items"]
    assert [(i["from_address"], i["subject"]) for i in items] == [("desconocido@example.org", "Presupuesto")]


def test_a_reply_to_our_email_sent_to_its_reply_to_threads_to_it(
    api: Client, tenant: Tenant, inbound: InboundSmtp
) -> None:
    # Given an e-mail the company sent to a client, caught with its Reply-To
    put_client(api, tenant, "FERR-1", emails=["maria@ferreteria.example"])
    sent_id = send_email(tenant, "maria@ferreteria.example", "Factura A-0001", client_id="FERR-1")
    deliver_outboxes()
    assert tenant.mailbox is not None
    [ours] = tenant.mailbox.messages()
    reply_to = str(ours["Reply-To"])
    assert reply_to == f"{tenant.company_id}+r-{sent_id}@{INBOUND_DOMAIN}"
    # When she answers it from a mail program that keeps no In-Reply-To or References
    send_to_inbound_port(inbound, mail("maria@ferreteria.example", reply_to, "Re: Factura A-0001"))
    deliver_topics()
    # Then the answer is in her register, threaded to our message
    answer = next(e for e in register_of(api, tenant, "FERR-1") if e["direction"] == "in")
    shown = body(api.http.get(f"/inbound/{answer['communication_id']}", headers=tenant.staff_headers()))
    assert (shown["in_reply_to"], shown["thread_id"]) == (sent_id, sent_id)


def test_the_inbound_port_refuses_other_domains_at_rcpt(inbound: InboundSmtp) -> None:
    # When mail for another domain is offered to the inbound port
    with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("alguien@example.org")
        code, reply = smtp.rcpt("ventas@otra-empresa.example")
    # Then it is refused at RCPT, naming the domain it takes, and nothing is published
    assert code == 550 and INBOUND_DOMAIN.encode() in reply
    assert deliver_topics() == []


# --- 2. one dispatcher for every SNS subscription ----------------------------------------------


@contextmanager
def moto_connections() -> Iterator[list[object]]:
    """Each TCP connection the in-process moto server accepts while inside."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    accepted: list[object] = []
    setup = MotoRequestHandler.setup

    def counted(handler: Any) -> None:
        accepted.append(handler.client_address)
        setup(handler)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(MotoRequestHandler, "setup", counted)
        yield accepted


def test_purging_the_queues_asks_moto_over_one_kept_open_connection(local_aws: dict[str, str]) -> None:
    import boto3

    from app import app
    from infrastructure.local.queues import _sqs, consumers, purge_queues
    from tests.steps.aws import counted_requests

    # Given messages left over on two of the app's queues (more than one receive's worth on one)
    sqs = _sqs()
    first, second = (sqs.get_queue_url(QueueName=c.queue)["QueueUrl"] for c in consumers(app)[:2])
    for n in range(12):
        sqs.send_message(QueueUrl=first, MessageBody=json.dumps({"left": n}))
    sqs.send_message(QueueUrl=second, MessageBody=json.dumps({"left": "over"}))
    # When the queues are purged (as before every test with a tenant)
    with moto_connections() as accepted, counted_requests() as requests:
        dropped = purge_queues(app)
    # Then every message is gone, and the many requests it took went over one connection at most
    # (HTTP/1.1 kept alive: not a new TCP connection, and server thread, per request)
    assert dropped == 13
    assert requests["sqs:ReceiveMessage"] >= len(consumers(app)) and len(accepted) <= 1
    # And answers with no body, with an error, and bodies the server does not read leave a
    # kept-open connection usable for the next request
    s3 = boto3.session.Session().client("s3")
    with moto_connections() as accepted:
        s3.put_object(Bucket="pregon-files", Key="keep-alive", Body=b"x" * 70_000)
        assert s3.head_object(Bucket="pregon-files", Key="keep-alive")["ContentLength"] == 70_000
        with pytest.raises(s3.exceptions.ClientError):
            s3.head_object(Bucket="pregon-files", Key="missing")
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="pregon-files", Key="missing")
        assert s3.get_object(Bucket="pregon-files", Key="keep-alive")["Body"].read() == b"x" * 70_000
        s3.delete_object(Bucket="pregon-files", Key="keep-alive")
    assert len(accepted) <= 3  # HEAD answers close theirs


def test_every_sns_handler_of_the_app_is_subscribed_to_its_topic(local_aws: dict[str, str]) -> None:
    from app import app

    # When the local resources are made
    topics = ensure_topic_subscriptions(app)
    # Then each on_sns_message handler has its topic (inbound mail, inbound SMS)
    assert topics == {
        "receive_inbound_mail": "arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
        "receive_inbound_sms": "arn:aws:sns:us-east-1:123456789012:pregon-inbound-sms",
    }


def test_a_publish_to_a_topic_reaches_its_handler_with_lambdas_sns_event(local_aws: dict[str, str]) -> None:
    # Given any app with an SNS handler, subscribed locally
    app = Chalice("probe")
    seen: list[dict[str, Any]] = []

    @app.on_sns_message(topic="pregon-probe-topic")
    def probe(event: Any) -> dict[str, Any]:
        seen.append({"message": event.message, "subject": event.subject, "record": event.to_dict()})
        return {"ok": True}

    [arn] = ensure_topic_subscriptions(app).values()
    # When anything publishes to the topic (here boto3, as AWS's services do)
    from chalicelib.core.aws import client

    published = client("sns").publish(
        TopicArn=arn,
        Subject="Aviso",
        Message=json.dumps({"hola": "mundo"}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "probe"}},
    )
    answers = run_topics_until_empty(app)
    # Then the handler ran once, with the message, subject and the SNS record Lambda builds
    assert answers == [{"ok": True}]
    [got] = seen
    assert (got["message"], got["subject"]) == ('{"hola": "mundo"}', "Aviso")
    [record] = got["record"]["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["MessageId"] == published["MessageId"] and record["Sns"]["TopicArn"] == arn
    assert record["Sns"]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "probe"}}


def test_a_message_its_handler_fails_five_times_waits_in_the_dead_letter_queue_as_deployed(
    local_aws: dict[str, str],
) -> None:
    import contextlib
    import time

    from chalicelib.core.aws import client
    from infrastructure.aws.synth import ROOT, merge_template, stage_config
    from infrastructure.local.queues import DEAD_LETTER_RECEIVES, consumers, ensure_local_resources

    # Given any app with an SQS handler that always fails, its queue made as the local stack does
    app = Chalice("probe")
    queue = f"pregon-probe-{uuid.uuid4().hex[:8]}"
    calls: list[str] = []

    @app.on_sqs_message(queue=queue, batch_size=1)
    def always_fails(event: Any) -> None:
        calls.extend(record.body for record in event)
        raise RuntimeError("a bug in the handler")

    ensure_local_resources(app)
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="page 7")
    [consumer] = consumers(app)
    consumer.visibility_timeout = 1  # back after a second instead of 15 minutes
    # When the poller hands it to the handler, again each time it comes back (polled: it comes
    # back by SQS's clock), until it is in <queue>-dead
    dead = sqs.get_queue_url(QueueName=f"{queue}-dead")["QueueUrl"]
    parked: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not parked and time.monotonic() < deadline:
        with contextlib.suppress(RuntimeError):  # (handed to the handler, which failed)
            assert consumer.poll_once() == 0  # nothing visible yet
        parked = sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10).get("Messages", [])
        time.sleep(0.05)
    # Then after its fifth failure it came back no more, and waits in <queue>-dead, whole
    assert calls == ["page 7"] * DEAD_LETTER_RECEIVES and consumer.poll_once() == 0
    assert [m["Body"] for m in parked] == ["page 7"]
    # And the deployed queues have the same redrive (five receives, then <queue>-dead)
    deployed, _ = merge_template("prod", stage_config(ROOT, "prod"))
    queues = {
        r["Properties"]["QueueName"]: r["Properties"]
        for r in deployed["Resources"].values()
        if r["Type"] == "AWS::SQS::Queue"
    }
    redriven = [name for name, properties in queues.items() if "RedrivePolicy" in properties]
    assert redriven and all(f"{name}-dead" in queues for name in redriven)
    assert all(queues[name]["RedrivePolicy"]["maxReceiveCount"] == DEAD_LETTER_RECEIVES for name in redriven)


# --- 3. the SES mailbox simulator ---------------------------------------------------------------


@dataclass
class SesCompany:
    tenant: Tenant
    simulator: SesMailboxSimulator

    def admin_headers(self) -> dict[str, str]:
        return self.tenant.admin_headers()


@pytest.fixture
def ses_tenant(local_aws: dict[str, str], clock: Any) -> Iterator[SesCompany]:
    """A company whose e-mail leaves through SES (moto), with the mailbox simulator watching: no
    thread of its own, the test publishes each send's events when it says (``publish_due``)."""
    import boto3

    from chalicelib.messaging.accounts.email import save_sender_account

    deliver_topics()
    drain_ses_queue()
    tenant = make_tenant(None, frequency=0, name="Cable Sur")
    domain = verified_sending_domain(tenant.company_id, f"{tenant.company_id}.ses.example")
    sender = f"avisos@{domain}"
    boto3.client("ses").verify_email_identity(EmailAddress=sender)
    save_sender_account(
        tenant.company_id,
        "all",
        {"kind": "ses", "display_name": "Cable Sur", "from_address": sender, "ses_identity": sender},
    )
    with SesMailboxSimulator().start(thread=False) as simulator:
        yield SesCompany(tenant, simulator)


def simulate(company: SesCompany, address: str) -> dict[str, Any]:
    """Send one e-mail through SES to ``address``, and let SES's events arrive."""
    comm_id = send_email(company.tenant, address, "Su factura", area="billing")
    assert deliver_outboxes()["sent"] == 1
    assert company.simulator.publish_due(delay=0) >= 1  # what became of it (Send is not matched)
    deliver_ses_events()  # the topic delivers into ses_events' queue, read in batches
    return {"id": comm_id}


@pytest.mark.parametrize(
    ("address", "events", "state", "suppressed"),
    [
        ("success@simulator.amazonses.com", ["Delivery"], "delivered", None),
        ("bounce@simulator.amazonses.com", ["Bounce"], "bounced", "bounce"),
        ("complaint@simulator.amazonses.com", ["Delivery", "Complaint"], "complained", "complaint"),
        ("suppressionlist@simulator.amazonses.com", ["Bounce"], "bounced", "bounce"),
    ],
)
def test_ses_sends_to_the_mailbox_simulator_produce_ses_events(
    api: Client, ses_tenant: SesCompany, address: str, events: list[str], state: str, suppressed: str | None
) -> None:
    # When an e-mail goes out through SES to a mailbox simulator address
    with logged_lines() as lines:
        sent = simulate(ses_tenant, address)
    # Then SES published its events once each, those the configuration set's destination matches
    assert [e["eventType"] for e in ses_tenant.simulator.published] == events
    # And the history shows what SES reported for it
    shown = body(api.http.get(f"/history/email/{sent['id']}", headers=ses_tenant.admin_headers()))
    assert shown["state"] == state, shown
    # And hard bounces and complaints put the address on the suppression list
    listed = body(api.http.get("/suppressions", headers=ses_tenant.admin_headers()))["items"]
    assert [(i["address"], i["reason"]) for i in listed] == ([(address, suppressed)] if suppressed else [])
    if address.startswith("suppressionlist@"):
        assert "Permanent/Suppressed" in listed[0]["detail"]
    # And the operator on call, who cannot read the company's history, finds the company behind a
    # bounce or complaint in the log at INFO (docs/operations.md), without the client's address
    applied = [line for line in lines if line["message"] == "ses event applied"]
    if state in ("bounced", "complained"):
        [line] = applied
        assert (line["company_id"], line["communication_id"], line["state"]) == (
            ses_tenant.tenant.company_id,
            sent["id"],
            state,
        )
        assert line["suppressed"] is True and address not in json.dumps(line)
    else:
        assert applied == []


def test_the_next_send_to_a_bounced_simulator_address_is_not_sent(
    api: Client, ses_tenant: SesCompany
) -> None:
    # Given the bounce simulator bounced once
    simulate(ses_tenant, "bounce@simulator.amazonses.com")
    # When the company writes to it again
    again = send_email(ses_tenant.tenant, "bounce@simulator.amazonses.com", "Otra factura", area="billing")
    deliver_outboxes()
    # Then it is not sent: recorded suppressed, and SES saw no new send
    shown = body(api.http.get(f"/history/email/{again}", headers=ses_tenant.admin_headers()))
    assert shown["state"] == "suppressed"
    assert ses_tenant.simulator.publish_due(delay=0) == 0


# --- 4. the local phone -------------------------------------------------------------------------


@dataclass
class PhoneCompany:
    tenant: Tenant
    number: str


@pytest.fixture
def phone_company(api: Client, tenant: Tenant) -> PhoneCompany:
    """A company answering "SALDO" by SMS through SNS, with Ana, who owes 15300.50."""
    deliver_topics()
    admin = tenant.admin_headers()
    number = free_inbound_number(assigned_to=tenant.company_id)
    settings = {"enabled": True, "provider": "sns", "inbound_number": number}
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps(settings)).status_code == 200
    template = "Hola %nombre%, su saldo es $ %deuda%"
    rules = {"balance": {"enabled": True, "keywords": "saldo", "template": template}}
    assert api.http.put("/sms/auto-replies", headers=admin, body=json.dumps(rules)).status_code == 200
    put_client(api, tenant, "CLI-7", name="Ana Pérez", phones=["011-15-5987-6543"], balance="15300.50")
    return PhoneCompany(tenant, body(api.http.get("/sms/settings", headers=admin))["inbound_number"])


def test_saldo_from_the_local_phone_is_answered_and_listed_in_the_sms_outbox(
    api: Client,
    phone_company: PhoneCompany,
    local_aws: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the stack's ports file (what `run` writes) pointing at this moto
    (tmp_path / "ports.json").write_text(json.dumps({"moto_endpoint": local_aws["moto"]}))
    stack = ["--local-dir", str(tmp_path)]
    # When Ana texts "SALDO" from her phone with the stack's command
    texted = ["sms", "--from", "+5491159876543", "--to", phone_company.number, "SALDO"]
    assert stack_main([*stack, *texted]) == 0
    [answer] = deliver_topics()
    assert answer["outcome"] == "replied", answer
    deliver_outboxes()
    # Then the SMS outbox lists the answer to her phone, with her balance
    listed = outbox_listed(tmp_path, capsys)
    assert "+5491159876543" in listed and "Hola Ana Pérez, su saldo es $ 15.300,50" in listed, listed
    # And her SMS and the answer are in her register
    directions = [(e["direction"], e["channel"]) for e in register_of(api, phone_company.tenant, "CLI-7")]
    assert sorted(directions) == [("in", "sms"), ("out", "sms")]


def _async_failures() -> list[dict[str, Any]]:
    """What waits in the local async-failures queue, left there (received with no visibility timeout)."""
    from chalicelib.core.aws import client
    from infrastructure.local.topics import ASYNC_FAILURES_QUEUE

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=ASYNC_FAILURES_QUEUE)["QueueUrl"]
    return list(
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    )


def test_an_inbound_sms_its_function_failed_on_is_invoked_again_by_the_operator_and_answered_once(
    api: Client,
    phone_company: PhoneCompany,
    local_aws: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """docs/operations.md, "A dead-letter queue has messages", for ``<stack>-async-failures``."""
    from chalicelib.core.aws import client
    from chalicelib.events.inbound_sms import INBOUND_SMS_TOPIC
    from infrastructure import ops
    from infrastructure.local.topics import ASYNC_FAILURES_QUEUE, TopicConsumer

    sqs = client("sqs")
    parked = sqs.get_queue_url(QueueName=ASYNC_FAILURES_QUEUE)["QueueUrl"]
    sqs.purge_queue(QueueUrl=parked)
    # Given Ana's "SALDO", on which the inbound SMS function failed three times (a bad deploy), so
    # that its event waits in the async-failures queue; and a copy of it (a redrive that died
    # before it deleted what it had invoked), and a schedule's failed run
    (tmp_path / "ports.json").write_text(json.dumps({"moto_endpoint": local_aws["moto"]}))
    texted = ["sms", "--from", "+5491159876543", "--to", phone_company.number, "SALDO"]
    assert stack_main(["--local-dir", str(tmp_path), *texted]) == 0

    def broken(event: Any, context: Any) -> None:
        raise RuntimeError("ImportModuleError: a bad deploy")

    consumer = TopicConsumer("receive_inbound_sms", INBOUND_SMS_TOPIC, broken, retry_delays=())
    assert consumer.poll_once() == 0
    [event] = [m["Body"] for m in _async_failures()]
    sqs.send_message(QueueUrl=parked, MessageBody=event)
    schedule = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    sqs.send_message(QueueUrl=parked, MessageBody=json.dumps(schedule))
    # When the operator lists the dead-letter queues and asks for the parked events again
    capsys.readouterr()
    assert ops.main(["--target", "env", "dead-letters", "list"]) == 0
    listed = capsys.readouterr().out
    assert ops.main(["--target", "env", "dead-letters", "redrive", ASYNC_FAILURES_QUEUE]) == 0
    redriven = capsys.readouterr().out.splitlines()[-1]
    deliver_outboxes()
    # Then the list showed the three, and the function ran on both copies and the schedule's was dropped
    assert f"{ASYNC_FAILURES_QUEUE:<32}      3 messages  redrive: invoked again" in listed
    assert redriven == (
        "2 events invoked again, 1 schedule runs dropped (their next run does their work), "
        f"0 not understood (left in {ASYNC_FAILURES_QUEUE})"
    )
    # And Ana's SMS is in her register once, answered once, and nothing is left parked
    directions = [(e["direction"], e["channel"]) for e in register_of(api, phone_company.tenant, "CLI-7")]
    assert sorted(directions) == [("in", "sms"), ("out", "sms")]
    assert _async_failures() == []


def test_the_sms_command_needs_a_running_stack(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as refused:
        stack_main(["--local-dir", str(tmp_path), "sms", "--outbox"])
    assert "not running" in str(refused.value)


def provider_set_up_and_tested(
    api: Client, tenant: Tenant, settings: dict[str, Any], password_route: str, password: str, to: str
) -> None:
    """The administrator saves the company's SMS provider and its password, then sends a test SMS."""
    admin = tenant.admin_headers()
    assert (
        api.http.put(
            "/sms/settings", headers=admin, body=json.dumps(settings | {"enabled": True})
        ).status_code
        == 200
    )
    saved = api.http.put(password_route, headers=admin, body=json.dumps({"password": password}))
    assert saved.status_code == 204
    test = {"to": to, "text": "Prueba de Pregón"}
    answer = body(api.http.post("/sms/test", headers=admin, body=json.dumps(test)))
    assert answer["ok"] is True, answer


def outbox_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``stack sms --outbox`` prints for the stack of ``tmp_path``."""
    capsys.readouterr()
    assert stack_main(["--local-dir", str(tmp_path), "sms", "--outbox"]) == 0
    return capsys.readouterr().out


def test_sms_through_the_local_gateway_are_listed_in_the_sms_outbox(
    api: Client, tenant: Tenant, local_aws: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the stack's SMS gateway, and a company whose SMS go out through it
    (tmp_path / "ports.json").write_text(json.dumps({"moto_endpoint": local_aws["moto"]}))
    with SmsGatewayCatcher(tmp_path / "sms") as gateway:
        settings = {"provider": "http_gateway", "base_url": gateway.base_url, "username": "sms"}
        # When the administrator sends a test SMS
        route = "/sms/settings/gateway-password"
        provider_set_up_and_tested(api, tenant, settings, route, GATEWAY_PASSWORD, "011 15-5987-6543")
    # Then the stack's SMS outbox lists it, sent through the gateway
    listed = outbox_listed(tmp_path, capsys)
    assert "+5491159876543" in listed and "gateway  Prueba de Pregón" in listed, listed


def test_sms_through_sms_masivos_are_listed_in_the_sms_outbox_as_sms_masivos_got_them(
    api: Client,
    tenant: Tenant,
    local_aws: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the stack's SMS Masivos stand-in, and a company whose SMS go out through SMS Masivos
    # (seed 002 §2), as the administrator sets it up
    (tmp_path / "ports.json").write_text(json.dumps({"moto_endpoint": local_aws["moto"]}))
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")
    with SmsMasivosStandIn(folder=tmp_path / "sms-masivos") as masivos:
        monkeypatch.setenv("SMS_MASIVOS_URL", masivos.url)
        settings = {"provider": "sms_masivos", "masivos_username": MASIVOS_USERNAME}
        # When the administrator sends a test SMS to a number written as the seed asks (no 0, no 15)
        route = "/sms/settings/sms-masivos-password"
        provider_set_up_and_tested(api, tenant, settings, route, MASIVOS_PASSWORD, "1159876543")
    # Then the stack's SMS outbox lists it as SMS Masivos got it: 10 digits, in plain ASCII
    listed = outbox_listed(tmp_path, capsys)
    assert "1159876543        masivos  Prueba de Pregon" in listed, listed


def test_the_sms_command_tells_a_stopped_stack_from_a_running_one(tmp_path: Path) -> None:
    # Given the ports file a killed stack left behind, naming a moto that no longer answers
    (tmp_path / "ports.json").write_text(json.dumps({"moto_endpoint": f"http://127.0.0.1:{free_port()}"}))
    # When the phone texts; Then it is told the stack is not running
    with pytest.raises(SystemExit) as refused:
        stack_main(["--local-dir", str(tmp_path), "sms", "--from", "+5491159876543", "SALDO"])
    assert "not running" in str(refused.value)


def test_the_local_notifications_have_the_shape_aws_documents() -> None:
    from datetime import UTC, datetime

    from infrastructure.local.inbound_smtp import SAMPLES, received_notification
    from infrastructure.local.ses_simulator import SesSend, events_for

    def keys(document: dict[str, Any]) -> set[str]:
        """Each field, and each field of an object field, by dotted name."""
        found: set[str] = set()
        for name, value in document.items():
            if isinstance(value, dict) and value:
                found |= {f"{name}.{inner}" for inner in value}
            else:
                found.add(name)
        return found

    # Given AWS's own examples
    received = json.loads((SAMPLES / "ses_received.json").read_text())
    # When the stack builds an SES receipt for a message
    raw = b"From: ana@example.com\r\nTo: demo@inbound.pregon.local\r\nSubject: Hola\r\n\r\nHola\r\n"
    built = received_notification(
        message_id="abc",
        bucket="pregon-inbound",
        key="inbound/abc",
        topic_arn="arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
        mail_from="ana@example.com",
        recipients=["demo@inbound.pregon.local"],
        raw=raw,
        at=datetime.now(UTC),
    )
    # Then it has every field AWS's example has, down to the receipt's verdicts and action
    assert keys(built["mail"]) >= keys(received["mail"]) - {"commonHeaders.date", "commonHeaders.messageId"}
    assert keys(built["receipt"]) == keys(received["receipt"])
    # And the events of a send to each simulator address are shaped as AWS's event examples
    send = SesSend(
        message_id="m-1",
        account_id="123456789012",
        region="us-east-1",
        params={
            "FromEmailAddress": "soporte@demo.example",
            "Destination": {
                "ToAddresses": ["complaint@simulator.amazonses.com", "bounce@simulator.amazonses.com"]
            },
            "EmailTags": [{"Name": "pregon-company", "Value": "demo"}],
        },
    )
    events = events_for(send, "pregon-events")
    assert [e["eventType"] for e in events] == ["Send", "Delivery", "Bounce", "Complaint"]
    for event in events[1:]:
        sample = json.loads((SAMPLES / f"ses_event_{event['eventType'].lower()}.json").read_text())
        assert keys(event) == keys(sample), event["eventType"]
    assert events[0]["mail"]["tags"]["pregon-company"] == ["demo"]
    assert events[0]["mail"]["tags"]["ses:configuration-set"] == ["pregon-events"]


def test_a_failing_sns_handler_is_tried_three_times_then_its_event_waits_in_the_async_failures_queue(
    local_aws: dict[str, str],
) -> None:
    from infrastructure.local.topics import TopicConsumer

    # Given an SNS handler that always fails, retried without waiting (Lambda waits 1 and 2 minutes)
    app = Chalice("failing")
    calls: list[str] = []

    @app.on_sns_message(topic="pregon-failing-topic")
    def failing(event: Any) -> None:
        calls.append(event.message)
        raise RuntimeError("the store is down")

    [arn] = ensure_topic_subscriptions(app).values()
    consumer = TopicConsumer(
        "failing", "pregon-failing-topic", app.handler_map["failing"], retry_delays=(0, 0)
    )
    # When one notification is published and the queue is polled again and again
    from chalicelib.core.aws import client

    client("sns").publish(TopicArn=arn, Message="hola")
    for _ in range(5):
        consumer.poll_once()
    # Then the handler ran three times (the first try and two retries), and nothing is left
    assert calls == ["hola", "hola", "hola"]
    assert consumer.poll_once() == 0 and calls == ["hola", "hola", "hola"]
    # And the event Lambda would have invoked it with waits in the async-failures queue, with the
    # error, as the deployed functions' dead-letter queue holds it
    from infrastructure.local.topics import ASYNC_FAILURES_QUEUE

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=ASYNC_FAILURES_QUEUE)["QueueUrl"]
    [parked] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])[
        "Messages"
    ]
    [record] = json.loads(parked["Body"])["Records"]
    assert (record["EventSource"], record["Sns"]["Message"]) == ("aws:sns", "hola")
    attributes = {name: value["StringValue"] for name, value in parked["MessageAttributes"].items()}
    assert attributes["ErrorMessage"] == "the store is down" and attributes["ErrorCode"] == "200"
    assert attributes["RequestID"]
