"""A client's access report: everything Pregón holds about one client, in one file (GDPR arts. 15
and 20, Ley 25.326 art. 14, LFPDPPP's acceso; docs/privacy.md, decision 0038).

The report is the erasure's twin: it reads the same walk (``store.erasures.erasure_walk``: the
erasure's own pages, read to their end and never committed), so what it lists as erasable is
exactly what an erasure would delete, and what it says is kept is the erasure's ``NOT_ERASED``.
It is built in the background by the history exports' worker (decision 0012's machinery: the
``history-exports`` item with its TTL, the file in S3 under the company's prefix, a presigned
link): a ZIP holding ``summary.html`` (the company's language), ``data.json``, ``messages.csv``
and ``files/`` (bodies kept apart, attachments, raw received mail).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.domain import Communication, HistoryExport
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.records.history.exports import ACCESS  # the client in ``criteria["client"]``
from chalicelib.tenants.auth.principal import Principal

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

ZIP_TYPE = "application/zip"
#: Why a report's build stopped: the client was erased (or began to be) after it was asked for.
ERASED_MEANWHILE = "the client was erased after the report was asked for: there is nothing to report"


def _erasing(company_id: str, client_id: str) -> bool:
    from chalicelib.store import erasures

    job = erasures.get_erasure(company_id, erasures.erasure_key(company_id, client_id))
    return job is not None and job.state == "erasing"


def _check_client(company_id: str, client_id: str) -> None:
    """The client is there and no erasure of it runs (404 / 409)."""
    from chalicelib.store import erasures

    if _erasing(company_id, client_id):
        raise Conflict(f"the client {client_id} is being erased: there is no access report of what is going")
    if erasures.client_of(company_id, client_id) is None:
        raise NotFound(f"there is no client {client_id!r}")


def start_report(caller: Principal, client_id: str, params: Mapping[str, Any]) -> HistoryExport:
    """Ask for the client's access report: the client is checked now (404 when there is none or it
    was erased, 409 while it is being erased), then the export is kept and its worker asked for.
    ``withhold_notes`` (with ``reason``) leaves the staff's notes out, saying so in the report."""
    from chalicelib.records.history.exports import queue_export

    withhold = bool(params.get("withhold_notes"))
    reason = str(params.get("reason") or "").strip()
    if withhold and not reason:
        raise ValidationFailed(
            [{"field": "reason", "message": "say why the notes are withheld (the report shows it)"}]
        )
    _check_client(caller.company_id, client_id)
    criteria = {"client": client_id}
    if withhold:
        criteria |= {"notes": "withheld", "reason": reason[:500]}
    return queue_export(caller, ACCESS, criteria)


def find_report(caller: Principal, client_id: str, report_id: str) -> HistoryExport:
    """An access report of the client; none once the client is gone (erased) or of another."""
    from chalicelib.records.history.exports import find_export
    from chalicelib.store import erasures

    export = find_export(caller, ACCESS, report_id, True)
    if (
        export is None
        or export.criteria.get("client") != client_id
        or erasures.client_of(caller.company_id, client_id) is None
    ):
        raise NotFound(f"there is no access report {report_id!r} of client {client_id!r}")
    return export


# --- the worker: the report in parts -------------------------------------------------------

#: A run of the worker works on a report this long, then asks for another run (a new message on
#: the exports' queue) and ends: the worker's function has 300 s (.chalice/config.json).
RUN_SECONDS = 150.0
#: The report is kept a part at a time: each part is what about this long of work wrote (or
#: :data:`PART_BYTES`, whichever comes first), stored in S3 with how far it got; a run that dies
#: loses the part it was writing, and the next goes on from the last one kept.
PART_SECONDS = 20.0
PART_BYTES = 64 * 1024 * 1024
#: How many items (or messages) one step reads (a batch read's worth).
STEP_ITEMS = 100
#: S3's smallest part of a multipart upload (all but the last): the parts are joined in as many.
JOINED_PART_BYTES = 5 * 1024 * 1024
#: What a report shows instead of a stored value it leaves out: a secret (the client's document
#: portal key, which makes its links work; its phone's push token; its tracking subscription's
#: link nonce, which Pregón signs into its links and never shows) or Pregón's own (the storage key
#: of another report's file). Pregón's bookkeeping (a message's packing and index keys, leases,
#: marks of pending work, a message's attempts and idempotency key, index keys copying an item's
#: own data) is not there at all, and a message is as it was sent, its headers unpacked
#: (``store.leaving.handed_over``), under ``data`` and in the top-level ``messages`` alike.
WITHHELD_VALUE = "(withheld)"
WITHHELD = {
    "devices": ("token",),  # the push service's token (its endpoint, which the API shows, stays)
    "tracking_subscriptions": ("link_nonce",),
    "access_reports": ("file_key",),
}
PORTAL_KEY = "portal#"


