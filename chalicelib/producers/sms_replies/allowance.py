"""How many automatic SMS replies one number may cause in a day (SMS pumping, auto-responder loops).

Every automatic reply is an SMS the company pays for, and whoever texts its number decides how
many it sends: a script texting "SALDO" 500 times, or another company's auto-responder answering
ours, would otherwise cost 500 SMS a day (or never stop). So each (company, sender number) gets at
most :data:`AUTO_REPLIES_PER_NUMBER_PER_DAY` keyword replies (balance, ticket, ticket refused) and,
apart from them, :data:`HELP_REPLIES_PER_NUMBER_PER_DAY` HELP replies per day: the company's day
(its time zone, as every "day" in Pregón), and the day the SMS was received, not the day it is
handled (SNS may deliver a notification again after midnight). The message received is still
logged and a ticket still opened; only the reply is not sent.

Counted in ``store.rate_limits`` by one conditional write per reply, keyed by a digest of the
number (never the number itself), with the inbound message id as the thing counted: concurrent
deliveries never pass the limit, and SNS delivering one notification twice counts it once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

#: Keyword replies per (company, sender) per day. A client asks for the balance or opens a
#: ticket a few times a day at most; the ticket rule's default (3 tickets and the polite refusal
#: of a 4th) fits, with one to spare. A loop between two auto-responders stops here.
AUTO_REPLIES_PER_NUMBER_PER_DAY = 5
#: HELP replies per (company, sender) per day, apart from the keyword replies: carriers require
#: HELP to be answered, also to a number whose keyword replies are used up (or that texted STOP),
#: but the text never changes, so a second answer covers a lost first and more is a flood.
HELP_REPLIES_PER_NUMBER_PER_DAY = 2


def allowance_of(help_reply: bool) -> int:
    """The day's allowance of the kind of reply."""
    return HELP_REPLIES_PER_NUMBER_PER_DAY if help_reply else AUTO_REPLIES_PER_NUMBER_PER_DAY


def within_daily_allowance(
    company_id: str, sender: str, inbound_id: str, *, received_at: datetime, help_reply: bool
) -> bool:
    """Count the reply to ``inbound_id`` against the sender's allowance for the company's day in
    which the SMS was received (``received_at``, aware); False, nothing counted, when that day's
    allowance of that kind of reply is used up. The same inbound id counts once."""
    from chalicelib.store import rate_limits

    key, member, day_end = _counted_as(company_id, sender, inbound_id, received_at, help_reply)
    return rate_limits.hit_once(key, member, allowance_of(help_reply), day_end)


def give_back(
    company_id: str, sender: str, inbound_id: str, *, received_at: datetime, help_reply: bool
) -> None:
    """Uncount the reply to ``inbound_id`` (:func:`within_daily_allowance` counted it) when it was
    not written after all (it lost to the client's erasure): the number keeps the reply it did not
    get. Counted before the write and given back after it lost, never the other way round, so
    replies written at once never pass the allowance."""
    from chalicelib.store import rate_limits

    key, member, _ = _counted_as(company_id, sender, inbound_id, received_at, help_reply)
    rate_limits.give_back_once(key, member)


def _counted_as(
    company_id: str, sender: str, inbound_id: str, received_at: datetime, help_reply: bool
) -> tuple[str, str, datetime]:
    """The day's counter of the sender's replies of that kind, the member the reply is, the day's end."""
    from chalicelib.core.localization import day_start, today
    from chalicelib.tenants.companies import company_time_zone

    time_zone = company_time_zone(company_id)
    day = today(time_zone, received_at)
    kind = "sms-help-replies" if help_reply else "sms-auto-replies"
    digest = hashlib.sha256(sender.encode("utf-8")).hexdigest()[:24]
    key = f"{company_id}#{kind}#{digest}#{day.isoformat()}"
    member = hashlib.sha256(inbound_id.encode("utf-8")).hexdigest()[:24]
    day_end = day_start(day + timedelta(days=1), time_zone)  # the company's next midnight, in UTC
    return key, member, day_end
