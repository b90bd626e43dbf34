"""Request and response models of the history (H1) and register (H2) routes; re-exported by
``api.schemas`` so the OpenAPI generator finds them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.free_text import FreeText
from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD, FieldErrorOut

CommunicationId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
TableCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Subject = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
UserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
FilterValue = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
HistoryChannel = Literal["email", "sms", "push"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AttachmentOut(BaseModel):
    name: str
    content_type: str
    size: int
    download_url: str | None = Field(
        default=None, description="A short-lived (5 minutes) download link; null once the file was deleted."
    )
    deleted_at: str | None = Field(
        default=None, description="When the file was deleted after sending, as its company asks (D3)."
    )
    omitted: str | None = Field(
        default=None,
        description="Why a received file was not kept (no link): `omitted (too large)`, or `withheld (SES "
        "found a virus in the message)`; the message in the mailbox, or the raw one, still has it.",
    )
    added_by: str | None = Field(
        default=None,
        description="Who attached the file to the register record afterwards (H2); null for a file the "
        "message came with.",
    )
    added_by_name: str | None = Field(default=None, description=NAME_FIELD)


# What machine sent a received e-mail (``records.automatic_mail``), for the inbound routes too.
AutoSubmitted = Literal["auto_reply", "delivery_report", "read_receipt", "auto_generated"]
AUTO_SUBMITTED = (
    "A machine sent this received e-mail, not a person (RFC 3834): `auto_reply` (an out-of-office), "
    "`delivery_report` (a bounce or a delay), `read_receipt`, `auto_generated` (Auto-Submitted, Precedence "
    "bulk or junk, a no-reply or empty sender). It raises no `inbound.received` webhook "
    "event and nothing answers it (docs/inbound-email.md). null for a person's message."
)


class HistoryItemOut(BaseModel):
    communication_id: str
    channel: str
    direction: Literal["out", "in"]
    kind: Literal["automatic", "manual"]
    state: str
    status_group: str
    created_at: datetime
    sent_at: datetime | None
    client_id: str | None
    to_address: str | None
    to_name: str | None
    from_address: str | None
    subject: str | None
    message_type: str | None
    created_by: str | None = Field(description="The user who sent it by hand; null for an automatic message.")
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    resend_of: str | None
    resent_as: list[str]
    auto_submitted: AutoSubmitted | None = Field(default=None, description=AUTO_SUBMITTED)


class HistoryPageOut(BaseModel):
    items: list[HistoryItemOut]
    next_cursor: str | None


class HistoryMessageOut(HistoryItemOut):
    """The message exactly as it was sent (or received)."""

    text: str | None
    html: str | None
    headers: dict[str, str]
    attachments: list[AttachmentOut]
    error: str | None = Field(
        description="Why it failed or was not sent: Pregón's reason in Spanish when `Accept-Language` "
        "prefers it (stored in English), a server's own reply as the server wrote it."
    )
    attempts: int
    provider_message_id: str | None
    rfc_message_id: str | None
    delivered_at: datetime | None
    reply_to: str | None
    from_name: str | None
    flagged: Literal["spam", "virus"] | None = Field(
        default=None,
        description="A received message SES's scan judged spam or a virus (`spam` / `virus`) that staff "
        "assigned to a client by hand; null otherwise.",
    )


class ResendIn(_Strict):
    ids: list[CommunicationId] = Field(min_length=1, max_length=100, description="Messages of the history.")
    bulk_password: str | None = Field(
        default=None,
        max_length=200,
        description="The company's bulk-send password: needed when the SMS among `ids` go to more than "
        "one client (C6).",
    )


class ResendOut(BaseModel):
    items: list[HistoryItemOut] = Field(description="The new messages, queued; each names its original.")
    refused: list[FieldErrorOut] = Field(
        description="The selected messages not resent, each as `ids[n]` and why: those to a client being "
        "erased meanwhile (\"client 'X' is being erased\"), or erased since (\"there is no client 'X'\"). "
        "The other clients' messages are resent; when none is, the answer is 422 with these errors."
    )


class SavedFilterIn(_Strict):
    """A filter to keep in "my filters": the same criteria as the history's query parameters."""

    name: Title
    criteria: dict[Literal["from", "to", "status", "kind", "client", "q"], FilterValue] = Field(
        default_factory=dict
    )
    channel: HistoryChannel | None = Field(
        default=None,
        description="The history the filter belongs to: `GET /history/filters?channel=` lists it on that "
        "channel only. Left out, it belongs to every history.",
    )


