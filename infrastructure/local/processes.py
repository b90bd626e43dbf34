"""The local stack's child processes (DynamoDB Local's Java, ``chalice local``) never outlive it.

Two guards, because a stack killed with SIGKILL runs none of its own cleanup:

1. Each child is started under ``setpriv --pdeathsig TERM`` (util-linux, on every Debian): the
   kernel sends it SIGTERM the moment the stack's process dies, however it died.
2. Each child's pid goes into a file under ``<local dir>/run/``; the next start stops any child a
   previous run left behind (when it is still the same program) before it checks the ports. The
   stack's own pid file tells whether a previous stack is still running: then nothing is touched.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

STACK = "stack"


def dies_with_parent(command: Sequence[str]) -> list[str]:
    """``command``, made to receive SIGTERM when the process that starts it dies."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:  # not on this system: the pid files still clean up on the next start
        return list(command)
    return [setpriv, "--pdeathsig", "TERM", "--", *command]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> tuple[int, str] | None:
    """(pid, what its command line must contain) from a pid file, or None."""
    try:
        pid_text, _, marker = path.read_text().partition("\n")
        return int(pid_text), marker.strip()
    except (OSError, ValueError):
        return None


def record(run_dir: Path, name: str, pid: int, marker: str) -> None:
    """Remember a child (or the stack itself) by pid and a piece of its command line."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / f"{name}.pid").write_text(f"{pid}\n{marker}\n")


def forget(run_dir: Path, name: str) -> None:
    (run_dir / f"{name}.pid").unlink(missing_ok=True)


def running_stack(run_dir: Path) -> int | None:
    """The pid of a stack that is still running from this folder, if any."""
    found = _read_pid(run_dir / f"{STACK}.pid")
    if found is None:
        return None
    pid, marker = found
    if pid != os.getpid() and _alive(pid) and marker in _command_line(pid):
        return pid
    return None


def stop_leftovers(run_dir: Path, timeout: float = 10.0) -> list[str]:
    """Stop the children a dead stack left running (named by its pid files); returns their names."""
    stopped = []
    for path in sorted(run_dir.glob("*.pid")):
        name = path.stem
        found = _read_pid(path)
        path.unlink(missing_ok=True)
        if name == STACK or found is None:
            continue
        pid, marker = found
        if not _alive(pid) or marker not in _command_line(pid):
            continue  # gone, or the pid now belongs to another program
        log.warning("stopping %s (pid %d) left running by a stack that did not stop cleanly", name, pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(name)
    return stopped
