"""Companies and their configuration: API keys, status catalog, sender accounts, alert schedules."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.core.localization import default_locale
from chalicelib.store.fields import item_from, record_from, set_or_remove
from chalicelib.store.models import (
    AlertScheduleModel,
    ApiKeyModel,
    CompanyModel,
    SenderAccountModel,
    SenderDomainModel,
    StatusDefinitionModel,
)
from chalicelib.store.tables import (
    connection,
    new_version,
    replace_versioned,
    transacted,
    version_held,
    written,
)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


# --- companies -----------------------------------------------------------------------------


def _company(item: CompanyModel) -> domain.Company:
    return record_from(
        item,
        domain.Company,
        ask_tracking_contacts=bool(item.ask_tracking_contacts),
        sms_on_automatic_payments=bool(item.sms_on_automatic_payments),
        sms_on_manual_payments=bool(item.sms_on_manual_payments),
        country=item.country or "AR",
        time_zone=item.time_zone or "UTC",
        locale=item.locale or default_locale(item.language, item.country),
        logo_width=int(item.logo_width) if item.logo_width else None,
        logo_height=int(item.logo_height) if item.logo_height else None,
        settings_version=int(item.settings_version or 0),
        branding_version=int(item.branding_version or 0),
    )


def get_company(company_id: str, *, consistent: bool = False) -> domain.Company | None:
    try:
        return _company(CompanyModel.get(company_id, consistent_read=consistent))
    except DoesNotExist:
        return None


def in_service(company_id: str) -> bool:
    """Whether the company exists and is neither suspended nor deleted (one read of three
    attributes; docs/decisions/0033-a-company-leaves.md)."""
    try:
        item = CompanyModel.get(company_id, attributes_to_get=["company_id", "suspended_at", "deleted_at"])
    except DoesNotExist:
        return False
    return item.suspended_at is None and item.deleted_at is None


def colleague_handle_key(company_id: str) -> str | None:
    """The company's own random key for colleague handles (U1), made and kept the first time it
    is asked for (two asking at once get the same one: it is set only where there is none);
    None when there is no such company. It is never shown: no domain record carries it."""
    try:
        stored = CompanyModel.get(company_id, attributes_to_get=["company_id", "colleague_handle_key"])
    except DoesNotExist:
        return None
    if stored.colleague_handle_key:
        return stored.colleague_handle_key
    item = CompanyModel(company_id)
    made = secrets.token_urlsafe(32)
    action = CompanyModel.colleague_handle_key.set(CompanyModel.colleague_handle_key | made)
    if not written(lambda: item.update(actions=[action], condition=CompanyModel.company_id.exists())):
        return None
    return item.colleague_handle_key


def company_and_erasing(company_id: str) -> tuple[domain.Company | None, frozenset[str]]:
    """The company (None: there is none) and the digests of the clients it is erasing now
    (:func:`chalicelib.store.erasures.erasure_key`; empty for almost every company), in one
    strongly consistent read of its item: a send's page reads the company for its variables
    anyway, and skips those clients at no request more."""
    try:
        item = CompanyModel.get(company_id, consistent_read=True)
    except DoesNotExist:
        return None, frozenset()
    return _company(item), frozenset(item.erasing or ())


LISTED = "company"  # the one partition of the companies' listing index


def list_companies(after: str | None = None, limit: int = 100) -> tuple[list[domain.Company], str | None]:
    """Companies in id order, one page (a Query of the small listing index, then one batch read);
    the second value is the id to continue after, or None on the page holding the last company
    (the Query reads one entry past the page to know: no empty page follows)."""
    page = CompanyModel.listing.query(
        LISTED,
        CompanyModel.company_id > after if after else None,
        limit=limit + 1,
    )
    ids = [item.company_id for item in page]
    more = len(ids) > limit
    ids = ids[:limit]
    found = {item.company_id: _company(item) for item in CompanyModel.batch_get(ids)} if ids else {}
    return [found[i] for i in ids if i in found], (ids[-1] if more and ids else None)


def index_listing() -> int:
    """Give the companies stored before the ``listing`` index their entry in it (an operator's
    one-off after the upgrade: a Scan of ``companies``, each item once), on condition the company
    still exists and has none yet; run again, it finds nothing to do. Returns how many it listed."""
    listed = 0
    for item in CompanyModel.scan(CompanyModel.listed.does_not_exist(), attributes_to_get=["company_id"]):
        listed += _join_listing(item.company_id)
    return listed


def _join_listing(company_id: str) -> bool:
    """The company joins the listing index, while it exists and is not in it yet."""
    return written(
        lambda: CompanyModel(company_id).update(
            actions=[CompanyModel.listed.set(LISTED)],
            condition=CompanyModel.company_id.exists() & CompanyModel.listed.does_not_exist(),
        )
    )


def create_company(
    company: domain.Company,
    catalog: Iterable[domain.StatusDefinition],
    schedules: Iterable[domain.AlertSchedule],
) -> bool:
    """Create a company with its catalog and schedules in one transaction; False if it exists."""
    from chalicelib.store.preferred_agents import counted_mark

    # The payment SMS switches stay unset (read as off) until the company turns them on.
    payment_sms = ("sms_on_automatic_payments", "sms_on_manual_payments")
    item = item_from(CompanyModel, company, leave_out=payment_sms, listed=LISTED)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=CompanyModel.company_id.does_not_exist())
            for status in catalog:
                tx.save(_status_item(company.company_id, status))
            for schedule in schedules:
                tx.save(_schedule_item(schedule))
            # no client yet, so every one is counted under its preferred agent from the start
            tx.save(counted_mark(company.company_id))
    except TransactWriteError as exc:
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons or []):
            return False  # the company exists already
        raise
    return True


def update_company(
    company_id: str, expected: tuple[int, ...] | None = None, **settings: str | bool | None
) -> bool:
    """Set the company's ``settings``, each on the attribute of its name (None leaves one as it
    is), as the settings' next version; False (nothing written) when they are no longer at a
    version ``expected`` names (``If-Match``)."""
    actions = [
        getattr(CompanyModel, name).set(value) for name, value in settings.items() if value is not None
    ]
    if not actions and expected is None:
        return True
    actions.append(CompanyModel.listed.set(LISTED))  # a company from before the listing index
    actions.append(new_version(CompanyModel, CompanyModel.settings_version))
    condition = CompanyModel.company_id.exists()
    held = version_held(CompanyModel, expected, CompanyModel.settings_version)
    if held is not None:
        condition = condition & held
    return written(lambda: CompanyModel(company_id).update(actions=actions, condition=condition))


BRANDING = (
    "logo_url",
    "logo_file",
    "logo_width",
    "logo_height",
    "primary_color",
    "accent_color",
    "tracking_page_url",
    "postal_address",
)


def save_branding(company: domain.Company, expected: tuple[int, ...] | None = None) -> int | None:
    """Write the company's branding fields (W3) as they are on ``company`` (None removes one) as
    the branding's next version (the version written); None (nothing written) when it is no
    longer at a version ``expected`` names (``If-Match``)."""
    actions = set_or_remove(CompanyModel, company, BRANDING)
    actions.append(new_version(CompanyModel, CompanyModel.branding_version))
    condition = CompanyModel.company_id.exists()
    held = version_held(CompanyModel, expected, CompanyModel.branding_version)
    if held is not None:
        condition = condition & held
    item = CompanyModel(company.company_id)
    if not written(lambda: item.update(actions=actions, condition=condition)):
        return None
    return int(item.branding_version)


# --- API keys ------------------------------------------------------------------------------


def _new_key_item(key: domain.ApiKey) -> ApiKeyModel:
    return item_from(ApiKeyModel, key, scopes=list(key.scopes))


def save_api_key(key: domain.ApiKey) -> bool:
    """Store a new key while its company exists, checked in the same transaction (one request,
    and no key for a company removed between a read and the write); False: no such company."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.condition_check(CompanyModel, key.company_id, condition=CompanyModel.company_id.exists())
            tx.save(_new_key_item(key), condition=ApiKeyModel.key_id.does_not_exist())
    except TransactWriteError as exc:
        [company, *_] = exc.cancellation_reasons or [None]
        if company is not None and company.code == "ConditionalCheckFailed":
            return False
        raise
    return True


