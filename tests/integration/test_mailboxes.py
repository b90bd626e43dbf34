"""H3: staff IMAP mailboxes in the client register, against a real IMAP server (dovecot) started
by the test; and replying from a register record, received by the real SMTP catcher."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from chalice.test import Client

from infrastructure.local.imapserver import Dovecot
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.history import send_email
from tests.steps.inbound import receive_mail
from tests.steps.mail import text_of, wire_problems
from tests.steps.mailboxes import (
    add_mailbox,
    filed_mail,
    monitor,
    office_clients,
    record_of,
    register_seen,
    run_syncs,
)
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant, named_user, smtp_sender_account

ANA, LUIS, OFICINA = "ana@estudio.example", "luis@estudio.example", "oficina@estudio.example"
MARTA = "marta@estudio.example"
DAY = datetime(2026, 10, 20, 9, 30, tzinfo=timezone.utc)


def staff(tenant: Tenant, user: str, level: int = 3) -> dict[str, str]:
    token = IDENTITY.mint(tenant.company_id, user_id=user, level=level)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def download(api: Client, headers: dict[str, str], client_id: str, record_id: str) -> dict[str, bytes]:
    detail = body(record_of(api, headers, client_id, record_id))
    return {a["name"]: requests.get(a["download_url"], timeout=10).content for a in detail["attachments"]}


PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
XLSX = bytes(reversed(range(256))) * 30


def office_mail() -> tuple[list[bytes], list[bytes]]:
    """200 messages: 170 with people who are not clients, 30 to or from the three clients."""
    inbox, sent = [], []
    for n in range(100):
        inbox.append(filed_mail(f"Boletín {n} <news{n}@boletines.example>", ANA, f"Novedades {n}", date=DAY))
    for n in range(70):
        sent.append(filed_mail(ANA, f"proveedor{n}@otros.example", f"Pedido {n}", date=DAY))
    # 15 received from clients (the client's own address or a contact's)
    for n in range(8):
        inbox.append(
            filed_mail(
                "Contabilidad Muñoz <contabilidad@munoz.example>",
                ANA,
                f"Declaración trimestral nº {n} – señora Muñoz",
                date=DAY + timedelta(hours=n),
                text=f"Adjunto la documentación {n}. Un saludo, Muñoz",
                attachments=[("balance año 2026.pdf", "application/pdf", PDF)] if n == 0 else None,
            )
        )
    for n in range(7):
        inbox.append(filed_mail("José Pérez <jose@nandu.example>", ANA, f"Nóminas de octubre {n}", date=DAY))
    # 15 sent to clients (To or Cc)
    for n in range(10):
        sent.append(
            filed_mail(
                ANA,
                "rios@talleres.example",
                f"Presupuesto {n}",
                date=DAY,
                attachments=[("cálculo.xlsx", "application/vnd.ms-excel", XLSX)] if n == 0 else None,
            )
        )
    for n in range(5):
        sent.append(
            filed_mail(ANA, "gestoria@otros.example", f"Consulta {n}", cc=["info@nandu.example"], date=DAY)
        )
    return inbox, sent


def test_mail_to_and_from_clients_is_logged_once_incrementally_and_the_mailbox_is_left_alone(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
    clock: Any,
) -> None:
    # Given three clients and Ana's mailbox with 200 messages, 30 of them to or from the clients
    office_clients(api, tenant)
    inbox, sent = office_mail()
    imap_server.append(ANA, "INBOX", inbox)
    imap_server.append(ANA, "Sent", sent)
    flags_before = imap_server.flags(ANA, "INBOX")
    ana = staff(tenant, ANA)

    # When Ana adds the mailbox (INBOX and Sent by default) and sets its password
    mailbox = add_mailbox(api, ana, imap_server, ANA)
    assert mailbox["folders"] == ["INBOX", "Sent"] and mailbox["visibility"] == "private"
    run_syncs()

    # Then exactly the 30 messages with clients are in their registers, the rest nowhere
    registers = {c: register_seen(api, ana, c) for c in ("CLI-1", "CLI-2", "CLI-3")}
    assert {c: len(items) for c, items in registers.items()} == {"CLI-1": 8, "CLI-2": 12, "CLI-3": 10}
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["logged_count"] == 30 and shown["last_error"] is None and shown["last_sync_at"]
    # with direction, date, decoded subject and sender, text and attachments byte for byte
    received = [r for r in registers["CLI-1"] if r["subject"] == "Declaración trimestral nº 0 – señora Muñoz"]
    assert [(r["direction"], r["record_type"], r["initiated_by"], r["automatic"]) for r in received] == [
        ("in", "email", "client", True)
    ]
    assert received[0]["created_at"].startswith("2026-10-20T09:30")
    detail = body(record_of(api, ana, "CLI-1", received[0]["communication_id"]))
    assert detail["from_address"] == "contabilidad@munoz.example"
    assert "Adjunto la documentación 0" in detail["text"]
    assert download(api, ana, "CLI-1", received[0]["communication_id"]) == {"balance año 2026.pdf": PDF}
    budget = next(r for r in registers["CLI-3"] if r["subject"] == "Presupuesto 0")
    assert (budget["direction"], budget["initiated_by"]) == ("out", "staff")
    assert download(api, ana, "CLI-3", budget["communication_id"]) == {"cálculo.xlsx": XLSX}
    contact = [r for r in registers["CLI-2"] if r["direction"] == "in"]
    assert len(contact) == 7 and all(r["subject"].startswith("Nóminas de octubre") for r in contact)
    # and nothing in the mailbox changed: no message marked as read
    assert imap_server.flags(ANA, "INBOX") == flags_before

    # When it syncs again (on demand) nothing new is logged
    response = api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/sync", headers=ana)
    assert response.status_code == 202 and body(response) == {"queued": [mailbox["mailbox_id"]]}
    run_syncs()
    assert monitor(api, ana, mailbox["mailbox_id"])["logged_count"] == 30
    assert len(register_seen(api, ana, "CLI-3")) == 10

    # When a client writes again and the schedule's turn comes, the next sync logs that one only
    imap_server.append(
        ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, "Acepto el presupuesto", date=DAY)]
    )
    from chalicelib.records.mailboxes.sync import request_due_syncs

    assert request_due_syncs(clock.now()) == 0  # not yet: every 15 minutes
    clock.set_now(clock.now() + timedelta(minutes=16))
    assert request_due_syncs(clock.now()) == 1
    run_syncs()
    assert [r["subject"] for r in register_seen(api, ana, "CLI-3")][0:1] == ["Acepto el presupuesto"]
    assert monitor(api, ana, mailbox["mailbox_id"])["logged_count"] == 31

    # When the server renumbers the Sent folder (a new UIDVALIDITY), it is read again: no duplicates
    before = monitor(api, ana, mailbox["mailbox_id"])["folder_state"]["Sent"]["uidvalidity"]
    imap_server.recreate(ANA, "Sent")
    api.http.post("/mailboxes/sync", headers=ana)
    run_syncs()
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["folder_state"]["Sent"]["uidvalidity"] != before
    assert shown["logged_count"] == 31 and shown["last_error"] is None
    assert len(register_seen(api, ana, "CLI-3")) == 11 and len(register_seen(api, ana, "CLI-2")) == 12


def three_from_a_client(
    api: Client, tenant: Tenant, imap_server: Dovecot, subject: str
) -> tuple[dict[str, str], dict[str, Any]]:
    """Ana's mailbox (INBOX only) holding "<subject> 0..2" from a client of the office; her
    headers and the mailbox as added."""
    office_clients(api, tenant)
    imap_server.append(
        ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, f"{subject} {n}", date=DAY) for n in range(3)]
    )
    ana = staff(tenant, ANA)
    return ana, add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])


def test_a_sync_whose_worker_dies_between_two_messages_resumes_and_counts_each_record_once(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    from chalicelib.records.mailboxes import sync

    # Given three messages from a client in Ana's mailbox (one batch of a sync)
    ana, mailbox = three_from_a_client(api, tenant, imap_server, "Consulta")
    # When its sync's worker dies after logging two of them, before it saves how far it read
    logging = sync.log_message
    logged: list[int] = []

    def dies_at_the_third(*args: Any, **kwargs: Any) -> int:
        if len(logged) == 2:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.example")
        logged.append(logging(*args, **kwargs))
        return logged[-1]

    monkeypatch.setattr(sync, "log_message", dies_at_the_third)
    with pytest.raises(EndpointConnectionError):
        sync.sync_mailbox(tenant.company_id, mailbox["mailbox_id"])
    assert logged == [1, 1]
    # And SQS delivers the sync again to a worker that lives
    monkeypatch.setattr(sync, "log_message", logging)
    run_syncs()
    # Then the three are in the client's register once each, and the monitor counts three
    assert sorted(r["subject"] for r in register_seen(api, ana, "CLI-3")) == [
        "Consulta 0", "Consulta 1", "Consulta 2",
    ]  # fmt: skip
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert (shown["logged_count"], shown["last_error"]) == (3, None)


def test_a_clients_mail_a_sync_reads_while_she_is_being_erased_is_not_logged_under_her(
    api: Client, tenant: Tenant, imap_server: Dovecot, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.steps.erasure import erased_while, erasure_ended, erasure_in_the_request
    from tests.steps.outbox import communication_items

    erasure_in_the_request(monkeypatch)
    # Given three messages from a client in Ana's mailbox
    ana, mailbox = three_from_a_client(api, tenant, imap_server, "Consulta")
    # When the sync has logged the first and, before it logs the second, the administrator erases
    # the client (stopped just before the client's item goes)
    erased = erased_while(api, tenant, "CLI-3", monkeypatch, at_write=2)
    run_syncs()
    assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then the other two are not logged under the client (they stay in the mailbox), and the
    # monitor counts the one logged
    assert monitor(api, ana, mailbox["mailbox_id"])["logged_count"] == 1
    # And once the erasure ends, no record names the client: the first was erased with it
    erasure_ended(api, tenant, "CLI-3", clock)
    named = [i for i in communication_items(tenant.company_id) if "CLI-3" in json.dumps(i)]
    assert named == []
    assert len(imap_server.flags(ANA, "INBOX")) == 3


def test_a_mailbox_deleted_while_its_sync_runs_logs_nothing_more_and_leaves_no_stray_item(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynamodb.exceptions import TransactWriteError

    from chalicelib.records.mailboxes import sync

    # Given three messages from a client in Ana's mailbox
    ana, mailbox = three_from_a_client(api, tenant, imap_server, "Aviso")
    # When Ana deletes the mailbox while its sync has logged the first message
    logging = sync.log_message

    def deleted_after_the_first(*args: Any, **kwargs: Any) -> int:
        logged = logging(*args, **kwargs)
        if api.http.get(f"/mailboxes/{mailbox['mailbox_id']}", headers=ana).status_code == 200:
            assert api.http.delete(f"/mailboxes/{mailbox['mailbox_id']}", headers=ana).status_code == 204
        return logged

    monkeypatch.setattr(sync, "log_message", deleted_after_the_first)
    with pytest.raises(TransactWriteError):  # the record's write, cancelled: SQS retries the sync
        sync.sync_mailbox(tenant.company_id, mailbox["mailbox_id"])
    monkeypatch.setattr(sync, "log_message", logging)
    run_syncs()  # SQS's retry: the mailbox is gone
    # Then only the first message is in the register, and the mailbox is gone from the list (no
    # item of a count left behind for it)
    assert [r["subject"] for r in register_seen(api, ana, "CLI-3")] == ["Aviso 0"]
    listed = body(api.http.get("/mailboxes", headers=ana))["items"]
    assert mailbox["mailbox_id"] not in [m["mailbox_id"] for m in listed]


def test_a_suspended_companys_mailboxes_are_not_read_until_it_is_reopened(
    api: Client, tenant: Tenant, imap_server: Dovecot
) -> None:
    from chalicelib.records import leaving
    from chalicelib.records.mailboxes import sync
    from chalicelib.store import mailboxes as mailbox_store

    # Given three messages from a client in Ana's mailbox, its first sync queued as she added it
    ana, mailbox = three_from_a_client(api, tenant, imap_server, "Pedido")
    # When Pregón's operator closes the company (it leaves, decision 0033) before the sync runs
    leaving.close_company(tenant.company_id, by="operator")
    run_syncs()
    # Then nothing of her mailbox is read, and its monitor says why (checked again in 15 minutes)
    found = mailbox_store.get_mailbox(tenant.company_id, mailbox["mailbox_id"])
    assert found is not None and found.last_error == sync.SUSPENDED
    # When the operator reopens it, nothing was logged meanwhile; and Ana's sync reads the three
    leaving.reopen_company(tenant.company_id, by="operator")
    assert register_seen(api, ana, "CLI-3") == []
    assert api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/sync", headers=ana).status_code == 202
    run_syncs()
    assert sorted(r["subject"] for r in register_seen(api, ana, "CLI-3")) == [
        "Pedido 0",
        "Pedido 1",
        "Pedido 2",
    ]


def test_a_message_pregon_sent_is_not_logged_twice_and_the_same_mail_in_two_mailboxes_once(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
    mailbox: MailCatcher,
) -> None:
    # Given a client, an e-mail Pregón sent it (caught by the SMTP server), and a copy of that very
    # message filed in Ana's Sent folder; and a client's message in both Ana's and Luis's inboxes
    office_clients(api, tenant)
    send_email(tenant, "rios@talleres.example", "Su factura", client_id="CLI-3")
    deliver_outboxes()
    [sent_by_pregon] = mailbox.messages()
    imap_server.append(ANA, "Sent", [sent_by_pregon.as_bytes()])
    shared = filed_mail(
        "rios@talleres.example", [ANA, LUIS], "Para los dos", message_id="<uno@talleres.example>"
    )
    imap_server.append(ANA, "INBOX", [shared])
    imap_server.append(LUIS, "INBOX", [shared])
    admin = tenant.admin_headers()

    # When both mailboxes (public ones, so one office view) are synced
    add_mailbox(api, admin, imap_server, ANA, visibility="public")
    add_mailbox(api, admin, imap_server, LUIS, visibility="public", folders=["INBOX"])
    run_syncs()

    # Then the register holds the invoice once (Pregón's record) and the client's message once
    subjects = sorted(r["subject"] for r in register_seen(api, admin, "CLI-3"))
    assert subjects == ["Para los dos", "Su factura"]


def test_private_mailboxes_are_their_owners_and_public_ones_the_offices(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
) -> None:
    # Given a client, Ana's private mailbox and the office's public one (added by an administrator)
    office_clients(api, tenant)
    imap_server.append(ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, "Solo para Ana")])
    imap_server.append(OFICINA, "INBOX", [filed_mail("rios@talleres.example", OFICINA, "Para la oficina")])
    ana, luis, admin = staff(tenant, ANA), staff(tenant, LUIS), tenant.admin_headers()

    # When Luis (level 3) tries to add a public mailbox, he is refused; Ana adds hers, private
    refused = api.http.post(
        "/mailboxes",
        headers=luis,
        body=json.dumps(
            {"host": "127.0.0.1", "port": imap_server.port, "username": LUIS, "visibility": "public"}
        ),
    )
    assert refused.status_code == 403 and body(refused)["field"] == "visibility"
    private = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    public = add_mailbox(api, admin, imap_server, OFICINA, visibility="public", folders=["INBOX"])
    run_syncs()

    # Then Ana and the administrator see both records, Luis the office's only
    def seen(headers: dict[str, str]) -> list[str]:
        return sorted(r["subject"] for r in register_seen(api, headers, "CLI-3"))

    assert seen(ana) == seen(admin) == ["Para la oficina", "Solo para Ana"]
    assert seen(luis) == ["Para la oficina"]
    ana_record = next(r for r in register_seen(api, ana, "CLI-3") if r["subject"] == "Solo para Ana")
    assert record_of(api, luis, "CLI-3", ana_record["communication_id"]).status_code == 404
    # and the mailboxes themselves: Luis sees the public one only, its owner by name beside the
    # user id, and cannot change it
    named_user(tenant.company_id, public["owner"], "Ada Ruiz")
    listed = body(api.http.get("/mailboxes", headers=luis))["items"]
    assert [m["mailbox_id"] for m in listed] == [public["mailbox_id"]]
    assert (listed[0]["owner"], listed[0]["owner_name"]) == (f"admin@{tenant.company_id}", "Ada Ruiz")
    one = body(api.http.get(f"/mailboxes/{public['mailbox_id']}", headers=luis))
    assert one["owner_name"] == "Ada Ruiz"
    assert "password" not in json.dumps(listed).replace("password_set", "").replace('"auth": "password"', "")
    assert api.http.get(f"/mailboxes/{private['mailbox_id']}", headers=luis).status_code == 404
    # and a level-4 user sees the public one by its owner's name, never the owner's user id
    pia = staff(tenant, "pia@cargas.example", level=4)
    for path in ("/mailboxes", f"/mailboxes/{public['mailbox_id']}"):
        answer = api.http.get(path, headers=pia)
        assert "Ada Ruiz" in answer.body.decode() and public["owner"] not in answer.body.decode()
    changed = api.http.patch(
        f"/mailboxes/{public['mailbox_id']}", headers=luis, body=json.dumps({"folders": ["x"]})
    )
    assert changed.status_code == 403

    # When Ana deletes her record, it leaves the register only: the mailbox keeps the message,
    # and the next sync does not log it again
    deleted = api.http.delete(f"/clients/CLI-3/register/{ana_record['communication_id']}", headers=ana)
    assert deleted.status_code == 204
    api.http.post("/mailboxes/sync", headers=ana)
    run_syncs()
    assert seen(ana) == ["Para la oficina"]
    assert len(imap_server.flags(ANA, "INBOX")) == 1


def test_a_wrong_password_is_the_servers_answer_and_logs_nothing(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
) -> None:
    # Given a client's message in Ana's mailbox, and the mailbox added with a wrong password
    office_clients(api, tenant)
    imap_server.append(ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, "Hola")])
    ana = staff(tenant, ANA)
    mailbox = add_mailbox(api, ana, imap_server, ANA, password="no-es-esta", folders=["INBOX"])

    # When the connection is tested and the mailbox synced
    tested = api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana)
    run_syncs()

    # Then the answer is the server's own words, the monitor shows them, nothing is logged
    assert tested.status_code == 200
    assert body(tested) == {
        "ok": False,
        "answer": "[AUTHENTICATIONFAILED] Authentication failed.",
        "folders": {},
    }
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["last_error"] == "[AUTHENTICATIONFAILED] Authentication failed."
    assert shown["logged_count"] == 0 and shown["password_set"] is True
    assert register_seen(api, ana, "CLI-3") == []

    # When the right password is set the test passes with the server's words and folder sizes
    api.http.put(
        f"/mailboxes/{mailbox['mailbox_id']}/password",
        headers=ana,
        body=json.dumps({"password": "clave-de-ana"}),
    )
    tested = body(api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=ana))
    assert tested["ok"] is True and "Logged in" in tested["answer"] and tested["folders"] == {"INBOX": 1}

    # When the mailbox is pointed at another user, the password goes with the old one
    moved = api.http.patch(
        f"/mailboxes/{mailbox['mailbox_id']}", headers=ana, body=json.dumps({"username": LUIS})
    )
    assert body(moved)["password_set"] is False


def test_a_password_and_a_folder_with_an_enie_log_in_and_their_mail_is_logged(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
) -> None:
    # Given Marta, whose mail password is "contraseña-Ñandú", with a client's message in her inbox
    # and one in her folder "Facturación" (modified UTF-7 on the wire: "Facturaci&APM-n")
    office_clients(api, tenant)
    imap_server.append(MARTA, "INBOX", [filed_mail("rios@talleres.example", MARTA, "Hola Marta")])
    imap_server.append(MARTA, "Facturaci&APM-n", [filed_mail(MARTA, "rios@talleres.example", "Factura 7")])
    marta = staff(tenant, MARTA)

    # When she adds her mailbox with both folders, its connection is tested and it is synced
    mailbox = add_mailbox(api, marta, imap_server, MARTA, folders=["INBOX", "Facturación"])
    tested = api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=marta)
    run_syncs()

    # Then the server let her in (SASL PLAIN in UTF-8) and opened both folders
    assert tested.status_code == 200
    answer = body(tested)
    assert answer["ok"] is True and "Logged in" in answer["answer"]
    assert answer["folders"] == {"INBOX": 1, "Facturación": 1}
    # and the sync logged both messages, with no error on the monitor
    shown = monitor(api, marta, mailbox["mailbox_id"])
    assert shown["last_error"] is None and shown["logged_count"] == 2
    assert sorted(r["subject"] for r in register_seen(api, marta, "CLI-3")) == ["Factura 7", "Hola Marta"]

    # When the password set is one no server could be sent (a lone surrogate, which JSON can carry)
    refused = api.http.put(
        f"/mailboxes/{mailbox['mailbox_id']}/password",
        headers=marta,
        body=json.dumps({"password": "contraseña-\ud800"}),
    )
    # Then it is refused naming the field, and the one that works is kept
    assert refused.status_code == 422 and body(refused)["field"] == "password"
    assert body(api.http.post(f"/mailboxes/{mailbox['mailbox_id']}/test", headers=marta))["ok"] is True


def test_turning_a_mailboxs_encryption_off_removes_its_password(api: Client, tenant: Tenant) -> None:
    # Given Ana's mailbox read over TLS (STARTTLS), with its write-only password
    ana = staff(tenant, ANA)
    added = api.http.post(
        "/mailboxes",
        headers=ana,
        body=json.dumps({"host": "127.0.0.1", "port": 143, "encryption": "starttls", "username": ANA}),
    )
    assert added.status_code == 201, added.body
    path = f"/mailboxes/{body(added)['mailbox_id']}"
    api.http.put(f"{path}/password", headers=ana, body=json.dumps({"password": "clave-de-ana"}))
    assert body(api.http.get(path, headers=ana))["password_set"] is True
    # When the encryption is turned off, keeping host, port and user
    plain = api.http.patch(path, headers=ana, body=json.dumps({"encryption": "none"}))
    # Then the password is gone: it would cross the network in clear, to any server answering
    # for the host name; the connection test says so and logs in nowhere
    assert plain.status_code == 200 and body(plain)["password_set"] is False
    tested = body(api.http.post(f"{path}/test", headers=ana))
    assert tested == {"ok": False, "answer": "no password is set for this mailbox", "folders": {}}
    # And turning it on again keeps a password set meanwhile
    api.http.put(f"{path}/password", headers=ana, body=json.dumps({"password": "clave-de-ana"}))
    secure = api.http.patch(path, headers=ana, body=json.dumps({"encryption": "tls", "port": 143}))
    assert body(secure)["password_set"] is True


def test_bad_mailbox_settings_are_refused_naming_the_field(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana = staff(tenant, ANA)
    for data, field in [
        ({"host": "10.0.0.5", "username": ANA}, "host"),
        ({"host": "imap.example.com\r\nX", "username": ANA}, "host"),
        ({"host": "imap.example.com", "username": ANA, "port": 0}, "port"),
        ({"host": "imap.example.com", "username": ANA, "folders": []}, "folders"),
        ({"host": "imap.example.com"}, "username"),
        ({"host": "imap.example.com", "username": ANA, "encryption": "ssl3"}, "encryption"),
    ]:
        response = api.http.post("/mailboxes", headers=ana, body=json.dumps(data))
        assert response.status_code == 422, (data, response.body)
        assert field in json.dumps(body(response)), (data, response.body)
    assert body(api.http.get("/mailboxes", headers=ana))["items"] == []
    # A loopback server saved while the local stack allows it is refused once loopback is not
    # allowed: when saved, and at every connection (checked again, to the address checked)
    loopback = json.dumps({"host": "127.0.0.1", "username": ANA})
    saved = body(api.http.post("/mailboxes", headers=ana, body=loopback))
    password = json.dumps({"password": "x"})
    api.http.put(f"/mailboxes/{saved['mailbox_id']}/password", headers=ana, body=password)
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    response = api.http.post("/mailboxes", headers=ana, body=loopback)
    assert response.status_code == 422 and "loopback" in response.body.decode()
    tested = body(api.http.post(f"/mailboxes/{saved['mailbox_id']}/test", headers=ana))
    assert tested["ok"] is False
    assert tested["answer"].startswith("refused: 127.0.0.1 is a loopback address")


def test_a_server_that_is_not_imap_is_not_echoed(api: Client, tenant: Tenant) -> None:
    # Given a service that is no IMAP server and greets with a banner of its own (an SSH server,
    # a cache, an internal engine), where a user of any level points a mailbox
    banner = b"SSH-2.0-internal-engine build=7 aws_secret=AKIA-INTERNAL\r\n"
    listener = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.sendall(banner)
            connection.recv(1024)

    threading.Thread(target=greet, daemon=True).start()
    ana = staff(tenant, ANA, level=4)
    settings = {"host": "127.0.0.1", "port": listener.getsockname()[1], "encryption": "none", "username": ANA}
    with listener:
        added = body(api.http.post("/mailboxes", headers=ana, body=json.dumps(settings)))
        path = f"/mailboxes/{added['mailbox_id']}"
        api.http.put(f"{path}/password", headers=ana, body=json.dumps({"password": "clave-de-ana"}))
        # When the mailbox is tested
        tested = body(api.http.post(f"{path}/test", headers=ana))
    # Then the answer says it is not an IMAP server, and nothing of what it wrote comes back
    assert tested == {
        "ok": False,
        "answer": "not an IMAP server: its answer was not an IMAP reply",
        "folders": {},
    }


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A server that accepts connections and never says a word (a hung IMAP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_mailbox_that_times_out_does_not_stop_the_others(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
    silent_server: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a hung server behind the office's mailbox and Ana's working mailbox, 1 s socket timeouts
    monkeypatch.setenv("PREGON_IMAP_TIMEOUT_SECONDS", "1")
    office_clients(api, tenant)
    imap_server.append(ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, "Sigo aquí")])
    admin = tenant.admin_headers()
    hung = add_mailbox(api, admin, imap_server, OFICINA, visibility="public")
    api.http.patch(
        f"/mailboxes/{hung['mailbox_id']}", headers=admin, body=json.dumps({"port": silent_server})
    )
    api.http.put(
        f"/mailboxes/{hung['mailbox_id']}/password", headers=admin, body=json.dumps({"password": "x"})
    )
    working = add_mailbox(api, admin, imap_server, ANA, visibility="public", folders=["INBOX"])

    # When every mailbox is synced (one job each)
    started = time.monotonic()
    queued = body(api.http.post("/mailboxes/sync", headers=admin))["queued"]
    run_syncs()

    # Then the working one is logged, the hung one shows its timeout, within seconds
    assert sorted(queued) == sorted([hung["mailbox_id"], working["mailbox_id"]])
    assert [r["subject"] for r in register_seen(api, admin, "CLI-3")] == ["Sigo aquí"]
    assert "timed out" in monitor(api, admin, hung["mailbox_id"])["last_error"]
    assert monitor(api, admin, working["mailbox_id"])["last_error"] is None
    assert time.monotonic() - started < 20


def test_replying_from_a_record_sends_a_threaded_answer_from_the_users_account(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
    mailbox: MailCatcher,
) -> None:
    # Given a client's message logged from Ana's mailbox, and Ana's own sender account
    office_clients(api, tenant)
    original = filed_mail(
        "José Pérez <jose@nandu.example>",
        ANA,
        "¿Cuándo presentan el IVA?",
        message_id="<pregunta-1@nandu.example>",
    )
    imap_server.append(ANA, "INBOX", [original])
    ana = staff(tenant, ANA)
    add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()
    smtp_sender_account(tenant.company_id, f"user:{ANA}", mailbox, "Ana García", ANA)
    [record] = register_seen(api, ana, "CLI-2")
    # filed under a motive and an area of the company's (seed 004: the tables the firm fills)
    admin = tenant.admin_headers()
    for table, code in (("motives", "iva"), ("motives", "cobro"), ("areas", "fiscal"), ("areas", "conta")):
        added = api.http.post(
            f"/register/{table}", headers=admin, body=json.dumps({"code": code, "name": code})
        )
        assert added.status_code == 201, added.body
    tagged = api.http.patch(
        f"/clients/CLI-2/register/{record['communication_id']}",
        headers=ana,
        body=json.dumps({"motive": "iva", "area": "fiscal"}),
    )
    assert tagged.status_code == 200, tagged.body
    # and its detail names the sender as the mail did, name and address
    question = body(api.http.get(f"/clients/CLI-2/register/{record['communication_id']}", headers=ana))
    assert (question["from_name"], question["from_address"]) == ("José Pérez", "jose@nandu.example")

    # When Ana answers it from the register
    response = api.http.post(
        f"/clients/CLI-2/register/{record['communication_id']}/reply",
        headers=ana,
        body=json.dumps({"text": "El día 20, José. Un saludo."}),
    )
    assert response.status_code == 201, response.body
    deliver_outboxes()

    # Then José receives it from Ana's account, threaded to his message
    [received] = mailbox.messages()
    assert received["To"] == "José Pérez <jose@nandu.example>"
    assert ANA in received["From"]
    assert received["Subject"] == "Re: ¿Cuándo presentan el IVA?"
    assert received["In-Reply-To"] == "<pregunta-1@nandu.example>"
    assert str(received["References"]).split()[0] == "<pregunta-1@nandu.example>"
    assert "El día 20" in text_of(received)
    # as bytes a strict receiver reads (7-bit, CRLF, whole msg-ids, one mailbox in From and To)
    assert wire_problems(mailbox.files()[0].read_bytes(), domain=ANA.split("@")[1]) == []
    # and the register shows the answer as a new record, above the question
    items = register_seen(api, ana, "CLI-2")
    assert [(r["direction"], r["subject"], r["created_by"]) for r in items] == [
        ("out", "Re: ¿Cuándo presentan el IVA?", ANA),
        ("in", "¿Cuándo presentan el IVA?", ANA),
    ]
    # filed under the motive and area of the message it answers, and addressed to José by name
    answer = body(api.http.get(f"/clients/CLI-2/register/{items[0]['communication_id']}", headers=ana))
    assert (answer["motive"], answer["area"]) == ("iva", "fiscal")
    assert (answer["to_name"], answer["to_address"]) == ("José Pérez", "jose@nandu.example")

    # When Ana answers again choosing another motive and no area
    again = api.http.post(
        f"/clients/CLI-2/register/{record['communication_id']}/reply",
        headers=ana,
        body=json.dumps({"text": "Y el cobro, el 25.", "motive": "cobro", "area": None}),
    )
    # Then the answer is filed as she chose
    assert again.status_code == 201, again.body
    assert (body(again)["motive"], body(again)["area"]) == ("cobro", None)
    # And a motive the company does not have is refused, naming it, and nothing is sent
    unknown = api.http.post(
        f"/clients/CLI-2/register/{record['communication_id']}/reply",
        headers=ana,
        body=json.dumps({"text": "x", "motive": "nomina"}),
    )
    assert unknown.status_code == 422 and "motive" in unknown.body.decode(), unknown.body
    assert len(register_seen(api, ana, "CLI-2")) == 3

    # When a manual note is "answered", it is refused: only e-mails can be
    note = api.http.post("/clients/CLI-2/register", headers=ana, body=json.dumps({"subject": "Llamada"}))
    refused = api.http.post(
        f"/clients/CLI-2/register/{body(note)['communication_id']}/reply",
        headers=ana,
        body=json.dumps({"text": "x"}),
    )
    assert refused.status_code == 409


def test_staff_attach_a_document_to_a_message_logged_from_their_mail(
    api: Client, tenant: Tenant, imap_server: Dovecot
) -> None:
    # Given a client's message with a PDF, logged in its register from Ana's mailbox
    office_clients(api, tenant)
    imap_server.append(
        ANA,
        "INBOX",
        [
            filed_mail(
                ANA,
                "jose@nandu.example",
                "Balance 2025",
                attachments=[("balance.pdf", "application/pdf", PDF)],
            )
        ],
    )
    ana = staff(tenant, ANA)
    add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()
    [record] = register_seen(api, ana, "CLI-2")
    flags_before = imap_server.flags(ANA, "INBOX")
    # When Ana attaches the signed copy to that record (the seed: "ya sea éste un mensaje grabado
    # de forma automática proveniente de tu correo o grabado de forma manual")
    added = api.http.post(
        f"/clients/CLI-2/register/{record['communication_id']}/attachments",
        headers=ana,
        body=json.dumps(
            {
                "name": "balance firmado.xlsx",
                "content_type": "application/vnd.ms-excel",
                "content_base64": base64.b64encode(XLSX).decode(),
            }
        ),
    )
    # Then the record lists it beside the message's own file, saying who added it
    assert added.status_code == 201, added.body
    detail = body(record_of(api, ana, "CLI-2", record["communication_id"]))
    assert [(a["name"], a["added_by"]) for a in detail["attachments"]] == [
        ("balance.pdf", None),
        ("balance firmado.xlsx", ANA),
    ]
    assert download(api, ana, "CLI-2", record["communication_id"]) == {
        "balance.pdf": PDF,
        "balance firmado.xlsx": XLSX,
    }
    # And the mailbox is left as it was
    assert imap_server.flags(ANA, "INBOX") == flags_before


def test_a_large_backlog_is_read_in_follow_up_syncs_and_a_missing_folder_is_named(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 45 client messages in Ana's inbox, syncs that look at 10 messages at most, and a
    # folder the server does not have
    from chalicelib.records.mailboxes import sync

    monkeypatch.setattr(sync, "HEADER_BATCH", 10)
    monkeypatch.setattr(sync, "MAX_SCANNED_PER_SYNC", 10)
    office_clients(api, tenant)
    imap_server.append(
        ANA, "INBOX", [filed_mail("rios@talleres.example", ANA, f"Consulta {n}") for n in range(45)]
    )
    ana = staff(tenant, ANA)

    # When the mailbox is added
    mailbox = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX", "Archivo"])
    answers = run_syncs()

    # Then the backlog was read by five syncs, one after the other, each message logged once
    assert sum(1 for a in answers if isinstance(a, dict) and "mailboxes" in a) == 5
    subjects = [r["subject"] for r in register_seen(api, ana, "CLI-3")]
    assert sorted(subjects) == sorted(f"Consulta {n}" for n in range(45))
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["logged_count"] == 45 and shown["folder_state"]["INBOX"]["last_uid"] == 45
    # and the folder that is not there is named, with the server's answer
    assert shown["last_error"].startswith("Archivo: ") and "exist" in shown["last_error"]


def test_large_messages_are_read_a_few_megabytes_at_a_time_and_one_over_the_limit_from_its_headers(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a sync that fetches whole messages 2 MB at a time at most and keeps messages of up to
    # 5 MB (40 MB and 24 MB in production: smaller here so the test stays quick), and the
    # fetches it makes, seen as they go to the server
    from chalicelib.records.mailboxes import sync
    from chalicelib.records.mailboxes.imap import Session

    monkeypatch.setattr(sync, "MESSAGE_BATCH_BYTES", 2 * 2**20)
    monkeypatch.setattr(sync, "MAX_MESSAGE_BYTES", 5 * 2**20)
    fetched: list[list[int]] = []
    fetch_whole = Session.messages

    def seen(self: Session, uids: list[int]) -> dict[int, bytes]:
        fetched.append(list(uids))
        return fetch_whole(self, uids)

    monkeypatch.setattr(Session, "messages", seen)
    # And Ana's inbox: a client's 6 MB scan (over the limit), four of about 0.9 MB, and a short one
    office_clients(api, tenant)
    scan = bytes(range(256)) * (6 * 2**20 // 256)
    page = bytes(reversed(range(256))) * (650 * 1024 // 256)
    imap_server.append(
        ANA,
        "INBOX",
        [
            filed_mail(
                "contabilidad@munoz.example",
                ANA,
                "Escaneo del libro mayor",
                date=DAY,
                attachments=[("mayor.pdf", "application/pdf", scan)],
            ),
            *(
                filed_mail(
                    "contabilidad@munoz.example",
                    ANA,
                    f"Factura {n}",
                    date=DAY,
                    attachments=[(f"factura-{n}.pdf", "application/pdf", page)],
                )
                for n in range(4)
            ),
            filed_mail("contabilidad@munoz.example", ANA, "Gracias", date=DAY),
        ],
    )
    ana = staff(tenant, ANA)

    # When the mailbox is synced
    mailbox = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()

    # Then every message is in the client's register, each once
    records = {r["subject"]: r for r in register_seen(api, ana, "CLI-1")}
    assert sorted(records) == sorted(
        ["Escaneo del libro mayor", "Gracias", *(f"Factura {n}" for n in range(4))]
    )
    # the ones within the limit whole, attachments byte for byte, fetched at most 2 MB at a time
    assert download(api, ana, "CLI-1", records["Factura 2"]["communication_id"]) == {"factura-2.pdf": page}
    # (each invoice is about 0.9 MB as the server counts it, base64 and all: two fit in 2 MB, and
    # the short one goes with the last two)
    assert fetched == [[2, 3], [4, 5, 6]]
    # and the one over it from its headers, saying why, with nothing of its 6 MB kept
    detail = body(record_of(api, ana, "CLI-1", records["Escaneo del libro mayor"]["communication_id"]))
    assert detail["from_address"] == "contabilidad@munoz.example"
    assert detail["attachments"] == []
    assert detail["error"].startswith("the message is 8.2 MB, over the 5 MB Pregón keeps: only its headers")
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["logged_count"] == 6 and shown["last_error"] is None


def test_a_message_pregon_sent_is_answered_from_the_areas_account_when_the_user_has_none(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given an e-mail Pregón sent a client from the tracking area's account, as it arrived
    office_clients(api, tenant)
    record_id = send_email(tenant, "rios@talleres.example", "Su envío", client_id="CLI-3")
    deliver_outboxes()
    [first] = mailbox.messages()
    luis = staff(tenant, LUIS)

    # When Luis (no sender account of his own) answers it from the register
    response = api.http.post(
        f"/clients/CLI-3/register/{record_id}/reply",
        headers=luis,
        body=json.dumps({"text": "Sigue en camino."}),
    )
    assert response.status_code == 201, response.body
    deliver_outboxes()

    # Then the answer goes out from the area's account, threaded after the first message and
    # still carrying Pregón's own references, so the client's next answer threads too
    [_, answer] = mailbox.wait_for(2)
    assert answer["From"] == first["From"] and answer["To"] == "rios@talleres.example"
    assert answer["Subject"] == "Re: Su envío"
    assert answer["In-Reply-To"] == first["Message-ID"]
    references = str(answer["References"]).split()
    assert first["Message-ID"] in references and str(first["References"]) in references
    assert [r["subject"] for r in register_seen(api, luis, "CLI-3")] == ["Re: Su envío", "Su envío"]


def test_a_received_message_without_a_message_id_is_answered_without_in_reply_to(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client's e-mail received through SES inbound with no Message-ID (as the guides'
    # `curl --upload-file` of a bare file sends it), and the company's `all` account
    office_clients(api, tenant)
    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "avisos@cargasdelsur.example")
    receive_mail(
        api, tenant.company_id, "rios@talleres.example", "Consulta", "¿Llegó?", with_message_id=False
    )
    luis = staff(tenant, LUIS)
    [record] = register_seen(api, luis, "CLI-3")

    # When Luis answers it from the register
    response = api.http.post(
        f"/clients/CLI-3/register/{record['communication_id']}/reply",
        headers=luis,
        body=json.dumps({"text": "Sí, llegó."}),
    )

    # Then it is sent to the sender, with nothing to thread it to but Pregón's own Reply-To
    assert response.status_code == 201, response.body
    deliver_outboxes()
    [answer] = mailbox.wait_for(1)
    assert answer["To"] == "rios@talleres.example" and answer["Subject"] == "Re: Consulta"
    assert answer["In-Reply-To"] is None
    assert "+r-" in str(answer["Reply-To"])
    assert [r["subject"] for r in register_seen(api, luis, "CLI-3")] == ["Re: Consulta", "Consulta"]


def test_a_message_that_also_reached_pregon_through_ses_inbound_is_logged_once(
    api: Client, tenant: Tenant, imap_server: Dovecot
) -> None:
    # Given a client's message to Ana with a copy to the company's inbound address: SES stored it
    # in S3 and its notification was handled (I3), and it is in Ana's inbox too
    from chalicelib.core.aws import client

    office_clients(api, tenant)
    inbound = f"{tenant.company_id}@inbound.pregon.local"
    raw = filed_mail(
        "rios@talleres.example", [ANA, inbound], "Copia a Pregón", message_id="<copia@talleres.example>"
    )
    client("s3").put_object(Bucket="pregon-inbound", Key="mail/ses-1", Body=raw)
    notification = {
        "notificationType": "Received",
        "receipt": {
            "recipients": [inbound],
            "action": {"type": "S3", "bucketName": "pregon-inbound", "objectKey": "mail/ses-1"},
        },
        "mail": {"messageId": "ses-1", "source": "rios@talleres.example", "destination": [inbound]},
    }
    event = api.events.generate_sns_event(
        message=json.dumps(notification), subject="Amazon SES Email Receipt"
    )
    assert api.lambda_.invoke("receive_inbound_mail", event).payload["logged"] == 1
    imap_server.append(ANA, "INBOX", [raw])
    ana = staff(tenant, ANA)

    # When Ana's mailbox is synced
    mailbox = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()

    # Then the register shows the message once: the one Pregón received
    assert [(r["subject"], r["channel"]) for r in register_seen(api, ana, "CLI-3")] == [
        ("Copia a Pregón", "email")
    ]
    assert monitor(api, ana, mailbox["mailbox_id"])["logged_count"] == 0
