"""SES receiving, locally: an SMTP server (aiosmtpd) for the inbound domain that does what the
deployed receipt rule does (``infrastructure/aws/synth.py``): it writes each message raw to the
inbound bucket under ``inbound/<SES message id>`` and publishes SES's "Received" notification
(the S3 action's, shaped as AWS's example in ``samples/ses_received.json``) to the inbound-mail
topic. The topic reaches ``receive_inbound_mail`` through :mod:`infrastructure.local.topics`, as
the SNS subscription does on AWS.

    with InboundSmtp(port=2525):          # mail to demo@inbound.pregon.local, or demo+r-<id>@...
        ...

Only recipients in the inbound domain (``PREGON_INBOUND_DOMAIN``) are taken, as the receipt rule
takes only its domain; any other is refused at RCPT with ``550 5.1.1``. No login is asked (an MX
does not ask one either). Like SES, the stored message starts with the ``Return-Path`` and
``Received`` headers the receiving server adds.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import secrets
import string
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from email.utils import format_datetime, getaddresses
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from infrastructure.local.paths import free_port

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).parent / "samples"
OBJECT_KEY_PREFIX = "inbound/"  # as the deployed receipt rule's S3 action
RECEIVING_HOST = "inbound-smtp.local.pregon"
_ID_ALPHABET = string.ascii_lowercase + string.digits


def ses_message_id() -> str:
    """An id shaped like SES receiving's (28 lower-case letters and digits)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(28))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def received_notification(
    *,
    message_id: str,
    bucket: str,
    key: str,
    topic_arn: str,
    mail_from: str,
    recipients: list[str],
    raw: bytes,
    at: datetime,
) -> dict[str, Any]:
    """SES's "Received" notification for one stored message: AWS's example with this message's
    ids, addresses and headers in place of the example's."""
    note: dict[str, Any] = copy.deepcopy(json.loads((SAMPLES / "ses_received.json").read_text()))
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    pairs = [{"name": name, "value": str(value)} for name, value in headers.items()]

    def addresses(name: str) -> list[str]:
        return [str(v) for v in headers.get_all(name, [])]

    common: dict[str, Any] = {"returnPath": mail_from}
    for field, header in (("from", "From"), ("to", "To"), ("cc", "Cc")):
        if headers.get_all(header):
            common[field] = addresses(header)
    for field, header in (("date", "Date"), ("messageId", "Message-ID"), ("subject", "Subject")):
        if headers.get(header) is not None:
            common[field] = str(headers[header])
    note["mail"].update(
        timestamp=_iso(at),
        source=mail_from,
        messageId=message_id,
        destination=[a for _, a in getaddresses(addresses("To") + addresses("Cc")) if a] or recipients,
        headersTruncated=False,
        headers=pairs,
        commonHeaders=common,
    )
    note["receipt"].update(timestamp=_iso(at), processingTimeMillis=1, recipients=recipients)
    note["receipt"]["action"] = {"type": "S3", "topicArn": topic_arn, "bucketName": bucket, "objectKey": key}
    return note


class _Receiver:
    """aiosmtpd handler: RCPT only for the inbound domain; DATA stored and announced."""

    def __init__(self, domain: str) -> None:
        self.domain = domain.lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address.rpartition("@")[2].lower() != self.domain:
            return f"550 5.1.1 <{address}>: this server receives mail for @{self.domain} only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        loop = asyncio.get_running_loop()
        try:
            message_id = await loop.run_in_executor(
                None, receive, raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("inbound mail could not be stored or announced")
            return "451 4.3.0 Temporary failure, try again later"
        return f"250 Ok {message_id}"


def receive(raw: bytes, mail_from: str, recipients: list[str], *, at: datetime | None = None) -> str:
    """What SES receiving does with one message: store it raw in the inbound bucket, then publish
    the "Received" notification to the inbound-mail topic. Returns the SES message id."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings
    from chalicelib.events.inbound_mail import INBOUND_MAIL_TOPIC

    moment = at or datetime.now(UTC)
    message_id = ses_message_id()
    bucket, key = get_settings().inbound_bucket, OBJECT_KEY_PREFIX + message_id
    stamp = format_datetime(moment)
    trace = (
        f"Return-Path: <{mail_from}>\r\n"
        f"Received: from local-client by {RECEIVING_HOST} with SMTP id {message_id}"
        f" for {recipients[0] if recipients else ''}; {stamp}\r\n"
    ).encode()
    stored = trace + raw
    client("s3").put_object(Bucket=bucket, Key=key, Body=stored)
    sns = client("sns")
    topic_arn = sns.create_topic(Name=INBOUND_MAIL_TOPIC)["TopicArn"]  # idempotent: its ARN
    note = received_notification(
        message_id=message_id,
        bucket=bucket,
        key=key,
        topic_arn=topic_arn,
        mail_from=mail_from,
        recipients=recipients,
        raw=stored,
        at=moment,
    )
    sns.publish(
        TopicArn=topic_arn,
        Subject="Amazon SES Email Receipt Notification",
        Message=json.dumps(note),
    )
    log.info("inbound mail %s for %s stored in s3://%s/%s", message_id, ", ".join(recipients), bucket, key)
    return message_id


class InboundSmtp:
    """The inbound domain's SMTP server on ``host:port`` (a free port unless one is given)."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", domain: str | None = None) -> None:
        self.host = host
        self._port = port if port is not None else free_port(host)
        self._domain = domain
        self._controller: Controller | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def domain(self) -> str:
        if self._domain is None:
            from chalicelib.core.settings import get_settings

            self._domain = get_settings().inbound_domain
        return self._domain

    def start(self) -> InboundSmtp:
        if self._controller is None:
            controller = Controller(
                _Receiver(self.domain),
                hostname=self.host,
                port=self._port,
                server_hostname=RECEIVING_HOST,
                enable_SMTPUTF8=True,
            )
            controller.start()
            self._controller = controller
            log.info("inbound SMTP for @%s listening on %s:%s", self.domain, self.host, self._port)
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> InboundSmtp:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
