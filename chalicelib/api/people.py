"""Staff by name in the API's answers. A field that holds a user id (``created_by``, ``applied_by``,
``updated_by``...) keeps it, since the back office's programs may rely on it, and gets a twin
``<field>_name``: the user's name in the company's staff directory (``tenants.staff``), or null
when the id names no one there with a name (a system, an API key, a user never named)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The description of every ``<field>_name`` in the API document.
NAME_FIELD = "The name of that user in the staff directory; null for a system or a user without one."


def staff_names(company_id: str, user_ids: Iterable[str | None]) -> dict[str, str]:
    """``user id -> name`` for the ids that name a user of the directory with a name (a GetItem
    per id not read in the last seconds: a page names few people)."""
    from chalicelib.tenants.staff import users_by_id

    ids = [i for i in dict.fromkeys(user_ids) if i]
    return {u.user_id: u.name for u in users_by_id(company_id, ids).values() if u.name}


def with_names(company_id: str, rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """``rows`` with ``<field>_name`` beside each of ``fields`` (looked up together)."""
    names = staff_names(company_id, (row.get(f) for row in rows for f in fields))
    for row in rows:
        for field in fields:
            row[f"{field}_name"] = names.get(row.get(field) or "")
    return rows


def named_page(
    company_id: str, items: Iterable[Any], cursor: dict[str, Any] | None, out: Any, *fields: str
) -> Any:
    """A page of a listing (``http.page_response``) whose rows name people by ``fields``."""
    from chalicelib.api.http import encode_cursor, json_response

    rows = with_names(company_id, [out(item) for item in items], *fields)
    return json_response({"items": rows, "next_cursor": encode_cursor(cursor)})


def named(company_id: str, row: dict[str, Any], *fields: str) -> dict[str, Any]:
    """One answer (``row``) with its people named, and those of its ``attachments`` (``added_by``)."""
    with_names(company_id, [row], *fields)
    if isinstance(row.get("attachments"), list):
        with_names(company_id, row["attachments"], "added_by")
    return row
