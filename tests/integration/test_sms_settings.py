"""A company's SMS service (C6): an administrator configures SNS or an Android phone's gateway,
switches it off and on without losing anything, sets the two write-only passwords and sends a test
SMS. SNS is moto's server, the gateway a local HTTP server speaking the app's REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.sms import AndroidGateway, assign_sender_ids, sms_sent_through_moto
from tests.steps.tenants import Tenant

GATEWAY_USER, GATEWAY_PASSWORD = "sms", "Zq8-phone-token"
BULK_PASSWORD = "masivos-2026-seguro"
ROUTES = [
    ("GET", "/sms/settings", None),
    ("PUT", "/sms/settings", {"enabled": True}),
    ("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD}),
    ("PUT", "/sms/bulk-password", {"password": BULK_PASSWORD}),
    ("POST", "/sms/test", {"to": "011 15 5987-6543"}),
]


class Admin:
    """The company's administrator at the API, remembering every answer it was given."""

    def __init__(self, api: Client, headers: dict[str, str]) -> None:
        self.api = api
        self.headers = headers
        self.answers: list[str] = []

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        response = self.api.http.request(
            method,
            path,
            headers=self.headers,
            body=json.dumps(payload).encode() if payload is not None else b"",
        )
        self.answers.append(response.body.decode() if response.body else "")
        return response

    def settings(self) -> dict[str, Any]:
        response = self.call("GET", "/sms/settings")
        assert response.status_code == 200, response.body
        return dict(body(response))

    def save(self, **fields: Any) -> Any:
        return self.call("PUT", "/sms/settings", fields)

    def test_send(self, to: str, text: str | None = None) -> Any:
        return self.call("POST", "/sms/test", {"to": to} | ({"text": text} if text is not None else {}))


@pytest.fixture
def admin(api: Client, tenant: Tenant) -> Admin:
    return Admin(api, tenant.admin_headers())


@pytest.fixture
def phone() -> Iterator[AndroidGateway]:
    with AndroidGateway(GATEWAY_USER, GATEWAY_PASSWORD) as gateway:
        yield gateway


def test_a_company_that_never_configured_sms_sees_it_off_with_the_defaults(admin: Admin) -> None:
    assert admin.settings() == {
        "enabled": False,
        "provider": "sns",
        "sender_id": None,
        "sms_type": "Transactional",
        "base_url": None,
        "username": None,
        "masivos_username": None,
        "default_region": "AR",
        "password_set": False,
        "masivos_password_set": False,
        "bulk_password_set": False,
        "ready": False,
        "updated_at": None,
        "inbound_number": None,
        "help_text": None,
        "assigned_sender_ids": [],
        "low_credit_threshold": 100,
        "rate_limit": None,
        "daily_allowance": 500,
        "etag": '"0"',  # never saved (docs/api.md, "Editing safely")
    }
    # And a test send says SMS is not configured
    refused = admin.test_send("011 15 5987-6543")
    assert refused.status_code == 409
    assert "not configured" in body(refused)["message"]


