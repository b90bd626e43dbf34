"""Parcels and their novelties: issue, ingest status events (T4), and the two views of history (T1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.core import clock
from chalicelib.core.domain import Novelty, Parcel, StatusDefinition
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.messaging.accounts.email import account_for
from chalicelib.producers.tracking.catalog import is_notifiable, status_catalog
from chalicelib.producers.tracking.limits import count_lookup
from chalicelib.producers.tracking.monitor import tracking_alerts_on
from chalicelib.store import tracking as store

_MAX_RETRIES = 8
MAX_TRACKING_ID = 64  # the longest tracking id a parcel is issued with (a ``Code``, api/schemas.py)


@dataclass(frozen=True)
class StatusEvent:
    tracking_id: str
    event_id: str
    status: str
    occurred_at: datetime
    branch: str | None = None
    reason: str | None = None
    observation: str | None = None


@dataclass(frozen=True)
class IngestResult:
    tracking_id: str
    event_id: str
    created: bool


def issue_parcel(
    company_id: str,
    tracking_id: str,
    *,
    client_id: str | None,
    waybill_number: str | None,
    waybill_issued: bool,
) -> Parcel:
    """Create or update a parcel."""
    return store.save_parcel(
        company_id,
        tracking_id,
        client_id=client_id,
        waybill_number=waybill_number,
        waybill_issued=waybill_issued,
        now=clock.now(),
    )


def may_exist(company_id: str, tracking_id: str) -> bool:
    """Whether a parcel could have these ids: a company's id, and a tracking id no longer than a
    parcel's (public URLs carry both; DynamoDB would refuse longer keys with an error, not a 404)."""
    from chalicelib.tenants.companies import COMPANY_ID

    return bool(COMPANY_ID.match(company_id)) and 0 < len(tracking_id) <= MAX_TRACKING_ID


def get_parcel(company_id: str, tracking_id: str) -> Parcel:
    parcel = store.get_parcel(company_id, tracking_id) if may_exist(company_id, tracking_id) else None
    if parcel is None:
        raise NotFound(f"there is no parcel with tracking id {tracking_id!r}")
    return parcel


def record_status_event(company_id: str, event: StatusEvent) -> IngestResult:
    """Store one status event of an existing parcel (404 when there is no such parcel)."""
    parcel = get_parcel(company_id, event.tracking_id)
    return _record_checked(company_id, [event], lambda _index, name: name, read=[parcel])[0]


def record_status_events(company_id: str, events: list[StatusEvent]) -> list[IngestResult]:
    """Store a batch of status events; each event id is stored once however often it is posted (T4).

    Every event is checked before any is written, so a bad batch writes nothing. The parcels
    are read at once (one consistent ``BatchGetItem``), and each event's write is conditioned on
    the parcel as read; only an event whose parcel changed since (an earlier event of the batch
    became its latest, or another writer) reads it again.
    """
    return _record_checked(company_id, events, lambda index, name: f"events[{index}].{name}")


def _record_checked(
    company_id: str,
    events: list[StatusEvent],
    field: Callable[[int, str], str],
    read: list[Parcel] | None = None,
) -> list[IngestResult]:
    catalog = status_catalog(company_id)
    errors = []
    parcels = (
        {store.parcel_key(p.company_id, p.tracking_id): p for p in read}
        if read is not None
        else store.get_parcels(company_id, [e.tracking_id for e in events])
    )
    for index, event in enumerate(events):
        if event.status not in catalog:
            errors.append(
                {
                    "field": field(index, "status"),
                    "message": f"unknown status code {event.status!r}; add it to the status catalog first",
                }
            )
        if store.parcel_key(company_id, event.tracking_id) not in parcels:
            errors.append(
                {
                    "field": field(index, "tracking_id"),
                    "message": f"there is no parcel with tracking id {event.tracking_id!r}",
                }
            )
    if errors:
        raise ValidationFailed(errors)
    return [_record(company_id, event, catalog.get(event.status), parcels) for event in events]


