"""Bulk account statements (D2; seed 003's "Estado de cuenta E-Mail"): a range of clients and
filters, an empty range being every client; only clients with an e-mail and open movements get
one; a job with progress, fanned out over SQS, reporting who was skipped and why. Real DynamoDB
Local, SMTP server and moto's SQS/S3."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.aws import counted_requests
from tests.steps.clients import remove_client
from tests.steps.documents import documents_key, pdf_attachments, pdf_text
from tests.steps.hostile_mail import company_files
from tests.steps.mail import recipients
from tests.steps.outbox import deliver_outboxes
from tests.steps.sends import expand_pages
from tests.steps.tenants import Tenant, smtp_sender_account

CLIENTS = 220  # the whole book: five pages of 50
FEW = 40  # C0001-C0040: every range the other tests pick lies in them, with clients either side
NO_EMAIL = range(1, 11)  # C0001-C0010
NO_MOVEMENTS = range(11, 21)  # C0011-C0015 never pushed, C0016-C0020 pushed empty
SUPPRESSED = range(21, 26)  # C0021-C0025
AGENT_ANA = range(30, 41)  # C0030-C0040


def code(n: int) -> str:
    return f"C{n:04d}"


@pytest.fixture
def clients(tenant: Tenant, mailbox: MailCatcher) -> Tenant:
    """The company's first 40 clients as its ERP pushed them, with their open movements."""
    return seeded(tenant, mailbox, FEW)


@pytest.fixture
def every_client(tenant: Tenant, mailbox: MailCatcher) -> Tenant:
    """220 clients of the company as its ERP pushed them, with their open movements."""
    return seeded(tenant, mailbox, CLIENTS)


def seeded(tenant: Tenant, mailbox: MailCatcher, count: int) -> Tenant:
    """Clients C0001 to ``count`` as the ERP pushed them (with the gaps above) and a sender account.
    (Their open movements are kept by the store's own save, which is what the API's saves end in,
    without the read that looks for a client of that code: each was just saved.)"""
    from chalicelib.core import clock
    from chalicelib.core.domain import Movement, OpenMovements
    from chalicelib.messaging.suppression import add_suppression
    from chalicelib.store.documents import save_open_movements
    from chalicelib.tenants.clients import save_client

    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    for n in range(1, count + 1):
        save_client(
            tenant.company_id,
            code(n),
            name=f"Cliente Número {n}",
            emails=[] if n in NO_EMAIL else [f"{code(n).lower()}@clientes.example"],
            phones=[],
            contacts=[],
            message_switches={},
            preferred_agent=None,
            collection_agent="ana" if n in AGENT_ANA else None,
            classification={"zona": "norte" if n % 2 == 0 else "sur"},
        )
        if n in NO_MOVEMENTS and n <= 15:
            continue
        movements = (
            []
            if n in NO_MOVEMENTS
            else [
                Movement("2026-10-01", f"A-0001-{n:08d}", f"{1000 + n}.50", "Factura", "2026-10-31"),
                Movement("2026-10-20", f"NC-0001-{n:08d}", "-100", "Nota de crédito"),
            ]
        )
        save_open_movements(OpenMovements(tenant.company_id, code(n), tuple(movements), None, clock.now()))
    for n in SUPPRESSED:
        add_suppression(tenant.company_id, f"{code(n).lower()}@clientes.example", note=None, by="test")
    return tenant


def start(api: Client, tenant: Tenant, **selection: Any) -> dict[str, Any]:
    answer = api.http.post(
        "/documents/statements/bulk", headers=documents_key(tenant), body=json.dumps(selection)
    )
    assert answer.status_code == 201, answer.body
    return dict(body(answer))


def job(api: Client, tenant: Tenant, job_id: str) -> dict[str, Any]:
    answer = api.http.get(f"/documents/statements/bulk/{job_id}", headers=tenant.staff_headers())
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def progress_of(seen: dict[str, Any]) -> tuple[Any, ...]:
    return seen["state"], seen["total"], seen["sent"], seen["failed"], seen["skipped"], seen["waiting"]


