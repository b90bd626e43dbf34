"""Every document the API accepts prints with Pregón's own templates (D1, D2): a statement of
2,000 movements and an order of 500 lines, their text at the longest the API takes, arrive as one
PDF holding every movement or line, one at a time and in a bulk job; a company's own template
keeps the tenant sandbox's limits. Real DynamoDB Local, SMTP server and moto's S3/SQS; the PDFs
are read back with PDFium (pypdfium2), and laying them out takes some seconds each."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.documents import bulk_statements_run, documents_key, pdf_attachments, pdf_text
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, smtp_sender_account

MOST_MOVEMENTS = 2000  # StatementIn.movements, OpenMovementsIn.movements
MOST_LINES = 500  # the lines of an order
LONGEST = 200  # a document number, a description, a line's code (Line)
LARGEST = "999999999999.99"  # Amount: 14 digits, 2 of them decimals


def longest(start: str, filler: str) -> str:
    """``start`` then ``filler`` repeated, cut at the longest text the API takes."""
    return (start + filler * LONGEST)[:LONGEST]


def movement(n: int) -> dict[str, Any]:
    # typst's special characters (escaped, so each is two characters of markup) and words to wrap
    return {
        "date": "2026-10-01",
        "document": longest(f"FA{n:05d}/", "FA-0001-0000/"),
        "description": longest(f"Mov{n:05d} ", "Nota de crédito #12 *urgente* (ver /anexo) — "),
        "due_on": "2026-10-31",
        "amount": LARGEST,
    }


MOVEMENTS = [movement(n) for n in range(MOST_MOVEMENTS)]
# es_AR: the closing balance, 2,000 times the largest amount
CLOSING = "1.999.999.999.999.980,00"
assert Decimal(LARGEST) * MOST_MOVEMENTS == Decimal("1999999999999980.00")


def compact(payload: dict[str, Any]) -> str:
    """JSON as an ERP may send it: UTF-8, no spaces (2,000 movements at their longest are about
    1 MB, within the 1 MiB a document call may be)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def post(api: Client, headers: dict[str, str], path: str, payload: dict[str, Any]) -> Any:
    return api.http.post(path, headers=headers, body=compact(payload).encode())


