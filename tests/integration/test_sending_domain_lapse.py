"""A sending domain registered by a company that never proves it controls the domain's DNS does not
block the real owner forever: 72 hours after its first registration without SES verifying it, the
registration lapses and another company may take the domain over. A verified domain, or one whose
company sends from it with SES accounts, is never taken."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.domains import ses_not_verifying_yet, ses_removes_the_identity
from tests.steps.tenants import Tenant, make_tenant

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)  # the clock fixture's instant


def register(api: Client, tenant: Tenant, domain: str, **headers: str) -> Any:
    return api.http.post(
        "/sender-domains",
        headers={**tenant.admin_headers(), **headers},
        body=json.dumps({"domain": domain}),
    )


def lapses_at(moment: datetime) -> str:
    """The 409's words for a registration that lapses at ``moment`` (the API's date-time format)."""
    return (
        "another company registered this domain; unless SES verifies it first, that registration lapses "
        f"at {moment.isoformat()} and the domain may be registered again then"
    )


def stored(domain: str) -> dict[str, Any]:
    """The domain's item as DynamoDB holds it."""
    import boto3

    from chalicelib.store.models import SenderDomainModel

    return boto3.client("dynamodb").get_item(
        TableName=SenderDomainModel.Meta.table_name, Key={"domain": {"S": domain}}, ConsistentRead=True
    )["Item"]


def stored_time(moment: datetime) -> dict[str, str]:
    from pynamodb.attributes import UTCDateTimeAttribute

    return {"S": UTCDateTimeAttribute().serialize(moment)}


def domains_listed(api: Client, tenant: Tenant) -> list[str]:
    return [
        d["domain"] for d in body(api.http.get("/sender-domains", headers=tenant.admin_headers()))["items"]
    ]


def squatted(api: Client, squatter: Tenant, domain: str) -> None:
    """The squatter registers the domain; it cannot publish the owner's DNS records, so SES never
    verifies it (moto verifies at once: SES answers pending, then the identity is removed)."""
    with ses_not_verifying_yet():
        assert register(api, squatter, domain).status_code == 201
    ses_removes_the_identity(domain)


