"""The scheduled check of every registered sending domain (docs/deliverability.md, "When a domain
stops verifying"): SES's verification state of each is noted as a read of the domain notes it
(``domains.note_check``), so a verified domain whose DNS records were removed starts its 72 hours to
lapse when this check first finds it so, whether or not anyone looks; and the company's
administrators (level 1 in the staff directory, with an e-mail address) are told, once per time it
stopped verifying, and once more a day before it lapses.

The notices come from Pregón's own address (``PREGON_NOTICE_FROM``), never from the company's
sender accounts: the broken domain may be the one they send from. Each is claimed first by a
conditional write naming the ``unverified_since`` it tells of, so two checks at once send one; a
send that fails takes its claim back, and the next check sends it. The claim holds for
``NOTICE_SENDING_LEASE`` and is confirmed once the messages were handed to SES: a check that died
in between (killed, timed out) leaves a claim still sending past its lease, and the next check
takes it over and sends the notice again. At least once, never lost; a check that died after some
of a notice's messages went sends it again to every administrator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any
from urllib.parse import quote

from chalicelib.core import clock
from chalicelib.core.aws import sending_client
from chalicelib.core.domain import Company, RegisteredDomain, SenderDomain
from chalicelib.core.emails import mailbox_key
from chalicelib.core.localization import show_datetime_named
from chalicelib.core.observability import logger
from chalicelib.core.settings import get_settings, notice_from
from chalicelib.messaging.accounts.domains import (
    LAPSE,
    SES_IDENTITIES_PER_CALL,
    accounts_sending_from,
    note_check,
    verified_in_ses,
)
from chalicelib.store import domains as store

# The last notice goes this long before the domain lapses (unless the first one is that late).
LAST_NOTICE_BEFORE = timedelta(hours=24)
ADMIN_LEVEL = 1
# Administrators named on one notice. SES takes at most 50 recipients a message; a raw message's
# recipients are both its destinations and its To header (moto counts both, 2 x 25 = 50), so 25
# stays within the limit however it is counted.
SES_RECIPIENTS_PER_MESSAGE = 25
# The most notice messages one company causes a day (its day, in its time zone), every domain of it
# and every other notice to its administrators together: who its
# administrators are is its own free text (an API key with staff:write writes it), and a company
# whose domains keep losing their records would otherwise have Pregón's own address mail whom it
# chose, as often as it liked. At 25 administrators a message, up to 250 recipients a day; a notice
# over the limit is not marked sent, and goes with the first check of the next day.
NOTICE_MESSAGES_PER_COMPANY_PER_DAY = 10
# How long a notice's claim holds while its messages are being sent: well above the check
# function's 5 minutes (``lambda_timeout`` 300), so a claim still sending past it is one whose
# check died (killed, timed out) between the claim and the confirmation, and the next check sends
# the notice again.
NOTICE_SENDING_LEASE = timedelta(minutes=10)


@dataclass
class CheckReport:
    checked: int = 0  # domains whose state was read and noted
    failed: int = 0  # domains (or companies' listings) that failed; logged, the others went on
    notices: int = 0  # notices sent


def check_sending_domains() -> CheckReport:
    """Read SES's verification state of every registered sending domain (not one being removed),
    ``SES_IDENTITIES_PER_CALL`` at a time, note it on each and send the notices due. One domain's
    failure is logged (``sending domain check failed``) and the others go on."""
    report = CheckReport()
    for batch in _registered_domains(report):
        try:
            states = verified_in_ses([entry.domain for entry in batch])
        except Exception:  # one call for the batch failed: each domain on its own, then
            logger().exception("sending domain batch check failed", extra={"domains": len(batch)})
            states = {}
        for entry in batch:
            try:
                if entry.domain not in states:
                    states.update(verified_in_ses([entry.domain]))
                verified = states[entry.domain]
                report.notices += check_domain(entry, verified)
                report.checked += 1
            except Exception:
                report.failed += 1
                logger().exception(
                    "sending domain check failed",
                    extra={"company_id": entry.company_id, "domain": entry.domain},
                )
    return report


def _registered_domains(report: CheckReport) -> Iterator[list[RegisteredDomain]]:
    """Every registered domain not being removed, with its company, in batches for SES: read from
    the sparse ``registered`` index of ``sender-domains`` (a Query, a page at a time), so the check
    costs the domains there are, never a read of every company (decision 0021). A listing that
    fails part way is logged and counted; the domains listed before it are still checked."""
    batch: list[RegisteredDomain] = []
    try:
        for entry in store.registered_domains():
            batch.append(entry)
            if len(batch) == SES_IDENTITIES_PER_CALL:
                yield batch
                batch = []
    except Exception:
        report.failed += 1
        logger().exception("sending domain listing failed")
    if batch:
        yield batch


def index_registered_domains() -> int:
    """Once after the upgrade that brought the ``registered`` index (``ops domains
    index-registered``): the domains stored before it, not being removed, join it, so the hourly
    check finds them. Safe to run again. Returns how many joined."""
    return store.index_registered_domains()


def check_domain(listed: RegisteredDomain | SenderDomain, verified: bool) -> int:
    """Note what SES says of one domain and send the notice due, if any: how many were sent."""
    entry = store.get_domain(listed.domain)  # the listing index lags: its record, read strongly
    if entry is None or entry.company_id != listed.company_id or entry.removing:
        return 0  # removed, taken over or being removed since it was listed
    entry = note_check(entry, verified)
    if verified or entry is None or entry.company_id != listed.company_id:
        return 0
    since = entry.unverified_since
    if not entry.verified_once or since is None:
        return 0  # never verified: its registration lapses on its own, nobody relied on it
    accounts = accounts_sending_from(entry.company_id, entry.domain)
    lapses_at = None if accounts else since + LAPSE
    now = clock.now()
    last_due = lapses_at is not None and lapses_at - LAST_NOTICE_BEFORE <= now
    # A notice marked for this loss is sent, or being sent; one still being sent past its claim's
    # lease is not: its check died, and this one takes the claim over (from exactly that lease).
    marks = {
        "unverified": (entry.unverified_notice_for, entry.unverified_notice_sending_until),
        "lapse": (entry.lapse_notice_for, entry.lapse_notice_sending_until),
    }
    dead = {
        n: until
        for n, (marked, until) in marks.items()
        if marked == since and until is not None and until <= now
    }
    sent = {n for n, (marked, _) in marks.items() if marked == since and n not in dead}
    if "unverified" not in sent:
        # the first notice; when it is that late, it is the last one too (it says when it lapses)
        notices: tuple[str, ...] = (
            ("unverified", "lapse") if last_due and "lapse" not in sent else ("unverified",)
        )
    elif last_due and lapses_at is not None and now < lapses_at and "lapse" not in sent:
        notices = ("lapse",)
    else:
        return 0
    taking_over = {n: dead[n] for n in notices if n in dead}
    return _send_notice(entry, since, lapses_at, accounts, notices, taking_over)


def _send_notice(
    entry: SenderDomain,
    since: datetime,
    lapses_at: datetime | None,
    accounts: list[str],
    notices: tuple[str, ...],
    taking_over: dict[str, datetime],
) -> int:
    from chalicelib.tenants.companies import get_company

    company = get_company(entry.company_id)
    if not company.in_service:
        return 0  # suspended (decision 0033): nothing claimed, so a reopened company is told then
    administrators = notice_recipients(entry.company_id, "sending domain", domain=entry.domain)
    if not administrators:
        logger().warning(
            "sending domain stopped verifying and no administrator has an e-mail address",
            extra={"company_id": entry.company_id, "domain": entry.domain},
        )
        return 0  # claimed nothing: an administrator given an address later is told then
    sending_until = clock.now() + NOTICE_SENDING_LEASE
    if not store.claim_unverified_notice(
        entry.domain,
        entry.company_id,
        since,
        notices=notices,
        sending_until=sending_until,
        taking_over=taking_over,
    ):
        return 0  # another check sent it (or took it over), or the domain changed since it was read
    if taking_over:
        logger().warning(
            "sending domain notice sent again: the check that claimed it died sending it",
            extra={"company_id": entry.company_id, "domain": entry.domain, "notices": list(taking_over)},
        )
    kind = "unverified" if "unverified" in notices else "lapse"
    # the client every send goes through: an SES outage fails a group within its short bounds
    # instead of holding the check for minutes (the claim's lease covers a check that dies)
    ses: Any = sending_client("sesv2")
    # A company with more administrators than one message names gets one message per 25. Should
    # the first fail, nobody was told and the claim is taken back (the next check sends it); a
    # later one that fails is logged, never sent again to those told already. A message over the
    # company's daily limit is not sent: the first one takes the claim back (the first check of the
    # next day sends it), a later one leaves the rest untold (logged). Once every message was tried
    # the claim is confirmed; should this check die before that, the next one past the claim's
    # lease sends the notice again, to every administrator.
    for first in range(0, len(administrators), SES_RECIPIENTS_PER_MESSAGE):
        group = administrators[first : first + SES_RECIPIENTS_PER_MESSAGE]
        if not within_daily_notices(company):
            logger().warning(
                "sending domain notices over the company's daily limit",
                extra={"company_id": entry.company_id, "domain": entry.domain, "not_told": len(group)},
            )
            if first == 0:  # nobody told: the first check of the next day sends it
                store.release_unverified_notice(
                    entry.domain, entry.company_id, since, notices=notices, sending_until=sending_until
                )
                return 0
            break
        try:
            message = notice_message(company, entry, since, lapses_at, accounts, group, kind=kind)
            ses.send_email(
                FromEmailAddress=notice_from(),
                Destination={"ToAddresses": group},
                Content={"Raw": {"Data": message.as_bytes(policy=SMTP)}},  # CRLF line ends
            )
        except Exception:
            if first == 0:
                store.release_unverified_notice(
                    entry.domain, entry.company_id, since, notices=notices, sending_until=sending_until
                )
                raise
            logger().exception(
                "sending domain notice failed for some administrators",
                extra={"company_id": entry.company_id, "domain": entry.domain, "not_told": len(group)},
            )
    store.confirm_unverified_notice(
        entry.domain, entry.company_id, since, notices=notices, sending_until=sending_until
    )
    logger().info(
        "sending domain notice sent",
        extra={
            "company_id": entry.company_id,
            "domain": entry.domain,
            "notice": kind,
            "unverified_since": since.isoformat(),
            "recipients": len(administrators),
        },
    )
    return 1


def notice_recipients(company_id: str, what: str, **about: str) -> list[str]:
    """The addresses a notice to the company's administrators goes to: level 1, active, with an
    e-mail address SES sends to, one per mailbox (``ana+1@x`` and ``ana+2@x`` both reach
    ``ana@x``: a directory of sub-addresses cannot have one person's inbox told many times over).
    Those whose e-mail is no such address are left out and logged (``<what> notice left out ...``)."""
    from chalicelib.tenants.staff import list_users

    listed = [u for u in list_users(company_id) if u.level == ADMIN_LEVEL and u.active and u.email]
    by_mailbox: dict[str, str] = {}
    unsendable: list[str] = []
    for user in sorted(listed, key=lambda u: u.email or ""):
        if user.email and _sendable(user.email):
            by_mailbox.setdefault(mailbox_key(user.email), user.email)
        else:
            unsendable.append(user.user_id)
    unsendable.sort()
    if unsendable:
        # the directory's e-mail is free text: a name, two addresses, a line break would make the
        # message (or SES) refuse everyone's notice, every time; those users are left out
        logger().warning(
            f"{what} notice left out administrators whose e-mail is no address SES sends to",
            extra={"company_id": company_id, **about, "user_ids": unsendable},
        )
    return sorted(by_mailbox.values())


def _sendable(address: str) -> bool:
    """Whether a staff directory's e-mail is one address SES sends a notice to: valid (as the
    project checks addresses) and plain ASCII (SES sends no SMTPUTF8)."""
    from chalicelib.core.emails import is_email

    return address.isascii() and is_email(address)


def within_daily_notices(company: Company) -> bool:
    """Count one notice message against the company's day (its calendar day in its time zone, as
    the notices' "once a day" claims count it: ``company_day``); False, nothing counted, once it
    caused ``NOTICE_MESSAGES_PER_COMPANY_PER_DAY``. Every notice to a company's administrators
    counts here (its sending domains', its SMS credit's and allowance's, its webhooks'): one cap for
    all of them. Until session 37 it counted UTC days, so a Buenos Aires company got a fresh cap at
    21:00 on its clock, in the middle of its day."""
    from chalicelib.store.rate_limits import hit

    key, day_end = company_day(company, clock.now(), "domain-notices")
    return hit(key, NOTICE_MESSAGES_PER_COMPANY_PER_DAY, day_end)


def company_day(company: Company, now: datetime, kind: str) -> tuple[str, datetime]:
    """The ``rate-limits`` key of the company's ``kind`` for its day at ``now`` (its date in its
    time zone: ``<company>#<kind>#<date>``) and when that day ends, as a UTC moment."""
    from chalicelib.core.localization import day_start, today

    day = today(company.time_zone, now)
    return f"{company.company_id}#{kind}#{day.isoformat()}", day_start(
        day + timedelta(days=1), company.time_zone
    )


