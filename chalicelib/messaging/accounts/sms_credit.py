"""What is left of a company's prepaid SMS (SMS Masivos sells packages: seed 002 §2), and the daily
check that warns its administrators before it runs out (docs/sms.md, "Credit and expiry").

    provider_status("co-1")   # {"provider": "sms_masivos", "available": True, "credit": 1500, ...}
    check_sms_credit()        # the daily schedule: read each watched company's credit, warn if due

When the package runs out or expires every automatic SMS (payment receipts, ticket and balance
replies) fails one by one; the check reads the credit of each company whose SMS are on with SMS
Masivos (the sparse index ``credit-checks``: it costs those companies, not every company) and
e-mails the administrators when fewer than the company's ``low_credit_threshold`` SMS are left or
the package expires within ``EXPIRY_WARNING_DAYS``. The notice goes as the sending domains' notices
do (``domain_checks``: from Pregón's own address, to the level-1 users with an address, under the
same daily cap of notice messages per company), at most once a company's day: the day's notice is
claimed first (``rate_limits``), and a claim whose first message failed is taken back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from chalicelib.channels.sms import MasivosAccount, SmsMasivosSender
from chalicelib.core import clock
from chalicelib.core.domain import Company, SmsSettings
from chalicelib.core.errors import Conflict, DeliveryFailed
from chalicelib.core.observability import logger
from chalicelib.store import sms as store

# The package's expiry is warned of this many days ahead (the day it expires included).
EXPIRY_WARNING_DAYS = 7
PROVIDER = "sms_masivos"
NOT_AVAILABLE = "not available for this provider: only SMS Masivos tells Pregón its credit"


# The daily check starts no company's read later than this many seconds into its run. A read takes
# at most SMS_MASIVOS_TIMEOUT_SECONDS (15) and a notice a few more, so a run whose provider hangs
# ends well within the function's 300 s (``lambda_timeout``) instead of being killed, its alarm
# ringing, and the companies it did not reach are read first by the next run.
CHECK_SECONDS = 240.0


@dataclass
class CreditCheckReport:
    checked: int = 0  # companies whose credit was read
    failed: int = 0  # companies whose credit could not be read (logged; the others went on)
    notices: int = 0  # notices sent
    left: int = 0  # companies not reached within CHECK_SECONDS: the next run reads them first


def _account(settings: SmsSettings) -> MasivosAccount:
    """The SMS Masivos account's credit, expiry and month's count; ``DeliveryFailed`` in our words."""
    from chalicelib.messaging.accounts.sms import sender_of

    # read whether the service is on or not (as a test SMS is): the settings are checked first
    sender = sender_of(replace(settings, enabled=True))
    assert isinstance(sender, SmsMasivosSender)
    return sender.account()


def _company(company_id: str) -> Company:
    from chalicelib.tenants.companies import get_company

    return get_company(company_id)


def _days_left(company: Company, expires_on: date, now: datetime) -> int:
    from chalicelib.core.localization import today

    return (expires_on - today(company.time_zone, now)).days


@dataclass(frozen=True)
class ProviderStatus:
    """What the company's SMS provider says of its account (``SmsProviderStatusOut``)."""

    provider: str
    available: bool
    ok: bool = False
    error: str | None = None  # why it could not be read, in our words (never the provider's)
    credit: int | None = None
    credit_shown: str | None = None  # in the company's locale: 5.000 (es_AR)
    expires_on: str | None = None  # YYYY-MM-DD, SMS Masivos' own day
    expires_on_shown: str | None = None
    days_left: int | None = None
    sent_this_month: int | None = None
    sent_this_month_shown: str | None = None
    read_at: datetime | None = None
    read_at_shown: str | None = None
    low_credit_threshold: int | None = None
    low_credit_threshold_shown: str | None = None
    low: bool = False


def provider_status(company_id: str) -> ProviderStatus:
    """What the company's SMS provider says of its account, now. For SMS Masivos: ``credit`` (SMS
    left), ``expires_on`` (the package's last day, and ``expires_on_shown`` in the company's
    locale), ``sent_this_month``, ``read_at`` and whether it is ``low`` (under the company's
    ``low_credit_threshold`` or expiring within ``EXPIRY_WARNING_DAYS``); an account that cannot be
    read is ``ok: false`` with the reason in our words. Other providers: ``available: false``.
    Conflict (409) while SMS Masivos' user or password is missing."""
    from chalicelib.core.localization import show_count, show_date, show_datetime_named
    from chalicelib.messaging.accounts.sms import low_credit_threshold

    settings = store.get_sms_settings(company_id)
    provider = settings.provider if settings is not None else "sns"
    if settings is None or provider != PROVIDER:
        return ProviderStatus(provider=provider, available=False, error=NOT_AVAILABLE)
    company = _company(company_id)
    threshold = low_credit_threshold(settings)
    _count_status_read(company_id)
    threshold_shown = show_count(threshold, company.locale)
    try:
        account = _account(settings)
    except DeliveryFailed as exc:
        return ProviderStatus(
            provider,
            True,
            error=exc.message,
            read_at=clock.now(),
            low_credit_threshold=threshold,
            low_credit_threshold_shown=threshold_shown,
        )
    now = clock.now()
    days_left = _days_left(company, account.expires_on, now)
    return ProviderStatus(
        provider,
        True,
        ok=True,
        credit=account.credit,
        credit_shown=show_count(account.credit, company.locale),
        expires_on=account.expires_on.isoformat(),
        expires_on_shown=show_date(account.expires_on, company.locale),
        days_left=days_left,
        sent_this_month=account.sent_this_month,
        sent_this_month_shown=show_count(account.sent_this_month, company.locale),
        read_at=now,
        read_at_shown=show_datetime_named(now, company.time_zone, company.locale),
        low_credit_threshold=threshold,
        low_credit_threshold_shown=threshold_shown,
        low=account.credit < threshold or days_left <= EXPIRY_WARNING_DAYS,
    )


