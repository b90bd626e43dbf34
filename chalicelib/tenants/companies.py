"""Create companies and their integration API keys."""

from __future__ import annotations

import re

from chalicelib.core import clock
from chalicelib.core.domain import AlertSchedule, Company
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.localization import default_locale, is_locale, is_time_zone
from chalicelib.store import companies as store
from chalicelib.tenants.auth.api_keys import new_api_key
from chalicelib.tenants.defaults import ALERT_TYPES, DAILY_ALERT_TYPES, DEFAULT_HOUR, DEFAULT_STATUS_CATALOG

DEFAULT_PHONE_REGION = "AR"  # where local numbers are read when a company set no SMS region

COMPANY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
SCOPES = (
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
)


def create_company(
    company_id: str,
    name: str,
    language: str = "es",
    *,
    country: str = DEFAULT_PHONE_REGION,
    time_zone: str = "UTC",
    locale: str | None = None,
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
        ask_tracking_contacts=False,
        created_at=now,
        country=country.upper(),
        time_zone=time_zone,
        locale=locale or default_locale(language, country),
    )
    hours = {t: DEFAULT_HOUR for t in DAILY_ALERT_TYPES}
    schedules = [AlertSchedule(company_id, t, False, 0, None, None, 0, 0, hours.get(t)) for t in ALERT_TYPES]
    return store.create_company(company, DEFAULT_STATUS_CATALOG, schedules)


def company_exists(company_id: str) -> bool:
    """Whether the company was created (a staff token or key for any other is refused)."""
    return store.get_company(company_id) is not None


def get_company(company_id: str) -> Company:
    company = store.get_company(company_id)
    if company is None:
        raise NotFound(f"company {company_id!r} does not exist")
    return company


def issue_api_key(company_id: str, name: str, scopes: list[str]) -> str:
    """Create an API key for a company's systems; the plaintext is returned once, never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationFailed([{"field": "scopes", "message": f"unknown scopes: {', '.join(unknown)}"}])
    get_company(company_id)
    plaintext, key = new_api_key(company_id, name, tuple(scopes), clock.now())
    store.save_api_key(key)
    return plaintext


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
) -> Company:
    """Change the settings given (None leaves one as it is)."""
    _check_region(country=country, time_zone=time_zone, locale=locale)
    store.update_company(
        company_id,
        country=country.upper() if country else None,
        time_zone=time_zone,
        locale=locale,
        language=language,
        ask_tracking_contacts=ask_tracking_contacts,
        sms_on_automatic_payments=sms_on_automatic_payments,
        sms_on_manual_payments=sms_on_manual_payments,
    )
    return get_company(company_id)


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


def phone_region(company_id: str) -> str:
    """The region a company's local phone numbers are read in (``normalize_phone``): its SMS
    settings' default region, else Argentina's."""
    from chalicelib.store import sms as sms_store

    settings = sms_store.get_sms_settings(company_id)
    return settings.default_region if settings else DEFAULT_PHONE_REGION
