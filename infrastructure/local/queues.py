"""Runs the app's ``@app.on_sqs_message`` handlers against moto's SQS, as Lambda's event source
mapping would on AWS (``chalice local`` does not). The handlers are the deployed ones; only the
poller is local.

    from app import app
    with LocalQueueRunner(app):      # threads poll each queue and invoke its handler
        ...
    run_queues_until_empty(app)      # or: in this thread, until every queue is empty (tests)
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from chalice.app import Chalice, SQSEventConfig
from chalice.local import LambdaContext

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
FILE_BUCKETS = ("pregon-files", "pregon-inbound")  # attachments; raw inbound mail (I3)


def _sqs() -> Any:
    """One SQS client per endpoint (a new session per poll costs most of a poll)."""
    import os

    return _sqs_for(os.environ.get("AWS_ENDPOINT_URL_SQS") or os.environ.get("AWS_ENDPOINT_URL"))


# Connections the shared client keeps: every queue's and topic's polling threads use it at once
# (botocore keeps 10 by default, and the stack's ~30 threads made it drop and reopen connections,
# warning "Connection pool is full" at each stop).
SQS_CONNECTIONS = 64


@functools.lru_cache(maxsize=4)
def _sqs_for(endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("sqs", config=Config(max_pool_connections=SQS_CONNECTIONS))


@functools.lru_cache(maxsize=64)
def _queue_url(endpoint: str, queue: str) -> str:
    """A queue's URL at an endpoint (it never changes there: the tests purge before each test, and
    asking each time was six requests a test; every consumer's first poll asked it too, six
    requests more each time a test ran the queues until empty)."""
    return str(_sqs().get_queue_url(QueueName=queue)["QueueUrl"])


def ensure_local_resources(app: Chalice | None = None, buckets: tuple[str, ...] = FILE_BUCKETS) -> None:
    """Create the app's queues, the file buckets, SES's configuration set with its event
    destination (the SNS topic of delivery events), and each SNS handler's topic with the queue
    that carries it to the handler locally (:mod:`infrastructure.local.topics`) in moto
    (idempotent)."""
    import boto3

    from infrastructure.local.topics import ensure_topic_subscriptions

    names = _queue_names(app)
    for name in names:
        if not _dead_letters_of_another(name, names):  # made with the queue it serves
            ensure_queue(name)
    s3 = boto3.session.Session().client("s3")
    for bucket in buckets:
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)
    _ensure_ses_events()
    ensure_topic_subscriptions(app)


# As the deployment's redrive policies (infrastructure/aws/synth.py): the fifth failed receive of
# a message moves it to ``<queue>-dead``, where it is kept 14 days.
DEAD_LETTER_RECEIVES = 5
DEAD_LETTER_SUFFIX = "-dead"


def _dead_letters_of_another(name: str, names: list[str]) -> bool:
    """Whether ``name`` is the dead-letter queue of another of the app's queues (a handler that
    reads what SQS gave up on, e.g. ``give_up_history_export``)."""
    return name.endswith(DEAD_LETTER_SUFFIX) and name.removesuffix(DEAD_LETTER_SUFFIX) in names


def ensure_queue(name: str) -> str:
    """A queue with its dead-letter queue, as deployed (idempotent); returns its URL. Without
    one, a message its handler always fails came back every visibility timeout for ever."""
    sqs = _sqs()
    dead_url = sqs.create_queue(
        QueueName=name + DEAD_LETTER_SUFFIX, Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url: str = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    redrive = {"deadLetterTargetArn": dead_arn, "maxReceiveCount": DEAD_LETTER_RECEIVES}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})
    return url


def _ensure_ses_events() -> None:
    """The configuration set every SES send names, publishing its events to the SNS topic that
    ``events.ses_events`` subscribes to, as the deployment has them. (moto accepts a send that
    names a configuration set without checking it, and publishes no events itself.)"""
    import boto3
    from botocore.exceptions import ClientError

    from chalicelib.core.settings import get_settings
    from chalicelib.events.ses_events import SES_EVENT_TYPES, SES_EVENTS_QUEUE, SES_EVENTS_TOPIC

    session = boto3.session.Session()
    sns = session.client("sns")
    topic_arn = sns.create_topic(Name=SES_EVENTS_TOPIC)["TopicArn"]
    # The topic delivers into the queue ``ses_events`` reads, raw (the body is SES's JSON), as
    # the deployment's subscription does (infrastructure/aws/synth.py).
    sqs = _sqs()
    queue_url = ensure_queue(SES_EVENTS_QUEUE)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if not any(
        s["Endpoint"] == queue_arn
        for s in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    ):
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
            ReturnSubscriptionArn=True,
        )
    name = get_settings().ses_configuration_set
    exists = (
        "AlreadyExistsException",
        "ConfigurationSetAlreadyExists",
        "ConfigurationSetAlreadyExistsException",
        "EventDestinationAlreadyExists",
    )
    try:
        session.client("sesv2").create_configuration_set(ConfigurationSetName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in exists:
            raise
    try:
        session.client("ses").create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestination={
                "Name": f"{name}-sns",
                "Enabled": True,
                "MatchingEventTypes": [t.lower() for t in SES_EVENT_TYPES],
                "SNSDestination": {"TopicARN": topic_arn},
            },
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in exists:
            raise


def _queue_names(app: Chalice | None) -> list[str]:
    if app is None:
        from app import app as pregon

        app = pregon
    return [s.queue for s in app.event_sources if isinstance(s, SQSEventConfig) and s.queue]


@dataclass
class QueueConsumer:
    name: str
    queue: str
    handler: Callable[[dict[str, Any], Any], Any]
    batch_size: int
    url: str = ""
    visibility_timeout: int | None = None  # the queue's own when None; tests shorten it to see a retry

    def poll_once(self, wait_seconds: int = 0, results: list[Any] | None = None) -> int:
        """Receive up to one batch and hand it to the handler; returns how many were handled
        (and appends the handler's answer to ``results``). Messages are deleted only when the
        handler returns, as Lambda does; from a handler that reports batch item failures
        (``chalicelib.events.REPORTS_BATCH_ITEM_FAILURES``), all but the ones it names."""
        sqs = _sqs()
        if not self.url:
            self.url = _queue_url(sqs.meta.endpoint_url, self.queue)
        receive: dict[str, Any] = {}
        if self.visibility_timeout is not None:  # 0: at once visible again when the handler fails
            receive["VisibilityTimeout"] = self.visibility_timeout
        answer = sqs.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=min(self.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["ApproximateReceiveCount"],
            **receive,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{self.queue}"
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": m.get("MessageAttributes", {}),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        context = LambdaContext(f"pregon-local-{self.name}", memory_size=512, max_runtime_ms=900_000)
        answer_of_handler = self.handler(event, context)
        if results is not None:
            results.append(answer_of_handler)
        failed = _failed_ids(self.name, answer_of_handler)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
        return len(messages)


def _failed_ids(handler_name: str, answer: Any) -> set[str]:
    """The records a partial-batch handler asked to have again (they stay in the queue and come
    back after the visibility timeout, as on AWS)."""
    from chalicelib.events import REPORTS_BATCH_ITEM_FAILURES

    if handler_name not in REPORTS_BATCH_ITEM_FAILURES or not isinstance(answer, dict):
        return set()
    return {
        str(f.get("itemIdentifier")) for f in answer.get("batchItemFailures") or [] if isinstance(f, dict)
    }


def consumers(app: Chalice) -> list[QueueConsumer]:
    return [
        QueueConsumer(source.name, source.queue, app.handler_map[source.name], source.batch_size)
        for source in app.event_sources
        if isinstance(source, SQSEventConfig) and source.queue
    ]


def run_queues_until_empty(app: Chalice, max_rounds: int = 1000) -> list[Any]:
    """Invoke the handlers in this thread until every queue is empty; returns their answers.

    Round after round over the queues; a queue found empty after the last handler ran is not
    asked again (here only a handler puts a message on a queue): one call that handles one batch
    of the outbox asks SQS 9 times, not 16 (each empty receive costs moto and the caller ~3 ms of
    CPU, and the tests run the workers thousands of times)."""
    results: list[Any] = []
    workers = consumers(app)
    empty: set[str] = set()
    for _ in range(max_rounds):
        for consumer in workers:
            if consumer.queue in empty:
                continue
            if consumer.poll_once(results=results):
                empty.clear()  # its handler may have put messages on any queue, this one too
            else:
                empty.add(consumer.queue)
        if len(empty) == len(workers):
            return results
    raise RuntimeError(f"queues still not empty after {max_rounds} rounds")


def purge_queues(app: Chalice) -> int:
    """Drop every message waiting in the app's queues (SQS allows one PurgeQueue a minute, so
    this receives and deletes instead). Returns how many were dropped."""
    sqs = _sqs()
    dropped = 0
    for consumer in consumers(app):
        url = _queue_url(sqs.meta.endpoint_url, consumer.queue)
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
            dropped += len(messages)
    return dropped


class LocalQueueRunner:
    """``workers`` threads per queue, each long-polling and invoking the handler, until stop();
    and one thread per SNS handler, delivering what is published to its topic
    (:mod:`infrastructure.local.topics`)."""

    def __init__(self, app: Chalice, *, workers: int = 2) -> None:
        self.app = app
        self.workers = workers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failures = 0

    def _loop(self, consumer: Any) -> None:
        while not self._stop.is_set():
            try:
                consumer.poll_once(wait_seconds=1)
            except Exception:
                self.failures += 1
                log.exception(
                    "queue handler %s failed; the message comes back after its timeout", consumer.name
                )
                self._stop.wait(1.0)

    def start(self) -> LocalQueueRunner:
        for consumer in consumers(self.app):
            for n in range(self.workers):
                worker = QueueConsumer(consumer.name, consumer.queue, consumer.handler, consumer.batch_size)
                thread = threading.Thread(
                    target=self._loop,
                    args=(worker,),
                    name=f"queue-{consumer.name}-{n}-{uuid.uuid4().hex[:4]}",
                )
                thread.daemon = True
                thread.start()
                self._threads.append(thread)
        from infrastructure.local.topics import topic_consumers

        for topic_consumer in topic_consumers(self.app):
            thread = threading.Thread(
                target=self._loop, args=(topic_consumer,), name=f"topic-{topic_consumer.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def __enter__(self) -> LocalQueueRunner:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
