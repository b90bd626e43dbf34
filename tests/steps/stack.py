"""The whole service as a newcomer starts it: ``infrastructure/local/run.sh`` in its own process
group, read until its banner, stopped with Ctrl-C (SIGINT) as a person would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

from infrastructure.local.paths import REPO_ROOT, free_port, port_is_free

T = TypeVar("T")


class RunningStack:
    def __init__(self, local_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.local_dir = local_dir
        self.extra_env = dict(extra_env or {})
        self.ports = {
            name: free_port()
            for name in (
                "api",
                "dynamodb",
                "moto",
                "smtp",
                "inbound_smtp",
                "sms_gateway",
                "identity",
                "sms_masivos",
            )
        }
        self.api = f"http://127.0.0.1:{self.ports['api']}"
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 240) -> dict[str, str]:
        # A restart keeps the ports unless another process took one meanwhile (the other tests'
        # outgoing connections use the same ephemeral range): that one is chosen again.
        for name, port in self.ports.items():
            if not port_is_free(port):
                self.ports[name] = free_port()
        self.api = f"http://127.0.0.1:{self.ports['api']}"
        env = {**os.environ, "PREGON_LOCAL_DIR": str(self.local_dir)}
        for name in list(env):
            if name.startswith(("AWS_", "PREGON_")) and name != "PREGON_LOCAL_DIR":
                env.pop(name)
        env.update(self.extra_env)
        self.process = subprocess.Popen(
            [
                "bash",
                "infrastructure/local/run.sh",
                "--port",
                str(self.ports["api"]),
                "--dynamodb-port",
                str(self.ports["dynamodb"]),
                "--moto-port",
                str(self.ports["moto"]),
                "--smtp-port",
                str(self.ports["smtp"]),
                "--inbound-smtp-port",
                str(self.ports["inbound_smtp"]),
                "--sms-gateway-port",
                str(self.ports["sms_gateway"]),
                "--identity-port",
                str(self.ports["identity"]),
                "--sms-masivos-port",
                str(self.ports["sms_masivos"]),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        banner: dict[str, str] = {}
        previous = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("the stack stopped:\n" + "".join(self.output[-60:]))
            self.output.append(line)
            if "Admin JWT" in previous:
                banner["admin_token"] = line.strip()
            if "Integration key" in previous:
                banner["api_key"] = line.strip()
            previous = line
            if "Ctrl-C stops everything" in line:
                break
        else:
            raise AssertionError("no banner in time:\n" + "".join(self.output[-60:]))
        self._drain()
        self._wait_for_api()
        return banner

    def _drain(self) -> None:
        import threading

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)

        threading.Thread(target=read, daemon=True).start()

    def _wait_for_api(self) -> None:
        for _ in range(120):
            try:
                requests.get(f"{self.api}/public/demo/parcels/none", timeout=2)
                return
            except (requests.ConnectionError, requests.Timeout):  # a first answer slow on a busy machine too
                time.sleep(0.5)
        raise AssertionError("the API never answered")

    def stop(self) -> int:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def wait_for(self, check: Callable[[], T], what: str, timeout: float = 90) -> T:
        """What ``check`` answers once it is something, polled each second until ``timeout``; the
        stack's last lines in the failure otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(1)
        raise AssertionError(f"{what} did not happen within {timeout:.0f}s:\n" + "".join(self.output[-40:]))

    def command(self, module: str, *args: str) -> str:
        """``python -m <module> <args>`` as a developer types it in another terminal of this stack's
        checkout: no port flags, no AWS or Pregón variables but the stack's folder."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PREGON_"))}
        result = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            env={**env, "PREGON_LOCAL_DIR": str(self.local_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{module} {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "infrastructure.local.stack", "--local-dir", str(self.local_dir), *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout
