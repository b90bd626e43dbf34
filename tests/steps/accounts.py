"""Sender accounts as an administrator handles them through the API, and e-mails queued for one."""

from __future__ import annotations

import json
from typing import Any

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.tenants import SMTP_PASSWORD, SMTP_USER, Tenant


def tracking_account(mailbox: MailCatcher, **extra: Any) -> str:
    """The tracking area's account on the test's SMTP server, as a PUT body (``extra`` changes it)."""
    return json.dumps(
        {
            "kind": "smtp",
            "display_name": "Cargas del Sur Avisos",
            "from_address": "avisos@cargasdelsur.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "encryption": "none",
            "username": SMTP_USER,
            **extra,
        }
    )


def put_tracking_account(api: Any, tenant: Tenant, mailbox: MailCatcher, **extra: Any) -> Any:
    return api.http.put(
        "/sender-accounts/tracking", headers=tenant.admin_headers(), body=tracking_account(mailbox, **extra)
    )


def set_password(api: Any, tenant: Tenant, area: str, password: str = SMTP_PASSWORD) -> None:
    answer = api.http.put(
        f"/sender-accounts/{area}/password",
        headers=tenant.admin_headers(),
        body=json.dumps({"password": password}),
    )
    assert answer.status_code == 204, answer.body


def account_test_send(api: Any, tenant: Tenant, area: str, to: str, headers: Any = None) -> Any:
    """``POST /sender-accounts/{area}/test`` to ``to`` (C3)."""
    return api.http.post(
        f"/sender-accounts/{area}/test",
        headers=headers or tenant.admin_headers(),
        body=json.dumps({"to": to}).encode(),
    )


def in_time_zone(api: Any, tenant: Tenant, time_zone: str) -> None:
    changed = api.http.patch(
        "/company", headers=tenant.admin_headers(), body=json.dumps({"time_zone": time_zone})
    )
    assert changed.status_code == 200, changed.body


def queue_for_tracking(tenant: Tenant, count: int, prefix: str = "w") -> list[str]:
    """Queue ``count`` e-mails (to ``<prefix><n>@example.com``) for the tracking account, not kicked:
    they stay in its outbox until a drain. Returns their communication ids."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"{prefix}{n}@example.com",
                subject=f"Factura {n}",
                text="Su factura",
                area="tracking",
                idempotency_key=f"waiting:{prefix}:{n}",
            )
            for n in range(count)
        ],
        kick=False,
    )
    return [c.communication_id for c in queued]


def queue_for_user(tenant: Tenant, user_id: str, count: int) -> list[str]:
    """Queue ``count`` orders (to ``cliente<n>@example.com``) that ``user_id`` is responsible for,
    not kicked: they go from the user's own account (C5) when it works, and stay in its outbox
    until a drain. Returns their communication ids."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"cliente{n}@example.com",
                subject=f"Pedido {n}",
                text="Su pedido",
                area="documents",
                personal_user=user_id,
                idempotency_key=f"order:{user_id}:{n}",
            )
            for n in range(count)
        ],
        kick=False,
    )
    assert {c.outbox for c in queued} == {f"email:user:{user_id}"}
    return [c.communication_id for c in queued]