def _api_key(item: ApiKeyModel) -> domain.ApiKey:
    return record_from(item, domain.ApiKey, scopes=tuple(str(s) for s in (item.scopes or [])))


def get_api_key(key_id: str) -> domain.ApiKey | None:
    try:
        return _api_key(ApiKeyModel.get(key_id))
    except DoesNotExist:
        return None


def list_api_keys(company_id: str) -> list[domain.ApiKey]:
    """A company's keys, revoked and expired ones too (a Query of the by-company index)."""
    return [_api_key(item) for item in ApiKeyModel.by_company.query(company_id)]


def revoke_api_key(company_id: str, key_id: str, at: datetime) -> bool:
    """Mark the company's key revoked; False when it has no such key or it was revoked already."""
    return written(
        lambda: ApiKeyModel(key_id).update(
            actions=[ApiKeyModel.revoked_at.set(at)],
            condition=(ApiKeyModel.company_id == company_id) & ApiKeyModel.revoked_at.does_not_exist(),
        )
    )


def rotate_api_key(old: domain.ApiKey, new: domain.ApiKey, old_expires_at: datetime) -> bool:
    """Save ``new`` and give ``old`` its end of overlap, in one transaction; False when ``old`` was
    revoked or rotated meanwhile (nothing is written then)."""
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                ApiKeyModel(old.key_id),
                actions=[
                    ApiKeyModel.expires_at.set(old_expires_at),
                    ApiKeyModel.replaced_by.set(new.key_id),
                ],
                condition=(ApiKeyModel.company_id == old.company_id)
                & ApiKeyModel.revoked_at.does_not_exist()
                & ApiKeyModel.replaced_by.does_not_exist(),
            )
            tx.save(_new_key_item(new), condition=ApiKeyModel.key_id.does_not_exist())
    except TransactWriteError as exc:
        if any(r is not None and r.code == "ConditionalCheckFailed" for r in exc.cancellation_reasons or []):
            return False
        raise
    return True


