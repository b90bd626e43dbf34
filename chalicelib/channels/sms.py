"""SMS channels (``channels.base.Channel``): Amazon SNS and an Android phone's HTTP gateway.

    sender = sms_sender_for({"provider": "http_gateway", "base_url": "http://203.0.113.50:8080",
                             "username": "sms", "password": "..."})
    message_id = sender.send(OutgoingChannelMessage("+5491159876543", "Estimado Ana su saldo es $ 1.500"))

Numbers arrive already in E.164 (``chalicelib.core.phones.normalize_phone``); each sender addresses
them with :func:`chalicelib.core.phones.sms_address` (an Argentine mobile stored without its 9 goes to
``+549…``; a landline is refused before any provider is called). A refusal raises
``DeliveryFailed`` with the provider's own words (SNS) or, for the gateway, a short classified
text (``refused: ...``, ``timeout: ...``, ``TLS: ...``, ``401 Unauthorized``): what a gateway
answers is never echoed, since a misdirected URL must not read back another server's pages.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.parse
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from chalicelib.channels.base import SEND_SECONDS, Channel, OutgoingChannelMessage, SentAsIs
from chalicelib.channels.deadlines import Deadline
from chalicelib.channels.destinations import DestinationRefused, http_exchange
from chalicelib.core.errors import DeliveryFailed, ValidationFailed

SMS_TYPES = ("Transactional", "Promotional")
PROVIDERS = ("sns", "http_gateway")
GATEWAY_TIMEOUT_SECONDS = 15.0
_MAX_ERROR_TEXT = 200
_MAX_BODY_BYTES = 64 * 1024


def addressed(to_e164: str) -> str:
    """The number an SMS really goes to; a number that cannot receive SMS is a permanent failure."""
    from chalicelib.core.phones import NotAMobile, sms_address

    try:
        return sms_address(to_e164)
    except NotAMobile as exc:
        raise DeliveryFailed(str(exc), transient=False) from exc


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}])


class SnsSmsSender(SentAsIs):
    """Amazon SNS ``Publish`` to a phone number (SNS SMS, billed through AWS End User Messaging)."""

    def __init__(self, sender_id: str | None = None, sms_type: str = "Transactional") -> None:
        if sms_type not in SMS_TYPES:
            raise ValidationFailed(
                [{"field": "sms_type", "message": f"must be one of {', '.join(SMS_TYPES)}"}]
            )
        if sender_id is not None and not _valid_sender_id(sender_id):
            raise ValidationFailed(
                [
                    {
                        "field": "sender_id",
                        "message": "use 1-11 letters, digits or '-', with at least one letter",
                    }
                ]
            )
        self.sender_id = sender_id
        self.sms_type = sms_type

    def send(self, message: OutgoingChannelMessage) -> str:
        from chalicelib.core.aws import delivery_errors, sending_client

        attributes: dict[str, dict[str, str]] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type}
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        to_e164 = addressed(message.to_address)
        with delivery_errors():
            response = sending_client("sns").publish(
                PhoneNumber=to_e164, Message=message.text, MessageAttributes=attributes
            )
        return str(response["MessageId"])

    def close(self) -> None:
        return None


def _valid_sender_id(sender_id: str) -> bool:
    return (
        1 <= len(sender_id) <= 11
        and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in sender_id)
        and any(ch.isalpha() for ch in sender_id)
    )


class HttpGatewaySender(SentAsIs):
    """The REST API of "SMS Gateway for Android" (github.com/capcom6/android-sms-gateway).

    ``base_url`` is the phone's local server on a public address (``http://203.0.113.50:8080``; the
    API refuses private ones, Q7) or the cloud server
    (``https://api.sms-gate.app/3rdparty/v1``); both answer ``POST {base_url}/message`` with HTTP
    Basic auth and ``GET {base_url}/message/{id}``. We send the ``message`` field, which every app
    version accepts (newer ones also take ``textMessage``), and one number per request so that each
    SMS has its own id and state.

    ``timeout`` bounds each whole request (connecting, TLS, the request, and every byte of the
    answer), so a gateway that trickles its answer cannot hold a send past it: at most
    ``SEND_SECONDS`` (the settings refuse more).
    """

    def __init__(
        self, base_url: str, username: str, password: str, timeout: float = GATEWAY_TIMEOUT_SECONDS
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise _invalid("base_url", "must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.timeout = timeout
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"

    def send(self, message: OutgoingChannelMessage) -> str:
        payload = {"message": message.text, "phoneNumbers": [addressed(message.to_address)]}
        answer = self._call("POST", "/message", payload)
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not message_id:
            raise DeliveryFailed("the SMS gateway answered without a message id")
        failed = _recipient_errors(answer)
        if answer.get("state") == "Failed" or failed:
            raise DeliveryFailed(_clip(failed) or "the SMS gateway marked the message Failed")
        return str(message_id)

    def close(self) -> None:
        return None

    def status(self, message_id: str) -> str:
        """The message's state as the phone reports it: Pending, Processed, Sent, Delivered or Failed."""
        answer = self._call("GET", f"/message/{urllib.parse.quote(message_id, safe='')}", None)
        if not isinstance(answer, dict) or "state" not in answer:
            raise DeliveryFailed("the SMS gateway answered without a state")
        return str(answer["state"])

    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        """One request over ``http.client`` to a checked public address of the gateway's host,
        done within ``timeout`` from connecting to the last byte of the answer: no proxy, no
        redirect followed (the Authorization header goes nowhere else), and errors told by kind
        and status, never by echoing what the server answered."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        parsed = urllib.parse.urlsplit(self.base_url + path)
        host = parsed.hostname or ""
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        headers = {
            "Authorization": self._authorization,
            "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
        }
        target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        deadline = Deadline(self.timeout)
        try:
            with http_exchange(parsed.scheme, host, port, deadline) as connection:
                connection.request(method, target or "/", body=data, headers=headers)
                response = connection.getresponse()
                body = response.read(_MAX_BODY_BYTES + 1)
                status = response.status
        except DestinationRefused as exc:
            raise DeliveryFailed(f"refused: {exc.reason}", transient=exc.unresolved) from exc
        except ssl.SSLError as exc:
            raise DeliveryFailed(f"TLS: {_tls_reason(exc)}", transient=True) from exc
        except TimeoutError as exc:
            raise DeliveryFailed(
                f"timeout: the SMS gateway did not answer within {self.timeout:g} s", transient=True
            ) from exc
        except ConnectionRefusedError as exc:
            raise DeliveryFailed(
                f"refused: nothing accepts connections at {host}:{port}", transient=True
            ) from exc
        except (http.client.HTTPException, OSError) as exc:
            raise DeliveryFailed(
                f"unreachable: the SMS gateway at {host}:{port} ({type(exc).__name__})", transient=True
            ) from exc
        if 300 <= status < 400:
            raise DeliveryFailed(
                f"HTTP {_status_line(status)}: the SMS gateway redirects; redirects are not followed"
            )
        if status >= 400:
            raise DeliveryFailed(_status_line(status), transient=status >= 500 or status == 429)
        if len(body) > _MAX_BODY_BYTES:
            raise DeliveryFailed(f"HTTP {_status_line(status)}: the SMS gateway's answer is too large")
        try:
            return json.loads(body) if body else {}
        except ValueError as exc:
            raise DeliveryFailed(
                f"HTTP {_status_line(status)}: the SMS gateway's answer is not JSON"
            ) from exc


def _status_line(status: int) -> str:
    """``401 Unauthorized``: the status and its standard phrase (not the server's own words)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _tls_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return str(exc.reason or type(exc).__name__)


def _clip(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "…"


def _recipient_errors(answer: Mapping[str, Any]) -> str:
    recipients = answer.get("recipients") or []
    return "; ".join(
        f"{r.get('phoneNumber')}: {r.get('error')}"
        for r in recipients
        if isinstance(r, dict) and (r.get("state") == "Failed" or r.get("error"))
    )


def sms_sender_for(settings: Mapping[str, object]) -> Channel:
    """The sender a company's SMS settings describe.

    ``{"provider": "sns", "sender_id": "Pregon", "sms_type": "Transactional"}`` (both optional), or
    ``{"provider": "http_gateway", "base_url": ..., "username": ..., "password": ..., "timeout": 15}``.
    """
    provider = settings.get("provider", "sns")
    if provider == "sns":
        sender_id = settings.get("sender_id")
        return SnsSmsSender(
            sender_id=str(sender_id) if sender_id else None,
            sms_type=str(settings.get("sms_type") or "Transactional"),
        )
    if provider == "http_gateway":
        missing = [name for name in ("base_url", "username", "password") if not settings.get(name)]
        if missing:
            raise ValidationFailed([{"field": name, "message": "is required"} for name in missing])
        try:
            seconds = float(str(settings.get("timeout") or GATEWAY_TIMEOUT_SECONDS))
        except ValueError:
            seconds = 0.0
        if not 0 < seconds <= SEND_SECONDS:
            raise ValidationFailed(
                [{"field": "timeout", "message": f"must be a number of seconds from 0 to {SEND_SECONDS}"}]
            )
        return HttpGatewaySender(
            base_url=str(settings["base_url"]),
            username=str(settings["username"]),
            password=str(settings["password"]),
            timeout=seconds,
        )
    raise _invalid("provider", f"must be one of {', '.join(PROVIDERS)}")
