"""A company's SMS settings (C6): one item per company in ``sms-settings``.

The settings and the two secrets are written by separate calls, each touching only its own
attributes, so saving the settings never loses a password and setting a password never changes
the settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.core import domain
from chalicelib.core.errors import Conflict
from chalicelib.store.fields import record_from, set_or_remove
from chalicelib.store.models import SmsNumberClaimModel, SmsSettingsModel
from chalicelib.store.tables import failure_code, new_version, version_held

# What saving the settings writes (an unset one is removed); the secrets have calls of their own.
_SETTINGS = (
    "enabled",
    "provider",
    "sms_type",
    "default_region",
    "updated_at",
    "sender_id",
    "base_url",
    "username",
    "masivos_username",
    "inbound_number",
    "help_text",
    "low_credit_threshold",
    "rate_limit_count",
    "rate_limit_hours",
)
# Providers whose credit the daily check reads: the sparse index ``credit-checks`` lists the
# companies whose SMS are on with one of them (``credit_watch``, written with every save).
CREDIT_WATCHED = ("sms_masivos",)


def _settings(item: SmsSettingsModel) -> domain.SmsSettings:
    return record_from(
        item,
        domain.SmsSettings,
        enabled=bool(item.enabled),
        provider=item.provider or "sns",
        sms_type=item.sms_type or "Transactional",
        default_region=item.default_region or "AR",
        assigned_numbers=tuple(sorted(item.assigned_numbers or ())),
        assigned_sender_ids=tuple(sorted(item.assigned_sender_ids or ())),
        low_credit_threshold=None if item.low_credit_threshold is None else int(item.low_credit_threshold),
        rate_limit_count=None if item.rate_limit_count is None else int(item.rate_limit_count),
        rate_limit_hours=None if item.rate_limit_hours is None else int(item.rate_limit_hours),
        daily_allowance=None if item.daily_allowance is None else int(item.daily_allowance),
        version=int(item.version or 0),
    )


def get_sms_settings(company_id: str) -> domain.SmsSettings | None:
    try:
        return _settings(SmsSettingsModel.get(company_id, consistent_read=True))
    except DoesNotExist:
        return None


class Overtaken(Exception):
    """The settings are no longer at a version the save's ``expected`` names (``If-Match``):
    someone else saved them since; nothing written."""


def _overtaken(company_id: str, expected: tuple[int, ...] | None) -> bool:
    """Whether a refused save's ``expected`` versions no longer hold (read back)."""
    if expected is None:
        return False
    now = get_sms_settings(company_id)
    return (now.version if now else 0) not in expected


class NotAssigned(Exception):
    """A new ``inbound_number`` or ``sender_id`` is not (any more) one the operator assigned the
    company; ``fields`` names which."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class NumberTaken(Exception):
    """A two-way number the operator assigns, or an administrator chooses as ``inbound_number``,
    is held by another company (which is not named)."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number


# The chosen setting and the set of the operator's assignments it must be in.
_ASSIGNED = {"inbound_number": "assigned_numbers", "sender_id": "assigned_sender_ids"}
# The chosen setting and the field of the operator's call that assigns its values.
_ASSIGNMENT_FIELD = {"inbound_number": "numbers", "sender_id": "sender_ids"}


