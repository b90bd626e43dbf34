"""A company leaves Pregón (GDPR art. 28(3)(g); docs/operations.md, "A company leaves"): the
operator suspends it, exports what it owns and deletes it, with the commands as written, against
DynamoDB Local, moto (S3, SES, Cognito) and the test's SMTP server."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from infrastructure import ops
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import stored_items_naming
from tests.steps.clients import put_client
from tests.steps.domains import verified_sending_domain
from tests.steps.erasure import ANA, ANAS, a_client_with_everything, erasure_in_the_request
from tests.steps.inbound import inbound_address, raw_mail_kept, receive
from tests.steps.mail import caught_by_communication, header_fields, not_as_sent
from tests.steps.notes import client_notes, write_note
from tests.steps.operators import configure_operator_token
from tests.steps.outbox import deliver_outboxes, queue_email, run_minute_schedule
from tests.steps.sms import free_inbound_number, receive_sms
from tests.steps.tenants import SMTP_PASSWORD, Tenant, smtp_sender_account
from tests.steps.tracking import ask_for_alerts, post_event, sweep
from tests.steps.webhooks import Receiver


@pytest.fixture(autouse=True)
def time_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    erasure_in_the_request(monkeypatch)
    # ``--target env`` is the test's environment as it is: pointing at it again would only drop
    # the process's clients (seconds of building them again, per command)
    monkeypatch.setattr(ops, "use_target", lambda args: None)


def run_ops(*argv: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """The operator runs ``ops --target env --json <argv>`` (docs/operations.md); its answer."""
    capsys.readouterr()  # what the steps before logged
    assert ops.main(["--target", "env", "--json", *argv]) == 0, capsys.readouterr().err
    return dict(json.loads(capsys.readouterr().out))


def items_of_each(*company_ids: str) -> list[dict[str, int]]:
    """How many items of each table belong to each company (a Scan of every table: the test looks
    at all the storage; an item belongs to it when a key or ``company_id`` names it)."""
    from chalicelib.store.tables import base_table_names

    counts: list[dict[str, int]] = [{} for _ in company_ids]
    for model, item in stored_items_naming(*company_ids):
        values = [str(v.get("S", "")) for v in item.values()]
        for company_id, counted in zip(company_ids, counts, strict=True):
            if any(v == company_id or v.startswith(f"{company_id}#") for v in values):
                name = base_table_names()[model]
                counted[name] = counted.get(name, 0) + 1
    return counts


def items_of(company_id: str) -> dict[str, int]:
    [counts] = items_of_each(company_id)
    return counts


def a_company_with_everything(api: Client, company: Tenant, mailbox: MailCatcher) -> dict[str, Any]:
    """A client with messages, an order's PDF, a register record, a note, a receivable, a parcel
    with a follower and a novelty, a suppression; a template, a webhook endpoint (its secret), an
    SMTP account with its password, SMS settings and a two-way SMS number."""
    smtp_sender_account(company.company_id, "all", mailbox, "Estudio Contable", "info@estudio.example")
    ana = a_client_with_everything(api, company, ANA, ANAS)
    template = {"subject": "Aviso", "text": "Hola {{ client.name }}", "html": "<p>Hola</p>"}
    admin = company.admin_headers()
    saved = api.http.put("/templates/custom:aviso", headers=admin, body=json.dumps(template))
    assert saved.status_code == 200, saved.body
    hook = {"url": "https://erp.example/hooks", "events": ["message.failed"]}
    added = api.http.post("/webhooks", headers=company.admin_headers(), body=json.dumps(hook))
    assert added.status_code == 201, added.body
    domain = verified_sending_domain(company.company_id, f"{company.company_id}.example")
    number = free_inbound_number(assigned_to=company.company_id)
    sms = {"enabled": True, "provider": "sns", "inbound_number": number}
    saved = api.http.put("/sms/settings", headers=company.admin_headers(), body=json.dumps(sms))
    assert saved.status_code == 200, saved.body
    from chalicelib.tenants.clients import portal_link

    portal_link(company.company_id, ANA)  # the client's portal key, made with its first link
    return {"ana": ana, "webhook_secret": body(added)["secret"], "number": number, "domain": domain}


def store_subscriptions(company_id: str) -> list[Any]:
    """The company's tracking subscriptions, as stored (a Scan: the test looks at the storage)."""
    from chalicelib.store.models import SubscriptionModel

    return list(SubscriptionModel.scan(SubscriptionModel.company_id == company_id))