def test_sns_sends_a_test_sms_to_the_number_in_e164(
    admin: Admin, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    # Given SMS switched on through SNS with the sender id Pregón's operator gave the company
    assign_sender_ids(tenant.company_id, "CableSur")
    saved = admin.save(enabled=True, provider="sns", sender_id="CableSur")
    assert saved.status_code == 200, saved.body
    assert body(saved)["ready"] is True

    # When a test SMS goes to a Buenos Aires mobile as people write it
    sent = admin.test_send("011 15 5987-6543", "Prueba de SMS")

    # Then it went out with the number in E.164, and moto received exactly that
    assert sent.status_code == 200, sent.body
    answer = body(sent)
    assert answer["ok"] is True
    assert answer["to"] == "+5491159876543"
    sms = sms_sent_through_moto(local_aws, answer["message_id"])
    assert sms["phone_number"] == "+5491159876543"
    assert sms["message"] == "Prueba de SMS"


def test_switching_sms_off_refuses_sends_and_keeps_the_settings(
    admin: Admin, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    # Given SMS configured and on, with a region, an assigned sender id and a bulk-send password
    assign_sender_ids(tenant.company_id, "CableSur")
    admin.save(
        enabled=True, provider="sns", sender_id="CableSur", sms_type="Promotional", default_region="AR"
    )
    assert admin.call("PUT", "/sms/bulk-password", {"password": BULK_PASSWORD}).status_code == 204
    before = admin.settings()

    # When it is switched off (only the switch is sent)
    off = admin.save(enabled=False)

    # Then every setting is kept
    assert off.status_code == 200
    # (at a new version: a save)
    unsaved = {"updated_at": None, "etag": None}
    assert body(off) | unsaved == before | {"enabled": False, "ready": False, **unsaved}
    # And a client's SMS is refused with a clear message (a test SMS still goes: see below)
    from chalicelib.core.errors import Conflict
    from chalicelib.messaging.accounts.sms import sms_sender

    with pytest.raises(Conflict, match=r"^the SMS service is switched off"):
        sms_sender(tenant.company_id)

    # When it is switched on again, Then it sends with the same settings
    assert body(admin.save(enabled=True))["sender_id"] == "CableSur"
    again = admin.test_send("+54 9 11 5987-6543")
    assert body(again)["ok"] is True
    assert sms_sent_through_moto(local_aws, body(again)["message_id"])["phone_number"] == "+5491159876543"


def test_a_test_sms_checks_the_gateway_before_the_service_is_switched_on(
    admin: Admin, phone: AndroidGateway
) -> None:
    # Given the company's Android phone filled in, with its password, but the service still off
    # (the seed: load the settings, then switch the service on; on, the automatic SMS start at once)
    saved = admin.save(provider="http_gateway", base_url=phone.base_url, username=GATEWAY_USER)
    assert saved.status_code == 200, saved.body
    assert (
        admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD}).status_code == 204
    )

    # When the administrator sends a test SMS
    sent = admin.test_send("(0351) 15 555-1234", "Prueba antes de encender")

    # Then the phone got it, as a disabled e-mail account's test goes out (C3)
    answer = body(sent)
    assert sent.status_code == 200 and answer["ok"] is True, answer
    assert phone.messages[answer["message_id"]]["payload"]["phoneNumbers"] == ["+5493515551234"]
    # And the service is still off
    assert admin.settings()["enabled"] is False and admin.settings()["ready"] is False

    # When the password is one the phone does not know, Then the test says so in the phone's words
    admin.call("PUT", "/sms/settings/gateway-password", {"password": "an-old-token"})
    assert body(admin.test_send("(0351) 15 555-1234")) == {
        "ok": False,
        "error": "401 Unauthorized",
        "to": "+5493515551234",
    }


def test_the_gateway_provider_sends_with_its_write_only_password(admin: Admin, phone: AndroidGateway) -> None:
    # Given the company's Android phone as its SMS gateway, switched on
    saved = admin.save(enabled=True, provider="http_gateway", base_url=phone.base_url, username=GATEWAY_USER)
    assert saved.status_code == 200, saved.body
    assert body(saved)["password_set"] is False
    # Then without its password nothing can be sent yet
    refused = admin.test_send("011 15 5987-6543")
    assert refused.status_code == 409
    assert "password is not set" in body(refused)["message"]

    # When the administrator sets the password
    assert (
        admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD}).status_code == 204
    )
    assert admin.settings()["password_set"] is True
    sent = admin.test_send("(0351) 15 555-1234", "Hola desde el teléfono")

    # Then the phone accepted the Basic-auth login with that password and queued the SMS
    answer = body(sent)
    assert answer["ok"] is True, answer
    assert answer["to"] == "+5493515551234"
    assert phone.messages[answer["message_id"]]["payload"] == {
        "message": "Hola desde el teléfono",
        "phoneNumbers": ["+5493515551234"],
    }

    # When the password changes to one the phone does not know
    admin.call("PUT", "/sms/settings/gateway-password", {"password": "an-old-token"})
    failed = admin.test_send("(0351) 15 555-1234")
    # Then the test answers with the gateway's own words
    assert failed.status_code == 200
    assert body(failed) == {"ok": False, "error": "401 Unauthorized", "to": "+5493515551234"}

    # And no answer ever carried either password
    for answer_text in admin.answers:
        assert GATEWAY_PASSWORD not in answer_text
        assert "an-old-token" not in answer_text


