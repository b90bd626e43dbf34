"""AWS's refusals in words a company may read.

AWS words an error for the account that called it: Pregón's. Its message can name our account id,
the role that called (``User: arn:aws:sts::<account>:assumed-role/<role>/<session> is not
authorized...``), ARNs of our resources or of another company's (SNS's "Endpoint arn:... already
exists with the same Token"), request ids and our resources' names. A company reads what we tell
it (a message's ``error`` in the history and the console, an API answer), so it is told AWS's
error code and the part of the message about its own data, with those replaced by placeholders;
the whole answer goes to the log, which is ours, with a client's address, phone or token in it
masked as in every log line (docs/operations.md, "What the logs hold"). SES's events about a message
(a reject's reason, a bounce's diagnostic) are read the same way before they are stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.core.errors import DeliveryFailed

#: What an ARN, an account id, a role or a request id becomes in what a company reads.
AWS_RESOURCE = "[AWS resource]"
ACCOUNT = "[account]"
REQUEST_ID = "[request id]"
OUR_NAME = "[Pregón resource]"

# An ARN runs to a space, a quote or a bracket; SNS writes one glued to a word ("arnarn:aws...").
_ARN = re.compile(r"arn:aws[a-z-]*:[^\s\"'`,;()<>\[\]{}]*")
_ROLE = re.compile(r"\b(?:assumed-role|role|user)/[\w+=,.@/-]+")
# 12 digits alone: an account id. Not part of a longer number, nor a phone number (+54911...).
_ACCOUNT_ID = re.compile(r"(?<![\d+])\d{12}(?!\d)")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_REQUEST_ID = re.compile(r"(?i)\brequest[ _-]?id\s*[:=]?\s*[\w-]+")
_MAX_TEXT = 300


def _our_names() -> list[str]:
    """Names of our own resources an error may quote (the queue, the buckets, the KMS key...)."""
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    names = (
        settings.ses_configuration_set,
        settings.outbox_queue,
        settings.files_bucket,
        settings.inbound_bucket,
        settings.kms_key_id,
    )
    # longest first, so that a name holding another is replaced whole
    return sorted({name for name in names if len(name) >= 4}, key=len, reverse=True)


def tenant_safe(text: str, limit: int = _MAX_TEXT) -> str:
    """``text`` (AWS's words) without ARNs, role names, account ids, request ids and our resources'
    names, at most ``limit`` characters; the rest (what it says of the company's address, token or
    identity) stays. Every provider text a company reads goes through it: an AWS call's refusal
    (:func:`aws_refusal`) and what SES's events say of a message (``messaging.feedback``: a reject's
    reason, a bounce's diagnostic, a complaint's feedback type)."""
    text = _ARN.sub(AWS_RESOURCE, text)
    text = _ROLE.sub(AWS_RESOURCE, text)
    text = _REQUEST_ID.sub(REQUEST_ID, text)
    text = _UUID.sub(REQUEST_ID, text)
    text = _ACCOUNT_ID.sub(ACCOUNT, text)
    for name in _our_names():
        text = text.replace(name, OUR_NAME)
    return text[:limit]


def aws_refusal(exc: Exception, service: str, **log_keys: Any) -> str:
    """What ``exc`` (AWS's answer to a call to ``service``) tells a company: ``<Code>: <message>``
    of a refusal, ``<ErrorClass>`` of a call that got no answer, in :func:`tenant_safe` words. Its
    whole text, code and request id are logged, with ``log_keys`` (a company, a message...)."""
    from botocore.exceptions import ClientError

    from chalicelib.core.observability import logger

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Error")
        said = str(error.get("Message") or "")
        request_id = exc.response.get("ResponseMetadata", {}).get("RequestId")
    else:  # no answer (a connection, a timeout, no credentials): its class says which
        code, said, request_id = type(exc).__name__, "", None
    logger().warning(
        "AWS refused a call",
        extra={
            "service": service,
            "aws_code": code,
            "aws_error": str(exc)[:2000],
            "aws_request_id": request_id,
            **log_keys,
        },
    )
    words = tenant_safe(said).strip()
    return f"{tenant_safe(code)}: {words}" if words else tenant_safe(code)


@contextmanager
def delivery_errors(service: str, **log_keys: Any) -> Iterator[None]:
    """Turn an AWS send's failure into ``DeliveryFailed`` in :func:`aws_refusal` words, transient
    when AWS says "not now" (throttling, unavailable) or the connection failed. A refusal AWS
    answered at the first try with a 4xx status is ``not_taken`` (nothing was sent); a 5xx, a retried
    call (an earlier try may have sent) or no answer may have sent."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.core.aws import TRANSIENT_AWS_CODES

    try:
        yield
    except ClientError as exc:
        why = aws_refusal(exc, service, **log_keys)
        transient = exc.response.get("Error", {}).get("Code") in TRANSIENT_AWS_CODES
        meta = exc.response.get("ResponseMetadata", {})
        not_taken = 400 <= int(meta.get("HTTPStatusCode") or 500) < 500 and not meta.get("RetryAttempts")
        raise DeliveryFailed(
            f"{service} refused the message: {why}", transient=transient, not_taken=not_taken
        ) from exc
    except BotoCoreError as exc:
        why = aws_refusal(exc, service, **log_keys)
        raise DeliveryFailed(f"{service} did not answer: {why}", transient=True) from exc
