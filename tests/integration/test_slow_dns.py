"""A company chooses its SMTP host, its SMS gateway and its mailbox's server, and so, if it is
hostile, the DNS that answers for their names. A lookup that hangs must end with the exchange's
deadline, as a server that did not answer would: never hold a send past its bound (the outbox's
claim on a message rests on it) nor a connection test past API Gateway's.

This machine has no DNS: the company's is played by :class:`CompanyDns` in place of
``socket.getaddrinfo``, answering the test's names with 127.0.0.1 (after a while, if asked) or
never; every other name and address goes to the real one. The servers behind are real.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.channels import destinations
from chalicelib.channels.sms import HttpGatewaySender
from infrastructure.local.imapserver import Dovecot
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.channels import GIVE_UP, LATE, an_order_sms, failure_at
from tests.steps.mailboxes import add_mailbox
from tests.steps.sms import GATEWAY_PASSWORD, GATEWAY_USER, AndroidGateway
from tests.steps.tenants import Tenant, local_smtp_channel, tracking_alert

pytestmark = pytest.mark.usefixtures("loopback_destinations")

BOUND = 1.0  # each exchange's deadline here (30 s an SMTP attempt, 15 s the gateway, 20 s a test)
# LATE: how far past it an exchange may end on a loaded machine; GIVE_UP: when a hanging lookup
# fails after all (unless let go at the test's end), so that code without a bound fails, not hangs
SLOW = "mail.lentodns.example"  # a name whose DNS never answers
PROMPT = "mail.cargasdelsur.example"  # a name whose DNS answers, a little slowly


class CompanyDns:
    """``socket.getaddrinfo`` for the test's names: each in ``answering`` resolves to 127.0.0.1
    after its delay, each in ``hanging`` answers nothing for :data:`GIVE_UP` seconds (or until
    released) and then fails as a resolver that gave up does."""

    def __init__(self) -> None:
        self.real = socket.getaddrinfo
        self.answering: dict[str, float] = {}
        self.hanging: set[str] = set()
        self.released = threading.Event()

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in self.hanging:
            self.released.wait(GIVE_UP)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host in self.answering:
            threading.Event().wait(self.answering[host])
            return self.real("127.0.0.1", port, *args, **kwargs)
        return self.real(host, port, *args, **kwargs)


@pytest.fixture
def loopback_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The servers of these tests listen on this machine."""
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")


@pytest.fixture
def company_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[CompanyDns]:
    """:data:`SLOW` hangs and :data:`PROMPT` answers after 0.3 s; the lookups still hanging are
    let go at the end."""
    dns = CompanyDns()
    dns.hanging.add(SLOW)
    dns.answering[PROMPT] = 0.3
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    yield dns
    dns.released.set()


# --- SMTP ------------------------------------------------------------------------------------------