def test_the_gateway_password_is_kms_ciphertext_bound_to_its_company(
    admin: Admin, tenant: Tenant, other_tenant: Tenant
) -> None:
    from botocore.exceptions import ClientError

    from chalicelib.core.secrets import decrypt_secret
    from chalicelib.store.sms import get_sms_settings

    admin.save(provider="http_gateway", base_url="http://127.0.0.1:8080", username=GATEWAY_USER)
    admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
    stored = get_sms_settings(tenant.company_id)
    assert stored is not None and stored.gateway_password_ciphertext is not None
    assert GATEWAY_PASSWORD.encode() not in stored.gateway_password_ciphertext
    assert "gateway_password_ciphertext" not in repr(stored)
    purpose = "sms-gateway-password"
    ciphertext = stored.gateway_password_ciphertext
    mine = {"company_id": tenant.company_id, "purpose": purpose}
    destination = f"http://127.0.0.1:8080 as {GATEWAY_USER}"
    assert decrypt_secret(ciphertext, **mine, destination=destination) == GATEWAY_PASSWORD
    with pytest.raises(ClientError):
        decrypt_secret(
            ciphertext, company_id=other_tenant.company_id, purpose=purpose, destination=destination
        )
    with pytest.raises(ClientError):
        decrypt_secret(ciphertext, company_id=tenant.company_id, purpose="sender-password:all")
    # Nor for another gateway or user: the password is bound to where it goes
    for elsewhere in (f"http://10.0.0.7:8080 as {GATEWAY_USER}", "http://127.0.0.1:8080 as other", None):
        with pytest.raises(ClientError):
            decrypt_secret(ciphertext, **mine, destination=elsewhere)


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("http://169.254.169.254/latest", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.5:8080", "10.0.0.5 is a private address"),
        ("https://[fd00::5]/api", "fd00::5 is a private address"),
        ("http://127.0.0.1:99999", "has an invalid port"),
        # Called as written or not at all (session 35): port 0 was saved and called on port 80,
        # and a # or ? took the paths the channel adds (/message, ...) into the fragment or query.
        ("http://127.0.0.1:0/api", "must name a port from 1 to 65535, or none"),
        ("http://127.0.0.1/api#", "must not have a #fragment"),
        ("http://127.0.0.1/api?key=1", "must not have a ?query"),
        ("http://127.0.0.1/a\x00pi", "must not contain spaces or control characters"),
        ("http://127.0.0.1/a\u009bpi", "must not contain spaces or control characters"),  # C1 CSI
        ("http://127.0.0.1/\u2067ipa", "must not contain spaces or control characters"),  # bidi
    ],
)
def test_a_gateway_on_a_private_address_is_refused_naming_base_url(
    admin: Admin, base_url: str, message: str
) -> None:
    # Given loopback allowed (the local stack's setting)
    # When an administrator sets a gateway URL on a private or link-local address
    refused = admin.save(provider="http_gateway", base_url=base_url, username=GATEWAY_USER)
    # Then it is refused naming base_url, and nothing was saved
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == "base_url" and body(refused)["message"].startswith(
        f"base_url: {message}"
    )
    assert admin.settings()["base_url"] is None


