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
import tempfile
import zipfile
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import IO, Any

from chalicelib.core import clock
from chalicelib.core.domain import Communication, HistoryExport
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.records.history.exports import ACCESS  # the client in ``criteria["client"]``
from chalicelib.tenants.auth.principal import Principal

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


# --- the worker -------------------------------------------------------------------------------


def build_report(export: HistoryExport) -> str:
    """Write the report's ZIP and keep it (``done``); ``failed`` when the client went meanwhile,
    ``skipped`` when another attempt took the export."""
    from chalicelib.core.files import discard_files, put_file
    from chalicelib.core.settings import get_settings
    from chalicelib.records.erasure import NOT_ERASED
    from chalicelib.records.history.exports import PURPOSE
    from chalicelib.store import erasures
    from chalicelib.store import history_exports as exports
    from chalicelib.store.clients import get_client
    from chalicelib.tenants.clients import addresses_and_phones
    from chalicelib.tenants.companies import get_company

    company_id, client_id = export.company_id, export.criteria["client"]
    client = get_client(company_id, client_id)
    if client is None or _erasing(company_id, client_id):
        exports.fail_export(company_id, export.export_id, ERASED_MEANWHILE, clock.now())
        return "failed"
    settings = get_settings()
    addresses, phones = addresses_and_phones(company_id, client)
    held = erasures.erasure_walk(
        company_id,
        client_id,
        addresses,
        phones,
        settings.files_bucket,
        clock.now(),
    )
    company = get_company(company_id)
    withheld = export.criteria.get("notes") == "withheld"
    report = _report(export, held, NOT_ERASED, withheld)
    messages = _messages(company_id, held)
    with tempfile.TemporaryFile(suffix=".zip") as file:
        files = _write_zip(file, report, messages, held.files, company, withheld)
        file.seek(0)
        kept = put_file(company_id, PURPOSE, f"access-report-{client_id}.zip", ZIP_TYPE, file, tagged=True)
    finished = exports.finish_export(
        company_id,
        export.export_id,
        export.attempt,
        rows=len(held.deleted) + len(held.changed) + files,
        key=kept.key,
        name=kept.name,
        size=kept.size,
        now=clock.now(),
    )
    if not finished:
        discard_files(company_id, [kept.key], "an overtaken access report's file", "overtaken")
        return "skipped"
    logger().info("access report done", extra={"company_id": company_id, "export_id": export.export_id})
    return "done"


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


def _report(export: HistoryExport, held: Any, not_erased: tuple[str, ...], withheld: bool) -> dict[str, Any]:
    """The report's ``data.json``: each kind's items as stored, and the erasure's answer to come."""
    data: dict[str, list[Any]] = {}
    for kind, _, item in held.deleted + held.changed:
        if kind == "notes" and withheld:
            continue
        data.setdefault(kind, []).append(_plain(item))
    return {
        "client_id": export.criteria["client"],
        "company_id": export.company_id,
        "generated_at": clock.now().isoformat(),
        "requested_by": export.created_by,
        "notes_withheld": export.criteria.get("reason") if withheld else None,
        "data": data,
        "erasure": {
            "would_delete": [{"kind": kind, "key": list(key)} for kind, key, _ in held.deleted],
            "would_change": [{"kind": kind, "key": list(key)} for kind, key, _ in held.changed],
            # and this report's own ZIP, kept after the walk (an erasure deletes the client's reports)
            "would_delete_files": len(held.files) + 1,
            "suppressions_kept_as_digest": held.suppressions_kept,
            "not_erased": list(not_erased),
        },
    }


def _messages(company_id: str, held: Any) -> list[Communication]:
    """The client's messages and records as the history reads them (bodies unpacked), oldest first."""
    from chalicelib.store.communications import get_many

    ids = [str(key[1]) for kind, key, _ in held.deleted if kind == "messages"]
    found = get_many(company_id, ids)
    return sorted(found.values(), key=lambda c: c.created_at)


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


