"""Test sends (C3): an administrator sends one message now, from an account or with a template,
and gets back the provider's message id or the server's own error text. Real SMTP servers."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from infrastructure.local.paths import free_port
from tests.steps.answers import body
from tests.steps.channels import GIVE_UP, LATE
from tests.steps.mail import wire_problems
from tests.steps.tenants import (
    IDENTITY,
    SMTP_PASSWORD,
    SMTP_USER,
    Tenant,
    personal_sender_account,
    smtp_sender_account,
)
from tests.steps.tls import certificates

TO = "admin.pruebas@example.com"


def part(mail: Any, subtype: str) -> str:
    """The decoded text of the message's ``text/<subtype>`` part (it must have one)."""
    found = mail.get_body(preferencelist=(subtype,))
    assert found is not None and found.get_content_subtype() == subtype, f"no text/{subtype} part"
    return str(found.get_content())


def account_test(api: Client, tenant: Tenant, area: str, to: str = TO, headers: Any = None) -> Any:
    return api.http.post(
        f"/sender-accounts/{area}/test",
        headers=headers or tenant.admin_headers(),
        body=f'{{"to": "{to}"}}'.encode(),
    )


def template_test(api: Client, tenant: Tenant, key: str, payload: str, headers: Any = None) -> Any:
    return api.http.post(
        f"/templates/{key}/test", headers=headers or tenant.admin_headers(), body=payload.encode()
    )


def put_account(api: Client, tenant: Tenant, area: str, **fields: Any) -> None:
    account = {
        "kind": "smtp",
        "display_name": "Cargas del Sur Pruebas",
        "from_address": f"{area}@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "encryption": "none",
        "username": SMTP_USER,
        "enabled": True,
    } | fields
    response = api.http.put(
        f"/sender-accounts/{area}", headers=tenant.admin_headers(), body=json.dumps(account).encode()
    )
    assert response.status_code == 200, response.body


def put_password(api: Client, tenant: Tenant, area: str, password: str) -> None:
    response = api.http.put(
        f"/sender-accounts/{area}/password",
        headers=tenant.admin_headers(),
        body=f'{{"password": "{password}"}}'.encode(),
    )
    assert response.status_code == 204, response.body


# --- account tests ----------------------------------------------------------------------------


