"""Request bodies every JSON route shares (Q4): a body nested too deeply is a 422 naming ``body``,
never a 500, whoever calls (public, API key, staff JWT). Real DynamoDB Local and moto."""

from __future__ import annotations

import json
import re
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant

DEEP = "[" * 1000 + "]" * 1000
TOO_DEEP = {"error": "ValidationError", "field": "body", "message": "body: is nested deeper than 32 levels"}


def test_a_body_nested_1000_levels_is_refused_on_public_api_key_and_staff_routes(
    api: Client, tenant: Tenant
) -> None:
    # Given a parcel the public may subscribe to
    issued = api.http.post(
        "/parcels",
        headers=tenant.key_headers(),
        body=json.dumps({"tracking_id": "DEEP-1", "waybill_issued": True}),
    )
    assert issued.status_code in (200, 201), issued.body
    nested_value = json.dumps({"name": "Ana", "emails": []})[:-1] + ', "extra": ' + DEEP + "}"

    # When bodies nested 1,000 levels deep are posted to a public, an API-key and a staff route
    answers = [
        api.http.post(
            f"/public/{tenant.company_id}/parcels/DEEP-1/subscriptions",
            headers={"Content-Type": "application/json"},
            body=DEEP,
        ),
        api.http.put("/clients/CLI-1", headers=tenant.key_headers(), body=DEEP),
        api.http.put("/clients/CLI-2", headers=tenant.key_headers(), body=nested_value),
        api.http.post("/sends", headers=tenant.staff_headers(), body=DEEP),
        api.http.put("/templates/custom:deep", headers=tenant.admin_headers(), body=DEEP),
    ]

    # Then each answers 422 naming the body, and nothing was stored
    for response in answers:
        assert response.status_code == 422, response.body
        assert {k: body(response)[k] for k in TOO_DEEP} == TOO_DEEP
    for client_id in ("CLI-1", "CLI-2"):
        assert api.http.get(f"/clients/{client_id}", headers=tenant.key_headers()).status_code == 404
    # And a body nested exactly 32 levels is read (and refused for what it says, not for its depth)
    deep_32 = '{"name": "Ana", "extra": ' + "[" * 31 + "]" * 31 + "}"
    response = api.http.put("/clients/CLI-3", headers=tenant.key_headers(), body=deep_32)
    assert response.status_code == 422 and body(response)["field"] == "extra"


def test_no_route_answers_500_to_a_deeply_nested_body(api: Client, tenant: Tenant) -> None:
    from app import app

    # Given every route that takes a body, with made-up path parameters
    routes: list[tuple[str, str]] = []
    for path, methods in app.routes.items():
        for method in methods:
            if method in ("POST", "PUT", "PATCH"):
                routes.append((method, re.sub(r"\{[^}]+\}", "x", path)))
    assert len(routes) > 30
    callers: list[dict[str, Any]] = [tenant.key_headers(), tenant.admin_headers()]

    # When each caller posts 1,000 levels to each; Then none answers 500
    for method, path in routes:
        for headers in callers:
            response = api.http.request(method, path, headers=headers, body=DEEP.encode())
            assert response.status_code < 500, (method, path, response.body)


def test_no_route_answers_500_to_an_over_long_path_parameter(api: Client, tenant: Tenant) -> None:
    from app import app

    # Given every route with a path parameter, each given 3,000 characters (DynamoDB refuses keys
    # over 2,048 bytes, sort keys over 1,024)
    routes: list[tuple[str, str]] = []
    for path, methods in app.routes.items():
        if "{" in path:
            routes += [(method, re.sub(r"\{[^}]+\}", "A" * 3000, path)) for method in methods]
    assert len(routes) > 50
    callers: list[dict[str, Any]] = [tenant.key_headers(), tenant.admin_headers()]

    # When each caller calls each; Then none answers 500
    for method, path in routes:
        for headers in callers:
            response = api.http.request(method, path, headers=headers, body=b"{}")
            assert response.status_code < 500, (method, path[:60], response.body[:300])
    # And a staff route says which parameter is too long
    response = api.http.get("/clients/" + "A" * 3000, headers=tenant.admin_headers())
    assert response.status_code == 422 and body(response)["field"] == "client_id", response.body


