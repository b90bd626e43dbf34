"""Local stand-ins for the sign-in services OAuth2 IMAP mailboxes use: Microsoft's (Entra ID, for
Exchange Online) and Google's (for Gmail, a service account by domain-wide delegation). Each
issues tokens and answers the token introspection a local dovecot asks.

    with MicrosoftLogin() as login:
        login.register_app("contoso.example", client_id, secret, mailbox="ana@contoso.example")
        login.url                 # PREGON_MICROSOFT_LOGIN_URL: http://127.0.0.1:<port>
        login.introspection_url   # dovecot's oauth2 passdb asks it whether a token is good

``POST /{tenant}/oauth2/v2.0/token`` takes the form Microsoft's does (``grant_type=
client_credentials``, ``client_id``, ``client_secret``, ``scope=https://outlook.office365.com/
.default``) and answers as it does: ``{"token_type": "Bearer", "expires_in": 3599,
"access_token": ...}``, or ``{"error": "invalid_client", "error_description": "AADSTS7000215:
..."}`` and the like. ``POST /introspect`` (``token=...``, dovecot's ``introspection_mode =
post``) answers ``{"active": true, "username": <the mailbox the token opens>}`` for a token it
issued and has not expired, ``{"active": false}`` otherwise. A registered app is what the
company's admin sets up: the Entra app with ``IMAP.AccessAsApp`` and its service principal's
``Add-MailboxPermission`` on one mailbox (dovecot checks the token's user against the login's).

    with GoogleLogin(users=["ana@estudio.example"]) as google:
        google.register_service_account(client_email, public_key_pem, client_id="1087...")
        google.token_url          # PREGON_GOOGLE_TOKEN_URL: http://127.0.0.1:<port>/token

``POST /token`` takes the JWT-bearer grant as Google's does (``grant_type=urn:ietf:params:oauth:
grant-type:jwt-bearer``, ``assertion=<JWT>``): the assertion's RS256 signature is verified with
the registered service account's public key and its claims checked (``iss`` a registered
account, ``aud`` this token URL, ``iat``/``exp`` at most an hour apart and not expired, every
``scope`` delegated, ``sub`` a user of the domain). Refusals are Google's: ``invalid_grant``
("Invalid JWT Signature.", ...), and ``unauthorized_client`` when the Workspace admin has not
delegated the scope to the account's client id (``register_service_account(...,
delegated_scopes=())``). A token it issues opens ``sub``'s mailbox.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs

import jwt

from chalicelib.core.secrets import same_secret

SCOPE = "https://outlook.office365.com/.default"
TOKEN_SECONDS = 3599
GOOGLE_SCOPE = "https://mail.google.com/"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class _SignInService:
    """A token endpoint and the introspection endpoint on 127.0.0.1:<port>, in a thread."""

    introspected_scope = ""

    def __init__(self) -> None:
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

    def issued(self) -> list[str]:
        with self._lock:
            return list(self.tokens)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # --- the endpoints --------------------------------------------------------------------------

    def token(self, path: list[str], form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """The token endpoint's answer to a POST at ``path`` (its segments) with ``form``."""
        raise NotImplementedError

    def _issue(self, mailbox: str) -> dict[str, object]:
        token = secrets.token_urlsafe(48)
        with self._lock:
            self.tokens[token] = (mailbox, time.monotonic() + TOKEN_SECONDS)
        return {"token_type": "Bearer", "expires_in": TOKEN_SECONDS, "access_token": token}  # nosec B105 # the OAuth token type, not a secret

    def introspect(self, form: dict[str, str]) -> dict[str, object]:
        with self._lock:
            found = self.tokens.get(form.get("token", ""))
        if found is None or found[1] < time.monotonic():
            return {"active": False}
        return {"active": True, "username": found[0], "scope": self.introspected_scope}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        login = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8", "replace")
                form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                path = self.path.split("?")[0].strip("/").split("/")
                if path == ["introspect"]:
                    status, answer = 200, login.introspect(form)
                else:
                    with login._lock:
                        login.requests.append(dict(form))
                    status, answer = login.token(path, form)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # quiet: tokens pass here
                return

        return Handler


@dataclass(frozen=True)
class App:
    tenant: str
    client_id: str
    secret: str
    mailbox: str


