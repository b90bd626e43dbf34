"""A client's communications register (H2), for staff; the motive and area tables, for admins."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.history import attachment_out
from chalicelib.api.http import (
    cursor_param,
    describe,
    encode_cursor,
    json_response,
    limit_param,
    parse_body,
)
from chalicelib.core.domain import Communication, RegisterLookup
from chalicelib.core.errors import ValidationFailed
from chalicelib.tenants.auth.principal import Principal

register = Blueprint(__name__)
# An attachment's JSON body: 5 MiB of file as base64, plus its name and type.
MAX_ATTACHMENT_BODY = 7 * 1024 * 1024 + 4096


def _params() -> dict[str, str | None]:
    params: Any = register.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


def record_out(comm: Communication) -> dict[str, Any]:
    automatic = comm.direction in ("out", "in")
    return {
        "communication_id": comm.communication_id,
        "client_id": comm.client_id,
        "direction": comm.direction,
        "record_type": comm.record_type or comm.channel,
        "channel": comm.channel,
        "kind": comm.kind,
        "state": comm.state,
        "created_at": comm.created_at,
        "created_by": comm.created_by,
        "initiated_by": comm.initiated_by or ("client" if comm.direction == "in" else "staff"),
        "subject": comm.subject,
        "motive": comm.motive,
        "area": comm.area,
        "automatic": automatic,
    }


def _detail(comm: Communication) -> dict[str, Any]:
    return {
        **record_out(comm),
        "text": comm.text,
        "html": comm.html,
        "to_address": comm.to_address,
        "from_address": comm.from_address,
        "attachments": [attachment_out(a) for a in comm.attachments],
    }


@register.route("/clients/{client_id}/register", methods=["GET"], authorizer=pregon_auth)
@describe(
    register,
    summary="A client's register, newest first; filters from, to, type, motive, area, direction, q",
    response="chalicelib.api.history_schemas.RegisterPageOut",
    access=STAFF,
    query=("limit", "cursor"),
)
def list_register(caller: Principal, client_id: str) -> Response:
    from chalicelib.records.register import list_register as fetch
    from chalicelib.records.register import register_criteria
    from chalicelib.tenants.companies import company_time_zone

    request = register.current_request
    criteria = register_criteria(_params(), company_time_zone(caller.company_id))
    page = fetch(caller, client_id, criteria, limit_param(request), cursor_param(request))
    return json_response(
        {"items": [record_out(c) for c in page.items], "next_cursor": encode_cursor(page.cursor)}
    )


@register.route("/clients/{client_id}/register", methods=["POST"], authorizer=pregon_auth)
@describe(
    register,
    summary="Add a record by hand (a visit, a call...); created by and time are the system's",
    body="chalicelib.api.history_schemas.RegisterRecordIn",
    response="chalicelib.api.history_schemas.RegisterRecordDetailOut",
    status=201,
    access=STAFF,
)
def add_record(caller: Principal, client_id: str) -> Response:
    from chalicelib.api.history_schemas import RegisterRecordIn
    from chalicelib.records.register import add_record as add

    body = parse_body(register.current_request, RegisterRecordIn)
    record = add(
        caller,
        client_id,
        record_type=body.record_type,
        subject=body.subject,
        text=body.text,
        motive=body.motive,
        area=body.area,
        initiated_by=body.initiated_by,
    )
    return json_response(_detail(record), 201)


@register.route("/clients/{client_id}/register/export", methods=["GET"], authorizer=pregon_auth)
@describe(
    register,
    summary="The client's filtered register as an Excel file (.xlsx), at most 10,000 rows",
    access=STAFF,
    answer="xlsx",
)
def export_register(caller: Principal, client_id: str) -> Response:
    from chalicelib.api.history import _xlsx
    from chalicelib.records.exports import MAX_EXPORT_ROWS, workbook
    from chalicelib.records.register import export_rows, register_criteria
    from chalicelib.tenants.companies import get_company

    company = get_company(caller.company_id)
    rows = export_rows(caller, client_id, register_criteria(_params(), company.time_zone), MAX_EXPORT_ROWS)
    columns = [
        "Id",
        f"Date ({company.time_zone})",
        "Type",
        "Direction",
        "Initiated by",
        "Subject",
        "Motive",
        "Area",
        "Created by",
        "State",
        "Attachments",
        "Notes / text",
    ]
    data = workbook(
        f"Register {client_id}",
        columns,
        (
            [
                r["communication_id"],
                r["created_at"],
                r["record_type"],
                r["direction"],
                r["initiated_by"],
                r["subject"],
                r["motive"],
                r["area"],
                r["created_by"],
                r["state"],
                [a.name for a in c.attachments],
                c.text,
            ]
            for c in rows
            for r in [record_out(c)]
        ),
        time_zone=company.time_zone,
        locale=company.locale,
    )
    return _xlsx(data, f"register-{client_id}.xlsx")


@register.route("/clients/{client_id}/register/{record_id}", methods=["GET"], authorizer=pregon_auth)
@describe(
    register,
    summary="One record of the register, with short-lived attachment links",
    response="chalicelib.api.history_schemas.RegisterRecordDetailOut",
    access=STAFF,
)
def get_record(caller: Principal, client_id: str, record_id: str) -> Response:
    from chalicelib.records.register import get_record as fetch

    return json_response(_detail(fetch(caller, client_id, record_id)))


@register.route("/clients/{client_id}/register/{record_id}", methods=["PATCH"], authorizer=pregon_auth)
@describe(
    register,
    summary="Edit a record: automatic ones (messages) take motive and area only",
    body="chalicelib.api.history_schemas.RegisterRecordPatch",
    response="chalicelib.api.history_schemas.RegisterRecordDetailOut",
    access=STAFF,
)
def update_record(caller: Principal, client_id: str, record_id: str) -> Response:
    from chalicelib.api.history_schemas import RegisterRecordPatch
    from chalicelib.records.register import update_record as update

    body = parse_body(register.current_request, RegisterRecordPatch)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed([{"field": "body", "message": "name at least one field to change"}])
    for name in ("subject", "record_type", "initiated_by"):
        if name in changes and changes[name] is None:
            raise ValidationFailed([{"field": name, "message": "cannot be cleared"}])
    return json_response(_detail(update(caller, client_id, record_id, changes)))


@register.route("/clients/{client_id}/register/{record_id}", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    register,
    summary="Remove a record from the register only (a message stays in the history)",
    status=204,
    access=STAFF,
)
def delete_record(caller: Principal, client_id: str, record_id: str) -> Response:
    from chalicelib.records.register import delete_record as delete

    delete(caller, client_id, record_id)
    return Response(body="", status_code=204)


@register.route(
    "/clients/{client_id}/register/{record_id}/attachments", methods=["POST"], authorizer=pregon_auth
)
@describe(
    register,
    summary="Attach a file (base64, at most 5 MiB) to a manual record",
    body="chalicelib.api.history_schemas.AttachmentIn",
    response="chalicelib.api.history_schemas.AttachmentOut",
    status=201,
    access=STAFF,
    errors={
        409: "Attachments go on manual records only, at most a fixed number per record (`record_id`).",
        413: "The file is larger than 5 MiB (`content_base64`).",
    },
)
def add_attachment(caller: Principal, client_id: str, record_id: str) -> Response:
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
    return json_response(attachment_out(ref), 201)


# --- motives and areas ---------------------------------------------------------------------------


def _entry_out(entry: RegisterLookup) -> dict[str, str]:
    return {"code": entry.code, "name": entry.name}


@register.route("/register/{table}", methods=["GET"], authorizer=pregon_auth)
@describe(
    register,
    summary="The company's register motives or areas (table: motives | areas)",
    response="chalicelib.api.history_schemas.RegisterTableOut",
    access=STAFF,
)
def list_table(caller: Principal, table: str) -> Response:
    from chalicelib.records.register import list_table as fetch

    return json_response({"items": [_entry_out(e) for e in fetch(caller.company_id, table)]})


@register.route("/register/{table}", methods=["POST"], authorizer=pregon_auth)
@describe(
    register,
    summary="Add a motive or an area (admins)",
    body="chalicelib.api.history_schemas.RegisterTableEntryIn",
    response="chalicelib.api.history_schemas.RegisterTableEntryOut",
    status=201,
    access=ADMIN,
    errors={409: "The `code` exists already in that table."},
)
def add_entry(caller: Principal, table: str) -> Response:
    from chalicelib.api.history_schemas import RegisterTableEntryIn
    from chalicelib.records.register import add_entry as add

    body = parse_body(register.current_request, RegisterTableEntryIn)
    return json_response(_entry_out(add(caller, table, body.code, body.name)), 201)


@register.route("/register/{table}/{code}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    register,
    summary="Rename a motive or an area (admins)",
    body="chalicelib.api.history_schemas.RegisterTableRenameIn",
    response="chalicelib.api.history_schemas.RegisterTableEntryOut",
    access=ADMIN,
)
def rename_entry(caller: Principal, table: str, code: str) -> Response:
    from chalicelib.api.history_schemas import RegisterTableRenameIn
    from chalicelib.records.register import rename_entry as rename

    body = parse_body(register.current_request, RegisterTableRenameIn)
    return json_response(_entry_out(rename(caller.company_id, table, code, body.name)))


@register.route("/register/{table}/{code}", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    register,
    summary="Delete a motive or an area (admins); records keep its code",
    status=204,
    access=ADMIN,
)
def delete_entry(caller: Principal, table: str, code: str) -> Response:
    from chalicelib.records.register import delete_entry as delete

    delete(caller.company_id, table, code)
    return Response(body="", status_code=204)
