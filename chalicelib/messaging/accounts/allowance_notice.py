"""The notice a company's administrators get when its SMS wait for Pregón's allowance (docs/sms.md,
"How many SMS a day"), or its e-mails through Pregón's SES for theirs (docs/operations.md): once a
company's day at most, each, as the SMS-credit notice is sent (``sms_credit.tell_once_a_day``:
from Pregón's own address, under the daily cap of notices).

    tell_allowance_reached("co-1")          # 1 when the administrators were told now, else 0
    tell_email_allowance_reached("co-1")    # the same, for its e-mails through Pregón's SES
    allowance_reached("co-1", room)         # a drain's or a test's room refused by an allowance
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import Company
from chalicelib.messaging.send_room import EMAIL_ALLOWANCE, Room

_TEXTS = {
    "es": {
        "subject": "Pregón: {company} llegó a sus {allowance} SMS del día",
        "body": (
            "{company} envió hoy los {allowance} SMS por día que Pregón le permite enviar por su cuenta "
            "de Amazon SNS. Los SMS siguientes no se pierden: esperan en la cola y salen, en orden, a "
            "medida que hay lugar de nuevo (24 horas después de los primeros).\n\n"
            "Para enviar más por día, pida a Pregón que amplíe el límite.\n\n"
            "Pregón envía este aviso a los administradores de {company}, una vez al día como máximo."
        ),
    },
    "en": {
        "subject": "Pregón: {company} reached its {allowance} SMS of the day",
        "body": (
            "{company} sent the {allowance} SMS a day Pregón lets it send through Pregón's Amazon SNS "
            "account today. The SMS after them are not lost: they wait in the queue and go out, in "
            "order, as room opens again (24 hours after the first ones).\n\n"
            "To send more a day, ask Pregón to raise the allowance.\n\n"
            "Pregón sends this notice to {company}'s administrators, once a day at most."
        ),
    },
}

_EMAIL_TEXTS = {
    "es": {
        "subject": "Pregón: {company} llegó a sus {allowance} correos del día",
        "body": (
            "{company} envió hoy los {allowance} correos por día que Pregón le permite enviar por su "
            "cuenta de Amazon SES (las cuentas de envío de tipo SES). Los correos siguientes no se pierden: "
            "esperan en la cola y salen, en orden, a medida que hay lugar de nuevo (24 horas después de "
            "los primeros). Los que salen por una cuenta SMTP propia no esperan.\n\n"
            "Para enviar más por día, pida a Pregón que amplíe el límite.\n\n"
            "Pregón envía este aviso a los administradores de {company}, una vez al día como máximo."
        ),
    },
    "en": {
        "subject": "Pregón: {company} reached its {allowance} e-mails of the day",
        "body": (
            "{company} sent the {allowance} e-mails a day Pregón lets it send through Pregón's Amazon SES "
            "account (its SES sender accounts) today. The e-mails after them are not lost: they wait in "
            "the queue and go out, in order, as room opens again (24 hours after the first ones). Those "
            "sent through an SMTP account of its own do not wait.\n\n"
            "To send more a day, ask Pregón to raise the allowance.\n\n"
            "Pregón sends this notice to {company}'s administrators, once a day at most."
        ),
    },
}


def notice_message(
    company: Company, allowance: int, administrators: list[str], texts_by_language: Any = None
) -> EmailMessage:
    """The notice in the company's language (Spanish unless English), the count in its locale."""
    from chalicelib.core.localization import show_count
    from chalicelib.core.settings import get_settings, notice_from

    every = texts_by_language or _TEXTS
    texts = every.get(company.language, every["es"])
    values = {"company": company.name, "allowance": show_count(allowance, company.locale)}
    message = EmailMessage()
    message["From"] = f"Pregón <{notice_from()}>"
    message["To"] = ", ".join(administrators)
    message["Subject"] = texts["subject"].format(**values)
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=get_settings().mail_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply comes back
    message.set_content(texts["body"].format(**values) + "\n", cte="quoted-printable")
    return message


def tell_allowance_reached(company_id: str) -> int:
    """Tell the administrators their SMS wait for Pregón's allowance, unless told today."""
    from chalicelib.messaging.accounts.sms import daily_allowance
    from chalicelib.messaging.accounts.sms_credit import tell_once_a_day
    from chalicelib.store.sms import get_sms_settings
    from chalicelib.tenants.companies import get_company

    settings = get_sms_settings(company_id)
    allowance = daily_allowance(settings) if settings is not None else None
    if allowance is None:
        return 0
    company = get_company(company_id)
    return tell_once_a_day(
        company,
        "sms-allowance-notice",
        "SMS allowance",
        lambda group: notice_message(company, allowance, group),
    )


def tell_email_allowance_reached(company_id: str) -> int:
    """Tell the administrators their e-mails through Pregón's SES wait for its allowance, unless
    told today."""
    from chalicelib.messaging.accounts.email_allowance import email_allowance
    from chalicelib.messaging.accounts.sms_credit import tell_once_a_day
    from chalicelib.tenants.companies import get_company

    allowance, _ = email_allowance(company_id)
    company = get_company(company_id)
    return tell_once_a_day(
        company,
        "email-allowance-notice",
        "e-mail allowance",
        lambda group: notice_message(company, allowance, group, _EMAIL_TEXTS),
    )


def allowance_reached(company_id: str, room: Room) -> None:
    """The company's SMS (or e-mails through Pregón's SES) found no room under Pregón's allowance
    (a drain, a hand-off or a test send): counted for the operator's alarm and told to its
    administrators once a day; never failing the caller."""
    from chalicelib.core.observability import logger, metrics

    email = room.full is not None and room.full.key == EMAIL_ALLOWANCE
    metrics().add_metric(
        name="EmailAllowanceReached" if email else "SmsAllowanceReached", unit="Count", value=1
    )
    what = "e-mails through Pregón's SES" if email else "SMS"
    logger().warning(
        f"{what} wait: the company's daily allowance is used up", extra={"company_id": company_id}
    )
    try:
        (tell_email_allowance_reached if email else tell_allowance_reached)(company_id)
    except Exception:
        logger().exception(f"{what} allowance notice failed", extra={"company_id": company_id})
