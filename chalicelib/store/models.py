"""PynamoDB models. Only ``store/`` imports this module; the rest of Pregón sees records.

Every key is scoped by company: tables keyed by company use it as hash key, and the
per-parcel tables use ``parcel_key = "<company>#<tracking id>"``. Indexes that find due work
are sparse: their key attribute exists only while there is work, so a sweep costs what is due.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection.table import TableConnection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model


class _Meta:
    # The prefix is bound lazily by store.tables.bind(); these are the base names.
    region = None
    billing_mode = "PAY_PER_REQUEST"


class BoundModel(Model):
    """A model that points at its stage's table before it touches DynamoDB. Every PynamoDB
    operation (get, query, scan, save, update, delete, batches, transactions, index queries) asks
    for the table connection here, so binding happens once, on first use, and never needs to be
    repeated by the functions of ``store/``."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        from chalicelib.store.tables import bind, share_session  # tables imports this module

        bind()  # cached: after the first call, a lookup
        table = super()._get_connection()
        share_session(table.connection)
        return table


class CompanyListingIndex(GlobalSecondaryIndex["CompanyModel"]):
    """O1: every company under one small partition (``listed = "company"``), so operators list
    companies with a Query, never a Scan; companies are few (one item each, keys only)."""

    class Meta:
        index_name = "listing"
        projection = KeysOnlyProjection()

    listed = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute(range_key=True)


class CompanyModel(BoundModel):
    class Meta(_Meta):
        table_name = "companies"

    company_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    language = UnicodeAttribute(default="es")
    ask_tracking_contacts = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    sms_on_automatic_payments = BooleanAttribute(null=True)
    sms_on_manual_payments = BooleanAttribute(null=True)
    country = UnicodeAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    listed = UnicodeAttribute(null=True)
    listing = CompanyListingIndex()
    # W3 branding
    logo_url = UnicodeAttribute(null=True)
    logo_file = UnicodeAttribute(null=True)
    primary_color = UnicodeAttribute(null=True)
    accent_color = UnicodeAttribute(null=True)
    tracking_page_url = UnicodeAttribute(null=True)
    logo_width = NumberAttribute(null=True)
    logo_height = NumberAttribute(null=True)
    postal_address = UnicodeAttribute(null=True)
    # The versions of what people edit here (store.tables.new_version), apart: the settings
    # (PATCH /company) and the branding (PATCH /company/branding); None before versions: 0.
    settings_version = NumberAttribute(null=True)
    branding_version = NumberAttribute(null=True)
    # U1: the random key of the company's colleague handles (store.companies.colleague_handle_key),
    # made the first time one is shown; never the link signing key, so a rotation keeps handles.
    colleague_handle_key = UnicodeAttribute(null=True)
    # The digests (store.erasures.erasure_key) of the clients being erased now, set in the
    # transaction that starts an erasure and dropped in the one that ends it; absent for almost
    # every company. A send's page reads the company anyway, and skips these clients with it.
    erasing = UnicodeSetAttribute(null=True)
    # A company that leaves (docs/decisions/0033-a-company-leaves.md): suspended by the operator
    # (nothing sent, no caller let in, its pages 410) until reopened or deleted; once deleted the
    # item stays as a tombstone holding the id (never reused by accident), the deletion's counts
    # (JSON) and what arrived for it while suspended (inbound mail and SMS dropped).
    suspended_at = UTCDateTimeAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    deletion = UnicodeAttribute(null=True)
    inbound_dropped = NumberAttribute(null=True)


class KeysByCompanyIndex(GlobalSecondaryIndex["ApiKeyModel"]):
    """O2: a company's keys, listed by a Query (the authorizer reads one key by its id)."""

    class Meta:
        index_name = "by-company"
        projection = AllProjection()

    company_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)


class ApiKeyModel(BoundModel):
    class Meta(_Meta):
        table_name = "api-keys"

    key_id = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute()
    name = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    scopes = ListAttribute(of=UnicodeAttribute)
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)
    last_used_at = UTCDateTimeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)  # a rotated key: the end of its overlap
    replaced_by = UnicodeAttribute(null=True)
    by_company = KeysByCompanyIndex()


class DomainsByCompanyIndex(GlobalSecondaryIndex["SenderDomainModel"]):
    class Meta:
        index_name = "by-company"
        projection = AllProjection()

    company_id = UnicodeAttribute(hash_key=True)
    domain = UnicodeAttribute(range_key=True)


class RegisteredDomainsIndex(GlobalSecondaryIndex["SenderDomainModel"]):
    """Sparse: every registered sending domain not being removed, under one partition
    (``registered = "domain"``), with its company: the hourly check reads these, never every
    company (decision 0021). Written only when a domain is registered, taken over, removed, or its
    removal starts or is called off; the check's own writes (its state, its notices) leave it."""

    class Meta:
        index_name = "registered"
        projection = IncludeProjection(["company_id"])

    registered = UnicodeAttribute(hash_key=True)
    domain = UnicodeAttribute(range_key=True)


class SenderDomainModel(BoundModel):
    """A company's SES sending domain; keyed by the domain, so one company owns a domain."""

    class Meta(_Meta):
        table_name = "sender-domains"

    domain = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute()
    mail_from_domain = UnicodeAttribute()
    dkim_tokens = ListAttribute(of=UnicodeAttribute)
    # When and by whom the owning company first registered it: registering again keeps them, a
    # takeover of a registration SES never verified sets them anew (the 72 h count from here).
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    # Moved by every save of an SES account that sends from the domain, in the same transaction:
    # a removal that found no such account deletes only while it has not moved.
    accounts_version = NumberAttribute(null=True)
    # Set by a removal once it has checked the accounts (before SES's identity goes): while it is
    # set no SES account may be saved on the domain; asking to remove it again finishes the job.
    removing_since = UTCDateTimeAttribute(null=True)
    # Set once a check (showing the domain, or another company's registration) found SES verifying
    # it; then its lapse counts from ``unverified_since``, when a check first found it no longer
    # verified (removed when one finds it verified again). Written only when the state changes.
    verified_once = BooleanAttribute(null=True)
    unverified_since = UTCDateTimeAttribute(null=True)
    # The ``unverified_since`` whose notice to the company's administrators was sent (claimed by a
    # conditional write before it goes), and whose last notice, a day before the lapse, was: one
    # notice of each per time the domain stopped being verified (docs/deliverability.md).
    unverified_notice_for = UTCDateTimeAttribute(null=True)
    lapse_notice_for = UTCDateTimeAttribute(null=True)
    # Set with the claim of that notice, removed once its messages were handed to SES: a claim
    # still sending past this moment is a check that died sending it, and the next check takes it
    # over and sends it again (at least once). None (and items written before): not sending.
    unverified_notice_sending_until = UTCDateTimeAttribute(null=True)
    lapse_notice_sending_until = UTCDateTimeAttribute(null=True)
    by_company = DomainsByCompanyIndex()
    # Sparse: ``"domain"`` while the domain is registered and not being removed (set by every
    # registration and takeover, removed when a removal starts); items written before the index
    # get it from ``ops domains index-registered`` (docs/operations.md).
    registered = UnicodeAttribute(null=True)
    registered_domains = RegisteredDomainsIndex()


class StatusDefinitionModel(BoundModel):
    class Meta(_Meta):
        table_name = "status-catalog"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    code = UnicodeAttribute(range_key=True)
    display_name = UnicodeAttribute()
    visibility = UnicodeAttribute()
    notify = BooleanAttribute()


