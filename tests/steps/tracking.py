"""Steps shared by the tracking tests, phrased as what a carrier, customer or admin does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.mail import text_of
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def issue(api: Client, tenant: Tenant, tracking_id: str, *, waybill: bool = True) -> Any:
    response = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": tracking_id, "client_id": "CLI-1", "waybill_issued": waybill}),
    )
    assert response.status_code in (200, 201), response.body
    return body(response)


def post_event(
    api: Client,
    tenant: Tenant,
    tracking_id: str,
    event_id: str,
    status: str,
    *,
    minutes: int = 0,
    observation: str | None = None,
    reason: str | None = None,
) -> Any:
    payload: dict[str, Any] = {
        "event_id": event_id,
        "status": status,
        "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat(),
        "branch": "Rosario",
    }
    if observation:
        payload["observation"] = observation
    if reason:
        payload["reason"] = reason
    response = api.http.post(
        f"/parcels/{tracking_id}/events", headers=tenant.key_headers(), body=json.dumps(payload)
    )
    assert response.status_code in (200, 201), response.body
    return response


def ask_for_alerts(
    api: Client, tenant: Tenant, tracking_id: str, email: str, first_name: str = "Ana", **extra: Any
) -> Any:
    """The end customer fills in the tracking site's form (nothing more)."""
    return api.http.post(
        f"/public/{tenant.company_id}/parcels/{tracking_id}/subscriptions",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"first_name": first_name, "last_name": "García", "email": email, **extra}),
    )


def confirmation_link(mailbox: MailCatcher, email: str) -> tuple[Path, str]:
    """The caught confirmation e-mail to ``email`` and the path of its link (after the host)."""
    for path, message in zip(mailbox.files(), mailbox.messages(), strict=False):
        if envelope_recipients(message) != [email]:
            continue
        found = re.search(
            r"https?://[^/\s]+(/public/subscriptions/confirm\?token=[\w.\-]+)", text_of(message)
        )
        if found:
            return path, found.group(1)
    raise AssertionError(f"no confirmation e-mail to {email}")


def confirm_by_link(api: Client, link: str) -> Any:
    """What a person does with the link: open the page (which changes nothing), press its button."""
    page = api.http.get(link)
    assert page.status_code == 200, page.body
    assert 'method="post"' in page.body.decode()
    return api.http.post(
        link, headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}, body=""
    )


def subscribe(api: Client, tenant: Tenant, tracking_id: str, email: str, first_name: str = "Ana") -> Any:
    """Ask for alerts and, as the person would, confirm through the link in the e-mail that
    arrives (then delete that e-mail, so the mailbox holds what the tests look at: alerts)."""
    response = ask_for_alerts(api, tenant, tracking_id, email, first_name)
    if (
        response.status_code != 202
        or body(response)["status"] != "confirmation_sent"
        or tenant.mailbox is None
    ):
        return response
    deliver_outboxes()
    path, link = confirmation_link(tenant.mailbox, email)
    confirmed = confirm_by_link(api, link)
    assert confirmed.status_code == 200, confirmed.body
    path.unlink()
    return response


def staff_subscribe(api: Client, tenant: Tenant, tracking_id: str, email: str, **extra: Any) -> Any:
    """A clerk subscribes someone by hand (T6.4): no confirmation needed."""
    response = api.http.post(
        f"/parcels/{tracking_id}/subscriptions",
        headers=tenant.staff_headers(),
        body=json.dumps({"first_name": "Ana", "last_name": "García", "email": email, **extra}),
    )
    assert response.status_code == 201, response.body
    return response


