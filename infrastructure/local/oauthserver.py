"""A local stand-in for Microsoft's sign-in service (Entra ID) as Exchange Online's IMAP uses it:
the OAuth2 client-credentials token endpoint and the token introspection a local dovecot asks.

    with MicrosoftLogin() as login:
        login.register_app("contoso.example", client_id, secret, mailbox="ana@contoso.example")
        login.url                 # PREGON_MICROSOFT_LOGIN_URL: http://127.0.0.1:<port>
        login.introspection_url   # dovecot's oauth2 passdb asks it whether a token is good

``POST /{tenant}/oauth2/v2.0/token`` takes the form Microsoft's does (``grant_type=
client_credentials``, ``client_id``, ``client_secret``, ``scope=https://outlook.office365.com/
.default``) and answers as it does: ``{"token_type": "Bearer", "expires_in": 3599,
"access_token": ...}``, or ``{"error": "invalid_client", "error_description": "AADSTS7000215:
..."}`` and the like. ``POST /introspect`` (``token=...``, dovecot's ``introspection_mode =
post``) answers ``{"active": true, "username": <the mailbox the app may read>}`` for a token it
issued and has not expired, ``{"active": false}`` otherwise. A registered app is what the
company's admin sets up: the Entra app with ``IMAP.AccessAsApp`` and its service principal's
``Add-MailboxPermission`` on one mailbox (dovecot checks the token's user against the login's).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs

SCOPE = "https://outlook.office365.com/.default"
TOKEN_SECONDS = 3599


@dataclass(frozen=True)
class App:
    tenant: str
    client_id: str
    secret: str
    mailbox: str


class MicrosoftLogin:
    """The token endpoint and the introspection endpoint on 127.0.0.1:<port>, in a thread."""

    def __init__(self) -> None:
        self.apps: dict[tuple[str, str], App] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (mailbox, expires at)
        self.requests: list[dict[str, str]] = []  # the token requests' forms, as received
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def introspection_url(self) -> str:
        return f"{self.url}/introspect"

    def register_app(self, tenant: str, client_id: str, secret: str, *, mailbox: str) -> None:
        """The admin's setup: an Entra app with a client secret and IMAP.AccessAsApp, whose
        service principal may read ``mailbox``."""
        self.apps[(tenant.lower(), client_id.lower())] = App(tenant, client_id, secret, mailbox)

    def issued(self) -> list[str]:
        with self._lock:
            return list(self.tokens)

    def __enter__(self) -> MicrosoftLogin:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- the endpoints --------------------------------------------------------------------------

    def token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self._lock:
            self.requests.append(dict(form))
        if form.get("grant_type") != "client_credentials":
            return 400, _error(
                "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant."
            )
        if not any(t == tenant.lower() for t, _ in self.apps):
            return 400, _error("invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        app = self.apps.get((tenant.lower(), form.get("client_id", "").lower()))
        if app is None:
            return 400, _error(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id', '')}' was not "
                "found in the directory.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), app.secret):
            return 401, _error(
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                "request is the client secret value, not the client secret ID.",
            )
        if form.get("scope") != SCOPE:
            return 400, _error("invalid_scope", "AADSTS70011: The provided value for scope is not valid.")
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = (app.mailbox, time.monotonic() + TOKEN_SECONDS)
        return 200, {
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "ext_expires_in": TOKEN_SECONDS,
            "access_token": token,
        }

    def introspect(self, form: dict[str, str]) -> dict[str, object]:
        with self._lock:
            found = self.tokens.get(form.get("token", ""))
        if found is None or found[1] < time.monotonic():
            return {"active": False}
        return {"active": True, "username": found[0], "scope": "IMAP.AccessAsApp"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        login = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["introspect"]:
                    status, answer = 200, login.introspect(form)
                elif len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
                    status, answer = login.token(parts[0], form)
                else:
                    status, answer = 404, _error("not_found", self.path)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # quiet: tokens pass here
                return

        return Handler


def _error(code: str, description: str) -> dict[str, object]:
    return {
        "error": code,
        "error_description": description,
        "error_codes": [],
        "trace_id": secrets.token_hex(8),
    }
