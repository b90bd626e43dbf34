"""A phone's SMS gateway for the local stack: an HTTP server that answers like the Android "SMS
Gateway" app's local server (the ``http_gateway`` SMS provider), and keeps each SMS it is asked to
send as a JSON file in ``.local/sms/`` (the SMS counterpart of the mail catcher).

    POST /message       Basic auth, {"message", "phoneNumbers"}  → 202 {"id", "state": "Sent", ...}
    GET  /message/{id}  → the same shape, ``Delivered`` (a local phone delivers every SMS it took:
                          Pregón's minute check records it, docs/sms.md "Delivery reports")

    with SmsGatewayCatcher(tmp_path / "sms", port=8082) as gateway:
        ...                                   # PUT /sms/settings {"provider": "http_gateway", ...}
    caught_sms(tmp_path / "sms")              # what it was asked to send, oldest first

The login is ``sms`` / ``local-gateway-password`` (a local catcher's, not a secret).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from chalicelib.core.secrets import same_secret
from infrastructure.local.paths import free_port

log = logging.getLogger(__name__)

GATEWAY_USERNAME = "sms"
GATEWAY_PASSWORD = "local-gateway-password"  # nosec B105 # the local stand-in gateway's login, not a secret


def keep_sms(folder: Path, numbers: list[str], text: str) -> dict[str, Any]:
    """Write one SMS taken to ``numbers`` as the next JSON file of ``folder`` (whole or not at all:
    a reader never sees half of it); the caller holds the lock that keeps the numbering in order."""
    folder.mkdir(parents=True, exist_ok=True)
    sequence = len(list(folder.glob("*.json"))) + 1
    now = datetime.now(UTC)
    record = {"id": uuid.uuid4().hex[:21], "at": now.isoformat(), "to": numbers, "text": text}
    name = f"{now.strftime('%Y%m%dT%H%M%S')}-{sequence:06d}.json"
    partial = folder / f".{name}.partial"
    partial.write_text(json.dumps(record, ensure_ascii=False))
    partial.replace(folder / name)
    return record


def caught_sms(folder: Path) -> list[dict[str, Any]]:
    """Every SMS the gateway took, oldest first: ``{"id", "at", "to": [...], "text"}``."""
    if not folder.is_dir():
        return []
    caught = []
    for path in sorted(folder.glob("*.json")):
        try:
            caught.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return caught


def gateway_handler(
    credentials: str,
    *,
    take: Callable[[dict[str, Any]], dict[str, Any]],
    find: Callable[[str], dict[str, Any] | None],
    seen: Callable[[str, str | None, dict[str, Any]], None] | None = None,
) -> type[BaseHTTPRequestHandler]:
    """The Android SMS Gateway app's REST API: Basic auth (``credentials``, base64), ``POST
    /message`` with ``{"message", "phoneNumbers"}`` → 202 with the message's state (``take``
    keeps it), ``GET /message/{id}`` → its state (``find``); errors as ``{"message": ...}``, a 401
    with no body as the app's Ktor server answers. ``seen`` hears every POST (path, content type,
    body) before it is checked."""

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
            if same_secret(self.headers.get("Authorization"), f"Basic {credentials}"):
                return True
            self.answer(401)
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                payload = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return self.answer(400, {"message": "the body is not JSON"})
            if seen is not None:
                seen(self.path, self.headers.get("Content-Type"), payload)
            if not self.authorized():
                return None
            if self.path.rstrip("/") != "/message":
                return self.answer(404)
            if not payload.get("message"):
                return self.answer(400, {"message": "Text message is empty"})
            if not payload.get("phoneNumbers"):
                return self.answer(400, {"message": "phoneNumbers is empty"})
            return self.answer(202, take(payload))

        def do_GET(self) -> None:
            if not self.authorized():
                return None
            state = find(self.path.removeprefix("/message/"))
            if state is None:
                return self.answer(404)
            return self.answer(200, state)

    return Handler


class SmsGatewayCatcher:
    """The gateway on ``host:port`` (a free port unless one is given), writing to ``folder``."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        username: str = GATEWAY_USERNAME,
        password: str = GATEWAY_PASSWORD,
    ) -> None:
        self.folder = Path(folder)
        self.host = host
        self._port = port if port is not None else free_port(host)
        self._credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def _state(self, record: dict[str, Any], state: str = "Sent") -> dict[str, Any]:
        return {
            "id": record["id"],
            "state": state,
            "isEncrypted": False,
            "recipients": [{"phoneNumber": n, "state": state, "error": None} for n in record["to"]],
            "states": {"Sent": record["at"], **({state: record["at"]} if state != "Sent" else {})},
        }

    def _keep(self, numbers: list[str], text: str) -> dict[str, Any]:
        with self._lock:
            record = keep_sms(self.folder, numbers, text)
        log.info("SMS gateway took an SMS to %s", ", ".join(numbers))
        return record

    def _state_of(self, message_id: str) -> dict[str, Any] | None:
        record = next((r for r in caught_sms(self.folder) if r.get("id") == message_id), None)
        return self._state(record, "Delivered") if record else None

    def start(self) -> SmsGatewayCatcher:
        if self._server is not None:
            return self
        handler = gateway_handler(
            self._credentials,
            take=lambda payload: self._state(
                self._keep([str(n) for n in payload["phoneNumbers"]], str(payload["message"]))
            ),
            find=self._state_of,
        )
        self._server = ThreadingHTTPServer((self.host, self._port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-gateway", daemon=True)
        self._thread.start()
        log.info("SMS gateway listening on %s, writing %s", self.base_url, self.folder)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> SmsGatewayCatcher:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
