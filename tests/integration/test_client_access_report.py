"""A client asks what Pregón holds about her (right of access: GDPR arts. 15 and 20, Ley 25.326 art.
14, LFPDPPP; docs/privacy.md, decision 0038): an administrator asks for her access report, a worker
writes a ZIP (a summary in the company's language, the data as JSON and CSV, her files) from the
erasure's own walk, so what it says an erasure deletes is what one deletes. Real DynamoDB Local,
SMTP server and moto's S3."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.aws import stored_items_naming
from tests.steps.clients import put_client
from tests.steps.erasure import (
    ANA,
    ANAS,
    BETO,
    BETOS,
    a_client_with_everything,
    erase,
    erasure_company,  # noqa: F401 - the fixture company
    erasure_in_the_request,
    erasures_have_time,  # noqa: F401 - an autouse fixture: erasure_in_the_request
    sent_with_a_request_id,
)
from tests.steps.history import LambdaTimedOut, add_register_record, run_export_workers
from tests.steps.hostile_mail import company_files
from tests.steps.inbound import inbound_address, raw_mail_kept, receive
from tests.steps.mail import caught_by_communication, not_as_sent
from tests.steps.notes import staff_headers, write_note
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant

RECEIPT = b"%PDF-1.4 recibo de Ana\n%%EOF\n"


def ask(api: Client, headers: dict[str, str], client_id: str, **options: Any) -> Any:
    return api.http.post(f"/clients/{client_id}/access-report", headers=headers, body=json.dumps(options))


def report_of(api: Client, headers: dict[str, str], client_id: str, report_id: str) -> Any:
    return api.http.get(f"/clients/{client_id}/access-report/{report_id}", headers=headers)


def she_writes_with_a_receipt(api: Client, tenant: Tenant) -> None:
    """Ana writes to the company with a PDF attached (as SES receives it: raw mail in S3)."""
    raw = (
        f"From: Ana Perez <{ANAS}>\r\nTo: {inbound_address(tenant)}\r\nSubject: Mi recibo\r\n"
        "Message-ID: <recibo-ana@correo.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAdjunto mi recibo.\r\n"
        '--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="recibo.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    import base64

    raw += base64.encodebytes(RECEIPT).replace(b"\n", b"\r\n") + b"--b1--\r\n"
    answer = receive(api, raw, to=[inbound_address(tenant)], source=ANAS)
    assert answer, answer


def a_push_sent(api: Client, tenant: Tenant, client_id: str) -> None:
    """The client's phone registered for push (a token of this company's: moto's SNS is shared by
    the tests) and a push staff sent it with a request id (its key names the device)."""
    from tests.steps.push import push_platform_application, register_device, set_push

    arn = push_platform_application(tenant.company_id, "GCM")
    assert set_push(api, tenant, fcm_application_arn=arn).status_code == 200
    registered = register_device(api, tenant, client_id, f"fcm-token-{tenant.company_id}")
    assert registered.status_code == 201, registered.body
    sent_with_a_request_id(api, tenant, client_id, "push")


def an_sms_sent(api: Client, tenant: Tenant, client_id: str) -> None:
    """SMS turned on (Amazon SNS, moto's) and staff send the client one (the template of
    ``sent_with_a_request_id``, saved by the push before it)."""
    saved = api.http.put("/sms/settings", headers=tenant.admin_headers(), body=b'{"enabled": true}')
    assert saved.status_code == 200, saved.body
    send = {"channel": "sms", "template": "custom:aviso", "client_ids": [client_id]}
    sent = api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(send))
    assert sent.status_code == 201, sent.body


def the_zip(api: Client, headers: dict[str, str], client_id: str, report_id: str) -> zipfile.ZipFile:
    """The report, done, as its short-lived link downloads it."""
    done = body(report_of(api, headers, client_id, report_id))
    assert done["state"] == "done", done
    response = requests.get(done["download_url"], timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def reported(api: Client, headers: dict[str, str], client_id: str, **options: Any) -> zipfile.ZipFile:
    asked = ask(api, headers, client_id, **options)
    assert asked.status_code == 202, asked.body
    assert body(asked)["state"] == "queued"
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}]
    return the_zip(api, headers, client_id, body(asked)["report_id"])


def test_her_report_holds_each_thing_pregon_holds_about_her_and_nothing_of_anyone_else_nor_a_secret(
    api: Client, company: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given Ana with e-mails sent, an order's PDF, a register record, a note, a receivable, a
    # parcel she follows with an alert sent, a bounce of her address; a push and an SMS staff sent
    # her; an e-mail she wrote with a receipt attached; a file on her document portal
    a_client_with_everything(api, company, ANA, ANAS)
    a_push_sent(api, company, ANA)
    an_sms_sent(api, company, ANA)
    deliver_outboxes()
    she_writes_with_a_receipt(api, company)
    a_file_on_her_portal(api, company)
    a_link_to_her_portal(company)
    # And Beto, a client of the same company, and another company's client under Ana's code
    a_client_with_everything(api, company, BETO, BETOS)
    put_client(api, other_tenant, ANA, emails=["ana@otra.example"])
    write_note(api, other_tenant.staff_headers(), ANA, "La nota de la otra empresa")

    # When the administrator asks for her access report and its worker runs
    archive = reported(api, company.admin_headers(), ANA)

    # Then the ZIP holds a summary, the data as JSON and CSV, and her files
    names = archive.namelist()
    assert {"summary.html", "data.json", "messages.csv"} <= set(names)
    data = json.loads(archive.read("data.json"))
    held = data["data"]
    # her client's data, messages of every channel, sent and received, with their state
    assert held["client"][0]["emails"] == [ANAS]
    messages = data["messages"]
    channels = {(m["channel"], m["direction"]) for m in messages}
    assert {("email", "out"), ("push", "out"), ("sms", "out"), ("email", "in"), ("note", "note")} <= channels
    received = next(m for m in messages if m["direction"] == "in")
    assert received["subject"] == "Mi recibo" and received["attachments"][0]["name"] == "recibo.pdf"
    assert {m["state"] for m in messages if m["channel"] == "email" and m["direction"] == "out"} >= {"sent"}
    # her note, document, receivable, tracking subscription and alert, device, suppression
    assert [n["note"] for n in held["notes"]] == [f"Nota sobre {ANA}"]
    kinds = ("documents", "receivables", "tracking_subscriptions", "tracking_alerts", "devices", "parcels")
    assert [kind for kind in kinds if not held.get(kind)] == []
    assert [s["address"] for s in held["suppressions"]] == [ANAS]
    # the receipt she attached, and the raw mail she sent, as files
    files = [n for n in names if n.startswith("files/")]
    assert RECEIPT in [archive.read(n) for n in files]
    assert any(b"Message-ID: <recibo-ana@correo.example>" in archive.read(n) for n in files)
    # And the summary, in the company's language, lists her messages and what is kept and why
    summary = archive.read("summary.html").decode()
    assert "Informe de datos del cliente" in summary and "Mi recibo" in summary
    assert "Aviso 0 a ANA-PEREZ" in summary
    assert "suppressions: kept as a digest" in summary
    assert "Mi recibo" in archive.read("messages.csv").decode()
    # And nothing of Beto nor of the other company is anywhere in it
    everything = b"".join(archive.read(n) for n in names)
    for stranger in (BETO.encode(), BETOS.encode(), b"La nota de la otra empresa", b"ana@otra.example"):
        assert stranger not in everything
    assert other_tenant.company_id.encode() not in everything
    # And no secret: her portal key (it makes her links work), her phone's push token, her
    # tracking subscription's link nonce, in the ZIP's bytes nor in any file in it
    for secret in her_secrets(company):
        assert secret not in everything and secret not in archive.fp.getvalue(), secret  # type: ignore[union-attr]
    # but that she has document portal links, and since when
    [portal] = [p for p in held["portal_publications"] if p["entry_key"] == f"portal#{ANA}"]
    assert portal["document_portal_links_since"] and portal["key"] == "(withheld)"
    assert "enlaces a su portal de documentos desde el" in summary
    # And each e-mail sent to her is there as she received it, stored and read alike: every header
    # (her tracking alert's List-Unsubscribe, on its one line), its Message-ID and Reply-To, as
    # the SMTP server received them; no marker of Pregón's packing, nor its index keys
    caught = caught_by_communication(mailbox)
    for listed in (held["messages"], messages):
        sent = {m["communication_id"]: m for m in listed if m["communication_id"] in caught}
        assert {cid: not_as_sent(m, caught[cid]) for cid, m in sent.items()} == {cid: [] for cid in sent}
        [alert] = [m for m in sent.values() if m.get("alert_ref")]
        assert {"List-Unsubscribe", "List-Unsubscribe-Post"} <= set(alert["headers"])
    assert not [m for m in held["messages"] if {"status_key", "history_key", "lease_until"} & set(m)]
    # And her messages, where the report lists them as where it lists her data, are her data
    # (dates, state, channel, subject, body, the delivery's result), not Pregón's outbox's state:
    # no lease, hand-off, attempt count, idempotency key, nor index key
    outbox_state = {"lease_until", "handoff", "attempts", "idempotency_key", "ready_at", "client_key"}
    assert [sorted(outbox_state & set(m)) for m in messages] == [[] for _ in messages]
    [sms] = [m for m in messages if m["channel"] == "sms"]
    assert {"created_at", "state", "channel", "text", "sent_at"} <= set(sms), sms
    # And no index key that copies an item's own data in another form (her note's, parcel's,
    # tracking subscription's and alert's, business event's and idempotency keys' ``<company>#...``)
    index_keys = {"client_key", "recipient_key", "from_client_key", "to_client_key", "branch_key"}
    copies = {kind: sorted(index_keys & set(item)) for kind, items in held.items() for item in items}
    assert {kind: names for kind, names in copies.items() if names} == {}


def a_link_to_her_portal(tenant: Tenant) -> str:
    """A link to Ana's document portal, as a message with ``{{portal_link}}`` makes it (her
    portal key made with it)."""
    from chalicelib.tenants.clients import portal_link

    return portal_link(tenant.company_id, ANA)


def her_secrets(tenant: Tenant) -> list[bytes]:
    """What Pregón keeps of Ana's that is a secret (no API answer shows it): her portal key, her
    phone's push token, her tracking subscription's link nonce (each found stored)."""
    from chalicelib.store.models import PushDeviceModel, SubscriptionModel
    from chalicelib.store.publications import portal_key
    from chalicelib.store.tracking import parcel_key

    [device] = PushDeviceModel.query(tenant.company_id, PushDeviceModel.device_key.startswith(f"{ANA}#"))
    [subscription] = SubscriptionModel.query(parcel_key(tenant.company_id, "TRK-0001"))
    found = [portal_key(tenant.company_id, ANA), device.token, subscription.link_nonce]
    assert all(found), found
    return [str(value).encode() for value in found]


def a_file_on_her_portal(api: Client, tenant: Tenant) -> None:
    """Staff attach a PDF to a record of Ana's register and publish it on her document portal."""
    staff = tenant.staff_headers()
    record = add_register_record(api, staff, ANA, record_type="visit", subject="Firma de la DDJJ")
    rid = str(record["communication_id"])
    pdf = {"name": "ddjj.pdf", "content_type": "application/pdf", "content_base64": "JVBERi0xLjQK"}
    path = f"/clients/{ANA}/register/{rid}/attachments"
    assert api.http.post(path, headers=staff, body=json.dumps(pdf)).status_code == 201
    published = {"record_id": rid, "attachment": 0, "name": "DDJJ.pdf", "categories": ["impuestos"]}
    answer = api.http.post(f"/clients/{ANA}/publications", headers=staff, body=json.dumps(published))
    assert answer.status_code == 201, answer.body


