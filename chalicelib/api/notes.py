"""Client notes (N1, N2), the notes report and its Excel export (N3), for staff."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import cursor_param, describe, encode_cursor, json_response, limit_param, parse_body
from chalicelib.core.errors import PregonError
from chalicelib.tenants.auth.principal import Principal

notes = Blueprint(__name__)


class NotAcceptable(PregonError):
    status = 406
    code = "NotAcceptable"


def note_out(view: Any) -> dict[str, Any]:
    note = view.note
    return {
        "note_id": note.note_id,
        "client_id": note.client_id,
        "note": note.note,
        "location": note.location,
        "treatment": note.treatment,
        "author": note.author,
        "author_name": view.author_name,
        "branch": view.branch,
        "department": view.department,
        "created_at": note.created_at.isoformat(),
        "updated_at": note.updated_at.isoformat(),
    }


def _params() -> dict[str, str | None]:
    params: Any = notes.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


@notes.route("/clients/{client_id}/notes", methods=["POST"], authorizer=pregon_auth)
@describe(
    notes,
    summary="Write a note on a client (N1); needs a department; author and time are the system's",
    body="chalicelib.api.notes_schemas.NoteIn",
    response="chalicelib.api.notes_schemas.NoteOut",
    status=201,
    access=STAFF,
)
def add_note(caller: Principal, client_id: str) -> Response:
    from chalicelib.api.notes_schemas import NoteIn
    from chalicelib.records.notes import add_note as add

    body = parse_body(notes.current_request, NoteIn)
    view = add(caller, client_id, note=body.note, location=body.location, treatment=body.treatment)
    return json_response(note_out(view), 201)


@notes.route("/clients/{client_id}/notes", methods=["GET"], authorizer=pregon_auth)
@describe(
    notes,
    summary="A client's notes the caller may see by level (N2), newest first",
    response="chalicelib.api.notes_schemas.NotesPageOut",
    access=STAFF,
    query=("limit", "cursor"),
)
def list_notes(caller: Principal, client_id: str) -> Response:
    from chalicelib.records.notes import list_client_notes

    request = notes.current_request
    items, cursor = list_client_notes(caller, client_id, limit_param(request), cursor_param(request))
    return json_response({"items": [note_out(v) for v in items], "next_cursor": encode_cursor(cursor)})


@notes.route("/clients/{client_id}/notes/{note_id}", methods=["GET"], authorizer=pregon_auth)
@describe(
    notes,
    summary="One note (404 when the caller's level does not show it)",
    response="chalicelib.api.notes_schemas.NoteOut",
    access=STAFF,
)
def get_note(caller: Principal, client_id: str, note_id: str) -> Response:
    from chalicelib.records.notes import get_note as fetch

    return json_response(note_out(fetch(caller, client_id, note_id)))


@notes.route("/clients/{client_id}/notes/{note_id}", methods=["PATCH"], authorizer=pregon_auth)
@describe(
    notes,
    summary="Edit a note: its author only",
    body="chalicelib.api.notes_schemas.NotePatch",
    response="chalicelib.api.notes_schemas.NoteOut",
    access=STAFF,
)
def edit_note(caller: Principal, client_id: str, note_id: str) -> Response:
    from chalicelib.api.notes_schemas import NotePatch
    from chalicelib.records.notes import edit_note as edit

    body = parse_body(notes.current_request, NotePatch)
    return json_response(note_out(edit(caller, client_id, note_id, body.model_dump(exclude_unset=True))))


@notes.route("/clients/{client_id}/notes/{note_id}", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    notes,
    summary="Delete a note: company administrators (level 1) only",
    status=204,
    access=STAFF,
)
def delete_note(caller: Principal, client_id: str, note_id: str) -> Response:
    from chalicelib.records.notes import delete_note as delete

    delete(caller, client_id, note_id)
    return Response(body="", status_code=204)


@notes.route("/notes/report", methods=["GET"], authorizer=pregon_auth)
@describe(
    notes,
    summary="The notes report (N3): filters client, branch, department, user, from, to (the "
    "company's days); last_three=true, group_by=department; by author, newest first",
    response="chalicelib.api.notes_schemas.NotesReportOut",
    access=STAFF,
    query=("limit", "cursor"),
)
def notes_report(caller: Principal) -> Response:
    from chalicelib.records.notes import report_criteria, report_page

    request = notes.current_request
    page = report_page(caller, report_criteria(_params()), limit_param(request), cursor_param(request))
    return json_response(
        {
            "items": [note_out(v) for v in page.rows],
            "grouped_by": "department" if page.by_department else None,
            "next_cursor": encode_cursor(page.cursor),
        }
    )


@notes.route("/notes/report/export", methods=["GET"], authorizer=pregon_auth)
@describe(
    notes,
    summary="The notes report as an Excel file (.xlsx): the same rows, order and grouping",
    access=STAFF,
    answer="xlsx",
    errors={406: "the request does not accept the Excel type (send Accept: <the .xlsx type>)"},
)
def export_notes_report(caller: Principal) -> Response:
    from chalicelib.api.history import _xlsx
    from chalicelib.records.exports import XLSX_TYPE
    from chalicelib.records.notes import export_report, report_criteria

    headers: Any = notes.current_request.headers or {}
    accept = str(headers.get("accept") or "")
    if XLSX_TYPE not in accept:
        # API Gateway returns a binary answer only to a request that accepts its type
        raise NotAcceptable(f"send Accept: {XLSX_TYPE} to receive the Excel file")
    return _xlsx(export_report(caller, report_criteria(_params())), "notes-report.xlsx")