def test_a_squatters_registration_blocks_for_72_hours_then_the_owner_takes_the_domain_over(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    squatter, owner = tenant, other_tenant
    domain = f"avisos.{owner.company_id}.example"
    # Given a company that registered another company's domain and never had it verified
    squatted(api, squatter, domain)
    # When the domain's owner registers it just before 72 hours have passed
    clock.set_now(T0 + timedelta(hours=72) - timedelta(seconds=1))
    blocked = register(api, owner, domain)
    # Then it is refused, saying when the other registration lapses, without naming that company
    assert blocked.status_code == 409, blocked.body
    assert body(blocked)["field"] == "domain"
    assert body(blocked)["message"] == lapses_at(T0 + timedelta(hours=72))
    assert "lapses at 2026-11-05T12:00:00+00:00 " in body(blocked)["message"]
    assert squatter.company_id not in blocked.body.decode()
    # And a Spanish-speaking caller reads it in Spanish
    spanish = register(api, owner, domain, **{"Accept-Language": "es"})
    assert spanish.status_code == 409 and body(spanish)["field"] == "domain", spanish.body
    assert body(spanish)["message"] == (
        "otra empresa registró este dominio; si SES no lo verifica antes, ese registro caduca el "
        "2026-11-05T12:00:00+00:00 y el dominio podrá registrarse de nuevo entonces"
    )
    assert domains_listed(api, owner) == [] and domains_listed(api, squatter) == [domain]

    # When 72 hours have passed since the squatter first registered it
    clock.set_now(T0 + timedelta(hours=72))
    caplog.clear()
    taken = register(api, owner, domain)
    # Then the owner has the domain, with the records to publish
    assert taken.status_code == 201, taken.body
    shown = body(taken)
    assert shown["domain"] == domain and shown["created_at"] == (T0 + timedelta(hours=72)).isoformat()
    assert len([r for r in shown["records"] if r["purpose"] == "dkim"]) == 3
    assert domains_listed(api, owner) == [domain]
    item = stored(domain)
    assert item["company_id"] == {"S": owner.company_id}
    assert item["created_at"] == stored_time(T0 + timedelta(hours=72))
    assert item["created_by"] == {"S": f"admin@{owner.company_id}"}
    assert len(item["dkim_tokens"]["L"]) == 3
    # And the takeover is logged with both companies and the domain
    logged = [r.__dict__ for r in caplog.records if r.getMessage() == "sending domain taken over"]
    assert [(r["company_id"], r["previous_company_id"], r["domain"]) for r in logged] == [
        (owner.company_id, squatter.company_id, domain)
    ]
    # And the squatter no longer has it: not listed, not shown, not removable, no SES account on it
    admin = squatter.admin_headers()
    assert domains_listed(api, squatter) == []
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 404
    assert api.http.delete(f"/sender-domains/{domain}", headers=admin).status_code == 404
    account = {"kind": "ses", "display_name": "X", "from_address": f"x@{domain}", "ses_identity": domain}
    refused = api.http.put("/sender-accounts/all", headers=admin, body=json.dumps(account))
    assert refused.status_code == 422 and body(refused)["field"] == "ses_identity", refused.body
    assert "not a sending domain" in body(refused)["message"]
    # And, SES having verified the owner's domain, the squatter cannot take it back, ever
    clock.set_now(T0 + timedelta(days=400))
    again = register(api, squatter, domain)
    assert again.status_code == 409 and body(again)["message"] == "another company registered this domain"
    assert stored(domain)["company_id"] == {"S": owner.company_id}


def test_the_squatter_registering_again_does_not_put_the_lapse_off(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any
) -> None:
    squatter, owner = tenant, other_tenant
    domain = f"avisos.{owner.company_id}.example"
    # Given a squatter's unverified registration, registered again 70 hours later
    squatted(api, squatter, domain)
    clock.set_now(T0 + timedelta(hours=70))
    squatted(api, squatter, domain)
    # Then its first registration time is kept
    assert stored(domain)["created_at"] == stored_time(T0)
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=squatter.admin_headers()))
    assert shown["created_at"] == T0.isoformat()
    # And the owner is told it lapses 72 hours after the first registration, not the last
    clock.set_now(T0 + timedelta(hours=71))
    blocked = register(api, owner, domain)
    assert blocked.status_code == 409 and body(blocked)["message"] == lapses_at(T0 + timedelta(hours=72))
    # And at that time the owner takes it over
    clock.set_now(T0 + timedelta(hours=72))
    assert register(api, owner, domain).status_code == 201
    assert stored(domain)["company_id"] == {"S": owner.company_id}


def test_a_verified_domain_is_never_taken_over_nor_one_its_company_sends_from_with_ses(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any
) -> None:
    owner, other = tenant, other_tenant
    domain = f"avisos.{owner.company_id}.example"
    # Given the owner's domain, verified by SES
    assert register(api, owner, domain).status_code == 201
    # When another company registers it a year later
    clock.set_now(T0 + timedelta(days=365))
    refused = register(api, other, domain)
    # Then it is refused, with no lapse: the domain stays the owner's, verified
    assert refused.status_code == 409 and body(refused)["field"] == "domain"
    assert body(refused)["message"] == "another company registered this domain"
    assert stored(domain)["company_id"] == {"S": owner.company_id}
    assert body(api.http.get(f"/sender-domains/{domain}", headers=owner.admin_headers()))["verified"] is True

    # Given the owner sends from it with an SES account, and later SES stops verifying it
    account = {"kind": "ses", "display_name": "A", "from_address": f"a@{domain}", "ses_identity": domain}
    saved = api.http.put("/sender-accounts/all", headers=owner.admin_headers(), body=json.dumps(account))
    assert saved.status_code == 200, saved.body
    ses_removes_the_identity(domain)
    # When another company registers it
    refused = register(api, other, domain)
    spanish = register(api, other, domain, **{"Accept-Language": "es"})
    # Then it is refused, saying so: the owner's mail must not stop because someone else asked
    assert refused.status_code == 409 and body(refused)["field"] == "domain", refused.body
    assert body(refused)["message"] == (
        "another company registered this domain and sends from it with SES sender accounts: "
        "it does not lapse while they exist"
    )
    assert body(spanish)["message"] == (
        "otra empresa registró este dominio y envía desde él con cuentas de envío SES: "
        "no caduca mientras existan"
    )
    assert owner.company_id not in refused.body.decode()
    assert stored(domain)["company_id"] == {"S": owner.company_id}
    assert domains_listed(api, owner) == [domain] and domains_listed(api, other) == []


