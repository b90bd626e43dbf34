"""Issuing a shipment, and the automatic subscriptions that come with it (T6.1-T6.3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.core.domain import Parcel, Subscription
from chalicelib.core.errors import ValidationFailed
from chalicelib.producers.tracking.parcels import issue_parcel
from chalicelib.producers.tracking.subscriptions import (
    Issuing,
    ParcelFull,
    Subscriber,
    latest_to_new_followers,
    subscribe,
)
from chalicelib.store import tracking as store
from chalicelib.tenants.clients import find_client
from chalicelib.tenants.companies import get_company


@dataclass(frozen=True)
class Party:
    """An eventual (unregistered) sender or recipient, as entered at issue."""

    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    wants_cargo_info: bool = False


@dataclass(frozen=True)
class Shipment:
    tracking_id: str
    waybill_issued: bool
    client_id: str | None = None
    waybill_number: str | None = None
    sender: Party | None = None
    recipient: Party | None = None
    tracking_contacts: list[Subscriber] = field(default_factory=list)


@dataclass(frozen=True)
class IssueResult:
    parcel: Parcel
    created: bool
    subscriptions: list[Subscription]


def issue_shipment(company_id: str, shipment: Shipment) -> IssueResult:
    """Create or update a parcel; when its waybill is issued for the first time, subscribe
    (1) the registered client's contacts who want cargo information, (2) an eventual sender or
    recipient who ticked it, and (3) the tracking contacts entered at issue, when the company
    asks for them; then record the waybill issued.

    What it reads, each once (docs/api.md, "What an issue costs"): the parcel (consistently: the
    answer and who is subscribed depend on whether it was issued), the company only when there
    are tracking contacts or followers, the client when it has followers to give, and the
    parcel's subscriptions with one query; then the parcel once more, after its followers were
    written, to queue its latest novelty for them."""
    company = get_company(company_id) if shipment.tracking_contacts else None
    if company is not None and not company.ask_tracking_contacts:
        raise ValidationFailed(
            [
                {
                    "field": "tracking_contacts",
                    "message": "this company does not ask for tracking contacts at issue; "
                    "turn on ask_tracking_contacts first",
                }
            ]
        )
    before = store.get_parcel(company_id, shipment.tracking_id)
    newly_issued = shipment.waybill_issued and (before is None or not before.waybill_issued)
    followers = _followers(company_id, shipment) if newly_issued else []
    # The waybill is recorded issued only once its followers are subscribed: a call that fails
    # part way (a throttled write, a timeout) leaves the parcel not issued, so the back office's
    # retry subscribes them all again (a renewal for those already subscribed), not nobody.
    parcel = issue_parcel(
        company_id,
        shipment.tracking_id,
        client_id=shipment.client_id,
        waybill_number=shipment.waybill_number,
        waybill_issued=shipment.waybill_issued and not followers,
    )
    subscriptions: list[Subscription] = []
    if not followers:
        return IssueResult(parcel, before is None, subscriptions)
    issuing = Issuing(company or get_company(company_id), parcel)
    try:
        for who, source in followers:
            subscriptions.append(
                subscribe(company_id, shipment.tracking_id, who, source=source, issuing=issuing).subscription
            )
    except ParcelFull:  # no retry makes room: the waybill is issued, the 409 answered
        if subscriptions:
            latest_to_new_followers(company_id, shipment.tracking_id)
        _mark_issued(company_id, shipment)
        raise
    # (before the waybill is recorded issued: a call that fails here is posted again, and queues)
    latest_to_new_followers(company_id, shipment.tracking_id)
    parcel = _mark_issued(company_id, shipment)
    return IssueResult(parcel, before is None, subscriptions)


def _mark_issued(company_id: str, shipment: Shipment) -> Parcel:
    return issue_parcel(
        company_id,
        shipment.tracking_id,
        client_id=shipment.client_id,
        waybill_number=shipment.waybill_number,
        waybill_issued=True,
    )


def _followers(company_id: str, shipment: Shipment) -> list[tuple[Subscriber, str]]:
    followers: list[tuple[Subscriber, str]] = []
    client = find_client(company_id, shipment.client_id) if shipment.client_id else None
    if client is not None:
        followers += [
            (Subscriber(c.first_name, c.last_name, c.email, c.phone), "client_contact")
            for c in client.contacts
            if c.wants_cargo_info and c.email
        ]
    followers += [
        (Subscriber(p.first_name, p.last_name, p.email, p.phone), "eventual_party")
        for p in (shipment.sender, shipment.recipient)
        if p is not None and p.wants_cargo_info and p.email
    ]
    followers += [(who, "issue_contact") for who in shipment.tracking_contacts]
    return followers