class SenderAccountModel(BoundModel):
    class Meta(_Meta):
        table_name = "sender-accounts"

    company_id = UnicodeAttribute(hash_key=True)
    area = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    display_name = UnicodeAttribute()
    from_address = UnicodeAttribute()
    reply_to = UnicodeAttribute(null=True)
    smtp_host = UnicodeAttribute(null=True)
    smtp_port = NumberAttribute(null=True)
    encryption = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    password_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    password_set_at = UTCDateTimeAttribute(null=True)
    ses_identity = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    # C2: at most ``rate_limit_count`` messages per ``rate_limit_hours`` (both or neither).
    rate_limit_count = NumberAttribute(null=True)
    rate_limit_hours = NumberAttribute(null=True)
    # C5, personal accounts: the owner's address when saved, and the administrator who allowed another From.
    owner_address = UnicodeAttribute(null=True)
    from_allowed_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # The version of the settings people edit (store.tables.new_version); the password leaves it.
    # None before versions: 0.
    version = NumberAttribute(null=True)
    # The company's suspension, copied here (and on its SMS settings) by the operator's close: the
    # outbox reads the account anyway, so a suspended company's messages wait at no request more.
    suspended_at = UTCDateTimeAttribute(null=True)


class DueAlertsIndex(GlobalSecondaryIndex["AlertScheduleModel"]):
    class Meta:
        index_name = "due-alerts"
        projection = AllProjection()

    due_alert_type = UnicodeAttribute(hash_key=True)
    next_run_at = UnicodeAttribute(range_key=True)


class AlertScheduleModel(BoundModel):
    """One alert type of one company: the alert monitor's row (T9)."""

    class Meta(_Meta):
        table_name = "alert-schedules"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    alert_type = UnicodeAttribute(range_key=True)
    enabled = BooleanAttribute()
    frequency_minutes = NumberAttribute()
    # ISO-8601 UTC text so the sparse index can range over it.
    next_run_at = UnicodeAttribute(null=True)
    last_run_at = UTCDateTimeAttribute(null=True)
    sent_count = NumberAttribute(default=0)
    failed_count = NumberAttribute(default=0)
    # Set only while the alert is enabled with a frequency > 0: the sparse "due" index.
    due_alert_type = UnicodeAttribute(null=True)
    due_alerts = DueAlertsIndex()
    # Daily alert types (reminders): the company's local hour of the run.
    hour_of_day = NumberAttribute(null=True)


class NoveltySnapshot(MapAttribute[str, object]):
    novelty_id = UnicodeAttribute()
    status = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    branch = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    observation = UnicodeAttribute(null=True)


class PendingAlertsIndex(GlobalSecondaryIndex["ParcelModel"]):
    class Meta:
        index_name = "pending-alerts"
        projection = AllProjection()

    pending_company = UnicodeAttribute(hash_key=True)
    pending_since = UTCDateTimeAttribute(range_key=True)


class FollowUpsIndex(GlobalSecondaryIndex["ParcelModel"]):
    """Keys only (issue 14): with every attribute projected, each claim and each novelty of a
    followed parcel rewrote its entry; the listing reads its page's parcels by key."""

    class Meta:
        index_name = "follow-ups"
        projection = KeysOnlyProjection()

    followed_company = UnicodeAttribute(hash_key=True)
    followed_until = UTCDateTimeAttribute(range_key=True)


class ParcelsByClientIndex(GlobalSecondaryIndex["ParcelModel"]):
    """Sparse, keys only: the parcels of a client's shipments (``<company>#<client>``), for the
    client's erasure (decision 0017); nothing else reads it. Written when a parcel's client is
    set or changed, never by novelties, claims or followers (its key does not move)."""

    class Meta:
        index_name = "by-client"
        projection = KeysOnlyProjection()

    client_key = UnicodeAttribute(hash_key=True)


class ParcelModel(BoundModel):
    class Meta(_Meta):
        table_name = "parcels"

    parcel_key = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute()
    tracking_id = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)
    # Sparse: "<company>#<client>" while the parcel names a client (by_client).
    client_key = UnicodeAttribute(null=True)
    by_client = ParcelsByClientIndex()
    waybill_number = UnicodeAttribute(null=True)
    waybill_issued = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    # Optimistic-concurrency counter: every change to the pending novelty bumps it.
    version = NumberAttribute(default=0)
    # The newest notifiable novelty, whoever follows the parcel (a new follower is sent it).
    latest = NoveltySnapshot(null=True)
    # The newest notifiable novelty not yet alerted (what the next sweep sends).
    pending = NoveltySnapshot(null=True)
    notified_occurred_at = UTCDateTimeAttribute(null=True)
    last_alert_at = UTCDateTimeAttribute(null=True)
    # Sparse: set only while ``pending`` waits for a sweep.
    pending_company = UnicodeAttribute(null=True)
    pending_since = UTCDateTimeAttribute(null=True)
    pending_alerts = PendingAlertsIndex()
    # Legacy copy of the followers (they now live only in the subscriptions table, so no item
    # grows with the number of subscribers); removed by the next change to who follows.
    followers = MapAttribute[str, object](null=True)
    # Bumped by every change to who follows the parcel; a sweep's claim is conditioned on it.
    follow_version = NumberAttribute(null=True)
    # Sparse: set while someone follows the parcel (the latest subscription expiry).
    followed_company = UnicodeAttribute(null=True)
    followed_until = UTCDateTimeAttribute(null=True)
    follow_ups = FollowUpsIndex()


class NoveltyModel(BoundModel):
    class Meta(_Meta):
        table_name = "novelties"

    parcel_key = UnicodeAttribute(hash_key=True)
    event_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()
    received_at = UTCDateTimeAttribute()
    branch = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    observation = UnicodeAttribute(null=True)
    notified_at = UTCDateTimeAttribute(null=True)


class SubscriptionsByRecipientIndex(GlobalSecondaryIndex["SubscriptionModel"]):
    """Keys only: the subscriptions of an e-mail address (``<company>#<address, lower-cased>``),
    for the erasure of a client of that address (decision 0017); nothing else reads it. One index
    write when a subscription is made; renewals, confirmations and cancellations rewrite the item
    with the same key, which writes nothing to a keys-only index."""

    class Meta:
        index_name = "by-recipient"
        projection = KeysOnlyProjection()

    recipient_key = UnicodeAttribute(hash_key=True)


class SubscriptionModel(BoundModel):
    class Meta(_Meta):
        table_name = "subscriptions"

    parcel_key = UnicodeAttribute(hash_key=True)
    subscription_id = UnicodeAttribute(range_key=True)
    company_id = UnicodeAttribute()
    tracking_id = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    email = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    source = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    renewed_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    # DynamoDB deletes the item some time after this; reads never rely on it.
    expires = TTLAttribute()
    cancelled_at = UTCDateTimeAttribute(null=True)
    last_alert_at = UTCDateTimeAttribute(null=True)
    # Set on a public subscription until its address confirms (double opt-in).
    awaiting_confirmation = BooleanAttribute(null=True)
    # Random per subscription; signed into its links so they name this subscription only.
    link_nonce = UnicodeAttribute(null=True)
    # "<company>#<e-mail, lower-cased>" (by_recipient); absent on subscriptions made before it.
    recipient_key = UnicodeAttribute(null=True)
    by_recipient = SubscriptionsByRecipientIndex()


class RecipientIndex(GlobalSecondaryIndex["AlertModel"]):
    class Meta:
        index_name = "by-recipient"
        projection = AllProjection()

    recipient_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class AlertModel(BoundModel):
    """One tracking alert to one subscriber about one novelty. The key makes it exactly-once."""

    class Meta(_Meta):
        table_name = "alerts"

    parcel_key = UnicodeAttribute(hash_key=True)
    alert_id = UnicodeAttribute(range_key=True)
    company_id = UnicodeAttribute()
    tracking_id = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    recipient_email = UnicodeAttribute()
    recipient_key = UnicodeAttribute()
    novelty_id = UnicodeAttribute()
    status_code = UnicodeAttribute()
    state = UnicodeAttribute()
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    sent_at = UTCDateTimeAttribute(null=True)
    # The e-mail that delivers it (issue 14): its state, provider id, error and time are read from
    # that message when alerts are listed, not copied here by every outcome (alerts written before
    # carry the copy instead).
    communication_id = UnicodeAttribute(null=True)
    by_recipient = RecipientIndex()


