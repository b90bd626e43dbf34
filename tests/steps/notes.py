"""Staff users of a company as the notes tests need them, and reading notes back."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.tenants import IDENTITY, Tenant


def staff_headers(
    tenant: Tenant,
    user_id: str,
    level: int,
    *,
    branch: str | None = None,
    department: str | None = None,
    name: str | None = None,
) -> dict[str, str]:
    """The headers of a staff user whose token carries these claims."""
    token = IDENTITY.mint(
        tenant.company_id, user_id=user_id, level=level, branch=branch, department=department, name=name
    )
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def add_department(api: Client, tenant: Tenant, code: str, name: str) -> None:
    """The administrator adds a department to the company's staff directory (as writing notes
    needs one: N1)."""
    added = api.http.post(
        "/staff/units/departments",
        headers=tenant.admin_headers(),
        body=json.dumps({"code": code, "name": name}),
    )
    assert added.status_code == 201, added.body


def write_note(api: Client, headers: dict[str, str], client_id: str, text: str, **fields: Any) -> Any:
    response = api.http.post(
        f"/clients/{client_id}/notes", headers=headers, body=json.dumps({"note": text, **fields})
    )
    assert response.status_code == 201, response.body
    return body(response)


def client_notes(api: Client, headers: dict[str, str], client_id: str) -> list[str]:
    """The texts of a client's notes the user sees, newest first (every page)."""
    texts: list[str] = []
    cursor = ""
    while True:
        response = api.http.get(f"/clients/{client_id}/notes?limit=2{cursor}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        texts += [n["note"] for n in page["items"]]
        if not page["next_cursor"]:
            return texts
        cursor = f"&cursor={page['next_cursor']}"


def report(api: Client, headers: dict[str, str], query: str = "", limit: int = 3) -> list[dict[str, Any]]:
    """Every row of the notes report, page by page."""
    return [row for page in report_pages(api, headers, query, limit) for row in page]


def report_pages(api: Client, headers: dict[str, str], query: str, limit: int) -> list[list[dict[str, Any]]]:
    """The rows of each page of the notes report, following «Más» (its cursor) to its end."""
    pages: list[list[dict[str, Any]]] = []
    cursor = ""
    while True:
        response = api.http.get(f"/notes/report?limit={limit}{query}{cursor}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        pages.append(page["items"])
        if not page["next_cursor"]:
            return pages
        cursor = f"&cursor={page['next_cursor']}"


def export_lines(api: Client, headers: dict[str, str], query: str = "") -> list[tuple[Any, ...]]:
    """The rows of the report's Excel file, header first."""
    from openpyxl import load_workbook

    from tests.steps.history import XLSX

    response = api.http.get(f"/notes/report/export?x=1{query}", headers={**headers, "Accept": XLSX})
    assert response.status_code == 200, response.body
    raw = response.body if isinstance(response.body, bytes) else base64.b64decode(response.body)
    sheet: Any = load_workbook(io.BytesIO(raw)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def many_clients(
    company_id: str, count: int, agent: str, prefix: str = "BULK", *, counted: bool = True
) -> list[str]:
    """``count`` clients of ``agent``, written as the store keeps them (in batches: the back
    office's one-by-one pushes would take minutes), counted under the agent as a save counts
    them; not ``counted``: as written before the counts (an older release's clients)."""
    from datetime import datetime, timezone

    from chalicelib.store.models import ClientModel, PreferredAgentModel

    ids = [f"{prefix}-{n:05d}" for n in range(count)]
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with ClientModel.batch_write() as batch:
        for client_id in ids:
            batch.save(
                ClientModel(
                    company_id,
                    client_id,
                    name=f"Cliente {client_id}",
                    emails=[],
                    phones=[],
                    contacts=[],
                    message_switches={},
                    preferred_agent=agent,
                    updated_at=now,
                    agent_counted=True if counted else None,
                )
            )
    if counted:
        PreferredAgentModel(company_id, agent).update(actions=[PreferredAgentModel.clients.add(count)])
    return ids


def agents(api: Client, headers: dict[str, str]) -> dict[str, int]:
    response = api.http.get("/preferred-agents", headers=headers)
    assert response.status_code == 200, response.body
    return {a["agent"]: a["clients"] for a in body(response)["items"]}


def run_agent_change_workers() -> int:
    """Run only the preferred-agent change workers until their queue is empty; pages run."""
    from app import app
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.name == "move_agent_clients"]
    pages = 0
    while handled := worker.poll_once():
        pages += handled
    return pages


def lose_an_agent_change_page() -> int:
    """One page's SQS message of a preferred-agent change is lost (as after its retries, in the
    dead-letter queue): taken off the queue unrun. Returns its page number."""
    import json

    from chalicelib.core.aws import client
    from chalicelib.tenants.staff_agents import agent_changes_queue

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=agent_changes_queue())["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return int(json.loads(message["Body"])["page"])