def followed_parcels(api: Client, tenant: Tenant, count: int, prefix: str) -> list[str]:
    """``count`` parcels, each followed by its recipient, who asked for cargo information on the
    waybill (subscribed at issue, no confirmation), and with a pending "out for delivery"
    novelty, posted in batches: ``count`` alerts due. Returns the followers. (The parcels are
    issued by what ``POST /parcels`` runs, in the test's process: the route's API-key and company
    reads and its HTTP layer were a fifth of the tests that follow 20 to 70 parcels; the
    novelties still go through ``POST /parcel-events``.)"""
    from chalicelib.producers.tracking.issue import Party, Shipment, issue_shipment

    followers = [f"{prefix}{n:03d}@example.com" for n in range(count)]
    tracking_ids = [f"TRK-{prefix.upper()}{n:03d}" for n in range(count)]
    for tracking_id, email in zip(tracking_ids, followers, strict=True):
        recipient = Party("Ana", "García", email, None, True)
        shipment = Shipment(
            tracking_id=tracking_id, waybill_issued=True, client_id="CLI-1", recipient=recipient
        )
        issued = issue_shipment(tenant.company_id, shipment)
        assert [s.email for s in issued.subscriptions] == [email], issued
    post_novelties(api, tenant, tracking_ids)
    return followers


def followed_by_staff(tenant: Tenant, tracking_id: str, *emails: str) -> None:
    """A parcel issued with its waybill, then followed by ``emails`` subscribed by staff: what
    ``POST /parcels`` and ``POST /parcels/{id}/subscriptions`` run, in the test's process (a Given
    the tests that follow many parcels need, not what they look at)."""
    from chalicelib.producers.tracking.issue import Shipment, issue_shipment
    from chalicelib.producers.tracking.subscriptions import Subscriber, subscribe

    issue_shipment(tenant.company_id, Shipment(tracking_id, waybill_issued=True, client_id="CLI-1"))
    for email in emails:
        subscribe(tenant.company_id, tracking_id, Subscriber("Ana", "García", email), source="staff")


def post_novelties(
    api: Client, tenant: Tenant, tracking_ids: list[str], status: str = "OUT_FOR_DELIVERY"
) -> None:
    """The carrier's novelty ``status`` (event ``ev-1``, a minute after T0) for each parcel, posted
    in batches (``POST /parcel-events``, up to 100 a call) rather than a call each."""
    novelty = {
        "event_id": "ev-1",
        "status": status,
        "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
        "branch": "Rosario",
    }
    for first in range(0, len(tracking_ids), 100):
        events = [{"tracking_id": t, **novelty} for t in tracking_ids[first : first + 100]]
        posted = api.http.post(
            "/parcel-events", headers=tenant.key_headers(), body=json.dumps({"events": events})
        )
        assert posted.status_code == 200, posted.body


def alerts_monitor(api: Client, tenant: Tenant) -> Any:
    """The tracking row of the alerts monitor, as staff see it (GET /alerts)."""
    rows = body(api.http.get("/alerts", headers=tenant.staff_headers()))["items"]
    return next(r for r in rows if r["alert_type"] == "tracking")


@contextmanager
def delivered_while_claiming(
    api: Client, tenant: Tenant, monkeypatch: Any, tracking_id: str
) -> Iterator[list[int]]:
    """While the block runs, ``tracking_id`` is delivered (a newer novelty, ``ev-2``) just before
    the first claim of a chunk commits, as a carrier's event landing mid-sweep. Yields the sizes
    of the chunks claimed that way (one)."""
    from chalicelib.store import tracking as store

    real = store.claim_many_pending_alerts
    seen: list[int] = []

    def interleaved(claims: Any, now: Any) -> Any:
        if not seen:
            seen.append(len(claims))
            post_event(api, tenant, tracking_id, "ev-2", "DELIVERED", minutes=2)
        return real(claims, now)

    monkeypatch.setattr(store, "claim_many_pending_alerts", interleaved)
    try:
        yield seen
    finally:
        monkeypatch.setattr(store, "claim_many_pending_alerts", real)


def track(api: Client, tenant: Tenant, tracking_id: str) -> Any:
    response = api.http.get(f"/public/{tenant.company_id}/parcels/{tracking_id}")
    assert response.status_code == 200, response.body
    return body(response)


def sweep(tenant: Tenant) -> Any:
    """The company's tracking sweep, then the outbox workers: what was sent, failed, retried."""
    from types import SimpleNamespace

    from chalicelib.producers.tracking.sweep import sweep_company

    report = sweep_company(tenant.company_id)
    delivered = deliver_outboxes()
    return SimpleNamespace(parcels=report.parcels, queued=report.queued, **delivered)
