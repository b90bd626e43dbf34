"""SMS sender IDs are Pregón's operator's to give (C6, Q7): an SMS through Pregón's SNS account shows
its `sender_id` as the sender, so a company may choose only one the operator assigned it
(`PUT /operator/companies/{id}/sms-sender-ids`), and an SMS carries only an assigned one: one the
operator took back, or one typed before the change, is not sent (the carrier's default shows).
What reaches SNS is read from the Publish call our client makes (moto keeps no attributes)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from infrastructure import ops
from tests.steps.answers import body
from tests.steps.aws import recorded_calls
from tests.steps.operators import operator_headers
from tests.steps.sms import settings_changed_after_every_read, sms_sent_through_moto
from tests.steps.tenants import Tenant

ANA = "011 15 5987-6543"


def assign(api: Client, headers: dict[str, str], company_id: str, sender_ids: list[str]) -> Any:
    return api.http.put(
        f"/operator/companies/{company_id}/sms-sender-ids",
        headers=headers,
        body=json.dumps({"sender_ids": sender_ids}),
    )


def save(api: Client, headers: dict[str, str], **fields: Any) -> Any:
    return api.http.put("/sms/settings", headers=headers, body=json.dumps(fields))


def settings(api: Client, tenant: Tenant) -> dict[str, Any]:
    return dict(body(api.http.get("/sms/settings", headers=tenant.admin_headers())))


def sent_sender_id(api: Client, tenant: Tenant, local_aws: dict[str, str]) -> Any:
    """Send a test SMS to Ana; the sender ID SNS was asked to show (None: none was sent)."""
    with recorded_calls("sns", "Publish") as calls:
        sent = api.http.post("/sms/test", headers=tenant.admin_headers(), body=json.dumps({"to": ANA}))
    answer = body(sent)
    assert sent.status_code == 200 and answer["ok"] is True, sent.body
    assert sms_sent_through_moto(local_aws, answer["message_id"])["phone_number"] == "+5491159876543"
    [publish] = calls
    assert publish["PhoneNumber"] == "+5491159876543"
    sender = publish["MessageAttributes"].get("AWS.SNS.SMS.SenderID")
    return sender["StringValue"] if sender else None


def outbox_sender_id(tenant: Tenant) -> Any:
    """Queue an SMS to Ana through the outbox (as an event message or a manual send is) and deliver
    it as the deployed workers do; the sender ID SNS was asked to show (None: none was sent)."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from tests.steps.outbox import deliver_outboxes

    enqueue(
        tenant.company_id, [OutgoingMessage(channel="sms", to_address="+5491159876543", text="Su factura")]
    )
    with recorded_calls("sns", "Publish") as calls:
        assert deliver_outboxes()["sent"] == 1
    [publish] = calls
    assert (publish["PhoneNumber"], publish["Message"]) == ("+5491159876543", "Su factura")
    sender = publish["MessageAttributes"].get("AWS.SNS.SMS.SenderID")
    return sender["StringValue"] if sender else None


def stored_item(company_id: str) -> dict[str, Any]:
    """The company's SMS settings item as DynamoDB holds it."""
    import boto3

    from chalicelib.store.models import SmsSettingsModel

    item = boto3.client("dynamodb").get_item(
        TableName=SmsSettingsModel.Meta.table_name, Key={"company_id": {"S": company_id}}, ConsistentRead=True
    )
    return dict(item.get("Item", {}))


