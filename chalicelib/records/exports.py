"""Excel exports (.xlsx) of the history and of a client's register (H1, H2).

Cells are written as plain values: text that looks like a formula (``=``, ``+``, ``-``, ``@``) is
kept as text, never evaluated by the spreadsheet; characters Excel cannot hold are dropped; times
are the company's local times (Z1: its IANA zone; the header names it), formatted day-first or
month-first as its locale writes dates.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain, islice
from typing import IO, TYPE_CHECKING, Any

from chalicelib.core.errors import ValidationFailed

if TYPE_CHECKING:  # app.py imports XLSX_TYPE from here: no PynamoDB at cold start
    from chalicelib.core.domain import Communication
    from chalicelib.store.communications import Page

from chalicelib.core.localization import excel_datetime_format, local_time

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_EXPORT_ROWS = 10_000
# The messages one export may read to find its rows (the listing's index entries; a search reads
# each one's item too): what the API function reads and lays out within API Gateway's 29 s.
MAX_EXPORT_READ = 20_000
_MAX_CELL = 32_767  # Excel's limit on the characters of one cell
# A column is as wide as its header and its longest line (in characters, as Excel's widths are
# counted), at most this: a longer text (a subject, a message's text) wraps within it.
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE_ROWS = 500  # the rows the widths are measured on


# What a spreadsheet's staff read, in the company's language (Z1): its headers and the codes its
# cells hold (the console's words for them, screen-kit.js's LABELS), by the English they are written
# in. A language or a word not here stays as written: English for an English-speaking company.
_SPANISH = {
    # headers
    "Date": "Fecha",
    "Type": "Tipo",
    "Direction": "Dirección",
    "Initiated by": "Iniciada por",
    "Subject": "Asunto",
    "Motive": "Motivo",
    "Area": "Área",
    "Created by": "Creado por",
    "State": "Estado",
    "Attachments": "Adjuntos",
    "Notes / text": "Notas / texto",
    "Created": "Creado",
    "Sent": "Enviado",
    "Status": "Situación",
    "Client": "Cliente",
    "To": "Para",
    "From": "De",
    "Message type": "Tipo de mensaje",
    "Resend of": "Reenvío de",
    "Text": "Texto",
    "Department": "Departamento",
    "Branch": "Sucursal",
    "User": "Usuario",
    "Note": "Nota",
    "Location": "Ubicación",
    "Treatment": "Tratamiento",
    # sheet titles
    "Register": "Registro",
    "history": "historial",
    "Notes": "Notas",
    # codes
    "sent": "Enviado",
    "not_sent": "No enviado",
    "bounced": "Rebotado",
    "complained": "Denunciado como spam",
    "received": "Recibido",
    "automatic": "Automático",
    "manual": "Manual",
    "queued": "En cola",
    "sending": "Enviándose",
    "failed": "Falló",
    "suppressed": "Suprimido",
    "recorded": "Registrado",
    "delivered": "Entregado",
    "call": "Llamada",
    "visit": "Visita",
    "email": "E-mail",
    "meeting": "Reunión",
    "other": "Otro",
    "out": "Enviado",
    "in": "Recibido",
    "note": "Manual",
    "client": "El cliente",
    "staff": "Nosotros",
}


def word(text: str | None, language: str) -> str | None:
    """``text`` (a header, a sheet's title or a code a cell holds) as the company's staff read it."""
    if text is None or language != "es":
        return text
    return _SPANISH.get(text, text)


def heading(text: str, language: str, time_zone: str | None = None) -> str:
    """A column's header in the company's language; a column of times names the zone they are in."""
    shown = word(text, language) or text
    return f"{shown} ({time_zone})" if time_zone else shown


def export_rows(query: Callable[[int, dict[str, Any] | None], Page], cap: int) -> list[Communication]:
    """Every row a listing's ``query(limit, cursor)`` gives, page after page, newest first; more
    than ``cap`` rows, or more than :data:`MAX_EXPORT_READ` entries read to find them (a search or
    a filter few messages match, over a year of history), is refused (422) as soon as it is
    known, never a file cut short."""
    return [row for page in export_pages(query, cap, MAX_EXPORT_READ) for row in page]


def export_pages(
    query: Callable[[int, dict[str, Any] | None], Page], cap: int, read_limit: int
) -> Iterator[list[Communication]]:
    """The rows of :func:`export_rows`, a page at a time (what a background export writes as it
    reads); past ``cap`` rows or ``read_limit`` entries read, :class:`ExportTooLarge`."""
    cursor: dict[str, Any] | None = None
    rows = read = 0
    while True:
        page = query(min(200, cap + 1 - rows), cursor)
        rows += len(page.items)
        read += page.read
        if rows > cap:
            raise ExportTooLarge(
                [{"field": "from", "message": f"an export holds at most {cap} rows: narrow the filters"}]
            )
        yield page.items
        if not page.cursor:
            return
        if read >= read_limit:
            raise ExportTooLarge(
                [
                    {
                        "field": "from",
                        "message": f"an export searches at most {read_limit} messages: narrow the dates",
                    }
                ]
            )
        cursor = page.cursor


@dataclass(frozen=True)
class Sheet:
    """A spreadsheet as a background export writes it: its title, headers, the file's name, the
    zone and locale of its times, and its rows a page at a time (each page: its rows' cells and
    how many of the listing's items they hold, what the export counts)."""

    title: str
    columns: list[str]
    file_name: str
    pages: Iterator[tuple[list[list[Any]], int]]
    time_zone: str = "UTC"
    locale: str = "en_US"


class ExportTooLarge(ValidationFailed):
    """An export past what one request builds (422, ``"error": "ExportTooLarge"``); the answer of
    the history's, a register's and the notes report's also names its background export
    (``export_in_background``), which builds more."""

    background: str | None = None

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.background:
            body["export_in_background"] = self.background
        return body


def _cell_value(value: Any, time_zone: str = "UTC") -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None:
        return None
    if isinstance(value, datetime):
        # Excel has no time zones: the company's wall-clock time, named in the column header.
        return local_time(value.astimezone(timezone.utc), time_zone).replace(tzinfo=None)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:_MAX_CELL]


def workbook(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    time_zone: str = "UTC",
    locale: str = "en_US",
) -> bytes:
    """One sheet: a bold header row, then one row per item, as the bytes of an .xlsx file. Times
    are shown in ``time_zone`` and in ``locale``'s order of day, month and year."""
    buffer = io.BytesIO()
    write_workbook(buffer, title, columns, rows, time_zone=time_zone, locale=locale)
    return buffer.getvalue()


def write_workbook(
    target: str | IO[bytes],
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    time_zone: str = "UTC",
    locale: str = "en_US",
) -> None:
    """:func:`workbook` written to ``target`` (a path or a binary file) in openpyxl's write-only
    mode: each row goes to the sheet's XML as it comes and is forgotten, so the memory a file takes
    does not grow with its rows (a background export reads its rows a page at a time)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    book = Workbook(write_only=True)
    sheet: Any = book.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    shown = excel_datetime_format(locale)
    try:
        # The widths are the sheet's first XML, written before its first row: they are measured on
        # the rows read first (a background export's rows come a page at a time).
        rows = iter(rows)
        first = [[_cell_value(v, time_zone) for v in row] for row in islice(rows, WIDTH_SAMPLE_ROWS)]
        wrapped = _lay_out_columns(sheet, [_cell_value(c) for c in columns], first, shown)
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=_cell_value(column))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        wrap = Alignment(wrap_text=True, vertical="top")
        for values in chain(first, ([_cell_value(v, time_zone) for v in row] for row in rows)):
            cells = []
            for i, value in enumerate(values):
                cell = WriteOnlyCell(sheet, value=value)
                if cell.data_type == "f":  # text starting with "=": keep it as text
                    cell.data_type = "s"
                elif isinstance(cell.value, datetime):
                    cell.number_format = shown
                elif i in wrapped and isinstance(value, str):
                    cell.alignment = wrap
                cells.append(cell)
            sheet.append(cells)
    except BaseException:
        _abandon(sheet)
        raise
    book.save(target)


def _lay_out_columns(
    sheet: Any, header: Sequence[Any], rows: Sequence[Sequence[Any]], shown: str
) -> set[int]:
    """Set each column's width from its header and cells (a time: as wide as ``shown`` writes it),
    between the header's and :data:`MAX_COLUMN_WIDTH`; the indexes of the columns whose text is
    longer than that or of several lines, which wrap."""
    from openpyxl.utils import get_column_letter

    def length(value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, datetime):
            return len(shown)
        return max((len(line) for line in str(value).splitlines()), default=0)

    wrapped = set()
    for i, title in enumerate(header):
        cells = [row[i] for row in rows if i < len(row)]
        longest = max(map(length, cells), default=0)
        if longest > MAX_COLUMN_WIDTH or any(isinstance(c, str) and "\n" in c for c in cells):
            wrapped.add(i)
        # +2: the cell's margins, and the bold header's wider letters
        width = min(max(length(title), longest), MAX_COLUMN_WIDTH) + 2
        sheet.column_dimensions[get_column_letter(i + 1)].width = width
    return wrapped


def _abandon(sheet: Any) -> None:
    """Close a write-only sheet whose rows failed and delete the file openpyxl wrote them to
    (a worker that tries again in the same process must not find /tmp filling up)."""
    import contextlib

    with contextlib.suppress(Exception):
        sheet.close()
    with contextlib.suppress(Exception):
        sheet._writer.cleanup()
