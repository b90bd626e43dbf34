"""SMS leaves through Amazon SNS (moto's server) or an Android phone's SMS gateway (a local HTTP server
that speaks the app's REST API), and a refusal comes back in the provider's own words."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.channels.sms import HttpGatewaySender, SnsSmsSender, sms_sender_for
from chalicelib.core.errors import DeliveryFailed, ValidationFailed
from chalicelib.core.phones import normalize_phone
from chalicelib.messaging.sms_text import render_sms
from infrastructure.local.paths import free_port
from tests.steps.aws import recorded_calls
from tests.steps.sms import (
    GATEWAY_PASSWORD,
    GATEWAY_USER,
    AndroidGateway,
    ServedInAThread,
    sms_sent_through_moto,
)
from tests.steps.tls import certificates


def an_sms(to: str, text: str) -> OutgoingChannelMessage:
    """An SMS as the outbox hands it to its channel."""
    return OutgoingChannelMessage(to_address=to, text=text)


@pytest.fixture(autouse=True)
def loopback_gateways_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local phones of these tests listen on 127.0.0.1, as the local stack allows."""
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")


# --- Amazon SNS through moto -------------------------------------------------------------------


@pytest.fixture
def publish_calls(local_aws: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SNS Publish call our client makes (moto does not keep attributes)."""
    with recorded_calls("sns", "Publish") as calls:
        yield calls


def test_an_sms_through_sns_reaches_the_number_with_the_rendered_text(
    local_aws: dict[str, str], publish_calls: list[dict[str, Any]]
) -> None:
    # Given a client's mobile as typed in Buenos Aires and the balance auto-reply template
    to = normalize_phone("011-15-5987-6543")
    text = render_sms(
        "Estimado %nombre% su saldo pendiente es $ %deuda%", {"nombre": "Ana", "deuda": "1.500"}
    )

    # When it is sent through SNS with the company's sender id
    message_id = SnsSmsSender(sender_id="CableSur").send(an_sms(to, text))

    # Then SNS recorded that SMS for that number, with that text
    sms = sms_sent_through_moto(local_aws, message_id)
    assert sms["phone_number"] == "+5491159876543"
    assert sms["message"] == "Estimado Ana su saldo pendiente es $ 1.500"
    # And it was asked as a transactional SMS from "CableSur"
    attributes = publish_calls[-1]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SMSType"] == {"DataType": "String", "StringValue": "Transactional"}
    assert attributes["AWS.SNS.SMS.SenderID"] == {"DataType": "String", "StringValue": "CableSur"}


def test_without_a_sender_id_sns_picks_its_own(
    local_aws: dict[str, str], publish_calls: list[dict[str, Any]]
) -> None:
    message_id = SnsSmsSender(sms_type="Promotional").send(an_sms("+34612345678", "Oferta de invierno"))
    assert sms_sent_through_moto(local_aws, message_id)["phone_number"] == "+34612345678"
    attributes = publish_calls[-1]["MessageAttributes"]
    assert "AWS.SNS.SMS.SenderID" not in attributes
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Promotional"


def test_sns_refusing_an_sms_is_a_delivery_failure_in_its_own_words(local_aws: dict[str, str]) -> None:
    # Given a message longer than SNS accepts in one publish
    # When it is sent, Then the failure carries SNS's own explanation
    with pytest.raises(DeliveryFailed, match="SMS message must be less than 1600 bytes"):
        SnsSmsSender().send(an_sms("+5491159876543", "a" * 1601))
    # And a number that is not E.164 (a bug upstream) is refused by SNS too
    with pytest.raises(DeliveryFailed, match="E164"):
        SnsSmsSender().send(an_sms("011-15-5987-6543", "Hola"))


def test_an_argentine_mobile_stored_without_its_9_is_texted_at_549_and_a_landline_never(
    local_aws: dict[str, str], publish_calls: list[dict[str, Any]]
) -> None:
    # Given a Buenos Aires number stored without the 9 (typed "+54 11 5987-6543")
    stored = normalize_phone("+54 11 5987-6543")
    assert stored == "+541159876543"

    # When an SMS is sent to it through SNS
    message_id = SnsSmsSender().send(an_sms(stored, "Hola"))

    # Then SNS was asked for its mobile form, the only one an SMS reaches
    assert sms_sent_through_moto(local_aws, message_id)["phone_number"] == "+5491159876543"

    # When an SMS is sent to a number that is certainly a landline (Madrid)
    calls = len(publish_calls)
    with pytest.raises(DeliveryFailed, match=r"\+34911234567 is a landline: SMS can only go to a mobile"):
        SnsSmsSender().send(an_sms(normalize_phone("91 123 45 67", "ES"), "Hola"))
    # Then SNS was never called
    assert len(publish_calls) == calls


def test_a_bad_sns_configuration_is_refused_before_sending() -> None:
    with pytest.raises(ValidationFailed) as refused:
        SnsSmsSender(sender_id="Cable Sur S.A.")
    assert refused.value.body()["field"] == "sender_id"
    with pytest.raises(ValidationFailed) as refused:
        SnsSmsSender(sms_type="Urgent")
    assert refused.value.body()["field"] == "sms_type"


# --- SMS Gateway for Android (capcom6/android-sms-gateway), local server mode --------------------


@pytest.fixture
def phone() -> Iterator[AndroidGateway]:
    with AndroidGateway() as gateway:
        yield gateway


def test_an_sms_through_the_android_gateway_reaches_the_phone(phone: AndroidGateway) -> None:
    # Given a company whose SMS go out through the phone on its office network
    sender = sms_sender_for(
        {
            "provider": "http_gateway",
            "base_url": phone.base_url,
            "username": "sms",
            "password": GATEWAY_PASSWORD,
        }
    )
    to = normalize_phone("(0351) 15 555-1234")

    # When an SMS is sent
    message_id = sender.send(an_sms(to, "Estimado Ana, le asignamos el ticket 4711."))

    # Then the phone got one JSON request with the text and the E.164 number, and its id is returned
    [request] = phone.requests
    assert request["path"] == "/message"
    assert request["content_type"] == "application/json"
    assert request["json"] == {
        "message": "Estimado Ana, le asignamos el ticket 4711.",
        "phoneNumbers": ["+5493515551234"],
    }
    assert message_id in phone.messages


def test_the_gateway_texts_an_argentine_mobile_in_its_549_form_and_refuses_a_landline(
    phone: AndroidGateway,
) -> None:
    # Given a Córdoba number stored without the 9, and a Madrid landline
    sender = HttpGatewaySender(phone.base_url, GATEWAY_USER, GATEWAY_PASSWORD)

    # When an SMS is sent to each
    sender.send(an_sms(normalize_phone("+54 351 555-1234"), "Hola"))
    with pytest.raises(DeliveryFailed, match="is a landline"):
        sender.send(an_sms("+34911234567", "Hola"))

    # Then the phone was asked once, for the +549 form; the landline never reached it
    assert [r["json"]["phoneNumbers"] for r in phone.requests] == [["+5493515551234"]]


def test_the_gateway_reports_the_state_of_a_message(phone: AndroidGateway) -> None:
    # Given an SMS the phone has queued
    sender = HttpGatewaySender(phone.base_url + "/", GATEWAY_USER, GATEWAY_PASSWORD)
    message_id = sender.send(an_sms("+5491159876543", "Hola"))
    assert message_id is not None and sender.status(message_id) == "Pending"
    # When the phone has sent it, Then its state says so
    phone.phone_sent(message_id)
    assert sender.status(message_id) == "Sent"


def test_a_wrong_password_is_a_delivery_failure_and_nothing_is_queued(phone: AndroidGateway) -> None:
    sender = HttpGatewaySender(phone.base_url, GATEWAY_USER, "an-old-token")
    with pytest.raises(DeliveryFailed, match="401 Unauthorized") as failed:
        sender.send(an_sms("+5491159876543", "Hola"))
    assert failed.value.status == 502
    assert phone.messages == {}


def test_a_gateway_refusal_is_its_status_not_its_body(phone: AndroidGateway) -> None:
    sender = HttpGatewaySender(phone.base_url, GATEWAY_USER, GATEWAY_PASSWORD)
    with pytest.raises(DeliveryFailed) as failed:
        sender.send(an_sms("+5491159876543", ""))
    assert failed.value.message == "400 Bad Request"


def test_the_state_of_an_unknown_message_is_a_delivery_failure(phone: AndroidGateway) -> None:
    sender = HttpGatewaySender(phone.base_url, GATEWAY_USER, GATEWAY_PASSWORD)
    with pytest.raises(DeliveryFailed, match="404"):
        sender.status("no-such-message")


def test_a_phone_that_is_off_is_a_delivery_failure() -> None:
    # Given a gateway address where nothing listens (the phone is off or left the network)
    port = free_port()
    sender = HttpGatewaySender(f"http://127.0.0.1:{port}", GATEWAY_USER, GATEWAY_PASSWORD, timeout=2)
    # When an SMS is sent, Then it fails saying the connection was refused, and may be retried
    with pytest.raises(DeliveryFailed) as failed:
        sender.send(an_sms("+5491159876543", "Hola"))
    assert failed.value.message == f"refused: nothing accepts connections at 127.0.0.1:{port}"
    assert failed.value.transient is True


def test_a_phone_that_never_answers_is_a_delivery_failure_after_the_timeout() -> None:
    # Given a gateway that accepts the connection and then says nothing
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        sender = HttpGatewaySender(f"http://127.0.0.1:{silent.getsockname()[1]}", "sms", "x", timeout=0.5)
        # When an SMS is sent, Then it fails instead of hanging
        with pytest.raises(DeliveryFailed) as failed:
            sender.send(an_sms("+5491159876543", "Hola"))
        assert failed.value.message == "timeout: the SMS gateway did not answer within 0.5 s"


# --- Q7: the gateway client reaches public addresses only, follows no redirect, echoes nothing -----


class ScriptedServer(ServedInAThread):
    """An HTTP server on 127.0.0.1 answering every request with one status, headers and body, and
    remembering each request's path and headers (to see where an Authorization header went)."""

    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = handle_any

        self.serve(Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def test_a_redirect_is_not_followed_and_the_password_goes_nowhere_else() -> None:
    # Given a gateway URL that answers with a redirect to another server
    elsewhere = ScriptedServer(200, b'{"id": "x", "state": "Pending"}')
    redirecting = ScriptedServer(307, headers={"Location": f"{elsewhere.url}/steal"})
    with elsewhere, redirecting:
        sender = HttpGatewaySender(redirecting.url, GATEWAY_USER, GATEWAY_PASSWORD)
        # When an SMS is sent
        with pytest.raises(DeliveryFailed) as failed:
            sender.send(an_sms("+5491159876543", "Hola"))
    # Then the redirect is reported, not followed: the other server saw no request (no password)
    assert failed.value.message == (
        "HTTP 307 Temporary Redirect: the SMS gateway redirects; redirects are not followed"
    )
    assert len(redirecting.requests) == 1 and elsewhere.requests == []


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (500, b"<html>internal: aws_secret=AKIA-INTERNAL</html>", "500 Internal Server Error"),
        (403, b'{"message": "aws_secret=AKIA-INTERNAL"}', "403 Forbidden"),
        (200, b"<html>aws_secret=AKIA-INTERNAL</html>", "HTTP 200 OK: the SMS gateway's answer is not JSON"),
        (200, b'{"note": "aws_secret=AKIA-INTERNAL"}', "the SMS gateway answered without a message id"),
    ],
)
def test_what_a_server_answers_is_never_echoed(status: int, answer: bytes, error: str) -> None:
    # Given a gateway URL that is some other web server, answering pages of its own
    with ScriptedServer(status, answer) as server:
        sender = HttpGatewaySender(server.url, GATEWAY_USER, GATEWAY_PASSWORD)
        # When an SMS is sent
        with pytest.raises(DeliveryFailed) as failed:
            sender.send(an_sms("+5491159876543", "Hola"))
    # Then the error says what kind of failure it was, and nothing of what the server wrote
    assert failed.value.message == error
    assert "AKIA" not in failed.value.message


