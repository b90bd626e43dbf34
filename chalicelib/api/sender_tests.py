"""Test sends (C3): send one message now, from an account or with a template, and see the answer.

The routes answer 200 whether or not the provider accepted the message: ``{"ok": true,
"message_id": ...}`` or ``{"ok": false, "error": <the server's own text>}``; 429 when the
account's send-rate limit (C2), which tests count in, is reached. An area's account and
a template are tested by administrators (level 1); a personal account (C5) by its own user, or by
an administrator.
"""

from __future__ import annotations

from urllib.parse import unquote

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, USER_IN_PATH_OR_ADMIN
from chalicelib.api.http import Routes, json_response, parse_body
from chalicelib.tenants.auth.principal import Principal

sender_tests = Blueprint(__name__)
route = Routes(sender_tests, schemas="schemas")


# decision 0032: a company whose e-mails through Pregón's SES are paused cannot test an SES account
PAUSED_TEST = (
    "For an SES account: Pregón paused the company's e-mails through its SES for too many hard "
    "bounces or complaints; a test cannot go until Pregón's operator resumes them."
)


@route(
    "POST /sender-accounts/{area}/test",
    ADMIN,
    body="TestSendIn",
    response="TestSendOut",
    errors={
        409: PAUSED_TEST,
        429: "The account's send-rate limit (C2) is reached, or, for an SES account, Pregón's daily e-mail "
        "allowance (named; its administrators are told once a day): a test counts in them like any "
        "message; the message and `Retry-After` say when the next one can go.",
    },
)
def test_sender_account(caller: Principal, area: str) -> Response:
    """Send a test message from exactly this area's account, even a disabled one (C3)"""
    from chalicelib.api.schemas import TestSendIn
    from chalicelib.messaging.accounts.trial_sends import send_account_test

    company_id = caller.company_id
    body = parse_body(sender_tests.current_request, TestSendIn)
    return json_response(send_account_test(company_id, area, str(body.to)).body())


@route(
    "POST /users/{user_id}/sender-account/test",
    USER_IN_PATH_OR_ADMIN,
    body="TestSendIn",
    response="TestSendOut",
    errors={
        409: PAUSED_TEST,
        429: "The account's send-rate limit (C2) is reached, or, for an SES account, Pregón's daily e-mail "
        "allowance (named; its administrators are told once a day): a test counts in them like any "
        "message; the message and `Retry-After` say when the next one can go.",
    },
)
def test_personal_sender_account(caller: Principal, user_id: str) -> Response:
    """Send a test message from a user's own sender account, even a disabled one (C3, C5)"""
    from chalicelib.api.schemas import TestSendIn
    from chalicelib.messaging.accounts.email import personal_area
    from chalicelib.messaging.accounts.trial_sends import send_account_test

    body = parse_body(sender_tests.current_request, TestSendIn)
    area = personal_area(unquote(user_id))
    return json_response(send_account_test(caller.company_id, area, str(body.to)).body())


@route(
    "POST /templates/{key}/test",
    ADMIN,
    body="TemplateTestSendIn",
    response="TestSendOut",
    errors={
        409: "No working sender account can send the template: neither its area's nor `all`; with "
        "`channel: sms`, the SMS settings are not set up or incomplete. Or: " + PAUSED_TEST,
        429: "The sending account's send-rate limit (C2) or, for an SES account, Pregón's daily e-mail "
        "allowance is reached (with `channel: sms`, the company's SMS send-rate limit or Pregón's daily "
        "SMS allowance, named): a test counts in it like any "
        "message; the message and `Retry-After` say when the next one can go.",
    },
)
def test_template(caller: Principal, key: str) -> Response:
    """Render the template with sample data and send it through the account that sends it (C3)"""
    from chalicelib.api.schemas import TemplateTestSendIn
    from chalicelib.messaging.accounts.trial_sends import send_template_test

    company_id = caller.company_id
    body = parse_body(sender_tests.current_request, TemplateTestSendIn)
    # API Gateway may hand the path parameter over still URL-encoded (`custom%3Apromo`).
    result = send_template_test(company_id, unquote(key), body.to, body.variables, channel=body.channel)
    return json_response(result.body())
