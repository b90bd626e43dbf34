"""Clients and contacts, pushed by the company's systems (API key) and read by staff."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN_LEVEL, api_key
from chalicelib.api.http import (
    Routes,
    creates_only,
    etag,
    if_match,
    json_response,
    page_request,
    page_response,
    parse_body,
    plain,
    versioned_response,
)
from chalicelib.tenants.auth.principal import Principal

clients = Blueprint(__name__)
route = Routes(clients, schemas="schemas")


def _client_out(client: Any) -> dict[str, Any]:
    """The client as answered, its version as its ``etag`` (the ETag of its own answers)."""
    data = dict(plain(client))
    data.pop("company_id", None)
    data["etag"] = etag(data.pop("version", 0))
    return data


@route(
    "PUT /clients/{client_id}",
    api_key("clients:write"),
    body="ClientIn",
    response="ClientOut",
    versioned=True,
    create_only=True,
    errors={
        409: "The client was being saved by someone else (a clerk, another of the company's systems) "
        "through every one of the save's tries: nothing was written; send it again. Or the client is "
        "being erased (`GET /clients/{client_id}/erasure`): nothing is saved until its erasure is done, "
        "after which a save makes a new, empty client."
    },
)
def save_client(caller: Principal, client_id: str) -> Response:
    """Create or replace a client with its e-mails, phones and contacts

    With ``If-Match`` (the ETag the client was read with, as the console's card sends it), the
    save is refused (412) when the client was saved since, by a clerk or the company's system;
    without it the last save wins, as before. With ``If-None-Match: *`` (the console's new client)
    it only creates: 412 naming ``If-None-Match``, nothing written, when there is a client of that
    code.
    """
    from chalicelib.api.schemas import ClientIn
    from chalicelib.tenants.clients import ContactData
    from chalicelib.tenants.clients import save_client as save

    company_id = caller.company_id
    _check_id(client_id)
    body = parse_body(clients.current_request, ClientIn)
    client = save(
        company_id,
        client_id,
        name=body.name,
        emails=[str(e) for e in body.emails],
        phones=list(body.phones),
        contacts=[
            ContactData(
                c.contact_id,
                c.first_name,
                c.last_name,
                str(c.email) if c.email else None,
                c.phone,
                c.wants_cargo_info,
                c.receives_reminders,
            )
            for c in body.contacts
        ],
        message_switches={str(k): v for k, v in body.message_switches.items()},
        preferred_agent=body.preferred_agent,
        collection_agent=body.collection_agent,
        balance=body.balance,
        classification=dict(body.classification),
        if_match=if_match(clients.current_request),
        create_only=creates_only(clients.current_request),
    )
    return versioned_response(_client_out(client), client.version)


def _check_id(client_id: str) -> None:
    import re

    from chalicelib.core.errors import ValidationFailed

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", client_id):
        raise ValidationFailed(
            [{"field": "client_id", "message": "use 1-64 letters, digits, '_', '.' or '-'"}]
        )


@route("GET /clients/{client_id}", api_key("clients:read"), response="ClientOut", versioned=True)
def get_client(caller: Principal, client_id: str) -> Response:
    """One client with its contacts"""
    from chalicelib.tenants.clients import get_client as fetch

    client = fetch(caller.company_id, client_id)
    return versioned_response(_client_out(client), client.version)


@route("GET /clients", api_key("clients:read"), response="ClientsOut", query=("limit", "cursor", "q"))
def list_clients(caller: Principal) -> Response:
    """The company's clients, a page at a time; with ``q``, those it finds, in name order

    ``q`` finds a client by the start of any word of its name (case and accents aside), the start
    of its code, a whole e-mail address or a phone number written in any way; each is a look-up
    of an index, never a read of every client.
    """
    from chalicelib.api.http import query_param
    from chalicelib.tenants.clients import list_clients as fetch
    from chalicelib.tenants.clients import search_clients

    request = clients.current_request
    limit, cursor = page_request(request)
    text = query_param(request, "q")
    if text is not None:
        items, cursor = search_clients(caller.company_id, text, limit, cursor)
    else:
        items, cursor = fetch(caller.company_id, limit, cursor)
    return page_response(items, cursor, _client_out)


ERASURE_ACCESS = api_key("clients:write", staff_level=ADMIN_LEVEL)


def _erasure_out(caller: Principal, job: Any) -> dict[str, Any]:
    from chalicelib.api.people import named
    from chalicelib.records.erasure import NOT_ERASED

    answer = {
        "job_id": job.job_id,
        "state": job.state,
        "phase": job.phase,
        "erased": {
            "messages": job.messages,
            "register_records": job.records,
            "notes": job.notes,
            "documents": job.documents,
            "files": job.files,
            "other_items": job.other_items,
        },
        "suppressions_kept": job.suppressions_kept,
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "not_erased": list(NOT_ERASED),
    }
    return named(caller, answer, "created_by")


@route(
    "POST /clients/{client_id}/erasure",
    ERASURE_ACCESS,
    response="ErasureOut",
    status=202,
    errors={
        404: "There is no client with that code, none was erased before, and Pregón holds nothing under it."
    },
)
def erase_client(caller: Principal, client_id: str) -> Response:
    """Erase everything Pregón holds about a client (right to erasure); the job runs on its own"""
    from chalicelib.records.erasure import start_erasure

    _check_id(client_id)
    return json_response(_erasure_out(caller, start_erasure(caller, client_id)), 202)


# Who may ask for a client's access report and read it: the erasure's callers. It holds everything
# Pregón holds about the client, what the register's who-sees rule shows only to level 1 too (a
# private mailbox's records, every user's notes): a level 2-4 user's would be a partial answer to a
# legal request, so they are refused (403) rather than given one narrowed (decision 0038).
ACCESS_REPORT_ACCESS = ERASURE_ACCESS


def _report_out(caller: Principal, export: Any) -> dict[str, Any]:
    """A background export's answer (``api.history``), as an access report names its parts."""
    from chalicelib.api.history import export_out

    out = export_out(caller, export)
    criteria = out.pop("criteria")
    del out["channel"]
    return {
        "report_id": out.pop("export_id"),
        "client_id": criteria.get("client"),
        "items": out.pop("rows"),
        "notes_withheld": criteria.get("reason"),
        **out,
    }


@route(
    "POST /clients/{client_id}/access-report",
    ACCESS_REPORT_ACCESS,
    body="AccessReportIn",
    response="AccessReportOut",
    status=202,
    errors={
        404: "There is no client with that code (or it was erased).",
        409: "The client is being erased: there is no report of what is going.",
    },
)
def start_access_report(caller: Principal, client_id: str) -> Response:
    """Report everything Pregón holds about a client (right of access): a ZIP built in the
    background; follow it with `GET /clients/{client_id}/access-report/{report_id}`"""
    from chalicelib.api.schemas import AccessReportIn
    from chalicelib.records.access import start_report

    _check_id(client_id)
    body = parse_body(clients.current_request, AccessReportIn)
    return json_response(_report_out(caller, start_report(caller, client_id, body.model_dump())), 202)


@route("GET /clients/{client_id}/access-report/{report_id}", ACCESS_REPORT_ACCESS, response="AccessReportOut")
def get_access_report(caller: Principal, client_id: str, report_id: str) -> Response:
    """A client's access report: its progress and, once done, a short-lived link to its ZIP"""
    from chalicelib.records.access import find_report

    _check_id(client_id)
    return json_response(_report_out(caller, find_report(caller, client_id, report_id)))


@route("GET /clients/{client_id}/erasure", ERASURE_ACCESS, response="ErasureOut")
def get_erasure(caller: Principal, client_id: str) -> Response:
    """The erasure of a client: its state and what it erased so far"""
    from chalicelib.records.erasure import get_erasure as fetch

    _check_id(client_id)
    return json_response(_erasure_out(caller, fetch(caller, client_id)))
