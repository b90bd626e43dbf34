"""Mailbox sync cost (H3): a sync costs what is new, not the size of the mailbox.

    uv run python -m bench.mailbox_sync [--sizes 500 5000] [--new 20]

For each size N, a real dovecot (``infrastructure/local/imapserver.py``) holds N messages in INBOX
and Sent, one in five to or from 20 clients. Measured, each through the deployed SQS handler
(``sync_mailbox``) on the real local stack: the first sync (everything is new), an idle sync
(nothing new), and a sync after ``--new`` messages arrived (one in five with clients). Counted:
seconds, IMAP commands, DynamoDB requests, records logged.

Target: the idle and the "new" syncs cost the same at every size (ratio largest/smallest ≈ 1).
"""

from __future__ import annotations

import argparse
import contextlib
import imaplib
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from bench._stack import AwsMeter, local_stack, make_company, table, write_result

USER, PASSWORD = "ana@estudio.example", "clave-de-ana"
CLIENTS = 20


def _message(n: int, with_client: bool, sent: bool) -> bytes:
    message = EmailMessage()
    other = f"cliente{n % CLIENTS}@clientes.example" if with_client else f"news{n}@boletines.example"
    message["From"] = USER if sent else other
    message["To"] = other if sent else USER
    message["Subject"] = f"Mensaje {n} – año fiscal"
    message["Message-ID"] = make_msgid(domain="bench.example")
    message.set_content(f"Texto del mensaje {n}.\n" * 20)
    return message.as_bytes()


def _fill(server: Any, start: int, count: int) -> None:
    inbox = [_message(n, n % 10 == 0, False) for n in range(start, start + count, 2)]
    sent = [_message(n, n % 10 == 1, True) for n in range(start + 1, start + count, 2)]
    server.append(USER, "INBOX", inbox)
    server.append(USER, "Sent", sent)


@contextlib.contextmanager
def _imap_commands() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    original = getattr(imaplib.IMAP4, "_command")  # noqa: B009 - private, counted below

    def counted(self: Any, name: str, *args: Any) -> Any:
        counts[name] += 1
        return original(self, name, *args)

    setattr(imaplib.IMAP4, "_command", counted)  # noqa: B010
    try:
        yield counts
    finally:
        setattr(imaplib.IMAP4, "_command", original)  # noqa: B010


def _sync(company_id: str, mailbox_id: str) -> dict[str, Any]:
    from app import app
    from chalicelib.records.mailboxes.sync import request_syncs
    from infrastructure.local.queues import run_queues_until_empty

    meter = AwsMeter()
    with meter.active(), _imap_commands() as commands:
        started = time.perf_counter()
        request_syncs(company_id, [mailbox_id])
        answers = run_queues_until_empty(app)
        seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "logged": sum(int((a or {}).get("logged", 0)) for a in answers),
        "imap_commands": sum(commands.values()),
        "imap_by_command": dict(sorted(commands.items())),
        "dynamodb_requests": sum(meter.dynamodb_calls().values()),
        "dynamodb_by_operation": meter.dynamodb_calls(),
    }


def run_size(size: int, new: int) -> dict[str, Any]:
    from chalicelib.core.domain import Mailbox
    from chalicelib.records.mailboxes.accounts import add_mailbox, set_password
    from chalicelib.tenants.auth.principal import Principal
    from chalicelib.tenants.clients import save_client
    from infrastructure.local.imapserver import Dovecot

    with Dovecot({USER: PASSWORD}) as server:
        company_id = make_company(None, name=f"Estudio {size}")
        for n in range(CLIENTS):
            save_client(
                company_id,
                f"CLI-{n}",
                name=f"Cliente {n}",
                emails=[f"cliente{n}@clientes.example"],
                phones=[],
                contacts=[],
                message_switches={},
                preferred_agent=None,
                collection_agent=None,
            )
        _fill(server, 0, size)
        owner = Principal(company_id, "user", USER, level=3)
        mailbox: Mailbox = add_mailbox(
            owner, {"host": "127.0.0.1", "port": server.port, "encryption": "none", "username": USER}
        )
        set_password(owner, mailbox.mailbox_id, PASSWORD)  # queues the first sync
        first = _sync(company_id, mailbox.mailbox_id)
        idle = _sync(company_id, mailbox.mailbox_id)
        _fill(server, size, new)
        fresh = _sync(company_id, mailbox.mailbox_id)
    return {"size": size, "first": first, "idle": idle, "new": fresh}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    parser.add_argument("--new", type=int, default=20)
    args = parser.parse_args()
    with local_stack():
        runs = [run_size(size, args.new) for size in args.sizes]
    rows = [
        [
            r["size"],
            phase,
            r[phase]["logged"],
            r[phase]["seconds"],
            r[phase]["imap_commands"],
            r[phase]["dynamodb_requests"],
        ]
        for r in runs
        for phase in ("first", "idle", "new")
    ]
    print(table(["messages", "sync", "logged", "seconds", "IMAP commands", "DynamoDB requests"], rows))
    small, large = runs[0], runs[-1]
    ratios = {
        phase: {
            "dynamodb": large[phase]["dynamodb_requests"] / max(1, small[phase]["dynamodb_requests"]),
            "imap": large[phase]["imap_commands"] / max(1, small[phase]["imap_commands"]),
        }
        for phase in ("idle", "new")
    }
    print(f"largest/smallest mailbox, idle and new syncs: {ratios}")
    path = write_result("mailbox_sync", {"runs": runs, "ratios": ratios, "new": args.new})
    print(f"written to {path}")


if __name__ == "__main__":
    main()