def console_link(domain: str) -> str:
    """The console's page of the domain: its records and their states."""
    return f"{get_settings().public_base_url}/console#/sender-domains?domain={quote(domain, safe='')}"


_TEXTS = {
    "es": {
        "subject.unverified": "Pregón: el dominio de envío {domain} dejó de estar verificado",
        "subject.lapse": "Pregón: el dominio de envío {domain} caduca el {lapses_at}",
        "opening": (
            "Una comprobación del {since} encontró que Amazon SES ya no verifica el dominio de envío "
            "{domain} de {company}: ya no encuentra sus registros DNS."
        ),
        "lapses": (
            "Los correos que se envían desde {domain} con cuentas de envío SES fallan hasta que SES lo "
            "verifique de nuevo. Si no lo verifica antes del {lapses_at}, el registro del dominio caduca "
            "y otra empresa podrá registrarlo en Pregón."
        ),
        "accounts": (
            "Sus cuentas de envío SES ({accounts}) envían desde {domain}: sus correos fallan hasta que "
            "SES lo verifique de nuevo (el dominio no caduca mientras existan)."
        ),
        "records": "Vuelva a publicar en el DNS de {domain} estos registros CNAME (DKIM):",
        "console": "El estado de cada registro, en la consola de Pregón: {link}",
        "closing": "Pregón envía este aviso a los administradores de {company}.",
    },
    "en": {
        "subject.unverified": "Pregón: the sending domain {domain} is no longer verified",
        "subject.lapse": "Pregón: the sending domain {domain} lapses on {lapses_at}",
        "opening": (
            "A check on {since} found that Amazon SES no longer verifies {company}'s sending domain "
            "{domain}: it no longer finds its DNS records."
        ),
        "lapses": (
            "E-mails sent from {domain} with SES sender accounts fail until SES verifies it again. Unless "
            "it does before {lapses_at}, the domain's registration lapses and another company may "
            "register it in Pregón."
        ),
        "accounts": (
            "Your SES sender accounts ({accounts}) send from {domain}: their e-mails fail until SES "
            "verifies it again (the domain does not lapse while they exist)."
        ),
        "records": "Publish these CNAME (DKIM) records in {domain}'s DNS again:",
        "console": "Each record's state, in Pregón's console: {link}",
        "closing": "Pregón sends this notice to {company}'s administrators.",
    },
}