def _parts_prefix(export: HistoryExport) -> str:
    from chalicelib.records.history.exports import PURPOSE

    return f"{export.company_id}/{PURPOSE}/access-parts/{export.export_id}/"


def _put(key: str, data: bytes, **condition: str) -> str:
    """Write the object (``condition``: S3's ``IfMatch`` / ``IfNoneMatch``); its ETag."""
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings
    from chalicelib.records.history.exports import PURPOSE

    bucket = get_settings().files_bucket
    answer = client("s3").put_object(
        Bucket=bucket, Key=key, Body=data, Tagging=f"pregon-purpose={PURPOSE}", **condition
    )
    return str(answer["ETag"])


def _get(key: str) -> bytes:
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    return bytes(client("s3").get_object(Bucket=get_settings().files_bucket, Key=key)["Body"].read())


def _listed(key: str) -> tuple[list[str], str | None]:
    """The list of what the report's runs wrote, and its ETag; none, and None, when it is not there."""
    from botocore.exceptions import ClientError

    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    try:
        answer = client("s3").get_object(Bucket=get_settings().files_bucket, Key=key)
    except ClientError as error:
        if _status(error) != 404:
            raise
        return [], None
    return [str(name) for name in json.loads(answer["Body"].read())], str(answer["ETag"])


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _progress(export: HistoryExport) -> dict[str, Any]:
    """How far the report's kept parts got (nothing yet: from the start), and in ``written`` every
    S3 object its runs may have written: those its parts name, and those a run stopped after
    writing them and before the report named them may have left (each run's are named by its
    attempt and the part it was writing; the bucket is not listed, which the functions may not)."""
    if export.progress:
        progress: dict[str, Any] = json.loads(_get(export.progress))
    else:
        progress = {
            "plan": None,
            "cursor": 0,
            "zip": None,
            "parts": [],
            "rows": 0,
            "written": [],
            "attempt": 1,
        }
    prefix, n = _parts_prefix(export), len(progress["parts"])
    for attempt in range(progress["attempt"], export.attempt):
        progress["written"] += [f"{prefix}part-{attempt}-{n}", f"{prefix}progress-{attempt}-{n}.json"]
        if progress["plan"] is None:
            # and the list of them, written before its first part (a run that ends in one part,
            # kept as one object, writes none of its own to delete it with)
            written = _written_key(export.company_id, export.export_id)
            progress["written"] += [f"{prefix}plan-{attempt}.json", written]
    return progress


def _written_key(company_id: str, export_id: str) -> str:
    from chalicelib.records.history.exports import PURPOSE

    return f"{company_id}/{PURPOSE}/access-parts/{export_id}/written.json"


def discard_parts(export: HistoryExport, progress: dict[str, Any], why: str) -> None:
    """Delete what the report's runs kept in parts (its plan, parts and progress; those a stopped
    run may have left are named whether or not it wrote them: S3 deletes what is there), and what
    the list of them names (an overtaken run's last part, listed after this run last read it)."""
    listed = _listed(_written_key(export.company_id, export.export_id))[0] if progress["written"] else []
    _discard(export.company_id, export.export_id, sorted(set(progress["written"]) | set(listed)), why)


def discard_parts_of_gone(company_id: str, export_id: str) -> None:
    """An export no attempt may take: when its item is gone (its client's erasure deleted a report
    between two runs), delete the parts its runs kept."""
    from chalicelib.store import history_exports as exports

    if exports.get_export(company_id, export_id) is None:
        discard_kept_parts(company_id, export_id, "gone")


