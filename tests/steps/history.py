"""Messages in the history: e-mails queued through the real outbox, exports as spreadsheets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.steps.tenants import Tenant

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_email(
    tenant: Tenant,
    to: str,
    subject: str,
    *,
    client_id: str | None = None,
    kind: str = "automatic",
    area: str = "tracking",
    created_by: str | None = None,
    attachments: tuple[Any, ...] = (),
) -> str:
    """Queue one e-mail through the real outbox; returns its communication id."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    [comm] = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=to,
                subject=subject,
                text=f"Texto de {subject}",
                html=f"<p>Texto de {subject}</p>",
                client_id=client_id,
                kind=kind,
                area=area,
                created_by=created_by,
                attachments=attachments,
            )
        ],
    )
    return comm.communication_id


def queue_emails(
    tenant: Tenant, subjects: list[str], *, kind: str = "automatic", text: str = ""
) -> list[str]:
    """Queue one e-mail per subject through the real outbox, in one call (created in that order),
    for a drain (not handed to a worker by id, so each is listed under "not sent" until it is
    sent); returns their communication ids."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    queued = enqueue(
        tenant.company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"cliente{n}@example.com",
                subject=subject,
                text=text or f"Texto de {subject}",
                html=f"<p>{text or subject}</p>",
                kind=kind,
                area="tracking",
            )
            for n, subject in enumerate(subjects)
        ],
        handoff=False,
    )
    return [comm.communication_id for comm in queued]


STATUS_FILTERS = ("sent", "not_sent", "bounced", "received")


def listed(api: Any, headers: dict[str, str], query: str = "", channel: str = "email") -> list[str]:
    """Every subject (or, without one, recipient) a channel's history lists for ``query``, newest first,
    following its cursors page by page."""
    import json

    shown: list[str] = []
    cursor = ""
    for _ in range(100):
        params = "&".join(part for part in (query, cursor) if part)
        response = api.http.get(f"/history/{channel}?{params}", headers=headers)
        assert response.status_code == 200, response.body
        page = json.loads(response.body)
        shown += [item["subject"] or item["to_address"] for item in page["items"]]
        if not page["next_cursor"]:
            return shown
        cursor = f"cursor={page['next_cursor']}"
    raise AssertionError("the cursor does not move on")


def by_status_filter(api: Any, tenant: Tenant, channel: str = "email") -> dict[str, list[str]]:
    """What staff see under each status filter of a channel's history."""
    return {
        group: listed(api, tenant.staff_headers(), f"status={group}", channel) for group in STATUS_FILTERS
    }


def status_key_of(tenant: Tenant, communication_id: str) -> str | None:
    """The message's ``by-status`` key as DynamoDB holds the item (None: it has no entry there)."""
    from chalicelib.store.models import CommunicationModel

    item = CommunicationModel.get(tenant.company_id, communication_id, consistent_read=True)
    return item.status_key


def register_tables(api: Any, tenant: Tenant) -> None:
    """The company's administrator adds two motives and two areas to the register's tables."""
    import json

    for table, code, name in [
        ("motives", "cobro", "Cobro de honorarios"),
        ("motives", "consulta", "Consulta fiscal"),
        ("areas", "fiscal", "Área fiscal"),
        ("areas", "laboral", "Área laboral"),
    ]:
        answer = api.http.post(
            f"/register/{table}",
            headers=tenant.admin_headers(),
            body=json.dumps({"code": code, "name": name}),
        )
        assert answer.status_code == 201, answer.body


def add_register_record(api: Any, headers: dict[str, str], client_id: str, **fields: Any) -> Any:
    """Staff note a record by hand in the client's register; returns the record."""
    import json

    answer = api.http.post(f"/clients/{client_id}/register", headers=headers, body=json.dumps(fields))
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def register_items(api: Any, headers: dict[str, str], client_id: str) -> list[Any]:
    """The client's register as ``headers`` see it, newest first (its first page)."""
    import json

    answer = api.http.get(f"/clients/{client_id}/register", headers=headers)
    assert answer.status_code == 200, answer.body
    return list(json.loads(answer.body)["items"])


