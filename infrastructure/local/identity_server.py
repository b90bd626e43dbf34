"""The local stack's sign-in for the staff console (W2), standing in for Cognito's hosted UI: a tiny
HTTP server on 127.0.0.1 that mints :class:`LocalIdentity` tokens for a demo user.

    GET  /users?company_id=demo   the demo users, one per staff level (1 administrator ... 4)
    POST /token                   {"company_id": "demo", "user_id": "admin@demo", "level": 1}
                                  -> {"id_token": "<JWT>", "token_type": "Bearer", "expires_in": 43200}

Only the console's origins may call it from a browser (CORS). It signs anyone in as anyone: it is
for the local stack and the tests only, never deployed. Its errors speak the caller's language as the
API's do (docs/decisions/0014): Spanish when ``Accept-Language`` prefers it, else English.

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

from chalicelib.api.error_language import SPANISH, preferred_language
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


# Every message this server answers, in English (as raised) and in Spanish. A field's message is
# written without the field: the answer names the field beside it.
MESSAGES_ES = {
    "this origin may not sign in here": "este origen no puede ingresar aquí",
    "not found": "no existe",
    "the body is too large": "el cuerpo es demasiado grande",
    "is not valid JSON": "no es JSON válido",
    "must be a JSON object": "debe ser un objeto JSON",
    "is required (at most 64 characters)": "es obligatorio (como máximo 64 caracteres)",
    "is required (at most 128 characters)": "es obligatorio (como máximo 128 caracteres)",
    "must be a whole number from 1 to 4": "debe ser un número entero de 1 a 4",
}


class Refused(ValueError):
    """A request this server refuses: ``message`` in English, about ``field`` when it names one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


def error_answer(message: str, field: str | None, accept_language: str | None) -> dict[str, Any]:
    """The body of a refusal in the caller's language: ``message`` (led by the field, as the API's
    are), ``field`` and ``errors`` ([{field, message}], the message without the field)."""
    if preferred_language(accept_language) == SPANISH:
        message = MESSAGES_ES.get(message, message)
    if field is None:
        return {"message": message}
    return {
        "message": f"{field}: {message}",
        "field": field,
        "errors": [{"field": field, "message": message}],
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
        """A token for the user the body names; :class:`Refused` names a bad field."""
        company_id = str(body.get("company_id") or "").strip()
        user_id = str(body.get("user_id") or "").strip()
        level = body.get("level")
        if not company_id or len(company_id) > 64:
            raise Refused("is required (at most 64 characters)", "company_id")
        if not user_id or len(user_id) > 128:
            raise Refused("is required (at most 128 characters)", "user_id")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 4:
            raise Refused("must be a whole number from 1 to 4", "level")
        name = str(body.get("name") or "").strip()[:80] or None
        ttl = timedelta(hours=TOKEN_HOURS)
        email = demo_email(company_id, user_id)
        token = self.identity.mint(company_id, user_id=user_id, level=level, name=name, email=email, ttl=ttl)
        return {"id_token": token, "token_type": "Bearer", "expires_in": int(ttl.total_seconds())}  # nosec B105 # the OAuth token type, not a secret


def _handler(server: IdentityServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: and a token never reaches a log

        def _cors(self) -> None:
            origin = self.headers.get("Origin")
            if origin in server.allowed_origins:
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")

        def _refuse(self, status: int, message: str, field: str | None = None) -> None:
            language = preferred_language(self.headers.get("Accept-Language"))
            self._answer(status, error_answer(message, field, self.headers.get("Accept-Language")), language)

        def _answer(self, status: int, body: Any, language: str | None = None) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self._cors()
            if language is not None:
                self.send_header("Content-Language", language)
                self.send_header("Vary", "Accept-Language")
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            if self.headers.get("Origin") not in server.allowed_origins:
                self._refuse(403, "this origin may not sign in here")
                return
            self.send_response(204)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "GET, POST")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Accept-Language")
            self.send_header("Access-Control-Max-Age", "600")
            self.end_headers()

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/users":
                self._refuse(404, "not found")
                return
            company = (parse_qs(url.query).get("company_id") or [server.company_id])[0][:64]
            self._answer(200, {"company_id": company, "users": demo_users(company)})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self._refuse(404, "not found")
                return
            origin = self.headers.get("Origin")
            if origin is not None and origin not in server.allowed_origins:
                self._refuse(403, "this origin may not sign in here")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = MAX_BODY + 1
            # A negative length is no length: read(-1) would read to the end of the connection,
            # whatever its size, and wait for it to close.
            if not 0 <= length <= MAX_BODY:
                self._refuse(413, "the body is too large")
                return
            try:
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except (ValueError, RecursionError):  # RecursionError: arrays nested past Python's limit
                    raise Refused("is not valid JSON", "body") from None
                if not isinstance(body, dict):
                    raise Refused("must be a JSON object", "body")
                answer = server.mint(body)
            except Refused as refused:
                self._refuse(422, refused.message, refused.field or "body")
                return
            self._answer(200, answer)

    return Handler
