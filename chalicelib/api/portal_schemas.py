"""Request and response models of the client document portal's routes (docs/portal.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.history_schemas import TableCode

FileName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PublicationIn(_Strict):
    """Publish one of a register record's files ("Publicar documento"): a copy of it goes to the
    client's portal."""

    record_id: str = Field(min_length=1, max_length=64, description="The register record holding the file.")
    attachment: int = Field(ge=0, description="Which of the record's `attachments` (0 is the first).")
    name: FileName | None = Field(
        default=None, description="The name the client sees; the file's own if left out."
    )
    categories: list[TableCode] | None = Field(
        default=None,
        max_length=10,
        description="Codes of the company's `/register/categories`; left out, a sent document's own "
        "(an order's `pedidos`, a statement's `estados_cuenta`: the file's `portal_categories`), "
        "else none.",
    )
    visible: bool = Field(default=True, description="*Visible para el cliente*: ticked unless told.")


class PublicationPatch(_Strict):
    """What to change of a publication: its name, categories or visibility."""

    name: FileName | None = None
    categories: list[TableCode] | None = Field(default=None, max_length=10)
    visible: bool | None = None


class PublicationOut(BaseModel):
    publication_id: str
    client_id: str
    name: str
    categories: list[str]
    visible: bool
    content_type: str
    size: int
    record_id: str = Field(description="The register record it was published from.")
    attachment: int = Field(description="Which of that record's files.")
    created_at: datetime
    created_by: str | None = Field(
        description="Who published it (a level-4 caller sees colleagues by handle)."
    )
    download_url: str = Field(description="A link to the published copy, valid 5 minutes.")


class PublicationPageOut(BaseModel):
    items: list[PublicationOut]
    next_cursor: str | None


class PortalAccessOut(BaseModel):
    """The e-mail that carries the client's portal link, queued."""

    communication_id: str
    to_address: str
    state: str


class PortalRevokedOut(BaseModel):
    """The client's portal links revoked: the register record that says so, and who did it."""

    record_id: str = Field(description="The record in the client's register that says who revoked them.")
    revoked_at: datetime = Field(description="Links made before this no longer open the portal.")
    revoked_by: str = Field(description="Who revoked them (a level-4 caller sees colleagues by handle).")
