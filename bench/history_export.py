"""A year's history exported in the background: what the export worker takes for 50,000 rows.

    uv run python -m bench.history_export [--rows 50000] [--text 1500]

One company's e-mail history of ``--rows`` messages over a year (written as ``bench.big_tenant``
writes it, not timed; ``--text`` characters of ordinary Spanish in each body). An administrator
asks for the whole history's export through the API (``POST /history/email/exports``), and the
worker (``build_history_export``, as the local queue runner invokes it) builds it: seconds, this
process's CPU seconds (and them at the 0.29 vCPU of the worker's 512 MB), how much this process's
resident memory grew while it ran (sampled every 20 ms), the file's bytes, and the rows the export
says it holds, counted again in the file itself.
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

from bench._stack import local_stack, make_company, table, write_result
from bench.big_tenant import IDENTITY, LAMBDA_CPU_STRETCH, load, peak_growth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--text", type=int, default=1500)
    args = parser.parse_args()

    with local_stack(IDENTITY.jwks_json()):
        import requests
        from chalice.test import Client
        from openpyxl import load_workbook

        from app import app
        from infrastructure.local.queues import consumers

        company_id = make_company(None, "Estudio Contable Grande")
        started = time.perf_counter()
        load(company_id, 0, args.rows, args.rows, args.text)
        print(f"loaded {args.rows} messages in {time.perf_counter() - started:.0f} s", flush=True)
        token = IDENTITY.mint(company_id, user_id=f"admin@{company_id}", level=1)
        headers = {"Authorization": f"Bearer {token}"}
        [worker] = [c for c in consumers(app) if c.name == "build_history_export"]
        with Client(app, stage_name="test") as api:
            import json

            asked = json.loads(api.http.post("/history/email/exports", headers=headers, body="{}").body)
            results: list[Any] = []
            handled, seconds, cpu, memory = peak_growth(lambda: worker.poll_once(results=results))
            export = json.loads(
                api.http.get(f"/history/email/exports/{asked['export_id']}", headers=headers).body
            )
        assert handled == 1 and export["state"] == "done", (results, export)
        data = requests.get(export["download_url"], timeout=60).content
        sheet: Any = load_workbook(io.BytesIO(data), read_only=True).active
        in_file = sum(1 for _ in sheet.iter_rows(min_row=2, values_only=True))
        row = {
            "rows": export["rows"],
            "rows_in_file": in_file,
            "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu, 1),
            "lambda_seconds": round(cpu * LAMBDA_CPU_STRETCH, 1),
            "memory_mb": round(memory / 1e6, 1),
            "file_bytes": len(data),
        }
    print(
        table(
            ["rows", "rows in file", "s", "CPU s", "at 512 MB", "memory MB", "file bytes"],
            [list(row.values())],
        )
    )
    write_result("history_export", {"arguments": vars(args), **row})


if __name__ == "__main__":
    main()
