"""SNS topics work locally: whatever the app subscribes with ``@app.on_sns_message`` (inbound
mail, inbound SMS) is delivered to the same handler, with the event Lambda gets, whenever
anything publishes to the topic in moto. One mechanism for every handler, none per handler.

How: for each SNS handler, a queue ``pregon-local-sns-<handler>`` is subscribed to its topic in
moto (SNS → SQS fan-out, which moto does on every publish, from any client). The consumer polls it
like the SQS event sources (:mod:`infrastructure.local.queues`) and turns each SQS body, the SNS
envelope (``Type``, ``MessageId``, ``TopicArn``, ``Message``, ``MessageAttributes``, ...), into the
``{"Records": [{"EventSource": "aws:sns", "Sns": {...}}]}`` event Lambda invokes the function
with (one record per invocation, as Lambda does for SNS). A handler that raises is tried again
after a minute, then two, as Lambda retries an asynchronous invocation twice; after the third
failure the event is parked in ``pregon-local-async-failures`` for 14 days, as the deployed
functions park theirs in ``<stack>-async-failures`` (their dead-letter queue), and logged.

    ensure_topic_subscriptions(app)     # topics, queues and subscriptions in moto (idempotent)
    run_topics_until_empty(app)         # tests: in this thread, until nothing is waiting

Why not moto's HTTP subscriptions: moto posts to an HTTP endpoint inside the ``Publish`` call, so a
slow handler would hold up whoever publishes, and a failed delivery would be lost; a queue keeps
the notification until the handler has taken it, as Lambda's own retries do.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from chalice.app import Chalice, SNSEventConfig
from chalice.local import LambdaContext

from infrastructure.local.queues import ACCOUNT_ID, _queue_url, _sqs

log = logging.getLogger(__name__)

REGION = "us-east-1"
QUEUE_PREFIX = "pregon-local-sns-"
# What the deployed stack calls ``<stack>-async-failures`` (infrastructure/aws/operations.py).
ASYNC_FAILURES_QUEUE = "pregon-local-async-failures"
VISIBILITY_TIMEOUT = 60
RETRY_DELAYS = (60, 120)  # seconds before Lambda's two retries of a failed asynchronous invocation


def topic_arn(topic: str) -> str:
    return topic if topic.startswith("arn:") else f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic}"


def topic_sources(app: Chalice) -> list[SNSEventConfig]:
    return [s for s in app.event_sources if isinstance(s, SNSEventConfig)]


def ensure_topic_subscriptions(app: Chalice | None = None) -> dict[str, str]:
    """Create each SNS handler's topic and queue in moto and subscribe the queue to the topic;
    returns ``{handler name: topic ARN}``. Idempotent (moto answers the existing ones)."""
    import boto3

    if app is None:
        from app import app as pregon

        app = pregon
    sns = boto3.session.Session().client("sns")
    sqs = _sqs()
    sqs.create_queue(QueueName=ASYNC_FAILURES_QUEUE, Attributes={"MessageRetentionPeriod": "1209600"})
    arns: dict[str, str] = {}
    for source in topic_sources(app):
        name = source.topic.rsplit(":", 1)[-1]
        arn = sns.create_topic(Name=name)["TopicArn"]
        url = sqs.create_queue(
            QueueName=QUEUE_PREFIX + source.name,
            Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT)},
        )["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        queue_arn = attributes["QueueArn"]
        existing = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
        if not any(s["Endpoint"] == queue_arn for s in existing):
            sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        arns[source.name] = arn
    return arns


def lambda_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The record Lambda's SNS trigger hands a function, from the envelope SNS delivers to SQS."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope.get("MessageId", ""),
            "TopicArn": envelope.get("TopicArn", ""),
            "Subject": envelope.get("Subject"),
            "Message": envelope.get("Message", ""),
            "Timestamp": envelope.get("Timestamp", ""),
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", ""),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "MessageAttributes": envelope.get("MessageAttributes", {}),
        },
    }


@dataclass
class TopicConsumer:
    """Polls one SNS handler's queue and invokes the handler once per notification."""

    name: str
    topic: str
    handler: Any
    url: str = ""
    retry_delays: tuple[int, ...] = RETRY_DELAYS

    @property
    def queue(self) -> str:
        return QUEUE_PREFIX + self.name

    def poll_once(self, wait_seconds: int = 0, results: list[Any] | None = None) -> int:
        sqs = _sqs()
        if not self.url:
            self.url = _queue_url(sqs.meta.endpoint_url, self.queue)
        messages = sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        handled = 0
        for message in messages:
            envelope = json.loads(message["Body"])
            subscription = f"{topic_arn(self.topic)}:local-{self.name}"
            event = {"Records": [lambda_record(envelope, subscription)]}
            context = LambdaContext(f"pregon-local-{self.name}", memory_size=512, max_runtime_ms=900_000)
            try:
                answer = self.handler(event, context)
            except Exception as exc:
                self._failed(message, event, context.aws_request_id, exc)
                continue
            if results is not None:
                results.append(answer)
            sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
        return handled

    def _failed(
        self, message: dict[str, Any], event: dict[str, Any], request_id: str, error: Exception
    ) -> None:
        attempt = int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
        sqs = _sqs()
        if attempt > len(self.retry_delays):
            # As Lambda's dead-letter queue holds it: the event as the body; the last invocation's
            # request id, the invoke's status code and the first KB of the error as attributes.
            parked = sqs.get_queue_url(QueueName=ASYNC_FAILURES_QUEUE)["QueueUrl"]
            sqs.send_message(
                QueueUrl=parked,
                MessageBody=json.dumps(event),
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": request_id},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {
                        "DataType": "String",
                        "StringValue": (str(error) or type(error).__name__)[:1024],
                    },
                },
            )
            log.exception(
                "SNS handler %s failed %d times (request %s); the event is parked in %s",
                self.name,
                attempt,
                request_id,
                ASYNC_FAILURES_QUEUE,
            )
            sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            return
        delay = self.retry_delays[attempt - 1]
        log.exception("SNS handler %s failed (attempt %d); tried again in %ss", self.name, attempt, delay)
        sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )


def topic_consumers(app: Chalice) -> list[TopicConsumer]:
    return [TopicConsumer(s.name, s.topic, app.handler_map[s.name]) for s in topic_sources(app)]


def run_topics_until_empty(app: Chalice, max_rounds: int = 100) -> list[Any]:
    """Deliver every waiting notification to its handler, in this thread; the handlers' answers."""
    results: list[Any] = []
    workers = topic_consumers(app)
    for _ in range(max_rounds):
        if not sum(c.poll_once(results=results) for c in workers):
            return results
    raise RuntimeError(f"topic queues still not empty after {max_rounds} rounds")