def test_an_answer_nested_too_deep_to_read_is_a_delivery_failure_for_a_send_and_a_report() -> None:
    # Given a gateway answering JSON nested 30,000 deep (60 kB, within the size read)
    with ScriptedServer(200, b"[" * 30_000 + b"]" * 30_000) as server:
        sender = HttpGatewaySender(server.url, GATEWAY_USER, GATEWAY_PASSWORD)
        # When an SMS is sent, and its state asked for
        with pytest.raises(DeliveryFailed) as sent:
            sender.send(an_sms("+5491159876543", "Hola"))
        with pytest.raises(DeliveryFailed) as asked:
            sender.report("m-1")
    # Then each is the gateway's failure, as any answer that is not JSON (not our own crash)
    assert sent.value.message == asked.value.message == "HTTP 200 OK: the SMS gateway's answer is not JSON"


@pytest.mark.parametrize("recipients", [5, True, "+5491159876543", {"phoneNumber": "+5491159876543"}])
def test_an_answer_whose_recipients_are_no_list_is_read_as_saying_nothing_of_them(recipients: Any) -> None:
    # Given a gateway that takes the SMS (an id, Pending) but answers its recipients oddly
    answer = json.dumps({"id": "m-1", "state": "Pending", "recipients": recipients}).encode()
    with ScriptedServer(202, answer) as server:
        sender = HttpGatewaySender(server.url, GATEWAY_USER, GATEWAY_PASSWORD)
        # When an SMS is sent, Then it is sent under the gateway's id (not our own crash, which
        # would leave the SMS unrecorded and send it again when its lease ends)
        assert sender.send(an_sms("+5491159876543", "Hola")) == "m-1"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254/latest/meta-data",  # the instance metadata
        "http://10.0.0.5:8080",  # the VPC
        "http://192.168.0.50:8080",
        "http://[::ffff:10.1.2.3]:8080",  # a private IPv4 address inside IPv6
        "http://0.0.0.0:8080",
        "http://[fe80::1]:8080",
    ],
)
def test_private_and_link_local_gateways_are_refused_even_when_loopback_is_allowed(base_url: str) -> None:
    # Given the local stack's setting that allows loopback (see the autouse fixture)
    sender = HttpGatewaySender(base_url, GATEWAY_USER, GATEWAY_PASSWORD, timeout=2)
    # When an SMS is sent, Then no connection is attempted: the address is refused, for good
    with pytest.raises(DeliveryFailed) as failed:
        sender.send(an_sms("+5491159876543", "Hola"))
    assert failed.value.message.startswith("refused: ") and "Pregón connects only to public" in (
        failed.value.message
    )
    assert failed.value.transient is False


