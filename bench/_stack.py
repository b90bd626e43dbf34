"""What the benchmarks share: the real local stack, a company, fixture data, and a DynamoDB meter.

The stack is the one the tests use (``tests/conftest.py``'s ``local_aws``): DynamoDB Local in
memory, moto in this process (KMS for sender passwords), and a MailCatcher. The MailCatcher runs in
a child process (``bench._mailserver``) so that serving SMTP never competes with the code under
measurement for this process's GIL.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any, TypeVar

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SMTP_USER, SMTP_PASSWORD = "carrier-mailer", "s3cret-smtp-password"
FROM_ADDRESS = "avisos@cargasdelsur.example"
T = TypeVar("T")


# --- the stack -----------------------------------------------------------------------------


@dataclass
class _Borrowed:
    env: dict[str, str]
    results: Path


_borrowed: _Borrowed | None = None


@contextmanager
def borrowed_servers(env: dict[str, str], results: Path) -> Iterator[None]:
    """Within this block a benchmark runs on servers already running instead of a stack of its
    own: :func:`local_stack` yields ``env`` (the test run's DynamoDB Local and moto, whose
    environment is already exported) without starting anything, :func:`mail_server` serves SMTP
    from a MailCatcher in this process (no child process), and :func:`write_result` writes under
    ``results``, never over ``bench/results``. For the test run only
    (``tests/integration/test_benchmarks_run.py``), which runs each benchmark at its smallest
    size so a change that breaks one fails a test; no figure is measured this way."""
    global _borrowed
    before = _borrowed
    _borrowed = _Borrowed(env, results)
    try:
        yield
    finally:
        _borrowed = before


@contextmanager
def local_stack(jwks_json: str | None = None) -> Iterator[dict[str, str]]:
    """DynamoDB Local (in memory) and moto, with the same environment as the tests' ``local_aws``;
    DynamoDB Local with Java's full compiler (the tests start it with the first tier only), since
    a benchmark measures a warm engine, as every benchmark run before did. ``jwks_json``: the
    keys of the identity whose tokens the benchmark sends (a new one when not given)."""
    if _borrowed is not None:
        yield _borrowed.env
        return
    from infrastructure.local.aws_env import local_aws
    from infrastructure.local.identity import LocalIdentity

    with local_aws(
        table_prefix="pregon-bench-",
        jwks_json=jwks_json or LocalIdentity().jwks_json(),
        extra={"POWERTOOLS_LOG_LEVEL": "WARNING"},
        full_jit=True,
    ) as env:
        yield env


@dataclass
class MailServer:
    """The catcher's maildir, watched cheaply: the benchmarks wait on it while the pipeline they
    time runs on the same cores, so a count is one directory listing (no pathlib objects, no
    stat) once a second, and the time a run ends is read from the files themselves
    (:meth:`last_arrival`), not from when the polling noticed."""

    port: int
    maildir: Path

    def count(self) -> int:
        # a message is written under ".<name>.partial" and renamed into place when whole
        return sum(1 for name in os.listdir(self.maildir) if not name.startswith("."))

    def wait_for(self, count: int, timeout: float = 60.0, poll: float = 1.0) -> int:
        deadline = time.monotonic() + timeout
        while (caught := self.count()) < count and time.monotonic() < deadline:
            time.sleep(poll)
        return caught

    def last_arrival(self) -> float:
        """When the last e-mail was caught (``time.time()`` scale): each file is written whole
        and renamed into place as its DATA is accepted, so its mtime is the arrival."""
        with os.scandir(self.maildir) as entries:
            return max(entry.stat().st_mtime for entry in entries if entry.name.endswith(".eml"))

    def files(self) -> list[Path]:
        return sorted(self.maildir.glob("*.eml"))


@contextmanager
def mail_server(maildir: Path, *, pipelining: bool = True) -> Iterator[MailServer]:
    """A MailCatcher (login required, like a carrier's SMTP relay) in a child process; it offers
    PIPELINING (RFC 2920) as such relays do, unless ``pipelining`` is False."""
    maildir.mkdir(parents=True, exist_ok=True)
    if _borrowed is not None:
        from infrastructure.local.mailcatcher import MailCatcher

        with MailCatcher(maildir, credentials={SMTP_USER: SMTP_PASSWORD}, pipelining=pipelining) as catcher:
            yield MailServer(catcher.port, maildir)
        return
    flags = [] if pipelining else ["--no-pipelining"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._mailserver", str(maildir), SMTP_USER, SMTP_PASSWORD, *flags],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdin: IO[str] | None = process.stdin
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip():
            raise RuntimeError("the mail server did not start")
        yield MailServer(int(line), maildir)
    finally:
        if stdin is not None:
            stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)


# --- data ----------------------------------------------------------------------------------


def make_company(smtp_port: int | None, name: str = "Cargas del Sur") -> str:
    """A company with the default catalog and an SMTP tracking sender account (as make_tenant does)."""
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.producers.tracking.monitor import configure_alert
    from chalicelib.tenants.companies import create_company

    company_id = f"co-{uuid.uuid4().hex[:10]}"
    create_company(company_id, name)
    if smtp_port is not None:
        save_sender_account(
            company_id,
            "tracking",
            {
                "kind": "smtp",
                "display_name": f"{name} Avisos",
                "from_address": FROM_ADDRESS,
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "encryption": "none",
                "username": SMTP_USER,
                "enabled": True,
            },
        )
        set_sender_password(company_id, "tracking", SMTP_PASSWORD)
    configure_alert(company_id, "tracking", enabled=True, frequency_minutes=1)
    return company_id


def parallel(fn: Callable[[T], object], items: Iterable[T], threads: int = 8) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(fn, items):
            pass


def load_due_parcels(company_id: str, count: int, *, prefix: str = "DUE") -> None:
    """``count`` parcels, each followed by one subscriber and with one pending notifiable novelty,
    made through the same use cases the API calls: issue, subscribe, record a status event."""
    from chalicelib.producers.tracking.parcels import StatusEvent, issue_parcel, record_status_event
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    occurred_at = datetime.now(timezone.utc) - timedelta(minutes=5)

    def one(i: int) -> None:
        tracking_id = f"{prefix}-{i:06d}"
        issue_parcel(company_id, tracking_id, client_id="CLI-1", waybill_number=None, waybill_issued=True)
        subscribe(
            company_id, tracking_id, Subscriber("Ana", "García", f"cliente{i}@example.com"), source="staff"
        )
        event = StatusEvent(tracking_id, f"ev-{i}", "OUT_FOR_DELIVERY", occurred_at, branch="Rosario")
        assert record_status_event(company_id, event).created

    parallel(one, range(count))


def load_idle_subscriptions(company_ids: Sequence[str], count: int, *, threads: int = 4) -> None:
    """``count`` followed parcels (already alerted, nothing pending) with one active subscription
    each, spread round-robin over ``company_ids``; written with BatchWriteItem (25 items a request)."""
    from chalicelib.producers.tracking.subscriptions import FOLLOW_UP_DAYS, subscription_id_for
    from chalicelib.store.models import ParcelModel, SubscriptionModel
    from chalicelib.store.tables import bind
    from chalicelib.store.tracking import parcel_key

    bind()
    now = datetime.now(timezone.utc)
    expires = now + timedelta(days=FOLLOW_UP_DAYS)
    delivered = now - timedelta(days=2)
    chunk = 2_000

    def write(start: int) -> None:
        with (
            ParcelModel.batch_write() as parcels,
            SubscriptionModel.batch_write() as subscriptions,
        ):
            for i in range(start, min(start + chunk, count)):
                company_id = company_ids[i % len(company_ids)]
                tracking_id = f"IDLE-{i:07d}"
                key = parcel_key(company_id, tracking_id)
                email = f"seguidor{i}@example.com"
                parcels.save(
                    ParcelModel(
                        key,
                        company_id=company_id,
                        tracking_id=tracking_id,
                        client_id="CLI-1",
                        waybill_issued=True,
                        created_at=delivered,
                        updated_at=delivered,
                        version=2,
                        notified_occurred_at=delivered,
                        last_alert_at=delivered,
                        followed_company=company_id,
                        followed_until=expires,
                    )
                )
                subscriptions.save(
                    SubscriptionModel(
                        key,
                        subscription_id_for(email),
                        company_id=company_id,
                        tracking_id=tracking_id,
                        first_name="Luis",
                        last_name="Pérez",
                        email=email,
                        source="public",
                        created_at=now,
                        renewed_at=now,
                        expires_at=expires,
                        expires=expires,
                    )
                )

    parallel(write, range(0, count, chunk), threads=threads)


# --- measuring -----------------------------------------------------------------------------


_REPORTS_CAPACITY = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def _capacity_units(consumed: Any) -> float:
    if isinstance(consumed, dict):
        return float(consumed.get("CapacityUnits", 0.0))
    if isinstance(consumed, list):
        return sum(_capacity_units(c) for c in consumed)
    return 0.0


@dataclass
class AwsMeter:
    """Counts every AWS API call made through botocore (any client: PynamoDB's, boto3's) while
    active, by service and operation; HTTP attempts (retries included) by endpoint prefix; and the
    DynamoDB capacity the responses report (PynamoDB asks for ``ReturnConsumedCapacity=TOTAL``)."""

    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    capacity: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def active(self) -> Iterator[AwsMeter]:
        from botocore.client import BaseClient
        from botocore.endpoint import Endpoint

        original_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, patched below
        original_send = getattr(Endpoint, "_send")  # noqa: B009
        meter = self

        def counted_call(client: Any, operation_name: str, api_params: Any) -> Any:
            service = client.meta.service_model.service_name
            if service == "dynamodb" and operation_name in _REPORTS_CAPACITY:
                api_params.setdefault("ReturnConsumedCapacity", "TOTAL")
            with meter._lock:
                meter.calls[f"{service}:{operation_name}"] += 1
            response = None
            try:
                response = original_call(client, operation_name, api_params)
                return response
            except Exception as exc:
                response = getattr(exc, "response", None)
                raise
            finally:
                if service == "dynamodb" and isinstance(response, dict):
                    units = _capacity_units(response.get("ConsumedCapacity"))
                    with meter._lock:
                        meter.capacity[operation_name] += units

        def counted_send(endpoint: Any, request: Any) -> Any:
            with meter._lock:
                meter.attempts[str(getattr(endpoint, "_endpoint_prefix", "?"))] += 1
            return original_send(endpoint, request)

        setattr(BaseClient, "_make_api_call", counted_call)  # noqa: B010
        setattr(Endpoint, "_send", counted_send)  # noqa: B010
        try:
            yield self
        finally:
            setattr(BaseClient, "_make_api_call", original_call)  # noqa: B010
            setattr(Endpoint, "_send", original_send)  # noqa: B010

    def dynamodb_calls(self) -> dict[str, int]:
        return {k.split(":", 1)[1]: v for k, v in sorted(self.calls.items()) if k.startswith("dynamodb:")}

    def other_calls(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.calls.items()) if not k.startswith("dynamodb:")}


# --- CPU seconds by process ----------------------------------------------------------------------
#
# On two cores the pipeline's processes share the machine: what each used tells whether a rate is
# bound by the CPU the measured work needs or by how the work overlaps (issue 14).

_CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def _descendants(root: int) -> dict[int, str]:
    """Every process below ``root`` (pid → command line), from /proc."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process used so far."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICK


def _side(command: str) -> str:
    if "java" in command and "DynamoDB" in command:
        return "dynamodb_local"
    if "bench._mailserver" in command:
        return "smtp_server"
    if "bench._worker" in command:
        return "workers"
    return "other"


def cpu_by_side() -> dict[str, float]:
    """CPU seconds each side of a benchmark used so far: its worker processes, DynamoDB Local
    (Java), the SMTP server, other children, and this process (the code it times, and moto)."""
    sides: dict[str, float] = dict.fromkeys(
        ["workers", "dynamodb_local", "smtp_server", "other", "bench_process_moto_sqs"], 0.0
    )
    for pid, command in _descendants(os.getpid()).items():
        sides[_side(command)] += _cpu(pid)
    sides["bench_process_moto_sqs"] += _cpu(os.getpid())
    return sides


def cpu_since(before: dict[str, float]) -> dict[str, Any]:
    """The CPU seconds each side used since ``before`` (:func:`cpu_by_side`), and the time that
    CPU needs on this machine's cores were it spread over them without a gap
    (``cpu_bound_seconds``): a rate above what it allows is not reachable however work overlaps."""
    after = cpu_by_side()
    used = {side: round(after[side] - before[side], 2) for side in after}
    return {"cpu_seconds": used, "cpu_bound_seconds": sum(used.values()) / (os.cpu_count() or 1)}


# --- workers in processes of their own ------------------------------------------------------


@dataclass
class QueueWorkers:
    """Worker processes of :func:`queue_workers` and, once they stopped, their reports."""

    processes: list[subprocess.Popen[str]]
    reports: list[dict[str, Any]] = field(default_factory=list)
    # What each process printed after "ready" (its metrics lines, then its report), read as it
    # comes: a pipe nobody reads fills up (64 KiB) and blocks the worker on its next print.
    outputs: list[list[str]] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)
    # Set while paused: worker threads (:func:`borrowed_servers`) wait instead of polling.
    held: threading.Event = field(default_factory=threading.Event)

    def cpu_by_handler(self) -> dict[str, float]:
        """CPU seconds the live worker processes used so far, summed per handler."""
        used: dict[str, float] = {}
        for process in self.processes:
            handler = str(process.args[-1])  # type: ignore[index]
            used[handler] = used.get(handler, 0.0) + _cpu(process.pid)
        return used

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The workers stopped (SIGSTOP) while something else is measured: an idle worker still
        long-polls SQS, and moto answers those polls in this process. Their last poll ends first."""
        self.held.set()
        for process in self.processes:
            os.kill(process.pid, signal.SIGSTOP)
        time.sleep(1.5)  # a poll in flight waits at most 1 s
        try:
            yield
        finally:
            for process in self.processes:
                os.kill(process.pid, signal.SIGCONT)
            self.held.clear()


@contextmanager
def queue_workers(handlers: dict[str, int]) -> Iterator[QueueWorkers]:
    """``count`` worker processes (``bench._worker``) per SQS handler name, each polling its queue
    as one concurrent Lambda invocation does; they are ready when the block starts. Their reports
    (CPU seconds, AWS calls, failures) are in ``.reports`` when it ends. Within
    :func:`borrowed_servers` each is a thread of this process instead (its AWS calls counted by
    this process's meter, not in its report)."""
    if _borrowed is not None:
        with _queue_threads(handlers) as threads:
            yield threads
        return
    workers = QueueWorkers(
        [
            subprocess.Popen(
                [sys.executable, "-m", "bench._worker", handler],
                cwd=REPO_ROOT,
                env=os.environ.copy(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for handler, count in handlers.items()
            for _ in range(count)
        ]
    )
    try:
        for process in workers.processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            lines: list[str] = []
            reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
            reader.start()
            workers.outputs.append(lines)
            workers.readers.append(reader)
        yield workers
    finally:
        for process in workers.processes:
            os.kill(process.pid, signal.SIGCONT)
            assert process.stdin is not None
            process.stdin.close()
        for process, reader, lines in zip(workers.processes, workers.readers, workers.outputs, strict=False):
            process.wait(timeout=60)
            reader.join(timeout=10)
            if lines:
                workers.reports.append(json.loads(lines[-1]))


@contextmanager
def _queue_threads(handlers: dict[str, int]) -> Iterator[QueueWorkers]:
    """:func:`queue_workers` as threads of this process, each polling as ``bench._worker`` does."""
    from app import app
    from infrastructure.local.queues import QueueConsumer, consumers

    workers = QueueWorkers([])
    stop = threading.Event()
    found = {c.name: c for c in consumers(app)}

    def poll(name: str, report: dict[str, Any]) -> None:
        c = found[name]
        consumer = QueueConsumer(c.name, c.queue, c.handler, c.batch_size)
        while not stop.is_set():
            if workers.held.is_set():
                stop.wait(0.1)
                continue
            try:
                report["handled"] += consumer.poll_once(wait_seconds=1)
            except Exception:
                report["failures"] += 1
                logging.getLogger(__name__).exception("%s failed", name)
                stop.wait(1.0)
        report["cpu_seconds"] = time.thread_time()

    for handler, count in handlers.items():
        for _ in range(count):
            report: dict[str, Any] = {
                "handler": handler,
                "handled": 0,
                "failures": 0,
                "calls": {},
                "capacity": {},
            }
            workers.reports.append(report)
            workers.readers.append(threading.Thread(target=poll, args=(handler, report), daemon=True))
    for thread in workers.readers:
        thread.start()
    try:
        yield workers
    finally:
        stop.set()
        workers.held.clear()
        for thread in workers.readers:
            thread.join(timeout=60)


def _read_lines(stream: IO[str], lines: list[str]) -> None:
    """Keep reading a worker's output until it ends (only the last line, its report, is kept
    with the few before it)."""
    for line in stream:
        if line.strip():
            lines.append(line.strip())
            del lines[:-10]


def summed_calls(reports: Iterable[dict[str, Any]], meter: AwsMeter | None = None) -> AwsMeter:
    """Every AWS call the worker processes (and ``meter``, this process's) made, as one meter."""
    total = AwsMeter(calls=Counter(meter.calls if meter is not None else {}))
    for report in reports:
        total.calls.update(report.get("calls", {}))
    return total


# --- reporting -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [
        " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_path(name: str) -> Path:
    """Where :func:`write_result` keeps ``name``'s results (``bench/results/<name>.json``)."""
    return (_borrowed.results if _borrowed is not None else RESULTS_DIR) / f"{name}.json"


def write_result(name: str, result: dict[str, Any]) -> Path:
    path = result_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **result,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def deliver_queued() -> int:
    """Run the outbox workers (the deployed ``on_sqs_message`` handler over moto's SQS) until the
    queue is empty; returns how many messages they sent."""
    from app import app
    from infrastructure.local.queues import run_queues_until_empty

    return sum(int((answer or {}).get("sent", 0)) for answer in run_queues_until_empty(app))
