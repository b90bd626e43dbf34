"""SMS channels (``channels.base.Channel``): Amazon SNS, an Android phone's HTTP gateway and SMS
Masivos (Argentina's ``servicio.smsmasivos.com.ar``, with the company's own user and password).

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
import re
import ssl
import unicodedata
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any

from chalicelib.channels.base import (
    COMMUNICATION_HEADER,
    SEND_SECONDS,
    Channel,
    OutgoingChannelMessage,
    SentAsIs,
)
from chalicelib.channels.deadlines import Deadline
from chalicelib.channels.destinations import DestinationRefused, http_exchange
from chalicelib.core.errors import DeliveryFailed, ValidationFailed

SMS_TYPES = ("Transactional", "Promotional")
PROVIDERS = ("sns", "http_gateway", "sms_masivos")
GATEWAY_TIMEOUT_SECONDS = 15.0
SMS_MASIVOS_TIMEOUT_SECONDS = 15.0
_MASIVOS_MAX_ANSWER_BYTES = 4096
_MAX_ERROR_TEXT = 200
_MAX_BODY_BYTES = 64 * 1024
#: The longest message id the SMS gateway may answer. The app's are 21 characters; one longer is
#: not an answer we understand: the SMS went, but no id is kept (nor its report asked for).
GATEWAY_ID_LIMIT = 200


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
        from chalicelib.channels.provider_errors import delivery_errors
        from chalicelib.core.aws import sending_client

        attributes: dict[str, dict[str, str]] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": self.sms_type}
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": self.sender_id}
        to_e164 = addressed(message.to_address)
        with delivery_errors("SNS", communication_id=message.headers.get(COMMUNICATION_HEADER)):
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


@dataclass(frozen=True)
class GatewayReport:
    """What the phone says of one SMS: ``state`` (Pending, Processed, Sent, Delivered, Failed)
    and, for a failure, its error (``RESULT_ERROR_NO_SERVICE``), or None."""

    state: str
    error: str | None = None


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

    def send(self, message: OutgoingChannelMessage) -> str | None:
        """The gateway's id for the SMS; None when that id is longer than ``GATEWAY_ID_LIMIT``
        characters (the SMS was taken: it is not sent again, and its report is not asked for)."""
        payload = {"message": message.text, "phoneNumbers": [addressed(message.to_address)]}
        answer = self._call("POST", "/message", payload)
        message_id = answer.get("id") if isinstance(answer, dict) else None
        if not message_id:
            raise DeliveryFailed("the SMS gateway answered without a message id")
        failed = _recipient_errors(answer)
        if answer.get("state") == "Failed" or failed:
            raise DeliveryFailed(_clip(failed) or "the SMS gateway marked the message Failed")
        return str(message_id) if len(str(message_id)) <= GATEWAY_ID_LIMIT else None

    def close(self) -> None:
        return None

    def status(self, message_id: str) -> str:
        """The message's state as the phone reports it: Pending, Processed, Sent, Delivered or Failed."""
        return self.report(message_id).state

    def report(self, message_id: str) -> GatewayReport:
        """The message's state and, when it ``Failed``, the app's own error for its number (at
        most 200 characters; the one part of an answer ever kept, as for a send)."""
        answer = self._call("GET", f"/message/{urllib.parse.quote(message_id, safe='')}", None)
        if not isinstance(answer, dict) or not isinstance(answer.get("state"), str):
            raise DeliveryFailed("the SMS gateway answered without a state")
        recipients = answer.get("recipients")
        errors = [
            str(r["error"])
            for r in (recipients if isinstance(recipients, list) else [])
            if isinstance(r, dict) and r.get("error")
        ]
        return GatewayReport(str(answer["state"]), _clip("; ".join(errors)) if errors else None)

    def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> Any:
        """One request over ``http.client`` to a checked public address of the gateway's host,
        done within ``timeout`` from connecting to the last byte of the answer: no proxy, no
        redirect followed (the Authorization header goes nowhere else), and errors told by kind
        and status, never by echoing what the server answered. A failure is ``not_taken`` (the
        phone surely does not have the SMS: it gives its rate-limit room back) only when the answer
        proves it: the address refused before connecting, the connection refused, or a 4xx status
        (the app refused the request: a wrong password, a bad request, too many). A timeout, a
        reset, TLS failing, a 5xx or an answer we cannot read may come after the phone took it."""
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
            raise DeliveryFailed(f"refused: {exc.reason}", transient=exc.unresolved, not_taken=True) from exc
        except ssl.SSLError as exc:
            raise DeliveryFailed(f"TLS: {_tls_reason(exc)}", transient=True) from exc
        except TimeoutError as exc:
            raise DeliveryFailed(
                f"timeout: the SMS gateway did not answer within {self.timeout:g} s", transient=True
            ) from exc
        except ConnectionRefusedError as exc:
            raise DeliveryFailed(
                f"refused: nothing accepts connections at {host}:{port}", transient=True, not_taken=True
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
            raise DeliveryFailed(
                _status_line(status), transient=status >= 500 or status == 429, not_taken=status < 500
            )
        if len(body) > _MAX_BODY_BYTES:
            raise DeliveryFailed(f"HTTP {_status_line(status)}: the SMS gateway's answer is too large")
        try:
            return json.loads(body) if body else {}
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python reads
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
    recipients = answer.get("recipients")
    if not isinstance(recipients, list):  # a gateway's odd answer: no recipients said anything
        return ""
    return "; ".join(
        f"{r.get('phoneNumber')}: {r.get('error')}"
        for r in recipients
        if isinstance(r, dict) and (r.get("state") == "Failed" or r.get("error"))
    )


# SMS Masivos' own refusals (``respuestanumerica=1`` answers ``<code>;<text>``): told in our words,
# never the answer's (docs/sms.md). 0 is sent, 1 a test accepted; the rest refuse this one SMS.
_MASIVOS_REFUSALS = {
    -1: "the number is a landline",
    -2: "the number failed too many times",
    -3: "the number asked not to receive SMS",
    -4: "the same text went to the number just before",
    -5: "the text looks like spam",
    -6: "the text is too long",
    -7: "the number does not have 10 digits",
    -8: "the number is not only digits",
    -9: "the area code does not exist",
    -10: "the carrier refused the SMS",
    -11: "the text has characters it does not take",
    -12: "the number's prefix is wrong",
    -14: "the number is in the do-not-call register",
}
_MASIVOS_ANSWER = re.compile(r"^(-?\d{1,4})(?:;.*)?$", re.DOTALL)
# Typographic characters with a plain equivalent; every other character outside ASCII loses its
# accent (NFKD: á→a, ñ→n, ü→u) or, with none to lose, becomes "?" (an emoji). ¿ and ¡ are dropped.
_MASIVOS_PLAIN = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u00ab": '"', "\u00bb": '"', "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u20ac": "EUR",
        "\u00bf": "", "\u00a1": "", "\u00a0": " ", "\t": " ", "\r": "",
    }
)  # fmt: skip


