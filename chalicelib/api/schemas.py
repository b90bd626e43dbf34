"""Request and response models of the HTTP API. Loaded on first request (pydantic is heavy)
and read by the OpenAPI generator, so the published contract is the one the code enforces."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from chalicelib.api.people import NAME_FIELD
from chalicelib.core.domain import Company
from chalicelib.core.names import INVISIBLE, INVISIBLE_MESSAGE
from chalicelib.messaging.accounts.sms import SmsSettingsView

Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
]
# A client's preferred or collection agent: a user id of the staff directory (often an e-mail address,
# the token's ``sub``), or a code the company's system wrote for an agent no user has.
AgentId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@+\-]+$"),
]

# The ``etag`` of a thing people edit (docs/api.md, "Editing safely").
ETAG_FIELD = (
    'The version to edit it at, as its `ETag` header says it (a strong tag in quotes, `"3"`): send it '
    "back as `If-Match` when you save it, and the save is refused (412) if someone else saved since."
)


# A day as JSON writes one, "YYYY-MM-DD": request bodies are read in pydantic's strict JSON mode
# (api/http.py parse_body), which refuses a number where lax mode took it for a Unix time (an ERP's 0
# or 1798761600 became 1970-01-01 or 2027-01-01 without a word). No validator of its own: one run
# before pydantic's would make it read the text as a Python value, and strict mode refuses a text there.
Day = date
# No control characters: names end up in e-mail headers.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _visible(value: str) -> str:
    if INVISIBLE.search(value):
        raise PydanticCustomError("invisible_characters", INVISIBLE_MESSAGE)
    return value


# A name shown in From / To: no bidi overrides nor zero-width characters either, which make
# "Banco\u202egnp.exe" read as something it is not.
HeaderName = Annotated[Name, AfterValidator(_visible)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=5, max_length=32, pattern=r"^[0-9+()\-. ]+$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubscribeIn(Strict):
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone | None = None


class TrackingPageFormIn(SubscribeIn):
    """The tracking page's alert form (form-encoded); `phone` may be left empty."""

    tracking_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


# --- back office ---------------------------------------------------------------------------


class PartyIn(Strict):
    """An eventual (unregistered) sender or recipient entered at issue."""

    first_name: Name
    last_name: Name
    email: EmailStr | None = None
    phone: Phone | None = None
    wants_cargo_info: bool = Field(
        default=False, description="Subscribe this party to tracking alerts (T6.2)."
    )


class IssueParcel(Strict):
    """A parcel as the carrier's system issues it."""

    tracking_id: Code
    client_id: Code | None = None
    waybill_number: Code | None = None
    waybill_issued: bool = Field(description="True once the waybill (guía) is issued: alerts need it (T2).")
    sender: PartyIn | None = None
    recipient: PartyIn | None = None
    tracking_contacts: list[SubscribeIn] = Field(
        default_factory=list,
        max_length=20,
        description="People to subscribe at issue; only when the company asks for tracking contacts (T6.3).",
    )


class StatusEventBody(Strict):
    event_id: Code = Field(description="The sender's own id of this event: posting it twice stores it once.")
    status: Code = Field(description="A status code of the company's status catalog.")
    occurred_at: AwareDatetime
    branch: Name | None = None
    reason: Text | None = None
    observation: Text | None = None


class StatusEventIn(StatusEventBody):
    tracking_id: Code


class StatusEventBatch(Strict):
    events: list[StatusEventIn] = Field(min_length=1, max_length=100)


class IngestResultOut(BaseModel):
    tracking_id: str
    event_id: str
    created: bool


class IngestBatchOut(BaseModel):
    results: list[IngestResultOut]


# --- public --------------------------------------------------------------------------------


class PublicHistoryEntry(BaseModel):
    status: str
    status_name: str
    occurred_at: datetime
    branch: str | None
    reason: str | None = Field(description="Shown only for statuses 'with reason'.")
    observation: str | None = Field(description="Shown only for statuses 'with observations'.")


class PublicTrackingOut(BaseModel):
    tracking_id: str
    history: list[PublicHistoryEntry]
    alerts_available: bool = Field(
        description="True when the end customer may ask for e-mail alerts: waybill issued, a working "
        "sender account and tracking alerts on (T2)."
    )


