"""Request and response models of the staff mailbox routes (H3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.history_schemas import TableCode
from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD, Strict

Host = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
User = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]
Folder = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Port = Annotated[int, Field(ge=1, le=65535)]
Auth = Literal["password", "microsoft365", "google"]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=253)]
AUTH = (
    "`password` (IMAP LOGIN to `host`), `microsoft365` (OAuth2, SASL XOAUTH2, on Exchange Online: "
    "no host, port or encryption of the tenant's; needs `tenant_id`, `client_id` and the client secret) "
    "or `google` (OAuth2 with the company's service account by domain-wide delegation, SASL XOAUTH2, on "
    "Gmail: no host, port or encryption; `username` is the Workspace user's address; needs the service "
    "account's key)."
)


class MailboxIn(Strict):
    auth: Auth = Field(default="password", description=AUTH)
    host: Host | None = Field(
        default=None, description="The IMAP server; a public address (Q7). Required for `password`."
    )
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
    tenant_id: Id | None = Field(
        default=None, description="`microsoft365`: the directory (tenant) id, a GUID or the tenant's domain."
    )
    client_id: Id | None = Field(
        default=None, description="`microsoft365`: the application (client) id, a GUID."
    )


class MailboxChangeIn(Strict):
    auth: Auth | None = Field(default=None, description="Switching removes the other kind's secret.")
    host: Host | None = None
    port: Port | None = None
    encryption: Literal["tls", "starttls", "none"] | None = None
    username: User | None = None
    folders: list[Folder] | None = Field(default=None, max_length=10)
    visibility: Literal["private", "public"] | None = None
    enabled: bool | None = None
    tenant_id: Id | None = None
    client_id: Id | None = None


class ClientSecretIn(Strict):
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class ServiceAccountKeyIn(BaseModel):
    """The JSON key file Google gives for a service account, as it is; only `client_email` and
    `private_key` are kept (the rest, `token_uri` included, is ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    type: Literal["service_account"] = Field(description="`service_account`, as in Google's key file.")
    client_email: Annotated[str, StringConstraints(min_length=3, max_length=320)] = Field(
        description="The service account's address (`...@<project>.iam.gserviceaccount.com`)."
    )
    private_key: Annotated[str, StringConstraints(min_length=1, max_length=8000)] = Field(
        description="Its RSA private key in PEM; write-only."
    )


class FolderStateOut(BaseModel):
    uidvalidity: int
    last_uid: int


class MailboxOut(BaseModel):
    mailbox_id: str
    owner: str = Field(description="The staff user whose mailbox it is (who added it).")
    owner_name: str | None = Field(default=None, description=NAME_FIELD)
    visibility: str
    host: str
    port: int
    encryption: str
    username: str
    folders: list[str]
    enabled: bool
    auth: str = Field(description=AUTH)
    tenant_id: str | None
    client_id: str | None
    password_set: bool
    client_secret_set: bool = Field(
        description="`microsoft365`: whether its client secret is set (never shown)."
    )
    service_account: str | None = Field(
        description="`google`: the service account (`client_email`) of the key set, if any."
    )
    service_account_key_set: bool = Field(
        description="`google`: whether its service account key is set (never shown)."
    )
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None = Field(description="The monitor: when the last sync ended.")
    last_error: str | None = Field(description="The monitor: the last sync's failure, in the server's words.")
    logged_count: int = Field(description="The monitor: records this mailbox has logged.")
    next_sync_at: datetime | None
    folder_state: dict[str, FolderStateOut]
    etag: str = Field(description=ETAG_FIELD)


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
    motive: TableCode | None = Field(
        default=None,
        description="The answer's motive in the register (a code of the company's motives). "
        "Not given: the answered record's; `null`: none.",
    )
    area: TableCode | None = Field(
        default=None,
        description="The answer's area in the register (a code of the company's areas). "
        "Not given: the answered record's; `null`: none.",
    )
