"""Delivery rate: e-mails per second from one sweep worker, as a ratio to a plain smtplib loop.

    uv run python -m bench.delivery [--due 1000] [--runs 3] [--warm N] [--profile]

Both sides send to the same SMTP server (a MailCatcher in its own process, login required) in the
same run. The sweep side times the whole ``sweep_company`` call on ``--due`` fresh due parcels
(claims, rendering, writing the alerts claimed and handing them over) until the last e-mail
arrived, sent by one outbox worker: the deployed ``deliver_outbox`` handler polling the outbox
queue in a process of its own (``bench._worker``), as its Lambda runs apart from the sweep's on
AWS, started once and kept warm across the runs (composing, sending, recording results). The
plain side times one connection, login, and a loop that builds each message with
``email.message.EmailMessage`` (the same headers, text and HTML bodies as a message the sweep
sent, so the same size) and sends it. Each side runs ``--runs`` times, alternating which goes
first; the medians are compared.

Before measuring, an untimed sweep of ``--warm`` parcels (by default as many as ``--due``) warms
the worker (imports, templates, the SMTP path) and DynamoDB Local's JVM, and gives the sample
message. The JVM compiles as it serves: with a 20-parcel warm-up (``--warm 20``, the method until
session 14) the first timed sweep cost DynamoDB Local 13–18 CPU seconds per 1,000 alerts and the
third 6–6.5, so the runs measured the emulator's warm-up as much as Pregón; DynamoDB on AWS has
none. The MailCatcher offers PIPELINING (RFC 2920) as the relays companies use do, so the worker sends
each e-mail in two round trips where the plain loop (``smtplib``, which never pipelines) takes
four; ``--no-pipelining`` measures against a server that does not offer it (the method until
session 25). ``--profile`` then profiles one more sweep (cProfile, main thread: the thread
that renders and sends; the claims run in the sweep's thread pool) and prints where time goes.

Target: sweep rate / plain rate >= 0.8.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import smtplib
import tempfile
import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from bench._stack import (
    FROM_ADDRESS,
    SMTP_PASSWORD,
    SMTP_USER,
    MailServer,
    cpu_by_side,
    cpu_since,
    load_due_parcels,
    local_stack,
    mail_server,
    make_company,
    median,
    queue_workers,
    table,
    write_result,
)

TARGET_RATIO = 0.8
_TRACE_HEADERS = ("X-Pregon-Envelope-From", "X-Pregon-Envelope-To")


def _sweep(mail: MailServer, due: int, prefix: str) -> dict[str, Any]:
    """One sweep, with the outbox worker (its own process, started before) sending side by side
    as on AWS (the sweep hands the worker its alerts 100 at a time): timed from the sweep's start
    until the last e-mail arrived."""
    from chalicelib.producers.tracking.sweep import sweep_company

    company_id = make_company(mail.port)
    load_due_parcels(company_id, due, prefix=prefix)
    before = mail.count()
    cpu_before = cpu_by_side()
    started_at = time.time()
    report = sweep_company(company_id)
    caught = mail.wait_for(before + due, timeout=300) - before
    seconds = mail.last_arrival() - started_at
    assert report.queued == due and caught == due, (report, caught)
    return {"emails": caught, "seconds": seconds, "per_second": caught / seconds, **cpu_since(cpu_before)}


class _Sample:
    """What a sweep e-mail looks like, to build look-alikes with EmailMessage."""

    def __init__(self, path: Path) -> None:
        raw = path.read_bytes()
        message = BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        for name in _TRACE_HEADERS:
            del message[name]
        self.size = len(message.as_bytes())
        self.subject = str(message["Subject"])
        self.from_name = "Cargas del Sur Avisos"
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        assert text_part is not None and html_part is not None
        self.text = str(text_part.get_content())
        self.html = str(html_part.get_content())
        self.unsubscribe = str(message["List-Unsubscribe"])

    def build(self, i: int) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr((self.from_name, FROM_ADDRESS))
        msg["To"] = formataddr(("Ana García", f"cliente{i}@example.com"))
        msg["Subject"] = self.subject
        msg["Date"] = format_datetime(_now())
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@cargasdelsur.example>"
        msg["List-Unsubscribe"] = self.unsubscribe
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(self.text, subtype="plain", charset="utf-8")
        msg.add_alternative(self.html, subtype="html", charset="utf-8")
        return msg


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _plain(mail: MailServer, sample: _Sample, count: int) -> dict[str, Any]:
    before = mail.count()
    cpu_before = cpu_by_side()
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", mail.port, timeout=20)
    smtp.login(SMTP_USER, SMTP_PASSWORD)
    for i in range(count):
        smtp.send_message(sample.build(i))
    smtp.quit()
    seconds = time.perf_counter() - started
    caught = mail.wait_for(before + count) - before
    assert caught == count, caught
    return {"emails": count, "seconds": seconds, "per_second": count / seconds, **cpu_since(cpu_before)}


def _profile(mail: MailServer, due: int) -> str:
    from chalicelib.producers.tracking.sweep import sweep_company

    company_id = make_company(mail.port)
    load_due_parcels(company_id, due, prefix="PROF")
    profiler = cProfile.Profile()
    profiler.enable()
    sweep_company(company_id)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warm", type=int, default=None, help="parcels of the untimed warm-up sweep (default: --due)"
    )
    parser.add_argument("--profile", action="store_true", help="profile one extra sweep (main thread)")
    parser.add_argument(
        "--no-pipelining",
        action="store_true",
        help="the MailCatcher does not offer PIPELINING (as until session 25): the worker sends as smtplib",
    )
    args = parser.parse_args()

    sweeps: list[dict[str, Any]] = []
    plains: list[dict[str, Any]] = []
    profile = None
    with (
        tempfile.TemporaryDirectory(prefix="pregon-bench-") as tmp,
        local_stack(),
        mail_server(Path(tmp) / "mail", pipelining=not args.no_pipelining) as mail,
        queue_workers({"deliver_outbox": 1}) as worker,
    ):
        _sweep(mail, args.warm if args.warm is not None else args.due, prefix="WARM")
        sample = _Sample(mail.files()[-1])
        with worker.paused():
            _plain(mail, sample, 20)
        for run in range(args.runs):
            order = ("sweep", "plain") if run % 2 == 0 else ("plain", "sweep")
            for side in order:
                if side == "sweep":
                    sweeps.append(_sweep(mail, args.due, prefix=f"R{run}"))
                else:
                    with worker.paused():  # the plain loop runs alone, as before the worker existed
                        plains.append(_plain(mail, sample, args.due))
                print(f"run {run + 1} {side}: {(sweeps if side == 'sweep' else plains)[-1]}", flush=True)
        plain_size = len(sample.build(0).as_bytes())
        if args.profile:
            profile = _profile(mail, args.due)

    sweep_rate = median([s["per_second"] for s in sweeps])
    plain_rate = median([p["per_second"] for p in plains])
    ratio = sweep_rate / plain_rate
    rows: list[list[object]] = [
        [f"run {i + 1}", s["per_second"], p["per_second"], s["per_second"] / p["per_second"]]
        for i, (s, p) in enumerate(zip(sweeps, plains, strict=True))
    ]
    rows.append(["median", sweep_rate, plain_rate, ratio])
    print()
    print(f"Delivery: {args.due:,} e-mails per run, one SMTP connection, same MailCatcher")
    print(table(["", "sweep e-mails/s", "plain smtplib e-mails/s", "sweep/plain"], rows))
    print(f"message size: sweep {sample.size:,} bytes, plain {plain_size:,} bytes")
    print(f"target: sweep/plain >= {TARGET_RATIO}: {'PASS' if ratio >= TARGET_RATIO else 'FAIL'}")
    sides = ["bench_process_moto_sqs", "workers", "dynamodb_local", "smtp_server"]
    cpu_rows: list[list[object]] = []
    for name, runs in (("sweep", sweeps), ("plain", plains)):
        row: list[object] = [name]
        row += [median([r["cpu_seconds"][side] for r in runs]) for side in sides]
        row += [median([sum(r["cpu_seconds"].values()) for r in runs]), median([r["seconds"] for r in runs])]
        cpu_rows.append(row)
    bound_rate = median([s["emails"] / s["cpu_bound_seconds"] for s in sweeps])
    print()
    print(f"CPU seconds per run, medians ({os.cpu_count()} cores; the sweep runs in this process)")
    print(table(["side", *sides, "all", "wall seconds"], cpu_rows))
    print(
        f"the sweep side's CPU, spread over every core without a gap, allows {bound_rate:.1f} e-mails/s: "
        f"sweep/plain <= {bound_rate / plain_rate:.3f} on this machine however the work overlaps"
    )
    if profile:
        print()
        print(profile)
    path = write_result(
        "delivery",
        {
            "emails_per_run": args.due,
            "runs": args.runs,
            "warm_up_parcels": args.warm if args.warm is not None else args.due,
            "server_offers_pipelining": not args.no_pipelining,
            "sweep": sweeps,
            "plain_smtplib": plains,
            "median_sweep_per_second": sweep_rate,
            "median_plain_per_second": plain_rate,
            "ratio": ratio,
            "cpu_bound_per_second": bound_rate,
            "cpu_bound_ratio": bound_rate / plain_rate,
            "message_bytes": {"sweep": sample.size, "plain": plain_size},
            "target_min": TARGET_RATIO,
            "passed": ratio >= TARGET_RATIO,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