def test_every_client_with_an_email_and_open_movements_gets_a_statement_and_the_rest_are_counted(
    api: Client, every_client: Tenant, mailbox: MailCatcher
) -> None:
    # When staff start a bulk statement with an empty range and no filter (every client)
    started = start(api, every_client, as_of="2026-10-31")
    assert progress_of(started) == ("expanding", 0, 0, 0, 0, 0)
    # Then the job moves as its pages are expanded, 50 clients at a time
    assert expand_pages(limit=1) == 1
    first = job(api, every_client, started["job_id"])
    assert first["state"] == "expanding" and first["total"] == 50
    assert expand_pages() == 4
    expanded = job(api, every_client, started["job_id"])
    assert progress_of(expanded) == ("sending", CLIENTS, 0, 0, 25, 195)
    assert expanded["skip_reasons"] == {"no_email": 10, "no_open_movements": 10, "suppressed": 5}
    # And once the outbox delivers, each of the 195 gets its own statement, and the job is done
    assert deliver_outboxes()["sent"] == 195
    assert progress_of(job(api, every_client, started["job_id"])) == ("done", CLIENTS, 195, 0, 25, 0)
    messages = mailbox.messages()
    addressed = sorted(r for m in messages for r in envelope_recipients(m))
    assert len(addressed) == 195 and addressed[0] == "c0026@clientes.example"
    assert not {f"{code(n).lower()}@clientes.example" for n in SUPPRESSED} & set(addressed)
    [c0150] = [m for m in messages if envelope_recipients(m) == ["c0150@clientes.example"]]
    [(name, pdf)] = pdf_attachments(c0150)
    text = pdf_text(pdf)
    assert name == "estado_de_cuenta_EC-C0150-20261031.pdf"
    assert "Cliente Número 150" in text and "A-0001-00000150" in text and "1.150,50" in text
    assert "1.050,50" in text and "Nota de crédito" in text