def test_an_https_gateway_verifies_its_certificate_on_the_checked_address(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ssl

    # Given the phone's gateway over HTTPS with a certificate from a private CA
    ca, cert, key = certificates(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    phone = AndroidGateway()
    phone.server.socket = tls.wrap_socket(phone.server.socket, server_side=True)
    with phone:
        url = phone.base_url.replace("http://", "https://")
        # When an SMS is sent, Then the certificate fails verification: a TLS error, nothing queued
        with pytest.raises(DeliveryFailed) as failed:
            HttpGatewaySender(url, GATEWAY_USER, GATEWAY_PASSWORD).send(an_sms("+5491159876543", "Hola"))
        assert failed.value.message.startswith("TLS: certificate verify failed"), failed.value.message
        assert phone.messages == {}
        # When the process trusts the CA, Then the same gateway accepts the SMS
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        message_id = HttpGatewaySender(url, GATEWAY_USER, GATEWAY_PASSWORD).send(
            an_sms("+5491159876543", "Hola")
        )
        assert message_id is not None and phone.messages[message_id]["payload"]["message"] == "Hola"


def test_loopback_gateways_are_refused_unless_the_local_stack_allows_them(
    phone: AndroidGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the setting off, as on AWS
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    for url in (phone.base_url, phone.base_url.replace("127.0.0.1", "localhost")):
        sender = HttpGatewaySender(url, GATEWAY_USER, GATEWAY_PASSWORD)
        # When an SMS is sent to a gateway on 127.0.0.1 (by address or by name)
        with pytest.raises(DeliveryFailed) as failed:
            sender.send(an_sms("+5491159876543", "Hola"))
        # Then it is refused before connecting: the phone received nothing
        assert "is a loopback address" in failed.value.message
    assert phone.requests == []


# --- Choosing the provider from a company's settings ---------------------------------------------


def test_settings_choose_the_provider() -> None:
    assert isinstance(sms_sender_for({"provider": "sns", "sender_id": "CableSur"}), SnsSmsSender)
    assert isinstance(sms_sender_for({}), SnsSmsSender)
    gateway = sms_sender_for(
        {
            "provider": "http_gateway",
            "base_url": "https://api.sms-gate.app/3rdparty/v1",
            "username": "U",
            "password": "P",
        }
    )
    assert isinstance(gateway, HttpGatewaySender)
    assert gateway.base_url == "https://api.sms-gate.app/3rdparty/v1"
    masivos = sms_sender_for({"provider": "sms_masivos", "username": "demo", "password": "P"})
    assert type(masivos).__name__ == "SmsMasivosSender" and "P" not in repr(masivos)


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"provider": "carrier-pigeon"}, ["provider"]),
        ({"provider": "sms_masivos"}, ["username", "password"]),
        ({"provider": "sms_masivos", "username": "demo"}, ["password"]),
        ({"provider": "http_gateway", "base_url": "http://10.0.0.5:8080"}, ["username", "password"]),
        ({"provider": "http_gateway", "base_url": "ftp://x", "username": "u", "password": "p"}, ["base_url"]),
        (
            {
                "provider": "http_gateway",
                "base_url": "http://x",
                "username": "u",
                "password": "p",
                "timeout": "soon",
            },
            ["timeout"],
        ),
    ],
)
def test_incomplete_settings_are_refused_naming_the_fields(
    settings: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sms_sender_for(settings)
    assert [error["field"] for error in refused.value.errors] == fields
