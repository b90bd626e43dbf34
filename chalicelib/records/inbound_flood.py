"""Ceilings on received mail (decision 0037): anyone may write to a company's inbound address, and
each message recorded costs DynamoDB writes, S3 bytes, webhooks and a place in the unassigned list.

Per company day (its calendar day in its time zone, ``company_day``), a sender address has
``PREGON_INBOUND_PER_SENDER_PER_DAY`` messages recorded (a known client's address,
``PREGON_INBOUND_PER_CLIENT_ADDRESS_PER_DAY``), and strangers in all
``PREGON_INBOUND_STRANGERS_PER_COMPANY_PER_DAY``; a known client's mail never counts against the
strangers' ceiling, so a flood of strangers does not hold a client's reply. Past a ceiling the
message is *held*: its raw form stays in the inbound bucket, where SES wrote it; nothing is
written to the register, no webhook, no ticket; it is counted, the first
:data:`PAGES_PER_SENDER` pages of :data:`KEPT_PER_SENDER` held from each sender a day are listed
for the administrators (``GET /inbound/held``, any of the last :data:`RELEASE_DAYS` days), who may
release them, a page a call (``POST /inbound/held/release``); the company's administrators are told once a
day, in their language; the operator's metric ``InboundMailHeld`` counts each.

Each check is O(1) requests: one read of the message's verdict, one counter update for the sender,
one for the strangers (a stranger under its own ceiling), one write of the verdict, and, for a held
message, its verdict read again (another delivery of it may have finished meanwhile), one for the
day's held count, one for the sender's, and at most two bounded set updates
(the sender in the day's list, the message in its page of the sender's); then one write per counter
to take the message's mark off it. Each message is counted once: a notification delivered again, or
an invocation retried after a later write failed, gets the first verdict (per company and SES
message id or SMS id) and counts nothing; one retried after a crash between the counters and the
verdict finds its mark on each counter it reached (``store.counted_once``) and gets the counts it
made then, so the same verdict. Two deliveries at once agree on one verdict; when one finished
(its marks taken off) before the other's counts, the other counts the message again (one more on
its counters) but keeps the verdict found, so a message is never both recorded and held. A write
that meets a release's transaction on its item is tried again (``store``).

Listing a sender's held mail reads one page: the sender's held count keeps how many were released
(``store.released``, in the release's transaction), and pages are filled and released in order, so
the first page still holding some is the one that count falls in (a sender whose mail was released
before the count was kept, session 39's, has the pages before it read as they were: at most
:data:`PAGES_PER_SENDER`, each empty one skipped).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from chalicelib.core import clock, files
from chalicelib.core.domain import Company
from chalicelib.core.errors import Gone, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.store import inbound_flood as store

KEPT_PER_SENDER = 20  # held messages of one sender in a page of the list (and released at once)
PAGES_PER_SENDER = 50  # pages kept of one sender's held mail a day: its first 1,000 may be released
SENDERS_LISTED = 100  # senders listed a day
_SENDER_TRIES = 1000  # held messages of a day that may still add their sender to the list
ADMITTED, HELD = "admitted", "held"  # a message's verdict, kept so that it is counted once
# A day's held mail may be listed and released for RELEASE_DAYS after it (its lists expire a month
# after its day, ``store.inbound_flood``); its raw copy, which no record names, is tagged
# ``pregon-purpose=UNRECORDED`` (RECORDED once staff release it) and the inbound bucket's
# lifecycle rule deletes it KEPT_DAYS after SES wrote it (the margin: the company's time zone
# against S3's UTC days, S3 rounding to the next midnight, a release on the window's last day).
# Raw mail that a record names is not tagged: it is part of the register (the company's export
# and a client's erasure find it by ``raw_key``).
RELEASE_DAYS = 30
KEPT_DAYS = 40
UNRECORDED, RECORDED = "unrecorded-mail", "recorded-mail"  # RECORDED: released, kept (no rule)


@dataclass(frozen=True)
class HeldMail:
    """What is needed to record a held message later: SES's receipt, as :class:`Receipt` has it."""

    ses_message_id: str
    bucket: str
    key: str
    recipient: str
    flags: str  # v virus, s spam, p SPF passed, n null sender, d<policy>, DMARC failed
    source: str  # the envelope sender

    def reference(self) -> str:
        fields = (self.ses_message_id, self.bucket, self.key, self.recipient, self.flags, self.source)
        return "\t".join(f.replace("\t", " ") for f in fields)

    @classmethod
    def of(cls, reference: str) -> HeldMail:
        return cls(*(reference.split("\t") + [""] * 6)[:6])