class PublicSubscriptionOut(BaseModel):
    tracking_id: str
    status: Literal["confirmation_sent"] = Field(
        description="An e-mail asks the address to confirm (a new subscription) or to renew (an already "
        "confirmed one, for 30 days from then); nothing changes until it does. The same answer either "
        "way, so that nobody learns who follows a parcel."
    )
    expires_at: datetime = Field(description="When the confirmation link lapses (48 hours).")


class ConfirmedOut(BaseModel):
    tracking_id: str
    confirmed: bool
    expires_at: datetime


class UnsubscribeOut(BaseModel):
    tracking_id: str
    unsubscribed: bool


# --- staff ---------------------------------------------------------------------------------


class StatusDefinitionIn(Strict):
    display_name: Name
    visibility: Literal["hidden", "visible", "with_reason", "with_observations"]
    notify: bool


class StatusDefinitionOut(BaseModel):
    code: str
    display_name: str
    visibility: str
    notify: bool

    etag: str = Field(description=ETAG_FIELD)


class AlertConfigIn(Strict):
    enabled: bool
    frequency_minutes: int | None = Field(
        default=None,
        ge=0,
        le=10080,
        description="Minutes between runs; 0 switches the alert off (required but for `reminders`).",
    )
    hour_of_day: int | None = Field(
        default=None, ge=0, le=23, description="`reminders`: the hour of the company's day it runs at."
    )


class AlertScheduleOut(BaseModel):
    alert_type: str
    enabled: bool
    frequency_minutes: int
    last_run_at: datetime | None
    next_run_at: datetime | None
    sent_count: int
    failed_count: int
    hour_of_day: int | None = Field(
        default=None, description="Daily types (`reminders`): the company's hour."
    )
    last_run_shown: str | None = Field(
        default=None,
        description="The last run in the company's zone and locale (Z1): 23/11/2026 07:30.",
    )
    next_run_shown: str | None = Field(default=None, description="The next run, likewise.")
    next_run_due: bool = Field(
        default=False,
        description="The next run is due now: the scheduler's next minute runs it (saving a frequency "
        "makes it due at once).",
    )
    time_zone: str = Field(default="UTC", description="The IANA zone of the `_shown` times.")

    etag: str = Field(description=ETAG_FIELD)


class RateLimit(Strict):
    """C2: at most ``messages`` per ``hours``; later messages wait in the account's outbox."""

    messages: int = Field(ge=1, le=1_000_000)
    hours: int = Field(ge=1, le=24 * 31)


class SenderAccountIn(Strict):
    kind: Literal["smtp", "ses"] = "smtp"
    display_name: HeaderName
    from_address: EmailStr
    reply_to: EmailStr | None = Field(
        default=None,
        description="Where replies go. Unset: the company's inbound address, plus-addressed per message "
        "(`<company>+r-<id>@<inbound domain>`), so replies are logged and threaded (I3).",
    )
    smtp_host: Annotated[str, StringConstraints(strip_whitespace=True, max_length=253)] | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    encryption: Literal["none", "starttls", "tls"] = "none"
    username: Annotated[str, StringConstraints(max_length=254)] | None = None
    ses_identity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)] | None = None
    enabled: bool = True
    rate_limit: RateLimit | None = None


class WaitingMailOut(BaseModel):
    """E-mails queued in an area's outbox. They are never moved to another account: with its account
    `missing`, `disabled` or `incomplete` they wait (looked at every 15 minutes) and go once it works
    again; with a `working` one they are only queued (say, behind its send-rate limit)."""

    area: str
    account: Literal["missing", "disabled", "incomplete", "working"]
    count: int = Field(description="How many, counted up to 1000 (see `more`).")
    more: bool = Field(description="More than `count` wait (the count stops at 1000).")
    count_shown: str = Field(description='The count as people read it: `"12"`, `"1000+"`.')
    oldest_at: datetime | None = Field(description="When the oldest of them was due to go (UTC).")
    oldest_shown: str | None = Field(description="`oldest_at` in the company's time zone and locale.")
    reason: str | None = Field(
        default=None,
        description="Why e-mails of a `working` account wait, when Pregón holds them: an SES account's "
        "company used up Pregón's e-mail allowance of the day, and when room opens again (in the "
        "company's time zone); or Pregón paused its e-mails through SES for too many hard bounces or "
        "complaints, until Pregón resumes them. null otherwise.",
    )