def mark_api_key_used(key_id: str, at: datetime, every: timedelta) -> bool:
    """Note that the key was used at ``at`` unless that was noted less than ``every`` ago (one
    conditional write at most every ``every`` per key; a refused condition costs nothing more)."""
    return written(
        lambda: ApiKeyModel(key_id).update(
            actions=[ApiKeyModel.last_used_at.set(at)],
            condition=ApiKeyModel.key_id.exists()
            & (ApiKeyModel.last_used_at.does_not_exist() | (ApiKeyModel.last_used_at <= at - every)),
        )
    )


# --- status catalog ------------------------------------------------------------------------


def _status_item(company_id: str, status: domain.StatusDefinition) -> StatusDefinitionModel:
    return item_from(StatusDefinitionModel, status, company_id=company_id)


def list_statuses(company_id: str) -> list[domain.StatusDefinition]:
    return [
        record_from(item, domain.StatusDefinition, notify=bool(item.notify), version=int(item.version or 0))
        for item in StatusDefinitionModel.query(company_id)
    ]


def save_status(
    company_id: str, status: domain.StatusDefinition, expected: tuple[int, ...] | None = None
) -> int | None:
    """Create or replace a status as its next version (the version written); None (nothing
    written) when it is no longer at a version ``expected`` names (``If-Match``)."""
    item = _status_item(company_id, status)
    return int(item.version) if replace_versioned(item, expected) else None


# --- sender accounts -----------------------------------------------------------------------


# What saving an account writes (an unset one is removed); the password has calls of its own.
_ACCOUNT_SETTINGS = (
    "kind",
    "display_name",
    "from_address",
    "enabled",
    "updated_at",
    "reply_to",
    "smtp_host",
    "smtp_port",
    "encryption",
    "username",
    "ses_identity",
    "rate_limit_count",
    "rate_limit_hours",
    "owner_address",
    "from_allowed_by",
)


def _sender(item: SenderAccountModel) -> domain.SenderAccount:
    numbers = {
        name: None if getattr(item, name) is None else int(getattr(item, name))
        for name in ("smtp_port", "rate_limit_count", "rate_limit_hours")
    }
    version = int(item.version or 0)
    return record_from(item, domain.SenderAccount, enabled=bool(item.enabled), version=version, **numbers)


