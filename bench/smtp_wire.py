"""SMTP over a link with a network's round-trip time: e-mails per second on one connection.

    uv run python -m bench.smtp_wire [--emails 200] [--rtt 0 10 40]

A company's SMTP server is rarely on Pregón's machine: it is its provider's relay (Gmail,
Microsoft 365, its ISP's Postfix, SES's SMTP endpoint), some milliseconds away. One SMTP message
is a chain of round trips, so on a real link their count, not the CPU, sets the speed of one
connection. This benchmark puts a relay in front of a MailCatcher (in its own process) that holds
every chunk for half the round-trip time in each direction, as a network would, and sends the
same composed e-mails over one connection three ways:

- a plain ``smtplib`` loop (``sendmail`` of the same bytes: MAIL, RCPT, DATA and the text, each
  waiting for its reply: four round trips);
- Pregón's SMTP channel (``chalicelib.channels.smtp.SmtpChannel``) to a server that does not offer
  PIPELINING (the same four);
- the same channel to a server that offers it (RFC 2920: MAIL, RCPT and DATA in one write, then
  the text: two round trips).

Messages are composed before the timed part (the outbox worker composes ahead of the wire on a
thread of its own); the timed part is connect, login, every send and QUIT, until the server
holds every message. Each row is the median of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._stack import (
    FROM_ADDRESS,
    SMTP_PASSWORD,
    SMTP_USER,
    MailServer,
    mail_server,
    median,
    table,
    write_result,
)
from infrastructure.local.tcp_relay import TcpRelay


@contextmanager
def delayed(server: MailServer, rtt_ms: float) -> Iterator[TcpRelay]:
    link = TcpRelay(server.port, one_way=rtt_ms / 2000)
    try:
        yield link
    finally:
        link.close()


def _messages(count: int) -> list[Any]:
    """``count`` tracking alerts as the outbox composes them (about 5 KB each)."""
    from chalicelib.channels.base import OutgoingChannelMessage

    paragraph = "Su envío CDS-{n} salió de nuestra sucursal de Córdoba y llega hoy entre las 14 y las 18 h. "
    return [
        OutgoingChannelMessage(
            to_address=f"cliente{n}@example.com",
            to_name="Ana García",
            subject=f"Su envío CDS-{n} está en camino",
            text=(paragraph * 12).format(n=n),
            html="<p>" + (paragraph * 24).format(n=n) + "</p>",
            message_id=f"<alert-{n}@cargasdelsur.example>",
        )
        for n in range(count)
    ]


def _channel(port: int) -> Any:
    from chalicelib.channels.smtp import SmtpChannel
    from chalicelib.core.domain import SenderAccount

    account = SenderAccount(
        company_id="bench",
        area="tracking",
        kind="smtp",
        display_name="Cargas del Sur Avisos",
        from_address=FROM_ADDRESS,
        enabled=True,
        updated_at=datetime.now(UTC),
        smtp_host="127.0.0.1",
        smtp_port=port,
        encryption="none",
        username=SMTP_USER,
    )
    return SmtpChannel(account, lambda: SMTP_PASSWORD)


def _timed(server: MailServer, count: int, send_all: Callable[[], None]) -> float:
    before = server.count()
    started = time.perf_counter()
    send_all()
    caught = server.wait_for(before + count, timeout=600, poll=0.05) - before
    assert caught == count, caught
    return count / (time.perf_counter() - started)


def _plain(link: TcpRelay, wires: list[Any]) -> Callable[[], None]:
    def send_all() -> None:
        smtp = smtplib.SMTP("127.0.0.1", link.port, timeout=60)
        smtp.login(SMTP_USER, SMTP_PASSWORD)
        for wire in wires:
            smtp.sendmail(wire.envelope_from, list(wire.recipients), wire.data)
        smtp.quit()

    return send_all


def _pregon(link: TcpRelay, prepared: list[Any]) -> Callable[[], None]:
    def send_all() -> None:
        channel = _channel(link.port)
        for message in prepared:
            channel.send(message)
        channel.close()

    return send_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--emails", type=int, default=200)
    parser.add_argument("--rtt", type=float, nargs="+", default=[0.0, 10.0, 40.0], help="round trips, ms")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["PREGON_ALLOW_LOOPBACK_DESTINATIONS"] = "1"  # the relay is on this machine

    prepared = [_channel(25).prepare(m) for m in _messages(args.emails)]
    wires = [m.wire for m in prepared]
    rows: list[list[object]] = []
    results: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="pregon-bench-") as tmp,
        mail_server(Path(tmp) / "pipelining") as offers,
        mail_server(Path(tmp) / "plain", pipelining=False) as lacks,
    ):
        for rtt in args.rtt:
            plain, without, with_ = [], [], []
            for _ in range(args.runs):
                with delayed(lacks, rtt) as link:
                    plain.append(_timed(lacks, args.emails, _plain(link, wires)))
                with delayed(lacks, rtt) as link:
                    without.append(_timed(lacks, args.emails, _pregon(link, prepared)))
                with delayed(offers, rtt) as link:
                    with_.append(_timed(offers, args.emails, _pregon(link, prepared)))
            row = {
                "rtt_ms": rtt,
                "plain_smtplib": median(plain),
                "pregon_without_pipelining": median(without),
                "pregon_with_pipelining": median(with_),
                "runs": {"plain_smtplib": plain, "without": without, "with": with_},
            }
            results.append(row)
            rows.append(
                [
                    f"{rtt:g} ms",
                    row["plain_smtplib"],
                    row["pregon_without_pipelining"],
                    row["pregon_with_pipelining"],
                    row["pregon_with_pipelining"] / row["plain_smtplib"],
                ]
            )
            print(f"rtt {rtt:g} ms: {row}", flush=True)
    print()
    size = len(wires[0].data)
    print(f"SMTP over one connection, {args.emails} e-mails of {size:,} bytes, median of {args.runs}")
    print(
        table(
            [
                "round trip",
                "plain smtplib e-mails/s",
                "Pregón, server without PIPELINING",
                "Pregón, server with PIPELINING",
                "with ÷ plain",
            ],
            rows,
        )
    )
    path = write_result("smtp_wire", {"emails": args.emails, "bytes": len(wires[0].data), "rows": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
