"""H3 for Microsoft 365: a staff mailbox read with the company's Entra app (OAuth2 client
credentials, SASL XOAUTH2), against a real dovecot taking bearer tokens and a local Microsoft
sign-in service (``tests/steps/imap.py``: ``exchange_online``), the deployment's settings pointed at
them as on AWS they point at Microsoft."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.imap import ExchangeOnline
from tests.steps.mailboxes import filed_mail, logged, monitor, register_seen, run_syncs
from tests.steps.tenants import IDENTITY, Tenant

ANA = "ana@estudio.example"
TENANT_ID = "7d1c3a52-9b0e-4f3e-8a41-2c6f0b9e5d17"  # the company's directory (tenant) id
CLIENT_ID = "3f6e9a10-84c2-4b7d-9e05-a1b2c3d4e5f6"  # its Entra app's application (client) id
SECRET = "Qx8~estudio.app-secret_Zr41vKq"  # its client secret's value


def staff(tenant: Tenant, user: str = ANA, level: int = 3) -> dict[str, str]:
    token = IDENTITY.mint(tenant.company_id, user_id=user, level=level)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def clients_mail_in_anas_mailbox(
    api: Client, tenant: Tenant, exchange_online: ExchangeOnline, *mail: Any
) -> None:
    """The client Talleres Ríos (CLI-3), ``mail`` in Ana's inbox on Exchange Online, and the
    company's Entra app given access to her mailbox."""
    from tests.steps.clients import put_client

    put_client(api, tenant, "CLI-3", name="Talleres Ríos", emails=["rios@talleres.example"])
    exchange_online.server.append(ANA, "INBOX", list(mail))
    exchange_online.login.register_app(TENANT_ID, CLIENT_ID, SECRET, mailbox=ANA)


def add_microsoft_mailbox(
    api: Client, headers: dict[str, str], *, secret: str | None = SECRET, **fields: Any
) -> dict[str, Any]:
    """Ana adds her Microsoft 365 mailbox: the app's tenant and client ids, then its secret."""
    data = {
        "auth": "microsoft365",
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "username": ANA,
        "folders": ["INBOX"],
    } | fields
    added = api.http.post("/mailboxes", headers=headers, body=json.dumps(data))
    assert added.status_code == 201, added.body
    mailbox = dict(body(added))
    if secret is not None:
        path = f"/mailboxes/{mailbox['mailbox_id']}/client-secret"
        response = api.http.put(path, headers=headers, body=json.dumps({"client_secret": secret}))
        assert response.status_code == 204, response.body
    return mailbox


def test_a_microsoft_365_mailbox_is_read_with_its_apps_token_and_never_shows_the_secret(
    api: Client,
    tenant: Tenant,
    exchange_online: ExchangeOnline,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a client, her mail in Ana's Microsoft 365 mailbox, and the company's Entra app (with
    # IMAP.AccessAsApp) that the admin gave access to Ana's mailbox
    clients_mail_in_anas_mailbox(
        api,
        tenant,
        exchange_online,
        filed_mail("rios@talleres.example", ANA, "Presupuesto aceptado"),
        filed_mail("boletin@otros.example", ANA, "Novedades"),
    )
    ana = staff(tenant)
    caplog.set_level("DEBUG")

    # When Ana adds it with the app's tenant and client ids and its secret, and it syncs
    mailbox = add_microsoft_mailbox(api, ana)
    run_syncs()

    # Then the client's message is in her register, as a password mailbox's would be
    assert [(r["subject"], r["direction"], r["channel"]) for r in register_seen(api, ana, "CLI-3")] == [
        ("Presupuesto aceptado", "in", "mailbox")
    ]
    answers = [api.http.get(f"/mailboxes/{mailbox['mailbox_id']}", headers=ana)]
    shown = body(answers[0])
    assert shown["logged_count"] == 1 and shown["last_error"] is None
    assert (shown["auth"], shown["tenant_id"], shown["client_id"]) == ("microsoft365", TENANT_ID, CLIENT_ID)
    assert (shown["client_secret_set"], shown["password_set"]) == (True, False)
    # on Microsoft's server, not one of the tenant's
    assert (shown["host"], shown["port"], shown["encryption"]) == ("outlook.office365.com", 993, "tls")
    # having asked the sign-in service for an app-only token, as Microsoft documents it
    [asked] = exchange_online.login.requests
    assert asked == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": "https://outlook.office365.com/.default",
    }
    # and logged in with it through XOAUTH2
    assert f"user=<{ANA}>, method=XOAUTH2" in (exchange_online.server.root / "dovecot.log").read_text()

    # When she tests the connection
    answers.append(api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana))

    # Then it logs in with a new token and opens the folder
    tested = body(answers[-1])
    assert tested["ok"] is True and "Logged in" in tested["answer"] and tested["folders"] == {"INBOX": 2}

    # And neither the secret nor any token it was given is in an answer or a log line
    answers.append(api.http.get("/mailboxes", headers=ana))
    tokens = exchange_online.login.issued()
    assert len(tokens) == 2
    said = "".join(a.body.decode() for a in answers) + logged(capsys, caplog)
    assert "mailbox synced" in said  # the log lines were seen
    for secret in [SECRET, *tokens]:
        assert secret not in said


