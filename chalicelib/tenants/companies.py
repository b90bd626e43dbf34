"""Create companies and their integration API keys (O1, O2). The operator command
(``infrastructure/ops.py``) and the operator API (``api/operators.py``) both call these; every
change is logged with who made it, never with a secret."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from chalicelib.core import clock
from chalicelib.core.domain import API_KEY_SCOPES, AlertSchedule, ApiKey, Company
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.localization import default_locale, is_locale, is_time_zone
from chalicelib.core.observability import logger
from chalicelib.store import companies as store
from chalicelib.tenants.auth.api_keys import new_api_key
from chalicelib.tenants.defaults import ALERT_TYPES, DAILY_ALERT_TYPES, DEFAULT_HOUR, DEFAULT_STATUS_CATALOG

DEFAULT_PHONE_REGION = "AR"  # the country of a company created without one

COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
SCOPES = API_KEY_SCOPES


def create_company(
    company_id: str,
    name: str,
    language: str = "es",
    *,
    country: str = DEFAULT_PHONE_REGION,
    time_zone: str = "UTC",
    locale: str | None = None,
    ask_tracking_contacts: bool = False,
    by: str = "system",
) -> bool:
    """Create a company with the default status catalog and its alert types switched off.

    Returns False when the company exists already (nothing is changed then).
    """
    if not COMPANY_ID.match(company_id):
        raise ValidationFailed(
            [{"field": "company_id", "message": "use 2-40 lowercase letters, digits or dashes"}]
        )
    _check_region(country=country, time_zone=time_zone, locale=locale)
    now = clock.now()
    company = Company(
        company_id,
        name,
        language,
        ask_tracking_contacts=ask_tracking_contacts,
        created_at=now,
        country=country.upper(),
        time_zone=time_zone,
        locale=locale or default_locale(language, country),
    )
    if not name.strip() or len(name) > 200:
        raise ValidationFailed(
            [{"field": "name", "message": "give the company's name (at most 200 characters)"}]
        )
    hours = {t: DEFAULT_HOUR for t in DAILY_ALERT_TYPES}
    schedules = [AlertSchedule(company_id, t, False, 0, None, None, 0, 0, hours.get(t)) for t in ALERT_TYPES]
    created = store.create_company(company, DEFAULT_STATUS_CATALOG, schedules)
    logger().info(
        "company created" if created else "company exists already",
        extra={"company_id": company_id, "by": by, "time_zone": time_zone, "locale": company.locale},
    )
    return created


def list_companies(after: str | None = None, limit: int = 100) -> tuple[list[Company], str | None]:
    """Companies in id order, a page at a time: the page and the id to continue after (or None)."""
    return store.list_companies(after, limit)


def index_listing() -> int:
    """Once after the upgrade that brought the companies' listing (``ops company index-listing``):
    the companies stored before it join it, so listings and every-company runs find them. Safe to
    run again. Returns how many joined."""
    return store.index_listing()


def find_company(company_id: str) -> Company | None:
    """The company, or None. What is not a company id (a stranger's URL: public pages take the
    company from the path) is not looked up: it names no company, and DynamoDB would refuse a key
    that long (over 2,048 bytes) with an error instead of a 404."""
    if not COMPANY_ID.match(company_id):
        return None
    return store.get_company(company_id)


def company_exists(company_id: str) -> bool:
    """Whether the company was created (a staff token or key for any other is refused)."""
    return find_company(company_id) is not None


def company_in_service(company_id: str) -> bool:
    """Whether the company exists and is neither suspended nor deleted (its callers, staff and
    keys, are let in; its pages and links answer; docs/decisions/0033-a-company-leaves.md)."""
    return bool(COMPANY_ID.match(company_id)) and store.in_service(company_id)


def company_time_zone(company_id: str) -> str:
    """The IANA zone the company's days are in (Z1): date filters, "today", reminders."""
    return get_company(company_id).time_zone