def test_no_route_answers_500_to_an_empty_path_parameter(api: Client, tenant: Tenant) -> None:
    from app import app

    # Given every route with a path parameter inside its path, each given an empty segment
    # (`/register//notify`; a last one left empty is another route, `/clients/` is `/clients`)
    routes: list[tuple[str, str]] = []
    for path, methods in app.routes.items():
        if re.search(r"\{[^}]+\}/", path):
            emptied = re.sub(r"\{[^}]+\}/", "/", path)
            routes += [(method, re.sub(r"\{[^}]+\}$", "x", emptied)) for method in methods]
    assert len(routes) > 50
    callers: list[dict[str, Any]] = [tenant.key_headers(), tenant.admin_headers()]

    # When each caller calls each; Then none answers 500
    for method, path in routes:
        for headers in callers:
            response = api.http.request(method, path, headers=headers, body=b"{}")
            assert response.status_code < 500, (method, path, response.body[:300])
    # And a staff route says which parameter is empty
    response = api.http.post(
        "/clients/CLI-1/register//notify", headers=tenant.admin_headers(), body=b'{"users": ["x"]}'
    )
    assert response.status_code == 422 and body(response)["field"] == "record_id", response.body


def test_the_tracking_page_form_with_a_huge_field_answers_its_page_with_the_correction(
    api: Client, tenant: Tenant
) -> None:
    from tests.steps.tracking import issue

    # Given a parcel with alerts on the company's tracking page
    issue(api, tenant, "HUGE-1")
    # When a stranger posts its form with a first name of 300,000 characters (and a huge e-mail)
    fields = (
        f"tracking_id=HUGE-1&first_name={'A' * 300_000}&last_name=Paz&email={'b' * 300_000}%40example.com"
    )
    answer = api.http.post(
        f"/track/{tenant.company_id}/subscriptions",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"},
        body=fields,
    )
    # Then the page answers 422 saying what to correct, as for a name one character too long
    assert answer.status_code == 422, answer.body[:300]
    page = answer.body.decode()
    assert "Check this (String should have at most 80 characters)." in page
    # And it does not echo what was sent: the boxes hold no more than a form could have sent
    assert "A" * 321 not in page and "b" * 321 not in page
    assert len(page) < 20_000


FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"}


def test_the_tracking_page_form_with_more_fields_than_any_form_answers_its_page_not_a_500(
    api: Client, tenant: Tenant
) -> None:
    from tests.steps.outbox import deliver_outboxes
    from tests.steps.tracking import issue

    # Given a parcel with alerts on the company's tracking page
    issue(api, tenant, "MANY-1")
    # When a stranger posts its form with the five fields and 20 more of their own
    fields = "tracking_id=MANY-1&first_name=Ana&last_name=Paz&email=ana%40example.com&" + "&".join(
        f"x{n}=1" for n in range(20)
    )
    answer = api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=FORM, body=fields)
    # Then the tracking page answers 422 (not a 500), and nobody is mailed
    assert answer.status_code == 422, answer.body[:300]
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "Parcel tracking" in answer.body.decode()
    deliver_outboxes()
    assert tenant.mailbox is not None and tenant.mailbox.messages() == []
    # And the page's own form, with its five fields, is still taken
    fields = "tracking_id=MANY-1&first_name=Ana&last_name=Paz&email=ana%40example.com&phone="
    answer = api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=FORM, body=fields)
    assert answer.status_code == 202, answer.body[:300]


def test_the_tracking_page_form_that_is_not_utf8_is_refused_and_no_mangled_address_is_mailed(
    api: Client, tenant: Tenant
) -> None:
    from tests.steps.outbox import deliver_outboxes
    from tests.steps.tracking import issue

    # Given a parcel with alerts on the company's tracking page
    issue(api, tenant, "LATIN-1")
    # When a stranger posts its form with an address in Latin-1 bytes, or %-escaped Latin-1
    raw = b"tracking_id=LATIN-1&first_name=Ana&last_name=Paz&email=jos\xe9%40example.com"
    escaped = "tracking_id=LATIN-1&first_name=Ana&last_name=Paz&email=jos%E9%40example.com"
    answers = [
        api.http.post(f"/track/{tenant.company_id}/subscriptions", headers=FORM, body=body)
        for body in (raw, escaped)
    ]
    # Then each is refused with the page (422), and no confirmation goes to "jos\ufffd@example.com"
    for answer in answers:
        assert answer.status_code == 422, answer.body[:300]
        assert "\ufffd" not in answer.body.decode()
    deliver_outboxes()
    assert tenant.mailbox is not None and tenant.mailbox.messages() == []
