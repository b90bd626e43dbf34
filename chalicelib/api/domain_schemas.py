"""Request and response models of the sending-domain routes (issue 10, point 7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class SendingDomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    domain: Annotated[str, StringConstraints(min_length=3, max_length=253)] = Field(
        description="The domain the company's From addresses use, e.g. `avisos.example.com`."
    )


class DnsRecordOut(BaseModel):
    purpose: Literal["dkim", "mail_from_mx", "mail_from_spf", "dmarc"]
    type: Literal["CNAME", "MX", "TXT"]
    name: str = Field(description="The record's full name, to publish as is.")
    value: str = Field(description="Its value (TXT values quoted, MX with its priority).")
    state: Literal[
        "verified",
        "pending",
        "failed",
        "temporary_failure",
        "not_started",
        "published",
        "not_found",
        "unknown",
    ] = Field(description="As SES sees it now (DKIM, MAIL FROM); for DMARC, as public DNS answers.")


class BulkSenderCheckOut(BaseModel):
    requirement: Literal["spf", "dkim", "dmarc", "dmarc_alignment", "one_click_unsubscribe", "complaint_rate"]
    state: Literal["pass", "fail", "unknown"]
    detail: str


class SendingDomainOut(BaseModel):
    domain: str
    mail_from_domain: str = Field(description="The custom MAIL FROM subdomain (`bounce.<domain>`).")
    verified: bool = Field(description="SES verified the domain (DKIM): SES accounts may send from it.")
    records: list[DnsRecordOut]
    bulk_sender_checks: list[BulkSenderCheckOut] = Field(
        description="What Gmail and Yahoo ask of bulk senders, checked for this domain."
    )
    created_at: datetime = Field(
        description="When the company first registered the domain (registering again keeps it)."
    )
    lapses_at: datetime | None = Field(
        description="When this registration lapses (or lapsed) unless SES verifies the domain first: from "
        "then on another company registering the domain takes it over. 72 hours after `created_at` "
        "for a domain SES never verified; for one it verified, 72 hours after a check (this answer, "
        "or another company's registration) first found it no longer verified. Null while it does "
        "not lapse: SES verifies the domain, or SES sender accounts of the company send from it."
    )


class SendingDomainsOut(BaseModel):
    items: list[SendingDomainOut]
