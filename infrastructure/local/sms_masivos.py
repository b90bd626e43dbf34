"""SMS Masivos for the local stack and the tests: an HTTP server that answers ``GET
/enviar_sms.asp?api=1&usuario=..&clave=..&tos=..&texto=..&respuestanumerica=1`` as SMS Masivos
(Argentina) does, keeping each SMS it accepts and every raw request line it was sent.

    with SmsMasivosStandIn() as masivos:       # SMS_MASIVOS_URL=masivos.url
        ...                                    # PUT /sms/settings {"provider": "sms_masivos", ...}
    masivos.sent                               # [{"tos": "1159876543", "texto": "...", ...}]
    masivos.request_lines                      # ["GET /enviar_sms.asp?api=1&usuario=... HTTP/1.1"]

Given a ``folder`` (the local stack's ``.local/sms-masivos/``), it also writes each SMS it accepts
there as a JSON file, the number and the text as SMS Masivos got them (``{"to": ["1159876543"],
"text": "..."}``), which ``stack sms --outbox`` lists (``caught_sms``).

Answers, as the public clients of the API read them (docs/sms.md): ``0;Mensaje enviado`` for a sent
SMS, ``-7;Numero de longitud incorrecta`` for a number that is not 10 digits, and a line of text
naming the user and password for wrong credentials (its exact words are SMS Masivos'; ours are a
stand-in's). ``answer`` forces the next answers (an HTTP status and body), ``delay`` holds them.
The login is ``demo`` / ``local-masivos-password`` (a local stand-in's, not a secret).

It also answers the prepaid account's three queries, in the folder of ``enviar_sms.asp``, as the
public client github.com/cmercado93/smsmasivos-api-client reads them: ``GET
obtener_saldo.asp?usuario=..&clave=..`` the SMS left (``credit``, a whole number; set it low to
test the warning), ``obtener_vencimiento_paquete.asp`` the package's last day (``expires_on``,
``YYYY-MM-DD``) and ``obtener_envios.asp`` the SMS sent this month (those it took, plus
``sent_before``). A wrong login answers the same line of text as for a send.

    masivos.credit = 40                        # the account is running out
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from chalicelib.core.secrets import same_secret
from infrastructure.local.sms_gateway import keep_sms

MASIVOS_USERNAME = "demo"
MASIVOS_PASSWORD = "local-masivos-password"  # nosec B105 # the local stand-in's login, not a secret
WRONG_LOGIN_ANSWER = "Usuario o clave incorrectos"
ACCOUNT_PAGES = ("/obtener_saldo.asp", "/obtener_vencimiento_paquete.asp", "/obtener_envios.asp")


class SmsMasivosStandIn:
    """SMS Masivos on 127.0.0.1 (any free port unless one is given), answering from a thread."""

    def __init__(
        self,
        port: int = 0,
        username: str = MASIVOS_USERNAME,
        password: str = MASIVOS_PASSWORD,
        folder: Path | None = None,
    ) -> None:
        self.username, self.password, self.folder = username, password, folder
        self.sent: list[dict[str, str]] = []
        self.request_lines: list[str] = []
        self.answer: tuple[int, bytes] | None = None
        self.delay = 0.0
        self.credit = 5000
        self.expires_on = date(2027, 6, 30)
        self.sent_before = 0
        self.account_queries: list[str] = []  # the pages of the account queries asked, in order
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/enviar_sms.asp"

    def __enter__(self) -> SmsMasivosStandIn:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _take(self, request_line: str, raw_query: str) -> tuple[int, bytes]:
        # SMS Masivos reads its query in its own code page: Latin-1, as it answers.
        query = dict(urllib.parse.parse_qsl(raw_query, encoding="latin-1"))
        with self._lock:
            self.request_lines.append(request_line)
            if self.answer is not None:
                return self.answer
            if query.get("usuario") != self.username or not same_secret(query.get("clave"), self.password):
                return 200, WRONG_LOGIN_ANSWER.encode("latin-1")
            tos = query.get("tos", "")
            if len(tos) != 10 or not tos.isdigit():
                return 200, b"-7;Numero de longitud incorrecta"
            self.sent.append(query)
            if self.folder is not None:
                keep_sms(self.folder, [tos], query.get("texto", ""))
            return 200, b"0;Mensaje enviado"

    def _account(self, page: str, request_line: str, raw_query: str) -> tuple[int, bytes]:
        query = dict(urllib.parse.parse_qsl(raw_query, encoding="latin-1"))
        with self._lock:
            self.request_lines.append(request_line)
            self.account_queries.append(page)
            if self.answer is not None:
                return self.answer
            if query.get("usuario") != self.username or not same_secret(query.get("clave"), self.password):
                return 200, WRONG_LOGIN_ANSWER.encode("latin-1")
            answer = {
                "obtener_saldo.asp": str(self.credit),
                "obtener_vencimiento_paquete.asp": self.expires_on.isoformat(),
                "obtener_envios.asp": str(self.sent_before + len(self.sent)),
            }[page]
            return 200, answer.encode("latin-1")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, raw_query = self.path.partition("?")
                if path in ACCOUNT_PAGES:
                    status, body = stand_in._account(path[1:], self.requestline, raw_query)
                elif path == "/enviar_sms.asp":
                    status, body = stand_in._take(self.requestline, raw_query)
                else:
                    self._reply(404, b"Not Found")
                    return
                if stand_in.delay:
                    time.sleep(stand_in.delay)
                self._reply(status, body)

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=iso-8859-1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # its lines hold the password: never logged

        return Handler