def masivos_number(to_e164: str) -> str:
    """The number SMS Masivos takes: an Argentine mobile's 10 digits, area code and subscriber
    without the 0, the 15 or the 9 (``+5491159876543`` → ``1159876543``, seed 002's "¡Importante!").
    The provider texts Argentina only: any other country's number is a permanent failure."""
    import phonenumbers

    address = addressed(to_e164)
    try:
        number = phonenumbers.parse(address, None)
    except phonenumbers.NumberParseException as exc:
        raise DeliveryFailed(f"{to_e164} is not a phone number in E.164", transient=False) from exc
    if number.country_code != 54:
        raise DeliveryFailed(
            f"SMS Masivos texts only Argentine numbers: {to_e164} is not one", transient=False
        )
    national = phonenumbers.national_significant_number(number)
    return national[1:] if national.startswith("9") else national


def masivos_text(text: str) -> str:
    """The text as SMS Masivos receives it: plain ASCII. Its service is a classic ASP one that
    answers in ISO-8859-1 and refuses characters it does not take (code -11), and an SMS with
    á, í, ó or ú would be UCS-2 anyway (70 characters an SMS instead of 160); ASCII arrives the
    same whatever code page the service reads its query in. So accents are dropped deliberately
    (``Pagá tu factura, Muñoz`` → ``Paga tu factura, Munoz``), typographic quotes and dashes
    become plain ones, ``€`` ``EUR``; a character with no plain form (an emoji) becomes ``?``."""
    plain = unicodedata.normalize("NFKD", text.translate(_MASIVOS_PLAIN))
    kept = []
    for ch in plain:
        if unicodedata.combining(ch):
            continue
        kept.append(ch if ch == "\n" or " " <= ch <= "~" else "?")
    return "".join(kept)


