"""A big tenant: what one page of the history and the register, and one export, cost as the
company's history grows.

    uv run python -m bench.big_tenant [--sizes 20000 100000] [--text 1500]

One company whose e-mail history grows to each of ``--sizes`` messages (written with
BatchWriteItem through the store's own item builder, not timed), to 50,000 clients; one client in
ten messages is ``CLI-BIG`` (10,000 messages at 100,000). Every text body is ``--text``
characters of ordinary Spanish (an account statement's e-mail). At each size, through the API
(Chalice's test client, an administrator's token), it measures: DynamoDB requests, items read
(Query ``ScannedCount`` + BatchGetItem items) and seconds of one page of 50 of the history (plain,
bounced, searched for a word no message holds, one client's), of CLI-BIG's register (plain and
searched), and of the history's export of the newest 10,000 rows (the cap), of a search no
message matches and CLI-BIG's register export: seconds, this process's CPU seconds (and them at
the 0.29 vCPU of the API function's 512 MB), how much this process's resident memory grew while
it ran (sampled every 20 ms), the file's bytes and the bytes its API Gateway answer would carry
(base64), against Lambda's 512 MB / 60 s of the API function and API Gateway's 29 s / 6 MB.
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench._stack import AwsMeter, local_stack, make_company, table, write_result
from bench.notes_report import items_read
from infrastructure.local.identity import LocalIdentity

START = datetime(2025, 12, 1, 12, 0, tzinfo=timezone.utc)
YEAR = timedelta(days=365)
BIG = "CLI-BIG"
IDENTITY = LocalIdentity()
GATEWAY_BYTES = 6 * 1024 * 1024
LAMBDA_CPU_STRETCH = 1769 / 512  # the API function's 512 MB (.chalice/config.json) buy 0.29 vCPU
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SENTENCE = (
    "Estimado cliente le enviamos el resumen de su cuenta corriente al cierre del mes con los "
    "comprobantes pendientes de pago el saldo a la fecha y los vencimientos de las proximas semanas "
    "ante cualquier consulta responda este correo o comuniquese con nuestra oficina de cobranzas"
)
_WORDS = _SENTENCE.split()


def body_text(n: int, size: int) -> str:
    words: list[str] = []
    length = 0
    i = n
    while length < size:
        word = _WORDS[i % len(_WORDS)] if i % 7 else f"{_WORDS[i % len(_WORDS)]}{i % 9973}"
        words.append(word)
        length += len(word) + 1
        i += 3
    return " ".join(words)[:size]


def load(company_id: str, first: int, last: int, total: int, text: int) -> None:
    """Messages ``first`` to ``last`` (of ``total`` spread over a year, newest last)."""
    from chalicelib.core.domain import Communication
    from chalicelib.store.communications import _item, new_communication_id
    from chalicelib.store.models import CommunicationModel

    with CommunicationModel.batch_write() as batch:
        for n in range(first, last):
            moment = START + YEAR * n / total
            client = BIG if n % 10 == 0 else f"CLI-{n % 50_000:05d}"
            state = "bounced" if n % 500 == 1 else "sent"
            batch.save(
                _item(
                    Communication(
                        company_id=company_id,
                        communication_id=new_communication_id(moment),
                        direction="out",
                        channel="email",
                        kind="automatic",
                        state=state,
                        created_at=moment,
                        updated_at=moment,
                        sent_at=moment,
                        message_type="statement",
                        client_id=client,
                        outbox="billing",
                        sender_area="billing",
                        from_address="cobranzas@estudio.example",
                        to_address=f"{client.lower()}@example.com",
                        subject=f"Resumen de cuenta {n}",
                        text=body_text(n, text),
                    )
                )
            )


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measured(api: Any, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """One GET through the API: DynamoDB requests, items read and read units, seconds, and the
    growth of this process's resident memory while it ran (sampled every 20 ms)."""
    meter = AwsMeter()
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with meter.active(), items_read() as read:
        started, cpu = time.perf_counter(), time.process_time()
        response = api.http.get(path, headers=headers)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    sampler.join()
    result: dict[str, Any] = {
        "status": response.status_code,
        "requests": sum(meter.dynamodb_calls().values()),
        "items_read": sum(read.values()),
        "read_units": round(sum(meter.capacity.values()), 1),
        "seconds": round(seconds, 2),
        # this process's CPU (the API's code; DynamoDB Local is a process of its own), and that
        # stretched to the 0.29 vCPU a 512 MB Lambda function gets (1,769 MB buy one vCPU)
        "cpu_seconds": round(cpu, 2),
        "lambda_seconds": round(cpu * LAMBDA_CPU_STRETCH, 1),
        "memory_mb": round(max(0, max(peak[0], _rss()) - base) / 1e6, 1),
        "bytes": len(response.body),
    }
    if response.headers.get("Content-Type") == XLSX:
        result["gateway_bytes"] = len(base64.b64encode(response.body))
    else:
        answer = json.loads(response.body or b"{}")
        result["rows"] = len(answer.get("items", [])) if isinstance(answer, dict) else None
        result["message"] = answer.get("message") if response.status_code >= 400 else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--text", type=int, default=1500)
    args = parser.parse_args()

    with local_stack(IDENTITY.jwks_json()):
        from chalice.test import Client

        from app import app
        from chalicelib.tenants.clients import save_client
        from chalicelib.tenants.companies import get_company

        company_id = make_company(None, "Estudio Contable Grande")
        assert get_company(company_id) is not None
        for client in (BIG, "CLI-00003"):
            save_client(
                company_id,
                client,
                name=f"Cliente {client}",
                emails=[f"{client.lower()}@example.com"],
                phones=[],
                contacts=[],
                message_switches={},
                preferred_agent=None,
                collection_agent=None,
            )
        token = IDENTITY.mint(company_id, user_id=f"admin@{company_id}", level=1)
        headers = {"Authorization": f"Bearer {token}", "Accept": XLSX}
        total, results, written = max(args.sizes), [], 0
        # the newest 10,000 of the history at each size (9,999: the range starts just after the
        # 10,000th newest): an export at the cap
        with Client(app, stage_name="test") as api:
            for size in sorted(args.sizes):
                started = time.perf_counter()
                load(company_id, written, size, total, args.text)
                print(
                    f"loaded {size - written} messages in {time.perf_counter() - started:.0f} s", flush=True
                )
                written = size
                first_kept = START + YEAR * max(0, size - 10_000) / total + timedelta(seconds=1)
                newest = first_kept.strftime("%Y-%m-%dT%H:%M:%SZ")
                routes = {
                    "history page": "/history/email?limit=50",
                    "history bounced page": "/history/email?limit=50&status=bounced",
                    "history search (no match)": "/history/email?limit=50&q=zanahoria",
                    "history one client's page": "/history/email?limit=50&client=CLI-00003",
                    "register CLI-BIG page": f"/clients/{BIG}/register?limit=50",
                    "register CLI-BIG search (no match)": f"/clients/{BIG}/register?limit=50&q=zanahoria",
                    "history export (newest 10,000)": f"/history/email/export?from={newest}",
                    "history export searched (no match)": "/history/email/export?q=zanahoria",
                    "register CLI-BIG export": f"/clients/{BIG}/register/export",
                }
                for name, path in routes.items():
                    row = {"size": size, "what": name, **measured(api, path, headers)}
                    print(row, flush=True)
                    results.append(row)
    print(
        table(
            [
                "size",
                "what",
                "status",
                "requests",
                "items read",
                "RRU",
                "s",
                "CPU s",
                "at 512 MB",
                "memory MB",
                "bytes",
                "base64",
            ],
            [
                [
                    r["size"],
                    r["what"],
                    r["status"],
                    r["requests"],
                    r["items_read"],
                    r["read_units"],
                    r["seconds"],
                    r["cpu_seconds"],
                    r["lambda_seconds"],
                    r["memory_mb"],
                    r["bytes"],
                    r.get("gateway_bytes", ""),
                ]
                for r in results
            ],
        )
    )
    write_result(
        "big_tenant", {"arguments": vars(args), "rows": results, "gateway_limit_bytes": GATEWAY_BYTES}
    )


if __name__ == "__main__":
    main()
