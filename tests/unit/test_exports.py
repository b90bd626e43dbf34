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
