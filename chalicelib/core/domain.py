"""Plain records the store hands to the rest of Pregón (no PynamoDB beyond store/)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar, get_args

from chalicelib.core import clock

R = TypeVar("R")


def record_of(record_type: type[R], source: Any, **values: Any) -> R:
    """The record ``record_type`` (a dataclass) of ``source``: each field is ``source``'s attribute
    of the same name, unless ``values`` gives it. One record shown as another (a stored item as
    its record, a document as its outcome, a job as its progress) spells out only what differs."""
    names = [f.name for f in dataclasses.fields(record_type) if f.name not in values]  # type: ignore[arg-type]
    return record_type(**{name: getattr(source, name) for name in names}, **values)


@dataclass(frozen=True)
class Company:
    company_id: str
    name: str
    language: str
    ask_tracking_contacts: bool
    created_at: datetime
    # C9: an SMS for a payment recorded automatically / by an operator (seed 002, "SMS pago").
    sms_on_automatic_payments: bool = False
    sms_on_manual_payments: bool = False
    # Z1: where the company's people are, and how they write times, days and amounts.
    country: str = "AR"
    time_zone: str = "UTC"
    locale: str = "es_AR"
    # W3 branding (tenants/branding.py): a logo given as an https URL, or uploaded (its S3 key; the
    # app serves it publicly); the primary and accent colours (#RRGGBB); the public tracking page's
    # URL template (``{tracking_id}`` in it), else Pregón's own page.
    logo_url: str | None = None
    logo_file: str | None = None
    primary_color: str | None = None
    accent_color: str | None = None
    tracking_page_url: str | None = None
    # The uploaded logo's size in pixels (e-mails give Outlook, which ignores CSS sizes, its width).
    logo_width: int | None = None
    logo_height: int | None = None
    # The postal address every default e-mail's footer prints (CAN-SPAM, LSSI art. 10), as lines
    # (``\n`` between them); part of the branding (tenants/branding.py).
    postal_address: str | None = None
    # The versions people edit the settings and the branding at (their answers' ETags), apart;
    # 0: never saved, or saved before versions.
    settings_version: int = 0
    branding_version: int = 0
    # A company that leaves (docs/decisions/0033-a-company-leaves.md): suspended, then deleted.
    suspended_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def in_service(self) -> bool:
        return self.suspended_at is None and self.deleted_at is None


#: What an integration API key may be let in to do (O2): operators issue keys with any of these.
ApiKeyScope = Literal[
    "parcels:write",
    "parcels:read",
    "clients:write",
    "clients:read",
    "events:write",
    "staff:read",  # U1: the staff directory
    "staff:write",
    "receivables:write",
    "documents:write",
    "documents:read",
    "tickets:read",  # I2: the tickets clients opened by SMS, for the company's ticket system
]
API_KEY_SCOPES: tuple[str, ...] = get_args(ApiKeyScope)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    company_id: str
    name: str
    secret_hash: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    # O2: when the key was last let in (written at most every few minutes), and, for a key that was
    # rotated, the moment its secret stops working (the end of the overlap) and the key that follows.
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    replaced_by: str | None = None

    @property
    def prefix(self) -> str:
        """What a person may see of the key: ``pk_<key id>`` (the secret never)."""
        return f"pk_{self.key_id}"

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class SenderDomain:
    """A domain a company sends from through SES (Easy DKIM, its own MAIL FROM subdomain)."""

    domain: str
    company_id: str
    mail_from_domain: str
    dkim_tokens: tuple[str, ...]
    created_at: datetime  # when the company first registered it (registering again keeps it)
    created_by: str
    # When a removal checked its accounts (or, asked again, was about to delete the SES identity)
    # and has not finished yet; None: no removal under way.
    removing_since: datetime | None = None
    # A check once found SES verifying it (then it lapses 72 hours after ``unverified_since``, when a
    # check first found it no longer verified), else it lapses 72 hours after ``created_at``.
    verified_once: bool = False
    unverified_since: datetime | None = None
    # The ``unverified_since`` the administrators were told of (first notice; the last one, a day
    # before the lapse), or None.
    unverified_notice_for: datetime | None = None
    lapse_notice_for: datetime | None = None
    # While that notice is being sent: until when its claim holds (a check still sending past it
    # died, and the next check sends the notice again); None once it went (or before this existed).
    unverified_notice_sending_until: datetime | None = None
    lapse_notice_sending_until: datetime | None = None

    @property
    def removing(self) -> bool:
        return self.removing_since is not None

    @property
    def unverified_from(self) -> datetime | None:
        """Since when the registration counts as unverified (its 72 hours run from here); None for
        a domain verified once and not found unverified since."""
        return self.unverified_since if self.verified_once else self.created_at


@dataclass(frozen=True)
class RegisteredDomain:
    """A registered sending domain not being removed, and its company, as the hourly check lists
    them (an index that lags: the check reads each one's record before it writes)."""

    domain: str
    company_id: str


@dataclass(frozen=True)
class StatusDefinition:
    code: str
    display_name: str
    visibility: str
    notify: bool
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class SenderAccount:
    company_id: str
    area: str
    kind: str
    display_name: str
    from_address: str
    enabled: bool
    updated_at: datetime
    reply_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    encryption: str | None = None
    username: str | None = None
    password_ciphertext: bytes | None = field(default=None, repr=False)
    password_set_at: datetime | None = None
    ses_identity: str | None = None
    # C2: at most ``rate_limit_count`` messages per ``rate_limit_hours``; None means no limit.
    rate_limit_count: int | None = None
    rate_limit_hours: int | None = None
    # C5, a personal account only: the owner's own address when it was saved (the staff
    # directory's, else the token's ``email`` claim), and the administrator who allowed a From that
    # is not it (None: the From must be the owner's own address when a message is sent).
    owner_address: str | None = None
    from_allowed_by: str | None = None
    # The version people edit its settings at (its answers' ETag); 0: saved before versions.
    version: int = 0
    # The company's suspension (Company.suspended_at), copied here for the outbox.
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class FolderState:
    """How far a mailbox folder was read (H3): its UIDVALIDITY and the last UID seen."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class Mailbox:
    """A staff IMAP mailbox whose mail to and from clients is logged in the register (H3).

    ``auth`` is ``password`` (IMAP LOGIN to ``host``) or ``microsoft365`` (SASL XOAUTH2 with an
    app-only token of the company's Entra app ``client_id`` in ``tenant_id``, to Exchange Online)
    or ``google`` (SASL XOAUTH2 with a token the company's Google service account
    ``service_account`` gets by domain-wide delegation for ``username``, to Gmail). For both, the
    server is the deployment's, never the tenant's."""

    company_id: str
    mailbox_id: str
    owner: str
    visibility: str  # "private" | "public"
    host: str
    port: int
    encryption: str  # "tls" | "starttls" | "none"
    username: str
    folders: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    enabled: bool = True
    password_ciphertext: bytes | None = field(default=None, repr=False)
    auth: str = "password"  # "password" | "microsoft365" | "google"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret_ciphertext: bytes | None = field(default=None, repr=False)
    service_account: str | None = None  # google: the service account's client_email (from its key)
    service_account_key_ciphertext: bytes | None = field(default=None, repr=False)
    folder_state: dict[str, FolderState] = field(default_factory=dict)
    last_sync_at: datetime | None = None
    last_error: str | None = None
    logged_count: int = 0
    next_sync_at: datetime | None = None
    # The version people change its settings at (its answers' ETag); 0: never changed, or before versions.
    version: int = 0


@dataclass(frozen=True)
class AlertSchedule:
    company_id: str
    alert_type: str
    enabled: bool
    frequency_minutes: int
    next_run_at: datetime | None
    last_run_at: datetime | None
    sent_count: int
    failed_count: int
    # Daily alert types (reminders, R3): the company's local hour the run starts at.
    hour_of_day: int | None = None
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class Novelty:
    event_id: str
    status: str
    occurred_at: datetime
    received_at: datetime | None = None
    branch: str | None = None
    reason: str | None = None
    observation: str | None = None
    notified_at: datetime | None = None


@dataclass(frozen=True)
class Follower:
    """What a sweep needs of an active (confirmed, unexpired, not cancelled) subscription."""

    subscription_id: str
    email: str
    first_name: str
    last_name: str
    expires_at: datetime
    phone: str | None = None
    link_nonce: str | None = None


@dataclass(frozen=True)
class Parcel:
    company_id: str
    tracking_id: str
    client_id: str | None
    waybill_number: str | None
    waybill_issued: bool
    created_at: datetime
    updated_at: datetime
    version: int = 0
    latest: Novelty | None = None
    pending: Novelty | None = None
    notified_occurred_at: datetime | None = None
    last_alert_at: datetime | None = None
    followed_until: datetime | None = None
    # Bumped by every change to who follows the parcel; a sweep's claim is conditioned on it.
    follow_version: int | None = None


@dataclass(frozen=True)
class Subscription:
    company_id: str
    tracking_id: str
    subscription_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    source: str
    created_at: datetime
    renewed_at: datetime
    expires_at: datetime
    cancelled_at: datetime | None = None
    last_alert_at: datetime | None = None
    # A public subscription waits for its address to confirm (double opt-in); until then it
    # expires after CONFIRMATION_HOURS and is sent nothing but the confirmation e-mail.
    awaiting_confirmation: bool = False
    # Random per subscription (a new one when an address subscribes again after cancelling or
    # expiring): its links name this subscription and no later one of the same address.
    link_nonce: str | None = None

    def is_active(self, now: datetime) -> bool:
        return self.cancelled_at is None and self.expires_at > now and not self.awaiting_confirmation


@dataclass(frozen=True)
class Alert:
    company_id: str
    tracking_id: str
    alert_id: str
    subscription_id: str
    recipient_email: str
    novelty_id: str
    status_code: str
    state: str
    created_at: datetime
    message_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None
    communication_id: str | None = None  # the outbox message that delivers it (e-mail)


@dataclass(frozen=True)
class Contact:
    contact_id: str
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    wants_cargo_info: bool
    # R2: the contact gets the client's payment reminders when the client's settings say so.
    receives_reminders: bool = False


@dataclass(frozen=True)
class Client:
    company_id: str
    client_id: str
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    contacts: tuple[Contact, ...]
    message_switches: dict[str, bool]
    preferred_agent: str | None
    collection_agent: str | None
    updated_at: datetime
    balance: str | None = None
    # Set when the client unsubscribed from manual and bulk sends (C8, the List-Unsubscribe of
    # those e-mails); the client's own choice, so the back office pushing the client keeps it.
    manual_sends_off_at: datetime | None = None
    # The company's own classification of the client (zone, line of business, ...): field -> value;
    # bulk statements filter by it (D2).
    classification: dict[str, str] = field(default_factory=dict)
    # The version people edit it at (its answers' ETag): every write of the client sets a fresh one;
    # 0: saved before versions (docs/decisions/0016-edit-versions.md).
    version: int = 0


@dataclass(frozen=True)
class MessageTemplate:
    """A company's override of a message type's template (or a custom template), C4."""

    company_id: str
    key: str
    sender_area: str
    subject: str
    text: str
    html: str
    language: str
    updated_at: datetime
    updated_by: str
    # SMS text and push title/body with %variables% (C6, C7); None: the type's default.
    sms_text: str | None = None
    push_title: str | None = None
    push_body: str | None = None
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class SmsSettings:
    """A company's SMS service (C6). The two secrets never leave the domain layer."""

    company_id: str
    enabled: bool
    provider: str
    sms_type: str
    default_region: str
    updated_at: datetime
    sender_id: str | None = None
    base_url: str | None = None
    username: str | None = None
    gateway_password_ciphertext: bytes | None = field(default=None, repr=False)
    gateway_password_set_at: datetime | None = None
    # SMS Masivos (Argentina): the company's own account there; its password is KMS-encrypted.
    masivos_username: str | None = None
    masivos_password_ciphertext: bytes | None = field(default=None, repr=False)
    masivos_password_set_at: datetime | None = None
    bulk_password_hash: str | None = field(default=None, repr=False)
    bulk_password_set_at: datetime | None = None
    inbound_number: str | None = None
    help_text: str | None = None
    # The two-way numbers Pregón's operator assigned the company: ``inbound_number`` is one of them.
    assigned_numbers: tuple[str, ...] = ()
    # The alphanumeric sender IDs Pregón's operator assigned the company (registered with the
    # carriers where a country asks): ``sender_id`` is one of them, and only an assigned one is sent.
    assigned_sender_ids: tuple[str, ...] = ()
    # SMS Masivos: the administrators are warned below this many SMS left (None: the default).
    low_credit_threshold: int | None = None
    # C2, as e-mail accounts have it: at most ``rate_limit_count`` SMS per ``rate_limit_hours``
    # (both or neither; the company's administrators set it).
    rate_limit_count: int | None = None
    rate_limit_hours: int | None = None
    # What Pregón pays: SMS through Pregón's SNS a day, Pregón's operator's to set (None: the
    # deployment's default, ``PREGON_SMS_ALLOWANCE_PER_DAY``). Not for the company's own gateways.
    daily_allowance: int | None = None
    # The version people edit them at (their answers' ETag); 0: never saved, or saved before versions.
    version: int = 0
    # The company's suspension (Company.suspended_at), copied here for the outbox.
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class AttachmentRef:
    """A file kept in S3 with a message or a register record."""

    name: str
    content_type: str
    size: int
    key: str
    # D3: the file is deleted from S3 once the message carrying it is sent; the history keeps
    # the rest of this record and ``deleted_at`` says when it went.
    delete_after_sending: bool = False
    deleted_at: datetime | None = None
    # A received file that was not kept (no ``key``), and why: too large, or a virus in its message.
    omitted: str | None = None
    # H2: a file staff added to a register record afterwards (not one the message came with): who.
    added_by: str | None = None


@dataclass(frozen=True)
class RecordNotice:
    """H2: colleagues told of a register record by e-mail ("Enviar un mensaje"): who told them,
    when, and the staff users told."""

    at: datetime
    by: str
    users: tuple[str, ...]


#: Where a producer writes a message it decided can never go (``messaging.outbox.failing_later``):
#: ``queued`` with the reason in ``error``, for the drain to tell ``message.failed`` and record it
#: failed (decision 0018). Nothing is ever sent from it; every read shows it ``failed``.
FAILING_OUTBOX = "failing"


@dataclass(frozen=True)
class Communication:
    """One communication with a client (see ``store.models.CommunicationModel``).

    ``direction``: ``out`` (a message we send), ``in`` (a message received) or ``note`` (a record
    staff wrote by hand). ``state`` of an outgoing message: queued -> sending -> sent | failed |
    suppressed, and later delivered | bounced | complained from the provider's notifications.
    """

    company_id: str
    communication_id: str
    direction: str
    channel: str
    kind: str
    state: str
    created_at: datetime
    updated_at: datetime
    message_type: str | None = None
    client_id: str | None = None
    contact_id: str | None = None
    outbox: str | None = None
    sender_area: str | None = None
    from_address: str | None = None
    from_name: str | None = None
    to_address: str | None = None
    to_name: str | None = None
    reply_to: str | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    body_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRef, ...] = ()
    attempts: int = 0
    error: str | None = None
    not_before: datetime | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    provider_message_id: str | None = None
    rfc_message_id: str | None = None
    cause: str | None = None
    idempotency_key: str | None = None
    job_id: str | None = None
    resend_of: str | None = None
    in_reply_to: str | None = None
    thread_id: str | None = None
    alert_ref: str | None = None
    alert_type: str | None = None
    record_type: str | None = None
    motive: str | None = None
    area: str | None = None
    initiated_by: str | None = None
    created_by: str | None = None
    # A received message: the user who created the message it answers (what a level-4 user sees).
    thread_owner: str | None = None
    raw_key: str | None = None
    # A received e-mail SES's scan judged: "spam" or "virus" (``records.inbound_mail``); it was
    # matched to no client and threaded to nothing.
    flagged: str | None = None
    # A received e-mail a machine sent (RFC 3834; ``records.automatic_mail``): "auto_reply" (an
    # out-of-office), "delivery_report" (a bounce or delay, RFC 3464), "read_receipt" (RFC 8098),
    # "auto_generated" (Auto-Submitted, Precedence bulk/junk, a no-reply sender); None: a person's.
    auto_submitted: str | None = None
    in_register: bool = True
    unassigned: bool = False
    resent_as: tuple[str, ...] = ()
    # H3: logged from a staff mailbox; ``private_to`` names the owner of a private one (only they
    # and level 1 see the record).
    mailbox_id: str | None = None
    private_to: str | None = None
    # H2: each time staff told colleagues of this record by e-mail, oldest first.
    notices: tuple[RecordNotice, ...] = ()
    # A message to staff that names a client it is not to or from (H2: a colleague told of one of
    # its register records): the client's erasure finds it, no register or history shows it as
    # the client's (decision 0017).
    about_client: str | None = None
    # Not stored: the hand-off record (its token) that holds this message while its producer's
    # lease lasts. Such a message is not put in the outbox's ``ready`` index; the record finds
    # it if its worker never sends it (issue 14, ``store.outbox.save_handoffs``).
    handoff: str | None = None

    @property
    def shown_state(self) -> str:
        """The state a company reads (history, register, answers): ``failed`` for a message its
        producer already decided can never go, though the record stays ``queued`` in the
        :data:`FAILING_OUTBOX` until its drain has told the webhooks and records it failed
        (decision 0018, session 36): the answer said ``failed``, and so does every read after it.

        ``queued`` for a message ``sending`` whose lease has ended: the drain that claimed it died
        (decision 0003), and nobody is sending it; it waits to be taken again, which for an account
        whose rate limit is full is when its window has room (the dead attempt counted in it), an
        hour or more later (session 37: the soak saw such messages read ``sending`` all that time)."""
        if self.state == "queued" and self.outbox == FAILING_OUTBOX:
            return "failed"
        if self.state == "sending" and self.lease_until is not None and self.lease_until <= clock.now():
            return "queued"
        return self.state


@dataclass(frozen=True)
class Suppression:
    company_id: str
    address: str
    reason: str
    created_at: datetime
    detail: str | None = None
    communication_id: str | None = None
    # The staff user who put it on the list by hand; None for the rest, and for an entry added by
    # hand before 2026-12-05 (its ``detail`` names them: :func:`messaging.suppression.added_by`).
    created_by: str | None = None


@dataclass(frozen=True)
class PageBound:
    """Where a page of a send job's clients ends, decided once for the page (bulk statements,
    D2; a manual send's filter, C8): after the client ``until``, or at the end of the job's range
    (``until`` None)."""

    until: str | None

    def keep(self, clients: list[Client], read: PageBound) -> tuple[list[Client], str | None]:
        """A delivery of the page read ``clients`` up to ``read``; the page goes up to this bound,
        as recorded (by another delivery, which read the page before a client was added or
        removed): the clients read that are within it, and, when the bound is further on, the
        client after which the page's clients go on (``read``'s), else None."""
        if read == self:
            return clients, None
        if self.until is not None and (read.until is None or read.until > self.until):
            return [c for c in clients if c.client_id <= self.until], None
        return clients, read.until


@dataclass(frozen=True)
class SendJob:
    company_id: str
    job_id: str
    channel: str
    template_key: str
    state: str
    total: int
    queued: int
    sent: int
    failed: int
    skipped: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    selection: str | None = None
    pages_done: int = 0
    pages_total: int | None = None
    # Why recipients were skipped, counted at expansion (bulk statements, D2): reason -> count.
    skip_reasons: dict[str, int] = field(default_factory=dict)
    # Why statements failed at expansion (not rendered, no message written): reason -> count.
    fail_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BusinessEvent:
    """A back-office event (invoice issued, payment recorded, ...) and what it caused (C9, T10)."""

    company_id: str
    event_type: str
    event_id: str
    client_id: str
    outcome: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Publication:
    """A file of a client's register published to the client's document portal (seed 004's
    "Publicar en a3doc cloud"): a copy of the file under its own name, the company's categories
    it is filed under, and whether the client sees it ("Visible para el cliente")."""

    company_id: str
    client_id: str
    publication_id: str  # time-ordered (newest first in a listing)
    name: str
    categories: tuple[str, ...]
    visible: bool
    file: AttachmentRef  # the portal's own copy (``<company>/portal/...``)
    record_id: str  # the register record it was published from
    attachment: int  # which of that record's attachments (its place in the list)
    created_at: datetime
    created_by: str | None = None  # who published it (a level-4 user sees their own only)
    private_to: str | None = None  # the record came from this user's private mailbox (H3)


@dataclass(frozen=True)
class RegisterLookup:
    """A motive or an area of a company's register (H2)."""

    company_id: str
    table: str  # "motive" | "area"
    code: str
    name: str
    created_at: datetime
    # The version people edit it at (its answers' ETag); 0: saved before versions.
    version: int = 0


@dataclass(frozen=True)
class PhoneOwner:
    """A client (and, for a contact's phone, the contact) a phone number belongs to."""

    client_id: str
    contact_id: str | None = None


@dataclass(frozen=True)
class SmsAutoReplies:
    """A company's inbound SMS keyword rules (I1, I2)."""

    company_id: str
    balance_enabled: bool
    balance_keywords: str
    balance_template: str
    ticket_enabled: bool
    ticket_keywords: str
    ticket_operator: str | None
    ticket_category: str | None
    ticket_max_per_day: int
    ticket_template: str
    ticket_limit_template: str
    updated_at: datetime | None = None
    updated_by: str | None = None
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class PushSettings:
    company_id: str
    fcm_application_arn: str | None
    apns_application_arn: str | None
    updated_at: datetime | None = None
    updated_by: str | None = None
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class Ticket:
    company_id: str
    ticket_id: str
    client_id: str
    operator: str | None
    category: str | None
    text: str
    source: str
    created_at: datetime
    communication_id: str | None = None


@dataclass(frozen=True)
class ClientAddress:
    """An e-mail address of a client (``contact_id`` None) or of one of its contacts (I3)."""

    company_id: str
    address: str
    client_id: str
    contact_id: str | None = None


@dataclass(frozen=True)
class PushDevice:
    company_id: str
    client_id: str
    device_id: str
    platform: str
    token: str
    endpoint_arn: str
    created_at: datetime


@dataclass(frozen=True)
class SavedFilter:
    """A user's saved history filter ("my filters", H1); private to that user. ``channel``: the
    history it was saved from (``email``, ``sms``, ``push``), listed there only; None for every
    history (filters saved before session 29, or saved without one)."""

    company_id: str
    user_id: str
    filter_id: str
    name: str
    criteria: dict[str, str]
    created_at: datetime
    channel: str | None = None


@dataclass(frozen=True)
class StaffUser:
    """A staff user in the company's directory (U1)."""

    company_id: str
    user_id: str
    level: int
    name: str | None = None
    email: str | None = None
    branch: str | None = None
    department: str | None = None
    permissions: tuple[str, ...] = ()
    active: bool = True
    source: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StaffUnit:
    """A branch or a department of a company (``kind``: "branch" | "department")."""

    company_id: str
    kind: str
    code: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ClientNote:
    """A note on a client (N1). Its branch and department are its author's, read when shown."""

    company_id: str
    note_id: str
    client_id: str
    author: str
    note: str
    created_at: datetime
    updated_at: datetime
    location: str | None = None
    treatment: str | None = None
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class AgentChange:
    """A previewed, then applied, reassignment of preferred agents (N4)."""

    company_id: str
    change_id: str
    moves: tuple[dict[str, Any], ...]
    fingerprint: str
    state: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    total: int = 0
    moved: int = 0
    skipped: int = 0
    pages_total: int = 0
    applied_by: str | None = None
    applied_at: datetime | None = None
    # each page's first client id (pages are consecutive ranges of the sorted ids), and which
    # pages are counted: what a resume sends again
    page_starts: tuple[str, ...] = ()
    done_pages: frozenset[int] = frozenset()

    @property
    def pages_done(self) -> int:
        return len(self.done_pages)


# --- receivable reminders (R1-R3) ---------------------------------------------------------------


@dataclass(frozen=True)
class Receivable:
    """A document the client owes on (an invoice, a debit note), as the company's ERP pushes it."""

    company_id: str
    document_number: str
    client_id: str
    issued_on: date
    due_on: date
    amount: Decimal
    balance: Decimal
    currency: str
    state: str  # open | paid | cancelled
    updated_at: datetime
    # Concepts whose reminder went out (their "reminder sent" markers exist).
    reminded: tuple[str, ...] = ()
    # The company's day of the next reminder still to send (None: nothing pending).
    remind_on: date | None = None
    version: int = 0


@dataclass(frozen=True)
class ReminderConcept:
    """A catalog entry (R1): ``days`` before or after the due date."""

    company_id: str
    concept_id: str
    description: str
    days: int
    kind: str  # before_due | after_due
    updated_at: datetime
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class Supplier:
    """A supplier of a company, as its back office registers it (D1: purchase orders go to it)."""

    company_id: str
    supplier_id: str
    name: str
    emails: tuple[str, ...]
    updated_at: datetime
    # The version people edit it at (its answers' ETag); 0: never saved, or saved before versions.
    version: int = 0


@dataclass(frozen=True)
class ClientReminders:
    """A client's reminder settings (R2, the seed's "Avisos" tab)."""

    company_id: str
    client_id: str
    active: bool
    subject: str | None = None
    send_to_contacts: bool = False
    before_due_concept: str | None = None
    after_due: bool = False
    after_due_concept: str | None = None
    reminder_body: str | None = None
    after_due_body: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    # The version people edit them at (their answers' ETag); 0: never saved, or saved before versions.
    version: int = 0
    # Also by SMS (to the client's mobile, while the company's SMS service is on), with these
    # %variable% texts; None: the default in the company's language.
    sms: bool = False
    reminder_sms: str | None = None
    after_due_sms: str | None = None


@dataclass(frozen=True)
class DocumentSettings:
    """How a company sends documents (D1, D3; the seed's "Configurar Mailer")."""

    company_id: str
    # The sender account area statements go out from (falls back to ``all``).
    statement_area: str = "documents"
    # Printed on every account statement ("Comentario estado de cuenta").
    statement_comment: str | None = None
    # Per document type: delete the generated PDF from S3 once it is sent (D3).
    delete_after_sending: dict[str, bool] = field(default_factory=dict)
    logo_key: str | None = None
    logo_content_type: str | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None
    # The write these settings were read at (None: never written, or before writes were counted)
    version: int | None = None


@dataclass(frozen=True)
class DocumentTemplate:
    """A company's own PDF template of a document type (typst markup written as a Jinja template)."""

    company_id: str
    document_type: str
    source: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Movement:
    """One open movement of a client's account (an invoice, a credit note, a payment on account)."""

    date: str
    document: str
    amount: str
    description: str | None = None
    due_on: str | None = None


@dataclass(frozen=True)
class OpenMovements:
    """A client's open movements as the back office last pushed them (read by bulk statements)."""

    company_id: str
    client_id: str
    movements: tuple[Movement, ...]
    currency: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Document:
    """A generated document (order, purchase order, statement) and the message that carried it."""

    company_id: str
    document_key: str  # "<type>#<number>"
    document_type: str
    number: str
    recipient_id: str
    responsible: str | None
    communication_id: str | None
    state: str  # queued | failed
    created_at: datetime
    file_name: str
    error: str | None = None
    # A statement sent under its default number: a digest of what it printed (its day, currency,
    # movements and recipient), so the same statement posted again is a repeat and another one
    # the same day gets a number of its own.
    content_digest: str | None = None
    # A statement of a bulk job (D2): the job, whose e-mail to ``recipient_id`` carried it (the
    # e-mail's key ``job:<job>:<client>``; the number is recorded before the e-mail is written).
    job_id: str | None = None


@dataclass(frozen=True)
class ClientErasure:
    """An erasure of a client's personal data (docs/privacy.md) and what it removed so far."""

    company_id: str
    erasure_key: str
    job_id: str
    state: str  # erasing | done
    phase: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    client_id: str | None = None  # only while it runs
    finished_at: datetime | None = None
    messages: int = 0
    records: int = 0
    notes: int = 0
    documents: int = 0
    files: int = 0
    other_items: int = 0
    suppressions_kept: int = 0
    pending_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where a company's system hears what happened to its messages (docs/webhooks.md). The
    signing secret's ciphertext stays in the store; no record carries it."""

    company_id: str
    endpoint_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    secret_set_at: datetime
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    version: int = 0  # the edit version, the ETag (docs/decisions/0016-edit-versions.md)
    previous_secret_until: datetime | None = None  # the secret a rotation replaced signs too until then
    # The company's suspension (Company.suspended_at), copied here for the delivery.
    suspended_at: datetime | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt to post one event to an endpoint, as the delivery log shows it."""

    event_id: str
    event_type: str
    attempt: int
    attempted_at: datetime
    status_code: int | None
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class HistoryExport:
    """A history's Excel export built in the background (H1): what it selects, whose eyes it is
    for (it holds what its creator may read), how far it got and, once done, its file."""

    company_id: str
    export_id: str
    channel: (
        str  # the history's channel, or "register" (a client's, named in criteria) or "notes" (the report)
    )
    criteria: dict[str, str]  # the listing's query parameters (for the history: HistoryCriteria.as_params)
    created_by: str
    creator_level: int  # the creator's level when asked: a level-4 user's export holds their own
    state: str  # queued | running | done | failed
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    rows: int = 0
    attempt: int = 0
    file_key: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    error: str | None = None
    # the creator's branch and department when asked: a notes report's export holds what they showed
    creator_branch: str | None = None
    creator_department: str | None = None
    # an access report built in parts: where its last committed part's progress is kept (S3)
    progress: str | None = None
