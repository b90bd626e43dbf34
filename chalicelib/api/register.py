"""A client's communications register (H2), for staff; the motive and area tables, for admins."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF
from chalicelib.api.history import attachment_out
from chalicelib.api.http import (
    Routes,
    etag,
    if_match,
    json_response,
    page_request,
    parse_body,
    parse_changes,
    versioned_response,
)
from chalicelib.core.domain import Communication, RecordNotice, RegisterLookup
from chalicelib.core.errors import ValidationFailed
from chalicelib.tenants.auth.principal import Principal

register = Blueprint(__name__)
route = Routes(register, schemas="history_schemas")
# An attachment's JSON body: 5 MiB of file as base64, plus its name and type.
MAX_ATTACHMENT_BODY = 7 * 1024 * 1024 + 4096


def _params() -> dict[str, str | None]:
    params: Any = register.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


def record_out(comm: Communication) -> dict[str, Any]:
    from chalicelib.records.register import is_automatic

    automatic = is_automatic(comm)
    return {
        "communication_id": comm.communication_id,
        "client_id": comm.client_id,
        "direction": comm.direction,
        "record_type": comm.record_type or comm.channel,
        "channel": comm.channel,
        "kind": comm.kind,
        "state": comm.shown_state,
        "created_at": comm.created_at,
        "created_by": comm.created_by,
        "initiated_by": comm.initiated_by or ("client" if comm.direction == "in" else "staff"),
        "subject": comm.subject,
        "message_type": comm.message_type,
        "motive": comm.motive,
        "area": comm.area,
        "automatic": automatic,
        "auto_submitted": comm.auto_submitted,
    }


def _detail(comm: Communication, viewer: Principal) -> dict[str, Any]:
    from chalicelib.api.people import named
    from chalicelib.core.links import without_portal_tokens
    from chalicelib.tenants.staff import staff_names

    people = staff_names(viewer.company_id, [u for n in comm.notices for u in (n.by, *n.users)])
    record = {
        **record_out(comm),
        "text": without_portal_tokens(comm.text),
        "html": without_portal_tokens(comm.html),
        "to_address": comm.to_address,
        "to_name": comm.to_name,
        "from_address": comm.from_address,
        "from_name": comm.from_name,
        "attachments": _attachments(comm, viewer),
        "error": comm.error,
        "flagged": comm.flagged,
        "notices": [notice_out(n, viewer, people) for n in comm.notices],
    }
    return named(viewer, record, "created_by")


def _attachments(comm: Communication, viewer: Principal) -> list[dict[str, Any]]:
    """A record's files, each saying whether it is published to the client's portal (*Publicado*),
    and the categories a publication of it goes under unless told (a sent document's own)."""
    from chalicelib.records.portal import record_publications
    from chalicelib.records.register import document_categories

    published = (
        record_publications(viewer, comm.client_id or "", comm.communication_id) if comm.attachments else {}
    )
    categories = list(document_categories(viewer.company_id, comm)) if comm.attachments else []
    return [
        {
            **attachment_out(a),
            "published": i in published,
            "publication_id": published[i].publication_id if i in published else None,
            "portal_categories": categories,
        }
        for i, a in enumerate(comm.attachments)
    ]


def notice_out(notice: RecordNotice, viewer: Principal, people: dict[str, str]) -> dict[str, Any]:
    """Who told whom, each user as ``viewer`` is shown them (a level-4 user: by handle), and by
    name (``people``: user id -> name)."""
    from chalicelib.tenants.staff import shown_user

    return {
        "at": notice.at,
        "by": shown_user(viewer, notice.by),
        "by_name": people.get(notice.by),
        "users": [shown_user(viewer, u) for u in notice.users],
        "user_names": [people.get(u) for u in notice.users],
    }


@route("GET /clients/{client_id}/register", STAFF, response="RegisterPageOut", query=("limit", "cursor"))
def list_register(caller: Principal, client_id: str) -> Response:
    """A client's register, newest first; filters from, to, type, motive, area, direction, q"""
    from chalicelib.records.register import list_register as fetch
    from chalicelib.records.register import register_criteria
    from chalicelib.tenants.companies import company_time_zone

    request = register.current_request
    criteria = register_criteria(_params(), company_time_zone(caller.company_id))
    page = fetch(caller, client_id, criteria, *page_request(request))
    from chalicelib.api.people import named_page

    return named_page(caller, page.items, page.cursor, record_out, "created_by")


@route(
    "POST /clients/{client_id}/register",
    STAFF,
    body="RegisterRecordIn",
    response="RegisterRecordDetailOut",
    status=201,
)
def add_record(caller: Principal, client_id: str) -> Response:
    """Add a record by hand (a visit, a call...); created by and time are the system's"""
    from chalicelib.api.history_schemas import RegisterRecordIn
    from chalicelib.records.register import add_record as add

    body = parse_body(register.current_request, RegisterRecordIn)
    record = add(caller, client_id, **body.model_dump())
    return json_response(_detail(record, caller), 201)


@route("GET /clients/{client_id}/register/export", STAFF, answer="xlsx")
def export_register(caller: Principal, client_id: str) -> Response:
    """The client's filtered register as an Excel file (.xlsx), at most 10,000 rows (more: `POST
    /clients/{client_id}/register/exports`)"""
    from chalicelib.api.history import xlsx_download
    from chalicelib.records.register import export_register as export

    data, name = export(caller, client_id, _params())
    return xlsx_download(data, name)


@route(
    "POST /clients/{client_id}/register/exports",
    STAFF,
    body="RegisterExportIn",
    response="HistoryExportOut",
    status=202,
)
def start_register_export(caller: Principal, client_id: str) -> Response:
    """Export the client's filtered register in the background (up to 100,000 rows): its filters
    are checked now; follow it with `GET /clients/{client_id}/register/exports/{export_id}`"""
    from chalicelib.api.history import export_out
    from chalicelib.api.history_schemas import RegisterExportIn
    from chalicelib.records.register import start_export

    body = parse_body(register.current_request, RegisterExportIn)
    export = start_export(caller, client_id, body.model_dump(by_alias=True, exclude_none=True))
    return json_response(export_out(caller, export), 202)


@route("GET /clients/{client_id}/register/exports/{export_id}", STAFF, response="HistoryExportOut")
def get_register_export(caller: Principal, client_id: str, export_id: str) -> Response:
    """A background export of the register: its state, the rows written so far and, once done, a
    short-lived link to its file (only its creator and level 1 see it)"""
    from chalicelib.api.history import export_out
    from chalicelib.records.register import find_export

    return json_response(export_out(caller, find_export(caller, client_id, export_id)))


@route("GET /clients/{client_id}/register/{record_id}", STAFF, response="RegisterRecordDetailOut")
def get_record(caller: Principal, client_id: str, record_id: str) -> Response:
    """One record of the register, with short-lived attachment links"""
    from chalicelib.records.register import get_record as fetch

    return json_response(_detail(fetch(caller, client_id, record_id), caller))


@route(
    "PATCH /clients/{client_id}/register/{record_id}",
    STAFF,
    body="RegisterRecordPatch",
    response="RegisterRecordDetailOut",
)
def update_record(caller: Principal, client_id: str, record_id: str) -> Response:
    """Edit a record: automatic ones (messages) take motive and area only"""
    from chalicelib.api.history_schemas import RegisterRecordPatch
    from chalicelib.records.register import update_record as update

    changes = parse_changes(register.current_request, RegisterRecordPatch)
    for name in ("subject", "record_type", "initiated_by"):
        if name in changes and changes[name] is None:
            raise ValidationFailed([{"field": name, "message": "cannot be cleared"}])
    return json_response(_detail(update(caller, client_id, record_id, changes), caller))


@route("DELETE /clients/{client_id}/register/{record_id}", STAFF, status=204)
def delete_record(caller: Principal, client_id: str, record_id: str) -> Response:
    """Remove a record from the register only (a message stays in the history)"""
    from chalicelib.records.register import delete_record as delete

    delete(caller, client_id, record_id)
    return Response(body="", status_code=204)


@route(
    "POST /clients/{client_id}/register/{record_id}/attachments",
    STAFF,
    body="AttachmentIn",
    response="AttachmentOut",
    status=201,
    errors={
        409: "Attachments go on manual records and on mail logged from a staff mailbox only, at most a "
        "fixed number per record (`record_id`).",
        413: "The file is larger than 5 MiB (`content_base64`).",
    },
)
def add_attachment(caller: Principal, client_id: str, record_id: str) -> Response:
    """Attach a file (base64, at most 5 MiB) to a manual record or to mail logged from a staff mailbox"""
    from chalicelib.api.history_schemas import AttachmentIn
    from chalicelib.records.register import PayloadTooLarge
    from chalicelib.records.register import add_attachment as attach

    body = parse_body(
        register.current_request,
        AttachmentIn,
        max_bytes=MAX_ATTACHMENT_BODY,
        too_large=PayloadTooLarge("an attachment is at most 5 MiB (5242880 bytes)", field="content_base64"),
    )
    ref = attach(
        caller,
        client_id,
        record_id,
        name=body.name,
        content_type=body.content_type,
        content_base64=body.content_base64,
    )
    from chalicelib.api.people import named

    return json_response(named(caller, attachment_out(ref), "added_by"), 201)


@route(
    "POST /clients/{client_id}/register/{record_id}/notify",
    STAFF,
    body="RegisterNoticeIn",
    response="RegisterNoticeOut",
    status=201,
    errors={
        409: "The record keeps at most 100 notices (`record_id`).",
        429: "The user sent too many notices this hour (`users`); Retry-After says when to try again.",
    },
)
def notify_colleagues(caller: Principal, client_id: str, record_id: str) -> Response:
    """Tell colleagues of a record ("Enviar un mensaje"): each user named gets an e-mail with the record
    and a link to it; naming one who could not open the record (a level-4 user and another's record,
    anyone but its owner and level 1 for a private mailbox's) is a 422 naming `users` and why"""
    from chalicelib.api.history_schemas import RegisterNoticeIn
    from chalicelib.producers.register_notices import notify_colleagues as notify

    body = parse_body(register.current_request, RegisterNoticeIn)
    sent = notify(caller, client_id, record_id, body.users, body.comment)
    from chalicelib.tenants.staff import staff_names

    people = staff_names(caller.company_id, [sent.notice.by, *sent.notice.users])
    messages = [m.communication_id for m in sent.messages]
    answer = {**notice_out(sent.notice, caller, people), "messages": messages}
    return json_response(answer, 201)


@route("GET /clients/{client_id}/register/{record_id}/task.ics", STAFF, answer="ics")
def record_task(caller: Principal, client_id: str, record_id: str) -> Response:
    """The record as a calendar task ("Crear tarea"): an iCalendar file with one VTODO that Outlook,
    Google and Apple calendars import"""
    from chalicelib.records.register import record_task as task
    from chalicelib.records.register_task import ICS_TYPE

    filename, data = task(caller, client_id, record_id)
    return Response(
        body=data.decode("utf-8"),
        status_code=200,
        headers={
            "Content-Type": ICS_TYPE,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- motives and areas ---------------------------------------------------------------------------


def _entry_out(entry: RegisterLookup) -> dict[str, str]:
    """A motive or an area as answered: its version as the ETag to rename it with (``etag``)."""
    return {"code": entry.code, "name": entry.name, "etag": etag(entry.version)}


@route("GET /register/{table}", STAFF, response="RegisterTableOut")
def list_table(caller: Principal, table: str) -> Response:
    """The company's register motives, areas or document portal categories (table: motives | areas |
    categories; the categories start as a default list, written the first time it is read)"""
    from chalicelib.records.register import list_table as fetch

    return json_response({"items": [_entry_out(e) for e in fetch(caller.company_id, table)]})


@route(
    "POST /register/{table}",
    ADMIN,
    body="RegisterTableEntryIn",
    response="RegisterTableEntryOut",
    status=201,
    errors={409: "The `code` exists already in that table."},
)
def add_entry(caller: Principal, table: str) -> Response:
    """Add a motive, an area or a portal category (admins)"""
    from chalicelib.api.history_schemas import RegisterTableEntryIn
    from chalicelib.records.register import add_entry as add

    body = parse_body(register.current_request, RegisterTableEntryIn)
    return json_response(_entry_out(add(caller, table, body.code, body.name)), 201)


@route(
    "PUT /register/{table}/{code}",
    ADMIN,
    body="RegisterTableRenameIn",
    response="RegisterTableEntryOut",
    versioned=True,
)
def rename_entry(caller: Principal, table: str, code: str) -> Response:
    """Rename a motive, an area or a portal category (admins)"""
    from chalicelib.api.history_schemas import RegisterTableRenameIn
    from chalicelib.records.register import rename_entry as rename

    request = register.current_request
    body = parse_body(request, RegisterTableRenameIn)
    renamed = rename(caller.company_id, table, code, body.name, if_match(request))
    return versioned_response(_entry_out(renamed), renamed.version)


@route("DELETE /register/{table}/{code}", ADMIN, status=204)
def delete_entry(caller: Principal, table: str, code: str) -> Response:
    """Delete a motive, an area or a portal category (admins); records and publications keep its code"""
    from chalicelib.records.register import delete_entry as delete

    delete(caller.company_id, table, code)
    return Response(body="", status_code=204)
