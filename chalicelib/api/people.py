"""Staff by name in the API's answers. A field that holds a user id (``created_by``, ``applied_by``,
``updated_by``...) keeps it, since the back office's programs may rely on it, and gets a twin
``<field>_name``: the user's name in the company's staff directory (``tenants.staff``), or null
when the id names no one there with a name (a system, an API key, a user never named).

One rule for who sees which id: the field holds the user id as the caller is shown it
(``tenants.staff.shown_user``): itself to the company's systems and to staff of levels 1-3, and to
a level-4 user their own id but each colleague's opaque handle, as ``GET /staff/colleagues`` shows
it, so no answer tells a level-4 user a colleague's login."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.tenants.auth.principal import Principal

# The description of every ``<field>_name`` in the API document.
NAME_FIELD = "The name of that user in the staff directory; null for a system or a user without one."


def with_names(viewer: Principal, rows: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """``rows`` with ``<field>_name`` beside each of ``fields`` (looked up together), and each
    user id in ``fields`` as ``viewer`` is shown it (``tenants.staff.shown_user``)."""
    from chalicelib.tenants.staff import shown_user, staff_names

    names = staff_names(viewer.company_id, (row.get(f) for row in rows for f in fields))
    for row in rows:
        for field in fields:
            user_id = row.get(field)
            row[f"{field}_name"] = names.get(user_id or "")
            if user_id:
                row[field] = shown_user(viewer, user_id)
    return rows


def named_page(
    viewer: Principal, items: Iterable[Any], cursor: dict[str, Any] | None, out: Any, *fields: str
) -> Any:
    """A page of a listing (``http.page_response``) whose rows name people by ``fields``."""
    from chalicelib.api.http import encode_cursor, json_response

    rows = with_names(viewer, [out(item) for item in items], *fields)
    return json_response({"items": rows, "next_cursor": encode_cursor(cursor)})


def named(viewer: Principal, row: dict[str, Any], *fields: str) -> dict[str, Any]:
    """One answer (``row``) with its people named, and those of its ``attachments`` (``added_by``)."""
    with_names(viewer, [row], *fields)
    if isinstance(row.get("attachments"), list):
        with_names(viewer, row["attachments"], "added_by")
    return row
