"""W2: the staff console. Its static files (``chalicelib/console/``), served by this same app so the
console calls the API from its own origin (no CORS), the identity it signs staff in with, and which
of its screens the signed-in user may open: derived from the declared access of the routes each
screen calls, so the console's navigation and the API's refusals are one rule
(docs/decisions/0012-console.md)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN_LEVEL, LOWEST_LEVEL, PUBLIC, STAFF, Access
from chalicelib.api.http import Routes, json_response
from chalicelib.core.errors import NotFound
from chalicelib.tenants.auth.principal import Principal

console = Blueprint(__name__)
route = Routes(console, schemas="console_schemas")

CONSOLE_DIR = Path(__file__).resolve().parents[1] / "console"
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
MAX_ASSET_NAME = 64

# The screens and the routes each one calls to be of use ("METHOD /path" as declared). A level sees
# a screen when every one of its routes lets that level in. The order is the navigation's.
SCREENS: dict[str, tuple[str, ...]] = {
    # A's: configuration and follow-up
    "monitor": ("GET /alerts", "PUT /alerts/{alert_type}"),
    "catalog": ("GET /status-catalog", "PUT /status-catalog/{code}"),
    "followups": (
        "GET /follow-ups",
        "GET /parcels/{tracking_id}/alerts",
        "DELETE /parcels/{tracking_id}/subscriptions/{subscription_id}",
        "POST /parcels/{tracking_id}/subscriptions",
        "GET /subscribers/{email}/alerts",
        "GET /parcels/{tracking_id}",
    ),
    "accounts": (
        "GET /sender-accounts",
        "PUT /sender-accounts/{area}",
        "PUT /sender-accounts/{area}/password",
        "POST /sender-accounts/{area}/test",
    ),
    # every level, each for their own account (USER_IN_PATH_OR_ADMIN)
    "my-account": (
        "GET /users/{user_id}/sender-account",
        "PUT /users/{user_id}/sender-account",
        "PUT /users/{user_id}/sender-account/password",
        "DELETE /users/{user_id}/sender-account",
        "GET /users/{user_id}/sender-account/waiting",
    ),
    "templates": (
        "GET /templates",
        "GET /templates/{key}",
        "PUT /templates/{key}",
        "POST /templates/{key}/preview",
    ),
    "branding": (
        "GET /company/branding",
        "PATCH /company/branding",
        "PUT /company/branding/logo",
        "DELETE /company/branding/logo",
    ),
    # B's: the work screens (their first call)
    "sends": ("GET /sends",),
    "history": ("GET /history/{channel}",),
    "clients": ("GET /clients",),
    "inbound": ("GET /inbound/unassigned",),
    "notes": ("GET /notes/report",),
    "reminders": ("GET /reminders/concepts",),
    "documents": ("GET /documents/settings",),
    # mail set-up: staff mailboxes (every level, each their own; level 1 all), sending domains and
    # the suppression list (level 1)
    "mailboxes": (
        "GET /mailboxes",
        "POST /mailboxes",
        "POST /mailboxes/sync",
        "PATCH /mailboxes/{mailbox_id}",
        "DELETE /mailboxes/{mailbox_id}",
        "PUT /mailboxes/{mailbox_id}/password",
        "PUT /mailboxes/{mailbox_id}/client-secret",
        "POST /mailboxes/{mailbox_id}/test",
        "POST /mailboxes/{mailbox_id}/sync",
    ),
    "sender-domains": (
        "GET /sender-domains",
        "POST /sender-domains",
        "GET /sender-domains/{domain}",
        "DELETE /sender-domains/{domain}",
    ),
    "suppressions": ("GET /suppressions", "POST /suppressions", "DELETE /suppressions/{address}"),
    # channels and people: tickets opened by SMS, the SMS and push settings, the staff directory,
    # preferred agents, suppliers
    "tickets": ("GET /tickets", "GET /tickets/{ticket_id}"),
    "sms": (
        "GET /sms/settings",
        "PUT /sms/settings",
        "PUT /sms/settings/gateway-password",
        "PUT /sms/bulk-password",
        "POST /sms/test",
        "GET /sms/auto-replies",
        "PUT /sms/auto-replies",
    ),
    "push": ("GET /push/settings", "PUT /push/settings"),
    # the company's language, country, time zone and locale (Z1) and its payment SMS (C9)
    "company": ("GET /company", "PATCH /company"),
    # seed 004's "Configuración / Registro de comunicaciones": the register's motives, areas and
    # portal categories (also at the foot of the clients screen, for level 1)
    "register-settings": (
        "GET /register/{table}",
        "POST /register/{table}",
        "PUT /register/{table}/{code}",
        "DELETE /register/{table}/{code}",
    ),
    "staff": (
        "GET /staff/users",
        "PUT /staff/users/{user_id}",
        "GET /staff/units/{table}",
        "POST /staff/units/{table}",
    ),
    # (the permission change_preferred_agent too: offered only to users whose entry holds it)
    "agents": (
        "GET /preferred-agents",
        "POST /preferred-agents/changes",
        "POST /preferred-agents/apply",
        "GET /preferred-agents/changes/{change_id}",
    ),
    "suppliers": ("GET /suppliers", "GET /suppliers/{supplier_id}", "PUT /suppliers/{supplier_id}"),
    # webhooks (docs/webhooks.md): every level reads an endpoint's delivery log; the screen offers
    # the rest (GET, POST, PUT, DELETE /webhooks..., its secret and test) to level 1 only, as the API
    "webhooks": ("GET /webhooks/{endpoint_id}/deliveries",),
}

# What the console may load and talk to. Scripts only from here (no inline script, no eval); styles
# from here, plus inline ones for the template preview: its tenant HTML is shown in an
# ``<iframe sandbox srcdoc>``, which inherits this policy, and e-mail HTML is styled inline. The
# preview's sandbox has no ``allow-scripts``, so tenant HTML cannot run script either way.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
    "connect-src 'self'{identity}; frame-src 'self'; base-uri 'none'; form-action 'self'{cognito}; "
    "frame-ancestors 'none'"
)


def content_security_policy() -> str:
    """The console's policy, letting it reach the identity that signs staff in (and nothing else)."""
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    identity = f" {_origin(settings.console_identity_url)}" if settings.console_identity_url else ""
    cognito = ""
    if settings.cognito_domain:
        identity += f" {_origin(settings.cognito_domain)}"
        cognito = f" {_origin(settings.cognito_domain)}"
    return _CSP.format(identity=identity, cognito=cognito)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"https://{url}")
    return f"{parts.scheme}://{parts.netloc}"


