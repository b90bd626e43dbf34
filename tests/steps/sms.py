"""SMS as the providers see it: what moto's SNS recorded, and an Android phone's SMS gateway (a
local HTTP server that speaks the app's REST API)."""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from infrastructure.local.sms_gateway import gateway_handler
from tests.steps.aws import moto_received

GATEWAY_USER, GATEWAY_PASSWORD = "sms", "Zq8-phone-token"


def free_inbound_number(assigned_to: str | None = None) -> str:
    """A Buenos Aires mobile number, in E.164, that no company receives SMS on or holds yet: the
    tests' companies share one DynamoDB for the whole run, and a number is one company's (drawing
    from a million at random met another test's number about once in fifty runs). ``assigned_to``:
    Pregón's operator has given it to that company (``PUT /operator/companies/{id}/sms-numbers``),
    so the company may name it as its ``inbound_number``."""
    import secrets

    from chalicelib.core.errors import ValidationFailed
    from chalicelib.core.phones import normalize_phone
    from chalicelib.store.sms import companies_by_inbound_number, number_holders

    while True:
        try:
            number = normalize_phone(f"+549114{secrets.randbelow(10**7):07d}")
        except ValidationFailed:
            continue
        if not companies_by_inbound_number(number) and not number_holders([number]):
            if assigned_to:
                assign_number(assigned_to, number)
            return number


def assign_number(company_id: str, number: str) -> None:
    """Pregón's operator gives the company this two-way number, beside those it has."""
    from chalicelib.messaging.accounts.sms import assign_inbound_numbers
    from chalicelib.store.sms import get_sms_settings

    settings = get_sms_settings(company_id)
    assign_inbound_numbers(company_id, [*(settings.assigned_numbers if settings else ()), number])


def receive_sms(api: Any, to_number: str, sender: str, text: str) -> dict[str, Any]:
    """A client's SMS to the company's two-way number, as AWS End User Messaging delivers it on SNS
    to the deployed handler; returns what the handler reported (e.g. the ``ticket_id`` it opened)."""
    import json
    from pathlib import Path

    sample = Path(__file__).parents[1] / "fixtures" / "sms" / "aws_two_way_sample.json"
    payload = dict(
        json.loads(sample.read_text()),
        originationNumber=sender,
        destinationNumber=to_number,
        messageKeyword="KEYWORD_123456789012",
        messageBody=text,
        inboundMessageId=str(uuid.uuid4()),
    )
    event = sns_notification(api, json.dumps(payload))
    return dict(api.lambda_.invoke("receive_inbound_sms", event).payload)


