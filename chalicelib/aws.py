"""boto3 clients, built lazily and once per process.

Endpoints come from boto3's standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables, so the same code
talks to AWS in a deployment and to the local engines (moto, DynamoDB Local) on a laptop.
"""

from __future__ import annotations

from functools import cache
from typing import Any

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


@cache
def client(service: str) -> Any:
    import boto3

    return boto3.session.Session().client(service)  # type: ignore[call-overload]


def reset_clients() -> None:
    client.cache_clear()