class ClientContact(MapAttribute[str, object]):
    contact_id = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    wants_cargo_info = BooleanAttribute(default=False)
    receives_reminders = BooleanAttribute(null=True)


class ClientModel(BoundModel):
    """A client of a company, as its back office registers it, with its contact persons."""

    class Meta(_Meta):
        table_name = "clients"

    company_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    emails = ListAttribute(of=UnicodeAttribute, default=list)
    phones = ListAttribute(of=UnicodeAttribute, default=list)
    contacts = ListAttribute(of=ClientContact, default=list)
    message_switches = MapAttribute[str, bool](default=dict)
    preferred_agent = UnicodeAttribute(null=True)
    collection_agent = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # What the client owes, a decimal string pushed by the back office (I1's %deuda%).
    balance = UnicodeAttribute(null=True)
    # When the client unsubscribed from manual and bulk sends (their List-Unsubscribe link).
    manual_sends_off_at = UTCDateTimeAttribute(null=True)
    # Set once that unsubscribe's ``client.unsubscribed`` webhook event was queued: using the link
    # again tells the company's systems nothing more.
    manual_sends_off_told = BooleanAttribute(null=True)
    # The company's classification fields (zone, line of business, ...): field -> value (D2).
    classification = MapAttribute[str, str](null=True)
    # The version of the client as the console's card edits it (store.tables.fresh_version), set by
    # every write of the client; None on items written before versions: version 0.
    version = NumberAttribute(null=True)
    # Set by a save whose phone and address items did not fit in its transaction, until they are
    # written (store.clients._index_after): the ``p:<E.164>`` and ``e:<address>`` items to delete,
    # and every item of the client to write again if that stopped midway. None: all in step.
    index_pending = ListAttribute(of=UnicodeAttribute, null=True)
    # True once the client is counted under its preferred agent (PreferredAgentModel.clients):
    # every write that changes the agent moves the count in the same transaction and sets it;
    # absent on clients written before the counts, until ``ops clients count-agents`` counts them.
    agent_counted = BooleanAttribute(null=True)


class MessageTemplateModel(BoundModel):
    """A company's own template of one message type (or a custom one, ``custom:<slug>``), C4."""

    class Meta(_Meta):
        table_name = "message-templates"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    template_key = UnicodeAttribute(range_key=True)
    sender_area = UnicodeAttribute()
    subject = UnicodeAttribute()
    text = UnicodeAttribute()
    html = UnicodeAttribute()
    language = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()
    sms_text = UnicodeAttribute(null=True)
    push_title = UnicodeAttribute(null=True)
    push_body = UnicodeAttribute(null=True)


class InboundNumberIndex(GlobalSecondaryIndex["SmsSettingsModel"]):
    """Sparse: which company a two-way number (E.164) belongs to (I1, I2)."""

    class Meta:
        index_name = "by-inbound-number"
        projection = AllProjection()

    inbound_number = UnicodeAttribute(hash_key=True)


class CreditChecksIndex(GlobalSecondaryIndex["SmsSettingsModel"]):
    """Sparse: the companies whose SMS are on with a provider whose credit the daily check reads
    (``credit_watch`` is the provider, ``sms_masivos``): the check costs those, not every company."""

    class Meta:
        index_name = "credit-checks"
        projection = KeysOnlyProjection()

    credit_watch = UnicodeAttribute(hash_key=True)


class SmsSettingsModel(BoundModel):
    """A company's SMS service (C6): provider settings, the gateway password (KMS ciphertext) and
    the bulk-send password (scrypt hash). One item per company."""

    class Meta(_Meta):
        table_name = "sms-settings"

    company_id = UnicodeAttribute(hash_key=True)
    enabled = BooleanAttribute(default=False)
    provider = UnicodeAttribute(default="sns")
    sender_id = UnicodeAttribute(null=True)
    sms_type = UnicodeAttribute(default="Transactional")
    base_url = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    gateway_password_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    gateway_password_set_at = UTCDateTimeAttribute(null=True)
    # SMS Masivos: the company's user there and its password's KMS ciphertext.
    masivos_username = UnicodeAttribute(null=True)
    masivos_password_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    masivos_password_set_at = UTCDateTimeAttribute(null=True)
    default_region = UnicodeAttribute(default="AR")
    bulk_password_hash = UnicodeAttribute(null=True)
    bulk_password_set_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    # Two-way SMS: the company's own number clients write to, and the answer to HELP / AYUDA.
    inbound_number = UnicodeAttribute(null=True)
    help_text = UnicodeAttribute(null=True)
    by_inbound_number = InboundNumberIndex()
    # SMS Masivos: warn the administrators below this many SMS left (100 when unset).
    low_credit_threshold = NumberAttribute(null=True)
    # C2 (the administrators') and the SMS through Pregón's SNS a day (the operator's)
    rate_limit_count = NumberAttribute(null=True)
    rate_limit_hours = NumberAttribute(null=True)
    daily_allowance = NumberAttribute(null=True)
    # Sparse: the provider while the SMS are on with one whose credit is checked daily.
    credit_watch = UnicodeAttribute(null=True)
    credit_checks = CreditChecksIndex()
    # When the daily check last read the credit: the next run reads the longest unread first.
    credit_checked_at = UTCDateTimeAttribute(null=True)
    # The version of the settings an administrator edits (store.tables.new_version); the secrets,
    # the operator's assignments and the credit checks leave it. None before versions: 0.
    version = NumberAttribute(null=True)
    # The two-way numbers Pregón's operator gave the company (Pregón's AWS account holds them): the
    # only ones it may name as ``inbound_number``. Written by the operator's call alone.
    assigned_numbers = UnicodeSetAttribute(null=True)
    # The sender IDs the operator gave the company (SNS shows one as the SMS's sender): the only
    # ones it may name as ``sender_id``, and the only ones sent. Written by the operator's call alone.
    assigned_sender_ids = UnicodeSetAttribute(null=True)
    # The company's suspension, copied from its item (as on its sender accounts): its SMS wait.
    suspended_at = UTCDateTimeAttribute(null=True)


class SmsNumberClaimModel(BoundModel):
    """Which company holds a two-way SMS number: one item per number (E.164), written in the same
    transaction as the operator's assignment of the company's numbers, on condition that no other
    company holds it, and deleted in the one that takes the number back. So a number is one
    company's, even when two operators assign it to two companies at once (inbound SMS to a number
    two companies hold would reach neither)."""

    class Meta(_Meta):
        table_name = "sms-number-claims"

    number = UnicodeAttribute(hash_key=True)
    company_id = UnicodeAttribute()
    claimed_at = UTCDateTimeAttribute()


class AttachmentRef(MapAttribute[str, object]):
    name = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    key = UnicodeAttribute()
    delete_after_sending = BooleanAttribute(null=True)
    deleted_at = UTCDateTimeAttribute(null=True)
    omitted = UnicodeAttribute(null=True)
    added_by = UnicodeAttribute(null=True)


class RecordNoticeItem(MapAttribute[str, object]):
    """H2: colleagues told of a register record (``domain.RecordNotice``)."""

    at = UTCDateTimeAttribute()
    by = UnicodeAttribute()
    users = ListAttribute(of=UnicodeAttribute)


class ReadyIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """Sparse: only messages waiting in an outbox, oldest ``not_before`` first. Keys only: a
    drain reads the few items it claims, and no write of a message body is copied here."""

    class Meta:
        index_name = "ready"
        projection = KeysOnlyProjection()

    ready_outbox = UnicodeAttribute(hash_key=True)
    ready_at = UnicodeAttribute(range_key=True)


