"""typst in a process of its own, so a tenant's layout can be stopped (Q7).

typst stops endless loops and deep recursion by itself, but a layout that is merely slow (a loop of
millions of steps, tens of thousands of pages of text) runs as long as it likes: in the Lambda's own
process nothing could stop it short of the Lambda's timeout, and a bulk statement job would pay
that for every client, in our Lambda time and in the documents function's concurrency that other
companies share. So typst runs in child processes, each with one compiler made once and reused
(its caches make the next document cheaper); a document takes an idle one, or starts one. The
document goes to it over a pipe and its PDF comes back; a document still compiling when it has
used :data:`TYPST_SECONDS` of the child's CPU time is stopped by killing the child, and the next
document starts a new one. The child's memory is capped too (:data:`TYPST_MEGABYTES`): a layout
that builds values without bound (an array or a string doubled in a loop) would otherwise take
gigabytes in a few seconds of CPU time, more than the Lambda (512 MB) or the machine has.

The child is this file run as a script (``python typst_process.py <empty folder> <megabytes>``): it
imports only the standard library and ``typst``, so it starts in about the time typst takes to
import.
Each message on the pipes is a 9-byte header (a kind byte, two lengths) and its two parts.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import struct
import subprocess  # nosec B404 # argument lists only, never a shell (each call marked)
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

# The CPU time one document may take to lay out. A one-page statement takes about 10 ms; 50 pages
# of dense text well under a second.
TYPST_SECONDS = 5.0
# However little CPU the child gets (a machine under load), a document is given up after this long.
TYPST_WALL_SECONDS = 60.0
# The memory a typst process may hold for its data (RLIMIT_DATA: its heap and private writable
# mappings, where typst's values, layout and PDF live), measured by ``bench.typst_memory``: a
# default template with its sample values fits in 15 MB (39 MB resident), 300 statements one after
# another in 47 MB (typst keeps its last ten documents), an order of 500 lines at their
# longest in 219 MB (410 pages), the largest part of a statement of 2,000 movements at their
# longest in 183 MB (pdf.PART_ROWS: a longer statement is laid out in parts, each in a process of
# its own; whole it would take 712 MB), and 50 pages of the default statement (2,400 movements, as
# a company's own template may lay out) in 359 MB. Beside the worker's own process (about 90 MB)
# the cap stays inside the Lambda's 512 MB.
# Not RLIMIT_AS: an idle process already reserves about 280 MB of address space it never touches.
TYPST_MEGABYTES = 384

_HEADER = struct.Struct("!BII")  # kind, length of the first part, length of the second
_REQUEST, _PDF, _ERROR, _TOO_BIG, _BROKEN, _REQUEST_ROW_PAGES = 0, 1, 2, 3, 4, 5
# A document asking for its rows' pages ends with this: the page each ``<row>`` metadata is on.
ROW_PAGES = "\n#context [#metadata(query(<row>).map(row => row.location().page()))<row-pages>]\n"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class TypstTooSlow(Exception):
    """The layout used up its time; the child that ran it was stopped."""


class TypstTooBig(Exception):
    """The layout needed more memory than :data:`TYPST_MEGABYTES`; the child that ran it was stopped."""


class TypstFailed(Exception):
    """typst refused the document (its message says why), or its process died."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TypstProcess:
    """One child process with a typst compiler; not shared between threads."""

    def __init__(self, empty_root: Path, *, megabytes: int = TYPST_MEGABYTES) -> None:
        self._empty_root = empty_root
        self._megabytes = megabytes
        self._child: subprocess.Popen[bytes] | None = None

    def compile(self, document: bytes, root: Path, *, seconds: float = TYPST_SECONDS) -> bytes:
        """The PDF of ``document`` compiled with ``root`` as the only folder typst may read.
        TypstTooSlow after ``seconds`` of the child's CPU time; TypstTooBig when it needed more
        memory than the child may use; TypstFailed for typst's errors."""
        return self._ask(_REQUEST, document, root, seconds)[0]

    def compile_with_row_pages(
        self, document: bytes, root: Path, *, seconds: float = TYPST_SECONDS
    ) -> tuple[bytes, list[int]]:
        """The PDF of ``document``, and the page each of its rows begins on: the document marks
        each row with ``#metadata(...)<row>`` and ends with :data:`ROW_PAGES` (typst's query of
        the same layout: about a tenth more time and memory than the PDF alone)."""
        pdf, pages = self._ask(_REQUEST_ROW_PAGES, document, root, seconds)
        return pdf, [int(page) for page in json.loads(pages)]

    def _ask(self, request: int, document: bytes, root: Path, seconds: float) -> tuple[bytes, bytes]:
        child = self._started()
        assert child.stdin is not None and child.stdout is not None
        root_bytes = str(root).encode()
        try:
            child.stdin.write(_HEADER.pack(request, len(root_bytes), len(document)) + root_bytes + document)
            child.stdin.flush()
        except BrokenPipeError:
            self.stop()
            raise TypstFailed("the typst process stopped") from None
        reader = _Reader(child, seconds)
        try:
            kind, first, second = _HEADER.unpack(reader.read(_HEADER.size))
            body = reader.read(first + second)
        except TypstTooSlow:
            self.stop()
            raise
        except EOFError:
            if self._ended() == -signal.SIGABRT:
                # Rust aborts the process when an allocation fails, and rayon when one of typst's
                # threads panics (at the cap, zlib's allocation in the PDF); Python's MemoryError
                # and a panic of typst's main thread near the cap come back as _TOO_BIG
                raise TypstTooBig from None
            raise TypstFailed("the typst process stopped") from None
        finally:
            reader.close()
        if kind == _TOO_BIG:
            self.stop()
            raise TypstTooBig
        if kind == _BROKEN:
            self.stop()
        if kind != _PDF:
            raise TypstFailed(body.decode("utf-8", "replace"))
        return body[:first], body[first:]

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (None before the first document)."""
        return None if self._child is None or self._child.poll() is not None else self._child.pid

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                if stream is not None:
                    stream.close()

    def _ended(self) -> int | None:
        """How the child ended, once it has closed its output (None if it had to be killed)."""
        child = self._child
        assert child is not None
        try:
            returncode: int | None = child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            returncode = None
        self.stop()
        return returncode

    def _started(self) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            self.stop()
            env = child_environment()
            self._child = subprocess.Popen(  # noqa: S603  # nosec B603 # our own interpreter and script
                [sys.executable, str(Path(__file__)), str(self._empty_root), str(self._megabytes)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                close_fds=True,
            )
        return self._child


#: What the typst process is given of this process's environment: what Python needs to start
#: (on Lambda, LD_LIBRARY_PATH), never the AWS credentials or Pregón's settings.
_INHERITED = ("PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "HOME", "PYTHONHOME")
#: typst downloads a package an ``import "@preview/..."`` names from packages.typst.org, through
#: the proxy these name when set. A tenant's template can reach ``import`` past the source check
#: (``eval`` got from ``dictionary(std)``), so the process's only proxy is one that cannot be
#: reached: typst's client has no SOCKS, and nothing listens on port 1. No download leaves it.
NO_NETWORK_PROXY = "socks5://127.0.0.1:1"
_PROXY_VARIABLES = ("ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY", "all_proxy", "https_proxy", "http_proxy")


def child_environment() -> dict[str, str]:
    """The typst process's environment: no credentials and no network (S36; decision 0006)."""
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    # The child finds typst where this interpreter does (on Lambda, the deployment package).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env | dict.fromkeys(_PROXY_VARIABLES, NO_NETWORK_PROXY)


