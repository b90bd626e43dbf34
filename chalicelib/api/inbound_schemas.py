"""Request and response models of the inbound e-mail routes (I3); re-exported by ``api.schemas``."""

from __future__ import annotations

from datetime import date as Day
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.history_schemas import AUTO_SUBMITTED, AutoSubmitted


class AssignInboundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", description="The client it is from."
    )


class InboundAddressOut(BaseModel):
    address: str = Field(description="Where clients write to: `<company_id>@<inbound domain>`.")
    domain: str


class InboundAttachmentOut(BaseModel):
    name: str
    content_type: str
    size: int = Field(description="Bytes.")
    download_url: str | None = Field(description="A link valid for 5 minutes; null when omitted.")
    omitted: str | None = Field(
        description="Why the file was not kept: `omitted (too large)`, or `withheld (SES found a virus in "
        "the message)`; the raw message has it."
    )


class InboundSummaryOut(BaseModel):
    communication_id: str
    created_at: datetime = Field(description="When Pregón received it.")
    sent_at: datetime | None = Field(description="The message's own Date header.")
    from_address: str | None
    from_name: str | None
    to_address: str | None
    subject: str | None
    channel: str = Field(
        default="email", description="`email`, or `sms` for an SMS received (it has no subject)."
    )
    message_type: str | None = Field(
        default=None, description="`sms_inbound` for an SMS received; null for mail."
    )
    client_id: str | None
    unassigned: bool
    flagged: Literal["spam", "virus"] | None = Field(
        description="What SES's scan judged the message (`spamVerdict` or `virusVerdict` `FAIL`; a virus "
        "wins): such a message is matched to no client and threaded to nothing, so it waits in the "
        "unassigned list for staff to judge (and assign, if SES was wrong); `error` says why. null "
        "when SES passed it or was unsure."
    )
    auto_submitted: AutoSubmitted | None = Field(default=None, description=AUTO_SUBMITTED)
    attachment_count: int
    error: str | None = Field(description="What could not be read of a broken message; null when whole.")


class InboundMessageOut(InboundSummaryOut):
    contact_id: str | None
    text: str | None
    html: str | None
    headers: dict[str, str] = Field(description="Message-ID, In-Reply-To, References, Date, To, Cc.")
    in_reply_to: str | None = Field(description="The communication it answers.")
    thread_id: str | None = Field(description="The first communication of its thread.")
    raw_key: str | None = Field(description="`<bucket>/<key>` of the raw message SES stored.")
    attachments: list[InboundAttachmentOut]
    candidate_clients: list[str] = Field(
        description="Unassigned only: the clients that share the sender's address (when several do)."
    )


class InboundPageOut(BaseModel):
    items: list[InboundSummaryOut]
    next_cursor: str | None


class HeldSenderOut(BaseModel):
    address: str = Field(description="The sender's address (lower case), as the message named it.")
    received: int = Field(description="Messages from this address that day, recorded and held.")
    held: int = Field(description="Messages from this address held that day.")
    releasable: list[str] = Field(
        description="SES message ids of a page of the held e-mails kept for release (up to 20: the "
        "first page from `cursor` on that still holds some; the first 1,000 of a day are kept); none "
        "for SMS (an SMS held is counted, not kept)."
    )
    next_cursor: str | None = Field(
        description="Pass as `cursor` (with `address`) for this sender's next page; null on the last."
    )


class HeldMailOut(BaseModel):
    date: Day = Field(description="The company's day.")
    channel: Literal["email", "sms"]
    held: int = Field(description="Messages held that day past the ceilings (decision 0037).")
    senders: list[HeldSenderOut] = Field(description="Senders held that day (the first 100).")


class ReleaseHeldIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: Day = Field(description="The company's day the mail was held on.")
    address: str = Field(min_length=1, max_length=254, description="The sender, as the held list names it.")


class ReleasedOut(BaseModel):
    released: list[str] = Field(description="Ids of the received e-mails recorded now.")
