"""Parcels, novelties, subscriptions and tracking alerts.

Exactly-once rests on three conditional writes:
* a novelty is put with ``attribute_not_exists`` on (parcel, event id): ingest is idempotent;
* the parcel carries a ``version`` that every change to its pending novelty bumps, and a sweep
  claims a parcel in one transaction conditioned on the version it read, writing one alert item
  per subscriber (keyed by novelty and subscription) and clearing the sparse pending marker;
* so a novelty that lands during a sweep makes the claim fail (the next sweep sends it), and of two
  sweeps racing for a parcel only one transaction succeeds.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store import communications
from chalicelib.store import outbox as outbox_store
from chalicelib.store.fields import checked_cursor, item_from, not_a_cursor, page_of, record_from
from chalicelib.store.models import (
    AlertModel,
    NoveltyModel,
    NoveltySnapshot,
    ParcelModel,
    SubscriptionModel,
)
from chalicelib.store.tables import connection, failure_code

_TX_LIMIT = 100
UNCONFIRMED_KEPT_DAYS = 30
# Cancellation reasons that mean "someone else changed this item first": the caller backs off.
_LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def parcel_key(company_id: str, tracking_id: str) -> str:
    """The key of a parcel and of everything kept under it (novelties, subscriptions, alerts).

    A tracking id is a code people retype from a label or a phone call: ``ab-1001`` is the parcel
    ``AB-1001``. The key holds it in capitals, so every look-up, event and subscription finds the
    same parcel whatever the case; the parcel keeps the spelling its carrier gave it
    (decision 0019). Only ASCII letters are capitalised: a tracking id holds no other, and
    ``str.upper`` would make ``ſki-1`` (long s) or ``skı-1`` (dotless i) the parcel ``SKI-1``."""
    return f"{company_id}#{tracking_id.translate(_ASCII_CAPITALS)}"


_ASCII_CAPITALS = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def _conditional_failed(exc: Exception) -> bool:
    code = failure_code(exc) if isinstance(exc, PynamoDBException) else None
    if code in ("ConditionalCheckFailedException", "TransactionCanceledException"):
        return True
    return "ConditionalCheckFailed" in str(exc)


# --- parcels -------------------------------------------------------------------------------


def _snapshot(snap: NoveltySnapshot | None) -> domain.Novelty | None:
    if snap is None:
        return None
    # A snapshot keeps what an alert shows, not when the novelty was received or notified.
    return record_from(snap, domain.Novelty, event_id=snap.novelty_id, received_at=None, notified_at=None)


def _parcel(item: ParcelModel) -> domain.Parcel:
    return record_from(
        item,
        domain.Parcel,
        waybill_issued=bool(item.waybill_issued),
        version=int(item.version or 0),
        latest=_snapshot(item.latest),
        pending=_snapshot(item.pending),
        follow_version=None if item.follow_version is None else int(item.follow_version),
    )


def get_parcel(company_id: str, tracking_id: str) -> domain.Parcel | None:
    try:
        return _parcel(ParcelModel.get(parcel_key(company_id, tracking_id), consistent_read=True))
    except DoesNotExist:
        return None


def get_parcels(company_id: str, tracking_ids: Iterable[str]) -> dict[str, domain.Parcel]:
    """The parcels that exist of these tracking ids, by :func:`parcel_key`: one consistent
    ``BatchGetItem`` of up to 100 keys (a batch of status events reads its parcels at once)."""
    keys = sorted({parcel_key(company_id, tracking_id) for tracking_id in tracking_ids})
    found = ParcelModel.batch_get(keys, consistent_read=True)
    return {item.parcel_key: _parcel(item) for item in found}


def save_parcel(
    company_id: str,
    tracking_id: str,
    *,
    client_id: str | None,
    waybill_number: str | None,
    waybill_issued: bool,
    now: datetime,
) -> domain.Parcel:
    """Create or update a parcel's issue data."""
    item = ParcelModel(parcel_key(company_id, tracking_id))
    actions: list[Any] = [
        ParcelModel.company_id.set(company_id),
        ParcelModel.tracking_id.set(ParcelModel.tracking_id | tracking_id),  # the first spelling stays
        ParcelModel.waybill_issued.set(waybill_issued),
        ParcelModel.updated_at.set(now),
        ParcelModel.created_at.set(ParcelModel.created_at | now),
        ParcelModel.version.set(ParcelModel.version | 0),
    ]
    if client_id is not None:
        actions.append(ParcelModel.client_id.set(client_id))
        actions.append(ParcelModel.client_key.set(f"{company_id}#{client_id}"))
    if waybill_number is not None:
        actions.append(ParcelModel.waybill_number.set(waybill_number))
    item.update(actions=actions)
    return _parcel(item)