def test_a_wrong_client_secret_is_the_sign_in_services_answer_and_is_never_logged(
    api: Client,
    tenant: Tenant,
    exchange_online: ExchangeOnline,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a client's message in Ana's mailbox, and the app's secret mistyped when it was added
    clients_mail_in_anas_mailbox(
        api, tenant, exchange_online, filed_mail("rios@talleres.example", ANA, "Hola")
    )
    ana = staff(tenant)
    wrong = "Qx8~the-secret-id-not-its-value"
    caplog.set_level("DEBUG")
    mailbox = add_microsoft_mailbox(api, ana, secret=wrong)

    # When it syncs, and Ana tests the connection
    run_syncs()
    tested = api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana)

    # Then the monitor and the test name the sign-in service's answer; nothing is logged in the
    # register, and no token was issued
    refusal = "Microsoft sign-in refused: invalid_client: AADSTS7000215: Invalid client secret provided."
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["last_error"].startswith(refusal), shown["last_error"]
    assert body(tested)["ok"] is False and body(tested)["answer"].startswith(refusal)
    assert shown["logged_count"] == 0 and register_seen(api, ana, "CLI-3") == []
    assert exchange_online.login.issued() == []
    # and the secret sent is in no answer and no log line
    said = tested.body.decode() + json.dumps(shown) + logged(capsys, caplog)
    assert "mailbox sync failed" in said and "invalid_client" in said
    assert wrong not in said and base64.b64encode(wrong.encode()).decode() not in said  # KMS's body

    # When the right secret is set, the next sync reads the mailbox
    api.http.put(
        f"/mailboxes/{mailbox['mailbox_id']}/client-secret",
        headers=ana,
        body=json.dumps({"client_secret": SECRET}),
    )
    run_syncs()
    assert monitor(api, ana, mailbox["mailbox_id"])["last_error"] is None
    assert [r["subject"] for r in register_seen(api, ana, "CLI-3")] == ["Hola"]


def test_a_tenant_cannot_choose_the_server_of_a_microsoft_365_mailbox(
    api: Client, tenant: Tenant, exchange_online: ExchangeOnline
) -> None:
    # Given Ana's Microsoft 365 mailbox, its secret set
    exchange_online.login.register_app(TENANT_ID, CLIENT_ID, SECRET, mailbox=ANA)
    ana = staff(tenant)

    # When she sends a server of her own with a new one, or for the one she has
    for field, value in [("host", "imap.atacante.example"), ("port", 1993), ("encryption", "none")]:
        refused = api.http.post(
            "/mailboxes",
            headers=ana,
            body=json.dumps(
                {
                    "auth": "microsoft365",
                    "tenant_id": TENANT_ID,
                    "client_id": CLIENT_ID,
                    "username": ANA,
                    field: value,
                }
            ),
        )
        # Then it is refused, naming the field
        assert refused.status_code == 422, refused.body
        assert body(refused)["field"] == field and "Microsoft's" in body(refused)["message"]
    assert body(api.http.get("/mailboxes", headers=ana))["items"] == []
    mailbox = add_microsoft_mailbox(api, ana)
    path = f"/mailboxes/{mailbox['mailbox_id']}"
    changed = api.http.patch(path, headers=ana, body=json.dumps({"host": "imap.atacante.example"}))
    assert changed.status_code == 422 and body(changed)["field"] == "host"
    # and the mailbox is as it was: Microsoft's server, its secret kept
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert (shown["host"], shown["client_secret_set"]) == ("outlook.office365.com", True)
    # and its password route is not for it (a password would go to no server of the tenant's either)
    password = api.http.put(f"{path}/password", headers=ana, body=json.dumps({"password": "x"}))
    assert password.status_code == 409 and body(password)["field"] == "auth"