class SavedFilterOut(BaseModel):
    filter_id: str
    name: str
    criteria: dict[str, str]
    channel: HistoryChannel | None = Field(
        description="The history it was saved from; null: every history (and filters saved before channels)."
    )
    created_at: datetime


class SavedFiltersOut(BaseModel):
    items: list[SavedFilterOut]


class _ExportDays(_Strict):
    """The days a background export covers (``from``, ``to``), as the listing's query says them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    from_: FilterValue | None = Field(
        default=None,
        alias="from",
        description="A day (YYYY-MM-DD, the company's) or a moment with its offset.",
    )
    to: FilterValue | None = None


class HistoryExportIn(_ExportDays):
    """A background export's filters: the history's query parameters, by the same names."""

    status: FilterValue | None = Field(default=None, description="sent, not_sent, bounced or received.")
    kind: FilterValue | None = Field(default=None, description="automatic or manual.")
    client: FilterValue | None = None
    q: FilterValue | None = Field(default=None, description="Words the messages hold.")
    filter: FilterValue | None = Field(
        default=None, description="One of my saved filters, whose criteria the others here override."
    )


class RegisterExportIn(_ExportDays):
    """A background export of a client's register: the register's query parameters, by the same names."""

    type: FilterValue | None = Field(default=None, description="A record type or a channel.")
    motive: FilterValue | None = None
    area: FilterValue | None = None
    direction: FilterValue | None = Field(default=None, description="out, in or note.")
    q: FilterValue | None = Field(default=None, description="Words the records hold.")


class NotesExportIn(_Strict):
    """A background export of the notes report: the report's query parameters, by the same names."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    client: FilterValue | None = None
    branch: FilterValue | None = None
    department: FilterValue | None = None
    user: FilterValue | None = None
    from_: FilterValue | None = Field(
        default=None, alias="from", description="A day, YYYY-MM-DD (the company's)."
    )
    to: FilterValue | None = None
    last_three: FilterValue | None = Field(
        default=None, description="true: the three newest notes of each client."
    )
    group_by: FilterValue | None = Field(default=None, description="department.")


class HistoryExportOut(BaseModel):
    """A background export (the history's, a client's register or the notes report), as it goes."""

    export_id: str
    channel: HistoryChannel | Literal["register", "notes"] = Field(
        description="The history's channel it exports, or `register` (a client's: `criteria.client`) or "
        "`notes` (the notes report)."
    )
    state: Literal["queued", "running", "done", "failed", "expired"] = Field(
        description="`queued` until its worker starts, `running` while it writes (`rows` so far), `done` "
        "with its file, `failed` with `error`, `expired` once its file is gone (`expires_at`)."
    )
    rows: int = Field(description="The rows written so far; once done, the file's rows.")
    criteria: dict[str, str] = Field(description="The filters it applies (a saved filter's, resolved).")
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime = Field(description="After this, no file: ask for the export again.")
    file_size: int | None = Field(default=None, description="The file's bytes, once done.")
    download_url: str | None = Field(
        default=None,
        description="Once done: a link to the .xlsx file valid for 5 minutes (ask again for a new one); "
        "null otherwise.",
    )
    error: str | None = Field(
        default=None,
        description="Why it failed (past an export's limits, or its worker failed every attempt), in Spanish "
        "when `Accept-Language` prefers it.",
    )


# --- register (H2) ---------------------------------------------------------------------------


class RegisterAttachmentOut(AttachmentOut):
    """A record's file, and whether it is published to the client's document portal (docs/portal.md)."""

    published: bool = Field(
        default=False, description="Published to the client's document portal (the console's *Publicado*)."
    )
    publication_id: str | None = Field(
        default=None,
        description="Its publication (`/clients/{id}/publications/{publication_id}`), if published.",
    )
    portal_categories: list[str] = Field(
        default_factory=list,
        description="The categories a publication of it goes under unless told: a sent order's "
        "`pedidos`, a statement's `estados_cuenta` (when the company's list has it); none for other files.",
    )