# Reads of the provider's account one company may ask for in an hour (each is three requests to
# SMS Masivos from Pregón's own addresses, which every company shares): the console reads it once
# a visit; a script polling it would only get Pregón throttled there.
STATUS_READS_AN_HOUR = 30


def _count_status_read(company_id: str) -> None:
    """Count one read of the provider's account; 429 past :data:`STATUS_READS_AN_HOUR`."""
    from chalicelib.store.rate_limits import Limit, count

    count(
        company_id,
        Limit("sms-provider-status", STATUS_READS_AN_HOUR, 3600),
        company_id,
        f"the SMS provider's account was read {STATUS_READS_AN_HOUR} times this hour",
        retry="try again next hour",
    )


# --- the daily check -------------------------------------------------------------------------


def check_sms_credit() -> CreditCheckReport:
    """Read the credit of every company whose SMS are on with SMS Masivos and warn those running
    out, the one read longest ago first. One company's failure is logged (``SMS credit check
    failed``) and the others go on. No company's read starts after :data:`CHECK_SECONDS`: those
    left (logged as ``SMS credit check out of time``) head the next run's list."""
    import time

    from chalicelib.core.schedules import each_company

    companies = store.companies_watching_credit(PROVIDER)
    started: list[str] = []

    def check(company_id: str) -> int:
        started.append(company_id)
        sent = check_company_credit(company_id)
        store.credit_checked(company_id, clock.now())
        return sent

    until = time.monotonic() + CHECK_SECONDS
    sent = each_company(companies, check, what="SMS credit check", start_until=until)
    return CreditCheckReport(
        checked=len(sent),
        failed=len(started) - len(sent),
        notices=sum(sent),
        left=len(companies) - len(started),
    )


def check_company_credit(company_id: str) -> int:
    """Read one company's SMS Masivos account and send the notice due, if any: how many were sent."""
    from chalicelib.messaging.accounts.sms import low_credit_threshold, not_ready_because

    settings = store.get_sms_settings(company_id)
    if settings is None or settings.provider != PROVIDER or not_ready_because(settings) is not None:
        return 0  # switched off or changed since it was listed, or no password yet: nothing to read
    if settings.suspended_at is not None:
        return 0  # a suspended company's account is not used, even to read it (decision 0033)
    try:
        account = _account(settings)
    except (DeliveryFailed, Conflict) as exc:
        # the company's own account (a changed password, SMS Masivos down): its administrators see
        # why on the SMS screen; not a failure of the check, whose alarm is the operator's
        logger().warning(
            "SMS credit could not be read", extra={"company_id": company_id, "reason": exc.message}
        )
        return 0
    company = _company(company_id)
    threshold = low_credit_threshold(settings)
    days_left = _days_left(company, account.expires_on, clock.now())
    low, expiring = account.credit < threshold, days_left <= EXPIRY_WARNING_DAYS
    if not (low or expiring):
        return 0
    return _send_notice(company, account, threshold, days_left, low=low, expiring=expiring)


def _send_notice(
    company: Company, account: MasivosAccount, threshold: int, days_left: int, *, low: bool, expiring: bool
) -> int:
    def message(group: list[str]) -> EmailMessage:
        return notice_message(company, account, threshold, days_left, group, low=low, expiring=expiring)

    told = tell_once_a_day(company, "sms-credit-notice", "SMS credit", message)
    if told:
        logger().info(
            "SMS credit notice sent", extra={"company_id": company.company_id, "credit": account.credit}
        )
    return told