def test_account_test_arrives_from_that_account(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given the tracking area's working SMTP account (see conftest)
    # When the administrator sends a test from it
    response = account_test(api, tenant, "tracking")
    # Then the server accepted it, and it arrived from that account with a text and an HTML part
    assert response.status_code == 200, response.body
    answer = body(response)
    assert answer["ok"] is True and answer["message_id"]
    [mail] = mailbox.wait_for(1)
    assert "avisos@cargasdelsur.example" in str(mail["From"])
    assert "Cargas del Sur Avisos" in str(mail["From"])
    assert str(mail["To"]) == TO
    assert str(mail["Subject"]) == "Prueba de envío — Cargas del Sur"
    assert str(mail["Message-ID"]) == answer["message_id"]
    text = part(mail, "plain")
    html = part(mail, "html")
    assert "prueba" in text and "tracking" in text
    assert "prueba" in html and "tracking" in html


def test_an_account_test_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the tracking area's working SMTP account; When the administrator sends a test from it
    assert account_test(api, tenant, "tracking").status_code == 200
    mailbox.wait_for(1)
    # Then the bytes are 7-bit (its short Spanish text quoted-printable, not 8-bit) and well formed
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


def test_a_template_test_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the default tracking alert; When the administrator test-sends it
    response = template_test(api, tenant, "tracking_alert", f'{{"to": "{TO}"}}')
    assert response.status_code == 200, response.body
    mailbox.wait_for(1)
    # Then the bytes are 7-bit and well formed
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


def test_a_test_to_an_address_that_is_not_ascii_goes_with_smtputf8_when_the_server_offers_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the tracking account's server offers SMTPUTF8 (RFC 6531)
    # When the administrator sends a test to José, whose address is not ASCII
    response = account_test(api, tenant, "tracking", to="josé@ejemplo.com")
    # Then the server accepted it for that address, written as it is (UTF-8) in To
    assert response.status_code == 200, response.body
    assert body(response)["ok"] is True, response.body
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["josé@ejemplo.com"]
    raw = mailbox.files()[0].read_bytes()
    assert "\r\nTo: josé@ejemplo.com\r\n".encode() in raw


@pytest.fixture
def ascii_only(tenant: Tenant, tmp_path: Path) -> Iterator[MailCatcher]:
    """The tracking account's server, one that does not offer SMTPUTF8 (RFC 6531)."""
    credentials = {SMTP_USER: SMTP_PASSWORD}
    with MailCatcher(tmp_path / "ascii-only", credentials=credentials, smtputf8=False) as server:
        smtp_sender_account(
            tenant.company_id, "tracking", server, "Cargas del Sur Avisos", "avisos@cargasdelsur.example"
        )
        yield server


def test_a_test_to_an_address_that_is_not_ascii_fails_saying_why_when_the_server_lacks_smtputf8(
    api: Client, tenant: Tenant, ascii_only: MailCatcher
) -> None:
    # Given the tracking account's server does not offer SMTPUTF8
    # When the administrator sends a test to josé@ejemplo.com
    answer = body(account_test(api, tenant, "tracking", to="josé@ejemplo.com"))
    # Then it is not sent (no 8-bit address without SMTPUTF8), and the answer says why
    assert answer["ok"] is False and "SMTPUTF8" in answer["error"], answer
    assert ascii_only.files() == []


def test_an_address_on_an_accented_domain_goes_as_its_a_labels_without_smtputf8(
    api: Client, tenant: Tenant, ascii_only: MailCatcher
) -> None:
    # Given the tracking account's server does not offer SMTPUTF8
    # When the administrator sends a test to ana@ñandú.example (only the domain is not ASCII)
    answer = body(account_test(api, tenant, "tracking", to="ana@ñandú.example"))
    # Then it is sent, needing no SMTPUTF8: the domain as its IDNA A-labels (RFC 5890) in the
    # envelope and in To, 7-bit like every other e-mail
    assert answer["ok"] is True, answer
    [mail] = ascii_only.wait_for(1)
    assert envelope_recipients(mail) == ["ana@xn--and-6ma2c.example"]
    raw = ascii_only.files()[0].read_bytes()
    assert b"\r\nTo: ana@xn--and-6ma2c.example\r\n" in raw
    assert wire_problems(raw, domain="cargasdelsur.example") == []


def test_a_disabled_account_can_be_tested(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given an account that is set up but not enabled yet
    put_account(api, tenant, "invoices", smtp_port=mailbox.port, enabled=False)
    put_password(api, tenant, "invoices", SMTP_PASSWORD)
    # When the administrator tests it before enabling it
    answer = body(account_test(api, tenant, "invoices"))
    # Then it is sent from exactly that account
    assert answer["ok"] is True
    [mail] = mailbox.wait_for(1)
    assert "invoices@cargasdelsur.example" in str(mail["From"])


def test_wrong_password_answers_the_servers_text(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given the tracking account's password is wrong
    put_password(api, tenant, "tracking", "not-the-password")
    # When it is tested
    response = account_test(api, tenant, "tracking")
    # Then the answer is 200, not ok, with the server's own refusal; nothing arrived
    assert response.status_code == 200
    answer = body(response)
    assert answer["ok"] is False and "message_id" not in answer
    assert "535" in answer["error"] and "Authentication credentials invalid" in answer["error"]
    assert mailbox.files() == []


def test_an_account_whose_password_has_an_enie_logs_in_and_sends(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the tracking account logging in as Marta, whose password is "contraseña-Ñandú"
    put_account(api, tenant, "tracking", smtp_port=mailbox.port, username="marta")
    put_password(api, tenant, "tracking", "contraseña-Ñandú")
    # When it is tested
    response = account_test(api, tenant, "tracking")
    # Then the server let it in (AUTH PLAIN in UTF-8) and the test arrived
    assert response.status_code == 200
    assert body(response)["ok"] is True, body(response)
    [mail] = mailbox.wait_for(1)
    assert str(mail["To"]) == TO and "tracking@cargasdelsur.example" in str(mail["From"])


def test_nothing_listening_answers_the_os_error(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given an account pointing at a port nobody listens on (and its password set for it)
    put_account(api, tenant, "tracking", smtp_port=free_port("127.0.0.1"))
    put_password(api, tenant, "tracking", SMTP_PASSWORD)
    # When it is tested
    answer = body(account_test(api, tenant, "tracking"))
    # Then the operating system's own text comes back
    assert answer["ok"] is False
    assert "Connection refused" in answer["error"]


def test_pointing_an_account_at_another_server_removes_its_password(
    api: Client, tenant: Tenant, mailbox: MailCatcher, tmp_path: Path
) -> None:
    # Given the tracking account logs in with its write-only password, and another server that
    # would accept that very login (someone else's, listening for it)
    with MailCatcher(tmp_path / "elsewhere", credentials={SMTP_USER: SMTP_PASSWORD}) as elsewhere:
        for change in ({"smtp_port": elsewhere.port}, {"smtp_host": "localhost"}, {"username": "other"}):
            # When an administrator changes where the account connects (port, host or user)
            put_account(api, tenant, "tracking", **({"smtp_port": mailbox.port} | change))
            # Then the password is gone: the account shows none and no longer works
            [shown] = [
                a for a in body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
            ]
            assert (shown["password_set"], shown["working"]) == (False, False), change
            # And its test is refused naming the password; no server received a login or a message
            refused = account_test(api, tenant, "tracking")
            assert refused.status_code == 422 and body(refused)["field"] == "password", change
            put_password(api, tenant, "tracking", SMTP_PASSWORD)
        assert elsewhere.files() == [] and mailbox.files() == []

    # And changing anything else (the name, the sender, enabled) keeps the password
    put_account(api, tenant, "tracking", smtp_port=mailbox.port, display_name="Otro nombre", enabled=False)
    put_password(api, tenant, "tracking", SMTP_PASSWORD)
    put_account(api, tenant, "tracking", smtp_port=mailbox.port, display_name="Avisos", enabled=True)
    assert body(account_test(api, tenant, "tracking"))["ok"] is True
    assert len(mailbox.wait_for(1)) == 1


def test_turning_an_accounts_encryption_off_removes_its_password(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    for encryption in ("starttls", "tls"):
        # Given the tracking account logs in over TLS with its write-only password (a certificate
        # for its host name keeps the login from whoever else answers for that name)
        put_account(api, tenant, "tracking", smtp_port=mailbox.port, encryption=encryption)
        put_password(api, tenant, "tracking", SMTP_PASSWORD)
        # When an administrator turns the encryption off, keeping host, port and user
        put_account(api, tenant, "tracking", smtp_port=mailbox.port, encryption="none")
        # Then the password is gone (it would cross the network in clear, to any server that
        # answers for the name): the account shows none and no longer works
        [shown] = body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
        assert (shown["password_set"], shown["working"]) == (False, False), encryption
        # And its test is refused naming the password; the server received no login nor message
        refused = account_test(api, tenant, "tracking")
        assert refused.status_code == 422 and body(refused)["field"] == "password", encryption
    assert mailbox.files() == []
    # And turning the encryption on keeps the password
    put_password(api, tenant, "tracking", SMTP_PASSWORD)
    put_account(api, tenant, "tracking", smtp_port=mailbox.port, encryption="starttls")
    [shown] = body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
    assert shown["password_set"] is True


def test_a_stored_password_does_not_decrypt_for_another_destination(tenant: Tenant) -> None:
    import dataclasses

    from chalicelib.core.errors import DeliveryFailed
    from chalicelib.messaging.accounts.email import password_of
    from chalicelib.store.companies import get_sender_accounts

    # Given the tracking account's stored KMS ciphertext
    account = get_sender_accounts(tenant.company_id, ["tracking"])["tracking"]
    assert password_of(account) == SMTP_PASSWORD
    # When the same ciphertext is used for another host, port or user (a write that raced a change)
    for moved in (
        dataclasses.replace(account, smtp_host="smtp.elsewhere.example"),
        dataclasses.replace(account, smtp_port=2525),
        dataclasses.replace(account, username="someone-else"),
    ):
        # Then KMS refuses to decrypt it: the answer asks for the password again
        with pytest.raises(DeliveryFailed) as refused:
            password_of(moved)
        assert refused.value.field == "password" and SMTP_PASSWORD not in refused.value.message


# --- Q7: SMTP servers on public addresses only --------------------------------------------------


def put_account_answer(api: Client, tenant: Tenant, **fields: Any) -> Any:
    account = {
        "display_name": "Avisos",
        "from_address": "avisos@cargasdelsur.example",
        "smtp_port": 25,
        "username": SMTP_USER,
    } | fields
    return api.http.put(
        "/sender-accounts/tracking", headers=tenant.admin_headers(), body=json.dumps(account).encode()
    )


@pytest.mark.parametrize(
    ("smtp_host", "message"),
    [
        (
            "169.254.169.254",
            "169.254.169.254 is a link-local address; Pregón connects only to public addresses",
        ),
        ("10.1.2.3", "10.1.2.3 is a private address; Pregón connects only to public addresses"),
        ("192.168.0.10", "192.168.0.10 is a private address; Pregón connects only to public addresses"),
        ("100.64.0.1", "100.64.0.1 is a reserved address; Pregón connects only to public addresses"),
        (
            "::ffff:172.16.0.1",
            "::ffff:172.16.0.1 is a private address; Pregón connects only to public addresses",
        ),
        ("0.0.0.0", "0.0.0.0 is an unspecified address; Pregón connects only to public addresses"),
        (  # 6to4 of the instance metadata's address
            "2002:a9fe:a9fe::1",
            "2002:a9fe:a9fe::1 is a link-local address; Pregón connects only to public addresses",
        ),
        ("2002:a00:1::", "2002:a00:1:: is a private address; Pregón connects only to public addresses"),
        ("fec0::1", "fec0::1 is a private address; Pregón connects only to public addresses"),
        ("mail.example.com\r\nRCPT TO:<x@evil.example>", "must be a host name or an IP address"),
        ("mail.example.com:25", "must be a host name or an IP address"),
    ],
)
def test_an_smtp_host_on_a_private_address_or_not_a_host_is_refused(
    api: Client, tenant: Tenant, mailbox: MailCatcher, smtp_host: str, message: str
) -> None:
    # Given loopback allowed (the local stack's setting)
    # When an administrator points the tracking account at a private, link-local or garbled host
    response = put_account_answer(api, tenant, smtp_host=smtp_host)
    # Then it is refused naming smtp_host, and the account is unchanged
    assert response.status_code == 422, response.body
    assert body(response)["errors"] == [{"field": "smtp_host", "message": message}]
    [account] = body(api.http.get("/sender-accounts", headers=tenant.admin_headers()))["items"]
    assert (account["smtp_host"], account["password_set"]) == ("127.0.0.1", True)


def test_loopback_smtp_hosts_are_refused_unless_the_local_stack_allows_them(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the tracking account on 127.0.0.1, saved while the local stack allowed loopback
    # When the setting is off, as on AWS
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    # Then saving a loopback host is refused naming the field
    for host in ("127.0.0.1", "::1", "localhost"):
        refused = put_account_answer(api, tenant, smtp_host=host, smtp_port=mailbox.port)
        assert refused.status_code == 422 and body(refused)["field"] == "smtp_host", host
        assert "is a loopback address" in body(refused)["message"]
    # And the stored account is refused when connecting: a short classified error, nothing sent
    answer = body(account_test(api, tenant, "tracking"))
    assert answer == {
        "ok": False,
        "error": "refused: 127.0.0.1 is a loopback address; Pregón connects only to public addresses",
    }
    assert mailbox.files() == []


def test_a_server_that_is_not_smtp_is_not_echoed(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    import socket
    import threading

    # Given a local web service (as DynamoDB Local or moto are) that answers anything with its page
    page = b"HTTP/1.1 400 Bad Request\r\nServer: internal-engine aws_secret=AKIA-INTERNAL\r\n\r\n<html/>"
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(page)

    threading.Thread(target=answer, daemon=True).start()
    # When the account points there and is tested
    with listener:
        put_account(api, tenant, "tracking", smtp_port=listener.getsockname()[1])
        put_password(api, tenant, "tracking", SMTP_PASSWORD)
        answer_body = body(account_test(api, tenant, "tracking"))
    # Then the answer says it is not an SMTP server, and nothing of what it wrote comes back
    assert answer_body == {"ok": False, "error": "not an SMTP server: its answer was not an SMTP reply"}


def test_a_server_that_answers_a_byte_at_a_time_is_reported_before_the_api_gateway_gives_up(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: Any
) -> None:
    import socket
    import threading
    import time

    from chalicelib.messaging.accounts import trial_sends

    # Given a server that writes its greeting a byte every quarter second, for 30 s (each byte well
    # within any socket timeout), and a test send's deadline of 1 s here (20 s on AWS, under API
    # Gateway's 29 s)
    monkeypatch.setattr(trial_sends, "TRIAL_SECONDS", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        connection, _ = listener.accept()
        until = time.monotonic() + GIVE_UP
        with connection:
            while not stop.wait(0.25) and time.monotonic() < until:
                try:
                    connection.sendall(b"2")
                except OSError:
                    return

    threading.Thread(target=trickle, daemon=True).start()
    # When the account points there and is tested
    with listener:
        put_account(api, tenant, "tracking", smtp_port=listener.getsockname()[1])
        put_password(api, tenant, "tracking", SMTP_PASSWORD)
        started = time.monotonic()
        try:
            answer_body = body(account_test(api, tenant, "tracking"))
        finally:
            stop.set()
        took = time.monotonic() - started
    # Then the answer comes at the deadline (not when the server ends) and says the server was too slow
    assert answer_body == {"ok": False, "error": "timeout: the SMTP server did not finish within 1 s"}
    assert took < 1 + LATE


def test_an_incomplete_account_is_refused(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given an account that logs in but has no password yet
    put_account(api, tenant, "invoices", smtp_port=mailbox.port)
    # When it is tested
    response = account_test(api, tenant, "invoices")
    # Then it is refused naming the password, and nothing is sent
    assert response.status_code == 422
    assert body(response)["field"] == "password"
    assert mailbox.files() == []


def test_an_area_without_its_own_account_is_not_found(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a working fallback account `all`, but none for tickets
    put_account(api, tenant, "all", smtp_port=mailbox.port)
    put_password(api, tenant, "all", SMTP_PASSWORD)
    # When the tickets account is tested
    response = account_test(api, tenant, "tickets")
    # Then it is not found: a test never uses the fallback
    assert response.status_code == 404
    assert mailbox.files() == []


def test_bad_input_names_the_field(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # When the address is not an e-mail address, or the area is unknown
    bad_to = account_test(api, tenant, "tracking", to="not-an-address")
    bad_area = account_test(api, tenant, "marketing")
    # Then each is refused naming its field
    assert bad_to.status_code == 422 and body(bad_to)["field"] == "to"
    assert bad_area.status_code == 422 and body(bad_area)["field"] == "area"
    assert mailbox.files() == []


def test_only_administrators_may_send_tests(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given an API key and a level-3 user
    level3 = {
        "Authorization": f"Bearer {IDENTITY.mint(tenant.company_id, user_id='x@y', level=3)}",
        "Content-Type": "application/json",
    }
    # When they try either test send
    responses = [
        account_test(api, tenant, "tracking", headers=tenant.key_headers()),
        account_test(api, tenant, "tracking", headers=level3),
        template_test(api, tenant, "tracking_alert", f'{{"to": "{TO}"}}', headers=tenant.key_headers()),
        template_test(api, tenant, "tracking_alert", f'{{"to": "{TO}"}}', headers=tenant.staff_headers()),
    ]
    # Then each is forbidden and nothing is sent
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert mailbox.files() == []


# --- STARTTLS ---------------------------------------------------------------------------------


@pytest.fixture
def tls_mailbox(tmp_path: Path) -> Any:
    """An SMTP server that requires STARTTLS, with a certificate from a CA nobody trusts by default."""
    ca_path, cert_path, key_path = certificates(tmp_path / "tls")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    with MailCatcher(
        tmp_path / "tls-mail", credentials={SMTP_USER: SMTP_PASSWORD}, tls_context=server_context
    ) as catcher:
        yield catcher, ca_path


def test_starttls_verifies_the_certificate(
    api: Client, tenant: Tenant, tls_mailbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    catcher, ca_path = tls_mailbox
    # Given an account with STARTTLS on a server whose certificate no system CA signed
    put_account(api, tenant, "tracking", smtp_port=catcher.port, encryption="starttls")
    put_password(api, tenant, "tracking", SMTP_PASSWORD)
    # When it is tested
    refused = body(account_test(api, tenant, "tracking"))
    # Then certificate verification fails (the secure default): nothing is sent
    assert refused["ok"] is False
    assert "certificate" in refused["error"].lower(), refused["error"]
    assert catcher.files() == []
    # Given the process trusts the private CA (OpenSSL's SSL_CERT_FILE, as an operator would set it)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_path))
    # When it is tested again
    accepted = body(account_test(api, tenant, "tracking"))
    # Then the connection was upgraded (the server refuses anything else) and the message arrived
    assert accepted["ok"] is True, accepted
    [mail] = catcher.wait_for(1)
    assert str(mail["Subject"]) == "Prueba de envío — Cargas del Sur"


def test_a_server_requiring_starttls_refuses_a_plain_account(
    api: Client, tenant: Tenant, tls_mailbox: Any
) -> None:
    catcher, _ca = tls_mailbox
    # Given an account without encryption on a server that requires STARTTLS
    put_account(api, tenant, "tracking", smtp_port=catcher.port, encryption="none")
    put_password(api, tenant, "tracking", SMTP_PASSWORD)
    # When it is tested
    answer = body(account_test(api, tenant, "tracking"))
    # Then the server's own refusal comes back
    assert answer["ok"] is False
    assert "STARTTLS" in answer["error"], answer["error"]


# --- template tests ---------------------------------------------------------------------------


def test_template_test_renders_sample_data(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # Given the default tracking alert template, sent from the tracking account
    # When the administrator test-sends it with one variable of their own
    response = template_test(
        api,
        tenant,
        "tracking_alert",
        f'{{"to": "{TO}", "variables": {{"parcel": {{"tracking_id": "CDS-777"}}}}}}',
    )
    # Then it arrives from the tracking account, rendered with the sample data and that variable
    assert response.status_code == 200, response.body
    answer = body(response)
    assert answer["ok"] is True
    [mail] = mailbox.wait_for(1)
    assert "avisos@cargasdelsur.example" in str(mail["From"])
    assert str(mail["To"]) == TO
    assert str(mail["Subject"]) == "Cargas del Sur: su envío CDS-777 está En Sucursal de Destino"
    text = part(mail, "plain")
    html = part(mail, "html")
    assert "Hola Ana" in text and "CDS-777" in text
    assert "CDS-777" in html


def test_template_test_uses_the_fallback_or_says_none_works(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    payload = f'{{"to": "{TO}"}}'
    # Given no account for invoices and no fallback
    # When the invoice template is test-sent
    conflict = template_test(api, tenant, "invoice", payload)
    # Then it is refused with a clear message
    assert conflict.status_code == 409
    assert "invoices" in body(conflict)["message"] and "all" in body(conflict)["message"]
    # Given a working fallback account `all`
    put_account(api, tenant, "all", smtp_port=mailbox.port)
    put_password(api, tenant, "all", SMTP_PASSWORD)
    # When it is test-sent again
    answer = body(template_test(api, tenant, "invoice", payload))
    # Then it goes out from the fallback with the sample invoice
    assert answer["ok"] is True
    [mail] = mailbox.wait_for(1)
    assert "all@cargasdelsur.example" in str(mail["From"])
    assert str(mail["Subject"]) == "Cargas del Sur: factura A-0001-00001234"


def test_template_test_bad_input(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    # When the address is bad, or the template does not exist
    bad_to = template_test(api, tenant, "tracking_alert", '{"to": "nope"}')
    unknown = template_test(api, tenant, "no_such_type", f'{{"to": "{TO}"}}')
    # Then they are refused, naming the field / the key, and nothing is sent
    assert bad_to.status_code == 422 and body(bad_to)["field"] == "to"
    assert unknown.status_code == 404
    assert mailbox.files() == []


# --- personal accounts (C5) -------------------------------------------------------------------


def test_a_user_tests_their_own_account_and_only_they_or_an_administrator_may(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:

    def user(company_id: str, user_id: str, level: int) -> dict[str, str]:
        token = IDENTITY.mint(company_id, user_id=user_id, level=level)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    clara, beto = (
        user(tenant.company_id, "clara@cargasdelsur.example", 3),
        user(tenant.company_id, "beto@x", 3),
    )
    # Given Clara's own account, not yet given its password
    path = personal_sender_account(api, clara, "clara@cargasdelsur.example", mailbox)
    # When she tests it: refused naming the password, and where to set it
    missing = api.http.post(f"{path}/test", headers=clara, body=f'{{"to": "{TO}"}}'.encode())
    assert missing.status_code == 422 and body(missing)["field"] == "password"
    assert f"PUT {path.replace('%40', '@')}/password" in body(missing)["message"]
    # When she sets it and tests again
    pw = api.http.put(f"{path}/password", headers=clara, body=f'{{"password": "{SMTP_PASSWORD}"}}'.encode())
    assert pw.status_code == 204
    mine = api.http.post(f"{path}/test", headers=clara, body=f'{{"to": "{TO}"}}'.encode())
    # Then the server accepted it, and the e-mail went out from her address, marked as her test
    assert mine.status_code == 200 and body(mine)["ok"] is True, mine.body
    [mail] = mailbox.wait_for(1)
    assert body(mine)["message_id"] == mail["Message-ID"]
    assert "clara@cargasdelsur.example" in mail["From"]
    assert mail["X-Pregon-Test-Send"] == "account user:clara@cargasdelsur.example"
    # And an administrator may test it too; an API key, another user and another company may not
    assert (
        api.http.post(
            f"{path}/test", headers=tenant.admin_headers(), body=f'{{"to": "{TO}"}}'.encode()
        ).status_code
        == 200
    )
    refused = [
        api.http.post(f"{path}/test", headers=headers, body=f'{{"to": "{TO}"}}'.encode()).status_code
        for headers in (tenant.key_headers(), beto, other_tenant.admin_headers())
    ]
    assert refused == [403, 403, 404]
    assert len(mailbox.wait_for(2)) == 2
