"""A company's own reputation on Pregón's SES (decision 0032, docs/operations.md "A company's
e-mails through Pregón's SES were paused").

Every company's "ses" sender accounts send through Pregón's one SES account, which SES pauses
whole when its bounce rate passes about 10 % or its complaint rate 0.5 %: one company's bad list
would stop every company's mail. So each company's own rates over the last 24 hours are kept on
the item that counts its e-mails there (``send_room``'s :data:`EMAIL_ALLOWANCE` rate item: its
grants are what was sent; the SES feedback adds its hard bounces and complaints, a read and a
write per bounce or complaint and nothing per e-mail sent). Once it sent at least
``PREGON_REPUTATION_MIN_SENT`` there and its hard bounces reach ``PREGON_REPUTATION_BOUNCE_RATE``
(5 %) or its complaints ``PREGON_REPUTATION_COMPLAINT_RATE`` (0.1 %), SES's own levels for
reviewing an account, all its e-mails through Pregón's SES pause: they wait in the outbox, shown
with why, never failed; its administrators are told once; ``EmailSenderPaused`` is counted for the
operator's alarm. Only the operator resumes them (``ops company allowance <id> --resume-emails``,
``DELETE /operator/companies/{id}/email-pause``). Its own SMTP accounts are not held.

    count_feedback("co-1", hard_bounces=1)      # from the SES feedback: may pause the company
    reputation_of("co-1")                       # its rates, the thresholds and the pause
    resume_emails("co-1", by="operator")        # True when they were paused
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from chalicelib.core import clock
from chalicelib.messaging.send_room import EMAIL_ALLOWANCE
from chalicelib.store import outbox as outbox_store

HOURS = 24

_TEXTS = {
    "es": {
        "subject": "Pregón pausó los correos de {company} por Amazon SES",
        "body": (
            "En las últimas 24 horas, de los {sent} correos que {company} envió por la cuenta de "
            "Amazon SES de Pregón (las cuentas de envío de tipo SES), {bounces} rebotaron sin remedio "
            "({bounce_rate}) y {complaints} fueron denunciados como spam ({complaint_rate}). Amazon SES "
            "suspende la cuenta entera, la de todas las empresas, cuando esas tasas son altas; por eso "
            "Pregón pausó los correos de {company} por SES.\n\n"
            "Los correos no se pierden: esperan en la cola y salen, en orden, cuando Pregón reanude el "
            "envío. Los que salen por una cuenta SMTP propia no esperan.\n\n"
            "Revise a quién envía (direcciones viejas o compradas, destinatarios que no pidieron los "
            "correos) y pida a Pregón que reanude el envío."
        ),
    },
    "en": {
        "subject": "Pregón paused {company}'s e-mails through Amazon SES",
        "body": (
            "In the last 24 hours, of the {sent} e-mails {company} sent through Pregón's Amazon SES account "
            "(its SES sender accounts), {bounces} bounced for good ({bounce_rate}) and {complaints} were "
            "reported as spam ({complaint_rate}). Amazon SES pauses the whole account, every company's, "
            "when those rates are high; so Pregón paused {company}'s e-mails through SES.\n\n"
            "The e-mails are not lost: they wait in the queue and go out, in order, once Pregón resumes "
            "them. Those sent through an SMTP account of its own do not wait.\n\n"
            "Check whom you send to (old or bought addresses, people who did not ask for the e-mails) and "
            "ask Pregón to resume them."
        ),
    },
}


def thresholds() -> dict[str, Any]:
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    return {
        "min_sent": settings.reputation_min_sent,
        "bounce_rate": settings.reputation_bounce_rate,
        "complaint_rate": settings.reputation_complaint_rate,
    }


def _rates(feedback: outbox_store.Feedback) -> tuple[float, float]:
    sent = max(feedback.sent, 1)
    return feedback.hard_bounces / sent, feedback.complaints / sent


def too_high(feedback: outbox_store.Feedback) -> bool:
    """Whether the company sent enough to judge, and its bounces or complaints reach a threshold."""
    limits = thresholds()
    bounce_rate, complaint_rate = _rates(feedback)
    return feedback.sent >= limits["min_sent"] and (
        bounce_rate >= limits["bounce_rate"] or complaint_rate >= limits["complaint_rate"]
    )


def count_feedback(company_id: str, *, hard_bounces: int = 0, complaints: int = 0) -> bool:
    """Count a hard bounce or a complaint SES reported about the company's e-mail, and pause its
    e-mails through Pregón's SES when its rates reach the thresholds (told once: the pause is one
    conditional write). Returns whether this paused them."""
    from chalicelib.core.observability import logger, metrics

    now = clock.now()
    feedback = outbox_store.record_feedback(
        company_id, EMAIL_ALLOWANCE, now, HOURS, hard_bounces=hard_bounces, complaints=complaints
    )
    if feedback.paused_at is not None or not too_high(feedback):
        return False
    if not outbox_store.pause_rate(company_id, EMAIL_ALLOWANCE, now):
        return False
    bounce_rate, complaint_rate = _rates(feedback)
    metrics().add_metric(name="EmailSenderPaused", unit="Count", value=1)
    logger().warning(
        "a company's e-mails through Pregón's SES are paused: its bounces or complaints are too high",
        extra={
            "company_id": company_id,
            "sent": feedback.sent,
            "hard_bounces": feedback.hard_bounces,
            "complaints": feedback.complaints,
            "bounce_rate": round(bounce_rate, 4),
            "complaint_rate": round(complaint_rate, 5),
        },
    )
    try:
        _tell_paused(company_id, feedback)
    except Exception:
        logger().exception("e-mail pause notice failed", extra={"company_id": company_id})
    return True


def _percent(rate: float, locale: str) -> str:
    from babel.numbers import format_percent

    return format_percent(rate, "#,##0.##%", locale=locale)


def _tell_paused(company_id: str, feedback: outbox_store.Feedback) -> int:
    from chalicelib.core.localization import show_count
    from chalicelib.messaging.accounts.allowance_notice import notice_message
    from chalicelib.messaging.accounts.sms_credit import tell_once_a_day
    from chalicelib.tenants.companies import get_company

    company = get_company(company_id)
    bounce_rate, complaint_rate = _rates(feedback)
    values = {
        "sent": show_count(feedback.sent, company.locale),
        "bounces": show_count(feedback.hard_bounces, company.locale),
        "complaints": show_count(feedback.complaints, company.locale),
        "bounce_rate": _percent(bounce_rate, company.locale),
        "complaint_rate": _percent(complaint_rate, company.locale),
    }
    texts = {
        language: {
            part: text.replace("{company}", "{{company}}").format(**values) for part, text in parts.items()
        }
        for language, parts in _TEXTS.items()
    }

    def message(group: list[str]) -> EmailMessage:
        return notice_message(company, 0, group, texts)

    return tell_once_a_day(company, "email-paused-notice", "e-mail pause", message)


def reputation_of(company_id: str, shown_in: Callable[[datetime], str] | None = None) -> dict[str, Any]:
    """The company's e-mails through Pregón's SES over the last 24 hours, its hard bounces and
    complaints, their rates, the thresholds, and since when they are paused (null: they are not).
    ``shown_in``: shows the pause's time in the company's zone and locale."""
    feedback = outbox_store.feedback_of(company_id, EMAIL_ALLOWANCE, clock.now(), HOURS)
    bounce_rate, complaint_rate = _rates(feedback) if feedback.sent else (0.0, 0.0)
    paused = feedback.paused_at
    paused_shown = shown_in(paused) if shown_in is not None and paused is not None else None
    return {
        "hours": HOURS,
        "sent": feedback.sent,
        "hard_bounces": feedback.hard_bounces,
        "complaints": feedback.complaints,
        "bounce_rate": round(bounce_rate, 5),
        "complaint_rate": round(complaint_rate, 5),
        "thresholds": thresholds(),
        "paused": feedback.paused_at is not None,
        "paused_at": feedback.paused_at.isoformat() if feedback.paused_at else None,
        "paused_shown": paused_shown,
    }


def resume_emails(company_id: str, *, by: str) -> bool:
    """The operator resumes the company's e-mails through Pregón's SES (its feedback is counted
    afresh) and its SES accounts' outboxes are woken now; 404 for a company that does not exist.
    Returns whether they were paused. Logged with ``by``."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.observability import logger
    from chalicelib.messaging.accounts.email_allowance import counts_in_allowance
    from chalicelib.messaging.outbox import kick_outboxes, outbox_of
    from chalicelib.store.companies import list_sender_accounts
    from chalicelib.tenants.companies import company_exists

    if not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    resumed = outbox_store.resume_rate(company_id, EMAIL_ALLOWANCE)
    if resumed:
        now = clock.now()
        outboxes = {
            outbox_of("email", a.area) for a in list_sender_accounts(company_id) if counts_in_allowance(a)
        }
        for outbox in outboxes:
            outbox_store.wake_later(company_id, outbox, now)
        kick_outboxes(company_id, outboxes)
    logger().info(
        "e-mails through Pregón's SES resumed" if resumed else "e-mails through Pregón's SES were not paused",
        extra={"company_id": company_id, "by": by},
    )
    return resumed
