"""Manual sends (C8): staff pick clients by list or filter and a template; one client is sent at
once, many become a job that fans out over SQS (Q3) with progress, and SMS to more than one
client needs the bulk-send password (C6). Real DynamoDB Local, SMTP server and moto."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.aws import counted_requests, moto_received, stored_size
from tests.steps.clients import put_client, remove_client
from tests.steps.mail import recipients, wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.sends import expand_pages, job_of, progress, sender_account_reads
from tests.steps.tenants import IDENTITY, Tenant, named_user, smtp_sender_account

BULK_PASSWORD = "masivos-2026-seguro"
NOTICE = {
    "subject": "Aviso para {{ client.name }}",
    "text": "Hola {{ client.name }} ({{ client.code }}): {{ aviso }}",
    "html": "<p>Hola {{ client.name }}: {{ aviso }}</p>",
}


@pytest.fixture
def company(api: Client, tenant: Tenant, mailbox: MailCatcher) -> Tenant:
    """The tenant with an `all` sender account on the test's SMTP server and a custom template."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Cargas del Sur", "info@cargasdelsur.example")
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    return tenant


def send(api: Client, tenant: Tenant, **fields: Any) -> Any:
    data = {"channel": "email", "template": "custom:aviso", "variables": {"aviso": "corte el lunes"}} | fields
    return api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(data))


