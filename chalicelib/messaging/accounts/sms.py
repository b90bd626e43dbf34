"""A company's SMS settings (C6): provider, switch, phone region and the write-only passwords.

    assign_sender_ids("co-1", ["CableSur"], by="cli:ana")  # the operator's: the only ones allowed
    save_sms_settings("co-1", {"enabled": True, "provider": "sns", "sender_id": "CableSur"})
    set_bulk_password("co-1", "una clave larga")
    sms_sender("co-1").send(OutgoingChannelMessage("+5491159876543", "Hola"))  # Conflict (409) while off
    verify_bulk_password("co-1", typed)                  # Forbidden (403) unless it matches

* The sender ID and the two-way number are Pregón's operator's to give (they show, and receive,
  under Pregón's AWS account): an administrator may choose only an assigned one (422 naming it),
  and an SMS carries only an assigned sender ID (none otherwise: the carrier's default sender).
* Switching the service off keeps everything; the sender is refused until it is on again.
* Saving is a merge: fields left out keep their value, ``null`` clears an optional one. The
  provider fields of both providers are kept, so switching provider back and forth loses nothing.
* The gateway password is encrypted with KMS under the context ``{company_id, purpose:
  "sms-gateway-password", destination: "<base_url> as <username>"}`` and decrypted only to build
  the sender. It can only be set once base_url and username are, and changing either removes it:
  a password is never sent to a gateway it was not set for.
* The SMS Masivos password is encrypted the same way under ``{company_id, purpose:
  "sms-masivos-password", destination: "SMS Masivos as <masivos_username>"}``: it can only be set
  once ``masivos_username`` is, and changing the user removes it. SMS Masivos' URL is not a tenant
  setting (``SMS_MASIVOS_URL``, the deployment's), so the password goes nowhere a tenant chooses.
* The bulk-send password is only ever compared, so it is hashed, not encrypted: scrypt (stdlib
  ``hashlib``, memory-hard) with a random 16-byte salt, N=2^14, r=8, p=5 — one of OWASP's
  equivalent scrypt settings, chosen for its 16 MiB of memory (a Lambda-friendly footprint;
  about 0.25 s per check). The parameters are stored with the hash so they can be raised later.
  No new dependency (argon2-cffi would add a native wheel to every Lambda package).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.channels.base import Channel, OutgoingChannelMessage
from chalicelib.channels.sms import PROVIDERS, SMS_TYPES, sms_sender_for
from chalicelib.core import clock
from chalicelib.core.domain import SmsSettings
from chalicelib.core.errors import (
    Conflict,
    DeliveryFailed,
    Forbidden,
    TooManyRequests,
    ValidationFailed,
    edited_meanwhile,
)
from chalicelib.core.secrets import decrypt_password, encrypt_secret, same_secret
from chalicelib.messaging.outbox import outbox_of
from chalicelib.messaging.send_room import (
    SMS_ALLOWANCE,
    RateLimit,
    Room,
    give_room_back,
    reserve_room,
    when_room_opens,
)
from chalicelib.store import sms as store
from chalicelib.store.fields import record_from

GATEWAY_PASSWORD_PURPOSE = "sms-gateway-password"  # noqa: S105  # nosec B105 # a KMS context label, not a secret
MASIVOS_PASSWORD_PURPOSE = "sms-masivos-password"  # noqa: S105  # nosec B105 # a KMS context label, not a secret
DEFAULT_TEST_TEXT = "Mensaje de prueba de Pregón."
BULK_PASSWORD_MIN_LENGTH = 8
# Guessing the bulk-send password: this many wrong ones in a window lock bulk sends (429) for a while,
# a user's own after 5, the whole company's after 10 (so one user cannot lock out everyone at once).
BULK_PASSWORD_ATTEMPTS = {"user": 5, "company": 10}
BULK_PASSWORD_WINDOW = timedelta(minutes=15)
BULK_PASSWORD_LOCKOUT = timedelta(minutes=15)
MAX_PASSWORD_LENGTH = 512
MAX_SMS_TEXT = 1600
# The most numbers or sender IDs one assignment gives a company, whether the operator API or the
# ops command asks (one rule for both): the numbers' claims are written in one DynamoDB transaction,
# which holds at most 100 items (the settings, each number's claim, each withdrawn one's deletion).
MAX_ASSIGNED = 20
FIELDS = (
    "enabled",
    "provider",
    "sender_id",
    "sms_type",
    "base_url",
    "username",
    "masivos_username",
    "default_region",
    "inbound_number",
    "help_text",
    "low_credit_threshold",
    "rate_limit",
)
MAX_HELP_TEXT = 480
# SMS Masivos: the administrators are warned once fewer SMS than this are left (a company setting).
DEFAULT_LOW_CREDIT_THRESHOLD = 100
MAX_LOW_CREDIT_THRESHOLD = 1_000_000

# scrypt parameters of new hashes (see the module docstring); stored with each hash.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 5
_SCRYPT_SALT_BYTES, _SCRYPT_KEY_BYTES = 16, 32
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9-]{1,11}$")
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")


@dataclass(frozen=True)
class SmsSettingsView:
    """What any API may show of the SMS settings: everything but the two passwords."""

    enabled: bool
    provider: str
    sender_id: str | None
    sms_type: str
    base_url: str | None
    username: str | None
    default_region: str
    password_set: bool
    bulk_password_set: bool
    ready: bool
    updated_at: str | None
    inbound_number: str | None = None
    help_text: str | None = None
    assigned_sender_ids: tuple[str, ...] = ()
    masivos_username: str | None = None
    masivos_password_set: bool = False
    low_credit_threshold: int = DEFAULT_LOW_CREDIT_THRESHOLD
    # C2: ``{"messages": N, "hours": H}`` or None (no limit), as e-mail accounts show it
    rate_limit: dict[str, int] | None = None
    # SMS a day through Pregón's SNS (the operator's allowance); None on the company's own providers
    daily_allowance: int | None = None
    # The version an administrator edits them at (the answers' ETag, not a field of theirs).
    version: int = 0


def low_credit_threshold(settings: SmsSettings) -> int:
    """Below how many SMS left the company's administrators are warned."""
    chosen = settings.low_credit_threshold
    return DEFAULT_LOW_CREDIT_THRESHOLD if chosen is None else chosen