# What the listings filter on (``store.communications.listing_filter``): the history and the
# register indexes project only these small attributes (issue 14: an entry is well under 1 KB, so
# each write of it is 1 WRU; none of them changes when a message is sent or delivered, so those
# updates write nothing to ``by-client`` and ``by-channel``). A listing reads its page's items.
LISTING_ATTRIBUTES = [
    "kind",
    "channel",
    "direction",
    "client_id",
    "created_by",
    "record_type",
    "motive",
    "area",
    "private_to",
]
# What a sending domain's checks count per e-mail (``store.domains.email_outcomes_from``), in
# ``by-channel`` (the e-mails that left) and ``by-status`` (those that did not, and bounced).
# None of them changes when a message is sent.
OUTCOME_ATTRIBUTES = ["from_address", "message_type", "one_click_unsubscribe"]


class ByClientIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """A client's register, newest first; removing ``client_key`` takes a record out of it. A
    staff notice that names a client (``about_client``) is under ``<company>#<client>#about``,
    which only the client's erasure reads (a code has no ``#``)."""

    class Meta:
        index_name = "by-client"
        projection = IncludeProjection(LISTING_ATTRIBUTES)

    client_key = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute(range_key=True)


class ByChannelIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """The history of one channel (e-mail, SMS, push) of a company, newest first; its outgoing
    messages in a sent state are the history's ``sent`` group (see :class:`ByStatusIndex`)."""

    class Meta:
        index_name = "by-channel"
        projection = IncludeProjection(LISTING_ATTRIBUTES + OUTCOME_ATTRIBUTES)

    history_key = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute(range_key=True)


class ByStatusIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """Sparse: the history of one channel in one status group (``not_sent``, ``bounced``,
    ``received``), newest first. The ``sent`` group (sent, delivered) has no entries (issue 14:
    it was nearly the whole ``by-channel`` index again, and every send moved an entry into it);
    entries an older version put there are not read."""

    class Meta:
        index_name = "by-status"
        projection = IncludeProjection(LISTING_ATTRIBUTES + OUTCOME_ATTRIBUTES)

    status_key = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute(range_key=True)


class ByProviderMessageIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """Sparse: the provider's id of a sent message (SES message id, SNS id, SMTP Message-ID).
    Keys only (issue 14): a delivery notification reads the one item it finds, and no write of
    a message is copied here whole."""

    class Meta:
        index_name = "by-provider-message"
        projection = KeysOnlyProjection()

    provider_message_id = UnicodeAttribute(hash_key=True)


class ByRfcMessageIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """Sparse: the RFC 5322 Message-ID we wrote (threading replies by In-Reply-To/References).
    Keys only (issue 14): a reply reads the one item it finds; every outgoing e-mail is in this
    index from its enqueue on, so each write of it was copied here whole."""

    class Meta:
        index_name = "by-rfc-message"
        projection = KeysOnlyProjection()

    rfc_message_id = UnicodeAttribute(hash_key=True)


class UnassignedIndex(GlobalSecondaryIndex["CommunicationModel"]):
    """Sparse: inbound messages that matched no client yet, newest first."""

    class Meta:
        index_name = "unassigned"
        projection = IncludeProjection(["thread_owner"])

    unassigned_company = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute(range_key=True)


class CommunicationModel(BoundModel):
    """One communication with a client: a message in its outbox, sent or failed (the history),
    a message received, or a record staff wrote by hand (the register). One item each."""

    class Meta(_Meta):
        table_name = "communications"

    company_id = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute(range_key=True)
    direction = UnicodeAttribute()
    channel = UnicodeAttribute()
    kind = UnicodeAttribute()
    state = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute(null=True)  # absent while it is created_at (issue 14)
    message_type = UnicodeAttribute(null=True)
    client_id = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    outbox = UnicodeAttribute(null=True)
    sender_area = UnicodeAttribute(null=True)
    from_address = UnicodeAttribute(null=True)
    from_name = UnicodeAttribute(null=True)
    to_address = UnicodeAttribute(null=True)
    to_name = UnicodeAttribute(null=True)
    reply_to = UnicodeAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    html = UnicodeAttribute(null=True)
    body_key = UnicodeAttribute(null=True)
    # text and HTML together, zlib-compressed (issue 14): every write of the item, and each index
    # copy of it, is billed by size; ``text`` / ``html`` stay for items written before.
    body_z = BinaryAttribute(null=True, legacy_encoding=False)
    headers = MapAttribute[str, str](null=True)  # absent when empty
    # which headers are made again on reading ("ref": our References entry, "unsub": a manual
    # send's List-Unsubscribe pair; issue 14, store.communications)
    headers_from = UnicodeAttribute(null=True)
    attachments = ListAttribute(of=AttachmentRef, null=True)  # absent when empty
    attempts = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)
    not_before = UTCDateTimeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    cause = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)
    resend_of = UnicodeAttribute(null=True)
    in_reply_to = UnicodeAttribute(null=True)
    thread_id = UnicodeAttribute(null=True)
    alert_ref = UnicodeAttribute(null=True)
    alert_type = UnicodeAttribute(null=True)
    record_type = UnicodeAttribute(null=True)
    motive = UnicodeAttribute(null=True)
    area = UnicodeAttribute(null=True)
    initiated_by = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    thread_owner = UnicodeAttribute(null=True)  # received mail: who created the message it answers
    raw_key = UnicodeAttribute(null=True)
    flagged = UnicodeAttribute(null=True)  # received mail SES judged: "spam" or "virus"
    auto_submitted = UnicodeAttribute(null=True)  # received mail a machine sent: its kind
    # Set on an e-mail that carried RFC 8058's one-click List-Unsubscribe (its headers are not in
    # the ``by-channel`` index a sending domain's checks count on). Items written before issue 14's
    # lean indexes may still carry a ``search_text`` attribute: nothing reads it.
    one_click_unsubscribe = BooleanAttribute(null=True)
    resent_as = ListAttribute(of=UnicodeAttribute, null=True)  # H1: the resends of this message
    # Index keys (sparse where noted on the index).
    ready_outbox = UnicodeAttribute(null=True)
    ready_at = UnicodeAttribute(null=True)
    client_key = UnicodeAttribute(null=True)
    history_key = UnicodeAttribute(null=True)
    status_key = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    rfc_message_id = UnicodeAttribute(null=True)
    unassigned_company = UnicodeAttribute(null=True)
    mailbox_id = UnicodeAttribute(null=True)  # H3: logged from this staff mailbox
    private_to = UnicodeAttribute(null=True)  # H3: from a private mailbox: only its owner sees it
    notices = ListAttribute(of=RecordNoticeItem, null=True)  # H2: colleagues told of it; absent: none
    # A staff notice naming a client (H2): keyed ``<company>#<client>#about`` in ``by-client``
    about_client = UnicodeAttribute(null=True)
    ready = ReadyIndex()
    by_client = ByClientIndex()
    by_channel = ByChannelIndex()
    by_status = ByStatusIndex()
    by_provider_message = ByProviderMessageIndex()
    by_rfc_message = ByRfcMessageIndex()
    unassigned = UnassignedIndex()


class MessageKeysByClientIndex(GlobalSecondaryIndex["MessageKeyModel"]):
    """Sparse, keys only: the idempotency keys of a client's messages (``<company>#<client>``),
    for the client's erasure (decision 0017); nothing else reads it. A key names its client, its
    address or its device (``send:<request>:<client>:<device>``, ``mailbox:<hash>:<client>``):
    one index write per keyed message to or from a client, written once."""

    class Meta:
        index_name = "by-client"
        projection = KeysOnlyProjection()

    client_key = UnicodeAttribute(hash_key=True)


