"""Notes report cost (N3): DynamoDB requests and items read per note returned.

    uv run python -m bench.notes_report [--notes 50000] [--authors 20] [--page 200]

One company with ``--authors`` staff users spread over two branches and two departments, who wrote
``--notes`` notes (written with BatchWriteItem through the PynamoDB models, not timed) on 500
clients over 100 days. A level-2 user of one branch walks the whole report page by page through the
same use case ``GET /notes/report`` calls (``records.notes.report_page``); every botocore call and
every item DynamoDB read (``ScannedCount`` of a Query, the item of a GetItem) is counted.

Target: <= 1.2 items read per note returned (no read-then-filter of the company's notes).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any

from bench._stack import AwsMeter, local_stack, make_company, table, write_result

TARGET_ITEMS_PER_ROW = 1.2
START = datetime(2026, 8, 1, 12, 0, tzinfo=timezone.utc)


@contextmanager
def items_read() -> Iterator[Counter[str]]:
    """Counts the items DynamoDB reads for each call (Query/Scan: ScannedCount; GetItem: 1 when
    found; BatchGetItem: the items answered)."""
    from botocore.client import BaseClient

    original = getattr(BaseClient, "_make_api_call")  # noqa: B009
    counted: Counter[str] = Counter()
    lock = threading.Lock()

    def counting(client: Any, operation: str, params: Any) -> Any:
        response = original(client, operation, params)
        if client.meta.service_model.service_name == "dynamodb" and isinstance(response, dict):
            if operation in ("Query", "Scan"):
                read = int(response.get("ScannedCount", 0))
            elif operation == "GetItem":
                read = 1 if "Item" in response else 0
            elif operation == "BatchGetItem":
                read = sum(len(v) for v in response.get("Responses", {}).values())
            else:
                read = 0
            with lock:
                counted[operation] += read
        return response

    setattr(BaseClient, "_make_api_call", counting)  # noqa: B010
    try:
        yield counted
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def load(company_id: str, notes: int, authors: int) -> list[tuple[str, str, str]]:
    """The directory (users in branches north/south x departments sales/billing) and the notes."""
    from chalicelib.core.domain import StaffUser
    from chalicelib.store import staff
    from chalicelib.store.models import ClientNoteModel

    people = [
        (f"user{n:02d}", ("north", "south")[n % 2], ("sales", "billing")[(n // 2) % 2])
        for n in range(authors)
    ]
    for user_id, branch, department in people:
        staff.save_user(
            StaffUser(company_id, user_id, 3, name=user_id, branch=branch, department=department), START
        )
    with ClientNoteModel.batch_write() as batch:
        for n in range(notes):
            user_id = people[n % authors][0]
            moment = START + timedelta(minutes=n * 100 * 24 * 60 // notes)
            client_id = f"CLI-{n % 500:03d}"
            batch.save(note_item(company_id, user_id, client_id, n, moment))
    return people


def note_item(company_id: str, user_id: str, client_id: str, n: int, moment: datetime) -> Any:
    """The stored item of the ``n``-th note, by ``user_id`` on ``client_id`` at ``moment``."""
    from chalicelib.store.communications import new_communication_id
    from chalicelib.store.models import ClientNoteModel

    return ClientNoteModel(
        f"{company_id}#{user_id}",
        new_communication_id(moment),
        company_id=company_id,
        author=user_id,
        client_id=client_id,
        client_key=f"{company_id}#{client_id}",
        note=f"Llamada {n}: pide presupuesto",
        location="oficina",
        created_at=moment,
        updated_at=moment,
    )


def walk(viewer: Any, criteria: Any, page: int) -> dict[str, Any]:
    from chalicelib.records.notes import report_page

    meter = AwsMeter()
    rows = pages = 0
    with meter.active(), items_read() as read:
        started = time.perf_counter()
        cursor = None
        while True:
            answer = report_page(viewer, criteria, page, cursor)
            rows += len(answer.rows)
            pages += 1
            if answer.cursor is None:
                break
            cursor = answer.cursor
        seconds = time.perf_counter() - started
    requests = sum(meter.dynamodb_calls().values())
    items = sum(read.values())
    return {
        "rows": rows,
        "pages": pages,
        "dynamodb_requests": requests,
        "requests_by_operation": meter.dynamodb_calls(),
        "items_read": items,
        "items_read_per_row": round(items / rows, 4) if rows else None,
        "requests_per_row": round(requests / rows, 4) if rows else None,
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notes", type=int, default=50_000)
    parser.add_argument("--authors", type=int, default=20)
    parser.add_argument("--page", type=int, default=200)
    args = parser.parse_args()
    with local_stack():
        from chalicelib.records.notes import ReportCriteria
        from chalicelib.tenants.auth.principal import Principal

        company_id = make_company(None)
        started = time.perf_counter()
        load(company_id, args.notes, args.authors)
        print(f"loaded {args.notes:,} notes in {time.perf_counter() - started:.0f} s")
        lead = Principal(company_id, "user", "lead", level=2, branch="north")
        scenarios = {
            "level 2, whole report": ReportCriteria(),
            "level 2, grouped by department": ReportCriteria(by_department=True),
            "level 2, 10 days": ReportCriteria(first=date(2026, 9, 1), last=date(2026, 9, 10)),
            "level 2, last three per client": ReportCriteria(last_three=True),
        }
        results = {name: walk(lead, criteria, args.page) for name, criteria in scenarios.items()}
    rows = [
        [
            name,
            r["rows"],
            r["pages"],
            r["dynamodb_requests"],
            r["items_read"],
            r["items_read_per_row"],
            r["seconds"],
        ]
        for name, r in results.items()
    ]
    print(table(["scenario", "rows", "pages", "requests", "items read", "items/row", "s"], rows))
    headline = results["level 2, whole report"]["items_read_per_row"]
    print(f"items read per row (whole report): {headline} (target <= {TARGET_ITEMS_PER_ROW})")
    path = write_result(
        "notes_report",
        {
            "notes": args.notes,
            "authors": args.authors,
            "page": args.page,
            "target_items_per_row": TARGET_ITEMS_PER_ROW,
            "met": headline is not None and headline <= TARGET_ITEMS_PER_ROW,
            "scenarios": results,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
