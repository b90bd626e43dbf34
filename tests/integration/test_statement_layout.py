"""A statement longer than one typst part (docs/documents.md, "How long a document may be";
decision 0015) reads as one long table: the heading once, the column header on every page, every
page but the last as full as a page gets, the running balance and the page numbers going on
across the parts. Real DynamoDB Local, SMTP server and moto; the PDF is read back with PDFium (its
text) and pypdf (where each line is printed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.clients import put_client
from tests.steps.documents import documents_key, pdf_attachments, pdf_heights_of, pdf_page_texts
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

COUNT = 1100  # three parts of at most 500 movements each
BOTTOM_MARGIN = 1.6 / 2.54 * 72  # the statement template's 1.6 cm, in points
ROW = re.compile(r"FA-(\d{5}) Venta \S+ \$ ?1,00 \$ ?([\d.]+),00")  # es_AR: $ 1.097,00


def movements() -> list[dict[str, Any]]:
    # rows of one line each, so that a page's capacity is a number of rows
    return [
        {
            "date": "2026-10-01",
            "document": f"FA-{n:05d}",
            "description": "Venta",
            "due_on": "2026-10-31",
            "amount": "1",
        }
        for n in range(COUNT)
    ]


@pytest.mark.timeout(300)
def test_a_statement_of_many_movements_reads_as_one_long_table(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a company that sends statements and a client
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    erp = documents_key(tenant)
    put_client(api, erp, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    # When the ERP posts the client's statement with 1,100 movements of 1 each, and it is sent
    payload = {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": movements()}
    answer = api.http.post("/documents/statements", headers=erp, body=json.dumps(payload).encode())
    assert answer.status_code == 202, answer.body
    assert deliver_outboxes()["sent"] == 1
    [message] = mailbox.messages()
    [(_, pdf)] = pdf_attachments(message)
    pages = pdf_page_texts(pdf)
    # Then the heading is printed once, on the first page, and the column header on every page
    assert sum(page.count("Estado de cuenta") for page in pages) == 1
    assert sum(page.count("Cliente:") for page in pages) == 1 and "Estado de cuenta" in pages[0]
    assert all("Fecha Documento Descripción Vencimiento Importe Saldo" in page for page in pages)
    # And every movement appears once, in order, each with its running balance
    rows = [[(int(n), int(re.sub(r"\D", "", balance))) for n, balance in ROW.findall(page)] for page in pages]
    assert [n for page in rows for n, _ in page] == list(range(COUNT))
    assert all(balance == n + 1 for page in rows for n, balance in page)
    # And every page but the last is full: below its last row, less room than one more row takes
    heights = pdf_heights_of(pdf, "FA-")
    for number, page in enumerate(heights[:-1], start=1):
        pitch = page[-2] - page[-1]
        assert page[-1] - BOTTOM_MARGIN < pitch, f"page {number} ends short"
    # And the pages are numbered over the whole document
    total = len(pages)
    assert [re.findall(r"Página (\d+) de (\d+)", page) for page in pages] == [
        [(str(n), str(total))] for n in range(1, total + 1)
    ]