def list_sender_accounts(company_id: str, *, consistent: bool = False) -> list[domain.SenderAccount]:
    return [_sender(item) for item in SenderAccountModel.query(company_id, consistent_read=consistent)]


def sender_of_item(item: SenderAccountModel) -> domain.SenderAccount:
    """A sender account item read elsewhere in the store (``store.outbox.sender_account_with_rate``)."""
    return _sender(item)


def get_sender_accounts(company_id: str, areas: Iterable[str]) -> dict[str, domain.SenderAccount]:
    keys = [(company_id, area) for area in areas]
    return {item.area: _sender(item) for item in SenderAccountModel.batch_get(keys)}


def save_sender_account(
    account: domain.SenderAccount,
    *,
    clear_password: bool = False,
    sending_domain: str | None = None,
    expected: tuple[int, ...] | None = None,
) -> domain.SenderAccount | None:
    """Write an account's settings, keeping a password that was set before unless
    ``clear_password`` (its destination changed); the account as saved. An SES account names its
    ``sending_domain``:
    it is written only while that domain is the company's and no removal of it has begun, and the
    same transaction moves the domain's accounts' version, so a removal that checked the accounts
    before this write does not go on (``store.domains.start_removal``). None when the domain
    stopped being the company's or is being removed: nothing written. The account is written as
    its next version (a fresh one when it is created again after a delete); with ``expected``
    (the versions an ``If-Match`` names) only while it is still at one: None otherwise.

    The account saved is the write's own answer (UpdateItem's new image), not a read after it:
    one request, and never a read that has not seen the write yet. A transaction answers with no
    item, so the SES account is read after it, strongly consistent."""
    password = ("password_ciphertext", "password_set_at") if clear_password else ()
    actions = set_or_remove(SenderAccountModel, account, _ACCOUNT_SETTINGS, remove=password)
    actions.append(new_version(SenderAccountModel))
    held = version_held(SenderAccountModel, expected)
    item = SenderAccountModel(account.company_id, account.area)
    if sending_domain is None:
        return _sender(item) if written(lambda: item.update(actions=actions, condition=held)) else None

    def write(tx: TransactWrite) -> None:
        tx.update(
            SenderDomainModel(sending_domain),
            actions=[SenderDomainModel.accounts_version.add(1)],
            condition=(SenderDomainModel.company_id == account.company_id)
            & SenderDomainModel.removing_since.does_not_exist(),
        )
        tx.update(item, actions=actions, condition=held)

    if not transacted(write):
        return None
    return _sender(SenderAccountModel.get(account.company_id, account.area, consistent_read=True))


def set_sender_password(company_id: str, area: str, ciphertext: bytes, at: datetime) -> bool:
    """Store an encrypted password on an existing account; False if there is no account."""
    return written(
        lambda: SenderAccountModel(company_id, area).update(
            actions=[
                SenderAccountModel.password_ciphertext.set(ciphertext),
                SenderAccountModel.password_set_at.set(at),
            ],
            condition=SenderAccountModel.area.exists(),
        )
    )


def delete_sender_account(company_id: str, area: str) -> None:
    SenderAccountModel(company_id, area).delete()


# --- alert schedules (the alert monitor) ---------------------------------------------------


def _schedule_item(schedule: domain.AlertSchedule) -> AlertScheduleModel:
    due = schedule.enabled and schedule.frequency_minutes > 0
    return item_from(
        AlertScheduleModel,
        schedule,
        next_run_at=_iso(schedule.next_run_at) if schedule.next_run_at and due else None,
        due_alert_type=schedule.alert_type if due else None,
    )


def _schedule(item: AlertScheduleModel) -> domain.AlertSchedule:
    return record_from(
        item,
        domain.AlertSchedule,
        enabled=bool(item.enabled),
        # A row only counters created (outcomes of a type never configured) has no frequency.
        frequency_minutes=int(item.frequency_minutes or 0),
        next_run_at=_parse_iso(item.next_run_at),
        sent_count=int(item.sent_count or 0),
        failed_count=int(item.failed_count or 0),
        hour_of_day=int(item.hour_of_day) if item.hour_of_day is not None else None,
        version=int(item.version or 0),
    )


