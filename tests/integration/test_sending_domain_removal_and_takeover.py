"""A company's removal of its sending domain that stopped half-way, asked for again while another
company takes the lapsed registration over, never deletes the new owner's SES identity: the removal
marks the domain again (still its own, still marked) right before it deletes the identity, and a
takeover waits while a removal's mark is younger than any function can run (REMOVAL_HOLD)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.domains import ses_not_verifying_yet
from tests.steps.tenants import Tenant

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)  # the clock fixture's instant
LAPSED = T0 + timedelta(hours=73)  # the first company's unverified registration lapsed an hour ago


def register_domain(api: Client, tenant: Tenant, domain: str, **headers: str) -> Any:
    return api.http.post(
        "/sender-domains",
        headers={**tenant.admin_headers(), **headers},
        body=json.dumps({"domain": domain}),
    )


def remove_domain(api: Client, tenant: Tenant, domain: str) -> Any:
    return api.http.delete(f"/sender-domains/{domain}", headers=tenant.admin_headers())


def ses_dkim_tokens(domain: str) -> list[str] | None:
    """The DKIM tokens of the domain's identity in SES (moto); None when SES has no such identity."""
    import boto3

    ses = boto3.client("ses")
    if domain not in ses.list_identities()["Identities"]:
        return None
    return list(ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"][domain]["DkimTokens"])


def stored_item(domain: str) -> dict[str, Any]:
    """The domain's item as DynamoDB holds it."""
    import boto3

    from chalicelib.store.models import SenderDomainModel

    return boto3.client("dynamodb").get_item(
        TableName=SenderDomainModel.Meta.table_name, Key={"domain": {"S": domain}}, ConsistentRead=True
    )["Item"]


def removal_stopped_after_deleting_the_identity(
    company: Tenant, domain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The company's removal marks the domain, deletes its SES identity, and its Lambda's time runs
    out before the record goes (on AWS the caller gets the gateway's 504, not an answer of ours,
    so it is run here as the DELETE route runs it)."""
    from chalicelib.messaging.accounts import domains

    def out_of_time(name: str, company_id: str) -> bool:
        raise TimeoutError("the Lambda's time ran out")

    with monkeypatch.context() as patched:
        patched.setattr(domains.store, "release_domain", out_of_time)
        with pytest.raises(TimeoutError):
            domains.remove_sending_domain(company.company_id, domain, by=f"admin@{company.company_id}")
    assert ses_dkim_tokens(domain) is None
    assert "removing_since" in stored_item(domain)


def hold_lapses(moment: datetime) -> str:
    return (
        "another company is removing this domain; it may be registered again once that removal is done, "
        f"or at {moment.isoformat()} if it stops half-way"
    )


def test_a_stalled_removal_asked_again_while_another_company_takes_the_domain_over_leaves_its_identity(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import domains as store

    first, taker = tenant, other_tenant
    domain = f"avisos.{taker.company_id}.example"
    # Given the first company's registration, never verified by SES, lapsed, and its removal
    # stopped half-way 20 minutes ago (marked, the SES identity gone, the record still there)
    with ses_not_verifying_yet():
        assert register_domain(api, first, domain).status_code == 201
    clock.set_now(LAPSED)
    removal_stopped_after_deleting_the_identity(first, domain, monkeypatch)
    clock.set_now(LAPSED + timedelta(minutes=20))
    # And another company whose registration runs whole right after the first company's removal,
    # asked for again, has read the domain's record (still the first company's, marked)
    read = store.get_domain
    taken: list[Any] = []

    def and_meanwhile(name: str) -> Any:
        entry = read(name)
        if not taken:
            taken.append(None)  # once: the registration below reads the record too
            taken[0] = register_domain(api, taker, domain)
        return entry

    monkeypatch.setattr(store, "get_domain", and_meanwhile)
    # When the first company's removal goes on
    removed = remove_domain(api, first, domain)
    monkeypatch.undo()
    # Then the other company took the domain over, with a new SES identity and its DKIM records
    assert taken[0].status_code == 201, taken[0].body
    tokens = [r["name"].split(".")[0] for r in body(taken[0])["records"] if r["purpose"] == "dkim"]
    assert len(tokens) == 3
    # And the first company's removal is a 404 that touched nothing: the new owner's identity is
    # still in SES with the tokens its records name, and the record is the new owner's
    assert removed.status_code == 404 and body(removed)["field"] == "domain", removed.body
    assert ses_dkim_tokens(domain) == tokens
    item = stored_item(domain)
    assert item["company_id"] == {"S": taker.company_id} and "removing_since" not in item
    shown = api.http.get(f"/sender-domains/{domain}", headers=taker.admin_headers())
    assert body(shown)["verified"] is True, shown.body
    assert remove_domain(api, first, domain).status_code == 404
    assert ses_dkim_tokens(domain) == tokens


def test_a_takeover_while_a_stalled_removal_deletes_the_identity_waits_for_the_removal(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domains

    first, taker = tenant, other_tenant
    domain = f"avisos.{taker.company_id}.example"
    # Given the first company's lapsed registration whose removal stopped half-way 20 minutes ago
    with ses_not_verifying_yet():
        assert register_domain(api, first, domain).status_code == 201
    clock.set_now(LAPSED)
    removal_stopped_after_deleting_the_identity(first, domain, monkeypatch)
    asked_again = LAPSED + timedelta(minutes=20)
    clock.set_now(asked_again)
    # And another company registering the domain just as the removal, asked for again, calls
    # SES's DeleteIdentity
    real_client = domains.client
    meanwhile: list[Any] = []

    class SesMeanwhile:
        """SES as the code reaches it, the other company registering as DeleteIdentity is called
        (the shared client is left as it is)."""

        def __init__(self, ses: Any) -> None:
            self.ses = ses

        def __getattr__(self, name: str) -> Any:
            return getattr(self.ses, name)

        def delete_identity(self, **kwargs: Any) -> Any:
            if not meanwhile:  # once: the removal's own call
                meanwhile.append(None)
                meanwhile[0] = register_domain(api, taker, domain)
                meanwhile.append(register_domain(api, taker, domain, **{"Accept-Language": "es"}))
            return self.ses.delete_identity(**kwargs)

    def ses_meanwhile(service: str) -> Any:
        return SesMeanwhile(real_client(service))

    monkeypatch.setattr(domains, "client", ses_meanwhile)
    # When the first company's removal goes on
    removed = remove_domain(api, first, domain)
    monkeypatch.undo()
    # Then the other company was told to wait for the removal, and when it may register it else
    english, spanish = meanwhile
    assert english.status_code == 409 and body(english)["field"] == "domain", english.body
    assert body(english)["message"] == hold_lapses(asked_again + timedelta(minutes=15))
    assert "at 2026-11-05T13:35:00+00:00 if" in body(english)["message"]
    assert body(spanish)["message"] == (
        "otra empresa está quitando este dominio; podrá registrarse de nuevo cuando termine de quitarlo, "
        "o el 2026-11-05T13:35:00+00:00 si se detiene a mitad de camino"
    )
    assert first.company_id not in english.body.decode()
    # And the removal finished; then the other company registers the domain, with its identity
    assert removed.status_code == 204, removed.body
    assert ses_dkim_tokens(domain) is None
    registered = register_domain(api, taker, domain)
    assert registered.status_code == 201, registered.body
    assert len(ses_dkim_tokens(domain) or []) == 3
    assert stored_item(domain)["company_id"] == {"S": taker.company_id}


def test_a_removal_mark_holds_a_takeover_off_for_15_minutes_and_a_later_retry_touches_nothing(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, taker = tenant, other_tenant
    domain = f"avisos.{taker.company_id}.example"
    # Given the first company's lapsed registration whose removal stopped half-way
    with ses_not_verifying_yet():
        assert register_domain(api, first, domain).status_code == 201
    clock.set_now(LAPSED)
    removal_stopped_after_deleting_the_identity(first, domain, monkeypatch)
    # When another company registers the domain 14 minutes 59 seconds later (the removal's
    # function may still be running)
    clock.set_now(LAPSED + timedelta(minutes=15) - timedelta(seconds=1))
    held = register_domain(api, taker, domain)
    # Then it is refused, saying when it may register it
    assert held.status_code == 409, held.body
    assert body(held)["message"] == hold_lapses(LAPSED + timedelta(minutes=15))
    assert stored_item(domain)["company_id"] == {"S": first.company_id}
    # When it registers it 15 minutes after the mark: it takes the domain over
    clock.set_now(LAPSED + timedelta(minutes=15))
    taken = register_domain(api, taker, domain)
    assert taken.status_code == 201, taken.body
    tokens = ses_dkim_tokens(domain)
    assert tokens is not None and len(tokens) == 3
    # And the first company's removal asked for again later is a 404 that touches nothing
    clock.set_now(LAPSED + timedelta(minutes=16))
    late = remove_domain(api, first, domain)
    assert late.status_code == 404 and body(late)["field"] == "domain", late.body
    assert ses_dkim_tokens(domain) == tokens
    assert stored_item(domain)["company_id"] == {"S": taker.company_id}