def console_headers(content_type: str) -> dict[str, str | list[str]]:
    return {
        "Content-Type": content_type,
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@route("GET /console", PUBLIC, answer="html")
def console_page() -> Response:
    """The staff console (W2): one page; its screens are scripts it loads from `/console/assets/`"""
    body = (CONSOLE_DIR / "index.html").read_text(encoding="utf-8")
    return Response(body=body, status_code=200, headers=console_headers("text/html; charset=utf-8"))


@route("GET /console/assets/{name}", PUBLIC, answer="asset")
def console_asset(name: str) -> Response:
    """A file of the staff console by its exact name (.js, .css, .svg, .png only)"""
    path = asset_path(name)
    content_type = ASSET_TYPES[path.suffix]
    body: str | bytes = path.read_bytes() if path.suffix == ".png" else path.read_text(encoding="utf-8")
    return Response(body=body, status_code=200, headers=console_headers(content_type))


def asset_path(name: str) -> Path:
    """The console's file called ``name``; 404 for any other name (folders, dots, other types)."""
    from urllib.parse import unquote

    name = unquote(name)
    allowed = (
        0 < len(name) <= MAX_ASSET_NAME
        and all(ch.isalnum() or ch in "-_." for ch in name)
        and not name.startswith(".")
        and Path(name).suffix in ASSET_TYPES
    )
    if allowed:
        files = {p.name: p for p in CONSOLE_DIR.iterdir() if p.is_file()}
        if name in files:
            return files[name]
    raise NotFound(f"the console has no file {name[:MAX_ASSET_NAME]!r}", field="name")


@route("GET /console/config", PUBLIC, response="ConsoleConfigOut")
def console_config() -> Response:
    """How the console signs staff in: the local identity server, or Cognito's hosted UI (its
    domain and app client id; authorization code with PKCE). Nothing secret"""
    from chalicelib.core.settings import get_settings

    settings = get_settings()
    identity: dict[str, Any]
    if settings.cognito_domain and settings.cognito_client_id:
        domain = _origin(settings.cognito_domain)
        identity = {"kind": "cognito", "url": domain, "client_id": settings.cognito_client_id}
    elif settings.console_identity_url:
        identity = {"kind": "local", "url": settings.console_identity_url, "client_id": None}
    else:
        identity = {"kind": "none", "url": None, "client_id": None}
    return json_response({"identity": identity, "stage": settings.stage})


@route("GET /console/me", STAFF, response="ConsoleMeOut")
def console_me(caller: Principal) -> Response:
    """The signed-in user (as the staff directory has them) and the console screens their level may
    open: those whose every route lets them in"""
    from chalicelib.messaging.accounts.email import own_address
    from chalicelib.tenants.staff import directory_entry

    user = directory_entry(caller)
    screens = [
        {"id": screen, "levels": levels, "allowed": caller.level in levels and _permitted(caller, routes)}
        for screen, routes in SCREENS.items()
        for levels in [screen_levels(routes)]
    ]
    return json_response(
        {
            "user": {
                "user_id": caller.subject,
                "name": user.name or caller.name or caller.subject,
                "level": caller.level,
                "company_id": caller.company_id,
                "email": own_address(caller.company_id, caller.subject, claimed=caller.email),
            },
            "screens": screens,
        }
    )


@cache
def declared_access() -> dict[str, Access]:
    """Every route's declared access by ``"METHOD /path"``, read from the running app once (the
    routes are fixed once the app is loaded; ``/console/me`` asks twice per screen)."""
    from app import app
    from chalicelib.api.http import declaration_of

    return {
        f"{method} {path}": declaration_of(entry.view_function).access
        for path, methods in app.routes.items()
        for method, entry in methods.items()
    }


def level_may(access: Access, level: int) -> bool:
    """Whether staff of ``level`` pass ``access`` (a route of their own user in the path: yes)."""
    if access.kind == "public" or access.kind == "user_in_path":
        return True
    if access.kind in ("staff", "api_key"):
        return level <= access.level
    return False


def screen_levels(routes: tuple[str, ...]) -> list[int]:
    """The staff levels every one of ``routes`` lets in (none when a route does not exist)."""
    declared = declared_access()
    return [
        level
        for level in range(ADMIN_LEVEL, LOWEST_LEVEL + 1)
        if all(name in declared and level_may(declared[name], level) for name in routes)
    ]


def _permitted(caller: Principal, routes: tuple[str, ...]) -> bool:
    """The directory permissions some routes ask for besides the level (U1)."""
    from chalicelib.tenants.staff import has_permission

    declared = declared_access()
    needed = {declared[name].permission for name in routes if name in declared}
    return all(has_permission(caller, permission) for permission in needed if permission)
