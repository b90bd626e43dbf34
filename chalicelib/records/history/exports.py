"""The history's Excel export (H1): its sheet, built in the API call for what fits there, or in
the background for a year's history.

A background export (``POST /history/{channel}/exports``) checks its filters at once, as the
GET does, keeps them (a saved filter resolved) with who asked, and asks a worker for it on the
``pregon-history-exports`` queue. The worker (``events.history_exports``) reads the history a
page at a time as the export's creator would (a level-4 user's holds their own messages only),
writes each page to the workbook on the function's disk (openpyxl's write-only mode: memory does
not grow with the rows), counts its rows on the export as it goes, and keeps the file in S3
under the company's prefix only once it is whole. Every attempt takes the export with a new
number, so a worker that died is retried from the start by SQS and an overtaken attempt never
marks the export done; a file is named by the export only when it is whole.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.domain import Communication, HistoryExport
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.links import without_portal_tokens
from chalicelib.core.observability import logger
from chalicelib.records.history.browse import check_channel, criteria_for, query_history
from chalicelib.records.history.criteria import history_criteria
from chalicelib.records.history.export_queue import EXPORTS_QUEUE
from chalicelib.tenants.auth.principal import Principal, may_see

if TYPE_CHECKING:
    from chalicelib.records.exports import Sheet

Reasons = Callable[[str, str], str]
#: What a background export holds and reads at most: its worker has 300 s at 1,024 MB
#: (.chalice/config.json), and 50,000 rows of long e-mails took it 32 s of CPU, some 55 s at the
#: 0.58 vCPU of 1,024 MB (``bench.history_export``, bench/README.md).
MAX_BACKGROUND_ROWS = 100_000
MAX_BACKGROUND_READ = 200_000
#: The export's rows are counted on it every this many rows (what ``GET`` shows while it runs).
COUNT_EVERY = 1_000
#: How long its file can be downloaded; the bucket's lifecycle deletes it after as many days
#: (infrastructure/aws/synth.py) and the export's item goes by TTL.
KEPT_DAYS = 2
PURPOSE = "exports"
#: Why an export failed when every attempt of its worker failed (SQS's retries are spent).
NOT_BUILT = "the export could not be built: ask for it again"
#: Why an export failed whose request reached the dead-letter queue still unfinished: no attempt
#: ended itself (each was stopped, as a Lambda function at its time limit is).
GAVE_UP = (
    "the export was stopped before it finished, on each of its attempts (it holds more than its "
    "worker can write in its time): ask for a shorter period"
)

_COLUMNS = (
    "Direction",
    "Type",
    "Status",
    "State",
    "Client",
    "To",
    "From",
    "Subject",
    "Message type",
    "Created by",
    "Resend of",
    "Error",
    "Text",
)


@dataclass(frozen=True)
class HistorySheet:
    """How a history's rows are laid out for its company's staff: the sheet's title, its headers
    and each message's cells."""

    viewer: Principal
    channel: str
    language: str
    time_zone: str
    locale: str
    # Pregón's reason for a message that failed (its ``error``) in a language: the API's catalog
    # (``api.error_language.in_language``), given by the route or the worker that lays it out
    reason_in: Reasons

    @property
    def title(self) -> str:
        from chalicelib.records.exports import word

        if self.language == "es":
            return f"{word('history', self.language)} {self.channel}"
        return f"{self.channel} history"

    @property
    def file_name(self) -> str:
        return f"history-{self.channel}.xlsx"

    def columns(self) -> list[str]:
        from chalicelib.records.exports import heading

        zone = self.time_zone
        return [
            heading("Id", self.language),
            heading("Created", self.language, zone),
            heading("Sent", self.language, zone),
        ] + [heading(name, self.language) for name in _COLUMNS]

    def rows(self, messages: Sequence[Communication], names: dict[str, str]) -> Iterator[list[Any]]:
        """Each message's cells; ``names``: the creators' names (``tenants.staff.staff_names``)."""
        from chalicelib.records.exports import word
        from chalicelib.store.communications import status_group
        from chalicelib.tenants.staff import name_or_shown

        language = self.language
        for c in messages:
            yield [
                c.communication_id,
                c.created_at,
                c.sent_at,
                word(c.direction, language),
                word(c.kind, language),
                word(status_group(c.shown_state), language),
                word(c.shown_state, language),
                c.client_id,
                c.to_address,
                c.from_address,
                c.subject,
                c.message_type,
                name_or_shown(self.viewer, names, c.created_by),
                c.resend_of,
                self.reason_in(c.error, language) if c.error else c.error,
                without_portal_tokens(c.text),
            ]


def history_sheet(viewer: Principal, channel: str, reason_in: Reasons) -> HistorySheet:
    from chalicelib.tenants.companies import get_company

    company = get_company(viewer.company_id)
    return HistorySheet(viewer, channel, company.language, company.time_zone, company.locale, reason_in)


