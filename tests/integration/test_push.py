"""Push (C7): an administrator names the company's SNS platform applications, the company's systems
register their clients' devices (SNS platform endpoints in moto), and a push sent to a client
reaches its device through the outbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.aws import ACCOUNT_ID, access_denied, aws_answering, moto_received
from tests.steps.clients import put_client
from tests.steps.outbox import deliver_outboxes
from tests.steps.push import push_platform_application, register_device, set_push, sns
from tests.steps.ses_events import logged_lines
from tests.steps.tenants import Tenant


def pushes_received(local_aws: dict[str, str], endpoint_arn: str) -> list[dict[str, Any]]:
    """What moto's SNS recorded as published to one platform endpoint."""
    endpoints = moto_received("sns", "PlatformEndpoint")
    [endpoint] = [e for e in endpoints if e["arn"] == endpoint_arn]
    return [json.loads(m) for m in endpoint["messages"].values()]


@pytest.fixture
def fcm(api: Client, tenant: Tenant) -> str:
    arn = push_platform_application(tenant.company_id, "GCM")
    assert set_push(api, tenant, fcm_application_arn=arn).status_code == 200
    return arn


def test_only_an_administrator_sets_push_and_each_arn_must_be_an_sns_application_of_its_platform(
    api: Client, tenant: Tenant
) -> None:
    gcm, apns = (
        push_platform_application(tenant.company_id, "GCM"),
        push_platform_application(tenant.company_id, "APNS"),
    )
    # Staff below level 1 may not
    staff = api.http.put("/push/settings", headers=tenant.staff_headers(), body=json.dumps({}))
    assert staff.status_code == 403
    # An iOS application given as the Android one, and an application SNS does not know, are refused
    wrong = set_push(
        api,
        tenant,
        fcm_application_arn=apns,
        apns_application_arn=apns.replace(apns.rsplit("/", 1)[-1], "does-not-exist"),
    )
    assert wrong.status_code == 422
    assert [e["field"] for e in body(wrong)["errors"]] == ["fcm_application_arn", "apns_application_arn"]
    assert body(api.http.get("/push/settings", headers=tenant.admin_headers()))["fcm_application_arn"] is None
    # An application SNS will not show us: the answer names SNS's code, not our account or role
    denied = access_denied("SNS:GetPlatformApplicationAttributes", gcm)
    with (
        logged_lines() as lines,
        aws_answering("sns", "GetPlatformApplicationAttributes", "AuthorizationError", denied),
    ):
        refused = set_push(api, tenant, fcm_application_arn=gcm)
    assert refused.status_code == 422 and body(refused)["field"] == "fcm_application_arn"
    said = body(refused)["errors"][0]["message"]
    assert said.startswith("SNS does not know this application: AuthorizationError: ")
    assert "is not authorized to perform: SNS:GetPlatformApplicationAttributes" in said
    assert ACCOUNT_ID not in refused.body.decode() and "arn:" not in said and "pregon-prod" not in said
    # (the whole answer is in the log, for operators)
    assert any(line.get("aws_error", "").endswith(denied) for line in lines)
    # The right ones are kept
    saved = set_push(api, tenant, fcm_application_arn=gcm, apns_application_arn=apns)
    assert saved.status_code == 200, saved.body
    shown = body(api.http.get("/push/settings", headers=tenant.admin_headers()))
    assert (shown["fcm_application_arn"], shown["apns_application_arn"]) == (gcm, apns)


