"""H3 against an attacker: a client's address (or anyone's who writes to a client) can put any bytes
in a staff mailbox. Synced over IMAP from a real server (dovecot, started by the test), a hostile
message is logged (or skipped, saying so), and never stops the sync: the messages after it are
still logged, and no sync is retried for ever on the same message."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.imapserver import Dovecot
from tests.steps.hostile_mail import (
    company_files,
    incompressible_text,
    nested_multiparts,
    tiny_parts,
    with_attachments,
)
from tests.steps.mailboxes import (
    add_mailbox,
    filed_mail,
    monitor,
    office_clients,
    record_of,
    register_seen,
    run_syncs,
)
from tests.steps.notes import staff_headers
from tests.steps.tenants import Tenant

ANA = "ana@estudio.example"  # the clerk whose mailbox is read (test_mailboxes' ANA)
DAY = datetime(2026, 10, 20, 9, 30, tzinfo=timezone.utc)
CLIENT = b"From: Rios <rios@talleres.example>\r\nTo: ana@estudio.example\r\n"
CONTROL = {chr(c) for c in range(32)} | {"\x7f"}


def hostile_messages() -> dict[str, bytes]:
    """Messages from the client CLI-3 that broke, or could break, what reads them."""
    return {
        "a Message-ID of 1 MB": CLIENT
        + b"Subject: huge id\r\nMessage-ID: <"
        + b"a" * 2**20
        + b"@talleres.example>\r\n\r\nbody\r\n",
        "a To of 1 MB": CLIENT.replace(b"To: ", b"To: " + b"b" * 2**20 + b"@x.example, ")
        + b"Subject: huge to\r\nMessage-ID: <huge-to@talleres.example>\r\n\r\nbody\r\n",
        "nested 3,000 deep": nested_multiparts(3000)
        .replace(b"From: Mallory <mallory@attacker.example>", b"From: rios@talleres.example")
        .replace(b"Subject: hostile", b"Subject: deep\r\nMessage-ID: <deep@talleres.example>"),
        "50,000 parts": tiny_parts(50_000)
        .replace(b"From: Mallory <mallory@attacker.example>", b"From: rios@talleres.example")
        .replace(b"Subject: hostile", b"Subject: parts\r\nMessage-ID: <parts@talleres.example>"),
        "control characters": CLIENT
        + b"Subject: pago\x1b[2J hecho\x07\r\nMessage-ID: <ctl@talleres.example>\r\n"
        + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        + b"--B\r\nContent-Type: text/plain\r\n\r\nhola\x00\r\n"
        + b"--B\r\nContent-Type: image/svg+xml\r\n"
        + b'Content-Disposition: attachment; filename="../../x\xe2\x80\xaefdp.svg"'
        + b"\r\n\r\n<svg onload='alert(1)'/>\r\n--B--\r\n",
    }


def test_hostile_messages_in_a_mailbox_are_logged_and_the_sync_goes_on(
    api: Client, tenant: Tenant, imap_server: Dovecot
) -> None:
    # Given Ana's inbox with hostile messages from a client, then an ordinary one
    office_clients(api, tenant)
    hostile = hostile_messages()
    imap_server.append(
        ANA, "INBOX", [*hostile.values(), filed_mail("rios@talleres.example", ANA, "Presupuesto", date=DAY)]
    )
    ana = staff_headers(tenant, ANA, 3)

    # When the mailbox is synced
    mailbox = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()

    # Then every message is in the client's register, the ordinary one after them too
    records = {r["subject"]: r for r in register_seen(api, ana, "CLI-3")}
    assert sorted(records) == sorted(
        ["huge id", "huge to", "deep", "parts", "pago [2J hecho", "Presupuesto"]
    ), sorted(records)
    shown = monitor(api, ana, mailbox["mailbox_id"])
    assert shown["last_error"] is None and shown["logged_count"] == 6

    # And what could not be read is said on each record
    def detail(subject: str) -> dict[str, Any]:
        return dict(json.loads(record_of(api, ana, "CLI-3", records[subject]["communication_id"]).body))

    assert "Message-ID over 500 characters" in detail("huge id")["error"]
    assert "nested too deep" in detail("deep")["error"]
    assert "more than 1000 MIME parts" in detail("parts")["error"]
    odd = detail("pago [2J hecho")
    assert [a["name"] for a in odd["attachments"]] == ["xfdp.svg"]
    assert not CONTROL & set(odd["subject"]) and "\x00" not in odd["text"]


def test_a_message_that_cannot_be_logged_as_read_is_logged_from_its_headers_and_the_sync_goes_on(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client's message that makes reading it fail in a way nobody foresaw (here: the
    # parser made to fail on its body), then an ordinary one
    from chalicelib.records.mailboxes import sync

    parse = sync.parse_mail

    def unforeseen(raw: bytes) -> Any:
        if b"BOOM" in raw:
            raise RecursionError("maximum recursion depth exceeded")
        return parse(raw)

    monkeypatch.setattr(sync, "parse_mail", unforeseen)
    office_clients(api, tenant)
    imap_server.append(
        ANA,
        "INBOX",
        [
            filed_mail("rios@talleres.example", ANA, "Raro", text="BOOM", date=DAY),
            filed_mail("rios@talleres.example", ANA, "Presupuesto", date=DAY),
        ],
    )
    ana = staff_headers(tenant, ANA, 3)

    # When the mailbox is synced
    mailbox = add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()

    # Then both are logged (the sync was not retried on it for ever), the odd one from its
    # headers, saying why
    records = {r["subject"]: r for r in register_seen(api, ana, "CLI-3")}
    assert sorted(records) == ["Presupuesto", "Raro"]
    odd = json.loads(record_of(api, ana, "CLI-3", records["Raro"]["communication_id"]).body)
    assert "could not be read (RecursionError)" in odd["error"] and "still in the mailbox" in odd["error"]
    assert monitor(api, ana, mailbox["mailbox_id"])["logged_count"] == 2


def test_a_message_logged_from_its_headers_leaves_no_attachment_that_no_record_names(
    api: Client, tenant: Tenant, imap_server: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client's message with two attachments whose record DynamoDB then refuses (here: the
    # bound on the text kept lifted, so that 1 MB of text that does not compress goes past 400 KB
    # an item), then an ordinary one
    from chalicelib.records import mime

    monkeypatch.setattr(mime, "MAX_TEXT_BYTES", 2**21)
    office_clients(api, tenant)
    head = CLIENT + b"Subject: Raro\r\nMessage-ID: <raro@talleres.example>\r\n"
    imap_server.append(
        ANA,
        "INBOX",
        [
            with_attachments(head, incompressible_text(2**20)),
            filed_mail("rios@talleres.example", ANA, "Presupuesto", date=DAY),
        ],
    )
    ana = staff_headers(tenant, ANA, 3)

    # When the mailbox is synced
    add_mailbox(api, ana, imap_server, ANA, folders=["INBOX"])
    run_syncs()

    # Then both are logged, the odd one from its headers, naming no attachment
    records = {r["subject"]: r for r in register_seen(api, ana, "CLI-3")}
    assert sorted(records) == ["Presupuesto", "Raro"]
    odd = json.loads(record_of(api, ana, "CLI-3", records["Raro"]["communication_id"]).body)
    assert "could not be read" in odd["error"] and odd["attachments"] == []
    # And the attachments the failed attempt had kept are gone: no file of the company's synced
    # mail is left that no record names
    assert company_files(tenant.company_id, "mailbox") == []