def staff_pool(*company_ids: str) -> str:
    """A Cognito user pool (moto) with a staff user of each company (``custom:company_id``)."""
    from chalicelib.core.aws import client

    idp = client("cognito-idp")
    custom = [{"Name": n, "AttributeDataType": "String"} for n in ("company_id", "level")]
    pool = str(idp.create_user_pool(PoolName="staff", Schema=custom)["UserPool"]["Id"])
    for company_id in company_ids:
        attributes = [
            {"Name": "custom:company_id", "Value": company_id},
            {"Name": "custom:level", "Value": "1"},
        ]
        idp.admin_create_user(UserPoolId=pool, Username=f"admin@{company_id}", UserAttributes=attributes)
    return pool


def pool_users(pool: str) -> list[str]:
    from chalicelib.core.aws import client

    return sorted(u["Username"] for u in client("cognito-idp").list_users(UserPoolId=pool)["Users"])


def test_a_company_that_leaves_is_suspended_exported_and_deleted_and_its_neighbour_keeps_everything(
    api: Client,
    tenant: Tenant,
    other_tenant: Tenant,
    mailbox: MailCatcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a company with data of every kind, and a neighbour with a client and a note of its own
    leaving = a_company_with_everything(api, tenant, mailbox)
    put_client(api, other_tenant, ANA, emails=[ANAS])
    write_note(api, other_tenant.staff_headers(), ANA, "La nota de la otra empresa")
    # And an e-mail it received (its raw MIME kept in the inbound bucket), and a stranger's request
    # for alerts on its tracking site (counted against its limits)
    raw_mail = f"From: Ana <{ANAS}>\r\nSubject: Pedido\r\n\r\nQuiero el pedido 77.\r\n".encode()
    assert receive(api, raw_mail, to=[inbound_address(tenant)])["logged"] == 1
    asked = ask_for_alerts(api, tenant, leaving["ana"]["tracking_id"], "vecina@correo.example")
    assert asked.status_code == 202, asked.body
    # And what keeps an item keyed ``<company>#...`` that no client or endpoint of its names: an
    # e-mail from a stranger (its idempotency key names no client), a send asked for with a
    # request id (the key that answers a retried request names the job), and an endpoint removed
    # after a delivery (its log stays until it expires)
    stranger = b"From: Quien <quien@otro.example>\r\nSubject: Hola\r\n\r\nHola.\r\n"
    assert receive(api, stranger, to=[inbound_address(tenant)])["logged"] == 1
    send = {"channel": "email", "template": "custom:aviso", "client_ids": [ANA], "request_id": "cierre-1"}
    assert api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(send)).status_code == 201
    with Receiver() as receiver:
        hook = {"url": receiver.url, "events": ["client.unsubscribed"]}
        added = api.http.post("/webhooks", headers=tenant.admin_headers(), body=json.dumps(hook))
        endpoint = f"/webhooks/{body(added)['endpoint_id']}"
        assert api.http.post(f"{endpoint}/test", headers=tenant.admin_headers()).status_code == 200
    assert api.http.delete(endpoint, headers=tenant.admin_headers()).status_code == 204
    before, neighbour = items_of_each(tenant.company_id, other_tenant.company_id)
    assert "rate-limits" in before
    kinds = {"clients", "communications", "client-notes", "parcels", "subscriptions", "suppressions"}
    assert kinds <= set(before)
    # And an e-mail queued just before the company leaves, not sent yet, and a novelty of a
    # followed parcel whose alert the next sweep would send
    post_event(api, tenant, leaving["ana"]["tracking_id"], "ev-2", "DELIVERED", minutes=2)
    queue_email(tenant, to_address="ultima@correo.example", subject="La última")
    sent_before = len(mailbox.messages())

    # When the operator closes the company
    closed = run_ops("company", "close", tenant.company_id, capsys=capsys)
    # Then it is suspended, and each kind of caller is refused: its API key, its staff
    assert (closed["in_service"], closed["suspended_at"] is not None) == (False, True)
    assert api.http.get(f"/clients/{ANA}", headers=tenant.key_headers()).status_code == 403
    assert api.http.get("/clients", headers=tenant.staff_headers()).status_code == 403
    assert api.http.get("/clients", headers=tenant.admin_headers()).status_code == 403
    # And nothing is sent: the sweep skips it, the queued e-mail's hand-off and the minute's drain
    # leave it waiting
    swept = sweep(tenant)
    assert (swept.parcels, swept.queued, swept.sent) == (0, 0, 0)
    deliver_outboxes()
    run_minute_schedule(api)
    assert len(mailbox.messages()) == sent_before
    assert not [m for m in mailbox.messages() if "ultima@correo.example" in str(m["To"])]
    # And its public tracking page and a link it sent answer 410, a page saying so
    page = api.http.get(f"/track/{tenant.company_id}", headers={"Accept": "text/html"})
    assert page.status_code == 410 and "ya no está disponible" in page.body.decode()
    parcel = api.http.get(f"/public/{tenant.company_id}/parcels/{leaving['ana']['tracking_id']}")
    assert parcel.status_code == 410
    # And mail and SMS for it are dropped, and counted
    assert receive(api, b"Subject: hola\r\n\r\nhola", to=[inbound_address(tenant)])["logged"] == 0
    assert receive_sms(api, leaving["number"], "+5491155550000", "Hola")["outcome"] == "suspended"
    assert run_ops("company", "close", tenant.company_id, capsys=capsys)["inbound_dropped"] == 2
    # And nothing was deleted; the neighbour works as before
    assert items_of(tenant.company_id)["clients"] == before["clients"]
    assert api.http.get(f"/clients/{ANA}", headers=other_tenant.key_headers()).status_code == 200

    # When the operator exports it
    folder = tmp_path / "bundle"
    exported = run_ops("company", "export", tenant.company_id, "--to", str(folder), capsys=capsys)
    # Then the bundle holds each kind the company has, with the messages' words and the order's PDF
    counts = exported["counts"]
    # but Pregón's own indexes and bookkeeping, and its claim of its numbers (given back at the
    # deletion), which its README names
    from chalicelib.store.leaving import NOT_EXPORTED, table_of

    derived = {table_of(model) for model in NOT_EXPORTED}
    assert {kind for kind, n in counts.items() if n} >= set(before) - derived
    assert counts["files"] >= 1 and counts["companies"] == 1
    messages = [json.loads(line) for line in (folder / "communications.jsonl").read_text().splitlines()]
    assert any(f"Aviso 0 a {ANA}" in json.dumps(m, ensure_ascii=False) for m in messages)
    assert [p for p in (folder / "files").rglob("*") if p.suffix == ".pdf"]
    # And the e-mail it received, byte for byte as it arrived, listed by the key its message names
    raw_keys = [m["raw_key"] for m in messages if m.get("raw_key")]
    listed = {f["key"]: f["path"] for f in map(json.loads, (folder / "files.jsonl").read_text().splitlines())}
    arrived = {(folder / listed[key]).read_bytes() for key in raw_keys}
    assert arrived == {raw_mail, stranger}
    readme = (folder / "README.txt").read_text()
    assert "Left out" in readme and "passwords" in readme
    assert all(f"  - {why}" in readme for why in NOT_EXPORTED.values())
    # And no secret is in it: not the SMTP password, the webhook secret, a ciphertext or a key hash
    bundle = "".join(p.read_text(errors="replace") for p in folder.rglob("*.jsonl"))
    for secret in (SMTP_PASSWORD, leaving["webhook_secret"], "ciphertext", "secret_hash", "password_hash"):
        assert secret not in bundle, secret
    assert tenant.api_key.split(".")[1] not in bundle
    # And neither is the client's portal key (the half of its portal links Pregón keeps), in any
    # byte of the bundle; its item is there without it
    from chalicelib.store.publications import portal_key

    key = portal_key(tenant.company_id, ANA)
    assert key
    assert not [p for p in folder.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    lookups = [json.loads(line) for line in (folder / "register-lookups.jsonl").read_text().splitlines()]
    assert [item for item in lookups if item["entry_key"] == f"portal#{ANA}" and "name" not in item]
    # And each e-mail it sent is there as it went on the wire, not as Pregón packs it: every
    # header (a tracking alert's List-Unsubscribe, on its one line, and a send's), its Message-ID
    # and Reply-To, as the SMTP server received them; no marker of the packing
    caught = caught_by_communication(mailbox)
    sent = {m["communication_id"]: m for m in messages if m["communication_id"] in caught}
    assert {cid: not_as_sent(m, caught[cid]) for cid, m in sent.items()} == {cid: [] for cid in sent}
    [alert] = [m for m in sent.values() if m.get("alert_ref")]
    assert {"List-Unsubscribe", "List-Unsubscribe-Post"} <= set(alert["headers"])
    [unsubscribe] = header_fields(caught[alert["communication_id"]], "List-Unsubscribe")
    assert b"\r\n" not in unsubscribe
    # And no tracking subscription's link nonce (Pregón's secret of its links), nor an attribute of
    # Pregón's bookkeeping: a message's index keys or lease, a parcel's place in the sweep
    nonces = [str(s.link_nonce) for s in store_subscriptions(tenant.company_id) if s.link_nonce]
    assert nonces and not [
        p for p in folder.rglob("*") for n in nonces if p.is_file() and n.encode() in p.read_bytes()
    ]
    followers = (folder / "subscriptions.jsonl").read_text().splitlines()
    assert followers and not [line for line in followers if "link_nonce" in line]
    bookkeeping = (
        "headers_from",
        "status_key",
        "history_key",
        "ready_outbox",
        "lease_until",
        "pending_company",
    )
    assert not [name for name in bookkeeping if f'"{name}"' in bundle]
    # And none of a message's outbox state (its attempt count, the idempotency key that kept it
    # from being written twice), nor an index key that copies an item's own data in another form
    # (a note's, a parcel's and an event's ``<company>#<client>``, a follower's and an alert's
    # ``<company>#<address>``) or marks it for a sweep (the company in the operators' listing)
    copies = ("attempts", "idempotency_key", "client_key", "recipient_key", "listed")
    assert [name for name in copies if f'"{name}"' in bundle] == []
    # And an export that stops half-way, run again on its folder, goes on from its last page and
    # writes the same bundle, no line twice
    from chalicelib.store import leaving as store

    stopped, plain_item = tmp_path / "stopped", store.plain_item
    written: list[None] = []

    def stops(item: Any) -> dict[str, Any]:
        if isinstance(item, store.m.CommunicationModel):
            written.append(None)
            if len(written) == 5:  # the second page of messages
                raise RuntimeError("the export stopped here")
        return plain_item(item)

    monkeypatch.setattr(store, "plain_item", stops)
    monkeypatch.setattr(store, "PAGE", 3)  # pages of 3 items: it stops after pages were kept
    with pytest.raises(RuntimeError):
        ops.main(["--target", "env", "company", "export", tenant.company_id, "--to", str(stopped)])
    monkeypatch.setattr(store, "plain_item", plain_item)
    assert json.loads((stopped / "progress.json").read_text())["current"]["kind"] == "communications"
    again = run_ops("company", "export", tenant.company_id, "--to", str(stopped), capsys=capsys)
    assert again["counts"] == counts
    for kind in counts:
        if kind != "files":
            lines = sorted((stopped / f"{kind}.jsonl").read_text().splitlines())
            assert lines == sorted((folder / f"{kind}.jsonl").read_text().splitlines()), kind

    # When the operator deletes it, and the run dies half-way (after the messages went)
    partitions = store.delete_partitions

    def dies(company_id: str, counted: Any) -> None:
        raise RuntimeError("the operator's laptop went to sleep")

    monkeypatch.setattr(store, "delete_partitions", dies)
    with pytest.raises(RuntimeError):
        ops.main(["--target", "env", "company", "delete", tenant.company_id, "--confirm", tenant.company_id])
    capsys.readouterr()
    monkeypatch.setattr(store, "delete_partitions", partitions)
    half_way = items_of(tenant.company_id)
    assert "communications" not in half_way and half_way["clients"] == before["clients"]
    # And runs it again, naming the staff's user pool
    pool = staff_pool(tenant.company_id, other_tenant.company_id)
    delete = ["company", "delete", tenant.company_id, "--confirm", tenant.company_id, "--user-pool-id", pool]
    deleted = run_ops(*delete, capsys=capsys)
    # Then it finishes: no item of the company is left in any table but its tombstone, its files
    # are gone, and the counts say what went
    left, neighbours = items_of_each(tenant.company_id, other_tenant.company_id)
    assert left == {"companies": 1}
    assert deleted["deleted_at"] is not None
    assert deleted["deleted"]["clients"] == before["clients"]
    assert deleted["deleted"]["communications"] >= before["communications"]
    from tests.steps.documents import file_exists

    pdfs = [str(p.relative_to(folder / "files")) for p in (folder / "files").rglob("*.pdf")]
    assert pdfs and not any(file_exists(key) for key in pdfs)
    # And so is the raw e-mail it received, and every counter of its limits (items_of looked)
    assert not any(raw_mail_kept(key) for key in raw_keys)
    # And its staff's users, its sending domain's SES identity and its record are gone, not the
    # neighbour's users
    from chalicelib.core.aws import client
    from chalicelib.store.domains import get_domain

    assert pool_users(pool) == [f"admin@{other_tenant.company_id}"]
    assert deleted["deleted"]["cognito-users"] == 1
    assert leaving["domain"] not in client("ses").list_identities()["Identities"]
    assert get_domain(leaving["domain"]) is None
    # And its number is free again, and its id cannot be taken by a new company by accident
    from chalicelib.store.sms import number_holders
    from chalicelib.tenants.companies import create_company

    assert not number_holders([leaving["number"]])
    assert create_company(tenant.company_id, "Otra con el mismo id") is False
    # And the neighbour's items are all there, its client and note as they were
    assert neighbours == neighbour
    assert client_notes(api, other_tenant.staff_headers(), ANA) == ["La nota de la otra empresa"]


def test_a_suspended_company_reopened_sends_what_waited_and_one_in_service_cannot_be_deleted(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a company in service: deleting it is refused (close it first)
    refused = ["--target", "env", "company", "delete", tenant.company_id, "--confirm", tenant.company_id]
    assert ops.main(refused) == 2
    assert "not suspended" in capsys.readouterr().err
    # When the operator suspends it (the operator route), and an e-mail is queued meanwhile
    operator_headers = {"Authorization": f"Operator {configure_operator_token()}"}
    suspended = api.http.put(f"/operator/companies/{tenant.company_id}/suspension", headers=operator_headers)
    assert suspended.status_code == 200 and body(suspended)["in_service"] is False
    queue_email(tenant, to_address="espera@correo.example", subject="Espera")
    deliver_outboxes()
    assert not [m for m in mailbox.messages() if "espera@correo.example" in str(m["To"])]
    # When it is reopened
    suspension = f"/operator/companies/{tenant.company_id}/suspension"
    reopened = api.http.delete(suspension, headers=operator_headers)
    # Then it is in service: its key works again, and what waited is sent by the next drain
    assert reopened.status_code == 200 and body(reopened)["in_service"] is True
    assert api.http.get("/clients", headers=tenant.key_headers()).status_code == 200
    clock.set_now(clock.now() + timedelta(minutes=16))  # past the hand-off's lease and the wait
    run_minute_schedule(api)
    assert [m for m in mailbox.messages() if "espera@correo.example" in str(m["To"])]


NOTICE = {"subject": "Aviso para {{ client.name }}", "text": "Hola {{ client.name }}", "html": "<p>Hola</p>"}


def test_while_suspended_its_send_pages_and_webhook_events_wait_and_reopened_each_goes_once(
    api: Client,
    tenant: Tenant,
    mailbox: MailCatcher,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from chalicelib.messaging.webhooks.service import announce
    from infrastructure.local.mailcatcher import envelope_recipients
    from tests.steps.outbox import communication_items
    from tests.steps.sends import expand_pages, job_of, progress
    from tests.steps.webhooks import Receiver, deliver_webhooks, drain_webhook_queue, outcomes

    # Given three clients, and the company's own server taking its webhooks
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Contable", "info@estudio.example")
    saved = api.http.put("/templates/custom:aviso", headers=tenant.admin_headers(), body=json.dumps(NOTICE))
    assert saved.status_code == 200, saved.body
    for n in range(3):
        put_client(api, tenant, f"C{n}", name=f"Cliente {n}", emails=[f"c{n}@correo.example"])
    drain_webhook_queue()
    with Receiver() as receiver:
        hook = {"url": receiver.url, "events": ["client.unsubscribed"]}
        added = api.http.post("/webhooks", headers=tenant.admin_headers(), body=json.dumps(hook))
        assert added.status_code == 201, added.body
        # And, just before the company is closed, an event queued for that server and a send to
        # the three clients asked for (pages of two: two pages wait on the queue)
        announce(tenant.company_id, "client.unsubscribed", client_id="C0")
        monkeypatch.setattr("chalicelib.producers.sends.manual.PAGE_SIZE", 2)
        data = {"channel": "email", "template": "custom:aviso", "client_ids": ["C0", "C1", "C2"]}
        started = api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(data))
        assert started.status_code == 201, started.body
        job_id = body(started)["job"]["job_id"]

        # When the operator closes the company, and the workers take what waits on their queues
        run_ops("company", "close", tenant.company_id, capsys=capsys)
        assert expand_pages() == 2
        held = outcomes(deliver_webhooks())
        # Then the pages wrote no message, and the company's server was posted nothing
        assert [c for c in communication_items(tenant.company_id) if "job_id" in c] == []
        assert (held, receiver.received) == ({"held": 1}, [])
        # And an hour on, the minute schedule does not ask for the pages again and again
        clock.set_now(clock.now() + timedelta(minutes=30))
        run_minute_schedule(api)
        assert expand_pages() == 0

        # When the operator reopens it
        run_ops("company", "reopen", tenant.company_id, capsys=capsys)
        # Then the held event reaches the company's server, once, signed
        assert outcomes(deliver_webhooks()) == {"delivered": 1}
        [event] = receiver.events(body(added)["secret"], clock.now().timestamp())
        assert (event["type"], event["data"]["client_id"]) == ("client.unsubscribed", "C0")
        # And the next minute asks for the pages, and each client gets the notice once
        run_minute_schedule(api)
        assert expand_pages() == 2
        deliver_outboxes()
        mails = mailbox.wait_for(3)
        recipients = sorted(r for m in mails for r in envelope_recipients(m) if r.startswith("c"))
        assert recipients == ["c0@correo.example", "c1@correo.example", "c2@correo.example"]
        assert progress(job_of(api, tenant, job_id)) == ("done", 3, 3, 0, 0, 0)
        assert len(receiver.received) == 1


def test_a_suspended_company_is_not_told_its_domain_stopped_verifying_until_it_is_reopened(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.steps.domains import (
        notices_received,
        pregon_notice_sender_verified,
        ses_removes_the_identity,
        the_hourly_check_runs,
    )
    from tests.steps.tenants import staff_user

    # Given Ana, the company's administrator, and its verified sending domain
    pregon_notice_sender_verified()
    company, ana = tenant.company_id, f"ana@{tenant.company_id}.example"
    staff_user(company, "ana", ana, level=1)
    domain = verified_sending_domain(company, f"avisos.{company}.example")
    # When the company is closed, and three days later its domain loses its records
    run_ops("company", "close", company, capsys=capsys)
    clock.set_now(clock.now() + timedelta(days=3))
    ses_removes_the_identity(domain)
    # Then Pregón's hourly check tells no one of the company that left
    assert the_hourly_check_runs(api)["notices"] == 0
    assert notices_received(ana) == []
    # And once it is reopened, the next check tells Ana, once
    run_ops("company", "reopen", company, capsys=capsys)
    clock.set_now(clock.now() + timedelta(hours=1))
    assert the_hourly_check_runs(api)["notices"] == 1
    assert len(notices_received(ana)) == 1