class SenderAccountDeletedOut(BaseModel):
    area: str
    waiting: WaitingMailOut | None = Field(
        description="The e-mails left waiting for the deleted account (null: none): they go once an "
        "account for the area is added again."
    )


class AccountWaitingOut(BaseModel):
    area: str = Field(description="The user's own account: `user:<id>`.")
    waiting: WaitingMailOut | None = Field(description="The e-mails queued for it (null: none).")


class WaitingCancelledOut(BaseModel):
    area: str
    cancelled: int = Field(description="How many waiting e-mails were recorded `failed`.")
    waiting: WaitingMailOut | None = Field(
        description="What still waits (held by a drain, or in a retry's wait: cancel again later); null "
        "when nothing does."
    )


class SenderAccountOut(BaseModel):
    area: str
    kind: str
    display_name: str
    from_address: str
    reply_to: str | None
    smtp_host: str | None
    smtp_port: int | None
    encryption: str | None
    username: str | None
    ses_identity: str | None
    enabled: bool
    rate_limit: RateLimit | None = None
    password_set: bool = Field(
        description="Whether a password is stored. The password itself is never returned."
    )
    working: bool
    updated_at: datetime
    from_allowed_by: str | None = Field(
        default=None,
        description="A personal account speaking as another address than its owner's own (a shared "
        "mailbox): the administrator who allowed that From (a user id; for a level-4 caller a "
        "handle); null otherwise.",
    )
    from_allowed_by_name: str | None = Field(default=None, description=NAME_FIELD)
    etag: str = Field(description=ETAG_FIELD)
    waiting: WaitingMailOut | None = Field(
        default=None,
        description="In the answers of `PUT /sender-accounts/{area}` and of `GET`/`PUT "
        "/users/{user_id}/sender-account`: the e-mails queued in this account's outbox now (null: "
        "none). With `account` other than `working` (say, the save disabled it) they wait until the "
        "account works again.",
    )


class PasswordIn(Strict):
    password: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class CompanySettingsIn(Strict):
    language: Literal["es", "en"] | None = None
    ask_tracking_contacts: bool | None = None
    sms_on_automatic_payments: bool | None = Field(
        default=None, description="Send the payment SMS for payments recorded automatically (C9)."
    )
    sms_on_manual_payments: bool | None = Field(
        default=None, description="Send the payment SMS for payments an operator records by hand (C9)."
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")] | None = Field(
        default=None, description="ISO 3166 two-letter country (local phone numbers, amounts)."
    )
    time_zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="IANA time zone every time a person reads is shown in (Z1)."
    )
    locale: Annotated[str, StringConstraints(min_length=2, max_length=16)] | None = Field(
        default=None, description="Locale times, days and amounts are formatted for (Z1), e.g. es_AR."
    )


class StaffSubscribeIn(SubscribeIn):
    pass


class SubscriptionOut(BaseModel):
    subscription_id: str
    tracking_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    source: str
    created_at: datetime
    renewed_at: datetime
    expires_at: datetime
    cancelled_at: datetime | None
    awaiting_confirmation: bool = Field(
        description="A public subscription its address has not confirmed yet."
    )
    active: bool


class AlertOut(BaseModel):
    alert_id: str
    tracking_id: str
    subscription_id: str
    recipient_email: str
    novelty_id: str
    status_code: str
    state: Literal["queued", "sent", "failed"]
    created_at: datetime
    sent_at: datetime | None
    message_id: str | None
    error: str | None


class StaffHistoryEntry(BaseModel):
    event_id: str | None
    status: str
    status_name: str
    occurred_at: datetime
    branch: str | None
    reason: str | None
    observation: str | None
    hidden: bool
    notified_at: datetime | None


class NoveltyOut(BaseModel):
    """A status event as the tracking sweep keeps it on the parcel: what an alert would show."""

    event_id: str
    status: str = Field(description="The status code, as posted (its name is in `history`).")
    occurred_at: datetime
    received_at: None = Field(description="Always null here: the parcel keeps only what an alert shows.")
    branch: str | None
    reason: str | None
    observation: str | None
    notified_at: None = Field(description="Always null here: `history` has when each event was notified.")