class _Reader:
    """Reads the child's answer, giving up once the child has used ``seconds`` of CPU time on it
    (or :data:`TYPST_WALL_SECONDS` have passed, however little CPU it got)."""

    def __init__(self, child: subprocess.Popen[bytes], seconds: float) -> None:
        assert child.stdout is not None
        self._child = child
        self._fd = child.stdout.fileno()
        self._seconds = seconds
        self._cpu_start = _cpu_seconds(child.pid)
        self._started = time.monotonic()
        # CPU time never runs faster than the wall clock: no need to look before this.
        self._next_look = self._started + seconds
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._fd, selectors.EVENT_READ)

    def read(self, size: int) -> bytes:
        chunks: list[bytes] = []
        while size:
            if not self._selector.select(timeout=max(0.0, self._next_look - time.monotonic())):
                self._check_time()
                continue
            chunk = os.read(self._fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._selector.close()

    def _check_time(self) -> None:
        now = time.monotonic()
        used = _cpu_seconds(self._child.pid) - self._cpu_start
        if used >= self._seconds or now - self._started >= TYPST_WALL_SECONDS:
            raise TypstTooSlow
        self._next_look = now + max(0.01, self._seconds - used)


def _cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time (Linux's /proc; elsewhere the wall clock stands in)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return time.monotonic()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


# --- the child ---------------------------------------------------------------------------------


def new_compiler(empty_root: str) -> Any:
    """A typst compiler that reads nothing but ``empty_root`` (and the root each document names),
    with only its embedded fonts and no packages: the one setup for both processes."""
    import typst

    return typst.Compiler(
        root=empty_root, ignore_system_fonts=True, package_path=empty_root, package_cache_path=empty_root
    )


def _limit_memory(megabytes: int) -> None:
    """Cap this process's data: past it an allocation fails (Rust then aborts the process; Python
    raises MemoryError)."""
    import resource

    limit = megabytes << 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _serve(empty_root: str, megabytes: int) -> None:
    _limit_memory(megabytes)
    compiler = new_compiler(empty_root)
    # typst starts its worker threads at its first document: here, not when a layout has used up
    # the memory (a thread that cannot start is a panic that leaves the process hanging)
    compiler.compile(input=b"", format="pdf", root=empty_root, pdf_tags=False)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    while header := requests.read(_HEADER.size):
        request, root_size, document_size = _HEADER.unpack(header)
        root = requests.read(root_size).decode()
        document = requests.read(document_size)
        _forget_peak()
        broken = False
        try:
            if request == _REQUEST_ROW_PAGES:
                pdf, pages = _with_row_pages(document, root, empty_root)
            else:
                pdf, pages = compiler.compile(input=document, format="pdf", root=root, pdf_tags=False), b""
            assert isinstance(pdf, bytes)  # one PDF, not one image per page
            answer = _HEADER.pack(_PDF, len(pdf), len(pages)) + pdf + pages
        except MemoryError:
            answer = _HEADER.pack(_TOO_BIG, 0, 0)
        except Exception as exc:  # typst's errors, and anything else: the parent says why
            message = str(getattr(exc, "message", None) or exc).encode()
            answer = _HEADER.pack(_ERROR, len(message), 0) + message
        except BaseException as exc:  # a panic in typst (pyo3's PanicException): this process is done
            if type(exc).__name__ != "PanicException":
                raise
            broken = True
            # at the cap, an allocation typst checks (zlib's, a thread's) fails as a panic
            if _peak_megabytes() >= 0.75 * megabytes:
                answer = _HEADER.pack(_TOO_BIG, 0, 0)
            else:
                message = f"typst failed: {exc}".encode()
                answer = _HEADER.pack(_BROKEN, len(message), 0) + message
        answers.write(answer)
        answers.flush()
        if broken:
            return


def _with_row_pages(document: bytes, root: str, empty_root: str) -> tuple[Any, bytes]:
    """The document's PDF, and the JSON list of the pages its rows begin on (its ``<row-pages>``).
    A compiler's query reads the input the compiler was made with, so one is made for this
    document: queried first, then asked for the PDF of the same input, it lays the document out
    once (the 500 longest rows: a peak of 219 MB resident, against 207 MB for the PDF alone; the PDF
    first and a query after laid it out twice, in 378 MB and twice the time)."""
    import typst

    compiler = typst.Compiler(
        input=document,
        root=root,
        ignore_system_fonts=True,
        package_path=empty_root,
        package_cache_path=empty_root,
    )
    pages = compiler.query("<row-pages>", field="value", one=True)
    pdf = compiler.compile(input=document, format="pdf", root=root, pdf_tags=False)
    return pdf, pages.encode()


def _forget_peak() -> None:
    """Start counting this process's peak memory afresh (Linux; elsewhere it counts from the start)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_megabytes() -> float:
    """The most memory this process has held since :func:`_forget_peak` (0 where Linux's /proc is not)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    peak = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
    return int(peak) / 1024


_idle: list[TypstProcess] = []
_idle_lock = threading.Lock()
# Processes kept for the next document; a thread that finds none starts its own, so the threads
# of a process compile side by side, and more than this many are stopped once done.
MAX_IDLE = 4


@contextmanager
def typst_process(empty_root: Path) -> Iterator[TypstProcess]:
    """A typst process for one document: an idle one, or a new one (started at its first use)."""
    with _idle_lock:
        process = _idle.pop() if _idle else None
    if process is None:
        process = TypstProcess(empty_root)
    try:
        yield process
    finally:
        with _idle_lock:
            kept = len(_idle) < MAX_IDLE
            if kept:
                _idle.append(process)
        if not kept:
            process.stop()


if __name__ == "__main__":
    _serve(sys.argv[1], int(sys.argv[2]))
