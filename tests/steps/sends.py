"""Manual and bulk sends (``/sends``) as staff follow them."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.aws import dynamodb_requests
from tests.steps.tenants import Tenant

# A custom template that names each client, for sends that page through many of them.
PAGE_CLIENTS_NOTICE = {
    "subject": "Aviso para {{ client.name }}",
    "text": "Hola {{ client.name }}",
    "html": "<p>Hola {{ client.name }}</p>",
    "sender_area": "tracking",
}


def job_of(api: Client, tenant: Tenant, job_id: str) -> dict[str, Any]:
    response = api.http.get(f"/sends/{job_id}", headers=tenant.staff_headers())
    assert response.status_code == 200, response.body
    return dict(body(response))


def progress(job: dict[str, Any]) -> tuple[Any, ...]:
    return job["state"], job["total"], job["sent"], job["failed"], job["skipped"], job["waiting"]


def expand_pages(limit: int | None = None) -> int:
    """Run only the send-job workers (``on_sqs_message``) until their queue is empty (or ``limit``
    polls): the pages are in the outbox, nothing is delivered yet. Returns how many pages ran."""
    from app import app
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.name == "expand_send_job"]
    pages = polls = 0
    while (limit is None or polls < limit) and (handled := worker.poll_once()):
        pages += handled
        polls += 1
    return pages


def sender_account_reads() -> AbstractContextManager[list[str]]:
    """The DynamoDB requests our store sends to the sender accounts' table while inside."""
    from chalicelib.store.models import SenderAccountModel

    return dynamodb_requests(SenderAccountModel)
