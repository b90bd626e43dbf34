"""An inbox full of robots: what comes back when Pregón sends invoices is mostly machines
(out-of-office replies, delivery status notifications, read receipts, challenge-response filters,
no-reply newsletters). Each is a realistic message in ``tests/fixtures/mail/robots/`` answering an
e-mail Pregón really sent (its Message-ID, References and Reply-To filled in), delivered through
the real inbound SMTP server (aiosmtpd, as SES receiving stores it: moto's S3 and SNS, the deployed
handler). What staff see is read through the API; what Pregón sends, on the SMTP catcher's wire;
what the company's help desk hears, on a real webhook endpoint."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.imapserver import Dovecot
from infrastructure.local.inbound_smtp import InboundSmtp
from infrastructure.local.paths import free_port
from infrastructure.local.topics import run_topics_until_empty
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.history import listed, send_email
from tests.steps.inbound import inbound_address, receive
from tests.steps.mailboxes import add_mailbox, register_seen, run_syncs
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant
from tests.steps.webhooks import Receiver, deliver_webhooks, drain_webhook_queue

ROBOTS = Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "robots"
INBOUND_DOMAIN = "inbound.pregon.local"
CLIENT = "ana@cliente.example"
SUBJECT = "Factura A-0001"


@pytest.fixture
def inbound(local_aws: dict[str, str]) -> Iterator[InboundSmtp]:
    from app import app

    run_topics_until_empty(app)  # nothing left over from another test
    drain_webhook_queue()
    with InboundSmtp(port=free_port()) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def invoice_sent(api: Client, tenant: Tenant, receiver: Receiver) -> tuple[str, dict[str, str]]:
    """Given the client Ana, an invoice Pregón e-mailed her (caught on the SMTP server's wire), and
    the company's help desk listening for client mail and bounces; the invoice's id and headers."""
    put_client(api, tenant, "CLI-1", name="Ana", emails=[CLIENT])
    response = api.http.post(
        "/webhooks",
        headers=tenant.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["inbound.received", "message.bounced"]}),
    )
    assert response.status_code == 201, response.body
    sent_id = send_email(tenant, CLIENT, SUBJECT, client_id="CLI-1")
    deliver_outboxes()
    assert tenant.mailbox is not None
    [ours] = tenant.mailbox.messages()
    headers = {name: str(ours[name]) for name in ("Message-ID", "References", "Reply-To")}
    return sent_id, headers


def filled(fixture: str, tenant: Tenant, ours: dict[str, str], changed: dict[str, str] | None = None) -> str:
    """A robot's message (``tests/fixtures/mail/robots``) answering our e-mail ``ours``."""
    raw = (ROBOTS / fixture).read_text(encoding="utf-8")
    for old, new in (changed or {}).items():
        assert old in raw
        raw = raw.replace(old, new)
    for name, value in {
        "{{CLIENT}}": CLIENT,
        "{{SUBJECT_Q}}": SUBJECT.replace(" ", "_"),
        "{{SUBJECT}}": SUBJECT,
        "{{MESSAGE_ID}}": ours["Message-ID"],
        "{{REFERENCES}}": ours["References"],
        "{{REPLY_TO}}": ours["Reply-To"],
        "{{INBOUND}}": f"{tenant.company_id}@{INBOUND_DOMAIN}",
    }.items():
        raw = raw.replace(name, value)
    return raw


def robot_answers(
    inbound: InboundSmtp,
    tenant: Tenant,
    fixture: str,
    ours: dict[str, str],
    *,
    mail_from: str,
    changed: dict[str, str] | None = None,
) -> None:
    """The robot's message, filled in for our invoice (``changed``: its text replaced first),
    through the inbound SMTP port to the address in its To: (our Reply-To, or the company's plain
    address, where a forwarded mailbox delivers)."""
    raw = filled(fixture, tenant, ours, changed)
    data = raw.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    rcpt = (
        ours["Reply-To"]
        if ours["Reply-To"] in raw.split("\n\n", 1)[0]
        else f"{tenant.company_id}@{INBOUND_DOMAIN}"
    )
    with smtplib.SMTP("127.0.0.1", inbound.port, timeout=10) as smtp:
        smtp.sendmail(mail_from, [rcpt], data)
    from app import app

    handled = run_topics_until_empty(app)
    assert [h.get("logged") for h in handled] == [1], handled


def received_in_register(api: Client, tenant: Tenant) -> dict[str, Any]:
    """The one received record in Ana's register, as its detail shows it."""
    items = body(api.http.get("/clients/CLI-1/register", headers=tenant.staff_headers()))["items"]
    [record] = [i for i in items if i["direction"] == "in"]
    detail: dict[str, Any] = body(
        api.http.get(f"/clients/CLI-1/register/{record['communication_id']}", headers=tenant.staff_headers())
    )
    return {**record, "detail": detail}


def inbound_detail(api: Client, tenant: Tenant, communication_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = body(api.http.get(f"/inbound/{communication_id}", headers=tenant.staff_headers()))
    return shown


def our_message(api: Client, tenant: Tenant, sent_id: str) -> dict[str, Any]:
    shown: dict[str, Any] = body(api.http.get(f"/history/email/{sent_id}", headers=tenant.staff_headers()))
    return shown


def suppressed(api: Client, tenant: Tenant) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body(api.http.get("/suppressions", headers=tenant.admin_headers()))["items"]
    return items


def help_desk_heard(receiver: Receiver) -> list[tuple[str, str]]:
    deliver_webhooks()
    return [(got.event["type"], got.event["data"].get("message_id")) for got in receiver.received]


# --- automatic replies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    ["ooo_gmail_es.eml", "ooo_exchange_en.eml", "ooo_cpanel_es.eml", "challenge_es.eml"],
)
def test_an_automatic_reply_is_in_the_clients_history_marked_and_answered_by_nothing(
    api: Client, tenant: Tenant, inbound: InboundSmtp, receiver: Receiver, fixture: str
) -> None:
    # Given an invoice Pregón e-mailed Ana, and the company's help desk listening
    sent_id, ours = invoice_sent(api, tenant, receiver)
    # When an automatic reply to it comes back (an out-of-office, a challenge-response filter)
    robot_answers(inbound, tenant, fixture, ours, mail_from=CLIENT)
    # Then it is in Ana's register, threaded to the invoice, marked as an automatic reply
    record = received_in_register(api, tenant)
    assert record["auto_submitted"] == record["detail"]["auto_submitted"] == "auto_reply"
    shown = inbound_detail(api, tenant, record["communication_id"])
    assert (shown["in_reply_to"], shown["auto_submitted"], shown["unassigned"]) == (
        sent_id,
        "auto_reply",
        False,
    )
    # And the history's search finds it among the mail received, marked in the list as in the detail
    assert listed(api, tenant.staff_headers(), "status=received&q=a-0001") == [record["subject"]]
    items = body(api.http.get("/history/email?status=received", headers=tenant.staff_headers()))["items"]
    assert [(i["subject"], i["auto_submitted"]) for i in items] == [(record["subject"], "auto_reply")]
    detail = body(
        api.http.get(f"/history/email/{record['communication_id']}", headers=tenant.staff_headers())
    )
    assert detail["auto_submitted"] == "auto_reply"
    # And the help desk is not told that the client wrote (it would open a ticket, or answer it)
    assert help_desk_heard(receiver) == []
    # And Pregón answers nothing: the SMTP server got the invoice and nothing after it
    deliver_outboxes()
    assert tenant.mailbox is not None
    assert [str(m["Subject"]) for m in tenant.mailbox.messages()] == [SUBJECT]
    # And the invoice is still sent, not bounced
    assert our_message(api, tenant, sent_id)["state"] == "sent"


def test_a_persons_answer_that_mentions_an_out_of_office_is_the_client_writing(
    api: Client, tenant: Tenant, inbound: InboundSmtp, receiver: Receiver
) -> None:
    # Given an invoice Pregón e-mailed Ana
    sent_id, ours = invoice_sent(api, tenant, receiver)
    # When Ana herself answers it, her subject starting "Re: Fuera de la oficina?"
    robot_answers(inbound, tenant, "human_reply_es.eml", ours, mail_from=CLIENT)
    # Then it is her message: unmarked, and the help desk hears of it
    record = received_in_register(api, tenant)
    assert record["auto_submitted"] is None
    assert inbound_detail(api, tenant, record["communication_id"])["in_reply_to"] == sent_id
    assert help_desk_heard(receiver) == [("inbound.received", record["communication_id"])]


# --- delivery status notifications and read receipts ---------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "said", "suppressed_addresses", "sent_after"),
    [
        # her server's bounce: 550 5.1.1, from MAILER-DAEMON (Postfix), returning our headers
        ("dsn_postfix_hard.eml", "bounce Permanent/delivery report: 5.1.1 smtp; 550", [CLIENT], []),
        # Exchange gave up, in Spanish: her mailbox is full (4.2.2), our whole message returned
        (
            "dsn_exchange_full_es.eml",
            "bounce Transient/delivery report: 4.2.2 smtp;452",
            [],
            ["Factura A-0002"],
        ),
        # no RFC 3464 part: qmail's "Hi. This is the qmail-send program", our message below its text
        ("bounce_qmail.eml", "bounce Permanent/delivery report: 5.1.1 203.0.113.25", [CLIENT], []),
        # Exim's old "Mail delivery failed": it gave up on a full mailbox (452 4.2.2)
        (
            "bounce_exim_full.eml",
            "bounce Transient/delivery report: 4.2.2 host mx2",
            [],
            ["Factura A-0002"],
        ),
        # Exchange 2003's Spanish NDR ("No se puede entregar:"), our message attached
        ("ndr_exchange2003_es.eml", "bounce Permanent/delivery report: 5.1.1 La cuenta", [CLIENT], []),
    ],
)
def test_a_delivery_report_bounces_our_message_and_a_permanent_one_suppresses_the_address(
    api: Client,
    tenant: Tenant,
    inbound: InboundSmtp,
    receiver: Receiver,
    fixture: str,
    said: str,
    suppressed_addresses: list[str],
    sent_after: list[str],
) -> None:
    # Given an invoice Pregón e-mailed Ana through the company's SMTP server
    sent_id, ours = invoice_sent(api, tenant, receiver)
    # When the report that it could not be delivered (empty Return-Path) reaches the company's
    # mailbox, forwarded to its inbound address
    robot_answers(inbound, tenant, fixture, ours, mail_from="")
    # Then the invoice is bounced, saying why, as an SES bounce would
    invoice = our_message(api, tenant, sent_id)
    assert invoice["state"] == "bounced" and invoice["error"].startswith(said), invoice["error"]
    # And a permanent failure puts Ana's address on the suppression list, naming the invoice
    entries = suppressed(api, tenant)
    assert [e["address"] for e in entries] == suppressed_addresses
    assert all((e["reason"], e["communication_id"]) == ("bounce", sent_id) for e in entries)
    # And the report itself is in her register, threaded to the invoice, marked a delivery report
    record = received_in_register(api, tenant)
    assert record["auto_submitted"] == "delivery_report"
    assert inbound_detail(api, tenant, record["communication_id"])["in_reply_to"] == sent_id
    # And the help desk hears of a bounce, not of a client writing
    assert help_desk_heard(receiver) == [("message.bounced", sent_id)]
    # And the next e-mail to her is sent only when her address was not suppressed
    send_email(tenant, CLIENT, "Factura A-0002", client_id="CLI-1")
    deliver_outboxes()
    assert tenant.mailbox is not None
    assert [str(m["Subject"]) for m in tenant.mailbox.messages()] == [SUBJECT, *sent_after]


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("dsn_delayed_es.eml", "delivery_report"),  # her server is still trying (delayed, 4.4.1)
        ("mdn_read_es.eml", "read_receipt"),  # her Thunderbird's "Leído: ..." (a read receipt)
    ],
)
def test_a_delay_warning_or_a_read_receipt_is_recorded_threaded_and_changes_nothing(
    api: Client, tenant: Tenant, inbound: InboundSmtp, receiver: Receiver, fixture: str, kind: str
) -> None:
    # Given an invoice Pregón e-mailed Ana
    sent_id, ours = invoice_sent(api, tenant, receiver)
    # When a report on it comes back, from an empty Return-Path, that is no failure
    robot_answers(inbound, tenant, fixture, ours, mail_from="")
    # Then the report is in her register, threaded to the invoice and marked
    record = received_in_register(api, tenant)
    assert record["auto_submitted"] == kind
    assert inbound_detail(api, tenant, record["communication_id"])["in_reply_to"] == sent_id
    # And nothing else moved: the invoice is sent, nothing suppressed, the help desk told nothing
    assert our_message(api, tenant, sent_id)["state"] == "sent"
    assert suppressed(api, tenant) == []
    assert help_desk_heard(receiver) == []


