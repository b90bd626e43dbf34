"""What someone who reads Pregón's logs learns (a support engineer, a contractor with CloudWatch
read access, a leaked export): ids, counts and states, never a client's personal data nor a
secret (docs/operations.md, "What the logs hold").

A client with a distinctive name, address and phone, and every kind of secret a company gives
Pregón, are driven through the flows that log the most (a send the SMTP server refuses in words
that quote the recipient, a parcel she follows, the suppression list, SES's feedback, inbound SMS
and mail, a webhook endpoint that fails echoing what it got, a mailbox whose login fails), through
the real servers, while every line the code writes is captured: Powertools' JSON lines as
CloudWatch gets them, at DEBUG, and every other logger's records. Each planted value is looked for
as written, lower-cased, URL-encoded, quoted-printable, base64 and JSON-escaped."""

from __future__ import annotations

import base64
import json
import logging
import quopri
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from chalice.test import Client

from tests.steps.clients import put_client
from tests.steps.imap import Dovecot
from tests.steps.inbound import receive_mail
from tests.steps.mailboxes import add_mailbox, run_syncs
from tests.steps.outbox import deliver_outboxes, queue_email
from tests.steps.ses_events import feed, logged_lines
from tests.steps.sms import receive_sms
from tests.steps.tenants import SMTP_PASSWORD, Tenant
from tests.steps.tracking import ask_for_alerts, confirm_by_link, confirmation_link, issue
from tests.steps.webhooks import Receiver, deliver_webhooks, drain_webhook_queue

NAME = "Zoë Canário-Ñandú"
ADDRESS = "zoe.canario@canario-nandu.example"
PHONE = "+34612345678"
IMAP_PASSWORD = "Imap-zoe-clave-7731"
IMAP_LOGIN = "zcanario.recepcion"
BODY = "Soy Zoë, mi DNI es 48291736Q y vivo en Calle Ñandú 7"

#: Test servers of the suite's own (the SMTP and HTTP servers standing for a company's) log
#: through these; they are the outside world, not Pregón.
OUTSIDE = ("mail.log", "werkzeug", "infrastructure", "tests", "asyncio", "moto", "filelock")