def get_company(company_id: str) -> Company:
    company = find_company(company_id)
    if company is None:
        raise NotFound(f"company {company_id!r} does not exist")
    return company


def company_and_erasing(company_id: str) -> tuple[Company, frozenset[str]]:
    """The company and the digests of the clients it is erasing now (``store.erasures``'
    ``erasure_key``), in one read: a send's page skips those clients (docs/privacy.md)."""
    company, erasing = store.company_and_erasing(company_id)
    if company is None:
        raise NotFound(f"company {company_id!r} does not exist")
    return company, erasing


def issue_api_key(company_id: str, name: str, scopes: list[str], *, by: str = "system") -> str:
    """Create an API key for a company's systems; the plaintext is returned once, never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        message = f"unknown scopes: {', '.join(unknown)}" if unknown else "give at least one scope"
        raise ValidationFailed([{"field": "scopes", "message": message}])
    if not name.strip() or len(name) > 100:
        raise ValidationFailed([{"field": "name", "message": "name the key (at most 100 characters)"}])
    if not COMPANY_ID.match(company_id):  # names no company (and DynamoDB would refuse its length)
        raise NotFound(f"company {company_id!r} does not exist")
    plaintext, key = new_api_key(company_id, name, tuple(dict.fromkeys(scopes)), clock.now())
    if not store.save_api_key(key):  # the company's existence is checked in the same request
        raise NotFound(f"company {company_id!r} does not exist")
    _log_key("API key issued", key, by)
    return plaintext


def list_api_keys(company_id: str) -> list[ApiKey]:
    """The company's keys, oldest first: usable, rotated (with the end of their overlap) and revoked."""
    get_company(company_id)
    return sorted(store.list_api_keys(company_id), key=lambda k: (k.created_at, k.key_id))


def revoke_api_key(company_id: str, key_id: str, *, by: str) -> ApiKey:
    """Revoke one of the company's keys: refused from the next call that reaches the authorizer."""
    if not store.revoke_api_key(company_id, key_id, clock.now()):
        key = store.get_api_key(key_id)
        if key is None or key.company_id != company_id:
            raise NotFound(f"the company has no API key {key_id!r}", field="key_id")
        raise Conflict(f"API key {key_id!r} was revoked already")
    key = own_api_key(company_id, key_id)
    _log_key("API key revoked", key, by)
    return key


MAX_OVERLAP = timedelta(days=30)


