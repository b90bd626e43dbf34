"""Bulk send through the SQS fan-out vs a plain smtplib loop over one connection (issue 3).

    uv run python -m bench.bulk_send [--emails 10000] [--workers 4]

A company with ``--emails`` clients sends its ``invoice`` template to all of them as one manual
send (C8), started with the same use case ``POST /sends`` calls: the job is created and its pages
of 100 clients go on the ``pregon-send-jobs`` queue; page workers (the deployed ``expand_send_job``
handler) render each page and enqueue its e-mails in the account's outbox, which puts messages on
``pregon-outbox``; outbox workers (``deliver_outbox``) drain it concurrently, each over its own
SMTP connection. Each handler runs in ``--workers`` processes of its own (``bench._worker``)
polling moto's SQS, as concurrent invocations of its Lambda do on AWS. Timed from the call
until every e-mail reached the SMTP server (a separate process) and the job says ``done``. The
baseline sends the same number of look-alike messages in a plain smtplib loop over one
connection, in the same run, to the same server.

Reports e-mails per second of both, their ratio, and DynamoDB requests per e-mail (every call
counted in botocore, producer and worker processes alike).

Targets (issue 14): Pregón / plain >= 0.8 and <= 0.2 DynamoDB requests per e-mail.
"""

from __future__ import annotations

import argparse
import os
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
    cpu_by_side,
    cpu_since,
    local_stack,
    mail_server,
    make_company,
    parallel,
    queue_workers,
    summed_calls,
    table,
    write_result,
)

TARGET_RATIO = 0.8
TARGET_REQUESTS_PER_EMAIL = 0.2
_TEXT = "Hola {name},\n\nTu factura de noviembre ya está disponible.\nTotal: $ 12.345,67\n\nCargas del Sur"
_HTML = (
    "<p>Hola {name},</p><p>Tu factura de noviembre ya está disponible.</p><p>Total: <b>$ 12.345,67</b></p>"
)


def _company_with_clients(mail: MailServer, count: int) -> str:
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.tenants.clients import save_client

    company_id = make_company(mail.port, name=f"Bulk {uuid.uuid4().hex[:6]}")
    save_sender_account(
        company_id,
        "all",
        {
            "kind": "smtp",
            "display_name": "Cargas del Sur",
            "from_address": FROM_ADDRESS,
            "smtp_host": "127.0.0.1",
            "smtp_port": mail.port,
            "username": SMTP_USER,
        },
    )
    set_sender_password(company_id, "all", SMTP_PASSWORD)

    def one(i: int) -> None:
        save_client(
            company_id,
            f"CLI-{i:06d}",
            name=f"Cliente {i}",
            emails=[f"cliente{i}@example.com"],
            phones=[],
            contacts=[],
            message_switches={},
            preferred_agent=None,
            collection_agent=None,
        )

    parallel(one, range(count), threads=8)
    return company_id


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
    from chalicelib.messaging.templates import MESSAGE_TYPES
    from chalicelib.producers.sends.manual import ClientFilter, SendRequest, get_send_job, start_send
    from chalicelib.tenants.auth.principal import Principal

    setup_started = time.perf_counter()
    company_id = _company_with_clients(mail, count)
    setup_seconds = time.perf_counter() - setup_started
    variables = MESSAGE_TYPES["invoice"].sample_send_variables()
    before = mail.count()
    meter = AwsMeter()
    handlers = {"expand_send_job": workers, "deliver_outbox": workers}
    with queue_workers(handlers) as pool, meter.active():
        cpu_before, handlers_before = cpu_by_side(), pool.cpu_by_handler()
        started, started_at = time.perf_counter(), time.time()
        result = start_send(
            company_id,
            SendRequest(
                channel="email",
                template_key="invoice",
                variables=variables,
                client_filter=ClientFilter(),
                created_by="bench",
            ),
        )
        assert result.job is not None
        bench_user = Principal(company_id=company_id, kind="user", subject="bench", level=1)
        caught = mail.wait_for(before + count, timeout=1800) - before
        seconds = mail.last_arrival() - started_at  # until the last e-mail arrived
        cpu = cpu_since(cpu_before)
        cpu["cpu_seconds"].update(
            {f"workers: {h}": round(c - handlers_before[h], 2) for h, c in pool.cpu_by_handler().items()}
        )
        job = get_send_job(bench_user, result.job.job_id)
        while job.state != "done" and time.perf_counter() - started < seconds + 60:
            time.sleep(0.5)
            job = get_send_job(bench_user, result.job.job_id)
    failures = sum(r["failures"] for r in pool.reports)
    calls = summed_calls(pool.reports, meter)
    dynamodb, others = calls.dynamodb_calls(), calls.other_calls()
    requests = sum(dynamodb.values())
    return {
        "emails": caught,
        "job": {"state": job.state, "total": job.total, "sent": job.sent, "failed": job.failed},
        "client_setup_seconds": round(setup_seconds, 1),
        "seconds": round(seconds, 3),
        "per_second": round(caught / seconds, 1),
        "workers": workers,
        "handler_failures": failures,
        "dynamodb_requests": requests,
        "dynamodb_requests_per_email": round(requests / max(caught, 1), 3),
        "dynamodb_requests_by_operation": dynamodb,
        "other_aws_calls": others,
        **cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--warm",
        action="store_true",
        help="workers import every module and make every client before the clock starts "
        "(steady state, without the cold start)",
    )
    args = parser.parse_args(argv)
    if args.warm:
        os.environ["BENCH_WARM_WORKERS"] = "1"
    with tempfile.TemporaryDirectory() as tmp, local_stack(), mail_server(Path(tmp) / "mail") as mail:
        plain = _plain(mail, args.emails)
        fan_out = _fan_out(mail, args.emails, args.workers)
    ratio = round(fan_out["per_second"] / plain["per_second"], 3)
    requests_per_email = fan_out["dynamodb_requests_per_email"]
    result = {
        "emails": args.emails,
        "warm_workers": args.warm,
        "plain_smtplib": plain,
        "sqs_fan_out": fan_out,
        "ratio": ratio,
        "targets": {"ratio_min": TARGET_RATIO, "requests_per_email_max": TARGET_REQUESTS_PER_EMAIL},
        "passed": {
            "ratio": ratio >= TARGET_RATIO,
            "requests_per_email": requests_per_email <= TARGET_REQUESTS_PER_EMAIL,
        },
    }
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
    print(f"target: Pregón/plain >= {TARGET_RATIO}: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")
    print(
        f"target: DynamoDB requests per e-mail <= {TARGET_REQUESTS_PER_EMAIL}: "
        f"{'PASS' if requests_per_email <= TARGET_REQUESTS_PER_EMAIL else 'FAIL'}"
    )
    print(f"DynamoDB requests by operation: {fan_out['dynamodb_requests_by_operation']}")
    per_email = {
        side: round(1000 * used / max(fan_out["emails"], 1), 2)
        for side, used in fan_out["cpu_seconds"].items()
    }
    bound_rate = fan_out["emails"] / fan_out["cpu_bound_seconds"]
    print(f"CPU ms per e-mail by side ({os.cpu_count()} cores; workers also by handler): {per_email}")
    print(
        f"Pregón's CPU, spread over every core without a gap, allows {bound_rate:.1f} e-mails/s: "
        f"Pregón/plain <= {bound_rate / plain['per_second']:.3f} on this machine however the work overlaps"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
