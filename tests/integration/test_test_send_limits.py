"""Test sends (C3) inside the account's send-rate limit (C2): a test takes its place in the same
window the outbox counts in, or is refused at once saying when the next message may go."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accounts import account_test_send, in_time_zone, queue_for_tracking, set_password
from tests.steps.answers import body
from tests.steps.mail import recipients
from tests.steps.outbox import limit_tracking_account, raw_items
from tests.steps.tenants import Tenant
from tests.steps.tracking import T0

TO = "admin.pruebas@example.com"


def test_a_test_send_counts_in_the_accounts_window_and_the_outbox_waits_for_the_slot_it_used(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import drain_outbox

    # Given a company in Buenos Aires whose tracking account may send 3 e-mails an hour
    in_time_zone(api, tenant, "America/Argentina/Buenos_Aires")
    limit_tracking_account(api, tenant, mailbox, messages=3, hours=1)
    clock.set_now(T0)
    # When the administrator sends one test, then 3 e-mails are queued and the outbox drained
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is True
    queue_for_tracking(tenant, 3)
    drained = drain_outbox(tenant.company_id, "email:tracking")
    # Then 2 go now and 1 waits: the test used the third slot of the hour
    assert drained.sent == 2
    mailbox.wait_for(3)
    assert sorted(recipients(mailbox)) == [TO, "w0@example.com", "w1@example.com"]
    # When another test is asked for within the hour
    clock.set_now(T0 + timedelta(minutes=30))
    refused = account_test_send(api, tenant, "tracking", TO)
    # Then it is refused at once, saying when the next message may go in the company's time
    # (each grant is counted from two minutes after it was made: 12:02 UTC + 1 h = 10:02 there)
    assert refused.status_code == 429, refused.body
    assert refused.headers["Retry-After"] == str(32 * 60)
    assert body(refused)["message"] == (
        "the sender account tracking has reached its send-rate limit (3 messages per 1 h): the next one "
        "can go at 2/11/2026 10:02 (UTC-03:00, America/Argentina/Buenos_Aires) (Retry-After: 1920 seconds)"
    )
    # And in Spanish when the console asks for it
    spanish = api.http.post(
        "/sender-accounts/tracking/test",
        headers={**tenant.admin_headers(), "Accept-Language": "es"},
        body=json.dumps({"to": TO}).encode(),
    )
    assert body(spanish)["message"] == (
        "la cuenta de envío tracking llegó a su límite de envío (3 mensajes cada 1 h): el próximo puede "
        "salir el 2/11/2026 10:02 (UTC-03:00, America/Argentina/Buenos_Aires) (Retry-After: 1920 segundos)"
    )
    assert len(mailbox.files()) == 3
    # When the slot frees, the e-mail that waited goes, and the window is full again
    clock.set_now(T0 + timedelta(hours=1, minutes=2, seconds=1))
    assert drain_outbox(tenant.company_id, "email:tracking").sent == 1
    assert "w2@example.com" in recipients(mailbox)


def test_a_test_refused_in_the_hour_madrids_clock_repeats_says_which_02_30_the_next_can_go(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from datetime import datetime, timezone

    # Given a company in Madrid whose tracking account may send 1 e-mail an hour, and its test
    # sent at 02:28 (+02:00) on 31 October 2027, the night its clock goes back from 03:00 to 02:00
    in_time_zone(api, tenant, "Europe/Madrid")
    limit_tracking_account(api, tenant, mailbox, messages=1, hours=1)
    clock.set_now(datetime(2027, 10, 31, 0, 28, tzinfo=timezone.utc))
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is True
    # When another test is asked for at 02:40 (+02:00), twelve minutes later
    clock.set_now(datetime(2027, 10, 31, 0, 40, tzinfo=timezone.utc))
    refused = account_test_send(api, tenant, "tracking", TO)
    # Then it is refused saying the next may go at the second 02:30 of the night (+01:00), an
    # hour and two minutes after the first: its UTC offset says which, in both languages
    assert refused.status_code == 429, refused.body
    assert refused.headers["Retry-After"] == str(50 * 60)
    at = "31/10/2027 02:30 (UTC+01:00, Europe/Madrid)"
    assert body(refused)["message"] == (
        "the sender account tracking has reached its send-rate limit (1 messages per 1 h): the next one "
        f"can go at {at} (Retry-After: 3000 seconds)"
    )
    spanish = account_test_send(
        api, tenant, "tracking", TO, {**tenant.admin_headers(), "Accept-Language": "es"}
    )
    assert body(spanish)["message"] == (
        "la cuenta de envío tracking llegó a su límite de envío (1 mensajes cada 1 h): el próximo puede "
        f"salir el {at} (Retry-After: 3000 segundos)"
    )
    assert recipients(mailbox) == [TO]


def test_a_template_test_counts_in_the_window_of_the_account_that_sends_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given a tracking account that may send 1 e-mail an hour, already used by an account test
    limit_tracking_account(api, tenant, mailbox, messages=1, hours=1)
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is True
    # When a template sent through it is tested
    refused = api.http.post(
        "/templates/tracking_alert/test",
        headers=tenant.admin_headers(),
        body=json.dumps({"to": TO}).encode(),
    )
    # Then it is refused too, and only the first test arrived
    assert refused.status_code == 429, refused.body
    assert len(mailbox.wait_for(1)) == 1


def test_a_test_the_server_refused_gives_its_slot_back(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a tracking account that may send 1 e-mail an hour, with a wrong password
    limit_tracking_account(api, tenant, mailbox, messages=1, hours=1)
    set_password(api, tenant, "tracking", "not-the-password")
    # When it is tested, the server refuses the login (nothing went)
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is False
    # Then once the password is fixed, a test still has the hour's one slot
    set_password(api, tenant, "tracking")
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is True
    assert len(mailbox.wait_for(1)) == 1


def test_a_test_whose_connection_was_reset_after_its_body_keeps_its_slot(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a tracking account that may send 1 e-mail an hour, and a server that keeps the next
    # message and then resets the connection before answering its final dot
    limit_tracking_account(api, tenant, mailbox, messages=1, hours=1)
    mailbox.reset_after_next(1)
    # When it is tested: the answer says it failed, though the server may have it (and has)
    assert body(account_test_send(api, tenant, "tracking", TO))["ok"] is False
    assert len(mailbox.wait_for(1)) == 1
    # Then the hour's one slot stays used, as a drain's attempt would: a second test is refused
    assert account_test_send(api, tenant, "tracking", TO).status_code == 429
    assert len(mailbox.messages()) == 1


def test_an_account_without_a_limit_sends_every_test_and_counts_none(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.store.models import OutboxModel

    # Given the tracking account without a send-rate limit
    # When five tests are sent in a row
    answers = [body(account_test_send(api, tenant, "tracking", TO)) for _ in range(5)]
    # Then all five went, and no window was written for the account
    assert all(a["ok"] for a in answers)
    assert len(mailbox.wait_for(5)) == 5
    assert raw_items(OutboxModel.Meta.table_name, tenant.company_id, "email:tracking#rate") == []
