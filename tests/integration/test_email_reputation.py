"""One company's bad list must not cost every company its mail (decision 0032, docs/operations.md
"A company's e-mails through Pregón's SES were paused"): each company's own hard bounces and
complaints on Pregón's SES are counted from SES's feedback; past the thresholds, with enough sent,
its e-mails there pause (waiting, shown with why, none failed), its administrators are told once,
and only the operator resumes them. SES and its feedback are moto's; the SMTP account a MailCatcher.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client
from selenium.webdriver.common.by import By

from chalicelib.core.domain import Communication
from chalicelib.store import communications as comm_store
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.console import ConsoleSite, open_screen, sign_in, wait_until
from tests.steps.domains import notices_by_recipient, pregon_notice_sender_verified
from tests.steps.email_allowances import invoices_through_ses, queue_mail, sent_to
from tests.steps.mail import text_of
from tests.steps.operators import operator_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.ses_events import drain_ses_queue, feed, notification
from tests.steps.settings import environment_kept, settings_read_again
from tests.steps.tenants import Tenant, staff_user
from tests.steps.tracking import T0


@pytest.fixture
def judged_from_20_sent(operator: str) -> Iterator[None]:
    """Rates are judged from 20 e-mails sent (200 in production): the test sends fewer."""
    with environment_kept(["PREGON_REPUTATION_MIN_SENT"]):
        os.environ["PREGON_REPUTATION_MIN_SENT"] = "20"
        settings_read_again()
        yield


def sent_now(company_id: str, queued: list[Communication]) -> list[Communication]:
    """The communications as the history has them now (their SES message ids once sent)."""
    found = [comm_store.get(company_id, c.communication_id) for c in queued]
    assert all(c is not None for c in found)
    return [c for c in found if c is not None]


def seen_by_administrators(api: Client, tenant: Tenant) -> dict[str, Any]:
    answer = api.http.get("/sender-accounts", headers=tenant.admin_headers())
    assert answer.status_code == 200, answer.body
    return body(answer)


def test_a_company_past_5_percent_hard_bounces_has_its_ses_mail_paused_shown_told_once_and_resumed(
    api: Client,
    tenant: Tenant,
    clock: Any,
    local_aws: dict[str, str],
    operator: str,
    mailbox: MailCatcher,
    judged_from_20_sent: None,
    site: ConsoleSite,
    browser: Any,
) -> None:
    company = tenant.company_id
    drain_ses_queue()
    pregon_notice_sender_verified()
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    invoices_through_ses(api, tenant)
    # Given the company sent 20 invoices through Pregón's SES
    clock.set_now(T0)
    to = [f"cliente{n}@{company}.example" for n in range(20)]
    sent = sent_now(company, queue_mail(company, "invoices", to))
    assert deliver_outboxes()["sent"] == 20
    sent = sent_now(company, sent)
    # When SES reports a soft bounce, then a hard bounce (1 in 20: 5 %, SES's level for review)
    feed(notification("event_bounce_transient.json", sent[0]))
    assert seen_by_administrators(api, tenant)["ses_reputation"]["paused"] is False
    clock.set_now(T0 + timedelta(minutes=30))
    feed(notification("event_bounce_permanent.json", sent[1]))
    # Then its e-mails through Pregón's SES are paused, and the administrators see why
    reputation = seen_by_administrators(api, tenant)["ses_reputation"]
    assert {k: reputation[k] for k in ("sent", "hard_bounces", "complaints", "bounce_rate", "paused")} == {
        "sent": 20,
        "hard_bounces": 1,
        "complaints": 0,
        "bounce_rate": 0.05,
        "paused": True,
    }
    assert reputation["paused_shown"] == "2/11/2026 12:30"
    # And Ana, the administrator, was told by Pregón, in Spanish, with the company's figures
    ana = f"ana@{company}.example"
    [notice] = notices_by_recipient([ana])[ana]
    assert str(notice["From"]).startswith("Pregón <")
    assert str(notice["Subject"]) == "Pregón pausó los correos de Cargas del Sur por Amazon SES"
    told = " ".join(text_of(notice).split())
    assert "de los 20 correos que Cargas del Sur envió" in told and "1 rebotaron sin remedio (5" in told
    assert "Los correos no se pierden: esperan en la cola" in told
    # When 3 more invoices are queued through SES, and 1 alert through its own SMTP account
    more = [f"nuevo{n}@{company}.example" for n in range(3)]
    held = queue_mail(company, "invoices", more)
    queue_mail(company, "tracking", ["smtp@example.com"])
    # Then only the SMTP one goes; the 3 wait, none failed, shown as waiting with why
    assert deliver_outboxes()["sent"] == 1 and len(mailbox.wait_for(1)) == 1
    assert sent_to(local_aws, more) == []
    assert {c.state for c in sent_now(company, held)} == {"queued"}
    [invoices] = [w for w in seen_by_administrators(api, tenant)["waiting"] if w["area"] == "invoices"]
    assert (invoices["account"], invoices["count"]) == ("working", 3)
    assert invoices["reason"] == (
        "Pregón paused the company's e-mails through its SES: too many hard bounces or complaints in "
        "the last 24 h; they wait until Pregón resumes them (paused since 2/11/2026 12:30)"
    )
    # And the console's sender accounts show the administrator the rates, the pause and what waits
    sign_in(browser, site.web, tenant, level=1)
    open_screen(browser, "accounts")
    paused = wait_until(browser, lambda d: d.find_element(By.ID, "ses-paused"))
    assert paused.text.startswith(
        "Pregón pausó los correos de la empresa por su SES desde el 2/11/2026 12:30"
    )
    rates = browser.find_element(By.ID, "ses-rates").text
    assert "últimas 24 h: 20 enviados, 1 rebotes definitivos (5 %), 0 denuncias de spam (0 %)" in rates
    assert "desde 5 % de rebotes o 0,1 % de denuncias, con 20 enviados o más" in rates
    held = browser.find_element(By.ID, "accounts-held").text
    assert "3 correos esperan. " in held, held
    # And a test of the SES account is refused, naming the pause
    test = api.http.post(
        "/sender-accounts/invoices/test", headers=tenant.admin_headers(), body='{"to": "p@example.com"}'
    )
    assert test.status_code == 409 and "paused" in body(test)["message"], test.body
    # When SES then reports a complaint, the administrators are not told again
    feed(notification("event_complaint.json", sent[2]))
    assert len(notices_by_recipient([ana])[ana]) == 1
    # And the operator sees the company's rates and the pause; its administrators cannot resume it
    pause = f"/operator/companies/{company}/email-pause"
    shown = body(
        api.http.get(f"/operator/companies/{company}/allowances", headers=operator_headers(operator))
    )
    assert shown["email_reputation"]["paused"] is True
    assert (shown["email_reputation"]["hard_bounces"], shown["email_reputation"]["complaints"]) == (1, 1)
    assert api.http.delete(pause, headers=tenant.admin_headers()).status_code in (401, 403)
    # When the operator resumes them
    resumed = api.http.delete(pause, headers=operator_headers(operator))
    assert resumed.status_code == 200, resumed.body
    assert body(resumed)["email_reputation"]["paused"] is False
    # Then the 3 that waited go, and the rates are counted afresh
    assert deliver_outboxes()["sent"] == 3
    assert sent_to(local_aws, more) == more
    after = seen_by_administrators(api, tenant)["ses_reputation"]
    assert (after["paused"], after["hard_bounces"], after["complaints"]) == (False, 0, 0)


def test_the_operator_resumes_by_command_and_a_company_too_small_to_judge_is_not_paused(
    api: Client, tenant: Tenant, clock: Any, operator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from infrastructure import ops

    company = tenant.company_id
    drain_ses_queue()
    invoices_through_ses(api, tenant)
    # Given a company that sent 2 e-mails through Pregón's SES (fewer than the 200 judged)
    clock.set_now(T0)
    queued = queue_mail(company, "invoices", [f"a{n}@{company}.example" for n in range(2)])
    assert deliver_outboxes()["sent"] == 2
    # When both bounce for good (100 %)
    for comm in sent_now(company, queued):
        feed(notification("event_bounce_permanent.json", comm))
    # Then nothing is paused: too few to judge
    shown = body(
        api.http.get(f"/operator/companies/{company}/allowances", headers=operator_headers(operator))
    )
    assert (shown["email_reputation"]["hard_bounces"], shown["email_reputation"]["paused"]) == (2, False)
    # And the ops command resumes a company (here: one not paused, left as it was)
    capsys.readouterr()
    assert ops.main(["--target", "env", "--json", "company", "allowance", company, "--resume-emails"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["email_reputation"]["paused"] is False and out["email_reputation"]["sent"] == 2
    # And an unknown company is a 404
    missing = api.http.delete(
        "/operator/companies/no-such-co/email-pause", headers=operator_headers(operator)
    )
    assert missing.status_code == 404, missing.body