def sms_masivos_url() -> str:
    """Where SMS go: ``SMS_MASIVOS_URL`` (the deployment's, never a tenant's), default SMS Masivos'
    own ``https://servicio.smsmasivos.com.ar/enviar_sms.asp``. Read on every send, so the local
    stack and the tests point it at a stand-in. https://, or http:// to this machine only: the
    company's password travels in it."""
    import os

    from chalicelib.core.settings import url_setting_problem

    url = os.environ.get("SMS_MASIVOS_URL", "").strip() or "https://servicio.smsmasivos.com.ar/enviar_sms.asp"
    problem = url_setting_problem("SMS_MASIVOS_URL", url)
    if problem:
        raise ValueError(problem)
    return url


class SmsMasivosSender(SentAsIs):
    """SMS Masivos' HTTP API (Argentina, ``servicio.smsmasivos.com.ar``): one ``GET
    enviar_sms.asp?api=1&usuario=..&clave=..&tos=<10 digits>&texto=..&idinterno=..&respuestanumerica=1``
    per SMS, answered ``0;...`` (sent) or ``<negative code>;<text>``. The id we give it
    (``idinterno``) is the message id ``send`` returns. ``timeout`` bounds the whole request."""

    def __init__(self, username: str, password: str, timeout: float | None = None) -> None:
        self.username = username
        self._password = password
        # SMS_MASIVOS_TIMEOUT_SECONDS read when built (not when defined), so a test can shorten it
        self.timeout = SMS_MASIVOS_TIMEOUT_SECONDS if timeout is None else timeout

    def __repr__(self) -> str:
        return f"SmsMasivosSender(username={self.username!r})"  # never the password

    def close(self) -> None:
        return None

    def send(self, message: OutgoingChannelMessage) -> str:
        internal_id = uuid.uuid4().hex
        fields = {
            "api": "1",
            "usuario": self.username,
            "clave": self._password,
            "tos": masivos_number(message.to_address),
            "texto": masivos_text(message.text),
            "idinterno": internal_id,
            "respuestanumerica": "1",
        }
        try:  # in SMS Masivos' own code page (ISO-8859-1): only the user and password can be more than ASCII
            query = urllib.parse.urlencode(fields, encoding="latin-1", errors="strict")
        except UnicodeEncodeError as exc:
            raise DeliveryFailed(
                "refused: SMS Masivos: the user or password has characters SMS Masivos cannot read; "
                "change the password at SMS Masivos to letters and digits",
                transient=False,
            ) from exc
        status, answer = self._get(query)
        self._refuse_status(status)
        text = answer.decode("latin-1").strip()
        found = _MASIVOS_ANSWER.match(text)
        code = int(found.group(1)) if found else None
        if code in (0, 1) or (code is None and text.upper() == "OK"):
            return internal_id
        raise _masivos_refusal(code, text)

    def account(self) -> MasivosAccount:
        """The account's prepaid package, read with SMS Masivos' three queries (``obtener_saldo.asp``,
        ``obtener_vencimiento_paquete.asp``, ``obtener_envios.asp?usuario=..&clave=..``, on the host
        and folder of ``SMS_MASIVOS_URL``), all within one ``timeout``. ``DeliveryFailed`` in our
        words (as for a send) when one is refused or its answer is not what SMS Masivos answers."""
        deadline = Deadline(self.timeout)
        credit = _whole_number(self._read("obtener_saldo.asp", deadline))
        expiry = self._read("obtener_vencimiento_paquete.asp", deadline)
        sent = _whole_number(self._read("obtener_envios.asp", deadline))
        found = _MASIVOS_DAY.match(expiry)
        if found is None:
            raise _masivos_refusal(None, expiry)
        try:
            expires_on = date.fromisoformat(found.group(0))
        except ValueError as exc:
            raise _masivos_refusal(None, expiry) from exc
        return MasivosAccount(credit=credit, expires_on=expires_on, sent_this_month=sent)

    def _read(self, page: str, deadline: Deadline) -> str:
        fields = {"usuario": self.username, "clave": self._password}
        try:
            query = urllib.parse.urlencode(fields, encoding="latin-1", errors="strict")
        except UnicodeEncodeError as exc:
            raise DeliveryFailed(
                "refused: SMS Masivos: the user or password has characters SMS Masivos cannot read; "
                "change the password at SMS Masivos to letters and digits",
                transient=False,
            ) from exc
        status, answer = self._get(query, page=page, deadline=deadline)
        self._refuse_status(status)
        return answer.decode("latin-1").strip()

    @staticmethod
    def _refuse_status(status: int) -> None:
        if 300 <= status < 400:
            raise DeliveryFailed(
                f"HTTP {_status_line(status)}: SMS Masivos redirects; redirects are not followed"
            )
        if status >= 400:
            raise DeliveryFailed(
                f"SMS Masivos answered HTTP {_status_line(status)}", transient=status >= 500 or status == 429
            )

    def _get(
        self, query: str, *, page: str | None = None, deadline: Deadline | None = None
    ) -> tuple[int, bytes]:
        """GET ``SMS_MASIVOS_URL`` (or, given a ``page``, that page in the same folder of the same
        host) with ``query``, within ``deadline`` (a fresh ``timeout`` when none is given)."""
        url = urllib.parse.urlsplit(sms_masivos_url())
        host = url.hostname or ""
        port = url.port or (443 if url.scheme == "https" else 80)
        path = url.path or "/"
        if page is not None:
            path = path.rsplit("/", 1)[0] + "/" + page
        target = path + "?" + (f"{url.query}&" if url.query else "") + query
        deadline = deadline or Deadline(self.timeout)
        try:
            with http_exchange(url.scheme, host, port, deadline) as connection:
                connection.request("GET", target, headers={"Accept": "text/plain"})
                response = connection.getresponse()
                body = response.read(_MASIVOS_MAX_ANSWER_BYTES + 1)
                return response.status, body[:_MASIVOS_MAX_ANSWER_BYTES]
        except DestinationRefused as exc:
            raise DeliveryFailed(f"refused: {exc.reason}", transient=exc.unresolved) from exc
        except ssl.SSLError as exc:
            raise DeliveryFailed(f"TLS: {_tls_reason(exc)}", transient=True) from exc
        except TimeoutError as exc:
            raise DeliveryFailed(
                f"timeout: SMS Masivos did not answer within {self.timeout:g} s", transient=True
            ) from exc
        except (http.client.HTTPException, OSError) as exc:
            raise DeliveryFailed(
                f"unreachable: SMS Masivos at {host}:{port} ({type(exc).__name__})", transient=True
            ) from exc


