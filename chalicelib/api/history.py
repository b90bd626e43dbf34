"""History per channel (H1), for staff: list, view as sent, resend, my filters, Excel export."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.http import Routes, json_response, page_request, parse_body
from chalicelib.api.people import named, named_page
from chalicelib.core.domain import AttachmentRef, Communication
from chalicelib.tenants.auth.principal import Principal

history = Blueprint(__name__)
route = Routes(history, schemas="history_schemas")


def _params() -> dict[str, str | None]:
    params: Any = history.current_request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


def history_item(comm: Communication) -> dict[str, Any]:
    from chalicelib.store.communications import status_group

    return {
        "communication_id": comm.communication_id,
        "channel": comm.channel,
        "direction": comm.direction,
        "kind": comm.kind,
        "state": comm.shown_state,
        "status_group": status_group(comm.shown_state),
        "created_at": comm.created_at,
        "sent_at": comm.sent_at,
        "client_id": comm.client_id,
        "to_address": comm.to_address,
        "to_name": comm.to_name,
        "from_address": comm.from_address,
        "subject": comm.subject,
        "message_type": comm.message_type,
        "created_by": comm.created_by,
        "resend_of": comm.resend_of,
        "resent_as": list(comm.resent_as),
        "auto_submitted": comm.auto_submitted,
    }


def attachment_out(ref: AttachmentRef) -> dict[str, Any]:
    from chalicelib.core.files import download_url
    from chalicelib.records.inbound_mail import omitted_reason

    kept = bool(ref.key) and ref.deleted_at is None
    return {
        "name": ref.name,
        "content_type": ref.content_type,
        "size": ref.size,
        # D3: a file deleted after sending keeps its record here, with when it went; a received
        # file Pregón did not keep (too large, or withheld) has no link either, and says why.
        "download_url": download_url(ref) if kept else None,
        "deleted_at": ref.deleted_at.isoformat() if ref.deleted_at else None,
        "omitted": omitted_reason(ref),
        "added_by": ref.added_by,
    }


@route(
    "POST /history/resend",
    STAFF,
    body="ResendIn",
    response="ResendOut",
    status=202,
    errors={
        429: "Too many wrong bulk-send passwords (`bulk_password`): bulk sends are locked for a while, "
        "even with the right password; the `Retry-After` header says in how many seconds to try again.",
    },
)
def resend(caller: Principal) -> Response:
    """Resend selected messages: each becomes a new manual message to the same recipient (H1); those to
    a client being erased are refused (`refused`), a 422 when all are"""
    from chalicelib.api.history_schemas import ResendIn
    from chalicelib.records.history.browse import resend as resend_messages

    body = parse_body(history.current_request, ResendIn)
    resent = resend_messages(caller, list(body.ids), bulk_password=body.bulk_password)
    from chalicelib.api.people import with_names

    items = with_names(caller, [history_item(c) for c in resent.items], "created_by")
    return json_response({"items": items, "refused": resent.refused}, 202)


@route("GET /history/filters", STAFF, response="SavedFiltersOut", query=("channel",))
def list_filters(caller: Principal) -> Response:
    """My saved history filters (private to the caller); with ?channel=, that history's and those saved
    without a channel"""
    from chalicelib.records.history.browse import my_filters

    return json_response({"items": [_filter_out(f) for f in my_filters(caller, _params())]})


@route("POST /history/filters", STAFF, body="SavedFilterIn", response="SavedFilterOut", status=201)
def save_filter(caller: Principal) -> Response:
    """Save a history filter in my filters; apply it with ?filter=<id>"""
    from chalicelib.api.history_schemas import SavedFilterIn
    from chalicelib.records.history.browse import save_filter as save

    body = parse_body(history.current_request, SavedFilterIn)
    criteria = {str(k): v for k, v in body.criteria.items()}
    return json_response(_filter_out(save(caller, body.name, criteria, body.channel)), 201)


@route("DELETE /history/filters/{filter_id}", STAFF, status=204)
def delete_filter(caller: Principal, filter_id: str) -> Response:
    """Delete one of my saved filters"""
    from chalicelib.records.history.browse import delete_filter as delete

    delete(caller, filter_id)
    return Response(body="", status_code=204)


def _filter_out(saved: Any) -> dict[str, Any]:
    return {
        "filter_id": saved.filter_id,
        "name": saved.name,
        "criteria": saved.criteria,
        "channel": saved.channel,
        "created_at": saved.created_at,
    }


@route("GET /history/{channel}", STAFF, response="HistoryPageOut", query=("limit", "cursor"))
def list_history(caller: Principal, channel: str) -> Response:
    """A channel's history (email, sms, push), newest first; filters from, to, status, kind, client, q, filter
    (a saved filter)"""
    from chalicelib.records.history.browse import criteria_for
    from chalicelib.records.history.browse import list_history as fetch

    request = history.current_request
    criteria = criteria_for(caller, _params())
    page = fetch(caller, channel, criteria, *page_request(request))
    return named_page(caller, page.items, page.cursor, history_item, "created_by")


@route(
    "GET /history/{channel}/export",
    STAFF,
    answer="xlsx",
    errors={
        422: "A filter that is not valid (naming it), or an export past what one request builds: more than "
        '10,000 rows or 20,000 messages searched (`"error": "ExportTooLarge"`, naming `from`, and '
        "`export_in_background`: the route that builds it in the background).",
    },
)
def export_history(caller: Principal, channel: str) -> Response:
    """The filtered history as an Excel file (.xlsx), built now: at most 10,000 rows (more: `POST
    /history/{channel}/exports`)"""
    from chalicelib.api.error_language import in_language
    from chalicelib.records.history.exports import export_history as export

    data, name = export(caller, channel, _params(), in_language)
    return xlsx_download(data, name)


@route(
    "POST /history/{channel}/exports", STAFF, body="HistoryExportIn", response="HistoryExportOut", status=202
)
def start_export(caller: Principal, channel: str) -> Response:
    """Export the filtered history in the background (a year's: up to 100,000 rows): its filters are
    checked now; follow it with `GET /history/{channel}/exports/{export_id}`"""
    from chalicelib.api.history_schemas import HistoryExportIn
    from chalicelib.records.history.exports import start_export as start

    body = parse_body(history.current_request, HistoryExportIn)
    export = start(caller, channel, body.model_dump(by_alias=True, exclude_none=True))
    return json_response(export_out(caller, export), 202)


@route("GET /history/{channel}/exports/{export_id}", STAFF, response="HistoryExportOut")
def get_export(caller: Principal, channel: str, export_id: str) -> Response:
    """A background export: its state, the rows written so far and, once done, a short-lived link to
    its file; only for staff who may read what it holds (its creator, levels 1-3)"""
    from chalicelib.records.history.exports import get_export as find

    return json_response(export_out(caller, find(caller, channel, export_id)))


def export_out(caller: Principal, export: Any) -> dict[str, Any]:
    from chalicelib.records.history.exports import download_url

    return named(
        caller,
        {
            "export_id": export.export_id,
            "channel": export.channel,
            "state": export.state,
            "rows": export.rows,
            "criteria": export.criteria,
            "created_by": export.created_by,
            "created_at": export.created_at,
            "updated_at": export.updated_at,
            "expires_at": export.expires_at,
            "file_size": export.file_size if export.state == "done" else None,
            "download_url": download_url(export),
            "error": export.error,
        },
        "created_by",
    )


def xlsx_download(data: bytes, filename: str) -> Response:
    """An Excel download (the history's, a register's, the notes report): saved, never shown, and
    never sniffed as another type (its cells hold what clients and strangers wrote)."""
    from chalicelib.records.exports import XLSX_TYPE

    return Response(
        body=data,
        status_code=200,
        headers={
            "Content-Type": XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@route("GET /history/{channel}/{communication_id}", STAFF, response="HistoryMessageOut")
def get_message(caller: Principal, channel: str, communication_id: str) -> Response:
    """One message exactly as sent: content, headers, attachments, delivery"""
    from chalicelib.core.links import without_portal_tokens
    from chalicelib.records.history.browse import history_entry

    comm = history_entry(caller, channel, communication_id)
    return json_response(
        named(
            caller,
            {
                **history_item(comm),
                "text": without_portal_tokens(comm.text),
                "html": without_portal_tokens(comm.html),
                "headers": comm.headers,
                "attachments": [attachment_out(a) for a in comm.attachments],
                "error": comm.error,
                "attempts": comm.attempts,
                "provider_message_id": comm.provider_message_id,
                "rfc_message_id": comm.rfc_message_id,
                "delivered_at": comm.delivered_at,
                "reply_to": comm.reply_to,
                "from_name": comm.from_name,
                "flagged": comm.flagged,
            },
            "created_by",
        )
    )