def set_company_zone(api: Any, tenant: Tenant, time_zone: str, locale: str) -> None:
    """The company's administrator sets where the company is (PATCH /company)."""
    import json

    answer = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": time_zone, "locale": locale}),
    )
    assert answer.status_code == 200, answer.body


def write_history(
    company_id: str,
    count: int,
    newest: datetime,
    *,
    created_by: str | None = None,
    kind: str = "automatic",
    client_id: str | None = None,
) -> list[str]:
    """A long e-mail history written straight into the table (``store.communications.save_many``,
    as ``bench.big_tenant`` loads a year's): ``count`` sent messages a minute apart, the newest at
    ``newest``, each to its own client (``CLI-00000`` the oldest), or all to ``client_id``. Returns
    their ids, newest first."""
    from datetime import timedelta

    from chalicelib.core.domain import Communication
    from chalicelib.store.communications import new_communication_id, save_many

    messages = []
    for n in range(count):
        moment = newest - timedelta(minutes=count - 1 - n)
        messages.append(
            Communication(
                company_id=company_id,
                communication_id=new_communication_id(moment),
                direction="out",
                channel="email",
                kind=kind,
                state="sent",
                created_at=moment,
                updated_at=moment,
                sent_at=moment,
                message_type="statement",
                client_id=client_id or f"CLI-{n:05d}",
                outbox="billing",
                sender_area="billing",
                from_address="cobranzas@estudio.example",
                to_address=f"cli-{n:05d}@example.com",
                subject=f"Resumen de cuenta {n}",
                text=f"Saldo al cierre: {n} pesos",
                created_by=created_by,
            )
        )
    save_many(messages)
    return [m.communication_id for m in reversed(messages)]


def run_export_workers(
    visibility_timeout: int | None = None, results: list[Any] | None = None
) -> list[dict[str, int]]:
    """Run only the history export workers until their queue is empty (a worker that fails leaves
    its message for SQS to deliver again after ``visibility_timeout`` seconds, the queue's own
    when None); returns each run's counts (appended to ``results`` as they come, when given: a
    run stopped from outside leaves the counts of those before it)."""
    from app import app
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.name == "build_history_export"]
    worker.visibility_timeout = visibility_timeout
    results = [] if results is None else results
    while worker.poll_once(results=results):
        pass
    return results


class LambdaTimedOut(BaseException):
    """What a Lambda function at its time limit is: stopped from outside, no ``except Exception``
    of ours runs (so no attempt, not even the last, can mark its export failed)."""


def time_out_every_delivery(deadline_seconds: float = 15) -> int:
    """Hand the export workers' requests to a worker that is stopped (:class:`LambdaTimedOut`, the
    test's patch raising it) on each delivery, each visible again at once, until SQS moves them to
    the dead-letter queue (the receive after the fifth); returns how many deliveries were stopped."""
    import time

    stopped = 0
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            if not run_export_workers(visibility_timeout=0):
                return stopped
        except LambdaTimedOut:
            stopped += 1
    raise AssertionError(f"the requests did not reach the dead-letter queue ({stopped} deliveries stopped)")


def run_dead_export_workers() -> list[dict[str, int]]:
    """Run the worker of the exports' dead-letter queue until it is empty (SQS moves a request
    there on the receive after its fifth); returns each run's counts."""
    from app import app
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.name == "give_up_history_export"]
    results: list[Any] = []
    while worker.poll_once(results=results):
        pass
    return results


def exported_rows(download_url: str) -> list[tuple[Any, ...]]:
    """The rows of the .xlsx file a download link gives (its header first)."""
    import io

    import requests
    from openpyxl import load_workbook

    response = requests.get(download_url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Disposition"].startswith("attachment;")  # saved, never shown
    sheet: Any = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]
