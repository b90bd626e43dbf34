"""The OpenAPI 3.1 document of the HTTP API, generated from the code that serves it.

Everything comes from the running app: the routes Chalice registered (path, method, authorizer,
path parameters, content types, CORS) and what each route declares in ``@describe(...)``
(chalicelib/api/http.py): its access, which the same declaration enforces before the view runs
(chalicelib/api/access.py), its request and response models (pydantic classes, by import path),
its query parameters, extra answers and content. No view's source is read. Nothing is written by
hand except the prose below, so the document cannot drift from what the code accepts and answers.

Regenerate the committed copy with::

    uv run python -m chalicelib.api.openapi --write

(``--check`` exits 1 when docs/openapi.json is stale; with no option the document goes to stdout.)
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from chalicelib.api.access import ADMIN_LEVEL, LOWEST_LEVEL, Access
from chalicelib.api.http import QUERY_MAX_LENGTH, Declaration, declaration_of, model_class

OPENAPI_VERSION = "3.1.0"
TITLE = "Pregón API"
ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = ROOT / "docs" / "openapi.json"
REGENERATE = "uv run python -m chalicelib.api.openapi --write"

SCHEMA_REF = "#/components/schemas/{model}"
ERROR_MODEL = "chalicelib.api.schemas.ErrorOut"
JSON = "application/json"

DESCRIPTION = (
    """\
Pregón tells a carrier's customers what happens to their parcels.

* **Public routes** (tag `public`) need no credentials; a company's public tracking site calls them
  from the browser (the look-up and subscribe routes allow any origin, CORS).
* **Company systems** authenticate with an API key: `Authorization: ApiKey <key>`. Keys carry scopes
  (`parcels:read`, `parcels:write`).
* **Staff** authenticate with a JWT from the company's identity provider: `Authorization: Bearer <jwt>`.
  Some routes are for staff only, some for administrators (level 1) only; each operation says so.
* **Operators** (Pregón's own staff, tag `operators`) onboard companies and manage their API keys at
  `/operator/...` with `Authorization: Operator <token>`; company JWTs and API keys get 403 there.

Every error answer is JSON: `{"error": "<Code>", "message": "...", "field": "..."}`; a 422 adds
`errors`, one entry per field that failed. Credentials the gateway refuses before the app runs
answer with the gateway's own body (`{"message": "Unauthorized"}`).

This document is generated from the code: `"""
    + REGENERATE
    + "`."
)

