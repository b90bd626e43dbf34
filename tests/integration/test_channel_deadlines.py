"""No send outlasts ``SEND_SECONDS``, however slowly the other side answers (the outbox's claim on a
message rests on it: a send still running when the claim ends could be made twice).

A company's SMS gateway is a URL the company chose: played here by a raw socket on 127.0.0.1 that
trickles its answer a byte at a time (each byte well within any socket timeout), or answers its
status line late and then a byte just within the timeout each time, for ``GIVE_UP`` seconds, where
a send without its deadline would end. The configured ``timeout`` bounds the whole request. AWS is
played by a loopback endpoint that reads each request and never answers: the sending clients give
up after a few short attempts, not botocore's minutes.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.channels.base import SEND_SECONDS, Channel, OutgoingChannelMessage
from chalicelib.channels.push import PushSender
from chalicelib.channels.ses import SesChannel
from chalicelib.channels.sms import HttpGatewaySender, SnsSmsSender
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import DeliveryFailed
from tests.steps.channels import GIVE_UP, LATE, an_order_sms, failure_at
from tests.steps.sms import GATEWAY_PASSWORD, GATEWAY_USER
from tests.steps.tls import certificates

pytestmark = pytest.mark.usefixtures("loopback_destinations")

TIMEOUT = 1.0  # the company's gateway timeout in these tests
BYTE_EVERY = 0.2  # how fast a trickling gateway answers: far within TIMEOUT for each byte
# Each part of the answer is padded (spaces after the reason and the JSON, a header of x's) to so
# many bytes more that, trickled, it lasts GIVE_UP
FILL = int(GIVE_UP / BYTE_EVERY)

BODY = b'{"id": "m-1", "state": "Pending"}' + b" " * FILL
ANSWER = {
    "status line": b"HTTP/1.1 202 Accepted" + b" " * FILL + b"\r\n",
    "headers": b"Content-Type: application/json\r\nX-Padding: %s\r\nContent-Length: %d\r\n\r\n"
    % (b"x" * FILL, len(BODY)),
    "body": BODY,
}

Answer = Callable[[socket.socket], None]


@pytest.fixture
def loopback_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateways of these tests listen on this machine."""
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")


