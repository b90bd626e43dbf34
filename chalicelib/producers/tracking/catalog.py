"""The company's status catalog (T8): display names, visibility, and which statuses notify."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.domain import StatusDefinition
from chalicelib.core.errors import ValidationFailed, edited_meanwhile
from chalicelib.store import companies as store
from chalicelib.tenants.defaults import VISIBILITIES


def status_catalog(company_id: str) -> dict[str, StatusDefinition]:
    return {s.code: s for s in store.list_statuses(company_id)}


def is_notifiable(status: StatusDefinition | None) -> bool:
    return status is not None and status.notify and status.visibility != "hidden"


def save_status(
    company_id: str,
    code: str,
    display_name: str,
    visibility: str,
    notify: bool,
    if_match: tuple[int, ...] | None = None,
) -> StatusDefinition:
    """Create or change one status. A hidden status is never notified (the end customer can't see it).
    With ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved it since."""
    if visibility not in VISIBILITIES:
        raise ValidationFailed(
            [{"field": "visibility", "message": f"must be one of {', '.join(VISIBILITIES)}"}]
        )
    status = StatusDefinition(code, display_name, visibility, notify)
    version = store.save_status(company_id, status, if_match)
    if version is None:
        raise edited_meanwhile("this status")
    return replace(status, version=version)