# The query parameters a route may declare, by name.
QUERY_PARAMETERS: dict[str, dict[str, Any]] = {
    "limit": {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "How many items per page.",
        "schema": "limit",  # filled from limit_param's own defaults
    },
    "cursor": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "The `next_cursor` of the previous page; leave it out for the first page.",
        "schema": {"type": "string"},
    },
    "token": {
        "name": "token",
        "in": "query",
        "required": True,
        "description": "The signed token of the link in the e-mail (unsubscribe, confirm a subscription, or "
        "open the client's document portal).",
        "schema": {"type": "string"},
    },
    "tracking_id": {
        "name": "tracking_id",
        "in": "query",
        "required": False,
        "description": "The parcel to show; leave it out for the empty look-up box.",
        "schema": {"type": "string", "maxLength": 64},
    },
    "since": {
        "name": "since",
        "in": "query",
        "required": False,
        "description": "Only what was opened at this moment or later: an ISO 8601 date-time with its offset "
        "(`2026-11-02T12:00:00Z`), or a day (`2026-11-02`, from its start in the company's time zone).",
        "schema": {"type": "string"},
    },
    "client_id": {
        "name": "client_id",
        "in": "query",
        "required": False,
        "description": "Only this client's.",
        "schema": {"type": "string", "maxLength": QUERY_MAX_LENGTH["client_id"]},
    },
    "q": {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "One address to look for: an e-mail address (any case) or a phone number in E.164 "
        "(`+5491159876543`); the answer holds its entry or no item. `limit` and `cursor` do not apply.",
        "schema": {"type": "string", "maxLength": QUERY_MAX_LENGTH["q"]},
    },
    # The same name on another route: a text that finds clients.
    "q /clients": {
        "name": "q",
        "in": "query",
        "required": False,
        "description": "What a clerk remembers of a client: the start of any word of the name (any case, "
        'accents or none: `gomez` finds "Ferretería Gómez"), the start of the code, a whole e-mail '
        "address, or a phone number as people write it (read in the company's country). 2 to 100 "
        "characters; the answer is in name order, a page at a time (a page may hold fewer than `limit` "
        "items: go on while `next_cursor` is not null).",
        "schema": {"type": "string", "minLength": 2, "maxLength": 100},
    },
    "auto_submitted": {
        "name": "auto_submitted",
        "in": "query",
        "required": False,
        "description": "`false`: only the mail a person wrote (hides out-of-office replies, bounces, read "
        "receipts and bulk mail: `auto_submitted` null); `true`: only what a machine sent; leave it out for "
        "all. A page is filled to `limit` reading past the others, up to 1,000 messages read: past those it "
        "may hold fewer, even none; go on while `next_cursor` is not null.",
        "schema": {"type": "boolean"},
    },
    "without_email": {
        "name": "without_email",
        "in": "query",
        "required": False,
        "description": "`true`: every active user of the staff directory, those without an e-mail address "
        "too (`has_email` false), as a client's agent lists offer them; leave it out for whom a record can "
        "be told to.",
        "schema": {"type": "boolean"},
    },
    "cursor /public/portal": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Where the page of older documents starts (its link on the page); leave it out for "
        "the newest.",
        "schema": {"type": "string", "maxLength": 24},
    },
    "category": {
        "name": "category",
        "in": "query",
        "required": False,
        "description": "Only the documents filed under this category (a code of the company's "
        "`/register/categories`); an unknown one shows them all.",
        "schema": {"type": "string"},
    },
    "date": {
        "name": "date",
        "in": "query",
        "required": False,
        "description": "The company's day (`2026-11-02`, in its time zone); leave it out for today.",
        "schema": {"type": "string", "format": "date"},
    },
    "channel /inbound/held": {
        "name": "channel",
        "in": "query",
        "required": False,
        "description": "`email` (the default) or `sms`.",
        "schema": {"type": "string", "enum": ["email", "sms"]},
    },
    "address": {
        "name": "address",
        "in": "query",
        "required": False,
        "description": "Only this sender (an address as the list names it, or a phone number).",
        "schema": {"type": "string"},
    },
    "cursor /inbound/held": {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "A sender's `next_cursor` (with `address`): its next page of held mail.",
        "schema": {"type": "string"},
    },
    "channel": {
        "name": "channel",
        "in": "query",
        "required": False,
        "description": "Only the saved filters of this history and those saved without a channel (which "
        "belong to every history); leave it out for all of them.",
        "schema": {"type": "string", "enum": ["email", "sms", "push"]},
    },
}
HTML = "text/html"
ASSET_TYPES = ("text/javascript", "text/css", "image/svg+xml", "image/png")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PATH_PARAMETER_NOTES = {
    "company_id": "The company's id, as in its tracking site's configuration.",
    "tracking_id": "The parcel's tracking id.",
    "email": "The subscriber's e-mail address, URL-encoded.",
    "area": "The sender area (`tracking`, ...); `all` is the fallback account.",
    "address": "A suppressed e-mail address or E.164 number, URL-encoded (`%40` for `@`, `%2B` for `+`).",
}

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Company staff: `Authorization: Bearer <JWT from the company's identity provider>`.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "A company's own systems: `Authorization: ApiKey <key>` (the word `ApiKey`, a "
        "space, then the key Pregón issued once).",
    },
    "operatorToken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Pregón's operators: `Authorization: Operator <token>`; only the token's SHA-256 is "
        "configured (`PREGON_OPERATOR_TOKEN_SHA256`). Not a company credential.",
    },
}