class RawServer:
    """A server on a loopback port: for each connection it reads one HTTP request (its headers and
    ``Content-Length`` bytes of body), counts it, and answers with ``answer`` until the client hangs
    up. ``tls``: it speaks HTTPS with that context."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.requests = 0
        self._answer, self._tls = answer, tls
        self._connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with suppress(OSError):  # the listener was closed
            while True:
                conn, _ = self._listener.accept()
                self._connections.append(conn)
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with suppress(OSError):  # the client hung up, or the server was closed
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head, _, body = request.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                body += chunk
            self.requests += 1
            self._answer(conn)

    def close(self) -> None:
        self._listener.close()
        for conn in self._connections:
            with suppress(OSError):
                conn.close()


@pytest.fixture
def serving() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Answer, tls: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(answer, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def trickling(part: str) -> Answer:
    """A gateway that answers at once but for ``part`` of its answer, which comes a byte at a time."""

    def answer(conn: socket.socket) -> None:
        for name, data in ANSWER.items():
            if name != part:
                conn.sendall(data)
                continue
            for byte in data:
                conn.sendall(bytes([byte]))
                time.sleep(BYTE_EVERY)

    return answer


def status_line_late_then_a_byte_just_in_time(conn: socket.socket) -> None:
    """A gateway that answers its status line just before the timeout, and then a byte of its
    headers just before the timeout each time (so a timeout counted from the last byte never
    trips), until :data:`GIVE_UP`."""
    until = time.monotonic() + GIVE_UP
    time.sleep(TIMEOUT * 0.9)
    conn.sendall(ANSWER["status line"])
    for byte in ANSWER["headers"]:
        if time.monotonic() > until:
            return
        time.sleep(TIMEOUT * 0.9)
        conn.sendall(bytes([byte]))


def at_once(conn: socket.socket) -> None:
    conn.sendall(b"".join(ANSWER.values()))


# --- The SMS gateway: its timeout is the whole request's ------------------------------------------


@pytest.mark.parametrize("part", ["status line", "headers", "body"])
def test_a_gateway_trickling_its_answer_fails_the_send_when_the_timeout_is_up(
    serving: Callable[..., RawServer], part: str
) -> None:
    # Given a company's gateway that trickles one part of its answer, a byte every 0.2 s (for 30 s)
    gateway = serving(trickling(part))
    sender = HttpGatewaySender(
        f"http://127.0.0.1:{gateway.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
    )

    # When an SMS is sent with a 1 s timeout
    failure = failure_at(TIMEOUT, lambda: sender.send(an_order_sms()), late=LATE)

    # Then it fails after 1 s as a passing failure (the outbox tries again later)
    assert failure.message == "timeout: the SMS gateway did not answer within 1 s"
    assert failure.transient is True
    # And a gateway that answers at once is still heard
    prompt = serving(at_once)
    assert (
        HttpGatewaySender(
            f"http://127.0.0.1:{prompt.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
        ).send(an_order_sms())
        == "m-1"
    )


def test_a_gateway_that_answers_each_byte_just_within_the_timeout_fails_when_the_timeout_is_up(
    serving: Callable[..., RawServer],
) -> None:
    # Given a gateway that accepts the request, sends its status line at 0.9 s and then a byte of
    # its headers every 0.9 s
    gateway = serving(status_line_late_then_a_byte_just_in_time)
    sender = HttpGatewaySender(
        f"http://127.0.0.1:{gateway.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
    )

    # When an SMS is sent, Then it fails 1 s after it started, not 1 s after the last byte came
    failure = failure_at(TIMEOUT, lambda: sender.send(an_order_sms()), late=LATE)
    assert failure.message == "timeout: the SMS gateway did not answer within 1 s"
    assert failure.transient is True
    assert gateway.requests == 1


def test_asking_a_trickling_gateway_for_a_message_state_fails_when_the_timeout_is_up(
    serving: Callable[..., RawServer],
) -> None:
    # Given a gateway that trickles its answer's body
    gateway = serving(trickling("body"))
    sender = HttpGatewaySender(
        f"http://127.0.0.1:{gateway.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
    )
    # When the state of a message is asked, Then it fails when the timeout is up
    failure = failure_at(TIMEOUT, lambda: sender.status("m-1"), late=LATE)
    assert failure.message == "timeout: the SMS gateway did not answer within 1 s"


def test_an_https_gateway_trickling_its_answer_fails_the_send_when_the_timeout_is_up(
    serving: Callable[..., RawServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a gateway over HTTPS, with a certificate the process trusts, trickling its headers
    ca, cert, key = certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    gateway = serving(trickling("headers"), tls)
    sender = HttpGatewaySender(
        f"https://127.0.0.1:{gateway.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
    )

    # When an SMS is sent, Then it fails when the timeout is up, as a passing failure
    failure = failure_at(TIMEOUT, lambda: sender.send(an_order_sms()), late=LATE)
    assert failure.message == "timeout: the SMS gateway did not answer within 1 s"
    assert failure.transient is True
    # And the same gateway answering at once is heard, over TLS
    prompt = serving(at_once, tls)
    assert (
        HttpGatewaySender(
            f"https://127.0.0.1:{prompt.port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=TIMEOUT
        ).send(an_order_sms())
        == "m-1"
    )


# --- AWS: the clients that send give up within SEND_SECONDS ----------------------------------------


def test_the_sending_clients_worst_case_stays_within_a_send(local_aws: dict[str, str]) -> None:
    from chalicelib.core.aws import client, sending_client

    for service in ("sesv2", "sns"):
        # Given the client a channel sends through
        config = sending_client(service).meta.config
        attempts = config.retries["total_max_attempts"]
        # Then every attempt connecting and waiting its longest, with botocore's standard backoff
        # between them at its longest (1, 2, 4 ... s, and 5 s more when AWS asks to wait), ends
        # within one send's bound
        assert config.retries["mode"] == "standard"
        backoff = sum(min(2**retry, 20) + 5 for retry in range(attempts - 1))
        assert attempts * (config.connect_timeout + config.read_timeout) + backoff <= SEND_SECONDS
        # And it talks to the endpoint boto3's AWS_ENDPOINT_URL_<SERVICE> names, as every client does
        assert sending_client(service).meta.endpoint_url == client(service).meta.endpoint_url
        assert sending_client(service).meta.endpoint_url == local_aws["moto"]
        # And the other clients keep botocore's own timeouts
        assert client(service).meta.config.read_timeout == 60


@pytest.fixture
def silent_aws(
    local_aws: dict[str, str], serving: Callable[..., RawServer], monkeypatch: pytest.MonkeyPatch
) -> Iterator[RawServer]:
    """SES and SNS at an endpoint that reads every request and never answers (an AWS outage), with
    the sending clients' read timeout shortened to 0.5 s."""
    from chalicelib.core import aws

    silent = serving(lambda conn: time.sleep(GIVE_UP))
    for service in ("SESV2", "SNS"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", f"http://127.0.0.1:{silent.port}")
    monkeypatch.setattr(aws, "SENDING_READ_SECONDS", 0.5)
    aws.sending_client.cache_clear()
    for service in ("sesv2", "sns"):
        aws.sending_client(service)  # made before the clock starts: loading a model takes a while
    yield silent
    aws.sending_client.cache_clear()


def ses_channel() -> Channel:
    account = SenderAccount(
        company_id="cargas-del-sur",
        area="avisos",
        kind="ses",
        display_name="Cargas del Sur",
        from_address="avisos@cargasdelsur.example",
        enabled=True,
        updated_at=datetime.now(timezone.utc),
    )
    return SesChannel(account)


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (ses_channel, OutgoingChannelMessage(to_address="ana@example.com", subject="Su pedido", text="Hola")),
        (SnsSmsSender, an_order_sms()),
        (
            PushSender,
            OutgoingChannelMessage(
                to_address="arn:aws:sns:us-east-1:123456789012:endpoint/GCM/app/0f1e2d3c",
                subject="Pedido",
                text="Hola",
            ),
        ),
    ],
    ids=["ses", "sns-sms", "sns-push"],
)
def test_an_aws_endpoint_that_never_answers_fails_the_send_after_a_few_short_attempts(
    silent_aws: RawServer, channel: Callable[[], Channel], message: OutgoingChannelMessage
) -> None:
    # Given SES and SNS that take requests and never answer, and a read timeout of 0.5 s
    from chalicelib.core.aws import SENDING_ATTEMPTS

    # When a message is sent through the channel
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        channel().send(message)
    took = time.monotonic() - started

    # Then it fails as a passing failure after the few attempts the bound allows, each given up
    # after the read timeout: the endpoint saw each of them
    assert failed.value.transient is True
    assert silent_aws.requests == SENDING_ATTEMPTS
    assert took < SENDING_ATTEMPTS * 0.5 + LATE, f"the send took {took:.2f} s"
    # And it keeps counting in the account's rate limit: AWS may have sent it (C2)
    assert failed.value.not_taken is False


def test_a_message_ses_refused_at_once_does_not_count_in_the_rate_limit(local_aws: dict[str, str]) -> None:
    from tests.steps.aws import aws_answering

    # Given SES answering the first try of a send "400 MessageRejected"
    message = OutgoingChannelMessage(to_address="ana@example.com", subject="Su pedido", text="Hola")
    rejected = aws_answering("sesv2", "SendEmail", "MessageRejected", "Email address is not verified.", 400)
    # When a message is sent through an SES account
    with rejected, pytest.raises(DeliveryFailed) as failed:
        ses_channel().send(message)
    # Then SES surely does not have it: its room in the rate limit is given back (C2)
    assert failed.value.message.startswith("SES refused the message: MessageRejected")
    assert failed.value.not_taken is True