def rate_limit(settings: SmsSettings) -> tuple[int, int] | None:
    """C2: (messages, hours) the company's administrators allow its SMS, or None."""
    if not settings.rate_limit_count:
        return None
    return settings.rate_limit_count, settings.rate_limit_hours or 1


def daily_allowance(settings: SmsSettings) -> int | None:
    """SMS a day the company may send on Pregón's bill: through Pregón's SNS, the operator's
    allowance or the deployment's default; None with the company's own provider (a gateway
    phone, its SMS Masivos account), which it pays itself."""
    from chalicelib.core.settings import get_settings

    if settings.provider != "sns":
        return None
    chosen = settings.daily_allowance
    return get_settings().sms_allowance_per_day if chosen is None else chosen


def send_limits(settings: SmsSettings) -> tuple[RateLimit, ...]:
    """The limits every SMS of the company counts in, a test's too: its own C2 rate limit, and
    Pregón's daily allowance when it sends through Pregón's SNS (its own provider: only its C2)."""
    own = rate_limit(settings)
    allowance = daily_allowance(settings)  # None: the company's own provider, its own bill
    return (
        *((RateLimit(outbox_of("sms"), *own),) if own else ()),
        *((RateLimit(SMS_ALLOWANCE, allowance, 24, allowance=True),) if allowance is not None else ()),
    )


def _defaults(company_id: str) -> SmsSettings:
    """The settings of a company that saved none: switched off, local numbers read in its country."""
    return SmsSettings(
        company_id=company_id,
        enabled=False,
        provider="sns",
        sms_type="Transactional",
        default_region=_home_region(company_id),
        updated_at=clock.now(),
    )


def _home_region(company_id: str) -> str:
    from chalicelib.tenants.companies import home_region

    return home_region(company_id)


def gateway_destination(settings: SmsSettings) -> str:
    """Where the gateway password is sent (part of its KMS encryption context)."""
    return f"{settings.base_url or ''} as {settings.username or ''}"


def masivos_destination(settings: SmsSettings) -> str:
    """Whose SMS Masivos account the password is for (part of its KMS encryption context)."""
    return f"SMS Masivos as {settings.masivos_username or ''}"


def _missing(settings: SmsSettings) -> str | None:
    """Why the settings cannot send, or None when they can."""
    if not settings.enabled:
        return "the SMS service is switched off for this company; an administrator can switch it on"
    if settings.provider == "http_gateway":
        if not settings.base_url or not settings.username:
            return "the SMS gateway is not configured: its base_url and username are required"
        if settings.gateway_password_ciphertext is None:
            return "the SMS gateway password is not set; an administrator must set it"
    if settings.provider == "sms_masivos":
        if not settings.masivos_username:
            return "SMS Masivos is not configured: its masivos_username is required"
        if settings.masivos_password_ciphertext is None:
            return "the SMS Masivos password is not set; an administrator must set it"
    return None


def _view(settings: SmsSettings | None, company_id: str) -> SmsSettingsView:
    stored = settings is not None
    current = settings or _defaults(company_id)
    return record_from(
        current,
        SmsSettingsView,
        password_set=current.gateway_password_ciphertext is not None,
        masivos_password_set=current.masivos_password_ciphertext is not None,
        bulk_password_set=current.bulk_password_hash is not None,
        ready=_missing(current) is None,
        updated_at=current.updated_at.isoformat() if stored else None,
        low_credit_threshold=low_credit_threshold(current),
        rate_limit=(
            {"messages": limit[0], "hours": limit[1]} if (limit := rate_limit(current)) is not None else None
        ),
        daily_allowance=daily_allowance(current),
    )


def get_sms_settings(company_id: str) -> SmsSettingsView:
    """The company's SMS settings; a company that never saved them sees the defaults (off, SNS, AR)."""
    return _view(store.get_sms_settings(company_id), company_id)


# --- validation ------------------------------------------------------------------------------


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError
    return value.strip() or None


