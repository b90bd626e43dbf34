"""One-page account statements (25 lines) rendered per second by one worker (issue 11, D1).

    uv run python -m bench.pdf_render [--seconds 10]
    uv run --with weasyprint --with fpdf2 --with reportlab python -m bench.pdf_render --compare

Pregón's path is timed as a bulk statement page runs it: the shipped Spanish statement template
(sandboxed Jinja writing typst markup, every value escaped) rendered with 25 movements formatted by
Babel for es_AR, compiled by one reused typst compiler to PDF bytes. Every statement has other
numbers (no caching of output). ``--compare`` renders the same statement with WeasyPrint (HTML +
CSS, the template rendered by Jinja), fpdf2 and ReportLab (drawn in Python: no tenant template
language at all) when they are installed, for the decision record
(docs/decisions/0006-pdf-renderer.md). Reports statements per second and the PDF's size.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from bench._stack import machine, table, write_result

LINES = 25
TARGET = 100.0


def _movements(seed: int) -> list[Any]:
    from chalicelib.core.domain import Movement

    return [
        Movement(
            date=f"2026-10-{1 + n % 28:02d}",
            document=f"A-0001-{seed * 100 + n:08d}",
            amount=str(Decimal(1000 + 37 * n + seed) + Decimal("0.45")),
            description="Factura de venta" if n % 4 else "Nota de crédito por devolución",
            due_on=f"2026-11-{1 + n % 28:02d}",
        )
        for n in range(LINES)
    ]


def _statement_values(seed: int) -> dict[str, Any]:
    from chalicelib.core.domain import Company, DocumentSettings
    from chalicelib.producers.documents.send import statement_data

    company = Company("bench", "Distribuidora Ñandú S.R.L.", "es", False, datetime.now(timezone.utc))
    settings = DocumentSettings("bench", statement_comment="Aceptamos transferencias y depósitos.")
    pdf_data, _ = statement_data(
        company,
        settings,
        f"CLI-{seed:05d}",
        "Ferretería Los Andes",
        ["compras@losandes.example"],
        _movements(seed),
        "ARS",
        date(2026, 10, 31),
        f"EC-CLI-{seed:05d}-20261031",
    )
    return {**pdf_data, "company": {"name": company.name, "has_logo": False}}


def _pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _typst() -> Callable[[int], bytes]:
    from chalicelib.producers.documents.pdf import render_pdf
    from chalicelib.producers.documents.templates import default_source

    source = default_source("statement", "es")
    return lambda seed: render_pdf(source, _statement_values(seed), own=False)


def _typst_own() -> Callable[[int], bytes]:
    """The same layout as a company's own template: typst in a process of its own, stopped at
    its time (``typst_process``), the PDF sent back over a pipe."""
    from chalicelib.producers.documents.pdf import render_pdf
    from chalicelib.producers.documents.templates import default_source

    source = default_source("statement", "es")
    return lambda seed: render_pdf(source, _statement_values(seed), own=True)


def _cpu_of_children() -> float:
    """CPU seconds of the typst processes this process keeps (a company's own templates)."""
    from chalicelib.producers.documents.typst_process import _cpu_seconds, _idle

    return sum(_cpu_seconds(p.pid) for p in _idle if p.pid is not None)


_HTML = """<html><head><meta charset="utf-8"><style>
@page { size: A4; margin: 1.6cm 1.8cm } body { font-family: serif; font-size: 10pt }
table { border-collapse: collapse; width: 100% } td, th { border: 0.4pt solid #999; padding: 3pt }
td.n { text-align: right }</style></head><body>
<h2>{{ company.name }}: Estado de cuenta al {{ statement.as_of }}</h2>
<p><b>Cliente:</b> {{ recipient.name }} ({{ recipient.code }})</p>
<table><tr><th>Fecha</th><th>Documento</th><th>Descripción</th><th>Vencimiento</th><th>Importe</th>
<th>Saldo</th></tr>{% for m in statement.movements %}<tr><td>{{ m.date }}</td><td>{{ m.document }}</td>
<td>{{ m.description }}</td><td>{{ m.due_on }}</td><td class="n">{{ m.amount }}</td>
<td class="n">{{ m.balance }}</td></tr>{% endfor %}</table>
<p style="text-align: right"><b>Saldo: {{ statement.balance }}</b></p>
<p>{{ statement.comment }}</p></body></html>"""


def _weasyprint() -> Callable[[int], bytes]:
    from jinja2.sandbox import SandboxedEnvironment
    from weasyprint import HTML  # type: ignore[import-not-found,unused-ignore]

    template = SandboxedEnvironment(autoescape=True).from_string(_HTML)
    return lambda seed: bytes(HTML(string=template.render(**_statement_values(seed))).write_pdf())


def _fpdf2() -> Callable[[int], bytes]:
    from fpdf import FPDF  # type: ignore[import-not-found,unused-ignore]

    def render(seed: int) -> bytes:
        values = _statement_values(seed)
        pdf = FPDF(format="A4")
        pdf.add_page()
        pdf.set_font("helvetica", size=14)  # core font: Latin-1 only (á, ñ print; € would not)
        pdf.cell(0, 8, f"{values['company']['name']}: Estado de cuenta", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=8)
        with pdf.table(col_widths=(18, 28, 50, 18, 22, 22), text_align="LEFT") as grid:
            grid.row(["Fecha", "Documento", "Descripción", "Vencimiento", "Importe", "Saldo"])
            for m in values["statement"]["movements"]:
                grid.row([m["date"], m["document"], m["description"], m["due_on"], m["amount"], m["balance"]])
        pdf.cell(0, 8, f"Saldo: {values['statement']['balance']}", new_x="LMARGIN", new_y="NEXT")
        return bytes(pdf.output())

    return render


def _reportlab() -> Callable[[int], bytes]:
    import io

    from reportlab.lib.pagesizes import A4  # type: ignore[import-not-found,unused-ignore]
    from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-not-found,unused-ignore]
    from reportlab.platypus import (  # type: ignore[import-not-found,unused-ignore]
        Paragraph,
        SimpleDocTemplate,
        Table,
    )

    styles = getSampleStyleSheet()

    def render(seed: int) -> bytes:
        values = _statement_values(seed)
        out = io.BytesIO()
        rows = [["Fecha", "Documento", "Descripción", "Vencimiento", "Importe", "Saldo"]]
        rows += [
            [m["date"], m["document"], m["description"], m["due_on"], m["amount"], m["balance"]]
            for m in values["statement"]["movements"]
        ]
        story = [
            Paragraph(f"{values['company']['name']}: Estado de cuenta", styles["Heading2"]),
            Table(rows),
            Paragraph(f"Saldo: {values['statement']['balance']}", styles["Normal"]),
        ]
        SimpleDocTemplate(out, pagesize=A4).build(story)
        return out.getvalue()

    return render


