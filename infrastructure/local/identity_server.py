"""The local stack's sign-in for the staff console (W2), standing in for Cognito's hosted UI: a tiny
HTTP server on 127.0.0.1 that mints :class:`LocalIdentity` tokens for a demo user.

    GET  /users?company_id=demo   the demo users, one per staff level (1 administrator ... 4)
    POST /token                   {"company_id": "demo", "user_id": "admin@demo", "level": 1}
                                  -> {"id_token": "<JWT>", "token_type": "Bearer", "expires_in": 43200}

Only the console's origins may call it from a browser (CORS). It signs anyone in as anyone: it is
for the local stack and the tests only, never deployed.

    with IdentityServer(identity, allowed_origin="http://127.0.0.1:8000") as server:
        print(server.url)
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infrastructure.local.identity import LocalIdentity

TOKEN_HOURS = 12
MAX_BODY = 4096
# One demo user per staff level: (user id before "@<company>", name, level).
DEMO_USERS = (
    ("admin", "Administración", 1),
    ("supervisor", "Supervisión", 2),
    ("clerk", "Atención al cliente", 3),
    ("agent", "Agente", 4),
)

# Their own e-mail addresses (the token's ``email`` claim): a personal sender account speaks as it (C5).
DEMO_EMAILS = {
    "admin": "administracion@cargasdelsur.example",
    "supervisor": "sofia@cargasdelsur.example",
    "clerk": "clara@cargasdelsur.example",
    "agent": "agente@cargasdelsur.example",
}


def demo_email(company_id: str, user_id: str) -> str | None:
    """The e-mail address of the company's demo user ``user_id`` (None for any other user)."""
    user, _, company = user_id.partition("@")
    return DEMO_EMAILS.get(user) if company == company_id else None


def demo_users(company_id: str) -> list[dict[str, Any]]:
    return [
        {"user_id": f"{user}@{company_id}", "name": name, "level": level} for user, name, level in DEMO_USERS
    ]


class IdentityServer:
    """Serves the sign-in API on ``host:port`` (0: a free port) in a thread while entered."""

    def __init__(
        self,
        identity: LocalIdentity,
        *,
        allowed_origin: str | tuple[str, ...],
        company_id: str = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.identity = identity
        origins = (allowed_origin,) if isinstance(allowed_origin, str) else allowed_origin
        self.allowed_origins = tuple(origin.rstrip("/") for origin in origins)
        self.company_id = company_id
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, name="identity", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> IdentityServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mint(self, body: dict[str, Any]) -> dict[str, Any]:
        """A token for the user the body names; ValueError names a bad field."""
        company_id = str(body.get("company_id") or "").strip()
        user_id = str(body.get("user_id") or "").strip()
        level = body.get("level")
        if not company_id or len(company_id) > 64:
            raise ValueError("company_id: is required (at most 64 characters)")
        if not user_id or len(user_id) > 128:
            raise ValueError("user_id: is required (at most 128 characters)")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 4:
            raise ValueError("level: must be a whole number from 1 to 4")
        name = str(body.get("name") or "").strip()[:80] or None
        ttl = timedelta(hours=TOKEN_HOURS)
        email = demo_email(company_id, user_id)
        token = self.identity.mint(company_id, user_id=user_id, level=level, name=name, email=email, ttl=ttl)
        return {"id_token": token, "token_type": "Bearer", "expires_in": int(ttl.total_seconds())}


def _handler(server: IdentityServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: and a token never reaches a log

        def _cors(self) -> None:
            origin = self.headers.get("Origin")
            if origin in server.allowed_origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            if self.headers.get("Origin") not in server.allowed_origins:
                self._answer(403, {"message": "this origin may not sign in here"})
                return
            self.send_response(204)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Max-Age", "600")
            self.end_headers()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/users":
                self._answer(404, {"message": "not found"})
                return
            company = (parse_qs(url.query).get("company_id") or [server.company_id])[0][:64]
            self._answer(200, {"company_id": company, "users": demo_users(company)})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._answer(404, {"message": "not found"})
                return
            origin = self.headers.get("Origin")
            if origin is not None and origin not in server.allowed_origins:
                self._answer(403, {"message": "this origin may not sign in here"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, {"message": "the body is too large"})
                return
            try:
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    raise ValueError("body: is not valid JSON") from None
                if not isinstance(body, dict):
                    raise ValueError("body: must be a JSON object")
                answer = server.mint(body)
            except ValueError as exc:
                field, _, message = str(exc).partition(": ")
                self._answer(422, {"message": str(exc), "field": field if message else "body"})
                return
            self._answer(200, answer)

    return Handler
