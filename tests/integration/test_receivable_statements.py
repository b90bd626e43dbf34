"""A statement asked for without movements prints the client's open receivables (R3, D1, D2):
every one of them up to the most a statement holds (2,000, at their longest), and a client with
more gets a clear refusal naming it, how many it has and the most, never a statement that
leaves some out; in a bulk job that client's statement fails with that reason and the others
go. Real DynamoDB Local, SMTP server and moto's S3/SQS; the PDFs are read back with PDFium."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.documents import bulk_statements_run, documents_key, pdf_attachments, pdf_text
from tests.steps.outbox import deliver_outboxes
from tests.steps.reminders import erp_headers
from tests.steps.tenants import Tenant, smtp_sender_account

MOST = 2000  # the most movements a statement holds (StatementIn.movements)
LONGEST_NUMBER = 64  # ReceivableIn.document_number
LARGEST = "9999999999999.99"  # ReceivableIn.balance: 15 digits, 2 of them decimals
MORE = (
    "more than the 2,000 a statement prints (mark those settled as paid or cancelled, or send the "
    "statement with its movements)"
)


def number(n: int) -> str:
    """A document number at its longest, made of the characters typst escapes (``_`` and ``-``)."""
    return (f"FA{n:05d}_" + "A-0001_0000-" * 10)[:LONGEST_NUMBER]


def longest_receivable(n: int, client_id: str) -> dict[str, Any]:
    return {
        "document_number": number(n) if client_id == "CEDIMU" else f"{client_id}-{n}",
        "client_id": client_id,
        "issued_on": "2026-10-01",
        "due_on": "2026-10-31",
        "amount": LARGEST,
        "balance": LARGEST,
        "currency": "ARS",
    }


def push_receivables(api: Client, headers: dict[str, str], client_id: str, count: int) -> None:
    """The ERP pushes the client's receivables, 500 a call (the most a call takes)."""
    for start in range(0, count, 500):
        chunk = [longest_receivable(n, client_id) for n in range(start, min(count, start + 500))]
        answer = api.http.post("/receivables", headers=headers, body=json.dumps({"receivables": chunk}))
        assert answer.status_code == 200, answer.body