def test_two_companies_taking_over_a_lapsed_registration_at_once_one_wins(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domains

    squatter, first, second = tenant, other_tenant, make_tenant(None, name="Tercera")
    domain = f"avisos.{first.company_id}.example"
    # Given a squatter's registration that lapsed
    squatted(api, squatter, domain)
    clock.set_now(T0 + timedelta(hours=73))
    # And a second company whose takeover runs whole while the first company's has judged the
    # squatter's registration lapsed and not written yet (this hook runs it at that exact point);
    # its new identity is pending in SES, as on AWS until it publishes the records
    checked = domains.accounts_sending_from
    raced: list[int] = []

    def and_meanwhile(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
        areas = checked(company_id, name, consistent=consistent)
        if not raced:
            raced.append(0)
            with ses_not_verifying_yet():
                raced[0] = register(api, second, domain).status_code
            ses_removes_the_identity(domain)
        return areas

    monkeypatch.setattr(domains, "accounts_sending_from", and_meanwhile)
    # When the first company's takeover goes on
    lost = register(api, first, domain)
    monkeypatch.undo()
    # Then one took it over: the second company; the first is told when that registration lapses
    assert raced == [201]
    assert lost.status_code == 409, lost.body
    assert body(lost)["message"] == lapses_at(T0 + timedelta(hours=73 + 72))
    item = stored(domain)
    assert item["company_id"] == {"S": second.company_id}
    assert item["created_at"] == stored_time(T0 + timedelta(hours=73))
    assert domains_listed(api, second) == [domain]
    assert domains_listed(api, first) == [] and domains_listed(api, squatter) == []

    # And at the store, of two takeovers of the same registration only the first is written
    from chalicelib.core.domain import SenderDomain
    from chalicelib.store import domains as store

    clock.set_now(T0 + timedelta(hours=73 + 72))
    registration = store.get_domain(domain)
    assert registration is not None
    version = store.accounts_version(domain)
    won = [
        store.take_over_domain(
            SenderDomain(domain, taker.company_id, f"bounce.{domain}", (), clock.now(), "x"),
            previous=registration,
            version=version,
            removal_marked_by=clock.now(),
        )
        for taker in (first, squatter)
    ]
    assert won == [True, False]
    assert stored(domain)["company_id"] == {"S": first.company_id}


def test_the_registering_company_sees_when_its_unverified_registration_lapses(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    domain = f"avisos.{tenant.company_id}.example"
    admin = tenant.admin_headers()
    # Given SES that has not verified the domain yet, as on AWS until its records are published
    # When the company registers the domain
    with ses_not_verifying_yet():
        registered = register(api, tenant, domain)
    # Then the answer says when the registration lapses: 72 hours after it, unless SES verifies it
    assert registered.status_code == 201, registered.body
    assert body(registered)["verified"] is False
    assert body(registered)["lapses_at"] == "2026-11-05T12:00:00+00:00"

    # Given SES still does not verify it, 80 hours later (its lapse is past: still shown)
    ses_removes_the_identity(domain)
    clock.set_now(T0 + timedelta(hours=80))
    # When the company shows the domain, and lists its domains
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=admin))
    listed = body(api.http.get("/sender-domains", headers=admin))["items"]
    # Then both say when it lapsed
    assert shown["lapses_at"] == (T0 + timedelta(hours=72)).isoformat()
    assert [(d["domain"], d["lapses_at"]) for d in listed] == [(domain, shown["lapses_at"])]

    # When SES verifies it (registering again; moto verifies at once): it does not lapse
    again = register(api, tenant, domain)
    assert again.status_code == 201 and body(again)["verified"] is True, again.body
    assert body(again)["lapses_at"] is None
    assert body(api.http.get(f"/sender-domains/{domain}", headers=admin))["lapses_at"] is None

    # Given the company sends from it with an SES account, and later SES stops verifying it
    account = {"kind": "ses", "display_name": "A", "from_address": f"a@{domain}", "ses_identity": domain}
    assert api.http.put("/sender-accounts/all", headers=admin, body=json.dumps(account)).status_code == 200
    ses_removes_the_identity(domain)
    # Then it does not lapse either: another company is refused while the accounts exist
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=admin))
    assert shown["verified"] is False and shown["lapses_at"] is None
    assert body(api.http.get("/sender-domains", headers=admin))["items"][0]["lapses_at"] is None