def _measure(name: str, make: Callable[[], Callable[[int], bytes]], seconds: float) -> dict[str, Any] | None:
    try:
        render = make()
    except ImportError as exc:
        print(f"{name}: not installed ({exc.name}); skipped")
        return None
    first = render(0)  # warm: imports, compiler, fonts
    count, started = 0, time.perf_counter()
    cpu_started = time.process_time() + _cpu_of_children()
    while count == 0 or time.perf_counter() - started < seconds:  # one at least, however short
        count += 1
        render(count)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() + _cpu_of_children() - cpu_started
    text_ok = "Ferretería" in _text(first) or "Descripción" in _text(first)
    return {
        "renderer": name,
        "statements": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 1),
        # CPU seconds of this process (every thread) and of its typst processes: what one worker
        # with a core of its own does
        "cpu_ms_per_statement": round(1000 * cpu / count, 2),
        "per_cpu_second": round(count / cpu, 1),
        "pdf_bytes": len(first),
        "pages": _pages(first),
        "spanish_text_extracted": text_ok,
    }


def _text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--compare", action="store_true", help="also WeasyPrint, fpdf2 and ReportLab")
    args = parser.parse_args(argv)
    candidates: list[tuple[str, Callable[[], Callable[[int], bytes]]]] = [
        ("typst (Pregón)", _typst),
        ("typst, a company's own template", _typst_own),
    ]
    if args.compare:
        candidates += [("WeasyPrint", _weasyprint), ("fpdf2", _fpdf2), ("ReportLab", _reportlab)]
    results = [r for name, make in candidates if (r := _measure(name, make, args.seconds))]
    pregon = results[0]
    result = {
        "lines": LINES,
        "target_per_second": TARGET,
        "results": results,
        "machine": machine(),
        "load_average": os.getloadavg(),
    }
    write_result("pdf_render", result)
    print(
        table(
            [
                "renderer",
                "statements",
                "seconds",
                "statements/s",
                "per CPU-second",
                "PDF bytes",
                "pages",
                "text reads back",
            ],
            [
                [
                    r["renderer"],
                    r["statements"],
                    r["seconds"],
                    r["per_second"],
                    r["per_cpu_second"],
                    r["pdf_bytes"],
                    r["pages"],
                    r["spanish_text_extracted"],
                ]
                for r in results
            ],
        )
    )
    print(
        f"typst (Pregón): {pregon['per_second']} statements/s wall-clock, {pregon['per_cpu_second']} per "
        f"CPU-second (target ≥ {TARGET:.0f}); load average {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
