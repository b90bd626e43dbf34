"""Fires the app's ``@app.schedule`` functions locally, which ``chalice local`` does not do.

    from app import app
    with LocalScheduler(app):
        ...   # every scheduled function ran once now, and then runs again at its rate

Each scheduled function gets its own daemon thread, so a slow sweep never delays another. Runs are
start-to-start at the function's rate and never overlap. The handler receives the CloudWatch
"Scheduled Event" that EventBridge would send. An exception is logged with its traceback and the
schedule carries on. ``rate(...)`` expressions (strings or ``chalice.Rate``) are supported; ``cron``
expressions are logged and skipped.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from chalice.app import Chalice, Cron, Rate, ScheduledEventConfig
from chalice.local import LambdaContext

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str | Rate | Cron | Any) -> float | None:
    """Seconds between runs for a ``rate(...)`` expression; None for ``cron(...)``."""
    if isinstance(expression, Rate):
        unit = expression.unit.lower().rstrip("s")
        return float(expression.value * _UNIT_SECONDS[unit])
    if isinstance(expression, Cron):
        return None
    text = str(expression).strip()
    match = _RATE.match(text)
    if match:
        return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower().rstrip("s")])
    if text.lower().startswith("cron("):
        return None
    raise ValueError(f"unsupported schedule expression: {text!r}")


def expression_text(expression: str | Rate | Cron | Any) -> str:
    if isinstance(expression, Rate | Cron):
        return expression.to_string()
    return str(expression)


@dataclass
class ScheduledFunction:
    """One ``@app.schedule`` function and what the scheduler knows about its runs."""

    name: str
    expression: str
    interval_seconds: float
    handler: Callable[[dict[str, Any], Any], Any]
    runs: int = 0
    failures: int = 0
    last_error: BaseException | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class LocalScheduler:
    """Invokes every scheduled function of ``app`` once at start, then at its rate, until stop()."""

    def __init__(
        self,
        app: Chalice,
        *,
        region: str = "us-east-1",
        stage: str = "local",
        max_runtime_ms: int = 60_000,
    ) -> None:
        self.app = app
        self.region = region
        self.stage = stage
        self.max_runtime_ms = max_runtime_ms
        self.jobs: dict[str, ScheduledFunction] = {}
        self.skipped: dict[str, str] = {}
        for source in app.event_sources:
            if not isinstance(source, ScheduledEventConfig):
                continue
            text = expression_text(source.schedule_expression)
            interval = rate_seconds(source.schedule_expression)
            if interval is None:
                log.warning("skipping %s: cron schedules are not run locally (%s)", source.name, text)
                self.skipped[source.name] = text
                continue
            self.jobs[source.name] = ScheduledFunction(
                name=source.name,
                expression=text,
                interval_seconds=interval,
                handler=app.handler_map[source.name],
            )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def scheduled_event(self, name: str) -> dict[str, Any]:
        """The CloudWatch/EventBridge "Scheduled Event" the rule for ``name`` would send."""
        rule = f"{self.app.app_name}-{self.stage}-{name}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{rule}"],
            "detail": {},
        }

    def fire(self, name: str) -> Any:
        """Invoke one scheduled function now, in this thread; exceptions propagate."""
        job = self.jobs[name]
        context = LambdaContext(
            f"{self.app.app_name}-{self.stage}-{name}",
            memory_size=128,
            max_runtime_ms=self.max_runtime_ms,
        )
        with job._lock:
            job.runs += 1
            return job.handler(self.scheduled_event(name), context)

    def _run_safely(self, job: ScheduledFunction) -> None:
        started = time.monotonic()
        try:
            self.fire(job.name)
        except Exception as error:
            job.failures += 1
            job.last_error = error
            log.exception("scheduled function %s failed", job.name)
        else:
            job.last_error = None
            log.info("ran %s (%s) in %.2fs", job.name, job.expression, time.monotonic() - started)

    def _loop(self, job: ScheduledFunction) -> None:
        next_run = time.monotonic()
        while not self._stop.is_set():
            self._run_safely(job)
            next_run += job.interval_seconds
            now = time.monotonic()
            if next_run < now:  # the run overran its rate: go again now, without a backlog
                next_run = now
            if self._stop.wait(next_run - now):
                return

    def start(self) -> LocalScheduler:
        if self._threads:
            return self
        self._stop.clear()
        for job in self.jobs.values():
            thread = threading.Thread(target=self._loop, args=(job,), name=f"schedule-{job.name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
            log.info("scheduled %s: %s", job.name, job.expression)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop scheduling; waits up to ``timeout`` seconds for runs in progress to finish."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def __enter__(self) -> LocalScheduler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