def test_another_companys_application_cannot_be_used(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Given applications in SNS created for another company, and one named for no company
    theirs_fcm = push_platform_application(other_tenant.company_id, "GCM")
    theirs_apns = push_platform_application(other_tenant.company_id, "APNS", name=other_tenant.company_id)
    anyones = push_platform_application(tenant.company_id, "GCM", name=f"shared-{uuid.uuid4().hex[:8]}")
    # Given the other company's name with ours as its prefix does not make it ours either
    lookalike = push_platform_application(tenant.company_id, "GCM", name=f"{tenant.company_id}-x_app")
    # When this company's administrator names them as its own
    for fcm_arn, apns_arn in ((theirs_fcm, theirs_apns), (anyones, None), (lookalike, None)):
        refused = set_push(api, tenant, fcm_application_arn=fcm_arn, apns_application_arn=apns_arn)
        # Then each is refused naming the field, and nothing is saved
        assert refused.status_code == 422, refused.body
        fields = [e["field"] for e in body(refused)["errors"]]
        assert fields == ["fcm_application_arn", "apns_application_arn"][: 1 if apns_arn is None else 2]
        assert "is not an application created for this company" in body(refused)["message"]
    assert body(api.http.get("/push/settings", headers=tenant.admin_headers()))["fcm_application_arn"] is None
    # And the other company can use its own
    mine = set_push(api, other_tenant, fcm_application_arn=theirs_fcm, apns_application_arn=theirs_apns)
    assert mine.status_code == 200, mine.body


def test_a_stored_application_of_another_company_is_not_used(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from chalicelib.core import clock
    from chalicelib.core.domain import PushSettings
    from chalicelib.store.push import save_push_settings

    # Given settings saved before applications were checked, naming another company's application
    theirs = push_platform_application(other_tenant.company_id, "GCM")
    save_push_settings(PushSettings(tenant.company_id, theirs, None, updated_at=clock.now(), updated_by="x"))
    put_client(api, tenant, "CLI-1", emails=[], phones=[])
    # When a device is registered, Then it is refused as not set up, and no endpoint is created on it
    refused = register_device(api, tenant, "CLI-1", "fcm-token-1")
    assert refused.status_code == 409 and body(refused)["field"] == "platform"
    endpoints = sns().list_endpoints_by_platform_application(PlatformApplicationArn=theirs)["Endpoints"]
    assert endpoints == []


def test_a_registered_device_is_an_sns_endpoint_and_a_push_to_the_client_reaches_it(
    api: Client, tenant: Tenant, fcm: str, local_aws: dict[str, str]
) -> None:
    # Given a client whose app registered its device
    put_client(api, tenant, "CLI-1", name="Ferretería Los Andes", emails=[], phones=[])
    first = register_device(api, tenant, "CLI-1", "fcm-token-abc")
    assert first.status_code == 201, first.body
    device = body(first)
    endpoint = sns().get_endpoint_attributes(EndpointArn=device["endpoint_arn"])["Attributes"]
    assert endpoint["Token"] == "fcm-token-abc"
    assert device["endpoint_arn"].startswith(fcm.replace(":app/", ":endpoint/"))
    # Registering the same token again answers the same device
    again = register_device(api, tenant, "CLI-1", "fcm-token-abc")
    assert again.status_code == 200 and body(again)["device_id"] == device["device_id"]
    listed = body(api.http.get("/clients/CLI-1/devices", headers=tenant.key_headers()))["items"]
    assert [d["device_id"] for d in listed] == [device["device_id"]]

    # When staff push a custom template to that client
    text = "Hola {{ client.name }}, mañana {{ hora }}."
    template = {"subject": "Corte programado", "text": text, "html": "-"}
    saved = api.http.put("/templates/custom:corte", headers=tenant.admin_headers(), body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    sent = api.http.post(
        "/sends",
        headers=tenant.staff_headers(),
        body=json.dumps(
            {
                "channel": "push",
                "template": "custom:corte",
                "client_ids": ["CLI-1"],
                "variables": {"hora": "9 h"},
            }
        ),
    )
    assert sent.status_code == 201, sent.body
    [message] = body(sent)["messages"]
    assert message["state"] == "queued" and message["to_address"] == device["endpoint_arn"]
    totals = deliver_outboxes()

    # Then SNS got one push for that endpoint with the title and the rendered body, per platform
    assert totals["sent"] == 1
    [push] = pushes_received(local_aws, device["endpoint_arn"])
    fcm_message = json.loads(push["GCM"])["fcmV1Message"]["message"]
    assert fcm_message["notification"] == {
        "title": "Corte programado",
        "body": "Hola Ferretería Los Andes, mañana 9 h.",
    }
    assert push["default"] == "Hola Ferretería Los Andes, mañana 9 h."


def test_a_push_send_carries_the_templates_own_push_title_and_body(
    api: Client, tenant: Tenant, fcm: str, local_aws: dict[str, str]
) -> None:
    # Given a client whose app registered its device
    put_client(api, tenant, "CLI-1", name="Ana Pérez", emails=[], phones=[])
    device = body(register_device(api, tenant, "CLI-1", "fcm-token-push-texts"))
    # And a template with an e-mail and its own push title and body (seed 002's "Agregar push")
    template = {
        "subject": "Aviso de {{ company.name }}",
        "text": "Un texto largo para el correo, {{ client.name }}.",
        "html": "<p>Un texto largo para el correo.</p>",
        "push_title": "Corte programado",
        "push_body": "Hola %nombre%: mañana hay corte. %empresa%",
    }
    saved = api.http.put("/templates/custom:corte", headers=tenant.admin_headers(), body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    # When staff push it to the client
    sent = api.http.post(
        "/sends",
        headers=tenant.staff_headers(),
        body=json.dumps({"channel": "push", "template": "custom:corte", "client_ids": ["CLI-1"]}),
    )
    assert sent.status_code == 201, sent.body
    assert deliver_outboxes()["sent"] == 1
    # Then the device gets the template's push title and body, filled in
    [push] = pushes_received(local_aws, device["endpoint_arn"])
    fcm_message = json.loads(push["GCM"])["fcmV1Message"]["message"]
    assert fcm_message["notification"] == {
        "title": "Corte programado",
        "body": "Hola Ana Pérez: mañana hay corte. Cargas del Sur",
    }


def test_devices_need_a_known_client_and_a_configured_platform_and_stay_in_their_company(
    api: Client, tenant: Tenant, other_tenant: Tenant, fcm: str
) -> None:
    put_client(api, tenant, "CLI-1", emails=[], phones=[])
    # A client that does not exist, a platform with no application, a bad token: refused, nothing kept
    assert register_device(api, tenant, "NOBODY", "tok-1").status_code == 404
    no_apns = register_device(api, tenant, "CLI-1", "tok-1", platform="apns")
    assert no_apns.status_code == 409 and body(no_apns)["field"] == "platform"
    bad = register_device(api, tenant, "CLI-1", "has spaces in it")
    assert bad.status_code == 422 and body(bad)["field"] == "token"
    unknown_platform = register_device(api, tenant, "CLI-1", "tok-1", platform="blackberry")
    assert unknown_platform.status_code == 422 and body(unknown_platform)["field"] == "platform"
    assert body(api.http.get("/clients/CLI-1/devices", headers=tenant.key_headers()))["items"] == []

    # Given a registered device, another company sees neither the client nor its device
    device = body(register_device(api, tenant, "CLI-1", "tok-2"))
    # The same token for another client: SNS's refusal is told without the endpoint's ARN (ours)
    put_client(api, tenant, "CLI-2", emails=[], phones=[])
    taken = register_device(api, tenant, "CLI-2", "tok-2")
    assert taken.status_code == 422 and body(taken)["field"] == "token"
    said = body(taken)["errors"][0]["message"]
    assert said.startswith("SNS refused the token: InvalidParameter: ")
    assert "already exists with the same Token" in said
    assert ACCOUNT_ID not in taken.body.decode() and "arn:" not in taken.body.decode()
    path = f"/clients/CLI-1/devices/{device['device_id']}"
    assert api.http.get("/clients/CLI-1/devices", headers=other_tenant.key_headers()).status_code == 404
    assert api.http.delete(path, headers=other_tenant.key_headers()).status_code == 404

    # When its own company unregisters it, the SNS endpoint is gone too
    assert api.http.delete(path, headers=tenant.key_headers()).status_code == 204
    assert body(api.http.get("/clients/CLI-1/devices", headers=tenant.key_headers()))["items"] == []
    with pytest.raises(sns().exceptions.NotFoundException):
        sns().get_endpoint_attributes(EndpointArn=device["endpoint_arn"])
    assert api.http.delete(path, headers=tenant.key_headers()).status_code == 404
