"""History per channel (H1), for staff: list, view as sent, resend, my filters, Excel export."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import (
    cursor_param,
    describe,
    encode_cursor,
    json_response,
    limit_param,
    parse_body,
)
from chalicelib.core.domain import AttachmentRef, Communication
from chalicelib.tenants.auth.principal import Principal

history = Blueprint(__name__)


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
        "state": comm.state,
        "status_group": status_group(comm.state),
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
    }


def attachment_out(ref: AttachmentRef) -> dict[str, Any]:
    from chalicelib.core.files import download_url

    return {
        "name": ref.name,
        "content_type": ref.content_type,
        "size": ref.size,
        "download_url": download_url(ref),
    }


@history.route("/history/resend", methods=["POST"], authorizer=pregon_auth)
@describe(
    history,
    summary="Resend selected messages: each becomes a new manual message to the same recipient (H1)",
    body="chalicelib.api.history_schemas.ResendIn",
    response="chalicelib.api.history_schemas.ResendOut",
    status=202,
    access=STAFF,
)
def resend(caller: Principal) -> Response:
    from chalicelib.api.history_schemas import ResendIn
    from chalicelib.records.history.browse import resend as resend_messages

    body = parse_body(history.current_request, ResendIn)
    written = resend_messages(caller, list(body.ids))
    return json_response({"items": [history_item(c) for c in written]}, 202)


@history.route("/history/filters", methods=["GET"], authorizer=pregon_auth)
@describe(
    history,
    summary="My saved history filters (private to the caller)",
    response="chalicelib.api.history_schemas.SavedFiltersOut",
    access=STAFF,
)
def list_filters(caller: Principal) -> Response:
    from chalicelib.records.history.browse import my_filters

    return json_response({"items": [_filter_out(f) for f in my_filters(caller)]})


@history.route("/history/filters", methods=["POST"], authorizer=pregon_auth)
@describe(
    history,
    summary="Save a history filter in my filters; apply it with ?filter=<id>",
    body="chalicelib.api.history_schemas.SavedFilterIn",
    response="chalicelib.api.history_schemas.SavedFilterOut",
    status=201,
    access=STAFF,
)
def save_filter(caller: Principal) -> Response:
    from chalicelib.api.history_schemas import SavedFilterIn
    from chalicelib.records.history.browse import save_filter as save

    body = parse_body(history.current_request, SavedFilterIn)
    return json_response(
        _filter_out(save(caller, body.name, {str(k): v for k, v in body.criteria.items()})), 201
    )


@history.route("/history/filters/{filter_id}", methods=["DELETE"], authorizer=pregon_auth)
@describe(
    history,
    summary="Delete one of my saved filters",
    status=204,
    access=STAFF,
)
def delete_filter(caller: Principal, filter_id: str) -> Response:
    from chalicelib.records.history.browse import delete_filter as delete

    delete(caller, filter_id)
    return Response(body="", status_code=204)


def _filter_out(saved: Any) -> dict[str, Any]:
    return {
        "filter_id": saved.filter_id,
        "name": saved.name,
        "criteria": saved.criteria,
        "created_at": saved.created_at,
    }


@history.route("/history/{channel}", methods=["GET"], authorizer=pregon_auth)
@describe(
    history,
    summary="A channel's history (email, sms, push), newest first; filters from, to, status, kind, "
    "client, q, filter (a saved filter)",
    response="chalicelib.api.history_schemas.HistoryPageOut",
    access=STAFF,
    query=("limit", "cursor"),
)
def list_history(caller: Principal, channel: str) -> Response:
    from chalicelib.records.history.browse import criteria_for
    from chalicelib.records.history.browse import list_history as fetch

    request = history.current_request
    criteria = criteria_for(caller, _params())
    page = fetch(caller, channel, criteria, limit_param(request), cursor_param(request))
    return json_response(
        {"items": [history_item(c) for c in page.items], "next_cursor": encode_cursor(page.cursor)}
    )


@history.route("/history/{channel}/export", methods=["GET"], authorizer=pregon_auth)
@describe(
    history,
    summary="The filtered history as an Excel file (.xlsx), at most 10,000 rows",
    access=STAFF,
    answer="xlsx",
)
def export_history(caller: Principal, channel: str) -> Response:
    from chalicelib.records.exports import MAX_EXPORT_ROWS, workbook
    from chalicelib.records.history.browse import check_channel, criteria_for, export_rows
    from chalicelib.store.communications import status_group
    from chalicelib.tenants.companies import get_company

    check_channel(channel)
    company = get_company(caller.company_id)
    rows = export_rows(caller, channel, criteria_for(caller, _params()), MAX_EXPORT_ROWS)
    columns = [
        "Id",
        f"Created ({company.time_zone})",
        f"Sent ({company.time_zone})",
        "Direction",
        "Type",
        "Status",
        "State",
        "Client",
        "To",
        "From",
        "Subject",
        "Message type",
        "Created by",
        "Resend of",
        "Error",
        "Text",
    ]
    data = workbook(
        f"{channel} history",
        columns,
        (
            [
                c.communication_id,
                c.created_at,
                c.sent_at,
                c.direction,
                c.kind,
                status_group(c.state),
                c.state,
                c.client_id,
                c.to_address,
                c.from_address,
                c.subject,
                c.message_type,
                c.created_by,
                c.resend_of,
                c.error,
                c.text,
            ]
            for c in rows
        ),
        time_zone=company.time_zone,
        locale=company.locale,
    )
    return _xlsx(data, f"history-{channel}.xlsx")


def _xlsx(data: bytes, filename: str) -> Response:
    from chalicelib.records.exports import XLSX_TYPE

    return Response(
        body=data,
        status_code=200,
        headers={"Content-Type": XLSX_TYPE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@history.route("/history/{channel}/{communication_id}", methods=["GET"], authorizer=pregon_auth)
@describe(
    history,
    summary="One message exactly as sent: content, headers, attachments, delivery",
    response="chalicelib.api.history_schemas.HistoryMessageOut",
    access=STAFF,
)
def get_message(caller: Principal, channel: str, communication_id: str) -> Response:
    from chalicelib.records.history.browse import history_entry

    comm = history_entry(caller, channel, communication_id)
    return json_response(
        {
            **history_item(comm),
            "text": comm.text,
            "html": comm.html,
            "headers": comm.headers,
            "attachments": [attachment_out(a) for a in comm.attachments],
            "error": comm.error,
            "attempts": comm.attempts,
            "provider_message_id": comm.provider_message_id,
            "rfc_message_id": comm.rfc_message_id,
            "delivered_at": comm.delivered_at,
            "reply_to": comm.reply_to,
            "from_name": comm.from_name,
        }
    )
