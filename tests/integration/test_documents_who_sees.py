"""Who sees a document sent (D1-D3, with H1's rule): levels 1 to 3 the whole company's, a level-4
user only the documents they are responsible for and the bulk jobs they started, as the history
and the send jobs show them (another's is 404); and a document posted again answers what its first
post did. Real DynamoDB Local, SMTP server and moto's S3/SQS."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.documents import documents_key, post_document
from tests.steps.notes import staff_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant, named_user, smtp_sender_account

MOVEMENT = {"date": "2026-10-01", "document": "A-1", "description": "Factura", "amount": "12345.67"}
LINES = [{"code": "A-100", "description": "Tornillo (caja × 100)", "quantity": "12", "unit_price": "1250"}]


@pytest.fixture
def company(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The ERP's key, the company's `all` account on the test's SMTP server, the client CEDIMU
    and the supplier COMINT (each with an e-mail)."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    headers = documents_key(tenant)
    put_client(api, headers, "CEDIMU", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    supplier = {"name": "Comercial Internacional", "emails": ["ventas@comint.example"]}
    saved = api.http.put("/suppliers/COMINT", headers=headers, body=json.dumps(supplier))
    assert saved.status_code == 200, saved.body
    return headers


def order(number: str, responsible: str | None = None) -> dict[str, Any]:
    named = {"responsible": {"user_id": responsible}} if responsible else {}
    return {"number": number, "date": "2026-11-02", "client_id": "CEDIMU", "lines": LINES} | named


def callers(tenant: Tenant) -> dict[str, dict[str, str]]:
    """Each kind of staff caller of the company: levels 1 to 3, and two level-4 users."""
    company_id = tenant.company_id
    return {
        "level 1": tenant.admin_headers(),
        "level 2": staff_headers(tenant, f"lead@{company_id}", 2),
        "level 3": tenant.staff_headers(),
        "junior": staff_headers(tenant, f"junior@{company_id}", 4),
        "colleague": staff_headers(tenant, f"colleague@{company_id}", 4),
    }


def test_a_level_4_user_opens_only_the_documents_they_are_responsible_for(
    api: Client, tenant: Tenant, other_tenant: Tenant, company: dict[str, str]
) -> None:
    # Given the ERP sent two orders: one the level-4 user junior is responsible for, one their
    # level-4 colleague is
    staff = callers(tenant)
    mine = body(post_document(api, company, "/documents/orders", order("P-1", f"junior@{tenant.company_id}")))
    theirs = body(
        post_document(api, company, "/documents/orders", order("P-2", f"colleague@{tenant.company_id}"))
    )
    deliver_outboxes()

    # When each caller opens each order
    def seen(headers: dict[str, str], number: str) -> Any:
        return api.http.get(f"/documents/sent/order/{number}", headers=headers)

    # Then levels 1 to 3 open both, with a link to the PDF
    for level in ("level 1", "level 2", "level 3"):
        for number in ("P-1", "P-2"):
            answer = seen(staff[level], number)
            assert answer.status_code == 200, (level, number, answer.body)
            assert body(answer)["message_state"] == "sent"
            assert requests.get(body(answer)["download_url"], timeout=10).status_code == 200
    # And junior opens their own, with its link
    own = seen(staff["junior"], "P-1")
    assert own.status_code == 200, own.body
    assert body(own)["responsible"] == f"junior@{tenant.company_id}" and body(own)["download_url"]
    # But not their colleague's: 404, as for a document that does not exist, and as the history
    # answers for its e-mail
    hidden = seen(staff["junior"], "P-2")
    assert hidden.status_code == 404
    assert body(hidden)["message"] == body(seen(staff["junior"], "P-9"))["message"].replace("P-9", "P-2")
    assert "download_url" not in hidden.body.decode()
    history = f"/history/email/{theirs['communication_id']}"
    assert api.http.get(history, headers=staff["junior"]).status_code == 404
    # And the colleague the other way round
    assert seen(staff["colleague"], "P-2").status_code == 200
    assert seen(staff["colleague"], "P-1").status_code == 404
    assert (
        api.http.get(f"/history/email/{mine['communication_id']}", headers=staff["colleague"]).status_code
        == 404
    )
    # And an API key is refused (staff only), even with documents:read
    refused = seen(company, "P-1")
    assert refused.status_code == 403, refused.body
    # And another company's administrator finds neither
    for number in ("P-1", "P-2"):
        assert seen(other_tenant.admin_headers(), number).status_code == 404


def test_a_level_4_user_follows_only_the_bulk_statement_jobs_they_started(
    api: Client, tenant: Tenant, other_tenant: Tenant, company: dict[str, str]
) -> None:
    # Given the level-4 user junior started a bulk statement job, and the ERP another
    staff = callers(tenant)

    def started(headers: dict[str, str]) -> str:
        answer = api.http.post("/documents/statements/bulk", headers=headers, body=json.dumps({}))
        assert answer.status_code == 201, answer.body
        return str(body(answer)["job_id"])

    juniors, erps = started(staff["junior"]), started(company)

    # When each caller asks for each job's progress
    def progress(headers: dict[str, str], job_id: str) -> Any:
        return api.http.get(f"/documents/statements/bulk/{job_id}", headers=headers)

    # Then levels 1 to 3 and the ERP's key (documents:read) follow both
    for caller in (staff["level 1"], staff["level 2"], staff["level 3"], company):
        for job_id in (juniors, erps):
            answer = progress(caller, job_id)
            assert answer.status_code == 200, answer.body
            assert body(answer)["job_id"] == job_id
    # And junior follows theirs, but the ERP's is not found, as in GET /sends/{job_id}
    assert body(progress(staff["junior"], juniors))["created_by"] == f"junior@{tenant.company_id}"
    # And levels 1 to 3 read who started it by name (junior is "Julia Paz" in the staff directory)
    named_user(tenant.company_id, f"junior@{tenant.company_id}", "Julia Paz", level=4)
    assert body(progress(staff["level 3"], juniors))["created_by_name"] == "Julia Paz"
    assert progress(staff["junior"], erps).status_code == 404
    assert api.http.get(f"/sends/{erps}", headers=staff["junior"]).status_code == 404
    # And junior's colleague finds neither
    for job_id in (juniors, erps):
        assert progress(staff["colleague"], job_id).status_code == 404
        assert api.http.get(f"/sends/{job_id}", headers=staff["colleague"]).status_code == 404
    # And a key without documents:read is refused
    assert progress(tenant.key_headers(), juniors).status_code == 403
    # And another company's administrator finds neither
    for job_id in (juniors, erps):
        assert progress(other_tenant.admin_headers(), job_id).status_code == 404


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/documents/orders", order("P-7")),
        (
            "/documents/purchase-orders",
            {"number": "OC-7", "date": "2026-11-02", "supplier_id": "COMINT", "lines": LINES},
        ),
        (
            "/documents/statements",
            {
                "client_id": "CEDIMU",
                "as_of": "2026-10-31",
                "movements": [{"date": "2026-10-01", "document": "A-1", "amount": "12345.67"}],
            },
        ),
    ],
)
def test_a_document_posted_twice_answers_the_second_time_what_it_did_the_first(
    api: Client, company: dict[str, str], path: str, payload: dict[str, Any]
) -> None:
    # Given the ERP posted a document, and its e-mail went out
    first = post_document(api, company, path, payload)
    assert first.status_code == 202, first.body
    deliver_outboxes()

    # When it posts the same document again
    again = post_document(api, company, path, payload)

    # Then the repeat answers 200 with every field of the first answer, the address included,
    # only marked as a duplicate
    assert again.status_code == 200, again.body
    assert body(first)["to_address"] in ("compras@losandes.example", "ventas@comint.example")
    assert body(again) == {**body(first), "duplicate": True}
    # And nothing more is sent
    assert deliver_outboxes()["sent"] == 0


def test_a_level_4_user_posting_another_users_document_again_learns_nothing_of_it(
    api: Client, tenant: Tenant, company: dict[str, str]
) -> None:
    # Given the ERP sent an order the level-4 user colleague is responsible for
    staff = callers(tenant)
    payload = order("P-3", f"colleague@{tenant.company_id}")
    first = body(post_document(api, company, "/documents/orders", payload))
    deliver_outboxes()

    # When the level-4 user junior posts the same order (staff may post documents)
    again = post_document(api, staff["junior"], "/documents/orders", payload)

    # Then it is refused naming the number, with nothing of the first order in the answer
    assert again.status_code == 409, again.body
    assert body(again)["field"] == "number"
    assert body(again)["message"] == "the order 'P-3' was sent before, by another user"
    assert first["communication_id"] not in again.body.decode()
    assert "compras@losandes.example" not in again.body.decode()
    # And in Spanish when the caller prefers it
    spanish = post_document(
        api, {**staff["junior"], "Accept-Language": "es-AR"}, "/documents/orders", payload
    )
    assert body(spanish)["message"] == "order 'P-3' ya se envió antes, por otro usuario"
    # And nothing more is sent
    assert deliver_outboxes()["sent"] == 0
    # While the colleague, and staff of levels 1 to 3, get the first answer as a duplicate
    for caller in ("colleague", "level 1", "level 2", "level 3"):
        repeat = post_document(api, staff[caller], "/documents/orders", payload)
        assert repeat.status_code == 200, (caller, repeat.body)
        assert body(repeat) == {**first, "duplicate": True}


def test_a_bulk_statement_is_found_by_the_number_it_prints(
    api: Client, tenant: Tenant, other_tenant: Tenant, company: dict[str, str], mailbox: MailCatcher
) -> None:
    from tests.steps.documents import pdf_attachments, pdf_text
    from tests.steps.sends import expand_pages

    # Given the ERP sent CEDIMU's statement of 31/10 alone, then put its open movements
    alone = {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": [MOVEMENT]}
    assert body(post_document(api, company, "/documents/statements", alone))["number"] == "EC-CEDIMU-20261031"
    put = api.http.put(
        "/clients/CEDIMU/open-movements", headers=company, body=json.dumps({"movements": [MOVEMENT]})
    )
    assert put.status_code == 200, put.body
    deliver_outboxes()
    mailbox.clear()
    staff = callers(tenant)

    # When the level-4 user junior sends every client's statement of that day in bulk, and then
    # the ERP does too
    def bulk(headers: dict[str, str]) -> str:
        started = api.http.post(
            "/documents/statements/bulk", headers=headers, body=json.dumps({"as_of": "2026-10-31"})
        )
        assert started.status_code == 201, started.body
        expand_pages()
        deliver_outboxes()
        return str(body(started)["job_id"])

    juniors = bulk(staff["junior"])
    erps = bulk(company)

    # Then each bulk statement prints a number of its own, after the one sent alone
    printed = {}
    for message in mailbox.wait_for(2):
        [(name, pdf)] = pdf_attachments(message)
        printed[name] = pdf_text(pdf)
    assert sorted(printed) == [
        "estado_de_cuenta_EC-CEDIMU-20261031-2.pdf",
        "estado_de_cuenta_EC-CEDIMU-20261031-3.pdf",
    ]
    assert "EC-CEDIMU-20261031-2" in printed["estado_de_cuenta_EC-CEDIMU-20261031-2.pdf"]

    # And a clerk of levels 1 to 3 opens each by that number, as one sent alone
    def seen(headers: dict[str, str], number: str) -> Any:
        return api.http.get(f"/documents/sent/statement/{number}", headers=headers)

    for level in ("level 1", "level 2", "level 3"):
        for number, job_id in (("EC-CEDIMU-20261031-2", juniors), ("EC-CEDIMU-20261031-3", erps)):
            answer = seen(staff[level], number)
            assert answer.status_code == 200, (level, number, answer.body)
            found = body(answer)
            assert (found["recipient_id"], found["job_id"], found["message_state"]) == (
                "CEDIMU",
                job_id,
                "sent",
            )
            assert found["file_name"] == f"estado_de_cuenta_{number}.pdf"
            assert requests.get(found["download_url"], timeout=10).status_code == 200
        assert body(seen(staff[level], "EC-CEDIMU-20261031"))["job_id"] is None
    # And the ERP posting a statement with a bulk one's number is answered with that one, sending nothing
    again = post_document(api, company, "/documents/statements", alone | {"number": "EC-CEDIMU-20261031-2"})
    assert again.status_code == 200, again.body
    first = body(seen(staff["level 1"], "EC-CEDIMU-20261031-2"))
    assert body(again)["duplicate"] is True
    assert body(again)["communication_id"] == first["communication_id"] is not None
    assert deliver_outboxes()["sent"] == 0
    # And junior opens the one of the job they started, not the ERP's (404, as for no statement),
    # and their level-4 colleague neither
    assert body(seen(staff["junior"], "EC-CEDIMU-20261031-2"))["job_id"] == juniors
    assert seen(staff["junior"], "EC-CEDIMU-20261031-3").status_code == 404
    for number in ("EC-CEDIMU-20261031-2", "EC-CEDIMU-20261031-3"):
        assert seen(staff["colleague"], number).status_code == 404
        assert seen(other_tenant.admin_headers(), number).status_code == 404


def test_a_level_4_user_who_sends_a_statement_from_the_console_finds_it_again(
    api: Client, tenant: Tenant, company: dict[str, str]
) -> None:
    # Given the level-4 user junior, who sends CEDIMU its statement as the console's "Enviar su
    # estado de cuenta" does (seed 003's "Envía Edo. Cta."): the client and nothing else, no
    # `responsible`
    staff = callers(tenant)
    sent = api.http.post(
        "/documents/statements", headers=staff["junior"], body=json.dumps({"client_id": "CEDIMU"})
    )
    assert sent.status_code == 202, sent.body
    statement = body(sent)
    deliver_outboxes()
    # When they look it up by its number, and open its e-mail in their history
    found = api.http.get(f"/documents/sent/statement/{statement['number']}", headers=staff["junior"])
    mail = api.http.get(f"/history/email/{statement['communication_id']}", headers=staff["junior"])
    # Then both are theirs: the statement names them as its responsible and its e-mail as its
    # sender (before, neither named anyone, so a level-4 user got 404 for what they had just sent)
    assert found.status_code == 200, found.body
    assert body(found)["responsible"] == f"junior@{tenant.company_id}"
    assert mail.status_code == 200, mail.body
    assert body(mail)["created_by"] == f"junior@{tenant.company_id}"
    # And their level-4 colleague does not see it
    assert (
        api.http.get(
            f"/documents/sent/statement/{statement['number']}", headers=staff["colleague"]
        ).status_code
        == 404
    )
    # And a statement the ERP sends (an API key, no `responsible`) is still no one's
    erp = body(
        post_document(
            api,
            company,
            "/documents/statements",
            {"client_id": "CEDIMU", "as_of": "2026-10-31", "movements": [MOVEMENT]},
        )
    )
    assert (
        api.http.get(f"/documents/sent/statement/{erp['number']}", headers=staff["junior"]).status_code == 404
    )
