"""Inbound SMS keyword rules for administrators (I1 balance, I2 tickets)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body, principal_of

auto_replies = Blueprint(__name__)


@auto_replies.route("/sms/auto-replies", methods=["GET"], authorizer=pregon_auth)
@describe(summary="The SMS keyword auto-replies: balance (I1) and tickets (I2)", response="AutoRepliesOut")
def get_auto_replies() -> Response:
    from chalicelib.producers.sms_replies.rules import get_auto_replies as fetch

    caller = principal_of(auto_replies.current_request)
    caller.require_admin()
    return json_response(fetch(caller.company_id))


@auto_replies.route("/sms/auto-replies", methods=["PUT"], authorizer=pregon_auth)
@describe(
    summary="Change the SMS keyword auto-replies (a merge); templates are checked against their variables",
    body="AutoRepliesIn",
    response="AutoRepliesOut",
)
def save_auto_replies() -> Response:
    from chalicelib.api.auto_reply_schemas import AutoRepliesIn
    from chalicelib.producers.sms_replies.rules import save_auto_replies as save

    caller = principal_of(auto_replies.current_request)
    caller.require_admin()
    body = parse_body(auto_replies.current_request, AutoRepliesIn)
    changes = body.model_dump(exclude_none=True)
    return json_response(save(caller.company_id, changes, updated_by=caller.subject))
