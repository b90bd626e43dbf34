"""Steps shared by the tracking tests, phrased as what a carrier, customer or admin does."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from chalice.test import Client

from tests.conftest import Tenant, body, deliver_outboxes

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


def subscribe(api: Client, tenant: Tenant, tracking_id: str, email: str, first_name: str = "Ana") -> Any:
    return api.http.post(
        f"/public/{tenant.company_id}/parcels/{tracking_id}/subscriptions",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"first_name": first_name, "last_name": "García", "email": email}),
    )


def track(api: Client, tenant: Tenant, tracking_id: str) -> Any:
    response = api.http.get(f"/public/{tenant.company_id}/parcels/{tracking_id}")
    assert response.status_code == 200, response.body
    return body(response)


def sweep(tenant: Tenant) -> Any:
    """The company's tracking sweep, then the outbox workers: what was sent, failed, retried."""
    from types import SimpleNamespace

    from chalicelib.tracking.sweep import sweep_company

    report = sweep_company(tenant.company_id)
    delivered = deliver_outboxes()
    return SimpleNamespace(parcels=report.parcels, queued=report.queued, **delivered)