class StaffParcelOut(BaseModel):
    tracking_id: str
    client_id: str | None
    waybill_number: str | None
    waybill_issued: bool
    created_at: datetime
    updated_at: datetime
    latest: NoveltyOut | None = Field(
        description="The parcel's newest status event that notifies (what an alert tells); null before one."
    )
    last_alert_at: datetime | None = Field(description="When alerts about the parcel were last written.")
    followed_until: datetime | None = Field(
        description="When the last of its subscriptions ends; null when nobody follows it."
    )
    history: list[StaffHistoryEntry]
    pending_alert: NoveltyOut | None = Field(
        default=None,
        description="The novelty the next sweep tells the parcel's followers; null when none waits.",
    )


class FollowUpOut(BaseModel):
    tracking_id: str
    followed_until: datetime | None
    subscribers: list[SubscriptionOut]


class FollowUpsOut(BaseModel):
    items: list[FollowUpOut]
    next_cursor: str | None


class AlertsOut(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = None


class FieldErrorOut(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    error: str
    message: str
    field: str | None = None
    errors: list[FieldErrorOut] | None = Field(default=None, description="Every invalid field (422 only).")


class SubscriptionsOut(BaseModel):
    items: list[SubscriptionOut]


class StatusCatalogOut(BaseModel):
    items: list[StatusDefinitionOut]


class AlertMonitorOut(BaseModel):
    items: list[AlertScheduleOut]


class SesReputationThresholdsOut(BaseModel):
    min_sent: int = Field(description="E-mails sent over the hours before the rates are judged.")
    bounce_rate: float = Field(description="The hard-bounce rate that pauses them (0.05: 5 %).")
    complaint_rate: float = Field(description="The complaint rate that pauses them (0.001: 0.1 %).")


class SesReputationOut(BaseModel):
    """A company's own rates on Pregón's SES (decision 0032): past the thresholds, with enough sent,
    its e-mails through Pregón's SES pause until Pregón resumes them; they wait, never lost."""

    hours: int = Field(description="The rolling window the counts cover (24).")
    sent: int = Field(description="E-mails sent through Pregón's SES over the window.")
    hard_bounces: int = Field(description="Of them, permanent bounces SES reported.")
    complaints: int = Field(description="Of them, spam complaints SES reported.")
    bounce_rate: float = Field(description="hard_bounces / sent (0 when nothing was sent).")
    complaint_rate: float = Field(description="complaints / sent (0 when nothing was sent).")
    thresholds: SesReputationThresholdsOut
    paused: bool = Field(description="Its e-mails through Pregón's SES wait until Pregón resumes them.")
    paused_at: datetime | None = Field(description="Since when (UTC); null while not paused.")
    paused_shown: str | None = Field(
        default=None, description="`paused_at` in the company's time zone and locale."
    )


class SenderAccountsOut(BaseModel):
    items: list[SenderAccountOut]
    waiting: list[WaitingMailOut] = Field(
        description="Every area whose outbox holds e-mails, with or without an account (a deleted "
        "account's area too), one count per area."
    )
    ses_reputation: SesReputationOut | None = Field(
        default=None,
        description="The company's own bounce and complaint rates on Pregón's SES and whether its "
        "e-mails there are paused for them; null when no account sends through Pregón's SES.",
    )


def answer_model(
    name: str, view: type, *, leave_out: tuple[str, ...] = (), **changes: Any
) -> type[BaseModel]:
    """The answer model of what a use case returns (a dataclass): its fields, types and defaults,
    but ``changes``, given as ``(type, default or Field(...))``, and none of ``leave_out``. One list
    of fields serves both."""
    import dataclasses
    import typing

    from pydantic import create_model

    hints = typing.get_type_hints(view)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(view)
        if f.name not in leave_out
    }
    return create_model(name, **{**fields, **changes})


CompanyOut = answer_model(
    "CompanyOut",
    Company,
    leave_out=("settings_version", "branding_version"),
    etag=(str, Field(description=ETAG_FIELD)),
)


class ContactIn(Strict):
    contact_id: Code
    first_name: HeaderName
    last_name: HeaderName
    email: EmailStr | None = None
    phone: Phone | None = Field(
        default=None,
        description="As written (`0351 15 123-4567`); stored in E.164. One that can never be used: 422.",
    )
    wants_cargo_info: bool = Field(
        default=False, description="Subscribe to every shipment issued for the client (T6.1)."
    )
    receives_reminders: bool = Field(
        default=False,
        description="Gets the client's payment reminders when its reminder settings send to contacts (R2).",
    )


class ClientIn(Strict):
    name: HeaderName
    emails: list[EmailStr] = Field(default_factory=list, max_length=10)
    phones: list[Phone] = Field(
        default_factory=list,
        max_length=10,
        description="As written, read in the company's region (`0351 15 123-4567`); stored in E.164 "
        "(`+5493511234567`). A number that can never be used is a 422 naming it (`phones[1]`).",
    )
    contacts: list[ContactIn] = Field(default_factory=list, max_length=50)
    message_switches: dict[
        Literal["tracking", "invoice", "payment_email", "payment_sms", "ticket", "reminder", "statement"],
        bool,
    ] = Field(
        default_factory=dict, description="Per message type: does this client get it? Missing means yes."
    )
    preferred_agent: AgentId | None = Field(
        default=None, description="The sales agent: a staff directory user id (`sofia@acme.com`)."
    )
    collection_agent: AgentId | None = Field(
        default=None,
        description="The agent who collects: payment notices go from this user's own sender account.",
    )
    balance: Annotated[str, StringConstraints(pattern=r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$")] | None = Field(
        default=None,
        description="What the client owes, a decimal with a dot (e.g. `15300.50`); quoted by SMS replies.",
    )
    classification: dict[Code, Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]] = (
        Field(
            default_factory=dict,
            max_length=20,
            description='The company\'s own classification of the client, field -> value (`{"zona": '
            '"norte"}`); bulk statements filter by it.',
        )
    )


class ContactOut(BaseModel):
    contact_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None = Field(description="E.164.")
    wants_cargo_info: bool
    receives_reminders: bool = False


class ClientOut(BaseModel):
    client_id: str
    name: str
    emails: list[str]
    phones: list[str] = Field(description="E.164, in the order given, each once.")
    contacts: list[ContactOut]
    message_switches: dict[str, bool]
    preferred_agent: str | None
    collection_agent: str | None
    updated_at: datetime
    balance: str | None = None
    manual_sends_off_at: datetime | None = Field(
        default=None,
        description="When the client unsubscribed from manual and bulk sends (the List-Unsubscribe of "
        "those e-mails); such sends skip the client from then on.",
    )
    classification: dict[str, str] = Field(default_factory=dict)
    etag: str = Field(description=ETAG_FIELD)


class ClientsOut(BaseModel):
    items: list[ClientOut]
    next_cursor: str | None


class IssueResultOut(StaffParcelOut):
    subscribed: list[str] = Field(description="E-mail addresses subscribed automatically by this call (T6).")


# --- test sends (C3) -----------------------------------------------------------------------


class TestSendIn(Strict):
    __test__ = False  # not a pytest test class, despite the name

    to: EmailStr = Field(description="Where the test message goes.")


class TemplateTestSendIn(Strict):
    to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)] = Field(
        description="Where the rendered template goes: an e-mail address, or with `channel: sms` a phone "
        "number (read in the SMS settings' `default_region`)."
    )
    channel: Literal["email", "sms"] = Field(
        default="email",
        description="`sms`: the template's SMS text goes by SMS, through the company's SMS settings (even "
        "switched off), as `POST /sms/test` sends; 409 while they are incomplete.",
    )
    variables: dict[str, Any] | None = Field(
        default=None, description="Values merged over the type's sample data (nested objects merge)."
    )


