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
from bench.notes_report import items_read, note_item
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


def statement_item(company_id: str, n: int, total: int, client: str, text: int, state: str = "sent") -> Any:
    """The stored item of the ``n``-th of ``total`` account statements e-mailed over a year."""
    from chalicelib.core.domain import Communication
    from chalicelib.store.communications import _item, new_communication_id

    moment = START + YEAR * n / total
    return _item(
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


def load(company_id: str, first: int, last: int, total: int, text: int) -> None:
    """Messages ``first`` to ``last`` (of ``total`` spread over a year, newest last)."""
    from chalicelib.store.models import CommunicationModel

    with CommunicationModel.batch_write() as batch:
        for n in range(first, last):
            client = BIG if n % 10 == 0 else f"CLI-{n % 50_000:05d}"
            batch.save(
                statement_item(company_id, n, total, client, text, "bounced" if n % 500 == 1 else "sent")
            )


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_growth(work: Any) -> tuple[Any, float, float, int]:
    """Run ``work()``: its answer, seconds, this process's CPU seconds and how much its resident
    memory grew meanwhile (bytes, sampled every 20 ms)."""
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        answer = work()
    finally:
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        done.set()
        sampler.join()
    return answer, seconds, cpu, max(0, max(peak[0], _rss()) - base)


def measured(api: Any, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """One GET through the API: DynamoDB requests, items read and read units, seconds, and the
    growth of this process's resident memory while it ran (sampled every 20 ms)."""
    meter = AwsMeter()
    with meter.active(), items_read() as read:
        response, seconds, cpu, memory = peak_growth(lambda: api.http.get(path, headers=headers))
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
        "memory_mb": round(memory / 1e6, 1),
        "bytes": len(response.body),
    }
    if response.headers.get("Content-Type") == XLSX:
        result["gateway_bytes"] = len(base64.b64encode(response.body))
    else:
        answer = json.loads(response.body or b"{}")
        result["rows"] = len(answer.get("items", [])) if isinstance(answer, dict) else None
        result["message"] = answer.get("message") if response.status_code >= 400 else None
    return result


# --- session 37: the other listings, the erasure of a big client, the backfills -----------------

NOBODY = "CLI-NADIE"
AUTHORS = [(f"user{n:02d}", ("north", "south")[n % 2], ("sales", "billing")[(n // 2) % 2]) for n in range(20)]
LONER = "solo4"  # a level-4 user who wrote none of CLI-BIG's notes


def _client_name(n: int) -> str:
    return f"{_WORDS[n % len(_WORDS)].title()} {_WORDS[(n * 7) % len(_WORDS)].title()} {n}"


def _batched(write: Any, count: int, chunk: int = 2_000) -> None:
    from bench._stack import parallel

    parallel(lambda start: write(start, min(start + chunk, count)), range(0, count, chunk), threads=4)


AGENTS = 20  # the preferred agents of the big company's clients


def load_clients(company_id: str, count: int) -> Any:
    """``count`` clients (CLI-00000 ...; CLI-BIG among them) with their search items, as a save
    writes them (BatchWriteItem), each with one of :data:`AGENTS` preferred agents, as a release
    from before the agents' counts wrote them (not counted: the company is as it was before ``ops
    clients count-agents``); the item in the middle of the listing."""
    from chalicelib.core.domain import Client
    from chalicelib.store.clients import _search_items
    from chalicelib.store.models import ClientModel, ClientSearchModel, PreferredAgentModel
    from chalicelib.store.preferred_agents import COUNTED

    PreferredAgentModel(company_id, COUNTED).delete()

    def client(code: str, n: int) -> Client:
        return Client(
            company_id,
            code,
            _client_name(n),
            (f"{code.lower()}@example.com",),
            (),
            (),
            {},
            f"agente{n % AGENTS:02d}",
            None,
            START,
        )

    def write(first: int, last: int) -> None:
        with ClientModel.batch_write() as clients, ClientSearchModel.batch_write() as search:
            for n in range(first, last):
                one = client(BIG if n == 0 else f"CLI-{n:05d}", n)
                clients.save(
                    ClientModel(
                        company_id,
                        one.client_id,
                        name=one.name,
                        emails=list(one.emails),
                        phones=[],
                        contacts=[],
                        message_switches={},
                        preferred_agent=one.preferred_agent,
                        updated_at=START,
                        version=1,
                    )
                )
                for item in _search_items(one).values():
                    search.save(item)

    _batched(write, count)
    return ClientModel.get(company_id, f"CLI-{count // 2:05d}")


def load_parcels(company_id: str, count: int) -> Any:
    """``count`` followed parcels with one follower each (``bench._stack``); the middle one."""
    from bench._stack import load_idle_subscriptions
    from chalicelib.store.models import ParcelModel
    from chalicelib.store.tracking import parcel_key

    load_idle_subscriptions([company_id], count)
    return ParcelModel.get(parcel_key(company_id, f"IDLE-{count // 2:07d}"))


def load_inbound(company_id: str, count: int) -> Any:
    """``count`` received messages no client matched, every other one an SMS; the middle one."""
    from chalicelib.core.domain import Communication
    from chalicelib.store.communications import _item, new_communication_id
    from chalicelib.store.models import CommunicationModel

    middle: list[Any] = []

    def write(first: int, last: int) -> None:
        with CommunicationModel.batch_write() as batch:
            for n in range(first, last):
                moment = START + YEAR * n / count
                sms = n % 2 == 1
                item = _item(
                    Communication(
                        company_id=company_id,
                        communication_id=new_communication_id(moment),
                        direction="in",
                        channel="sms" if sms else "email",
                        kind="inbound",
                        state="received",
                        created_at=moment,
                        updated_at=moment,
                        from_address=f"+54911{n:08d}" if sms else f"desconocido{n}@example.net",
                        to_address="+5491100000000" if sms else "entrada@inbound.example",
                        subject=None if sms else f"Consulta {n}",
                        text=body_text(n, 300),
                        unassigned=True,
                    )
                )
                batch.save(item)
                if n == count // 2:
                    middle.append(item)

    _batched(write, count)
    return middle[0]


def load_big_client(company_id: str, messages: int, others: int, text: int) -> None:
    """``messages`` e-mails to CLI-BIG and ``others`` to other clients, over a year."""
    from chalicelib.store.models import CommunicationModel

    total = messages + others
    every = max(1, total // max(1, messages))

    def write(first: int, last: int) -> None:
        with CommunicationModel.batch_write() as batch:
            for n in range(first, last):
                client = BIG if n % every == 0 and n // every < messages else f"CLI-{1 + n % 19_999:05d}"
                batch.save(statement_item(company_id, n, total, client, text))

    _batched(write, total)


def load_records(company_id: str, tickets: int, notes: int, suppressions: int, jobs: int) -> dict[str, Any]:
    """Tickets, notes (half on CLI-BIG, by 20 users of two branches and two departments; none by
    the level-4 ``LONER``), suppressions and send jobs; the middle item of each."""
    from chalicelib.core.domain import SendJob, StaffUser, Suppression, Ticket
    from chalicelib.store import staff
    from chalicelib.store.communications import new_communication_id
    from chalicelib.store.fields import item_from
    from chalicelib.store.models import ClientNoteModel, SendJobModel, SuppressionModel, TicketModel
    from chalicelib.store.outbox import _job_item

    for user_id, branch, department in [*AUTHORS, (LONER, "south", "billing")]:
        level = 4 if user_id == LONER else 3
        staff.save_user(
            StaffUser(company_id, user_id, level, name=user_id, branch=branch, department=department), START
        )
    staff.save_user(
        StaffUser(company_id, f"admin@{company_id}", 1, permissions=("change_preferred_agent",)), START
    )
    middle: dict[str, Any] = {}
    item: Any
    with TicketModel.batch_write() as batch:
        for n in range(tickets):
            item = item_from(
                TicketModel,
                Ticket(
                    company_id,
                    f"T-{n:06d}",
                    f"CLI-{1 + n % 19_999:05d}",
                    None,
                    None,
                    f"Reclamo {n}",
                    "sms",
                    START + YEAR * n / tickets,
                ),
            )
            batch.save(item)
            middle.setdefault("tickets", item) if n == tickets // 2 else None
    with ClientNoteModel.batch_write() as batch:
        for n in range(notes):
            user_id = AUTHORS[n % len(AUTHORS)][0]
            moment = START + YEAR * n / notes
            client_id = BIG if n % 2 == 0 else f"CLI-{1 + n % 19_999:05d}"
            item = note_item(company_id, user_id, client_id, n, moment)
            batch.save(item)
            if n == notes // 2:
                middle["notes"] = item
    with SuppressionModel.batch_write() as batch:
        for n in range(suppressions):
            item = item_from(
                SuppressionModel, Suppression(company_id, f"rebote{n:06d}@example.net", "bounce", START)
            )
            batch.save(item)
            if n == suppressions // 2:
                middle["suppressions"] = item
    with SendJobModel.batch_write() as batch:
        for n in range(jobs):
            moment = START + YEAR * n / jobs
            job = SendJob(
                company_id,
                new_communication_id(moment),
                "email",
                "aviso",
                "done",
                100,
                0,
                100,
                0,
                0,
                AUTHORS[n % len(AUTHORS)][0],
                moment,
                moment,
            )
            item = _job_item(job)
            batch.save(item)
            if n == jobs // 2:
                middle["sends"] = item
    return middle


def _cursor(page: dict[str, Any]) -> dict[str, Any]:
    raw = page.get("next_cursor")
    return json.loads(base64.urlsafe_b64decode(raw)) if raw else {}


def deep_cursor(api: Any, path: str, headers: dict[str, str], middle: Any) -> str:
    """The cursor of ``path`` that resumes at ``middle`` (the first page's cursor, its attributes
    taken from that item)."""
    from chalicelib.api.http import encode_cursor

    first = _cursor(json.loads(api.http.get(path, headers=headers).body))
    serialized = middle.serialize(null_check=False)
    return str(encode_cursor({name: serialized[name] for name in first}))


def erase(company_id: str, token_subject: str) -> dict[str, Any]:
    """CLI-BIG's erasure as it runs deployed: the request's first :data:`REQUEST_SECONDS`, then a
    run of :data:`RUN_SECONDS` for each minute, until it is done."""
    from chalicelib.core.domain import ClientErasure  # noqa: F401 (the job's type)
    from chalicelib.records import erasure
    from chalicelib.store import erasures as store
    from chalicelib.tenants.auth.principal import Principal

    caller = Principal(kind="user", company_id=company_id, subject=token_subject, level=1)
    key = store.erasure_key(company_id, BIG)
    meter, runs, longest = AwsMeter(), [], 0.0
    started = time.perf_counter()
    with meter.active(), items_read() as read:
        run_started = time.perf_counter()
        job: Any = erasure.start_erasure(caller, BIG)
        runs.append(time.perf_counter() - run_started)
        while job is not None and job.state == "erasing":
            run_started = time.perf_counter()
            job = erasure.run_erasure(company_id, key, erasure.RUN_SECONDS)
            runs.append(time.perf_counter() - run_started)
            if len(runs) > 500:
                break
    seconds = time.perf_counter() - started
    longest = max(runs)
    done = job is not None and job.state != "erasing"
    return {
        "what": "erasure of CLI-BIG",
        "state": job.state if job else None,
        "done": done,
        "messages": job.messages if job else None,
        "notes": job.notes if job else None,
        "runs": len(runs),
        "longest_run_seconds": round(longest, 1),
        "seconds": round(seconds, 1),
        "requests": sum(meter.dynamodb_calls().values()),
        "requests_by_operation": meter.dynamodb_calls(),
        "items_read": sum(read.values()),
        "read_units": round(
            sum(v for k, v in meter.capacity.items() if k in ("Query", "GetItem", "BatchGetItem")), 1
        ),
        "write_units": round(
            sum(v for k, v in meter.capacity.items() if k not in ("Query", "GetItem", "BatchGetItem")), 1
        ),
    }


def backfill(name: str, work: Any) -> dict[str, Any]:
    meter = AwsMeter()
    with meter.active(), items_read() as read:
        started = time.perf_counter()
        answer = work()
        seconds = time.perf_counter() - started
    return {
        "what": name,
        "answer": answer,
        "seconds": round(seconds, 1),
        "requests": sum(meter.dynamodb_calls().values()),
        "requests_by_operation": meter.dynamodb_calls(),
        "items_read": sum(read.values()),
        "capacity_units": round(sum(meter.capacity.values()), 1),
    }


def other_listings(args: argparse.Namespace) -> dict[str, Any]:
    """Session 37: one company with a big year; each listing's first page, a page deep in and a
    search that finds nothing; the erasure of CLI-BIG; the backfills."""
    with local_stack(IDENTITY.jwks_json()):
        from chalice.test import Client

        from app import app
        from chalicelib.tenants.clients import index_search
        from chalicelib.tenants.companies import get_company, index_listing

        company_id = make_company(None, "Distribuidora Grande")
        assert get_company(company_id) is not None
        started = time.perf_counter()
        middle: dict[str, Any] = {"clients": load_clients(company_id, args.clients)}
        middle["follow-ups"] = load_parcels(company_id, args.parcels)
        middle["inbound"] = load_inbound(company_id, args.inbound)
        middle |= load_records(company_id, args.tickets, args.notes, args.suppressions, args.jobs)
        load_big_client(company_id, args.big_messages, args.messages - args.big_messages, args.text)
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)

        def bearer(user_id: str, level: int, branch: str | None, department: str | None) -> dict[str, str]:
            token = IDENTITY.mint(
                company_id, user_id=user_id, level=level, branch=branch, department=department
            )
            return {"Authorization": f"Bearer {token}"}

        admin = bearer(f"admin@{company_id}", 1, None, None)
        loner = bearer(LONER, 4, "south", "billing")
        level2 = bearer("user00", 2, "north", "sales")
        rows: list[dict[str, Any]] = []
        with Client(app, stage_name="test") as api:
            listings: list[tuple[str, str, dict[str, str], str | None, str | None]] = [
                # (what, first page, as whom, the middle item it goes deep to, a search that finds nothing)
                ("clients", "/clients?limit=50", admin, "clients", "/clients?limit=50&q=zanahoria"),
                ("clients by e-mail", "/clients?limit=50&q=nadie@example.com", admin, None, None),
                ("follow-ups", "/follow-ups?limit=50", admin, "follow-ups", None),
                ("a parcel's followers", "/parcels/IDLE-0000001/subscriptions", admin, None, None),
                (
                    "a follower's alerts",
                    "/subscribers/seguidor1@example.com/alerts?limit=50",
                    admin,
                    None,
                    None,
                ),
                ("inbound unassigned", "/inbound/unassigned?limit=50", admin, "inbound", None),
                ("inbound unassigned, level 4", "/inbound/unassigned?limit=50", loner, None, None),
                (
                    "SMS received",
                    "/history/sms?limit=50&status=received",
                    admin,
                    None,
                    "/history/sms?limit=50&q=zanahoria",
                ),
                ("tickets", "/tickets?limit=50", admin, "tickets", f"/tickets?limit=50&client_id={NOBODY}"),
                ("CLI-BIG notes", f"/clients/{BIG}/notes?limit=50", admin, None, None),
                ("CLI-BIG notes, level 4 (none his)", f"/clients/{BIG}/notes?limit=50", loner, None, None),
                (
                    "notes report",
                    "/notes/report?limit=50",
                    admin,
                    None,
                    f"/notes/report?limit=50&client={NOBODY}",
                ),
                ("notes report, level 2", "/notes/report?limit=50", level2, None, None),
                ("notes report CLI-BIG, level 4", f"/notes/report?limit=50&client={BIG}", loner, None, None),
                (
                    "CLI-BIG register",
                    f"/clients/{BIG}/register?limit=50",
                    admin,
                    None,
                    f"/clients/{BIG}/register?limit=50&q=zanahoria",
                ),
                (
                    "suppressions",
                    "/suppressions?limit=50",
                    admin,
                    "suppressions",
                    "/suppressions?limit=50&q=nadie@example.com",
                ),
                ("send jobs", "/sends?limit=50", admin, "sends", None),
                ("send jobs, level 4 (none his)", "/sends?limit=50", loner, None, None),
                ("preferred agents", "/preferred-agents", admin, None, None),
            ]
            if args.only:  # some listings only, without the erasure and the backfills
                listings = [listing for listing in listings if listing[0] in args.only]
            for what, path, headers, deep, nothing in listings:
                asked = [("first page", path)]
                if deep:
                    asked.append(
                        ("deep page", f"{path}&cursor={deep_cursor(api, path, headers, middle[deep])}")
                    )
                if nothing:
                    asked.append(("finds nothing", nothing))
                for page, url in asked:
                    row = {"what": what, "page": page, **measured(api, url, headers)}
                    print(row, flush=True)
                    rows.append(row)
            counted: list[dict[str, Any]] = []
            if any(listing[0] == "preferred agents" for listing in listings):
                # session 39: the clients counted under their agents once, then the same listing
                from chalicelib.tenants.staff_agents import count_clients

                counted.append(backfill("ops clients count-agents", lambda: count_clients(company_id)))
                print(counted[-1], flush=True)
                row = {"what": "preferred agents, counted", "page": "first page"}
                row |= measured(api, "/preferred-agents", admin)
                print(row, flush=True)
                rows.append(row)
        erasure: dict[str, Any] = {}
        backfills: list[dict[str, Any]] = []
        if not args.only:
            erasure = erase(company_id, f"admin@{company_id}")
            print(erasure, flush=True)
            backfills = [
                *counted,
                backfill("ops clients index-search", lambda: index_search(company_id)),
                backfill("ops company index-listing", index_listing),
            ]
        for row in backfills:
            print(row, flush=True)
    print(
        table(
            ["what", "page", "status", "rows", "requests", "items read", "RRU", "s"],
            [
                [
                    r["what"],
                    r["page"],
                    r["status"],
                    r.get("rows", ""),
                    r["requests"],
                    r["items_read"],
                    r["read_units"],
                    r["seconds"],
                ]
                for r in rows
            ],
        )
    )
    return {"arguments": vars(args), "rows": rows, "erasure": erasure, "backfills": backfills}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--text", type=int, default=1500)
    parser.add_argument(
        "--other", action="store_true", help="session 37: the other listings, an erasure, the backfills"
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--big-messages", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--parcels", type=int, default=20_000)
    parser.add_argument("--inbound", type=int, default=5_000)
    parser.add_argument("--tickets", type=int, default=2_000)
    parser.add_argument("--notes", type=int, default=2_000)
    parser.add_argument("--suppressions", type=int, default=5_000)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="LISTING",
        help="with --other: measure only these listings (their names in the table), no erasure or backfills",
    )
    args = parser.parse_args()
    if args.other and args.only:  # a partial run: printed, the kept results left as they are
        other_listings(args)
        return
    if args.other:
        from bench._stack import result_path

        kept = json.loads(result_path("big_tenant").read_text())
        kept.pop("benchmark", None)
        kept["other_listings"] = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **other_listings(args),
        }
        write_result("big_tenant", kept)
        return

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