class MicrosoftLogin(_SignInService):
    """Microsoft's token endpoint (``/{tenant}/oauth2/v2.0/token``) and the introspection."""

    introspected_scope = "IMAP.AccessAsApp"

    def __init__(self) -> None:
        super().__init__()
        self.apps: dict[tuple[str, str], App] = {}

    def register_app(self, tenant: str, client_id: str, secret: str, *, mailbox: str) -> None:
        """The admin's setup: an Entra app with a client secret and IMAP.AccessAsApp, whose
        service principal may read ``mailbox``."""
        self.apps[(tenant.lower(), client_id.lower())] = App(tenant, client_id, secret, mailbox)

    def token(self, path: list[str], form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if len(path) != 4 or path[1:] != ["oauth2", "v2.0", "token"]:
            return 404, _error("not_found", "/".join(path))
        tenant = path[0]
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
        if not same_secret(form.get("client_secret"), app.secret):
            return 401, _error(
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
                "request is the client secret value, not the client secret ID.",
            )
        if form.get("scope") != SCOPE:
            return 400, _error("invalid_scope", "AADSTS70011: The provided value for scope is not valid.")
        return 200, {**self._issue(app.mailbox), "ext_expires_in": TOKEN_SECONDS}


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    public_key: str  # PEM
    client_id: str  # its OAuth2 client id: what the Workspace admin delegates scopes to
    delegated_scopes: tuple[str, ...]


class GoogleLogin(_SignInService):
    """Google's token endpoint (``/token``, the JWT-bearer grant) and the introspection; ``users``
    are the Workspace domain's, whose mailboxes a delegated service account may open."""

    introspected_scope = GOOGLE_SCOPE

    def __init__(self, users: Iterable[str] = ()) -> None:
        super().__init__()
        self.users = {u.lower() for u in users}
        self.accounts: dict[str, ServiceAccount] = {}
        self.assertions: list[dict[str, object]] = []  # each verified assertion's claims

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def register_service_account(
        self,
        client_email: str,
        public_key: str,
        *,
        client_id: str,
        delegated_scopes: Iterable[str] = (GOOGLE_SCOPE,),
    ) -> None:
        """The admins' setup: a service account with a key (its public half here), and the
        domain-wide delegation of ``delegated_scopes`` to its client id (none: not delegated)."""
        self.accounts[client_email.lower()] = ServiceAccount(
            client_email, public_key, client_id, tuple(delegated_scopes)
        )

    def token(self, path: list[str], form: dict[str, str]) -> tuple[int, dict[str, object]]:
        if path != ["token"]:
            return 404, _google("not_found", "/".join(path))
        if form.get("grant_type") != JWT_BEARER:
            return 400, _google("unsupported_grant_type", "Invalid grant_type: " + form.get("grant_type", ""))
        assertion = form.get("assertion", "")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            algorithm = jwt.get_unverified_header(assertion).get("alg")
        except jwt.PyJWTError:
            return 400, _google("invalid_grant", "Invalid JWT: the assertion is not a JWT.")
        account = self.accounts.get(str(unverified.get("iss", "")).lower())
        if account is None:
            return 400, _google("invalid_grant", "Invalid grant: account not found")
        if algorithm != "RS256":
            return 400, _google("invalid_grant", "Invalid JWT Signature.")
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=self.token_url,
                options={"require": ["iss", "aud", "iat", "exp", "scope", "sub"]},
            )
        except jwt.InvalidSignatureError:
            return 400, _google("invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError as exc:  # audience, expiry, a missing claim
            return 400, _google("invalid_grant", f"Invalid JWT: {exc}")
        if not 0 < int(claims["exp"]) - int(claims["iat"]) <= 3600:
            return 400, _google(
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                "timeframe. Check your iat and exp values in the JWT claim.",
            )
        with self._lock:
            self.assertions.append(dict(claims))
        scopes = str(claims["scope"]).split()
        if not scopes or any(scope not in account.delegated_scopes for scope in scopes):
            return 401, _google(
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not "
                "authorized for any of the scopes requested.",
            )
        user = str(claims["sub"]).lower()
        if user not in self.users:
            return 400, _google("invalid_grant", "Invalid email or User ID")
        return 200, self._issue(user)


def _error(code: str, description: str) -> dict[str, object]:
    return {
        "error": code,
        "error_description": description,
        "error_codes": [],
        "trace_id": secrets.token_hex(8),
    }


def _google(code: str, description: str) -> dict[str, object]:
    return {"error": code, "error_description": description}