class RegisterRecordIn(_Strict):
    """A record written by hand; "created by" and the time are set by Pregón."""

    subject: Subject
    record_type: Literal["visit", "call", "email", "meeting", "other"] = "other"
    motive: TableCode | None = Field(default=None, description="A code of the company's motives.")
    area: TableCode | None = Field(default=None, description="A code of the company's areas.")
    initiated_by: Literal["client", "staff"] = "staff"
    text: Annotated[FreeText, StringConstraints(max_length=20_000)] | None = Field(
        default=None, description="Notes."
    )


class RegisterRecordPatch(_Strict):
    """Fields to change. Automatic records (messages) take `motive` and `area` only; `null` clears them."""

    subject: Subject | None = None
    record_type: Literal["visit", "call", "email", "meeting", "other"] | None = None
    motive: TableCode | None = None
    area: TableCode | None = None
    initiated_by: Literal["client", "staff"] | None = None
    text: Annotated[FreeText, StringConstraints(max_length=20_000)] | None = None


class RegisterRecordOut(BaseModel):
    communication_id: str
    client_id: str
    direction: Literal["out", "in", "note"]
    record_type: str
    channel: str
    kind: str
    state: str
    created_at: datetime
    created_by: str | None
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    initiated_by: str | None
    subject: str | None
    message_type: str | None = Field(
        default=None,
        description="What made the message (`sms_inbound`, `sms_auto_reply`, a template's key...): an SMS "
        "has no subject, and a person reads what it is by this.",
    )
    motive: str | None
    area: str | None
    automatic: bool
    auto_submitted: AutoSubmitted | None = Field(default=None, description=AUTO_SUBMITTED)


class RegisterPageOut(BaseModel):
    items: list[RegisterRecordOut]
    next_cursor: str | None


class RecordNoticeOut(BaseModel):
    """Colleagues told of a record by e-mail ("Enviar un mensaje")."""

    at: datetime
    by: str = Field(description="The user who told them (to a level-4 caller, another user by handle).")
    by_name: str | None = Field(default=None, description=NAME_FIELD)
    users: list[str] = Field(
        description="The staff users told, by id; to a level-4 caller by the handle `GET /staff/colleagues` "
        "gives, never by another user's id."
    )
    user_names: list[str | None] = Field(
        default_factory=list, description="The staff directory's name of each of `users`, in their order."
    )


class RegisterRecordDetailOut(RegisterRecordOut):
    notices: list[RecordNoticeOut] = Field(
        default_factory=list, description="Each time colleagues were told of the record, oldest first."
    )
    text: str | None
    html: str | None
    to_address: str | None
    to_name: str | None = Field(default=None, description="The recipient's name, as the message named them.")
    from_address: str | None
    from_name: str | None = Field(
        default=None, description="The sender's name, as the message named them (`From: Marta Ruiz <...>`)."
    )
    attachments: list[RegisterAttachmentOut]
    error: str | None = Field(
        description="What went wrong with it: why a message was not sent, what a received one's "
        "MIME got wrong, or that a staff mailbox's message was too large to keep whole "
        "(`the message is 52.3 MB, over the 40 MB Pregón keeps: only its headers were logged; ...`)."
    )
    flagged: Literal["spam", "virus"] | None = Field(
        default=None,
        description="A received message SES's scan judged spam or a virus (`spam` / `virus`) that staff "
        "assigned to a client by hand; null otherwise.",
    )


class AttachmentIn(_Strict):
    name: Title
    content_type: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[\w.+\-]+/[\w.+\-]+$")
    ] = "application/octet-stream"
    content_base64: str = Field(description="The file, base64; at most 5 MiB once decoded (413 beyond).")


class RegisterNoticeIn(_Strict):
    """Tell colleagues of a record: each gets an e-mail from the company's `all` sender account."""

    users: list[UserId] = Field(
        min_length=1,
        max_length=20,
        description="Users of the company's staff directory, each with an e-mail address, by user id or "
        "by the `handle` `GET /staff/colleagues` gives (a repeat counts once).",
    )
    comment: Annotated[FreeText, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="Plain text added to the e-mail."
    )


class RegisterNoticeOut(RecordNoticeOut):
    messages: list[str] = Field(description="The e-mails queued, by communication id (one per user).")


class RegisterTableEntryIn(_Strict):
    code: TableCode
    name: Title


class RegisterTableRenameIn(_Strict):
    name: Title


class RegisterTableEntryOut(BaseModel):
    code: str
    name: str
    etag: str = Field(description=ETAG_FIELD)


class RegisterTableOut(BaseModel):
    items: list[RegisterTableEntryOut]
