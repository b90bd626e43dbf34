"""Staff users of a company as the notes tests need them, and reading notes back."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import IDENTITY, Tenant


def staff_headers(
    tenant: Tenant,
    user_id: str,
    level: int,
    *,
    branch: str | None = None,
    department: str | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """The headers of a staff user whose token carries these claims."""
    token = IDENTITY.mint(
        tenant.company_id, user_id=user_id, level=level, branch=branch, department=department, name=name
    )
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def write_note(api: Client, headers: dict[str, str], client_id: str, text: str, **fields: Any) -> Any:
    response = api.http.post(
        f"/clients/{client_id}/notes", headers=headers, body=json.dumps({"note": text, **fields})
    )
    assert response.status_code == 201, response.body
    return body(response)


def client_notes(api: Client, headers: dict[str, str], client_id: str) -> list[str]:
    """The texts of a client's notes the user sees, newest first (every page)."""
    texts: list[str] = []
    cursor = ""
    while True:
        response = api.http.get(f"/clients/{client_id}/notes?limit=2{cursor}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        texts += [n["note"] for n in page["items"]]
        if not page["next_cursor"]:
            return texts
        cursor = f"&cursor={page['next_cursor']}"


def report(api: Client, headers: dict[str, str], query: str = "", limit: int = 3) -> list[dict[str, Any]]:
    """Every row of the notes report, page by page."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        response = api.http.get(f"/notes/report?limit={limit}{query}{cursor}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        rows += page["items"]
        if not page["next_cursor"]:
            return rows
        cursor = f"&cursor={page['next_cursor']}"


def export_lines(api: Client, headers: dict[str, str], query: str = "") -> list[tuple[Any, ...]]:
    """The rows of the report's Excel file, header first."""
    from openpyxl import load_workbook

    from tests.steps.history import XLSX

    response = api.http.get(f"/notes/report/export?x=1{query}", headers={**headers, "Accept": XLSX})
    assert response.status_code == 200, response.body
    raw = response.body if isinstance(response.body, bytes) else base64.b64decode(response.body)
    sheet: Any = load_workbook(io.BytesIO(raw)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]
