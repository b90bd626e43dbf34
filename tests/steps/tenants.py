"""A company as tests need it: its API key, an administrator's and a clerk's tokens, and a
sender account on the test's SMTP server."""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infrastructure.local.identity import LocalIdentity
from infrastructure.local.mailcatcher import MailCatcher

if TYPE_CHECKING:
    from chalicelib.channels.base import OutgoingChannelMessage
    from chalicelib.channels.smtp import SmtpChannel

SMTP_USER, SMTP_PASSWORD = "carrier-mailer", "s3cret-smtp-password"
IDENTITY = LocalIdentity()

# Every company the tests made, in order: each test takes its own out of the shared schedules
# when it ends (``retire_companies``, from the autouse fixture in ``tests/conftest.py``).
MADE: list[str] = []


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


def smtp_sender_account(
    company_id: str, area: str, mailbox: MailCatcher, display_name: str, from_address: str
) -> None:
    """An administrator sets up the area's sender account on the test's SMTP server, with its
    login (no TLS: the server is local)."""
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password

    save_sender_account(
        company_id,
        area,
        {
            "kind": "smtp",
            "display_name": display_name,
            "from_address": from_address,
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "encryption": "none",
            "username": SMTP_USER,
            "enabled": True,
        },
    )
    set_sender_password(company_id, area, SMTP_PASSWORD)


def staff_user(company_id: str, user_id: str, email: str, level: int = 4) -> None:
    """An administrator puts the user in the company's staff directory with their e-mail address:
    the From their own sender account speaks as (C5)."""
    from chalicelib.tenants.staff import UserFields, save_user

    save_user(company_id, user_id, UserFields(email=email, level=level))


def named_user(company_id: str, user_id: str, name: str, level: int = 3) -> None:
    """An administrator gives a user their name in the company's staff directory: what the console
    and the API's ``*_name`` fields show of them instead of their user id."""
    from chalicelib.store.staff import get_user
    from chalicelib.tenants.staff import UserFields, save_user

    known = get_user(company_id, user_id) is not None  # seen at sign-in: its level stays
    save_user(company_id, user_id, UserFields(name=name, level=None if known else level))


def staff_user_saved_before_addresses_were_checked(
    company_id: str, user_id: str, email: str, level: int
) -> None:
    """A user whose e-mail field the directory took as free text (before Pregón checked it was one
    plain address): written as such a save wrote it."""
    from chalicelib.core import clock
    from chalicelib.core.domain import StaffUser
    from chalicelib.store import staff as store

    store.save_user(
        StaffUser(company_id=company_id, user_id=user_id, level=level, email=email, source="directory"),
        clock.now(),
    )


def personal_sender_account(api: Any, headers: dict[str, str], user_id: str, mailbox: MailCatcher) -> str:
    """A user's own sender account (C5) saved through the API on the test's SMTP server, from
    clara@cargasdelsur.example, its password not set yet; returns the account's API path."""
    from urllib.parse import quote

    path = f"/users/{quote(user_id)}/sender-account"
    account = {
        "display_name": "Clara",
        "from_address": "clara@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "encryption": "none",
        "username": SMTP_USER,
    }
    saved = api.http.put(path, headers=headers, body=json.dumps(account).encode())
    assert saved.status_code == 200, saved.body
    return path


def set_zone(api: Any, tenant: Tenant, time_zone: str, locale: str) -> Any:
    """The company's administrator sets where the company is (PATCH /company): its settings."""
    saved = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": time_zone, "locale": locale}),
    )
    assert saved.status_code == 200, saved.body
    return json.loads(saved.body)


