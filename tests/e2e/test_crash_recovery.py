"""The local stack killed mid-send and started again (issue 16): a bulk send started with the
README's command, the whole stack SIGKILLed when about 60 e-mails were out, the README's command
run again; the job reaches ``done`` with every client's e-mail delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from infrastructure.local.mailcatcher import _mail_files, _parse, envelope_recipients
from infrastructure.local.paths import REPO_ROOT
from tests.steps.stack import RunningStack

pytestmark = pytest.mark.e2e

CLIENTS = 200
LEASE_SECONDS = 20  # a short lease, so the test need not wait the default five minutes


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[RunningStack]:
    running = RunningStack(tmp_path / "local", {"PREGON_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS)})
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()


def _caught(stack: RunningStack) -> Counter[str]:
    return Counter(
        r for path in _mail_files(stack.local_dir / "mail") for r in envelope_recipients(_parse(path))
    )


def _children(stack: RunningStack) -> list[int]:
    pids = []
    for path in (stack.local_dir / "run").glob("*.pid"):
        pid = int(path.read_text().split()[0])
        if Path(f"/proc/{pid}").exists():
            pids.append(pid)
    return pids


def test_a_stack_killed_mid_send_finishes_the_job_after_a_restart(stack: RunningStack) -> None:
    # Given the stack started with the README's command, and a bulk send to 200 clients started
    # with the README's sendjob command
    stack.start()
    env = {**os.environ, "PREGON_LOCAL_DIR": str(stack.local_dir)}
    sendjob = subprocess.Popen(
        [
            *(sys.executable, "-m", "infrastructure.local.sendjob", "--template", "invoice"),
            *("--clients", "all", "--seed-clients", str(CLIENTS), "--api", stack.api, "--interval", "0.2"),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert sendjob.stdout is not None
    job_id = ""
    for line in sendjob.stdout:
        if line.startswith("job "):
            job_id = line.split()[1]
            break
    assert job_id, "sendjob printed no job"
    # When about 30 e-mails are out, the whole stack is killed with SIGKILL (counted by the
    # catcher's files: parsing them all at every look let a busy machine see the send end first)
    deadline = time.monotonic() + 180
    while len(_mail_files(stack.local_dir / "mail")) < 30:
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.05)
    assert stack.process is not None
    os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait()
    sendjob.kill()
    caught_before = _caught(stack)
    before_restart = sum(caught_before.values())
    assert before_restart < CLIENTS, "the send finished before the kill; nothing was tested"
    # Then DynamoDB Local and chalice local die with it
    for _ in range(100):
        if not _children(stack):
            break
        time.sleep(0.1)
    assert _children(stack) == []
    # When the README's command is run again
    banner = stack.start()
    assert banner["api_key"]
    token = stack.cli("token", "--level", "3").strip()
    # Then the job reaches done, and every client got its e-mail
    deadline = time.monotonic() + LEASE_SECONDS + 180
    while True:
        job = requests.get(
            f"{stack.api}/sends/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        if job["state"] == "done":
            break
        assert time.monotonic() < deadline, f"the job never finished: {job}"
        time.sleep(2)
    assert (job["total"], job["sent"], job["failed"], job["waiting"]) == (CLIENTS, CLIENTS, 0, 0)
    received = _caught(stack)
    assert sorted(received) == sorted(f"cliente{n:04d}@demo.example" for n in range(1, CLIENTS + 1))
    # And each is the invoice e-mail, carrying no PDF and so not saying one is attached
    for path in _mail_files(stack.local_dir / "mail"):
        mail = _parse(path)
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Le enviamos la factura A-0001-00001234." in text.splitlines(), text
        assert list(mail.iter_attachments()) == [] and b"adjunta en PDF" not in path.read_bytes()
    # And an e-mail goes twice only if the server had accepted it before the kill and its outcome
    # was not yet recorded (a hand-off records outcomes 50 at a time, in the background, on each
    # of the stack's two outbox workers: README, "Running it"), never one sent after the restart
    twice = {address for address, times in received.items() if times > 1}
    print(f"killed after {before_restart} e-mails; {len(twice)} sent twice")
    assert all(times <= 2 for times in received.values())
    assert twice <= {address for address, times in caught_before.items() if times == 1}
    assert stack.stop() == 0
