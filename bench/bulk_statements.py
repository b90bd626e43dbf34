"""A bulk statement job end to end vs a plain smtplib loop over one connection (issue 11, D2).

    uv run python -m bench.bulk_statements [--clients 2000] [--workers 4] [--lines 25]

A company with ``--clients`` clients, each with an e-mail and ``--lines`` open movements, sends
every client its account statement as one bulk job, started with the same use case ``POST
/documents/statements/bulk`` calls: the job's page 0 goes on the ``pregon-send-jobs`` queue; page
workers (the deployed ``expand_send_job`` handler) query 50 clients, ask for the next page, render
each client's one-page PDF (typst), keep it in S3 (moto) and enqueue the e-mails carrying it;
outbox workers (``deliver_outbox``) read each PDF back from S3 and send it over their own SMTP
connection. Both handlers are polled from moto's SQS by the local queue runner with ``--workers``
threads per queue. Timed from the call until every e-mail reached the SMTP server (a separate
process) and the job says ``done``. The baseline sends the same number of look-alike e-mails,
each with a PDF of the same size attached, in a plain smtplib loop over one connection.

Reports e-mails per second of both and their ratio, DynamoDB requests per e-mail.
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
    parallel,
    table,
    write_result,
)


def _company_with_clients(mail: MailServer, count: int, lines: int) -> str:
    from chalicelib.core.domain import Movement
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.producers.documents.settings import save_open_movements
    from chalicelib.tenants.clients import save_client

    company_id = make_company(mail.port, name=f"Estados {uuid.uuid4().hex[:6]}")
    save_sender_account(
        company_id,
        "all",
        {
            "kind": "smtp",
            "display_name": "Distribuidora Sur",
            "from_address": FROM_ADDRESS,
            "smtp_host": "127.0.0.1",
            "smtp_port": mail.port,
            "username": SMTP_USER,
        },
    )
    set_sender_password(company_id, "all", SMTP_PASSWORD)

    def one(i: int) -> None:
        client_id = f"CLI-{i:06d}"
        save_client(
            company_id,
            client_id,
            name=f"Cliente Número {i}",
            emails=[f"cliente{i}@example.com"],
            phones=[],
            contacts=[],
            message_switches={},
            preferred_agent=None,
            collection_agent=None,
        )
        movements = [
            Movement(
                f"2026-10-{1 + n % 28:02d}",
                f"A-0001-{i * 100 + n:08d}",
                f"{1000 + 37 * n + i}.45",
                "Factura de venta" if n % 4 else "Nota de crédito",
                f"2026-11-{1 + n % 28:02d}",
            )
            for n in range(lines)
        ]
        save_open_movements(company_id, client_id, movements, "ARS")

    parallel(one, range(count), threads=8)
    return company_id


def _sample_pdf(lines: int) -> bytes:
    from bench.pdf_render import _typst

    return _typst()(1)


def _plain(mail: MailServer, count: int, pdf: bytes) -> dict[str, Any]:
    before = mail.count()
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", mail.port, timeout=20)
    smtp.login(SMTP_USER, SMTP_PASSWORD)
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = formataddr(("Distribuidora Sur", FROM_ADDRESS))
        msg["To"] = formataddr((f"Cliente {i}", f"plain{i}@example.com"))
        msg["Subject"] = "Distribuidora Sur: resumen de cuenta al 31/10/2026"
        msg["Message-ID"] = make_msgid(domain="distsur.example")
        msg.set_content(f"Hola Cliente {i}:\n\nLe enviamos su resumen de cuenta, adjunto en PDF.\n")
        msg.add_alternative(
            f"<p>Hola Cliente {i}:</p><p>Le enviamos su resumen de cuenta.</p>", subtype="html"
        )
        msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"estado_{i}.pdf")
        smtp.send_message(msg)
    smtp.quit()
    seconds = time.perf_counter() - started
    assert mail.wait_for(before + count) - before == count
    return {"emails": count, "seconds": round(seconds, 3), "per_second": round(count / seconds, 1)}


def _bulk(mail: MailServer, count: int, workers: int, lines: int) -> dict[str, Any]:
    from app import app
    from chalicelib.producers.documents.bulk import (
        StatementSelection,
        get_bulk_statements,
        start_bulk_statements,
    )
    from chalicelib.tenants.auth.principal import Principal
    from infrastructure.local.queues import LocalQueueRunner

    setup_started = time.perf_counter()
    company_id = _company_with_clients(mail, count, lines)
    setup_seconds = time.perf_counter() - setup_started
    before = mail.count()
    meter = AwsMeter()
    with meter.active(), LocalQueueRunner(app, workers=workers) as runner:
        started, started_at = time.perf_counter(), time.time()
        job, _ = start_bulk_statements(
            company_id, StatementSelection(), as_of=None, created_by="bench", request_id=None
        )
        caught = mail.wait_for(before + count, timeout=3600) - before
        seconds = mail.last_arrival() - started_at  # until the last e-mail arrived
        viewer = Principal(company_id, "api_key", "bench")  # the ERP's key: the whole company
        seen = get_bulk_statements(viewer, job.job_id)
        while seen.state != "done" and time.perf_counter() - started < seconds + 60:
            time.sleep(0.5)
            seen = get_bulk_statements(viewer, job.job_id)
        failures = runner.failures
    requests = sum(meter.dynamodb_calls().values())
    return {
        "emails": caught,
        "job": {
            "state": seen.state,
            "total": seen.total,
            "sent": seen.sent,
            "failed": seen.failed,
            "skipped": seen.skipped,
        },
        "client_setup_seconds": round(setup_seconds, 1),
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
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lines", type=int, default=25)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, local_stack(), mail_server(Path(tmp) / "mail") as mail:
        pdf = _sample_pdf(args.lines)
        plain = _plain(mail, args.clients, pdf)
        bulk = _bulk(mail, args.clients, args.workers, args.lines)
    ratio = round(bulk["per_second"] / plain["per_second"], 3)
    result = {
        "clients": args.clients,
        "lines": args.lines,
        "pdf_bytes": len(pdf),
        "plain_smtplib": plain,
        "bulk_statements": bulk,
        "ratio": ratio,
        "load_average": os.getloadavg(),
    }
    write_result("bulk_statements", result)
    print(
        table(
            ["", "e-mails", "seconds", "e-mails/s", "DynamoDB requests/e-mail"],
            [
                [
                    "plain smtplib, one connection, same PDF",
                    plain["emails"],
                    plain["seconds"],
                    plain["per_second"],
                    "-",
                ],
                [
                    f"Pregón bulk statements, {args.workers} workers",
                    bulk["emails"],
                    bulk["seconds"],
                    bulk["per_second"],
                    bulk["dynamodb_requests_per_email"],
                ],
            ],
        )
    )
    print(f"ratio (Pregón / plain): {ratio}; job {bulk['job']}; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