class MessageKeyModel(BoundModel):
    """Idempotency: one item per (company, cause, channel, recipient) ever enqueued."""

    class Meta(_Meta):
        table_name = "message-keys"

    key = UnicodeAttribute(hash_key=True)
    communication_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    # Sparse: "<company>#<client>" when the message is a client's (by_client; None before it).
    client_key = UnicodeAttribute(null=True)
    by_client = MessageKeysByClientIndex()


class WakeupsIndex(GlobalSecondaryIndex["OutboxModel"]):
    class Meta:
        index_name = "wakeups"
        projection = AllProjection()

    wake_shard = UnicodeAttribute(hash_key=True)
    wake_at = UnicodeAttribute(range_key=True)


class OutboxModel(BoundModel):
    """Per outbox: its wake-up time (sparse) while it has work; and, under ``<outbox>#rate``, the
    messages granted per minute over the last hours of its account's rate limit (JSON)."""

    class Meta(_Meta):
        table_name = "outboxes"

    company_id = UnicodeAttribute(hash_key=True)
    outbox_key = UnicodeAttribute(range_key=True)
    rate_grants = UnicodeAttribute(null=True)
    rate_version = NumberAttribute(null=True)
    # under a limit the operator sets per company (``ses-allowance#rate``): its count, when not the
    # deployment's default; kept on the item the reservation reads anyway (no read more per send)
    rate_limit = NumberAttribute(null=True)
    # under ``ses-allowance#rate`` (decision 0032): the company's hard bounces and complaints an hour
    # through Pregón's SES (JSON, the last 24 hours), their own version (drains' grants never wait
    # on them), and since when its e-mails there are paused for them
    feedback_counts = UnicodeAttribute(null=True)
    feedback_version = NumberAttribute(null=True)
    paused_at = UnicodeAttribute(null=True)
    work = UnicodeAttribute(null=True)  # under ``sendjob#<job>#<page>``: a page not expanded yet
    wake_shard = UnicodeAttribute(null=True)
    wake_at = UnicodeAttribute(null=True)
    expires = TTLAttribute(null=True)
    wakeups = WakeupsIndex()


class SuppressionModel(BoundModel):
    """An address (e-mail, lower-cased) or E.164 number no message may go to (Q5, STOP)."""

    class Meta(_Meta):
        table_name = "suppressions"

    company_id = UnicodeAttribute(hash_key=True)
    address = UnicodeAttribute(range_key=True)
    reason = UnicodeAttribute()
    detail = UnicodeAttribute(null=True)
    communication_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)  # the staff user who added it by hand


class JobsFromClientIndex(GlobalSecondaryIndex["SendJobModel"]):
    """Sparse, keys only: the send jobs whose selection starts at a client's code (a bulk
    statement's ``from_client``, ``<company>#<client>``), for the client's erasure (decision 0017)."""

    class Meta:
        index_name = "by-from-client"
        projection = KeysOnlyProjection()

    from_client_key = UnicodeAttribute(hash_key=True)


class JobsToClientIndex(GlobalSecondaryIndex["SendJobModel"]):
    """Sparse, keys only: the send jobs whose selection ends at a client's code (``to_client``)."""

    class Meta:
        index_name = "by-to-client"
        projection = KeysOnlyProjection()

    to_client_key = UnicodeAttribute(hash_key=True)


class SendJobModel(BoundModel):
    """A manual send to many clients (C8): its counters move as the outbox delivers."""

    class Meta(_Meta):
        table_name = "send-jobs"

    company_id = UnicodeAttribute(hash_key=True)
    job_id = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute()
    template_key = UnicodeAttribute()
    state = UnicodeAttribute()
    total = NumberAttribute(default=0)
    queued = NumberAttribute(default=0)
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    selection = UnicodeAttribute(null=True)
    # Fan-out bookkeeping: the pages of recipients expanded so far, and how many there are once
    # known (a list selection knows at once; a filter learns it on its last page).
    pages_done = NumberSetAttribute(null=True)
    pages_total = NumberAttribute(null=True)
    # Each page's bound, decided once (bulk statements, D2; a manual filter, C8), until counted:
    # the pages that have one, and ``<page>#<last client>`` (``<page>#`` for the last page).
    bounded_pages = NumberSetAttribute(null=True)
    page_bounds = UnicodeSetAttribute(null=True)
    # Skipped recipients by reason (bulk statements, D2), counted at expansion.
    skipped_no_email = NumberAttribute(null=True)
    skipped_no_movements = NumberAttribute(null=True)
    skipped_suppressed = NumberAttribute(null=True)
    failed_too_many_receivables = NumberAttribute(null=True)
    failed_no_number = NumberAttribute(null=True)
    failed_not_rendered = NumberAttribute(null=True)
    # Sparse: "<company>#<client>" of the client codes the selection names (a bulk statement's
    # range), written once with the job; the counters' updates never touch them.
    from_client_key = UnicodeAttribute(null=True)
    to_client_key = UnicodeAttribute(null=True)
    by_from_client = JobsFromClientIndex()
    by_to_client = JobsToClientIndex()


class PushSettingsModel(BoundModel):
    """A company's push settings (C7): its SNS platform application per platform."""

    class Meta(_Meta):
        table_name = "push-settings"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    fcm_application_arn = UnicodeAttribute(null=True)
    apns_application_arn = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()


class PushDeviceModel(BoundModel):
    """A client's device registered for push (C7): its SNS platform endpoint.
    ``device_key = "<client>#<device id>"`` so a client's devices are one key-prefix query."""

    class Meta(_Meta):
        table_name = "push-devices"

    company_id = UnicodeAttribute(hash_key=True)
    device_key = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    token = UnicodeAttribute()
    endpoint_arn = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class EventsByClientIndex(GlobalSecondaryIndex["BusinessEventModel"]):
    """Keys only: a client's business events (``<company>#<client>``), for the client's erasure
    (decision 0017); nothing else reads it. One index write per event, written once."""

    class Meta:
        index_name = "by-client"
        projection = KeysOnlyProjection()

    client_key = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)


class BusinessEventModel(BoundModel):
    """A back-office event that caused messages (C9, T10), once per (company, type, event id),
    with the answer given the first time: posting the event again answers the same."""

    class Meta(_Meta):
        table_name = "business-events"

    company_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # "<event type>#<event id>"
    client_id = UnicodeAttribute()
    outcome = UnicodeAttribute()  # JSON: the messages queued and the recipients skipped
    created_at = UTCDateTimeAttribute()
    client_key = UnicodeAttribute(null=True)  # "<company>#<client>": by_client (None before it)
    by_client = EventsByClientIndex()


class ClientPhoneModel(BoundModel):
    """Who a phone number (E.164) belongs to within a company: one item per (number, client),
    kept by ``store.clients.save_client`` (the client's phones and its contacts' phones)."""

    class Meta(_Meta):
        table_name = "client-phones"

    company_id = UnicodeAttribute(hash_key=True)
    phone_client = UnicodeAttribute(range_key=True)  # "<E.164>#<client id>"
    phone = UnicodeAttribute()
    client_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)


class SmsAutoRepliesModel(BoundModel):
    """A company's inbound SMS keyword rules (I1 balance, I2 tickets). One item per company."""

    class Meta(_Meta):
        table_name = "sms-auto-replies"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    balance_enabled = BooleanAttribute(default=False)
    balance_keywords = UnicodeAttribute(null=True)
    balance_template = UnicodeAttribute(null=True)
    ticket_enabled = BooleanAttribute(default=False)
    ticket_keywords = UnicodeAttribute(null=True)
    ticket_operator = UnicodeAttribute(null=True)
    ticket_category = UnicodeAttribute(null=True)
    ticket_max_per_day = NumberAttribute(default=3)
    ticket_template = UnicodeAttribute(null=True)
    ticket_limit_template = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute(null=True)