def list_alert_schedules(company_id: str) -> list[domain.AlertSchedule]:
    return [_schedule(item) for item in AlertScheduleModel.query(company_id)]


def get_alert_schedule(company_id: str, alert_type: str) -> domain.AlertSchedule | None:
    try:
        return _schedule(AlertScheduleModel.get(company_id, alert_type))
    except DoesNotExist:
        return None


def configure_alert_schedule(
    company_id: str,
    alert_type: str,
    *,
    enabled: bool,
    frequency_minutes: int,
    next_run_at: datetime,
    hour_of_day: int | None = None,
    expected: tuple[int, ...] | None = None,
) -> domain.AlertSchedule | None:
    """Set enabled/frequency as the schedule's next version; the schedule joins the sparse due
    index only when it can run. None (nothing written) when it is no longer at a version
    ``expected`` names (``If-Match``). A run's times and counts are not what a person edits: they
    leave the version as it is."""
    item = AlertScheduleModel(company_id, alert_type)
    due = enabled and frequency_minutes > 0
    actions: list[Any] = [
        AlertScheduleModel.enabled.set(enabled),
        AlertScheduleModel.frequency_minutes.set(frequency_minutes),
    ]
    if hour_of_day is not None:
        actions.append(AlertScheduleModel.hour_of_day.set(hour_of_day))
    actions += _due(alert_type, next_run_at if due else None)
    actions.append(new_version(AlertScheduleModel))
    condition = version_held(AlertScheduleModel, expected)
    if not written(lambda: item.update(actions=actions, condition=condition)):
        return None
    return _schedule(item)


def _due(alert_type: str, next_run_at: datetime | None) -> list[Any]:
    """Update actions putting the schedule in the sparse due index at ``next_run_at`` (None takes
    it out: it cannot run)."""
    if next_run_at is None:
        return [AlertScheduleModel.due_alert_type.remove(), AlertScheduleModel.next_run_at.remove()]
    return [
        AlertScheduleModel.due_alert_type.set(alert_type),
        AlertScheduleModel.next_run_at.set(_iso(next_run_at)),
    ]


# The schedule ticks every minute but never exactly on the planned instant; a run planned
# a few seconds after a tick would otherwise wait for the next tick and drift a whole minute.
SCHEDULE_SLACK = timedelta(seconds=30)


def due_alert_schedules(alert_type: str, now: datetime) -> list[domain.AlertSchedule]:
    """Schedules of ``alert_type`` due by ``now`` (within the tick slack), from the sparse index."""
    return [
        _schedule(item)
        for item in AlertScheduleModel.due_alerts.query(
            alert_type, AlertScheduleModel.next_run_at <= _iso(now + SCHEDULE_SLACK)
        )
    ]


def claim_alert_run(
    schedule: domain.AlertSchedule, now: datetime, next_run: datetime | None = None, *, ran: bool = True
) -> bool:
    """Move a due schedule's next run forward (to ``next_run``, else by its frequency); only one
    of several concurrent callers wins. ``ran=False``: the run is only moved (the company's clock
    changed), no run is noted."""
    assert schedule.next_run_at is not None
    due = _iso(schedule.next_run_at)
    next_run = next_run or now + timedelta(minutes=schedule.frequency_minutes)
    return written(
        lambda: AlertScheduleModel(schedule.company_id, schedule.alert_type).update(
            actions=[
                AlertScheduleModel.next_run_at.set(_iso(next_run)),
                *([AlertScheduleModel.last_run_at.set(now)] if ran else []),
            ],
            condition=(AlertScheduleModel.next_run_at == due)
            & (AlertScheduleModel.due_alert_type == schedule.alert_type),
        )
    )


def count_alert_results(company_id: str, alert_type: str, *, sent: int, failed: int) -> None:
    if not sent and not failed:
        return
    AlertScheduleModel(company_id, alert_type).update(
        actions=[AlertScheduleModel.sent_count.add(sent), AlertScheduleModel.failed_count.add(failed)]
    )
