"""A tenant's typst layout runs in a process of its own and is stopped once it has used its time
(Q7): the real typst compiler, in real child processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chalicelib.producers.documents.typst_process import TypstFailed, TypstProcess, TypstTooSlow

SLOW = b"#let x = 0\n#for i in range(100000000) { x = x + 1 }\n#x"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


def test_a_slow_layout_is_stopped_at_its_time_and_the_next_document_gets_a_new_process(
    tmp_path: Path,
) -> None:
    typst = TypstProcess(tmp_path)
    try:
        # Given a process that has compiled one document (its PDF comes back whole)
        assert typst.compile(b"= Hola", tmp_path).startswith(b"%PDF-")
        first = typst.pid
        assert first is not None
        # When a layout that would run for about a minute is given 0.3 s
        started = time.monotonic()
        with pytest.raises(TypstTooSlow):
            typst.compile(SLOW, tmp_path, seconds=0.3)
        # Then it is stopped soon after, and its process is gone
        assert time.monotonic() - started < 10  # slack for a loaded machine: 0.3 s of CPU time
        assert not alive(first)
        # And the next document is laid out by a new process
        assert typst.compile(b"= Otra", tmp_path).startswith(b"%PDF-")
        assert typst.pid not in (None, first)
    finally:
        typst.stop()


def test_what_typst_refuses_comes_back_as_its_message_and_the_process_stays(tmp_path: Path) -> None:
    typst = TypstProcess(tmp_path)
    try:
        assert typst.compile(b"= Hola", tmp_path).startswith(b"%PDF-")
        pid = typst.pid
        # When typst refuses a document / Then its message says why
        with pytest.raises(TypstFailed) as refused:
            typst.compile(b"#(1 + )", tmp_path)
        assert refused.value.message
        # And the same process lays out the next one
        assert typst.compile(b"= Otra", tmp_path).startswith(b"%PDF-")
        assert typst.pid == pid
    finally:
        typst.stop()


def test_a_process_that_dies_is_reported_and_replaced(tmp_path: Path) -> None:
    typst = TypstProcess(tmp_path)
    try:
        assert typst.compile(b"= Hola", tmp_path).startswith(b"%PDF-")
        killed = typst.pid
        assert killed is not None
        # Given the process was killed from outside (the kernel's out-of-memory killer, say)
        os.kill(killed, 9)
        while typst.pid is not None:
            time.sleep(0.01)
        # When the next document comes / Then it is laid out by a new one
        assert typst.compile(b"= Otra", tmp_path).startswith(b"%PDF-")
        assert typst.pid not in (None, killed)
    finally:
        typst.stop()
