"""Configure sender accounts and pick the one that sends a message.

An account belongs to an area (tracking, tickets, invoices, ...); ``all`` is the fallback for
any area without an account of its own. Passwords are write-only: encrypted with KMS on the
way in, decrypted only to open a connection, and never part of any view.

A password belongs to its destination, ``smtp://<user>@<host>:<port>``: changing the account's
host, port or user removes the stored password (it must be set again for the new server), and the
KMS encryption context names the destination, so a ciphertext cannot be decrypted for any other.
Turning TLS off (STARTTLS or TLS to none) removes it too: it would otherwise go out in clear.

A personal account (C5) speaks as its owner: its From is the owner's own address (see
:func:`own_address`), unless an administrator allowed another one (a shared role mailbox, say).
That is checked when it is saved and again whenever it sends (:func:`from_problem`): an account
saved before the rule, or whose owner's address changed in the staff directory since, fails its
messages with the reason rather than send as someone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.channels.destinations import host_problem, is_host_name_or_address
from chalicelib.core import clock
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.names import INVISIBLE, INVISIBLE_MESSAGE
from chalicelib.core.secrets import decrypt_password, encrypt_secret
from chalicelib.store import companies as store
from chalicelib.store.fields import record_from

if TYPE_CHECKING:
    from chalicelib.tenants.auth.principal import Principal

AREAS = ("all", "tracking", "tickets", "invoices", "payments", "clients", "reminders", "documents")
KINDS = ("smtp", "ses")
ENCRYPTIONS = ("none", "starttls", "tls")
FALLBACK_AREA = "all"
_PASSWORD_PURPOSE = "sender-password"  # noqa: S105  # nosec B105 # a KMS context label, not a secret


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
    # A personal account whose From is not its owner's own address: the administrator who allowed it.
    from_allowed_by: str | None = None
    # The version people edit it at (the API answers it as the ETag).
    version: int = 0


PERSONAL_PREFIX = "user:"
_USER_ID = re.compile(r"^[^\x00-\x1f\x7f/]{1,128}$")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def personal_area(user_id: str) -> str:
    """The key of a user's own account (C5): orders go out from the responsible user's account,
    reminders from the collection agent's, falling back to the area's and then `all`."""
    if not _USER_ID.match(user_id):
        raise ValidationFailed([{"field": "user_id", "message": "is not a valid user id"}])
    return PERSONAL_PREFIX + user_id


def owner_of(area: str) -> str | None:
    """The user whose personal account ``area`` is; None for an area's account."""
    return area[len(PERSONAL_PREFIX) :] if area.startswith(PERSONAL_PREFIX) else None


def same_address(one: str | None, other: str | None) -> bool:
    return bool(one and other) and str(one).strip().lower() == str(other).strip().lower()


def own_address(company_id: str, user_id: str, *, claimed: str | None = None) -> str | None:
    """A user's own e-mail address: the staff directory's (U1), else ``claimed`` (the token's
    ``email`` claim when the user saves their own account; the address recorded then, when it
    sends), else the user id itself when it is an address (identity providers that sign users in
    by e-mail); None when none is known."""
    from chalicelib.tenants.staff import users_by_id

    entry = users_by_id(company_id, [user_id]).get(user_id)
    for address in (entry.email if entry else None, claimed, user_id):
        if address and _ADDRESS.match(address.strip()):
            return address.strip()
    return None


def _personal_from(
    company_id: str, area: str, from_address: str, caller: Principal | None, before: SenderAccount | None
) -> tuple[str | None, str | None]:
    """Whether ``caller`` may give the personal account ``area`` this From (C5): the owner's own
    address, for anyone who may manage the account; any other only for an administrator, who is
    then recorded as having allowed it (or kept as allowed, while it stays the same address).
    Without a caller (the company's own setup code) only the owner's own address is accepted.
    Returns (the owner's address, who allowed another From); 422 on ``from_address`` otherwise."""
    from chalicelib.tenants.staff import ADMIN_LEVEL

    owner = area[len(PERSONAL_PREFIX) :]
    claimed = caller.email if caller is not None and caller.subject == owner else None
    own = own_address(company_id, owner, claimed=claimed)
    if same_address(from_address, own):
        return own, None
    if caller is not None and caller.kind == "user" and caller.level == ADMIN_LEVEL:
        return own, caller.subject
    if before is not None and before.from_allowed_by and same_address(before.from_address, from_address):
        return own, before.from_allowed_by  # the user keeps what an administrator allowed
    message = (
        f"must be the user's own address ({own}); only an administrator may set another one"
        if own
        else "must be the user's own address, and the staff directory has none: an administrator "
        "sets the user's e-mail, or allows this one"
    )
    raise ValidationFailed([{"field": "from_address", "message": message}])


def from_problem(account: SenderAccount) -> str | None:
    """Why a personal account may not send as its From now (C5), or None: it may. An account of an
    area, and a From an administrator allowed, may; else the From must be the owner's own address
    as the staff directory has it today (or as recorded when the account was saved)."""
    owner = owner_of(account.area)
    if owner is None or account.from_allowed_by:
        return None
    own = own_address(account.company_id, owner, claimed=account.owner_address)
    if same_address(account.from_address, own):
        return None
    if own is None:
        return (
            f"the personal sender account of {owner!r} sends as {account.from_address}, and the staff "
            "directory has no address of the user's own: an administrator sets it, or allows this one"
        )
    return (
        f"the personal sender account of {owner!r} sends as {account.from_address}, not as the user's "
        f"own address {own}: the user saves it again with their own, or an administrator allows this one"
    )


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


def save_sender_account(
    company_id: str,
    area: str,
    fields: dict[str, Any],
    *,
    caller: Principal | None = None,
    if_match: tuple[int, ...] | None = None,
) -> SenderAccountView:
    """Create or replace an area's account settings. The password is set separately; it is kept
    while host, port and user stay the same, and removed when any of them changes. A personal
    account's From is checked against its ``caller``'s rights (C5): the user or an administrator
    through the API; without one, only the owner's own address. With ``if_match`` (the versions an
    ``If-Match`` names), a 412 when someone else saved the account since (or deleted it and set it
    up again)."""
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
    before = store.get_sender_accounts(company_id, [area]).get(area)
    owner_address = allowed_by = None
    if owner_of(area) is not None:
        owner_address, allowed_by = _personal_from(
            company_id, area, str(fields["from_address"]), caller, before
        )
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
        owner_address=owner_address,
        from_allowed_by=allowed_by,
    )
    moved = (
        before is None
        or before.kind != account.kind
        or destination_of(before) != destination_of(account)
        or encryption_dropped(before.encryption, account.encryption)
    )
    if account.kind == "ses":
        from chalicelib.messaging.accounts.domains import save_on_domain

        return view(save_on_domain(account, clear_password=moved, expected=if_match))
    saved = store.save_sender_account(account, clear_password=moved, expected=if_match)
    if saved is None:
        raise edited_meanwhile("this sender account")
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
