"""Test sends (C3): send one message now, from an account or with a template, and see the answer.

Both routes answer 200 whether or not the provider accepted the message: ``{"ok": true,
"message_id": ...}`` or ``{"ok": false, "error": <the server's own text>}``. Only administrators
(level 1) may use them.
"""

from __future__ import annotations

from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body, principal_of

sender_tests = Blueprint(__name__)


def _admin() -> str:
    caller = principal_of(sender_tests.current_request)
    caller.require_admin()
    return caller.company_id


@sender_tests.route("/sender-accounts/{area}/test", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Send a test message from exactly this area's account, even a disabled one (C3)",
    body="TestSendIn",
    response="TestSendOut",
)
def test_sender_account(area: str) -> Response:
    from chalicelib.api.schemas import TestSendIn
    from chalicelib.messaging.accounts.trial_sends import send_account_test

    company_id = _admin()
    body = parse_body(sender_tests.current_request, TestSendIn)
    return json_response(send_account_test(company_id, area, str(body.to)).body())


@sender_tests.route("/templates/{key}/test", methods=["POST"], authorizer=pregon_auth)
@describe(
    summary="Render the template with sample data and send it through the account that sends it (C3)",
    body="TemplateTestSendIn",
    response="TestSendOut",
)
def test_template(key: str) -> Response:
    from chalicelib.api.schemas import TemplateTestSendIn
    from chalicelib.messaging.accounts.trial_sends import send_template_test

    company_id = _admin()
    body = parse_body(sender_tests.current_request, TemplateTestSendIn)
    # API Gateway may hand the path parameter over still URL-encoded (`custom%3Apromo`).
    result = send_template_test(company_id, unquote(key), str(body.to), body.variables)
    return json_response(result.body())
