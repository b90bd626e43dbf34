"""Excel exports (.xlsx) of the history and of a client's register (H1, H2).

Cells are written as plain values: text that looks like a formula (``=``, ``+``, ``-``, ``@``) is
kept as text, never evaluated by the spreadsheet; characters Excel cannot hold are dropped; times
are the company's local times (Z1: its IANA zone; the header names it), formatted day-first or
month-first as its locale writes dates.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

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
    rows: list[Communication] = []
    cursor: dict[str, Any] | None = None
    read, limit = 0, MAX_EXPORT_READ
    while True:
        page = query(min(200, cap + 1 - len(rows)), cursor)
        rows += page.items
        read += page.read
        if len(rows) > cap:
            raise ValidationFailed(
                [{"field": "from", "message": f"an export holds at most {cap} rows: narrow the filters"}]
            )
        if not page.cursor:
            return rows
        if read >= limit:
            raise ValidationFailed(
                [
                    {
                        "field": "from",
                        "message": f"an export searches at most {limit} messages: narrow the dates",
                    }
                ]
            )
        cursor = page.cursor


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
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Font

    book = Workbook()
    sheet: Any = book.active
    sheet.title = title[:31]
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    shown = excel_datetime_format(locale)
    for row in rows:
        # Each row's cells are made whole, then appended: the sheet's extent (``max_row``) is
        # computed over every cell written so far, and reading it per row made a 10,000-row
        # export quadratic (minutes, past API Gateway's 29 s).
        cells = []
        for value in row:
            cell = Cell(sheet, row=1, column=1, value=_cell_value(value, time_zone))  # placed by append
            if cell.data_type == "f":  # text starting with "=": keep it as text
                cell.data_type = "s"
            elif isinstance(cell.value, datetime):
                cell.number_format = shown
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