def test_a_send_to_one_client_goes_out_at_once_with_the_rendered_template(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client with an e-mail address
    put_client(api, company, "CLI-7", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    # When staff send the custom notice to that one client
    response = send(api, company, client_ids=["CLI-7"])
    # Then it is queued at once (no job) and the e-mail arrives, rendered for the client
    assert response.status_code == 201, response.body
    answer = body(response)
    assert answer["job"] is None
    [message] = answer["messages"]
    assert message["state"] == "queued" and message["to_address"] == "compras@losandes.example"
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["compras@losandes.example"]
    assert mail["Subject"] == "Aviso para Ferretería Los Andes"
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hola Ferretería Los Andes (CLI-7): corte el lunes" in text
    assert body(api.http.get(f"/sends/{message['communication_id']}", headers=company.staff_headers())) == {
        "error": "NotFound",
        "message": f"there is no send job {message['communication_id']!r}",
    }


def test_a_manual_email_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client with a Spanish name; When staff send it the notice with a short Spanish text
    put_client(api, company, "CLI-7", name="Ferretería Núñez", emails=["compras@losandes.example"])
    response = send(api, company, client_ids=["CLI-7"], variables={"aviso": "corte el lunes, sí"})
    assert response.status_code == 201, response.body
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    # Then the bytes are 7-bit (no 8-bit body without 8BITMIME), CRLF, the one-click pair unfolded
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


def test_a_bulk_job_fans_out_over_sqs_and_progress_moves_to_done_with_each_mail_once(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given 30 clients with an e-mail address and one without any
    ids = [f"C{n:03d}" for n in range(30)]
    for client_id in ids:
        put_client(api, company, client_id)
    put_client(api, company, "NO-MAIL", emails=[])
    # When staff send the notice to all 31 (and a client id nobody has)
    response = send(api, company, client_ids=[*ids, "NO-MAIL", "GHOST"])
    # Then a job starts, still expanding: nothing was rendered in the API call
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert progress(job) == ("expanding", 0, 0, 0, 0, 0)
    assert job["selection"] == {"client_ids": 32}
    # When the send-job workers expand its pages (one SQS message each)
    with sender_account_reads() as reads:
        assert expand_pages() == 1
    # Then the page read the sender account it sends through once
    assert reads == ["BatchGetItem"]
    # And all 30 wait in the outbox and the two clients with no address are skipped
    assert progress(job_of(api, company, job["job_id"])) == ("sending", 32, 0, 0, 2, 30)
    # When the outbox workers deliver
    assert deliver_outboxes()["sent"] == 30
    # Then the job is done and each client got exactly one e-mail
    assert progress(job_of(api, company, job["job_id"])) == ("done", 32, 30, 0, 2, 0)
    mails = mailbox.wait_for(30)
    recipients = sorted(r for mail in mails for r in envelope_recipients(mail))
    assert recipients == sorted(f"{c.lower()}@example.com" for c in ids)
    # And running the workers again sends nothing more
    assert deliver_outboxes()["sent"] == 0
    assert len(mailbox.messages()) == 30
    # And the job list says who started it by the staff directory's name, the user id kept
    named_user(company.company_id, f"clerk@{company.company_id}", "Clara Ruiz")
    listed = body(api.http.get("/sends", headers=company.staff_headers()))["items"]
    assert [(j["job_id"], j["state"], j["created_by"], j["created_by_name"]) for j in listed] == [
        (job["job_id"], "done", f"clerk@{company.company_id}", "Clara Ruiz")
    ]


def test_a_three_page_send_asks_dynamodb_no_more_for_skipping_clients_being_erased(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given six clients of a company that is erasing no one, and pages of two clients
    ids = [f"C{n:03d}" for n in range(6)]
    for client_id in ids:
        put_client(api, company, client_id)
    monkeypatch.setattr("chalicelib.producers.sends.manual.PAGE_SIZE", 2)
    # When staff send the notice to the six and the workers expand its three pages
    assert send(api, company, client_ids=ids).status_code == 201
    with counted_requests() as counts:
        assert expand_pages() == 3
    # Then DynamoDB was asked as often as before pages skipped clients being erased (the company's
    # item, read for its name and branding anyway, lists them): no request per page more
    asked = {operation: n for operation, n in counts.items() if operation.startswith("dynamodb:")}
    assert asked == {
        "dynamodb:GetItem": 9,  # each page: the job, the company, the template
        "dynamodb:BatchGetItem": 6,  # each page: its clients, the sender account
        "dynamodb:BatchWriteItem": 3,  # each page: its hand-off record
        "dynamodb:BatchExecuteStatement": 3,  # each page: its messages, written claimed
        "dynamodb:UpdateItem": 4,  # each page counted on the job; the job then sending
        "dynamodb:DeleteItem": 3,  # each page forgotten once expanded
    }


def test_a_bulk_invoice_send_attaches_nothing_and_says_nothing_of_a_pdf(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given two clients (the local demo's bulk send: `sendjob --template invoice --clients all`)
    for client_id in ("DEMO-C0001", "DEMO-C0002"):
        put_client(api, company, client_id)
    # When staff send them the invoice template with an invoice's values, as a job
    invoice = {
        "number": "A-0001-00000042",
        "issued_on": "23/11/2026",
        "due_on": "10/12/2026",
        "total": "$ 1,00",
    }
    response = send(
        api,
        company,
        template="invoice",
        client_ids=["DEMO-C0001", "DEMO-C0002"],
        variables={"invoice": invoice, "attachments": ["factura.pdf"]},
    )
    assert response.status_code == 201, response.body
    expand_pages()
    assert deliver_outboxes()["sent"] == 2
    # Then each e-mail names the invoice but, carrying no PDF, does not say one is attached
    for mail in mailbox.wait_for(2):
        assert list(mail.iter_attachments()) == []
        raw = mail.as_bytes()
        assert b"adjunta" not in raw and b"PDF" not in raw
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Le enviamos la factura A-0001-00000042." in text.splitlines()


def test_a_level_4_user_sees_only_the_send_jobs_they_started(api: Client, company: Tenant) -> None:
    # Given a job a level-3 clerk started and one a level-4 user started
    junior = {
        "Authorization": "Bearer "
        + IDENTITY.mint(company.company_id, user_id=f"junior@{company.company_id}", level=4),
        "Content-Type": "application/json",
    }
    for client_id in ("J1", "J2"):
        put_client(api, company, client_id)
    clerks = body(send(api, company, client_ids=["J1", "J2"]))["job"]["job_id"]
    data = {"channel": "email", "template": "custom:aviso", "client_ids": ["J1", "J2"], "variables": {}}
    started = api.http.post("/sends", headers=junior, body=json.dumps(data))
    assert started.status_code == 201, started.body
    juniors = body(started)["job"]["job_id"]

    # When each lists and opens the jobs
    def listed(headers: dict[str, str]) -> list[str]:
        response = api.http.get("/sends", headers=headers)
        assert response.status_code == 200, response.body
        return [j["job_id"] for j in body(response)["items"]]

    # Then the level-4 user sees only their own; the clerk's is not found (404, not 403)
    assert listed(junior) == [juniors]
    assert api.http.get(f"/sends/{juniors}", headers=junior).status_code == 200
    hidden = api.http.get(f"/sends/{clerks}", headers=junior)
    assert (hidden.status_code, body(hidden)["message"]) == (404, f"there is no send job {clerks!r}")
    # And levels 3 and 1 see both
    for headers in (company.staff_headers(), company.admin_headers()):
        assert sorted(listed(headers)) == sorted([clerks, juniors])
        assert api.http.get(f"/sends/{juniors}", headers=headers).status_code == 200
        assert api.http.get(f"/sends/{clerks}", headers=headers).status_code == 200
    # And an API key sees none (sends are for staff)
    assert api.http.get("/sends", headers=company.key_headers()).status_code == 403
    assert api.http.get(f"/sends/{juniors}", headers=company.key_headers()).status_code == 403


def test_a_filter_selects_clients_by_switch_and_agent_over_many_pages_and_never_another_company(
    api: Client, company: Tenant, other_tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given clients of two agents, some with the invoice message switched off
    for n in range(12):
        put_client(
            api,
            company,
            f"A{n:02d}",
            preferred_agent="laura" if n % 2 == 0 else "martin",
            message_switches={"invoice": n % 3 != 0},
        )
    # and another company's clients with the same agent and switch
    put_client(api, other_tenant, "A00", preferred_agent="laura", emails=["intruso@otra.example"])
    put_client(api, other_tenant, "X1", preferred_agent="laura", emails=["otro@otra.example"])
    # and pages of 3 clients, so that the filter's pages chain over SQS
    monkeypatch.setattr("chalicelib.producers.sends.manual.PAGE_SIZE", 3)
    # When staff send to Laura's clients that get invoices
    response = send(api, company, filter={"preferred_agent": "laura", "switch": "invoice"})
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    assert job["selection"] == {"filter": {"preferred_agent": "laura", "switch": "invoice"}}
    assert expand_pages() >= 2
    deliver_outboxes()
    # Then exactly those clients of this company got it: even n, not a multiple of 3
    expected = [f"a{n:02d}@example.com" for n in range(12) if n % 2 == 0 and n % 3 != 0]
    mails = mailbox.wait_for(len(expected))
    assert sorted(r for m in mails for r in envelope_recipients(m)) == expected
    assert progress(job_of(api, company, job["job_id"])) == ("done", 4, 4, 0, 0, 0)
    # And the other company's job list does not show this job, nor may it read it
    assert body(api.http.get("/sends", headers=other_tenant.staff_headers()))["items"] == []
    assert api.http.get(f"/sends/{job['job_id']}", headers=other_tenant.staff_headers()).status_code == 404


def test_a_list_with_another_companys_client_ids_never_reaches_them(
    api: Client, company: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client here and two of another company (one with the same id)
    put_client(api, company, "SHARED", emails=["propio@example.com"])
    put_client(api, other_tenant, "SHARED", emails=["ajeno@otra.example"])
    put_client(api, other_tenant, "THEIRS", emails=["ajeno2@otra.example"])
    # When staff name all three ids
    job = body(send(api, company, client_ids=["SHARED", "THEIRS"]))["job"]
    expand_pages()
    deliver_outboxes()
    # Then only this company's client got the mail; the unknown id is skipped
    [mail] = mailbox.wait_for(1)
    assert envelope_recipients(mail) == ["propio@example.com"]
    assert progress(job_of(api, company, job["job_id"])) == ("done", 2, 1, 0, 1, 0)


def test_a_retried_request_with_the_same_request_id_starts_one_job(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    for client_id in ("R1", "R2", "R3"):
        put_client(api, company, client_id)
    first = send(api, company, client_ids=["R1", "R2", "R3"], request_id="aviso-corte-42")
    again = send(api, company, client_ids=["R1", "R2", "R3"], request_id="aviso-corte-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert body(first)["job"]["job_id"] == body(again)["job"]["job_id"]
    expand_pages()
    deliver_outboxes()
    assert len(mailbox.wait_for(3)) == 3
    # A retry after the job ran answers the same job, done, and sends nothing new
    late = send(api, company, client_ids=["R1", "R2", "R3"], request_id="aviso-corte-42")
    assert late.status_code == 200 and body(late)["job"]["state"] == "done"
    expand_pages()
    deliver_outboxes()
    assert len(body(api.http.get("/sends", headers=company.staff_headers()))["items"]) == 1
    assert len(mailbox.messages()) == 3
    # And a one-client send retried with its request id is one message too
    one = send(api, company, client_ids=["R1"], request_id="uno-1")
    one_again = send(api, company, client_ids=["R1"], request_id="uno-1")
    assert (one.status_code, one_again.status_code) == (201, 200)
    assert body(one)["messages"][0]["communication_id"] == body(one_again)["messages"][0]["communication_id"]


def test_another_users_request_id_is_refused_and_shows_nothing_of_their_send(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana's send job and Ana's send to one client, each with her request id
    for client_id in ("R1", "R2", "R3"):
        put_client(api, company, client_id)
    ana = company.staff_headers()
    beto = {
        "Authorization": f"Bearer {IDENTITY.mint(company.company_id, user_id='beto@x', level=4)}",
        "Content-Type": "application/json",
    }
    notice = {"channel": "email", "template": "custom:aviso", "variables": {"aviso": "corte el lunes"}}
    job = api.http.post(
        "/sends", headers=ana, body=json.dumps(notice | {"client_ids": ["R1", "R2"], "request_id": "aviso-1"})
    )
    one = api.http.post(
        "/sends", headers=ana, body=json.dumps(notice | {"client_ids": ["R1"], "request_id": "uno-1"})
    )
    assert (job.status_code, one.status_code) == (201, 201), (job.body, one.body)
    # When Beto (level 4: he sees only his own sends) sends with the same request ids
    answers = [
        api.http.post(
            "/sends",
            headers=beto,
            body=json.dumps(notice | {"client_ids": ["R2", "R3"], "request_id": "aviso-1"}),
        ),
        api.http.post(
            "/sends", headers=beto, body=json.dumps(notice | {"client_ids": ["R1"], "request_id": "uno-1"})
        ),
    ]
    # Then each is a 409 naming request_id that shows nothing of Ana's send (not her job, not her
    # message), rather than a 200 that answered hers and sent nothing of his
    for answer in answers:
        assert answer.status_code == 409, answer.body
        assert body(answer)["field"] == "request_id"
        text = answer.body.decode()
        assert body(job)["job"]["job_id"] not in text
        assert body(one)["messages"][0]["communication_id"] not in text
    # And Ana's retries still answer her own
    again = api.http.post(
        "/sends", headers=ana, body=json.dumps(notice | {"client_ids": ["R1", "R2"], "request_id": "aviso-1"})
    )
    assert again.status_code == 200 and body(again)["job"]["job_id"] == body(job)["job"]["job_id"]


def test_sms_to_many_clients_needs_the_bulk_password_and_then_reaches_each_phone(
    api: Client, company: Tenant, local_aws: dict[str, str]
) -> None:
    # Given SMS on (through SNS) with a bulk-send password, and clients with local phone numbers
    admin = company.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    bulk = api.http.put("/sms/bulk-password", headers=admin, body=json.dumps({"password": BULK_PASSWORD}))
    assert bulk.status_code == 204
    put_client(api, company, "S1", phones=["011 15 5987-6543"])
    put_client(api, company, "S2", phones=["(0351) 15 555-1234"])
    put_client(api, company, "S3", phones=[])
    pick = {"channel": "sms", "client_ids": ["S1", "S2", "S3"]}
    # When staff send to the three without the password, or with a wrong one: refused, no job
    missing = send(api, company, **pick)
    wrong = send(api, company, **pick, bulk_password="adivinando")
    for refused in (missing, wrong):
        assert refused.status_code == 403 and body(refused)["field"] == "bulk_password"
    assert "wrong" in body(wrong)["message"]
    assert body(api.http.get("/sends", headers=company.staff_headers()))["items"] == []
    # And a filter (possibly many clients) needs it too
    assert send(api, company, channel="sms", filter={}).status_code == 403
    # When they give the right one
    response = send(api, company, **pick, bulk_password=BULK_PASSWORD)
    assert response.status_code == 201, response.body
    job = body(response)["job"]
    expand_pages()
    assert deliver_outboxes()["sent"] == 2
    # Then each phone got its SMS in E.164 and the client with no phone is skipped
    texts = {s["phone_number"]: s["message"] for s in moto_received("sns", "SMS")}
    assert texts["+5491159876543"] == "Hola Cliente S1 (S1): corte el lunes"
    assert texts["+5493515551234"] == "Hola Cliente S2 (S2): corte el lunes"
    assert progress(job_of(api, company, job["job_id"])) == ("done", 3, 2, 0, 1, 0)
    # And one client needs no password
    assert send(api, company, channel="sms", client_ids=["S1"]).status_code == 201


def test_an_sms_send_carries_the_templates_own_sms_text_not_its_email_body(
    api: Client, company: Tenant, local_aws: dict[str, str]
) -> None:
    # Given a template with an e-mail and its own SMS text with %variables% (seed 002's "Agregar sms")
    admin = company.admin_headers()
    template = NOTICE | {"sms_text": "Estimado %nombre%: mañana hay corte programado. %empresa%"}
    saved = api.http.put("/templates/custom:corte", headers=admin, body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    # And SMS on with a bulk-send password, and clients with mobiles
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    bulk = api.http.put("/sms/bulk-password", headers=admin, body=json.dumps({"password": BULK_PASSWORD}))
    assert bulk.status_code == 204
    put_client(api, company, "S1", name="Ana Pérez", phones=["011 15 5987-6543"])
    put_client(api, company, "S2", name="Bruno Díaz", phones=["(0351) 15 555-1234"])
    # When staff send it by SMS to one client, and then to both in a job
    one = send(api, company, channel="sms", template="custom:corte", client_ids=["S1"])
    assert one.status_code == 201, one.body
    both = send(
        api,
        company,
        channel="sms",
        template="custom:corte",
        client_ids=["S1", "S2"],
        bulk_password=BULK_PASSWORD,
    )
    assert both.status_code == 201, both.body
    expand_pages()
    assert deliver_outboxes()["sent"] == 3
    # Then each SMS SNS sent for the company is the template's SMS text, filled in for its client
    from chalicelib.store.communications import history_page

    ids = {c.provider_message_id for c in history_page(company.company_id, "sms").items}
    texts = Counter(
        (s["phone_number"], s["message"]) for s in moto_received("sns", "SMS") if s["message_id"] in ids
    )
    assert texts == {
        ("+5491159876543", "Estimado Ana Pérez: mañana hay corte programado. Cargas del Sur"): 2,
        ("+5493515551234", "Estimado Bruno Díaz: mañana hay corte programado. Cargas del Sur"): 1,
    }


def test_an_sms_only_template_goes_out_by_sms_and_is_refused_by_email_or_push(
    api: Client, company: Tenant, mailbox: MailCatcher, local_aws: dict[str, str]
) -> None:
    # Given an SMS template with only a name and its message, as seed 002's "Agregar sms" has it
    admin = company.admin_headers()
    template = {"sms_text": "Estimado %nombre%: mañana hay corte programado. %empresa%"}
    saved = api.http.put("/templates/custom:corte-sms", headers=admin, body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    # And SMS on, and a client with a mobile and an e-mail address
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    put_client(api, company, "S1", name="Ana Pérez", phones=["011 15 5987-6543"], emails=["ana@x.example"])
    # When staff send it by SMS to the client
    one = send(api, company, channel="sms", template="custom:corte-sms", client_ids=["S1"])
    assert one.status_code == 201, one.body
    assert deliver_outboxes()["sent"] == 1
    # Then SNS sent the template's SMS, filled in for the client, and the history shows it
    from chalicelib.store.communications import history_page

    [sms] = history_page(company.company_id, "sms").items
    assert sms.text == "Estimado Ana Pérez: mañana hay corte programado. Cargas del Sur"
    sent = [
        (s["phone_number"], s["message"])
        for s in moto_received("sns", "SMS")
        if s["message_id"] == sms.provider_message_id
    ]
    assert sent == [("+5491159876543", sms.text)]
    # When staff try to send it by e-mail or push
    for channel in ("email", "push"):
        refused = send(api, company, channel=channel, template="custom:corte-sms", client_ids=["S1"])
        # Then it is refused naming the channel, and nothing is sent
        assert refused.status_code == 422 and body(refused)["field"] == "channel", refused.body
    assert deliver_outboxes()["sent"] == 0
    assert mailbox.messages() == []


def test_a_manual_send_fills_in_the_clients_balance_as_the_template_offers(
    api: Client, company: Tenant, mailbox: MailCatcher, local_aws: dict[str, str]
) -> None:
    # Given a client whose balance the back office pushed, and SMS on
    admin = company.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    put_client(api, company, "D1", name="Ana Pérez", phones=["011 15 5987-6543"], balance="15300.50")
    # And a template that uses the balance (offered: `client.balance`, `%deuda%`), the SMS the seed's own
    template = {
        "subject": "Su saldo",
        "text": "Hola {{ client.name }}: su saldo es $ {{ client.balance }}.",
        "html": "<p>Su saldo es $ {{ client.balance }}</p>",
        "sms_text": "Estimado %nombre% su saldo pendiente de pago es $ %deuda%. "
        "Gracias por comunicarse con %empresa%",
    }
    saved = api.http.put("/templates/custom:saldo", headers=admin, body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    variables = {v["name"] for v in body(saved)["variables"]}
    assert "client.balance" in variables
    # When staff send it to the client by e-mail and by SMS
    for channel in ("email", "sms"):
        sent = send(api, company, channel=channel, template="custom:saldo", client_ids=["D1"])
        assert sent.status_code == 201, sent.body
    assert deliver_outboxes()["sent"] == 2
    # Then both say her balance, in the company's number format
    [mail] = mailbox.wait_for(1)
    plain = mail.get_body(("plain",))
    assert plain is not None and "su saldo es $ 15.300,50." in plain.get_content()
    from chalicelib.store.communications import history_page

    [sms] = history_page(company.company_id, "sms").items
    assert sms.text == (
        "Estimado Ana Pérez su saldo pendiente de pago es $ 15.300,50. "
        "Gracias por comunicarse con Cargas del Sur"
    )


def test_guessing_the_bulk_password_locks_bulk_sends_for_a_while(
    api: Client, company: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    # (The password hashed by scrypt with light settings, N=2^10 and p=1 rather than 2^14 and 5: a
    # hash carries its settings, so each of the test's twenty checks runs scrypt with them, not for
    # the 0.2 CPU-s each takes at the real ones; what is counted and locked is the same.)
    monkeypatch.setattr("chalicelib.messaging.accounts.sms._SCRYPT_N", 2**10)
    monkeypatch.setattr("chalicelib.messaging.accounts.sms._SCRYPT_P", 1)

    def as_user(user: str) -> dict[str, str]:
        token = IDENTITY.mint(company.company_id, user_id=user, level=3)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def bulk_sms(user: str, password: str) -> Any:
        data = {"channel": "sms", "template": "custom:aviso", "variables": {"aviso": "x"}}
        data |= {"client_ids": ["G1", "G2"], "bulk_password": password}
        return api.http.post("/sends", headers=as_user(user), body=json.dumps(data))

    # Given SMS on with a bulk-send password, and two clients with phones
    admin = company.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    bulk = api.http.put("/sms/bulk-password", headers=admin, body=json.dumps({"password": BULK_PASSWORD}))
    assert bulk.status_code == 204
    put_client(api, company, "G1", phones=["011 15 5987-6543"])
    put_client(api, company, "G2", phones=["(0351) 15 555-1234"])

    # When one user guesses wrong four times, Then each is a 403
    for guess in range(4):
        assert bulk_sms("ana@x", f"adivinando-{guess}").status_code == 403
    # When the fifth guess is wrong too, Then that user is locked out: 429 with Retry-After
    fifth = bulk_sms("ana@x", "adivinando-5")
    assert fifth.status_code == 429, fifth.body
    assert fifth.headers["Retry-After"] == "900"
    assert body(fifth)["field"] == "bulk_password" and body(fifth)["retry_after"] == 900
    assert "locked until 2/11/2026 12:15 (UTC) (Retry-After: 900 seconds)" in body(fifth)["message"]
    # And even the right password is refused until the lock ends
    clock.set_now(clock.now() + timedelta(minutes=5))
    right = bulk_sms("ana@x", BULK_PASSWORD)
    assert right.status_code == 429 and right.headers["Retry-After"] == "600"
    # But another user of the company may still send with the right password
    assert bulk_sms("beto@x", BULK_PASSWORD).status_code == 201

    # When other users bring the company's wrong guesses in the window to ten
    for guess in range(4):
        assert bulk_sms("beto@x", f"otra-{guess}").status_code == 403
    tenth = bulk_sms("carla@x", "otra-5")
    # Then the whole company is locked: even a third user with the right password gets a 429
    assert tenth.status_code == 429
    assert bulk_sms("dora@x", BULK_PASSWORD).status_code == 429
    assert len(body(api.http.get("/sends", headers=company.staff_headers()))["items"]) == 1

    # When the lock has passed, Then the right password sends again
    clock.set_now(clock.now() + timedelta(minutes=15))
    assert bulk_sms("ana@x", BULK_PASSWORD).status_code == 201
    assert bulk_sms("dora@x", BULK_PASSWORD).status_code == 201

    # Given the company in Madrid, at 02:55 of the night its clock goes back from 03:00 to 02:00
    moved = api.http.patch("/company", headers=admin, body=json.dumps({"time_zone": "Europe/Madrid"}))
    assert moved.status_code == 200, moved.body
    clock.set_now(datetime(2027, 10, 31, 0, 55, tzinfo=timezone.utc))
    # When a user is locked out for 15 minutes, until the second 02:10 of that night
    for guess in range(5):
        locked = bulk_sms("eva@x", f"noche-{guess}")
    # Then the answer says which 02:10: with its UTC offset, the date and the zone, in both languages
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "900"
    until = "31/10/2027 02:10 (UTC+01:00, Europe/Madrid)"
    assert f"bulk sends are locked until {until} (Retry-After: 900 seconds)" in body(locked)["message"]
    data = {"channel": "sms", "template": "custom:aviso", "variables": {"aviso": "x"}}
    data |= {"client_ids": ["G1", "G2"], "bulk_password": "noche-5"}
    spanish = api.http.post(
        "/sends", headers=as_user("eva@x") | {"Accept-Language": "es"}, body=json.dumps(data)
    )
    assert spanish.status_code == 429
    assert f"bloqueados hasta el {until} (Retry-After: 900 segundos)" in body(spanish)["message"]


def test_bad_sends_are_refused_naming_the_field_and_start_nothing(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    put_client(api, company, "B1", emails=[])
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"client_ids": ["B1"], "filter": {}}, 422, "client_ids"),
        ({}, 422, "client_ids"),
        ({"client_ids": []}, 422, "client_ids"),
        ({"client_ids": ["B1"], "template": "custom:nope"}, 422, "template"),
        ({"client_ids": ["B1"], "template": "no-such-type"}, 422, "template"),
        ({"client_ids": ["B1"], "template": "invoice"}, 422, "template"),  # needs invoice.* variables
        ({"client_ids": ["B1"], "channel": "fax"}, 422, "channel"),
        ({"client_ids": ["bad id!"]}, 422, "client_ids[0]"),
        ({"client_ids": ["B1"]}, 422, "client_ids[0]"),  # B1 has no e-mail address
        ({"client_ids": ["NOBODY"]}, 422, "client_ids[0]"),
        ({"filter": {"switch": "nonsense"}}, 422, "filter.switch"),
        ({"client_ids": ["B1"], "channel": "push"}, 409, "channel"),  # push is not set up
        ({"client_ids": ["B1"], "channel": "sms"}, 409, None),  # SMS is not configured
    ]
    for fields, status, field in cases:
        response = send(api, company, **fields)
        assert response.status_code == status, (fields, response.body)
        assert body(response).get("field") == field, (fields, response.body)
    # An API key (the company's systems) may not send by hand
    by_key = api.http.post(
        "/sends",
        headers=company.key_headers(),
        body=json.dumps({"channel": "email", "template": "custom:aviso", "client_ids": ["B1"]}),
    )
    assert by_key.status_code == 403
    assert body(api.http.get("/sends", headers=company.staff_headers()))["items"] == []
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []


def test_templates_say_whether_a_manual_send_can_fill_them_and_a_refusal_reads_in_spanish(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.messaging.templates import MESSAGE_TYPES

    # Given a client, the company's custom notice, and a custom template that asks for a parcel for
    # one client only (its sample client does not take that branch, so it was saved)
    put_client(api, company, "T1", emails=["t1@example.com"])
    conditional = {
        "subject": "Aviso para {{ client.name }}",
        "text": "Hola{% if client.code == 'T1' %} {{ parcel.tracking_id }}{% endif %}",
        "html": "<p>Hola</p>",
    }
    saved = api.http.put(
        "/templates/custom:paquete", headers=company.admin_headers(), body=json.dumps(conditional)
    )
    assert saved.status_code == 200, saved.body
    # When staff list the templates
    listed = body(api.http.get("/templates", headers=company.staff_headers()))["items"]
    # Then the company's own templates are the ones a manual send can fill; every message type
    # (a tracking alert needs a parcel, an invoice an invoice) says it is not
    usable = {t["key"] for t in listed if t["manual_send"]}
    # (and the document portal's access e-mail: a client and the company are all it needs)
    assert usable == {"custom:aviso", "custom:paquete", "portal_access"}
    assert {t["key"] for t in listed if not t["manual_send"]} == set(MESSAGE_TYPES) - {"portal_access"}
    # When staff send the tracking alert by hand anyway, asking for Spanish
    spanish = {**company.staff_headers(), "Accept-Language": "es"}
    alert = {"channel": "email", "template": "tracking_alert", "client_ids": ["T1"]}
    refused = api.http.post("/sends", headers=spanish, body=json.dumps(alert))
    # Then it is refused naming the template, wholly in Spanish (Jinja's words too)
    assert refused.status_code == 422, refused.body
    answer = body(refused)
    assert answer["field"] == "template"
    assert answer["errors"][0]["message"] == (
        "en el asunto: usa una variable que este mensaje no ofrece "
        "(la variable 'parcel' no existe en este mensaje)"
    )
    # When they send the conditional template to the client it asks a parcel for
    own = {"channel": "email", "template": "custom:paquete", "client_ids": ["T1"]}
    refused = api.http.post("/sends", headers=spanish, body=json.dumps(own))
    # Then that client is refused, in Spanish too, and nothing was sent
    assert refused.status_code == 422, refused.body
    assert body(refused)["errors"][0]["message"] == (
        "cliente 'T1': no se pudo generar: en el texto: usa una variable que este mensaje no ofrece "
        "(la variable 'parcel' no existe en este mensaje)"
    )
    assert deliver_outboxes()["sent"] == 0 and mailbox.messages() == []


def unsubscribe_line(raw: bytes) -> bytes:
    """The `List-Unsubscribe` line as it went on the wire (one line, never folded)."""
    [line] = [ln for ln in raw.split(b"\r\n") if ln.lower().startswith(b"list-unsubscribe:")]
    assert not raw.split(line + b"\r\n", 1)[1].startswith((b" ", b"\t")), "folded"
    return line


def test_a_manual_email_carries_one_click_unsubscribe_that_stops_later_manual_and_bulk_sends(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    # Given two clients with e-mail addresses
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    put_client(api, company, "CLI-2", emails=["dos@example.com"])
    # When staff send the notice to CLI-1 alone
    assert send(api, company, client_ids=["CLI-1"]).status_code == 201
    deliver_outboxes()
    mailbox.wait_for(1)
    # Then the raw e-mail carries an unfolded `List-Unsubscribe: <https://...>` and RFC 8058's header
    raw = mailbox.files()[0].read_bytes()
    line = unsubscribe_line(raw)
    assert line.startswith(b"List-Unsubscribe: <https://pregon.test/public/manual-sends/unsubscribe?token=")
    assert line.endswith(b">") and b"=?" not in line
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    path = line.split(b"<", 1)[1].rstrip(b">").decode().removeprefix("https://pregon.test")
    # When the client opens the link: a confirmation page that changes nothing
    page = api.http.get(path)
    assert page.status_code == 200 and "Cargas del Sur" in page.body.decode()
    assert f'method="post" action="https://pregon.test{path}"' in page.body.decode()
    assert send(api, company, client_ids=["CLI-1"], request_id="after-get").status_code == 201
    # When the mail provider posts the one-click unsubscribe (RFC 8058)
    done = api.http.post(
        path,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body="List-Unsubscribe=One-Click",
    )
    assert done.status_code == 200, done.body
    assert "Cargas del Sur" in done.body.decode()
    # And the back office pushes the client again (its own copy knows nothing of the choice)
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    shown = body(api.http.get("/clients/CLI-1", headers=company.key_headers()))
    assert shown["manual_sends_off_at"] == "2026-11-02T12:00:00+00:00"
    # Then a send to CLI-1 alone is refused, naming the client
    refused = send(api, company, client_ids=["CLI-1"])
    assert refused.status_code == 422
    assert body(refused)["errors"] == [
        {"field": "client_ids[0]", "message": "client 'CLI-1' unsubscribed from manual sends"}
    ]
    # And a bulk send to both reaches CLI-2 only, CLI-1 counted as skipped
    job = body(send(api, company, client_ids=["CLI-1", "CLI-2"]))["job"]
    expand_pages()
    deliver_outboxes()
    assert progress(job_of(api, company, job["job_id"])) == ("done", 2, 1, 0, 1, 0)
    recipients = [envelope_recipients(m) for m in mailbox.wait_for(3)]
    assert recipients == [["uno@example.com"], ["uno@example.com"], ["dos@example.com"]]


def test_an_unsubscribe_landing_while_the_back_office_saves_the_client_is_kept(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from chalicelib.core.links import manual_unsubscribe_url
    from chalicelib.producers.sends.unsubscribe import unsubscribe
    from chalicelib.store import clients as client_store

    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    token = parse_qs(urlsplit(manual_unsubscribe_url(company.company_id, "CLI-1")).query)["token"][0]
    # Given the client unsubscribes just after the back office's save of it read it
    indexing = client_store._index_changes  # between the save's read and its write
    clicks: list[Any] = []

    def click_meanwhile(*args: Any) -> Any:
        if not clicks:
            clicks.append(unsubscribe(token))
        return indexing(*args)

    monkeypatch.setattr(client_store, "_index_changes", click_meanwhile)
    # When that save is written
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    # Then the client's unsubscribe is kept
    assert clicks
    shown = body(api.http.get("/clients/CLI-1", headers=company.key_headers()))
    assert shown["manual_sends_off_at"] == "2026-11-02T12:00:00+00:00"


def test_a_bulk_email_is_stored_in_one_kilobyte_yet_shows_and_carries_its_unsubscribe_link_and_reply_address(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    import boto3

    from chalicelib.store.models import CommunicationModel

    # Given a client, sent the notice in a bulk job
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    put_client(api, company, "CLI-2", emails=["dos@example.com"])
    job = body(send(api, company, client_ids=["CLI-1", "CLI-2"]))["job"]
    expand_pages()
    deliver_outboxes()
    mailbox.wait_for(2)
    raw = next(f.read_bytes() for f in mailbox.files() if b"uno@example.com" in f.read_bytes())
    # When staff open the e-mail CLI-1 got in the history
    listed = body(api.http.get("/history/email?client=CLI-1", headers=company.staff_headers()))
    [entry] = listed["items"]
    shown = body(api.http.get(f"/history/email/{entry['communication_id']}", headers=company.staff_headers()))
    # Then it shows the List-Unsubscribe pair, the References and the plus-addressed Reply-To it
    # went out with
    line = unsubscribe_line(raw).decode()
    reference = f"<ref-{entry['communication_id']}.{company.company_id}@pregon.local>"
    assert shown["headers"] == {
        "List-Unsubscribe": line.split(": ", 1)[1],
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "References": reference,
    }
    assert f"\r\nReferences: {reference}\r\n".encode() in raw
    reply_to = f"{company.company_id}+r-{entry['communication_id']}@inbound.pregon.local"
    assert shown["reply_to"] == reply_to and f"\r\nReply-To: {reply_to}\r\n".encode() in raw
    # And what the server received of it is what a strict receiver accepts (7-bit, CRLF, ...)
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    # And the item DynamoDB keeps of it, sent, is under 1 KB: one write unit a write (issue 14)
    item = boto3.client("dynamodb").get_item(
        TableName=CommunicationModel.Meta.table_name,
        Key={"company_id": {"S": company.company_id}, "communication_id": {"S": entry["communication_id"]}},
    )["Item"]
    assert item["state"] == {"S": "sent"} and item["job_id"] == {"S": job["job_id"]}
    assert stored_size(item) < 1024, stored_size(item)
    assert "manual-sends/unsubscribe" not in str(item) and reply_to not in str(item)
    assert reference not in str(item)


def test_a_client_who_unsubscribed_from_manual_sends_gets_no_resend_of_one_from_the_history(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.history import send_email

    # Given staff sent CLI-1 the notice by hand, and the back office's invoice e-mail went to CLI-1 too
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    [manual] = body(send(api, company, client_ids=["CLI-1"]))["messages"]
    invoice = send_email(company, "uno@example.com", "Factura A-1", client_id="CLI-1")
    deliver_outboxes()
    mailbox.wait_for(2)
    [raw] = [f.read_bytes() for f in mailbox.files() if b"List-Unsubscribe:" in f.read_bytes()]
    # When the client unsubscribes from manual sends with the link of the notice (one click)
    line = unsubscribe_line(raw)
    path = line.split(b"<", 1)[1].rstrip(b">").decode().removeprefix("https://pregon.test")
    done = api.http.post(
        path, headers={"Content-Type": "application/x-www-form-urlencoded"}, body="List-Unsubscribe=One-Click"
    )
    assert done.status_code == 200, done.body
    staff = company.staff_headers()
    # And staff select the notice in the history and resend it
    refused = api.http.post(
        "/history/resend", headers=staff, body=json.dumps({"ids": [invoice, manual["communication_id"]]})
    )
    # Then it is refused naming it, as a new manual send to that client is, and nothing is resent
    assert refused.status_code == 422, refused.body
    assert body(refused)["errors"] == [
        {"field": "ids[1]", "message": "client 'CLI-1' unsubscribed from manual sends"}
    ]
    assert deliver_outboxes()["sent"] == 0
    # And the invoice e-mail (not a manual send) can still be resent to the client
    again = api.http.post("/history/resend", headers=staff, body=json.dumps({"ids": [invoice]}))
    assert again.status_code == 202, again.body


def test_a_manual_email_sent_before_the_link_key_was_rotated_still_unsubscribes_and_its_reply_still_threads(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    from tests.steps.inbound import detail, receive
    from tests.steps.links import link_key_rotated, signed_by_a_stranger, signed_with

    # Given staff sent CLI-1 the notice, its links signed with the link-signing key of the time
    put_client(api, company, "CLI-1", emails=["uno@example.com"])
    put_client(api, company, "CLI-2", emails=["dos@example.com"])
    [sent] = body(send(api, company, client_ids=["CLI-1"]))["messages"]
    deliver_outboxes()
    [mail] = mailbox.wait_for(1)
    raw = mailbox.files()[0].read_bytes()
    path = unsubscribe_line(raw).split(b"<", 1)[1].rstrip(b">").decode().removeprefix("https://pregon.test")
    one_click = {
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        "body": "List-Unsubscribe=One-Click",
    }
    # When the operator rotates the key, listing the old one as previous
    with link_key_rotated() as keys:
        # And the client answers the notice from a program that keeps only our Reply-To
        reply = (
            f"From: <uno@example.com>\r\nTo: {mail['Reply-To']}\r\nSubject: Re: {mail['Subject']}\r\n"
            "Message-ID: <r-1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRecibido.\r\n"
        ).encode()
        [answer] = receive(api, reply, to=[str(mail["Reply-To"])])["communications"]
        # Then the answer is threaded to the notice
        shown = detail(api, company, answer)
        assert (shown["in_reply_to"], shown["thread_id"]) == (
            sent["communication_id"],
            sent["communication_id"],
        )
        # When a token of the e-mail is signed by a key that is neither current nor previous
        token = path.split("token=", 1)[1]
        forged = api.http.post(
            f"/public/manual-sends/unsubscribe?token={signed_by_a_stranger(token)}", **one_click
        )
        # Then it is refused naming the token
        assert forged.status_code == 422 and body(forged)["errors"] == [
            {"field": "token", "message": "this link is not valid"}
        ]
        # When the mail provider posts the one-click unsubscribe of the e-mail sent before
        done = api.http.post(path, **one_click)
        # Then it unsubscribes the client: a new send to CLI-1 is refused
        assert done.status_code == 200, done.body
        assert send(api, company, client_ids=["CLI-1"]).status_code == 422
        # And a new e-mail (to CLI-2) carries a link signed with the new key, not the old one
        assert send(api, company, client_ids=["CLI-2"]).status_code == 201
        deliver_outboxes()
        new_raw = next(f.read_bytes() for f in mailbox.files() if b"dos@example.com" in f.read_bytes())
        new_token = unsubscribe_line(new_raw).split(b"token=", 1)[1].rstrip(b">").decode()
        assert signed_with(new_token, keys.new) == {"c": company.company_id, "k": "CLI-2", "ch": "manual"}
        assert signed_with(new_token, keys.old) is None


def test_a_tampered_or_tracking_unsubscribe_token_is_refused_naming_the_token(
    api: Client, company: Tenant
) -> None:
    from chalicelib.core.links import manual_unsubscribe_token as unsubscribe_token
    from chalicelib.producers.tracking.subscriptions import unsubscribe_token as tracking_token

    # Given a client and a valid manual-sends token for it
    put_client(api, company, "CLI-9")
    token = unsubscribe_token(company.company_id, "CLI-9")
    # When the token is altered, or a tracking alert's token is used, or none is given
    from datetime import datetime, timezone

    tracking = tracking_token(
        company.company_id, "TRK-1", "sub-1", "nonce", datetime(2026, 12, 1, tzinfo=timezone.utc)
    )
    for bad in (token[:-2] + "xx", tracking):
        answer = api.http.post(
            f"/public/manual-sends/unsubscribe?token={bad}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            body="List-Unsubscribe=One-Click",
        )
        # Then 422 names the token, and the client still gets manual sends
        assert answer.status_code == 422, answer.body
        assert body(answer)["errors"] == [{"field": "token", "message": "this link is not valid"}]
    assert api.http.get("/public/manual-sends/unsubscribe").status_code == 422
    assert send(api, company, client_ids=["CLI-9"]).status_code == 201


def test_a_page_expanded_twice_writes_each_message_once_under_the_id_the_page_names_it_by(
    api: Client, company: Tenant, mailbox: MailCatcher
) -> None:
    import boto3

    from chalicelib.producers.sends.manual import expand_page
    from chalicelib.store.models import MessageKeyModel

    # Given a bulk job to three clients, its one page expanded by the send-job workers
    ids = ["PG-1", "PG-2", "PG-3"]
    for client_id in ids:
        put_client(api, company, client_id)
    job = body(send(api, company, client_ids=ids))["job"]
    assert expand_pages() == 1
    # When SQS delivers the page again (at least once) and it is expanded a second time
    again = expand_page(company.company_id, job["job_id"], 0, client_ids=ids)
    # Then nothing more is written or counted, and each client gets one e-mail
    assert (again.messages, again.counted) == (3, False)
    assert deliver_outboxes()["sent"] == 3
    assert progress(job_of(api, company, job["job_id"])) == ("done", 3, 3, 0, 0, 0)
    mails = mailbox.wait_for(3)
    recipients = sorted(r for m in mails for r in envelope_recipients(m))
    assert recipients == [f"pg-{n}@example.com" for n in (1, 2, 3)]
    # And the messages carry ids of the job's time, with no idempotency item beside them (issue 14)
    listed = body(api.http.get("/history/email", headers=company.staff_headers()))["items"]
    assert len(listed) == 3 and all(e["communication_id"][:12] == job["job_id"][:12] for e in listed)
    keys = [f"{company.company_id}#job:{job['job_id']}:{client_id}" for client_id in ids]
    found = boto3.client("dynamodb").batch_get_item(
        RequestItems={MessageKeyModel.Meta.table_name: {"Keys": [{"key": {"S": k}} for k in keys]}}
    )["Responses"][MessageKeyModel.Meta.table_name]
    assert found == []


def test_two_clients_whose_message_ids_hash_alike_each_get_their_email_once(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.sends.manual import expand_page
    from chalicelib.store import communications

    # Given ids that meet on the first try for every client of a job (a hash collision)
    derived = communications.derived_communication_id

    def colliding(parent_id: str, key: str, attempt: int = 0) -> str:
        return f"{parent_id[:12]}{'0' * 12}" if attempt == 0 else derived(parent_id, key, attempt)

    monkeypatch.setattr(communications, "derived_communication_id", colliding)
    ids = ["HX-1", "HX-2", "HX-3"]
    for client_id in ids:
        put_client(api, company, client_id)
    # When a bulk job to them is expanded, twice, and delivered
    job = body(send(api, company, client_ids=ids))["job"]
    assert expand_pages() == 1
    expand_page(company.company_id, job["job_id"], 0, client_ids=ids)
    assert deliver_outboxes()["sent"] == 3
    # Then each client got the e-mail once, each under an id of its own, and the job is done
    mails = mailbox.wait_for(3)
    recipients = sorted(r for m in mails for r in envelope_recipients(m))
    assert recipients == [f"hx-{n}@example.com" for n in (1, 2, 3)]
    listed = body(api.http.get("/history/email", headers=company.staff_headers()))["items"]
    assert sorted(e["client_id"] for e in listed) == ids
    assert len({e["communication_id"] for e in listed}) == 3
    assert progress(job_of(api, company, job["job_id"])) == ("done", 3, 3, 0, 0, 0)


# --- a filter's page delivered again (SQS, at least once) after the clients changed ----------------


def laura_s_ten_clients_in_pages_of_five(api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> str:
    """Ten clients of Laura's (C01-C10), a send to Laura's clients in pages of five started:
    its first page (C01-C05, the next one after C05) is on the send-jobs queue. Returns the job."""
    for n in range(1, 11):
        put_client(api, tenant, f"C{n:02d}", preferred_agent="laura")
    monkeypatch.setattr("chalicelib.producers.sends.manual.PAGE_SIZE", 5)
    response = send(api, tenant, filter={"preferred_agent": "laura"})
    assert response.status_code == 201, response.body
    return str(body(response)["job"]["job_id"])


def filter_page_delivered_again(api: Client, tenant: Tenant, job_id: str, page: int = 0) -> None:
    """SQS delivers a filter's page again (at least once) to the send-job worker."""
    from chalicelib.producers.sends.manual import send_jobs_queue

    again = {"company_id": tenant.company_id, "job_id": job_id, "page": page, "cursor": None}
    event = api.events.generate_sqs_event(queue_name=send_jobs_queue(), message_bodies=[json.dumps(again)])
    assert api.lambda_.invoke("expand_send_job", event).payload["pages"] == 1


def first_delivery_dies_before_writing(company_id: str, job_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's first delivery asks for the next page, then its Lambda dies before it writes a
    message: SQS will deliver the page again."""
    from chalicelib.producers.sends import manual

    def dies(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("Task timed out")

    with monkeypatch.context() as patched, pytest.raises(TimeoutError):
        patched.setattr(manual, "_write_page", dies)
        manual.expand_page(company_id, job_id, 0, cursor=None)


def addresses(*client_ids: str) -> Counter[str]:
    return Counter(f"{c.lower()}@example.com" for c in client_ids)


TEN = [f"C{n:02d}" for n in range(1, 11)]


def test_a_filter_page_delivered_again_after_a_client_was_added_inside_it_sends_and_counts_as_its_first_run(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a send to Laura's ten clients in pages of five, its first page expanded (C01-C05)
    job_id = laura_s_ten_clients_in_pages_of_five(api, company, monkeypatch)
    assert expand_pages(limit=1) == 1
    # When the back office adds a client of Laura's inside that page, and SQS delivers it again
    put_client(api, company, "C03A", preferred_agent="laura")
    filter_page_delivered_again(api, company, job_id)
    expand_pages()
    deliver_outboxes()
    # Then each of the ten clients got the e-mail once, the one added after its page went out none,
    # and the job counts each e-mail once and is done
    assert Counter(recipients(mailbox)) == addresses(*TEN)
    assert progress(job_of(api, company, job_id)) == ("done", 10, 10, 0, 0, 0)


def test_a_filter_page_delivered_again_after_a_client_of_it_was_removed_sends_and_counts_as_its_first_run(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a send to Laura's ten clients in pages of five, its first page expanded (C01-C05)
    job_id = laura_s_ten_clients_in_pages_of_five(api, company, monkeypatch)
    assert expand_pages(limit=1) == 1
    # When the back office removes C03, and SQS then delivers that page again
    remove_client(company, "C03")
    filter_page_delivered_again(api, company, job_id)
    expand_pages()
    deliver_outboxes()
    # Then each of the ten got the e-mail once (C03's was written before it left), and the job
    # counts each once and is done
    assert Counter(recipients(mailbox)) == addresses(*TEN)
    assert progress(job_of(api, company, job_id)) == ("done", 10, 10, 0, 0, 0)


def test_a_filter_page_run_again_after_a_crash_and_a_client_added_inside_it_keeps_to_its_first_bound(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from chalicelib.store.models import SendJobModel

    # Given a send to Laura's ten clients in pages of five, whose first page's first delivery asked
    # for the next page (after C05) and died before writing a message
    job_id = laura_s_ten_clients_in_pages_of_five(api, company, monkeypatch)
    first_delivery_dies_before_writing(company.company_id, job_id, monkeypatch)
    # When the back office adds a client of Laura's inside that page, and SQS delivers it again
    put_client(api, company, "C03A", preferred_agent="laura")
    expand_pages()
    deliver_outboxes()
    # Then each of the eleven clients got the e-mail once, and the job counts each once and is done
    assert Counter(recipients(mailbox)) == addresses(*TEN, "C03A")
    assert progress(job_of(api, company, job_id)) == ("done", 11, 11, 0, 0, 0)
    # And the job's item no longer holds where its pages ended (forgotten as each was counted)
    item = boto3.client("dynamodb").get_item(
        TableName=SendJobModel.Meta.table_name,
        Key={"company_id": {"S": company.company_id}, "job_id": {"S": job_id}},
        ConsistentRead=True,
    )["Item"]
    assert ("bounded_pages" in item, "page_bounds" in item) == (False, False)


def test_a_filter_page_run_again_after_a_crash_and_a_client_of_it_removed_keeps_to_its_first_bound(
    api: Client, company: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a send to Laura's ten clients in pages of five, whose first page's first delivery asked
    # for the next page (after C05) and died before writing a message
    job_id = laura_s_ten_clients_in_pages_of_five(api, company, monkeypatch)
    first_delivery_dies_before_writing(company.company_id, job_id, monkeypatch)
    # When the back office removes C03, and SQS then delivers that page again
    remove_client(company, "C03")
    expand_pages()
    deliver_outboxes()
    # Then the nine left got the e-mail once each, and the job counts nine (not C06 twice) and is
    # done (no e-mail it waits for forever)
    assert Counter(recipients(mailbox)) == addresses(*(c for c in TEN if c != "C03"))
    assert progress(job_of(api, company, job_id)) == ("done", 9, 9, 0, 0, 0)


def test_a_level_4_users_page_of_send_jobs_reads_a_bounded_part_of_the_companys(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    from datetime import datetime, timedelta, timezone

    import chalicelib.store.fields
    from chalicelib.core.domain import SendJob
    from chalicelib.store.communications import new_communication_id
    from chalicelib.store.outbox import create_job

    # Given a page reads at most 2 jobs (a year's: 1,000 of thousands), and the company's six
    # jobs, the oldest the only one a level-4 user started
    monkeypatch.setattr(chalicelib.store.fields, "PAGE_READ", 2, raising=False)
    monkeypatch.setattr(chalicelib.store.fields, "READ_PER_PAGE", 2, raising=False)
    junior = f"junior@{tenant.company_id}"
    start = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    for n in range(6):
        moment = start + timedelta(minutes=n)
        author = junior if n == 0 else f"clerk@{tenant.company_id}"
        create_job(SendJob(tenant.company_id, new_communication_id(moment), "email", "custom:aviso",
                           "done", 1, 0, 1, 0, 0, author, moment, moment))  # fmt: skip
    headers = {"Authorization": "Bearer " + IDENTITY.mint(tenant.company_id, user_id=junior, level=4)}

    # When the level-4 user lists the send jobs, and follows the cursor
    first = body(api.http.get("/sends?limit=2", headers=headers))
    page, found, pages = first, [j["created_by"] for j in first["items"]], 1
    while page["next_cursor"]:
        response = api.http.get(f"/sends?limit=2&cursor={page['next_cursor']}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        found += [j["created_by"] for j in page["items"]]
        pages += 1

    # Then the first page answers after reading its share, empty, with a cursor to read on
    assert first["items"] == [] and first["next_cursor"]
    # And following it finds their one job, once
    assert len(found) == 1 and pages >= 3