def test_a_range_of_codes_and_an_agent_pick_the_clients(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # When staff send statements to the clients from C0026 to C0035 whose collection agent is Ana
    started = start(api, clients, from_client="C0026", to_client="C0035", collection_agent="ana")
    assert started["selection"] == {"from_client": "C0026", "to_client": "C0035", "collection_agent": "ana"}
    expand_pages()
    deliver_outboxes()
    # Then only C0030-C0035 get one
    seen = job(api, clients, started["job_id"])
    assert progress_of(seen) == ("done", 6, 6, 0, 0, 0)
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == [f"c{n:04d}@clientes.example" for n in range(30, 36)]


def test_two_statement_pages_ask_dynamodb_nothing_more_for_skipping_clients_being_erased(
    api: Client, clients: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.documents import bulk

    # Given a company that is erasing no one, and pages of five clients
    monkeypatch.setattr(bulk, "PAGE_SIZE", 5)
    # When staff send statements to the ten clients from C0026 to C0035 and the workers expand
    # the job's two pages
    start(api, clients, from_client="C0026", to_client="C0035")
    with counted_requests() as counts:
        assert expand_pages() == 2
    # Then DynamoDB was asked nothing to skip clients being erased: the company's item, read for
    # its name and branding anyway, lists them (no batch read of the clients' erasures per page)
    asked = {operation: n for operation, n in counts.items() if operation.startswith("dynamodb:")}
    assert asked == {
        "dynamodb:GetItem": 12,  # each page: the job, the company, the e-mail's and the PDF's
        # templates, the document settings twice
        "dynamodb:Query": 2,  # each page: its clients
        "dynamodb:BatchGetItem": 6,  # each page: its open movements, suppressions, sender account
        "dynamodb:PutItem": 10,  # each statement's number, recorded before it is printed
        "dynamodb:TransactWriteItems": 2,  # each page: its messages
        "dynamodb:BatchWriteItem": 3,  # each page: its hand-off record; the first: the next page
        "dynamodb:UpdateItem": 5,  # each page: its bound recorded, then counted; the job then sending
        "dynamodb:DeleteItem": 2,  # each page forgotten once expanded
    }


def test_why_clients_were_skipped_reads_as_sentences_in_the_callers_language_beside_the_codes(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given a job over C0001-C0026: 10 with no e-mail, 10 owing nothing, 5 suppressed, 1 sent
    started = start(api, clients, from_client="C0001", to_client="C0026")
    expand_pages()
    deliver_outboxes()
    path = f"/documents/statements/bulk/{started['job_id']}"
    # When staff read the job in the console (in Spanish) and a program reads it (no language)
    spanish = body(api.http.get(path, headers={**clients.staff_headers(), "Accept-Language": "es"}))
    english = job(api, clients, started["job_id"])
    # Then each reason is a sentence with its count, in the caller's language
    assert spanish["skip_details"] == [
        {"code": "no_email", "count": 10, "reason": "clientes sin dirección de e-mail"},
        {
            "code": "no_open_movements",
            "count": 10,
            "reason": "clientes sin movimientos abiertos (no deben nada)",
        },
        {
            "code": "suppressed",
            "count": 5,
            "reason": "clientes con la dirección de e-mail en la lista de supresión",
        },
    ]
    assert [d["reason"] for d in english["skip_details"]] == [
        "clients with no e-mail address",
        "clients with no open movements (they owe nothing)",
        "clients whose e-mail address is on the suppression list",
    ]
    # And the codes stay as they were, for programs
    assert (
        spanish["skip_reasons"]
        == english["skip_reasons"]
        == {
            "no_email": 10,
            "no_open_movements": 10,
            "suppressed": 5,
        }
    )
    assert english["fail_details"] == [] and progress_of(english) == ("done", 26, 1, 0, 25, 0)


def test_a_client_whose_statement_numbers_of_the_day_are_taken_is_counted_as_failed_with_why(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.documents import send

    # Given one statement number a client and day, and C0026 sent its statement today by a job
    monkeypatch.setattr(send, "STATEMENTS_A_DAY", 1)
    first = start(api, clients, from_client="C0026", to_client="C0027", as_of="2026-10-31")
    expand_pages()
    deliver_outboxes()
    assert progress_of(job(api, clients, first["job_id"])) == ("done", 2, 2, 0, 0, 0)
    # When another job that day takes in C0026 again
    second = start(api, clients, from_client="C0026", to_client="C0026", as_of="2026-10-31")
    expand_pages()
    deliver_outboxes()
    # Then the job ends, C0026's statement counted as failed, with the code and why in words
    seen = job(api, clients, second["job_id"])
    assert progress_of(seen) == ("done", 1, 0, 1, 0, 0)
    assert seen["fail_reasons"] == {"no_number": 1}
    assert seen["fail_details"] == [
        {
            "code": "no_number",
            "count": 1,
            "reason": "clients with no statement number left that day (20 a day)",
        }
    ]


def test_clients_who_owe_nothing_get_a_statement_with_a_zero_balance_when_the_job_includes_them(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given clients C0011-C0020 with nothing open (five never pushed, five pushed empty) and
    # C0021-C0025 suppressed
    # When staff send statements to C0011-C0025 including those who owe nothing (the seed's
    # "todos los clientes con correo registrado")
    started = start(api, clients, from_client="C0011", to_client="C0025", include_settled=True)
    assert started["selection"] == {"from_client": "C0011", "to_client": "C0025", "include_settled": True}
    expand_pages()
    deliver_outboxes()
    # Then each of the ten gets a statement whose balance is zero; the suppressed are still skipped
    seen = job(api, clients, started["job_id"])
    assert progress_of(seen) == ("done", 15, 10, 0, 5, 0)
    assert seen["skip_reasons"] == {"suppressed": 5}
    messages = mailbox.messages()
    assert sorted(r for m in messages for r in envelope_recipients(m)) == [
        f"c{n:04d}@clientes.example" for n in range(11, 21)
    ]
    [c0012] = [m for m in messages if envelope_recipients(m) == ["c0012@clientes.example"]]
    [(name, pdf)] = pdf_attachments(c0012)
    assert name.startswith("estado_de_cuenta_EC-C0012-")
    text = pdf_text(pdf)
    assert "Cliente Número 12" in text and "0,00" in text


def test_a_backwards_range_is_refused_naming_the_field(api: Client, tenant: Tenant) -> None:
    answer = api.http.post(
        "/documents/statements/bulk",
        headers=documents_key(tenant),
        body=json.dumps({"from_client": "C0200", "to_client": "C0100"}),
    )
    assert answer.status_code == 422 and body(answer)["errors"][0]["field"] == "to_client"


def test_pages_run_twice_send_and_count_once(api: Client, clients: Tenant, mailbox: MailCatcher) -> None:
    # Given a job whose first page is handled twice (SQS delivers at least once)
    from chalicelib.producers.documents.bulk import expand_statement_page

    started = start(api, clients, from_client="C0026", to_client="C0035")
    expand_pages()
    expand_statement_page(clients.company_id, started["job_id"], 0, None)
    # Then the PDFs the second run rendered are gone (its messages had been written by the
    # first): the bucket holds the 10 the queued e-mails name, none that no message names
    assert len(company_files(clients.company_id, "documents")) == 10
    deliver_outboxes()
    # And each client got one statement and the job counts each once
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 10, 10, 0, 0, 0)
    assert len(mailbox.messages()) == 10


def test_a_page_that_runs_out_of_time_sends_the_rest_in_parts_each_statement_once(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.documents import bulk

    # Given pages whose time for rendering is up after each statement (as a page of very long
    # statements on a Lambda's share of a CPU), and a job of 10 clients
    monkeypatch.setattr(bulk, "PART_SECONDS", 0.0)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    # When its page's first part runs
    assert expand_pages(limit=1) == 1
    # Then one statement is queued, the job still expanding (its page not counted yet), and the
    # rest of the page asked for as its own part
    first = job(api, clients, started["job_id"])
    assert progress_of(first) == ("expanding", 0, 0, 0, 0, 0)
    assert len(company_files(clients.company_id, "documents")) == 1
    # When that first part is delivered again (SQS delivers at least once) and every part runs
    bulk.expand_statement_page(clients.company_id, started["job_id"], 0, None)
    assert expand_pages() >= 9
    deliver_outboxes()
    # Then each client got one statement, the job counts each once and is done, and the bucket
    # holds the 10 PDFs the e-mails name
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 10, 10, 0, 0, 0)
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == [f"c{n:04d}@clientes.example" for n in range(26, 36)]
    assert len(company_files(clients.company_id, "documents")) == 10


def test_the_companys_classification_fields_pick_the_clients(
    api: Client, clients: Tenant, mailbox: MailCatcher
) -> None:
    # Given clients the ERP classifies by zone (even codes "norte")
    seen = api.http.get("/clients/C0030", headers=clients.key_headers())
    assert body(seen)["classification"] == {"zona": "norte"}
    # When staff send statements to the northern clients from C0030 to C0035
    started = start(api, clients, from_client="C0030", to_client="C0035", classification={"zona": "norte"})
    assert started["selection"]["classification"] == {"zona": "norte"}
    expand_pages()
    deliver_outboxes()
    # Then only C0030, C0032 and C0034 get one
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 3, 3, 0, 0, 0)
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == ["c0030@clientes.example", "c0032@clientes.example", "c0034@clientes.example"]


def put_client_with_a_debt(api: Client, tenant: Tenant, client_id: str) -> None:
    """The ERP adds a client with an e-mail and one open invoice (``PUT /clients/{id}`` and its
    open movements)."""
    answer = api.http.put(
        f"/clients/{client_id}",
        headers=documents_key(tenant),
        body=json.dumps(
            {"name": f"Cliente {client_id}", "emails": [f"{client_id.lower()}@clientes.example"]}
        ),
    )
    assert answer.status_code in (200, 201), answer.body
    movements = [
        {"date": "2026-10-01", "document": f"A-0001-{client_id}", "amount": "500", "description": "Factura"}
    ]
    answer = api.http.put(
        f"/clients/{client_id}/open-movements",
        headers=documents_key(tenant),
        body=json.dumps({"movements": movements}),
    )
    assert answer.status_code in (200, 201), answer.body


def parts_of_one_statement_in_pages_of_five(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 5 clients whose time for rendering is up after each statement (as pages of very
    long statements on a Lambda's share of a CPU)."""
    from chalicelib.producers.documents import bulk

    monkeypatch.setattr(bulk, "PART_SECONDS", 0.0)
    monkeypatch.setattr(bulk, "PAGE_SIZE", 5)


def test_a_client_added_inside_a_page_running_in_parts_pushes_no_client_of_the_page_out(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job of 10 clients in two pages of 5 that run in parts, the first page's first part
    # done (C0026 rendered; its page, as it read it, C0026-C0030)
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    # When the ERP adds a client whose code falls inside that page before its rest runs
    put_client_with_a_debt(api, clients, "C0027A")
    expand_pages()
    deliver_outboxes()
    # Then each of the 11 clients got its statement, the first page's last client (C0030) too,
    # and the job counts each once and is done
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == sorted(
        [f"c{n:04d}@clientes.example" for n in range(26, 36)] + ["c0027a@clientes.example"]
    )
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 11, 11, 0, 0, 0)


def test_more_clients_added_inside_a_page_than_a_page_holds_all_get_their_statement_in_that_page(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.documents import bulk

    # Given a job of 10 clients in two pages of 5, the first page's first part done and out of time
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    # When the ERP adds 6 clients inside that page (more than a page holds), and the rest of the
    # page has all the time it needs
    added = [f"C0027{letter}" for letter in "ABCDEF"]
    for client_id in added:
        put_client_with_a_debt(api, clients, client_id)
    monkeypatch.setattr(bulk, "PART_SECONDS", 100.0)
    expand_pages()
    deliver_outboxes()
    # Then each of the 16 clients got one statement and the job counts each once and is done
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    expected = [f"c{n:04d}@clientes.example" for n in range(26, 36)] + [
        f"{c.lower()}@clientes.example" for c in added
    ]
    assert addressed == sorted(expected)
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 16, 16, 0, 0, 0)


def test_a_client_gone_from_a_page_running_in_parts_brings_no_client_of_the_next_page_in(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job of 10 clients in two pages of 5 that run in parts, the first page's first part done
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    # When client C0028 is removed from the clients' table before the page's rest runs (Pregón
    # has no delete; an operator's clean-up or a restore does it)
    remove_client(clients, "C0028")
    expand_pages()
    deliver_outboxes()
    # Then the 9 clients left got one statement each, and the job counts 9, not the second
    # page's first client twice, and is done (no recipient it will wait for forever)
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == [f"c{n:04d}@clientes.example" for n in range(26, 36) if n != 28]
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 9, 9, 0, 0, 0)


def test_a_rest_asked_for_before_pages_had_a_bound_goes_through_its_page_as_before(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core import aws

    # Given a job of 10 clients in two pages of 5 that run in parts, whose first page's first
    # part asked for its rest as the release before did: no bound of the page in the request
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    really_send = aws.send_json_messages

    def as_before(queue_name: str, bodies: list[dict[str, Any]]) -> None:
        old = [{k: v for k, v in b.items() if k not in ("until", "last_page")} for b in bodies]
        really_send(queue_name, old)

    monkeypatch.setattr(aws, "send_json_messages", as_before)
    assert expand_pages(limit=1) == 1
    monkeypatch.setattr(aws, "send_json_messages", really_send)
    # When every part runs
    expand_pages()
    deliver_outboxes()
    # Then each client got one statement and the job counts each once and is done
    addressed = sorted(r for m in mailbox.messages() for r in envelope_recipients(m))
    assert addressed == [f"c{n:04d}@clientes.example" for n in range(26, 36)]
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 10, 10, 0, 0, 0)


def test_a_first_part_delivered_again_after_its_page_was_counted_renders_nothing(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.aws import send_json_messages
    from chalicelib.producers.documents import bulk
    from chalicelib.producers.sends.manual import send_jobs_queue

    # Given a job of 10 clients whose page ran in parts to its end and whose e-mails went
    monkeypatch.setattr(bulk, "PART_SECONDS", 0.0)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    expand_pages()
    deliver_outboxes()
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 10, 10, 0, 0, 0)
    # When SQS delivers the page's first part again, late
    first_part = {"company_id": clients.company_id, "job_id": started["job_id"], "page": 0, "cursor": None}
    send_json_messages(send_jobs_queue(), [first_part | {"kind": "statements"}])
    with counted_requests() as requests:
        handled = expand_pages()
    # Then only that delivery ran: it read the job once, read no client, stored no PDF and asked
    # for no part, and the job and the mailbox are as they were
    assert handled == 1
    assert requests["dynamodb:GetItem"] == 1 and requests["dynamodb:Query"] == 0
    assert requests["s3:PutObject"] == 0 and requests["sqs:SendMessageBatch"] == 0
    assert len(company_files(clients.company_id, "documents")) == 10
    deliver_outboxes()
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 10, 10, 0, 0, 0)
    assert len(mailbox.messages()) == 10


def first_part_delivered_again(api: Client, tenant: Tenant, job_id: str, page: int = 0) -> None:
    """SQS delivers a page's first part again (at least once), to the send-job worker, while the
    part's first delivery still has its page's rest on the queue."""
    from chalicelib.producers.sends.manual import send_jobs_queue

    first_part = {"company_id": tenant.company_id, "job_id": job_id, "page": page, "cursor": None}
    event = api.events.generate_sqs_event(
        queue_name=send_jobs_queue(), message_bodies=[json.dumps(first_part | {"kind": "statements"})]
    )
    assert api.lambda_.invoke("expand_send_job", event).payload["pages"] == 1


def job_item(tenant: Tenant, job_id: str) -> dict[str, Any]:
    """The job's item as DynamoDB holds it."""
    import boto3

    from chalicelib.store.models import SendJobModel

    key = {"company_id": {"S": tenant.company_id}, "job_id": {"S": job_id}}
    item = boto3.client("dynamodb").get_item(
        TableName=SendJobModel.Meta.table_name, Key=key, ConsistentRead=True
    )
    return dict(item["Item"])


def test_a_first_part_delivered_again_after_a_client_was_added_inside_its_page_leaves_no_client_out(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.documents import bulk

    # Given a job of 10 clients in pages of 5, the first page's first part done and out of time
    # after one statement (its page, as it read it, C0026-C0030; the next page after C0030)
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    # When the ERP adds a client inside that page, and SQS then delivers the page's first part
    # again while its rest is still waiting (and parts now have all the time they need)
    put_client_with_a_debt(api, clients, "C0027A")
    monkeypatch.setattr(bulk, "PART_SECONDS", 100.0)
    first_part_delivered_again(api, clients, started["job_id"])
    # Then the page keeps the bound its first delivery read, recorded on the job
    assert job_item(clients, started["job_id"])["page_bounds"] == {"SS": ["0#C0030"]}
    expand_pages()
    deliver_outboxes()
    # Then each of the 11 clients got exactly one statement, the page's last client (C0030)
    # too, and the job counts each once and is done
    expected = [f"c{n:04d}@clientes.example" for n in range(26, 36)] + ["c0027a@clientes.example"]
    assert Counter(recipients(mailbox)) == Counter(expected)
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 11, 11, 0, 0, 0)
    # And each page forgot its bound when it was counted: the job's item holds none
    assert not {"page_bounds", "bounded_pages"} & set(job_item(clients, started["job_id"]))


def test_a_first_part_delivered_again_after_a_client_of_its_page_was_removed_counts_no_client_twice(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:

    from chalicelib.producers.documents import bulk

    # Given a job of 10 clients in pages of 5, the first page's first part done and out of time
    # after one statement (its page, as it read it, C0026-C0030; the next page after C0030)
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    # When client C0028 is removed from the clients' table, and SQS then delivers the page's
    # first part again while its rest is still waiting (and parts now have all the time they need)
    remove_client(clients, "C0028")
    monkeypatch.setattr(bulk, "PART_SECONDS", 100.0)
    first_part_delivered_again(api, clients, started["job_id"])
    expand_pages()
    deliver_outboxes()
    # Then the 9 clients left got exactly one statement each, and the job counts 9, not the next
    # page's first client (C0031) twice, and is done (no recipient it waits for forever)
    expected = [f"c{n:04d}@clientes.example" for n in range(26, 36) if n != 28]
    assert Counter(recipients(mailbox)) == Counter(expected)
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 9, 9, 0, 0, 0)


def test_a_rest_asked_for_by_the_release_before_keeps_the_bound_it_carries(
    api: Client, clients: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from chalicelib.store.models import SendJobModel

    # Given a job of 10 clients in pages of 5 that run in parts, whose first page's first part ran
    # on the release before: its rest carries the page's bound (C0030), none is recorded on the job
    parts_of_one_statement_in_pages_of_five(monkeypatch)
    started = start(api, clients, from_client="C0026", to_client="C0035")
    assert expand_pages(limit=1) == 1
    boto3.client("dynamodb").update_item(
        TableName=SendJobModel.Meta.table_name,
        Key={"company_id": {"S": clients.company_id}, "job_id": {"S": started["job_id"]}},
        UpdateExpression="REMOVE page_bounds, bounded_pages",
    )
    # When the ERP adds a client inside that page, SQS delivers the page's first part again once
    # the rest has run, and every part runs
    put_client_with_a_debt(api, clients, "C0027A")
    assert expand_pages(limit=2) == 2  # the next page's first part, then the page's rest
    first_part_delivered_again(api, clients, started["job_id"])
    expand_pages()
    deliver_outboxes()
    # Then the bound the rest carried held for the whole page: each of the 11 clients got
    # exactly one statement, and the job counts each once and is done
    expected = [f"c{n:04d}@clientes.example" for n in range(26, 36)] + ["c0027a@clientes.example"]
    assert Counter(recipients(mailbox)) == Counter(expected)
    assert progress_of(job(api, clients, started["job_id"])) == ("done", 11, 11, 0, 0, 0)


def test_a_request_retried_with_another_of_the_companys_keys_answers_the_first_job(
    api: Client, clients: Tenant
) -> None:
    # Given the ERP started the month's statements with a request id, with its key
    first = api.http.post(
        "/documents/statements/bulk",
        headers=documents_key(clients),
        body=json.dumps({"request_id": "cierre-11"}),
    )
    assert first.status_code == 201, first.body
    # When its systems retry it with the key that replaced that one (a rotation meanwhile)
    retried = api.http.post(
        "/documents/statements/bulk",
        headers=documents_key(clients),
        body=json.dumps({"request_id": "cierre-11"}),
    )
    # Then the answer is the first job, not a conflict, and no second job was started
    assert retried.status_code == 200, retried.body
    assert body(retried)["job_id"] == body(first)["job_id"]
