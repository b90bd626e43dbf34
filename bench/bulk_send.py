"""Bulk send through the SQS fan-out vs a plain smtplib loop over one connection (issue 3).

    uv run python -m bench.bulk_send [--emails 10000] [--workers 4]

A company sends ``--emails`` e-mails (one per client) in one bulk send: the producer enqueues them
in pages of 100 (what a send job's page worker does: render, then ``messaging.outbox.enqueue``,
which writes the queued communications and puts an SQS message asking for the outbox to be
drained); ``--workers`` outbox workers (the deployed ``on_sqs_message`` handler, polled from
moto's SQS by the local queue runner, as Lambda's event source mapping does on AWS) drain the
account's outbox concurrently, each over its own SMTP connection, until every e-mail reached the
SMTP server (a separate process). The baseline sends the same number of look-alike messages in a
plain smtplib loop over one connection, in the same run, to the same server.

Reports e-mails per second of both, their ratio, and DynamoDB requests per e-mail (every call
counted in botocore, producer and workers alike).
"""

from __future__ import annotations

import argparse
import smtplib
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from typing import Any

from bench._stack import (
    FROM_ADDRESS,
    SMTP_PASSWORD,
    SMTP_USER,
    AwsMeter,
    MailServer,
    local_stack,
    mail_server,
    make_company,
    table,
    write_result,
)

PAGE = 100
_TEXT = "Hola {name},\n\nTu factura de noviembre ya está disponible.\nTotal: $ 12.345,67\n\nCargas del Sur"
_HTML = (
    "<p>Hola {name},</p><p>Tu factura de noviembre ya está disponible.</p><p>Total: <b>$ 12.345,67</b></p>"
)


def _message(i: int) -> Any:
    from chalicelib.messaging.outbox import OutgoingMessage

    name = f"Cliente {i}"
    return OutgoingMessage(
        channel="email",
        to_address=f"cliente{i}@example.com",
        to_name=name,
        subject="Tu factura de noviembre",
        text=_TEXT.format(name=name),
        html=_HTML.format(name=name),
        message_type="custom:newsletter",
        kind="manual",
        client_id=f"CLI-{i:06d}",
        area="tracking",
        idempotency_key=f"bench:{i}",
    )


def _plain(mail: MailServer, count: int) -> dict[str, Any]:
    before = mail.count()
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", mail.port, timeout=20)
    smtp.login(SMTP_USER, SMTP_PASSWORD)
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = formataddr(("Cargas del Sur Avisos", FROM_ADDRESS))
        msg["To"] = formataddr((f"Cliente {i}", f"plain{i}@example.com"))
        msg["Subject"] = "Tu factura de noviembre"
        msg["Message-ID"] = make_msgid(domain="cargasdelsur.example")
        msg.set_content(_TEXT.format(name=f"Cliente {i}"))
        msg.add_alternative(_HTML.format(name=f"Cliente {i}"), subtype="html")
        smtp.send_message(msg)
    smtp.quit()
    seconds = time.perf_counter() - started
    assert mail.wait_for(before + count) - before == count
    return {"emails": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


def _fan_out(mail: MailServer, count: int, workers: int) -> dict[str, Any]:
    from app import app
    from chalicelib.messaging.outbox import enqueue
    from infrastructure.local.queues import LocalQueueRunner

    company_id = make_company(mail.port, name=f"Bulk {uuid.uuid4().hex[:6]}")
    before = mail.count()
    meter = AwsMeter()
    with meter.active(), LocalQueueRunner(app, workers=workers) as runner:
        started = time.perf_counter()
        for start in range(0, count, PAGE):
            enqueue(company_id, [_message(i) for i in range(start, min(start + PAGE, count))])
        caught = mail.wait_for(before + count, timeout=1800) - before
        seconds = time.perf_counter() - started
        failures = runner.failures
    requests = sum(meter.dynamodb_calls().values())
    return {
        "emails": caught,
        "seconds": round(seconds, 3),
        "per_second": round(caught / seconds, 1),
        "workers": workers,
        "handler_failures": failures,
        "dynamodb_requests": requests,
        "dynamodb_requests_per_email": round(requests / max(caught, 1), 3),
        "dynamodb_requests_by_operation": meter.dynamodb_calls(),
        "other_aws_calls": meter.other_calls(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, local_stack(), mail_server(Path(tmp) / "mail") as mail:
        plain = _plain(mail, args.emails)
        fan_out = _fan_out(mail, args.emails, args.workers)
    ratio = round(fan_out["per_second"] / plain["per_second"], 3)
    result = {"emails": args.emails, "plain_smtplib": plain, "sqs_fan_out": fan_out, "ratio": ratio}
    write_result("bulk_send", result)
    print(
        table(
            ["", "e-mails", "seconds", "e-mails/s", "DynamoDB requests/e-mail"],
            [
                [
                    "plain smtplib, one connection",
                    plain["emails"],
                    plain["seconds"],
                    plain["per_second"],
                    "-",
                ],
                [
                    f"Pregón, SQS fan-out, {args.workers} workers",
                    fan_out["emails"],
                    fan_out["seconds"],
                    fan_out["per_second"],
                    fan_out["dynamodb_requests_per_email"],
                ],
            ],
        )
    )
    print(f"ratio (Pregón / plain): {ratio}")
    print(f"DynamoDB requests by operation: {fan_out['dynamodb_requests_by_operation']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
