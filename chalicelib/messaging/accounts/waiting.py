"""E-mails waiting for a sender account: what an administrator (or the account's user) must see
(C1, C2, C5).

An e-mail is queued in the outbox of the account that will send it (``email:<area>``; a user's own
account, C5, is the area ``user:<id>``: an order goes out from its responsible user's account when
that works at the time it is queued). When an administrator (or the user) disables, deletes or
breaks that account afterwards, the e-mail is not lost and not moved to the area's account or
``all`` (docs/operations.md, runbook step 6): its outbox looks again every 15 minutes and sends it
once the account works again. This module says how many wait, since when, and why, so the API and
the console can tell whoever can act on it.

The count is the outbox's ``ready`` index partition (``store.communications.ready_summary``, one
Query that gives the oldest's time too): no scan, and capped at :data:`COUNT_CAP` (``more`` says
there are more, shown as "1000+").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.domain import SenderAccount
from chalicelib.messaging.accounts.email import AREAS, is_working
from chalicelib.messaging.outbox import outbox_of
from chalicelib.store import communications as comm_store
from chalicelib.store import companies as store

if TYPE_CHECKING:
    from chalicelib.tenants.auth.principal import Principal

COUNT_CAP = 1000


@dataclass(frozen=True)
class Waiting:
    """``count`` e-mails (at most :data:`COUNT_CAP`; ``more`` when there are more) wait in an
    area's outbox, the oldest since ``oldest_at``; ``account`` says why they wait: ``missing``,
    ``disabled`` or ``incomplete`` (``working``: they are only queued, e.g. behind the send-rate
    limit, and go on their own)."""

    area: str
    account: str
    count: int
    more: bool
    oldest_at: str | None
    oldest_shown: str | None
    reason: str | None = None  # why a working account's e-mails wait, when Pregón holds them

    def body(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "account": self.account,
            "count": self.count,
            "more": self.more,
            "count_shown": f"{self.count}+" if self.more else str(self.count),
            "oldest_at": self.oldest_at,
            "oldest_shown": self.oldest_shown,
            "reason": self.reason,
        }


def account_state(account: SenderAccount | None) -> str:
    if account is None:
        return "missing"
    if is_working(account):
        return "working"
    return "disabled" if not account.enabled else "incomplete"


def _shown_in(company_id: str) -> Callable[[datetime], str]:
    """Shows a time in the company's zone and locale, reading the company once, on first use (an
    overview of many areas reads it at most once, and not at all when nothing waits)."""
    from chalicelib.core.localization import show_datetime
    from chalicelib.tenants.companies import get_company

    company = functools.cache(lambda: get_company(company_id))
    return lambda moment: show_datetime(moment, company().time_zone, company().locale)


def _waiting(
    company_id: str, area: str, account: SenderAccount | None, shown_in: Callable[[datetime], str]
) -> Waiting | None:
    outbox = outbox_of("email", area)
    count, more, oldest = comm_store.ready_summary(company_id, outbox, COUNT_CAP)
    if count == 0:
        return None
    state = account_state(account)
    return Waiting(
        area,
        state,
        count,
        more,
        oldest.isoformat() if oldest is not None else None,
        shown_in(oldest) if oldest is not None else None,
        _held_by_allowance(company_id, account, shown_in) if state == "working" else None,
    )


def _held_by_allowance(
    company_id: str, account: SenderAccount | None, shown_in: Callable[[datetime], str]
) -> str | None:
    """Why an SES account's e-mails wait while its company has used up Pregón's e-mail allowance
    (one read of the allowance's item), else None."""
    from chalicelib.core import clock
    from chalicelib.messaging.accounts.email_allowance import counts_in_allowance, email_allowance, full_until

    if account is None or not counts_in_allowance(account):
        return None
    from chalicelib.messaging.accounts.email_reputation import HOURS
    from chalicelib.messaging.send_room import EMAIL_ALLOWANCE, PAUSED
    from chalicelib.store import outbox as outbox_store

    paused = outbox_store.feedback_of(company_id, EMAIL_ALLOWANCE, clock.now(), HOURS).paused_at
    if paused is not None:  # decision 0032: until the operator resumes them
        return f"{PAUSED} (paused since {shown_in(paused)})"
    until = full_until(company_id, clock.now())
    if until is None:
        return None
    per_day, _ = email_allowance(company_id)
    from chalicelib.core.localization import show_datetime_offset
    from chalicelib.tenants.companies import get_company

    # with its offset: 02:30 alone is two moments the night a clock goes back
    company = get_company(company_id)
    return (
        f"Pregón's e-mail allowance is used up ({per_day} e-mails per 24 h through Pregón's SES): "
        f"they go as room opens again, from {show_datetime_offset(until, company.time_zone, company.locale)}"
    )


def waiting_for(company_id: str, area: str) -> Waiting | None:
    """What waits in ``area``'s outbox now (None: nothing), with its account's state read now."""
    account = store.get_sender_accounts(company_id, [area]).get(area)
    return _waiting(company_id, area, account, _shown_in(company_id))


def waiting_by_area(
    company_id: str, accounts: Iterable[SenderAccount], shown_in: Callable[[datetime], str]
) -> list[Waiting]:
    """Every area with e-mails in its outbox, with or without an account (a deleted one's too):
    one Query per area of :data:`~chalicelib.messaging.accounts.email.AREAS`."""
    by_area = {a.area: a for a in accounts}
    found = (_waiting(company_id, area, by_area.get(area), shown_in) for area in AREAS)
    return [w for w in found if w is not None]


def waiting_for_users(
    company_id: str, accounts: Iterable[SenderAccount], shown_in: Callable[[datetime], str]
) -> list[Waiting]:
    """Every user's own account (C5) with e-mails in its outbox, with or without an account (a
    deleted one's too): one Query of the company's personal outboxes that have work, then one Query
    each (:func:`~chalicelib.store.outbox.outboxes_with_work`)."""
    from chalicelib.messaging.accounts.email import PERSONAL_PREFIX
    from chalicelib.store import outbox as outbox_store

    by_area = {a.area: a for a in accounts}
    prefix = outbox_of("email", PERSONAL_PREFIX)
    areas = [outbox[len("email:") :] for outbox in outbox_store.outboxes_with_work(company_id, prefix)]
    found = (_waiting(company_id, area, by_area.get(area), shown_in) for area in areas)
    return [w for w in found if w is not None]


def accounts_overview(company_id: str) -> dict[str, Any]:
    """``GET /sender-accounts``: the company's area accounts, and what waits for each area and for
    each user's own account (``user:<id>``)."""
    from chalicelib.messaging.accounts.email import PERSONAL_PREFIX, view
    from chalicelib.messaging.accounts.email_allowance import counts_in_allowance

    every = store.list_sender_accounts(company_id)
    accounts = [a for a in every if not a.area.startswith(PERSONAL_PREFIX)]
    personal = [a for a in every if a.area.startswith(PERSONAL_PREFIX)]
    shown_in = _shown_in(company_id)  # one read of the company for every area's oldest time
    waiting = waiting_by_area(company_id, accounts, shown_in)
    waiting += waiting_for_users(company_id, personal, shown_in)
    reputation = None
    if any(counts_in_allowance(a) for a in every):  # its own rates on Pregón's SES (decision 0032)
        from chalicelib.messaging.accounts.email_reputation import reputation_of

        reputation = reputation_of(company_id, shown_in)
    return {
        "items": [view(a) for a in accounts],
        "waiting": [w.body() for w in waiting],
        "ses_reputation": reputation,
    }


def account_with_waiting(company_id: str, area: str) -> dict[str, Any]:
    """``GET /users/{user_id}/sender-account``: the account (404 when there is none) and what waits
    in its outbox."""
    import dataclasses

    from chalicelib.messaging.accounts.email import get_account

    account = get_account(company_id, area)
    waiting = waiting_for(company_id, area)
    return {**dataclasses.asdict(account), "waiting": waiting.body() if waiting else None}


def waiting_of(company_id: str, area: str) -> dict[str, Any]:
    """``GET /users/{user_id}/sender-account/waiting``: what waits for the account, with it or not
    (a deleted account's e-mails too, which its user cannot see in the account's 404)."""
    from chalicelib.messaging.accounts.email import check_area

    check_area(area)
    waiting = waiting_for(company_id, area)
    return {"area": area, "waiting": waiting.body() if waiting else None}


def save_account(
    company_id: str,
    area: str,
    fields: dict[str, Any],
    *,
    caller: Principal | None = None,
    if_match: tuple[int, ...] | None = None,
) -> dict[str, Any]:
    """``PUT /sender-accounts/{area}`` and ``PUT /users/{user_id}/sender-account`` (``caller``: whose
    rights a personal account's From is checked against): save the account, and say what waits in
    its outbox (a save that disables it leaves them waiting; the console warns before)."""
    import dataclasses

    from chalicelib.messaging.accounts.email import save_sender_account

    saved = save_sender_account(company_id, area, fields, caller=caller, if_match=if_match)
    waiting = waiting_for(company_id, area)
    return {**dataclasses.asdict(saved), "waiting": waiting.body() if waiting else None}


def delete_account(company_id: str, area: str) -> dict[str, Any]:
    """``DELETE /sender-accounts/{area}`` and ``DELETE /users/{user_id}/sender-account``: what it
    leaves waiting for the area's (or the user's) next account."""
    from chalicelib.messaging.accounts.email import delete_sender_account

    delete_sender_account(company_id, area)
    waiting = _waiting(company_id, area, None, _shown_in(company_id))
    return {"area": area, "waiting": waiting.body() if waiting else None}


#: The 503 of a cancel whose webhook events the queue refused: what was told is cancelled, the rest wait.
CANCEL_NOT_ANNOUNCED = (
    "not all were cancelled: the company's systems could not be told yet (their event queue refused it), "
    "so those e-mails still wait: try again in a minute"
)
# E-mails cancelled per batch: one read of the ready index, one claim and one outcome transaction.
CANCEL_BATCH = 25


@dataclass(frozen=True)
class Cancelled:
    """``cancelled`` e-mails recorded failed; ``left`` still wait (held by a drain, or in a
    retry's wait: a later cancel takes them), counted as :class:`Waiting` counts."""

    area: str
    cancelled: int
    left: Waiting | None

    def body(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "cancelled": self.cancelled,
            "waiting": self.left.body() if self.left else None,
        }


def cancel_waiting(company_id: str, area: str, user_id: str) -> Cancelled:
    """An administrator gives up on the e-mails waiting for ``area``'s account (missing, disabled
    or incomplete): each is recorded ``failed`` with the reason in its history, and counted in its
    send job and monitor as any failure. They are taken as a drain takes messages (a conditional
    claim each, then their outcomes, 25 to a transaction with the counters): one a drain holds is
    left to it, and a crash between the claim and the outcome leaves the message queued again when
    its lease ends, never half-written. Each to a client is told to the company's webhooks first
    (``message.failed`` with ``reason: "cancelled"``); should their queue refuse, the e-mails not
    told are given back to wait and this raises ``ServiceUnavailable`` (503, Retry-After) after
    recording the rest. 409 while the account works: its e-mails are not waiting."""
    from chalicelib.core import clock
    from chalicelib.core.errors import Conflict, ServiceUnavailable
    from chalicelib.messaging.accounts.email import check_area
    from chalicelib.messaging.delivery import lease
    from chalicelib.messaging.webhooks.service import CANCELLED, announce_failed

    check_area(area)
    account = store.get_sender_accounts(company_id, [area]).get(area)
    if account is not None and is_working(account):
        raise Conflict(
            f"the sender account {area} works: its queued e-mails are not waiting for it and go by themselves"
        )
    outbox = outbox_of("email", area)
    reason = (
        f"cancelled by {user_id} while the sender account {area} was {account_state(account)}: "
        "it never went out"
    )
    cancelled = 0
    while True:
        now = clock.now()
        ready = comm_store.ready_messages(company_id, outbox, now, CANCEL_BATCH)
        if not ready:
            break
        claimed = comm_store.claim(ready, now, lease())
        outcomes = [replace(m, state="failed", error=reason) for m in claimed]
        # Announced before they are recorded (``message.failed``, reason "cancelled"); one whose
        # event the queue refused is given back to wait, and the request answers 503 once the
        # rest are recorded: cancelling again tells it, under the same event id.
        refused, error = announce_failed(company_id, outcomes, now, reason=CANCELLED)
        recorded = [o for o in outcomes if o.communication_id not in refused]
        cancelled += len(comm_store.record_outcomes(recorded, now))
        if error is not None:
            comm_store.give_back(
                company_id, outbox, [m for m in claimed if m.communication_id in refused], now + lease(), now
            )
            raise ServiceUnavailable(CANCEL_NOT_ANNOUNCED, retry_after=60) from error
        if not claimed:
            break  # what is left is someone else's
    return Cancelled(area, cancelled, _waiting(company_id, area, account, _shown_in(company_id)))