def test_an_administrator_may_choose_only_a_sender_id_pregons_operator_assigned(
    api: Client,
    tenant: Tenant,
    other_tenant: Tenant,
    operator: str,
    local_aws: dict[str, str],
) -> None:
    admin = tenant.admin_headers()
    # Given Pregón's operator gave the company two sender IDs, checked as its own
    given = assign(
        api, operator_headers(operator), tenant.company_id, ["CableSur", "CSur-Avisos", "CableSur"]
    )
    assert given.status_code == 200, given.body
    assert body(given) == {"company_id": tenant.company_id, "sender_ids": ["CSur-Avisos", "CableSur"]}
    assert settings(api, tenant)["assigned_sender_ids"] == ["CSur-Avisos", "CableSur"]
    # When its administrator names a bank as the sender
    refused = save(api, admin, enabled=True, provider="sns", sender_id="BBVA")
    # Then it is refused naming sender_id, saying the operator assigns them, and nothing is written
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == "sender_id"
    message = "sender_id: BBVA is not a sender ID of this company: Pregón's operator assigns them"
    assert body(refused)["message"] == message
    assert "sender_id" not in stored_item(tenant.company_id)
    assert stored_item(tenant.company_id)["enabled"] == {"BOOL": False}
    # And in Spanish for a caller who reads Spanish
    spanish = save(api, admin | {"Accept-Language": "es-AR"}, sender_id="Cablesur")
    assert spanish.status_code == 422 and body(spanish)["field"] == "sender_id"
    assert body(spanish)["message"] == (
        "sender_id: Cablesur no es un remitente de SMS de esta empresa: los asigna el operador de Pregón"
    )
    # When it chooses one of its own, Then it is saved and the SMS SNS sends carry it
    chosen = save(api, admin, enabled=True, provider="sns", sender_id="CableSur")
    assert chosen.status_code == 200 and body(chosen)["sender_id"] == "CableSur", chosen.body
    assert stored_item(tenant.company_id)["sender_id"] == {"S": "CableSur"}
    assert sent_sender_id(api, tenant, local_aws) == "CableSur"
    # And another company's administrator cannot show it as its sender
    taken = save(api, other_tenant.admin_headers(), enabled=True, sender_id="CableSur")
    assert taken.status_code == 422 and body(taken)["field"] == "sender_id"
    assert settings(api, other_tenant)["sender_id"] is None
    # And clearing it sends with the carrier's default sender
    assert body(save(api, admin, sender_id=None))["sender_id"] is None
    assert sent_sender_id(api, tenant, local_aws) is None


def test_a_sender_id_the_operator_takes_back_is_no_longer_sent(
    api: Client, tenant: Tenant, operator: str, local_aws: dict[str, str]
) -> None:
    # Given a company sending as "CableSur", which the operator gave it
    assert assign(api, operator_headers(operator), tenant.company_id, ["CableSur"]).status_code == 200
    assert save(api, tenant.admin_headers(), enabled=True, sender_id="CableSur").status_code == 200
    assert outbox_sender_id(tenant) == "CableSur"
    # When the operator takes it back
    taken_back = assign(api, operator_headers(operator), tenant.company_id, [])
    assert body(taken_back) == {"company_id": tenant.company_id, "sender_ids": []}
    # Then it is gone from the settings, in the same write, and SMS go out without a sender ID
    assert "sender_id" not in stored_item(tenant.company_id)
    assert "assigned_sender_ids" not in stored_item(tenant.company_id)
    assert settings(api, tenant)["sender_id"] is None
    assert sent_sender_id(api, tenant, local_aws) is None
    assert outbox_sender_id(tenant) is None
    # And the administrator cannot choose it again
    again = save(api, tenant.admin_headers(), sender_id="CableSur")
    assert again.status_code == 422 and body(again)["field"] == "sender_id"


