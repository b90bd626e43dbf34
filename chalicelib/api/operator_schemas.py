"""Request and response models of the operator routes (O1, O2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.schemas import SesReputationOut
from chalicelib.core.domain import API_KEY_SCOPES, ApiKeyScope


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CompanyIn(Strict):
    company_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,39}$")] = Field(
        description="2-40 lowercase letters, digits or dashes; the company's address in every path and "
        "its inbound mailbox (`<company_id>@<inbound domain>`)."
    )
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    language: Literal["es", "en"] = Field(default="es", description="Default templates' language.")
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] = Field(
        default="AR", description="ISO 3166 two-letter country (local phone numbers, amounts)."
    )
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        default="UTC", description="IANA time zone every time a person reads is shown in (Z1)."
    )
    locale: Annotated[str, StringConstraints(min_length=2, max_length=16)] | None = Field(
        default=None, description="Babel locale (`es_AR`); by default the language and the country."
    )
    ask_tracking_contacts: bool = Field(
        default=False, description="Subscribe the tracking contacts sent when a waybill is issued (T6.3)."
    )


class SmsNumbersIn(Strict):
    numbers: list[Annotated[str, StringConstraints(min_length=1, max_length=32)]] = Field(
        max_length=20,
        description="The company's two-way SMS numbers (E.164, or local to its country), as Pregón's AWS "
        "account holds them; they replace the ones it had (an empty list: none).",
    )


class SmsNumbersOut(BaseModel):
    company_id: str
    numbers: list[str] = Field(
        description="In E.164: the only numbers the company may name as its SMS `inbound_number`."
    )


class SmsSenderIdsIn(Strict):
    sender_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=11)]] = Field(
        max_length=20,
        description="The alphanumeric sender IDs (1-11 letters, digits or '-', one letter at least) the "
        "company may show as its SMS's sender, once Pregón checked they are its own and registered them "
        "where a country asks; they replace the ones it had (an empty list: none). Letter case counts.",
    )


class SmsSenderIdsOut(BaseModel):
    company_id: str
    sender_ids: list[str] = Field(
        description="The only sender IDs the company may name as its SMS `sender_id`, and the only ones "
        "its SMS carry; a `sender_id` not among them was removed from its settings."
    )


class AllowancesIn(Strict):
    sms_per_day: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="SMS a day the company may send through Pregón's SNS (Pregón pays them); beyond it "
        "they wait, never dropped. null: the deployment's default (`PREGON_SMS_ALLOWANCE_PER_DAY`, 500). "
        "Left out: unchanged.",
    )
    emails_per_day: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="E-mails a day the company may send through Pregón's SES (its `ses` sender accounts, "
        "which share Pregón's SES quota and reputation); beyond it they wait, never dropped. null: the "
        "deployment's default (`PREGON_EMAIL_ALLOWANCE_PER_DAY`, 5,000). Left out: unchanged.",
    )


class AllowancesOut(BaseModel):
    company_id: str
    sms_per_day: int = Field(description="The allowance in force: SMS a day through Pregón's SNS.")
    default: bool = Field(description="True: the deployment's default (no allowance of the company's own).")
    applies: bool = Field(
        description="The company sends its SMS through Pregón's SNS; false: its own provider (a gateway "
        "phone, SMS Masivos), which it pays itself, so no allowance holds it."
    )
    emails_per_day: int = Field(
        description="The e-mail allowance in force: e-mails a day through Pregón's SES."
    )
    emails_default: bool = Field(description="True: the e-mail allowance is the deployment's default.")
    email_reputation: SesReputationOut = Field(
        description="The company's own hard-bounce and complaint rates on Pregón's SES over 24 hours, "
        "and whether its e-mails there are paused for them (`DELETE .../email-pause` resumes them)."
    )


class CompanyServiceOut(BaseModel):
    """A company's suspension (docs/operations.md, "A company leaves")."""

    company_id: str
    in_service: bool = Field(description="False: suspended (or deleted): no caller let in, nothing sent.")
    suspended_at: datetime | None = Field(description="When the operator suspended it; null: in service.")
    deleted_at: datetime | None = Field(description="When its data was deleted (ops company delete).")
    inbound_dropped: int = Field(description="Inbound e-mails and SMS for it dropped while suspended.")


class OperatorCompanyOut(BaseModel):
    company_id: str
    name: str
    language: str
    country: str
    time_zone: str
    locale: str
    ask_tracking_contacts: bool
    created_at: datetime


class CompanyCreatedOut(OperatorCompanyOut):
    created: bool = Field(description="False when the company existed already (nothing was changed).")


class CompaniesOut(BaseModel):
    items: list[OperatorCompanyOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class ApiKeyIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="What the key is for, e.g. `back office`."
    )
    scopes: list[ApiKeyScope] = Field(min_length=1, max_length=len(API_KEY_SCOPES))


class ApiKeyOut(BaseModel):
    key_id: str
    prefix: str = Field(description="`pk_<key id>`: what a key starts with; the secret is never shown again.")
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Last let in, noted at most every 5 minutes.")
    revoked_at: datetime | None
    expires_at: datetime | None = Field(description="A rotated key: when its secret stops working.")
    replaced_by: str | None = Field(description="A rotated key: the key id that replaced it.")
    state: Literal["active", "rotating", "expired", "revoked"]


class ApiKeysOut(BaseModel):
    items: list[ApiKeyOut]


class ApiKeyIssuedOut(ApiKeyOut):
    api_key: str = Field(description="The whole key, shown only in this answer: `pk_<key id>.<secret>`.")


class RotateIn(Strict):
    overlap_minutes: int = Field(
        default=1440,
        ge=0,
        le=43200,
        description="How long the old secret keeps working beside the new one (default a day; at most "
        "30 days).",
    )


class ApiKeyRotatedOut(ApiKeyIssuedOut):
    old_key_id: str
    old_key_stops_at: datetime = Field(
        description="When the old secret stops working (on AWS, within the authorizer cache's 300 s after)."
    )
