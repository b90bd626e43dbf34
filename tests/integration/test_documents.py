"""Documents as PDFs (D1, D3, C5, Z1; seed 003, Proscai's Mailer): the ERP posts an order, a
purchase order or an account statement; the recipient gets the PDF attached, from the right
account; staff find it in the history and download it; a company may delete PDFs once sent.
Real DynamoDB Local, SMTP server and moto's S3/SQS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from chalice.test import Client

from chalicelib.tenants.staff import colleague_handle
from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body, outage_injected
from tests.steps.clients import put_client
from tests.steps.documents import documents_key, file_exists, pdf_attachments, pdf_text, post_document
from tests.steps.hostile_mail import company_files
from tests.steps.mail import text_of, wire_problems
from tests.steps.notes import staff_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.races import another_write_after_the_read
from tests.steps.reminders import erp_headers, push_ok, receivable
from tests.steps.tenants import Tenant, smtp_sender_account, staff_user

LINES = [
    {
        "code": "A-100",
        "description": "Tornillo autorroscante (caja × 100)",
        "quantity": "12",
        "unit_price": "1250",
    },
    {
        "code": "B-220",
        "description": "Llave térmica bipolar 2 × 25 A",
        "quantity": "3",
        "unit_price": "11300.5",
    },
]


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The ERP's key, the company's `all` account on the test's SMTP server, and the client
    CEDIMU (with an e-mail) registered."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    headers = documents_key(tenant)
    put_client(api, headers, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    return headers


def order(number: str = "P-2026-0088", **fields: Any) -> dict[str, Any]:
    return {"number": number, "date": "2026-11-02", "client_id": "CEDIMU", "lines": LINES} | fields


def the_only_pdf(mailbox: MailCatcher) -> tuple[Any, str, bytes]:
    [message] = mailbox.messages()
    [(name, data)] = pdf_attachments(message)
    return message, name, data


def test_an_order_goes_to_the_client_as_a_pdf_from_the_responsible_users_own_account(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the user CMC, whose address is cmc@distsur.example, has an own sender account (C5)
    from chalicelib.messaging.accounts.email import personal_area

    staff_user(tenant.company_id, "cmc@distsur", "cmc@distsur.example")
    smtp_sender_account(
        tenant.company_id, personal_area("cmc@distsur"), mailbox, "Carla Méndez", "cmc@distsur.example"
    )
    # When the ERP posts an order naming CMC as responsible
    answer = post_document(
        api, erp, "/documents/orders", order(responsible={"user_id": "cmc@distsur", "name": "Carla Méndez"})
    )
    # Then it is queued
    assert answer.status_code == 202, answer.body
    queued = body(answer)
    assert (queued["state"], queued["duplicate"], queued["to_address"]) == (
        "queued",
        False,
        "compras@losandes.example",
    )
    # And once the outbox delivers, the client gets it from CMC's address with the PDF attached
    assert deliver_outboxes()["sent"] == 1
    message, name, pdf = the_only_pdf(mailbox)
    assert envelope_recipients(message) == ["compras@losandes.example"]
    assert "cmc@distsur.example" in message["From"]
    assert name == "pedido_P-2026-0088.pdf"
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="distsur.example") == []
    # And the PDF opens and shows the number, the amounts as Argentina writes them, accents
    text = pdf_text(pdf)
    assert "P-2026-0088" in text
    assert "15.000,00" in text and "33.901,50" in text and "48.901,50" in text  # es_AR: 48.901,50
    assert "Ferretería Los Andes" in text and "Llave térmica" in text and "Carla Méndez" in text
    # And the history shows it with a link staff download the same PDF from
    seen = body(api.http.get(f"/history/email/{queued['communication_id']}", headers=tenant.staff_headers()))
    [attachment] = seen["attachments"]
    assert attachment["name"] == "pedido_P-2026-0088.pdf" and attachment["deleted_at"] is None
    document = body(api.http.get("/documents/sent/order/P-2026-0088", headers=tenant.staff_headers()))
    assert document["message_state"] == "sent" and document["deleted_at"] is None
    # (where it went, as the clerk answers "did you send it?"; absent before session 42)
    assert (document.get("to_address"), document.get("error")) == ("compras@losandes.example", None)
    assert requests.get(document["download_url"], timeout=10).content == pdf
    # And posting the same order again sends nothing more
    again = post_document(api, erp, "/documents/orders", order())
    assert again.status_code == 200 and body(again)["duplicate"] is True
    assert deliver_outboxes()["sent"] == 0


def test_an_order_posted_again_after_its_record_was_lost_keeps_one_pdf(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import documents

    # Given an order whose e-mail was queued but whose document record DynamoDB then refused
    def throttled(*_: Any) -> bool:
        raise RuntimeError("DynamoDB throttled the document's record")

    monkeypatch.setattr(documents, "record_document", throttled)
    with outage_injected("the document's record"):
        assert post_document(api, erp, "/documents/orders", order()).status_code == 500
    monkeypatch.undo()
    [first_pdf] = company_files(tenant.company_id, "documents")

    # When the ERP posts it again (its retry)
    again = post_document(api, erp, "/documents/orders", order())

    # Then the PDF the retry stored is gone: the bucket holds only the one the queued e-mail
    # names, and the client gets that one e-mail
    assert again.status_code == 202, again.body
    assert company_files(tenant.company_id, "documents") == [first_pdf]
    assert deliver_outboxes()["sent"] == 1
    _, name, _ = the_only_pdf(mailbox)
    assert name == "pedido_P-2026-0088.pdf"


def test_a_purchase_order_goes_to_the_supplier_and_without_a_personal_account_from_the_company(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a supplier registered with its e-mail, and a company in Mexico
    saved = api.http.put(
        "/suppliers/COMINT",
        headers=erp,
        body=json.dumps({"name": "Comercial Internacional S.A.", "emails": ["ventas@comint.example"]}),
    )
    assert saved.status_code == 200, saved.body
    patched = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"country": "MX", "locale": "es_MX", "time_zone": "America/Mexico_City"}),
    )
    assert patched.status_code == 200, patched.body
    # When the ERP posts a purchase order naming LOO, who has no account of her own
    payload = order("OC-2026-0031", responsible={"user_id": "loo@distsur"}) | {"supplier_id": "COMINT"}
    del payload["client_id"]
    answer = post_document(api, erp, "/documents/purchase-orders", payload)
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    # Then the supplier gets it from the company's account, amounts as Mexico writes them
    message, _, pdf = the_only_pdf(mailbox)
    assert envelope_recipients(message) == ["ventas@comint.example"]
    assert "info@distsur.example" in message["From"]
    text = pdf_text(pdf)
    assert "OC-2026-0031" in text and "Comercial Internacional" in text
    assert "48,901.50" in text and "Orden de compra" in text and "Descripción" in text


def test_an_account_statement_lists_the_movements_and_the_company_comment_from_the_statement_account(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company sends statements from its "payments" account and writes a comment
    smtp_sender_account(tenant.company_id, "payments", mailbox, "Cobranzas", "cobranzas@distsur.example")
    settings = api.http.patch(
        "/documents/settings",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {"statement_area": "payments", "statement_comment": "Aceptamos transferencias y depósitos."}
        ),
    )
    assert settings.status_code == 200, settings.body
    # When the ERP posts the client's statement with its open movements
    movements = [
        {
            "date": "2026-10-01",
            "document": "A-0001-00001234",
            "description": "Factura",
            "due_on": "2026-10-31",
            "amount": "12345.67",
        },
        {
            "date": "2026-10-15",
            "document": "NC-0001-00000077",
            "description": "Nota de crédito",
            "amount": "-1000",
        },
    ]
    answer = post_document(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": movements},
    )
    assert answer.status_code == 202, answer.body
    assert body(answer)["number"] == "EC-CEDIMU-20261031"
    deliver_outboxes()
    # Then the client gets it from the statement account, with every movement and the balance
    message, name, pdf = the_only_pdf(mailbox)
    assert "cobranzas@distsur.example" in message["From"]
    assert name == "estado_de_cuenta_EC-CEDIMU-20261031.pdf"
    text = pdf_text(pdf)
    assert "A-0001-00001234" in text and "NC-0001-00000077" in text and "Nota de crédito" in text
    assert "12.345,67" in text and "11.345,67" in text and "31/10/2026" in text
    assert "Aceptamos transferencias y depósitos." in text
    # And the e-mail says the balance too
    assert "11.345,67" in str(message.get_body(preferencelist=("plain",)).get_content())


def test_a_statement_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given a client; When the ERP posts its statement with a credit note
    movements = [
        {
            "date": "2026-10-15",
            "document": "NC-0001-00000077",
            "description": "Nota de crédito",
            "amount": "-1000",
        }
    ]
    answer = post_document(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": movements},
    )
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    mailbox.wait_for(1)
    # Then the e-mail's bytes are 7-bit and well formed, its PDF base64 in lines of 76
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="distsur.example") == []


def test_a_statement_without_movements_in_the_call_prints_those_the_erp_put_last(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    put = api.http.put(
        "/clients/CEDIMU/open-movements",
        headers=erp,
        body=json.dumps(
            {"movements": [{"date": "2026-10-05", "document": "A-0001-00000999", "amount": "500"}]}
        ),
    )
    assert put.status_code == 200, put.body
    answer = post_document(api, erp, "/documents/statements", {"client_id": "CEDIMU"})
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    _, _, pdf = the_only_pdf(mailbox)
    assert "A-0001-00000999" in pdf_text(pdf) and "500,00" in pdf_text(pdf)


def put_open_movements(api: Client, erp: dict[str, str], client_id: str, *amounts: str) -> None:
    movements = [
        {"date": "2026-10-05", "document": f"A-0001-{n:08d}", "amount": amount}
        for n, amount in enumerate(amounts, 1)
    ]
    put = api.http.put(
        f"/clients/{client_id}/open-movements", headers=erp, body=json.dumps({"movements": movements})
    )
    assert put.status_code == 200, put.body


def test_a_statement_sent_again_the_same_day_goes_when_it_says_something_new(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the client's statement was sent this morning, owing 500 + 300
    put_open_movements(api, erp, "CEDIMU", "500", "300")
    first = post_document(api, erp, "/documents/statements", {"client_id": "CEDIMU", "as_of": "2026-10-31"})
    assert first.status_code == 202 and body(first)["number"] == "EC-CEDIMU-20261031", first.body
    # When it is posted again unchanged (a retry, a double click)
    again = post_document(api, erp, "/documents/statements", {"client_id": "CEDIMU", "as_of": "2026-10-31"})
    # Then that is the same statement: nothing more is sent
    assert again.status_code == 200 and body(again)["duplicate"] is True, again.body
    assert body(again)["communication_id"] == body(first)["communication_id"]
    # When the client pays the 300 and staff send the statement once more that day
    put_open_movements(api, erp, "CEDIMU", "500")
    after_payment = post_document(
        api, erp, "/documents/statements", {"client_id": "CEDIMU", "as_of": "2026-10-31"}
    )
    # Then a new statement goes, with a number of its own and the new balance
    assert after_payment.status_code == 202, after_payment.body
    assert body(after_payment)["number"] == "EC-CEDIMU-20261031-2"
    assert body(after_payment)["duplicate"] is False
    # And posting that one again is a repeat of it, not a third e-mail
    repeat = post_document(api, erp, "/documents/statements", {"client_id": "CEDIMU", "as_of": "2026-10-31"})
    assert repeat.status_code == 200 and body(repeat)["number"] == "EC-CEDIMU-20261031-2", repeat.body
    deliver_outboxes()
    pdfs = dict(pdf for message in mailbox.wait_for(2) for pdf in pdf_attachments(message))
    assert sorted(pdfs) == [
        "estado_de_cuenta_EC-CEDIMU-20261031-2.pdf",
        "estado_de_cuenta_EC-CEDIMU-20261031.pdf",
    ]
    assert "800,00" in pdf_text(pdfs["estado_de_cuenta_EC-CEDIMU-20261031.pdf"])
    afternoon = pdf_text(pdfs["estado_de_cuenta_EC-CEDIMU-20261031-2.pdf"])
    assert "500,00" in afternoon and "800,00" not in afternoon


def test_a_statement_of_a_client_with_open_receivables_and_nothing_put_prints_the_receivables(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the ERP pushed two open receivables of CEDIMU for its reminders, one partly paid, and a
    # third one paid, and never put open movements for the client
    receivables = erp_headers(tenant)
    push_ok(
        api,
        receivables,
        receivable("FA-0001-00000101", "2026-11-20", client_id="CEDIMU"),
        receivable("FA-0001-00000102", "2026-12-05", client_id="CEDIMU", balance="2000.50"),
        receivable("FA-0001-00000100", "2026-11-10", client_id="CEDIMU", state="paid", balance="0"),
    )
    # When the ERP asks for the client's statement without movements in the call
    answer = post_document(api, erp, "/documents/statements", {"client_id": "CEDIMU"})
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    # Then the PDF lists the two open receivables with what is still owed, and not the paid one
    _, _, pdf = the_only_pdf(mailbox)
    text = pdf_text(pdf)
    assert "FA-0001-00000101" in text and "12.345,67" in text
    assert "FA-0001-00000102" in text and "2.000,50" in text
    assert "FA-0001-00000100" not in text


@pytest.mark.parametrize(
    "source, word",
    [
        ('#read("/etc/passwd")', "read"),
        ('#let r = read\n#r("/etc/hostname")', "read"),
        ('#let r = std.read\n#r("/etc/hostname")', "read"),
        ('#import "@preview/cetz:0.3.0": canvas', "import"),
        ('#include "otro.typ"', "include"),
        ('#image("/etc/logo.png")', "image"),
        ('#json("/proc/self/environ")', "json"),
        ('#eval("1 + 1")', "eval"),
        # S36: a module's functions by name, a comment or an arrow before the name
        ('#let e = dictionary(std).at("ev" + "al")\n#e("1 + 1")', "dictionary"),
        ('#let r = (/**/read)\n#r("/etc/hostname")', "read"),
        ('#let r = (// ¡hola!\nread)\n#r("/etc/hostname")', "read"),
        ('#let r = () => image\n#(r())("/logo.png")', "image"),
        ('#ev{{ "" }}al("1 + 1")', "eval"),
        ('#ev{# nada #}al("1 + 1")', "eval"),
        ('{% filter replace("X", "") %}#evXal("1 + 1"){% endfilter %}', "a filter block"),
    ],
)
def test_a_template_that_tries_to_read_a_file_or_reach_the_network_is_refused_naming_the_field(
    api: Client, tenant: Tenant, source: str, word: str
) -> None:
    answer = api.http.put(
        "/documents/templates/order", headers=tenant.admin_headers(), body=json.dumps({"source": source})
    )
    assert answer.status_code == 422, answer.body
    [error] = body(answer)["errors"]
    assert error["field"] == "source"
    assert repr(word) in error["message"] or error["message"].startswith(f"uses {word}:")
    # And nothing was kept: the default template is still the company's
    kept = body(api.http.get("/documents/templates/order", headers=tenant.staff_headers()))
    assert kept["customized"] is False


def test_a_template_whose_layout_is_merely_slow_is_stopped_and_refused_naming_the_field(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.producers.documents.typst_process import TYPST_SECONDS, TYPST_WALL_SECONDS

    # Given a template whose typst layout would run for about a minute (no endless loop: typst
    # would stop that itself)
    slow = (
        "= Pedido {{ document.number }}\n#let x = 0\n"
        "#for i in range(10000) { for j in range(10000) { x = x + 1 } }\n#x\n"
    )
    started = time.monotonic()
    # When the administrator saves it (its preview is laid out with sample values)
    answer = api.http.put(
        "/documents/templates/order", headers=tenant.admin_headers(), body=json.dumps({"source": slow})
    )
    # Then it is refused naming the field, once typst has used its time, and nothing is kept
    assert answer.status_code == 422, answer.body
    [error] = body(answer)["errors"]
    assert error == {
        "field": "source",
        "message": f"typst takes too long to lay it out (the limit is {TYPST_SECONDS:g} s)",
    }
    # (after its CPU time, or after TYPST_WALL_SECONDS however little CPU a loaded machine gave it;
    # let be, the loop would run for about a minute and then be laid out)
    assert time.monotonic() - started < TYPST_WALL_SECONDS + 15
    kept = body(api.http.get("/documents/templates/order", headers=tenant.staff_headers()))
    assert kept["customized"] is False
    # And the next template is laid out at once, by a new typst process
    fine = api.http.put(
        "/documents/templates/order",
        headers=tenant.admin_headers(),
        body=json.dumps({"source": "= Pedido {{ document.number }}\n"}),
    )
    assert fine.status_code == 200, fine.body


def test_a_template_that_takes_memory_without_bound_is_stopped_and_refused_naming_the_field(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.producers.documents.typst_process import TYPST_MEGABYTES

    # Given a template whose typst layout doubles an array in a loop (2^40 elements if let be)
    greedy = "= Pedido {{ document.number }}\n#let a = (0,)\n#for i in range(40) { a = a + a }\n#a.len()\n"
    started = time.monotonic()
    # When the administrator saves it (its preview is laid out with sample values)
    answer = api.http.put(
        "/documents/templates/order", headers=tenant.admin_headers(), body=json.dumps({"source": greedy})
    )
    # Then it is refused naming the field, as soon as typst reaches its memory, and nothing is kept
    assert answer.status_code == 422, answer.body
    [error] = body(answer)["errors"]
    assert error == {
        "field": "source",
        "message": f"typst needs too much memory to lay it out (the limit is {TYPST_MEGABYTES} MB)",
    }
    assert time.monotonic() - started < 15  # about a second; slack for a loaded machine
    kept = body(api.http.get("/documents/templates/order", headers=tenant.staff_headers()))
    assert kept["customized"] is False
    # And the next template is laid out and kept, by a new typst process
    fine = api.http.put(
        "/documents/templates/order",
        headers=tenant.admin_headers(),
        body=json.dumps({"source": "= Pedido {{ document.number }}\n"}),
    )
    assert fine.status_code == 200, fine.body
    assert (
        body(api.http.get("/documents/templates/order", headers=tenant.staff_headers()))["customized"] is True
    )


def test_a_companys_own_template_is_used_and_values_never_become_markup(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the company's own order template
    source = (
        "= {{ company.name }}: pedido {{ document.number }}\n"
        "Cliente: {{ recipient.name }}\nTotal: {{ total }}\n"
    )
    saved = api.http.put(
        "/documents/templates/order", headers=tenant.admin_headers(), body=json.dumps({"source": source})
    )
    assert saved.status_code == 200, saved.body
    # (which a level-4 user reads with its editor by handle: the administrator's id is nowhere)
    admin = f"admin@{tenant.company_id}"
    read = api.http.get("/documents/templates/order", headers=staff_headers(tenant, "pia", 4))
    assert body(read)["updated_by"] == colleague_handle(tenant.company_id, admin)
    assert admin not in read.body.decode()
    # And a client whose name is typst code
    put_client(api, erp, "CEDIMU", name='#read("/etc/passwd") *x*', emails=["compras@losandes.example"])
    # When an order is sent, the PDF is the company's and prints the name as written
    assert post_document(api, erp, "/documents/orders", order()).status_code == 202
    deliver_outboxes()
    _, _, pdf = the_only_pdf(mailbox)
    text = pdf_text(pdf)
    assert "pedido P-2026-0088" in text and "48.901,50" in text
    assert '#read("/etc/passwd") *x*' in text and "root:" not in text


def test_bad_input_is_refused_naming_the_field_and_nothing_is_sent(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    put_client(api, erp, "SINMAIL", name="Sin Correo", emails=[])
    cases = [
        (order(lines=[]), "lines"),
        (order(client_id="NADIE"), "client_id"),
        (order(client_id="SINMAIL"), "client_id"),
        (order(lines=[LINES[0] | {"quantity": "-1"}]), "lines[0].quantity"),
        (order(date="2026-13-01"), "date"),
    ]
    for payload, field in cases:
        answer = post_document(api, erp, "/documents/orders", payload)
        assert answer.status_code == 422, (field, answer.body)
        assert body(answer)["errors"][0]["field"] == field
    purchase = {k: v for k, v in order().items() if k != "client_id"} | {"supplier_id": "NADIE"}
    missing = post_document(api, erp, "/documents/purchase-orders", purchase)
    assert missing.status_code == 422 and body(missing)["errors"][0]["field"] == "supplier_id"
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []


def test_a_currency_iso_4217_does_not_know_is_refused_naming_it_and_nothing_is_kept_or_sent(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given the ERP writes a currency no ISO 4217 list has (three letters, so the shape passes)
    movements = {"movements": [{"date": "2026-10-05", "document": "A-0001-00000999", "amount": "500"}]}
    answers = [
        # When it posts an order, a statement, or a client's open movements in it
        post_document(api, erp, "/documents/orders", order(currency="XYZ")),
        post_document(
            api, erp, "/documents/statements", {"client_id": "CEDIMU", "currency": "XYZ"} | movements
        ),
        api.http.put(
            "/clients/CEDIMU/open-movements", headers=erp, body=json.dumps(movements | {"currency": "XYZ"})
        ),
    ]
    # Then each is refused naming currency, as the receivables are
    for answer in answers:
        assert answer.status_code == 422, answer.body
        assert body(answer)["errors"][0] == {
            "field": "currency",
            "message": "must be an ISO 4217 code, e.g. ARS",
        }
    # And no movements are kept, and nothing is sent
    kept = body(api.http.get("/clients/CEDIMU/open-movements", headers=erp))
    assert kept["movements"] == [] and kept["currency"] is None
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []
    # While a known one in lower case is taken, and printed as the company's locale writes it
    answer = post_document(api, erp, "/documents/orders", order(currency="usd"))
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    _, _, pdf = the_only_pdf(mailbox)
    assert "US$" in pdf_text(pdf)
    # And another currency's code is set apart from the amount as es_AR writes it (CLDR puts a
    # non-breaking space after a code of letters): "MXN 48.901,50", not "MXN48.901,50", in the
    # PDF and in the e-mail alike
    mailbox.clear()
    answer = post_document(api, erp, "/documents/orders", order("P-2026-0089", currency="MXN"))
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    message, _, pdf = the_only_pdf(mailbox)
    assert "Total: MXN\u00a048.901,50" in text_of(message)
    assert "MXN48" not in pdf_text(pdf) and "MXN\u00a048.901,50" in pdf_text(pdf).replace(" ", "\u00a0")


def test_an_api_key_without_the_documents_scope_is_refused(api: Client, tenant: Tenant) -> None:
    answer = post_document(api, tenant.key_headers(), "/documents/orders", order())
    assert answer.status_code == 403


@pytest.mark.parametrize("delete", [True, False])
def test_a_pdf_is_deleted_once_sent_only_when_the_company_asks(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, delete: bool
) -> None:
    from chalicelib.store import communications

    # Given the company's choice for orders (D3)
    settings = api.http.patch(
        "/documents/settings",
        headers=tenant.admin_headers(),
        body=json.dumps({"delete_after_sending": {"order": delete}}),
    )
    assert settings.status_code == 200 and body(settings)["delete_after_sending"] == {"order": delete}
    queued = body(post_document(api, erp, "/documents/orders", order()))
    comm = communications.get(tenant.company_id, queued["communication_id"])
    assert comm is not None
    key = comm.attachments[0].key
    assert file_exists(key)
    # When the e-mail is delivered
    assert deliver_outboxes()["sent"] == 1
    _, _, pdf = the_only_pdf(mailbox)
    assert "P-2026-0088" in pdf_text(pdf)
    # Then the file is gone from S3 (or kept), and the history says so, keeping the rest
    assert file_exists(key) is not delete
    seen = body(api.http.get(f"/history/email/{queued['communication_id']}", headers=tenant.staff_headers()))
    [attachment] = seen["attachments"]
    assert attachment["name"] == "pedido_P-2026-0088.pdf" and attachment["size"] == len(pdf)
    assert (attachment["deleted_at"] is not None) is delete
    assert (attachment["download_url"] is None) is delete
    document = body(api.http.get("/documents/sent/order/P-2026-0088", headers=tenant.staff_headers()))
    assert (document["deleted_at"] is not None) is delete and (document["download_url"] is None) is delete


def a_png(width: int = 4, height: int = 2) -> bytes:
    """A small valid PNG (red pixels), made with the standard library."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_the_company_logo_is_on_its_documents_and_only_an_image_is_accepted(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    import base64
    import io

    from pypdf import PdfReader

    # Given an administrator who uploads the company's logo (and not a text file)
    refused = api.http.put(
        "/documents/settings/logo",
        headers=tenant.admin_headers(),
        body=json.dumps({"content_base64": base64.b64encode(b"not an image").decode()}),
    )
    assert refused.status_code == 422 and body(refused)["errors"][0]["field"] == "content_base64"
    saved = api.http.put(
        "/documents/settings/logo",
        headers=tenant.admin_headers(),
        body=json.dumps({"content_base64": base64.b64encode(a_png()).decode()}),
    )
    assert saved.status_code == 200 and body(saved)["has_logo"] is True
    # When an order is sent, its PDF shows the logo next to the company's name
    assert post_document(api, erp, "/documents/orders", order()).status_code == 202
    deliver_outboxes()
    _, _, pdf = the_only_pdf(mailbox)
    [page] = PdfReader(io.BytesIO(pdf)).pages
    assert len(page.images) == 1
    assert "Cargas del Sur" in pdf_text(pdf)