def sns_notification(api: Any, message: str, published_at: datetime | None = None) -> dict[str, Any]:
    """The event Lambda's SNS trigger hands a function for one notification, with the ``Timestamp``
    SNS gives it (``published_at``; now, by the one clock, when not said): Chalice's test events
    carry a fixed one of 2018."""
    from chalicelib.core import clock

    event: dict[str, Any] = api.events.generate_sns_event(message=message, subject="")
    moment = (published_at or clock.now()).astimezone(timezone.utc)
    event["Records"][0]["Sns"]["Timestamp"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return event


def sms_sent_through_moto(local_aws: dict[str, str], message_id: str) -> dict[str, str]:
    """The SMS moto recorded for a message id, as moto recorded it."""
    sent = [sms for sms in moto_received("sns", "SMS") if sms["message_id"] == message_id]
    assert len(sent) == 1, moto_received("sns", "SMS")
    return dict(sent[0])


def sms_sent_to(local_aws: dict[str, str], number: str) -> list[str]:
    """The texts of every SMS moto recorded for ``number`` (E.164), oldest first."""
    return [sms["message"] for sms in moto_received("sns", "SMS") if sms["phone_number"] == number]


class ServedInAThread:
    """An HTTP server on 127.0.0.1 (any free port), answering from a thread while inside ``with``."""

    def serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class AndroidGateway(ServedInAThread):
    """An HTTP server that answers like the app's local server: Basic auth, ``POST /message`` with
    ``{"message", "phoneNumbers"}`` → 202 ``{"id", "state": "Pending", "recipients": [...]}``,
    ``GET /message/{id}`` → the same shape with the current state; errors as ``{"message": ...}``."""

    def __init__(
        self, username: str = GATEWAY_USER, password: str = GATEWAY_PASSWORD, id_length: int = 21
    ) -> None:
        """``id_length``: how long the ids it gives each SMS are (the app's: 21 characters)."""
        self.credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.asked: list[str] = []  # the message ids of each GET /message/{id}, in order

        def take(payload: dict[str, Any]) -> dict[str, Any]:
            message_id = payload.get("id") or (uuid.uuid4().hex * (id_length // 32 + 1))[:id_length]
            self.messages[message_id] = {"payload": payload, "state": "Pending"}
            return self.state_of(message_id)

        def seen(path: str, content_type: str | None, payload: dict[str, Any]) -> None:
            self.requests.append({"path": path, "content_type": content_type, "json": payload})

        handler = gateway_handler(
            self.credentials,
            take=take,
            find=self.find,
            seen=seen,
        )
        self.serve(handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def find(self, message_id: str) -> dict[str, Any] | None:
        self.asked.append(message_id)
        return self.state_of(message_id) if message_id in self.messages else None

    def state_of(self, message_id: str) -> dict[str, Any]:
        message = self.messages[message_id]
        return {
            "id": message_id,
            "state": message["state"],
            "isEncrypted": False,
            "recipients": [
                {"phoneNumber": number, "state": message["state"], "error": message.get("error")}
                for number in message["payload"]["phoneNumbers"]
            ],
            "states": {message["state"]: "2026-11-02T12:00:00.000+00:00"},
        }

    def phone_sent(self, message_id: str) -> None:
        self.messages[message_id]["state"] = "Sent"

    def phone_delivered(self, message_id: str) -> None:
        """The network's delivery report reached the phone."""
        self.messages[message_id]["state"] = "Delivered"

    def phone_failed(self, message_id: str, error: str) -> None:
        """The phone could not send it (the app's error for the number, e.g. no service)."""
        self.messages[message_id] |= {"state": "Failed", "error": error}


def assign_sender_ids(company_id: str, *sender_ids: str) -> None:
    """Pregón's operator gives the company these SMS sender IDs (replacing those it had), as
    ``PUT /operator/companies/{id}/sms-sender-ids`` does."""
    from chalicelib.messaging.accounts.sms import assign_sender_ids as assign

    assign(company_id, list(sender_ids), by="tests")


def settings_changed_after_every_read(monkeypatch: Any, company_id: str, change: Any) -> list[int]:
    """Each time the store reads the company's SMS settings (the operator's assignment reading them
    before its conditional write), ``change()`` writes them again at once, as an administrator
    saving in a loop would: the write that follows finds them changed, every time. Returns the
    count of changes made (a one-item list, growing as they happen)."""
    from chalicelib.store import sms as store

    real_read = store.get_sms_settings
    changes = [0]
    changing: list[bool] = []

    def read_then_change(read_company_id: str) -> Any:
        current = real_read(read_company_id)
        if read_company_id == company_id and not changing:
            changing.append(True)  # the change reads the settings too: not again from within it
            try:
                change()
            finally:
                changing.clear()
            changes[0] += 1
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_change)
    return changes


def gateway_company(api: Any, tenant: Any, gateway: AndroidGateway) -> None:
    """The company's SMS, switched on, go out through ``gateway`` (its Android phone), with the
    password the phone shows, as an administrator sets them in the SMS screen."""
    import json

    admin = tenant.admin_headers()
    settings = {
        "enabled": True,
        "provider": "http_gateway",
        "base_url": gateway.base_url,
        "username": GATEWAY_USER,
    }
    response = api.http.put("/sms/settings", headers=admin, body=json.dumps(settings))
    assert response.status_code == 200, response.body
    password = json.dumps({"password": GATEWAY_PASSWORD})
    response = api.http.put("/sms/settings/gateway-password", headers=admin, body=password)
    assert response.status_code == 204, response.body


def run_sms_delivery_check(api: Any) -> dict[str, Any]:
    """The deployed ``check_sms_deliveries`` schedule, as EventBridge invokes it every minute."""
    event = api.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[], region="us-east-1"
    )
    return dict(api.lambda_.invoke("check_sms_deliveries", event).payload)