class TestSendOut(BaseModel):
    """`ok` with the provider's message id, or not `ok` with the server's own error text."""

    __test__ = False

    ok: bool
    message_id: str | None = Field(default=None, description="Present when `ok`.")
    error: str | None = Field(
        default=None,
        description="Present when not `ok`: the server's own text, e.g. "
        "`535 5.7.8 Authentication credentials invalid`, or Pregón's (`refused: ...`, `timeout: ...`), "
        "which is in Spanish when `Accept-Language` prefers it.",
    )


# --- SMS settings (C6) ---------------------------------------------------------------------


class SmsSettingsIn(Strict):
    """A merge: fields left out keep their value; `null` clears `sender_id`, `base_url`, `username`.
    Both providers' fields are kept, so switching provider or switching off loses nothing."""

    enabled: bool = Field(default=False, description="The SMS service on or off; off keeps every setting.")
    provider: Literal["sns", "http_gateway", "sms_masivos"] = Field(
        default="sns",
        description="Amazon SNS, an HTTP SMS gateway (an Android phone's app), or SMS Masivos "
        "(Argentina; the company's own account there).",
    )
    sender_id: str | None = Field(
        default=None,
        max_length=11,
        description="SNS: the name SMS show as their sender; only one of `assigned_sender_ids`, which "
        "Pregón's operator assigns (422 naming `sender_id` otherwise). None: the carrier's default sender.",
    )
    sms_type: Literal["Transactional", "Promotional"] = "Transactional"
    base_url: str | None = Field(
        default=None,
        max_length=2048,
        description="Gateway: http(s) URL on a public address, e.g. the app's cloud server "
        "`https://api.sms-gate.app/3rdparty/v1` or `http://<the phone's public IP>:8080`; a phone on the "
        "office LAN (a private address such as 192.168.x.x) is refused (422 naming `base_url`).",
    )
    username: str | None = Field(default=None, max_length=128, description="Gateway: Basic-auth user.")
    masivos_username: str | None = Field(
        default=None,
        max_length=128,
        description="SMS Masivos: the user SMS Masivos gave the company (its password is set with "
        "`PUT /sms/settings/sms-masivos-password`; changing the user removes it).",
    )
    default_region: str = Field(
        default="AR", min_length=2, max_length=2, description="Country of local phone numbers (ISO 3166)."
    )
    inbound_number: str | None = Field(
        default=None,
        max_length=32,
        description="Two-way SMS: the company's number clients write to (E.164; one company each).",
    )
    help_text: str | None = Field(
        default=None, max_length=480, description="The answer to HELP / AYUDA (a default one when empty)."
    )
    low_credit_threshold: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="SMS Masivos: the administrators are e-mailed (once a day at most) when fewer SMS "
        "than this are left; null: the default, 100.",
    )
    rate_limit: RateLimit | None = Field(
        default=None,
        description="C2: at most `messages` SMS per `hours` hours, as an e-mail account's; SMS beyond it "
        "wait in the outbox and go in later windows, oldest first. null: no limit.",
    )


