"""Mail a client (or a stranger) writes to the company, received as SES receives it: the raw message
stored in the inbound bucket and SES's "Received" notification handed to the deployed handler."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from chalice.test import Client


def receive_mail(
    api: Client,
    company_id: str,
    sender: str,
    subject: str,
    text: str,
    *,
    with_message_id: bool = True,
    verdicts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``sender`` writes ``subject`` / ``text`` to the company's inbound address; the handler's answer.
    ``with_message_id=False``: a bare message without a Message-ID, as the guides' ``curl`` sends.
    ``verdicts``: SES's verdicts other than PASS, e.g. ``{"spamVerdict": "FAIL"}``."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings
    from infrastructure.local.inbound_smtp import OBJECT_KEY_PREFIX, received_notification, ses_message_id

    to = f"{company_id}@inbound.pregon.local"  # the company's inbound address (GET /inbound/address)
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        + (f"Message-ID: <{ses_message_id()}@mail.example.net>\r\n" if with_message_id else "")
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{text}\r\n"
    ).encode()
    message_id = ses_message_id()
    bucket, key = get_settings().inbound_bucket, OBJECT_KEY_PREFIX + message_id
    client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
    note = received_notification(
        message_id=message_id,
        bucket=bucket,
        key=key,
        topic_arn="arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
        mail_from=sender,
        recipients=[to],
        raw=raw,
        at=datetime.now(timezone.utc),
    )
    for name, status in (verdicts or {}).items():
        note["receipt"][name] = {"status": status}
    event = api.events.generate_sns_event(
        message=json.dumps(note), subject="Amazon SES Email Receipt Notification"
    )
    return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)
