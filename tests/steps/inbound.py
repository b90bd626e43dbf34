"""Mail a client (or a stranger) writes to the company, received as SES receives it: the raw message
stored in the inbound bucket and SES's "Received" notification handed to the deployed handler."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import Tenant


def receive_mail(
    api: Client,
    company_id: str,
    sender: str,
    subject: str,
    text: str,
    *,
    with_message_id: bool = True,
    verdicts: dict[str, str] | None = None,
    to: str | None = None,
) -> dict[str, Any]:
    """``sender`` writes ``subject`` / ``text`` to the company's inbound address (or ``to``, e.g. a
    message's plus-addressed Reply-To); the handler's answer.
    ``with_message_id=False``: a bare message without a Message-ID, as the guides' ``curl`` sends.
    ``verdicts``: SES's verdicts other than PASS, e.g. ``{"spamVerdict": "FAIL"}``."""
    event = inbound_mail_event(
        api, company_id, sender, subject, text, with_message_id=with_message_id, verdicts=verdicts, to=to
    )
    return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)


def inbound_mail_event(
    api: Client,
    company_id: str,
    sender: str,
    subject: str,
    text: str,
    *,
    with_message_id: bool = True,
    verdicts: dict[str, str] | None = None,
    to: str | None = None,
) -> dict[str, Any]:
    """The SNS event SES's receipt rule publishes for that message (its raw mail put in S3), to
    hand to ``receive_inbound_mail`` (SNS hands the same one again when the handler fails)."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings
    from infrastructure.local.inbound_smtp import OBJECT_KEY_PREFIX, received_notification, ses_message_id

    to = to or f"{company_id}@inbound.pregon.local"  # the company's inbound address (GET /inbound/address)
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
    event: dict[str, Any] = api.events.generate_sns_event(
        message=json.dumps(note), subject="Amazon SES Email Receipt Notification"
    )
    return event


INBOUND_BUCKET = "pregon-inbound"


def ses_notification(recipients: list[str], key: str, ses_id: str, source: str) -> dict[str, Any]:
    """The notification SES publishes for a receipt rule's S3 action (format of the SES docs)."""
    return {
        "notificationType": "Received",
        "receipt": {
            "timestamp": "2026-11-02T12:00:00.000Z",
            "processingTimeMillis": 310,
            "recipients": recipients,
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "PASS"},
            "action": {
                "type": "S3",
                "topicArn": "arn:aws:sns:us-east-1:123456789012:pregon-inbound-mail",
                "bucketName": INBOUND_BUCKET,
                "objectKeyPrefix": "mail/",
                "objectKey": key,
            },
        },
        "mail": {
            "timestamp": "2026-11-02T12:00:00.000Z",
            "source": source,
            "messageId": ses_id,
            "destination": recipients,
            "headersTruncated": False,
            "headers": [],
            "commonHeaders": {"returnPath": source, "from": [source], "to": recipients},
        },
    }


def receive(
    api: Client,
    raw: bytes,
    *,
    to: list[str],
    ses_id: str | None = None,
    source: str = "sender@example.net",
    notification: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """SES stores the raw message in S3 and publishes its notification; the handler runs."""
    from chalicelib.core.aws import client

    ses_id = ses_id or uuid.uuid4().hex
    key = f"mail/{ses_id}"
    client("s3").put_object(Bucket=INBOUND_BUCKET, Key=key, Body=raw)
    message = notification if notification is not None else ses_notification(to, key, ses_id, source)
    event = api.events.generate_sns_event(
        message=json.dumps(message), subject="Amazon SES Email Receipt Notification"
    )
    return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)


def inbound_address(tenant: Tenant) -> str:
    return f"{tenant.company_id}@inbound.pregon.local"


def detail(api: Client, tenant: Tenant, communication_id: str) -> dict[str, Any]:
    response = api.http.get(f"/inbound/{communication_id}", headers=tenant.staff_headers())
    assert response.status_code == 200, response.body
    return dict(body(response))


def raw_mail_key(company_id: str, communication_id: str) -> str:
    """``<bucket>/<key>`` of the raw e-mail (MIME) SES kept for a message received."""
    from chalicelib.store import communications

    comm = communications.get(company_id, communication_id)
    assert comm is not None and comm.raw_key, communication_id
    return comm.raw_key


def raw_mail_kept(raw_key: str) -> bool:
    """Whether the raw e-mail ``raw_key`` names (``<bucket>/<key>``) is still in S3."""
    from botocore.exceptions import ClientError

    from chalicelib.core.aws import client

    bucket, _, key = raw_key.partition("/")
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


@contextmanager
def inbound_ceilings(
    monkeypatch: pytest.MonkeyPatch, sender: int, client: int, strangers: int
) -> Iterator[None]:
    """The day's ceilings on received messages (decision 0037) set low, as an operator sets them
    (``PREGON_INBOUND_*``): per stranger's address, per known client's, and from strangers in all.
    The settings in force are kept but for those (reading them again from this process's
    environment would lose what the test stage's configuration set)."""
    from dataclasses import replace

    from chalicelib.core import settings

    low = replace(
        settings.get_settings(),
        inbound_per_sender_per_day=sender,
        inbound_per_client_address_per_day=client,
        inbound_strangers_per_company_per_day=strangers,
    )
    monkeypatch.setattr(settings, "get_settings", lambda: low)
    yield