SmsSettingsOut = answer_model(
    "SmsSettingsOut",
    SmsSettingsView,
    leave_out=("version",),
    etag=(str, Field(description=ETAG_FIELD)),
    password_set=(bool, Field(description="Whether the gateway password is set (it is never returned).")),
    masivos_password_set=(
        bool,
        Field(default=False, description="Whether the SMS Masivos password is set (it is never returned)."),
    ),
    bulk_password_set=(bool, Field(description="Whether the bulk-send password is set (never returned).")),
    ready=(bool, Field(description="Switched on and complete: SMS can be sent.")),
    updated_at=(datetime | None, ...),
    assigned_sender_ids=(
        list[str],
        Field(
            default_factory=list,
            description="The sender IDs Pregón's operator assigned the company: the only ones `sender_id` "
            "may be, and the only ones SMS carry (a `sender_id` not among them is not sent).",
        ),
    ),
    rate_limit=(
        RateLimit | None,
        Field(default=None, description="C2: the company's own; null: none."),
    ),
    daily_allowance=(
        int | None,
        Field(
            default=None,
            description="SNS: SMS a day the company may send on Pregón's bill (Pregón's operator sets it); "
            "beyond it SMS wait for the next day's room. null: the company's own provider, no allowance.",
        ),
    ),
)


