"""W2: the console's own routes through the app: its files (and nothing else), the policy on every
answer, the sign-in configuration (no secret), and the screens a level may open, which are the
routes' own declared access (real DynamoDB Local)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from infrastructure.local.identity_server import IdentityServer
from tests.steps.answers import body
from tests.steps.console import bearer
from tests.steps.settings import environment_kept, settings_read_again
from tests.steps.tenants import IDENTITY, Tenant

CONFIGURATION = {"monitor", "catalog", "accounts", "templates"}


@pytest.fixture
def settings_env() -> Iterator[dict[str, str]]:
    """Set console settings for one test, and put everything back after it."""
    names = ("PREGON_CONSOLE_IDENTITY_URL", "PREGON_COGNITO_DOMAIN", "PREGON_COGNITO_CLIENT_ID")
    changes: dict[str, str] = {}
    with environment_kept(names):
        yield changes


def apply(changes: dict[str, str], **values: str) -> None:
    changes.update(values)
    os.environ.update(values)
    settings_read_again()


def policy(response: object) -> str:
    return str(response.headers["Content-Security-Policy"])  # type: ignore[attr-defined]


def test_the_console_page_and_its_files_carry_a_policy_that_allows_only_its_own_scripts(api: Client) -> None:
    # When a browser opens the console and loads its script and stylesheet
    page = api.http.get("/console")
    script = api.http.get("/console/assets/app.js")
    style = api.http.get("/console/assets/console.css")
    icon = api.http.get("/console/assets/favicon.svg")
    # Then each is served with its type, and the page's policy allows scripts from itself only
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b'src="console/assets/app.js"' in page.body
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert style.headers["Content-Type"].startswith("text/css")
    assert icon.headers["Content-Type"] == "image/svg+xml"
    for answer in (page, script, style, icon):
        csp = policy(answer)
        assert "script-src 'self';" in csp and "default-src 'none'" in csp
        assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # And no script is inline in the page
    assert b"<script>" not in page.body and b'<script type="module">' not in page.body


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fapi%2Fconsole.py",
        "..%2F..%2Fapp.py",
        "%2Fetc%2Fpasswd",
        "index.html",
        ".hidden.js",
        "app.py",
        "screen-missing.js",
        "app.js%00.png",
    ],
)
def test_a_file_outside_the_allow_list_or_the_folder_is_not_found(api: Client, name: str) -> None:
    # When anything but a console file of an allowed type is asked for
    answer = api.http.get(f"/console/assets/{name}")
    # Then the answer is 404, naming nothing of the server's files
    assert answer.status_code == 404
    assert body(answer)["field"] == "name"


def test_the_sign_in_configuration_names_the_identity_and_no_secret(
    api: Client, settings_env: dict[str, str]
) -> None:
    # Given a stage signing staff in with a Cognito user pool's hosted UI
    apply(
        settings_env,
        PREGON_COGNITO_DOMAIN="https://pregon-prod.auth.us-east-1.amazoncognito.com",
        PREGON_COGNITO_CLIENT_ID="4abc123publicclient",
    )
    # When the console asks how to sign in (no credentials)
    answer = api.http.get("/console/config")
    config = body(answer)
    # Then it gets the hosted UI's address and the public app client id, and nothing else
    assert config["identity"] == {
        "kind": "cognito",
        "url": "https://pregon-prod.auth.us-east-1.amazoncognito.com",
        "client_id": "4abc123publicclient",
    }
    text = answer.body.decode()
    for secret in (
        "PREGON_LINK_SIGNING_KEY",
        "PREGON_LINK_SIGNING_KEYS_PREVIOUS",
        "PREGON_OPERATOR_TOKEN_SHA256",
    ):
        value = os.environ.get(secret)
        assert not value or value not in text
    assert set(config) == {"identity", "stage"}
    # And the console's policy lets the page reach the hosted UI's token endpoint
    assert "https://pregon-prod.auth.us-east-1.amazoncognito.com" in policy(api.http.get("/console"))


def test_the_local_identity_signs_in_a_demo_user_for_the_console_origin_only(
    api: Client, tenant: Tenant, settings_env: dict[str, str]
) -> None:
    # Given the local identity server for a console served at http://127.0.0.1:8000
    with IdentityServer(IDENTITY, allowed_origin="http://127.0.0.1:8000") as identity:
        apply(settings_env, PREGON_CONSOLE_IDENTITY_URL=identity.url)
        assert body(api.http.get("/console/config"))["identity"] == {
            "kind": "local",
            "url": identity.url,
            "client_id": None,
        }
        # When the console asks for a level-2 demo user's token
        request = urllib.request.Request(
            f"{identity.url}/token",
            data=json.dumps(
                {"company_id": tenant.company_id, "user_id": f"supervisor@{tenant.company_id}", "level": 2}
            ).encode(),
            headers={"Content-Type": "application/json", "Origin": "http://127.0.0.1:8000"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            allowed_origin = answer.headers["Access-Control-Allow-Origin"]
            token = json.loads(answer.read())["id_token"]
        # Then the API takes it: the console's "me" is that user at level 2
        me = body(api.http.get("/console/me", headers={"Authorization": f"Bearer {token}"}))
        assert me["user"]["user_id"] == f"supervisor@{tenant.company_id}" and me["user"]["level"] == 2
        assert allowed_origin == "http://127.0.0.1:8000"
        # And another site's page may not get a token from it
        request.add_header("Origin", "https://evil.example")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 403


def test_the_screens_a_level_may_open_are_the_ones_whose_routes_let_it_in(
    api: Client, tenant: Tenant
) -> None:
    # When an administrator and an agent ask which console screens they may open
    admin = body(api.http.get("/console/me", headers=bearer(tenant, 1)))
    agent = body(api.http.get("/console/me", headers=bearer(tenant, 4)))
    # Then the administrator may open every screen but the one whose routes also ask a directory
    # permission no one gave them (preferred agents: change_preferred_agent); the agent no
    # configuration screen
    assert {screen["id"] for screen in admin["screens"] if not screen["allowed"]} == {"agents"}
    allowed = {screen["id"] for screen in agent["screens"] if screen["allowed"]}
    assert not CONFIGURATION & allowed and {"followups", "sends", "history"} <= allowed
    levels = {screen["id"]: screen["levels"] for screen in agent["screens"]}
    assert levels["monitor"] == [1] and levels["followups"] == [1, 2, 3, 4]
    # And the API refuses the agent what the console hides (and an API key is not a console user)
    assert api.http.put("/alerts/tracking", headers=bearer(tenant, 4), body=b"{}").status_code == 403
    assert api.http.get("/console/me", headers=tenant.key_headers()).status_code == 403


def test_the_local_demo_administrator_may_open_every_screen(
    api: Client, local_aws: dict[str, str], tmp_path: Path
) -> None:
    from chalicelib.api.console import SCREENS
    from infrastructure.local.demo import COMPANY_ID, seed_demo_company
    from tests.steps.tenants import MADE

    # Given the demo company as the local stack seeds it
    seed_demo_company(tmp_path / "demo-credentials.json")
    MADE.append(COMPANY_ID)  # it leaves the shared schedules when the test ends
    # When its administrator signs in to the console as the local identity signs them in
    token = IDENTITY.mint(COMPANY_ID, user_id=f"admin@{COMPANY_ID}", level=1)
    me = body(api.http.get("/console/me", headers={"Authorization": f"Bearer {token}"}))
    # Then the console offers them every screen it has, the preferred agents too
    assert me["user"]["name"] == "Administración"
    assert [screen["id"] for screen in me["screens"] if screen["allowed"]] == list(SCREENS)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"company_id": "demo", "user_id": "admin@demo", "level": 5}, "level"),
        ({"company_id": "demo", "user_id": "admin@demo", "level": "1"}, "level"),
        ({"company_id": "", "user_id": "admin@demo", "level": 1}, "company_id"),
        ({"company_id": "demo", "level": 1}, "user_id"),
    ],
)
def test_the_local_identity_refuses_a_bad_request_naming_the_field(
    payload: dict[str, object], field: str
) -> None:
    # Given the local identity server
    with IdentityServer(IDENTITY, allowed_origin="http://127.0.0.1:8000") as identity:
        # When it is asked for a token with a bad field
        request = urllib.request.Request(
            f"{identity.url}/token",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        # Then it answers 422 naming that field, and mints nothing
        assert refused.value.code == 422
        assert json.loads(refused.value.read())["field"] == field


@pytest.mark.parametrize(
    ("accept_language", "level_message", "origin_message"),
    [
        (
            "es-AR,es;q=0.9,en;q=0.5",
            "debe ser un número entero de 1 a 4",
            "este origen no puede ingresar aquí",
        ),
        ("en-US,en;q=0.9", "must be a whole number from 1 to 4", "this origin may not sign in here"),
        (None, "must be a whole number from 1 to 4", "this origin may not sign in here"),
    ],
)
def test_the_local_identity_refuses_in_the_callers_language(
    accept_language: str | None, level_message: str, origin_message: str
) -> None:
    # Given the local identity server, and a caller whose browser asks for a language (or none)
    language = {"Accept-Language": accept_language} if accept_language else {}
    with IdentityServer(IDENTITY, allowed_origin="http://127.0.0.1:8000") as identity:
        # When it asks for a token at level 9
        request = urllib.request.Request(
            f"{identity.url}/token",
            data=json.dumps({"company_id": "demo", "user_id": "admin@demo", "level": 9}).encode(),
            headers={"Content-Type": "application/json", "Origin": "http://127.0.0.1:8000", **language},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        # Then the 422 says why in that language (English when it asks for none), naming the field
        assert refused.value.code == 422
        assert json.loads(refused.value.read()) == {
            "message": f"level: {level_message}",
            "field": "level",
            "errors": [{"field": "level", "message": level_message}],
        }
        # And another site's page is refused in that language too
        request.add_header("Origin", "https://evil.example")
        with pytest.raises(urllib.error.HTTPError) as foreign:
            urllib.request.urlopen(request, timeout=5)
        assert foreign.value.code == 403
        assert json.loads(foreign.value.read()) == {"message": origin_message}


def _raw_post(url: str, content_length: str, payload: bytes) -> tuple[int, dict[str, object]]:
    """POST /token as a client that writes its own headers, and the answer's status and JSON. The
    connection stays open, as a browser's does while it waits: a server that waits for more of the
    body than was sent is seen timing out here."""
    import socket

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(
            b"POST /token HTTP/1.1\r\nHost: identity\r\nContent-Type: application/json\r\n"
            b"Accept-Language: es\r\nContent-Length: " + content_length.encode() + b"\r\n\r\n" + payload
        )
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < _length_of(answer):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, data = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(data)


def _length_of(answer: bytes) -> int:
    for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@pytest.mark.parametrize("content_length", ["-1", "-99999", "cuatro", "4097"])
def test_the_local_identity_refuses_a_content_length_it_cannot_read_at_once(content_length: str) -> None:
    # Given the local identity server
    with IdentityServer(IDENTITY, allowed_origin="http://127.0.0.1:8000") as identity:
        # When a caller sends a body under a Content-Length that is negative, no number or too large
        # (a negative one read as "everything until the connection closes": the whole stream, unbounded)
        status, answer = _raw_post(identity.url, content_length, b'{"company_id": "demo"}' + b" " * 5000)
        # Then it answers 413 at once, in the caller's language, and reads none of it
        assert status == 413
        assert answer == {"message": "el cuerpo es demasiado grande"}


def test_the_local_identity_refuses_json_nested_too_deeply_naming_the_body() -> None:
    # Given the local identity server
    with IdentityServer(IDENTITY, allowed_origin="http://127.0.0.1:8000") as identity:
        # When a caller posts 4,000 nested arrays (within the 4 KB a body may be)
        payload = b"[" * 4000
        status, answer = _raw_post(identity.url, str(len(payload)), payload)
        # Then it is a 422 naming the body, in the caller's language: not a connection closed unanswered
        assert status == 422
        assert answer == {
            "message": "body: no es JSON válido",
            "field": "body",
            "errors": [{"field": "body", "message": "no es JSON válido"}],
        }


def test_every_message_of_the_local_identity_has_its_spanish() -> None:
    # Given the messages the local identity server may answer (every Refused it raises, every
    # refusal it answers), read from its source
    import ast

    from infrastructure.local import identity_server

    tree = ast.parse(Path(identity_server.__file__).read_text(encoding="utf-8"))
    position = {"Refused": 0, "_refuse": 1}  # Refused(message, field); self._refuse(status, message)
    said = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name in position and len(node.args) > position[name]:
            message = node.args[position[name]]
            if ast.unparse(message) == "refused.message":
                continue  # a Refused's message, read at its raise
            assert isinstance(message, ast.Constant), ast.unparse(node)  # a message the test can read
            said.add(message.value)
    # Then each has its Spanish, and nothing else is in the table
    assert said and said == set(identity_server.MESSAGES_ES)


def test_every_route_a_screen_names_is_a_route_of_the_app() -> None:
    # Given the screens and the routes each one calls
    from chalicelib.api.console import SCREENS, declared_access

    declared = declared_access()
    # Then each is a declared route (a renamed route would otherwise hide its screen from everyone)
    missing = [(screen, name) for screen, names in SCREENS.items() for name in names if name not in declared]
    assert not missing
