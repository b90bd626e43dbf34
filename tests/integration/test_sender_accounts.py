"""Which account sends (C1 areas with `all` as fallback, C5 personal accounts), as staff set them up."""

from __future__ import annotations

import json
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.tenants import IDENTITY, SMTP_PASSWORD, SMTP_USER, Tenant


def smtp_account(mailbox: MailCatcher, sender: str, **extra: Any) -> str:
    return json.dumps(
        {
            "kind": "smtp",
            "display_name": sender.split("@")[0].title(),
            "from_address": sender,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "encryption": "none",
            "username": SMTP_USER,
            **extra,
        }
    )


def set_up(
    api: Client, tenant: Tenant, path: str, mailbox: MailCatcher, sender: str, headers: Any = None
) -> None:
    headers = headers or tenant.admin_headers()
    assert api.http.put(path, headers=headers, body=smtp_account(mailbox, sender)).status_code == 200
    password = api.http.put(f"{path}/password", headers=headers, body=json.dumps({"password": SMTP_PASSWORD}))
    assert password.status_code == 204, password.body


def sender_of(tenant: Tenant, area: str, user: str | None = None) -> str | None:
    from chalicelib.messaging.accounts.email import account_for

    account = account_for(tenant.company_id, area, personal_user=user)
    return account.from_address if account else None


def test_an_area_without_its_own_account_falls_back_to_all(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the company has a tracking account and an `all` account
    set_up(api, tenant, "/sender-accounts/all", mailbox, "hola@cargas.example")
    # Then tracking uses its own, invoices (no account) use `all`
    assert sender_of(tenant, "tracking") == "avisos@cargasdelsur.example"
    assert sender_of(tenant, "invoices") == "hola@cargas.example"
    # And when the tracking account is disabled, tracking falls back to `all` as well
    disabled = api.http.put(
        "/sender-accounts/tracking",
        headers=tenant.admin_headers(),
        body=smtp_account(mailbox, "avisos@cargasdelsur.example", enabled=False),
    )
    assert disabled.status_code == 200 and body(disabled)["working"] is False
    assert sender_of(tenant, "tracking") == "hola@cargas.example"


def test_a_personal_account_sends_for_its_user_and_falls_back_to_the_company(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a salesperson who sets up her own account
    marta = IDENTITY.mint(tenant.company_id, user_id="marta@cargas.example", level=3, department="ventas")
    marta_headers = {"Authorization": f"Bearer {marta}", "Content-Type": "application/json"}
    set_up(
        api,
        tenant,
        "/users/marta@cargas.example/sender-account",
        mailbox,
        "marta@cargas.example",
        marta_headers,
    )
    set_up(api, tenant, "/sender-accounts/all", mailbox, "hola@cargas.example")
    # Then her orders go out from her account, and another user's from the company's
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "marta@cargas.example"
    assert sender_of(tenant, "documents", user="juan@cargas.example") == "hola@cargas.example"
    # And she sees her account without its password, but it is not listed among the company's areas
    mine = body(api.http.get("/users/marta@cargas.example/sender-account", headers=marta_headers))
    assert mine["password_set"] is True and "password" not in mine
    areas = [
        a["area"] for a in body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
    ]
    assert areas == ["all", "tracking"]
    # When she removes it, her messages fall back to the company's account
    assert (
        api.http.delete("/users/marta@cargas.example/sender-account", headers=marta_headers).status_code
        == 204
    )
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "hola@cargas.example"


def test_pointing_a_personal_account_elsewhere_removes_its_password(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a salesperson's own working account, with its password
    marta = IDENTITY.mint(tenant.company_id, user_id="marta@cargas.example", level=3)
    headers = {"Authorization": f"Bearer {marta}", "Content-Type": "application/json"}
    path = "/users/marta@cargas.example/sender-account"
    set_up(api, tenant, path, mailbox, "marta@cargas.example", headers)
    assert sender_of(tenant, "documents", user="marta@cargas.example") == "marta@cargas.example"
    # When she (or anyone who can) changes its host to another server
    moved = api.http.put(
        path, headers=headers, body=smtp_account(mailbox, "marta@cargas.example", smtp_host="localhost")
    )
    # Then the password is gone and her messages no longer go out from it (they fall back)
    assert moved.status_code == 200 and body(moved)["password_set"] is False
    assert body(api.http.get(path, headers=headers))["working"] is False
    assert sender_of(tenant, "documents", user="marta@cargas.example") is None


def test_only_the_user_or_an_administrator_manages_a_personal_account(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    juan = IDENTITY.mint(tenant.company_id, user_id="juan@cargas.example", level=2)
    juan_headers = {"Authorization": f"Bearer {juan}", "Content-Type": "application/json"}
    path = "/users/marta@cargas.example/sender-account"
    # Another user, and the company's systems, are refused
    assert (
        api.http.put(path, headers=juan_headers, body=smtp_account(mailbox, "x@y.example")).status_code == 403
    )
    assert (
        api.http.put(
            path, headers=tenant.key_headers(), body=smtp_account(mailbox, "x@y.example")
        ).status_code
        == 403
    )
    # The administrator may set it up for her
    assert (
        api.http.put(
            path, headers=tenant.admin_headers(), body=smtp_account(mailbox, "marta@y.example")
        ).status_code
        == 200
    )
    # Nothing of it is visible to another company's administrator
    from tests.steps.tenants import make_tenant

    other = make_tenant(None, name="Otra")
    assert api.http.get(path, headers=other.admin_headers()).status_code == 404
