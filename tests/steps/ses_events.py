"""SES's events reaching ``ses_events`` as on AWS: published to the SNS topic (moto), delivered raw
into the SQS queue, read by the deployed handler in batches of up to ten by the local poller."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.steps.domains import verified_sending_domain
from tests.steps.tenants import Tenant, make_tenant

if TYPE_CHECKING:
    from chalicelib.core.domain import Communication


def _topic_arn() -> str:
    from chalicelib.core.aws import client
    from chalicelib.events.ses_events import SES_EVENTS_TOPIC

    arn: str = client("sns").create_topic(Name=SES_EVENTS_TOPIC)["TopicArn"]  # its ARN; exists
    return arn


def publish_ses_events(*messages: str) -> None:
    """What SES's configuration set does: each event record published to the topic."""
    from chalicelib.core.aws import client

    arn = _topic_arn()
    for message in messages:
        client("sns").publish(TopicArn=arn, Message=message, Subject="Amazon SES Email Event Notification")


def queue_url() -> str:
    from chalicelib.core.aws import client
    from chalicelib.events.ses_events import SES_EVENTS_QUEUE

    url: str = client("sqs").get_queue_url(QueueName=SES_EVENTS_QUEUE)["QueueUrl"]
    return url


def send_envelopes(*messages: str) -> None:
    """SNS's envelope around each record, as the queue gets it when raw delivery is off."""
    import uuid

    from chalicelib.core.aws import client

    for message in messages:
        envelope = {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": _topic_arn(),
            "Subject": "Amazon SES Email Event Notification",
            "Message": message,
            "Timestamp": "2026-12-02T10:00:00.000Z",
        }
        client("sqs").send_message(QueueUrl=queue_url(), MessageBody=json.dumps(envelope))


def deliver_ses_events(visibility_timeout: int | None = None) -> list[dict[str, Any]]:
    """The event source mapping: every waiting record, ten at a time, to the deployed handler;
    the handler's answers (one per batch: SQS's partial batch response). A record the
    handler reports failed comes back after ``visibility_timeout`` seconds (the queue's own, 15
    minutes, when None)."""
    from app import app
    from infrastructure.local.queues import consumers

    [consumer] = [c for c in consumers(app) if c.name == "ses_events"]
    consumer.visibility_timeout = visibility_timeout
    answers: list[dict[str, Any]] = []
    while consumer.poll_once(results=answers):
        pass
    return answers


def redelivered_ses_events(visibility_timeout: int = 1, seconds: float = 10.0) -> list[dict[str, Any]]:
    """:func:`deliver_ses_events` once SQS gives back the records a handler reported failed (their
    ``visibility_timeout``, by SQS's own clock): polled until some come, for at most ``seconds``."""
    import time

    deadline = time.monotonic() + seconds
    while not (answers := deliver_ses_events(visibility_timeout)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return answers


def feed(message: str) -> None:
    """One SES event, published and handled in one batch that asks SQS to retry nothing (a
    dropped or ignored event is not retried either); the test then looks at what it changed."""
    publish_ses_events(message)
    assert deliver_ses_events() == [{"batchItemFailures": []}]


def drain_ses_queue() -> None:
    """Start with nothing waiting from another test."""
    from chalicelib.core.aws import client

    sqs = client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=queue_url(),
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )


@contextmanager
def dynamodb_down_for(communication_id: str) -> Iterator[None]:
    """DynamoDB answers 500 to every write that names this communication (a store outage for one
    message), at the wire of our DynamoDB client; everything else reaches DynamoDB Local."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    from chalicelib.store.models import CommunicationModel

    events = CommunicationModel._get_connection().connection.client.meta.events

    def fail(params: dict[str, Any], **_: Any) -> Any:  # a response short-cuts the call
        if communication_id not in str(params.get("body", "")):
            return None
        error = {"Error": {"Code": "InternalServerError", "Message": "injected outage"}}
        error["ResponseMetadata"] = {"HTTPStatusCode": 500}  # type: ignore[dict-item]
        return AWSResponse("https://dynamodb.local", 500, HTTPHeaders(), None), error

    names = [f"before-call.dynamodb.{op}" for op in ("UpdateItem", "PutItem", "TransactWriteItems")]
    for name in names:
        events.register(name, fail, unique_id=f"outage-{name}")
    try:
        yield
    finally:
        for name in names:
            events.unregister(name, unique_id=f"outage-{name}")


@contextmanager
def logged_lines(level: str = "INFO") -> Iterator[list[dict[str, Any]]]:
    """What the service's Powertools logger writes while inside, at ``level`` (production's is
    INFO), one JSON object per line."""
    import io
    import logging

    from chalicelib.core.observability import logger

    log = logger()
    handler = log.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    sink = io.StringIO()
    old_stream, old_level = handler.setStream(sink), log.log_level
    log.setLevel(level)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        log.setLevel(old_level)
        handler.setStream(old_stream)
        lines.extend(json.loads(line) for line in sink.getvalue().splitlines() if line.strip())


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ses"


def ses_company(name: str) -> Tenant:
    """A company whose fallback (`all`) account is an SES identity verified in moto."""

    from chalicelib.messaging.accounts.email import save_sender_account

    tenant = make_tenant(None, frequency=0, name=name)
    domain = verified_sending_domain(tenant.company_id, f"{tenant.company_id}.ses.example")
    sender = f"avisos@{domain}"
    save_sender_account(
        tenant.company_id,
        "all",
        {
            "kind": "ses",
            "display_name": name,
            "from_address": sender,
            "ses_identity": sender,
            "enabled": True,
        },
    )
    return tenant


def notification(
    fixture: str, comm: Communication, *, company_id: str | None = None, tagged: bool = True
) -> str:
    """SES's documented example, about the message we really sent (its SES id and recipient);
    event publishing carries the tags we send with: the company and (unless ``tagged`` is False,
    as for a message sent before issue 14) the communication."""
    from chalicelib.channels.ses import COMMUNICATION_TAG, COMPANY_TAG, company_tag_value

    data = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    message = copy.deepcopy(data)
    address = comm.to_address or ""
    mail = message["mail"]
    mail["messageId"] = comm.provider_message_id
    mail["destination"] = [address, *[d for d in mail["destination"][1:]]]
    if "tags" in mail:  # event publishing carries the tags we send with
        mail["tags"][COMPANY_TAG] = [company_tag_value(company_id or comm.company_id)]
        if tagged:
            mail["tags"][COMMUNICATION_TAG] = [comm.communication_id]
    for part, key in (("bounce", "bouncedRecipients"), ("complaint", "complainedRecipients")):
        if part in message:
            message[part][key][0]["emailAddress"] = address
    if "delivery" in message:
        message["delivery"]["recipients"] = [address]
    return json.dumps(message)