def squeezed(text: str) -> str:
    """The PDF's text without the line breaks and spaces its layout put in long values."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    headers = documents_key(tenant)
    put_client(api, headers, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    return headers


def the_only_pdf(mailbox: MailCatcher) -> bytes:
    [message] = mailbox.messages()
    [(_, pdf)] = pdf_attachments(message)
    return pdf


def assert_every_movement_is_printed(pdf: bytes) -> None:
    text = squeezed(pdf_text(pdf))
    assert all(f"FA{n:05d}/" in text for n in range(MOST_MOVEMENTS))
    assert f"Mov{MOST_MOVEMENTS - 1:05d}" in text  # the last movement, with its description
    assert text.count(CLOSING) == 2  # the last movement's running balance, and the closing balance


@pytest.mark.timeout(600)
def test_a_statement_of_the_most_movements_at_their_longest_is_emailed_with_every_movement(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # When the ERP posts a client's statement with 2,000 movements, every text at its longest
    answer = post(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": MOVEMENTS},
    )
    # Then it is queued
    assert answer.status_code == 202, answer.body
    assert body(answer)["state"] == "queued"
    # And the client gets one e-mail whose PDF prints every movement and the closing balance
    assert deliver_outboxes()["sent"] == 1
    assert_every_movement_is_printed(the_only_pdf(mailbox))


@pytest.mark.timeout(600)
def test_a_bulk_statement_prints_a_client_with_the_most_movements_at_their_longest(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the ERP put 2,000 open movements for the client, every text at its longest
    put = api.http.put(
        "/clients/CEDIMU/open-movements", headers=erp, body=compact({"movements": MOVEMENTS}).encode()
    )
    assert put.status_code == 200, put.body
    # When staff send statements in bulk
    seen = bulk_statements_run(api, erp, "2026-10-31")
    # Then the job sent it, and nothing failed
    assert (seen["state"], seen["total"], seen["sent"], seen["failed"]) == ("done", 1, 1, 0)
    # And the client's PDF prints every movement and the closing balance
    assert_every_movement_is_printed(the_only_pdf(mailbox))


@pytest.mark.timeout(600)
def test_an_order_of_the_most_lines_at_their_longest_is_emailed_with_every_line(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # When the ERP posts an order of 500 lines, every text at its longest
    lines = [
        {
            "code": longest(f"A{n:04d}-", "B-220/"),
            "description": longest(f"Art{n:04d} ", "Tornillo #8 × 1½ *inox* (caja × 100) — "),
            "quantity": "999999999.999",
            "unit_price": LARGEST,
        }
        for n in range(MOST_LINES)
    ]
    notes = longest("Notas: ", "Entregar en depósito #2 (de 8 a 16 h) — ")
    answer = post(
        api,
        erp,
        "/documents/orders",
        {
            "number": "P-2026-0088",
            "date": "2026-11-02",
            "client_id": "CEDIMU",
            "lines": lines,
            "notes": notes,
        },
    )
    assert answer.status_code == 202, answer.body
    # Then the client's PDF prints every line and the total
    assert deliver_outboxes()["sent"] == 1
    text = squeezed(pdf_text(the_only_pdf(mailbox)))
    assert all(f"A{n:04d}-" in text for n in range(MOST_LINES))
    assert f"Art{MOST_LINES - 1:04d}" in text
    total = Decimal("999999999.999") * Decimal(LARGEST) * MOST_LINES
    assert f"{total:,.2f}".translate(str.maketrans(",.", ".,")) in text  # es_AR
    assert "Notas:" in text


def test_a_companys_own_template_keeps_the_tenant_sandboxs_limit(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.sandbox import MAX_OUTPUT_CHARS

    # Given the company's own statement template, which prints every movement
    source = (
        "= Estado de cuenta\n"
        "{% for m in statement.movements %}{{ m.document }} {{ m.description }} {{ m.amount }}\n\n"
        "{% endfor %}Saldo: {{ statement.balance }}\n"
    )
    saved = api.http.put(
        "/documents/templates/statement", headers=tenant.admin_headers(), body=json.dumps({"source": source})
    )
    assert saved.status_code == 200, saved.body
    # When the ERP posts a statement that Pregón's own template prints
    answer = post(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": MOVEMENTS},
    )
    # Then the company's template gets no more than the tenant sandbox's characters: refused
    # naming the template, and nothing is sent
    assert answer.status_code == 422, answer.body
    assert body(answer)["errors"] == [
        {
            "field": "template",
            "message": f"the template renders a text longer than {MAX_OUTPUT_CHARS:,} characters",
        }
    ]
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []


def test_open_movements_too_large_to_keep_are_refused_naming_the_field(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    import random

    from chalicelib.store.models import OpenMovementsModel

    # Given 2,000 movements whose texts are at their longest and nothing like one another (random
    # letters: compressed, they are still more than one DynamoDB item holds)
    letters = random.Random(7)
    noise = [
        dict(movement(n), document="".join(letters.choices("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=LONGEST)))
        | {"description": "".join(letters.choices("abcdefghijklmnopqrstuvwxyz ", k=LONGEST)).strip() or "x"}
        for n in range(MOST_MOVEMENTS)
    ]
    # When the ERP puts them as the client's open movements
    put = api.http.put(
        "/clients/CEDIMU/open-movements", headers=erp, body=compact({"movements": noise}).encode()
    )
    # Then it is a 422 naming the field, saying what to do instead, and nothing was kept
    assert put.status_code == 422, put.body
    [error] = body(put)["errors"]
    assert error["field"] == "movements"
    assert (
        "too large to keep" in error["message"]
        and "send the statement with its movements" in error["message"]
    )
    assert list(OpenMovementsModel.query(tenant.company_id)) == []


def test_open_movements_are_kept_compressed_and_read_back_as_put(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    from chalicelib.store.models import OpenMovementsModel

    # When the ERP puts 2,000 movements at their longest (about 1 MB of JSON)
    put = api.http.put(
        "/clients/CEDIMU/open-movements", headers=erp, body=compact({"movements": MOVEMENTS}).encode()
    )
    assert put.status_code == 200, put.body
    # Then the item keeps them compressed, well inside DynamoDB's 400 KB
    [item] = OpenMovementsModel.query(tenant.company_id)
    assert item.movements is None and item.movements_z is not None and len(item.movements_z) < 100_000
    # And reading them back gives every movement as put
    seen = body(api.http.get("/clients/CEDIMU/open-movements", headers=erp))
    assert len(seen["movements"]) == MOST_MOVEMENTS
    assert seen["movements"][-1]["document"] == MOVEMENTS[-1]["document"]
    assert seen["movements"][-1]["description"] == MOVEMENTS[-1]["description"]