def _check(fields: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    changes: dict[str, Any] = {}
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    for name in fields:
        if name not in FIELDS:
            bad(name, "is not a known field")
    if "enabled" in fields:
        if isinstance(fields["enabled"], bool):
            changes["enabled"] = fields["enabled"]
        else:
            bad("enabled", "must be true or false")
    if "provider" in fields:
        if fields["provider"] in PROVIDERS:
            changes["provider"] = fields["provider"]
        else:
            bad("provider", f"must be one of {', '.join(PROVIDERS)}")
    if "sms_type" in fields:
        if fields["sms_type"] in SMS_TYPES:
            changes["sms_type"] = fields["sms_type"]
        else:
            bad("sms_type", f"must be one of {', '.join(SMS_TYPES)}")
    for name, valid, message in (
        (
            "sender_id",
            lambda v: bool(_SENDER_ID.match(v)),
            "use 1-11 letters, digits or '-', with at least one letter",
        ),
        ("base_url", _is_http_url, "must be an http:// or https:// URL without a user or password"),
        ("inbound_number", lambda v: len(v) <= 32, "must have at most 32 characters"),
        ("help_text", lambda v: len(v) <= MAX_HELP_TEXT, f"must have at most {MAX_HELP_TEXT} characters"),
        (
            "username",
            lambda v: len(v) <= 128 and bool(_PRINTABLE.match(v)),
            "must be at most 128 characters without control characters",
        ),
        (
            "masivos_username",
            lambda v: len(v) <= 128 and bool(_PRINTABLE.match(v)),
            "must be at most 128 characters without control characters",
        ),
    ):
        if name not in fields:
            continue
        try:
            value = _text_or_none(fields[name])
        except TypeError:
            bad(name, "must be text")
            continue
        if value is not None and not valid(value):
            bad(name, message)
        else:
            changes[name] = value
    if "low_credit_threshold" in fields:
        threshold = fields["low_credit_threshold"]
        if threshold is None:
            changes["low_credit_threshold"] = None
        elif _whole(threshold, 0, MAX_LOW_CREDIT_THRESHOLD):
            changes["low_credit_threshold"] = threshold
        else:
            bad("low_credit_threshold", f"must be a whole number from 0 to {MAX_LOW_CREDIT_THRESHOLD}")
    if "rate_limit" in fields:
        limit = fields["rate_limit"]
        if limit is None:
            changes.update(rate_limit_count=None, rate_limit_hours=None)
        elif (
            isinstance(limit, dict)
            and _whole(limit.get("messages"), 1, 1_000_000)
            and _whole(limit.get("hours"), 1, 24 * 31)
        ):
            changes.update(rate_limit_count=limit["messages"], rate_limit_hours=limit["hours"])
        else:
            bad("rate_limit", "messages (1 to 1000000) and hours (1 to 744) must both be whole numbers")
    if "default_region" in fields:
        region = fields["default_region"]
        if isinstance(region, str) and _is_region(region.strip().upper()):
            changes["default_region"] = region.strip().upper()
        else:
            bad("default_region", "must be a two-letter country code such as AR, MX or ES")
    return changes, errors


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _own_inbound_number(current: SmsSettings, raw: str, region: str) -> str:
    """The two-way number in E.164: one Pregón's operator assigned the company (422 naming
    ``inbound_number`` otherwise; the one it has already is kept), and no other company's (409).
    Saving it, new or the one it had, also claims it, unless another company holds its claim (422,
    in the write)."""
    from chalicelib.core.phones import normalize_phone

    company_id = current.company_id
    number = normalize_phone(raw, region, field="inbound_number")
    if number != current.inbound_number and number not in current.assigned_numbers:
        raise _not_assigned("inbound_number", number)
    if any(owner != company_id for owner in store.companies_by_inbound_number(number)):
        raise Conflict(f"the number {number} already receives SMS for another company")
    return number


def _is_http_url(value: str) -> bool:
    if len(value) > 2048 or any(ch.isspace() for ch in value):
        return False
    parsed = urllib.parse.urlsplit(value)
    # No user:password@ in the URL: the URL is shown, the password is write-only.
    return parsed.scheme in ("http", "https") and bool(parsed.hostname) and "@" not in parsed.netloc


def _gateway_url_problem(url: str) -> str | None:
    """Why Pregón cannot call the gateway at ``url`` as written, or None. The channel calls
    ``base_url + "/message"`` (and the other paths): a ``?`` or ``#`` in the URL would take that
    path into the query or the fragment, and a port 0 would be called on the scheme's port, not
    the one shown (the webhooks' rule, session 32); its host must be a public address (Q7)."""
    from chalicelib.channels.destinations import host_problem
    from chalicelib.core.links import SPACE_OR_CONTROL, has_space_or_control

    if has_space_or_control(url):
        return SPACE_OR_CONTROL
    if "#" in url:
        return "must not have a #fragment"
    if "?" in url:
        return "must not have a ?query: the gateway's paths are added at its end"
    parsed = urllib.parse.urlsplit(url)
    try:
        port = parsed.port
    except ValueError:
        return "has an invalid port"
    if port == 0:
        return "must name a port from 1 to 65535, or none"
    return host_problem(parsed.hostname or "", port or (443 if parsed.scheme == "https" else 80))


def _is_region(region: str) -> bool:
    import phonenumbers

    return region in phonenumbers.SUPPORTED_REGIONS


def save_sms_settings(
    company_id: str, fields: dict[str, Any], if_match: tuple[int, ...] | None = None
) -> SmsSettingsView:
    """Change the settings named in ``fields`` (a merge; the passwords are set separately).

    Switching the service on with the gateway needs its base_url and username (422 otherwise).
    With ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved them
    since: the write holds only while they are at one of those versions.
    """
    stored = store.get_sms_settings(company_id)
    if if_match is not None and (stored.version if stored else 0) not in if_match:
        raise edited_meanwhile("the SMS settings")
    current = stored or _defaults(company_id)
    changes, errors = _check(fields)
    if errors:
        raise ValidationFailed(errors)
    if changes.get("base_url"):  # Q7: never a private, link-local or loopback one; called as written
        problem = _gateway_url_problem(changes["base_url"])
        if problem:
            raise ValidationFailed([{"field": "base_url", "message": problem}])
    if changes.get("inbound_number"):
        changes["inbound_number"] = _own_inbound_number(
            current, changes["inbound_number"], changes.get("default_region", current.default_region)
        )
    sender_id = changes.get("sender_id")
    if sender_id and sender_id != current.sender_id and sender_id not in current.assigned_sender_ids:
        raise _not_assigned("sender_id", sender_id)
    updated = replace(current, **changes, updated_at=clock.now())
    moved = gateway_destination(updated) != gateway_destination(current)
    if moved:  # the password was for the old gateway; it must be set again for the new one
        updated = replace(updated, gateway_password_ciphertext=None, gateway_password_set_at=None)
    masivos_moved = masivos_destination(updated) != masivos_destination(current)
    if masivos_moved:  # the password was for the other SMS Masivos user's account
        updated = replace(updated, masivos_password_ciphertext=None, masivos_password_set_at=None)
    if updated.enabled and updated.provider == "http_gateway":
        missing = [
            {"field": name, "message": "is required to switch on the SMS gateway"}
            for name in ("base_url", "username")
            if not getattr(updated, name)
        ]
        if missing:
            raise ValidationFailed(missing)
    if updated.enabled and updated.provider == "sms_masivos" and not updated.masivos_username:
        raise ValidationFailed(
            [{"field": "masivos_username", "message": "is required to switch on SMS Masivos"}]
        )
    newly_chosen = tuple(
        n for n in ("inbound_number", "sender_id") if getattr(updated, n) != getattr(current, n)
    )
    # Sent again as it was (the console sends every field): claimed too, as a new one is, so a
    # number a company received on before numbers were claimed becomes its claim on its next save.
    kept = bool(changes.get("inbound_number")) and "inbound_number" not in newly_chosen
    try:
        saved = store.save_sms_settings(
            updated,
            clear_gateway_password=moved,
            clear_masivos_password=masivos_moved,
            newly_chosen=newly_chosen,
            claim_kept_number=kept,
            expected=if_match,
        )
    except store.Overtaken:
        raise edited_meanwhile("the SMS settings") from None
    except store.NotAssigned as exc:  # the operator took it back meanwhile
        field = exc.fields[0] if exc.fields else (newly_chosen or ("inbound_number",))[0]
        raise _not_assigned(field, str(getattr(updated, field))) from None
    except store.NumberTaken as taken:  # assigned to two companies before claims: the other's claim
        raise ValidationFailed(
            [{"field": "inbound_number", "message": _taken(taken.number, kept=kept)}]
        ) from None
    return _view(saved, company_id)


def _taken(number: str, *, kept: bool) -> str:
    """Why ``number`` may not be the company's ``inbound_number``: another company holds its claim
    (it was assigned to both before numbers were claimed). A company sending the one it had again
    is told how to save the rest: it receives on the number until it leaves it."""
    if kept:
        return (
            f"the number {number} is now another company's: to save, choose another of this company's "
            "numbers or leave it empty (its SMS then stop reaching this company), and ask Pregón's "
            "operator which company it is"
        )
    return (
        f"the number {number} is another company's: "
        "Pregón's operator settles which company a two-way number is"
    )


def _not_assigned(field: str, value: str) -> ValidationFailed:
    """422 naming ``field``: ``value`` is not one Pregón's operator gave the company."""
    if field == "sender_id":
        message = f"{value} is not a sender ID of this company: Pregón's operator assigns them"
    else:
        message = f"{value} is not a two-way number of this company: Pregón's operator assigns them"
    return ValidationFailed([{"field": field, "message": message}])


def _at_most_assigned(field: str, values: list[str]) -> None:
    """422 naming ``field`` for more than :data:`MAX_ASSIGNED` values (the API's schema says the
    same; the ops command reaches the use case without it)."""
    if len(values) > MAX_ASSIGNED:
        raise ValidationFailed([{"field": field, "message": f"at most {MAX_ASSIGNED} in one assignment"}])


def assign_inbound_numbers(company_id: str, raw_numbers: list[str]) -> list[str]:
    """The operator gives a company its two-way numbers (E.164, read in the company's region;
    an empty list takes them all back): the only ones it may receive SMS on. Its ``inbound_number``
    is removed when it is not one of them any more. 404 for a company that does not exist; 409
    naming ``numbers`` (and the number, not the company) when another company holds one: a number
    is one company's, or inbound SMS to it would reach neither."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.phones import normalize_phone
    from chalicelib.tenants.companies import company_exists, phone_region

    _at_most_assigned("numbers", raw_numbers)
    if not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    region = phone_region(company_id)
    errors: list[dict[str, str]] = []
    numbers: list[str] = []
    for index, raw in enumerate(raw_numbers):
        try:
            numbers.append(normalize_phone(raw, region, field=f"numbers[{index}]"))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    try:
        saved = store.assign_numbers(company_id, sorted(set(numbers)), clock.now(), region)
    except store.NumberTaken as taken:  # the other company is not named: it is not this one's business
        raise Conflict(
            f"the number {taken.number} is assigned to another company: take it back from that company first",
            field="numbers",
        ) from None
    return list(saved.assigned_numbers)


def assign_sender_ids(company_id: str, sender_ids: list[str], *, by: str) -> list[str]:
    """The operator gives a company its SMS sender IDs (an empty list takes them all back): the only
    ones its administrators may name as ``sender_id``, and the only ones SMS carry. A ``sender_id``
    taken back is removed from the settings in the same write. Each is 1-11 letters, digits or '-'
    (422 naming ``sender_ids[i]``); 404 for a company that does not exist. Logged with ``by``."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.observability import logger
    from chalicelib.tenants.companies import company_exists

    _at_most_assigned("sender_ids", sender_ids)
    errors = [
        {
            "field": f"sender_ids[{index}]",
            "message": "use 1-11 letters, digits or '-', with at least one letter",
        }
        for index, sender_id in enumerate(sender_ids)
        if not _SENDER_ID.match(sender_id)
    ]
    if errors:
        raise ValidationFailed(errors)
    if not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    before = store.get_sms_settings(company_id)
    saved = store.assign_sender_ids(
        company_id, sorted(set(sender_ids)), clock.now(), _home_region(company_id)
    )
    logger().info(
        "SMS sender IDs assigned",
        extra={
            "company_id": company_id,
            "by": by,
            "sender_ids": list(saved.assigned_sender_ids),
            "sender_id_removed": before.sender_id if before and before.sender_id != saved.sender_id else None,
        },
    )
    return list(saved.assigned_sender_ids)


MAX_DAILY_ALLOWANCE = 10_000_000


def set_daily_allowance(company_id: str, per_day: Any, *, by: str) -> int:
    """The operator sets how many SMS a day the company may send through Pregón's SNS (None: the
    deployment's default again); 422 naming ``sms_per_day`` unless a whole number from 0 (none)
    to :data:`MAX_DAILY_ALLOWANCE`, 404 for a company that does not exist. Returns the allowance
    now in force. Logged with ``by``."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.observability import logger
    from chalicelib.core.settings import get_settings
    from chalicelib.tenants.companies import company_exists

    if per_day is not None and not _whole(per_day, 0, MAX_DAILY_ALLOWANCE):
        raise ValidationFailed(
            [{"field": "sms_per_day", "message": f"must be a whole number from 0 to {MAX_DAILY_ALLOWANCE}"}]
        )
    if not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    store.set_daily_allowance(company_id, per_day, clock.now(), _home_region(company_id))
    in_force = get_settings().sms_allowance_per_day if per_day is None else int(per_day)
    logger().info(
        "SMS daily allowance set",
        extra={"company_id": company_id, "by": by, "sms_per_day": per_day, "in_force": in_force},
    )
    return in_force


def set_allowances(company_id: str, given: dict[str, Any], *, by: str) -> None:
    """The operator's ``PATCH .../allowances`` and ``ops company allowance``: each of
    ``sms_per_day`` and ``emails_per_day`` given is set (None: the default), every one checked
    before any is written (422 naming it)."""
    from chalicelib.messaging.accounts.email_allowance import set_email_allowance

    if "emails_per_day" in given:
        set_email_allowance(company_id, given["emails_per_day"], by=by, check_only="sms_per_day" in given)
    if "sms_per_day" in given:
        set_daily_allowance(company_id, given["sms_per_day"], by=by)
    if "emails_per_day" in given and "sms_per_day" in given:
        set_email_allowance(company_id, given["emails_per_day"], by=by)


def allowance_of(company_id: str) -> dict[str, Any]:
    """What the operator sees of a company's allowances: the SMS a day in force, whether it is
    the default, and the provider (only Pregón's SNS counts against it); the e-mails a day through
    Pregón's SES in force and whether that is the default."""
    from chalicelib.core.errors import NotFound
    from chalicelib.core.settings import get_settings
    from chalicelib.messaging.accounts.email_allowance import email_allowance
    from chalicelib.tenants.companies import company_exists

    stored = store.get_sms_settings(company_id)
    if stored is None and not company_exists(company_id):
        raise NotFound(f"company {company_id!r} does not exist")
    settings = stored or _defaults(company_id)
    chosen = settings.daily_allowance
    emails, emails_default = email_allowance(company_id)
    from chalicelib.messaging.accounts.email_reputation import reputation_of

    return {
        "company_id": company_id,
        "sms_per_day": get_settings().sms_allowance_per_day if chosen is None else chosen,
        "default": chosen is None,
        "applies": settings.provider == "sns",
        "emails_per_day": emails,
        "emails_default": emails_default,
        "email_reputation": reputation_of(company_id),
    }


def sender_id_review(company_ids: list[str]) -> list[dict[str, Any]]:
    """For each of these companies that chose a ``sender_id``: the one it chose, those assigned to
    it and whether its SMS carry it (``in_use``). What the operator reads to assign, after the
    deploy that made sender IDs theirs to give, the ones companies had typed before (docs/operations.md)."""
    return [
        {
            "company_id": settings.company_id,
            "sender_id": settings.sender_id,
            "assigned_sender_ids": list(settings.assigned_sender_ids),
            "in_use": settings.sender_id in settings.assigned_sender_ids,
        }
        for settings in sorted(store.settings_of(company_ids), key=lambda s: s.company_id)
        if settings.sender_id
    ]


def number_review(company_ids: list[str]) -> list[dict[str, Any]]:
    """Every two-way number these companies hold (assigned, or named as ``inbound_number``), in
    number order: the companies holding it, the one whose claim it is (``claimed_by``; None for a
    number assigned before claims existed and neither assigned, chosen as ``inbound_number`` nor
    sent again in a save of the settings since), the ones receiving on it and whether it is
    ``shared``: a number assigned to two companies before numbers were claimed is in both settings
    still, what the operator settles after the deploy (docs/operations.md)."""
    holders: dict[str, set[str]] = {}
    receiving: dict[str, set[str]] = {}
    for settings in store.settings_of(company_ids):
        for number in settings.assigned_numbers:
            holders.setdefault(number, set()).add(settings.company_id)
        if settings.inbound_number:
            holders.setdefault(settings.inbound_number, set()).add(settings.company_id)
            receiving.setdefault(settings.inbound_number, set()).add(settings.company_id)
    claimed = store.number_holders(list(holders))
    return [
        {
            "number": number,
            "companies": sorted(companies),
            "claimed_by": claimed.get(number),
            "receiving": sorted(receiving.get(number, ())),
            "shared": len(companies) > 1,
        }
        for number, companies in sorted(holders.items())
    ]


# --- the two write-only passwords ------------------------------------------------------------


def _check_password(password: str, *, field: str, min_length: int) -> None:
    if not isinstance(password, str) or len(password) < min_length:
        raise ValidationFailed([{"field": field, "message": f"must have at least {min_length} characters"}])
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            [{"field": field, "message": f"must have at most {MAX_PASSWORD_LENGTH} characters"}]
        )


def set_gateway_password(company_id: str, password: str) -> None:
    """Encrypt and store the SMS gateway's password for the gateway the settings name (its base_url
    and username must be set first: 409 naming the missing one). Never read back."""
    _check_password(password, field="password", min_length=1)
    settings = store.get_sms_settings(company_id)
    for name in ("base_url", "username"):
        if settings is None or not getattr(settings, name):
            raise Conflict(
                f"set the SMS gateway's {name} first: its password is only ever sent to that gateway",
                field=name,
            )
    assert settings is not None
    ciphertext = encrypt_secret(
        password,
        company_id=company_id,
        purpose=GATEWAY_PASSWORD_PURPOSE,
        destination=gateway_destination(settings),
    )
    store.set_gateway_password(company_id, ciphertext, clock.now(), settings.default_region)


def set_masivos_password(company_id: str, password: str) -> None:
    """Encrypt and store the SMS Masivos password for the user the settings name (``masivos_username``
    must be set first: 409 naming it). Never read back, never logged."""
    _check_password(password, field="password", min_length=1)
    settings = store.get_sms_settings(company_id)
    if settings is None or not settings.masivos_username:
        raise Conflict(
            "set the SMS Masivos masivos_username first: its password is only ever sent for that user",
            field="masivos_username",
        )
    ciphertext = encrypt_secret(
        password,
        company_id=company_id,
        purpose=MASIVOS_PASSWORD_PURPOSE,
        destination=masivos_destination(settings),
    )
    store.set_masivos_password(company_id, ciphertext, clock.now(), settings.default_region)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=_SCRYPT_KEY_BYTES
    )