def test_a_sender_id_typed_before_the_operator_assigned_them_is_not_sent_until_assigned(
    api: Client,
    tenant: Tenant,
    operator: str,
    local_aws: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chalicelib.store import sms as store

    # Given a company whose administrator typed "AFIP" as its sender before this change (as the
    # settings item was written then: no assignments beside it)
    assert save(api, tenant.admin_headers(), enabled=True, provider="sns").status_code == 200
    before = store.get_sms_settings(tenant.company_id)
    assert before is not None
    store.save_sms_settings(replace(before, sender_id="AFIP"))
    # When its SMS go out, Then they carry no sender ID: the carrier's default shows, nothing is held
    assert sent_sender_id(api, tenant, local_aws) is None
    assert outbox_sender_id(tenant) is None
    # And the settings still show it, beside no assigned ones, so the administrator sees why
    shown = settings(api, tenant)
    assert (shown["sender_id"], shown["assigned_sender_ids"]) == ("AFIP", [])
    # And saving other settings keeps it as it is (it is not sent either way)
    kept = save(api, tenant.admin_headers(), sender_id="AFIP", help_text="Escriba AYUDA")
    assert kept.status_code == 200 and body(kept)["sender_id"] == "AFIP"
    # When the operator reviews the sender IDs companies chose with the command
    run = ["--target", "env", "--json"]
    capsys.readouterr()  # (the log lines so far)
    assert ops.main([*run, "sms", "sender-ids", "--not-in-use"]) == 0
    review = json.loads(capsys.readouterr().out)["items"]
    # Then this company's is listed as not in use
    assert {
        "company_id": tenant.company_id,
        "sender_id": "AFIP",
        "assigned_sender_ids": [],
        "in_use": False,
    } in (review)
    # When the operator assigns a company the one it had (here, pretending it were its own)
    assert ops.main([*run, "sms", "assign-sender-ids", tenant.company_id, "AFIP"]) == 0
    assert json.loads(capsys.readouterr().out) == {"company_id": tenant.company_id, "sender_ids": ["AFIP"]}
    # Then its SMS carry it again, and it is no longer listed as not in use
    assert sent_sender_id(api, tenant, local_aws) == "AFIP"
    assert ops.main([*run, "sms", "sender-ids", "--not-in-use"]) == 0
    assert tenant.company_id not in capsys.readouterr().out


def test_a_sender_id_taken_back_between_the_check_and_the_write_is_not_written(tenant: Tenant) -> None:
    from chalicelib.messaging.accounts.sms import assign_sender_ids
    from chalicelib.store import sms as store

    # Given the settings an administrator's save read while "CableSur" was assigned
    assign_sender_ids(tenant.company_id, ["CableSur"], by="tests")
    read = store.get_sms_settings(tenant.company_id)
    assert read is not None and read.assigned_sender_ids == ("CableSur",)
    # When the operator takes it back before the save writes
    assign_sender_ids(tenant.company_id, [], by="tests")
    # Then the write is refused by its condition, naming sender_id, and nothing is written
    with pytest.raises(store.NotAssigned) as refused:
        store.save_sms_settings(replace(read, sender_id="CableSur"), newly_chosen=("sender_id",))
    assert refused.value.fields == ["sender_id"]
    assert "sender_id" not in stored_item(tenant.company_id)


def test_a_sender_id_chosen_between_the_operators_read_and_write_is_withdrawn_with_it(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.messaging.accounts.sms import assign_sender_ids
    from chalicelib.store import sms as store

    # Given "CableSur" and "CableNet" assigned, and the company sending as "CableNet"
    assign_sender_ids(tenant.company_id, ["CableSur", "CableNet"], by="tests")
    chosen = store.get_sms_settings(tenant.company_id)
    assert chosen is not None
    store.save_sms_settings(replace(chosen, sender_id="CableNet"), newly_chosen=("sender_id",))
    # When the operator withdraws "CableSur", and an administrator's save choosing it lands right
    # after the operator's first read of the settings (still assigned then)
    reads = []
    real_read = store.get_sms_settings

    def read_then_admin_saves(company_id: str) -> Any:
        current = real_read(company_id)
        reads.append(current)
        if len(reads) == 1:
            assert current is not None and current.sender_id == "CableNet"
            store.save_sms_settings(replace(current, sender_id="CableSur"), newly_chosen=("sender_id",))
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_admin_saves)
    store.assign_sender_ids(tenant.company_id, ["CableNet"], datetime.now(timezone.utc), "AR")
    # Then the operator's write saw the change, read again and took the withdrawn choice away too
    assert len(reads) == 2
    item = stored_item(tenant.company_id)
    assert "sender_id" not in item
    assert item["assigned_sender_ids"] == {"SS": ["CableNet"]}


def test_an_assignment_whose_settings_keep_changing_names_the_sender_ids_it_was_sent(
    api: Client, tenant: Tenant, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = operator_headers(operator)
    # Given a company with two sender IDs, sending as the first
    assert assign(api, headers, tenant.company_id, ["CableSur", "CableNet"]).status_code == 200
    assert save(api, tenant.admin_headers(), sender_id="CableSur").status_code == 200
    # And its administrator switching between them every time the operator's assignment reads them
    shown = ["CableSur"]

    def switch() -> None:
        shown[0] = "CableNet" if shown[0] == "CableSur" else "CableSur"
        assert save(api, tenant.admin_headers(), sender_id=shown[0]).status_code == 200

    changes = settings_changed_after_every_read(monkeypatch, tenant.company_id, switch)
    # When the operator gives it a third sender ID beside them
    refused = assign(
        api, headers | {"Accept-Language": "es-AR"}, tenant.company_id, ["CableSur", "CableNet", "CSur"]
    )
    monkeypatch.undo()
    # Then, its tries spent, it is a 409 naming the field the operator sent: sender_ids (in Spanish)
    assert changes[0] >= 2
    assert refused.status_code == 409, refused.body
    assert body(refused)["field"] == "sender_ids"
    assert (
        body(refused)["message"] == "la configuración de SMS de la empresa siguió cambiando: intente de nuevo"
    )
    # And nothing of it was written: the company has its two sender IDs
    assert sorted(stored_item(tenant.company_id)["assigned_sender_ids"]["SS"]) == ["CableNet", "CableSur"]


def test_only_the_operator_assigns_sender_ids(
    api: Client, tenant: Tenant, other_tenant: Tenant, operator: str
) -> None:
    path_body = (tenant.company_id, ["CableSur"])
    # A company's administrator (its own or another company's) and its API key are refused
    for headers in (tenant.admin_headers(), other_tenant.admin_headers(), tenant.key_headers()):
        refused = assign(api, headers, *path_body)
        assert refused.status_code == 403, (headers, refused.body)
    # And so is a call with no credentials
    assert assign(api, {"Content-Type": "application/json"}, *path_body).status_code in (401, 403)
    assert settings(api, tenant)["assigned_sender_ids"] == []
    # And the operator token reaches no company route: it cannot choose a company's sender either
    assert save(api, operator_headers(operator), sender_id="CableSur").status_code == 403
    assert save(api, {"Content-Type": "application/json"}, sender_id="CableSur").status_code in (401, 403)
    # The operator: a bad sender ID is refused naming it, an unknown company is a 404
    bad = assign(api, operator_headers(operator), tenant.company_id, ["Cable", "Cable Sur", "12345"])
    assert bad.status_code == 422, bad.body
    assert [e["field"] for e in body(bad)["errors"]] == ["sender_ids[1]", "sender_ids[2]"]
    assert assign(api, operator_headers(operator), "no-such-company", ["CableSur"]).status_code == 404
    assert assign(api, operator_headers(operator), *path_body).status_code == 200
    assert settings(api, tenant)["assigned_sender_ids"] == ["CableSur"]


def test_an_unassigned_sender_id_is_warned_about_once_an_hour_per_company_not_at_every_sms(
    api: Client,
    tenant: Tenant,
    clock: Any,
    local_aws: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from datetime import timedelta

    from chalicelib.store import sms as store

    # Given a company whose administrator typed "AFIP" before sender IDs were the operator's to give
    assert save(api, tenant.admin_headers(), enabled=True, provider="sns").status_code == 200
    before = store.get_sms_settings(tenant.company_id)
    assert before is not None
    store.save_sms_settings(replace(before, sender_id="AFIP"))

    def warnings() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.levelno == logging.WARNING
            and r.getMessage().startswith("SMS sent without its sender ID")
            and getattr(r, "company_id", None) == tenant.company_id
        ]

    # When it sends four SMS within the hour (test SMS and SMS through the outbox)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert sent_sender_id(api, tenant, local_aws) is None
        clock.set_now(clock.now() + timedelta(minutes=59))
        assert outbox_sender_id(tenant) is None
        assert sent_sender_id(api, tenant, local_aws) is None
    # Then every SMS went without the name, and one warning names the company and the name
    [warning] = warnings()
    assert (getattr(warning, "sender_id", None), getattr(warning, "logged_once_every_minutes", None)) == (
        "AFIP",
        60,
    )
    # When an hour has passed since that warning, Then the next SMS warns again, once
    clock.set_now(clock.now() + timedelta(minutes=2))
    with caplog.at_level(logging.WARNING):
        assert sent_sender_id(api, tenant, local_aws) is None
        assert sent_sender_id(api, tenant, local_aws) is None
    assert len(warnings()) == 2


def test_the_command_refuses_more_sender_ids_than_the_api_takes_naming_the_field(
    api: Client, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 21 sender IDs (the API takes at most 20)
    sender_ids = [f"Marca{n:02d}" for n in range(21)]
    capsys.readouterr()
    # When the operator gives them all to a company with the command
    status = ops.main(["--target", "env", "sms", "assign-sender-ids", tenant.company_id, *sender_ids])
    # Then it is refused as the API refuses it, naming the field, and nothing is written
    assert status == 2
    assert "refused (422): sender_ids: " in capsys.readouterr().err
    assert settings(api, tenant)["assigned_sender_ids"] == []
