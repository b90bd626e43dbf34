"""H3 for Google Workspace: a staff mailbox read with the company's service account by domain-wide
delegation (a JWT-bearer grant signed RS256, SASL XOAUTH2), against a real dovecot taking bearer
tokens and a local Google token endpoint that verifies the assertion with the public half of a
key pair the test makes (``tests/steps/imap.py``: ``google_workspace``), the deployment's settings
pointed at them as on AWS they point at Google."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from chalice.test import Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.steps.answers import body
from tests.steps.imap import GoogleWorkspace
from tests.steps.mailboxes import (
    CLIENT_ID,
    PRIVATE_KEY,
    PUBLIC_KEY,
    SERVICE_ACCOUNT,
    filed_mail,
    google_key_file,
    logged,
    monitor,
    register_seen,
    run_syncs,
)
from tests.steps.notes import staff_headers
from tests.steps.tenants import Tenant

ANA = "ana@estudio.example"


def add_google_mailbox(
    api: Client, headers: dict[str, str], *, key: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """Ana adds her Google Workspace mailbox (her address as the user), then the key file."""
    data = {"auth": "google", "username": ANA, "folders": ["INBOX"]} | fields
    added = api.http.post("/mailboxes", headers=headers, body=json.dumps(data))
    assert added.status_code == 201, added.body
    mailbox = dict(body(added))
    path = f"/mailboxes/{mailbox['mailbox_id']}/service-account-key"
    response = api.http.put(path, headers=headers, body=json.dumps(key or google_key_file()))
    assert response.status_code == 204, response.body
    return mailbox


def clients_mail_in_anas_inbox(api: Client, tenant: Tenant, workspace: GoogleWorkspace, *mail: bytes) -> None:
    from tests.steps.clients import put_client

    put_client(api, tenant, "CLI-3", name="Talleres Ríos", emails=["rios@talleres.example"])
    workspace.server.append(ANA, "INBOX", list(mail))


def test_a_google_mailbox_is_read_with_its_service_accounts_token_and_never_shows_the_key(
    api: Client,
    tenant: Tenant,
    google_workspace: GoogleWorkspace,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a client's mail in Ana's Gmail, and the company's service account, which the
    # Workspace admin gave domain-wide delegation of https://mail.google.com/
    clients_mail_in_anas_inbox(
        api,
        tenant,
        google_workspace,
        filed_mail("rios@talleres.example", ANA, "Presupuesto aceptado"),
        filed_mail("boletin@otros.example", ANA, "Novedades"),
    )
    google_workspace.login.register_service_account(SERVICE_ACCOUNT, PUBLIC_KEY, client_id=CLIENT_ID)
    ana = staff_headers(tenant, ANA, 3)
    caplog.set_level("DEBUG")

    # When Ana adds it and puts the key file (whose token_uri names another host), and it syncs
    elsewhere = google_key_file(token_uri="https://tokens.atacante.example/token")
    mailbox = add_google_mailbox(api, ana, key=elsewhere)
    run_syncs()

    # Then the client's message is in her register
    assert [(r["subject"], r["direction"], r["channel"]) for r in register_seen(api, ana, "CLI-3")] == [
        ("Presupuesto aceptado", "in", "mailbox")
    ]
    answers = [api.http.get(f"/mailboxes/{mailbox['mailbox_id']}", headers=ana)]
    shown = body(answers[0])
    assert shown["logged_count"] == 1 and shown["last_error"] is None
    assert (shown["auth"], shown["service_account"], shown["service_account_key_set"]) == (
        "google",
        SERVICE_ACCOUNT,
        True,
    )
    assert (shown["host"], shown["port"], shown["encryption"]) == ("imap.gmail.com", 993, "tls")
    # having sent the deployment's token URL (not the key file's) an assertion signed with the key,
    # for Ana's mailbox, with Gmail's scope, for at most an hour
    [asked] = google_workspace.login.requests
    assert set(asked) == {"grant_type", "assertion"}
    assert asked["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    [claims] = google_workspace.login.assertions
    assert {k: claims[k] for k in ("iss", "sub", "scope", "aud")} == {
        "iss": SERVICE_ACCOUNT,
        "sub": ANA,
        "scope": "https://mail.google.com/",
        "aud": google_workspace.login.token_url,
    }
    assert 0 < int(claims["exp"]) - int(claims["iat"]) <= 3600  # type: ignore[call-overload]
    assert abs(int(claims["iat"]) - time.time()) < 120  # type: ignore[call-overload]
    # and logged in with the token through XOAUTH2
    assert f"user=<{ANA}>, method=XOAUTH2" in (google_workspace.server.root / "dovecot.log").read_text()

    # When she tests the connection, and lists her mailboxes
    answers.append(api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana))
    answers.append(api.http.get("/mailboxes", headers=ana))

    # Then it logs in with a new token and opens the folder
    tested = body(answers[1])
    assert tested["ok"] is True and "Logged in" in tested["answer"] and tested["folders"] == {"INBOX": 2}
    # And neither the key (nor any line of it), an assertion nor a token is in an answer or a log line
    said = "".join(a.body.decode() for a in answers) + logged(capsys, caplog)
    assert "mailbox synced" in said  # the log lines were seen
    tokens = google_workspace.login.issued()
    assert len(tokens) == 2
    key_lines = [line for line in PRIVATE_KEY.splitlines() if "PRIVATE KEY" not in line]
    sent = [r["assertion"] for r in google_workspace.login.requests]
    for secret in [*key_lines, *tokens, *sent]:
        assert secret not in said


def test_a_bad_key_file_is_refused_naming_the_field(
    api: Client, tenant: Tenant, google_workspace: GoogleWorkspace
) -> None:
    # Given Ana's Google mailbox, without a key yet, and her password mailbox
    ana = staff_headers(tenant, ANA, 3)
    added = api.http.post("/mailboxes", headers=ana, body=json.dumps({"auth": "google", "username": ANA}))
    path = f"/mailboxes/{body(added)['mailbox_id']}/service-account-key"
    ec_key = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )

    # When she puts key files that are not a service account's RSA key
    for sent, field in [
        (google_key_file(type="authorized_user"), "type"),
        ({k: v for k, v in google_key_file().items() if k != "client_email"}, "client_email"),
        (google_key_file(client_email="pregon-imap"), "client_email"),
        ({k: v for k, v in google_key_file().items() if k != "private_key"}, "private_key"),
        (
            google_key_file(private_key="-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n"),
            "private_key",
        ),
        (google_key_file(private_key=ec_key), "private_key"),
        (["not", "an", "object"], "body"),
    ]:
        refused = api.http.put(path, headers=ana, body=json.dumps(sent))
        # Then each is a 422 naming the field, never repeating the key
        assert refused.status_code == 422, (field, refused.body)
        assert body(refused)["field"] == field, (field, refused.body)
        assert "MIIEv" not in refused.body.decode() and ec_key.splitlines()[1] not in refused.body.decode()
    assert monitor(api, ana, body(added)["mailbox_id"])["service_account_key_set"] is False

    # And a server of her own, or a tenant id, is refused for a Google mailbox
    for field, value in [("host", "imap.atacante.example"), ("port", 1993), ("encryption", "none")]:
        data = {"auth": "google", "username": ANA, field: value}
        refused = api.http.post("/mailboxes", headers=ana, body=json.dumps(data))
        assert refused.status_code == 422 and body(refused)["field"] == field, refused.body
        assert "Google's" in body(refused)["message"]
    for fields, field in [
        ({"auth": "google", "username": ANA, "tenant_id": "estudio.onmicrosoft.com"}, "tenant_id"),
        ({"auth": "google", "username": "ana"}, "username"),
    ]:
        refused = api.http.post("/mailboxes", headers=ana, body=json.dumps(fields))
        assert refused.status_code == 422 and body(refused)["field"] == field, refused.body
    # and a password mailbox takes no key
    password_mailbox = api.http.post(
        "/mailboxes", headers=ana, body=json.dumps({"host": "imap.example.com", "username": ANA})
    )
    wrong_kind = api.http.put(
        f"/mailboxes/{body(password_mailbox)['mailbox_id']}/service-account-key",
        headers=ana,
        body=json.dumps(google_key_file()),
    )
    assert wrong_kind.status_code == 409 and body(wrong_kind)["field"] == "auth"


def test_a_service_account_without_delegation_is_a_clear_test_result(
    api: Client, tenant: Tenant, google_workspace: GoogleWorkspace
) -> None:
    # Given a client's message in Ana's Gmail, and the service account the admin has not yet
    # given domain-wide delegation
    clients_mail_in_anas_inbox(
        api, tenant, google_workspace, filed_mail("rios@talleres.example", ANA, "Hola")
    )
    google_workspace.login.register_service_account(
        SERVICE_ACCOUNT, PUBLIC_KEY, client_id=CLIENT_ID, delegated_scopes=()
    )
    ana = staff_headers(tenant, ANA, 3)

    # When Ana adds her mailbox with the key, it syncs, and she tests the connection
    mailbox = add_google_mailbox(api, ana)
    run_syncs()
    tested = api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana)

    # Then the test and the monitor say Google refused, and what the admin is to do
    assert tested.status_code == 200
    refusal = (
        "Google sign-in refused: unauthorized_client: Client is unauthorized to retrieve access "
        "tokens using this method, or client not authorized for any of the scopes requested. "
        "(the Workspace admin has not given this service account's client ID domain-wide "
        "delegation of https://mail.google.com/"
    )
    assert body(tested)["ok"] is False and body(tested)["answer"].startswith(refusal), tested.body
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["last_error"].startswith(refusal), shown["last_error"]
    assert shown["logged_count"] == 0 and register_seen(api, ana, "CLI-3") == []
    assert google_workspace.login.issued() == []

    # When the admin delegates the scope, the next sync reads the mailbox
    google_workspace.login.register_service_account(SERVICE_ACCOUNT, PUBLIC_KEY, client_id=CLIENT_ID)
    api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/sync", headers=ana)
    run_syncs()
    assert monitor(api, ana, mailbox["mailbox_id"])["last_error"] is None
    assert [r["subject"] for r in register_seen(api, ana, "CLI-3")] == ["Hola"]


def test_switching_to_or_from_google_removes_the_other_kinds_secret(api: Client, tenant: Tenant) -> None:
    # Given Ana's Google mailbox with its key
    ana = staff_headers(tenant, ANA, 3)
    mailbox = add_google_mailbox(api, ana, enabled=False)
    path = f"/mailboxes/{mailbox['mailbox_id']}"

    # When it is switched to Microsoft 365
    tenant_id, client_id = "7d1c3a52-9b0e-4f3e-8a41-2c6f0b9e5d17", "3f6e9a10-84c2-4b7d-9e05-a1b2c3d4e5f6"
    switched = api.http.patch(
        path,
        headers=ana,
        body=json.dumps({"auth": "microsoft365", "tenant_id": tenant_id, "client_id": client_id}),
    )

    # Then the key and its service account are gone, the server is Microsoft's, and a key is refused
    shown = body(switched)
    assert switched.status_code == 200, switched.body
    assert (shown["service_account"], shown["service_account_key_set"]) == (None, False)
    assert (shown["auth"], shown["host"]) == ("microsoft365", "outlook.office365.com")
    refused = api.http.put(f"{path}/service-account-key", headers=ana, body=json.dumps(google_key_file()))
    assert refused.status_code == 409 and body(refused)["field"] == "auth"
    secret = json.dumps({"client_secret": "Qx8~estudio.app-secret"})
    assert api.http.put(f"{path}/client-secret", headers=ana, body=secret).status_code == 204

    # When it is switched back to Google
    back = api.http.patch(path, headers=ana, body=json.dumps({"auth": "google"}))

    # Then the client secret and the app's ids are gone, the server is Google's, and a key is needed
    shown = body(back)
    assert back.status_code == 200, back.body
    assert (shown["auth"], shown["host"], shown["port"]) == ("google", "imap.gmail.com", 993)
    assert (shown["client_secret_set"], shown["tenant_id"], shown["client_id"]) == (False, None, None)
    assert (shown["service_account_key_set"], shown["password_set"]) == (False, False)

    # And a key set, then a switch to a password login, removes it too
    api.http.put(f"{path}/service-account-key", headers=ana, body=json.dumps(google_key_file()))
    assert monitor(api, ana, mailbox["mailbox_id"])["service_account"] == SERVICE_ACCOUNT
    to_password = api.http.patch(path, headers=ana, body=json.dumps({"auth": "password"}))
    shown = body(to_password)
    assert (shown["auth"], shown["service_account"], shown["service_account_key_set"]) == (
        "password",
        None,
        False,
    )


def test_a_key_an_administrator_set_does_not_follow_the_mailbox_to_another_user(
    api: Client, tenant: Tenant
) -> None:
    # Given Ana's Google mailbox, whose key the administrator set for her address
    ana = staff_headers(tenant, ANA, 3)
    admin = staff_headers(tenant, "admin@estudio.example", 1)
    added = {"auth": "google", "username": ANA, "folders": ["INBOX"], "enabled": False}
    mailbox = body(api.http.post("/mailboxes", headers=ana, body=json.dumps(added)))
    path = f"/mailboxes/{mailbox['mailbox_id']}"
    put_key = api.http.put(f"{path}/service-account-key", headers=admin, body=json.dumps(google_key_file()))
    assert put_key.status_code == 204, put_key.body
    assert monitor(api, ana, mailbox["mailbox_id"])["service_account_key_set"] is True

    # When Ana names the director's address as the mailbox's user
    moved = api.http.patch(path, headers=ana, body=json.dumps({"username": "direccion@estudio.example"}))

    # Then the key (which could open any mailbox of the domain) is gone: the key's holder sets it again
    shown = body(moved)
    assert moved.status_code == 200, moved.body
    assert (shown["username"], shown["service_account_key_set"], shown["service_account"]) == (
        "direccion@estudio.example",
        False,
        None,
    )


def test_who_may_not_change_a_mailbox_hears_so_whatever_key_file_they_send(
    api: Client, tenant: Tenant
) -> None:
    # Given Ana's private Google mailbox and the office's public one, which the administrator added
    ana = staff_headers(tenant, ANA, 3)
    admin = staff_headers(tenant, "admin@estudio.example", 1)
    luis = staff_headers(tenant, "luis@estudio.example", 3)
    private = body(
        api.http.post("/mailboxes", headers=ana, body=json.dumps({"auth": "google", "username": ANA}))
    )
    office = {"auth": "google", "username": "oficina@estudio.example", "visibility": "public"}
    public = body(api.http.post("/mailboxes", headers=admin, body=json.dumps(office)))
    # (what Luis hears for them when he asks to remove them: not there, and not his to change)
    assert api.http.delete(f"/mailboxes/{private['mailbox_id']}", headers=luis).status_code == 404
    assert api.http.delete(f"/mailboxes/{public['mailbox_id']}", headers=luis).status_code == 403

    # When Luis puts a key file on either, good or bad, or a secret of another kind, or a change
    sent = [
        google_key_file(),
        google_key_file(client_email="pregon-imap"),
        google_key_file(private_key="-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n"),
        {"type": "service_account"},
        ["not", "an", "object"],
    ]
    for mailbox, expected in ((private, 404), (public, 403)):
        path = f"/mailboxes/{mailbox['mailbox_id']}"
        for key in sent:
            answer = api.http.put(f"{path}/service-account-key", headers=luis, body=json.dumps(key))
            # Then he hears what he hears for any mailbox he may not change, never what is wrong with the file
            assert answer.status_code == expected, (key, answer.body)
            assert "field" not in body(answer) or body(answer)["field"] != "private_key"
        for method, route, data in (
            ("PUT", "password", b"{}"),
            ("PUT", "client-secret", b"not json"),
            ("PATCH", "", b'{"port": "many"}'),
        ):
            answer = api.http.request(method, f"{path}/{route}".rstrip("/"), headers=luis, body=data)
            assert answer.status_code == expected, (route, answer.body)
    # And neither mailbox got a key
    assert monitor(api, ana, private["mailbox_id"])["service_account_key_set"] is False
    assert monitor(api, admin, public["mailbox_id"])["service_account_key_set"] is False
    # While the owner still hears what is wrong with a bad file
    refused = api.http.put(
        f"/mailboxes/{private['mailbox_id']}/service-account-key",
        headers=ana,
        body=json.dumps(google_key_file(client_email="pregon-imap")),
    )
    assert refused.status_code == 422 and body(refused)["field"] == "client_email"


def test_addresses_are_checked_as_every_address_of_the_project_is(api: Client, tenant: Tenant) -> None:
    ana = staff_headers(tenant, ANA, 3)
    # When Ana names a Workspace user that is no address (two dots in a row, no domain, a space)
    for username in ("ana..perez@estudio.example", "ana@estudio", "ana perez@estudio.example"):
        refused = api.http.post(
            "/mailboxes", headers=ana, body=json.dumps({"auth": "google", "username": username})
        )
        # Then it is a 422 naming the username
        assert refused.status_code == 422 and body(refused)["field"] == "username", (username, refused.body)
    # When her key file's service account is no address
    mine = {"auth": "google", "username": ANA, "enabled": False}  # (a key starts no sync)
    added = api.http.post("/mailboxes", headers=ana, body=json.dumps(mine))
    assert added.status_code == 201, added.body
    path = f"/mailboxes/{body(added)['mailbox_id']}/service-account-key"
    for client_email in ("pregon-imap@localhost", "pregon..imap@estudio-mail.iam.gserviceaccount.com"):
        refused = api.http.put(path, headers=ana, body=json.dumps(google_key_file(client_email=client_email)))
        # Then it is a 422 naming client_email
        assert refused.status_code == 422 and body(refused)["field"] == "client_email", refused.body
    # And an address in an internationalized domain is one
    assert api.http.put(path, headers=ana, body=json.dumps(google_key_file())).status_code == 204
    idn = api.http.post(
        "/mailboxes", headers=ana, body=json.dumps({"auth": "google", "username": "ana@ñandú.example"})
    )
    assert idn.status_code == 201, idn.body
