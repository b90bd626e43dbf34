"""A listing's cursor is the caller's to send back, not to make up: every listing answers a cursor
it did not give out (tampered, another listing's, another company's) with 422 naming ``cursor``."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant

# Every listing that pages with a cursor (an administrator may call each).
LISTINGS = [
    "/clients",
    "/suppliers",
    "/history/email",
    "/inbound/unassigned",
    "/clients/CLI-1/notes",
    "/notes/report",
    "/follow-ups",
    "/subscribers/ana%40example.com/alerts",
    "/clients/CLI-1/register",
    "/sends",
    "/suppressions",
    "/tickets",
]


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.fixture
def company_with_a_client(api: Client, tenant: Tenant) -> Tenant:
    answer = api.http.put("/clients/CLI-1", headers=tenant.key_headers(), body=json.dumps({"name": "Ana"}))
    assert answer.status_code == 200, answer.body
    return tenant


def test_a_made_up_cursor_is_refused_naming_it(
    api: Client, company_with_a_client: Tenant, other_tenant: Tenant
) -> None:
    tenant = company_with_a_client
    made_up = [
        {"x": {"S": "y"}},  # another table's keys
        {"company_id": "plain"},  # not DynamoDB's typed values
        ["a", "list"],
        {"company_id": {"S": other_tenant.company_id}, "client_id": {"S": "CLI-1"}},  # another company
        {"company_id": {"S": tenant.company_id}, "client_id": {"N": "1"}},  # a number for a string key
    ]
    refused = []
    for path in LISTINGS:
        for value in made_up:
            # When an administrator asks a listing for the page after a cursor no listing gave out
            answer = api.http.get(f"{path}?cursor={cursor(value)}", headers=tenant.admin_headers())
            refused.append((path, value, answer.status_code, body(answer).get("field")))
    # Then every listing answers 422 naming the cursor, never a server error
    assert [r for r in refused if r[2:] != (422, "cursor")] == []


def test_another_companys_cursor_does_not_page_on_here(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Given another company with two clients, and the cursor of the first page of its listing
    admin = other_tenant.admin_headers()
    for client_id in ("OTHER-1", "OTHER-2"):
        answer = api.http.put(
            f"/clients/{client_id}", headers=other_tenant.key_headers(), body=json.dumps({"name": "Otro"})
        )
        assert answer.status_code == 200, answer.body
    first = body(api.http.get("/clients?limit=1", headers=admin))
    assert first["next_cursor"]
    # When this company sends that cursor back as its own
    answer = api.http.get(f"/clients?cursor={first['next_cursor']}", headers=tenant.admin_headers())
    # Then it is refused naming the cursor, and nothing of the other company is shown
    assert answer.status_code == 422 and body(answer)["field"] == "cursor"
    assert "OTHER" not in answer.body.decode()
    # And the other company pages on with it
    second = body(api.http.get(f"/clients?limit=1&cursor={first['next_cursor']}", headers=admin))
    assert [c["client_id"] for c in first["items"] + second["items"]] == ["OTHER-1", "OTHER-2"]


def test_the_follow_ups_page_after_a_parcel_whose_follow_up_ended_meanwhile(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from datetime import timedelta

    from tests.steps.tracking import T0, issue, staff_subscribe

    # Given two parcels followed from a day apart, and a clerk who saw the first page (one parcel)
    issue(api, tenant, "TRK-F1")
    issue(api, tenant, "TRK-F2")
    staff_subscribe(api, tenant, "TRK-F1", "ana@example.com")
    clock.set_now(T0 + timedelta(days=1))
    staff_subscribe(api, tenant, "TRK-F2", "luis@example.com")
    first = body(api.http.get("/follow-ups?limit=1", headers=tenant.staff_headers()))
    assert [f["tracking_id"] for f in first["items"]] == ["TRK-F1"] and first["next_cursor"]
    # When the first parcel's follow-up ends before the clerk asks for the next page
    clock.set_now(T0 + timedelta(days=30, hours=1))
    after = api.http.get(f"/follow-ups?limit=1&cursor={first['next_cursor']}", headers=tenant.staff_headers())
    # Then the next page is the parcel still followed
    assert after.status_code == 200, after.body
    assert [f["tracking_id"] for f in body(after)["items"]] == ["TRK-F2"]


def test_a_cursor_of_another_date_range_is_refused_naming_it(api: Client, tenant: Tenant, clock: Any) -> None:
    from datetime import timedelta

    from tests.steps.tracking import T0, issue, post_event, subscribe, sweep

    # Given alerts sent on two days, and the first page (one e-mail) of the whole history
    for day in (0, 1):
        clock.set_now(T0 + timedelta(days=day))
        issue(api, tenant, f"TRK-D{day}")
        subscribe(api, tenant, f"TRK-D{day}", f"ana{day}@example.com")
        post_event(api, tenant, f"TRK-D{day}", "ev-1", "DELIVERED", minutes=1)
        clock.set_now(T0 + timedelta(days=day, minutes=2))
        sweep(tenant)
    staff = tenant.staff_headers()
    whole = body(api.http.get("/history/email?limit=1", headers=staff))
    assert len(whole["items"]) == 1 and whole["next_cursor"]
    # When that cursor (stopped at the second day's e-mail) is sent with the first day's range only
    first_day = (T0.date()).isoformat()
    answer = api.http.get(
        f"/history/email?from={first_day}&to={first_day}&cursor={whole['next_cursor']}", headers=staff
    )
    # Then it is a 422 naming the cursor, not a server error
    assert answer.status_code == 422, answer.body
    assert body(answer)["field"] == "cursor"


def test_a_page_holding_a_listings_last_item_answers_no_cursor(api: Client, tenant: Tenant) -> None:
    from datetime import datetime, timedelta, timezone

    from chalicelib.core.domain import SendJob, Ticket
    from chalicelib.store.communications import new_communication_id
    from chalicelib.store.outbox import create_job
    from chalicelib.store.tickets import open_ticket
    from tests.steps.clients import put_client
    from tests.steps.tenants import IDENTITY

    # Given a company with four clients; six tickets, four of CLI-1's between the others' (the
    # oldest is another's); and six send jobs, four of them a level-4 user's, the oldest not hers
    start = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    for client_id in ("CLI-1", "CLI-2", "CLI-3", "CLI-4"):
        put_client(api, tenant, client_id)
    junior = f"junior@{tenant.company_id}"
    for n, owner in enumerate(["CLI-2", "CLI-1", "CLI-2", "CLI-1", "CLI-1", "CLI-1"]):
        moment = start + timedelta(minutes=n)
        ticket = Ticket(tenant.company_id, f"T{n}", owner, None, None, f"Ticket {n}", "sms", moment)
        opened, _ = open_ticket(ticket, "2026-11-02", 10)
        assert opened is not None
        author = junior if n in (1, 2, 4, 5) else f"clerk@{tenant.company_id}"
        create_job(SendJob(tenant.company_id, new_communication_id(moment), "email", "custom:aviso",
                           "done", 1, 0, 1, 0, 0, author, moment, moment))  # fmt: skip
    admin = tenant.admin_headers()
    level_4 = {"Authorization": "Bearer " + IDENTITY.mint(tenant.company_id, user_id=junior, level=4)}

    def pages(path: str, headers: dict[str, str], field: str) -> list[list[str]]:
        """Each page's ``field`` of its items, following ``next_cursor`` to the end."""
        found: list[list[str]] = []
        cursor = ""
        while len(found) < 10:
            answer = api.http.get(f"{path}{cursor}", headers=headers)
            assert answer.status_code == 200, (path, answer.body)
            page = body(answer)
            found.append([str(item[field]) for item in page["items"]])
            if not page["next_cursor"]:
                return found
            cursor = f"&cursor={page['next_cursor']}"
        raise AssertionError("the cursor does not move on")

    # When the listings are paged through at half their length, filtered by DynamoDB, by a
    # reading that leaves others' items out, or not filtered
    # Then there are two pages, the second holding the last item and no cursor: no empty third
    assert pages("/clients?limit=2", admin, "client_id") == [["CLI-1", "CLI-2"], ["CLI-3", "CLI-4"]]
    assert pages("/clients?q=cliente&limit=2", admin, "client_id") == [["CLI-1", "CLI-2"], ["CLI-3", "CLI-4"]]
    assert pages("/tickets?limit=3", admin, "ticket_id") == [["T5", "T4", "T3"], ["T2", "T1", "T0"]]
    assert pages("/tickets?client_id=CLI-1&limit=2", admin, "ticket_id") == [["T5", "T4"], ["T3", "T1"]]
    assert [len(p) for p in pages("/sends?limit=3", admin, "job_id")] == [3, 3]
    assert [len(p) for p in pages("/sends?limit=2", level_4, "job_id")] == [2, 2]

    # And a cursor keeps DynamoDB's own shape (the item's table and index keys), so a cursor given
    # out before still resumes where it did
    first = body(api.http.get("/tickets?limit=3", headers=admin))
    assert json.loads(base64.urlsafe_b64decode(first["next_cursor"])) == {
        "company_id": {"S": tenant.company_id},
        "created_at": {"S": "2026-11-02T12:03:00.000000+0000"},
        "ticket_id": {"S": "T3"},
    }
