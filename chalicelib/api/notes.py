"""Client notes (N1, N2), the notes report and its Excel export (N3), for staff."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.http import (
    Routes,
    encode_cursor,
    etag,
    if_match,
    json_response,
    page_request,
    page_response,
    parse_body,
    versioned_response,
)
from chalicelib.core.errors import PregonError
from chalicelib.tenants.auth.principal import Principal

notes = Blueprint(__name__)
route = Routes(notes, schemas="notes_schemas")
NOT_ACCEPTED = {406: "the request does not accept the Excel type (send Accept: <the .xlsx type>)"}


class NotAcceptable(PregonError):
    status = 406
    code = "NotAcceptable"


def note_out(view: Any) -> dict[str, Any]:
    note = view.note
    return {
        "note_id": note.note_id,
        "client_id": note.client_id,
        "client_name": view.client_name,
        "note": note.note,
        "location": note.location,
        "treatment": note.treatment,
        "author": note.author,
        "author_name": view.author_name,
        "branch": view.branch,
        "department": view.department,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
        "etag": etag(note.version),
    }


def _params() -> dict[str, str | None]:
    params: Any = notes.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


@route("POST /clients/{client_id}/notes", STAFF, body="NoteIn", response="NoteOut", status=201)
def add_note(caller: Principal, client_id: str) -> Response:
    """Write a note on a client (N1); needs a department; author and time are the system's"""
    from chalicelib.api.notes_schemas import NoteIn
    from chalicelib.records.notes import add_note as add

    body = parse_body(notes.current_request, NoteIn)
    view = add(caller, client_id, note=body.note, location=body.location, treatment=body.treatment)
    return json_response(note_out(view), 201)


@route("GET /clients/{client_id}/notes", STAFF, response="NotesPageOut", query=("limit", "cursor"))
def list_notes(caller: Principal, client_id: str) -> Response:
    """A client's notes the caller may see by level (N2), newest first"""
    from chalicelib.records.notes import list_client_notes

    items, cursor = list_client_notes(caller, client_id, *page_request(notes.current_request))
    return page_response(items, cursor, note_out)


@route("GET /clients/{client_id}/notes/{note_id}", STAFF, response="NoteOut", versioned=True)
def get_note(caller: Principal, client_id: str, note_id: str) -> Response:
    """One note (404 when the caller's level does not show it)"""
    from chalicelib.records.notes import get_note as fetch

    view = fetch(caller, client_id, note_id)
    return versioned_response(note_out(view), view.note.version)


@route(
    "PATCH /clients/{client_id}/notes/{note_id}", STAFF, body="NotePatch", response="NoteOut", versioned=True
)
def edit_note(caller: Principal, client_id: str, note_id: str) -> Response:
    """Edit a note: its author only"""
    from chalicelib.api.notes_schemas import NotePatch
    from chalicelib.records.notes import edit_note as edit

    request = notes.current_request
    body = parse_body(request, NotePatch)
    view = edit(caller, client_id, note_id, body.model_dump(exclude_unset=True), if_match(request))
    return versioned_response(note_out(view), view.note.version)


@route("DELETE /clients/{client_id}/notes/{note_id}", STAFF, status=204)
def delete_note(caller: Principal, client_id: str, note_id: str) -> Response:
    """Delete a note: company administrators (level 1) only"""
    from chalicelib.records.notes import delete_note as delete

    delete(caller, client_id, note_id)
    return Response(body="", status_code=204)


@route("GET /notes/report", STAFF, response="NotesReportOut", query=("limit", "cursor"))
def notes_report(caller: Principal) -> Response:
    """The notes report (N3): filters client, branch, department, user, from, to (the company's days);
    last_three=true, group_by=department; by author, newest first"""
    from chalicelib.records.notes import report_criteria, report_page

    page = report_page(caller, report_criteria(_params()), *page_request(notes.current_request))
    return json_response(
        {
            "items": [note_out(v) for v in page.rows],
            "grouped_by": "department" if page.by_department else None,
            "next_cursor": encode_cursor(page.cursor),
        }
    )


@route(
    "GET /notes/report/export",
    STAFF,
    answer="xlsx",
    errors={
        **NOT_ACCEPTED,
        422: "A filter that is not valid (naming it), or a report past what one request builds: more "
        'than 10,000 rows (`"error": "ExportTooLarge"`, with `export_in_background`: `POST '
        "/notes/report/exports`, the route that builds it in the background).",
    },
)
def export_notes_report(caller: Principal) -> Response:
    """The notes report as an Excel file (.xlsx): the same rows, order and grouping"""
    from chalicelib.api.history import xlsx_download
    from chalicelib.records.exports import XLSX_TYPE
    from chalicelib.records.notes import export_report, report_criteria

    headers: Any = notes.current_request.headers or {}
    accept = str(headers.get("accept") or "")
    if XLSX_TYPE not in accept:
        # API Gateway returns a binary answer only to a request that accepts its type
        raise NotAcceptable(f"send Accept: {XLSX_TYPE} to receive the Excel file")
    return xlsx_download(export_report(caller, report_criteria(_params())), "notes-report.xlsx")


@route(
    "POST /notes/report/exports",
    STAFF,
    body="history_schemas.NotesExportIn",
    response="history_schemas.HistoryExportOut",
    status=202,
)
def start_report_export(caller: Principal) -> Response:
    """Export the notes report in the background (up to 100,000 rows): its filters are checked
    now; follow it with `GET /notes/report/exports/{export_id}`"""
    from chalicelib.api.history import export_out
    from chalicelib.api.history_schemas import NotesExportIn
    from chalicelib.records.notes import start_export

    body = parse_body(notes.current_request, NotesExportIn)
    export = start_export(caller, body.model_dump(by_alias=True, exclude_none=True))
    return json_response(export_out(caller, export), 202)


@route("GET /notes/report/exports/{export_id}", STAFF, response="history_schemas.HistoryExportOut")
def get_report_export(caller: Principal, export_id: str) -> Response:
    """A background export of the notes report: its state, the rows written so far and, once done, a
    short-lived link to its file (only its creator and level 1 see it)"""
    from chalicelib.api.history import export_out
    from chalicelib.records.notes import find_export

    return json_response(export_out(caller, find_export(caller, export_id)))
