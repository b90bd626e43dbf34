"""Request and response models of the event routes (C9, T10); published through ``api.schemas``."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

EventId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$"),
]
ClientId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
# One line of text a template shows (no control characters: it may end up in a subject).
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
Money = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Event(_Strict):
    event_id: EventId = Field(
        description="The back office's own id of this event: posting it again sends nothing more and "
        "answers what was queued the first time (200 instead of 202)."
    )
    client_id: ClientId = Field(description="The client, as registered with `PUT /clients/{client_id}`.")


class InvoiceIn(_Strict):
    number: Line = Field(description="The invoice number, e.g. A-0001-00001234.")
    issued_on: date
    due_on: date | None = None
    total: Money = Field(description="The total as the client should read it, e.g. `$ 12.345,67`.")


class PdfIn(_Strict):
    content_base64: str = Field(
        min_length=1, description="The PDF, base64-encoded: at most 7 MB once decoded, starting with %PDF-."
    )
    file_name: Line | None = Field(
        default=None, description="The attachment's name; `<number>.pdf` if left out."
    )


class InvoiceIssuedIn(_Event):
    invoice: InvoiceIn
    pdf: PdfIn
    client_balance: Money | None = Field(default=None, description="The client's balance after this invoice.")


class PaymentIn(_Strict):
    receipt_number: Line
    amount: Money
    received_on: date
    entry: Literal["automatic", "manual"] = Field(
        description="How it was recorded: by an automatic means of payment or by an operator. Each has its "
        "own company switch for the payment SMS (`PATCH /company`)."
    )
    method: Line | None = Field(default=None, description="Transfer, cash, card...")


class PaymentRecordedIn(_Event):
    payment: PaymentIn
    client_balance: Money | None = Field(
        default=None,
        description="What the client still owes (`%deuda%`). When the company's payment SMS prints it and "
        "the event leaves it out, the SMS is not sent (it would print nothing there) and `skipped` says why.",
    )


class TicketIn(_Strict):
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    subject: Line
    status: Line
    operator: Line | None = None
    comment: Comment | None = Field(default=None, description="The latest comment for the client.")
    updated_at: AwareDatetime | None = None


class TicketChangedIn(_Event):
    notify_client: bool = Field(description="The ticket's 'notify the client' tick: false sends nothing.")
    ticket: TicketIn


class PickupApprovedIn(_Event):
    pickup_number: Line
    branch: Line = Field(description="The branch that approved the pickup request.")
    pickup_date: date | None = None
    tracking_id: Line
    label_url: HttpUrl = Field(description="Where the client views and downloads the label.")


class ConfirmedPickupIn(_Strict):
    tracking_id: Line
    address: Line | None = None
    date: dt.date | None = None


class PickupsConfirmedIn(_Event):
    pickups: list[ConfirmedPickupIn] = Field(min_length=1, max_length=200)


class QueuedMessageOut(BaseModel):
    communication_id: str
    channel: Literal["email", "sms", "push"]
    to_address: str
    state: str = Field(
        description="`queued`; `failed` when no sender account can send it (with `error`). A post repeated "
        "after its first answer was lost lists the messages the first post queued, in their state now "
        "(`sent`, `delivered`, ...)."
    )
    error: str | None = None


class SkippedRecipientOut(BaseModel):
    channel: str
    reason: str
    to_address: str | None = None


class EventOut(BaseModel):
    """What the event caused: the messages queued in the outbox and who was skipped, and why."""

    event_type: str
    event_id: str
    client_id: str
    message_type: str
    duplicate: bool = Field(description="True when the event was posted before: nothing new was queued.")
    received_at: str
    messages: list[QueuedMessageOut]
    skipped: list[SkippedRecipientOut]
