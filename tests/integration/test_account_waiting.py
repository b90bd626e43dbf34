"""E-mails waiting for a sender account that is missing, disabled or incomplete (C1, C2): the
administrator sees them in the API (and the console), nothing is lost or moved, and they go once
the account works again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accounts import in_time_zone, put_tracking_account, queue_for_tracking, set_password
from tests.steps.answers import body
from tests.steps.console import bearer
from tests.steps.mail import recipients
from tests.steps.tenants import Tenant


def waiting_in(listing: Any) -> dict[str, Any]:
    return {w["area"]: w for w in body(listing)["waiting"]}


def test_mail_queued_for_a_disabled_then_deleted_account_is_shown_waiting_until_the_account_is_back(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import drain_outbox

    admin = tenant.admin_headers()
    # Given a company in Buenos Aires, with three invoices queued for its tracking account at 12:00 UTC
    in_time_zone(api, tenant, "America/Argentina/Buenos_Aires")
    queue_for_tracking(tenant, 3)
    # When the administrator disables the account
    disabled = put_tracking_account(api, tenant, mailbox, enabled=False)
    # Then the answer says three e-mails wait for it, since when (09:00 in Buenos Aires)
    assert disabled.status_code == 200, disabled.body
    assert body(disabled)["waiting"] == {
        "area": "tracking",
        "account": "disabled",
        "count": 3,
        "more": False,
        "count_shown": "3",
        "oldest_at": "2026-11-02T12:00:00+00:00",
        "oldest_shown": "2/11/2026 09:00",
        "reason": None,  # (an account that is off needs no other reason: allowances and pauses give one)
    }
    # And the list of accounts shows them beside the account
    listed = api.http.get("/sender-accounts", headers=admin)
    assert waiting_in(listed)["tracking"]["count"] == 3
    assert waiting_in(listed)["tracking"]["account"] == "disabled"
    # When the administrator deletes the account
    deleted = api.http.delete("/sender-accounts/tracking", headers=admin)
    # Then the answer says they are left waiting, and the area is still listed with them
    assert deleted.status_code == 200, deleted.body
    assert body(deleted)["waiting"]["count"] == 3 and body(deleted)["waiting"]["account"] == "missing"
    listed = api.http.get("/sender-accounts", headers=admin)
    assert "tracking" not in [a["area"] for a in body(listed)["items"]]
    assert waiting_in(listed)["tracking"]["count"] == 3
    assert waiting_in(listed)["tracking"]["account"] == "missing"
    # And nothing goes meanwhile, nor to the `all` fallback
    assert drain_outbox(tenant.company_id, "email:tracking").sent == 0
    # And another company sees nothing of it
    assert body(api.http.get("/sender-accounts", headers=other_tenant.admin_headers()))["waiting"] == []
    # When the account is added again and the outbox drained
    assert put_tracking_account(api, tenant, mailbox).status_code == 200
    set_password(api, tenant, "tracking")
    assert drain_outbox(tenant.company_id, "email:tracking").sent == 3
    # Then the three arrived and nothing waits any more
    mailbox.wait_for(3)
    assert sorted(recipients(mailbox)) == ["w0@example.com", "w1@example.com", "w2@example.com"]
    assert body(api.http.get("/sender-accounts", headers=admin))["waiting"] == []


def test_an_incomplete_account_with_mail_waiting_is_shown_so(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given two e-mails queued for the tracking account
    queue_for_tracking(tenant, 2)
    # When its account is changed to another server (its password, set for the old one, is removed)
    moved = put_tracking_account(api, tenant, mailbox, smtp_host="localhost")
    # Then the answer and the list say two wait for an incomplete account
    assert body(moved)["working"] is False
    assert body(moved)["waiting"]["account"] == "incomplete" and body(moved)["waiting"]["count"] == 2
    listed = api.http.get("/sender-accounts", headers=tenant.admin_headers())
    assert waiting_in(listed)["tracking"]["count"] == 2


def test_the_count_stops_at_its_cap_and_says_there_are_more(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts import waiting

    # Given a cap of 2 on the count (1000 in production), and 3 e-mails queued for a deleted account
    monkeypatch.setattr(waiting, "COUNT_CAP", 2)
    queue_for_tracking(tenant, 3)
    deleted = api.http.delete("/sender-accounts/tracking", headers=tenant.admin_headers())
    # Then the count says "2+"
    shown = body(deleted)["waiting"]
    assert (shown["count"], shown["more"], shown["count_shown"]) == (2, True, "2+")


def test_only_an_administrator_sees_and_changes_what_waits(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given e-mails waiting for a disabled account
    queue_for_tracking(tenant, 1)
    assert put_tracking_account(api, tenant, mailbox, enabled=False).status_code == 200
    # When a supervisor (level 2) asks for the accounts, or deletes one
    listed = api.http.get("/sender-accounts", headers=bearer(tenant, 2))
    deleted = api.http.delete("/sender-accounts/tracking", headers=bearer(tenant, 2))
    # Then both are refused as the routes' access says (administrators only), and nothing changed
    assert listed.status_code == 403 and deleted.status_code == 403
    still = api.http.get("/sender-accounts", headers=tenant.admin_headers())
    assert waiting_in(still)["tracking"]["account"] == "disabled"
    assert json.loads(still.body)["waiting"][0]["count"] == 1


def test_an_administrator_cancels_the_mail_waiting_for_a_disabled_account_and_each_is_recorded_failed(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.store import communications

    admin = tenant.admin_headers()
    # Given three e-mails waiting for the tracking account, which works: nothing to cancel
    ids = queue_for_tracking(tenant, 3)
    working = api.http.post("/sender-accounts/tracking/waiting/cancel", headers=admin)
    assert working.status_code == 409
    assert body(working)["message"] == (
        "the sender account tracking works: its queued e-mails are not waiting for it and go by themselves"
    )
    # When the account is disabled and the administrator cancels what waits for it
    assert put_tracking_account(api, tenant, mailbox, enabled=False).status_code == 200
    cancelled = api.http.post("/sender-accounts/tracking/waiting/cancel", headers=admin)
    # Then all three are cancelled, nothing is left waiting, and the list says so
    assert cancelled.status_code == 200, cancelled.body
    assert body(cancelled) == {"area": "tracking", "cancelled": 3, "waiting": None}
    assert body(api.http.get("/sender-accounts", headers=admin))["waiting"] == []
    # And each is recorded failed, saying who cancelled it and why
    records = communications.get_many(tenant.company_id, ids)
    assert {r.state for r in records.values()} == {"failed"}
    assert {r.error for r in records.values()} == {
        f"cancelled by admin@{tenant.company_id} while the sender account tracking was disabled: "
        "it never went out"
    }
    # And when the account is enabled again, none of them goes
    assert put_tracking_account(api, tenant, mailbox).status_code == 200
    assert drain_outbox(tenant.company_id, "email:tracking").sent == 0
    assert mailbox.files() == []


# --- a user's own account (C5) ----------------------------------------------------------------

MARTA = "marta@cargas.example"
MARTAS = f"/users/{MARTA}/sender-account"


def orders_for_marta(tenant: Tenant, mailbox: MailCatcher, count: int) -> tuple[list[str], dict[str, str]]:
    """The company's `all` account, and Marta's own (she is a salesperson, level 3) working; then
    ``count`` orders she is responsible for, queued (not kicked): they go from her account.
    Returns their ids and her headers."""
    from tests.steps.accounts import queue_for_user
    from tests.steps.notes import staff_headers
    from tests.steps.tenants import smtp_sender_account

    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "hola@cargas.example")
    smtp_sender_account(tenant.company_id, f"user:{MARTA}", mailbox, "Marta", MARTA)
    return queue_for_user(tenant, MARTA, count), staff_headers(tenant, MARTA, 3)


def test_orders_queued_for_a_users_own_account_wait_once_it_is_deleted_and_she_and_admins_see_them(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from tests.steps.notes import staff_headers
    from tests.steps.tenants import smtp_sender_account

    admin = tenant.admin_headers()
    # Given two orders queued for Marta's own account
    _, marta = orders_for_marta(tenant, mailbox, 2)
    # When she deletes her account
    deleted = api.http.delete(MARTAS, headers=marta)
    # Then the answer says the two are left waiting for it
    assert deleted.status_code == 200, deleted.body
    assert body(deleted)["area"] == f"user:{MARTA}"
    assert (body(deleted)["waiting"]["count"], body(deleted)["waiting"]["account"]) == (2, "missing")
    # And the administrators' list shows them, as the user's own account
    listed = waiting_in(api.http.get("/sender-accounts", headers=admin))
    assert (listed[f"user:{MARTA}"]["count"], listed[f"user:{MARTA}"]["account"]) == (2, "missing")
    # And she sees them too, though her account is gone (its GET is 404)
    assert api.http.get(MARTAS, headers=marta).status_code == 404
    hers = api.http.get(f"{MARTAS}/waiting", headers=marta)
    assert hers.status_code == 200, hers.body
    assert body(hers)["waiting"]["count"] == 2 and body(hers)["waiting"]["account"] == "missing"
    # But a colleague does not, and another company sees nothing of it
    colleague = staff_headers(tenant, "juan@cargas.example", 3)
    assert api.http.get(f"{MARTAS}/waiting", headers=colleague).status_code == 403
    assert body(api.http.get("/sender-accounts", headers=other_tenant.admin_headers()))["waiting"] == []
    # And nothing goes meanwhile, nor through the company's `all` account
    assert drain_outbox(tenant.company_id, f"email:user:{MARTA}").sent == 0
    assert drain_outbox(tenant.company_id, "email:all").sent == 0
    assert mailbox.files() == []
    # When her account is set up again
    smtp_sender_account(tenant.company_id, f"user:{MARTA}", mailbox, "Marta", MARTA)
    mine = body(api.http.get(MARTAS, headers=marta))
    assert mine["waiting"]["account"] == "working" and mine["waiting"]["count"] == 2
    # Then both go, from her address, and nothing waits any more
    assert drain_outbox(tenant.company_id, f"email:user:{MARTA}").sent == 2
    assert {m["From"].addresses[0].addr_spec for m in mailbox.wait_for(2)} == {MARTA}
    assert body(api.http.get("/sender-accounts", headers=admin))["waiting"] == []
    assert body(api.http.get(f"{MARTAS}/waiting", headers=marta))["waiting"] is None


def test_a_user_disables_her_own_account_and_cancels_what_waits_for_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.delivery import drain_outbox
    from chalicelib.store import communications
    from tests.steps.tenants import SMTP_USER

    # Given two orders queued for Marta's own account, which works: nothing to cancel
    ids, marta = orders_for_marta(tenant, mailbox, 2)
    assert api.http.post(f"{MARTAS}/waiting/cancel", headers=marta).status_code == 409
    # When she disables it
    account = {
        "display_name": "Marta",
        "from_address": MARTA,
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "encryption": "none",
        "username": SMTP_USER,
        "enabled": False,
    }
    disabled = api.http.put(MARTAS, headers=marta, body=json.dumps(account))
    # Then the answer, and her account's GET, say two wait for it
    assert disabled.status_code == 200, disabled.body
    assert (body(disabled)["waiting"]["count"], body(disabled)["waiting"]["account"]) == (2, "disabled")
    assert body(api.http.get(MARTAS, headers=marta))["waiting"]["account"] == "disabled"
    # When she cancels them
    cancelled = api.http.post(f"{MARTAS}/waiting/cancel", headers=marta)
    # Then both are recorded failed, saying who cancelled them, and nothing waits
    assert cancelled.status_code == 200, cancelled.body
    assert body(cancelled) == {"area": f"user:{MARTA}", "cancelled": 2, "waiting": None}
    records = communications.get_many(tenant.company_id, ids)
    assert {r.error for r in records.values()} == {
        f"cancelled by {MARTA} while the sender account user:{MARTA} was disabled: it never went out"
    }
    assert body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["waiting"] == []
    # And once enabled again, none of them goes
    assert (
        api.http.put(MARTAS, headers=marta, body=json.dumps(account | {"enabled": True})).status_code == 200
    )
    assert drain_outbox(tenant.company_id, f"email:user:{MARTA}").sent == 0