def discard_kept_parts(company_id: str, export_id: str, why: str) -> None:
    """Delete the parts an export's runs kept, as their list (under a name known without the
    export's item) names them: none when it is not an access report, or one built in one run."""
    try:
        keys = [str(k) for k in json.loads(_get(_written_key(company_id, export_id)))]
    except Exception:  # no such list: nothing was kept
        return
    _discard(company_id, export_id, keys, why)


def _discard(company_id: str, export_id: str, keys: list[str], why: str) -> None:
    from chalicelib.core.files import delete_files

    if not keys:
        return
    extra = {"company_id": company_id, "export_id": export_id, "why": why}
    try:
        delete_files(keys)
    except Exception:  # the bucket's 2-day rule for exports deletes them
        logger().exception("an access report's parts could not be deleted", extra=extra)
        return
    logger().info("an access report's parts deleted", extra={**extra, "objects": len(keys)})


def build_report(export: HistoryExport) -> str:
    """Go on with the report's ZIP where its last kept part left it (from the start: the erasure's
    walk, read to a plan of steps), for :data:`RUN_SECONDS`; ``done`` with its file kept,
    ``continued`` when another run was asked for, ``failed`` when the client went meanwhile,
    ``skipped`` when another attempt took the export (or the client's erasure deleted it)."""
    import time

    from chalicelib.core.zip_parts import ZipParts
    from chalicelib.store import history_exports as exports
    from chalicelib.store.clients import get_client
    from chalicelib.tenants.companies import get_company

    company_id, client_id = export.company_id, export.criteria["client"]
    progress = _progress(export)
    if get_client(company_id, client_id) is None or _erasing(company_id, client_id):
        exports.fail_export(company_id, export.export_id, ERASED_MEANWHILE, clock.now())
        discard_parts(export, progress, "failed")
        return "failed"
    started = time.monotonic()
    if progress["rows"]:  # taking the export counted none: what the kept parts hold, as GET shows it
        exports.count_rows(company_id, export.export_id, export.attempt, progress["rows"], clock.now())
    plan = json.loads(_get(progress["plan"])) if progress["plan"] else _plan(export)
    steps = plan["steps"]
    company = get_company(company_id)
    archive = ZipParts(progress["zip"], moment=datetime.fromisoformat(plan["generated_at"]))
    after = export.progress
    while True:
        part_started = time.monotonic()
        while progress["cursor"] < len(steps):
            progress["rows"] += _step(steps[progress["cursor"]], archive, plan, company, progress)
            progress["cursor"] += 1
            if time.monotonic() - part_started >= PART_SECONDS or archive.pending >= PART_BYTES:
                break
        if progress["cursor"] == len(steps):
            archive.finish()
            return _keep(export, progress, archive.cut())
        after = _keep_part(export, after, plan, progress, archive)
        if after is None:
            return "skipped"
        if time.monotonic() - started >= RUN_SECONDS:
            from chalicelib.core.aws import send_json_messages
            from chalicelib.records.history.exports import exports_queue

            send_json_messages(exports_queue(), [{"company_id": company_id, "export_id": export.export_id}])
            logger().info(
                "access report continued in another run",
                extra={"company_id": company_id, "export_id": export.export_id, "step": progress["cursor"]},
            )
            return "continued"


def _keep_part(
    export: HistoryExport, after: str | None, plan: dict[str, Any], progress: dict[str, Any], archive: Any
) -> str | None:
    """Keep what was written since the last part (the plan too, the first time) and how far it got;
    the key of that progress, or None when the export is no longer this attempt's."""
    from chalicelib.store import history_exports as exports

    prefix, attempt, n = _parts_prefix(export), export.attempt, len(progress["parts"])
    if progress["plan"] is None:
        plan_key = f"{prefix}plan-{attempt}.json"
        progress["written"].append(plan_key)
        _put(plan_key, json.dumps(plan, ensure_ascii=False).encode())
        progress["plan"] = plan_key
    data = archive.cut()
    part = f"{prefix}part-{attempt}-{n}"
    key = f"{prefix}progress-{attempt}-{n}.json"
    progress["written"] += [part, key, _written_key(export.company_id, export.export_id)]
    if not _list_written(export, progress):
        return None  # overtaken by a run that finished the report
    _put(part, data)
    progress["parts"].append([part, len(data)])
    progress["zip"] = archive.state
    progress["attempt"] = attempt
    _put(key, json.dumps(progress, ensure_ascii=False).encode())
    kept = exports.commit_part(
        export.company_id,
        export.export_id,
        attempt,
        after=after,
        progress=key,
        rows=progress["rows"],
        now=clock.now(),
    )
    if kept:
        return key
    if exports.get_export(export.company_id, export.export_id) is None:  # erased with its client
        discard_parts(export, progress, "gone")
    return None