def _stored_keys(company_id: str) -> set[tuple[str, str]]:
    """Every item's table and key naming the company (a Scan: the test looks at all the storage)."""
    found = set()
    for model, item in stored_items_naming(company_id):
        if company_id in json.dumps(item, default=str):
            key = [next(iter(item[n].values())) for n in (model._hash_keyname, model._range_keyname) if n]
            found.add((model.__name__, json.dumps([str(k) for k in key])))
    return found


def test_what_her_report_says_an_erasure_deletes_is_what_her_erasure_deletes(
    api: Client, company: Tenant
) -> None:
    from chalicelib.store.erasures import KINDS

    # Given Ana with everything and an e-mail she wrote (its raw mail kept), Beto too, and her
    # access report
    a_client_with_everything(api, company, ANA, ANAS)
    a_push_sent(api, company, ANA)
    she_writes_with_a_receipt(api, company)
    a_file_on_her_portal(api, company)
    a_client_with_everything(api, company, BETO, BETOS)
    data = json.loads(reported(api, company.admin_headers(), ANA).read("data.json"))
    erasure = data["erasure"]
    [raw_key] = [m["raw_key"] for m in data["messages"] if m.get("raw_key")]
    assert raw_mail_kept(raw_key)
    models = {kind: model.__name__ for model, kind in KINDS.items()}
    listed = {(models[e["kind"]], json.dumps([str(k) for k in e["key"]])) for e in erasure["would_delete"]}
    assert {"portal_publications", "messages", "notes", "devices"} <= {
        e["kind"] for e in erasure["would_delete"]
    }
    before = _stored_keys(company.company_id)
    # When the administrator erases her
    job = body(erase(api, company.admin_headers(), ANA))
    assert job["state"] == "done"
    # Then the items gone are exactly those the report listed, and as many files
    gone = before - _stored_keys(company.company_id)
    assert gone == listed
    assert job["erased"]["files"] == erasure["would_delete_files"]
    assert job["suppressions_kept"] == erasure["suppressions_kept_as_digest"] == 1
    assert [e["kind"] for e in erasure["would_change"]] == ["parcels"]
    # And her raw mail is gone from the inbound bucket (an erasure once looked for it under its
    # bucket's name twice, and left it)
    assert not raw_mail_kept(raw_key)