def export_history(
    viewer: Principal, channel: str, params: dict[str, str | None], reason_in: Reasons
) -> tuple[bytes, str]:
    """The filtered history as an .xlsx file and its name, built now: at most
    :data:`~chalicelib.records.exports.MAX_EXPORT_ROWS` rows; past that (or past what it may read),
    422 ``ExportTooLarge`` naming the background export."""
    from chalicelib.records import exports
    from chalicelib.records.history.browse import export_rows
    from chalicelib.tenants.staff import staff_names

    check_channel(channel)
    sheet = history_sheet(viewer, channel, reason_in)
    try:
        rows = export_rows(viewer, channel, criteria_for(viewer, params), exports.MAX_EXPORT_ROWS)
    except exports.ExportTooLarge as too_large:
        too_large.background = f"POST /history/{channel}/exports"
        raise
    names = staff_names(viewer.company_id, [c.created_by for c in rows])
    data = exports.workbook(
        sheet.title, sheet.columns(), sheet.rows(rows, names), time_zone=sheet.time_zone, locale=sheet.locale
    )
    return data, sheet.file_name


def start_export(viewer: Principal, channel: str, params: dict[str, str | None]) -> HistoryExport:
    """Ask for the export in the background: its filters are checked now (a 4xx naming the field,
    nothing written), then it is kept and its worker asked for."""
    check_channel(channel)
    return queue_export(viewer, channel, criteria_for(viewer, params).as_params())


#: What the exports other than a channel's history hold in ``channel``: a client's register (the
#: client in ``criteria["client"]``) and the notes report.
REGISTER = "register"
NOTES = "notes"
#: A client's access report (``records.access``, the client in ``criteria["client"]``): a ZIP.
ACCESS = "access"


def queue_export(viewer: Principal, channel: str, criteria: dict[str, str]) -> HistoryExport:
    """Keep an export of ``channel`` whose ``criteria`` (query parameters) were checked, and ask
    its worker for it."""
    from chalicelib.core.aws import send_json_messages
    from chalicelib.store import communications
    from chalicelib.store import history_exports as store

    now = clock.now()
    export = HistoryExport(
        company_id=viewer.company_id,
        export_id=communications.new_communication_id(now),
        channel=channel,
        criteria=criteria,
        created_by=viewer.subject,
        creator_level=viewer.level,
        creator_branch=viewer.branch,
        creator_department=viewer.department,
        state="queued",
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(days=KEPT_DAYS),
    )
    store.add_export(export)
    try:
        send_json_messages(
            exports_queue(), [{"company_id": export.company_id, "export_id": export.export_id}]
        )
    except Exception:  # no worker will come: the export says so rather than wait queued for two days
        store.fail_export(export.company_id, export.export_id, NOT_BUILT, clock.now())
        raise
    logger().info(
        "background export asked for",
        extra={"company_id": export.company_id, "export_id": export.export_id, "channel": channel},
    )
    return export


def exports_queue() -> str:
    return os.environ.get("PREGON_HISTORY_EXPORTS_QUEUE", EXPORTS_QUEUE)


def get_export(viewer: Principal, channel: str, export_id: str) -> HistoryExport:
    """An export as ``viewer`` may see it: one of their company's, of this channel, that holds only
    what they may read (theirs, or any for levels 1-3); once past its time, ``expired`` and no
    file. Any other is not found."""
    check_channel(channel)
    export = find_export(viewer, channel, export_id, may_see(viewer, ""))
    if export is None:
        raise NotFound(f"there is no {channel} history export {export_id!r}")
    return export


def find_export(viewer: Principal, channel: str, export_id: str, sees_others: bool) -> HistoryExport | None:
    """An export of ``channel`` as ``viewer`` may see it: their company's, their own or, when
    ``sees_others``, anyone's; once past its time, ``expired`` and no file. None for any other."""
    from chalicelib.store import history_exports as store

    export = store.get_export(viewer.company_id, export_id)
    if (
        export is None
        or export.channel != channel
        or (export.created_by != viewer.subject and not sees_others)
    ):
        return None
    if clock.now() >= export.expires_at:
        return replace(export, state="expired", file_key=None)
    return export


def download_url(export: HistoryExport) -> str | None:
    """A short-lived link to a done export's file (5 minutes; the bucket is private)."""
    from chalicelib.core.domain import AttachmentRef
    from chalicelib.core.files import download_url as link
    from chalicelib.records.exports import XLSX_TYPE

    if export.state != "done" or not export.file_key:
        return None
    name = export.file_name or "history.xlsx"
    kind = "application/zip" if name.endswith(".zip") else XLSX_TYPE  # an access report's ZIP
    return link(AttachmentRef(name=name, content_type=kind, size=export.file_size or 0, key=export.file_key))


