"""Request and response models of the receivable reminder routes (R1-R3)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD, Code, Day, Strict

DocumentNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
Money = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2)]
Kind = Literal["before_due", "after_due"]
Template = Annotated[str, StringConstraints(max_length=20_000)]
SmsText = Annotated[str, StringConstraints(max_length=1_600)]
SMS_VARIABLES = (
    "%variables% of the `reminder` type: %nombre%, %comprobante%, %monto% (what is still owed on the "
    "document), %vencimiento%, %empresa%, %deuda% (the client's whole balance, when pushed), "
    "%receivable_issued_on%, %reminder_days_to_due%, ..."
)


class ReceivableIn(Strict):
    """A receivable as the ERP has it. Sending the same ``document_number`` again replaces it."""

    document_number: DocumentNumber
    client_id: Code
    issued_on: Day
    due_on: Day
    amount: Money = Field(description="The document's amount, a decimal (`12345.67`).")
    balance: Money = Field(description="What is still owed on it; 0 means nothing to remind.")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] = Field(
        description="ISO 4217 (`ARS`, `MXN`, `USD`)."
    )
    state: Literal["open", "paid", "cancelled"] = "open"


class ReceivablesIn(Strict):
    receivables: list[ReceivableIn] = Field(min_length=1, max_length=500)


class ReceivableSavedOut(BaseModel):
    document_number: str
    created: bool
    state: str
    remind_on: date | None = Field(description="The company's day of the next reminder; null: none left.")


class ReceivablesSavedOut(BaseModel):
    items: list[ReceivableSavedOut]


class ReceivableOut(BaseModel):
    document_number: str
    client_id: str
    issued_on: date
    due_on: date
    amount: str
    balance: str
    currency: str
    state: str
    updated_at: datetime
    reminded: list[str] = Field(description="Concepts whose reminder was sent.")
    remind_on: date | None


class ConceptIn(Strict):
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    days: int = Field(ge=0, le=365, description="Days before (before_due) or after (after_due) the due date.")
    type: Kind


class ConceptOut(BaseModel):
    concept_id: str
    description: str
    days: int
    type: Kind
    updated_at: datetime

    etag: str = Field(description=ETAG_FIELD)


class ConceptsOut(BaseModel):
    items: list[ConceptOut]


class ClientRemindersIn(Strict):
    """A client's reminder settings (the seed's "Avisos" tab); fields left out take their default."""

    active: bool = Field(description="Turning it on turns the before-due reminder on.")
    subject: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="A template (like the company's); none: the `reminder` template's subject."
    )
    send_to_contacts: bool = Field(
        default=False, description="Also to the client's contacts marked `receives_reminders`."
    )
    before_due_concept: Code | None = Field(
        default=None, description="A before_due concept; none: the catalog's first before_due concept."
    )
    after_due: bool = Field(default=False, description="Send the after-due notice too.")
    after_due_concept: Code | None = Field(
        default=None, description="An after_due concept; none: the catalog's first after_due concept."
    )
    reminder_body: Template | None = Field(
        default=None,
        description="The reminder's plain-text body (a template); none: the `reminder` template.",
    )
    after_due_body: Template | None = Field(
        default=None, description="The after-due notice's body (a template); none: the `reminder` template."
    )
    sms: bool = Field(
        default=False,
        description="Also by SMS, to the client's mobile, while the company's SMS service is on.",
    )
    reminder_sms: SmsText | None = Field(
        default=None, description=f"The reminder's SMS text; none: the default. {SMS_VARIABLES}"
    )
    after_due_sms: SmsText | None = Field(
        default=None, description=f"The after-due notice's SMS text; none: the default. {SMS_VARIABLES}"
    )


class ClientRemindersOut(BaseModel):
    client_id: str
    active: bool
    subject: str | None
    send_to_contacts: bool
    before_due_concept: str | None
    after_due: bool
    after_due_concept: str | None
    reminder_body: str | None
    after_due_body: str | None
    sms: bool
    reminder_sms: str | None
    after_due_sms: str | None
    reminder_sms_default: str = Field(description="The reminder's SMS when `reminder_sms` is none.")
    after_due_sms_default: str = Field(description="The after-due notice's SMS when `after_due_sms` is none.")
    updated_at: datetime | None
    updated_by: str | None
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)

    etag: str = Field(description=ETAG_FIELD)


class PlannedReminderOut(BaseModel):
    client_id: str
    document_number: str
    concept_id: str
    kind: Kind
    day: date = Field(description="The company's day of the run.")
    to: list[str]
    from_address: str | None = Field(description="The account it goes out from (C5: the collection agent's).")
    sender_area: str | None = Field(description="`user:<agent>`, `reminders` or `all`.")
    skipped: str | None = Field(description="Why nothing would go out.")
    sms_to: str | None = Field(default=None, description="The mobile its SMS goes to (E.164).")
    sms_skipped: str | None = Field(
        default=None,
        description="Why the SMS the client's settings ask for does not go (the company's SMS service "
        "is off, no mobile, ...); the e-mail still goes.",
    )


class RunOut(BaseModel):
    day: date | None
    receivables: int = Field(description="Receivables read (those with a reminder due by the day).")
    reminders: int
    queued: int
    failed: int
    skipped: int
    items: list[PlannedReminderOut]