def _record(
    company_id: str, event: StatusEvent, status: StatusDefinition | None, parcels: dict[str, Parcel]
) -> IngestResult:
    """Store one event; ``parcels``: the parcels as last read, by key. An event that changed its
    parcel (became its latest) leaves it out, so the next event of that parcel reads it again."""
    novelty = Novelty(
        event_id=event.event_id,
        status=event.status,
        occurred_at=event.occurred_at,
        branch=event.branch,
        reason=event.reason,
        observation=event.observation,
    )
    key = store.parcel_key(company_id, event.tracking_id)
    parcel = parcels.pop(key, None)
    for _ in range(_MAX_RETRIES):
        now = clock.now()
        if parcel is None:
            parcel = store.get_parcel(company_id, event.tracking_id)
        assert parcel is not None
        latest = _becomes_latest(parcel, novelty, status)
        try:
            created = store.add_novelty(
                parcel,
                novelty,
                becomes_latest=latest,
                becomes_pending=latest and _awaits_alert(parcel, novelty.occurred_at, now),
                now=now,
            )
        except store.StaleParcel:
            parcel = None  # the parcel changed under us (another event, or a sweep): read it again
            continue
        if not (latest and created):
            parcels[key] = parcel  # unchanged: only the novelty was put (or it was stored already)
        return IngestResult(event.tracking_id, event.event_id, created)
    raise RuntimeError(f"parcel {event.tracking_id} kept changing; event {event.event_id} not stored")


def _becomes_latest(parcel: Parcel, novelty: Novelty, status: StatusDefinition | None) -> bool:
    """A notifiable novelty newer than the parcel's latest one becomes its latest."""
    if not is_notifiable(status):
        return False
    return parcel.latest is None or novelty.occurred_at > parcel.latest.occurred_at


def _awaits_alert(parcel: Parcel, occurred_at: datetime, now: datetime) -> bool:
    """The latest novelty waits for the next sweep when someone follows the parcel and it is
    newer than the last novelty alerted (an old event arriving late is never sent)."""
    if parcel.followed_until is None or parcel.followed_until <= now:
        return False
    return parcel.notified_occurred_at is None or occurred_at > parcel.notified_occurred_at


# --- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    status_name: str
    occurred_at: datetime
    branch: str | None
    reason: str | None
    observation: str | None
    hidden: bool = False
    event_id: str | None = None
    notified_at: datetime | None = None


@dataclass(frozen=True)
class PublicTracking:
    tracking_id: str
    history: list[HistoryEntry]
    alerts_available: bool


def _public_entry(novelty: Novelty, status: StatusDefinition) -> HistoryEntry:
    return HistoryEntry(
        status=novelty.status,
        status_name=status.display_name,
        occurred_at=novelty.occurred_at,
        branch=novelty.branch,
        reason=novelty.reason if status.visibility == "with_reason" else None,
        observation=novelty.observation if status.visibility == "with_observations" else None,
    )


def public_tracking(
    company_id: str, tracking_id: str, *, client_ip: str | None, counted: bool = True
) -> PublicTracking:
    """What the end customer may see (T1) and whether alerts can be requested (T2). Every look-up
    counts against its client's limit, found or not (429 beyond it); ``counted=False`` only for
    the parcel shown again with a subscription just taken (counted by the subscribe limits)."""
    if counted:
        count_lookup(client_ip)
    parcel = get_parcel(company_id, tracking_id)
    catalog = status_catalog(company_id)
    history = []
    for novelty in store.list_novelties(company_id, tracking_id):
        status = catalog.get(novelty.status)
        if status is None or status.visibility == "hidden":
            continue
        history.append(_public_entry(novelty, status))
    # the parcel as its carrier spells it, whatever case was typed
    return PublicTracking(parcel.tracking_id, history, alerts_available(company_id, parcel))


def alerts_available(company_id: str, parcel: Parcel) -> bool:
    """T2: a waybill is issued, a working sender account exists (of the area the company's
    tracking alert goes out from, or ``all``), and tracking alerts are on."""
    from chalicelib.messaging.templates import sender_area_of

    return (
        parcel.waybill_issued
        and tracking_alerts_on(company_id)
        and account_for(company_id, sender_area_of(company_id, "tracking_alert")) is not None
    )


def staff_history(company_id: str, tracking_id: str) -> tuple[Parcel, list[HistoryEntry]]:
    """Everything, hidden statuses included, for the company's own staff and systems."""
    parcel = get_parcel(company_id, tracking_id)
    catalog = status_catalog(company_id)
    # novelties notified before issue 14 carry their time; later ones, their first alert's
    notified = store.notified_times(company_id, tracking_id)
    history = []
    for novelty in store.list_novelties(company_id, tracking_id):
        status = catalog.get(novelty.status)
        history.append(
            HistoryEntry(
                status=novelty.status,
                status_name=status.display_name if status else novelty.status,
                occurred_at=novelty.occurred_at,
                branch=novelty.branch,
                reason=novelty.reason,
                observation=novelty.observation,
                hidden=status is None or status.visibility == "hidden",
                event_id=novelty.event_id,
                notified_at=novelty.notified_at or notified.get(novelty.event_id),
            )
        )
    return parcel, history