#: How many times a run writes the list of what the report's runs wrote when another run wrote
#: it meanwhile (each time reading it again and adding to it): runs overtake one another rarely.
LIST_TRIES = 5


def _list_written(export: HistoryExport, progress: dict[str, Any]) -> bool:
    """Add ``progress["written"]`` to the list of every S3 object the report's runs wrote, kept
    under a name known without the export's item (its client's erasure deletes the item; the run
    after it deletes what the list names). The list only grows: it is written on condition that
    it is still as this run (or the run whose progress it goes on from) last wrote or read it
    (S3's conditional PUT: ``If-Match`` its ETag, ``If-None-Match: *`` when there was none), and
    when another run wrote it meanwhile it is read again and added to. So a run another overtook
    never writes its older list over the newer run's (the newer run's parts would be left in S3
    for the exports' 2-day rule after the client's erasure). False when the list this run knew is
    gone: a run that finished the report (or failed it, or found it erased) deleted its parts, and
    this run was overtaken and writes nothing more."""
    from botocore.exceptions import ClientError

    key = _written_key(export.company_id, export.export_id)
    for _ in range(LIST_TRIES):
        names, etag = sorted(set(progress["written"])), progress.get("written_etag")
        try:
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            progress["written_etag"] = _put(key, json.dumps(names).encode(), **condition)
            progress["written"] = names
            return True
        except ClientError as error:  # 412: written since; 409: being written; 404: deleted
            if _status(error) not in (404, 409, 412):
                raise
        listed, progress["written_etag"] = _listed(key)
        if etag and progress["written_etag"] is None:
            return False
        progress["written"] += listed
    raise RuntimeError("the list of an access report's parts kept changing while this run wrote it")


def _keep(export: HistoryExport, progress: dict[str, Any], tail: bytes) -> str:
    """The ZIP whole: its parts joined (or, written in one run, the bytes as they are) and kept."""
    from chalicelib.core.files import discard_files, put_file
    from chalicelib.records.history.exports import PURPOSE
    from chalicelib.store import history_exports as exports

    company_id, client_id = export.company_id, export.criteria["client"]
    name = f"access-report-{client_id}.zip"
    if progress["parts"]:
        kept = _join(company_id, name, [str(part) for part, _ in progress["parts"]], tail)
    else:
        kept = put_file(company_id, PURPOSE, name, ZIP_TYPE, tail, tagged=True)
    finished = exports.finish_export(
        company_id,
        export.export_id,
        export.attempt,
        rows=progress["rows"],
        key=kept.key,
        name=kept.name,
        size=kept.size,
        now=clock.now(),
    )
    if not finished:
        discard_files(company_id, [kept.key], "an overtaken access report's file", "overtaken")
        if exports.get_export(company_id, export.export_id) is None:
            discard_parts(export, progress, "gone")
        return "skipped"
    discard_parts(export, progress, "built")
    logger().info("access report done", extra={"company_id": company_id, "export_id": export.export_id})
    return "done"