def forms(value: str) -> set[str]:
    """The ways a value may be written in a log line: as is, lower-cased, URL-encoded (``%40``,
    ``+``), quoted-printable and base64 of its UTF-8, JSON-escaped."""
    raw = value.encode()
    return {
        value,
        value.lower(),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
        quopri.encodestring(raw).decode().replace("=\n", ""),
        base64.b64encode(raw).decode(),
        json.dumps(value, ensure_ascii=True)[1:-1],
    } - {""}


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """Every line written while inside: the service logger's JSON lines at DEBUG (as its
    formatter writes them to CloudWatch) and every other logger's records with their traceback."""

    class Everything(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            if record.name == "pregon" or record.name.startswith(("pregon.", *OUTSIDE)):
                return
            extra = {k: v for k, v in vars(record).items() if k not in EMPTY_RECORD}
            text = f"{record.name}: {record.getMessage()} {extra!r}"
            if record.exc_info:
                text += " " + logging.Formatter().formatException(record.exc_info)
            self.lines.append(text)

    root, others = logging.getLogger(), Everything()
    root.addHandler(others)
    lines: list[str] = []
    try:
        with logged_lines("DEBUG") as service:
            yield lines
    finally:
        root.removeHandler(others)
        lines.extend(json.dumps(line, ensure_ascii=False) for line in service)
        lines.extend(others.lines)


EMPTY_RECORD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def leaks(lines: list[str], planted: dict[str, str]) -> list[str]:
    """Each line that holds a planted value (in any of its forms), naming which."""
    found = []
    for line in lines:
        # a payload's JSON escapes (\u00eb) escaped once more when the line was written
        read = line + line.replace("\\\\", "\\")
        for what, value in planted.items():
            hits = [form for form in forms(value) if form in read]
            if hits:
                found.append(f"{what} ({hits[0]!r}) in: {line[:600]}")
    return found


class EchoingImap:
    """An IMAP server that refuses every login in words quoting the login it was given."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
                while line := lines.readline():
                    tag, command, *rest = line.decode().split()
                    if command.upper() == "LOGIN":
                        said = f"{tag} NO [AUTHENTICATIONFAILED] no such user {rest[0]} (password {rest[1]})"
                        conn.sendall(said.encode() + b"\r\n")
                        continue
                    answer = (
                        b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" if command.upper() == "CAPABILITY" else b""
                    )
                    conn.sendall(answer + tag.encode() + b" OK done\r\n")
                    if command.upper() == "LOGOUT":
                        break


@pytest.fixture
def quick_webhook_retries(monkeypatch: pytest.MonkeyPatch, local_aws: dict[str, str]) -> None:
    from chalicelib.messaging.webhooks import service

    monkeypatch.setattr(service, "RETRY_SECONDS", (0, 0, 0, 0))
    drain_webhook_queue()


def test_the_logs_of_a_clients_messages_name_ids_and_never_her_data_nor_a_secret(
    api: Client, tenant: Tenant, imap_server: Dovecot, quick_webhook_retries: None
) -> None:
    # Given a client with a name, an address and a phone of her own, kept by the back office
    put_client(api, tenant, "CLI-ZOE", name=NAME, emails=[ADDRESS], phones=[PHONE])
    planted = {
        "the client's name": NAME,
        "the client's address": ADDRESS,
        "the client's phone": PHONE,
        "the client's phone as dialled": "612 345 678",
        "a message's text": BODY,
        "the SMTP password": SMTP_PASSWORD,
        "the IMAP password": IMAP_PASSWORD,
        "the IMAP login": IMAP_LOGIN,
        "the API key": tenant.api_key.partition(".")[2],
        "a staff user's JWT": tenant.admin_token.rpartition(".")[2],
    }
    with every_log_line() as lines:
        # And a webhook endpoint for her messages that fails, echoing what it was sent
        with Receiver(statuses=[500, 500], answer=f"500: no account for {ADDRESS} ({NAME})".encode()) as site:
            created = api.http.post(
                "/webhooks",
                headers=tenant.admin_headers(),
                body=json.dumps({"url": site.url, "events": ["message.failed", "inbound.received"]}),
            )
            assert created.status_code == 201, created.body
            planted["the webhook secret"] = json.loads(created.body)["secret"].partition("_")[2]

            # When an e-mail to her is refused by the company's SMTP server in words that quote her
            tenant.mailbox.refuse_next_recipients(1, f"550 5.1.1 <{ADDRESS}>: {NAME} is unknown here")  # type: ignore[union-attr]
            refused = queue_email(
                tenant,
                to_address=ADDRESS,
                to_name=NAME,
                subject=f"Hola {NAME}",
                text=BODY,
                client_id="CLI-ZOE",
            )
            deliver_outboxes()
            # And she follows a parcel on the tracking page, confirming through the link she gets
            issue(api, tenant, "ZOE-TRK-1")
            asked = ask_for_alerts(api, tenant, "ZOE-TRK-1", ADDRESS, NAME)
            assert asked.status_code == 202, asked.body
            deliver_outboxes()
            _, link = confirmation_link(tenant.mailbox, ADDRESS)  # type: ignore[arg-type]
            planted["the confirmation link's token"] = link.partition("token=")[2]
            assert confirm_by_link(api, link).status_code == 200
            # And an administrator puts her address and phone on the suppression list, and lifts it
            for address in (ADDRESS, PHONE):
                added = api.http.post(
                    "/suppressions",
                    headers=tenant.admin_headers(),
                    body=json.dumps({"address": address, "reason": "manual", "note": f"{NAME} lo pidió"}),
                )
                assert added.status_code == 201, added.body
                lifted = api.http.delete(
                    f"/suppressions/{urllib.parse.quote(address)}", headers=tenant.admin_headers()
                )
                assert lifted.status_code == 204, lifted.body
            # And SES sends a notification Pregón cannot read, quoting her, and a bounce about her
            feed(json.dumps({"eventType": "Bounce", "mail": {"destination": [ADDRESS], "source": NAME}}))
            bounce = {
                "eventType": "Bounce",
                "mail": {
                    "messageId": "0100-zoe",
                    "destination": [ADDRESS],
                    "timestamp": "2026-11-02T12:00:00Z",
                },
                "bounce": {
                    "bounceType": "Permanent",
                    "bounceSubType": "General",
                    "timestamp": "2026-11-02T12:00:00Z",
                    "bouncedRecipients": [
                        {"emailAddress": ADDRESS, "diagnosticCode": f"smtp; 550 {ADDRESS} {NAME}"}
                    ],
                },
            }
            feed(json.dumps(bounce))
            # And she texts a number no company receives on, and sends an SMS the handler cannot read
            receive_sms(api, "+5491100000001", PHONE, BODY)
            api.lambda_.invoke(
                "receive_inbound_sms",
                api.events.generate_sns_event(
                    message=json.dumps({"originationNumber": PHONE, "messageBody": BODY})
                ),
            )
            # And she writes to the company
            receive_mail(api, tenant.company_id, f"{NAME} <{ADDRESS}>", f"Consulta de {NAME}", BODY)
            # And the webhooks go out to the failing endpoint
            deliver_webhooks()
        # And staff add mailboxes whose servers refuse the password, one quoting the login
        add_mailbox(api, tenant.admin_headers(), imap_server, "ana@estudio.example", password=IMAP_PASSWORD)
        echoing = EchoingImap()
        add_mailbox(api, tenant.staff_headers(), echoing, IMAP_LOGIN, password=IMAP_PASSWORD)  # type: ignore[arg-type]
        run_syncs()
        echoing.listener.close()

    # Then the flows ran: the refusal failed the message, quoting her to the company (not the log)
    from chalicelib.store import communications as comm_store

    failed = comm_store.get(tenant.company_id, refused.communication_id)
    assert failed is not None and failed.state == "failed" and ADDRESS in (failed.error or "")
    assert any('"outbox drained"' in line for line in lines), lines
    assert len([line for line in lines if "mailbox sync failed" in line]) == 2, lines
    # And no line holds any of her data nor any secret, in any form
    assert not leaks(lines, planted), "\n".join(leaks(lines, planted))
    # And the lines name the company, the client and the message by their ids
    drained = [line for line in lines if '"outbox drained"' in line]
    assert any(refused.communication_id in line and tenant.company_id in line for line in drained), drained
    assert any('"client_id": "CLI-ZOE"' in line for line in lines), lines


def test_a_log_line_a_call_site_forgot_to_mask_is_masked_by_the_logger() -> None:
    # Given a log line that, by mistake, carries an address, a phone, a token and a presigned link
    from chalicelib.core.observability import logger

    with logged_lines("DEBUG") as lines:
        # When it is logged, with an exception that quotes them too
        try:
            raise ValueError(f"could not reach {ADDRESS} at {PHONE}")
        except ValueError:
            logger().exception(
                f"forgotten {ADDRESS}",
                extra={
                    "to": ADDRESS,
                    "phones": [PHONE, "611 22 33 44"],
                    "link": "https://files.example/b/k.pdf?X-Amz-Signature=abc123&X-Amz-Credential=AKIA",
                    "auth": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ6b2UifQ.c2lnbmF0dXJl",
                    "smtp_password": "hunter2-zoe",
                    "text": "user=zoe password=hunter2-zoe api key pk_0123456789abcdef.s3cr3t-part",
                    "count": 3,
                },
            )
    # Then what CloudWatch gets holds none of them, and the rest of the line as it was
    [line] = lines
    written = json.dumps(line, ensure_ascii=False)
    for value in (
        ADDRESS,
        PHONE,
        "611 22 33 44",
        "abc123",
        "AKIA",
        "eyJhbGciOiJSUzI1NiJ9",
        "hunter2-zoe",
        "s3cr3t-part",
    ):
        assert value not in written, (value, written)
    assert line["message"] == "forgotten [address]"
    assert line["to"] == "[address]" and line["phones"] == ["[phone]", "[phone]"]
    assert line["link"] == "https://files.example/b/k.pdf?[query]"
    assert line["smtp_password"] == "[secret]" and line["count"] == 3
    assert "pk_0123456789abcdef" in line["text"]  # the key's id stays: operators find it by it
    assert line["exception"].endswith("ValueError: could not reach [address] at [phone]")
