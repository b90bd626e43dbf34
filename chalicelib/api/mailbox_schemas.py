"""Request and response models of the staff mailbox routes (H3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from chalicelib.api.schemas import Strict

Host = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
User = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
Folder = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Port = Annotated[int, Field(ge=1, le=65535)]


class MailboxIn(Strict):
    host: Host = Field(description="The IMAP server; a public address (Q7).")
    port: Port | None = Field(default=None, description="Default 993 with TLS, else 143.")
    encryption: Literal["tls", "starttls", "none"] = "tls"
    username: User
    folders: list[Folder] = Field(
        default_factory=lambda: ["INBOX", "Sent"], max_length=10, description="The folders read."
    )
    visibility: Literal["private", "public"] = Field(
        default="private", description="public (the office's) needs level 1."
    )
    enabled: bool = True


class MailboxChangeIn(Strict):
    host: Host | None = None
    port: Port | None = None
    encryption: Literal["tls", "starttls", "none"] | None = None
    username: User | None = None
    folders: list[Folder] | None = Field(default=None, max_length=10)
    visibility: Literal["private", "public"] | None = None
    enabled: bool | None = None


class FolderStateOut(BaseModel):
    uidvalidity: int
    last_uid: int


class MailboxOut(BaseModel):
    mailbox_id: str
    owner: str
    visibility: str
    host: str
    port: int
    encryption: str
    username: str
    folders: list[str]
    enabled: bool
    password_set: bool
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = Field(description="The monitor: when the last sync ended.")
    last_error: str | None = Field(description="The monitor: the last sync's failure, in the server's words.")
    logged_count: int = Field(description="The monitor: records this mailbox has logged.")
    next_sync_at: datetime | None
    folder_state: dict[str, FolderStateOut]


class MailboxesOut(BaseModel):
    items: list[MailboxOut]


class MailboxTestOut(BaseModel):
    ok: bool
    answer: str = Field(description="The server's own words: its login answer, or what failed.")
    folders: dict[str, int] = Field(description="Messages in each folder opened.")


class SyncsQueuedOut(BaseModel):
    queued: list[str]


class ReplyIn(Strict):
    text: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    html: Annotated[str, StringConstraints(max_length=200_000)] | None = None
    subject: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$"
            ),
        ]
        | None
    ) = Field(default=None, description="Default: `Re: ` and the subject answered.")