def _join(company_id: str, name: str, parts: list[str], tail: bytes) -> Any:
    """One S3 object of the parts and the tail, in order: a multipart upload whose parts are the
    report's parts read back and put together to S3's least part size (so no more than that, and
    one report's part, is in memory at once)."""
    from chalicelib.core.aws import client
    from chalicelib.core.domain import AttachmentRef
    from chalicelib.core.files import new_file_key
    from chalicelib.core.settings import get_settings
    from chalicelib.records.history.exports import PURPOSE

    s3, bucket = client("s3"), get_settings().files_bucket
    name, key = new_file_key(company_id, PURPOSE, name)
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType=ZIP_TYPE, Tagging=f"pregon-purpose={PURPOSE}"
    )["UploadId"]
    done: list[dict[str, Any]] = []
    size = 0

    def send(data: bytes) -> None:
        number = len(done) + 1
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=data)
        done.append({"PartNumber": number, "ETag": answer["ETag"]})

    try:
        joined = bytearray()
        for part in parts:
            joined += _get(part)
            if len(joined) >= JOINED_PART_BYTES:
                send(bytes(joined))
                size += len(joined)
                joined.clear()
        joined += tail
        send(bytes(joined))
        size += len(joined)
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done})
    except Exception:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        raise
    return AttachmentRef(name=name, content_type=ZIP_TYPE, size=size, key=key)


# --- what the report holds, as steps ----------------------------------------------------------


def _plan(export: HistoryExport) -> dict[str, Any]:
    """The erasure's walk, read to its keys (each item is read when its step writes it), and the
    steps that write the ZIP: ``data.json``, ``messages.csv``, each file, ``summary.html``."""
    from chalicelib.core.settings import get_settings
    from chalicelib.records.erasure import NOT_ERASED
    from chalicelib.store import erasures
    from chalicelib.store.clients import get_client
    from chalicelib.tenants.clients import addresses_and_phones

    company_id, client_id = export.company_id, export.criteria["client"]
    addresses, phones = addresses_and_phones(company_id, get_client(company_id, client_id))
    now = clock.now()
    held = erasures.erasure_walk(
        company_id, client_id, addresses, phones, get_settings().files_bucket, now, read=("created_at",)
    )
    withheld = export.criteria.get("notes") == "withheld"
    kinds: dict[str, list[list[Any]]] = {}
    for kind, key, _ in held.deleted + held.changed:
        if not (kind == "notes" and withheld):
            kinds.setdefault(kind, []).append(list(key))
    messages = sorted(
        (str(item.get("created_at")), str(key[1])) for kind, key, item in held.deleted if kind == "messages"
    )
    ids = [message_id for _, message_id in messages]
    portal = [
        item
        for kind, key, item in held.deleted
        if kind == "portal_publications" and str(key[1]).startswith(PORTAL_KEY)
    ]
    head = {
        "client_id": client_id,
        "company_id": company_id,
        "generated_at": now.isoformat(),
        "requested_by": export.created_by,
        "notes_withheld": export.criteria.get("reason") if withheld else None,
    }
    erasure = {
        "would_delete": [{"kind": kind, "key": list(key)} for kind, key, _ in held.deleted],
        "would_change": [{"kind": kind, "key": list(key)} for kind, key, _ in held.changed],
        # and this report's own ZIP, kept after the walk (an erasure deletes the client's reports)
        "would_delete_files": len(held.files) + 1,
        "suppressions_kept_as_digest": held.suppressions_kept,
        "not_erased": list(NOT_ERASED),
    }
    actions: list[list[Any]] = [["begin", "data.json"], ["text", _indented(head, 0)[:-2] + ',\n  "data": {']]
    for n, kind in enumerate(sorted(kinds)):
        actions.append(["text", ("," if n else "") + f"\n    {json.dumps(kind)}: ["])
        keys = kinds[kind]
        actions += [
            ["items", kind, keys[i : i + STEP_ITEMS], i == 0] for i in range(0, len(keys), STEP_ITEMS)
        ]
        actions.append(["text", "\n    ]"])
    actions.append(["text", '\n  },\n  "erasure": ' + _indented(erasure, 2) + ',\n  "messages": ['])
    chunks = [ids[i : i + STEP_ITEMS] for i in range(0, len(ids), STEP_ITEMS)]
    actions += [["messages", chunk, n == 0] for n, chunk in enumerate(chunks)]
    actions += [
        ["text", "\n  ]\n}\n"],
        ["end"],
        ["begin", "messages.csv"],
        ["text", _csv_rows([_CSV_COLUMNS])],
    ]
    actions += [["csv", chunk] for chunk in chunks]
    actions.append(["end"])
    actions += [["file", name] for name in sorted(held.files)]
    client_key = kinds["client"][0] if kinds.get("client") else None
    actions += [["begin", "summary.html"], ["summary_head", client_key, withheld]]
    actions += [["summary_rows", chunk] for chunk in chunks]
    counts = {kind: len(keys) for kind, keys in kinds.items()}
    since = str(portal[0].get("created_at")) if portal else None
    actions += [["summary_tail", counts, since], ["end"]]
    # a step: one action that reads (a batch of items, a file), with the writes of text around it
    steps: list[list[list[Any]]] = [[]]
    for action in actions:
        if action[0] in _READING and any(a[0] in _READING for a in steps[-1]):
            steps.append([])
        steps[-1].append(action)
    return {"generated_at": now.isoformat(), "head": head, "erasure": erasure, "steps": steps}