def test_bad_tenant_or_client_ids_are_refused_naming_the_field(api: Client, tenant: Tenant) -> None:
    ana = staff(tenant)
    good = {"auth": "microsoft365", "tenant_id": TENANT_ID, "client_id": CLIENT_ID, "username": ANA}
    for data, field in [
        (good | {"tenant_id": "../../evil.example/x"}, "tenant_id"),
        (good | {"tenant_id": "contoso"}, "tenant_id"),
        (good | {"tenant_id": "login.example?x=1"}, "tenant_id"),
        (good | {"client_id": "estudio-app"}, "client_id"),
        (good | {"client_id": CLIENT_ID + "0"}, "client_id"),
        ({k: v for k, v in good.items() if k != "tenant_id"}, "tenant_id"),
        ({k: v for k, v in good.items() if k != "client_id"}, "client_id"),
        ({"host": "imap.example.com", "username": ANA, "client_id": CLIENT_ID}, "client_id"),
        ({"auth": "kerberos", "host": "imap.example.com", "username": ANA}, "auth"),
    ]:
        response = api.http.post("/mailboxes", headers=ana, body=json.dumps(data))
        assert response.status_code == 422, (data, response.body)
        assert body(response)["field"] == field, (data, response.body)
    assert body(api.http.get("/mailboxes", headers=ana))["items"] == []
    # and a tenant's domain name is a tenant id as good as its GUID
    domain = api.http.post(
        "/mailboxes", headers=ana, body=json.dumps(good | {"tenant_id": "estudio.onmicrosoft.com"})
    )
    assert domain.status_code == 201 and body(domain)["tenant_id"] == "estudio.onmicrosoft.com"


def test_switching_between_password_and_microsoft_365_removes_the_other_secret(
    api: Client, tenant: Tenant
) -> None:
    # Given Ana's Microsoft 365 mailbox with its client secret
    ana = staff(tenant)
    mailbox = add_microsoft_mailbox(api, ana)
    path = f"/mailboxes/{mailbox['mailbox_id']}"
    assert monitor(api, ana, mailbox["mailbox_id"])["client_secret_set"] is True

    # When it is switched to a password login on a server of the office's
    switched = api.http.patch(
        path,
        headers=ana,
        body=json.dumps({"auth": "password", "host": "127.0.0.1", "port": 143, "encryption": "none"}),
    )

    # Then the client secret and the app are gone, and a password can be set
    assert switched.status_code == 200, switched.body
    shown = body(switched)
    assert (shown["auth"], shown["host"], shown["client_secret_set"]) == ("password", "127.0.0.1", False)
    assert (shown["tenant_id"], shown["client_id"]) == (None, None)
    secret = api.http.put(f"{path}/client-secret", headers=ana, body=json.dumps({"client_secret": SECRET}))
    assert secret.status_code == 409 and body(secret)["field"] == "auth"
    api.http.put(f"{path}/password", headers=ana, body=json.dumps({"password": "clave-de-ana"}))
    assert monitor(api, ana, mailbox["mailbox_id"])["password_set"] is True

    # When it is switched back to Microsoft 365 (the app's ids needed again)
    missing = api.http.patch(path, headers=ana, body=json.dumps({"auth": "microsoft365"}))
    assert missing.status_code == 422 and body(missing)["field"] == "tenant_id"
    back = api.http.patch(
        path,
        headers=ana,
        body=json.dumps({"auth": "microsoft365", "tenant_id": TENANT_ID, "client_id": CLIENT_ID}),
    )

    # Then the password is gone, the server is Microsoft's again, and the secret is to be set
    shown = body(back)
    assert back.status_code == 200, back.body
    assert (shown["auth"], shown["host"], shown["port"]) == ("microsoft365", "outlook.office365.com", 993)
    assert (shown["password_set"], shown["client_secret_set"]) == (False, False)

    # And pointing it at another app removes that app's secret too
    api.http.put(f"{path}/client-secret", headers=ana, body=json.dumps({"client_secret": SECRET}))
    other = "0b1e2d3c-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    moved = api.http.patch(path, headers=ana, body=json.dumps({"client_id": other}))
    assert (body(moved)["client_id"], body(moved)["client_secret_set"]) == (other, False)

    # And naming another user of the app's mailboxes removes it as well (the app may open them all)
    api.http.put(f"{path}/client-secret", headers=ana, body=json.dumps({"client_secret": SECRET}))
    renamed = api.http.patch(path, headers=ana, body=json.dumps({"username": "direccion@estudio.example"}))
    assert (body(renamed)["username"], body(renamed)["client_secret_set"]) == (
        "direccion@estudio.example",
        False,
    )
