"""How many e-mails a company can make Pregón send through Pregón's own SES (docs/operations.md,
"E-mail allowances"): the operator's allowance a day, or the deployment's default. E-mails beyond it
wait in the outbox, shown as waiting with why, and go as room opens, oldest first, none lost; the
administrators are told once a day; a test send counts too. A company's own SMTP account is not
held. SES is moto's server, the SMTP account a local MailCatcher.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.domains import notices_by_recipient, pregon_notice_sender_verified
from tests.steps.email_allowances import invoices_through_ses, queue_mail, sent_to
from tests.steps.mail import text_of
from tests.steps.operators import operator_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, staff_user
from tests.steps.tracking import T0


def allowances(api: Client, token: str, company_id: str, **fields: int | None) -> Any:
    return api.http.patch(
        f"/operator/companies/{company_id}/allowances",
        headers=operator_headers(token),
        body=json.dumps(fields),
    )


def sent_by_wakeups(company_id: str) -> int:
    from chalicelib.messaging.delivery import wake_due_outboxes

    return sum(r.sent for r in wake_due_outboxes() if r.company_id == company_id)


def test_emails_past_the_companys_ses_allowance_wait_shown_with_why_and_go_the_next_day_oldest_first(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], operator: str, mailbox: MailCatcher
) -> None:
    company = tenant.company_id
    pregon_notice_sender_verified()
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    invoices_through_ses(api, tenant)
    # Given Pregón's operator allows the company 3 e-mails a day through Pregón's SES
    set_to = allowances(api, operator, company, emails_per_day=3)
    assert set_to.status_code == 200, set_to.body
    assert (body(set_to)["emails_per_day"], body(set_to)["emails_default"]) == (3, False)
    # When 5 invoices are queued at 12:00 through its SES account, and 2 through its own SMTP one
    clock.set_now(T0)
    to = [f"cliente{n}@{company}.example" for n in range(5)]
    queue_mail(company, "invoices", to)
    queue_mail(company, "tracking", ["smtp1@example.com", "smtp2@example.com"])
    # Then the 3 oldest go through SES, both through its own server, and 2 wait
    assert deliver_outboxes()["sent"] == 5
    assert sent_to(local_aws, to) == to[:3]
    assert len(mailbox.wait_for(2)) == 2
    # And the administrators see them waiting, and why, in the company's time
    waiting = body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["waiting"]
    [invoices] = [w for w in waiting if w["area"] == "invoices"]
    assert (invoices["account"], invoices["count"]) == ("working", 2)
    assert invoices["reason"] == (
        "Pregón's e-mail allowance is used up (3 e-mails per 24 h through Pregón's SES): they go as "
        "room opens again, from 3/11/2026 12:02 (UTC)"
    )
    # And Ana, the administrator, was told once, by Pregón, in Spanish
    [notice] = notices_by_recipient([f"ana@{company}.example"])[f"ana@{company}.example"]
    assert str(notice["From"]).startswith("Pregón <")
    assert str(notice["Subject"]) == "Pregón: Cargas del Sur llegó a sus 3 correos del día"
    assert "no se pierden: esperan en la cola" in text_of(notice)
    # When the minute schedule runs again that day
    clock.set_now(T0 + timedelta(hours=3))
    assert sent_by_wakeups(company) == 0
    # Then nothing more went and nobody was told twice
    assert sent_to(local_aws, to) == to[:3]
    assert len(notices_by_recipient([f"ana@{company}.example"])[f"ana@{company}.example"]) == 1
    # When a day (and the two-minute margin) has passed, the 2 that waited go
    clock.set_now(T0 + timedelta(days=1, minutes=2, seconds=1))
    assert sent_by_wakeups(company) == 2
    assert sent_to(local_aws, to) == to


def test_a_test_send_through_pregons_ses_counts_in_the_allowance_and_is_refused_when_it_is_full(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], operator: str
) -> None:
    company = tenant.company_id
    pregon_notice_sender_verified()
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    invoices_through_ses(api, tenant)
    assert allowances(api, operator, company, emails_per_day=1).status_code == 200
    clock.set_now(T0)
    # When the administrator tests the SES account twice
    test = "/sender-accounts/invoices/test"
    first = api.http.post(
        test, headers=tenant.admin_headers(), body=json.dumps({"to": "prueba1@example.com"})
    )
    second = api.http.post(
        test, headers=tenant.admin_headers(), body=json.dumps({"to": "prueba2@example.com"})
    )
    # Then the first goes and the second is refused at once, naming Pregón's allowance
    assert body(first)["ok"] is True
    assert second.status_code == 429, second.body
    assert body(second)["message"] == (
        "the company's e-mails through Pregón's SES have reached Pregón's daily e-mail allowance (1 messages "
        "per 24 h): the next one can go at 3/11/2026 12:02 (UTC) (Retry-After: 86520 seconds)"
    )
    assert sent_to(local_aws, ["prueba1@example.com", "prueba2@example.com"]) == ["prueba1@example.com"]
    # And the administrators were told, as a drain that found it full would tell them
    received = notices_by_recipient([f"ana@{company}.example"])[f"ana@{company}.example"]
    assert [str(n["Subject"]) for n in received] == ["Pregón: Cargas del Sur llegó a sus 1 correos del día"]
    # And its own SMTP account's tests are not held by it
    smtp = api.http.post(
        "/sender-accounts/tracking/test",
        headers=tenant.admin_headers(),
        body=json.dumps({"to": "x@example.com"}),
    )
    assert smtp.status_code == 200 and body(smtp)["ok"] is True, smtp.body


def test_the_operator_sets_the_email_allowance_by_route_and_by_command_and_bad_ones_are_refused(
    api: Client, tenant: Tenant, operator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infrastructure import ops

    company = tenant.company_id
    # Given the deployment's default of 5,000 e-mails a day
    shown = body(
        api.http.get(f"/operator/companies/{company}/allowances", headers=operator_headers(operator))
    )
    assert (shown["emails_per_day"], shown["emails_default"]) == (5000, True)
    # When the operator sets the e-mails only, the SMS allowance stays as it was
    set_to = body(allowances(api, operator, company, emails_per_day=20000))
    assert (set_to["emails_per_day"], set_to["sms_per_day"], set_to["default"]) == (20000, 500, True)
    # And a bad one is a 422 naming it, nothing written, whatever else the request held
    for bad in (-1, 10_000_001, "many"):
        refused = allowances(api, operator, company, emails_per_day=bad, sms_per_day=7)  # type: ignore[arg-type]
        assert refused.status_code == 422 and body(refused)["field"] == "emails_per_day", refused.body
    again = body(
        api.http.get(f"/operator/companies/{company}/allowances", headers=operator_headers(operator))
    )
    assert (again["emails_per_day"], again["sms_per_day"]) == (20000, 500)
    # And a company's administrator cannot set it
    answer = api.http.patch(
        f"/operator/companies/{company}/allowances",
        headers=tenant.admin_headers(),
        body='{"emails_per_day": 1}',
    )
    assert answer.status_code in (401, 403)
    # When the ops command sets it, then puts the default back
    run = ["--target", "env", "--json", "company", "allowance", company]
    capsys.readouterr()
    assert ops.main([*run, "--emails-per-day", "1200"]) == 0
    assert json.loads(capsys.readouterr().out)["emails_per_day"] == 1200
    assert ops.main([*run, "--emails-default"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["emails_per_day"], out["emails_default"]) == (5000, True)
