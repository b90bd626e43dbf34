"""boto3 clients, built lazily and once per process, all from one botocore session.

A botocore session reads and parses each service's model and endpoint rules once (about 70 ms
of CPU for DynamoDB); a client made from a new session pays that again. PynamoDB gives every
model's connection a session of its own, so a cold worker spent about 5 s of CPU on 42 table
clients (issue 14); ``store`` makes them from :func:`botocore_session` instead (3 ms each).

Endpoints come from boto3's standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables, so the same code
talks to AWS in a deployment and to the local engines (moto, DynamoDB Local) on a laptop.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

# A session is not thread-safe while it makes a client (clients themselves are): one at a time.
CLIENT_CREATION = threading.RLock()

# AWS error codes that say "not now": a message refused with one is tried again later.
TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "LimitExceededException",
    }
)


# Loggers of the AWS SDK and the libraries under it, and what they write at DEBUG: botocore every
# request and response body (KMS ``Encrypt``'s plaintext and ``Decrypt``'s answer: the secrets
# tenants store, base64-encoded) and its signed headers (on Lambda, the role's session token);
# PynamoDB every item it writes; urllib3 every URL. None of them may log below INFO, whatever level
# the function's logging is set to (Lambda's ``ApplicationLogLevel``, a developer's ``--log-level``).
SDK_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "pynamodb")


def quiet_sdk_loggers() -> None:
    """Set the SDK's loggers to INFO unless they are set higher: their own level, not the one they
    inherit, since the root's may be lowered later (Lambda's runtime, a test's ``caplog``)."""
    import logging

    for name in SDK_LOGGERS:
        sdk = logging.getLogger(name)
        if sdk.level < logging.INFO:  # NOTSET (inherit) included
            sdk.setLevel(logging.INFO)


@cache
def botocore_session() -> Any:
    """The process's one botocore session (its loader keeps the parsed service models). Every AWS
    client and PynamoDB connection is made from it, so its making is where the SDK's loggers are
    kept from writing request bodies."""
    import botocore.session

    quiet_sdk_loggers()
    return botocore.session.get_session()


@cache
def _boto3_session() -> Any:
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())  # one: it registers its handlers


@cache
def client(service: str) -> Any:
    with CLIENT_CREATION:
        return _boto3_session().client(service)


# The clients that send a message (SES SendEmail, SNS Publish) keep one send within the channels'
# bound (``channels.base.SEND_SECONDS``, 60 s) even while AWS is out: botocore's defaults (60 s to
# connect, 60 s for each read, retried) could hold it for minutes. At worst 3 attempts of 3 + 10 s
# and the backoff between them (standard retries: at most 1 and 2 s, plus 5 s each when AWS asks
# for a wait with ``x-amz-retry-after``) take 52 s.
SENDING_CONNECT_SECONDS = 3
SENDING_READ_SECONDS = 10
SENDING_ATTEMPTS = 3


@cache
def sending_client(service: str) -> Any:
    """The client of ``service`` that sends messages: ``client(service)``'s endpoint and
    credentials, with the short timeouts and few retries above."""
    from botocore.config import Config

    config = Config(
        connect_timeout=SENDING_CONNECT_SECONDS,
        read_timeout=SENDING_READ_SECONDS,
        retries={"mode": "standard", "total_max_attempts": SENDING_ATTEMPTS},
    )
    with CLIENT_CREATION:
        return _boto3_session().client(service, config=config)


@cache
def queue_url(name: str) -> str:
    return str(client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def send_json_messages(queue_name: str, bodies: list[dict[str, Any]]) -> None:
    """Put JSON messages on a queue, ten to a request (SQS's batch limit)."""
    import json

    url = queue_url(queue_name)
    entries = [{"Id": str(n), "MessageBody": json.dumps(body)} for n, body in enumerate(bodies)]
    for start in range(0, len(entries), 10):
        client("sqs").send_message_batch(QueueUrl=url, Entries=entries[start : start + 10])


def reset_clients() -> None:
    client.cache_clear()
    sending_client.cache_clear()
    queue_url.cache_clear()
    _boto3_session.cache_clear()
    botocore_session.cache_clear()