def ceiling(known: bool) -> int:
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    return settings.inbound_per_client_address_per_day if known else settings.inbound_per_sender_per_day


def sender_of(address: str | None) -> str:
    return (address or "").strip().lower() or "(no sender)"


def _digest(sender: str) -> str:
    return hashlib.sha256(sender.encode("utf-8")).hexdigest()[:24]


def _key(company: Company, now: datetime, channel: str, what: str) -> tuple[str, datetime]:
    from chalicelib.messaging.accounts.domain_checks import company_day

    return company_day(company, now, f"inbound-{channel}-{what}")


def admitted(company: Company, channel: str, address: str | None, held: HeldMail, *, known: bool) -> bool:
    """Count one received message from ``address``; True when it is recorded as usual, False when
    it is held (counted, listed, the administrators told once a day)."""
    from chalicelib.core.settings import get_settings

    now, sender = clock.now(), sender_of(address)
    sender_key, day_end = _key(company, now, channel, f"from#{_digest(sender)}")
    message = _digest(held.ses_message_id)
    judged = f"{company.company_id}#inbound-{channel}-judged#{message}"
    verdict = store.verdict(judged)
    if verdict is not None:  # counted before: a notification delivered again, a retried invocation
        return verdict == ADMITTED
    marked: list[str] = []

    def counted(key: str) -> int:  # once per message, however often this runs (a crash retried)
        marked.append(key)
        count = store.counted_once(key, message, day_end)
        if count is None:
            raise _JudgedMeanwhile
        return count

    try:
        from_sender, most = counted(sender_key), ceiling(known)
        admit = from_sender <= most and (
            known
            or counted(_key(company, now, channel, "strangers")[0])
            <= get_settings().inbound_strangers_per_company_per_day
        )
        if not admit:
            # Another delivery of it may have kept its verdict since this one looked, and taken
            # its marks off before these counts: counted once more, past the ceiling, the message
            # keeps that verdict (never both recorded and held)
            if store.verdict(judged) is not None:
                raise _JudgedMeanwhile
            _hold(company, channel, sender, held, now, counted)
    except _JudgedMeanwhile:  # the same message delivered twice at once: the other delivery's verdict
        store.unmark(marked, message)  # those this delivery made again, on its counters
        return store.verdict(judged) == ADMITTED
    store.judge(judged, ADMITTED if admit else HELD, day_end)
    store.unmark(marked, message)
    return admit


class _JudgedMeanwhile(Exception):
    """Another delivery of the message being counted kept its verdict and took its marks off."""


def _tally_key(company: Company, moment: datetime, channel: str, sender: str) -> str:
    """The key of a sender's held count of the day (and of how many of them were released)."""
    return _key(company, moment, channel, f"held-from#{_digest(sender)}")[0]


def _page_key(company: Company, moment: datetime, channel: str, sender: str, page: int) -> str:
    """The key of a page of a sender's held mail of the day (the first keeps its older name)."""
    return _key(company, moment, channel, f"held#{_digest(sender)}" + (f"#{page}" if page else ""))[0]


def _hold(
    company: Company, channel: str, sender: str, held: HeldMail, now: datetime, counted: Callable[[str], int]
) -> None:
    from chalicelib.core.observability import metrics

    count_key, day_end = _key(company, now, channel, "held")
    held_today = counted(count_key)
    nth = counted(_tally_key(company, now, channel, sender))
    if nth <= KEPT_PER_SENDER * PAGES_PER_SENDER and channel == "email":  # an SMS has no raw copy
        page = (nth - 1) // KEPT_PER_SENDER
        store.kept(_page_key(company, now, channel, sender, page), held.reference(), KEPT_PER_SENDER, day_end)
    if nth <= KEPT_PER_SENDER and held_today <= _SENDER_TRIES:
        store.kept(_key(company, now, channel, "held-senders")[0], sender, SENDERS_LISTED, day_end)
    metrics().add_metric(name="InboundMailHeld", unit="Count", value=1)
    logger().warning(
        "inbound mail held past the day's ceiling",
        extra={"company_id": company.company_id, "channel": channel, "held_today": held_today,
               "ses_message_id": held.ses_message_id},
    )  # fmt: skip
    if held_today == 1:
        _tell_administrators(company, channel, held.recipient)


# --- staff: what was held, releasing it ----------------------------------------------------------


