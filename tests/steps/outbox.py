"""The outbox workers, run the way AWS runs them: the deployed SQS handlers, in this thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def deliver_outboxes() -> dict[str, int]:
    """What the outbox workers (``on_sqs_message``) do on AWS: handle every queued SQS message
    with the deployed handler, in this thread, until the queue is empty. Returns the totals."""
    from app import app
    from infrastructure.local.queues import run_queues_until_empty

    totals = {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}
    for answer in run_queues_until_empty(app):
        for name in totals:
            totals[name] += int((answer or {}).get(name, 0))
    return totals


def run_minute_schedule(api: Any) -> dict[str, Any]:
    """The deployed ``wake_outboxes`` schedule, as EventBridge invokes it every minute."""
    event = api.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="us-east-1"
    )
    return dict(api.lambda_.invoke("wake_outboxes", event).payload)


def limit_tracking_account(api: Any, tenant: Any, mailbox: Any, messages: int, hours: int = 1) -> None:
    """Staff give the tracking account (an SMTP account on ``mailbox``) a rate limit (C2) through
    the API: at most ``messages`` e-mails in any ``hours``."""
    import json

    from tests.steps.tenants import SMTP_USER

    response = api.http.put(
        "/sender-accounts/tracking",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {
                "kind": "smtp",
                "display_name": "Cargas del Sur Avisos",
                "from_address": "avisos@cargasdelsur.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": mailbox.port,
                "username": SMTP_USER,
                "rate_limit": {"messages": messages, "hours": hours},
            }
        ),
    )
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["rate_limit"] == {"messages": messages, "hours": hours}


def queue_email(tenant: Any, **fields: Any) -> Any:
    """Queue one e-mail through the real outbox (to ana@example.com from the tracking area unless
    ``fields`` say otherwise); returns the communication written."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    message = {"channel": "email", "to_address": "ana@example.com", "subject": "Hola", "text": "Texto"}
    [comm] = enqueue(tenant.company_id, [OutgoingMessage(**({"area": "tracking"} | message | fields))])
    return comm


def raw_items(table: str, company_id: str, prefix: str | None = None) -> list[dict[str, Any]]:
    """What DynamoDB holds for a company in a table (the raw items, as the store wrote them)."""
    from chalicelib.core.aws import client

    condition = "company_id = :c" + (" AND begins_with(#k, :p)" if prefix else "")
    values: dict[str, Any] = {":c": {"S": company_id}} | ({":p": {"S": prefix}} if prefix else {})
    extra: dict[str, Any] = {"ExpressionAttributeNames": {"#k": "outbox_key"}} if prefix else {}
    answer = client("dynamodb").query(
        TableName=table, KeyConditionExpression=condition, ExpressionAttributeValues=values, **extra
    )
    return list(answer["Items"])


def handoff_records(company_id: str) -> list[dict[str, Any]]:
    """The company's hand-off records still there (``store.outbox``), each as its ``work``: the
    outbox, the lease and the ids it holds."""
    import json

    from chalicelib.store.models import OutboxModel

    items = raw_items(OutboxModel.Meta.table_name, company_id, "handoff#")
    return [json.loads(item["work"]["S"]) for item in items]


def communication_items(company_id: str) -> list[dict[str, Any]]:
    """The company's raw communication items."""
    from chalicelib.store.models import CommunicationModel

    return raw_items(CommunicationModel.Meta.table_name, company_id)


def outbox_queue_bodies() -> list[dict[str, Any]]:
    """What waits on the outbox workers' SQS queue, as JSON bodies, left there for the workers
    (received with no visibility timeout)."""
    from chalicelib.core.settings import get_settings

    return queue_bodies(get_settings().outbox_queue)


def queue_bodies(queue_name: str) -> list[dict[str, Any]]:
    """What waits on one of the workers' SQS queues, as JSON bodies, left there for the workers
    (received with no visibility timeout)."""
    import json

    from chalicelib.core.aws import client, queue_url

    answer = client("sqs").receive_message(
        QueueUrl=queue_url(queue_name), MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    messages = answer.get("Messages", [])
    assert len(messages) < 10, "more than one receive holds: not a step for this test"
    return [json.loads(m["Body"]) for m in messages]


def sqs_failing(monkeypatch: Any, fails: Callable[[list[dict[str, Any]]], BaseException | None]) -> None:
    """SQS as the code puts JSON messages on a queue, failing a send with the exception ``fails``
    gives for its bodies (``None``: the send goes through to the real queue)."""
    from chalicelib.core import aws

    really_send = aws.send_json_messages

    def send(queue_name: str, bodies: list[dict[str, Any]]) -> None:
        failure = fails(bodies)
        if failure is not None:
            raise failure
        really_send(queue_name, bodies)

    monkeypatch.setattr(aws, "send_json_messages", send)