# A thing people edit (Declaration.versioned): docs/api.md, "Editing safely".
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The `ETag` the thing had when you read it (`"3"`): the save happens only if it still '
    "has it, else 412 and nothing is written. Leave it out (or send `*`) to save whatever is stored "
    "(last writer wins).",
    "schema": {"type": "string"},
}
ETAG = {
    "description": 'The version of the thing (a strong tag, `"3"`; the body\'s `etag` says the same): '
    "send it "
    "back as `If-Match` to save only if no one else has saved since.",
    "schema": {"type": "string"},
}
PRECONDITION_FAILED = (
    "`If-Match` names a version the thing no longer has: someone else saved it since you read it. "
    "Nothing was written; read it again (GET) for its changes and its new `ETag`. "
    "Also for an `If-None-Match`, which no change evaluates (`field` names the header)."
)
# A save that may only create (Declaration.create_only): docs/api.md, "Creating only".
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "`*`: create only. If there is one of this id already, 412 (`field`: `If-None-Match`) "
    "and nothing is written; without it, a save replaces what is stored. Any other value: 412.",
    "schema": {"type": "string", "enum": ["*"]},
}
CREATE_ONLY_FAILED = (
    f"{PRECONDITION_FAILED} With `If-None-Match: *`: there is one of this id already; nothing was "
    "written (`field`: `If-None-Match`)."
)
# Every other change (docs/api.md, "Editing safely"): a precondition it cannot hold is refused.
NO_PRECONDITION_HELD = (
    "A precondition this route does not hold: an `If-Match` other than `*` (it keeps no `ETag`, so "
    "none can match) or an `If-None-Match`. `field` names the header; nothing was done."
)

FIELD_ERROR = {
    "type": "object",
    "title": "FieldErrorOut",
    "properties": {
        "field": {"type": "string", "description": "Dotted path of the field, e.g. `events[0].status`."},
        "message": {"type": "string"},
    },
    "required": ["field", "message"],
}
GATEWAY_ERROR = {
    "type": "object",
    "title": "GatewayErrorOut",
    "description": "The API gateway's own answer when it refuses credentials before the app runs.",
    "properties": {"message": {"type": "string"}, "Message": {"type": "string"}},
}


