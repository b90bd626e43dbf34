"""Issue 10, point 7: a company administrator registers a sending domain, publishes the records
Pregón answers, sees each one's state and the bulk-sender checks; SES accounts use verified
domains only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.domains import ses_removes_the_identity
from tests.steps.tenants import Tenant, smtp_sender_account


def register(api: Client, tenant: Tenant, domain: str) -> Any:
    return api.http.post(
        "/sender-domains", headers=tenant.admin_headers(), body=json.dumps({"domain": domain})
    )


def ses_account(api: Client, tenant: Tenant, identity: str, from_address: str) -> Any:
    account = {
        "kind": "ses",
        "display_name": "Avisos",
        "from_address": from_address,
        "ses_identity": identity,
    }
    return api.http.put("/sender-accounts/all", headers=tenant.admin_headers(), body=json.dumps(account))


def test_a_registered_domain_answers_the_exact_records_and_their_states(api: Client, tenant: Tenant) -> None:
    domain = f"{tenant.company_id}.avisos.example"
    # When the administrator registers the company's domain
    answer = register(api, tenant, domain.upper())
    # Then Pregón answers the records to publish: 3 DKIM CNAMEs, the MAIL FROM MX and SPF, a DMARC to start
    assert answer.status_code == 201, answer.body
    shown = body(answer)
    assert (shown["domain"], shown["mail_from_domain"]) == (domain, f"bounce.{domain}")
    records = shown["records"]
    dkim = [r for r in records if r["purpose"] == "dkim"]
    assert len(dkim) == 3
    for record in dkim:
        token = record["name"].split(".")[0]
        assert record == {
            "purpose": "dkim",
            "type": "CNAME",
            "name": f"{token}._domainkey.{domain}",
            "value": f"{token}.dkim.amazonses.com",
            "state": "verified",  # moto verifies at once, as SES does once the CNAMEs are published
        }
    by_purpose = {r["purpose"]: r for r in records if r["purpose"] != "dkim"}
    assert by_purpose["mail_from_mx"] | {"state": ""} == {
        "purpose": "mail_from_mx",
        "type": "MX",
        "name": f"bounce.{domain}",
        "value": "10 feedback-smtp.us-east-1.amazonses.com",
        "state": "",
    }
    assert by_purpose["mail_from_spf"]["value"] == '"v=spf1 include:amazonses.com ~all"'
    assert by_purpose["mail_from_spf"]["state"] == by_purpose["mail_from_mx"]["state"] == "verified"
    assert by_purpose["dmarc"]["name"] == f"_dmarc.{domain}"
    assert by_purpose["dmarc"]["value"].startswith('"v=DMARC1; p=none;')
    # (no public DNS for a test domain: not found, or unknown without a network)
    assert by_purpose["dmarc"]["state"] in ("not_found", "unknown")
    assert shown["verified"] is True
    # And one answer shows what Gmail and Yahoo ask of bulk senders
    checks = {c["requirement"]: c["state"] for c in shown["bulk_sender_checks"]}
    assert checks["spf"] == checks["dkim"] == checks["dmarc_alignment"] == "pass"
    assert checks["dmarc"] in ("fail", "unknown")
    assert checks["one_click_unsubscribe"] == checks["complaint_rate"] == "pass"
    # And the listing shows it
    listed = body(api.http.get("/sender-domains", headers=tenant.admin_headers()))["items"]
    assert [d["domain"] for d in listed] == [domain]


def test_ses_accounts_send_only_from_verified_domains_of_the_company(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    domain = f"{tenant.company_id}.avisos.example"
    # An SES account on a domain the company never registered is refused, naming the field
    refused = ses_account(api, tenant, domain, f"avisos@{domain}")
    assert refused.status_code == 422 and body(refused)["field"] == "ses_identity"
    assert "not a sending domain" in body(refused)["message"]
    # Once registered (and verified), it is accepted; From must be on that domain
    assert register(api, tenant, domain).status_code == 201
    wrong_from = ses_account(api, tenant, domain, "avisos@elsewhere.example")
    assert wrong_from.status_code == 422 and body(wrong_from)["field"] == "from_address"
    accepted = ses_account(api, tenant, f"avisos@{domain}", f"avisos@{domain}")
    assert accepted.status_code == 200, accepted.body
    # Another company cannot take the domain, nor send from it
    assert register(api, other_tenant, domain).status_code == 409
    assert ses_account(api, other_tenant, domain, f"x@{domain}").status_code == 422
    assert api.http.get(f"/sender-domains/{domain}", headers=other_tenant.admin_headers()).status_code == 404
    # When the SES identity is removed, its records go back to not started and the domain is refused
    ses_removes_the_identity(domain)
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=tenant.admin_headers()))
    assert shown["verified"] is False
    assert {r["state"] for r in shown["records"] if r["purpose"] == "dkim"} == {"not_started"}
    unverified = ses_account(api, tenant, domain, f"avisos@{domain}")
    assert unverified.status_code == 422 and body(unverified)["field"] == "ses_identity"
    assert "not verified" in body(unverified)["message"]


def test_bad_domains_and_callers_are_refused(api: Client, tenant: Tenant) -> None:
    for bad in ("localhost", "no spaces.example", "-x.example", "a" * 64 + ".example"):
        answer = register(api, tenant, bad)
        assert answer.status_code == 422 and body(answer)["field"] == "domain", (bad, answer.body)
    assert api.http.post("/sender-domains", headers=tenant.staff_headers(), body="{}").status_code == 403
    assert api.http.get("/sender-domains", headers=tenant.key_headers()).status_code == 403


def test_the_bulk_sender_checks_count_the_domains_e_mails(api: Client, tenant: Tenant) -> None:
    from chalicelib.core import clock
    from chalicelib.core.domain import Communication
    from chalicelib.store import communications
    from chalicelib.store.models import CommunicationModel

    domain = f"{tenant.company_id}.avisos.example"
    assert register(api, tenant, domain).status_code == 201
    one_click = {
        "List-Unsubscribe": "<https://pregon.test/public/manual-sends/unsubscribe?token=x>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }

    def sent(state: str, *, kind: str = "manual", headers: dict[str, str] | None = None, **more: Any) -> str:
        now = clock.now()
        comm = Communication(
            company_id=tenant.company_id,
            communication_id=communications.new_communication_id(now),
            direction="out",
            channel="email",
            kind=kind,
            state=state,
            created_at=now,
            updated_at=now,
            from_address=more.pop("from_address", f"avisos@{domain}"),
            to_address="cliente@example.com",
            subject="Aviso",
            headers=one_click if headers is None else headers,
            **more,
        )
        communications.save(comm)
        return comm.communication_id

    # Given, from the domain: three manual e-mails with one-click unsubscribe (one complained,
    # one bounced), a tracking alert stored before the one-click flag was (its headers only),
    # an automatic e-mail delivered, and one that never left; and one from another domain
    sent("sent")
    sent("complained")
    sent("bounced")
    legacy = sent("sent", kind="automatic", message_type="tracking_alert")
    CommunicationModel(tenant.company_id, legacy).update(
        actions=[CommunicationModel.one_click_unsubscribe.remove()]
    )
    sent("delivered", kind="automatic", message_type="invoice", headers={})
    sent("failed")
    sent("sent", from_address="avisos@elsewhere.example")

    # When the administrator looks at the domain
    def checks() -> dict[str, tuple[str, str]]:
        shown = body(api.http.get(f"/sender-domains/{domain}", headers=tenant.admin_headers()))
        return {c["requirement"]: (c["state"], c["detail"]) for c in shown["bulk_sender_checks"]}

    # Then the four bulk e-mails that left all carried one-click, and 1 of the 5 that left
    # drew a complaint (20 %: over Gmail's limit)
    assert checks()["one_click_unsubscribe"][0] == "pass"
    assert checks()["one_click_unsubscribe"][1].startswith("4 of 4 bulk e-mails")
    assert checks()["complaint_rate"] == (
        "fail",
        "1 complaints in 5 e-mails in 30 days (20.00%); Gmail asks under 0.3 %, recommends under 0.1 %",
    )
    # And a manual e-mail without it fails the check
    sent("sent", headers={})
    assert checks()["one_click_unsubscribe"][0] == "fail"
    assert checks()["one_click_unsubscribe"][1].startswith("4 of 5 bulk e-mails")


def test_the_bulk_sender_checks_count_what_left_through_ses_not_what_failed_or_waits(
    api: Client, local_aws: dict[str, str], clock: Any
) -> None:
    """Issue 14: the sent group has no by-status entries; what left is counted from the channel's
    outgoing e-mails less those not sent."""
    from chalicelib.store import communications
    from tests.steps.history import send_email
    from tests.steps.outbox import deliver_outboxes
    from tests.steps.ses_events import drain_ses_queue, feed, notification, ses_company
    from tests.steps.tenants import purge_outbox_queue

    purge_outbox_queue()
    drain_ses_queue()
    company = ses_company("Cable Sur")  # its domain registered and verified, its e-mail through SES
    domain = f"{company.company_id}.ses.example"

    def sent(to: str, subject: str, kind: str = "automatic") -> Any:
        cid = send_email(company, to, subject, kind=kind)
        deliver_outboxes()
        return communications.get(company.company_id, cid)

    # Given four e-mails that left through SES (two of them manual): one delivered, one bounced
    # for good, one reported as spam, one with no news yet
    delivered = sent("ana@example.com", "Entregado")
    bounced = sent("rebota@example.com", "Rebotado", kind="manual")
    complained = sent("queja@example.com", "Queja")
    sent("bruno@example.com", "Enviado", kind="manual")
    feed(notification("event_delivery.json", delivered))
    feed(notification("event_bounce_permanent.json", bounced))
    feed(notification("event_complaint.json", complained))
    fates = communications.get_many(
        company.company_id, [c.communication_id for c in (delivered, bounced, complained)]
    )
    assert [fates[c.communication_id].state for c in (delivered, bounced, complained)] == [
        "delivered",
        "bounced",
        "complained",
    ]
    # And three that did not leave: one to the bounced (now suppressed) address, one SES rejected,
    # and one still waiting in the outbox
    assert sent("rebota@example.com", "Suprimido", kind="manual").state == "suppressed"
    rejected = sent("virus@example.com", "Rechazado")
    reject = json.loads(notification("event_delivery.json", rejected))
    del reject["delivery"]
    reject |= {"eventType": "Reject", "reject": {"reason": "Bad content"}}
    feed(json.dumps(reject))
    assert communications.get(company.company_id, rejected.communication_id).state == "failed"  # type: ignore[union-attr]
    send_email(company, "espera@example.com", "En espera", kind="manual")

    # When the administrator looks at the domain
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=company.admin_headers()))
    checks = {c["requirement"]: (c["state"], c["detail"]) for c in shown["bulk_sender_checks"]}

    # Then the four that left are counted, one of them complained (25 %), and of them the two
    # manual ones are the bulk e-mails (without one-click: sent by hand through the outbox)
    assert checks["complaint_rate"] == (
        "fail",
        "1 complaints in 4 e-mails in 30 days (25.00%); Gmail asks under 0.3 %, recommends under 0.1 %",
    )
    assert checks["one_click_unsubscribe"][1].startswith("0 of 2 bulk e-mails")


def ses_identities() -> list[str]:
    """The identities SES (moto) has."""
    import boto3

    return list(boto3.client("ses").list_identities()["Identities"])


def test_a_domain_is_removed_once_no_ses_account_sends_from_it(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    domain = f"{tenant.company_id}.avisos.example"
    admin = tenant.admin_headers()
    # Given the company's verified domain, its fallback SES account and a user's own SES account on it
    assert register(api, tenant, domain).status_code == 201
    assert ses_account(api, tenant, f"avisos@{domain}", f"avisos@{domain}").status_code == 200
    own = {"kind": "ses", "display_name": "Ana", "from_address": f"ana@{domain}", "ses_identity": domain}
    saved = api.http.put("/users/ana@x/sender-account", headers=admin, body=json.dumps(own))
    assert saved.status_code == 200, saved.body
    # (and an SMTP account whose From is on the domain: it sends through its own server, not SES)
    assert tenant.mailbox is not None
    smtp_sender_account(tenant.company_id, "invoices", tenant.mailbox, "Facturas", f"facturas@{domain}")

    # When the administrator removes the domain
    refused = api.http.delete(f"/sender-domains/{domain.upper()}", headers=admin)
    # Then it is refused, naming the accounts that would stop sending, and nothing is removed
    assert refused.status_code == 409 and body(refused)["field"] == "domain", refused.body
    assert body(refused)["message"].startswith(f"the sender accounts all, user:ana@x send from {domain}")
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 200
    assert domain in ses_identities()
    # And another company's administrator, or a domain the company never had, is a 404 that touches nothing
    foreign = api.http.delete(f"/sender-domains/{domain}", headers=other_tenant.admin_headers())
    assert foreign.status_code == 404 and body(foreign)["field"] == "domain"
    assert api.http.delete("/sender-domains/nunca.example", headers=admin).status_code == 404
    assert api.http.delete(f"/sender-domains/{domain}", headers=tenant.staff_headers()).status_code == 403
    assert api.http.delete("/sender-domains/no%20spaces", headers=admin).status_code == 422
    assert domain in ses_identities()

    # When both accounts go and the administrator removes the domain again
    assert api.http.delete("/sender-accounts/all", headers=admin).status_code == 200
    assert api.http.delete("/users/ana@x/sender-account", headers=admin).status_code == 200
    removed = api.http.delete(f"/sender-domains/{domain}", headers=admin)
    # Then it is gone: from the listing, from SES, and no SES account may send from it
    assert removed.status_code == 204, removed.body
    assert body(api.http.get("/sender-domains", headers=admin))["items"] == []
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 404
    assert domain not in ses_identities()
    again = ses_account(api, tenant, domain, f"avisos@{domain}")
    assert again.status_code == 422 and "not a sending domain" in body(again)["message"]
    # And removing it twice is a 404; another company may now register it
    assert api.http.delete(f"/sender-domains/{domain}", headers=admin).status_code == 404
    assert register(api, other_tenant, domain).status_code == 201


def test_an_ses_account_saved_while_a_removal_checks_the_accounts_stops_the_removal(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domains

    domain = f"{tenant.company_id}.carrera.example"
    admin = tenant.admin_headers()
    # Given the company's verified domain, with no SES account on it yet
    assert register(api, tenant, domain).status_code == 201
    # And another administrator who saves an SES account on it just after the removal has found
    # none (the two requests race: this hook runs the second one at that exact point)
    found_none = domains.accounts_sending_from
    saved: list[int] = []

    def and_meanwhile(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
        areas = found_none(company_id, name, consistent=consistent)
        if not saved:
            saved.append(ses_account(api, tenant, domain, f"avisos@{domain}").status_code)
        return areas

    monkeypatch.setattr(domains, "accounts_sending_from", and_meanwhile)
    # When the first administrator's removal goes on
    refused = api.http.delete(f"/sender-domains/{domain}", headers=admin)
    # Then the account was saved, and the removal is refused naming it: nothing was removed
    assert saved == [200]
    assert refused.status_code == 409, refused.body
    assert body(refused)["message"].startswith(f"the sender accounts all send from {domain}")
    assert domain in ses_identities()
    accounts = body(api.http.get("/sender-accounts", headers=admin))["items"]
    assert [(a["area"], a["ses_identity"]) for a in accounts if a["kind"] == "ses"] == [("all", domain)]
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 200


def test_a_removal_whose_accounts_change_at_every_check_gives_up_with_a_409_and_removes_nothing(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domains

    domain = f"{tenant.company_id}.vaiven.example"
    other = f"{tenant.company_id}.otro.example"
    admin = tenant.admin_headers()
    # Given the company's verified domain, with no SES account on it, and a second domain whose
    # fallback SES account sends the company's mail
    assert register(api, tenant, domain).status_code == 201
    assert register(api, tenant, other).status_code == 201
    assert ses_account(api, tenant, f"avisos@{other}", f"avisos@{other}").status_code == 200
    # (and an SMTP account whose From is on the domain: its own server sends it, not SES)
    assert tenant.mailbox is not None
    smtp_sender_account(tenant.company_id, "invoices", tenant.mailbox, "Facturas", f"facturas@{domain}")
    # And another administrator who, every time the removal has found no SES account on the
    # domain, puts Ana's own SES account on it and moves it back to the other domain (two real
    # saves; this hook runs them at that exact point of each check)
    found_none = domains.accounts_sending_from
    saves: list[tuple[str, int]] = []

    def ana_on(on: str) -> None:
        account = {"kind": "ses", "display_name": "Ana", "from_address": f"ana@{on}", "ses_identity": on}
        saved = api.http.put("/users/ana@x/sender-account", headers=admin, body=json.dumps(account))
        saves.append((on, saved.status_code))

    def and_meanwhile(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
        areas = found_none(company_id, name, consistent=consistent)
        assert areas == []
        ana_on(domain)
        ana_on(other)
        return areas

    monkeypatch.setattr(domains, "accounts_sending_from", and_meanwhile)
    # When the first administrator removes the domain
    refused = api.http.delete(f"/sender-domains/{domain}", headers=admin)
    # Then, after checking the accounts once per try, the removal gives up: a 409 naming the
    # domain and the field, asking to try again
    assert refused.status_code == 409, refused.body
    assert body(refused)["field"] == "domain"
    assert body(refused)["message"] == f"sender accounts on {domain} keep changing: try again"
    assert saves == [(domain, 200), (other, 200)] * domains._REMOVAL_TRIES
    # And a Spanish-speaking caller is told the same in Spanish
    spanish = api.http.delete(f"/sender-domains/{domain}", headers={**admin, "Accept-Language": "es"})
    assert spanish.status_code == 409 and body(spanish)["field"] == "domain", spanish.body
    assert body(spanish)["message"] == f"las cuentas de envío de {domain} siguen cambiando: intente de nuevo"
    monkeypatch.undo()

    # And nothing was removed, not even half-way: the domain is the company's and verified in SES,
    # the accounts are as the other administrator left them
    shown = api.http.get(f"/sender-domains/{domain}", headers=admin)
    assert shown.status_code == 200 and body(shown)["verified"] is True
    assert domain in ses_identities()
    accounts = {a["area"]: a for a in body(api.http.get("/sender-accounts", headers=admin))["items"]}
    assert accounts["all"]["ses_identity"] == f"avisos@{other}"
    assert accounts["invoices"]["from_address"] == f"facturas@{domain}"
    ana = body(api.http.get("/users/ana@x/sender-account", headers=admin))
    assert (ana["ses_identity"], ana["from_address"]) == (other, f"ana@{other}")
    # And the domain is usable: an SES account may still be saved on it (a removal's mark would refuse it)
    moved = ses_account(api, tenant, f"avisos@{domain}", f"avisos@{domain}")
    assert moved.status_code == 200, moved.body


def test_a_removal_that_stopped_half_way_refuses_new_ses_accounts_and_finishes_when_asked_again(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domains

    domain = f"{tenant.company_id}.mitad.example"
    admin = tenant.admin_headers()
    # Given the company's verified domain, whose removal stops after checking the accounts, as a
    # Lambda whose time runs out while it waits for SES's DeleteIdentity (once)
    assert register(api, tenant, domain).status_code == 201
    real_client = domains.client
    calls: list[str] = []

    class SesThatTimesOutOnce:
        """The SES client as the code reaches it (the shared client itself is left as it is)."""

        def __init__(self, ses: Any) -> None:
            self.ses = ses

        def __getattr__(self, name: str) -> Any:
            return getattr(self.ses, name)

        def delete_identity(self, **kwargs: Any) -> Any:
            calls.append(kwargs["Identity"])
            if len(calls) == 1:
                raise TimeoutError("the Lambda's time ran out")
            return self.ses.delete_identity(**kwargs)

    def ses_that_times_out_once(service: str) -> Any:
        return SesThatTimesOutOnce(real_client(service)) if service == "ses" else real_client(service)

    monkeypatch.setattr(domains, "client", ses_that_times_out_once)
    # (the removal the DELETE route runs, stopped inside the Lambda: on AWS the caller gets the
    # gateway's 504, not an answer of ours, so it is not asked through the app here)
    with pytest.raises(TimeoutError):
        domains.remove_sending_domain(tenant.company_id, domain, by=f"admin@{tenant.company_id}")
    assert calls == [domain]
    assert domain in ses_identities()
    # When an administrator saves an SES account on it meanwhile
    late = ses_account(api, tenant, domain, f"avisos@{domain}")
    # Then it is refused: the domain is on its way out
    assert late.status_code == 422 and body(late)["field"] == "ses_identity", late.body
    assert "being removed" in body(late)["message"]
    assert [
        a for a in body(api.http.get("/sender-accounts", headers=admin))["items"] if a["kind"] == "ses"
    ] == []
    # When the removal is asked for again, it finishes
    assert api.http.delete(f"/sender-domains/{domain}", headers=admin).status_code == 204
    assert domain not in ses_identities()
    assert api.http.get(f"/sender-domains/{domain}", headers=admin).status_code == 404


def test_registering_a_domain_again_calls_off_a_removal_that_stopped_half_way(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.core import clock
    from chalicelib.store import domains as store

    domain = f"{tenant.company_id}.vuelta.example"
    # Given a domain whose removal marked it and stopped before SES's identity went
    assert register(api, tenant, domain).status_code == 201
    assert store.start_removal(domain, tenant.company_id, None, clock.now())
    # When the administrator registers it again
    assert register(api, tenant, domain).status_code == 201
    # Then SES accounts may use it again
    saved = ses_account(api, tenant, domain, f"avisos@{domain}")
    assert saved.status_code == 200, saved.body


def pregons_own(which: str) -> str:
    """One of Pregón's own domains as the app's settings name them (``PREGON_MAIL_DOMAIN``,
    ``PREGON_INBOUND_DOMAIN``), or a domain under or above one."""
    from chalicelib.core.settings import get_settings

    mail, inbound = get_settings().mail_domain, get_settings().inbound_domain
    return {
        "mail": mail,
        "under mail": f"avisos.{mail}",
        "inbound": inbound,
        "under inbound": f"x.{inbound}",
        "above inbound": inbound.partition(".")[2],
    }[which]


@pytest.mark.parametrize("which", ["mail", "under mail", "inbound", "under inbound", "above inbound"])
def test_no_company_registers_pregons_own_domains_nor_adopts_their_ses_identity(
    api: Client, tenant: Tenant, which: str
) -> None:
    import boto3

    from chalicelib.store.domains import get_domain

    domain = pregons_own(which)
    # Given Pregón's operator verified its own domains in SES, in the account companies' domains live in
    ses = boto3.client("ses")
    for own in (pregons_own("mail"), pregons_own("inbound")):
        ses.verify_domain_identity(Domain=own)
    before = ses.get_identity_mail_from_domain_attributes(Identities=[domain])["MailFromDomainAttributes"]
    # When a company's administrator registers one of them, or a domain above or under them
    refused = register(api, tenant, domain)
    # Then it is a 422 naming the domain: the company would send as Pregón (SES verifies the
    # operator's identity), and removing it would delete that identity
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == "domain"
    # And nothing was written: no record, and the SES identity's MAIL FROM is as it was
    assert get_domain(domain) is None
    after = ses.get_identity_mail_from_domain_attributes(Identities=[domain])["MailFromDomainAttributes"]
    assert after == before
    # And an SES sender account cannot send as it
    assert ses_account(api, tenant, domain, f"soporte@{domain}").status_code == 422