class SmsProviderStatusOut(BaseModel):
    """What the SMS provider says of the company's account, read when asked. Only SMS Masivos
    (prepaid packages) tells it: other providers answer `available: false`."""

    provider: Literal["sns", "http_gateway", "sms_masivos"]
    available: bool = Field(description="Whether the provider tells its credit (SMS Masivos only).")
    ok: bool = Field(description="The account was read; when not, `error` says why, in Pregón's words.")
    error: str | None = Field(default=None, description="Why the account could not be read.")
    credit: int | None = Field(default=None, description="The SMS left in the package.")
    credit_shown: str | None = Field(
        default=None, description="`credit` in the company's locale (`5.000` in es_AR)."
    )
    expires_on: date | None = Field(default=None, description="The package's last day (SMS Masivos').")
    expires_on_shown: str | None = Field(default=None, description="`expires_on` in the company's locale.")
    days_left: int | None = Field(
        default=None, description="Days from the company's today to `expires_on` (negative once expired)."
    )
    sent_this_month: int | None = Field(
        default=None, description="SMS sent this month, as SMS Masivos counts."
    )
    sent_this_month_shown: str | None = Field(
        default=None, description="`sent_this_month` in the company's locale."
    )
    read_at: datetime | None = Field(default=None, description="When Pregón asked SMS Masivos (UTC).")
    read_at_shown: str | None = Field(default=None, description="`read_at` in the company's zone and locale.")
    low_credit_threshold: int | None = Field(default=None, description="The company's warning threshold.")
    low_credit_threshold_shown: str | None = Field(
        default=None, description="`low_credit_threshold` in the company's locale."
    )
    low: bool = Field(
        default=False,
        description="Fewer SMS left than `low_credit_threshold`, or the package expires within 7 days: "
        "the daily check e-mails the administrators (once a day at most).",
    )


class BulkPasswordIn(Strict):
    password: Annotated[str, StringConstraints(min_length=8, max_length=512)] = Field(
        description="Asked for every send to more than one client; stored hashed (scrypt)."
    )


class SmsTestIn(Strict):
    to: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] = Field(
        description="The number as written; local numbers are read in the company's default_region."
    )
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1600)] | None = Field(
        default=None, description="The message; a short test text when left out."
    )


class SmsTestOut(BaseModel):
    """`ok` with the provider's message id, or not `ok` with the provider's own error text."""

    ok: bool
    to: str = Field(description="The number in E.164, as it was sent.")
    message_id: str | None = Field(default=None, description="Present when `ok`.")
    error: str | None = Field(
        default=None,
        description="Present when not `ok`: the provider's own text, or Pregón's (`refused: ...`), which is "
        "in Spanish when `Accept-Language` prefers it.",
    )


class ErasureCounts(BaseModel):
    messages: int = Field(description="E-mails, SMS and push messages sent to or received from the client.")
    register_records: int = Field(description="Records staff wrote in its register by hand.")
    notes: int
    documents: int = Field(description="Documents (orders, statements) whose e-mail went to the client.")
    files: int = Field(description="Stored files: message bodies, attachments, documents, raw mail.")
    other_items: int = Field(
        description="Everything else: the client itself, its address and phone indexes, open "
        "receivables, reminder settings, open movements, push devices, tickets, tracking alerts."
    )


class AccessReportIn(Strict):
    """What a client's access report leaves out: nothing, unless the staff's notes are withheld
    (the law allows it only in cases: say which in ``reason``, the report shows it)."""

    withhold_notes: bool = False
    reason: str | None = Field(default=None, max_length=500, description="Why the notes are withheld.")


class AccessReportOut(BaseModel):
    """A client's access report, as it goes."""

    report_id: str
    client_id: str
    state: Literal["queued", "running", "done", "failed", "expired"] = Field(
        description="`queued` until its worker starts, `running` while it reads, `done` with its file, "
        "`failed` with `error`, `expired` once its file is gone (`expires_at`)."
    )
    items: int = Field(description="Once done, how many items and files it holds.")
    notes_withheld: str | None = Field(default=None, description="Why the notes were left out, if they were.")
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime = Field(description="After this, no file: ask for the report again.")
    file_size: int | None = None
    download_url: str | None = Field(
        default=None,
        description="Once done: a link to the ZIP valid for 5 minutes (ask again for a new one).",
    )
    error: str | None = None


class ErasureOut(BaseModel):
    job_id: str
    state: str = Field(description="`erasing` while it runs; `done` once nothing of the client is left.")
    phase: str = Field(
        description="What it erases now: communications, notes, receivables, events, message_keys, "
        "tracking, subscriptions, parcels, send_jobs, items, late_messages, client; `done` at the end."
    )
    erased: ErasureCounts
    suppressions_kept: int = Field(
        description="Bounced, complained or unsubscribed addresses kept as a digest, so the same "
        "address is not mailed again."
    )
    created_by: str
    created_by_name: str | None = Field(default=None, description=NAME_FIELD)
    created_at: datetime
    finished_at: datetime | None
    not_erased: list[str] = Field(description="What an erasure does not erase (docs/privacy.md).")
