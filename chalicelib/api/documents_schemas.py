"""Request and response models of the document routes (D1-D3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD, AgentId, Day

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Number = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-/]+$")
]
# One line of text a document shows (no control characters).
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{3}$")]
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]
HeaderName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]
DocumentType = Literal["order", "purchase_order", "statement"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


UserId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@+\-]+$"),
]


class ResponsibleIn(_Strict):
    user_id: UserId = Field(
        description="The staff user responsible: the e-mail goes out from this user's own sender "
        "account when there is one that works (C5), else the area's, else `all`."
    )
    name: HeaderName | None = Field(default=None, description="As printed on the document.")


class LineIn(_Strict):
    code: Line
    description: Line
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3, allow_inf_nan=False)]
    unit_price: Amount


class _OrderBase(_Strict):
    number: Number = Field(
        description="The document's number; posting the same number again sends nothing more (200)."
    )
    date: Day
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    currency: Currency | None = Field(
        default=None, description="ISO 4217; default: the currency of the company's country."
    )
    responsible: ResponsibleIn | None = None
    notes: Notes | None = None


class OrderIn(_OrderBase):
    client_id: Code = Field(description="The client, as registered with `PUT /clients/{client_id}`.")


class PurchaseOrderIn(_OrderBase):
    supplier_id: Code = Field(description="The supplier, as registered with `PUT /suppliers/{supplier_id}`.")


class MovementIn(_Strict):
    date: Day
    document: Line = Field(description="The movement's document number (invoice, credit note, ...).")
    description: Line | None = None
    due_on: Day | None = None
    amount: Amount = Field(description="Signed: what the client owes more (+) or less (-).")


class StatementIn(_Strict):
    client_id: Code
    as_of: Day | None = Field(default=None, description="Default: today in the company's time zone.")
    movements: list[MovementIn] | None = Field(
        default=None,
        max_length=2000,
        description="The client's open movements. Left out: those last put with "
        "`PUT /clients/{client_id}/open-movements`.",
    )
    currency: Currency | None = None
    number: Number | None = Field(default=None, description="Default: `EC-<client>-<as_of as YYYYMMDD>`.")
    responsible: ResponsibleIn | None = None


class DocumentOut(BaseModel):
    document_type: str
    number: str
    recipient_id: str
    communication_id: str | None = Field(description="The e-mail in the history (`GET /history/email/{id}`).")
    state: str = Field(description="`queued`, or `failed` when no sender account can send it.")
    file_name: str
    duplicate: bool = Field(description="True when the document was posted before: nothing new was sent.")
    created_at: str
    to_address: str | None = None
    error: str | None = None


class DocumentViewOut(BaseModel):
    document_type: str
    number: str
    recipient_id: str
    responsible: str | None
    created_at: str
    communication_id: str | None
    message_state: str | None = Field(description="The e-mail's state: queued, sent, delivered, failed, ...")
    file_name: str
    download_url: str | None = Field(
        description="A link valid for 5 minutes; null once the file was deleted."
    )
    deleted_at: str | None = Field(description="When the PDF was deleted after sending (D3).")
    job_id: str | None = Field(
        default=None, description="The bulk statement job that sent it (D2); null for one sent alone."
    )
    to_address: str | None = Field(default=None, description="The address its e-mail went to.")
    error: str | None = Field(default=None, description="Why its e-mail was not delivered, if it was not.")


class SupplierIn(_Strict):
    name: HeaderName
    emails: list[EmailStr] = Field(default_factory=list, max_length=10)


class SupplierOut(BaseModel):
    supplier_id: str
    name: str
    emails: list[str]
    updated_at: str

    etag: str = Field(description=ETAG_FIELD)


class SuppliersOut(BaseModel):
    items: list[SupplierOut]
    next_cursor: str | None


class OpenMovementsIn(_Strict):
    movements: list[MovementIn] = Field(max_length=2000)
    currency: Currency | None = None


class MovementOut(BaseModel):
    date: str
    document: str
    amount: str
    description: str | None
    due_on: str | None


class OpenMovementsOut(BaseModel):
    client_id: str
    movements: list[MovementOut]
    currency: str | None
    updated_at: str


class DocumentSettingsIn(_Strict):
    statement_area: str | None = Field(
        default=None, description="The sender account area statements go out from (default `documents`)."
    )
    statement_comment: Notes | None = Field(
        default=None, description="Printed on every statement; an empty string removes it."
    )
    delete_after_sending: dict[str, bool] | None = Field(
        default=None,
        description="Per document type (`order`, `purchase_order`, `statement`): delete the PDF from "
        "S3 once its e-mail is sent (D3). Off: kept under the bucket's lifecycle rule.",
    )


class DocumentSettingsOut(BaseModel):
    statement_area: str
    statement_comment: str | None
    delete_after_sending: dict[str, bool]
    has_logo: bool
    updated_at: str | None
    updated_by: str | None
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)
    etag: str = Field(description=ETAG_FIELD)


class LogoIn(_Strict):
    # No max_length: pydantic's "at most N characters" would answer a big logo before the clear
    # "the logo is larger than 300 kB" does (the route caps the body, decode_upload the length).
    content_base64: str = Field(
        description="A PNG or JPEG of at most 300 kB, base64; a bigger one is 422 "
        "`the logo is larger than 300 kB`."
    )


class DocumentTemplateIn(_Strict):
    source: str = Field(
        max_length=64_000,
        description="Typst markup written as a Jinja template; every `{{ value }}` is escaped. "
        "No import, include, read, image, data loading or eval (422 naming `source`).",
    )


class DocumentTemplateOut(BaseModel):
    document_type: str
    source: str
    customized: bool
    language: str
    updated_at: str | None
    updated_by: str | None = Field(
        description="Who saved it last: a user id, or for a level-4 caller a colleague's handle."
    )
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)


class PreviewIn(_Strict):
    source: str | None = Field(default=None, max_length=64_000)


class PreviewOut(BaseModel):
    pdf_base64: str
    size: int


class BulkStatementsIn(_Strict):
    from_client: Code | None = Field(default=None, description="The first client code (inclusive).")
    to_client: Code | None = Field(default=None, description="The last client code (inclusive).")
    preferred_agent: AgentId | None = None
    collection_agent: AgentId | None = None
    classification: dict[Code, Line] = Field(
        default_factory=dict,
        max_length=10,
        description="Classification fields the client must have, field -> value (`PUT /clients/{id}`).",
    )
    include_settled: bool = Field(
        default=False,
        description="Clients with no open movements (they owe nothing) get a statement too, with a zero "
        'balance, as the seed\'s "todos los clientes con correo registrado"; by default they are skipped '
        "(`no_open_movements`).",
    )
    as_of: Day | None = None
    request_id: Code | None = Field(default=None, description="A retried request answers the first job.")


class ReasonCountOut(BaseModel):
    code: str = Field(description="The reason's code, as the `skip_reasons` / `fail_reasons` key.")
    count: int
    reason: str = Field(
        description="The reason as a sentence for people (`clients with no e-mail address`), in the "
        "caller's language (`Accept-Language`)."
    )


class BulkStatementsOut(BaseModel):
    job_id: str
    state: str = Field(description="expanding | sending | done")
    total: int
    sent: int
    failed: int
    skipped: int
    waiting: int
    skip_reasons: dict[str, int] = Field(description="`no_email`, `no_open_movements`, `suppressed`.")
    fail_reasons: dict[str, int] = Field(
        description="Why statements failed before an e-mail was written: `too_many_receivables` (a client "
        "with more open receivables than a statement holds), `not_rendered`, `no_number`."
    )
    skip_details: list[ReasonCountOut] = Field(
        description="`skip_reasons` for people: code, count and a sentence in the caller's language."
    )
    fail_details: list[ReasonCountOut] = Field(
        description="`fail_reasons` for people: code, count and a sentence in the caller's language."
    )
    selection: dict[str, Any]
    as_of: str | None
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: str
    updated_at: str