def test_a_delivery_report_for_another_address_changes_nothing(
    api: Client, tenant: Tenant, inbound: InboundSmtp, receiver: Receiver
) -> None:
    # Given an invoice Pregón e-mailed Ana
    sent_id, ours = invoice_sent(api, tenant, receiver)
    # When a bounce naming the invoice reports a failure for another address (one anyone who saw
    # the invoice could write, to have Ana's or someone's address suppressed)
    robot_answers(
        inbound,
        tenant,
        "dsn_postfix_hard.eml",
        ours,
        mail_from="",
        changed={"Final-Recipient: rfc822; {{CLIENT}}": "Final-Recipient: rfc822; otro@cliente.example"},
    )
    # Then the invoice is still sent and no address is suppressed; the report is recorded
    assert our_message(api, tenant, sent_id)["state"] == "sent"
    assert suppressed(api, tenant) == []
    assert received_in_register(api, tenant)["auto_submitted"] == "delivery_report"


# --- bulk mail -----------------------------------------------------------------------------------


def test_a_no_reply_newsletter_waits_unassigned_marked_and_staff_may_hide_it(
    api: Client, tenant: Tenant, inbound: InboundSmtp, receiver: Receiver
) -> None:
    # Given an invoice Pregón e-mailed Ana, and a stranger's question waiting unassigned
    _, ours = invoice_sent(api, tenant, receiver)
    stranger = {
        "From: Ana García <{{CLIENT}}>": "From: Beto <beto@otra.example>",
        "To: {{REPLY_TO}}": "To: {{INBOUND}}",
        "In-Reply-To: {{MESSAGE_ID}}\nReferences: {{REFERENCES}} {{MESSAGE_ID}}\n": "",
    }
    robot_answers(
        inbound, tenant, "human_reply_es.eml", ours, mail_from="beto@otra.example", changed=stranger
    )
    # When a supplier's newsletter (noreply@, Precedence: bulk) reaches the company's address
    robot_answers(inbound, tenant, "noreply_bulk.eml", ours, mail_from="bounces@news.proveedora.example")

    # Then it waits unassigned, marked as automatic, above the stranger's
    def waiting(query: str = "") -> list[tuple[str, str | None]]:
        answer = api.http.get(f"/inbound/unassigned{query}", headers=tenant.staff_headers())
        return [(i["from_address"], i["auto_submitted"]) for i in body(answer)["items"]]

    newsletter, beto = ("noreply@news.proveedora.example", "auto_generated"), ("beto@otra.example", None)
    assert waiting() == [newsletter, beto]
    assert help_desk_heard(receiver) == []
    # And staff may hide what machines sent, or see only that; a filter that is neither is refused
    assert waiting("?auto_submitted=false&limit=1") == [beto]
    assert waiting("?auto_submitted=true") == [newsletter]
    refused = api.http.get("/inbound/unassigned?auto_submitted=maybe", headers=tenant.staff_headers())
    assert refused.status_code == 422
    assert [e["field"] for e in body(refused)["errors"]] == ["auto_submitted"], refused.body


