"""Configure sender accounts and pick the one that sends a message.

An account belongs to an area (tracking, tickets, invoices, ...); ``all`` is the fallback for
any area without an account of its own. Passwords are write-only: encrypted with KMS on the
way in, decrypted only to open a connection, and never part of any view.

A password belongs to its destination, ``smtp://<user>@<host>:<port>``: changing the account's
host, port or user removes the stored password (it must be set again for the new server), and the
KMS encryption context names the destination, so a ciphertext cannot be decrypted for any other.
Turning TLS off (STARTTLS or TLS to none) removes it too: it would otherwise go out in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.channels.destinations import host_problem, is_host_name_or_address
from chalicelib.core import clock
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed, NotFound, ValidationFailed
from chalicelib.core.names import INVISIBLE, INVISIBLE_MESSAGE
from chalicelib.core.secrets import decrypt_password, encrypt_secret
from chalicelib.store import companies as store
from chalicelib.store.fields import record_from

AREAS = ("all", "tracking", "tickets", "invoices", "payments", "clients", "reminders", "documents")
KINDS = ("smtp", "ses")
ENCRYPTIONS = ("none", "starttls", "tls")
FALLBACK_AREA = "all"
_PASSWORD_PURPOSE = "sender-password"  # noqa: S105 - a KMS context label, not a secret


@dataclass(frozen=True)
class SenderAccountView:
    """What any API may show of an account: everything but the password."""

    area: str
    kind: str
    display_name: str
    from_address: str
    reply_to: str | None
    smtp_host: str | None
    smtp_port: int | None
    encryption: str | None
    username: str | None
    ses_identity: str | None
    enabled: bool
    rate_limit: dict[str, int] | None
    password_set: bool
    working: bool
    updated_at: str


PERSONAL_PREFIX = "user:"
_USER_ID = re.compile(r"^[^\x00-\x1f\x7f/]{1,128}$")


def personal_area(user_id: str) -> str:
    """The key of a user's own account (C5): orders go out from the responsible user's account,
    reminders from the collection agent's, falling back to the area's and then `all`."""
    if not _USER_ID.match(user_id):
        raise ValidationFailed([{"field": "user_id", "message": "is not a valid user id"}])
    return PERSONAL_PREFIX + user_id


def destination_of(account: SenderAccount) -> str:
    """Where the account's password is sent: ``smtp://<user>@<host>:<port>`` (the KMS context)."""
    return f"smtp://{account.username or ''}@{(account.smtp_host or '').lower()}:{account.smtp_port or ''}"


def encryption_dropped(before: str | None, after: str | None) -> bool:
    """Whether a change turns TLS off (``starttls`` or ``tls`` to ``none``): the stored password
    would then cross the network in clear, to whatever server answers for the host name (no
    certificate names it any more), so it is removed like a change of destination."""
    return before in ("starttls", "tls") and after not in ("starttls", "tls")


def check_area(area: str) -> None:
    """An area's key (``all``, ``tracking``, ...) or a user's personal one; else 422 naming it."""
    if area.startswith(PERSONAL_PREFIX):
        personal_area(area[len(PERSONAL_PREFIX) :])
        return
    if area not in AREAS:
        raise ValidationFailed([{"field": "area", "message": f"must be one of {', '.join(AREAS)}"}])


def is_working(account: SenderAccount) -> bool:
    """Enabled and complete: SMTP with host, port (and a password when it logs in), or an SES identity."""
    if not account.enabled:
        return False
    if account.kind == "ses":
        return bool(account.ses_identity)
    if not account.smtp_host or not account.smtp_port:
        return False
    return not account.username or account.password_ciphertext is not None


def view(account: SenderAccount) -> SenderAccountView:
    return record_from(
        account,
        SenderAccountView,
        rate_limit=(
            {"messages": account.rate_limit_count, "hours": account.rate_limit_hours or 1}
            if account.rate_limit_count
            else None
        ),
        password_set=account.password_ciphertext is not None,
        working=is_working(account),
        updated_at=account.updated_at.isoformat(),
    )


def list_accounts(company_id: str) -> list[SenderAccountView]:
    """The company's accounts per area (users' personal accounts are listed per user)."""
    return [view(a) for a in store.list_sender_accounts(company_id) if not a.area.startswith(PERSONAL_PREFIX)]


def get_account(company_id: str, area: str) -> SenderAccountView:
    check_area(area)
    account = store.get_sender_accounts(company_id, [area]).get(area)
    if account is None:
        raise NotFound("there is no such sender account")
    return view(account)