def test_only_administrators_and_the_erps_key_with_clients_write_may_ask_for_and_read_a_report(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    from chalicelib.tenants.companies import SCOPES, issue_api_key

    # Given Ana with a note, and every kind of caller
    put_client(api, tenant, ANA, emails=[ANAS])
    write_note(api, tenant.staff_headers(), ANA, "Nota")
    readonly = issue_api_key(tenant.company_id, "lectura", [s for s in SCOPES if s != "clients:write"])
    writer = {"Authorization": f"ApiKey {issue_api_key(tenant.company_id, 'erp', ['clients:write'])}"}
    report_id = body(ask(api, tenant.admin_headers(), ANA))["report_id"]
    callers = {
        "no token": {"Content-Type": "application/json"},
        "API key without clients:write": {"Authorization": f"ApiKey {readonly}"},
        **{f"level {n}": staff_headers(tenant, f"user{n}@empresa.example", n) for n in (2, 3, 4)},
    }
    # When each asks for her report, and reads the administrator's
    statuses = {
        who: (ask(api, h, ANA).status_code, report_of(api, h, ANA, report_id).status_code)
        for who, h in callers.items()
    }
    # Then no token is 401, and every other is refused: a report narrowed to what a level 2-4 user
    # sees would be a partial answer to the law's request
    assert statuses.pop("no token") == (401, 401)
    assert set(statuses.values()) == {(403, 403)}, statuses
    # And another company's administrator finds neither her nor the report
    assert ask(api, other_tenant.admin_headers(), ANA).status_code == 404
    assert report_of(api, other_tenant.admin_headers(), ANA, report_id).status_code == 404
    # And under another client's code the report is not found
    put_client(api, tenant, BETO, emails=[BETOS])
    assert report_of(api, tenant.admin_headers(), BETO, report_id).status_code == 404
    # And the ERP's key with clients:write may ask and read it, and the administrator read the key's
    by_key = ask(api, writer, ANA)
    assert by_key.status_code == 202, by_key.body
    assert report_of(api, writer, ANA, report_id).status_code == 200
    assert report_of(api, tenant.admin_headers(), ANA, body(by_key)["report_id"]).status_code == 200
    # And withholding the notes needs a reason
    refused = ask(api, tenant.admin_headers(), ANA, withhold_notes=True)
    assert (refused.status_code, body(refused)["errors"][0]["field"]) == (422, "reason"), refused.body


def test_withheld_notes_are_left_out_saying_why(api: Client, company: Tenant) -> None:
    # Given Ana with a note
    put_client(api, company, ANA, emails=[ANAS])
    write_note(api, company.staff_headers(), ANA, "Cliente difícil, no dar descuentos")
    # When the administrator asks for her report withholding the notes, with a reason
    archive = reported(
        api, company.admin_headers(), ANA, withhold_notes=True, reason="notas de un litigio en curso"
    )
    # Then no note is in it, and the summary says they were withheld and why
    everything = b"".join(archive.read(n) for n in archive.namelist())
    assert "Cliente difícil".encode() not in everything
    assert "notas de un litigio en curso" in archive.read("summary.html").decode()


def test_her_data_is_one_json_document_when_her_first_notes_are_deleted_while_the_report_is_built(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import access

    # Given Ana with three notes, and a report that reads her items two at a time
    put_client(api, company, ANA, emails=[ANAS])
    staff = company.staff_headers()
    for n in range(3):
        write_note(api, staff, ANA, f"Nota {n}")
    monkeypatch.setattr(access, "STEP_ITEMS", 2)
    # And the administrator deletes the two notes the report reads first once it has listed them
    # (a report in parts is written over minutes or hours after its list is made)
    planned = access._plan

    def listed_then_deleted(export: Any) -> Any:
        plan = planned(export)
        [first] = [a[2] for step in plan["steps"] for a in step if a[:2] == ["items", "notes"] and a[3]]
        for _, note_id in first:
            deleted = api.http.delete(f"/clients/{ANA}/notes/{note_id}", headers=company.admin_headers())
            assert deleted.status_code == 204, deleted.body
        return plan

    monkeypatch.setattr(access, "_plan", listed_then_deleted)
    # When the administrator asks for her report
    archive = reported(api, company.admin_headers(), ANA)
    # Then its data is one JSON document, holding the note left
    data = json.loads(archive.read("data.json"))
    assert [n["note"] for n in data["data"]["notes"]] == ["Nota 2"]


def test_an_erased_clients_report_is_gone_and_one_being_erased_is_refused_clearly(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import erasures

    # Given Ana's report, done, and one asked for but not yet built
    put_client(api, company, ANA, emails=[ANAS])
    admin = company.admin_headers()
    done = body(ask(api, admin, ANA))["report_id"]
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}]
    waiting = body(ask(api, admin, ANA))["report_id"]
    [kept] = company_files(company.company_id, "exports")  # the done report's ZIP, in S3

    # When the administrator starts erasing her and the erasure stops before its end (before
    # what is left under her code: her reports among it)
    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    monkeypatch.setattr(erasures, "single_items", stopped)
    assert body(erase(api, admin, ANA))["state"] == "erasing"
    # Then a new report is refused, saying why, in the caller's language
    refused = ask(api, {**admin, "Accept-Language": "es"}, ANA)
    assert refused.status_code == 409, refused.body
    assert body(refused)["message"] == (
        f"el cliente {ANA} se está borrando: no hay informe de datos de lo que se borra"
    )
    # And the report asked for before fails once its worker runs, saying why
    assert run_export_workers() == [{"done": 0, "failed": 1, "skipped": 0}]
    assert "erased" in body(report_of(api, admin, ANA, waiting))["error"]
    # When the erasure ends
    monkeypatch.undo()
    erasure_in_the_request(monkeypatch)
    assert body(erase(api, admin, ANA))["state"] == "done"
    # Then her reports are not found, and a new one neither
    assert report_of(api, admin, ANA, done).status_code == 404
    assert ask(api, admin, ANA).status_code == 404
    # And the done report's ZIP is gone from S3, and its item from the table (not left to expire)
    assert kept.endswith(f"access-report-{ANA}.zip") and company_files(company.company_id, "exports") == []
    from chalicelib.store.history_exports import get_export

    assert get_export(company.company_id, done) is None and get_export(company.company_id, waiting) is None


def exported_tags(key: str) -> dict[str, str]:
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    tags = client("s3").get_object_tagging(Bucket=get_settings().files_bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tags}


def built_in_runs_some_stopped(stops: int, deadline_seconds: float = 60) -> tuple[list[dict[str, int]], int]:
    """Run the export workers, each request visible again at once when its run is stopped from
    outside (:class:`LambdaTimedOut`, the test's patch raising it), until the queue is empty; each
    run's counts and how many runs were stopped."""
    import time

    results: list[dict[str, int]] = []
    stopped = 0
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            before = len(results)
            run_export_workers(visibility_timeout=0, results=results)
            if len(results) == before:
                return results, stopped
        except LambdaTimedOut:
            stopped += 1
            assert stopped <= stops, "a run was stopped more often than the test stops it"
    raise AssertionError(f"the report was not built in {deadline_seconds} s: {results}")


def stopped_at(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, calls: int) -> None:
    """The ``calls``-th call of ``module.name`` stops its run from outside, as Lambda does at its
    time limit: before it does anything (the calls before it go through)."""
    real = getattr(module, name)
    seen: list[None] = []

    def stopped(*args: Any, **kwargs: Any) -> Any:
        seen.append(None)
        if len(seen) == calls:
            raise LambdaTimedOut(f"{name} stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, stopped)


def test_a_report_too_big_for_one_run_is_built_in_parts_each_item_once_also_when_a_run_dies_half_way(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import access
    from chalicelib.store import history_exports
    from chalicelib.store.communications import about_key
    from chalicelib.store.models import CommunicationModel

    # Given Ana with everything, an e-mail she wrote with a receipt, a file on her portal, five
    # notes and four register records; and a report asked for and built in one run
    a_client_with_everything(api, company, ANA, ANAS)
    she_writes_with_a_receipt(api, company)
    a_file_on_her_portal(api, company)
    for n in range(4):
        write_note(api, company.staff_headers(), ANA, f"Nota {n} sobre ella")
        add_register_record(api, company.staff_headers(), ANA, subject=f"Visita {n}")
    admin = company.admin_headers()
    whole = reported(api, admin, ANA)
    # And runs that each write one step of a few items, as a client too big for one run makes them
    monkeypatch.setattr(access, "RUN_SECONDS", 0.0)
    monkeypatch.setattr(access, "PART_SECONDS", 0.0)
    monkeypatch.setattr(access, "STEP_ITEMS", 4)
    # And a run that dies with its part and progress kept in S3 but not yet named by the report,
    # and another that dies joining the parts
    stopped_at(monkeypatch, history_exports, "commit_part", 3)
    stopped_at(monkeypatch, access, "_join", 1)

    # When the administrator asks for her report again and the workers run
    asked = body(ask(api, admin, ANA))
    runs, stopped = built_in_runs_some_stopped(stops=2)

    # Then it took many runs, each asking for the next, two of them stopped, and it is done
    assert stopped == 2
    assert sum(r.get("continued", 0) for r in runs) >= 15, runs
    assert [r for r in runs if not r.get("continued")] == [{"done": 1, "failed": 0, "skipped": 0}]
    archive = the_zip(api, admin, ANA, asked["report_id"])
    # And its ZIP is whole (every entry's CRC checked), each entry once
    assert archive.testzip() is None
    names = archive.namelist()
    assert len(names) == len(set(names))
    # And each of her messages, as stored, is in it once: in the data, as read, in the CSV, in the summary
    stored = {
        c.communication_id
        for key in (f"{company.company_id}#{ANA}", about_key(company.company_id, ANA))
        for c in CommunicationModel.by_client.query(key)
    }
    data = json.loads(archive.read("data.json"))
    as_read = [m["communication_id"] for m in data["messages"]]
    assert sorted(as_read) == sorted(stored) and len(stored) >= 10
    assert sorted(m["communication_id"] for m in data["data"]["messages"]) == sorted(stored)
    csv_ids = [line.split(",")[0] for line in archive.read("messages.csv").decode().splitlines()[1:]]
    assert csv_ids == as_read
    summary = archive.read("summary.html").decode()
    assert summary.count("<td>") == 7 * len(stored) + 2 * (len(data["data"]) - 2)
    assert [summary.count(f"Visita {n}") for n in range(4)] == [1, 1, 1, 1]
    # And each of her notes once, and every item the erasure would delete or change once
    assert sorted(n["note"] for n in data["data"]["notes"]) == sorted(
        [f"Nota sobre {ANA}"] + [f"Nota {n} sobre ella" for n in range(4)]
    )
    for kind, items in data["data"].items():
        listed = [
            e for e in data["erasure"]["would_delete"] + data["erasure"]["would_change"] if e["kind"] == kind
        ]
        assert len(items) == len(listed), kind
    # And her files once each: the receipt among them, and the first report's ZIP
    files = [n for n in names if n.startswith("files/")]
    assert len(files) == data["erasure"]["would_delete_files"] - 1
    assert [archive.read(n) for n in files].count(RECEIPT) == 1
    # And it holds what the report built in one run holds (but the reports themselves: one more)
    first = json.loads(whole.read("data.json"))
    for report in (first, data):
        report["data"].pop("access_reports")
    assert data["data"] == first["data"] and data["messages"] == first["messages"]
    assert archive.read("messages.csv") == whole.read("messages.csv")
    heading = "<h2>Otros datos guardados</h2>"
    assert summary.partition(heading)[0] == whole.read("summary.html").decode().partition(heading)[0]
    # And nothing of its parts is left in S3: only the two reports' ZIPs, the joined one tagged for
    # the exports' 2-day lifecycle rule as the other
    kept = company_files(company.company_id, "exports")
    assert len(kept) == 2 and all(k.endswith(f"access-report-{ANA}.zip") for k in kept), kept
    assert [exported_tags(key) for key in kept] == [{"pregon-purpose": "exports"}] * 2


def one_export_run() -> list[dict[str, int]]:
    """One run of the export workers (one request taken from their queue)."""
    from app import app
    from infrastructure.local.queues import consumers

    [worker] = [c for c in consumers(app) if c.name == "build_history_export"]
    worker.visibility_timeout = None
    results: list[dict[str, int]] = []
    worker.poll_once(results=results)
    return results


def ana_with_a_note_and_reports_in_parts(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Ana with a note, and her reports written a step a part, each run asking for the next; the
    administrator's headers."""
    from chalicelib.records import access

    put_client(api, company, ANA, emails=[ANAS])
    write_note(api, company.staff_headers(), ANA, "Nota")
    monkeypatch.setattr(access, "RUN_SECONDS", 0.0)
    monkeypatch.setattr(access, "PART_SECONDS", 0.0)
    return company.admin_headers()


def test_a_report_in_parts_erased_between_two_runs_leaves_none_of_its_parts(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ana's report in parts, its first run done (its parts kept in S3) and the next asked for
    admin = ana_with_a_note_and_reports_in_parts(api, company, monkeypatch)
    assert ask(api, admin, ANA).status_code == 202
    assert one_export_run() == [{"done": 0, "failed": 0, "skipped": 0, "continued": 1}]
    assert any("/access-parts/" in key for key in company_files(company.company_id, "exports"))
    # When the administrator erases her (her report's item goes with her) and the next run comes
    assert body(erase(api, admin, ANA))["state"] == "done"
    assert run_export_workers() == [{"done": 0, "failed": 0, "skipped": 1}]
    # Then nothing of her report is left in S3
    assert company_files(company.company_id, "exports") == []


def test_a_run_overtaken_while_it_writes_its_part_never_writes_its_list_of_parts_over_the_newer_runs(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core import clock
    from chalicelib.records import access
    from chalicelib.store import history_exports

    # Given Ana's report in parts, its first run done (its first part kept) and the next asked for
    admin = ana_with_a_note_and_reports_in_parts(api, company, monkeypatch)
    report_id = body(ask(api, admin, ANA))["report_id"]
    assert one_export_run() == [{"done": 0, "failed": 0, "skipped": 0, "continued": 1}]
    # And that next run, about to list what it is writing, is overtaken by another run (its
    # request delivered again) that writes and keeps its own part
    put, overtaken = access._put, list[None]()

    def overtaken_first(key: str, data: bytes, **condition: str) -> str:
        if key.endswith("/written.json") and not overtaken:
            overtaken.append(None)
            newer = history_exports.take_export(company.company_id, report_id, clock.now())
            assert newer is not None and access.build_report(newer) == "continued"
        return put(key, data, **condition)

    monkeypatch.setattr(access, "_put", overtaken_first)
    # When the overtaken run goes on, and the administrator then erases Ana (her report with her)
    # and the next run comes
    assert one_export_run() == [{"done": 0, "failed": 0, "skipped": 1}]
    monkeypatch.setattr(access, "_put", put)
    assert body(erase(api, admin, ANA))["state"] == "done"
    assert run_export_workers() == [{"done": 0, "failed": 0, "skipped": 1}]
    # Then nothing of her report is left in S3: the newer run's part and progress are gone too (on
    # main the overtaken run wrote its older list of parts over the newer run's, which the last
    # run read, and they were left for the exports' 2-day rule)
    assert company_files(company.company_id, "exports") == []


def test_a_report_whose_first_part_was_never_kept_and_then_built_in_one_run_leaves_only_its_zip(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import access
    from chalicelib.store import history_exports

    # Given Ana's report, whose first run wrote its first part and was stopped before the report
    # named it (its objects in S3, the report's item not yet pointing at them)
    admin = ana_with_a_note_and_reports_in_parts(api, company, monkeypatch)
    stopped_at(monkeypatch, history_exports, "commit_part", 1)
    report_id = body(ask(api, admin, ANA))["report_id"]
    with pytest.raises(LambdaTimedOut):
        run_export_workers(visibility_timeout=0)
    assert any("/access-parts/" in key for key in company_files(company.company_id, "exports"))
    # When the request comes again and its run builds the whole report at once
    monkeypatch.setattr(access, "PART_SECONDS", 20.0)
    assert run_export_workers(visibility_timeout=0) == [{"done": 1, "failed": 0, "skipped": 0}]
    # Then its ZIP is whole, and all that is left of it in S3
    assert the_zip(api, admin, ANA, report_id).testzip() is None
    kept = company_files(company.company_id, "exports")
    assert len(kept) == 1 and kept[0].endswith(f"access-report-{ANA}.zip"), kept


def test_a_report_in_parts_is_done_when_its_item_writes_went_through_and_their_answers_were_lost(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import history_exports

    # Given Ana's report in parts, and every write of the report's item sent twice: it goes
    # through, its answer is lost (a timeout) and botocore sends it again, which then finds its
    # condition no longer holds (the progress it went on from, or the state, moved on: by itself)
    admin = ana_with_a_note_and_reports_in_parts(api, company, monkeypatch)
    written = history_exports.written

    def sent_twice(write: Any) -> bool:
        written(write)
        return written(write)

    monkeypatch.setattr(history_exports, "written", sent_twice)
    # When the administrator asks for her report and the workers run
    report_id = body(ask(api, admin, ANA))["report_id"]
    runs, _ = built_in_runs_some_stopped(stops=0)
    # Then each run went on from the last (none took its own part for another's), and the report
    # is done with its ZIP there to download
    assert [r for r in runs if not r.get("continued")] == [{"done": 1, "failed": 0, "skipped": 0}], runs
    assert the_zip(api, admin, ANA, report_id).testzip() is None


def test_a_report_in_parts_whose_every_run_is_stopped_fails_saying_so_and_leaves_none_of_its_parts(
    api: Client, company: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import access
    from tests.steps.history import run_dead_export_workers, time_out_every_delivery

    # Given Ana's report in parts, its first run done (its parts kept in S3)
    put_client(api, company, ANA, emails=[ANAS])
    monkeypatch.setattr(access, "RUN_SECONDS", 0.0)
    monkeypatch.setattr(access, "PART_SECONDS", 0.0)
    admin = company.admin_headers()
    report_id = body(ask(api, admin, ANA))["report_id"]
    assert one_export_run() == [{"done": 0, "failed": 0, "skipped": 0, "continued": 1}]
    # When every later run is stopped from outside (its time limit) until SQS gives up on it

    def stopped(*args: Any) -> int:
        raise LambdaTimedOut("stopped")

    monkeypatch.setattr(access, "_step", stopped)
    assert time_out_every_delivery() == 5
    assert run_dead_export_workers() == [{"failed": 1, "skipped": 0}]
    # Then the report failed, saying why, and nothing of it is left in S3
    assert "stopped before it finished" in body(report_of(api, admin, ANA, report_id))["error"]
    assert company_files(company.company_id, "exports") == []