@pytest.mark.parametrize(
    "size",
    [
        310_000,  # a little over 300 kB
        500_000,  # its base64 is past the 420,000 characters the field once allowed
        1_200_000,  # its body is past the route's 1 MiB cap: refused before it is read
    ],
)
def test_every_document_logo_over_300_kb_gets_the_same_clear_answer_in_english_and_spanish(
    api: Client, tenant: Tenant, size: int
) -> None:
    import base64

    request = json.dumps({"content_base64": base64.b64encode(a_png() + b"\0" * size).decode()})
    # When an administrator uploads a documents' logo over 300 kB, however much over
    answer = api.http.put("/documents/settings/logo", headers=tenant.admin_headers(), body=request)
    # Then it is refused naming the field, saying the logo is larger than 300 kB
    assert answer.status_code == 422, answer.body
    assert body(answer)["field"] == "content_base64"
    assert body(answer)["message"] == "content_base64: the logo is larger than 300 kB"
    # And in Spanish when the caller asks for it
    headers = {**tenant.admin_headers(), "Accept-Language": "es"}
    spanish = api.http.put("/documents/settings/logo", headers=headers, body=request)
    assert spanish.status_code == 422 and body(spanish)["field"] == "content_base64"
    assert body(spanish)["message"] == "content_base64: el logo supera los 300 kB"
    # And the company's documents still have no logo
    settings = api.http.get("/documents/settings", headers=tenant.admin_headers())
    assert settings.status_code == 200 and body(settings)["has_logo"] is False