@dataclass(frozen=True)
class MasivosAccount:
    """An SMS Masivos prepaid account as its queries answer: the SMS left, the day the package
    expires (SMS Masivos' own, in Argentina) and the SMS sent this month."""

    credit: int
    expires_on: date
    sent_this_month: int


# "Consulta de vencimiento del paquete" answers the day as ``YYYY-MM-DD`` (what the public client
# github.com/cmercado93/smsmasivos-api-client accepts; anything else is not a day).
_MASIVOS_DAY = re.compile(r"^20\d{2}-\d{2}-\d{2}$")
_MASIVOS_NUMBER = re.compile(r"^-?\d{1,9}$")


def _whole_number(text: str) -> int:
    """The number a balance or sent-count query answers; its refusal (wrong user, say) otherwise."""
    if _MASIVOS_NUMBER.match(text):
        return int(text)
    raise _masivos_refusal(None, text)


def _masivos_refusal(code: int | None, text: str) -> DeliveryFailed:
    """SMS Masivos' refusal, classified (permanent: sending the same again gets the same answer).
    Its wording is never passed on; only which of its known refusals it is."""
    words = unicodedata.normalize("NFKD", text.lower())
    if code in _MASIVOS_REFUSALS:
        return DeliveryFailed(
            f"SMS Masivos refused the SMS: {_MASIVOS_REFUSALS[code]} ({code})", transient=False
        )
    if any(word in words for word in ("usuario", "clave", "contrasen", "password", "login")):
        return DeliveryFailed(
            "refused: SMS Masivos: usuario o clave incorrectos (the user or password is wrong)",
            transient=False,
        )
    if any(word in words for word in ("saldo", "credito", "paquete", "vencid")):
        return DeliveryFailed(
            "refused: SMS Masivos: the account has no SMS left or its package expired", transient=False
        )
    if code is not None:
        return DeliveryFailed(f"SMS Masivos refused the SMS with code {code}", transient=False)
    return DeliveryFailed("SMS Masivos answered something Pregón does not know", transient=False)


def sms_sender_for(settings: Mapping[str, object]) -> Channel:
    """The sender a company's SMS settings describe.

    ``{"provider": "sns", "sender_id": "Pregon", "sms_type": "Transactional"}`` (both optional), or
    ``{"provider": "http_gateway", "base_url": ..., "username": ..., "password": ..., "timeout": 15}``,
    or ``{"provider": "sms_masivos", "username": ..., "password": ...}``.
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
    if provider == "sms_masivos":
        missing = [name for name in ("username", "password") if not settings.get(name)]
        if missing:
            raise ValidationFailed([{"field": name, "message": "is required"} for name in missing])
        return SmsMasivosSender(username=str(settings["username"]), password=str(settings["password"]))
    raise _invalid("provider", f"must be one of {', '.join(PROVIDERS)}")
