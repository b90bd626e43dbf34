"""The operator command (O1, O2): onboard companies and manage their API keys, against the local
stack (default) or, with AWS credentials, a deployed stage. It calls the same use cases as the
operator API (``chalicelib/tenants/companies.py``), so both check and log alike.

    uv run python -m infrastructure.ops company create acme --name "Acme Cargas" \\
        --time-zone America/Argentina/Buenos_Aires --country AR
    uv run python -m infrastructure.ops company list
    uv run python -m infrastructure.ops company index-listing   # companies stored before the listing
    uv run python -m infrastructure.ops company allowance acme --sms-per-day 2000   # SMS a day on our SNS
    uv run python -m infrastructure.ops company allowance acme --emails-per-day 20000   # e-mails on our SES
    uv run python -m infrastructure.ops company allowance acme --resume-emails   # paused for bounces
    uv run python -m infrastructure.ops company close acme      # a company leaves: suspended at once
    uv run python -m infrastructure.ops company reopen acme     # undone, before its deletion
    uv run python -m infrastructure.ops company export acme --to ./acme-export   # its data, to hand over
    uv run python -m infrastructure.ops company delete acme --confirm acme       # all of it, once closed
    uv run python -m infrastructure.ops key issue acme --name "back office" --scope parcels:write
    uv run python -m infrastructure.ops key list acme
    uv run python -m infrastructure.ops key rotate acme <key id> --overlap-minutes 1440
    uv run python -m infrastructure.ops key revoke acme <key id>
    uv run python -m infrastructure.ops sms sender-ids --not-in-use   # chosen but not assigned
    uv run python -m infrastructure.ops sms assign-sender-ids acme AcmeCargas
    uv run python -m infrastructure.ops sms numbers --shared   # two-way numbers two companies hold
    uv run python -m infrastructure.ops sms assign-numbers acme +5491140001234
    uv run python -m infrastructure.ops clients index-search acme   # clients stored before search
    uv run python -m infrastructure.ops clients count-agents acme   # clients stored before the agents' counts
    uv run python -m infrastructure.ops domains index-registered   # domains stored before the check's index
    uv run python -m infrastructure.ops dead-letters list   # each dead-letter queue and its messages
    uv run python -m infrastructure.ops dead-letters show pregon-outbox-dead
    uv run python -m infrastructure.ops dead-letters redrive pregon-outbox-dead   # back to pregon-outbox
    uv run python -m infrastructure.ops token          # the local operator token for /operator/...

Targets: ``--target local`` (the running local stack's DynamoDB and moto, as ``stack env`` prints:
on the ports it was started with, read from ``.local/ports.json``, unless ``--dynamodb-port`` or
``--moto-port`` name others),
``--target aws --stage prod`` (the stage's table prefix from .chalice/config.json; credentials and
region from the usual AWS variables or profile), ``--target env`` (the environment as it is).
docs/operations.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from chalicelib.core.domain import API_KEY_SCOPES
from chalicelib.core.errors import PregonError
from infrastructure.dead_letters import Refused


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infrastructure.ops", description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=("local", "aws", "env"), default="local")
    parser.add_argument("--stage", default="prod", help="with --target aws: the stage (default prod)")
    parser.add_argument("--local-dir", type=Path, default=None, help="the local stack's folder (.local)")
    parser.add_argument("--dynamodb-port", type=int, help="default: the running local stack's, else 8001")
    parser.add_argument("--moto-port", type=int, help="default: the running local stack's, else 5001")
    parser.add_argument("--json", action="store_true", help="answer in JSON, as the operator API does")
    commands = parser.add_subparsers(dest="command", required=True)

    company = commands.add_parser("company", help="create or list companies").add_subparsers(
        dest="action", required=True
    )
    create = company.add_parser("create", help="create a company with the default catalog and alerts")
    create.add_argument("company_id")
    create.add_argument("--name", required=True)
    create.add_argument("--language", choices=("es", "en"), default="es")
    create.add_argument("--country", default="AR", help="ISO 3166 two letters (default AR)")
    create.add_argument("--time-zone", default="UTC", help="IANA zone, e.g. America/Mexico_City")
    create.add_argument("--locale", default=None, help="Babel locale (default: language_COUNTRY)")
    create.add_argument("--ask-tracking-contacts", action="store_true")
    listing = company.add_parser("list", help="companies in id order")
    listing.add_argument("--after", default=None)
    listing.add_argument("--limit", type=int, default=100)
    allowance = company.add_parser(
        "allowance",
        help="SMS a day the company may send through Pregón's SNS, e-mails through its SES (shown; or set)",
    )
    allowance.add_argument("company_id")
    setting = allowance.add_mutually_exclusive_group()
    setting.add_argument("--sms-per-day", type=int, default=None, help="the new allowance (0: none)")
    setting.add_argument("--default", action="store_true", help="back to PREGON_SMS_ALLOWANCE_PER_DAY")
    emails = allowance.add_mutually_exclusive_group()
    emails.add_argument("--emails-per-day", type=int, default=None, help="the new e-mail allowance (0: none)")
    emails.add_argument(
        "--emails-default", action="store_true", help="back to PREGON_EMAIL_ALLOWANCE_PER_DAY"
    )
    allowance.add_argument(
        "--resume-emails",
        action="store_true",
        help="resume its e-mails through our SES, paused for too many bounces or complaints",
    )
    close = company.add_parser(
        "close", help="a company leaves: suspend it at once (refused callers, nothing sent, pages 410)"
    )
    close.add_argument("company_id")
    reopen = company.add_parser("reopen", help="undo a suspension (before the deletion)")
    reopen.add_argument("company_id")
    export = company.add_parser("export", help="everything the company owns, to hand over (resumable)")
    export.add_argument("company_id")
    export.add_argument("--to", type=Path, required=True, dest="folder", help="the bundle's folder")
    delete = company.add_parser("delete", help="delete everything a suspended company owns (resumable)")
    delete.add_argument("company_id")
    delete.add_argument("--confirm", required=True, help="the company's id again")
    delete.add_argument(
        "--user-pool-id", default=None, help="the Cognito user pool whose users of the company go too"
    )
    company.add_parser(
        "index-listing",
        help="once after an upgrade: list the companies stored before the companies' listing index",
    )

    key = commands.add_parser("key", help="issue, list, revoke or rotate API keys").add_subparsers(
        dest="action", required=True
    )
    issue = key.add_parser("issue", help="a new key with scopes (the whole key is printed once)")
    issue.add_argument("company_id")
    issue.add_argument("--name", required=True)
    issue.add_argument("--scope", action="append", choices=API_KEY_SCOPES, required=True, dest="scopes")
    key_list = key.add_parser("list", help="prefix, scopes, created, last used, state")
    key_list.add_argument("company_id")
    revoke = key.add_parser("revoke", help="refused from the next call (AWS: within 300 s)")
    revoke.add_argument("company_id")
    revoke.add_argument("key_id")
    rotate = key.add_parser("rotate", help="a new key; the old secret works until the overlap ends")
    rotate.add_argument("company_id")
    rotate.add_argument("key_id")
    rotate.add_argument("--overlap-minutes", type=int, default=1440)

    sms = commands.add_parser("sms", help="review and assign SMS sender IDs and numbers").add_subparsers(
        dest="action", required=True
    )
    review = sms.add_parser("sender-ids", help="each company's chosen sender ID and the ones assigned to it")
    review.add_argument("--not-in-use", action="store_true", help="only those SMS go out without")
    give = sms.add_parser("assign-sender-ids", help="the sender IDs a company may use (replacing its own)")
    give.add_argument("company_id")
    give.add_argument("sender_ids", nargs="*", help="none: take them all back")
    numbers = sms.add_parser("numbers", help="each two-way SMS number and the companies holding it")
    numbers.add_argument("--shared", action="store_true", help="only those two companies hold")
    give_numbers = sms.add_parser("assign-numbers", help="a company's two-way numbers (replacing its own)")
    give_numbers.add_argument("company_id")
    give_numbers.add_argument("numbers", nargs="*", help="E.164 or local; none: take them back")

    commands.add_parser(
        "erasure-keys",
        help="once after an upgrade: key the items stored before the erasure's indexes by client",
    )

    clients = commands.add_parser("clients", help="maintain the clients' indexes").add_subparsers(
        dest="action", required=True
    )
    index_search = clients.add_parser(
        "index-search", help="give clients stored before search its items (GET /clients?q=); safe to rerun"
    )
    index_search.add_argument("company_ids", nargs="*", help="none: every company")
    count_agents = clients.add_parser(
        "count-agents",
        help="once after an upgrade: count clients stored before the counts under their preferred "
        "agent (GET /preferred-agents); safe to rerun",
    )
    count_agents.add_argument("company_ids", nargs="*", help="none: every company")

    domains = commands.add_parser("domains", help="maintain the sending domains' index").add_subparsers(
        dest="action", required=True
    )
    domains.add_parser(
        "index-registered",
        help="once after an upgrade: the sending domains stored before the hourly check's index join it",
    )

    identity = commands.add_parser(
        "identity", help="check the Cognito user pool that signs staff in"
    ).add_subparsers(dest="action", required=True)
    check = identity.add_parser(
        "check", help="whether a signed-in user can change their own company, level, branch or department"
    )
    check.add_argument("user_pool_id")
    check.add_argument("client_id", help="the console's app client (PREGON_COGNITO_CLIENT_ID)")

    dead = commands.add_parser(
        "dead-letters", help="what waits in the dead-letter queues; move it back (docs/operations.md)"
    ).add_subparsers(dest="action", required=True)
    dead.add_parser("list", help="each dead-letter queue, its messages and where a redrive moves them")
    dead_show = dead.add_parser("show", help="a dead-letter queue's messages, left where they are")
    dead_show.add_argument("queue", help="e.g. pregon-outbox-dead")
    dead_show.add_argument("--limit", type=int, default=10)
    dead_redrive = dead.add_parser("redrive", help="move a dead-letter queue's messages back to their queue")
    dead_redrive.add_argument("queue", help="e.g. pregon-outbox-dead")
    parser.add_argument(
        "--stack", default=None, help="with --target aws: the CloudFormation stack (default pregon-<stage>)"
    )
    token = commands.add_parser("token", help="the local stack's operator token (or --new: a token + hash)")
    token.add_argument("--new", action="store_true", help="make a token for a deployed stage")
    return parser


def use_target(args: argparse.Namespace) -> None:
    """Point the AWS SDK and Pregón's settings at the chosen stack."""
    env: dict[str, str] = {}
    if args.target == "local":
        from infrastructure.local.stack import (
            LOCAL_DIR,
            LocalPaths,
            running_ports,
            service_environment,
            with_flags,
        )

        paths = LocalPaths(
            (args.local_dir or Path(os.environ.get("PREGON_LOCAL_DIR") or LOCAL_DIR)).resolve()
        )
        # the ports the running stack wrote (its public URL too), those the flags name in their place
        ports = with_flags(running_ports(paths), dynamodb=args.dynamodb_port, moto=args.moto_port)
        env = service_environment(
            paths,
            ports,
            dynamodb_endpoint=f"http://127.0.0.1:{ports.dynamodb}",
            moto_endpoint=f"http://127.0.0.1:{ports.moto}",
        )
    elif args.target == "aws":
        from infrastructure.local.stack import chalice_stage_environment

        stage = chalice_stage_environment(args.stage)
        if "PREGON_TABLE_PREFIX" not in stage:
            raise SystemExit(f"stage {args.stage!r} has no PREGON_TABLE_PREFIX in .chalice/config.json")
        env = {"PREGON_STAGE": args.stage, "PREGON_TABLE_PREFIX": stage["PREGON_TABLE_PREFIX"]}
        # The AWS SDK for Python reads AWS_DEFAULT_REGION, not AWS_REGION (what the AWS CLI v2 and
        # Lambda set, and what an operator types): without this every client, PynamoDB's too,
        # failed with "You must specify a region".
        region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        if region:
            env["AWS_DEFAULT_REGION"] = region
    os.environ.update(env)
    from infrastructure.local.aws_env import reset_process_caches

    reset_process_caches()
    if args.target == "aws":
        from chalicelib.core.aws import botocore_session

        if not botocore_session().get_config_variable("region"):
            raise SystemExit(
                "--target aws: no AWS region: set AWS_REGION=... (or AWS_PROFILE=... with a region)"
            )


