"""Pregón's allowance of e-mails through its own SES (docs/operations.md, "How much a company may
send on Pregón's bill"; decision 0003).

Every company's "ses" sender accounts send through Pregón's one SES account, whose daily quota
and reputation all companies share: one tenant (a stolen API key, a hostile administrator) could
otherwise spend them and stop every other company's mail. So its e-mails through SES count in one
sliding 24 hours (``send_room``'s :data:`EMAIL_ALLOWANCE` rate item), at most the operator's count
for the company or the deployment's ``PREGON_EMAIL_ALLOWANCE_PER_DAY``. Beyond it they wait in the
outbox, never dropped; its administrators are told once a day. A company's own SMTP account is
its provider's to limit (C2), not Pregón's.

The operator's count is kept on the rate item itself (``store.outbox.set_rate_limit``): the
reservation reads that item anyway, so the allowance costs no read more per hand-off.

    email_limits(account)                        # (C2,) + the allowance for an "ses" account
    set_email_allowance("co-1", 20_000, by="operator")   # None: the default again
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import ValidationFailed
from chalicelib.messaging.outbox import outbox_of
from chalicelib.messaging.send_room import EMAIL_ALLOWANCE, RateLimit
from chalicelib.store import outbox as outbox_store

MAX_EMAIL_ALLOWANCE = 10_000_000
HOURS = 24


def counts_in_allowance(account: SenderAccount) -> bool:
    """Whether the account's e-mails go through Pregón's SES (and so count in its allowance)."""
    return account.kind == "ses"


def allowance_limit() -> RateLimit:
    """The allowance as a drain counts it: the deployment's default, the company's stored count first."""
    from chalicelib.core.settings import get_settings

    default = get_settings().email_allowance_per_day
    return RateLimit(EMAIL_ALLOWANCE, default, HOURS, allowance=True, stored=True)


def email_limits(account: SenderAccount) -> tuple[RateLimit, ...]:
    """Every limit the account's e-mails count in, a test's too: its own C2 rate limit, and
    Pregón's daily allowance when it sends through Pregón's SES."""
    own = (
        (
            RateLimit(
                outbox_of("email", account.area), account.rate_limit_count, account.rate_limit_hours or 1
            ),
        )
        if account.rate_limit_count
        else ()
    )
    return (*own, *((allowance_limit(),) if counts_in_allowance(account) else ()))


def email_allowance(company_id: str) -> tuple[int, bool]:
    """The e-mails a day in force for the company, and whether that is the default."""
    stored = outbox_store.rate_limit_of(company_id, EMAIL_ALLOWANCE)
    return (allowance_limit().count, True) if stored is None else (stored, False)


def full_until(company_id: str, now: datetime) -> datetime | None:
    """When the company's allowance has room again, while it is used up; None while it has room."""
    limit = allowance_limit()
    return outbox_store.rate_room_at(company_id, limit.key, now, limit.hours, limit.count, stored=True)


def set_email_allowance(company_id: str, per_day: Any, *, by: str, check_only: bool = False) -> int:
    """The operator sets how many e-mails a day the company may send through Pregón's SES (None:
    the deployment's default again); 422 naming ``emails_per_day`` unless a whole number from 0
    (none) to :data:`MAX_EMAIL_ALLOWANCE`, 404 for a company that does not exist. Returns the
    allowance now in force. Logged with ``by``."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.observability import logger
    from chalicelib.tenants.companies import company_exists

    whole = isinstance(per_day, int) and not isinstance(per_day, bool)
    if per_day is not None and not (whole and 0 <= per_day <= MAX_EMAIL_ALLOWANCE):
        raise ValidationFailed(
            [
                {
                    "field": "emails_per_day",
                    "message": f"must be a whole number from 0 to {MAX_EMAIL_ALLOWANCE}",
                }
            ]
        )
    if not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    if check_only:  # (the other allowance is checked, then both are written)
        return 0
    outbox_store.set_rate_limit(company_id, EMAIL_ALLOWANCE, per_day)
    in_force = allowance_limit().count if per_day is None else int(per_day)
    logger().info(
        "e-mail daily allowance set",
        extra={"company_id": company_id, "by": by, "emails_per_day": per_day, "in_force": in_force},
    )
    return in_force