# --- a staff mailbox (IMAP) ----------------------------------------------------------------------

STAFF = "ana@estudio.example"  # a mail user of the test's dovecot (tests/steps/imap.py)


def test_an_out_of_office_in_a_staff_mailbox_is_logged_marked_and_a_persons_answer_is_not(
    api: Client, tenant: Tenant, imap_server: Dovecot
) -> None:
    # Given the client Ana, and a member of staff whose mailbox (a real dovecot) holds, answering an
    # invoice of theirs, Ana's Gmail out-of-office and then her own answer through her billing group
    put_client(api, tenant, "CLI-1", name="Ana", emails=[CLIENT])
    ours = {
        "Message-ID": "<factura-a-0001@estudio.example>",
        "References": "<factura-a-0001@estudio.example>",
        "Reply-To": STAFF,
    }
    imap_server.append(
        STAFF,
        "INBOX",
        [
            filled(name, tenant, ours).replace("\n", "\r\n").encode()
            for name in ("ooo_gmail_es.eml", "human_reply_es.eml")
        ],
    )
    token = IDENTITY.mint(tenant.company_id, user_id=STAFF, level=3)
    staff = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # When the mailbox is added and synced
    add_mailbox(api, staff, imap_server, STAFF, folders=["INBOX"])
    run_syncs()
    # Then both are in Ana's register: the out-of-office marked as an automatic reply, hers not
    assert sorted((r["subject"], r["auto_submitted"]) for r in register_seen(api, staff, "CLI-1")) == [
        (f"Fuera de la oficina: {SUBJECT}", "auto_reply"),
        (f"Re: Fuera de la oficina? No, acá estoy: {SUBJECT}", None),
    ]