def save_sms_settings(
    settings: domain.SmsSettings,
    *,
    clear_gateway_password: bool = False,
    clear_masivos_password: bool = False,
    newly_chosen: tuple[str, ...] = (),
    claim_kept_number: bool = False,
    expected: tuple[int, ...] | None = None,
) -> domain.SmsSettings:
    """Write the settings (not the secrets, which are kept unless ``clear_gateway_password``:
    the gateway it was for changed, or ``clear_masivos_password``: the SMS Masivos user changed);
    returns the stored item. ``newly_chosen`` (``inbound_number``,
    ``sender_id``): each is written only while the operator's assignment holds it (``NotAssigned``
    naming the ones it does not hold otherwise). A newly chosen ``inbound_number`` is also claimed
    for the company in the same transaction, on condition that no other company holds its claim
    (``NumberTaken`` otherwise): a number assigned to two companies before claims existed goes to
    the first that receives on it, never to both. ``claim_kept_number``: the ``inbound_number`` the
    company had already (sent again unchanged) is claimed the same way, the write holding only while
    it is still the company's (its ``inbound_number`` or assigned: ``NotAssigned`` once the operator
    took it back). The settings are written as their next version; with ``expected`` (the
    versions an ``If-Match`` names) only while they are still at one (``Overtaken`` otherwise)."""
    from pynamodb.exceptions import UpdateError

    item = SmsSettingsModel(settings.company_id)
    password = ("gateway_password_ciphertext", "gateway_password_set_at") if clear_gateway_password else ()
    if clear_masivos_password:
        password = (*password, "masivos_password_ciphertext", "masivos_password_set_at")
    chosen = {name: getattr(settings, name) for name in newly_chosen if getattr(settings, name)}
    condition = None
    for name, value in chosen.items():
        held = getattr(SmsSettingsModel, _ASSIGNED[name]).contains(value)
        condition = held if condition is None else condition & held
    held = version_held(SmsSettingsModel, expected)
    if held is not None:
        condition = held if condition is None else condition & held
    actions = set_or_remove(SmsSettingsModel, settings, _SETTINGS, remove=password)
    actions.append(new_version(SmsSettingsModel))
    watched = settings.enabled and settings.provider in CREDIT_WATCHED
    watch = SmsSettingsModel.credit_watch
    actions.append(watch.set(settings.provider) if watched else watch.remove())
    if "inbound_number" in chosen:
        assert condition is not None
        return _save_claiming(
            settings, chosen, actions, condition, chosen["inbound_number"], expected=expected
        )
    if claim_kept_number and settings.inbound_number:
        kept, model = settings.inbound_number, SmsSettingsModel
        still_its = (model.inbound_number == kept) | model.assigned_numbers.contains(kept)
        condition = still_its if condition is None else condition & still_its
        return _save_claiming(settings, chosen, actions, condition, kept, kept=True, expected=expected)
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if condition is not None and failure_code(exc) == "ConditionalCheckFailedException":
            if _overtaken(settings.company_id, expected):
                raise Overtaken from exc
            raise _not_assigned_now(settings.company_id, chosen) from exc
        raise
    return _settings(item)


def _not_assigned_now(company_id: str, chosen: dict[str, str], kept: str | None = None) -> NotAssigned:
    """The ``NotAssigned`` naming the chosen values the operator's assignments do not hold now
    (and ``inbound_number`` when the ``kept`` one is neither the company's number nor assigned now)."""
    now = get_sms_settings(company_id)
    held_now = {name: getattr(now, _ASSIGNED[name]) if now else () for name in chosen}
    refused = [name for name, value in chosen.items() if value not in held_now[name]]
    if kept and (now is None or (now.inbound_number != kept and kept not in now.assigned_numbers)):
        refused.insert(0, "inbound_number")
    return NotAssigned(refused)


# A save that claims its number tries again when it met another transaction on the same items.
_CLAIM_TRIES = 5


def _save_claiming(
    settings: domain.SmsSettings,
    chosen: dict[str, str],
    actions: list[Any],
    condition: Any,
    number: str,
    *,
    kept: bool = False,
    expected: tuple[int, ...] | None = None,
) -> domain.SmsSettings:
    """One transaction: the settings' ``actions`` on ``condition`` (the chosen values are still
    assigned, the ``kept`` number still the company's) and the claim of ``number`` (the chosen or
    kept ``inbound_number``) for the company, on no other company holding it. A refusal is read
    back: ``NumberTaken`` when another company holds the claim now, ``NotAssigned`` when the
    operator took a chosen value, or the kept number, back; a conflict with another transaction
    tries again."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.store.tables import LOST_RACE, connection

    company_id, claim = settings.company_id, SmsNumberClaimModel
    for _ in range(_CLAIM_TRIES):
        try:
            with TransactWrite(connection=connection()) as tx:
                tx.update(SmsSettingsModel(company_id), actions=actions, condition=condition)
                tx.update(
                    claim(number),
                    actions=[
                        claim.company_id.set(company_id),
                        claim.claimed_at.set(claim.claimed_at | settings.updated_at),
                    ],
                    condition=claim.number.does_not_exist() | (claim.company_id == company_id),
                )
        except TransactWriteError as exc:
            reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
            if not any(code in LOST_RACE for code in reasons):
                raise
            if "ConditionalCheckFailed" in reasons:
                if _overtaken(company_id, expected):
                    raise Overtaken from None
                holder = number_holders([number]).get(number)
                if holder is not None and holder != company_id:
                    raise NumberTaken(number) from None
                refused = _not_assigned_now(company_id, chosen, number if kept else None)
                if refused.fields:
                    raise refused from None
            continue  # another transaction touched the same items meanwhile: try again
        written = get_sms_settings(company_id)
        assert written is not None
        return written
    raise Conflict("the company's SMS settings kept changing: try again", field="inbound_number")


def _set_secret(company_id: str, secret: Any, set_at: Any, value: Any, at: datetime, region: str) -> None:
    """Set a secret and when it was set; a company without settings gets the defaults (switched off)."""
    SmsSettingsModel(company_id).update(actions=[secret.set(value), set_at.set(at), *_defaults(at, region)])


def _defaults(at: datetime, region: str) -> list[Any]:
    """The settings a company that never saved any gets (switched off) when an item is made for it;
    ``region`` (the company's country) is where its local numbers are read."""
    model = SmsSettingsModel
    return [
        model.enabled.set(model.enabled | False),
        model.provider.set(model.provider | "sns"),
        model.sms_type.set(model.sms_type | "Transactional"),
        model.default_region.set(model.default_region | region),
        model.updated_at.set(model.updated_at | at),
    ]


def set_gateway_password(company_id: str, ciphertext: bytes, at: datetime, region: str) -> None:
    """Store the gateway password's KMS ciphertext, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(
        company_id, model.gateway_password_ciphertext, model.gateway_password_set_at, ciphertext, at, region
    )


def set_masivos_password(company_id: str, ciphertext: bytes, at: datetime, region: str) -> None:
    """Store the SMS Masivos password's KMS ciphertext, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(
        company_id, model.masivos_password_ciphertext, model.masivos_password_set_at, ciphertext, at, region
    )


