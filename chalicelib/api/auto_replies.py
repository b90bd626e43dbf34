"""Inbound SMS keyword rules for administrators (I1 balance, I2 tickets)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.http import Routes, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

auto_replies = Blueprint(__name__)
route = Routes(auto_replies, schemas="auto_reply_schemas")


@route("GET /sms/auto-replies", ADMIN, response="AutoRepliesOut")
def get_auto_replies(caller: Principal) -> Response:
    """The SMS keyword auto-replies: balance (I1) and tickets (I2)"""
    from chalicelib.producers.sms_replies.rules import get_auto_replies as fetch

    return json_response(fetch(caller.company_id))


@route("PUT /sms/auto-replies", ADMIN, body="AutoRepliesIn", response="AutoRepliesOut")
def save_auto_replies(caller: Principal) -> Response:
    """Change the SMS keyword auto-replies (a merge); templates are checked against their variables"""
    from chalicelib.api.auto_reply_schemas import AutoRepliesIn
    from chalicelib.producers.sms_replies.rules import save_auto_replies as save

    body = parse_body(auto_replies.current_request, AutoRepliesIn)
    changes = body.model_dump(exclude_none=True)
    return json_response(save(caller.company_id, changes, updated_by=caller.subject))