def test_a_domain_that_lost_its_records_after_ses_verified_it_lapses_72_hours_after_a_check_finds_it_so(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any
) -> None:
    owner, other = tenant, other_tenant
    domain = f"avisos.{owner.company_id}.example"
    admin = owner.admin_headers()
    # Given the owner's domain, verified by SES when registered (no SES account on it)
    assert body(register(api, owner, domain))["verified"] is True
    # And, a year later, its DKIM records gone from its DNS: SES no longer verifies it
    lost = T0 + timedelta(days=365)
    clock.set_now(lost)
    ses_removes_the_identity(domain)
    # When another company registers it, the first to find it no longer verified
    refused = register(api, other, domain)
    # Then it is refused until 72 hours after that, not taken at once (its first registration is
    # long past): the owner has time to publish its records again
    assert refused.status_code == 409, refused.body
    assert body(refused)["message"] == lapses_at(lost + timedelta(hours=72))
    item = stored(domain)
    assert item["company_id"] == {"S": owner.company_id}
    assert item["verified_once"] == {"BOOL": True} and item["unverified_since"] == stored_time(lost)
    # And the owner sees the same time, which later checks do not move
    clock.set_now(lost + timedelta(hours=1))
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=admin))
    assert shown["verified"] is False and shown["lapses_at"] == (lost + timedelta(hours=72)).isoformat()

    # When the owner publishes its records again (registering again; moto verifies at once)
    clock.set_now(lost + timedelta(hours=10))
    assert body(register(api, owner, domain))["verified"] is True
    # Then it no longer lapses, and another company is refused for good
    assert body(api.http.get(f"/sender-domains/{domain}", headers=admin))["lapses_at"] is None
    assert "unverified_since" not in stored(domain)
    assert body(register(api, other, domain))["message"] == "another company registered this domain"

    # Given its records are lost again, and the owner's own check is the first to find it so
    lost_again = lost + timedelta(hours=50)
    clock.set_now(lost_again)
    ses_removes_the_identity(domain)
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=admin))
    assert shown["lapses_at"] == (lost_again + timedelta(hours=72)).isoformat()
    # Then another company is refused until 72 hours after that check, and then takes it over
    clock.set_now(lost_again + timedelta(hours=72) - timedelta(seconds=1))
    assert body(register(api, other, domain))["message"] == lapses_at(lost_again + timedelta(hours=72))
    clock.set_now(lost_again + timedelta(hours=72))
    taken = register(api, other, domain)
    assert taken.status_code == 201, taken.body
    item = stored(domain)
    assert item["company_id"] == {"S": other.company_id}
    # (the new owner's registration starts afresh: moto verified its new identity at once)
    assert item["verified_once"] == {"BOOL": True} and "unverified_since" not in item
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 404