def _who() -> str:
    return f"cli:{getpass.getuser()}"


def run(args: argparse.Namespace) -> Any:
    """Do what the command asks; returns the JSON-ready answer (the operator API's shapes)."""
    from chalicelib.api.operators import company_out, key_out
    from chalicelib.tenants import companies

    if args.command == "company" and args.action == "create":
        created = companies.create_company(
            args.company_id,
            args.name,
            args.language,
            country=args.country,
            time_zone=args.time_zone,
            locale=args.locale,
            ask_tracking_contacts=args.ask_tracking_contacts,
            by=_who(),
        )
        return company_out(companies.get_company(args.company_id)) | {"created": created}
    if args.command == "company" and args.action == "allowance":
        from chalicelib.messaging.accounts.sms import allowance_of, set_allowances

        given: dict[str, int | None] = {}
        if args.default or args.sms_per_day is not None:
            given["sms_per_day"] = None if args.default else args.sms_per_day
        if args.emails_default or args.emails_per_day is not None:
            given["emails_per_day"] = None if args.emails_default else args.emails_per_day
        set_allowances(args.company_id, given, by=_who())
        if args.resume_emails:
            from chalicelib.messaging.accounts.email_reputation import resume_emails

            resume_emails(args.company_id, by=_who())
        return allowance_of(args.company_id)
    if args.command == "company" and args.action == "index-listing":
        return {"listed": companies.index_listing()}
    if args.command == "company" and args.action in ("close", "reopen", "export", "delete"):
        return _leaving(args)
    if args.command == "company":
        items, after = companies.list_companies(args.after, args.limit)
        return {"items": [company_out(c) for c in items], "next_cursor": after}
    if args.command == "sms":
        return _sms(args)
    if args.command == "erasure-keys":
        from chalicelib.records.erasure import backfill_erasure_keys

        return {"keyed": backfill_erasure_keys()}
    if args.command == "clients" and args.action == "count-agents":
        return _count_agents(args.company_ids)
    if args.command == "clients":
        return _index_search(args.company_ids)
    if args.command == "identity":
        from infrastructure.identity_check import writable_trusted_attributes

        return {"writable_by_users": writable_trusted_attributes(args.user_pool_id, args.client_id)}
    if args.command == "dead-letters":
        return _dead_letters(args)
    if args.command == "domains":
        from chalicelib.messaging.accounts.domain_checks import index_registered_domains

        return {"indexed": index_registered_domains()}
    if args.action == "issue":
        from chalicelib.tenants.auth.api_keys import key_id_of

        plaintext = companies.issue_api_key(args.company_id, args.name, args.scopes, by=_who())
        return key_out(companies.own_api_key(args.company_id, key_id_of(plaintext))) | {"api_key": plaintext}
    if args.action == "list":
        return {"items": [key_out(k) for k in companies.list_api_keys(args.company_id)]}
    if args.action == "revoke":
        return key_out(companies.revoke_api_key(args.company_id, args.key_id, by=_who()))
    overlap = timedelta(minutes=args.overlap_minutes)
    plaintext, new, ends = companies.rotate_api_key(args.company_id, args.key_id, overlap, by=_who())
    return key_out(new) | {"api_key": plaintext, "old_key_id": args.key_id, "old_key_stops_at": ends}


