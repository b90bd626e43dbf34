"""The one SMS channel interface and its providers: Amazon SNS and an Android phone's HTTP gateway.

    sender = sms_sender_for({"provider": "http_gateway", "base_url": "http://192.168.0.50:8080",
                             "username": "sms", "password": "..."})
    message_id = sender.send("+5491159876543", "Estimado Ana su saldo pendiente es $ 1.500")

Numbers arrive already in E.164 (``chalicelib.phones.normalize_phone``); each sender addresses
them with :func:`chalicelib.phones.sms_address` (an Argentine mobile stored without its 9 goes to
``+549…``; a landline is refused before any provider is called). A refusal raises
``DeliveryFailed`` with the provider's own words, as the e-mail channel does.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.errors import DeliveryFailed, ValidationFailed

SMS_TYPES = ("Transactional", "Promotional")
PROVIDERS = ("sns", "http_gateway")
GATEWAY_TIMEOUT_SECONDS = 15.0
_MAX_ERROR_TEXT = 500


def addressed(to_e164: str) -> str:
    """The number an SMS really goes to; a number that cannot receive SMS is a permanent failure."""
    from chalicelib.phones import NotAMobile, sms_address

    try:
        return sms_address(to_e164)
    except NotAMobile as exc:
        raise DeliveryFailed(str(exc), transient=False) from exc


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}])


class SmsSender(Protocol):
    def send(self, to_e164: str, text: str) -> str:
        """Send one SMS; return the provider's message id. Raise DeliveryFailed on refusal."""


class SnsSmsSender:
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

    def send(self, to_e164: str, text: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        from chalicelib.aws import TRANSIENT_AWS_CODES, client

        attributes: dict[str, dict[str, str]] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type}
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        to_e164 = addressed(to_e164)
        try:
            response = client("sns").publish(PhoneNumber=to_e164, Message=text, MessageAttributes=attributes)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DeliveryFailed(
                error.get("Message", str(exc)), transient=error.get("Code") in TRANSIENT_AWS_CODES
            ) from exc
        except BotoCoreError as exc:
            raise DeliveryFailed(str(exc), transient=True) from exc
        return str(response["MessageId"])


def _valid_sender_id(sender_id: str) -> bool:
    return (
        1 <= len(sender_id) <= 11
        and all(ch.isascii() and (ch.isalnum() or ch == "-") for ch in sender_id)
        and any(ch.isalpha() for ch in sender_id)
    )


class HttpGatewaySender:
    """The REST API of "SMS Gateway for Android" (github.com/capcom6/android-sms-gateway).

    ``base_url`` is the phone's local server (``http://192.168.0.50:8080``) or the cloud server
    (``https://api.sms-gate.app/3rdparty/v1``); both answer ``POST {base_url}/message`` with HTTP
    Basic auth and ``GET {base_url}/message/{id}``. We send the ``message`` field, which every app
    version accepts (newer ones also take ``textMessage``), and one number per request so that each
    SMS has its own id and state.
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

    def send(self, to_e164: str, text: str) -> str:
        answer = self._call("POST", "/message", {"message": text, "phoneNumbers": [addressed(to_e164)]})
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not message_id:
            raise DeliveryFailed(
                f"the SMS gateway answered without a message id: {_clip(json.dumps(answer))}"
            )
        failed = _recipient_errors(answer)
        if answer.get("state") == "Failed" or failed:
            raise DeliveryFailed(failed or "the SMS gateway marked the message Failed")
        return str(message_id)

    def status(self, message_id: str) -> str:
        """The message's state as the phone reports it: Pending, Processed, Sent, Delivered or Failed."""
        answer = self._call("GET", f"/message/{urllib.parse.quote(message_id, safe='')}", None)
        if not isinstance(answer, dict) or "state" not in answer:
            raise DeliveryFailed(f"the SMS gateway answered without a state: {_clip(str(answer))}")
        return str(answer["state"])

    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked to be http(s) above
            self.base_url + path,
            data=data,
            method=method,
            headers={
                "Authorization": self._authorization,
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            transient = exc.code >= 500 or exc.code == 429
            raise DeliveryFailed(_http_error_text(exc), transient=transient) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DeliveryFailed(
                f"the SMS gateway at {self.base_url} is unreachable: {reason}", transient=True
            ) from exc
        try:
            return json.loads(body) if body else {}
        except ValueError as exc:
            raise DeliveryFailed(f"the SMS gateway answered with invalid JSON: {_clip(body)}") from exc


def _clip(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return text if len(text) <= _MAX_ERROR_TEXT else text[:_MAX_ERROR_TEXT] + "…"


def _http_error_text(exc: urllib.error.HTTPError) -> str:
    """The gateway's own words: its JSON ``{"message": ...}``, else its body, else the status line."""
    try:
        raw = exc.read()
    except OSError:
        raw = b""
    finally:
        exc.close()
    detail = raw.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(detail)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("message"):
        detail = str(parsed["message"])
    status = f"{exc.code} {exc.reason}".strip()
    return _clip(f"{status}: {detail}" if detail else status)


def _recipient_errors(answer: Mapping[str, Any]) -> str:
    recipients = answer.get("recipients") or []
    return "; ".join(
        f"{r.get('phoneNumber')}: {r.get('error')}"
        for r in recipients
        if isinstance(r, dict) and (r.get("state") == "Failed" or r.get("error"))
    )


def sms_sender_for(settings: Mapping[str, object]) -> SmsSender:
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
        if not 0 < seconds <= 60:
            raise ValidationFailed(
                [{"field": "timeout", "message": "must be a number of seconds from 0 to 60"}]
            )
        return HttpGatewaySender(
            base_url=str(settings["base_url"]),
            username=str(settings["username"]),
            password=str(settings["password"]),
            timeout=seconds,
        )
    raise _invalid("provider", f"must be one of {', '.join(PROVIDERS)}")
