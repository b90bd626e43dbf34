"""Test sends (C3): one message, sent now, to see whether an account or a template works.

A test send is synchronous by nature: the administrator waits for the answer, which is either the
provider's message id or the server's own refusal (``535 5.7.8 Authentication credentials
invalid``, ``ConnectionRefusedError: [Errno 111] Connection refused``, a certificate that fails
verification, ...). It goes through no queue, and is not a client message, so it is not recorded
in any client's history.

It does take its place in the account's send-rate window (C2), the same log the outbox reserves
room in (``store.outbox.reserve_rate``, conditional writes): a provider that allows 100 an hour
counts test messages too. When the window has room the test goes and counts (the room is given
back when the server refused it: nothing went); when it is full the test is refused at once with
a 429 saying when the next message may go, in the company's time zone, since a test cannot wait
in the outbox. An account without a limit sends its tests as before.

* An **account test** uses exactly the area's own account — never the ``all`` fallback — and works
  on a disabled account too: that is how an administrator checks an account before enabling it.
  The account must be complete (host and port, a password when it logs in; or an SES identity).
* A **template test** renders the effective template with its type's sample data (merged with the
  given variables) and sends it the way the real message would go: through the area's working
  account, else the ``all`` fallback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any

from chalicelib.channels.accounts import email_channel
from chalicelib.channels.base import ANSWER_WITHIN_SECONDS
from chalicelib.channels.email import OutgoingEmail, html_document
from chalicelib.core import clock
from chalicelib.core.domain import SenderAccount
from chalicelib.core.errors import Conflict, DeliveryFailed, NotFound, TooManyRequests, ValidationFailed
from chalicelib.messaging.accounts.email import (
    FALLBACK_AREA,
    PERSONAL_PREFIX,
    account_for,
    check_area,
    from_problem,
    is_working,
    password_of,
)
from chalicelib.messaging.send_room import Room, give_room_back, reserve_room, when_room_opens
from chalicelib.store import companies as store

TEST_HEADER = "X-Pregon-Test-Send"


@dataclass(frozen=True)
class TestSendResult:
    """``ok`` with the provider's message id, or not ``ok`` with the server's own text."""

    __test__ = False  # not a pytest test class, despite the name

    ok: bool
    message_id: str | None = None
    error: str | None = None

    def body(self) -> dict[str, Any]:
        if self.ok:
            return {"ok": True, "message_id": self.message_id}
        return {"ok": False, "error": self.error}


def _company_name(company_id: str) -> str:
    from chalicelib.tenants.companies import get_company

    return get_company(company_id).name


def _missing(account: SenderAccount) -> list[dict[str, str]]:
    """What keeps an account from sending, regardless of whether it is enabled."""
    problem = from_problem(account)  # C5: a personal account speaks only as its owner
    if problem:
        return [{"field": "from_address", "message": problem}]
    if is_working(dataclasses.replace(account, enabled=True)):
        return []
    if account.kind == "ses":
        return [{"field": "ses_identity", "message": "the account has no SES identity; set it first"}]
    errors = []
    if not account.smtp_host:
        errors.append({"field": "smtp_host", "message": "the account has no SMTP host; set it first"})
    if not account.smtp_port:
        errors.append({"field": "smtp_port", "message": "the account has no SMTP port; set it first"})
    if account.username and account.password_ciphertext is None:
        errors.append(
            {
                "field": "password",
                "message": "the account logs in as a user but has no password; "
                f"set it with PUT {_password_path(account.area)}",
            }
        )
    return errors


def _password_path(area: str) -> str:
    if area.startswith(PERSONAL_PREFIX):
        return f"/users/{area[len(PERSONAL_PREFIX) :]}/sender-account/password"
    return f"/sender-accounts/{area}/password"


# A test send answers the API request that asked for it (``channels.base.ANSWER_WITHIN_SECONDS``).
TRIAL_SECONDS = ANSWER_WITHIN_SECONDS


def _send(account: SenderAccount, mail: OutgoingEmail) -> TestSendResult:
    room = _count_in_window(account)
    channel = email_channel(account, lambda: password_of(account), attempt_seconds=TRIAL_SECONDS)
    not_taken = False
    try:
        result = TestSendResult(ok=True, message_id=channel.send(mail))
    except DeliveryFailed as exc:
        result = TestSendResult(ok=False, error=exc.message)
        not_taken = exc.not_taken
    finally:
        channel.close()
    if not_taken:  # refused before the server had it: nothing went, so it does not count (C2)
        give_room_back(account.company_id, room, 1)
    return result


def _count_in_window(account: SenderAccount) -> Room | None:
    """Take one message's room under the account's limits (its C2 rate limit; Pregón's e-mail
    allowance for an SES account), as a drain of its outbox does; None when none holds it. 429
    when one is full, naming it (Pregón's allowance is told to the administrators once a day)."""
    from chalicelib.messaging.accounts.email_allowance import email_limits

    limits = email_limits(account)
    if not limits:
        return None
    now = clock.now()
    room = reserve_room(account.company_id, limits, now, 1)
    if room.granted:
        return room
    assert room.full is not None
    if room.paused:  # decision 0032: only the operator resumes them
        from chalicelib.core.errors import Conflict

        raise Conflict(
            "Pregón paused the company's e-mails through its SES for too many hard bounces or "
            "complaints: a test cannot go until Pregón resumes them"
        )
    limit, hours = room.full.count, room.full.hours
    room_at = room.room_at or now + timedelta(hours=hours)
    shown, seconds = when_room_opens(account.company_id, room_at, now)
    if room.full.allowance:
        from chalicelib.messaging.accounts.allowance_notice import allowance_reached

        allowance_reached(account.company_id, room)
        raise TooManyRequests(
            f"the company's e-mails through Pregón's SES have reached Pregón's daily e-mail allowance "
            f"({limit} messages per {hours} h): the next one can go at {shown} "
            f"(Retry-After: {seconds} seconds)",
            retry_after=seconds,
        )
    raise TooManyRequests(
        f"the sender account {account.area} has reached its send-rate limit ({limit} messages per "
        f"{hours} h): the next one can go at {shown} (Retry-After: {seconds} seconds)",
        retry_after=seconds,
    )


def account_test_message(account: SenderAccount, company_name: str, to: str) -> OutgoingEmail:
    area = account.area
    if area.startswith(PERSONAL_PREFIX):
        user = area[len(PERSONAL_PREFIX) :]
        es, en = f"la cuenta de envío personal de «{user}»", f"the personal sender account of '{user}'"
    else:
        es, en = f"la cuenta de envío del área «{area}»", f"the sender account for the area '{area}'"
    text = (
        f"Este es un mensaje de prueba de {company_name}.\n\n"
        f"Se envió desde {es} ({account.from_address}) "
        "para comprobar que puede enviar correo. No hace falta responderlo.\n\n"
        f"This is a test of {en}. No reply is needed.\n"
    )
    subject = f"Prueba de envío — {company_name}"
    # (a whole document, in Spanish with its English line marked: html_document's head and title)
    html = html_document(
        f"<p>Este es un mensaje de <strong>prueba</strong> de {escape(company_name)}.</p>"
        f"<p>Se envió desde {escape(es)} "
        f"({escape(account.from_address)}) para comprobar que puede enviar correo. "
        "No hace falta responderlo.</p>"
        f'<p lang="en"><small>This is a test of {escape(en)}. No reply is needed.</small></p>',
        subject,
        "es",
    )
    return OutgoingEmail(
        from_address=account.from_address,
        from_name=account.display_name,
        to_address=to,
        to_name="",
        subject=subject,
        text=text,
        html=html,
        reply_to=account.reply_to,
        headers={TEST_HEADER: f"account {area}"},
    )


def send_account_test(company_id: str, area: str, to: str) -> TestSendResult:
    """Send a short test message from exactly ``area``'s account (an area's, or a user's
    personal one: C5), enabled or not."""
    check_area(area)
    account = store.get_sender_accounts(company_id, [area]).get(area)
    if account is None:
        raise NotFound(f"there is no sender account for the area {area!r}")
    errors = _missing(account)
    if errors:
        raise ValidationFailed(errors)
    return _send(account, account_test_message(account, _company_name(company_id), to))


def send_template_test(
    company_id: str,
    key: str,
    to: str,
    variables: Mapping[str, Any] | None = None,
    *,
    channel: str = "email",
) -> TestSendResult:
    """Render ``key``'s effective template with sample data and send it as the real one would go:
    by e-mail through the account that sends it, or (``channel="sms"``) its SMS text to a phone
    through the company's SMS settings, as the seed's SMS templates are checked (C3)."""
    from chalicelib.core.emails import checked_email
    from chalicelib.messaging.templates import check_channel, effective_template, preview_template

    template = effective_template(company_id, key)
    check_channel(template, channel)  # an SMS-only template has no e-mail to test (422)
    rendered = preview_template(company_id, key, variables=variables)
    if channel == "sms":
        from chalicelib.messaging.accounts.sms import send_test_sms

        sent = send_test_sms(company_id, to, rendered.sms_text)
        return TestSendResult(bool(sent["ok"]), sent.get("message_id"), sent.get("error"))
    to = checked_email(to, field="to")
    account = account_for(company_id, template.sender_area)
    if account is None:
        raise Conflict(
            f"no working sender account can send {key!r}: neither the area {template.sender_area!r} "
            f"nor the fallback {FALLBACK_AREA!r} has an enabled and complete account"
        )
    return _send(
        account,
        OutgoingEmail(
            from_address=account.from_address,
            from_name=account.display_name,
            to_address=to,
            to_name="",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html or None,
            reply_to=account.reply_to,
            headers={TEST_HEADER: f"template {key}"},
        ),
    )
