"""Sweep cost: DynamoDB requests and capacity per e-mail, with and without 100,000 idle subscriptions.

    uv run python -m bench.sweep_cost [--due 1000] [--idle 100000]

Scenario A: one company with ``--due`` parcels, each followed by one subscriber and holding one
pending notifiable novelty. Scenario B: the same number of due parcels in another company, after
``--idle`` followed parcels (one active subscription and one already-notified novelty each, nothing
pending) were written: half in B's own company, half spread over five other companies. Only
``sweep_company`` is measured; the e-mails really go to a MailCatcher over SMTP.

Targets: <= 3 DynamoDB requests per e-mail; B/A <= 1.05 (requests and capacity per e-mail).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._stack import (
    AwsMeter,
    MailServer,
    deliver_queued,
    load_due_parcels,
    load_idle_subscriptions,
    local_stack,
    make_company,
    table,
    write_result,
)

TARGET_REQUESTS_PER_EMAIL = 3.0
TARGET_RATIO = 1.05


def _measure(company_id: str, mail: MailServer, expected: int) -> dict[str, Any]:
    from chalicelib.producers.tracking.sweep import sweep_company

    before = mail.count()
    meter = AwsMeter()
    with meter.active():
        started = time.perf_counter()
        report = sweep_company(company_id)
        sent = deliver_queued()
        seconds = time.perf_counter() - started
    caught = mail.wait_for(before + sent) - before
    requests = sum(meter.dynamodb_calls().values())
    capacity = sum(meter.capacity.values())
    return {
        "parcels": report.parcels,
        "emails_sent": sent,
        "emails_caught": caught,
        "failed": report.failed,
        "skipped": report.skipped,
        "expected": expected,
        "seconds": round(seconds, 3),
        "dynamodb_requests": requests,
        "dynamodb_http_attempts": meter.attempts.get("dynamodb", 0),
        "dynamodb_requests_by_operation": meter.dynamodb_calls(),
        "capacity_units": round(capacity, 2),
        "capacity_by_operation": {k: round(v, 2) for k, v in sorted(meter.capacity.items())},
        "other_aws_requests": meter.other_calls(),
        "requests_per_email": requests / sent if sent else None,
        "capacity_per_email": capacity / sent if sent else None,
    }


def _count_items(table_suffix: str) -> int:
    from chalicelib.core.aws import client
    from chalicelib.store.tables import bind

    ddb = client("dynamodb")
    name, total, start = bind() + table_suffix, 0, None
    while True:
        kwargs: dict[str, Any] = {"TableName": name, "Select": "COUNT"}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = ddb.scan(**kwargs)
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--idle", type=int, default=100_000)
    args = parser.parse_args()

    from bench._stack import mail_server

    with (
        tempfile.TemporaryDirectory(prefix="pregon-bench-") as tmp,
        local_stack(),
        mail_server(Path(tmp) / "mail") as mail,
    ):
        # Scenario A: only the due work exists.
        company_a = make_company(mail.port)
        started = time.perf_counter()
        load_due_parcels(company_a, args.due, prefix="A")
        print(f"setup A: {args.due:,} due parcels in {time.perf_counter() - started:.1f}s", flush=True)
        a = _measure(company_a, mail, args.due)

        # Scenario B: the same due work among many idle subscriptions.
        company_b = make_company(mail.port, name="Expreso Norte")
        others = [make_company(None, name=f"Otra {n}") for n in range(5)]
        started = time.perf_counter()
        load_idle_subscriptions([company_b] * 5 + others, args.idle)
        load_due_parcels(company_b, args.due, prefix="B")
        subscriptions = _count_items("subscriptions")
        print(
            f"setup B: {args.idle:,} idle + {args.due:,} due parcels in "
            f"{time.perf_counter() - started:.1f}s ({subscriptions:,} subscriptions in the table)",
            flush=True,
        )
        b = _measure(company_b, mail, args.due)

    def ratio(key: str) -> float | None:
        return b[key] / a[key] if a[key] and b[key] else None

    ratios = {
        "requests_per_email": ratio("requests_per_email"),
        "capacity_per_email": ratio("capacity_per_email"),
    }
    passed = {
        "requests_per_email_A": (a["requests_per_email"] or 99) <= TARGET_REQUESTS_PER_EMAIL,
        "requests_per_email_B": (b["requests_per_email"] or 99) <= TARGET_REQUESTS_PER_EMAIL,
        "ratio_requests": (ratios["requests_per_email"] or 99) <= TARGET_RATIO,
        "ratio_capacity": (ratios["capacity_per_email"] or 99) <= TARGET_RATIO,
    }
    rows: list[list[object]] = []
    for label, key in [
        ("parcels swept", "parcels"),
        ("e-mails sent (report)", "emails_sent"),
        ("e-mails caught by SMTP server", "emails_caught"),
        ("sweep seconds", "seconds"),
        ("DynamoDB requests", "dynamodb_requests"),
        ("DynamoDB HTTP attempts", "dynamodb_http_attempts"),
        ("capacity units", "capacity_units"),
        ("requests / e-mail", "requests_per_email"),
        ("capacity / e-mail", "capacity_per_email"),
    ]:
        r = ratio(key) if key in ("requests_per_email", "capacity_per_email") else None
        rows.append([label, a[key], b[key], "" if r is None else f"{r:.3f}"])
    print()
    print(f"Sweep cost: {args.due:,} due parcels; B adds {args.idle:,} idle subscriptions")
    print(table(["", "A (due only)", "B (+ idle)", "B/A"], rows))
    print()
    ops = sorted(set(a["dynamodb_requests_by_operation"]) | set(b["dynamodb_requests_by_operation"]))
    print(
        table(
            ["DynamoDB operation", "A requests", "B requests", "A capacity", "B capacity"],
            [
                [
                    op,
                    a["dynamodb_requests_by_operation"].get(op, 0),
                    b["dynamodb_requests_by_operation"].get(op, 0),
                    a["capacity_by_operation"].get(op, 0.0),
                    b["capacity_by_operation"].get(op, 0.0),
                ]
                for op in ops
            ],
        )
    )
    print(f"other AWS requests: A {a['other_aws_requests']}  B {b['other_aws_requests']}")
    print()
    print(
        f"targets: requests/e-mail <= {TARGET_REQUESTS_PER_EMAIL} "
        f"(A {'PASS' if passed['requests_per_email_A'] else 'FAIL'}, "
        f"B {'PASS' if passed['requests_per_email_B'] else 'FAIL'}); "
        f"B/A <= {TARGET_RATIO} (requests {'PASS' if passed['ratio_requests'] else 'FAIL'}, "
        f"capacity {'PASS' if passed['ratio_capacity'] else 'FAIL'})"
    )
    path = write_result(
        "sweep_cost",
        {
            "due_parcels": args.due,
            "idle_subscriptions": args.idle,
            "A": a,
            "B": b,
            "ratio_B_over_A": ratios,
            "targets": {"requests_per_email_max": TARGET_REQUESTS_PER_EMAIL, "ratio_max": TARGET_RATIO},
            "passed": passed,
        },
    )
    print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
