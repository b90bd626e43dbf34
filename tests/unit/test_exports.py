"""Excel exports (H1, H2, N3) are laid out in time that grows with their rows, not rows²."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from chalicelib.records.exports import workbook


def test_a_workbook_never_walks_every_cell_written_so_far_for_each_row(monkeypatch: Any) -> None:
    # Given the sheet's extent (max_row: a walk over every cell written so far) is counted
    walks = [0]
    extent = Worksheet.max_row.fget  # type: ignore[attr-defined]

    def counted(sheet: Worksheet) -> int:
        walks[0] += 1
        return int(extent(sheet))

    monkeypatch.setattr(Worksheet, "max_row", property(counted))
    rows = [
        [f"id{n}", datetime(2026, 12, 1, 15, n % 60, tzinfo=timezone.utc), "=HYPERLINK(1)", f"texto {n}"]
        for n in range(200)
    ]

    # When an export of 200 rows is laid out (10,000 is the cap: a walk per row made it minutes)
    data = workbook("Registro", ["Id", "Fecha", "Asunto", "Texto"], rows, time_zone="UTC", locale="es_AR")

    # Then the cells are not walked once per row
    assert walks[0] <= 2, walks[0]
    # And every row is there as before: text that looks like a formula kept as text, times in the
    # locale's order, the header bold and frozen
    sheet: Any = load_workbook(io.BytesIO(data)).active
    assert sheet.max_row == 201
    assert (sheet["C2"].value, sheet["C2"].data_type) == ("=HYPERLINK(1)", "s")
    assert sheet["B201"].number_format == "dd/mm/yyyy hh:mm"
    assert sheet["A201"].value == "id199" and sheet["A1"].font.b and sheet.freeze_panes == "A2"


def test_a_workbook_s_columns_are_as_wide_as_what_they_hold_and_long_text_wraps() -> None:
    # Given a register's rows: a date, a short type, an address with its name and a long subject
    subject = "Constitución de la sociedad y alta en el censo de empresarios " * 3
    rows = [
        [
            datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc),
            "Visita",
            '"Marta Ruiz" <marta.ruiz@ejemplo.es>',
            subject,
        ],
        [
            datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc),
            "E-mail",
            "ana@ejemplo.es",
            "Dudas\nsobre el IVA",
        ],
    ]

    # When the file is made (every .xlsx Pregón produces goes through this)
    data = workbook("Registro", ["Fecha (Europe/Madrid)", "Tipo", "De", "Asunto"], rows, locale="es_ES")

    # Then Excel opens it with each column as wide as its header or its longest line, at most 60
    sheet: Any = load_workbook(io.BytesIO(data)).active
    widths = {c: sheet.column_dimensions[c].width for c in "ABCD"}
    assert widths["A"] >= len("Fecha (Europe/Madrid)") >= len("dd/mm/yyyy hh:mm"), widths
    assert len("Tipo") <= widths["B"] <= 10, widths
    assert widths["C"] >= len('"Marta Ruiz" <marta.ruiz@ejemplo.es>'), widths
    assert widths["D"] <= 62, widths
    # And the long subject wraps within its column, as the lines of a text do; the rest do not
    assert sheet["D2"].alignment.wrap_text and sheet["D3"].alignment.wrap_text
    assert not sheet["C2"].alignment.wrap_text
    # And the header row stays in view
    assert sheet.freeze_panes == "A2"