def test_an_smtp_host_whose_dns_hangs_fails_the_send_at_its_deadline_and_one_answering_in_time_connects(
    company_dns: CompanyDns, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose SMTP host's DNS never answers; an attempt's 30 s made 1 s
    from chalicelib.channels import smtp

    monkeypatch.setattr(smtp, "ATTEMPT_SECONDS", BOUND)
    channel = local_smtp_channel(mailbox.port, host=SLOW)

    # When the outbox sends an alert through it
    failure = failure_at(BOUND, lambda: channel.send(channel.prepare(tracking_alert())), late=LATE)

    # Then the send fails at its deadline as a passing failure (the outbox tries again later),
    # saying why, as for a server that did not answer
    assert failure.message == "timeout: the SMTP server did not finish within 1 s"
    assert failure.transient is True
    # And an account whose host's DNS answers within the deadline still sends
    prompt = local_smtp_channel(mailbox.port, host=PROMPT)
    prompt.send(prompt.prepare(tracking_alert()))
    prompt.close()
    assert [m["Subject"] for m in mailbox.wait_for(1)] == ["Su envío CDS-1 está en camino"]


# --- The SMS gateway ------------------------------------------------------------------------------


def test_a_gateway_whose_dns_hangs_fails_the_send_when_its_timeout_is_up_and_one_answering_in_time_sends(
    company_dns: CompanyDns,
) -> None:
    with AndroidGateway() as phone:
        port = phone.server.server_address[1]
        # Given a company's gateway whose host's DNS never answers, with a timeout of 1 s
        sender = HttpGatewaySender(f"http://{SLOW}:{port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=BOUND)

        # When an SMS is sent, Then it fails when the timeout is up, as a passing failure
        failure = failure_at(BOUND, lambda: sender.send(an_order_sms()), late=LATE)
        assert failure.message == "timeout: the SMS gateway did not answer within 1 s"
        assert failure.transient is True
        assert phone.requests == []

        # And a gateway whose DNS answers within the timeout gets the SMS
        prompt = HttpGatewaySender(f"http://{PROMPT}:{port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=BOUND)
        message_id = prompt.send(an_order_sms())
        assert list(phone.messages) == [message_id]


# --- IMAP mailboxes -------------------------------------------------------------------------------


def test_a_mailbox_whose_servers_dns_hangs_gets_the_connection_test_a_timeout_within_its_deadline(
    api: Client,
    tenant: Tenant,
    imap_server: Dovecot,
    company_dns: CompanyDns,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given two mailboxes on the same working server: one named by a host whose DNS answers
    # in 0.3 s, the other by one whose DNS answered when it was added and then stopped; the
    # connection test's 20 s made 1 s
    from chalicelib.records.mailboxes import accounts

    monkeypatch.setattr(accounts, "TEST_SECONDS", BOUND)
    admin = tenant.admin_headers()
    company_dns.hanging.discard(SLOW)
    company_dns.answering[SLOW] = 0
    slow = add_mailbox(api, admin, imap_server, "oficina@estudio.example", host=SLOW, folders=["INBOX"])
    company_dns.hanging.add(SLOW)
    prompt = add_mailbox(api, admin, imap_server, "ana@estudio.example", host=PROMPT, folders=["INBOX"])

    # When the first is tested
    started = time.monotonic()
    response = api.http.post(f"/mailboxes/{slow['mailbox_id']}/test", headers=admin)

    # Then the answer says it timed out, soon after the deadline (never API Gateway's 504)
    assert time.monotonic() - started < BOUND + LATE
    assert response.status_code == 200
    assert body(response) == {
        "ok": False,
        "answer": "timeout: the IMAP server did not finish within 1 s",
        "folders": {},
    }
    # And the second connects, logs in and opens its folder
    tested = body(api.http.post(f"/mailboxes/{prompt['mailbox_id']}/test", headers=admin))
    assert tested["ok"] is True and tested["folders"] == {"INBOX": 0}


def test_saving_a_mailbox_whose_servers_dns_hangs_answers_in_time_and_keeps_the_name(
    api: Client, tenant: Tenant, company_dns: CompanyDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a server name whose DNS never answers; saving's lookup bound (20 s) made 1 s
    monkeypatch.setattr(destinations, "SAVE_LOOKUP_SECONDS", BOUND, raising=False)
    settings = {"host": SLOW, "port": 993, "encryption": "tls", "username": "ana@estudio.example"}

    # When a staff user adds a mailbox on it
    started = time.monotonic()
    response = api.http.post("/mailboxes", headers=tenant.admin_headers(), body=json.dumps(settings))

    # Then it is saved soon after the bound, as a name that does not resolve yet would be (it is
    # looked up again, within its deadline, on every connection)
    assert time.monotonic() - started < BOUND + LATE
    assert response.status_code == 201, response.body
    assert body(response)["host"] == SLOW


# --- The lookups themselves -----------------------------------------------------------------------


def test_a_flood_of_hanging_lookups_takes_a_few_threads_and_none_after_the_dns_answers(
    company_dns: CompanyDns, mailbox: MailCatcher
) -> None:
    # Given three times as many connections at once as there are lookup threads, each to the host
    # whose DNS never answers, each with 0.5 s
    failures: list[BaseException] = []

    def connect() -> None:
        try:
            destinations.connect_checked(SLOW, 25, 0.5)
        except OSError as exc:
            failures.append(exc)

    callers = [threading.Thread(target=connect) for _ in range(3 * destinations.LOOKUP_THREADS)]
    started = time.monotonic()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=GIVE_UP)

    # Then each fails in time, as a connection that did not answer would
    assert time.monotonic() - started < 0.5 + LATE
    assert len(failures) == len(callers)
    assert all(isinstance(f, TimeoutError) for f in failures)
    # And the lookups still hanging hold no more threads than the bound
    lookups = [t for t in threading.enumerate() if t.name == "pregon-lookups"]
    assert 0 < len(lookups) <= destinations.LOOKUP_THREADS
    # And once the DNS gives up on them, a name that answers connects again
    company_dns.released.set()
    with destinations.connect_checked(PROMPT, mailbox.port, 2.0) as sock:
        assert sock.recv(1024).startswith(b"220 ")


# --- The sign-in services of OAuth2 mailboxes ------------------------------------------------------


class TricklingSignIn:
    """A token endpoint on a loopback port that reads each request and answers it a byte every
    0.2 s (each byte well within a socket's timeout), an answer that never ends (until
    :data:`GIVE_UP`)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with suppress(OSError):  # closed
            while True:
                conn, _ = self._listener.accept()
                threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):  # the client hung up
            conn.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: " + b"x" * 1000
            until = time.monotonic() + GIVE_UP
            for byte in answer:
                if self._stop.wait(0.2) or time.monotonic() > until:
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.mark.parametrize("slow", ["trickling answer", "DNS that hangs"])
def test_a_sign_in_service_that_answers_slowly_gets_the_connection_test_a_timeout_within_its_deadline(
    api: Client,
    tenant: Tenant,
    company_dns: CompanyDns,
    monkeypatch: pytest.MonkeyPatch,
    slow: str,
) -> None:
    # Given a Microsoft 365 mailbox, and Microsoft's sign-in service trickling its token's answer
    # a byte at a time (or named by a host whose DNS never answers); the test's 20 s made 1 s
    from chalicelib.records.mailboxes import accounts

    monkeypatch.setattr(accounts, "TEST_SECONDS", BOUND)
    sign_in = TricklingSignIn()
    monkeypatch.setenv(
        "PREGON_MICROSOFT_LOGIN_URL", sign_in.url if slow == "trickling answer" else f"https://{SLOW}"
    )
    admin = tenant.admin_headers()
    settings = {
        "auth": "microsoft365",
        "tenant_id": "7d1c3a52-9b0e-4f3e-8a41-2c6f0b9e5d17",
        "client_id": "3f6e9a10-84c2-4b7d-9e05-a1b2c3d4e5f6",
        "username": "ana@estudio.example",
        "folders": ["INBOX"],
    }
    mailbox_id = body(api.http.post("/mailboxes", headers=admin, body=json.dumps(settings)))["mailbox_id"]
    secret = json.dumps({"client_secret": "Qx8~estudio.app-secret_Zr41vKq"})
    assert (
        api.http.put(f"/mailboxes/{mailbox_id}/client-secret", headers=admin, body=secret).status_code == 204
    )

    # When the mailbox is tested
    started = time.monotonic()
    response = api.http.post(f"/mailboxes/{mailbox_id}/test", headers=admin)
    sign_in.close()

    # Then the answer says the sign-in service did not answer in time, soon after the deadline
    assert time.monotonic() - started < BOUND + LATE
    assert body(response) == {
        "ok": False,
        "answer": "Microsoft sign-in did not answer within 1 s",
        "folders": {},
    }
