"""What issuing a parcel and posting its novelties cost in DynamoDB requests: ``POST /parcels`` is
the ERP's hottest route (every waybill), and ``POST /parcel-events`` the sweep's input. Each read
is made once and passed down (docs/api.md, "What an issue costs"); these bounds fail when a
change reads something again."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.aws import dynamodb_requests_by_table
from tests.steps.clients import client_answer
from tests.steps.tenants import Tenant
from tests.steps.tracking import T0, post_event

MARTA = {
    "contact_id": "c1",
    "first_name": "Marta",
    "last_name": "Sosa",
    "email": "marta@norte.example",
    "phone": "011 4555-1234",
    "wants_cargo_info": True,
}
# Every request one call may make, by ``Operation table``; the authorizer's two reads (the key,
# the company's state) come first: API Gateway caches them on AWS, the test client does not.
# (It writes down when a key was last used at most every 5 minutes: the key's first call here.)
AUTHORIZER = {"GetItem api-keys": 1, "UpdateItem api-keys": 1, "GetItem companies": 1}
FOLLOWED = "TransactWriteItems parcels+subscriptions"


def posted(api: Client, tenant: Tenant, path: str, payload: dict[str, Any]) -> tuple[Any, Counter[str]]:
    with dynamodb_requests_by_table() as requests:
        response = api.http.post(path, headers=tenant.key_headers(), body=json.dumps(payload))
    assert response.status_code in (200, 201), response.body
    return body(response), requests


def at_most(requests: Counter[str], bounds: dict[str, int]) -> None:
    over = {name: n for name, n in requests.items() if n > bounds.get(name, 0)}
    assert not over, f"more requests than {bounds}: {dict(requests)}"


def test_an_issue_reads_the_parcel_the_company_and_the_subscriptions_once_whatever_it_subscribes(
    api: Client, tenant: Tenant
) -> None:
    # Given a client with a contact who wants cargo information (with a phone), and a company
    # that asks for tracking contacts at issue
    assert (
        client_answer(
            api, tenant, "CLI-9", {"name": "Norte", "emails": ["compras@norte.example"], "contacts": [MARTA]}
        ).status_code
        == 200
    )
    patched = api.http.patch(
        "/company", headers=tenant.admin_headers(), body=json.dumps({"ask_tracking_contacts": True})
    )
    assert patched.status_code == 200, patched.body
    # When a plain parcel is issued, and issued again
    _, new = posted(api, tenant, "/parcels", {"tracking_id": "TRK-Q1", "waybill_issued": True})
    _, again = posted(api, tenant, "/parcels", {"tracking_id": "TRK-Q1", "waybill_issued": True})
    # Then each reads the parcel once and writes it once
    for requests in (new, again):
        at_most(requests, {**AUTHORIZER, "GetItem parcels": 1, "UpdateItem parcels": 1})

    # When a parcel is issued with a client, a recipient who ticked cargo information and a
    # tracking contact: three followers
    shipment = {
        "tracking_id": "TRK-Q2",
        "waybill_issued": True,
        "client_id": "CLI-9",
        "recipient": {
            "first_name": "Leo",
            "last_name": "Paz",
            "email": "leo@example.com",
            "wants_cargo_info": True,
        },
        "tracking_contacts": [
            {"first_name": "Ana", "last_name": "Gil", "email": "ana@example.com", "phone": "011 4555-9876"}
        ],
    }
    issued, requests = posted(api, tenant, "/parcels", shipment)
    # Then all three follow it, and the company, the client, the SMS region and the parcel's
    # subscriptions were read once each; the parcel twice (before, and after its followers were
    # written, for its latest novelty); one transaction per follower, two writes of the parcel
    # (the waybill is recorded issued after its followers: docs/api.md)
    assert sorted(issued["subscribed"]) == ["ana@example.com", "leo@example.com", "marta@norte.example"]
    assert issued["waybill_issued"] is True
    at_most(
        requests,
        {
            "GetItem api-keys": 1,
            "UpdateItem api-keys": 1,
            "GetItem companies": 2,
            "GetItem clients": 1,
            "GetItem sms-settings": 1,
            "GetItem parcels": 2,
            "Query subscriptions": 1,
            FOLLOWED: 3,
            "UpdateItem parcels": 2,
        },
    )
    assert requests[FOLLOWED] == 3
    # And issuing it again (the back office's retry) subscribes nobody and reads only the parcel
    # (and the company, for its tracking contacts)
    reissued, requests = posted(api, tenant, "/parcels", shipment)
    assert reissued["subscribed"] == []
    at_most(requests, {**AUTHORIZER, "GetItem companies": 2, "GetItem parcels": 1, "UpdateItem parcels": 1})

    # Given a parcel registered before its waybill, with a novelty that nobody followed
    posted(api, tenant, "/parcels", {"tracking_id": "TRK-Q3", "client_id": "CLI-9", "waybill_issued": False})
    post_event(api, tenant, "TRK-Q3", "ev-1", "IN_TRANSIT", minutes=1)
    # When its waybill is issued
    issued, requests = posted(
        api, tenant, "/parcels", {"tracking_id": "TRK-Q3", "client_id": "CLI-9", "waybill_issued": True}
    )
    # Then its new follower hears the novelty (queued once, with one more write of the parcel)
    assert issued["subscribed"] == ["marta@norte.example"]
    assert issued["pending_alert"]["event_id"] == "ev-1"
    at_most(
        requests,
        {
            **AUTHORIZER,
            "GetItem companies": 2,
            "GetItem clients": 1,
            "GetItem sms-settings": 1,
            "GetItem parcels": 2,
            "Query subscriptions": 1,
            FOLLOWED: 1,
            "UpdateItem parcels": 3,
        },
    )


def test_a_status_event_reads_its_parcel_once_and_a_batch_reads_its_parcels_at_once(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.producers.tracking.issue import Shipment, issue_shipment

    # Given 25 issued parcels
    tracking_ids = [f"TRK-E{n:02d}" for n in range(25)]
    for tracking_id in tracking_ids:
        issue_shipment(tenant.company_id, Shipment(tracking_id=tracking_id, waybill_issued=True))
    event = {
        "event_id": "ev-1",
        "status": "OUT_FOR_DELIVERY",
        "occurred_at": (T0 + timedelta(minutes=1)).isoformat(),
    }
    # When one status event is posted, and posted again
    for created in (True, False):
        answer, requests = posted(api, tenant, f"/parcels/{tracking_ids[0]}/events", event)
        # Then the parcel is read once, and the event written once (the second time, only tried)
        assert answer["created"] is created
        write = "TransactWriteItems novelties+parcels" if created else "PutItem novelties"
        at_most(requests, {**AUTHORIZER, "GetItem parcels": 1, "Query status-catalog": 1, write: 1})
    # When a batch of 25 events is posted, two of them of one parcel
    later = {**event, "event_id": "ev-2", "occurred_at": (T0 + timedelta(minutes=2)).isoformat()}
    events = [{"tracking_id": t, **later} for t in tracking_ids]
    events.append({**events[1], "event_id": "ev-3", "occurred_at": (T0 + timedelta(minutes=3)).isoformat()})
    answer, requests = posted(api, tenant, "/parcel-events", {"events": events})
    # Then every event is stored, and the parcels were read with one request; only the parcel
    # that changed under its second event is read again
    assert [r["created"] for r in answer["results"]] == [True] * 26
    at_most(
        requests,
        {
            **AUTHORIZER,
            "BatchGetItem parcels": 1,
            "GetItem parcels": 1,
            "Query status-catalog": 1,
            "TransactWriteItems novelties+parcels": 26,
        },
    )