def make_tenant(
    mailbox: MailCatcher | None, *, frequency: int = 1, name: str = "Cargas del Sur", id_length: int = 13
) -> Tenant:
    """A new company (its id ``co-`` and ``id_length`` - 3 random characters, 40 at most)."""
    from chalicelib.producers.tracking.monitor import configure_alert
    from chalicelib.tenants.companies import create_company, issue_api_key

    company_id = f"co-{uuid.uuid4().hex}{uuid.uuid4().hex}"[:id_length]
    create_company(company_id, name)
    MADE.append(company_id)
    api_key = issue_api_key(
        company_id, "back office", ["parcels:write", "parcels:read", "clients:write", "clients:read"]
    )
    if mailbox is not None:
        smtp_sender_account(company_id, "tracking", mailbox, f"{name} Avisos", "avisos@cargasdelsur.example")
    configure_alert(company_id, "tracking", enabled=frequency > 0, frequency_minutes=frequency)
    return Tenant(
        company_id=company_id,
        api_key=api_key,
        admin_token=IDENTITY.mint(company_id, user_id=f"admin@{company_id}", level=1),
        staff_token=IDENTITY.mint(company_id, user_id=f"clerk@{company_id}", level=3, department="ops"),
        mailbox=mailbox,
    )


def purge_outbox_queue() -> None:
    """Start a test with no outbox work left over from another test's tenants: the app's queues
    holding a message a receive would get are emptied (received and deleted, as SQS would). Which
    do is read from moto's own record of its queues in this process (the tests' moto server runs
    in each worker, as ``moto_received`` reads it): asking every queue over HTTP was ten requests
    before each test with a tenant, nearly always answered with nothing."""
    from app import app
    from infrastructure.local.queues import consumers, purge_queues

    if any(holds_deliverable(consumer.queue) for consumer in consumers(app)):
        purge_queues(app)


def holds_deliverable(queue: str) -> bool:
    """Whether moto's queue ``queue`` holds a message a receive would get now (visible, not
    delayed: what ``Queue.messages`` lists); False for a queue moto does not have."""
    import os

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sqs.models import sqs_backends

    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    found = sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.get(queue)
    return found is not None and bool(found.messages)


def retire_companies(company_ids: list[str]) -> None:
    """The companies leave every schedule shared by all companies, as a company that stopped
    using Pregón would: the tracking and reminder runs (``due-alerts``), the outbox wake-ups,
    hand-off records, job pages and agent changes (``wakeups``), and the mailbox syncs
    (``mailbox-syncs``). Their data stays. Without this, every later test that runs a schedule
    for all companies (as the minute schedule does) would also run it for the hundreds of
    companies earlier tests made, all due under the tests' frozen clock. Likewise the daily SMS
    credit check (``credit-checks``), which would ask a later test's SMS Masivos for them.

    What it costs: the items whose keys are known (a company's one SMS settings item, its alert
    schedules: one per alert type, as nothing else puts a schedule in ``due-alerts``) are read in
    one BatchGetItem for all the companies; the outboxes and mailboxes, whose keys are not, are
    Queried per company; only the items found in an index are written."""
    if not company_ids:  # most tests, and every one without the local stack (unit, e2e)
        return
    from chalicelib.core.aws import client
    from chalicelib.store.models import AlertScheduleModel, MailboxModel, OutboxModel, SmsSettingsModel
    from chalicelib.tenants.defaults import ALERT_TYPES

    dynamodb = client("dynamodb")  # the process's one: a new client costs ~40 ms of CPU, every test
    for table, key in _in_schedules_by_key(dynamodb, company_ids, ALERT_TYPES):
        known = SmsSettingsModel if table == SmsSettingsModel.Meta.table_name else AlertScheduleModel
        _leave_schedule(dynamodb, table, key, _index_keys(known))
    for model in (OutboxModel, MailboxModel):
        table = model.Meta.table_name
        keys = {k["KeyType"]: k["AttributeName"] for k in model._get_schema()["key_schema"]}
        names = _index_keys(model)
        for company_id in company_ids:
            pages = dynamodb.get_paginator("query").paginate(
                TableName=table,
                KeyConditionExpression="#k0 = :c",
                FilterExpression="attribute_exists(#i0)",  # an item without it is in no schedule
                ProjectionExpression="#k0, #k1",
                ExpressionAttributeNames={"#k0": keys["HASH"], "#k1": keys["RANGE"], "#i0": names["#i0"]},
                ExpressionAttributeValues={":c": {"S": company_id}},
            )
            for key in (item for page in pages for item in page["Items"]):
                _leave_schedule(dynamodb, table, key, names)