def build_export(company_id: str, export_id: str, reason_in: Reasons, *, last_attempt: bool = False) -> str:
    """The worker: build the export's file from the start and keep it; returns what became of it
    (``done``, ``failed``, or ``skipped`` when it was finished or taken by another attempt; an
    access report, built in parts, may be ``continued`` in another run, from its last part). An
    error is raised for SQS to deliver the request again, unless ``last_attempt``: then the export
    fails saying so, and no half file is ever named."""
    from chalicelib.store import history_exports as store

    export = store.take_export(company_id, export_id, clock.now())
    if export is None:
        from chalicelib.records.access import discard_parts_of_gone

        discard_parts_of_gone(company_id, export_id)  # an access report erased between two runs
        return "skipped"
    try:
        if export.channel == ACCESS:  # a client's access report: a ZIP, not a sheet
            from chalicelib.records.access import build_report

            return build_report(export)
        return _build(export, reason_in)
    except ValidationFailed as too_large:
        store.fail_export(company_id, export_id, too_large.errors[0]["message"], clock.now())
        return "failed"
    except Exception:
        if not last_attempt:
            raise
        logger().exception("history export failed on its last attempt", extra={"export_id": export_id})
        store.fail_export(company_id, export_id, NOT_BUILT, clock.now())
        if export.channel == ACCESS:
            from chalicelib.records.access import discard_kept_parts

            discard_kept_parts(company_id, export_id, "failed")
        return "failed"


def give_up_export(company_id: str, export_id: str) -> bool:
    """The worker of the dead-letter queue: an export whose every delivery failed without its
    attempt ending it (a function stopped at its time limit or out of memory, five times) fails,
    saying why; one that ended meanwhile (done, failed) is left as it is. True when it failed now."""
    from chalicelib.store import history_exports as store

    failed = store.fail_export(company_id, export_id, GAVE_UP, clock.now())
    if failed:
        from chalicelib.records.access import discard_kept_parts

        discard_kept_parts(company_id, export_id, "given up")  # an access report's parts, if any
        logger().warning(
            "history export given up: every attempt was stopped",
            extra={"company_id": company_id, "export_id": export_id},
        )
    return failed


def _history_pages(creator: Principal, export: HistoryExport, reason_in: Reasons) -> Sheet:
    from chalicelib.records.exports import Sheet, export_pages
    from chalicelib.tenants.companies import company_time_zone
    from chalicelib.tenants.staff import staff_names

    layout = history_sheet(creator, export.channel, reason_in)
    criteria = history_criteria(export.criteria, company_time_zone(export.company_id))

    def pages() -> Iterator[tuple[list[list[Any]], int]]:
        names: dict[str, str] = {}
        for page in export_pages(
            lambda limit, cursor: query_history(creator, export.channel, criteria, limit, cursor),
            MAX_BACKGROUND_ROWS,
            MAX_BACKGROUND_READ,
        ):
            new = [c.created_by for c in page if c.created_by and c.created_by not in names]
            names.update(staff_names(export.company_id, new))
            yield list(layout.rows(page, names)), len(page)

    return Sheet(layout.title, layout.columns(), layout.file_name, pages(), layout.time_zone, layout.locale)


def _sheet(export: HistoryExport, reason_in: Reasons) -> Sheet:
    """What the export writes, read as its creator reads it (a level-4 user's holds their own)."""
    creator = Principal(
        export.company_id,
        "user",
        export.created_by,
        level=export.creator_level,
        branch=export.creator_branch,
        department=export.creator_department,
    )
    if export.channel == REGISTER:
        from chalicelib.records.register import register_sheet

        return register_sheet(creator, export.criteria, MAX_BACKGROUND_ROWS, MAX_BACKGROUND_READ)
    if export.channel == NOTES:
        from chalicelib.records.notes import report_sheet

        return report_sheet(creator, export.criteria, MAX_BACKGROUND_ROWS)
    return _history_pages(creator, export, reason_in)


def _build(export: HistoryExport, reason_in: Reasons) -> str:
    from chalicelib.core.files import discard_files, put_file
    from chalicelib.records.exports import XLSX_TYPE, write_workbook
    from chalicelib.store import history_exports as store

    sheet = _sheet(export, reason_in)
    counted = {"rows": 0, "last": 0}

    def rows() -> Iterator[list[Any]]:
        for cells, items in sheet.pages:
            yield from cells
            counted["rows"] += items
            if counted["rows"] - counted["last"] >= COUNT_EVERY:
                if not store.count_rows(
                    export.company_id, export.export_id, export.attempt, counted["rows"], clock.now()
                ):
                    raise _Overtaken
                counted["last"] = counted["rows"]

    with tempfile.TemporaryFile(suffix=".xlsx") as file:
        try:
            write_workbook(
                file, sheet.title, sheet.columns, rows(), time_zone=sheet.time_zone, locale=sheet.locale
            )
        except _Overtaken:
            return "skipped"
        file.seek(0)
        kept = put_file(export.company_id, PURPOSE, sheet.file_name, XLSX_TYPE, file, tagged=True)
    finished = store.finish_export(
        export.company_id,
        export.export_id,
        export.attempt,
        rows=counted["rows"],
        key=kept.key,
        name=kept.name,
        size=kept.size,
        now=clock.now(),
    )
    if not finished:  # another attempt took the export meanwhile: its file is the one named
        discard_files(export.company_id, [kept.key], "an overtaken history export's file", "overtaken")
        return "skipped"
    logger().info(
        "background export done",
        extra={"company_id": export.company_id, "export_id": export.export_id, "rows": counted["rows"]},
    )
    return "done"


class _Overtaken(Exception):
    """Another attempt took the export while this one wrote it."""
