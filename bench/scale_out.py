"""Scale-out of the outbox workers on one SQS queue (issue 14, point 2).

    uv run python -m bench.scale_out [--emails 3000] [--workers 1 2 4]

For each worker count, a new company (an SMTP account without a rate limit) writes ``--emails``
e-mails in its outbox as a producer does (``enqueue(kick=False, handoff=True)``: written
claimed, not timed), then hands their ids to ``pregon-outbox`` (``hand_off``: SQS messages of
100 ids) while that many worker processes (``bench._worker``, each the deployed
``deliver_outbox`` handler polling the queue, as concurrent Lambda invocations) wait. Timed from
the hand-off until the MailCatcher (its own process) holds every e-mail.

Reports e-mails/s per worker count and the CPU seconds each side used during the timed part: the
workers, DynamoDB Local (Java), the SMTP server, and this process (moto's SQS server and the
hand-off). Asserts that no message arrived twice: every caught file is counted by its
``X-Pregon-Message`` header (the communication id) and its ``Message-ID``.
"""

from __future__ import annotations

import argparse
import email
import os
import tempfile
import time
import uuid
from collections import Counter
from email import policy
from pathlib import Path
from typing import Any

from bench._stack import (
    FROM_ADDRESS,
    SMTP_PASSWORD,
    SMTP_USER,
    MailServer,
    cpu_by_side,
    local_stack,
    mail_server,
    make_company,
    queue_workers,
    table,
    write_result,
)

_TEXT = "Hola {name},\n\nTu factura de noviembre ya está disponible.\nTotal: $ 12.345,67\n\nCargas del Sur"
_HTML = (
    "<p>Hola {name},</p><p>Tu factura de noviembre ya está disponible.</p><p>Total: <b>$ 12.345,67</b></p>"
)


def _company(mail: MailServer) -> str:
    from chalicelib.messaging.accounts.email import save_sender_account, set_sender_password

    company_id = make_company(None, name=f"Scale {uuid.uuid4().hex[:6]}")
    save_sender_account(
        company_id,
        "all",
        {
            "kind": "smtp",
            "display_name": "Cargas del Sur",
            "from_address": FROM_ADDRESS,
            "smtp_host": "127.0.0.1",
            "smtp_port": mail.port,
            "encryption": "none",
            "username": SMTP_USER,
        },
    )
    set_sender_password(company_id, "all", SMTP_PASSWORD)
    return company_id


def _written(company_id: str, count: int) -> list[Any]:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    written: list[Any] = []
    for start in range(0, count, 100):  # as send-job pages do, 100 at a time
        written += enqueue(
            company_id,
            [
                OutgoingMessage(
                    channel="email",
                    to_address=f"cliente{i}@example.com",
                    to_name=f"Cliente {i}",
                    subject="Tu factura de noviembre",
                    text=_TEXT.format(name=f"Cliente {i}"),
                    html=_HTML.format(name=f"Cliente {i}"),
                    idempotency_key=f"scale:{i}",
                )
                for i in range(start, min(start + 100, count))
            ],
            kick=False,
            handoff=True,
        )
    return written


def _caught(files: list[Path]) -> tuple[Counter[str], Counter[str]]:
    by_id: Counter[str] = Counter()
    by_message_id: Counter[str] = Counter()
    for path in files:
        with path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=policy.default)
        by_id[str(parsed["X-Pregon-Message"])] += 1
        by_message_id[str(parsed["Message-ID"])] += 1
    return by_id, by_message_id


def _run(mail: MailServer, emails: int, workers: int) -> dict[str, Any]:
    from chalicelib.messaging.outbox import hand_off

    company_id = _company(mail)
    written = _written(company_id, emails)
    assert len(written) == emails
    with queue_workers({"deliver_outbox": workers}) as processes:
        before_files = set(mail.files())
        before = len(before_files)
        cpu_before = cpu_by_side()
        started = time.perf_counter()
        hand_off(company_id, written)
        caught = mail.wait_for(before + emails, timeout=1800) - before
        seconds = time.perf_counter() - started
        cpu_after = cpu_by_side()
        time.sleep(2)  # a duplicate would arrive after the last first copy
    files = [f for f in mail.files() if f not in before_files]
    by_id, by_message_id = _caught(files)
    ours = {c.communication_id for c in written}
    twice = sorted(i for i, n in by_id.items() if n > 1)
    assert set(by_id) == ours, "every message arrives"
    assert not twice and max(by_message_id.values()) == 1, f"sent twice: {twice[:5]}"
    cpu = {side: round(cpu_after[side] - cpu_before[side], 1) for side in sorted(cpu_after)}
    return {
        "workers": workers,
        "emails": caught,
        "files": len(files),
        "seconds": round(seconds, 3),
        "per_second": round(caught / seconds, 1),
        "sent_twice": len(twice),
        "cpu_seconds": cpu,
        "worker_cpu_seconds": [round(r["cpu_seconds"], 1) for r in processes.reports],
        "handed_off_messages": [r["handled"] for r in processes.reports],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp, local_stack(), mail_server(Path(tmp) / "mail") as mail:
        for workers in args.workers:
            runs.append(_run(mail, args.emails, workers))
            print(f"{workers} worker(s): {runs[-1]['per_second']} e-mails/s", flush=True)
    write_result("scale_out", {"emails": args.emails, "cores": os.cpu_count(), "runs": runs})
    sides = ["workers", "dynamodb_local", "smtp_server", "bench_process_moto_sqs"]
    print(
        table(
            ["workers", "e-mails", "seconds", "e-mails/s", "sent twice", *[f"CPU s: {s}" for s in sides]],
            [
                [r["workers"], r["emails"], r["seconds"], r["per_second"], r["sent_twice"]]
                + [r["cpu_seconds"].get(s, 0.0) for s in sides]
                for r in runs
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
