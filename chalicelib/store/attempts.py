"""Wrong password attempts and lockouts, per company and per user (``password-attempts``).

A failure is counted atomically (``ADD``) into the window it falls in; a scope whose window
reaches the limit gets a lock item saying until when it is locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.store.models import PasswordAttemptModel


def locked_until(company_id: str, scopes: list[str], now: datetime) -> datetime | None:
    """The latest lock among ``scopes`` that is still in force at ``now``, else None."""
    keys = [(company_id, f"{scope}#lock") for scope in scopes]
    locks = [item.locked_until for item in PasswordAttemptModel.batch_get(keys) if item.locked_until]
    current = [until for until in locks if until > now]
    return max(current) if current else None


def count_failure(company_id: str, scope: str, window: str, expires: datetime) -> int:
    """Count one failure of ``scope`` in ``window``; returns the window's failures so far."""
    item = PasswordAttemptModel(company_id, f"{scope}#{window}")
    item.update(actions=[PasswordAttemptModel.failures.add(1), PasswordAttemptModel.expires.set(expires)])
    return int(item.failures or 0)


def lock(company_id: str, scope: str, until: datetime) -> None:
    """Lock ``scope`` out until ``until``."""
    PasswordAttemptModel(company_id, f"{scope}#lock").update(
        actions=[
            PasswordAttemptModel.locked_until.set(until),
            PasswordAttemptModel.expires.set(until + timedelta(days=1)),
        ]
    )
