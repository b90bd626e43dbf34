"""A company leaves Pregón (GDPR art. 28(3)(g): at the end of the contract the processor deletes
or returns all personal data, at the company's choice; docs/operations.md "A company leaves",
docs/decisions/0033-a-company-leaves.md).

1. :func:`close_company` suspends it at once: its API keys and staff are refused (the
   authorizer), nothing more is sent (its outboxes wait), its public pages and links answer 410,
   inbound mail and SMS for it are dropped and counted. Nothing is deleted;
   :func:`reopen_company` undoes it.
2. :func:`export_company` writes everything it owns to a folder, JSON Lines per table and its
   files, secrets left out; paged, resumable, memory bounded.
3. :func:`delete_company`, only once suspended, deletes every item of it in every table, its S3
   objects, its staff's Cognito users, its sending domains' SES identities, and gives back its SMS
   numbers and sender IDs; resumable, it keeps the id as a tombstone and answers the counts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.core import clock
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.store import leaving as store

# What an export leaves out, as its README says.
LEFT_OUT = (
    "secrets: SMTP, IMAP, SMS gateway and bulk-send passwords, mailbox and webhook secrets, API keys'"
    " hashes (every attribute holding a password, secret, ciphertext or hash is left out); each client's"
    " portal key, the half of its portal links Pregón keeps (its register-lookups item is there without"
    " it); each tracking subscription's link_nonce, Pregón's secret of its unsubscribe and confirmation"
    " links",
    "Pregón's bookkeeping on the items: a message's packing (headers_from, body_z: its headers and body"
    " are given as sent), index keys, drain's lease, attempt count and idempotency key; elsewhere"
    " leases, marks of work pending or done, and index keys that only copy the item's own data ("
    + ", ".join(sorted({name for names in store.BOOKKEEPING.values() for name in names}))
    + ")",
    *store.NOT_EXPORTED.values(),
)


def _state(company_id: str) -> dict[str, Any]:
    state = store.leaving_state(company_id)
    if state is None:
        raise NotFound(f"company {company_id!r} does not exist")
    return state


def close_company(company_id: str, *, by: str) -> dict[str, Any]:
    """Suspend the company (again: the same). Refused for a company deleted already."""
    state = _state(company_id)
    if state["deleted_at"] is not None:
        raise Conflict(f"company {company_id!r} was deleted")
    if not store.set_suspension(company_id, state["suspended_at"] or clock.now()):
        raise Conflict(f"company {company_id!r} was deleted")
    logger().info("company suspended", extra={"company_id": company_id, "by": by})
    return _state(company_id)


def reopen_company(company_id: str, *, by: str) -> dict[str, Any]:
    """Undo a suspension; refused once the deletion started (its data is going)."""
    state = _state(company_id)
    if state["deleted_at"] is not None or state["deleted"]:
        raise Conflict(f"company {company_id!r} is being deleted or was deleted: it cannot be reopened")
    store.set_suspension(company_id, None)
    from chalicelib.messaging.webhooks.service import release_held

    released = release_held(company_id)  # its webhook events held meanwhile
    from chalicelib.store.outbox import wake_job_pages

    wake_job_pages(company_id, clock.now())  # its send jobs' pages: asked for at the next minute
    logger().info(
        "company reopened", extra={"company_id": company_id, "by": by, "webhooks_released": released}
    )
    return _state(company_id)


def company_leaving(company_id: str) -> dict[str, Any]:
    return _state(company_id)


# --- export ----------------------------------------------------------------------------------

PROGRESS = "progress.json"


def export_company(company_id: str, folder: Path) -> dict[str, Any]:
    """Write everything the company owns under ``folder``: ``<table>.jsonl`` (one item a line,
    a page of 100 read at a time), ``files/`` (its S3 objects, and ``files.jsonl`` listing them)
    and ``README.txt``. Run again after a stop, it goes on from the last page written (each
    kind's position and file length are kept in ``progress.json``). Answers each kind's count."""
    from chalicelib.core.settings import get_settings

    _state(company_id)
    folder.mkdir(parents=True, exist_ok=True)
    progress_file = folder / PROGRESS
    progress: dict[str, Any] = (
        json.loads(progress_file.read_text()) if progress_file.exists() else {"done": {}, "current": None}
    )

    def save() -> None:
        tmp = folder / (PROGRESS + ".tmp")
        tmp.write_text(json.dumps(progress, sort_keys=True))
        tmp.replace(progress_file)

    for kind, read_page in store.export_sources(company_id):
        if kind in progress["done"]:
            continue
        current = progress["current"] if (progress["current"] or {}).get("kind") == kind else None
        position = current["position"] if current else None
        count = current["count"] if current else 0
        path = folder / f"{kind}.jsonl"
        with path.open("a+b") as out:
            out.truncate(current["bytes"] if current else 0)  # what a stopped run wrote past its page
            out.seek(0, 2)
            while True:
                items, position = read_page(position)
                for item in items:
                    line = json.dumps(store.plain_item(item), ensure_ascii=False, sort_keys=True)
                    out.write(line.encode() + b"\n")
                count += len(items)
                out.flush()
                progress["current"] = {
                    "kind": kind,
                    "position": position,
                    "bytes": out.tell(),
                    "count": count,
                }
                save()
                if position is None:
                    break
        progress["done"][kind] = count
        progress["current"] = None
        save()
    if "files" not in progress["done"]:
        progress["done"]["files"] = _export_files(company_id, folder, get_settings().files_bucket)
        save()
    (folder / "README.txt").write_text(_readme(company_id, progress["done"]), encoding="utf-8")
    logger().info("company exported", extra={"company_id": company_id, "kinds": len(progress["done"])})
    return {"company_id": company_id, "folder": str(folder), "counts": dict(progress["done"])}


def _company_objects(bucket: str, company_id: str) -> Iterator[str]:
    """The keys of the company's S3 objects in ``bucket`` (its files live under ``<company>/``)."""
    from chalicelib.core.aws import client

    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{company_id}/")
    for page in pages:
        for entry in page.get("Contents", []):
            yield str(entry["Key"])


#: Where the raw e-mails it received go in the bundle (``files/<company>/`` holds its own objects).
RAW_MAIL = "inbound-mail"


def _export_files(company_id: str, folder: Path, bucket: str) -> int:
    """Each of the company's S3 objects (documents' PDFs, attachments, logos, long bodies) under
    ``files/``, and each raw e-mail it received (the MIME SES stored, which its messages name as
    ``raw_key``: ``<bucket>/<key>``) under ``files/inbound-mail/``; streamed to disk one at a
    time; ``files.jsonl`` lists them, each by the key its items name."""
    from botocore.exceptions import ClientError

    from chalicelib.core.aws import client

    s3 = client("s3")
    count = 0

    def export(bucket: str, key: str, named: str, path: str) -> None:
        nonlocal count
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
        listing.write(json.dumps({"key": named, "path": path}) + "\n")
        count += 1

    with (folder / "files.jsonl").open("w", encoding="utf-8") as listing:
        for key in _company_objects(bucket, company_id):
            export(bucket, key, key, f"files/{key}")
        for raw_key in store.raw_mail_keys(company_id):
            raw_bucket, _, key = raw_key.partition("/")
            try:
                export(raw_bucket, key, raw_key, f"files/{RAW_MAIL}/{key}")
            except ClientError as exc:  # expired by the inbound bucket's lifecycle: nothing to hand
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
                    raise
                logger().warning("raw e-mail gone", extra={"company_id": company_id, "raw_key": raw_key})
    return count


def _readme(company_id: str, counts: dict[str, int]) -> str:
    lines = [
        f"Export of the company {company_id!r} from Pregón, {clock.now():%Y-%m-%d %H:%M} UTC.",
        "",
        "Each <table>.jsonl holds one JSON object a line: an item of that table as Pregón keeps it",
        "(times in ISO 8601, UTC). Messages (communications.jsonl) are as they were sent: their text",
        "and HTML, and every header (List-Unsubscribe and the rest), Message-ID and Reply-To as they",
        "went on the wire (a link in them is as the client received it); a long",
        "body, an attachment, a document's PDF or a logo is a file under files/ (files.jsonl lists them",
        "by their S3 key, which the items name: body_key, attachments, logo_file). Each e-mail received",
        f"is also there as it arrived (its MIME source) under files/{RAW_MAIL}/, listed by its raw_key.",
        "",
        "Counts:",
        *[f"  {kind}: {n}" for kind, n in sorted(counts.items())],
        "",
        "Left out:",
        *[f"  - {what}" for what in LEFT_OUT],
        "",
    ]
    return "\n".join(lines)


# --- deletion --------------------------------------------------------------------------------


def delete_company(
    company_id: str, confirm: str, *, by: str, user_pool_id: str | None = None
) -> dict[str, Any]:
    """Delete everything the suspended company owns (``confirm`` must repeat its id). Safe to
    run again after a run that died anywhere: each step finds by key what is still there. The
    company's item stays, a tombstone holding the id and the counts (the id is not reused)."""
    from chalicelib.core.settings import get_settings

    if confirm != company_id:
        raise ValidationFailed([{"field": "confirm", "message": "repeat the company's id to delete it"}])
    state = _state(company_id)
    if state["suspended_at"] is None and state["deleted_at"] is None:
        raise Conflict(f"company {company_id!r} is not suspended: close it first (ops company close)")
    if state["deleted_at"] is not None:
        return state
    settings = get_settings()
    counts: dict[str, int] = dict(state["deleted"])

    lock = threading.Lock()

    def counted(name: str, n: int) -> None:
        if n:
            with lock:  # the partitions are deleted side by side
                counts[name] = counts.get(name, 0) + n
                store.record_deletion(company_id, counts)

    logger().info("company deletion started", extra={"company_id": company_id, "by": by})
    _give_back_sms(company_id, by)
    # Parcels first (a Scan) with what is kept under each; then what is keyed under each client
    # outside the partitions (before the clients go); messages with their files; the sending
    # domains; every partition; then, by a Scan of each table on the company's prefix, its webhook
    # deliveries, idempotency keys and rate-limit counters.
    store.delete_parcels(company_id, counted)
    store.delete_client_items(company_id, _client_addresses, counted)
    from chalicelib.records.erasure import delete_files

    store.delete_communications(company_id, counted, delete_files, settings.files_bucket)
    _delete_domains(company_id, counted)
    store.delete_partitions(company_id, counted)
    store.delete_prefixed(company_id, counted)
    counted("files", _delete_prefix(settings.files_bucket, company_id))
    if user_pool_id:
        counted("cognito-users", _delete_cognito_users(user_pool_id, company_id))
    store.leave_tombstone(company_id, clock.now())
    logger().info("company deleted", extra={"company_id": company_id, "by": by, "counts": counts})
    return _state(company_id) | {"not_reached": store.NOT_REACHED, "cognito_asked": bool(user_pool_id)}


def _client_addresses(company_id: str, client_id: str) -> list[str]:
    """The client's addresses, its contacts' too (as a client's erasure reads them)."""
    from chalicelib.store.clients import get_client
    from chalicelib.tenants.clients import addresses_and_phones

    return addresses_and_phones(company_id, get_client(company_id, client_id))[0]


def _give_back_sms(company_id: str, by: str) -> None:
    """Its two-way numbers and sender IDs go back to Pregón (their claims with them)."""
    from chalicelib.messaging.accounts.sms import assign_inbound_numbers, assign_sender_ids

    assign_inbound_numbers(company_id, [])
    assign_sender_ids(company_id, [], by=by)


def _delete_domains(company_id: str, counted: Any) -> None:
    """Its sending domains: the SES identity, then the record in the domains' index (SES's
    DeleteIdentity succeeds for one already gone, so a resumed run does it again harmlessly)."""
    from chalicelib.core.aws import client
    from chalicelib.store import domains

    for entry in domains.list_domains(company_id):
        client("ses").delete_identity(Identity=entry.domain)
        if domains.release_domain(entry.domain, company_id):
            counted("sender-domains", 1)


def _delete_prefix(bucket: str, company_id: str) -> int:
    from chalicelib.records.erasure import delete_files

    keys = list(_company_objects(bucket, company_id))
    delete_files({f"{bucket}/{key}" for key in keys})
    return len(keys)


def _delete_cognito_users(user_pool_id: str, company_id: str) -> int:
    """The pool's users whose ``custom:company_id`` is the company's. Cognito cannot filter on a
    custom attribute: the pool is listed a page at a time (the operator's one-off)."""
    from chalicelib.core.aws import client

    idp = client("cognito-idp")
    deleted = 0
    for page in idp.get_paginator("list_users").paginate(UserPoolId=user_pool_id):
        for user in page.get("Users", []):
            attributes = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            if attributes.get("custom:company_id") == company_id:
                idp.admin_delete_user(UserPoolId=user_pool_id, Username=user["Username"])
                deleted += 1
    return deleted


def deleted_at(company_id: str) -> datetime | None:
    return _state(company_id)["deleted_at"]