def _leaving(args: argparse.Namespace) -> dict[str, Any]:
    """A company leaves (docs/operations.md, "A company leaves")."""
    from chalicelib.api.operators import _service_out
    from chalicelib.records import leaving

    if args.action == "close":
        return _service_out(leaving.close_company(args.company_id, by=_who()))
    if args.action == "reopen":
        return _service_out(leaving.reopen_company(args.company_id, by=_who()))
    if args.action == "export":
        return leaving.export_company(args.company_id, args.folder.resolve())
    return leaving.delete_company(args.company_id, args.confirm, by=_who(), user_pool_id=args.user_pool_id)


def _leaving_text(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    if args.action == "export":
        held = {kind: n for kind, n in sorted(answer["counts"].items()) if n}
        counts = "\n".join(f"  {kind:<22} {n}" for kind, n in held.items())
        empty = len(answer["counts"]) - len(held)
        return (
            f"{answer['company_id']} exported to {answer['folder']} (README.txt says what is in it):\n"
            f"{counts}\n  ({empty} more tables hold nothing of it: each an empty file)"
        )
    if args.action == "delete":
        counts = "\n".join(f"  {kind:<22} {n}" for kind, n in sorted(answer["deleted"].items()))
        left = "\n".join(f"  {table}: {why}" for table, why in answer.get("not_reached", {}).items())
        return f"{answer['company_id']} deleted; items and files deleted:\n{counts}\nnot reached:\n{left}"
    if answer["in_service"]:
        return f"{answer['company_id']} is in service"
    return (
        f"{answer['company_id']} is suspended since {answer['suspended_at']:%Y-%m-%d %H:%M} UTC "
        f"(inbound dropped: {answer['inbound_dropped']})"
    )


def _dead_letters(args: argparse.Namespace) -> dict[str, Any]:
    from infrastructure import dead_letters

    stack = args.stack or f"pregon-{args.stage}"
    if args.action == "list":
        return dead_letters.waiting(args.target, stack)
    if args.action == "show":
        return dead_letters.show(args.queue, args.limit, args.target, stack)
    return dead_letters.redrive(args.queue, args.target, stack)


def _every_company() -> list[str]:
    """Every company's id, a page at a time (a Query of the listing index, never a Scan)."""
    from chalicelib.tenants import companies

    company_ids: list[str] = []
    after: str | None = None
    while True:
        page, after = companies.list_companies(after, 100)
        company_ids += [c.company_id for c in page]
        if after is None:
            return company_ids


def _index_search(company_ids: list[str]) -> dict[str, Any]:
    """The search backfill (docs/decisions/0020-finding-a-client.md): each company's clients,
    a Query of its partition; writing a client's items again changes nothing."""
    from chalicelib.tenants import clients, companies

    items = []
    for company_id in company_ids or _every_company():
        companies.get_company(company_id)  # an unknown company is refused (404), not indexed as empty
        items.append({"company_id": company_id, "clients": clients.index_search(company_id)})
    return {"items": items}


def _count_agents(company_ids: list[str]) -> dict[str, Any]:
    """The preferred agents' counts backfill (docs/decisions/0007-notes-and-staff.md): each
    company's clients not counted yet, a Query of its partition; run again, it counts none."""
    from chalicelib.tenants import companies
    from chalicelib.tenants.staff_agents import count_clients

    items = []
    for company_id in company_ids or _every_company():
        companies.get_company(company_id)  # an unknown company is refused (404), not marked counted
        items.append({"company_id": company_id, "clients": count_clients(company_id)})
    return {"items": items}


def _sms(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.messaging.accounts import sms

    if args.action == "assign-sender-ids":
        sender_ids = sms.assign_sender_ids(args.company_id, list(args.sender_ids), by=_who())
        return {"company_id": args.company_id, "sender_ids": sender_ids}
    if args.action == "assign-numbers":
        numbers = sms.assign_inbound_numbers(args.company_id, list(args.numbers))
        return {"company_id": args.company_id, "numbers": numbers}
    company_ids = _every_company()
    if args.action == "numbers":
        return {"items": [i for i in sms.number_review(company_ids) if i["shared"] or not args.shared]}
    items = sms.sender_id_review(company_ids)
    return {"items": [i for i in items if not (args.not_in_use and i["in_use"])]}


def _text(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    """What a person reads in a terminal."""

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"

    if args.command == "company" and args.action == "index-listing":
        return f"{answer['listed']} companies added to the listing"
    if args.command == "company" and args.action in ("close", "reopen", "export", "delete"):
        return _leaving_text(args, answer)
    if args.command == "identity":
        writable = answer["writable_by_users"]
        if not writable:
            return "OK: a signed-in user can change none of the attributes Pregón trusts."
        return (
            f"UNSAFE: a signed-in user can change their own {', '.join(writable)}: give the app client "
            "write attributes without them (update-user-pool-client --write-attributes email name)."
        )
    if args.command == "company":
        rows = answer["items"] if args.action == "list" else [answer]
        lines = [
            f"{c['company_id']:<20} {c['name']:<28} {c['language']} {c['country']} {c['time_zone']:<32} "
            f"{c['locale']:<6} created {when(c['created_at'])}"
            for c in rows
        ]
        if args.action == "create" and not answer["created"]:
            lines.append("(the company existed already; nothing was changed)")
        if args.action == "list" and answer["next_cursor"]:
            lines.append(f"more: --after {answer['next_cursor']}")
        return "\n".join(lines) or "(no companies)"
    if args.command == "erasure-keys":
        return "keyed: " + ", ".join(f"{table} {n}" for table, n in answer["keyed"].items())
    if args.command == "domains":
        return f"{answer['indexed']} sending domains indexed for the hourly check"
    if args.command == "dead-letters":
        return _dead_letters_text(args, answer)
    if args.command == "clients":
        done = (
            "counted under their preferred agent" if args.action == "count-agents" else "indexed for search"
        )
        lines = [f"{i['company_id']:<20} {i['clients']} clients {done}" for i in answer["items"]]
        return "\n".join(lines) or "(no companies)"
    if args.command == "sms" and args.action == "assign-sender-ids":
        return f"{answer['company_id']}: {' '.join(answer['sender_ids']) or '(no sender IDs)'}"
    if args.command == "sms" and args.action == "assign-numbers":
        return f"{answer['company_id']}: {' '.join(answer['numbers']) or '(no numbers)'}"
    if args.command == "sms" and args.action == "numbers":
        lines = [
            f"{i['number']:<16} {' '.join(i['companies']):<30} "
            + ("SHARED: take it back from all but one" if i["shared"] else "")
            + f"  (claimed by: {i['claimed_by'] or 'none'}; receiving: {' '.join(i['receiving']) or 'none'})"
            for i in answer["items"]
        ]
        empty = "(no number is held by two companies)" if args.shared else "(no two-way numbers)"
        return "\n".join(lines) or empty
    if args.command == "sms":
        lines = [
            f"{i['company_id']:<20} {i['sender_id']:<12} "
            + ("in use" if i["in_use"] else "NOT ASSIGNED: its SMS go out without it")
            + f"  (assigned: {' '.join(i['assigned_sender_ids']) or 'none'})"
            for i in answer["items"]
        ]
        return "\n".join(lines) or "(no company chose a sender ID)"
    rows = answer["items"] if args.action == "list" else [answer]
    lines = [
        f"{k['prefix']:<22} {k['state']:<9} {','.join(k['scopes']):<40} created {when(k['created_at'])}  "
        f"last used {when(k['last_used_at'])}"
        + (f"  stops {when(k['expires_at'])}" if k["expires_at"] else "")
        + f"  ({k['name']})"
        for k in rows
    ]
    if "api_key" in answer:
        lines += [
            "",
            "The whole key, shown this once (send as  Authorization: ApiKey <key>):",
            answer["api_key"],
        ]
    if "old_key_stops_at" in answer:
        lines.append(f"The old key {answer['old_key_id']} works until {when(answer['old_key_stops_at'])}.")
    return "\n".join(lines) or "(no keys)"


def _dead_letters_text(args: argparse.Namespace, answer: dict[str, Any]) -> str:
    if args.action == "redrive" and "invoked" in answer:
        return (
            f"{answer['invoked']} events invoked again, "
            f"{answer['schedule_runs_dropped']} schedule runs dropped (their next run does their work), "
            f"{answer['not_understood']} not understood (left in {answer['queue']})"
        )
    if args.action == "redrive":
        return f"{answer['moved']} messages moved from {answer['queue']} back to {answer['redrive_to']}"
    if args.action == "list":
        return "\n".join(
            f"{i['queue']:<32} "
            + ("(no such queue)" if i["messages"] is None else f"{i['messages']:>6} messages")
            + (f"  redrive: back to {i['redrive_to']}" if i["redrive_to"] else "  redrive: invoked again")
            for i in answer["items"]
        )
    lines = []
    for m in answer["items"]:
        sent = m["sent_at"].strftime("%Y-%m-%d %H:%M:%S UTC") if m["sent_at"] else "-"
        attributes = "".join(f"  {k}={v}" for k, v in sorted(m["attributes"].items()))
        lines += [
            f"{m['message_id']}  sent {sent}  received {m['receive_count']} times{attributes}",
            m["body"],
            "",
        ]
    return "\n".join(lines).strip() or f"({answer['queue']} is empty)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "token":
        return _token(args)
    use_target(args)
    restore = _logs_to_stderr()
    try:
        answer = run(args)
    except (PregonError, Refused) as exc:
        print(f"refused ({exc.status}): {exc.message}", file=sys.stderr)
        return 2
    finally:
        restore()
    if args.json:
        from chalicelib.api.http import plain

        print(json.dumps(plain(answer), ensure_ascii=False, indent=2))
    else:
        print(_text(args, answer))
    return 1 if args.command == "identity" and answer["writable_by_users"] else 0


def _logs_to_stderr() -> Any:
    """The use cases log every operation (JSON lines); while the command runs they go to stderr,
    so the answer on stdout stays readable and parseable (``--json``). Returns what undoes it."""
    import logging

    from chalicelib.core.observability import logger

    logger()  # Powertools builds its handler on first use
    handlers = [h for h in logging.getLogger("pregon").handlers if isinstance(h, logging.StreamHandler)]
    before = [_swap_stream(h, sys.stderr) for h in handlers]

    def restore() -> None:
        for handler, stream in zip(handlers, before, strict=True):
            _swap_stream(handler, stream)

    return restore


def _swap_stream(handler: Any, stream: Any) -> Any:
    """Point ``handler`` at ``stream`` and return the one it had. Not ``setStream``: that flushes
    the old stream, which may be closed by now (a test's captured output the handler was built
    on); a StreamHandler flushes after every record, so nothing waits in it."""
    old = handler.stream
    handler.stream = stream
    return old


def _token(args: argparse.Namespace) -> int:
    if args.new:
        from chalicelib.tenants.auth.operators import new_operator_token

        token, digest = new_operator_token()
        print(f"token (keep it in your password manager): {token}")
        print(f"PREGON_OPERATOR_TOKEN_SHA256={digest}")
        return 0
    from infrastructure.local.stack import LOCAL_DIR, LocalPaths
    from infrastructure.ops_credentials import local_operator_token

    paths = LocalPaths((args.local_dir or Path(os.environ.get("PREGON_LOCAL_DIR") or LOCAL_DIR)).resolve())
    print(local_operator_token(paths.operator_token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