def build_openapi(app: Any = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of ``app`` (Pregón's app by default)."""
    if app is None:
        from app import app as pregon_app

        app = pregon_app
    operations: list[tuple[str, str, Any, Declaration]] = []
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            declared = declaration_of(entry.view_function)
            _check_authorizer(path, method, entry, declared)
            operations.append((path, method.lower(), entry, declared))

    body_models = sorted({doc.body for *_, doc in operations if doc.body})
    response_models = sorted({doc.response for *_, doc in operations if doc.response} | {ERROR_MODEL})
    schemas = _component_schemas(body_models, response_models)

    paths: dict[str, dict[str, Any]] = {}
    for path, method, entry, doc in operations:
        paths.setdefault(path, {})[method] = _operation(path, entry, doc, schemas)

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": _version(),
            "summary": "Parcel tracking and e-mail alerts for carriers and their customers.",
            "description": DESCRIPTION,
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com/api",
                "description": "A deployed stage (placeholder: `chalice deploy` prints the real URL).",
                "variables": {
                    "apiId": {"default": "example", "description": "The REST API id of the stage."},
                    "region": {"default": "us-east-1"},
                },
            },
            {"url": "http://127.0.0.1:8000", "description": "The local stack (`chalice local`)."},
        ],
        "tags": [
            {"name": "public", "description": "No credentials: for a company's public tracking site."},
            {
                "name": "parcels",
                "description": "Parcels, status events and follow-up (company systems, staff).",
            },
            {"name": "configuration", "description": "Company settings, status catalog, alerts, senders."},
            {"name": "branding", "description": "The company's logo, colours and tracking page URL (W3)."},
            {"name": "clients", "description": "Clients and their contacts (company systems)."},
            {"name": "templates", "description": "Message templates per type, with preview (C4)."},
            {"name": "sender_tests", "description": "Test sends from an account or a template (C3)."},
            {"name": "sms", "description": "The company's SMS service: provider, switch, passwords (C6)."},
            {"name": "tickets", "description": "Tickets clients opened by SMS, for the ticket system (I2)."},
            {
                "name": "webhooks",
                "description": "Signed events to the company's own endpoints: bounces, unsubscribes, "
                "replies, tickets (docs/webhooks.md).",
            },
            {
                "name": "business_events",
                "description": "Back-office events the client hears about: invoices, payments, tickets, "
                "pickups (C9, T10).",
            },
            {
                "name": "suppressions",
                "description": "Suppression list: bounces, complaints, by hand (Q5).",
            },
            {
                "name": "auto_replies",
                "description": "Inbound SMS keyword auto-replies: balance, tickets (I1, I2).",
            },
            {"name": "inbound", "description": "Received e-mail: unassigned list, assign, detail (I3)."},
            {"name": "push", "description": "Push: SNS platform applications and clients' devices (C7)."},
            {
                "name": "sends",
                "description": "Manual sends to one or many clients, as a job (C8).",
            },
            {"name": "history", "description": "History per channel: view, resend, my filters, export (H1)."},
            {
                "name": "register",
                "description": "A client's communications register, motives, areas, portal categories (H2).",
            },
            {
                "name": "portal",
                "description": "A client's document portal: publish a register file, categories, the access "
                "e-mail (seed 004; docs/portal.md).",
            },
            {"name": "notes", "description": "Client notes by access level, the notes report (N1-N3)."},
            {
                "name": "staff",
                "description": "Staff directory, branches, departments; preferred agents (U1, N4).",
            },
            {
                "name": "mailboxes",
                "description": "Staff IMAP mailboxes logged in the register, the monitor, replies (H3).",
            },
            {
                "name": "reminders",
                "description": "Receivables, reminder concepts, clients' reminder settings, the daily run "
                "and its preview (R1-R3).",
            },
            {
                "name": "documents",
                "description": "Orders, purchase orders and account statements as PDFs, one at a time "
                "and in bulk; suppliers, open movements, settings and PDF templates (D1-D3).",
            },
            {
                "name": "domains",
                "description": "SES sending domains: DNS records, their states, bulk-sender checks.",
            },
            {
                "name": "console",
                "description": "The staff console (W2): who is signed in, which screens their level opens.",
            },
            {
                "name": "operators",
                "description": "Pregón's operators: onboard companies, issue, list, revoke and rotate their "
                "API keys (O1, O2); assign their two-way SMS numbers and SMS sender IDs. "
                "`Authorization: Operator <token>` only.",
            },
        ],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, UTF-8 text, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- pieces ---------------------------------------------------------------------------------


def _check_authorizer(path: str, method: str, entry: Any, declared: Declaration) -> None:
    """A public declaration and no authorizer go together; so do credentials and the authorizer."""
    if declared.access.public != (entry.authorizer is None):
        raise LookupError(
            f"{method} {path}: access {declared.access.kind!r} disagrees with the route's authorizer "
            f"({entry.authorizer!r}); public routes have none, every other route has pregon_auth"
        )


def _ref(model_path: str) -> str:
    return SCHEMA_REF.format(model=model_path.rsplit(".", 1)[-1])


def _version() -> str:
    import tomllib

    pyproject = ROOT / "pyproject.toml"
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