def test_a_bounce_in_a_staff_mailbox_bounces_our_message_and_is_in_the_clients_register(
    api: Client, tenant: Tenant, receiver: Receiver, imap_server: Dovecot
) -> None:
    # Given an invoice Pregón e-mailed Ana through the company's SMTP server, and the mailbox of a
    # member of staff (a real dovecot) where that server's bounces land: Postfix's report that Ana's
    # address does not exist (from MAILER-DAEMON to the staff member: it names no client)
    sent_id, ours = invoice_sent(api, tenant, receiver)
    bounce = filled("dsn_postfix_hard.eml", tenant, ours, {"To: {{INBOUND}}": f"To: {STAFF}"})
    imap_server.append(STAFF, "INBOX", [bounce.replace("\n", "\r\n").encode()])
    token = IDENTITY.mint(tenant.company_id, user_id=STAFF, level=3)
    staff = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # When the mailbox is added and synced
    add_mailbox(api, staff, imap_server, STAFF, folders=["INBOX"])
    run_syncs()
    # Then the invoice is bounced, saying why, and Ana's address is suppressed, as from the inbound address
    invoice = our_message(api, tenant, sent_id)
    assert invoice["state"] == "bounced", invoice
    assert invoice["error"].startswith("bounce Permanent/delivery report: 5.1.1 smtp; 550"), invoice["error"]
    assert [(e["address"], e["communication_id"]) for e in suppressed(api, tenant)] == [(CLIENT, sent_id)]
    # And the report is in Ana's register, marked a delivery report
    [record] = [r for r in register_seen(api, staff, "CLI-1") if r["direction"] == "in"]
    assert (record["subject"], record["auto_submitted"]) == (
        "Undelivered Mail Returned to Sender",
        "delivery_report",
    )
    # And the help desk hears of a bounce, not of a client writing; a second sync changes nothing
    assert help_desk_heard(receiver) == [("message.bounced", sent_id)]
    run_syncs()
    assert len([r for r in register_seen(api, staff, "CLI-1") if r["direction"] == "in"]) == 1