_READING = ("items", "messages", "csv", "file", "summary_head", "summary_rows")


def _indented(value: Any, level: int) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return text.replace("\n", "\n" + " " * level)


def _step(
    step: list[list[Any]], archive: Any, plan: dict[str, Any], company: Any, progress: dict[str, Any]
) -> int:
    """Write one step into the archive; how many items or files it wrote (the export's ``rows``)."""
    return sum(_act(action, archive, plan, company, progress) for action in step)


def _elements(values: list[Any], first: bool, progress: dict[str, Any], level: int) -> str:
    """``values`` as the next elements of a JSON array (``first``: its first batch), indented to
    ``level``, each after a comma but the array's first. A batch whose items were all deleted since
    the plan writes none, so whether the array has an element yet is kept in the progress
    (``listed``, across runs): the next batch's first item is then the array's first."""
    if first:
        progress["listed"] = False
    text = []
    for value in values:
        comma = "," if progress.get("listed", True) else ""
        text.append(comma + "\n" + " " * level + _indented(value, level))
        progress["listed"] = True
    return "".join(text)


def _act(step: list[Any], archive: Any, plan: dict[str, Any], company: Any, progress: dict[str, Any]) -> int:
    action = step[0]
    if action == "begin":
        archive.begin(step[1])
    elif action == "end":
        archive.end()
    elif action == "text":
        archive.write(step[1].encode())
    elif action == "items":
        items = _stored(step[1], step[2])
        archive.write(_elements(items, step[3], progress, 6).encode())
        return len(items)
    elif action == "messages":
        # as handed over, as under ``data`` (``store.leaving.handed_over``: as sent, without
        # Pregón's bookkeeping), not as the history reads them (leases, hand-offs, attempts)
        company_id = plan["head"]["company_id"]
        found = _stored("messages", [[company_id, message_id] for message_id in step[1]])
        archive.write(_elements(found, step[2], progress, 4).encode())
    elif action == "csv":
        archive.write(_csv_rows(_message_rows(_messages(plan["head"]["company_id"], step[1]))).encode())
    elif action == "file":
        return _file(step[1], archive, company)
    elif action == "summary_head":
        client = (_stored("client", [step[1]]) or [{}])[0] if step[1] else {}
        archive.write(_summary_head(plan["head"], client, company, step[2]).encode())
    elif action == "summary_rows":
        archive.write(_summary_rows(_messages(plan["head"]["company_id"], step[1]), company).encode())
    elif action == "summary_tail":
        archive.write(_summary_tail(step[1], plan["erasure"], step[2], company).encode())
    return 0


def _stored(kind: str, keys: list[list[Any]]) -> list[dict[str, Any]]:
    """The items of ``kind`` under ``keys`` as the report gives them (in that order; one gone
    meanwhile left out): as handed over (a message as sent), less the secrets (:data:`WITHHELD`,
    the portal key)."""
    from chalicelib.store.erasures import items_of_kind

    found = items_of_kind(kind, keys)
    items = []
    for key in keys:
        item = found.get(tuple(key))
        if item is None:
            continue
        shown = _plain(item)
        for name in WITHHELD.get(kind, ()):
            if name in shown:
                shown[name] = WITHHELD_VALUE
        if kind == "portal_publications" and str(key[-1]).startswith(PORTAL_KEY):
            # the client's portal key: that there are links, and since when; never the key
            shown = {
                "entry_key": shown.get("entry_key"),
                "document_portal_links_since": shown.get("created_at"),
            }
            shown["key"] = WITHHELD_VALUE
        items.append(shown)
    return items