def notice_message(
    company: Company,
    entry: SenderDomain,
    since: datetime,
    lapses_at: datetime | None,
    accounts: list[str],
    administrators: list[str],
    *,
    kind: str,
) -> EmailMessage:
    """The notice, in the company's language (Spanish unless English), its times in the company's
    time zone and locale."""
    texts = _TEXTS.get(company.language, _TEXTS["es"])

    def shown(moment: datetime) -> str:
        return show_datetime_named(moment, company.time_zone, company.locale)

    values = {
        "domain": entry.domain,
        "company": company.name,
        "since": shown(since),
        "lapses_at": shown(lapses_at) if lapses_at is not None else "",
        "accounts": ", ".join(accounts),
        "link": console_link(entry.domain),
    }
    records = [f"  {t}._domainkey.{entry.domain}  CNAME  {t}.dkim.amazonses.com" for t in entry.dkim_tokens]
    paragraphs = [
        texts["opening"],
        texts["lapses"] if lapses_at is not None else texts["accounts"],
        texts["records"] + "\n\n" + "\n".join(records),
        texts["console"],
        texts["closing"],
    ]
    message = EmailMessage()
    message["From"] = f"Pregón <{notice_from()}>"
    message["To"] = ", ".join(administrators)
    message["Subject"] = texts[f"subject.{kind}"].format(**values)
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=get_settings().mail_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply comes back
    message.set_content("\n\n".join(p.format(**values) for p in paragraphs) + "\n", cte="quoted-printable")
    return message