class TicketsByTimeIndex(GlobalSecondaryIndex["TicketModel"]):
    """A company's tickets by the time they were opened: the listing its systems poll."""

    class Meta:
        index_name = "by-time"
        projection = AllProjection()

    company_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketModel(BoundModel):
    """A support ticket (I2). Created from an inbound SMS, its id derives from that message."""

    class Meta(_Meta):
        table_name = "tickets"

    by_time = TicketsByTimeIndex()

    company_id = UnicodeAttribute(hash_key=True)
    ticket_id = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    operator = UnicodeAttribute(null=True)
    category = UnicodeAttribute(null=True)
    text = UnicodeAttribute()
    source = UnicodeAttribute()
    communication_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class TicketDayModel(BoundModel):
    """How many tickets a client opened on one day: ``<client>#<YYYY-MM-DD>``, moved only by a
    conditional write in the same transaction as the ticket (I2's "at most N per day")."""

    class Meta(_Meta):
        table_name = "ticket-days"

    company_id = UnicodeAttribute(hash_key=True)
    client_day = UnicodeAttribute(range_key=True)
    tickets = NumberAttribute(default=0)


class ClientAddressModel(BoundModel):
    """I3: which client (and which of its contacts) an e-mail address belongs to, one item per
    (company, lower-cased address, client); kept in step by ``store.clients.save_client``."""

    class Meta(_Meta):
        table_name = "client-addresses"

    company_address = UnicodeAttribute(hash_key=True)  # "<company>#<address>"
    client_id = UnicodeAttribute(range_key=True)
    contact_id = UnicodeAttribute(null=True)  # None: one of the client's own e-mails


class ClientSearchModel(BoundModel):
    """What finds a client by what a clerk remembers (``GET /clients?q=``), one item per (term,
    client), kept in the same transaction as the client by ``store.clients.save_client``. A term
    is ``w:<prefix>`` of a word of the name, ``c:<prefix>`` of the code (both folded: lower case,
    no accents, 2 to 8 characters), ``e:<address>`` or ``p:<E.164>``. The sort key starts with
    the folded name, so one Query of a term lists its clients in name order
    (docs/decisions/0020-finding-a-client.md)."""

    class Meta(_Meta):
        table_name = "client-search"

    company_term = UnicodeAttribute(hash_key=True)  # "<company>#<term>"
    name_client = UnicodeAttribute(range_key=True)  # "<folded name> #<client id>"
    client_id = UnicodeAttribute()
    words = UnicodeAttribute()  # " <folded words of the name> ", to check a query's other words


class RegisterLookupModel(BoundModel):
    """H1/H2 lookups of a company: the register's motives, areas and portal categories
    (``motive#<code>``, ``area#<code>``, ``category#<code>``, managed by admins), each user's saved
    history filters (``filter#<user>#<id>``, private to that user) and the files published to
    each client's document portal (``publication#<client>#<id>``: a client's are one Query)."""

    class Meta(_Meta):
        table_name = "register-lookups"

    company_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    data = UnicodeAttribute(null=True)  # JSON: a saved filter's criteria
    channel = UnicodeAttribute(null=True)  # the history a saved filter belongs to; none: every history
    # A motive's or an area's version (store.tables.new_version), set when it is added too, so one
    # deleted and added again under its code is not at a version an ETag read before names.
    version = NumberAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    # A client's publication (``publication#<client>#<id>``, store.publications): whether the
    # client sees it, and the categories it is filed under (none: absent); its file in ``data``.
    visible = BooleanAttribute(null=True)
    categories = UnicodeSetAttribute(null=True)


class PasswordAttemptModel(BoundModel):
    """Wrong guesses of a password that only gates an action (the bulk-send password): under
    ``<scope>#<window>`` the failures counted in one window, under ``<scope>#lock`` until when the
    scope (the company, or one user) is locked out. Items expire a day after their window."""

    class Meta(_Meta):
        table_name = "password-attempts"

    company_id = UnicodeAttribute(hash_key=True)
    counter_key = UnicodeAttribute(range_key=True)
    failures = NumberAttribute(null=True)
    locked_until = UTCDateTimeAttribute(null=True)
    expires = TTLAttribute(null=True)


class RateLimitModel(BoundModel):
    """One counter per (limit, key, time window), counted only by conditional updates: ``hits``,
    or ``members`` for a limit that counts each thing once (``store.rate_limits.hit_once``).
    ``released``: of a sender's held mail of a day, how many staff released (``store.inbound_flood``);
    a counter may also carry, for a while, ``counted#<digest>`` marks of the messages it counted."""

    class Meta(_Meta):
        table_name = "rate-limits"

    limit_key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(null=True)
    members = UnicodeSetAttribute(null=True)
    released = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)


# --- staff directory and client notes (U1, N1-N4; docs/decisions/0007-notes-and-staff.md) ------


class StaffByBranchIndex(GlobalSecondaryIndex["StaffUserModel"]):
    """The users of one branch (``<company>#<branch>``): whose notes a level-2 user sees."""

    class Meta:
        index_name = "by-branch"
        projection = AllProjection()

    branch_key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class StaffByDepartmentIndex(GlobalSecondaryIndex["StaffUserModel"]):
    """The users of one department (``<company>#<department>``): a level-3 user's authors."""

    class Meta:
        index_name = "by-department"
        projection = AllProjection()

    department_key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)


class StaffUserModel(BoundModel):
    """A staff user of a company (U1): the truth for level, branch, department, permissions."""

    class Meta(_Meta):
        table_name = "staff-users"

    company_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    level = NumberAttribute()
    branch = UnicodeAttribute(null=True)
    department = UnicodeAttribute(null=True)
    permissions = ListAttribute(of=UnicodeAttribute, null=True)
    active = BooleanAttribute(default=True)
    # How the user came, never changed after: "token", added from a JWT's claims at their first
    # sign-in; "directory", added by an administrator or the company's systems. (Before session 42
    # a change wrote "directory" over "token": such users read as added by the directory.)
    source = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    branch_key = UnicodeAttribute(null=True)
    department_key = UnicodeAttribute(null=True)
    by_branch = StaffByBranchIndex()
    by_department = StaffByDepartmentIndex()


class StaffUnitModel(BoundModel):
    """A company's branches (``branch#<code>``) and departments (``department#<code>``)."""

    class Meta(_Meta):
        table_name = "staff-units"

    company_id = UnicodeAttribute(hash_key=True)
    unit_key = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class NotesByClientIndex(GlobalSecondaryIndex["ClientNoteModel"]):
    """A client's notes, newest first (``<company>#<client>``)."""

    class Meta:
        index_name = "by-client"
        projection = AllProjection()

    client_key = UnicodeAttribute(hash_key=True)
    note_id = UnicodeAttribute(range_key=True)


class ClientNoteModel(BoundModel):
    """A note on a client (N1), kept under its author: the note's branch and department are the
    author's current ones, read from the directory, so moving a user rewrites no note."""

    class Meta(_Meta):
        table_name = "client-notes"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    author_key = UnicodeAttribute(hash_key=True)  # "<company>#<author>"
    note_id = UnicodeAttribute(range_key=True)  # time-sortable (milliseconds first)
    company_id = UnicodeAttribute()
    author = UnicodeAttribute()
    client_id = UnicodeAttribute()
    client_key = UnicodeAttribute()
    note = UnicodeAttribute()
    location = UnicodeAttribute(null=True)
    treatment = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    by_client = NotesByClientIndex()


class PreferredAgentModel(BoundModel):
    """How many of a company's clients have each preferred agent (N4's ``GET /preferred-agents``),
    kept by every write of a client in its own transaction (``store.preferred_agents``). The item
    ``#counted`` says every client of the company is counted (a new company's from its creation,
    an older one's from ``ops clients count-agents``)."""

    class Meta(_Meta):
        table_name = "preferred-agents"

    company_id = UnicodeAttribute(hash_key=True)
    agent = UnicodeAttribute(range_key=True)
    clients = NumberAttribute(default=0)