def test_a_loopback_gateway_is_refused_when_the_setting_is_off(
    admin: Admin, phone: AndroidGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the company's gateway on 127.0.0.1, saved while the local stack allowed loopback
    admin.save(enabled=True, provider="http_gateway", base_url=phone.base_url, username=GATEWAY_USER)
    admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
    # When the setting is off, as on AWS
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    # Then saving a loopback URL is refused naming base_url
    refused = admin.save(base_url=phone.base_url.replace("127.0.0.1", "localhost"))
    assert refused.status_code == 422 and body(refused)["field"] == "base_url"
    # And the test SMS is refused before any connection: a short classified error
    answer = body(admin.test_send("011 15 5987-6543"))
    assert answer["ok"] is False and answer["error"].startswith("refused: 127.0.0.1 is a loopback address")
    assert phone.requests == []


def test_pointing_the_gateway_elsewhere_removes_its_password(admin: Admin, phone: AndroidGateway) -> None:
    # Given a second server that would accept the same Basic login (someone else's)
    with AndroidGateway(GATEWAY_USER, GATEWAY_PASSWORD) as elsewhere:
        # Given the gateway password cannot be set before the gateway it is for
        early = admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
        assert early.status_code == 409 and body(early)["field"] == "base_url"
        # Given the company's phone, switched on, with its password
        admin.save(enabled=True, provider="http_gateway", base_url=phone.base_url, username=GATEWAY_USER)
        admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
        assert body(admin.test_send("011 15 5987-6543"))["ok"] is True
        for change in ({"base_url": elsewhere.base_url}, {"username": "otro"}):
            # When an administrator points the gateway at another URL, or another user
            saved = admin.save(**({"base_url": phone.base_url, "username": GATEWAY_USER} | change))
            # Then the password is gone and a test SMS is refused before anything is sent
            assert saved.status_code == 200 and body(saved)["password_set"] is False, change
            refused = admin.test_send("011 15 5987-6543")
            assert refused.status_code == 409 and "password is not set" in body(refused)["message"]
            admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
        # And the other server never received a request, let alone the password
        assert elsewhere.requests == [] and len(phone.messages) == 1
    # And changing anything else keeps the password
    admin.save(base_url=phone.base_url, username=GATEWAY_USER)
    admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
    assert body(admin.save(sms_type="Promotional", enabled=False))["password_set"] is True
    assert body(admin.save(enabled=True))["password_set"] is True


def test_the_bulk_password_is_stored_hashed_and_verified(
    admin: Admin, tenant: Tenant, other_tenant: Tenant, api: Client
) -> None:
    from chalicelib.core.errors import Forbidden
    from chalicelib.messaging.accounts.sms import check_bulk_send, verify_bulk_password
    from chalicelib.store.sms import get_sms_settings

    # Given no bulk-send password yet, Then a bulk send is refused saying one must be set
    with pytest.raises(Forbidden, match="no bulk-send password"):
        verify_bulk_password(tenant.company_id, BULK_PASSWORD)

    # When the administrator sets it
    assert admin.call("PUT", "/sms/bulk-password", {"password": BULK_PASSWORD}).status_code == 204
    assert admin.settings()["bulk_password_set"] is True

    # Then what is stored is a salted scrypt hash, not the password
    stored = get_sms_settings(tenant.company_id)
    assert stored is not None and stored.bulk_password_hash is not None
    assert stored.bulk_password_hash.startswith("scrypt$")
    assert BULK_PASSWORD not in stored.bulk_password_hash
    Admin(api, other_tenant.admin_headers()).call("PUT", "/sms/bulk-password", {"password": BULK_PASSWORD})
    other = get_sms_settings(other_tenant.company_id)
    assert other is not None and other.bulk_password_hash != stored.bulk_password_hash

    # And the right password passes; a wrong or missing one is a 403
    verify_bulk_password(tenant.company_id, BULK_PASSWORD)
    with pytest.raises(Forbidden, match="the bulk-send password is wrong") as wrong:
        verify_bulk_password(tenant.company_id, BULK_PASSWORD + "x")
    assert wrong.value.status == 403
    for missing in (None, ""):
        with pytest.raises(Forbidden, match="required") as refused:
            verify_bulk_password(tenant.company_id, missing)
        assert refused.value.status == 403
    # And one client needs no password, two do
    check_bulk_send(tenant.company_id, 1, None)
    with pytest.raises(Forbidden):
        check_bulk_send(tenant.company_id, 2, None)
    # And no answer carried it
    assert not any(BULK_PASSWORD in answer for answer in admin.answers)


@pytest.mark.parametrize(
    ("method", "path", "payload", "field"),
    [
        ("PUT", "/sms/settings", {"base_url": "ftp://192.168.0.50"}, "base_url"),
        ("PUT", "/sms/settings", {"base_url": "http://"}, "base_url"),
        (
            "PUT",
            "/sms/settings",
            {"base_url": "https://sms:Zq8-secret@api.sms-gate.app/3rdparty/v1"},
            "base_url",
        ),
        ("PUT", "/sms/settings", {"sender_id": "Cable Sur"}, "sender_id"),
        ("PUT", "/sms/settings", {"sender_id": "CableSurSA2026"}, "sender_id"),
        ("PUT", "/sms/settings", {"sender_id": "12345"}, "sender_id"),
        ("PUT", "/sms/settings", {"provider": "carrier-pigeon"}, "provider"),
        ("PUT", "/sms/settings", {"sms_type": "Urgent"}, "sms_type"),
        ("PUT", "/sms/settings", {"default_region": "XX"}, "default_region"),
        ("PUT", "/sms/settings", {"enabled": None}, "enabled"),
        ("PUT", "/sms/settings", {"colour": "red"}, "colour"),
        ("PUT", "/sms/settings", {"enabled": True, "provider": "http_gateway", "username": "u"}, "base_url"),
        ("PUT", "/sms/settings/gateway-password", {"password": ""}, "password"),
        ("PUT", "/sms/bulk-password", {"password": "short"}, "password"),
        ("PUT", "/sms/bulk-password", {}, "password"),
        ("POST", "/sms/test", {}, "to"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(
    admin: Admin, method: str, path: str, payload: dict[str, Any], field: str
) -> None:
    refused = admin.call(method, path, payload)
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == field
    # And nothing was stored
    assert admin.settings()["updated_at"] is None


def test_a_number_that_is_not_a_phone_is_refused_naming_to(admin: Admin) -> None:
    admin.save(enabled=True)
    for to in ("abc", "15 5987-6543", "12"):
        refused = admin.test_send(to)
        assert refused.status_code == 422, (to, refused.body)
        assert body(refused)["field"] == "to"


def test_the_region_reads_local_numbers_of_the_companys_country(
    admin: Admin, local_aws: dict[str, str]
) -> None:
    admin.save(enabled=True, default_region="mx")
    assert admin.settings()["default_region"] == "MX"
    assert body(admin.test_send("55 1234 5678"))["to"] == "+525512345678"


def test_each_company_sees_and_uses_only_its_own_settings(
    admin: Admin, api: Client, tenant: Tenant, other_tenant: Tenant, phone: AndroidGateway
) -> None:
    # Given one company with its gateway configured and on
    admin.save(enabled=True, provider="http_gateway", base_url=phone.base_url, username=GATEWAY_USER)
    admin.call("PUT", "/sms/settings/gateway-password", {"password": GATEWAY_PASSWORD})
    admin.call("PUT", "/sms/bulk-password", {"password": BULK_PASSWORD})

    # When another company's administrator looks and sends
    other = Admin(api, other_tenant.admin_headers())
    # Then it sees its own (empty) settings and cannot send through the first one's phone
    assert other.settings()["provider"] == "sns"
    assert other.settings()["password_set"] is False
    assert other.test_send("011 15 5987-6543").status_code == 409
    assert phone.messages == {}
    # And the first company's bulk password does not open the other's bulk sends
    from chalicelib.core.errors import Forbidden
    from chalicelib.messaging.accounts.sms import verify_bulk_password

    with pytest.raises(Forbidden):
        verify_bulk_password(other_tenant.company_id, BULK_PASSWORD)


@pytest.mark.parametrize(("method", "path", "payload"), ROUTES)
def test_only_administrators_reach_the_sms_settings(
    api: Client, tenant: Tenant, method: str, path: str, payload: Any
) -> None:
    for headers in (tenant.staff_headers(), tenant.key_headers()):
        refused = Admin(api, headers).call(method, path, payload)
        assert refused.status_code == 403, (headers, refused.body)
    assert Admin(api, tenant.admin_headers()).settings()["updated_at"] is None