def test_a_document_logo_whose_settings_cannot_be_saved_leaves_no_file(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from chalicelib.store import documents

    # Given DynamoDB refuses to save the document settings
    def throttled(*_: object) -> None:
        raise RuntimeError("DynamoDB throttled the settings' write")

    monkeypatch.setattr(documents, "save_settings", throttled)
    # When an administrator uploads the documents' logo
    with outage_injected("the documents' settings write"):
        failed = api.http.put(
            "/documents/settings/logo",
            headers=tenant.admin_headers(),
            body=json.dumps({"content_base64": base64.b64encode(a_png()).decode()}),
        )
    # Then the upload fails, and the file it stored is gone: no settings name it
    assert failed.status_code == 500
    assert company_files(tenant.company_id, "logos") == []


def test_a_message_resent_after_its_pdf_was_deleted_fails_saying_so(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    # Given an order whose PDF was deleted once sent (D3)
    api.http.patch(
        "/documents/settings",
        headers=tenant.admin_headers(),
        body=json.dumps({"delete_after_sending": {"order": True}}),
    )
    queued = body(post_document(api, erp, "/documents/orders", order()))
    deliver_outboxes()
    # When staff resend it from the history
    resent = api.http.post(
        "/history/resend",
        headers=tenant.staff_headers(),
        body=json.dumps({"ids": [queued["communication_id"]]}),
    )
    assert resent.status_code == 202, resent.body
    [again] = body(resent)["items"]
    assert deliver_outboxes()["failed"] == 1
    # Then it is recorded failed, saying why, and nobody got an e-mail without its PDF
    seen = body(api.http.get(f"/history/email/{again['communication_id']}", headers=tenant.staff_headers()))
    assert seen["state"] == "failed" and "was deleted after sending" in seen["error"]
    assert len(mailbox.messages()) == 1


def _settings_change_lands_after_read(monkeypatch: pytest.MonkeyPatch, other_write: Any) -> None:
    """Another request's change of the document settings lands while a request is between
    reading them and writing them: the first read runs ``other_write`` after it (the real
    settings table; only the moment is chosen)."""
    from chalicelib.store import documents

    another_write_after_the_read(monkeypatch, documents, "get_settings", other_write)


def test_a_settings_change_and_a_logo_saved_at_once_both_hold(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from chalicelib.producers.documents.settings import set_logo

    # Given an administrator who uploads the documents' logo while another saves the statement
    # comment: the logo is saved between the comment's request reading the settings and writing them
    logo = base64.b64encode(a_png()).decode()
    _settings_change_lands_after_read(monkeypatch, lambda: set_logo(tenant.company_id, logo, by="ana"))
    saved = api.http.patch(
        "/documents/settings",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {"statement_comment": "Pague por transferencia", "delete_after_sending": {"order": True}}
        ),
    )
    assert saved.status_code == 200, saved.body
    # Then the documents have both: the logo and the comment
    settings = body(api.http.get("/documents/settings", headers=tenant.admin_headers()))
    assert (settings["has_logo"], settings["statement_comment"], settings["delete_after_sending"]) == (
        True, "Pague por transferencia", {"order": True},
    )  # fmt: skip


def test_a_logo_and_a_settings_change_saved_at_once_both_hold(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from chalicelib.producers.documents.settings import update_settings

    # Given statements set to be deleted after sending, changed while a logo upload is between
    # reading the settings and writing them
    _settings_change_lands_after_read(
        monkeypatch,
        lambda: update_settings(tenant.company_id, by="ana", delete_after_sending={"statement": True}),
    )
    saved = api.http.put(
        "/documents/settings/logo",
        headers=tenant.admin_headers(),
        body=json.dumps({"content_base64": base64.b64encode(a_png()).decode()}),
    )
    assert saved.status_code == 200, saved.body
    # Then the documents have both: the logo, and statements deleted after sending
    settings = body(api.http.get("/documents/settings", headers=tenant.admin_headers()))
    assert (settings["has_logo"], settings["delete_after_sending"]) == (True, {"statement": True})


def test_a_statement_from_a_companys_own_template_that_prints_no_number_still_tells_the_client_its_number(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher
) -> None:
    from email.header import decode_header, make_header

    # Given the company's own statement layout, made by its adviser, that never prints the number
    source = "= {{ company.name }}: estado de cuenta\nSaldo: {{ statement.balance }}\n"
    saved = api.http.put(
        "/documents/templates/statement", headers=tenant.admin_headers(), body=json.dumps({"source": source})
    )
    assert saved.status_code == 200, saved.body
    # When the ERP sends the client's statement
    movements = [
        {"date": "2026-10-01", "document": "A-0001-00001234", "description": "Factura", "amount": "500"}
    ]
    answer = post_document(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": movements},
    )
    assert answer.status_code == 202, answer.body
    deliver_outboxes()
    # Then the PDF is the company's, without the number
    message, name, pdf = the_only_pdf(mailbox)
    assert "EC-CEDIMU-20261031" not in pdf_text(pdf)
    # But the client still reads the number the firm files it under: subject, text and file name
    subject = str(make_header(decode_header(message["Subject"])))
    assert "EC-CEDIMU-20261031" in subject, subject
    assert "EC-CEDIMU-20261031" in str(message.get_body(preferencelist=("plain",)).get_content())
    assert name == "estado_de_cuenta_EC-CEDIMU-20261031.pdf"
