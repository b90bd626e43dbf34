"""Start a manual send job against the local stack and watch its progress until it is done (C8).

    uv run python -m infrastructure.local.sendjob --template invoice --clients all
    uv run python -m infrastructure.local.sendjob --template custom:aviso --clients C1,C2 --var aviso='corte'
    uv run python -m infrastructure.local.sendjob --template invoice --clients all --seed-clients 50

It talks to the API of ``infrastructure/local/run.sh`` (``--api``, default the running stack's, on
the port it was started with, read from ``.local/ports.json``; else http://127.0.0.1:8000)
as a staff user of the demo company (a JWT minted with the stack's local key, or ``--token``).
A message type's own variables (``invoice.number``, ...) default to its sample data; ``--var
name=value`` sets one (dotted names nest). ``--seed-clients N`` first registers N demo clients
with the demo API key, so a fresh stack has someone to send to.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

import requests


def _variables(template: str, pairs: Sequence[str]) -> dict[str, Any]:
    from chalicelib.messaging.templates import MESSAGE_TYPES

    kind = MESSAGE_TYPES.get(template)
    data: dict[str, Any] = kind.sample_send_variables() if kind else {}
    data.pop("company", None)
    data.pop("attachments", None)  # a manual send attaches nothing; its invoice text says so
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--var wants name=value, got {pair!r}")
        node = data
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return data


def _paths() -> Any:
    """The stack's state folder, as ``stack`` finds it (``.local`` or ``$PREGON_LOCAL_DIR``)."""
    import os
    from pathlib import Path

    from infrastructure.local.stack import LOCAL_DIR, LocalPaths

    return LocalPaths(Path(os.environ.get("PREGON_LOCAL_DIR") or LOCAL_DIR))


def _api(given: str | None) -> str:
    """The API to talk to: ``--api``, else the running stack's (the port it was started with)."""
    from infrastructure.local.stack import running_ports

    return (given or f"http://127.0.0.1:{running_ports(_paths()).api}").rstrip("/")


def _staff_token(company: str, user: str) -> str:
    from infrastructure.local.identity import LocalIdentity

    return LocalIdentity(_paths().jwt_key).mint(company, user_id=user, level=3)


def _demo_api_key() -> str:
    return str(json.loads(_paths().demo_credentials.read_text())["api_key"])


def seed_clients(api: str, count: int) -> None:
    headers = {"Authorization": f"ApiKey {_demo_api_key()}", "Content-Type": "application/json"}
    for n in range(1, count + 1):
        client_id = f"DEMO-C{n:04d}"
        client = {"name": f"Cliente demo {n}", "emails": [f"cliente{n:04d}@demo.example"]}
        answer = requests.put(f"{api}/clients/{client_id}", headers=headers, json=client, timeout=30)
        answer.raise_for_status()
    print(f"registered {count} demo clients (DEMO-C0001 ...)")


def _selection(args: argparse.Namespace) -> dict[str, Any]:
    filters = {
        k: v
        for k, v in (
            ("switch", args.switch),
            ("preferred_agent", args.preferred_agent),
            ("collection_agent", args.collection_agent),
        )
        if v
    }
    if args.clients == "all" or filters:
        return {"filter": filters}
    return {"client_ids": [c.strip() for c in args.clients.split(",") if c.strip()]}


def _line(job: dict[str, Any]) -> str:
    return (
        f"{job['state']:<9}  total {job['total']:>5}  sent {job['sent']:>5}  failed {job['failed']:>4}  "
        f"skipped {job['skipped']:>4}  waiting {job['waiting']:>5}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--template", required=True, help="a message type (invoice, ...) or custom:<slug>")
    parser.add_argument("--clients", default="all", help="'all' (a filter) or comma-separated client ids")
    parser.add_argument("--channel", default="email", choices=("email", "sms", "push"))
    parser.add_argument("--switch", help="filter: only clients with this message switch on")
    parser.add_argument("--preferred-agent", help="filter: only this sales agent's clients")
    parser.add_argument("--collection-agent", help="filter: only this collection agent's clients")
    parser.add_argument("--var", action="append", default=[], help="a template variable, name=value")
    parser.add_argument("--bulk-password", help="the company's bulk-send password (SMS to many)")
    parser.add_argument("--request-id", help="makes a retried start answer the same job")
    parser.add_argument("--seed-clients", type=int, default=0, help="first register N demo clients")
    parser.add_argument("--api", help="the API (default: the running stack's, else http://127.0.0.1:8000)")
    parser.add_argument("--company", default="demo")
    parser.add_argument("--user", default="sender@demo")
    parser.add_argument("--token", help="a staff JWT (default: one minted with the local stack's key)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between progress reads")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    api = _api(args.api)

    if args.seed_clients:
        seed_clients(api, args.seed_clients)
    headers = {
        "Authorization": f"Bearer {args.token or _staff_token(args.company, args.user)}",
        "Content-Type": "application/json",
    }
    request: dict[str, Any] = {
        "channel": args.channel,
        "template": args.template,
        "variables": _variables(args.template, args.var),
        **_selection(args),
    }
    if args.bulk_password:
        request["bulk_password"] = args.bulk_password
    if args.request_id:
        request["request_id"] = args.request_id
    started = requests.post(f"{api}/sends", headers=headers, json=request, timeout=30)
    if started.status_code >= 400:
        print(f"refused ({started.status_code}): {started.text}", file=sys.stderr)
        return 1
    answer = started.json()
    if answer.get("job") is None:
        for message in answer.get("messages", []):
            print(f"sent to one client: {message['to_address']} ({message['state']})")
        return 0
    job = answer["job"]
    print(
        f"job {job['job_id']} started ({'new' if started.status_code == 201 else 'the same request again'})"
    )
    deadline = time.monotonic() + args.timeout
    last = ""
    while True:
        line = _line(job)
        if line != last:
            print(line, flush=True)
            last = line
        if job["state"] == "done":
            return 0
        if time.monotonic() > deadline:
            print("still not done; the job goes on (GET /sends/<job_id>)", file=sys.stderr)
            return 2
        time.sleep(args.interval)
        read = requests.get(f"{api}/sends/{job['job_id']}", headers=headers, timeout=30)
        read.raise_for_status()
        job = read.json()


if __name__ == "__main__":
    raise SystemExit(main())