class AgentChangeModel(BoundModel):
    """A previewed (then applied) reassignment of preferred agents (N4): the token is its id."""

    class Meta(_Meta):
        table_name = "agent-changes"

    company_id = UnicodeAttribute(hash_key=True)
    change_id = UnicodeAttribute(range_key=True)
    moves = UnicodeAttribute()  # JSON: [{"from", "to", "clients"}]
    fingerprint = UnicodeAttribute()
    state = UnicodeAttribute()  # previewed | applying | done
    total = NumberAttribute(default=0)
    moved = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)
    pages_total = NumberAttribute(default=0)
    pages_done = NumberSetAttribute(null=True)
    # JSON: the first client id of each page, in order (a page is the clients from its start to
    # the next one's): what a resume of a stalled change sends again. Absent on older changes.
    page_starts = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    applied_by = UnicodeAttribute(null=True)
    applied_at = UTCDateTimeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


class MailboxSyncsIndex(GlobalSecondaryIndex["MailboxModel"]):
    class Meta:
        index_name = "mailbox-syncs"
        projection = KeysOnlyProjection()

    sync_shard = UnicodeAttribute(hash_key=True)
    next_sync_at = UnicodeAttribute(range_key=True)


class MailboxModel(BoundModel):
    """A staff IMAP mailbox for the register (H3): its server, the folders read and how far
    (``folder_state``, JSON: folder -> UIDVALIDITY and last UID), the monitor's figures, and the
    next scheduled sync (sparse index ``mailbox-syncs``)."""

    class Meta(_Meta):
        table_name = "mailboxes"

    company_id = UnicodeAttribute(hash_key=True)
    mailbox_id = UnicodeAttribute(range_key=True)
    owner = UnicodeAttribute()
    visibility = UnicodeAttribute()
    host = UnicodeAttribute()
    port = NumberAttribute()
    encryption = UnicodeAttribute()
    username = UnicodeAttribute()
    folders = ListAttribute(of=UnicodeAttribute)
    enabled = BooleanAttribute(default=True)
    password_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    auth = UnicodeAttribute(null=True)  # absent: "password" (mailboxes made before Microsoft 365)
    tenant_id = UnicodeAttribute(null=True)
    client_id = UnicodeAttribute(null=True)
    client_secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    service_account = UnicodeAttribute(null=True)
    service_account_key_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    folder_state = UnicodeAttribute(null=True)
    last_sync_at = UTCDateTimeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    logged_count = NumberAttribute(default=0)
    sync_lease_until = UnicodeAttribute(null=True)
    sync_shard = UnicodeAttribute(null=True)
    next_sync_at = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    syncs = MailboxSyncsIndex()
    # The version of the settings people change (store.tables.new_version); syncs, the monitor's
    # figures and the secrets leave it. None before versions: 0.
    version = NumberAttribute(null=True)


class RemindersDueIndex(GlobalSecondaryIndex["ReceivableModel"]):
    """Sparse: open receivables with a reminder still to send, by the company's day it is due
    (``remind_on``, ``YYYY-MM-DD``); the daily run reads only the days up to today (R3)."""

    class Meta:
        index_name = "reminders-due"
        projection = AllProjection()

    remind_company = UnicodeAttribute(hash_key=True)
    remind_on = UnicodeAttribute(range_key=True)


class OpenByClientIndex(GlobalSecondaryIndex["ReceivableModel"]):
    """Sparse: a client's open receivables (``<company>#<client>``), so a change of the client's
    reminder settings re-plans only them."""

    class Meta:
        index_name = "open-by-client"
        projection = AllProjection()

    open_client = UnicodeAttribute(hash_key=True)
    document_number = UnicodeAttribute(range_key=True)


class ClosedByClientIndex(GlobalSecondaryIndex["ReceivableModel"]):
    """Sparse, keys only: a client's paid and cancelled receivables (``<company>#<client>``), for
    the client's erasure (decision 0017); nothing else reads it. A receivable enters it once, when
    it closes: one index write then, none for the open ones."""

    class Meta:
        index_name = "closed-by-client"
        projection = KeysOnlyProjection()

    closed_client = UnicodeAttribute(hash_key=True)
    document_number = UnicodeAttribute(range_key=True)


class ReceivableModel(BoundModel):
    """A receivable the ERP pushed (R3), keyed by its document number within the company."""

    class Meta(_Meta):
        table_name = "receivables"

    company_id = UnicodeAttribute(hash_key=True)
    document_number = UnicodeAttribute(range_key=True)
    client_id = UnicodeAttribute()
    issued_on = UnicodeAttribute()
    due_on = UnicodeAttribute()
    amount = UnicodeAttribute()  # decimal text
    balance = UnicodeAttribute()
    currency = UnicodeAttribute()
    state = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = NumberAttribute(default=0)
    reminded = ListAttribute(of=UnicodeAttribute, null=True)
    remind_company = UnicodeAttribute(null=True)
    remind_on = UnicodeAttribute(null=True)
    open_client = UnicodeAttribute(null=True)
    closed_client = UnicodeAttribute(null=True)
    reminders_due = RemindersDueIndex()
    open_by_client = OpenByClientIndex()
    closed_by_client = ClosedByClientIndex()


class ReminderSentModel(BoundModel):
    """The "reminder sent" marker of (receivable, concept): written once, with a condition, in the
    transaction that puts the reminder's messages in the outbox."""

    class Meta(_Meta):
        table_name = "reminders-sent"

    company_id = UnicodeAttribute(hash_key=True)
    marker = UnicodeAttribute(range_key=True)  # "<document number>#<concept id>"
    client_id = UnicodeAttribute()
    day = UnicodeAttribute()  # the company's day it was sent on
    created_at = UTCDateTimeAttribute()


class ReminderSettingsModel(BoundModel):
    """A company's reminder concepts (``concept#<id>``, R1) and its clients' reminder settings
    (``client#<client id>``, R2)."""

    class Meta(_Meta):
        table_name = "reminder-settings"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    setting_key = UnicodeAttribute(range_key=True)
    updated_at = UTCDateTimeAttribute()
    # concept
    description = UnicodeAttribute(null=True)
    days = NumberAttribute(null=True)
    kind = UnicodeAttribute(null=True)
    # client
    active = BooleanAttribute(null=True)
    subject = UnicodeAttribute(null=True)
    send_to_contacts = BooleanAttribute(null=True)
    before_due_concept = UnicodeAttribute(null=True)
    after_due = BooleanAttribute(null=True)
    after_due_concept = UnicodeAttribute(null=True)
    reminder_body = UnicodeAttribute(null=True)
    after_due_body = UnicodeAttribute(null=True)
    sms = BooleanAttribute(null=True)
    reminder_sms = UnicodeAttribute(null=True)
    after_due_sms = UnicodeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)


class SupplierModel(BoundModel):
    """A supplier of a company (D1: purchase orders are e-mailed to it)."""

    class Meta(_Meta):
        table_name = "suppliers"

    # The version of what a person edits here, the ETag of its answers (store.tables.replace_versioned);
    # None on items written before versions: version 0.
    version = NumberAttribute(null=True)

    company_id = UnicodeAttribute(hash_key=True)
    supplier_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    emails = ListAttribute(of=UnicodeAttribute, default=list)
    updated_at = UTCDateTimeAttribute()


class DocumentSettingsModel(BoundModel):
    """A company's document settings (D1, D3): statement account and comment, deletion, logo."""

    class Meta(_Meta):
        table_name = "document-settings"

    company_id = UnicodeAttribute(hash_key=True)
    statement_area = UnicodeAttribute(null=True)
    statement_comment = UnicodeAttribute(null=True)
    delete_after_sending = MapAttribute[str, bool](default=dict)
    logo_key = UnicodeAttribute(null=True)
    logo_content_type = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    # Counts the writes: each is conditioned on the one it read (none on an item written before it)
    version = NumberAttribute(null=True)


