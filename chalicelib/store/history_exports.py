"""Background exports of the history (H1): the item that says what an export selects, how far
its worker got and which file it made. Each attempt of the worker takes the export with a number
(``attempt``) and every later write of that attempt holds only while the number is still its own,
so an attempt that a retry overtook never marks the export done nor moves its count."""

from __future__ import annotations

import json
from datetime import datetime

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition

from chalicelib.core.domain import HistoryExport
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import HistoryExportModel
from chalicelib.store.tables import written

_UNFINISHED = ("queued", "running")


def _export(item: HistoryExportModel) -> HistoryExport:
    return record_from(
        item,
        HistoryExport,
        criteria=dict(json.loads(item.criteria)),
        creator_level=int(item.creator_level),
        rows=int(item.rows or 0),
        attempt=int(item.attempt or 0),
        file_size=int(item.file_size) if item.file_size is not None else None,
    )


def add_export(export: HistoryExport) -> HistoryExport:
    item_from(
        HistoryExportModel,
        export,
        criteria=json.dumps(export.criteria, ensure_ascii=False, sort_keys=True),
        expires=export.expires_at,
    ).save(condition=HistoryExportModel.export_id.does_not_exist())
    return export


def get_export(company_id: str, export_id: str) -> HistoryExport | None:
    try:
        return _export(HistoryExportModel.get(company_id, export_id, consistent_read=True))
    except DoesNotExist:
        return None


def take_export(company_id: str, export_id: str, now: datetime) -> HistoryExport | None:
    """Take an unfinished export for a new attempt (its rows counted again from none); None when
    it is done, failed or gone (a message delivered again after the export finished)."""
    item = HistoryExportModel(company_id, export_id)
    if not written(
        lambda: item.update(
            actions=[
                HistoryExportModel.state.set("running"),
                HistoryExportModel.attempt.add(1),
                HistoryExportModel.rows.set(0),
                HistoryExportModel.updated_at.set(now),
            ],
            condition=HistoryExportModel.state.is_in(*_UNFINISHED),
        )
    ):
        return None
    return _export(item)


def _still_mine(attempt: int) -> Condition:
    return (HistoryExportModel.state == "running") & (HistoryExportModel.attempt == attempt)


def count_rows(company_id: str, export_id: str, attempt: int, rows: int, now: datetime) -> bool:
    """The rows ``attempt`` has written so far; False when another attempt took the export."""
    item = HistoryExportModel(company_id, export_id)
    return written(
        lambda: item.update(
            actions=[HistoryExportModel.rows.set(rows), HistoryExportModel.updated_at.set(now)],
            condition=_still_mine(attempt),
        )
    )


def commit_part(
    company_id: str,
    export_id: str,
    attempt: int,
    *,
    after: str | None,
    progress: str,
    rows: int,
    now: datetime,
) -> bool:
    """An access report's part is kept: its progress is now ``progress`` (an S3 key), on condition
    that ``attempt`` still holds the export and its progress is still ``after`` (what the attempt
    went on from); True too when the write went through and its answer was lost (botocore's retry
    then finds the progress already ``progress``, each part's key being new). False: another
    attempt took it, or the export is gone (its client erased)."""
    item = HistoryExportModel(company_id, export_id)
    was = HistoryExportModel.progress == after if after else HistoryExportModel.progress.does_not_exist()
    if written(
        lambda: item.update(
            actions=[
                HistoryExportModel.progress.set(progress),
                HistoryExportModel.rows.set(rows),
                HistoryExportModel.updated_at.set(now),
            ],
            condition=_still_mine(attempt) & was,
        )
    ):
        return True
    kept = get_export(company_id, export_id)  # or it went through, and botocore's retry did not
    return kept is not None and (kept.state, kept.attempt, kept.progress) == ("running", attempt, progress)


def finish_export(
    company_id: str, export_id: str, attempt: int, *, rows: int, key: str, name: str, size: int, now: datetime
) -> bool:
    """Done, with its file: only while ``attempt`` still holds the export. True too when the write
    went through and its answer was lost (a timeout): botocore's retry then finds the export done,
    with this file (each file's key is new)."""
    item = HistoryExportModel(company_id, export_id)
    if written(
        lambda: item.update(
            actions=[
                HistoryExportModel.state.set("done"),
                HistoryExportModel.rows.set(rows),
                HistoryExportModel.file_key.set(key),
                HistoryExportModel.file_name.set(name),
                HistoryExportModel.file_size.set(size),
                HistoryExportModel.updated_at.set(now),
            ],
            condition=_still_mine(attempt),
        )
    ):
        return True
    done = get_export(company_id, export_id)
    return done is not None and (done.state, done.attempt, done.file_key) == ("done", attempt, key)


def fail_export(company_id: str, export_id: str, error: str, now: datetime) -> bool:
    """Failed, saying why (no file): only an unfinished export."""
    item = HistoryExportModel(company_id, export_id)
    return written(
        lambda: item.update(
            actions=[
                HistoryExportModel.state.set("failed"),
                HistoryExportModel.error.set(error),
                HistoryExportModel.updated_at.set(now),
            ],
            condition=HistoryExportModel.state.is_in(*_UNFINISHED),
        )
    )


#: The ``channel`` of a client's access report (``records.history.exports.ACCESS``), whose
#: ``criteria`` name the client (``{"client": <code>}``).
ACCESS_CHANNEL = "access"


def access_report_keys(company_id: str, client_id: str) -> list[tuple[HistoryExportModel, str | None]]:
    """Each of the client's access reports (to delete, its key only) with its file's key, if it has
    one: what the client's erasure removes. One Query of the company's exports (kept two days),
    filtered to the client's reports."""
    named = json.dumps({"client": client_id})[1:-1]  # criteria are JSON with sorted keys
    found = HistoryExportModel.query(
        company_id,
        filter_condition=(HistoryExportModel.channel == ACCESS_CHANNEL)
        & HistoryExportModel.criteria.contains(named),
    )
    return [
        (HistoryExportModel(company_id, item.export_id), item.file_key)
        for item in found
        if json.loads(item.criteria).get("client") == client_id
    ]
