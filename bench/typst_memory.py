"""The memory a typst process needs for the documents Pregón makes, against its cap (TYPST_MEGABYTES).

    uv run python -m bench.typst_memory

Each document is laid out as a company's own template is (``typst_process``: a child process with
one typst compiler), in a fresh process: Pregón's default templates in Spanish and English with
their sample values; the largest order the API allows (500 lines), with ordinary values and with
every value at its longest (two 200-character texts a line, typst's special characters in them:
escaped, each is two characters of markup); a statement of the most movements the API allows
(2,000) at their longest, as Pregón lays it out: its largest part (pdf.PART_ROWS movements, each
part in a process of its own), the document that joins the parts' pages, and, for comparison,
the whole of it in one process (what the parts avoid); a statement of 50 pages (the most a
company's own template may make: 2,400 movements of the default template, its markup made past
the tenant's 200,000 characters here); the statement with a 3,000 × 3,000 logo; a process that
has laid out 300 one-page statements one after another, and one that has laid out ten statements
just short of pdf.ALONE_BYTES (what typst keeps of its last ten documents: what Pregón's own
templates leave in the worker's process). For each: the process's peak resident memory (VmHWM)
and the smallest data limit (RLIMIT_DATA, what the cap sets, found by bisection to 2 MB) under
which it still lays the documents out. The processes the bisection takes past their limit print
typst's abort ("memory allocation of N bytes failed") on stderr.
"""

from __future__ import annotations

import struct
import tempfile
import zlib
from pathlib import Path
from typing import Any

from bench._stack import table, write_result

_LOGO_SIDE = 3000
_MOST = 2000  # movements: the most a statement may have (StatementIn, OpenMovementsIn)
_LINES = 500  # lines: the most an order may have
_FIFTY_PAGES = 2400  # movements: 50 pages of the default statement
_LONGEST = 200  # characters: a document number, a description, a code (documents_schemas.Line)


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


def _longest(start: str, filler: str) -> str:
    return (start + filler * _LONGEST)[:_LONGEST]


def _longest_statement(movements: int) -> dict[str, Any]:
    """A statement's values as Pregón makes them, every movement's texts and amount at their longest."""
    from datetime import date, datetime, timezone

    from chalicelib.core.domain import Company, DocumentSettings, Movement
    from chalicelib.producers.documents.send import statement_data

    company = Company("bench", "Distribuidora Ñandú S.R.L.", "es", False, datetime.now(timezone.utc))
    settings = DocumentSettings("bench", statement_comment=_longest("", "Aceptamos transferencias. "))
    lines = [
        Movement(
            "2026-10-01",
            _longest(f"FA{n:05d}/", "FA-0001-0000/"),
            "999999999999.99",
            _longest(f"Mov{n:05d} ", "Nota de crédito #12 *urgente* (ver /anexo) — "),
            "2026-10-31",
        )
        for n in range(movements)
    ]
    values, _ = statement_data(
        company,
        settings,
        "CEDIMU",
        "Ferretería Los Andes",
        ["a@b.example"],
        lines,
        "ARS",
        date(2026, 10, 31),
        "EC-1",
    )
    return {**values, "company": {"name": company.name, "has_logo": False}}


def _documents(root: Path) -> list[tuple[str, list[bytes], Path]]:
    """(name, the typst documents one process lays out in turn, their root)."""
    from bench.pdf_render import _statement_values
    from chalicelib.messaging.sandbox import render_escaped
    from chalicelib.producers.documents.pdf import (
        _PAGE,
        ALONE_BYTES,
        DEFAULT_OUTPUT_CHARS,
        PART_ROWS,
        _preamble,
        _root_with,
        join_document,
        typst_escape,
    )
    from chalicelib.producers.documents.send import statement_part
    from chalicelib.producers.documents.templates import DOCUMENT_TYPES, default_source, sample_for
    from chalicelib.producers.documents.typst_process import TypstProcess

    def markup(kind: str, language: str, values: dict[str, Any], logo: str | None = None) -> bytes:
        source = default_source(kind, language)
        text = render_escaped(
            source, values, typst_escape, field="source", output_chars=100 * DEFAULT_OUTPUT_CHARS
        )
        return (_preamble(logo) + text).encode()

    def statement(movements: int, branch: int = 1) -> dict[str, Any]:
        values = _statement_values(0)
        line = values["statement"]["movements"][0]
        values["statement"]["movements"] = [
            dict(line, document=f"A-{branch:04d}-{n:08d}") for n in range(movements)
        ]
        return values

    order = sample_for("order", "Distribuidora Ñandú S.R.L.")
    order["lines"] = [dict(order["lines"][n % 2], code=f"A-{n:04d}") for n in range(_LINES)]
    longest_order = sample_for("order", "Distribuidora Ñandú S.R.L.")
    longest_order["notes"] = _longest("Notas: ", "Entregar en depósito #2 (de 8 a 16 h) — ")
    longest_order["lines"] = [
        {
            "code": _longest(f"A{n:04d}-", "B-220/"),
            "description": _longest(f"Art{n:04d} ", "Tornillo #8 × 1½ *inox* (caja × 100) — "),
            "quantity": "999.999.999,999",
            "unit_price": "$ 999.999.999.999,99",
            "amount": "$ 999.999.999.998.999.999.999,00",
        }
        for n in range(_LINES)
    ]
    longest = _longest_statement(_MOST)
    # the parts as Pregón lays them out: PART_ROWS movements each (render_parts then keeps each
    # part's full pages and starts the next with the rows of its last page: no larger part)
    rows = len(longest["statement"]["movements"])
    parts = [
        markup(
            "statement",
            "es",
            statement_part(longest, start, min(start + PART_ROWS, rows), start + PART_ROWS >= rows),
        )
        for start in range(0, rows, PART_ROWS)
    ]
    joined = Path(tempfile.mkdtemp(prefix="typst-memory-join-"))
    laying_out = TypstProcess(root, megabytes=4096)
    try:
        pdfs = [laying_out.compile(part, root, seconds=60) for part in parts]
        join = join_document([(pdf, len(_PAGE.findall(pdf))) for pdf in pdfs], joined, ("Página", "de"))
    finally:
        laying_out.stop()
    alone = 1
    while len(markup("statement", "es", statement(alone + 1))) <= ALONE_BYTES:
        alone += 1
    logo_root, logo_name = _root_with((_png(_LOGO_SIDE), "image/png"))
    with_logo = statement(25)
    with_logo["company"] = {**with_logo["company"], "has_logo": True}
    documents = [
        (f"default {kind} ({language})", [markup(kind, language, sample_for(kind, "Ñandú S.R.L."))], root)
        for kind in DOCUMENT_TYPES
        for language in ("es", "en")
    ]
    documents += [
        (f"order, {_LINES} lines", [markup("order", "es", order)], root),
        (f"order, {_LINES} lines at their longest", [markup("order", "es", longest_order)], root),
        (f"statement, {_MOST:,} movements at their longest: its largest part", [max(parts, key=len)], root),
        (f"statement, {_MOST:,} movements at their longest: joining its {len(parts)} parts", [join], joined),
        (
            f"statement, {_MOST:,} movements at their longest, whole (what the parts avoid)",
            [markup("statement", "es", longest)],
            root,
        ),
        (
            f"statement, {_FIFTY_PAGES:,} movements",
            [markup("statement", "es", statement(_FIFTY_PAGES))],
            root,
        ),
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
        (
            f"10 statements of {alone} movements (the longest laid out in the worker) in one process",
            [
                markup("statement", "es", statement(alone) | {"document": {"number": str(n)}})
                for n in range(10)
            ],
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