def _messages(company_id: str, ids: list[str]) -> list[Communication]:
    """The client's messages and records as the history reads them (bodies unpacked), in the
    plan's order (oldest first)."""
    from chalicelib.store.communications import get_many

    found = get_many(company_id, ids)
    return [found[i] for i in ids if i in found]


def _file(name: str, archive: Any, company: Any) -> int:
    from chalicelib.core.aws import client

    bucket, _, key = name.partition("/")
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # gone meanwhile (a lifecycle rule, an attachment removed)
        logger().warning("access report: a file was gone", extra={"company_id": company.company_id})
        return 0
    archive.begin(f"files/{bucket.rsplit('-', 1)[-1]}/{key}")
    archive.write(body)
    archive.end()
    return 1


def _plain(value: Any) -> Any:
    """A stored value as JSON holds it: times in ISO 8601, sets as sorted lists, maps as objects;
    compressed bytes (a message's body: its text and html are given as read) left out."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "attribute_values"):  # a map attribute (an attachment's reference)
        return _plain(value.attribute_values)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    return value


_CSV_COLUMNS = (
    "communication_id",
    "created_at",
    "channel",
    "direction",
    "state",
    "from_address",
    "to_address",
    "subject",
    "sent_at",
    "delivered_at",
    "error",
    "attachments",
)


def _message_rows(messages: list[Communication]) -> list[list[str]]:
    rows = []
    for c in messages:
        row = [getattr(c, name, None) for name in _CSV_COLUMNS[:-1]]
        cells = [v.isoformat() if isinstance(v, datetime) else ("" if v is None else str(v)) for v in row]
        # a cell a spreadsheet would run as a formula is kept as text
        cells = ["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in cells]
        rows.append([*cells, "; ".join(a.name for a in c.attachments)])
    return rows


def _csv_rows(rows: Any) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


# --- the readable summary ----------------------------------------------------------------------

_WORDS = {
    "es": {
        "title": "Informe de datos del cliente",
        "intro": "Todo lo que Pregón guarda sobre el cliente {client} de {company}, al {when}.",
        "client": "Datos del cliente",
        "messages": "Mensajes enviados y recibidos, y registros",
        "other": "Otros datos guardados",
        "kind": "Clase",
        "count": "Cantidad",
        "erasure": "Qué borraría una supresión",
        "deletes": "Se borrarían {n} registros y {files} archivos; {changed} registros se conservarían sin "
        "el código del cliente; {kept} supresiones quedarían guardadas como resumen (hash).",
        "kept": "Qué se conserva y por qué",
        "withheld": "Notas internas no incluidas. Motivo: {why}",
        "files": "Los archivos (adjuntos, cuerpos y correo recibido original) están en la carpeta files/; "
        "los datos completos, en data.json y messages.csv.",
        "date": "Fecha",
        "channel": "Canal",
        "direction": "Dirección",
        "state": "Estado",
        "address": "Dirección de envío",
        "subject": "Asunto",
        "history": "Historial de estado",
        "portal": "El cliente tiene enlaces a su portal de documentos desde el {since} (la clave que los "
        "hace funcionar es secreta y no se incluye).",
    },
    "en": {
        "title": "Client data report",
        "intro": "Everything Pregón holds about the client {client} of {company}, as of {when}.",
        "client": "The client's data",
        "messages": "Messages sent and received, and records",
        "other": "Other data held",
        "kind": "Kind",
        "count": "Count",
        "erasure": "What an erasure would delete",
        "deletes": "{n} items and {files} files would be deleted; {changed} items would be kept without "
        "the client's code; {kept} suppressions would be kept as a digest (hash).",
        "kept": "What is kept, and why",
        "withheld": "Internal notes withheld. Reason: {why}",
        "files": "The files (attachments, bodies and raw received mail) are in the files/ folder; the "
        "complete data in data.json and messages.csv.",
        "date": "Date",
        "channel": "Channel",
        "direction": "Direction",
        "state": "State",
        "address": "Address",
        "subject": "Subject",
        "history": "Status history",
        "portal": "The client has had links to its document portal since {since} (the key that makes "
        "them work is a secret and is not included).",
    },
}


def _words(company: Any) -> tuple[str, dict[str, str]]:
    language = "es" if company.language == "es" else "en"
    return language, _WORDS[language]


def _when(moment: datetime | str | None, company: Any) -> str:
    from chalicelib.core.localization import show_datetime

    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return show_datetime(moment, company.time_zone, company.locale) if moment else ""


def _summary_head(head: dict[str, Any], client: dict[str, Any], company: Any, withheld: bool) -> str:
    """The report's readable page (``summary.html``), in the company's language (Spanish or
    English) and zone, up to its messages' rows: the client's data."""
    language, w = _words(company)
    when = _when(head["generated_at"], company)
    parts = [
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">',
        f"<title>{escape(w['title'])}</title></head><body>",
        f"<h1>{escape(w['title'])}</h1>",
        "<p>" + escape(w["intro"].format(client=head["client_id"], company=company.name, when=when)) + "</p>",
    ]
    if withheld:
        why = w["withheld"].format(why=head["notes_withheld"])
        parts.append(f"<p><strong>{escape(why)}</strong></p>")
    parts.append(f"<h2>{escape(w['client'])}</h2><dl>")
    for name in ("client_id", "name", "emails", "phones", "contacts", "language", "tax_id", "address"):
        if client.get(name):
            shown = json.dumps(client[name], ensure_ascii=False)
            parts.append(f"<dt>{escape(name)}</dt><dd>{escape(shown)}</dd>")
    parts.append(f"</dl><h2>{escape(w['messages'])}</h2><table border='1'><tr>")
    for name in ("date", "channel", "direction", "state", "address", "subject", "history"):
        parts.append(f"<th>{escape(w[name])}</th>")
    parts.append("</tr>")
    return "".join(parts)


def _summary_rows(messages: list[Communication], company: Any) -> str:
    """The summary's rows of ``messages``: each with its status history."""
    from chalicelib.records.exports import word

    language, _ = _words(company)
    parts = []
    for c in messages:
        address = c.to_address if c.direction == "out" else c.from_address
        moments = (("queued", c.created_at), ("sent", c.sent_at), ("delivered", c.delivered_at))
        history = [
            f"{word(label, language)}: {_when(moment, company)}" for label, moment in moments if moment
        ]
        if c.state not in ("queued", "sent", "delivered"):
            history.append(word(c.state, language) or c.state)
        cells = (
            _when(c.created_at, company),
            c.channel,
            word(c.direction, language),
            word(c.state, language),
            address,
            c.subject,
            "; ".join(history) + (f" ({c.error})" if c.error else ""),
        )
        parts.append("<tr>" + "".join(f"<td>{escape(str(v or ''))}</td>" for v in cells) + "</tr>")
    return "".join(parts)