def test_hiding_what_machines_sent_fills_each_page_of_the_unassigned_list(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given strangers' questions and robots' answers waiting unassigned, interleaved (newest first:
    # a person, two robots, a person, two robots, a person)
    robot = "Auto-Submitted: auto-replied\r\nSubject: Fuera de la oficina\r\n"
    for n, kind in enumerate(["person", "robot", "robot", "person", "robot", "robot", "person"]):
        headers = robot if kind == "robot" else "Subject: Consulta\r\n"
        raw = f"From: {kind}{n} <{kind}{n}@otra.example>\r\n{headers}\r\nHola.\r\n".encode()
        assert receive(api, raw, to=[inbound_address(tenant)])["logged"] == 1
        clock.set_now(clock.now() + timedelta(seconds=1))

    def pages(query: str) -> list[list[str]]:
        """Each page's senders, following ``next_cursor`` to the end."""
        found, cursor = [], ""
        while True:
            answer = api.http.get(f"/inbound/unassigned{query}{cursor}", headers=tenant.staff_headers())
            assert answer.status_code == 200, answer.body
            found.append([i["from_address"].split("@")[0] for i in body(answer)["items"]])
            if not body(answer)["next_cursor"]:
                return found
            cursor = f"&cursor={body(answer)['next_cursor']}"

    # When staff hide what machines sent, two or three at a time; or see only that, three at a time
    # Then each page is full while more wait behind it (the robots between are read past), nothing
    # is skipped or shown twice, and a page holding the last of them says there is no next one
    assert pages("?auto_submitted=false&limit=2") == [["person6", "person3"], ["person0"]]
    assert pages("?auto_submitted=false&limit=3") == [["person6", "person3", "person0"]]
    assert pages("?auto_submitted=true&limit=3") == [["robot5", "robot4", "robot2"], ["robot1"]]
    assert pages("?auto_submitted=true&limit=4") == [["robot5", "robot4", "robot2", "robot1"]]
