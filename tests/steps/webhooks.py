"""A company's own server receiving Pregón's webhooks: a real HTTP server on a local socket that
answers as told and checks every signature with the recipe docs/webhooks.md gives its readers."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from infrastructure.local.paths import REPO_ROOT


def documented_verifier() -> Callable[..., bool]:
    """``verify`` exactly as docs/webhooks.md prints it (its one ```python block), run."""
    guide = (REPO_ROOT / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [source] = re.findall(r"```python\n(.*?)```", guide, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(source, "docs/webhooks.md", "exec"), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then 200), ``location`` on a 3xx, and
    ``answer`` as its body."""

    statuses: list[int] = field(default_factory=list)
    location: str | None = None
    answer: bytes = b"internal details of the receiver, never to be shown"
    received: list[Received] = field(default_factory=list)

    def __enter__(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/pregon/events?source=pregon"

    def events(self, secret: str, now: float) -> list[dict[str, Any]]:
        """The events received, each checked with the documented verifier (an unsigned or
        wrongly signed one fails the test)."""
        verify = documented_verifier()
        for got in self.received:
            assert got.headers["Content-Type"] == "application/json"
            assert verify(secret, got.headers["Pregon-Signature"], got.body, now=now), got.headers
            assert got.headers["Pregon-Event-Id"] == got.event["id"]
        return [got.event for got in self.received]


def webhook_queue_url() -> str:
    from chalicelib.core.aws import client
    from chalicelib.messaging.webhooks.service import webhooks_queue

    url: str = client("sqs").get_queue_url(QueueName=webhooks_queue())["QueueUrl"]
    return url


def drain_webhook_queue() -> None:
    """Start with no webhook waiting from another test."""
    from chalicelib.core.aws import client

    sqs, url = client("sqs"), webhook_queue_url()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )


def deliver_webhooks() -> list[dict[str, int]]:
    """The event source mapping: every waiting webhook message to the deployed worker, until none
    is left (retries queued with no delay come back in the same call); the worker's answers."""
    from app import app
    from infrastructure.local.queues import consumers

    [consumer] = [c for c in consumers(app) if c.name == "deliver_webhook"]
    consumer.url = webhook_queue_url()  # the test's own queue, when it set PREGON_WEBHOOKS_QUEUE
    answers: list[dict[str, int]] = []
    while consumer.poll_once(results=answers):
        pass
    return answers


def outcomes(answers: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for answer in answers:
        for name, n in answer.items():
            total[name] = total.get(name, 0) + n
    return total


@contextmanager
def webhook_queue_refusing(times: int) -> Iterator[list[int]]:
    """SQS answers 500 to the next ``times`` sends to the webhook queue, at the wire of the client
    that sends them (botocore's retries see each); the list counts the sends tried."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    from chalicelib.core.aws import sending_client
    from tests.steps.aws import RawBody

    events = sending_client("sqs").meta.events
    tried: list[int] = []

    def refuse(request: Any, **_: Any) -> Any:  # a response short-cuts the HTTP send
        tried.append(1)
        if len(tried) > times:
            return None
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        body = json.dumps({"__type": "com.amazonaws.sqs#InternalError", "message": "injected"}).encode()
        return AWSResponse(request.url, 500, headers, RawBody(body))

    name = "before-send.sqs.SendMessageBatch"
    events.register(name, refuse, unique_id="webhook-queue-refusing")
    try:
        yield tried
    finally:
        events.unregister(name, unique_id="webhook-queue-refusing")