def set_bulk_password_hash(company_id: str, password_hash: str, at: datetime, region: str) -> None:
    """Store the bulk-send password's hash, replacing any before it."""
    model = SmsSettingsModel
    _set_secret(company_id, model.bulk_password_hash, model.bulk_password_set_at, password_hash, at, region)


def set_daily_allowance(company_id: str, per_day: int | None, at: datetime, region: str) -> None:
    """The operator's allowance of SMS through Pregón's SNS a day (None: the default); the
    administrators' settings are not touched."""
    model = SmsSettingsModel
    allowance = model.daily_allowance.remove() if per_day is None else model.daily_allowance.set(per_day)
    model(company_id).update(actions=[allowance, *_defaults(at, region)])


def assign_numbers(company_id: str, numbers: list[str], at: datetime, region: str) -> domain.SmsSettings:
    """Set the two-way numbers the operator gave the company (E.164; none: no two-way SMS); its
    ``inbound_number`` goes in the same write when it is not one of them any more. Each number is
    claimed for the company in the same transaction (``NumberTaken`` when another company holds
    one), and the claims of the numbers taken back are deleted in it."""
    return _assign(company_id, "inbound_number", numbers, at, region)


def assign_sender_ids(
    company_id: str, sender_ids: list[str], at: datetime, region: str
) -> domain.SmsSettings:
    """Set the sender IDs the operator gave the company (none: SMS go out without one); its
    ``sender_id`` goes in the same write when it is not one of them any more."""
    return _assign(company_id, "sender_id", sender_ids, at, region)


# An assignment tries again when an administrator's save (or another assignment) changed the
# settings between its read and its write (each save is one write: a few tries always pass).
_ASSIGN_TRIES = 5


def _assign(company_id: str, chosen: str, values: list[str], at: datetime, region: str) -> domain.SmsSettings:
    """Replace the operator's assignments for the setting ``chosen``, removing the setting when
    the value the company chose is no longer among them. The write holds only while the setting
    is still what was read: an administrator who chose a value the assignment withdraws, between
    the read and the write, would otherwise keep it (a number that could then be given to another
    company, leaving its SMS to neither). Numbers are claimed besides (``_write_numbers``)."""
    from pynamodb.exceptions import UpdateError

    model = SmsSettingsModel
    assigned = getattr(model, _ASSIGNED[chosen])
    setting = getattr(model, chosen)
    for _ in range(_ASSIGN_TRIES):
        current = get_sms_settings(company_id)
        value = getattr(current, chosen) if current is not None else None
        actions: list[Any] = [assigned.set(set(values)) if values else assigned.remove()]
        if value and value not in values:
            actions.append(setting.remove())
        condition = setting == value if value else setting.does_not_exist()
        if chosen == "inbound_number":
            held = tuple(current.assigned_numbers) if current is not None else ()
            # A number it received on before numbers were assigned, kept and claimed by its saves
            # since, goes with its claim like an assigned one.
            removed = (value,) if value and value not in values else ()
            if _write_numbers(
                company_id, held, values, actions + _defaults(at, region), condition, at, removed
            ):
                written_now = get_sms_settings(company_id)
                assert written_now is not None
                return written_now
            continue  # the settings changed since they were read: read them again
        item = model(company_id)
        try:
            item.update(actions=actions + _defaults(at, region), condition=condition)
        except UpdateError as exc:
            if failure_code(exc) == "ConditionalCheckFailedException":
                continue  # the company's choice changed since it was read: read it again
            raise
        return _settings(item)
    # The field the operator's call sent: its list is what could not be written.
    raise Conflict("the company's SMS settings kept changing: try again", field=_ASSIGNMENT_FIELD[chosen])


