"""The memory a typst process needs for the documents Pregón makes, against its cap (TYPST_MEGABYTES).

    uv run python -m bench.typst_memory

Each document is laid out as a company's own template is (``typst_process``: a child process with
one typst compiler), in a fresh process: Pregón's default templates in Spanish and English with
their sample values, the largest order the API allows (500 lines), the longest statement the
default template can print (1,700 movements, 35 pages: the sandbox's 200,000 characters stop it
there) and one of 50 pages (the most a document may have: 2,400 movements, its markup made past
that limit here, as a company's own template could lay out that many pages), the statement with
a 3,000 × 3,000 logo, and a process that has laid out 300 one-page statements one after another
(typst keeps its caches). For each: the process's peak resident memory (VmHWM) and the smallest
data limit (RLIMIT_DATA, what the cap sets, found by bisection to 2 MB) under which it still lays
the documents out. The processes the bisection takes past their limit print typst's abort ("memory
allocation of N bytes failed") on stderr.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from bench._stack import table, write_result

_LOGO_SIDE = 3000
_MOST = 1700  # movements: the most the sandbox's 200,000 characters let the default statement print
_FIFTY_PAGES = 2400  # movements: 50 pages of the default statement


def _status(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024)
    raise KeyError(key)


def _png(side: int) -> bytes:
    """A ``side`` × ``side`` RGB PNG of two colours (a logo; small once compressed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x20\x40\xa0" * (side // 2) + b"\xff\xff\xff" * (side - side // 2)
    header = struct.pack("!IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * side))
        + chunk(b"IEND", b"")
    )


def _documents(root: Path) -> list[tuple[str, list[bytes], Path]]:
    """(name, the typst documents one process lays out in turn, their root)."""
    from bench.pdf_render import _statement_values
    from chalicelib.messaging import sandbox
    from chalicelib.messaging.sandbox import render_escaped
    from chalicelib.producers.documents.pdf import _preamble, _root_with, typst_escape
    from chalicelib.producers.documents.templates import DOCUMENT_TYPES, default_source, sample_for

    def markup(kind: str, language: str, values: dict[str, Any], logo: str | None = None) -> bytes:
        source = default_source(kind, language)
        return (_preamble(logo) + render_escaped(source, values, typst_escape, field="source")).encode()

    def statement(movements: int) -> dict[str, Any]:
        values = _statement_values(0)
        line = values["statement"]["movements"][0]
        values["statement"]["movements"] = [dict(line, document=f"A-0001-{n:08d}") for n in range(movements)]
        return values

    order = sample_for("order", "Distribuidora Ñandú S.R.L.")
    order["lines"] = [dict(order["lines"][n % 2], code=f"A-{n:04d}") for n in range(500)]
    logo_root, logo_name = _root_with((_png(_LOGO_SIDE), "image/png"))
    with_logo = statement(25)
    with_logo["company"] = {**with_logo["company"], "has_logo": True}
    documents = [
        (f"default {kind} ({language})", [markup(kind, language, sample_for(kind, "Ñandú S.R.L."))], root)
        for kind in DOCUMENT_TYPES
        for language in ("es", "en")
    ]
    limit, sandbox.MAX_OUTPUT_CHARS = sandbox.MAX_OUTPUT_CHARS, 1_000_000
    try:
        fifty_pages = markup("statement", "es", statement(_FIFTY_PAGES))
    finally:
        sandbox.MAX_OUTPUT_CHARS = limit
    documents += [
        ("order, 500 lines", [markup("order", "es", order)], root),
        (f"statement, {_MOST:,} movements", [markup("statement", "es", statement(_MOST))], root),
        (f"statement, {_FIFTY_PAGES:,} movements", [fifty_pages], root),
        (
            f"statement with a {_LOGO_SIDE} × {_LOGO_SIDE} logo",
            [markup("statement", "es", with_logo, logo_name)],
            logo_root,
        ),
        (
            "300 one-page statements in one process",
            [markup("statement", "es", _statement_values(n)) for n in range(300)],
            root,
        ),
    ]
    return documents


def _laid_out(documents: list[bytes], root: Path, empty: Path, megabytes: int) -> tuple[bool, int, int]:
    """Whether a process capped at ``megabytes`` lays out every document; its pages and peak RSS."""
    from chalicelib.producers.documents.pdf import _PAGE
    from chalicelib.producers.documents.typst_process import (
        TypstFailed,
        TypstProcess,
        TypstTooBig,
        TypstTooSlow,
    )

    process = TypstProcess(empty, megabytes=megabytes)
    try:
        for document in documents:
            pdf = process.compile(document, root, seconds=60)
        assert process.pid is not None
        return True, len(_PAGE.findall(pdf)), _status(process.pid, "VmHWM")
    except (TypstTooBig, TypstFailed, TypstTooSlow):  # over its limit (or below what starting takes)
        return False, 0, 0
    finally:
        process.stop()


def main(argv: list[str] | None = None) -> int:
    from chalicelib.producers.documents.typst_process import TYPST_MEGABYTES

    empty = Path(tempfile.mkdtemp(prefix="typst-memory-"))
    rows = []
    for name, documents, root in _documents(empty):
        fits, pages, peak = _laid_out(documents, root, empty, 4096)
        assert fits, name
        low, high = 8, 4096  # fails at low (Python alone needs more), fits at high
        while high - low > 2:
            middle = (low + high) // 2
            if _laid_out(documents, root, empty, middle)[0]:
                high = middle
            else:
                low = middle
        rows.append({"document": name, "pages": pages, "peak_rss_mb": peak, "smallest_data_limit_mb": high})
        print(name, pages, peak, high, flush=True)
    write_result("typst_memory", {"cap_mb": TYPST_MEGABYTES, "documents": rows})
    print(
        table(
            ["document", "pages", "peak RSS MB", "smallest data limit MB"],
            [[r["document"], r["pages"], r["peak_rss_mb"], r["smallest_data_limit_mb"]] for r in rows],
        )
    )
    print(f"the cap: {TYPST_MEGABYTES} MB of data")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