class DocumentTemplateModel(BoundModel):
    """A company's own PDF template of one document type (order, purchase_order, statement)."""

    class Meta(_Meta):
        table_name = "document-templates"

    company_id = UnicodeAttribute(hash_key=True)
    document_type = UnicodeAttribute(range_key=True)
    source = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    updated_by = UnicodeAttribute()


class OpenMovementsModel(BoundModel):
    """A client's open movements as the back office last pushed them (bulk statements, D2)."""

    class Meta(_Meta):
        table_name = "open-movements"

    company_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)
    movements = UnicodeAttribute(null=True)  # JSON: [{"date", "document", "amount", ...}] (before)
    # the same JSON, zlib-compressed: 2,000 movements at their longest are about 1 MB of it,
    # more than DynamoDB's 400 KB item (store.documents.MAX_PACKED_MOVEMENTS)
    movements_z = BinaryAttribute(null=True, legacy_encoding=False)
    currency = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


class DocumentModel(BoundModel):
    """A generated document, once per (company, type, number): posting it again answers the first."""

    class Meta(_Meta):
        table_name = "documents"

    company_id = UnicodeAttribute(hash_key=True)
    document_key = UnicodeAttribute(range_key=True)  # "<type>#<number>"
    document_type = UnicodeAttribute()
    number = UnicodeAttribute()
    recipient_id = UnicodeAttribute()
    responsible = UnicodeAttribute(null=True)
    communication_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute()
    file_name = UnicodeAttribute()
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    content_digest = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)  # a bulk statement's job


class ClientErasureModel(BoundModel):
    """An erasure of a client (docs/privacy.md), keyed by a digest of the client's code: while it
    runs it names the client (``client_id``, what it queries by), once done only the digest. The
    counters say what went; ``pending_files`` are the S3 objects of items already deleted whose
    own deletion is still to be made (written in the transaction that deleted the items)."""

    class Meta(_Meta):
        table_name = "client-erasures"

    company_id = UnicodeAttribute(hash_key=True)
    erasure_key = UnicodeAttribute(range_key=True)  # sha256 of "<company>#<client>"
    job_id = UnicodeAttribute()
    client_id = UnicodeAttribute(null=True)  # removed when the erasure is done
    state = UnicodeAttribute()  # erasing | done
    phase = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    messages = NumberAttribute(default=0)
    records = NumberAttribute(default=0)
    notes = NumberAttribute(default=0)
    documents = NumberAttribute(default=0)
    files = NumberAttribute(default=0)
    other_items = NumberAttribute(default=0)
    suppressions_kept = NumberAttribute(default=0)
    pending_files = UnicodeSetAttribute(null=True)  # "<bucket>/<key>"


class WebhookEndpointModel(BoundModel):
    """A company's webhook endpoint (docs/webhooks.md): where Pregón posts the events it asks for.
    The signing secret is KMS-encrypted, bound to the company and the endpoint."""

    class Meta(_Meta):
        table_name = "webhook-endpoints"

    company_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute()
    events = ListAttribute(of=UnicodeAttribute)
    secret_ciphertext = BinaryAttribute(legacy_encoding=False)
    enabled = BooleanAttribute(default=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    updated_at = UTCDateTimeAttribute()
    secret_set_at = UTCDateTimeAttribute()
    # The secret a rotation replaced, which signs too until ``previous_secret_until`` (the overlap).
    previous_secret_ciphertext = BinaryAttribute(null=True, legacy_encoding=False)
    previous_secret_until = UTCDateTimeAttribute(null=True)
    failing_since = UTCDateTimeAttribute(null=True)  # the first failure since the last success
    disabled_at = UTCDateTimeAttribute(null=True)  # by Pregón, after a day of failures
    disabled_reason = UnicodeAttribute(null=True)
    # The version of what an administrator edits (URL, events, on/off: store.tables.new_version);
    # a new secret, a failure or Pregón turning it off leave it. None before versions: 0.
    version = NumberAttribute(null=True)
    # The company's suspension (CompanyModel.suspended_at), copied here: the delivery reads the
    # endpoint anyway, so a suspended company's events are held at no request more (decision 0033).
    suspended_at = UTCDateTimeAttribute(null=True)


class WebhookDeliveryModel(BoundModel):
    """One attempt to deliver one event to one endpoint (the delivery log), kept 30 days."""

    class Meta(_Meta):
        table_name = "webhook-deliveries"

    endpoint_key = UnicodeAttribute(hash_key=True)  # "<company>#<endpoint>"
    delivery_key = UnicodeAttribute(range_key=True)  # "<attempted at, ISO>#<event id>#<attempt>"
    event_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    attempt = NumberAttribute()
    attempted_at = UTCDateTimeAttribute()
    status_code = NumberAttribute(null=True)
    outcome = UnicodeAttribute()  # delivered | retrying | failed | refused | gave-up | held | released
    error = UnicodeAttribute(null=True)
    expires = TTLAttribute()
    # A delivery held while its company is suspended (outcome ``held``): the queue's message as it
    # came (JSON: ids and times only), queued again when the company is reopened.
    held_job = UnicodeAttribute(null=True)


class HistoryExportModel(BoundModel):
    """A history's Excel export built in the background (H1): its criteria, state, progress and
    file; gone by TTL once its file has expired (``expires``)."""

    class Meta(_Meta):
        table_name = "history-exports"

    company_id = UnicodeAttribute(hash_key=True)
    export_id = UnicodeAttribute(range_key=True)
    channel = UnicodeAttribute()
    criteria = UnicodeAttribute()  # JSON: the history's query parameters
    created_by = UnicodeAttribute()
    creator_level = NumberAttribute()
    creator_branch = UnicodeAttribute(null=True)
    creator_department = UnicodeAttribute(null=True)
    state = UnicodeAttribute()  # queued | running | done | failed
    rows = NumberAttribute(default=0)
    attempt = NumberAttribute(default=0)
    file_key = UnicodeAttribute(null=True)
    file_name = UnicodeAttribute(null=True)
    file_size = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    # an access report built in parts (records.access): the S3 key of its last part's progress
    progress = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires = TTLAttribute()


ALL_MODELS: tuple[type[Model], ...] = (
    CompanyModel,
    ApiKeyModel,
    SenderDomainModel,
    StatusDefinitionModel,
    SenderAccountModel,
    AlertScheduleModel,
    ParcelModel,
    NoveltyModel,
    SubscriptionModel,
    AlertModel,
    ClientModel,
    MessageTemplateModel,
    SmsSettingsModel,
    SmsNumberClaimModel,
    CommunicationModel,
    MessageKeyModel,
    OutboxModel,
    SuppressionModel,
    SendJobModel,
    BusinessEventModel,
    ClientPhoneModel,
    SmsAutoRepliesModel,
    TicketModel,
    TicketDayModel,
    ClientAddressModel,
    ClientSearchModel,
    PushSettingsModel,
    PushDeviceModel,
    RegisterLookupModel,
    PasswordAttemptModel,
    RateLimitModel,
    StaffUserModel,
    StaffUnitModel,
    ClientNoteModel,
    AgentChangeModel,
    PreferredAgentModel,
    MailboxModel,
    ReceivableModel,
    ReminderSentModel,
    ReminderSettingsModel,
    SupplierModel,
    DocumentSettingsModel,
    DocumentTemplateModel,
    OpenMovementsModel,
    DocumentModel,
    ClientErasureModel,
    WebhookEndpointModel,
    WebhookDeliveryModel,
    HistoryExportModel,
)