def rotate_api_key(
    company_id: str, key_id: str, overlap: timedelta, *, by: str
) -> tuple[str, ApiKey, datetime]:
    """Issue a key with the same name and scopes in place of ``key_id``, whose secret keeps
    working for ``overlap`` (so the company's systems can switch without downtime), then not.
    Returns the new key's plaintext (once), its record, and when the old one stops working."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValidationFailed([{"field": "overlap_minutes", "message": "must be from 0 to 43200 (30 days)"}])
    old = own_api_key(company_id, key_id)
    now = clock.now()
    if not old.usable_at(now) or old.replaced_by:
        raise Conflict(f"API key {key_id!r} was revoked or rotated already")
    plaintext, new = new_api_key(company_id, old.name, old.scopes, now)
    ends = now + overlap
    if not store.rotate_api_key(old, new, ends):
        raise Conflict(f"API key {key_id!r} was revoked or rotated meanwhile")
    _log_key("API key rotated", old, by, replaced_by=new.key_id, overlap_ends=ends.isoformat())
    return plaintext, new, ends


def own_api_key(company_id: str, key_id: str) -> ApiKey:
    """The company's key by id; NotFound for a key of another company (no company sees another's)."""
    key = store.get_api_key(key_id)
    if key is None or key.company_id != company_id:
        raise NotFound(f"the company has no API key {key_id!r}", field="key_id")
    return key


def _log_key(what: str, key: ApiKey, by: str, **extra: str) -> None:
    logger().info(
        what,
        extra={
            "company_id": key.company_id,
            "key": key.prefix,
            "scopes": list(key.scopes),
            "by": by,
            **extra,
        },
    )


def update_settings(
    company_id: str,
    *,
    language: str | None,
    ask_tracking_contacts: bool | None,
    sms_on_automatic_payments: bool | None = None,
    sms_on_manual_payments: bool | None = None,
    country: str | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
    if_match: tuple[int, ...] | None = None,
) -> Company:
    """Change the settings given (None leaves one as it is). With ``if_match`` (the versions an
    ``If-Match`` names), a 412 when someone else saved them since."""
    _check_region(country=country, time_zone=time_zone, locale=locale)
    current = store.get_company(company_id) if time_zone is not None else None
    saved = store.update_company(
        company_id,
        if_match,
        country=country.upper() if country else None,
        time_zone=time_zone,
        locale=locale,
        language=language,
        ask_tracking_contacts=ask_tracking_contacts,
        sms_on_automatic_payments=sms_on_automatic_payments,
        sms_on_manual_payments=sms_on_manual_payments,
    )
    if not saved:
        raise edited_meanwhile("the company's settings")
    if time_zone is not None and current is not None and time_zone != current.time_zone:
        _replan_daily_runs(company_id, time_zone)
    return get_company(company_id)


def next_daily_run(schedule: AlertSchedule, now: datetime, time_zone: str) -> datetime:
    """When a daily alert type (the reminders) runs next: its hour (00 to 23; 8 until told
    otherwise) on the zone's clock, the first after ``now``. An hour the clock skips that day (02:00
    in Madrid on the last Sunday of March, 00:00 in Santiago on the first Sunday of September) is
    the moment the clock jumped (03:00, 01:00); an hour the clock goes through twice, its first."""
    from chalicelib.core.localization import next_local_hour

    hour = DEFAULT_HOUR if schedule.hour_of_day is None else schedule.hour_of_day
    return next_local_hour(now, hour, time_zone)


def _replan_daily_runs(company_id: str, time_zone: str) -> None:
    """The company's clock changed: each daily run still to come moves to its hour on the new
    clock (a run already due stays due and catches up, as after a stop)."""
    now = clock.now()
    for alert_type in DAILY_ALERT_TYPES:
        for _ in range(3):  # a run of the schedule may move it meanwhile: read it again
            schedule = store.get_alert_schedule(company_id, alert_type)
            if schedule is None or schedule.next_run_at is None or schedule.next_run_at <= now:
                break
            following = next_daily_run(schedule, now, time_zone)
            if store.claim_alert_run(schedule, now, following, ran=False):
                break


def _check_region(*, country: str | None, time_zone: str | None, locale: str | None) -> None:
    problems = []
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        problems.append({"field": "country", "message": "use an ISO 3166 two-letter country code, e.g. AR"})
    if time_zone is not None and not is_time_zone(time_zone):
        problems.append(
            {"field": "time_zone", "message": "use an IANA time zone, e.g. America/Argentina/Buenos_Aires"}
        )
    if locale is not None and not is_locale(locale):
        problems.append({"field": "locale", "message": "use a locale Babel knows, e.g. es_AR or en_US"})
    if problems:
        raise ValidationFailed(problems)


def home_region(company_id: str, company: Company | None = None) -> str:
    """The company's country (O1) as a phone region: where its local numbers are read until its
    administrator names another SMS ``default_region``, and the one its SMS settings start with.
    ``company``: the company when the caller has read it already (not read again)."""
    company = company or find_company(company_id)
    country = (company.country or "").strip().upper() if company is not None else ""
    return country or DEFAULT_PHONE_REGION


def phone_region(company_id: str, company: Company | None = None) -> str:
    """The region a company's local phone numbers are read in (``normalize_phone``): its SMS
    settings' default region, else its country (a Mexican company's ``55 1234 5678`` is Mexican).
    ``company``: the company when the caller has read it already (not read again)."""
    from chalicelib.store import sms as sms_store

    settings = sms_store.get_sms_settings(company_id)
    return settings.default_region if settings else home_region(company_id, company)
