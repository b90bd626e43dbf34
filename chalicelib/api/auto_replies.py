"""Inbound SMS keyword rules for administrators (I1 balance, I2 tickets)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN
from chalicelib.api.http import Routes, if_match, parse_body, plain, versioned_response
from chalicelib.tenants.auth.principal import Principal

auto_replies = Blueprint(__name__)
route = Routes(auto_replies, schemas="auto_reply_schemas")


@route("GET /sms/auto-replies", ADMIN, response="AutoRepliesOut", versioned=True)
def get_auto_replies(caller: Principal) -> Response:
    """The SMS keyword auto-replies: balance (I1) and tickets (I2)"""
    from chalicelib.producers.sms_replies.rules import get_auto_replies as fetch

    return _answer(caller, fetch(caller.company_id))


@route("PUT /sms/auto-replies", ADMIN, body="AutoRepliesIn", response="AutoRepliesOut", versioned=True)
def save_auto_replies(caller: Principal) -> Response:
    """Change the SMS keyword auto-replies (a merge); templates are checked against their variables"""
    from chalicelib.api.auto_reply_schemas import AutoRepliesIn
    from chalicelib.producers.sms_replies.rules import save_auto_replies as save

    request = auto_replies.current_request
    body = parse_body(request, AutoRepliesIn)
    changes = body.model_dump(exclude_none=True)
    return _answer(
        caller, save(caller.company_id, changes, updated_by=caller.subject, if_match=if_match(request))
    )


def _answer(caller: Principal, view: Any) -> Response:
    from chalicelib.api.people import named

    data = dict(plain(view))
    version = data.pop("version")
    return versioned_response(named(caller, data, "updated_by"), version)
