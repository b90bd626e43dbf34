"""Powertools Logger and Metrics, built on first use (not at import).

What the logs may hold (docs/operations.md, "What the logs hold"): ids (company, client,
communication, job, endpoint...), counts, states, codes, and texts about them with every client's
personal data and every secret masked. Call sites log ids; :class:`PrivateFormatter`, the logger's
formatter, passes every string it writes through :func:`masked` as well, so that a provider's
error text, an exception's message or a traceback that quotes an address, a phone, a token or a
link's query is masked even where a call site forgot."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

#: What a masked value becomes in a log line.
MASKED_ADDRESS = "[address]"
MASKED_PHONE = "[phone]"
MASKED_SECRET = "[secret]"  # noqa: S105  # nosec B105 # what a secret becomes, not one
MASKED_QUERY = "[query]"
MASKED = "[masked]"

# An extra key whose whole value is a secret, whatever it holds.
_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|token|authorization|api_?key|cookie|jwt|credential")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a link's query (a presigned URL's signature, a token in a link) goes; where it pointed stays
    (re.compile(r"(?i)\b((?:https?|imaps?|smtps?)://[^\s?#\"'<>]+)\?[^\s\"'<>]*"), rf"\1?{MASKED_QUERY}"),
    # credentials in a URL (scheme://user:password@host)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:\"']+:[^\s/@\"']+@"), rf"\1{MASKED_SECRET}@"),
    (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"), MASKED_SECRET),  # a JWT
    (re.compile(r"\b(pk_[0-9a-f]+)\.[\w-]+"), rf"\1.{MASKED_SECRET}"),  # an API key: its id stays
    (re.compile(r"\b(?:whsec|op)_[\w-]{16,}"), MASKED_SECRET),  # a webhook secret, an operator token
    (re.compile(r"(?i)\b(bearer|apikey|basic|operator)\s+[\w.~+/=-]{8,}"), rf"\1 {MASKED_SECRET}"),
    # a secret named: "password=...", "token: ...", 'password "..."'
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|api[_-]?key|signature|credential)s?(\s*[=:]\s*|\s+(?=[\"']))"
            r"(?:\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
        ),
        rf"\1\2{MASKED_SECRET}",
    ),
    # an e-mail address, plain, quoted-printable (=40) or URL-encoded (%40)
    (re.compile(r"(?i)[\w.!#$%&'*+/=?^`{|}~-]+(?:@|=40|%40)[a-z0-9-]+(?:\.[a-z0-9-]+)+"), MASKED_ADDRESS),
    # a phone: international (+...), or 9 to 15 digits standing alone
    (re.compile(r"(?<![\w+])(?:\+|%2B|00)\d[\d ().-]{6,18}\d(?![\w])"), MASKED_PHONE),
    (re.compile(r"(?<![\w.:/-])\d{9,15}(?![\w])"), MASKED_PHONE),
)
# a phone as dialled at home: groups of digits with a space among their separators ("611 22 33 44",
# "011 15 5987-6543"), 8 digits or more; a date ("2026-12-05") has no space, a time is glued to ":"
_DIALLED = re.compile(r"(?<![\w.:,/+-])\d{2,5}(?:[ -]\d{2,5}){2,5}(?![\w:,]|\.\d)")


def _dialled(found: re.Match[str]) -> str:
    text = found.group()
    return MASKED_PHONE if " " in text and sum(c.isdigit() for c in text) >= 8 else text


def masked(text: str, *known: str | None) -> str:
    """``text`` with every e-mail address, phone number, token, API key, secret, credential in a
    URL and link query masked, and each of ``known`` (a value the caller knows is personal: the
    client's name, a mailbox's user) too. The one redactor of what Pregón logs."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _DIALLED.sub(_dialled, text)
    for value in sorted({k for k in known if k and len(k) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(value), MASKED, text, flags=re.IGNORECASE)
    return text


def payload_shape(text: str) -> dict[str, Any]:
    """What the log says of a payload Pregón could not read (an SES notification, an inbound SMS):
    its size and, when it is a JSON object, its keys two levels down, never a value (it holds
    addresses, phones and message bodies)."""
    import json

    shape: dict[str, Any] = {"chars": len(text)}
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return shape | {"json": False}
    if isinstance(data, dict):
        shape["keys"] = {
            str(k)[:40]: sorted(str(s)[:40] for s in v)[:20] if isinstance(v, dict) else type(v).__name__
            for k, v in list(data.items())[:20]
        }
    else:
        shape["json"] = type(data).__name__
    return shape


def _masked_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        return MASKED_SECRET if value and _SECRET_KEY.search(key) else masked(value)
    if isinstance(value, dict):
        return {k: _masked_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked_value(key, v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _masked_value(key, str(value))  # an exception, a date...: written as its text


def _private_formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class PrivateFormatter(LambdaPowertoolsFormatter):
        """Powertools' JSON lines, every string in them (the message, each key's value, the
        exception and its traceback) passed through :func:`masked` before it is written."""

        def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
            return str(super().serialize({k: _masked_value(k, v) for k, v in log.items()}))

    return PrivateFormatter()


@lru_cache(maxsize=1)
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service="pregon", logger_formatter=_private_formatter())


@lru_cache(maxsize=1)
def metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(service="pregon", namespace="Pregon")


def observe(event: Any, get_response: Any) -> Any:
    """Chalice middleware for every event type: structured logs carry the request id and the
    handler; metrics collected during the invocation are flushed when it ends."""
    log = logger()
    context = getattr(event, "context", None)
    request_id = None
    if isinstance(context, dict):  # HTTP: API Gateway's request context
        request_id = context.get("requestId")
    elif context is not None:  # other events: the Lambda context
        request_id = getattr(context, "aws_request_id", None)
    log.append_keys(request_id=request_id, event_type=type(event).__name__)
    try:
        return get_response(event)
    finally:
        collected = metrics()
        if collected.metric_set:
            collected.flush_metrics()
        log.remove_keys(["request_id", "event_type"])


def channel_metric(name: str, channel: str, value: float, unit: str = "Count") -> None:
    """One figure for one channel (sent, failed, queued; outbox age), published at once with the
    dimensions the operations dashboard reads: ``service`` and ``Channel``."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name,
        unit=MetricUnit[unit],
        value=value,
        namespace="Pregon",
        default_dimensions={"service": "pregon"},
    ) as metric:
        metric.add_dimension(name="Channel", value=channel)
