"""A tenant's typst layout runs in a process of its own and is stopped once it has used its time
or its memory (Q7): the real typst compiler, in real child processes."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from pathlib import Path

import pytest

from chalicelib.producers.documents.typst_process import (
    TYPST_MEGABYTES,
    TYPST_WALL_SECONDS,
    TypstFailed,
    TypstProcess,
    TypstTooBig,
    TypstTooSlow,
)

# A hundred million steps (about a minute), in small memory: range(100000000) would be a 3 GB array.
SLOW = b"#let x = 0\n#for i in range(10000) { for j in range(10000) { x = x + 1 } }\n#x"
# Without a cap these would hold 2^40 elements or bytes: gigabytes within a second or two.
GREEDY = {
    "array": b"#let a = (0,)\n#for i in range(40) { a = a + a }\n#a.len()",
    "string": b'#let s = "x"\n#for i in range(40) { s = s + s }\n#s.len()',
}

# A package imported through eval, as a tenant's template reaches it past the word check.
IMPORTS_A_PACKAGE = (
    b'#let e = dictionary(std).at("ev" + "al")\n#e("#imp" + "ort \\"@preview/cetz:0.3.1\\"", mode: "markup")'
)


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


@pytest.mark.parametrize("kind", sorted(GREEDY))
def test_a_layout_that_takes_memory_without_bound_is_stopped_at_its_cap_and_a_new_process_follows(
    tmp_path: Path, kind: str
) -> None:
    typst = TypstProcess(tmp_path)
    try:
        # Given a new typst process (this layout is its first document)
        started = time.monotonic()
        # When the layout doubles an array (or a string) in a loop
        with pytest.raises(TypstTooBig):
            typst.compile(GREEDY[kind], tmp_path)
        # Then it is stopped at its cap (TypstTooBig: not the time limit's TypstTooSlow), and no
        # process is left. About a second of CPU with the new process's start, which took 15 s on
        # the clock under a load of 24: the wall time is bounded by what the code promises (its CPU
        # time, or TYPST_WALL_SECONDS however little CPU a loaded machine gives it)
        assert time.monotonic() - started < TYPST_WALL_SECONDS + 15
        assert typst.pid is None
        # And the next document is laid out by a new process, which then stays for the next
        assert typst.compile(b"= Otra", tmp_path).startswith(b"%PDF-")
        pid = typst.pid
        assert pid is not None
        assert typst.compile(b"= Y otra", tmp_path).startswith(b"%PDF-")
        assert typst.pid == pid
    finally:
        typst.stop()


def test_a_process_holds_what_it_needs_and_no_more_than_its_cap(tmp_path: Path) -> None:
    typst = TypstProcess(tmp_path, megabytes=64)
    try:
        # Given a process capped at 64 MB: a one-page document fits (about 15 MB)
        assert typst.compile(b"= Hola", tmp_path).startswith(b"%PDF-")
        # When a layout asks for a 100 MB string / Then it is refused, below the usual cap
        assert TYPST_MEGABYTES > 100
        with pytest.raises(TypstTooBig):
            typst.compile(b'#let s = "x" * (100 * 1024 * 1024)\n#s.len()', tmp_path)
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


def test_a_layout_that_imports_a_package_reaches_no_network_and_the_process_holds_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import threading

    # Given a proxy every HTTP client of this process would use (one that answers nothing and
    # notes who called), and AWS credentials in this process's environment, as on Lambda
    proxy = socket.create_server(("127.0.0.1", 0))
    proxy.settimeout(30)
    called: list[bytes] = []

    def note_callers() -> None:
        with suppress(OSError):
            while True:
                caller, _ = proxy.accept()
                with caller:
                    caller.settimeout(5)
                    called.append(caller.recv(200))

    threading.Thread(target=note_callers, daemon=True).start()
    for name in ("ALL_PROXY", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.getsockname()[1]}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-typst-9f3a")
    typst = TypstProcess(tmp_path)
    try:
        # When a layout imports a package (a tenant's template reaches `import` through
        # `dictionary(std).at("ev" + "al")`, which no word check can see)
        with pytest.raises(TypstFailed) as refused:
            typst.compile(IMPORTS_A_PACKAGE, tmp_path)
        # Then typst cannot download it, and nothing reached the proxy (nor anything else)
        assert "failed to download package" in refused.value.message
        assert called == []
        # And the typst process's environment holds no credentials
        assert typst.pid is not None
        environment = Path(f"/proc/{typst.pid}/environ").read_bytes()
        assert b"not-for-typst" not in environment and b"AWS_" not in environment
    finally:
        typst.stop()
        proxy.close()
