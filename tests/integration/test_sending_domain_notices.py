"""A company's sending domain whose DNS records are removed after SES verified it: the hourly check
finds it, starts its 72 hours to lapse and e-mails the company's administrators (level 1, from
Pregón's own address) once, in the company's language and time zone, with the records to publish
again and a link to the console; a day before it lapses, once more."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.aws import moto_received
from tests.steps.domains import (
    notices_by_recipient,
    notices_received,
    pregon_notice_sender_verified,
    ses_removes_the_identity,
    the_hourly_check_runs,
    verified_sending_domain,
)
from tests.steps.tenants import (
    Tenant,
    make_tenant,
    staff_user,
    staff_user_saved_before_addresses_were_checked,
)

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)  # the clock fixture's instant


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


def company_settings(api: Client, tenant: Tenant, **settings: str) -> None:
    answer = api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps(settings))
    assert answer.status_code == 200, answer.body


def dkim_records(domain: str) -> list[str]:
    from chalicelib.store.domains import get_domain

    entry = get_domain(domain)
    assert entry is not None and len(entry.dkim_tokens) == 3
    return [f"{t}._domainkey.{domain}  CNAME  {t}.dkim.amazonses.com" for t in entry.dkim_tokens]


def test_the_administrators_are_told_once_when_a_verified_domain_loses_its_records(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    sender = pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"avisos.{company}.example"
    # Given a company in Buenos Aires, writing Spanish, with two administrators, a supervisor and a
    # clerk, and an administrator with no e-mail address
    company_settings(api, tenant, language="es", time_zone="America/Argentina/Buenos_Aires", locale="es_AR")
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    staff_user(company, "beto", f"beto@{company}.example", level=1)
    staff_user(company, "carla", f"carla@{company}.example", level=2)
    staff_user(company, "dario", f"dario@{company}.example", level=4)
    from chalicelib.tenants.staff import UserFields, save_user

    save_user(company, "eva", UserFields(level=1))
    # And another company, with its own administrator and its own verified domain
    other = other_tenant.company_id
    other_domain = f"avisos.{other}.example"
    staff_user(other, "olga", f"olga@{other}.example", level=1)
    verified_sending_domain(other, other_domain)
    # And the company's domain, verified by SES when registered
    verified_sending_domain(company, domain)
    records = dkim_records(domain)
    # And, a year later, its DKIM records gone from its DNS: SES no longer verifies it
    lost = T0 + timedelta(days=365)
    clock.set_now(lost)
    ses_removes_the_identity(domain)

    # When the hourly check runs
    report = the_hourly_check_runs(api)

    # Then it notes the domain unverified since now (its 72 hours to lapse start), the other
    # company's domain untouched
    assert report["notices"] >= 1
    item = stored(domain)
    assert item["unverified_since"] == stored_time(lost)
    assert item["unverified_notice_for"] == stored_time(lost)
    assert "lapse_notice_for" not in item
    assert "unverified_since" not in stored(other_domain) and stored(other_domain)["verified_once"]["BOOL"]
    # And both administrators with an address get one e-mail from Pregón's own address
    [notice] = notices_received(f"ana@{company}.example")
    assert [m["Message-ID"] for m in notices_received(f"beto@{company}.example")] == [notice["Message-ID"]]
    assert [a.addr_spec for a in notice["To"].addresses] == [
        f"ana@{company}.example",
        f"beto@{company}.example",
    ]
    assert notice["From"].addresses[0].addr_spec == sender
    assert notice["From"].addresses[0].display_name == "Pregón"
    assert notice["Auto-Submitted"] == "auto-generated"
    # And it says, in Spanish, which domain, since when and when it lapses in Buenos Aires' time,
    # the records to publish again and the console's page of the domain
    assert notice["Subject"] == f"Pregón: el dominio de envío {domain} dejó de estar verificado"
    text = notice.get_body(("plain",)).get_content()
    assert "Una comprobación del 2/11/2027 09:00 (America/Argentina/Buenos_Aires)" in text
    assert f"Amazon SES ya no verifica el dominio de envío {domain} de Cargas del Sur" in text
    assert "Si no lo verifica antes del 5/11/2027 09:00 (America/Argentina/Buenos_Aires)" in text
    assert "otra empresa podrá registrarlo" in text
    for record in records:
        assert record in text
    assert f"https://pregon.test/console#/sender-domains?domain={domain}" in text
    # And the supervisor, the clerk and the other company's administrator get nothing
    for nobody in (f"carla@{company}.example", f"dario@{company}.example", f"olga@{other}.example"):
        assert notices_received(nobody) == []

    # When the check runs again, an hour and then two days later
    clock.set_now(lost + timedelta(hours=1))
    the_hourly_check_runs(api)
    clock.set_now(lost + timedelta(hours=47))
    the_hourly_check_runs(api)
    # Then nothing more is sent, and the lapse still counts from the first check
    assert len(notices_received(f"ana@{company}.example")) == 1
    assert stored(domain)["unverified_since"] == stored_time(lost)
    # And the company sees the same lapse time on the domain's page
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=tenant.admin_headers()))
    assert shown["lapses_at"] == (lost + timedelta(hours=72)).isoformat()

    # When the check runs a day before the lapse, and again an hour later
    clock.set_now(lost + timedelta(hours=48))
    the_hourly_check_runs(api)
    clock.set_now(lost + timedelta(hours=49))
    the_hourly_check_runs(api)
    # Then the administrators get one last notice, saying when it lapses
    notices = notices_received(f"ana@{company}.example")
    assert len(notices) == 2
    last = notices[1]
    assert last["Subject"] == (
        f"Pregón: el dominio de envío {domain} caduca el 5/11/2027 09:00 (America/Argentina/Buenos_Aires)"
    )
    assert stored(domain)["lapse_notice_for"] == stored_time(lost)
    assert notices_received(f"olga@{other}.example") == []


def test_an_english_company_is_told_in_english_and_one_sending_from_it_that_it_does_not_lapse(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"mail.{company}.example"
    # Given a company in New York writing English, its administrator, its verified domain and an
    # SES sender account on it
    company_settings(api, tenant, language="en", time_zone="America/New_York", locale="en_US")
    staff_user(company, "amy", f"amy@{company}.example", level=1)
    verified_sending_domain(company, domain)
    account = {"kind": "ses", "display_name": "A", "from_address": f"a@{domain}", "ses_identity": domain}
    saved = api.http.put("/sender-accounts/all", headers=tenant.admin_headers(), body=json.dumps(account))
    assert saved.status_code == 200, saved.body
    # When its records go and the hourly check runs
    lost = T0 + timedelta(days=2)
    clock.set_now(lost)
    ses_removes_the_identity(domain)
    the_hourly_check_runs(api)
    # Then the administrator is told in English, in New York's time, that the account's e-mails fail
    [notice] = notices_received(f"amy@{company}.example")
    assert notice["Subject"] == f"Pregón: the sending domain {domain} is no longer verified"
    text = notice.get_body(("plain",)).get_content()
    assert "A check on 11/4/2026 07:00 (America/New_York) found that Amazon SES no longer verifies" in text
    assert (
        f"Your SES sender accounts (all) send from {domain}" in text
        and "does not lapse while they exist" in text
    )
    assert "Publish these CNAME (DKIM) records" in text
    # And, as it does not lapse, no last notice follows
    clock.set_now(lost + timedelta(hours=60))
    the_hourly_check_runs(api)
    assert len(notices_received(f"amy@{company}.example")) == 1


def test_a_failing_domain_does_not_stop_the_others_and_its_notice_goes_on_the_next_run(
    api: Client, clock: Any, local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domain_checks

    pregon_notice_sender_verified()
    # Given three companies, each with an administrator and a verified domain whose records go
    companies = [make_tenant(None, name=f"Empresa {n}") for n in range(3)]
    domains = {}
    for tenant in companies:
        company = tenant.company_id
        staff_user(company, "admin", f"admin@{company}.example", level=1)
        domains[company] = verified_sending_domain(company, f"avisos.{company}.example")
    lost = T0 + timedelta(days=10)
    clock.set_now(lost)
    for name in domains.values():
        ses_removes_the_identity(name)
    unreadable, unsendable, fine = (t.company_id for t in companies)
    # And SES failing to answer for the first one's domain, and refusing the second one's notice
    read = domain_checks.verified_in_ses

    def ses_failing_for_one(names: list[str]) -> dict[str, bool]:
        if domains[unreadable] in names:
            raise RuntimeError("SES did not answer")
        return read(names)

    real_client = domain_checks.sending_client

    class SesRefusingOne:
        def __init__(self, ses: Any) -> None:
            self.ses = ses

        def send_email(self, **kwargs: Any) -> Any:
            if f"admin@{unsendable}.example" in kwargs["Destination"]["ToAddresses"]:
                raise RuntimeError("SES refused the message")
            return self.ses.send_email(**kwargs)

    monkeypatch.setattr(domain_checks, "verified_in_ses", ses_failing_for_one)
    monkeypatch.setattr(domain_checks, "sending_client", lambda service: SesRefusingOne(real_client(service)))
    # When the hourly check runs
    with pytest.raises(RuntimeError) as failed:
        the_hourly_check_runs(api)
    # Then the function fails (its alarm rings), counting the two failures, and the third company
    # is told all the same
    assert str(failed.value).startswith("2 sending domain check(s) failed")
    assert len(notices_received(f"admin@{fine}.example")) == 1
    assert notices_received(f"admin@{unreadable}.example") == []
    assert notices_received(f"admin@{unsendable}.example") == []
    # And the second one's notice is not marked sent (its claim was taken back)
    assert "unverified_notice_for" not in stored(domains[unsendable])
    assert "unverified_since" not in stored(domains[unreadable])

    # When SES answers again and the next check runs
    monkeypatch.undo()
    clock.set_now(lost + timedelta(hours=1))
    the_hourly_check_runs(api)
    # Then the two are told, once, and the third is not told again
    assert len(notices_received(f"admin@{unreadable}.example")) == 1
    assert len(notices_received(f"admin@{unsendable}.example")) == 1
    assert len(notices_received(f"admin@{fine}.example")) == 1
    assert stored(domains[unsendable])["unverified_since"] == stored_time(lost)
    assert stored(domains[unreadable])["unverified_since"] == stored_time(lost + timedelta(hours=1))


def test_two_checks_at_once_send_one_notice(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domain_checks
    from chalicelib.store.domains import get_domain

    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"avisos.{company}.example"
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    # Given a verified domain whose records went
    verified_sending_domain(company, domain)
    clock.set_now(T0 + timedelta(days=3))
    ses_removes_the_identity(domain)
    listed = get_domain(domain)
    assert listed is not None
    # And a second check that runs whole while the first has read the domain, found the notice
    # due and not claimed it yet (this hook runs it at that exact point)
    accounts = domain_checks.accounts_sending_from
    second: list[int] = []

    def and_meanwhile(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
        found = accounts(company_id, name, consistent=consistent)
        if not second:
            second.append(-1)
            second[0] = domain_checks.check_domain(listed, verified=False)
        return found

    monkeypatch.setattr(domain_checks, "accounts_sending_from", and_meanwhile)
    # When the first check goes on
    first = domain_checks.check_domain(listed, verified=False)
    # Then one notice went: the second check's
    assert (first, second) == (0, [1])
    assert len(notices_received(f"ana@{company}.example")) == 1
    assert stored(domain)["unverified_notice_for"] == stored_time(T0 + timedelta(days=3))


class Killed(BaseException):
    """Lambda ending the function (killed, timed out): no ``except Exception`` of ours runs."""


def the_check_dies_right_after_claiming(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next check claims its notice and is killed before handing it to SES."""
    from chalicelib.store import domains

    claim = domains.claim_unverified_notice

    def claims_and_dies(*args: Any, **kwargs: Any) -> bool:
        if claim(*args, **kwargs):
            raise Killed("the function was killed")
        return False

    monkeypatch.setattr(domains, "claim_unverified_notice", claims_and_dies)


