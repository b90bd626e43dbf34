"""Bodies and answers of the client notes, the notes report (N1-N3) and the preferred-agent
changes (N4)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD

NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
AgentCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoteIn(_Strict):
    """A note on a client; the author, their branch and department are Pregón's."""

    note: NoteText = Field(description="What happened: a call made or received, a visit, an action.")
    location: ShortText | None = Field(default=None, description="Where: the office, the client's home...")
    treatment: ShortText | None = Field(default=None, description="What follows: call again in 2 months...")


class NotePatch(_Strict):
    """Fields to change (the author only); `null` clears location or treatment."""

    note: NoteText | None = None
    location: ShortText | None = None
    treatment: ShortText | None = None


class NoteOut(BaseModel):
    note_id: str
    client_id: str
    client_name: str | None = Field(
        default=None, description="The client's name: in the notes report (`GET /notes/report`) only."
    )
    note: str
    location: str | None
    treatment: str | None
    author: str
    author_name: str | None
    branch: str | None = Field(description="The author's branch now (a note follows its author).")
    department: str | None = Field(description="The author's department now.")
    created_at: str
    updated_at: str

    etag: str = Field(description=ETAG_FIELD)


class NotesPageOut(BaseModel):
    items: list[NoteOut]
    next_cursor: str | None


class NotesReportOut(BaseModel):
    items: list[NoteOut]
    grouped_by: str | None = Field(description="`department` when the rows are grouped by department.")
    next_cursor: str | None


class PreferredAgentOut(BaseModel):
    agent: str = Field(
        description="The agent's user id, as the clients' `preferred_agent` holds it; for a level-4 "
        "caller a colleague's handle (`change_to` takes it back)."
    )
    agent_name: str | None = Field(default=None, description=NAME_FIELD)
    clients: int


class NewAgentOut(BaseModel):
    user_id: str = Field(description="What `change_to` takes: the user id, or for a level-4 caller a handle.")
    name: str | None


class PreferredAgentsOut(BaseModel):
    items: list[PreferredAgentOut]
    people: list[NewAgentOut] = Field(
        description="Whom `change_to` may name: the active users of the staff directory, by name."
    )


class AgentChangesIn(_Strict):
    """`change_to` per preferred agent; an agent left out (or blank) keeps its clients."""

    change_to: dict[AgentCode, ShortText | None] = Field(
        description="Preferred agent -> the user id of the active staff user who takes its clients "
        "(blank: keep), each as `GET /preferred-agents` shows it (a level-4 caller: handles)."
    )


class AgentMoveOut(BaseModel):
    from_agent: str
    from_agent_name: str | None = Field(default=None, description=NAME_FIELD)
    to_agent: str
    to_agent_name: str | None = Field(default=None, description=NAME_FIELD)
    clients: int


class AgentChangeOut(BaseModel):
    token: str = Field(description="Confirms this preview; refused (409) once a client moved meanwhile.")
    state: str = Field(description="previewed | applying | done")
    moves: list[AgentMoveOut]
    total: int
    moved: int
    skipped: int
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: str
    applied_by: str | None
    applied_by_name: str | None = Field(default=None, description=NAME_FIELD)
    applied_at: str | None


class AgentChangeApplyIn(_Strict):
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class StaffUserIn(_Strict):
    """A staff user's directory entry; fields left out keep their value, `null` clears a name, an
    e-mail, a branch or a department (`level`, `active` and `permissions` cannot be null)."""

    name: ShortText | None = None
    email: ShortText | None = None
    level: int | None = Field(default=None, ge=1, le=4, description="1 administrator ... 4 own work only")
    branch: AgentCode | None = Field(default=None, description="A code of the company's branches.")
    department: AgentCode | None = Field(default=None, description="A code of the company's departments.")
    permissions: list[str] | None = Field(default=None, description="e.g. change_preferred_agent")
    active: bool | None = None


class StaffUserOut(BaseModel):
    user_id: str
    name: str | None
    email: str | None
    level: int
    branch: str | None
    department: str | None
    permissions: list[str]
    active: bool
    source: str | None


class StaffUsersOut(BaseModel):
    items: list[StaffUserOut]


class ColleagueOut(BaseModel):
    user_id: str = Field(
        description="The user's id for levels 1-3; for a level-4 caller the same opaque value as "
        "`handle` (a user id is often the address a colleague signs in with)."
    )
    handle: str = Field(
        description="An opaque, stable name for the colleague that `POST .../notify` takes in `users` "
        "in place of the user id."
    )
    name: str | None
    branch: str | None = Field(description="The colleague's branch, by the name the company gives it.")
    department: str | None = Field(
        description="The colleague's department (their area of the firm), by the name the company gives it."
    )
    has_email: bool = Field(
        description="Whether the user has an e-mail address: false only with `without_email=true`, for "
        "a user who cannot be told of a record."
    )


class ColleaguesOut(BaseModel):
    items: list[ColleagueOut] = Field(
        description="Active users with an e-mail address, by name: whom a record can be told to "
        "(with `without_email=true`, every active user)."
    )


class StaffUnitIn(_Strict):
    code: AgentCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class StaffUnitOut(BaseModel):
    code: str
    name: str


class StaffUnitsOut(BaseModel):
    items: list[StaffUnitOut]
