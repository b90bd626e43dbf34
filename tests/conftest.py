"""The real local stack for tests: DynamoDB Local (Java), moto's server for KMS/SES, and a real
SMTP server per test. Nothing here imitates our own database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.aws_env import local_aws as local_aws_engines
from infrastructure.local.identity import LocalIdentity
from infrastructure.local.mailcatcher import MailCatcher

SMTP_USER, SMTP_PASSWORD = "carrier-mailer", "s3cret-smtp-password"
IDENTITY = LocalIdentity()


@pytest.fixture(scope="session")
def local_aws() -> Iterator[dict[str, str]]:
    """DynamoDB Local and a moto server for the whole run, with the environment pointing at them."""
    # TTL off: the tests' clock is frozen in November 2026, and DynamoDB Local deletes expired
    # items by the real date (every read filters expired items itself, as on AWS).
    with local_aws_engines(
        table_prefix="pregon-test-", jwks_json=IDENTITY.jwks_json(), expire_items=False
    ) as env:
        yield env


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[MailCatcher]:
    """A real SMTP server for this test, requiring the sender account's login."""
    with MailCatcher(tmp_path / "mail", credentials={SMTP_USER: SMTP_PASSWORD}) as catcher:
        yield catcher


@pytest.fixture
def clock() -> Iterator[Any]:
    """The one clock, frozen at a known instant; tests move it with ``clock.set_now``."""
    from chalicelib.core import clock as the_clock

    the_clock.set_now(datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc))
    yield the_clock
    the_clock.set_now(None)


@dataclass
class Tenant:
    company_id: str
    api_key: str
    admin_token: str
    staff_token: str
    # The SMTP server its tracking sender account delivers to (None: the company has no account).
    mailbox: MailCatcher | None = None

    def key_headers(self) -> dict[str, str]:
        return {"Authorization": f"ApiKey {self.api_key}", "Content-Type": "application/json"}

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/json"}

    def staff_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.staff_token}", "Content-Type": "application/json"}


def make_tenant(mailbox: MailCatcher | None, *, frequency: int = 1, name: str = "Cargas del Sur") -> Tenant:
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.producers.tracking.monitor import configure_alert
    from chalicelib.tenants.companies import create_company, issue_api_key

    company_id = f"co-{uuid.uuid4().hex[:10]}"
    create_company(company_id, name)
    api_key = issue_api_key(
        company_id, "back office", ["parcels:write", "parcels:read", "clients:write", "clients:read"]
    )
    if mailbox is not None:
        save_sender_account(
            company_id,
            "tracking",
            {
                "kind": "smtp",
                "display_name": f"{name} Avisos",
                "from_address": "avisos@cargasdelsur.example",
                "smtp_host": "127.0.0.1",
                "smtp_port": mailbox.port,
                "encryption": "none",
                "username": SMTP_USER,
                "enabled": True,
            },
        )
        set_sender_password(company_id, "tracking", SMTP_PASSWORD)
    configure_alert(company_id, "tracking", enabled=frequency > 0, frequency_minutes=frequency)
    return Tenant(
        company_id=company_id,
        api_key=api_key,
        admin_token=IDENTITY.mint(company_id, user_id=f"admin@{company_id}", level=1),
        staff_token=IDENTITY.mint(company_id, user_id=f"clerk@{company_id}", level=3, department="ops"),
        mailbox=mailbox,
    )


@pytest.fixture
def tenant(local_aws: dict[str, str], mailbox: MailCatcher, clock: Any) -> Tenant:
    """A company with the default catalog, a working SMTP sender account, alerts every minute."""
    purge_outbox_queue()
    return make_tenant(mailbox)


def purge_outbox_queue() -> None:
    """Start a test with no outbox work left over from another test's tenants."""
    from app import app
    from infrastructure.local.queues import purge_queues

    purge_queues(app)


def deliver_outboxes() -> dict[str, int]:
    """What the outbox workers (``on_sqs_message``) do on AWS: handle every queued SQS message
    with the deployed handler, in this thread, until the queue is empty. Returns the totals."""
    from app import app
    from infrastructure.local.queues import run_queues_until_empty

    totals = {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}
    for answer in run_queues_until_empty(app):
        for name in totals:
            totals[name] += int((answer or {}).get(name, 0))
    return totals


@pytest.fixture
def other_tenant(local_aws: dict[str, str], clock: Any) -> Tenant:
    return make_tenant(None, name="Otra Empresa")


@pytest.fixture(scope="session")
def api(local_aws: dict[str, str]) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="test") as client:
        yield client


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None
