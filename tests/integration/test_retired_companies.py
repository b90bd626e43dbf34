"""The tests' own clean-up (``tests/steps/tenants.retire_companies``): a test's companies leave
every schedule shared by all companies when it ends, their data kept; and a test with a tenant
starts with no queued work of an earlier test (``purge_outbox_queue``)."""

from __future__ import annotations

from typing import Any

from tests.steps.tenants import Tenant, holds_deliverable, make_tenant, purge_outbox_queue, retire_companies


def test_a_retired_company_is_in_no_shared_schedule_and_keeps_its_data(tenant: Tenant, clock: Any) -> None:
    from chalicelib.core.aws import client
    from chalicelib.store.models import AlertScheduleModel, MailboxModel, OutboxModel, SmsSettingsModel

    dynamodb = client("dynamodb")
    # Given two companies, each in every shared schedule: alerts due (both alert types), outbox
    # wake-ups (more than one), a mailbox sync and the SMS credit check
    other = make_tenant(None, name="Otra Empresa")
    at = {"S": "2026-11-02T12:00:00Z"}
    scheduled: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {
        AlertScheduleModel.Meta.table_name: [
            ({"alert_type": {"S": t}}, {"due_alert_type": {"S": t}, "next_run_at": at})
            for t in ("tracking", "reminders")
        ],
        OutboxModel.Meta.table_name: [
            ({"outbox_key": {"S": k}}, {"wake_shard": {"S": "0"}, "wake_at": at})
            for k in ("email#tracking", "sendjob#j1#0")
        ],
        MailboxModel.Meta.table_name: [
            ({"mailbox_id": {"S": "mb-1"}}, {"sync_shard": {"S": "0"}, "next_sync_at": at})
        ],
        SmsSettingsModel.Meta.table_name: [({}, {"credit_watch": {"S": "sms_masivos"}})],
    }
    for company in (tenant, other):
        for table, items in scheduled.items():
            for key, index in items:
                item = {"company_id": {"S": company.company_id}, **key, **index, "kept": {"S": "data"}}
                dynamodb.put_item(TableName=table, Item=item)
    # When the test's companies retire
    retire_companies([tenant.company_id, other.company_id])
    # Then no item of theirs is in a schedule any more, and every item is still there
    for company in (tenant, other):
        for table, items in scheduled.items():
            for key, index in items:
                full_key = {"company_id": {"S": company.company_id}, **key}
                item = dynamodb.get_item(TableName=table, Key=full_key, ConsistentRead=True)["Item"]
                assert item["kept"] == {"S": "data"}, (table, key)
                assert not set(index) & set(item), (table, key, item)


def test_a_message_left_on_any_queue_is_gone_when_the_next_test_starts(tenant: Tenant) -> None:
    import boto3

    from app import app
    from infrastructure.local.queues import consumers

    # Given the app's queues, empty as a test with a tenant starts, as moto's record of them says
    queues = [consumer.queue for consumer in consumers(app)]
    assert len(queues) >= 6 and not any(holds_deliverable(queue) for queue in queues)
    # When an earlier test left a message on each of them
    sqs = boto3.client("sqs")
    urls = [sqs.get_queue_url(QueueName=queue)["QueueUrl"] for queue in queues]
    for url in urls:
        sqs.send_message(QueueUrl=url, MessageBody="{}")
    assert all(holds_deliverable(queue) for queue in queues)  # (the check reads moto's queues, not others)
    # Then the next test's purge leaves none that a receive would get
    purge_outbox_queue()
    assert [sqs.receive_message(QueueUrl=url).get("Messages", []) for url in urls] == [[]] * len(urls)
