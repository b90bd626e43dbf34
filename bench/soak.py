"""A soak with faults: the local stack sending a few thousand messages of mixed kinds while its
parts are killed and its servers misbehave, then the invariants checked once it is quiet.

    uv run python -m bench.soak [--seed 1] [--clients 500] [--parcels 300] [--fault-seconds 240]
                                [--base-port 18400] [--workdir /tmp/pregon-soak-1]

Not part of the test run. What it starts (ports from ``--base-port``: API +0, DynamoDB Local +1,
moto +2, DynamoDB's faulty proxy +3, SMTP's faulty proxy +4):

* in this process: moto (SQS, SNS, KMS, S3: their state must outlive the kills) and two TCP
  proxies that can refuse, reset or stall connections: one in front of DynamoDB Local (every
  child reaches DynamoDB through it; this process's own setup and checks do not), one in front of
  the mail catcher (the demo company's sender accounts point at it);
* DynamoDB Local (in memory) and the mail catcher (``bench._mailserver``), never killed;
* three killable children: ``chalice local`` (the API), the queue runner and the scheduler
  (``bench._soak_child``), each SIGKILLed at random and started again.

The load, over HTTP through ``chalice local`` (every call retried until it answers, as a client
does, with its idempotency key): a demo company with ``--clients`` clients and ``--parcels``
followed parcels is set up before the faults start; then, while faults are thrown, three bulk
e-mail sends (jobs over the clients), a payment event per client (an e-mail and an SMS through
SNS), a receivable per client due in three days (a reminder each, from the scheduler's run and
``POST /reminders/run``), an ``OUT_FOR_DELIVERY`` event per parcel (a tracking alert each from the
minute sweep), and ``--tickets`` ticket e-mails through an area whose sender account allows
``--ticket-limit`` an hour. Faults, one every 3 to 12 s (``--seed`` chooses): SIGKILL of each
child, the SMTP proxy refusing connections or resetting those open, DynamoDB's proxy stalling or
resetting, and copies of waiting SQS messages (redeliveries). The outbox lease is 20 s.

Then it waits until nothing is queued or sending (except what the ticket area's rate limit holds)
and checks: every message recorded once per recipient and kind, and sent; each e-mail caught by
the SMTP server at most once (a second copy only across a kill of the process sending it, the
documented crash window) and none recorded sent that was not caught; each SMS published at most
once; nothing queued or sending past its lease; the ticket area's rate limit held; every send job
done with its counts; no traceback but the injected faults'. Exit status 1 when an invariant
broke; the report is also written to ``bench/results/soak-<seed>.json``.
"""

from __future__ import annotations

import argparse
import email
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from functools import partial
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
LEASE_SECONDS = 20
COMPANY = "demo"
TICKET_AREA = "tickets"
# What a fault of ours shows up as in a child's traceback (connections refused, reset, stalled).
INJECTED = re.compile(
    r"Connect|connect|Reset|reset|Refused|refused|Timeout|timed out|Disconnected|BrokenPipe|"
    r"IncompleteRead|ProtocolError|RemoteDisconnected|EndpointConnectionError|ReadTimeout|"
    r"SMTPServerDisconnected|Connection aborted|closed"
)


# --- a proxy that misbehaves on demand -----------------------------------------------------