def _summary_tail(
    counts: dict[str, int], erasure: dict[str, Any], portal_since: str | None, company: Any
) -> str:
    """The summary's end: how many of every other kind, the document portal's links (never their
    key), what an erasure would delete and keep, and why."""
    _, w = _words(company)
    parts = [f"</table><h2>{escape(w['other'])}</h2><table border='1'>"]
    parts.append(f"<tr><th>{escape(w['kind'])}</th><th>{escape(w['count'])}</th></tr>")
    for kind, count in sorted(counts.items()):
        if kind not in ("client", "messages"):
            parts.append(f"<tr><td>{escape(kind)}</td><td>{count}</td></tr>")
    parts.append("</table>")
    if portal_since:
        parts.append(f"<p>{escape(w['portal'].format(since=_when(portal_since, company)))}</p>")
    parts.append(f"<h2>{escape(w['erasure'])}</h2><p>")
    parts.append(
        escape(
            w["deletes"].format(
                n=len(erasure["would_delete"]),
                files=erasure["would_delete_files"],
                changed=len(erasure["would_change"]),
                kept=erasure["suppressions_kept_as_digest"],
            )
        )
    )
    parts.append(f"</p><h2>{escape(w['kept'])}</h2><ul>")
    parts += [f"<li>{escape(reason)}</li>" for reason in erasure["not_erased"]]
    parts.append(f"</ul><p>{escape(w['files'])}</p></body></html>")
    return "".join(parts)
