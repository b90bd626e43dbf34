"""Request and response models of the template routes (C4).

Kept apart from ``api.schemas``; the OpenAPI generator reads only that module, so these models
validate the routes' input but are not yet published in docs/openapi.json.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.free_text import FreeText
from chalicelib.api.people import NAME_FIELD
from chalicelib.api.schemas import ETAG_FIELD

# DynamoDB items are at most 400 KB: the three parts together stay well below it.
MAX_SUBJECT_CHARS = 500
MAX_TEXT_CHARS = 50_000
MAX_HTML_CHARS = 100_000
MAX_SMS_CHARS = 1_600  # what SNS accepts in one publish
MAX_PUSH_TITLE_CHARS = 200
MAX_PUSH_BODY_CHARS = 2_000
SMS_TEXT_DOC = (
    "SMS text with %variables% (see `sms_variables`); left out: the type's default SMS text "
    "(or, for a type with none, the plain-text body)."
)

EMAIL_DOC = (
    "Required with the other two e-mail parts; a custom template may leave out subject, text and "
    "html together when it has an `sms_text` (or `push_title` and `push_body`): an SMS-only template, "
    "refused (422 on `channel`) for e-mail sends."
)
CHANNELS_DOC = (
    "The channels it can be sent by (`email`, `sms`, `push`): all three, except a custom template "
    "saved without e-mail parts (only `sms`, and `push` when it has a push title and body)."
)


class _Strict(BaseModel):
    # No whitespace stripping: a template's spacing is the author's.
    model_config = ConfigDict(extra="forbid")


class TemplateIn(_Strict):
    """A company's own version of a message type's template."""

    subject: FreeText | None = Field(
        default=None, min_length=1, max_length=MAX_SUBJECT_CHARS, description=f"Jinja2; one line. {EMAIL_DOC}"
    )
    text: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXT_CHARS,
        description=f"Plain-text body, Jinja2. {EMAIL_DOC}",
    )
    html: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_HTML_CHARS,
        description=f"HTML body, Jinja2, autoescaped. {EMAIL_DOC}",
    )
    sender_area: str | None = Field(
        default=None, description="The sender account's area; the type's default area when left out."
    )
    language: Literal["es", "en"] | None = Field(
        default=None, description="The language it is written in; the company's language when left out."
    )
    sms_text: FreeText | None = Field(
        default=None, min_length=1, max_length=MAX_SMS_CHARS, description=SMS_TEXT_DOC
    )
    push_title: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PUSH_TITLE_CHARS,
        description="Push title with %variables%; left out: the default (or the subject).",
    )
    push_body: FreeText | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PUSH_BODY_CHARS,
        description="Push body with %variables%; left out: the default (or the plain-text body).",
    )


class TemplatePreviewIn(_Strict):
    """Unsaved edits to preview; a part left out is taken from the effective template."""

    subject: FreeText | None = Field(default=None, max_length=MAX_SUBJECT_CHARS)
    text: FreeText | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    html: FreeText | None = Field(default=None, max_length=MAX_HTML_CHARS)
    variables: dict[str, Any] | None = Field(
        default=None, description="Values merged over the type's sample data (nested objects merge)."
    )
    sms_text: FreeText | None = Field(default=None, max_length=MAX_SMS_CHARS)
    push_title: FreeText | None = Field(default=None, max_length=MAX_PUSH_TITLE_CHARS)
    push_body: FreeText | None = Field(default=None, max_length=MAX_PUSH_BODY_CHARS)


WARNINGS_DOC = (
    "What the template, rendered with the preview data, may cost it, never a reason to refuse it (in the "
    "caller's language): `html_image_only`, an HTML part with an image and 3,200 characters or less, "
    "which SpamAssassin's HTML_IMAGE_ONLY rules score 1.7 to 2.8 points."
)


class TemplateWarningOut(BaseModel):
    field: str = Field(description="The part it is about (`html`).")
    code: Literal["html_image_only"]
    warning: str


class VariableOut(BaseModel):
    name: str
    description: str


class TemplateSummaryOut(BaseModel):
    key: str
    title: str
    sender_area: str
    customized: bool
    variables: list[VariableOut]
    manual_send: bool = Field(
        description="Whether a manual send (POST /sends) offers every variable the template may use "
        "(the client's and the company's): true for custom templates; a message type such as "
        "tracking_alert or invoice needs its own data (a parcel, an invoice) in the send's variables"
    )
    updated_at: datetime | None = None
    channels: list[Literal["email", "sms", "push"]] = Field(description=CHANNELS_DOC)


class TemplatesOut(BaseModel):
    items: list[TemplateSummaryOut]


class TemplateOut(BaseModel):
    key: str
    title: str
    sender_area: str
    language: str
    subject: str | None = Field(description="None: a template without e-mail (SMS or push only).")
    text: str | None
    html: str | None
    customized: bool
    variables: list[VariableOut]
    updated_at: datetime | None = None
    updated_by: str | None = None
    updated_by_name: str | None = Field(default=None, description=NAME_FIELD)
    sms_text: str | None = Field(default=None, description="None: SMS carry the plain-text body.")
    push_title: str | None = None
    push_body: str | None = None
    sms_variables: list[VariableOut] = Field(
        default_factory=list, description="The %variables% the SMS and push texts may use, as `%name%`."
    )
    channels: list[Literal["email", "sms", "push"]] = Field(description=CHANNELS_DOC)
    warnings: list[TemplateWarningOut] = Field(
        default_factory=list, description=f"{WARNINGS_DOC} A save answers them; a read, none."
    )

    etag: str = Field(description=ETAG_FIELD)


class TemplatePreviewOut(BaseModel):
    subject: str
    text: str
    html: str
    sms_text: str = Field(
        description="The SMS as the company's provider would send it (plain ASCII through SMS Masivos)."
    )
    sms_segments: int = Field(description="How many SMS it is sent as (160 GSM-7 / 70 UCS-2 per single one).")
    sms_encoding: Literal["GSM-7", "UCS-2"]
    push_title: str
    push_body: str
    warnings: list[TemplateWarningOut] = Field(default_factory=list, description=WARNINGS_DOC)