def _component_schemas(body_models: Iterable[str], response_models: Iterable[str]) -> dict[str, Any]:
    """JSON schemas of the models: request bodies as validated, responses as serialized."""
    from pydantic.json_schema import models_json_schema

    wanted = [(model_class(n), "validation") for n in body_models]
    wanted += [(model_class(n), "serialization") for n in response_models]
    names: dict[str, str] = {}
    for cls, _mode in wanted:
        if names.setdefault(cls.__name__, f"{cls.__module__}.{cls.__qualname__}") != (
            f"{cls.__module__}.{cls.__qualname__}"
        ):
            raise LookupError(f"two models are named {cls.__name__}: {names[cls.__name__]} and {cls}")
    keys, top = models_json_schema(wanted, ref_template=SCHEMA_REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    # A model used both ways with different schemas gets two names; make every name resolvable.
    for (cls, _mode), ref in keys.items():
        name = ref["$ref"].rsplit("/", 1)[-1]
        schemas.setdefault(cls.__name__, schemas[name])

    error = json.loads(json.dumps(schemas["ErrorOut"]))
    error["description"] = "Every error answer of the app. A 422 lists each failed field in `errors`."
    error["properties"]["errors"] = {
        "type": "array",
        "items": {"$ref": SCHEMA_REF.format(model="FieldErrorOut")},
        "description": "Present on 422 (validation) only: every field that failed, in order.",
    }
    schemas["ErrorOut"] = error
    schemas["FieldErrorOut"] = FIELD_ERROR
    schemas["GatewayErrorOut"] = GATEWAY_ERROR
    return schemas


def _operation(path: str, entry: Any, doc: Declaration, schemas: dict[str, Any]) -> dict[str, Any]:
    view = entry.view_function
    name = inspect.unwrap(view).__name__
    public = doc.access.public

    parameters = [_path_parameter(p) for p in entry.view_args]
    parameters += [
        _query_parameter(QUERY_PARAMETERS.get(f"{q} {path}") or QUERY_PARAMETERS[q]) for q in doc.query
    ]
    if doc.versioned and entry.method != "GET":
        parameters.append(IF_MATCH)
    if doc.create_only:
        parameters.append(IF_NONE_MATCH)

    operation: dict[str, Any] = {
        "operationId": name,
        "summary": doc.summary,
        "tags": ["public" if public else view.__module__.rsplit(".", 1)[-1]],
        "parameters": parameters,
        "responses": _responses(entry, doc, schemas, has_input=bool(parameters)),
    }
    if not parameters:
        del operation["parameters"]

    notes: list[str] = []
    security, who = _security(doc.access)
    operation["security"] = security
    notes.append(who)
    if entry.cors:
        notes.append(
            f"CORS: allowed from origin `{entry.cors.allow_origin}`, so a browser on the tracking site "
            "may call it directly (the gateway answers the OPTIONS pre-flight)."
        )
    docstring = inspect.getdoc(inspect.unwrap(view)) or ""
    first, _, rest = docstring.partition("\n\n")
    if " ".join(first.split()) == doc.summary:  # declared with @route: the summary comes first
        docstring = rest
    if docstring:
        notes.append(docstring)
    operation["description"] = "\n\n".join(notes)

    body = _request_body(doc, entry)
    if body is not None:
        operation["requestBody"] = body
    return operation


def _path_parameter(name: str) -> dict[str, Any]:
    parameter: dict[str, Any] = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    if name in PATH_PARAMETER_NOTES:
        parameter["description"] = PATH_PARAMETER_NOTES[name]
    return parameter


def _query_parameter(template: dict[str, Any]) -> dict[str, Any]:
    parameter = dict(template)
    if parameter["schema"] == "limit":
        from chalicelib.api.http import limit_param

        defaults = inspect.signature(limit_param).parameters
        parameter["schema"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": defaults["maximum"].default,
            "default": defaults["default"].default,
        }
    return parameter


def _security(access: Access) -> tuple[list[dict[str, list[str]]], str]:
    if access.public:
        return [], "Public: no credentials."
    if access.kind == "operator":
        return [
            {"operatorToken": []}
        ], "Operators only (`Authorization: Operator <token>`); company JWTs and API keys get 403."
    if access.api_keys and access.level == ADMIN_LEVEL:
        return (
            [{"apiKey": []}, {"bearerAuth": []}],
            f"Administrators only (a staff JWT of level 1), or company systems (an API key with the "
            f"scope `{access.scope}`). Other staff get 403.",
        )
    if access.api_keys:
        return (
            [{"apiKey": []}, {"bearerAuth": []}],
            f"Company systems (an API key with the scope `{access.scope}`) or staff (JWT)."
            if access.level == LOWEST_LEVEL
            else f"Company systems (an API key with the scope `{access.scope}`) or staff of level "
            f"{access.level} or above (JWT; 1 is the highest). Lower levels get 403.",
        )
    if access.permission:
        return (
            [{"bearerAuth": []}],
            f"Staff with the permission `{access.permission}` in the staff directory (a staff JWT). "
            "Other staff and API keys get 403.",
        )
    if access.admin_only:
        return [{"bearerAuth": []}], "Administrators only: a staff JWT of level 1. API keys get 403."
    if access.kind == "user_in_path":
        return (
            [{"bearerAuth": []}],
            "Staff: the user named in the path (their own JWT) or an administrator (level 1). "
            "Other staff and API keys get 403.",
        )
    if access.level < LOWEST_LEVEL:
        return (
            [{"bearerAuth": []}],
            f"Staff of level {access.level} or above (1 is the highest): a staff JWT. Lower levels and "
            "API keys get 403.",
        )
    return [{"bearerAuth": []}], "Staff only: a staff JWT. API keys get 403."


def _request_body(doc: Declaration, entry: Any) -> dict[str, Any] | None:
    if doc.body:
        schema = {"$ref": _ref(doc.body)}
        content = {ct: {"schema": schema} for ct in entry.content_types}
        return {"required": doc.body_required, "content": content}
    if entry.content_types != [JSON]:
        # A route that takes other content types but no model: say what it accepts, and that
        # the body carries nothing the route reads (e.g. RFC 8058's `List-Unsubscribe=One-Click`).
        return {
            "required": False,
            "description": "Accepted and ignored: the query string carries everything the route reads "
            "(mail providers send `List-Unsubscribe=One-Click`, RFC 8058).",
            "content": {ct: {"schema": {}} for ct in entry.content_types},
        }
    return None


PAGE_FOR_A_BROWSER = (
    "A request that accepts `text/html` (a person's browser posting the page's form) is answered "
    "an HTML page saying what happened and what to do."
)


def _responses(entry: Any, doc: Declaration, schemas: dict[str, Any], *, has_input: bool) -> dict[str, Any]:
    statuses = [doc.status]
    if doc.existing is not None and doc.existing != doc.status:
        statuses.append(doc.existing)

    responses: dict[str, Any] = {}
    for status in statuses:
        responses[str(status)] = _success(status, doc)
        if doc.versioned:
            responses[str(status)]["headers"] = {"ETag": ETAG}
        if status != statuses[0]:
            responses[str(status)]["description"] += ": it existed already, so nothing new was created."

    error = {"$ref": SCHEMA_REF.format(model="ErrorOut")}
    refusals: dict[int, tuple[str, dict[str, Any]]] = {}
    if entry.authorizer is not None:
        either = {"anyOf": [error, {"$ref": SCHEMA_REF.format(model="GatewayErrorOut")}]}
        refusals[401] = ("Missing or invalid credentials.", either)
        refusals[403] = ("The credentials may not do this (scope, staff or administrator).", either)
    for status, text in doc.errors:
        refusals[status] = (text, error)
    if entry.method != "GET":
        held = CREATE_ONLY_FAILED if doc.create_only else PRECONDITION_FAILED
        refusals[412] = (held if doc.versioned else NO_PRECONDITION_HELD, error)
    # A route's own 404 says what it did not find; its own 422 follows the shape every 422 has.
    declared = dict(doc.errors)
    refusals[404] = (declared.get(404, "Not found (the parcel, subscription, account or company)."), error)
    if has_input or doc.body or 422 in declared:
        invalid = "Invalid input: `field` names the first bad field, `errors` lists all."
        refusals[422] = (f"{invalid} {declared[422]}" if 422 in declared else invalid, error)
    if JSON not in entry.content_types:
        refusals[415] = (
            f"The body is not {' or '.join(entry.content_types)} (the gateway refuses it).",
            error,
        )
    for status, (text, schema) in sorted(refusals.items()):
        if status < 400:  # a redirect: its Location says where
            responses[str(status)] = {"description": text}
        elif doc.answer == "page":  # a person's page answers refusals with the page, saying why
            responses[str(status)] = {"description": text, "content": {HTML: {"schema": {"type": "string"}}}}
        elif doc.answer in ("json_or_html", "one_click"):  # a page for a browser, JSON for a program
            responses[str(status)] = {
                "description": f"{text} {PAGE_FOR_A_BROWSER}",
                "content": {JSON: {"schema": schema}, HTML: {"schema": {"type": "string"}}},
            }
        else:
            responses[str(status)] = {"description": text, "content": {JSON: {"schema": schema}}}
    return responses


def _success(status: int, doc: Declaration) -> dict[str, Any]:
    description = HTTPStatus(status).phrase
    if status == 204:
        return {"description": "No content."}
    if doc.response and doc.answer == "json_or_html":
        return {
            "description": f"{description}: the JSON object, or an HTML page for a person when the "
            "request accepts `text/html` (a browser posting the page's form).",
            "content": {
                JSON: {"schema": {"$ref": _ref(doc.response)}},
                "text/html": {"schema": {"type": "string"}},
            },
        }
    if doc.response:
        return {"description": description, "content": {JSON: {"schema": {"$ref": _ref(doc.response)}}}}
    if doc.answer == "xlsx":
        return {
            "description": f"{description}: an Excel workbook (.xlsx), sent as an attachment. The "
            f"request must accept it (`Accept: {XLSX}`): the gateway refuses a binary answer otherwise.",
            "content": {XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}}},
        }
    if doc.answer == "ics":
        return {
            "description": f"{description}: an iCalendar file (RFC 5545, .ics), sent as an attachment.",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    if doc.answer in ("html", "page", "one_click"):
        return {
            "description": f"{description}: an HTML page for a person.",
            "content": {HTML: {"schema": {"type": "string"}}},
        }
    if doc.answer == "asset":
        return {
            "description": f"{description}: a static file of the staff console, by its extension.",
            "content": {kind: {"schema": {"type": "string"}} for kind in ASSET_TYPES},
        }
    if doc.answer == "css":
        return {
            "description": f"{description}: a stylesheet.",
            "content": {"text/css": {"schema": {"type": "string"}}},
        }
    if doc.answer == "image":
        images = ("image/png", "image/jpeg")
        return {
            "description": f"{description}: a PNG or JPEG image.",
            "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}} for kind in images},
        }
    return {
        "description": f"{description} (a JSON object; no model is published for it yet).",
        "content": {JSON: {"schema": {"type": "object"}}},
    }


# --- command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``--write``: update docs/openapi.json; ``--check``: fail if it is stale; else print it."""
    args = sys.argv[1:] if argv is None else argv
    text = render(build_openapi())
    if "--write" in args:
        DOCUMENT_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {DOCUMENT_PATH.relative_to(ROOT)}", file=sys.stderr)
    elif "--check" in args:
        current = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
        if current != text:
            print(f"{DOCUMENT_PATH.relative_to(ROOT)} is stale; run: {REGENERATE}", file=sys.stderr)
            return 1
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