# --- novelties -----------------------------------------------------------------------------


def _novelty(item: NoveltyModel) -> domain.Novelty:
    return record_from(item, domain.Novelty)


def list_novelties(company_id: str, tracking_id: str) -> list[domain.Novelty]:
    """A parcel's novelties, oldest first."""
    items = NoveltyModel.query(parcel_key(company_id, tracking_id), consistent_read=True)
    return sorted((_novelty(i) for i in items), key=lambda n: (n.occurred_at, n.event_id))


class StaleParcel(Exception):
    """The parcel changed between read and write; read again and retry."""


def add_novelty(
    parcel: domain.Parcel,
    novelty: domain.Novelty,
    *,
    becomes_latest: bool,
    becomes_pending: bool,
    now: datetime,
) -> bool:
    """Store a novelty; it may become the parcel's latest notifiable novelty, and its pending alert.

    Returns False when the event id is already stored (idempotent ingest). Raises
    :class:`StaleParcel` when the parcel changed since it was read.
    """
    key = parcel_key(parcel.company_id, parcel.tracking_id)
    novelty_item = NoveltyModel(
        key,
        novelty.event_id,
        status=novelty.status,
        occurred_at=novelty.occurred_at,
        received_at=now,
        branch=novelty.branch,
        reason=novelty.reason,
        observation=novelty.observation,
    )
    if not becomes_latest:
        try:
            novelty_item.save(condition=NoveltyModel.event_id.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True
    parcel_actions: list[Any] = [
        ParcelModel.latest.set(_snapshot_item(novelty)),
        ParcelModel.version.add(1),
        ParcelModel.updated_at.set(now),
    ]
    if becomes_pending:
        parcel_actions += _pending_actions(parcel.company_id, novelty, now)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(novelty_item, condition=NoveltyModel.event_id.does_not_exist())
            tx.update(
                ParcelModel(key),
                actions=parcel_actions,
                condition=ParcelModel.version == parcel.version,
            )
    except TransactWriteError as exc:
        reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return False
        if _LOST_RACE.intersection(reasons):
            raise StaleParcel(key) from exc
        raise
    return True


def _snapshot_item(novelty: domain.Novelty) -> NoveltySnapshot:
    return item_from(NoveltySnapshot, novelty, novelty_id=novelty.event_id)


def _pending_actions(company_id: str, novelty: domain.Novelty, now: datetime) -> list[Any]:
    return [
        ParcelModel.pending.set(_snapshot_item(novelty)),
        ParcelModel.pending_company.set(company_id),
        ParcelModel.pending_since.set(ParcelModel.pending_since | now),
    ]


# --- subscriptions -------------------------------------------------------------------------


def _subscription(item: SubscriptionModel) -> domain.Subscription:
    return record_from(item, domain.Subscription, awaiting_confirmation=bool(item.awaiting_confirmation))


def _subscription_item(sub: domain.Subscription) -> SubscriptionModel:
    return item_from(
        SubscriptionModel,
        sub,
        parcel_key=parcel_key(sub.company_id, sub.tracking_id),
        # An unconfirmed one is kept a while past its lapse, so a late click is told "expired".
        expires=sub.expires_at + timedelta(days=UNCONFIRMED_KEPT_DAYS)
        if sub.awaiting_confirmation
        else sub.expires_at,
        awaiting_confirmation=True if sub.awaiting_confirmation else None,
        recipient_key=f"{sub.company_id}#{sub.email.lower()}" if sub.email else None,
    )


def _follow_actions(company_id: str, until: datetime | None) -> list[Any]:
    """Who follows the parcel changed: bump ``follow_version`` (a sweep that read the followers
    before cannot claim), keep the sparse follow-ups keys, drop the legacy followers copy."""
    actions: list[Any] = [ParcelModel.follow_version.add(1), ParcelModel.followers.remove()]
    if until is not None:
        actions += [ParcelModel.followed_company.set(company_id), ParcelModel.followed_until.set(until)]
    return actions


def _tx_lost_race(exc: TransactWriteError, key: str) -> StaleParcel | None:
    reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
    return StaleParcel(key) if _LOST_RACE.intersection(reasons) else None


def save_subscription(
    sub: domain.Subscription,
    *,
    follows: bool,
    expect_nonce: str | None = None,
    expect_waiting: bool = True,
) -> domain.Subscription:
    """Write a subscription whole. ``follows``: it is (or stays) an active follower, so the
    parcel's ``follow_version`` is bumped in the same transaction (one small update, whatever
    the number of followers). ``expect_nonce``: only if the stored one still has that nonce and
    still waits for confirmation (``expect_waiting``; else: is confirmed and not cancelled),
    raising :class:`SubscriptionChanged` otherwise.

    Raises :class:`StaleParcel` when a concurrent write to the parcel cancelled the transaction.
    """
    key = parcel_key(sub.company_id, sub.tracking_id)
    item = _subscription_item(sub)
    condition = None
    if expect_nonce is not None:
        state = (
            SubscriptionModel.awaiting_confirmation == True  # noqa: E712
            if expect_waiting
            else SubscriptionModel.awaiting_confirmation.does_not_exist()
            & SubscriptionModel.cancelled_at.does_not_exist()
        )
        condition = state & (SubscriptionModel.link_nonce == expect_nonce)
    if not follows:
        try:
            item.save(condition=condition)
        except PutError as exc:
            if _conditional_failed(exc):
                raise SubscriptionChanged(sub.subscription_id) from exc
            raise
        return sub
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.save(item, condition=condition)
            tx.update(
                ParcelModel(key),
                actions=_follow_actions(sub.company_id, sub.expires_at),
                condition=ParcelModel.parcel_key.exists(),
            )
    except TransactWriteError as exc:
        reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise SubscriptionChanged(sub.subscription_id) from exc
        lost = _tx_lost_race(exc, key)
        if lost is not None:
            raise lost from exc
        raise
    return sub


class SubscriptionChanged(Exception):
    """The subscription is no longer the one a link or a read named."""


def queue_latest(parcel: domain.Parcel, now: datetime) -> bool:
    """Make the parcel's latest novelty pending if it was never alerted (a new follower hears
    where the parcel is). Conditional on what was read; False when something changed (then a
    newer novelty is pending already, or it was alerted meanwhile)."""
    latest = parcel.latest
    if latest is None or parcel.pending is not None:
        return False
    if parcel.notified_occurred_at is not None and latest.occurred_at <= parcel.notified_occurred_at:
        return False
    condition = (
        ParcelModel.pending.does_not_exist()
        & (ParcelModel.latest.novelty_id == latest.event_id)
        & (ParcelModel.version == parcel.version)
    )
    try:
        ParcelModel(parcel_key(parcel.company_id, parcel.tracking_id)).update(
            actions=[*_pending_actions(parcel.company_id, latest, now), ParcelModel.version.add(1)],
            condition=condition,
        )
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def list_subscriptions(company_id: str, tracking_id: str) -> list[domain.Subscription]:
    key = parcel_key(company_id, tracking_id)
    return [_subscription(i) for i in SubscriptionModel.query(key, consistent_read=True)]


def _active_condition(now: datetime) -> Any:
    return (
        (SubscriptionModel.expires_at > now)
        & SubscriptionModel.cancelled_at.does_not_exist()
        & SubscriptionModel.awaiting_confirmation.does_not_exist()
    )


def active_subscriptions(company_id: str, tracking_id: str, now: datetime) -> list[domain.Subscription]:
    """Subscriptions that may be sent alerts: confirmed, not cancelled and not expired (even
    before TTL deletes them)."""
    key = parcel_key(company_id, tracking_id)
    return [
        _subscription(i)
        for i in SubscriptionModel.query(key, filter_condition=_active_condition(now), consistent_read=True)
    ]


def active_followers(company_id: str, tracking_id: str, now: datetime) -> list[domain.Follower]:
    """What a sweep needs of a due parcel's active subscriptions: one query of its partition."""
    return [record_from(s, domain.Follower) for s in active_subscriptions(company_id, tracking_id, now)]


# Partition key values one PartiQL ``IN`` may name (DynamoDB's limit is 50).
_PARCELS_AT_ONCE = 50


def active_followers_of(
    company_id: str, tracking_ids: list[str], now: datetime
) -> dict[str, list[domain.Follower]]:
    """:func:`active_followers` of several due parcels of a company in one request per 50
    parcels (issue 14): a PartiQL ``SELECT`` with an ``IN`` on the partition key, which DynamoDB
    runs as one query of each parcel's partition (never a scan), consistent like the query, with
    the same filter; on AWS it answers 10 items a page (``NextToken`` followed). Followers in
    subscription order, as a query returns them."""
    client: Any = connection().client
    table = SubscriptionModel.Meta.table_name
    found: dict[str, list[domain.Follower]] = {tracking_id: [] for tracking_id in tracking_ids}
    by_key = {parcel_key(company_id, tracking_id): tracking_id for tracking_id in tracking_ids}
    all_keys = list(by_key)
    for start in range(0, len(all_keys), _PARCELS_AT_ONCE):
        keys = all_keys[start : start + _PARCELS_AT_ONCE]
        marks = ", ".join("?" for _ in keys)
        request: dict[str, Any] = {
            # every value is a parameter; the table's name is ours
            "Statement": f'SELECT * FROM "{table}" WHERE parcel_key IN [{marks}] AND expires_at > ? '  # noqa: S608  # nosec B608 # PartiQL with every value a parameter; the table's name is ours
            "AND cancelled_at IS MISSING AND awaiting_confirmation IS MISSING",
            "Parameters": [*({"S": key} for key in keys), {"S": SubscriptionModel.expires_at.serialize(now)}],
            "ConsistentRead": True,
        }
        while True:
            response = client.execute_statement(**request)
            for raw in response.get("Items", []):
                item = SubscriptionModel.from_raw_data(raw)
                found[by_key[item.parcel_key]].append(record_from(_subscription(item), domain.Follower))
            if not response.get("NextToken"):
                break
            request["NextToken"] = response["NextToken"]
    return {
        tracking_id: sorted(followers, key=lambda f: f.subscription_id)
        for tracking_id, followers in found.items()
    }


def count_active_subscriptions(company_id: str, tracking_id: str, now: datetime) -> int:
    """Active subscriptions (confirmed, not cancelled nor expired), counted by DynamoDB."""
    return SubscriptionModel.count(
        parcel_key(company_id, tracking_id), filter_condition=_active_condition(now), consistent_read=True
    )


def get_subscription(company_id: str, tracking_id: str, subscription_id: str) -> domain.Subscription | None:
    try:
        item = SubscriptionModel.get(
            parcel_key(company_id, tracking_id), subscription_id, consistent_read=True
        )
    except DoesNotExist:
        return None
    return _subscription(item)


def cancel_subscription(
    company_id: str, tracking_id: str, subscription_id: str, now: datetime, *, nonce: str | None = None
) -> bool:
    """Cancel (bumping the parcel's ``follow_version`` in the same transaction); False when
    there is no such subscription, or, given ``nonce``, when it is not the one the link named.
    Cancelling twice is harmless. Raises :class:`StaleParcel` on a concurrent parcel write."""
    key = parcel_key(company_id, tracking_id)
    condition = SubscriptionModel.subscription_id.exists()
    if nonce is not None:
        condition = condition & (SubscriptionModel.link_nonce == nonce)
    try:
        with TransactWrite(connection=connection()) as tx:
            tx.update(
                SubscriptionModel(key, subscription_id),
                actions=[SubscriptionModel.cancelled_at.set(SubscriptionModel.cancelled_at | now)],
                condition=condition,
            )
            tx.update(ParcelModel(key), actions=_follow_actions(company_id, None))
    except TransactWriteError as exc:
        reasons = [r.code if r is not None else None for r in (exc.cancellation_reasons or [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            return False
        lost = _tx_lost_race(exc, key)
        if lost is not None:
            raise lost from exc
        raise
    return True


@dataclass(frozen=True)
class Page:
    items: list[Any]
    cursor: dict[str, Any] | None


def followed_parcels(company_id: str, now: datetime, limit: int, cursor: dict[str, Any] | None) -> Page:
    """Parcels someone follows now, soonest expiry first (sparse, keys-only follow-ups index:
    the page's parcels are then read in one BatchGetItem, in the index's order). A cursor whose
    parcel's follow-up has ended since (DynamoDB refuses a start key outside ``> now``) is dropped:
    every parcel of the pages before it ended sooner, so the listing from ``now`` is what follows."""
    start = checked_cursor(ParcelModel.follow_ups, company_id, cursor)
    if start is not None and _followed_until(start) <= now:
        start = None
    keys, after = page_of(
        ParcelModel.follow_ups,
        company_id,
        ParcelModel.followed_until > now,
        limit=limit,
        cursor=start,
        convert=lambda entry: entry.parcel_key,
    )
    read = {item.parcel_key: item for item in ParcelModel.batch_get(keys)} if keys else {}
    return Page([_parcel(read[key]) for key in keys if key in read], after)


def _followed_until(start: dict[str, Any]) -> datetime:
    """The follow-up end a follow-ups cursor stopped at (422 naming ``cursor`` when it has none)."""
    until = ParcelModel.followed_until
    try:
        return until.deserialize(start[until.attr_name]["S"])
    except (KeyError, ValueError) as exc:
        raise not_a_cursor() from exc


# --- sweeping ------------------------------------------------------------------------------


def pending_parcels(company_id: str, page_size: int = 200) -> Iterator[domain.Parcel]:
    """Parcels of a company with a novelty waiting for an alert (sparse pending-alerts index)."""
    for item in ParcelModel.pending_alerts.query(company_id, page_size=page_size):
        yield _parcel(item)


def alert_id(novelty_id: str, subscription_id: str) -> str:
    return f"{novelty_id}#{subscription_id}"


@dataclass(frozen=True)
class _ClaimPlan:
    parcel: domain.Parcel
    alerts: list[domain.Alert]
    messages: list[domain.Communication]
    # each alert's messages (its e-mail, and its SMS while SMS is on), in the alerts' order
    by_alert: list[list[domain.Communication]]

    @property
    def size(self) -> int:
        """Transaction items: the parcel, an alert per follower and its messages in the outbox
        (an e-mail each, and SMS for some)."""
        return 1 + len(self.alerts) + len(self.messages)


def _plan(
    parcel: domain.Parcel,
    followers: list[domain.Follower],
    messages: list[domain.Communication],
    now: datetime,
) -> _ClaimPlan:
    assert parcel.pending is not None
    novelty = parcel.pending
    alerts = [
        domain.Alert(
            company_id=parcel.company_id,
            tracking_id=parcel.tracking_id,
            alert_id=alert_id(novelty.event_id, follower.subscription_id),
            subscription_id=follower.subscription_id,
            recipient_email=follower.email,
            novelty_id=novelty.event_id,
            status_code=novelty.status,
            # A message that could not even be rendered is recorded failed with its alert.
            state="failed" if n < len(messages) and messages[n].state == "failed" else "queued",
            error=messages[n].error if n < len(messages) and messages[n].state == "failed" else None,
            created_at=now,
            communication_id=messages[n].communication_id if n < len(messages) else None,
        )
        for n, follower in enumerate(followers)
    ]
    # The writer gives one e-mail per follower in their order, then, while the company's SMS
    # service is on, one SMS per phone (in their order), with the first follower who gave it.
    by_alert = [[messages[n]] if n < len(messages) else [] for n in range(len(followers))]
    texts = iter(messages[len(followers) :])
    if len(messages) > len(followers):
        phones: set[str] = set()
        for n, follower in enumerate(followers):
            if follower.phone and follower.phone not in phones:
                phones.add(follower.phone)
                text = next(texts, None)
                if text is not None:
                    by_alert[n].append(text)
    return _ClaimPlan(parcel, alerts, messages, by_alert)


def alert_ref(company_id: str, tracking_id: str, novelty_id: str, subscription_id: str) -> str:
    """How an outbox message names the tracking alert it delivers."""
    return f"{parcel_key(company_id, tracking_id)}|{alert_id(novelty_id, subscription_id)}"


def _add_to(
    tx: TransactWrite,
    plan: _ClaimPlan,
    alerts: list[domain.Alert],
    now: datetime,
    messages: list[domain.Communication],
) -> None:
    parcel = plan.parcel
    assert parcel.pending is not None
    key = parcel_key(parcel.company_id, parcel.tracking_id)
    actions: list[Any] = [
        ParcelModel.pending.remove(),
        ParcelModel.pending_company.remove(),
        ParcelModel.pending_since.remove(),
        ParcelModel.version.add(1),
    ]
    if plan.alerts:
        actions += [
            ParcelModel.notified_occurred_at.set(parcel.pending.occurred_at),
            ParcelModel.last_alert_at.set(now),
        ]
    # The novelty is not marked: when it was notified is when its alerts were written
    # (:func:`notified_times`), and the parcel's version is what makes the claim exactly once.
    tx.update(ParcelModel(key), actions=actions, condition=_unchanged(parcel))
    for alert in alerts:
        tx.save(_alert_item(alert), condition=AlertModel.alert_id.does_not_exist())
    for message in messages:
        communications.add_to_transaction(tx, message)


# What a claimed parcel wrote: its alerts, and its messages as written (those written claimed
# carry the token of the hand-off record written with them: ``Communication.handoff``).
Claimed = tuple[list[domain.Alert], list[domain.Communication]]


def _records(messages: Iterable[domain.Communication]) -> int:
    """Hand-off records a transaction writing these messages puts: one per outbox of those
    written claimed (issue 14: the record, not the ready index, finds them if no worker comes)."""
    return len(outbox_store.new_handoffs(messages))


def claim_many_pending_alerts(
    claims: list[tuple[domain.Parcel, list[domain.Follower], list[domain.Communication]]],
    now: datetime,
) -> list[Claimed | None]:
    """Claim several parcels with as few transactions as fit (100 items each), putting each
    alert's rendered message (one per follower, same order) in the outbox in the same transaction,
    and the hand-off record of the messages written claimed (born with a lease) among them.

    Each parcel is still all-or-nothing: when a transaction is cancelled, the parcels whose
    conditions failed are dropped (None) and the others are tried again without them (and a
    record of what remains).
    """
    plans = [_plan(parcel, followers, messages, now) for parcel, followers, messages in claims]
    results: list[Claimed | None] = [None] * len(plans)
    group: list[int] = []
    size = 0
    for index, plan in enumerate(plans):
        if plan.size + _records(plan.messages) > _TX_LIMIT:
            results[index] = _claim_large(plan, now)
            continue
        together = (m for i in [*group, index] for m in plans[i].messages)
        if group and size + plan.size + _records(together) > _TX_LIMIT:
            _claim_group(plans, group, results, now)
            group, size = [], 0
        group.append(index)
        size += plan.size
    if group:
        _claim_group(plans, group, results, now)
    return results


def _claim_group(
    plans: list[_ClaimPlan], group: list[int], results: list[Claimed | None], now: datetime
) -> None:
    while group:
        messages = [m for i in group for m in plans[i].messages]
        handoffs = outbox_store.new_handoffs(messages)  # made again for what remains
        # Transaction item -> plan index, in the order DynamoDB sees the items: PynamoDB sends
        # puts before updates, so every alert and message first, then the records (a new key:
        # nobody else's), then each parcel.
        owner: list[int | None] = [
            i for i in group for _ in range(len(plans[i].alerts) + len(plans[i].messages))
        ]
        owner += [None] * len(handoffs)
        owner += list(group)
        written = {c.communication_id: c for c in outbox_store.under_handoffs(messages, handoffs)}
        try:
            with TransactWrite(connection=connection()) as tx:
                for index in group:
                    plan = plans[index]
                    _add_to(tx, plan, plan.alerts, now, [written[m.communication_id] for m in plan.messages])
                for handoff in handoffs:
                    outbox_store.add_handoff_to(tx, plans[group[0]].parcel.company_id, handoff)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            failed = {
                lost
                for n, reason in enumerate(reasons)
                if reason is not None and reason.code in _LOST_RACE and (lost := owner[n]) is not None
            }
            if not failed:
                raise
            for index in failed:
                # Lost a race, or some of its alerts were written by a sweep that died between
                # the transactions of a parcel too large for one: that one finishes the job.
                parcel = plans[index].parcel
                assert parcel.pending is not None
                if _alert_ids_of(parcel.company_id, parcel.tracking_id, parcel.pending.event_id):
                    results[index] = _claim_large(plans[index], now)
            group = [i for i in group if i not in failed]
            continue
        for index in group:
            plan = plans[index]
            results[index] = (plan.alerts, [written[m.communication_id] for m in plan.messages])
        return


def _claim_large(plan: _ClaimPlan, now: datetime) -> Claimed | None:
    """More followers than one transaction holds (a parcel may have 50, each alerted by e-mail
    and, while SMS is on, by SMS): the alerts are written in several transactions, each only
    while the parcel is still the one read (a condition check on its version and followers), with
    their messages and the hand-off record of those, and the last one claims the parcel. Until
    then the parcel stays pending: should the sweep die between two of them, the next sweep finds
    it due again, reads which of the novelty's alerts were written (each with its messages) and
    writes only the others. So none is lost and none is written twice. Returns what this call
    wrote (also when a later transaction lost a race: what was written stands, and goes out), or
    None when it wrote nothing because the parcel changed."""
    parcel = plan.parcel
    assert parcel.pending is not None
    before = _alert_ids_of(parcel.company_id, parcel.tracking_id, parcel.pending.event_id)
    todo = [(a, m) for a, m in zip(plan.alerts, plan.by_alert, strict=True) if a.alert_id not in before]
    batches = _batches(todo)
    alerts_written: list[domain.Alert] = []
    messages_written: list[domain.Communication] = []
    for n, batch in enumerate(batches):
        alerts = [alert for alert, _ in batch]
        messages = [m for _, of_alert in batch for m in of_alert]
        handoffs = outbox_store.new_handoffs(messages)
        claimed = outbox_store.under_handoffs(messages, handoffs)
        try:
            with TransactWrite(connection=connection()) as tx:
                if n == len(batches) - 1:
                    _add_to(tx, plan, alerts, now, claimed)  # the last one claims the parcel
                else:
                    tx.condition_check(
                        ParcelModel,
                        parcel_key(parcel.company_id, parcel.tracking_id),
                        condition=_unchanged(parcel),
                    )
                    for alert in alerts:
                        tx.save(_alert_item(alert), condition=AlertModel.alert_id.does_not_exist())
                    for message in claimed:
                        communications.add_to_transaction(tx, message)
                for handoff in handoffs:
                    outbox_store.add_handoff_to(tx, parcel.company_id, handoff)
        except TransactWriteError as exc:
            if any(r is not None and r.code in _LOST_RACE for r in (exc.cancellation_reasons or [])):
                return (alerts_written, messages_written) if messages_written else None
            raise
        alerts_written += alerts
        messages_written += claimed
    return alerts_written, messages_written


def _unchanged(parcel: domain.Parcel) -> Any:
    """The parcel is still at the version, and has the followers, the sweep read."""
    follow = (
        ParcelModel.follow_version == parcel.follow_version
        if parcel.follow_version is not None
        else ParcelModel.follow_version.does_not_exist()
    )
    return (ParcelModel.version == parcel.version) & follow


def _batches(
    todo: list[tuple[domain.Alert, list[domain.Communication]]],
) -> list[list[tuple[domain.Alert, list[domain.Communication]]]]:
    """The alerts (each with its messages) in transactions that fit with the parcel's item and
    the hand-off records of their messages; at least one (the claim), empty when none is left."""
    batches: list[list[tuple[domain.Alert, list[domain.Communication]]]] = [[]]
    for alert, messages in todo:
        together = [*batches[-1], (alert, messages)]
        items = sum(1 + len(m) for _, m in together) + _records(m for _, ms in together for m in ms)
        if batches[-1] and 1 + items > _TX_LIMIT:
            batches.append([(alert, messages)])
        else:
            batches[-1] = together
    return batches


def _alert_ids_of(company_id: str, tracking_id: str, novelty_id: str) -> set[str]:
    """The alerts already written about one novelty of a parcel (keys only)."""
    items = AlertModel.query(
        parcel_key(company_id, tracking_id),
        AlertModel.alert_id.startswith(alert_id(novelty_id, "")),
        consistent_read=True,
        attributes_to_get=["alert_id"],
    )
    return {str(item.alert_id) for item in items}


def _alert_item(alert: domain.Alert) -> AlertModel:
    return item_from(
        AlertModel,
        alert,
        parcel_key=parcel_key(alert.company_id, alert.tracking_id),
        recipient_key=f"{alert.company_id}#{alert.recipient_email.lower()}",
    )


def _alert(item: AlertModel) -> domain.Alert:
    return record_from(item, domain.Alert)


# What an alert shows of its message's state: a message still in the outbox is queued; a
# suppressed address is a failed alert; what a provider said after the send (delivered,
# bounced...) leaves the alert sent.
_ALERT_STATES = {"queued": "queued", "sending": "queued", "failed": "failed", "suppressed": "failed"}


def _with_outcomes(company_id: str, alerts: list[domain.Alert]) -> list[domain.Alert]:
    """Alerts with what became of the messages that deliver them, read in one BatchGetItem."""
    linked = [a.communication_id for a in alerts if a.communication_id]
    messages = communications.get_many(company_id, linked) if linked else {}
    shown = []
    for alert in alerts:
        message = messages.get(alert.communication_id or "")
        if message is not None:
            alert = replace(
                alert,
                state=_ALERT_STATES.get(message.state, "sent"),
                message_id=message.provider_message_id,
                error=message.error if message.state in ("failed", "suppressed") else alert.error,
                sent_at=message.sent_at,
            )
        shown.append(alert)
    return shown


def notified_times(company_id: str, tracking_id: str) -> dict[str, datetime]:
    """When each novelty of a parcel was notified: when the sweep wrote its first alerts (the
    claim that writes them no longer marks the novelty: 2 WRU an alert, issue 14). One Query of
    the parcel's alerts, keys and times only."""
    first: dict[str, datetime] = {}
    items = AlertModel.query(
        parcel_key(company_id, tracking_id),
        consistent_read=True,
        attributes_to_get=["novelty_id", "created_at"],
    )
    for item in items:
        novelty, at = str(item.novelty_id), item.created_at
        if novelty not in first or at < first[novelty]:
            first[novelty] = at
    return first


def alerts_for_parcel(company_id: str, tracking_id: str) -> list[domain.Alert]:
    items = AlertModel.query(parcel_key(company_id, tracking_id), consistent_read=True)
    alerts = sorted((_alert(i) for i in items), key=lambda a: a.created_at, reverse=True)
    return _with_outcomes(company_id, alerts)


def alerts_for_recipient(company_id: str, email: str, limit: int, cursor: dict[str, Any] | None) -> Page:
    recipient = f"{company_id}#{email.lower()}"
    alerts, after = page_of(
        AlertModel.by_recipient,
        recipient,
        scan_index_forward=False,
        limit=limit,
        cursor=checked_cursor(AlertModel.by_recipient, recipient, cursor),
        convert=_alert,
    )
    return Page(_with_outcomes(company_id, alerts), after)
