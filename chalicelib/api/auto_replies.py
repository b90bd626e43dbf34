"""Inbound SMS keyword rules for administrators (I1 balance, I2 tickets)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

auto_replies = Blueprint(__name__)


@auto_replies.route("/sms/auto-replies", methods=["GET"], authorizer=pregon_auth)
@describe(
    auto_replies,
    summary="The SMS keyword auto-replies: balance (I1) and tickets (I2)",
    response="chalicelib.api.auto_reply_schemas.AutoRepliesOut",
    access=ADMIN,
)
def get_auto_replies(caller: Principal) -> Response:
    from chalicelib.producers.sms_replies.rules import get_auto_replies as fetch

    return json_response(fetch(caller.company_id))


@auto_replies.route("/sms/auto-replies", methods=["PUT"], authorizer=pregon_auth)
@describe(
    auto_replies,
    summary="Change the SMS keyword auto-replies (a merge); templates are checked against their variables",
    body="chalicelib.api.auto_reply_schemas.AutoRepliesIn",
    response="chalicelib.api.auto_reply_schemas.AutoRepliesOut",
    access=ADMIN,
)
def save_auto_replies(caller: Principal) -> Response:
    from chalicelib.api.auto_reply_schemas import AutoRepliesIn
    from chalicelib.producers.sms_replies.rules import save_auto_replies as save

    body = parse_body(auto_replies.current_request, AutoRepliesIn)
    changes = body.model_dump(exclude_none=True)
    return json_response(save(caller.company_id, changes, updated_by=caller.subject))
