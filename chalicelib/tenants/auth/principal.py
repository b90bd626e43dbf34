"""The authenticated caller, as the authorizer passes it to every route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Principal:
    company_id: str
    kind: str  # "api_key" | "user"
    subject: str
    scopes: tuple[str, ...] = ()
    level: int = 0
    branch: str | None = None
    department: str | None = None
    # U1: who the token says the user is, for the staff directory's first entry.
    name: str | None = None
    email: str | None = None

    def to_context(self) -> dict[str, Any]:
        """API Gateway authorizer context: flat strings and numbers only."""
        return {
            "company_id": self.company_id,
            "kind": self.kind,
            "subject": self.subject,
            "scopes": " ".join(self.scopes),
            "level": self.level,
            "branch": self.branch or "",
            "department": self.department or "",
            "name": self.name or "",
            "email": self.email or "",
        }

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        return cls(
            company_id=str(context["company_id"]),
            kind=str(context["kind"]),
            subject=str(context["subject"]),
            scopes=tuple(str(context.get("scopes") or "").split()),
            level=int(context.get("level") or 0),
            branch=str(context.get("branch") or "") or None,
            department=str(context.get("department") or "") or None,
            name=str(context.get("name") or "") or None,
            email=str(context.get("email") or "") or None,
        )


def own_only(viewer: Principal) -> str | None:
    """Who sees what, everywhere (history, register, send jobs, received mail): a level-4 user sees
    only what they created themselves, so this is their user id; None for levels 1 to 3 (and API
    keys), who see the whole company."""
    return viewer.subject if viewer.kind == "user" and viewer.level == 4 else None


def may_see(viewer: Principal, owner: str | None) -> bool:
    """Whether ``viewer`` may see an item whose owner (the user who created it) is ``owner``."""
    mine = own_only(viewer)
    return mine is None or owner == mine