def save_sender_account(company_id: str, area: str, fields: dict[str, Any]) -> SenderAccountView:
    """Create or replace an area's account settings. The password is set separately; it is kept
    while host, port and user stay the same, and removed when any of them changes."""
    check_area(area)
    kind = fields.get("kind", "smtp")
    errors: list[dict[str, str]] = []
    if kind not in KINDS:
        errors.append({"field": "kind", "message": f"must be one of {', '.join(KINDS)}"})
    if INVISIBLE.search(str(fields.get("display_name") or "")):
        errors.append({"field": "display_name", "message": INVISIBLE_MESSAGE})
    if kind == "smtp":
        host = fields.get("smtp_host")
        if not host:
            errors.append({"field": "smtp_host", "message": "is required for an SMTP account"})
        elif not is_host_name_or_address(host):
            errors.append({"field": "smtp_host", "message": "must be a host name or an IP address"})
        if not fields.get("smtp_port"):
            errors.append({"field": "smtp_port", "message": "is required for an SMTP account"})
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in fields.get("username") or ""):
            errors.append({"field": "username", "message": "must not contain control characters"})
        if fields.get("encryption", "none") not in ENCRYPTIONS:
            errors.append({"field": "encryption", "message": f"must be one of {', '.join(ENCRYPTIONS)}"})
    if kind == "ses" and not fields.get("ses_identity"):
        errors.append({"field": "ses_identity", "message": "is required for an SES account"})
    rate_limit = fields.get("rate_limit") or {}
    if rate_limit and (int(rate_limit.get("messages") or 0) < 1 or int(rate_limit.get("hours") or 0) < 1):
        errors.append({"field": "rate_limit", "message": "messages and hours must both be at least 1"})
    if errors:
        raise ValidationFailed(errors)
    if kind == "ses":  # issue 10: only from a domain the company registered and SES verified
        from chalicelib.messaging.accounts.domains import require_verified_domain

        require_verified_domain(company_id, fields["ses_identity"], str(fields.get("from_address") or ""))
    if kind == "smtp":  # Q7: never a server on a private, link-local or loopback address
        problem = host_problem(fields["smtp_host"], int(fields["smtp_port"]))
        if problem:
            raise ValidationFailed([{"field": "smtp_host", "message": problem}])
    smtp = kind == "smtp"
    account = SenderAccount(
        company_id=company_id,
        area=area,
        kind=kind,
        display_name=fields["display_name"],
        from_address=fields["from_address"],
        reply_to=fields.get("reply_to"),
        enabled=bool(fields.get("enabled", True)),
        updated_at=clock.now(),
        smtp_host=fields.get("smtp_host") if smtp else None,
        smtp_port=int(fields["smtp_port"]) if smtp else None,
        encryption=fields.get("encryption", "none") if smtp else None,
        username=fields.get("username") if smtp else None,
        ses_identity=fields.get("ses_identity") if not smtp else None,
        rate_limit_count=int(rate_limit["messages"]) if rate_limit else None,
        rate_limit_hours=int(rate_limit["hours"]) if rate_limit else None,
    )
    before = store.get_sender_accounts(company_id, [area]).get(area)
    moved = (
        before is None
        or before.kind != account.kind
        or destination_of(before) != destination_of(account)
        or encryption_dropped(before.encryption, account.encryption)
    )
    if account.kind == "ses":
        from chalicelib.messaging.accounts.domains import save_on_domain

        save_on_domain(account, clear_password=moved)
    else:
        store.save_sender_account(account, clear_password=moved)
    saved = store.get_sender_accounts(company_id, [area])[area]
    return view(saved)


def set_sender_password(company_id: str, area: str, password: str) -> None:
    """Encrypt and store an account's password. It can be replaced, never read back."""
    check_area(area)
    account = store.get_sender_accounts(company_id, [area]).get(area)
    if account is None:
        raise NotFound(f"there is no sender account for the area {area!r}; create it first")
    ciphertext = encrypt_secret(
        password,
        company_id=company_id,
        purpose=f"{_PASSWORD_PURPOSE}:{area}",
        destination=destination_of(account),
    )
    if not store.set_sender_password(company_id, area, ciphertext, clock.now()):
        raise NotFound(f"there is no sender account for the area {area!r}; create it first")


def delete_sender_account(company_id: str, area: str) -> None:
    check_area(area)
    store.delete_sender_account(company_id, area)


def account_for(company_id: str, area: str, *, personal_user: str | None = None) -> SenderAccount | None:
    """The working account that sends for ``area``: the user's own when one is named and works
    (C5), else the area's own, else the ``all`` fallback (C1)."""
    areas = [area, FALLBACK_AREA]
    if personal_user:
        areas.insert(0, personal_area(personal_user))
    accounts = store.get_sender_accounts(company_id, set(areas))
    for candidate in (accounts.get(a) for a in areas):
        if candidate is not None and is_working(candidate):
            return candidate
    return None


def password_of(account: SenderAccount) -> str | None:
    """Decrypt an account's password to open a connection. Never log or return it.

    A password set for another destination (the account was changed meanwhile) does not decrypt:
    that is a ``DeliveryFailed`` asking for the password again, and nothing is sent anywhere."""
    if account.password_ciphertext is None:
        return None
    return decrypt_password(
        account.password_ciphertext,
        company_id=account.company_id,
        purpose=f"{_PASSWORD_PURPOSE}:{account.area}",
        destination=destination_of(account),
        moved=DeliveryFailed(
            "the stored password was set for another server (host, port or user); set the password again",
            field="password",
            transient=True,  # like a refused login: the account's messages wait until it is fixed
        ),
    )