class ChaosProxy:
    """Relays ``port`` to ``127.0.0.1:target``. ``mode``: ``pass``; ``refuse`` (each new
    connection reset at once); ``stall`` (every chunk held ``stall`` seconds). :meth:`reset_all`
    resets every open connection (RST, as a dropped network path or a restarted server)."""

    def __init__(self, name: str, port: int, target: int) -> None:
        self.name = name
        self.target = target
        self.mode = "pass"
        self.stall = 0.0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = port
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{name}").start()

    @staticmethod
    def _rst(sock: socket.socket) -> None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with suppress(OSError):
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                self._rst(client)
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                server.settimeout(None)
            except OSError:
                self._rst(client)
                continue
            with self._lock:
                self._open.update((client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                if self.mode == "stall" and self.stall:
                    time.sleep(self.stall)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                with self._lock:
                    self._open.discard(end)

    def reset_all(self) -> int:
        with self._lock:
            ends = list(self._open)
            self._open.clear()
        for end in ends:
            self._rst(end)
        return len(ends) // 2

    def close(self) -> None:
        with suppress(OSError):
            self._listener.close()
        self.reset_all()


# --- the killable children -----------------------------------------------------------------


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    ready_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: list[float] = field(default_factory=list)

    def start(self) -> None:
        handle = self.log.open("ab")
        handle.write(f"\n=== start {self.starts + 1} at {time.time():.3f}\n".encode())
        handle.flush()
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        self.starts += 1
        if self.ready_port is not None:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                with suppress(OSError), socket.create_connection(("127.0.0.1", self.ready_port), timeout=0.5):
                    return
                time.sleep(0.3)
            raise RuntimeError(f"{self.name} did not listen on {self.ready_port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.kills.append(time.time())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# --- the HTTP client -------------------------------------------------------------------------


class Api:
    """Calls that are retried until they answer (a connection refused while ``chalice local`` is
    down, a 5xx while DynamoDB is away), as a client with idempotency keys would."""

    def __init__(self, base: str, api_key: str, admin_token: str) -> None:
        self.base = base
        self.key = {"Authorization": f"ApiKey {api_key}"}
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.retries = Counter[str]()
        self.refused: list[str] = []
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def call(
        self, method: str, path: str, body: Any = None, *, admin: bool = False, give_up: float = 180
    ) -> Any:
        headers = dict(self.admin if admin else self.key)
        deadline = time.monotonic() + give_up
        while True:
            try:
                answer = self._session().request(
                    method, self.base + path, json=body, headers=headers, timeout=60
                )
            except requests.RequestException as exc:
                self.retries[type(exc).__name__] += 1
                self._local.session = requests.Session()
            else:
                if answer.status_code < 400:
                    return answer.json() if answer.content else None
                if answer.status_code < 500 and answer.status_code != 429:
                    self.refused.append(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
                    return None
                self.retries[str(answer.status_code)] += 1
            if time.monotonic() > deadline:
                self.refused.append(f"{method} {path}: gave up after {give_up:.0f}s of retries")
                return None
            time.sleep(random.uniform(0.5, 2.0))


# --- the soak --------------------------------------------------------------------------------


@dataclass
class Soak:
    seed: int
    clients: int
    parcels: int
    tickets: int
    ticket_limit: int
    fault_seconds: float
    quiet_timeout: float
    base_port: int
    workdir: Path
    faults: list[tuple[float, str]] = field(default_factory=list)

    @property
    def ports(self) -> dict[str, int]:
        b = self.base_port
        return {"api": b, "dynamodb": b + 1, "moto": b + 2, "dynamodb_proxy": b + 3, "smtp_proxy": b + 4}

    def client_id(self, i: int) -> str:
        return f"SOAK-C{i:05d}"

    def client_email(self, i: int) -> str:
        return f"c{i:05d}@clientes.example"

    def client_phone(self, i: int) -> str:
        return f"011 15-51{i // 10000:02d}-{i % 10000:04d}"

    def tracking_id(self, i: int) -> str:
        return f"SOAK-P{i:05d}"

    def follower_email(self, i: int) -> str:
        return f"p{i:05d}@seguidores.example"


def _environment(soak: Soak, paths: Any, moto_endpoint: str, dynamodb_endpoint: str) -> dict[str, str]:
    from infrastructure.local.stack import Ports, chalice_stage_environment, service_environment

    p = soak.ports
    ports = Ports(api=p["api"], dynamodb=p["dynamodb"], moto=p["moto"], smtp=p["smtp_proxy"])
    env = service_environment(paths, ports, dynamodb_endpoint=dynamodb_endpoint, moto_endpoint=moto_endpoint)
    return {
        **env,
        **chalice_stage_environment(),
        "PREGON_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def _mail_server(maildir: Path) -> tuple[subprocess.Popen[str], int]:
    from infrastructure.local.demo import SMTP_PASSWORD, SMTP_USERNAME

    maildir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._mailserver", str(maildir), SMTP_USERNAME, SMTP_PASSWORD],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _setup(soak: Soak, api: Api, smtp_port: int) -> None:
    """The company's configuration and data, before any fault."""
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from infrastructure.local.demo import SMTP_PASSWORD, sender_fields

    save_sender_account(
        COMPANY,
        TICKET_AREA,
        {**sender_fields(smtp_port), "rate_limit": {"messages": soak.ticket_limit, "hours": 1}},
    )
    set_sender_password(COMPANY, TICKET_AREA, SMTP_PASSWORD)
    api.call(
        "PUT",
        "/templates/custom:aviso",
        {
            "subject": "{{ company.name }}: aviso",
            "text": "Hola {{ client.name }}: {{ aviso }}",
            "html": "<p>Hola {{ client.name }}: {{ aviso }}</p>",
        },
        admin=True,
    )
    api.call("PATCH", "/company", {"sms_on_automatic_payments": True}, admin=True)

    def client(i: int) -> None:
        api.call(
            "PUT",
            f"/clients/{soak.client_id(i)}",
            {"name": f"Cliente {i}", "emails": [soak.client_email(i)], "phones": [soak.client_phone(i)]},
        )
        api.call("PUT", f"/clients/{soak.client_id(i)}/reminders", {"active": True})

    def parcel(i: int) -> None:
        api.call(
            "POST",
            "/parcels",
            {
                "tracking_id": soak.tracking_id(i),
                "client_id": soak.client_id(i % soak.clients),
                "waybill_issued": True,
            },
        )
        api.call(
            "POST",
            f"/parcels/{soak.tracking_id(i)}/subscriptions",
            {"first_name": "Segui", "last_name": f"Dor {i}", "email": soak.follower_email(i)},
            admin=True,
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(client, range(soak.clients)))
        list(pool.map(parcel, range(soak.parcels)))


def _load(soak: Soak, api: Api) -> list[Callable[[], object]]:
    """The calls of the fault phase, in a seeded order."""
    today = datetime.now(UTC).date()
    calls: list[Callable[[], object]] = []
    ids = [soak.client_id(i) for i in range(soak.clients)]
    third = max(2, -(-len(ids) // 3))  # three jobs, none of one client (that one would be no job)
    for n, start in enumerate(range(0, len(ids), third)):
        chunk = ids[start : start + third]
        calls.append(
            partial(
                api.call,
                "POST",
                "/sends",
                {
                    "channel": "email",
                    "template": "custom:aviso",
                    "client_ids": chunk,
                    "variables": {"aviso": f"Corte programado {n}"},
                    "request_id": f"soak-bulk-{soak.seed}-{n}",
                },
                admin=True,
            )
        )
    for i in range(soak.clients):
        calls.append(
            partial(
                api.call,
                "POST",
                "/events/payment-recorded",
                {
                    "event_id": f"pay-{i}",
                    "client_id": soak.client_id(i),
                    "client_balance": "$ 1.500,00",
                    "payment": {
                        "receipt_number": f"X-0001-{i:05d}",
                        "amount": "$ 5.000,00",
                        "received_on": today.isoformat(),
                        "entry": "automatic",
                    },
                },
            )
        )
    for i in range(soak.tickets):
        calls.append(
            partial(
                api.call,
                "POST",
                "/events/ticket-changed",
                {
                    "event_id": f"t-{i}",
                    "client_id": soak.client_id(i),
                    "notify_client": True,
                    "ticket": {
                        "id": f"{4000 + i}",
                        "subject": "Sin conexión",
                        "status": "En curso",
                        "operator": "Marta",
                    },
                },
            )
        )
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    for start in range(0, soak.parcels, 100):
        events = [
            {
                "tracking_id": soak.tracking_id(i),
                "event_id": f"ev-{i}",
                "status": "OUT_FOR_DELIVERY",
                "occurred_at": occurred,
            }
            for i in range(start, min(start + 100, soak.parcels))
        ]
        calls.append(partial(api.call, "POST", "/parcel-events", {"events": events}))
    due = (today + timedelta(days=3)).isoformat()
    for start in range(0, soak.clients, 250):
        receivables = [
            {
                "document_number": f"A-0001-{i:08d}",
                "client_id": soak.client_id(i),
                "issued_on": (today - timedelta(days=20)).isoformat(),
                "due_on": due,
                "amount": "12345.67",
                "balance": "12345.67",
                "currency": "ARS",
            }
            for i in range(start, min(start + 250, soak.clients))
        ]
        calls.append(partial(api.call, "POST", "/receivables", {"receivables": receivables}))
    rng = random.Random(soak.seed)
    rng.shuffle(calls)
    # the reminder run asked for twice, after the receivables are in (the scheduler's own run too)
    calls.append(partial(api.call, "POST", "/reminders/run", admin=True))
    calls.insert(len(calls) // 2, partial(api.call, "POST", "/reminders/run", admin=True))
    return calls


def _duplicate_sqs_messages(rng: random.Random) -> int:
    """Redeliveries: copies of messages in the work queues (SQS delivers at least once). The
    workers take what arrives at once, so this watches the queues for up to 6 s and copies the
    first messages it sees (seen with no visibility timeout: the workers still get the original)."""
    from chalicelib.core.aws import client

    sqs = client("sqs")
    urls = [sqs.get_queue_url(QueueName=q)["QueueUrl"] for q in ("pregon-outbox", "pregon-send-jobs")]
    copied = 0
    deadline = time.monotonic() + 6
    while not copied and time.monotonic() < deadline:
        for url in urls:
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=rng.randint(1, 5), VisibilityTimeout=0, WaitTimeSeconds=1
            )
            for message in got.get("Messages", []):
                sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
                copied += 1
    return copied


def _faults(
    soak: Soak, children: dict[str, Child], dynamo: ChaosProxy, smtp: ChaosProxy, stop: threading.Event
) -> None:
    rng = random.Random(soak.seed * 7919)

    def note(what: str) -> None:
        soak.faults.append((time.time(), what))
        print(f"  fault: {what}", flush=True)

    def restore_later(proxy: ChaosProxy, seconds: float) -> None:
        time.sleep(seconds)
        proxy.mode, proxy.stall = "pass", 0.0

    kinds = [
        "kill queues",
        "kill scheduler",
        "kill chalice",
        "smtp refuse",
        "smtp reset",
        "dynamodb stall",
        "dynamodb reset",
        "sqs redeliver",
    ]
    while not stop.wait(rng.uniform(3, 12)):
        kind = rng.choice(kinds)
        if kind.startswith("kill "):
            child = children[kind.split()[1]]
            child.kill()
            pause = rng.uniform(0, 3)
            note(f"{kind} (back after {pause:.1f}s)")
            time.sleep(pause)
            child.start()
        elif kind == "smtp refuse":
            seconds = rng.uniform(3, 20)
            smtp.mode = "refuse"
            note(f"smtp refuses for {seconds:.0f}s")
            threading.Thread(target=restore_later, args=(smtp, seconds), daemon=True).start()
        elif kind == "smtp reset":
            note(f"smtp resets {smtp.reset_all()} open connection(s)")
        elif kind == "dynamodb stall":
            seconds, stall = rng.uniform(3, 15), rng.uniform(0.5, 4)
            dynamo.mode, dynamo.stall = "stall", stall
            note(f"dynamodb stalls each chunk {stall:.1f}s for {seconds:.0f}s")
            threading.Thread(target=restore_later, args=(dynamo, seconds), daemon=True).start()
        elif kind == "dynamodb reset":
            seconds = rng.uniform(0.5, 4)
            dynamo.mode = "refuse"
            note(f"dynamodb resets {dynamo.reset_all()} connection(s), refuses for {seconds:.1f}s")
            threading.Thread(target=restore_later, args=(dynamo, seconds), daemon=True).start()
        else:
            note(f"sqs redelivers {_duplicate_sqs_messages(rng)} message(s)")


class SmsWatch:
    """When each SMS was published: moto keeps them in order with no time, so the list is read
    every 2 s and each new entry stamped (to tell a copy across a kill from one that is not)."""

    def __init__(self, moto: str) -> None:
        self.moto = moto
        self.count = 0
        self.seen: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.stop = threading.Event()

    def look(self) -> None:
        from infrastructure.local.phone import sent_sms

        with suppress(requests.RequestException):
            published = sent_sms(self.moto)
            now = time.time()
            for sms in published[self.count :]:
                self.seen[(sms["to"], sms["text"])].append(now)
            self.count = len(published)

    def run(self) -> None:
        while not self.stop.wait(2):
            self.look()


# --- the invariants --------------------------------------------------------------------------


def _communications() -> list[Any]:
    from chalicelib.store import communications as store
    from chalicelib.store.models import CommunicationModel

    return [store._record(item) for item in CommunicationModel.query(COMPANY) if item.direction == "out"]


def _rate_held(comm: Any) -> bool:
    """A ticket e-mail waiting for its area's rate window: queued, or claimed by a drain that died
    (its attempt counted in the window, since it may have gone out) and taken again when room opens."""
    return comm.sender_area == TICKET_AREA and comm.state in ("queued", "sending")


def _wait_for_quiet(soak: Soak, expected_total: int) -> list[Any]:
    deadline = time.monotonic() + soak.quiet_timeout
    last: tuple[int, int] | None = None
    while True:
        comms = _communications()
        busy = [c for c in comms if c.state in ("queued", "sending") and not _rate_held(c)]
        state = (len(comms), len(busy))
        print(
            f"  waiting for quiet: {len(comms)} recorded of {expected_total} expected,"
            f" {len(busy)} queued or sending",
            flush=True,
        )
        if not busy and len(comms) >= expected_total and state == last:
            return comms
        if time.monotonic() > deadline:
            return comms
        last = state
        time.sleep(15)


CRASH_REPEATS_AT_MOST = 300
CRASH_WINDOW_SECONDS = 20  # a sent message's outcome is written within seconds, unless its sender died


def _cause(first: float, events: list[tuple[float, str]]) -> str | None:
    """The fault (a sender killed, DynamoDB away) that explains a second copy of a message first
    sent at ``first``: one under way then or starting within the crash window after it (a fault
    that lasts, "for 2.3s", counts until it ends), as a key by time and kind."""
    for at, what in events:
        lasted = re.search(r"for ([\d.]+)s", what)
        until = at + (float(lasted.group(1)) if lasted else 0.0)
        if first - 1 <= until and at <= first + CRASH_WINDOW_SECONDS:
            return f"{at:.1f} {what.split(' (')[0].split(' for ')[0]}"
    return None


def _caught(maildir: Path) -> dict[str, list[float]]:
    arrivals: dict[str, list[float]] = defaultdict(list)
    for path in maildir.glob("*.eml"):
        with path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=policy.default)
        arrivals[str(parsed["X-Pregon-Message"])].append(path.stat().st_mtime)
    return arrivals


def _tracebacks(logs: list[Path]) -> tuple[Counter[str], Counter[str]]:
    """Each traceback in the children's logs (plain, or inside a JSON log line), by its last
    exception line: those an injected fault explains, and the others. A schedule that sums up its
    failures at the end (``check_sending_domains``: "1 sending domain check(s) failed") raises an
    error of its own after logging each; it is explained when the traceback just before it is."""
    injected: Counter[str] = Counter()
    other: Counter[str] = Counter()
    exception_line = re.compile(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b.*")
    for log in logs:
        text = log.read_text(errors="replace").replace("\\n", "\n") if log.exists() else ""
        previous_injected = False
        for block in text.split("Traceback (most recent call last):")[1:]:
            found = [line for line in block.splitlines() if exception_line.match(line)]
            last = found[-1] if found else block.strip().splitlines()[-1] if block.strip() else "?"
            summary = re.search(r"\d+ [\w ]+\(s\) failed", last) is not None
            explained = INJECTED.search(block) is not None or (summary and previous_injected)
            (injected if explained else other)[f"{log.stem}: {last[:160]}"] += 1
            previous_injected = explained
    return injected, other


def _check(
    soak: Soak,
    comms: list[Any],
    maildir: Path,
    sms_seen: dict[tuple[str, str], list[float]],
    children: dict[str, Child],
) -> dict[str, Any]:
    from chalicelib.producers.sends.manual import progress
    from chalicelib.store import outbox as outbox_store

    broken: list[str] = []
    now = datetime.now(UTC)
    by_kind: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for c in comms:
        by_kind[(c.message_type or c.kind or "?", c.channel)][c.to_address or "?"] += 1
    recorded = {f"{kind}/{channel}": sum(n.values()) for (kind, channel), n in sorted(by_kind.items())}
    for (kind, channel), addresses in by_kind.items():
        twice = [a for a, n in addresses.items() if n > 1]
        if twice:
            broken.append(
                f"recorded more than once: {kind}/{channel} to {twice[:5]} ({len(twice)} addresses)"
            )
    expected = {
        ("payment", "email"): {soak.client_email(i) for i in range(soak.clients)},
        ("reminder", "email"): {soak.client_email(i) for i in range(soak.clients)},
        ("tracking_alert", "email"): {soak.follower_email(i) for i in range(soak.parcels)},
        ("ticket", "email"): {soak.client_email(i) for i in range(soak.tickets)},
    }
    for key, wanted in expected.items():
        missing = wanted - set(by_kind.get(key, Counter()))
        if missing:
            broken.append(f"never recorded: {key[0]}/{key[1]} to {sorted(missing)[:5]} ({len(missing)})")
    states = Counter(c.state for c in comms)
    stuck = [
        c.communication_id
        for c in comms
        if c.state in ("queued", "sending")
        and not _rate_held(c)
        and (c.lease_until is None or c.lease_until < now - timedelta(seconds=60))
    ]
    if stuck:
        broken.append(f"stuck queued/sending past the lease: {stuck[:5]} ({len(stuck)})")
    not_sent = [
        f"{c.communication_id} {c.state} {c.error}"
        for c in comms
        if c.state not in ("sent", "delivered") and not _rate_held(c)
    ]
    if not_sent:
        broken.append(f"not sent: {not_sent[:5]} ({len(not_sent)})")

    arrivals = _caught(maildir)
    ours = {c.communication_id: c for c in comms if c.channel == "email"}
    # A copy is explained when, within seconds of the first, a process that sends was killed (the
    # crash window: what it sent and had not yet recorded goes again after the lease) or
    # DynamoDB stopped answering (the outcome's write lost: the same window).
    senders_down = sorted(
        [(t, f"kill {name}") for name in ("queues", "scheduler") for t in children[name].kills]
        + [(t, what) for t, what in soak.faults if what.startswith("dynamodb")]
    )
    duplicates = {i: sorted(t) for i, t in arrivals.items() if len(t) > 1}
    explained: Counter[str] = Counter()
    unexplained = []
    for message_id, times in duplicates.items():
        cause = _cause(times[0], senders_down)
        if cause is None:
            unexplained.append(message_id)
        else:
            explained[cause] += 1
    if unexplained:
        broken.append(f"caught twice with no kill nor DynamoDB fault just after: {sorted(unexplained)[:5]}")
    # The documented bound: a dead sender repeats at most about the last 100 it sent, and the
    # queue runner has two outbox workers (the scheduler's drain one more).
    if explained and max(explained.values()) > CRASH_REPEATS_AT_MOST:
        broken.append(f"more copies after one fault than the crash window allows: {explained.most_common(1)}")
    lost = [i for i, c in ours.items() if c.state in ("sent", "delivered") and i not in arrivals]
    if lost:
        broken.append(f"recorded sent, never caught: {lost[:5]} ({len(lost)})")
    strangers = [i for i in arrivals if i not in ours]
    if strangers:
        broken.append(f"caught but not recorded: {strangers[:5]} ({len(strangers)})")
    tickets_caught = sum(1 for i in arrivals if i in ours and ours[i].sender_area == TICKET_AREA)
    if tickets_caught > soak.ticket_limit:
        broken.append(
            f"rate limit exceeded: {tickets_caught} ticket e-mails caught,"
            f" {soak.ticket_limit} allowed an hour"
        )

    published: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (to, text), seen_at in sms_seen.items():
        published[(to, text)].extend(seen_at)
    sms = Counter({k: len(v) for k, v in published.items()})
    sms_twice = {k: sorted(t) for k, t in published.items() if len(t) > 1}
    # moto's list is read every 2 s: its stamps are up to 2 s late
    sms_across_kill = {k for k, t in sms_twice.items() if _cause(t[0] - 2, senders_down) is not None}
    if set(sms_twice) - sms_across_kill:
        broken.append(
            f"SMS published twice with no kill between: {sorted(set(sms_twice) - sms_across_kill)[:3]}"
        )
    if len(sms) < soak.clients:
        broken.append(f"SMS missing: {len(sms)} published, {soak.clients} expected")

    jobs, _ = outbox_store.list_jobs(COMPANY, 50, None)
    shown = {j.job_id: progress(j).state for j in jobs}  # what staff see (GET /sends/{id})
    job_states = [(j.job_id, shown[j.job_id], j.total, j.sent, j.failed, j.skipped) for j in jobs]
    for j in jobs:
        if shown[j.job_id] != "done" or j.sent + j.failed + j.skipped != j.total:
            broken.append(
                f"send job not done or miscounted: {j.job_id} {shown[j.job_id]} total {j.total}"
                f" sent {j.sent} failed {j.failed} skipped {j.skipped}"
            )
    if sum(j.total for j in jobs) != soak.clients:
        broken.append(f"send jobs cover {sum(j.total for j in jobs)} clients, {soak.clients} expected")

    injected, other = _tracebacks([child.log for child in children.values()])
    if other:
        broken.append(f"tracebacks not from an injected fault: {dict(other)}")
    return {
        "recorded": recorded,
        "states": dict(states),
        "emails_caught": sum(len(t) for t in arrivals.values()),
        "caught_twice": len(duplicates),
        "caught_twice_by_cause": dict(explained.most_common()),
        "sms_published": sum(sms.values()),
        "sms_twice_across_a_kill": len(sms_across_kill),
        "tickets_caught": tickets_caught,
        "jobs": job_states,
        "tracebacks_injected": dict(injected),
        "tracebacks_other": dict(other),
        "broken": broken,
    }


def run(soak: Soak) -> dict[str, Any]:
    from chalicelib.store.tables import create_tables
    from infrastructure.local.aws_env import reset_process_caches
    from infrastructure.local.demo import seed_demo_company
    from infrastructure.local.dynamodb import DynamoDBLocal
    from infrastructure.local.identity import LocalIdentity
    from infrastructure.local.motoserver import MotoServer, ensure_kms_key
    from infrastructure.local.stack import KMS_ALIAS, REGION, LocalPaths, _chalice_executable

    shutil.rmtree(soak.workdir, ignore_errors=True)
    paths = LocalPaths(soak.workdir)
    for folder in (paths.root, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)
    p = soak.ports
    started = time.time()
    with ExitStack() as stack:
        dynamodb = stack.enter_context(
            DynamoDBLocal(port=p["dynamodb"], log_file=paths.logs / "dynamodb.log")
        )
        moto = stack.enter_context(MotoServer(port=p["moto"]))
        mail_process, mail_port = _mail_server(paths.mail)
        stack.callback(mail_process.wait, 10)
        stack.callback(mail_process.stdin.close)  # type: ignore[union-attr]
        dynamo_proxy = ChaosProxy("dynamodb", p["dynamodb_proxy"], p["dynamodb"])
        smtp_proxy = ChaosProxy("smtp", p["smtp_proxy"], mail_port)
        stack.callback(dynamo_proxy.close)
        stack.callback(smtp_proxy.close)

        own = _environment(soak, paths, moto.endpoint, dynamodb.endpoint)
        os.environ.update(own)
        reset_process_caches()
        ensure_kms_key(moto.endpoint, KMS_ALIAS, state_file=paths.kms_state, region=REGION)
        from app import app
        from infrastructure.local.queues import ensure_local_resources

        create_tables()
        ensure_local_resources(app)
        demo = seed_demo_company(paths.demo_credentials, smtp_port=p["smtp_proxy"])
        token = LocalIdentity(paths.jwt_key).mint(COMPANY, user_id="admin@demo", level=1, name="Demo Admin")

        child_env = {
            **os.environ,
            **_environment(soak, paths, moto.endpoint, f"http://127.0.0.1:{p['dynamodb_proxy']}"),
        }
        python = sys.executable
        children = {
            "chalice": Child(
                "chalice",
                [
                    _chalice_executable(),
                    "local",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(p["api"]),
                    "--stage",
                    "local",
                    "--no-autoreload",
                ],
                child_env,
                paths.logs / "chalice.log",
                ready_port=p["api"],
            ),
            "queues": Child(
                "queues", [python, "-m", "bench._soak_child", "queues"], child_env, paths.logs / "queues.log"
            ),
            "scheduler": Child(
                "scheduler",
                [python, "-m", "bench._soak_child", "scheduler"],
                child_env,
                paths.logs / "scheduler.log",
            ),
        }
        for child in children.values():
            child.start()
            stack.callback(child.stop)
        api = Api(f"http://127.0.0.1:{p['api']}", demo["api_key"], token)
        print(f"setting up {soak.clients} clients and {soak.parcels} parcels", flush=True)
        _setup(soak, api, p["smtp_proxy"])
        setup_refused = list(api.refused)

        sms_watch = SmsWatch(moto.endpoint)
        threading.Thread(target=sms_watch.run, daemon=True).start()
        print(f"faults for {soak.fault_seconds:.0f}s while the load goes", flush=True)
        stop = threading.Event()
        faults = threading.Thread(
            target=_faults, args=(soak, children, dynamo_proxy, smtp_proxy, stop), daemon=True
        )
        load_started = time.time()
        faults.start()
        calls = _load(soak, api)
        pace = soak.fault_seconds * 0.7 / max(len(calls), 1)

        def paced(call: Callable[[], object]) -> None:
            call()
            time.sleep(random.uniform(0, 2 * pace * 3))

        with ThreadPoolExecutor(3) as pool:
            list(pool.map(paced, calls))
        left = soak.fault_seconds - (time.time() - load_started)
        if left > 0:
            stop.wait(left)
        stop.set()
        faults.join()
        dynamo_proxy.mode, smtp_proxy.mode = "pass", "pass"
        for child in children.values():  # a child that died by itself (not ours) is started again
            if child.process is not None and child.process.poll() is not None:
                soak.faults.append(
                    (time.time(), f"{child.name} had exited by itself ({child.process.returncode})")
                )
                child.start()
        expected_total = soak.clients * 4 + soak.parcels + soak.tickets
        print("waiting for quiet", flush=True)
        comms = _wait_for_quiet(soak, expected_total)
        sms_watch.stop.set()
        sms_watch.look()
        result = _check(soak, comms, paths.mail, sms_watch.seen, children)
        result.update(
            seed=soak.seed,
            minutes=round((time.time() - started) / 60, 1),
            messages_expected=expected_total,
            faults=Counter(re.sub(r"[ (].*", "", what.replace("kill ", "kill_")) for _, what in soak.faults),
            fault_log=[f"{t - load_started:7.1f}s {what}" for t, what in soak.faults],
            api_retries=dict(api.retries),
            api_refused=setup_refused + [r for r in api.refused if r not in setup_refused],
            kills={name: len(child.kills) for name, child in children.items()},
        )
        if result["api_refused"]:
            result["broken"].append(f"API refused calls: {result['api_refused'][:5]}")
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--parcels", type=int, default=300)
    parser.add_argument("--tickets", type=int, default=30)
    parser.add_argument("--ticket-limit", type=int, default=20)
    parser.add_argument("--fault-seconds", type=float, default=240)
    parser.add_argument("--quiet-timeout", type=float, default=900)
    parser.add_argument("--base-port", type=int, default=18400)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    soak = Soak(
        seed=args.seed,
        clients=args.clients,
        parcels=args.parcels,
        tickets=args.tickets,
        ticket_limit=args.ticket_limit,
        fault_seconds=args.fault_seconds,
        quiet_timeout=args.quiet_timeout,
        base_port=args.base_port,
        workdir=(args.workdir or Path(f"/tmp/pregon-soak-{args.seed}")).resolve(),
    )
    random.seed(args.seed)
    result = run(soak)
    out = REPO_ROOT / "bench" / "results" / f"soak-{args.seed}.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "fault_log"}, indent=2, default=str))
    print("held" if not result["broken"] else "BROKEN:\n  " + "\n  ".join(result["broken"]))
    return 1 if result["broken"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