def _index_keys(model: Any) -> dict[str, str]:
    """The attributes that put an item of ``model`` in its one sparse schedule index (its keys),
    as expression names ``#i0``, ``#i1``."""
    [index] = [i for i in model._indexes.values() if i.Meta.index_name in SCHEDULE_INDEXES]
    return {f"#i{n}": k["AttributeName"] for n, k in enumerate(index._get_schema()["key_schema"])}


# The indexes every company shares a schedule through (and ``credit-checks``: the daily SMS check).
SCHEDULE_INDEXES = ("due-alerts", "wakeups", "mailbox-syncs", "credit-checks")


def _in_schedules_by_key(dynamodb: Any, company_ids: list[str], alert_types: tuple[str, ...]) -> list[Any]:
    """The companies' SMS settings and alert schedules that are in their schedule index, as
    ``(table, key)``: one BatchGetItem for up to 100 keys (again for what it leaves unprocessed)."""
    from chalicelib.store.models import AlertScheduleModel, SmsSettingsModel

    sms, alerts = SmsSettingsModel.Meta.table_name, AlertScheduleModel.Meta.table_name
    keys = [(sms, {"company_id": {"S": c}}) for c in company_ids] + [
        (alerts, {"company_id": {"S": c}, "alert_type": {"S": t}}) for c in company_ids for t in alert_types
    ]
    wanted = {
        sms: ("company_id, #i0", {"#i0": _index_keys(SmsSettingsModel)["#i0"]}),
        alerts: ("company_id, alert_type, #i0", {"#i0": _index_keys(AlertScheduleModel)["#i0"]}),
    }
    found: list[Any] = []
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {}
        for table, key in keys[start : start + 100]:
            projection, names = wanted[table]
            entry = request.setdefault(
                table, {"Keys": [], "ProjectionExpression": projection, "ExpressionAttributeNames": names}
            )
            entry["Keys"].append(key)
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for table, items in answer["Responses"].items():
                index_key = wanted[table][1]["#i0"]
                found += [
                    (table, {k: v for k, v in item.items() if k != index_key})
                    for item in items
                    if index_key in item
                ]
            request = answer.get("UnprocessedKeys") or {}
    return found


def _leave_schedule(dynamodb: Any, table: str, key: dict[str, Any], names: dict[str, str]) -> None:
    """The item leaves its schedule index: its index keys removed, nothing else (and no item made
    where there is none any more)."""
    with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="REMOVE " + ", ".join(names),
            ConditionExpression="attribute_exists(#i0)",
            ExpressionAttributeNames=names,
        )


def local_smtp_channel(port: int, *, login: bool = True, host: str = "127.0.0.1") -> SmtpChannel:
    """The outbox's SMTP channel for a company's account on the server at ``127.0.0.1:port``
    (no TLS; ``host`` names it otherwise), logging in as the test's SMTP user unless ``login`` is
    False. The caller allows loopback destinations (``PREGON_ALLOW_LOOPBACK_DESTINATIONS``)."""
    from datetime import UTC, datetime

    from chalicelib.channels.smtp import SmtpChannel
    from chalicelib.core.domain import SenderAccount

    account = SenderAccount(
        company_id="c-smtp",
        area="all",
        kind="smtp",
        display_name="Cargas del Sur",
        from_address="avisos@cargasdelsur.example",
        enabled=True,
        updated_at=datetime.now(UTC),
        smtp_host=host,
        smtp_port=port,
        encryption="none",
        username=SMTP_USER if login else None,
    )
    return SmtpChannel(account, lambda: SMTP_PASSWORD if login else None)


def tracking_alert() -> OutgoingChannelMessage:
    """One tracking alert as the outbox hands it to a channel (``channel.prepare(...)``)."""
    from chalicelib.channels.base import OutgoingChannelMessage

    return OutgoingChannelMessage(
        to_address="ana@example.com",
        to_name="Ana García",
        subject="Su envío CDS-1 está en camino",
        text="Su envío CDS-1 está en camino.\n",
        message_id="<alert-1@cargasdelsur.example>",
    )
