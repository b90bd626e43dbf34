"""SMS as the providers see it: what moto's SNS recorded, and an Android phone's SMS gateway (a
local HTTP server that speaks the app's REST API)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import requests

GATEWAY_USER, GATEWAY_PASSWORD = "sms", "Zq8-phone-token"


def sms_sent_through_moto(local_aws: dict[str, str], message_id: str) -> dict[str, str]:
    """The SMS moto recorded for a message id, as ``/moto-api/data.json`` shows it."""
    data = requests.get(f"{local_aws['moto']}/moto-api/data.json", timeout=10).json()
    sent = [sms for sms in data["sns"]["SMS"] if sms["message_id"] == message_id]
    assert len(sent) == 1, data["sns"]["SMS"]
    return dict(sent[0])


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

    def __init__(self, username: str = GATEWAY_USER, password: str = GATEWAY_PASSWORD) -> None:
        self.credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def answer(self, status: int, body: Any = None) -> None:
                raw = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="Access to SMS Gateway"')
                if raw:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Basic {gateway.credentials}":
                    return True
                self.answer(401)  # what the app's Ktor server does: no body
                return False

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"{}")
                gateway.requests.append(
                    {"path": self.path, "content_type": self.headers.get("Content-Type"), "json": payload}
                )
                if not self.authorized():
                    return
                if self.path != "/message":
                    return self.answer(404)
                if not payload.get("message"):
                    return self.answer(400, {"message": "Text message is empty"})
                if not payload.get("phoneNumbers"):
                    return self.answer(400, {"message": "phoneNumbers is empty"})
                message_id = payload.get("id") or uuid.uuid4().hex[:21]
                gateway.messages[message_id] = {"payload": payload, "state": "Pending"}
                self.answer(202, gateway.state_of(message_id))

            def do_GET(self) -> None:
                if not self.authorized():
                    return
                message_id = self.path.removeprefix("/message/")
                if message_id not in gateway.messages:
                    return self.answer(404)
                self.answer(200, gateway.state_of(message_id))

        self.serve(Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def state_of(self, message_id: str) -> dict[str, Any]:
        message = self.messages[message_id]
        return {
            "id": message_id,
            "state": message["state"],
            "isEncrypted": False,
            "recipients": [
                {"phoneNumber": number, "state": message["state"], "error": None}
                for number in message["payload"]["phoneNumbers"]
            ],
            "states": {message["state"]: "2026-11-02T12:00:00.000+00:00"},
        }

    def phone_sent(self, message_id: str) -> None:
        self.messages[message_id]["state"] = "Sent"
