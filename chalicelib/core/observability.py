"""Powertools Logger and Metrics, built on first use (not at import)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service="pregon")


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
