"""Daily reminder run cost: DynamoDB requests per reminder sent, with and without 100,000 receivables
that are not due.

    uv run python -m bench.reminders_run [--due 1000] [--not-due 100000] [--clients 100]

Scenario A: one company with ``--due`` open receivables whose before-due reminder is due today
(spread over ``--clients`` clients with reminders on, each with one e-mail address). Scenario B:
the same in another company that also holds ``--not-due`` receivables that are not due: half still
waiting for a reminder on a later day (in the run's index, in the same company), half with nothing
left to send (paid, or reminded already). Only ``run_company`` and the outbox worker draining what
it queued are measured; the e-mails really go to a MailCatcher over SMTP.

Targets: <= 1.5 DynamoDB requests per reminder sent; B/A <= 1.05.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench._stack import (
    SMTP_PASSWORD,
    SMTP_USER,
    AwsMeter,
    MailServer,
    deliver_queued,
    local_stack,
    parallel,
    table,
    write_result,
)

TARGET_REQUESTS_PER_REMINDER = 1.5
TARGET_RATIO = 1.05


def make_company(smtp_port: int, name: str, clients: int) -> str:
    """A company with a ``reminders`` account on the MailCatcher and ``clients`` clients whose
    reminders are on (the default 7-days-before concept)."""
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password
    from chalicelib.producers.reminders.settings import save_client_reminders
    from chalicelib.tenants.clients import save_client
    from chalicelib.tenants.companies import create_company

    company_id = f"co-{uuid.uuid4().hex[:10]}"
    create_company(company_id, name)
    save_sender_account(
        company_id,
        "reminders",
        {
            "kind": "smtp",
            "display_name": f"{name} Cobranzas",
            "from_address": "cobranzas@cargasdelsur.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "encryption": "none",
            "username": SMTP_USER,
            "enabled": True,
        },
    )
    set_sender_password(company_id, "reminders", SMTP_PASSWORD)

    def one(n: int) -> None:
        client_id = f"CLI-{n:05d}"
        save_client(
            company_id,
            client_id,
            name=f"Cliente {n}",
            emails=[f"cliente{n}@example.com"],
            phones=[],
            contacts=[],
            message_switches={},
            preferred_agent=None,
            collection_agent=None,
        )
        save_client_reminders(
            company_id,
            client_id,
            active=True,
            subject=None,
            send_to_contacts=False,
            before_due_concept=None,
            after_due=False,
            after_due_concept=None,
            reminder_body=None,
            after_due_body=None,
            updated_by="bench",
        )

    parallel(one, range(clients))
    return company_id


def load_due(company_id: str, count: int, clients: int, today: date) -> None:
    """``count`` receivables due in 7 days (their reminder day is today), pushed through the same
    use case ``POST /receivables`` calls, 500 at a time."""
    from chalicelib.producers.reminders.receivables import ReceivableData, push_receivables

    items = [
        ReceivableData(
            f"DUE-{i:07d}",
            f"CLI-{i % clients:05d}",
            today - timedelta(days=20),
            today + timedelta(days=7),
            Decimal("12345.67"),
            Decimal("12345.67"),
            "ARS",
        )
        for i in range(count)
    ]
    parallel(lambda start: push_receivables(company_id, items[start : start + 500]), range(0, count, 500), 4)


def load_not_due(company_id: str, count: int, clients: int, today: date) -> None:
    """``count`` receivables that the run of ``today`` must not touch, written with BatchWriteItem:
    even ones wait for a reminder 1 to 60 days from now (in the run's index, same company); odd ones
    have nothing left to send (paid, or reminded already: not in the index)."""
    from chalicelib.store.models import ReceivableModel
    from chalicelib.store.tables import bind

    bind()
    now = datetime.now(timezone.utc)
    chunk = 2_000

    def write(start: int) -> None:
        with ReceivableModel.batch_write() as batch:
            for i in range(start, min(start + chunk, count)):
                waiting = i % 2 == 0
                due_on = today + timedelta(days=8 + i % 60) if waiting else today - timedelta(days=30)
                batch.save(
                    ReceivableModel(
                        company_id,
                        f"IDLE-{i:07d}",
                        client_id=f"CLI-{i % clients:05d}",
                        issued_on=(due_on - timedelta(days=30)).isoformat(),
                        due_on=due_on.isoformat(),
                        amount="1000.00",
                        balance="1000.00" if waiting else "0",
                        currency="ARS",
                        state="open" if waiting else "paid",
                        updated_at=now,
                        version=1,
                        reminded=None if waiting else ["before-7"],
                        remind_company=company_id if waiting else None,
                        remind_on=(due_on - timedelta(days=7)).isoformat() if waiting else None,
                        open_client=f"{company_id}#CLI-{i % clients:05d}" if waiting else None,
                    )
                )

    parallel(write, range(0, count, chunk), threads=4)


def _measure(company_id: str, mail: MailServer, expected: int) -> dict[str, Any]:
    from chalicelib.producers.reminders.run import run_company

    before = mail.count()
    meter = AwsMeter()
    with meter.active():
        started = time.perf_counter()
        report = run_company(company_id)
        sent = deliver_queued()
        seconds = time.perf_counter() - started
    caught = mail.wait_for(before + sent) - before
    requests = sum(meter.dynamodb_calls().values())
    capacity = sum(meter.capacity.values())
    return {
        "receivables_read": report.receivables,
        "reminders": report.reminders,
        "emails_sent": sent,
        "emails_caught": caught,
        "expected": expected,
        "seconds": round(seconds, 3),
        "dynamodb_requests": requests,
        "dynamodb_http_attempts": meter.attempts.get("dynamodb", 0),
        "dynamodb_requests_by_operation": meter.dynamodb_calls(),
        "capacity_units": round(capacity, 2),
        "capacity_by_operation": {k: round(v, 2) for k, v in sorted(meter.capacity.items())},
        "other_aws_requests": meter.other_calls(),
        "requests_per_reminder": requests / report.reminders if report.reminders else None,
        "capacity_per_reminder": capacity / report.reminders if report.reminders else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--not-due", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=100)
    args = parser.parse_args()

    from bench._stack import mail_server

    today = datetime.now(timezone.utc).date()  # the companies are in UTC
    with (
        tempfile.TemporaryDirectory(prefix="pregon-bench-") as tmp,
        local_stack(),
        mail_server(Path(tmp) / "mail") as mail,
    ):
        company_a = make_company(mail.port, "Cargas del Sur", args.clients)
        started = time.perf_counter()
        load_due(company_a, args.due, args.clients, today)
        print(f"setup A: {args.due:,} due receivables in {time.perf_counter() - started:.1f}s", flush=True)
        a = _measure(company_a, mail, args.due)

        company_b = make_company(mail.port, "Expreso Norte", args.clients)
        started = time.perf_counter()
        load_not_due(company_b, args.not_due, args.clients, today)
        load_due(company_b, args.due, args.clients, today)
        print(
            f"setup B: {args.not_due:,} not due + {args.due:,} due receivables in "
            f"{time.perf_counter() - started:.1f}s",
            flush=True,
        )
        b = _measure(company_b, mail, args.due)

    def ratio(key: str) -> float | None:
        return b[key] / a[key] if a[key] and b[key] else None

    ratios = {
        "requests_per_reminder": ratio("requests_per_reminder"),
        "capacity_per_reminder": ratio("capacity_per_reminder"),
    }
    passed = {
        "requests_per_reminder_A": (a["requests_per_reminder"] or 99) <= TARGET_REQUESTS_PER_REMINDER,
        "requests_per_reminder_B": (b["requests_per_reminder"] or 99) <= TARGET_REQUESTS_PER_REMINDER,
        "ratio_requests": (ratios["requests_per_reminder"] or 99) <= TARGET_RATIO,
        "ratio_capacity": (ratios["capacity_per_reminder"] or 99) <= TARGET_RATIO,
        "all_sent": a["emails_caught"] == args.due and b["emails_caught"] == args.due,
    }
    rows: list[list[object]] = []
    for label, key in [
        ("receivables read", "receivables_read"),
        ("reminders (report)", "reminders"),
        ("e-mails sent", "emails_sent"),
        ("e-mails caught by SMTP server", "emails_caught"),
        ("seconds (run + outbox)", "seconds"),
        ("DynamoDB requests", "dynamodb_requests"),
        ("DynamoDB HTTP attempts", "dynamodb_http_attempts"),
        ("capacity units", "capacity_units"),
        ("requests / reminder", "requests_per_reminder"),
        ("capacity / reminder", "capacity_per_reminder"),
    ]:
        r = ratio(key) if key in ratios else None
        rows.append([label, a[key], b[key], "" if r is None else f"{r:.3f}"])
    print()
    print(f"Reminder run cost: {args.due:,} due receivables; B adds {args.not_due:,} not due")
    print(table(["", "A (due only)", "B (+ not due)", "B/A"], rows))
    print()
    ops = sorted(set(a["dynamodb_requests_by_operation"]) | set(b["dynamodb_requests_by_operation"]))
    print(
        table(
            ["DynamoDB operation", "A requests", "B requests"],
            [
                [
                    op,
                    a["dynamodb_requests_by_operation"].get(op, 0),
                    b["dynamodb_requests_by_operation"].get(op, 0),
                ]
                for op in ops
            ],
        )
    )
    print(f"other AWS requests: A {a['other_aws_requests']}  B {b['other_aws_requests']}")
    print(
        f"targets: requests/reminder <= {TARGET_REQUESTS_PER_REMINDER} "
        f"(A {'PASS' if passed['requests_per_reminder_A'] else 'FAIL'}, "
        f"B {'PASS' if passed['requests_per_reminder_B'] else 'FAIL'}); "
        f"B/A <= {TARGET_RATIO} (requests {'PASS' if passed['ratio_requests'] else 'FAIL'}, "
        f"capacity {'PASS' if passed['ratio_capacity'] else 'FAIL'})"
    )
    path = write_result(
        "reminders_run",
        {
            "due_receivables": args.due,
            "not_due_receivables": args.not_due,
            "clients": args.clients,
            "A": a,
            "B": b,
            "ratio_B_over_A": ratios,
            "targets": {
                "requests_per_reminder_max": TARGET_REQUESTS_PER_REMINDER,
                "ratio_max": TARGET_RATIO,
            },
            "passed": passed,
        },
    )
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