def _messages_csv(messages: list[Communication]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for c in messages:
        row = [getattr(c, name, None) for name in _CSV_COLUMNS[:-1]]
        cells = [v.isoformat() if isinstance(v, datetime) else ("" if v is None else str(v)) for v in row]
        # a cell a spreadsheet would run as a formula is kept as text
        cells = ["'" + v if v[:1] in ("=", "+", "-", "@") else v for v in cells]
        writer.writerow([*cells, "; ".join(a.name for a in c.attachments)])
    return out.getvalue()


def _write_zip(
    file: IO[bytes],
    report: dict[str, Any],
    messages: list[Communication],
    files: set[str],
    company: Any,
    withheld: bool,
) -> int:
    """Write the ZIP; returns how many stored files it holds."""
    from chalicelib.core.aws import client

    s3 = client("s3")
    written = 0
    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive:
        report["messages"] = [_plain(c) for c in messages]
        archive.writestr("data.json", json.dumps(report, ensure_ascii=False, indent=2, default=str))
        archive.writestr("messages.csv", _messages_csv(messages))
        for name in sorted(files):
            bucket, _, key = name.partition("/")
            try:
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except Exception:  # gone meanwhile (a lifecycle rule, an attachment removed)
                logger().warning("access report: a file was gone", extra={"company_id": company.company_id})
                continue
            archive.writestr(f"files/{bucket.rsplit('-', 1)[-1]}/{key}", body)
            written += 1
        archive.writestr("summary.html", summary_html(report, messages, company, withheld))
    return written


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
    },
}


def summary_html(report: dict[str, Any], messages: list[Communication], company: Any, withheld: bool) -> str:
    """The report's readable page, in the company's language (Spanish or English) and zone."""
    from chalicelib.core.localization import show_datetime
    from chalicelib.records.exports import word

    language = "es" if company.language == "es" else "en"
    w = _WORDS[language]

    def when(moment: datetime | None) -> str:
        return show_datetime(moment, company.time_zone, company.locale) if moment else ""

    parts = [
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">',
        f"<title>{escape(w['title'])}</title></head><body>",
        f"<h1>{escape(w['title'])}</h1>",
        "<p>"
        + escape(w["intro"].format(client=report["client_id"], company=company.name, when=when(clock.now())))
        + "</p>",
    ]
    if withheld:
        why = w["withheld"].format(why=report["notes_withheld"])
        parts.append(f"<p><strong>{escape(why)}</strong></p>")
    client = (report["data"].get("client") or [{}])[0]
    parts.append(f"<h2>{escape(w['client'])}</h2><dl>")
    for name in ("client_id", "name", "emails", "phones", "contacts", "language", "tax_id", "address"):
        if client.get(name):
            shown = json.dumps(client[name], ensure_ascii=False)
            parts.append(f"<dt>{escape(name)}</dt><dd>{escape(shown)}</dd>")
    parts.append(f"</dl><h2>{escape(w['messages'])}</h2><table border='1'><tr>")
    for name in ("date", "channel", "direction", "state", "address", "subject", "history"):
        parts.append(f"<th>{escape(w[name])}</th>")
    parts.append("</tr>")
    for c in messages:
        address = c.to_address if c.direction == "out" else c.from_address
        moments = (("queued", c.created_at), ("sent", c.sent_at), ("delivered", c.delivered_at))
        history = [f"{word(label, language)}: {when(moment)}" for label, moment in moments if moment]
        if c.state not in ("queued", "sent", "delivered"):
            history.append(word(c.state, language) or c.state)
        cells = (
            when(c.created_at),
            c.channel,
            word(c.direction, language),
            word(c.state, language),
            address,
            c.subject,
            "; ".join(history) + (f" ({c.error})" if c.error else ""),
        )
        parts.append("<tr>" + "".join(f"<td>{escape(str(v or ''))}</td>" for v in cells) + "</tr>")
    parts.append(f"</table><h2>{escape(w['other'])}</h2><table border='1'>")
    parts.append(f"<tr><th>{escape(w['kind'])}</th><th>{escape(w['count'])}</th></tr>")
    for kind, items in sorted(report["data"].items()):
        if kind not in ("client", "messages"):
            parts.append(f"<tr><td>{escape(kind)}</td><td>{len(items)}</td></tr>")
    erasure = report["erasure"]
    parts.append(f"</table><h2>{escape(w['erasure'])}</h2><p>")
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