def hash_bulk_password(password: str) -> str:
    """``scrypt$N$r$p$<salt>$<key>`` (base64), with a fresh random salt."""
    salt = secrets.token_bytes(_SCRYPT_SALT_BYTES)
    key = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(key).decode()}"


def _matches(password: str, stored_hash: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored_hash.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return same_secret(actual, expected)


def set_bulk_password(company_id: str, password: str) -> None:
    """Hash and store the bulk-send password (at least 8 characters). Never read back."""
    _check_password(password, field="password", min_length=BULK_PASSWORD_MIN_LENGTH)
    store.set_bulk_password_hash(
        company_id, hash_bulk_password(password), clock.now(), _home_region(company_id)
    )


def _scopes(user: str | None) -> dict[str, int]:
    """The scopes a bulk-send attempt counts in, with the failures that lock each."""
    scopes = {"bulk#company": BULK_PASSWORD_ATTEMPTS["company"]}
    if user:
        scopes[f"bulk#user:{user}"] = BULK_PASSWORD_ATTEMPTS["user"]
    return scopes


def _locked_out(until: datetime, now: datetime, why: str, company_id: str) -> TooManyRequests:
    """429 saying until when, on the company's clock with its UTC offset: "02:10 Europe/Madrid"
    alone would be either of two moments in the hour the clock repeats."""
    from chalicelib.core.localization import show_datetime_offset
    from chalicelib.tenants.companies import get_company

    company = get_company(company_id)
    shown = show_datetime_offset(until, company.time_zone, company.locale)
    seconds = math.ceil((until - now).total_seconds())
    return TooManyRequests(
        f"{why}: bulk sends are locked until {shown} "
        f"(Retry-After: {seconds} seconds); even the right password is refused until then",
        retry_after=seconds,
        field="bulk_password",
    )


def _count_wrong_attempt(company_id: str, user: str | None, now: datetime) -> datetime | None:
    """Count a wrong password for the company and the user; the lock's end when either has now
    reached its BULK_PASSWORD_ATTEMPTS wrong ones in the window, else None."""
    from chalicelib.store import attempts

    window_seconds = int(BULK_PASSWORD_WINDOW.total_seconds())
    window = str(int(now.timestamp()) // window_seconds)
    expires = now + BULK_PASSWORD_WINDOW + timedelta(days=1)
    until = now + BULK_PASSWORD_LOCKOUT
    locked = False
    for scope, limit in _scopes(user).items():
        if attempts.count_failure(company_id, scope, window, expires) >= limit:
            attempts.lock(company_id, scope, until)
            locked = True
    return until if locked else None


def verify_bulk_password(company_id: str, password: str | None, *, user: str | None = None) -> None:
    """Allow a send to more than one client, or raise Forbidden (403) saying why.

    Wrong passwords are counted per ``user`` and per company: the 5th of a user (10th of the
    company) within a BULK_PASSWORD_WINDOW locks that user's (the whole company's) bulk sends for
    BULK_PASSWORD_LOCKOUT, and every try meanwhile, right or wrong, is TooManyRequests (429 with
    Retry-After)."""
    from chalicelib.store import attempts

    if not password:
        raise Forbidden("the bulk-send password is required to send to more than one client")
    now = clock.now()
    until = attempts.locked_until(company_id, list(_scopes(user)), now)
    if until is not None:
        raise _locked_out(until, now, "too many wrong bulk-send passwords", company_id)
    settings = store.get_sms_settings(company_id)
    if settings is None or settings.bulk_password_hash is None:
        raise Forbidden(
            "the company has no bulk-send password; an administrator must set one before sending "
            "to more than one client"
        )
    if len(password) > MAX_PASSWORD_LENGTH or not _matches(password, settings.bulk_password_hash):
        until = _count_wrong_attempt(company_id, user, now)
        if until is not None:
            raise _locked_out(until, now, "the bulk-send password is wrong, too many times", company_id)
        raise Forbidden("the bulk-send password is wrong")


def check_bulk_send(
    company_id: str, recipients: int, password: str | None, *, user: str | None = None
) -> None:
    """C6: a send to more than one client needs the bulk-send password; one client does not.
    Refusals name the field ``bulk_password`` (403, or 429 while locked out)."""
    if recipients > 1:
        try:
            verify_bulk_password(company_id, password, user=user)
        except Forbidden as exc:
            raise Forbidden(exc.message, field="bulk_password") from exc


# --- sending ---------------------------------------------------------------------------------


def _sender_of(settings: SmsSettings | None) -> Channel:
    if settings is None:
        raise Conflict("SMS is not configured for this company; an administrator must save its SMS settings")
    reason = _missing(settings)
    if reason:
        raise Conflict(reason)
    if settings.provider == "http_gateway":
        assert settings.gateway_password_ciphertext is not None
        password = decrypt_password(
            settings.gateway_password_ciphertext,
            company_id=settings.company_id,
            purpose=GATEWAY_PASSWORD_PURPOSE,
            destination=gateway_destination(settings),
            moved=Conflict(
                "the SMS gateway password was set for another gateway (base_url or username); "
                "an administrator must set it again",
                field="password",
            ),
        )
        return sms_sender_for(
            {
                "provider": "http_gateway",
                "base_url": settings.base_url,
                "username": settings.username,
                "password": password,
            }
        )
    if settings.provider == "sms_masivos":
        assert settings.masivos_password_ciphertext is not None
        password = decrypt_password(
            settings.masivos_password_ciphertext,
            company_id=settings.company_id,
            purpose=MASIVOS_PASSWORD_PURPOSE,
            destination=masivos_destination(settings),
            moved=Conflict(
                "the SMS Masivos password was set for another masivos_username; an administrator must "
                "set it again",
                field="password",
            ),
        )
        return sms_sender_for(
            {"provider": "sms_masivos", "username": settings.masivos_username, "password": password}
        )
    return sms_sender_for(
        {"provider": "sns", "sender_id": _sender_id_in_use(settings), "sms_type": settings.sms_type}
    )


def _sender_id_in_use(settings: SmsSettings) -> str | None:
    """The sender ID an SMS carries: the company's ``sender_id`` while Pregón's operator assigns it
    to the company; otherwise none, so the carrier's default sender shows (a withdrawn one, or one
    typed before sender IDs were the operator's to give, is never shown to a client)."""
    if settings.sender_id is None or settings.sender_id in settings.assigned_sender_ids:
        return settings.sender_id
    if _first_warning_in_a_while(settings.company_id, clock.now()):
        from chalicelib.core.observability import logger

        logger().warning(
            "SMS sent without its sender ID: the operator has not assigned it to the company",
            extra={
                "company_id": settings.company_id,
                "sender_id": settings.sender_id,
                "logged_once_every_minutes": int(SENDER_ID_WARNING_EVERY.total_seconds() // 60),
            },
        )
    return None


# A company whose chosen sender ID is not assigned would log a warning for each SMS (a bulk send of
# thousands, thousands of lines): each process logs it once an hour per company instead.
SENDER_ID_WARNING_EVERY = timedelta(hours=1)
_SENDER_ID_WARNINGS_KEPT = 10_000  # companies remembered before the memory is cleared (bounded)
_sender_id_warned_at: dict[str, datetime] = {}
_sender_id_warned_lock = threading.Lock()


def _first_warning_in_a_while(company_id: str, now: datetime) -> bool:
    """True (and noted) when this process has not warned about the company's sender ID within
    SENDER_ID_WARNING_EVERY before ``now``."""
    with _sender_id_warned_lock:
        last = _sender_id_warned_at.get(company_id)
        if last is not None and last <= now < last + SENDER_ID_WARNING_EVERY:
            return False
        if len(_sender_id_warned_at) >= _SENDER_ID_WARNINGS_KEPT:
            _sender_id_warned_at.clear()
        _sender_id_warned_at[company_id] = now
        return True


def sender_of(settings: SmsSettings) -> Channel:
    """The SMS channel these settings describe; Conflict (409) while off or incomplete."""
    return _sender_of(settings)


def not_ready_because(settings: SmsSettings) -> str | None:
    """Why these settings cannot send (switched off, a password missing), or None when they can."""
    return _missing(settings)


def sms_sender_of(settings: SmsSettings | None) -> Channel:
    """The SMS channel of settings read (None: never saved); Conflict (409) while off or incomplete."""
    return _sender_of(settings)


def sms_sender(company_id: str) -> Channel:
    """The SMS channel the company's settings describe; Conflict (409) while off or incomplete."""
    return _sender_of(store.get_sms_settings(company_id))


def send_test_sms(company_id: str, to_raw: str, text: str | None = None) -> dict[str, Any]:
    """Send one SMS to check the settings: ``{"ok": True, "message_id", "to"}`` or, when the
    provider refuses, ``{"ok": False, "error": <the provider's words>, "to"}``.

    The service need not be switched on (C3, as a disabled e-mail account can be tested): the
    seed's users fill the settings in, then switch the service on, and switching it on starts the
    automatic SMS (auto-replies, payment SMS) at once, so the settings are checked first. Settings
    that are incomplete (no gateway password, say) are still 409."""
    from chalicelib.core.phones import normalize_phone

    message = (text or "").strip() or DEFAULT_TEST_TEXT
    if len(message) > MAX_SMS_TEXT:
        raise ValidationFailed([{"field": "text", "message": f"must have at most {MAX_SMS_TEXT} characters"}])
    settings = store.get_sms_settings(company_id)
    sender = _sender_of(replace(settings, enabled=True) if settings is not None else None)
    to = normalize_phone(
        to_raw, settings.default_region if settings else _home_region(company_id), field="to"
    )
    assert settings is not None  # else _sender_of refused (409)
    room = _count_test(settings)
    try:
        message_id = sender.send(OutgoingChannelMessage(to_address=to, text=message))
    except DeliveryFailed as exc:
        if exc.not_taken:  # refused before the provider had it: nothing went, nothing counts
            give_room_back(company_id, room, 1)
        return {"ok": False, "error": exc.message, "to": to}
    return {"ok": True, "message_id": message_id, "to": to}


def _count_test(settings: SmsSettings) -> Room:
    """Take one SMS's room under the company's SMS limits (``send_limits``), as a drain of its
    outbox does: a test counts like any SMS. 429 when one is full, naming it and saying when the
    next SMS can go, since a test cannot wait in the outbox."""
    company_id, now = settings.company_id, clock.now()
    room = reserve_room(company_id, send_limits(settings), now, 1)
    if room.granted:
        return room
    assert room.full is not None and room.room_at is not None
    limit, hours = room.full.count, room.full.hours
    shown, seconds = when_room_opens(company_id, room.room_at, now)
    if room.full.allowance:
        from chalicelib.messaging.accounts.allowance_notice import allowance_reached

        allowance_reached(company_id, room)  # told once a day, as a drain that finds it full
        raise TooManyRequests(
            f"the company's SMS have reached Pregón's daily SMS allowance ({limit} messages per {hours} h): "
            f"the next one can go at {shown} (Retry-After: {seconds} seconds)",
            retry_after=seconds,
        )
    raise TooManyRequests(
        f"the company's SMS have reached their send-rate limit ({limit} messages per {hours} h): "
        f"the next one can go at {shown} (Retry-After: {seconds} seconds)",
        retry_after=seconds,
    )