def tell_once_a_day(
    company: Company, kind: str, what: str, message: Callable[[list[str]], EmailMessage]
) -> int:
    """E-mail the company's administrators the notice ``message`` builds for a group of them, at
    most once a company's day for ``kind`` (the day is claimed first; a claim whose first message
    failed is taken back): 1 when told, 0 when told today already or nobody could be (nobody is
    while the company is suspended)."""
    from chalicelib.core.aws import sending_client
    from chalicelib.core.settings import notice_from
    from chalicelib.messaging.accounts.domain_checks import (
        SES_RECIPIENTS_PER_MESSAGE,
        company_day,
        notice_recipients,
        within_daily_notices,
    )
    from chalicelib.store import rate_limits

    company_id = company.company_id
    if not company.in_service:
        return 0  # suspended (decision 0033): not claimed, so a reopened company is told then
    administrators = notice_recipients(company_id, what)
    if not administrators:
        logger().warning(f"{what} notice due and no administrator has an e-mail address",
                         extra={"company_id": company_id})  # fmt: skip
        return 0
    claim, day_end = company_day(company, clock.now(), kind)
    if not rate_limits.hit(claim, 1, day_end):
        return 0  # told today already
    ses: Any = sending_client("sesv2")
    for first in range(0, len(administrators), SES_RECIPIENTS_PER_MESSAGE):
        group = administrators[first : first + SES_RECIPIENTS_PER_MESSAGE]
        if not within_daily_notices(company):
            logger().warning(
                f"{what} notices over the company's daily limit",
                extra={"company_id": company_id, "not_told": len(group)},
            )
            if first == 0:
                rate_limits.forget(claim)  # nobody told: the next check tells them
                return 0
            break
        try:
            ses.send_email(
                FromEmailAddress=notice_from(),
                Destination={"ToAddresses": group},
                Content={"Raw": {"Data": message(group).as_bytes(policy=SMTP)}},
            )
        except Exception:
            if first == 0:
                rate_limits.forget(claim)
                raise
            logger().exception(
                f"{what} notice failed for some administrators",
                extra={"company_id": company_id, "not_told": len(group)},
            )
    return 1


def console_link() -> str:
    """The console's SMS settings screen, where the credit shows."""
    from chalicelib.core.settings import get_settings

    return f"{get_settings().public_base_url}/console#/sms"


_TEXTS = {
    "es": {
        "subject.low": "Pregón: a {company} le quedan {credit} SMS en SMS Masivos",
        "subject.expiring": "Pregón: el paquete de SMS Masivos de {company} vence el {expires_on}",
        "low": (
            "A la cuenta de SMS Masivos de {company} le quedan {credit} SMS, menos que el aviso "
            "configurado ({threshold})."
        ),
        "expiring": "El paquete de SMS Masivos de {company} vence el {expires_on}.",
        "expired": "El paquete de SMS Masivos de {company} venció el {expires_on}.",
        "effect": (
            "Cuando se acaban los SMS o vence el paquete, fallan todos los SMS automáticos (comprobantes "
            "de pago, respuestas a tickets y de saldo). Contrate un paquete nuevo con SMS Masivos."
        ),
        "sent": "Este mes se enviaron {sent} SMS.",
        "console": "El saldo, en la consola de Pregón: {link}",
        "closing": "Pregón envía este aviso a los administradores de {company}, una vez al día como máximo.",
    },
    "en": {
        "subject.low": "Pregón: {company} has {credit} SMS left at SMS Masivos",
        "subject.expiring": "Pregón: {company}'s SMS Masivos package expires on {expires_on}",
        "low": (
            "{company}'s SMS Masivos account has {credit} SMS left, fewer than the warning set ({threshold})."
        ),
        "expiring": "{company}'s SMS Masivos package expires on {expires_on}.",
        "expired": "{company}'s SMS Masivos package expired on {expires_on}.",
        "effect": (
            "Once the SMS run out or the package expires, every automatic SMS fails (payment receipts, "
            "ticket and balance replies). Buy a new package from SMS Masivos."
        ),
        "sent": "{sent} SMS were sent this month.",
        "console": "The credit, in Pregón's console: {link}",
        "closing": "Pregón sends this notice to {company}'s administrators, once a day at most.",
    },
}


def notice_message(
    company: Company,
    account: MasivosAccount,
    threshold: int,
    days_left: int,
    administrators: list[str],
    *,
    low: bool,
    expiring: bool,
) -> EmailMessage:
    """The notice, in the company's language (Spanish unless English), the expiry day and the
    numbers in its locale (``5.000`` SMS in es_AR)."""
    from chalicelib.core.localization import show_count, show_date
    from chalicelib.core.settings import get_settings, notice_from

    texts = _TEXTS.get(company.language, _TEXTS["es"])
    values = {
        "company": company.name,
        "credit": show_count(account.credit, company.locale),
        "threshold": show_count(threshold, company.locale),
        "expires_on": show_date(account.expires_on, company.locale),
        "sent": show_count(account.sent_this_month, company.locale),
        "link": console_link(),
    }
    paragraphs = []
    if low:
        paragraphs.append(texts["low"])
    if expiring or days_left < 0:
        paragraphs.append(texts["expired"] if days_left < 0 else texts["expiring"])
    paragraphs += [texts["effect"], texts["sent"], texts["console"], texts["closing"]]
    message = EmailMessage()
    message["From"] = f"Pregón <{notice_from()}>"
    message["To"] = ", ".join(administrators)
    message["Subject"] = texts["subject.low" if low else "subject.expiring"].format(**values)
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=get_settings().mail_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply comes back
    message.set_content("\n\n".join(p.format(**values) for p in paragraphs) + "\n", cte="quoted-printable")
    return message