def held_on(
    company: Company,
    day: date | None,
    channel: str | None = None,
    address: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The day's held mail (today's, in the company's time zone, unless ``day``: one of the last
    :data:`RELEASE_DAYS`): how many, and per sender listed (only ``address``, when given) how many
    came that day, how many were held, and a page of the held messages kept for release, the
    first not empty from ``cursor`` on (a page number, as ``next_cursor`` gives it)."""
    from chalicelib.core.localization import day_start, today

    channel = channel or "email"
    if channel not in ("email", "sms"):
        raise ValidationFailed([{"field": "channel", "message": "must be one of email, sms"}])
    first = _page_number(cursor)
    now = today(company.time_zone, clock.now())
    day = day or now
    if not now - timedelta(days=RELEASE_DAYS) <= day <= now:
        raise ValidationFailed(
            [
                {
                    "field": "date",
                    "message": f"must be a day of the last {RELEASE_DAYS} days (held mail is kept no longer)",
                }
            ]
        )
    moment = day_start(day, company.time_zone)
    count, _ = store.read(_key(company, moment, channel, "held")[0])
    if address is not None:
        senders = [sender_of(address)]
    else:
        senders = store.read(_key(company, moment, channel, "held-senders")[0])[1]
    listed = []
    for sender in senders:
        received, _ = store.read(_key(company, moment, channel, f"from#{_digest(sender)}")[0])
        held, released = store.tally(_tally_key(company, moment, channel, sender))
        page, kept = _first_page(
            company, moment, channel, sender, _pages(held), max(first, _page_of(released))
        )
        listed.append(
            {
                "address": sender,
                "received": received,
                "held": held,
                "releasable": [HeldMail.of(r).ses_message_id for r in kept],
                "next_cursor": str(page + 1) if kept and page + 1 < _pages(held) else None,
            }
        )
    return {"date": day.isoformat(), "channel": channel, "held": count, "senders": listed}


def _pages(held: int) -> int:
    """How many pages a sender's ``held`` messages of a day fill (a sender held before the pages
    were counted has its first)."""
    return max(1, min(PAGES_PER_SENDER, -(-held // KEPT_PER_SENDER)))


def _page_of(released: int) -> int:
    """The page a sender's first held message not released is on (pages fill, and are released,
    in order): every page before it is empty."""
    return min(PAGES_PER_SENDER - 1, released // KEPT_PER_SENDER)


def _page_number(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or int(cursor) >= PAGES_PER_SENDER:
        raise ValidationFailed([{"field": "cursor", "message": "is not a cursor this listing gave out"}])
    return int(cursor)


def _first_page(
    company: Company, moment: datetime, channel: str, sender: str, pages: int, first: int = 0
) -> tuple[int, list[str]]:
    """(number, references) of the sender's first page of held mail from ``first`` on that still
    holds some (released pages are empty); (first, []) when none does."""
    if channel != "email":
        return first, []
    for page in range(first, pages):
        kept = store.read(_page_key(company, moment, channel, sender, page))[1]
        if kept:
            return page, kept
    return first, []


def release(company: Company, day: date, address: str) -> list[str]:
    """Record a page of the held messages of ``address`` kept for ``day`` (the first not empty:
    at most :data:`KEPT_PER_SENDER`, a call releases the next page) as if no ceiling held them
    (each once: a message released is taken off the list first); the ids of the records written."""
    from chalicelib.core.localization import day_start
    from chalicelib.records.inbound_mail import record_held

    moment = day_start(day, company.time_zone)
    sender = sender_of(address)
    tally = _tally_key(company, moment, "email", sender)
    held, released = store.tally(tally)
    page, references = _first_page(company, moment, "email", sender, _pages(held), _page_of(released))
    if not references:
        raise NotFound(f"no held mail to release from {sender} on {day}")
    key = _page_key(company, moment, "email", sender, page)
    recorded, expired = [], []
    for reference in references:
        held_mail = HeldMail.of(reference)
        # tagged first: once recorded, the raw mail is the register's and must not expire
        if not files.tag_object(held_mail.bucket, held_mail.key, RECORDED):
            expired.append(held_mail.ses_message_id)
            store.released(key, reference, tally)
        elif store.released(key, reference, tally):
            outcome = record_held(company.company_id, held_mail)
            if outcome is not None:
                recorded.append(outcome)
    if expired and not recorded:
        raise Gone(
            f"the held mail from {sender} on {day} is no longer kept: held mail is deleted"
            f" {KEPT_DAYS} days after it arrived"
        )
    return recorded


# --- the administrators' notice ------------------------------------------------------------------


def _tell_administrators(company: Company, channel: str, recipient: str) -> None:
    from chalicelib.messaging.accounts.sms_credit import tell_once_a_day

    try:
        tell_once_a_day(
            company,
            f"inbound-held-{channel}-notice",
            "held inbound mail",
            lambda group: notice_message(company, group, channel, recipient),
        )
    except Exception:  # the mail is held and counted either way; the notice is not worth a retry
        logger().exception("held inbound mail notice failed", extra={"company_id": company.company_id})


def notice_message(
    company: Company, administrators: list[str], channel: str = "email", recipient: str = ""
) -> EmailMessage:
    """The notice that mail to the company's inbound address is being held today, in the company's
    language (Spanish unless English), with the ceilings in its locale."""
    from chalicelib.core.localization import show_count
    from chalicelib.core.settings import get_settings, notice_from
    from chalicelib.messaging.addresses import inbound_address

    settings = get_settings()
    texts = _TEXTS.get(company.language, _TEXTS["es"])
    values = {
        "company": company.name,
        "address": inbound_address(company.company_id) if channel == "email" else recipient,
        "per_sender": show_count(settings.inbound_per_sender_per_day, company.locale),
        "per_client": show_count(settings.inbound_per_client_address_per_day, company.locale),
        "strangers": show_count(settings.inbound_strangers_per_company_per_day, company.locale),
        "link": f"{settings.public_base_url}/console#/inbound",
    }
    message = EmailMessage()
    message["From"] = f"Pregón <{notice_from()}>"
    message["To"] = ", ".join(administrators)
    message["Subject"] = texts[f"subject.{channel}"].format(**values)
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply comes back
    paragraphs = ("held", "kept", "look") if channel == "email" else ("held", "kept.sms", "look.sms")
    body = "\n\n".join(texts[p].format(**values) for p in (*paragraphs, "closing"))
    message.set_content(body + "\n", cte="quoted-printable")
    return message


_TEXTS = {
    "es": {
        "subject.email": "Pregón: se retiene correo recibido en {address}",
        "subject.sms": "Pregón: se retienen SMS recibidos en {address}",
        "held": (
            "Hoy {company} recibió en {address} más correo del que Pregón registra en un día: "
            "{per_sender} mensajes por remitente desconocido, {per_client} por dirección de un "
            "cliente y {strangers} de remitentes desconocidos en total. Suele ser un bucle de "
            "respuestas automáticas, un sistema mal configurado o alguien que inunda la dirección."
        ),
        "kept": (
            "Lo que pasó del límite no entra en la lista de correo sin asignar ni en el registro de los "
            "clientes, no abre tickets ni avisa a sus webhooks: queda guardado tal como llegó, y "
            "contado. El correo de sus clientes no se retiene por lo que manden los desconocidos."
        ),
        "look": "Vea qué se retuvo, de quién, y libere lo que sea de un cliente, en la consola: {link}",
        "kept.sms": (
            "Los SMS que pasaron del límite no se registran, no abren tickets, no se responden ni avisan "
            "a sus webhooks: solo se cuentan (BAJA y ALTA se atienden siempre). Los de sus clientes "
            "no se retienen por lo que manden los desconocidos."
        ),
        "look.sms": "Vea cuántos se retuvieron y de qué números con GET /inbound/held?channel=sms.",
        "closing": "Pregón envía este aviso a los administradores de {company}, una vez al día como máximo.",
    },
    "en": {
        "subject.email": "Pregón: mail received at {address} is being held",
        "subject.sms": "Pregón: SMS received at {address} are being held",
        "held": (
            "Today {company} received more mail at {address} than Pregón records in a day: "
            "{per_sender} messages per unknown sender, {per_client} per client address and "
            "{strangers} from unknown senders in all. It is usually an auto-reply loop, a "
            "misconfigured system, or someone flooding the address."
        ),
        "kept": (
            "What came past the ceiling is not in the unassigned list nor in clients' registers, opens "
            "no ticket and tells no webhook: it is kept as it arrived, and counted. Your clients' mail "
            "is not held for what strangers send."
        ),
        "look": "See what was held, from whom, and release what is a client's, in the console: {link}",
        "kept.sms": (
            "SMS past the ceiling are not logged, open no ticket, get no reply and tell no webhook: they "
            "are only counted (STOP and START are always honoured). Your clients' SMS are not held for "
            "what strangers send."
        ),
        "look.sms": "See how many were held and from which numbers with GET /inbound/held?channel=sms.",
        "closing": "Pregón sends this notice to {company}'s administrators, at most once a day.",
    },
}