def seed_open_receivables(company_id: str, client_id: str, count: int) -> None:
    """Receivables the ERP pushed over many calls, written as the push writes an open one (a
    batch write: pushing thousands through the API, 500 a call, takes longer than the test)."""
    from chalicelib.store.models import ReceivableModel

    now = datetime.now(timezone.utc)
    with ReceivableModel.batch_write() as batch:
        for n in range(count):
            fields = longest_receivable(n, client_id)
            batch.save(
                ReceivableModel(
                    company_id,
                    fields.pop("document_number"),
                    **fields,
                    state="open",
                    updated_at=now,
                    open_client=f"{company_id}#{client_id}",
                )
            )


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The company's ERP: its documents key (also for clients) and its receivables key; the client
    Ferretería Los Andes (CEDIMU) with an e-mail address."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    headers = documents_key(tenant)
    put_client(api, headers, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    return headers


def statement(api: Client, headers: dict[str, str], as_of: str, **extra: str) -> Any:
    return api.http.post(
        "/documents/statements",
        headers=headers | extra,
        body=json.dumps({"client_id": "CEDIMU", "as_of": as_of}),
    )


@pytest.mark.timeout(120)
def test_a_statement_without_movements_prints_every_one_of_the_most_receivables_at_their_longest(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the client has 2,000 open receivables, each number at its longest and owing the most
    seed_open_receivables(tenant.company_id, "CEDIMU", MOST)
    # When the ERP asks for the client's statement without movements
    answer = statement(api, erp, "2026-10-31")
    # Then it is queued, and the client's PDF prints every receivable and the closing balance
    assert answer.status_code == 202, answer.body
    assert deliver_outboxes()["sent"] == 1
    [message] = mailbox.messages()
    [(_, pdf)] = pdf_attachments(message)
    text = squeezed(pdf_text(pdf))
    assert all(number(n) in text for n in range(MOST))
    assert text.count("19.999.999.999.999.980,00") == 2  # the last running balance and the total


@pytest.mark.timeout(120)
def test_a_client_with_more_receivables_than_a_statement_holds_is_refused_naming_it(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the client has 2,002 open receivables at their longest (two more than a statement holds)
    seed_open_receivables(tenant.company_id, "CEDIMU", MOST + 2)
    # When the ERP asks for the client's statement without movements
    answer = statement(api, erp, "2026-10-31")
    # Then it is a 422 naming the client, how many receivables it has and the most, and nothing is sent
    assert answer.status_code == 422, answer.body
    assert body(answer)["errors"] == [
        {"field": "client_id", "message": f"'CEDIMU' has 2,002 open receivables, {MORE}"}
    ]
    # And the console, asking in Spanish, reads it in Spanish
    spanish = statement(api, erp, "2026-10-31", **{"Accept-Language": "es"})
    assert body(spanish)["errors"][0]["message"].startswith(
        "'CEDIMU' tiene 2,002 comprobantes pendientes, más de los 2,000 que imprime un estado de cuenta"
    )
    # And asking for the client's open movements says the same rather than listing them
    seen = api.http.get("/clients/CEDIMU/open-movements", headers=erp)
    assert seen.status_code == 422 and body(seen)["errors"][0]["field"] == "client_id"
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []
    # When the ERP marks one of them paid (through the API)
    push = [longest_receivable(n, "CEDIMU") | {"state": "paid"} for n in range(MOST + 1, MOST + 2)]
    paid = api.http.post("/receivables", headers=erp_headers(tenant), body=json.dumps({"receivables": push}))
    assert paid.status_code == 200, paid.body
    # Then the refusal counts the 2,001 still open
    assert body(statement(api, erp, "2026-10-31"))["errors"] == [
        {"field": "client_id", "message": f"'CEDIMU' has 2,001 open receivables, {MORE}"}
    ]


@pytest.mark.timeout(120)
def test_a_client_with_ten_thousand_receivables_is_refused_saying_so(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the client has accumulated 10,000 open receivables at their longest
    seed_open_receivables(tenant.company_id, "CEDIMU", 10_000)
    # When the ERP asks for the client's statement without movements
    answer = statement(api, erp, "2026-10-31")
    # Then it is a 422 saying how many the client has (counted, not read), and nothing is sent
    assert answer.status_code == 422, answer.body
    assert body(answer)["errors"] == [
        {"field": "client_id", "message": f"'CEDIMU' has 10,000 open receivables, {MORE}"}
    ]
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []


@pytest.mark.timeout(120)
def test_in_a_bulk_job_the_client_with_too_many_receivables_fails_with_that_reason_and_the_others_go(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given CEDIMU has 2,001 open receivables (one more than a statement holds) and another client two
    put_client(api, erp, "OTRO", name="Bulonera del Sur", emails=["pagos@bulonera.example"])
    seed_open_receivables(tenant.company_id, "CEDIMU", MOST + 1)
    push_receivables(api, erp_headers(tenant), "OTRO", 2)
    # When staff send statements in bulk
    seen = bulk_statements_run(api, erp, "2026-10-31")
    # Then the job is done: one sent, CEDIMU's failed with its reason
    assert (seen["state"], seen["total"], seen["sent"], seen["failed"]) == ("done", 2, 1, 1)
    assert seen["fail_reasons"] == {"too_many_receivables": 1} and seen["skip_reasons"] == {}
    # And only the other client got its statement, with both its receivables
    [message] = mailbox.messages()
    assert envelope_recipients(message) == ["pagos@bulonera.example"]
    [(_, pdf)] = pdf_attachments(message)
    assert "OTRO-0" in pdf_text(pdf) and "OTRO-1" in pdf_text(pdf)