def a_check_claimed_the_notice_and_died(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hourly check runs, claims the notice and is killed before handing it to SES; the
    checks after it run whole."""
    the_check_dies_right_after_claiming(monkeypatch)
    with pytest.raises(Killed):
        the_hourly_check_runs(api)
    monkeypatch.undo()


def a_verified_domain_that_lost_its_records(tenant: Tenant, clock: Any) -> tuple[str, str, datetime]:
    """Given Ana, the company's administrator, and its verified sending domain whose records went
    three days after T0 (the clock then): the company, the domain and that moment."""
    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"avisos.{company}.example"
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    verified_sending_domain(company, domain)
    lost = T0 + timedelta(days=3)
    clock.set_now(lost)
    ses_removes_the_identity(domain)
    return company, domain, lost


def test_a_check_that_dies_after_claiming_the_notice_does_not_lose_it(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified domain whose records went
    company, domain, lost = a_verified_domain_that_lost_its_records(tenant, clock)
    # When the hourly check claims the notice and dies before sending it
    a_check_claimed_the_notice_and_died(api, monkeypatch)
    assert notices_received(f"ana@{company}.example") == []
    # And the check runs again an hour later
    clock.set_now(lost + timedelta(hours=1))
    report = the_hourly_check_runs(api)
    # Then the administrator is told, once, of the first time it was found unverified
    assert report["notices"] == 1
    [notice] = notices_received(f"ana@{company}.example")
    assert notice["Subject"] == f"Pregón: el dominio de envío {domain} dejó de estar verificado"
    assert stored(domain)["unverified_notice_for"] == stored_time(lost)
    # And the hour after, nothing more
    clock.set_now(lost + timedelta(hours=2))
    assert the_hourly_check_runs(api)["notices"] == 0
    assert len(notices_received(f"ana@{company}.example")) == 1


def test_a_check_that_dies_claiming_the_last_notice_does_not_lose_it_nor_repeat_the_first(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a verified domain whose records went, its administrator told
    company, domain, lost = a_verified_domain_that_lost_its_records(tenant, clock)
    the_hourly_check_runs(api)
    # When the check a day before the lapse claims the last notice and dies before sending it
    clock.set_now(lost + timedelta(hours=48))
    a_check_claimed_the_notice_and_died(api, monkeypatch)
    # And the check runs again an hour later, and the hour after
    clock.set_now(lost + timedelta(hours=49))
    the_hourly_check_runs(api)
    clock.set_now(lost + timedelta(hours=50))
    the_hourly_check_runs(api)
    # Then the administrator got the last notice once, and the first one only once
    first, last = (n["Subject"] for n in notices_received(f"ana@{company}.example"))
    assert first == f"Pregón: el dominio de envío {domain} dejó de estar verificado"
    assert last.startswith(f"Pregón: el dominio de envío {domain} caduca el ")
    assert stored(domain)["lapse_notice_for"] == stored_time(lost)


def test_a_dead_checks_notice_waits_out_its_lease_and_is_then_sent_once_by_two_checks_at_once(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import domain_checks
    from chalicelib.store.domains import get_domain

    # Given a verified domain whose records went, and a check that claimed its notice and died
    company, domain, lost = a_verified_domain_that_lost_its_records(tenant, clock)
    a_check_claimed_the_notice_and_died(api, monkeypatch)
    lease = domain_checks.NOTICE_SENDING_LEASE
    # When another check runs while that claim is still within its lease (as if still sending)
    clock.set_now(lost + lease - timedelta(seconds=1))
    report = the_hourly_check_runs(api)
    # Then it sends nothing
    assert report["notices"] == 0
    assert notices_received(f"ana@{company}.example") == []
    # When, past the lease, two checks run at once: the second runs whole while the first has read
    # the domain, found the notice due and not taken the claim over yet
    clock.set_now(lost + lease + timedelta(seconds=1))
    listed = get_domain(domain)
    assert listed is not None
    accounts = domain_checks.accounts_sending_from
    second: list[int] = []

    def and_meanwhile(company_id: str, name: str, *, consistent: bool = False) -> list[str]:
        found = accounts(company_id, name, consistent=consistent)
        if not second:
            second.append(-1)  # the second check's own read does not start a third
            second[0] = domain_checks.check_domain(listed, verified=False)
        return found

    monkeypatch.setattr(domain_checks, "accounts_sending_from", and_meanwhile)
    first = domain_checks.check_domain(listed, verified=False)
    # Then one of them sent the notice, once
    assert (first, second) == (0, [1])
    assert len(notices_received(f"ana@{company}.example")) == 1
    # And later checks send nothing more
    monkeypatch.undo()
    clock.set_now(lost + timedelta(hours=1))
    the_hourly_check_runs(api)
    assert len(notices_received(f"ana@{company}.example")) == 1


def test_a_domain_verified_again_is_told_anew_when_it_loses_its_records_again(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    from chalicelib.messaging.accounts.domains import register_sending_domain

    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"avisos.{company}.example"
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    # Given a verified domain whose records went, the administrators told
    verified_sending_domain(company, domain)
    clock.set_now(T0 + timedelta(days=3))
    ses_removes_the_identity(domain)
    the_hourly_check_runs(api)
    # When its records are published again (moto verifies at once) and the check finds it verified
    clock.set_now(T0 + timedelta(days=4))
    assert register_sending_domain(company, domain, by="ana").verified
    the_hourly_check_runs(api)
    # Then its record no longer says it is unverified, nor that it was told
    item = stored(domain)
    assert "unverified_since" not in item and "unverified_notice_for" not in item
    # When they go again
    clock.set_now(T0 + timedelta(days=5))
    ses_removes_the_identity(domain)
    the_hourly_check_runs(api)
    # Then the administrators are told again, of the new time
    assert len(notices_received(f"ana@{company}.example")) == 2
    assert stored(domain)["unverified_notice_for"] == stored_time(T0 + timedelta(days=5))


def test_a_company_with_more_administrators_than_ses_takes_on_one_message_tells_each_once(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"muchos.{company}.example"
    # Given a company with 51 administrators (SES takes at most 50 recipients a message)
    administrators = [f"admin{n:02d}@{company}.example" for n in range(51)]
    for n, address in enumerate(administrators):
        staff_user(company, f"admin{n:02d}", address, level=1)
    verified_sending_domain(company, domain)
    # When its records go and the hourly check runs
    clock.set_now(T0 + timedelta(days=3))
    ses_removes_the_identity(domain)
    report = the_hourly_check_runs(api)
    # Then the check did not fail, and every administrator got the notice exactly once, on one of
    # three messages of at most 25 recipients each
    assert report["failed"] == 0
    received = notices_by_recipient(only=administrators)
    for address in administrators:
        [notice] = received[address]
        assert len(notice["To"].addresses) <= 25
    assert len({received[a][0]["Message-ID"] for a in administrators}) == 3
    # And the next run tells nobody again
    the_hourly_check_runs(api)
    received = notices_by_recipient(only=administrators)
    assert all(len(received[a]) == 1 for a in administrators)


def test_an_administrator_address_pregon_cannot_send_to_is_left_out_and_the_others_are_told(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"avisos.{company}.example"
    # Given a company whose staff directory (saved as free text before addresses were checked, by
    # its API key or its administrators) holds administrators whose "address" is no address: one
    # that tries to add a header, one that names two people, one that is a name
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    legacy = staff_user_saved_before_addresses_were_checked
    legacy(company, "inyecta", f"x@{company}.example\nBcc: victima@otra.example", level=1)
    legacy(company, "dos", f"uno@{company}.example, victima@otra.example", level=1)
    legacy(company, "nombre", "Beto Pérez", level=1)
    verified_sending_domain(company, domain)
    # When its records go and the hourly check runs
    clock.set_now(T0 + timedelta(days=3))
    ses_removes_the_identity(domain)
    report = the_hourly_check_runs(api)
    # Then the check did not fail and the administrator with an address is told, on a message
    # naming only her, with no header the directory wrote
    assert report["failed"] == 0
    [notice] = notices_received(f"ana@{company}.example")
    assert [a.addr_spec for a in notice["To"].addresses] == [f"ana@{company}.example"]
    assert notice["Bcc"] is None
    # And nobody else: not the addresses written into the others
    assert notices_received("victima@otra.example") == []
    assert notices_received(f"uno@{company}.example") == []
    assert all("victima@otra.example" not in json.dumps(m["destinations"]) for m in requests_sent())


def requests_sent() -> list[dict[str, Any]]:
    """What Pregón asked SES (moto) to send: each raw message's destinations."""
    return list(moto_received("ses", "RawMessage"))


def test_the_notices_one_company_causes_are_bounded_per_day_and_the_rest_wait_for_the_next(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    from chalicelib.messaging.accounts.domain_checks import NOTICE_MESSAGES_PER_COMPANY_PER_DAY as limit

    pregon_notice_sender_verified()
    company = tenant.company_id
    # Given a company in Buenos Aires that put an address of its choosing in its staff directory as
    # an administrator and has one more verified domain than its daily notices
    company_settings(api, tenant, time_zone="America/Argentina/Buenos_Aires")
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    domains = [verified_sending_domain(company, f"d{n:02d}.{company}.example") for n in range(limit + 1)]
    # When all their records go and the hourly check runs, at 20:30 on the company's clock
    lost = datetime(2026, 11, 5, 23, 30, tzinfo=timezone.utc)
    clock.set_now(lost)
    for domain in domains:
        ses_removes_the_identity(domain)
    report = the_hourly_check_runs(api)
    # Then Pregón sends that company its daily number of notices, no more, and the check does not fail
    assert report["failed"] == 0
    assert len(notices_received(f"ana@{company}.example")) == limit
    # And the domain left out is still noted unverified, its notice not marked sent
    waiting = [d for d in domains if "unverified_notice_for" not in stored(d)]
    assert len(waiting) == 1 and stored(waiting[0])["unverified_since"] == stored_time(lost)
    # When the check runs again at 21:30 that day (00:30 of the next day in UTC), nothing more goes
    clock.set_now(lost + timedelta(hours=1))
    the_hourly_check_runs(api)
    assert len(notices_received(f"ana@{company}.example")) == limit
    # When it runs at 00:30 of the company's next day, the one left out is told
    clock.set_now(lost + timedelta(hours=4))
    the_hourly_check_runs(api)
    received = notices_received(f"ana@{company}.example")
    assert len(received) == limit + 1
    assert received[-1]["Subject"].endswith(f"{waiting[0]} dejó de estar verificado")


def test_administrators_sharing_one_mailbox_are_told_once(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    pregon_notice_sender_verified()
    company = tenant.company_id
    domain = f"buzon.{company}.example"
    # Given three administrators whose addresses reach one Gmail inbox (sub-addresses, dots) and one
    # other administrator
    staff_user(company, "v1", "victima+1@gmail.com", level=1)
    staff_user(company, "v2", "victima+2@gmail.com", level=1)
    staff_user(company, "v3", "vic.tima@googlemail.com", level=1)
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    verified_sending_domain(company, domain)
    # When its records go and the hourly check runs
    clock.set_now(T0 + timedelta(days=3))
    ses_removes_the_identity(domain)
    the_hourly_check_runs(api)
    # Then one message names one address of that inbox and the other administrator: two recipients
    [message] = [m for m in requests_sent() if f"ana@{company}.example" in json.dumps(m["destinations"])]
    named = message["destinations"]
    assert f"ana@{company}.example" in named
    assert (
        sum(
            address in named
            for address in ("victima+1@gmail.com", "victima+2@gmail.com", "vic.tima@googlemail.com")
        )
        == 1
    )


def test_the_check_reads_the_registered_domains_not_every_company(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from chalicelib.store.domains import start_removal
    from chalicelib.store.models import CompanyModel, SenderDomainModel
    from tests.steps.aws import dynamodb_requests

    company = tenant.company_id
    # Given ten companies with no sending domain
    for n in range(10):
        make_tenant(None, name=f"Sin dominio {n}")
    # And a company with two verified domains whose records went, one of them being removed (its
    # removal stopped before SES's identity went)
    domain, leaving = f"avisos.{company}.example", f"viejo.{company}.example"
    verified_sending_domain(company, domain)
    verified_sending_domain(company, leaving)
    lost = T0 + timedelta(days=3)
    clock.set_now(lost)
    assert start_removal(leaving, company, None, lost)
    ses_removes_the_identity(domain)
    ses_removes_the_identity(leaving)

    # When the hourly check runs
    with dynamodb_requests(CompanyModel) as companies, dynamodb_requests(SenderDomainModel) as domains:
        report = the_hourly_check_runs(api)

    # Then it found the domains in one Query of the registered ones, listing no company
    assert domains.count("Query") == 1
    assert "Query" not in companies and "BatchGetItem" not in companies
    assert report["checked"] >= 1
    # And it noted the registered domain unverified since now, and left the one being removed alone
    assert stored(domain)["unverified_since"] == stored_time(lost)
    assert "unverified_since" not in stored(leaving)


def test_domains_stored_before_the_checks_index_are_checked_once_an_operator_indexes_them(
    api: Client, tenant: Tenant, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    from chalicelib.store.models import SenderDomainModel
    from infrastructure import ops

    company = tenant.company_id
    domain = f"antes.{company}.example"
    # Given a verified domain stored before the check's index (no ``registered``), whose records went
    verified_sending_domain(company, domain)
    boto3.client("dynamodb").update_item(
        TableName=SenderDomainModel.Meta.table_name,
        Key={"domain": {"S": domain}},
        UpdateExpression="REMOVE registered",
    )
    lost = T0 + timedelta(days=3)
    clock.set_now(lost)
    ses_removes_the_identity(domain)
    # And the check does not find it
    the_hourly_check_runs(api)
    assert "unverified_since" not in stored(domain)

    # When the operator runs the backfill
    assert ops.main(["--target", "env", "domains", "index-registered"]) == 0
    # Then it says it indexed the domain, and the next check notes it unverified since then
    assert capsys.readouterr().out.strip() == "1 sending domains indexed for the hourly check"
    clock.set_now(lost + timedelta(hours=1))
    the_hourly_check_runs(api)
    assert stored(domain)["unverified_since"] == stored_time(lost + timedelta(hours=1))
    # And running it again indexes nothing
    assert ops.main(["--target", "env", "--json", "domains", "index-registered"]) == 0
    assert json.loads(capsys.readouterr().out) == {"indexed": 0}