def _write_numbers(
    company_id: str,
    held: tuple[str, ...],
    numbers: list[str],
    actions: list[Any],
    condition: Any,
    at: datetime,
    removed: tuple[str, ...] = (),
) -> bool:
    """One transaction: the settings' ``actions`` (on ``condition``, and on the assigned numbers
    being still ``held``), a claim of each of ``numbers`` for the company (on no other company
    holding it: ``NumberTaken`` otherwise) and the deletion of the company's claims of the numbers
    taken back (those ``held`` and the ``removed`` ``inbound_number``). A number taken back that the
    company did not claim when read is checked still not to be its claim: an administrator's save
    that keeps it claims it, and would otherwise leave a claim behind. False when another writer
    changed the settings or raced a claim: read again."""
    from pynamodb.exceptions import TransactWriteError
    from pynamodb.transactions import TransactWrite

    from chalicelib.store.tables import LOST_RACE, connection

    settings, claim = SmsSettingsModel, SmsNumberClaimModel
    assigned = settings.assigned_numbers
    still_held = assigned == set(held) if held else assigned.does_not_exist()
    withdrawn = sorted((set(held) | set(removed)) - set(numbers))
    # Only the company's own claims go (a number held twice before claims existed may be the other's).
    mine = [c.number for c in claim.batch_get(withdrawn) if c.company_id == company_id] if withdrawn else []
    not_mine = [number for number in withdrawn if number not in mine]
    try:
        with TransactWrite(connection=connection()) as tx:
            # condition checks come first in the transaction, then deletes, then updates in order
            for number in not_mine:
                tx.condition_check(
                    claim, number, condition=claim.number.does_not_exist() | (claim.company_id != company_id)
                )
            for number in mine:
                tx.delete(claim(number), condition=claim.company_id == company_id)
            tx.update(settings(company_id), actions=actions, condition=condition & still_held)
            for number in numbers:
                tx.update(
                    claim(number),
                    actions=[claim.company_id.set(company_id), claim.claimed_at.set(claim.claimed_at | at)],
                    condition=claim.number.does_not_exist() | (claim.company_id == company_id),
                )
    except TransactWriteError as exc:
        reasons = [r.code if r is not None else None for r in exc.cancellation_reasons or []]
        if not any(code in LOST_RACE for code in reasons):
            raise
        before_claims = len(withdrawn) + 1  # the checks, the deletes and the settings
        taken = [
            number
            for number, code in zip(numbers, reasons[before_claims:], strict=False)
            if code == "ConditionalCheckFailed"
        ]
        settings_changed = "ConditionalCheckFailed" in reasons[:before_claims]
        if taken and not settings_changed and "TransactionConflict" not in reasons:
            raise NumberTaken(taken[0]) from None
        return False
    return True


def number_holders(numbers: list[str]) -> dict[str, str]:
    """The company that holds each of these two-way numbers, by its claim (numbers no company
    claimed are left out)."""
    return {str(c.number): str(c.company_id) for c in SmsNumberClaimModel.batch_get(sorted(set(numbers)))}


def settings_of(company_ids: list[str]) -> list[domain.SmsSettings]:
    """The SMS settings of these companies (one batch read; those that never saved any are left
    out): what the operator reviews when sender IDs became theirs to assign."""
    return [_settings(item) for item in SmsSettingsModel.batch_get(company_ids)]


def companies_by_inbound_number(number: str) -> list[str]:
    """The companies whose two-way number is ``number`` (E.164): one, or none (a sparse index)."""
    return [str(i.company_id) for i in SmsSettingsModel.by_inbound_number.query(number, limit=5)]


def companies_watching_credit(provider: str) -> list[str]:
    """The companies whose SMS are on with ``provider`` (one of ``CREDIT_WATCHED``), the one whose
    credit was read longest ago first (never read: first of all): a Query of the sparse index
    ``credit-checks``, a page at a time, never a Scan of every company's settings, then each one's
    ``credit_checked_at`` (a BatchGet, 100 at a time). So a run that stops for time leaves the
    ones it did not reach at the head of the next run."""
    from datetime import timezone

    ids = [str(i.company_id) for i in SmsSettingsModel.credit_checks.query(provider)]
    never = datetime.min.replace(tzinfo=timezone.utc)
    checked = {
        str(item.company_id): item.credit_checked_at or never
        for first in range(0, len(ids), 100)
        for item in SmsSettingsModel.batch_get(
            ids[first : first + 100], attributes_to_get=["company_id", "credit_checked_at"]
        )
    }
    return sorted(ids, key=lambda company_id: (checked.get(company_id, never), company_id))


def credit_checked(company_id: str, at: datetime) -> None:
    """Note that the daily check read the company's credit ``at`` (nothing when its settings are gone)."""
    from chalicelib.store.tables import written

    item = SmsSettingsModel(company_id)
    written(
        lambda: item.update(
            actions=[SmsSettingsModel.credit_checked_at.set(at)],
            condition=SmsSettingsModel.company_id.exists(),
        )
    )
