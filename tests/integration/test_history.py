"""H1: a channel's history is every message the outbox wrote, newest first; staff filter it, view a
message as it was sent, resend one or many, keep their own filters and export to Excel."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.history import XLSX, send_email
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant, named_user

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def history(api: Client, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = api.http.get(f"/history/email{query}", headers=headers)
    assert response.status_code == 200, response.body
    return dict(body(response))


def subjects(page: dict[str, Any]) -> list[str]:
    return [item["subject"] for item in page["items"]]


def test_history_lists_newest_first_a_page_at_a_time(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given five e-mails sent a minute apart (each delivered as it comes, as the workers do)
    for n in range(5):
        clock.set_now(START + timedelta(minutes=n))
        send_email(tenant, f"c{n}@example.com", f"Aviso {n}")
        assert deliver_outboxes()["sent"] == 1

    # When staff page through the e-mail history two at a time
    seen: list[str] = []
    query = "?limit=2"
    pages = 0
    while True:
        page = history(api, tenant.staff_headers(), query)
        seen += subjects(page)
        pages += 1
        if not page["next_cursor"]:
            break
        query = f"?limit=2&cursor={page['next_cursor']}"

    # Then every message appears once, newest first, and all were sent
    assert seen == ["Aviso 4", "Aviso 3", "Aviso 2", "Aviso 1", "Aviso 0"]
    assert pages == 3
    assert {item["status_group"] for item in history(api, tenant.staff_headers())["items"]} == {"sent"}
    # And the SMS history of this company is empty
    assert body(api.http.get("/history/sms", headers=tenant.staff_headers()))["items"] == []


def test_a_page_holding_the_last_message_says_there_is_no_next_one(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given four e-mails to client CLI-1 a minute apart
    put_client(api, tenant, "CLI-1")
    for n in range(4):
        clock.set_now(START + timedelta(minutes=n))
        send_email(tenant, f"c{n}@example.com", f"Aviso {n}", client_id="CLI-1")
    staff, admin = tenant.staff_headers(), tenant.admin_headers()

    def pages(path: str, headers: dict[str, str]) -> list[list[str]]:
        """Each page's subjects, following ``next_cursor`` to the end."""
        found: list[list[str]] = []
        cursor = ""
        while len(found) < 10:
            page = body(api.http.get(f"{path}{cursor}", headers=headers))
            found.append(subjects(page))
            if not page["next_cursor"]:
                return found
            cursor = f"&cursor={page['next_cursor']}"
        raise AssertionError("the cursor does not move on")

    # When staff page through the history, the whole or filtered, and the client's register (a staff
    # user's is filtered, an administrator's is not), two or four at a time
    # Then the page holding the oldest message answers no cursor: no empty page follows it
    halves = [["Aviso 3", "Aviso 2"], ["Aviso 1", "Aviso 0"]]
    whole = [["Aviso 3", "Aviso 2", "Aviso 1", "Aviso 0"]]
    for path in ("/history/email?", "/history/email?kind=automatic&", "/clients/CLI-1/register?"):
        for headers in (staff, admin):
            assert pages(f"{path}limit=2", headers) == halves, path
            assert pages(f"{path}limit=4", headers) == whole, path


def test_a_search_page_filled_by_the_last_message_it_read_keeps_a_cursor(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    import chalicelib.store.communications

    # Given a page reads at most 2 messages, and four e-mails a minute apart, the second newest and
    # the oldest about a "Reclamo"
    monkeypatch.setattr(chalicelib.store.communications, "_PAGE_READ", 2)
    monkeypatch.setattr(chalicelib.store.communications, "READ_PER_PAGE", 2, raising=False)
    for n, subject in enumerate(["Reclamo 0", "Aviso 1", "Reclamo 2", "Aviso 3"]):
        clock.set_now(START + timedelta(minutes=n))
        send_email(tenant, f"c{n}@example.com", subject)

    # When staff search for "reclamo" one at a time
    first = history(api, tenant.staff_headers(), "?q=reclamo&limit=1")
    assert subjects(first) == ["Reclamo 2"]

    # Then the first page, filled by the last message its reading read, still has a cursor, and
    # following it finds the older one
    assert first["next_cursor"]
    rest = history(api, tenant.staff_headers(), f"?q=reclamo&limit=1&cursor={first['next_cursor']}")
    assert subjects(rest) == ["Reclamo 0"]


def test_each_filter_and_all_combined(api: Client, tenant: Tenant, clock: Any) -> None:
    from chalicelib.store import communications

    # Given, over three days: sent, manual, failed (no account for the area) and bounced e-mails
    put_client(api, tenant, "CLI-A", emails=["ana@example.com"])
    clock.set_now(START - timedelta(days=2))
    send_email(tenant, "ana@example.com", "Factura octubre", client_id="CLI-A")
    clock.set_now(START - timedelta(days=1))
    send_email(tenant, "bruno@example.com", "Saludo manual", kind="manual")
    clock.set_now(START - timedelta(days=1) + timedelta(minutes=1))
    lost = send_email(tenant, "ana@example.com", "Sin cuenta", client_id="CLI-A", area="facturacion")
    clock.set_now(START)
    bounced = send_email(tenant, "rebota@example.com", "Rebotado")
    clock.set_now(START + timedelta(minutes=1))
    send_email(tenant, "ana@example.com", "Factura noviembre", client_id="CLI-A", kind="manual")
    deliver_outboxes()
    comm = communications.get(tenant.company_id, bounced)
    assert comm is not None
    communications.set_delivery_state(comm, "bounced", START, "550 5.1.1 user unknown")
    staff = tenant.staff_headers()

    # Then each filter selects exactly its messages
    assert subjects(history(api, staff, "?status=not_sent")) == ["Sin cuenta"]
    assert subjects(history(api, staff, "?status=bounced")) == ["Rebotado"]
    assert subjects(history(api, staff, "?status=sent")) == [
        "Factura noviembre",
        "Saludo manual",
        "Factura octubre",
    ]
    assert subjects(history(api, staff, "?kind=manual")) == ["Factura noviembre", "Saludo manual"]
    assert subjects(history(api, staff, "?client=CLI-A")) == [
        "Factura noviembre",
        "Sin cuenta",
        "Factura octubre",
    ]
    assert subjects(history(api, staff, "?q=FACTURA")) == ["Factura noviembre", "Factura octubre"]
    assert subjects(history(api, staff, "?q=rebota@example")) == ["Rebotado"]
    day_before = (START - timedelta(days=1)).date().isoformat()
    assert subjects(history(api, staff, f"?from={day_before}&to={day_before}")) == [
        "Sin cuenta",
        "Saludo manual",
    ]
    assert subjects(history(api, staff, f"?from={START.date().isoformat()}")) == [
        "Factura noviembre",
        "Rebotado",
    ]
    # And combined: sent, manual, client A, since two days ago, containing "factura"
    since = (START - timedelta(days=2)).date().isoformat()
    combined = f"?status=sent&kind=manual&client=CLI-A&from={since}&q=factura"
    assert subjects(history(api, staff, combined)) == ["Factura noviembre"]
    # And the message that never left says why
    detail = body(api.http.get(f"/history/email/{lost}", headers=staff))
    assert detail["state"] == "failed" and "facturacion" in detail["error"]


def test_bad_filters_are_refused_naming_the_field(api: Client, tenant: Tenant) -> None:
    staff = tenant.staff_headers()
    for query, field in [
        ("?status=lost", "status"),
        ("?kind=robot", "kind"),
        ("?from=yesterday", "from"),
        ("?from=2026-11-02&to=2026-11-01", "to"),
        ("?to=2026-11-01T10:00:00", "to"),
        ("?limit=0", "limit"),
        ("?cursor=%%%", "cursor"),
        ("?filter=nope", "filter"),
    ]:
        response = api.http.get(f"/history/email{query}", headers=staff)
        assert response.status_code == 422, query
        assert body(response)["field"] == field, query
    assert api.http.get("/history/fax", headers=staff).status_code == 404
    # The company's systems (API key) do not read the history: it is for staff
    assert api.http.get("/history/email", headers=tenant.key_headers()).status_code == 403


def test_a_message_is_shown_exactly_as_sent_with_a_download_link(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.core.files import put_file

    # Given an e-mail sent with a PDF attached
    pdf = b"%PDF-1.4 factura 0001"
    ref = put_file(tenant.company_id, "messages", "factura-0001.pdf", "application/pdf", pdf)
    sent = send_email(tenant, "ana@example.com", "Su factura", attachments=(ref,))
    deliver_outboxes()
    [mail] = mailbox.wait_for(1)

    # When staff open it from the history
    response = api.http.get(f"/history/email/{sent}", headers=tenant.staff_headers())

    # Then they see the subject, text, HTML, headers and delivery as the recipient got them
    assert response.status_code == 200, response.body
    message = body(response)
    assert message["subject"] == mail["Subject"] == "Su factura"
    assert message["text"] == "Texto de Su factura"
    assert message["html"] == "<p>Texto de Su factura</p>"
    assert message["state"] == "sent" and message["attempts"] == 1 and message["error"] is None
    assert message["provider_message_id"]
    assert message["rfc_message_id"] == mail["Message-ID"]
    assert message["headers"]["References"] == mail["References"]
    assert message["from_address"] == "avisos@cargasdelsur.example"
    # And the attachment downloads through a short-lived link
    [attachment] = message["attachments"]
    assert attachment["name"] == "factura-0001.pdf" and attachment["size"] == len(pdf)
    assert "Expires=" in attachment["download_url"] or "X-Amz-Expires=" in attachment["download_url"]
    assert requests.get(attachment["download_url"], timeout=10).content == pdf


def test_resending_three_selected_messages_delivers_three_new_linked_messages(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given four e-mails sent and received
    originals = []
    for n in range(4):
        clock.set_now(START + timedelta(minutes=n))
        originals.append(send_email(tenant, f"c{n}@example.com", f"Aviso {n}"))
    deliver_outboxes()
    mailbox.wait_for(4)
    mailbox.clear()

    # And the clerk is "Clara Ruiz" in the staff directory
    named_user(tenant.company_id, f"clerk@{tenant.company_id}", "Clara Ruiz")
    # When staff select three of them and resend them
    clock.set_now(START + timedelta(hours=1))
    chosen = originals[:3]
    response = api.http.post(
        "/history/resend", headers=tenant.staff_headers(), body=json.dumps({"ids": chosen})
    )
    assert response.status_code == 202, response.body
    resends = body(response)["items"]
    assert sorted(item["resend_of"] for item in resends) == sorted(chosen)
    assert deliver_outboxes()["sent"] == 3

    # Then three new e-mails arrive, with the same subject and text, at the same recipients
    received = mailbox.wait_for(3)
    assert len(received) == 3
    assert sorted((m["To"], m["Subject"]) for m in received) == [
        (f"c{n}@example.com", f"Aviso {n}") for n in range(3)
    ]
    for mail in received:
        plain = mail.get_body(("plain",))
        assert plain is not None
        assert plain.get_content().strip() == mail["Subject"].replace("Aviso", "Texto de Aviso")
    # And the history has three new manual entries, each linked to its original, both ways
    page = history(api, tenant.staff_headers())
    assert len(page["items"]) == 7
    new = [item for item in page["items"] if item["resend_of"]]
    assert sorted(item["resend_of"] for item in new) == sorted(chosen)
    assert {item["kind"] for item in new} == {"manual"}
    assert {item["created_by"] for item in new} == {f"clerk@{tenant.company_id}"}
    # And by the clerk's name, not only the user id, in the answer, the list and each message
    assert {item["created_by_name"] for item in [*resends, *new]} == {"Clara Ruiz"}
    one = body(api.http.get(f"/history/email/{new[0]['communication_id']}", headers=tenant.staff_headers()))
    assert one["created_by_name"] == "Clara Ruiz"
    assert {item["state"] for item in new} == {"sent"}
    for item in new:
        original = body(api.http.get(f"/history/email/{item['resend_of']}", headers=tenant.staff_headers()))
        assert original["resent_as"] == [item["communication_id"]]
    # And a resend is a new Message-ID, not a copy of the original's
    ids = {m["Message-ID"] for m in received}
    assert len(ids) == 3


def test_resend_refuses_unknown_ids_naming_the_one(api: Client, tenant: Tenant) -> None:
    sent = send_email(tenant, "ana@example.com", "Aviso")
    response = api.http.post(
        "/history/resend", headers=tenant.staff_headers(), body=json.dumps({"ids": [sent, "nope"]})
    )
    assert response.status_code == 404
    assert body(response)["field"] == "ids[1]"
    # Nothing was half-written: the history still holds only the original
    assert len(history(api, tenant.staff_headers())["items"]) == 1
    empty = api.http.post("/history/resend", headers=tenant.staff_headers(), body=json.dumps({"ids": []}))
    assert empty.status_code == 422 and body(empty)["field"] == "ids"


def sent_sms(tenant: Tenant, client_id: str, phone: str, text: str) -> str:
    """One SMS to a client queued through the real outbox (as a manual send writes it)."""
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    [comm] = enqueue(
        tenant.company_id,
        [OutgoingMessage(channel="sms", to_address=phone, text=text, client_id=client_id, kind="manual")],
    )
    return comm.communication_id


def test_resending_sms_to_more_than_one_client_needs_the_bulk_password(
    api: Client, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    # Given SMS on with a bulk-send password, and an SMS sent to each of two clients and two to a third
    admin = tenant.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    password = "masivos-2026-seguro"
    saved = api.http.put("/sms/bulk-password", headers=admin, body=json.dumps({"password": password}))
    assert saved.status_code == 204
    ana = sent_sms(tenant, "CLI-A", "+5491159876543", "Corte el lunes")
    beto = sent_sms(tenant, "CLI-B", "+5493515551234", "Corte el lunes")
    carla = [sent_sms(tenant, "CLI-C", "+5493415551234", f"Aviso {n}") for n in (1, 2)]
    deliver_outboxes()
    staff = tenant.staff_headers()

    def resend(ids: list[str], **fields: str) -> Any:
        return api.http.post("/history/resend", headers=staff, body=json.dumps({"ids": ids} | fields))

    # When staff resend the two clients' SMS at once without the password, or with a wrong one
    missing = resend([ana, beto])
    wrong = resend([ana, beto], bulk_password="adivinando")
    # Then both are refused naming the password, and nothing is queued
    for refused in (missing, wrong):
        assert refused.status_code == 403, refused.body
        assert body(refused)["field"] == "bulk_password"
    assert len(body(api.http.get("/history/sms", headers=staff))["items"]) == 4
    # When they give the right one, both are resent
    right = resend([ana, beto], bulk_password=password)
    assert right.status_code == 202, right.body
    assert sorted(item["resend_of"] for item in body(right)["items"]) == sorted([ana, beto])
    # And resending one client's SMS, or two SMS of one client, needs no password
    assert resend([ana]).status_code == 202
    assert resend(carla).status_code == 202
    # And a bulk resend of e-mails is not an SMS send: no password
    mails = [send_email(tenant, f"c{n}@example.com", f"Aviso {n}") for n in (1, 2)]
    assert resend(mails).status_code == 202


def test_the_sms_history_finds_a_manual_sms_by_its_clients_name_or_code(api: Client, tenant: Tenant) -> None:
    # Given SMS on, and staff sent an SMS by hand to Ana Pérez (client CLI-9) and an e-mail to Bruno
    admin = tenant.admin_headers()
    assert api.http.put("/sms/settings", headers=admin, body=json.dumps({"enabled": True})).status_code == 200
    notice = {"subject": "Aviso", "text": "Mañana hay corte programado.", "html": "<p>Corte</p>"}
    assert api.http.put("/templates/custom:corte", headers=admin, body=json.dumps(notice)).status_code == 200
    put_client(api, tenant, "CLI-9", name="Ana Pérez", phones=["011 15 5987-6543"])
    put_client(api, tenant, "CLI-10", name="Bruno Díaz", phones=["(0351) 15 555-1234"])
    for client_id in ("CLI-9", "CLI-10"):
        data = {"channel": "sms", "template": "custom:corte", "client_ids": [client_id]}
        sent = api.http.post("/sends", headers=tenant.staff_headers(), body=json.dumps(data))
        assert sent.status_code == 201, sent.body
    deliver_outboxes()
    # When staff search the SMS history for her name, part of it, or her client code
    for q in ("Ana Pérez", "pérez", "cli-9"):
        found = body(api.http.get(f"/history/sms?q={quote(q)}", headers=tenant.staff_headers()))["items"]
        # Then they find her SMS, and only hers
        assert [(item["client_id"], item["to_address"]) for item in found] == [("CLI-9", "+5491159876543")], q


def test_saved_filters_belong_to_their_user_only(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given manual and automatic e-mails
    send_email(tenant, "a@example.com", "Manual uno", kind="manual")
    send_email(tenant, "b@example.com", "Automático")
    deliver_outboxes()
    clerk = tenant.staff_headers()
    colleague = {
        "Authorization": "Bearer "
        + IDENTITY.mint(tenant.company_id, user_id=f"otra@{tenant.company_id}", level=3, department="ops"),
        "Content-Type": "application/json",
    }

    # When the clerk saves "manual only" in their filters
    response = api.http.post(
        "/history/filters",
        headers=clerk,
        body=json.dumps({"name": "Solo manuales", "criteria": {"kind": "manual"}}),
    )
    assert response.status_code == 201, response.body
    saved = body(response)

    # Then the clerk lists it and applies it
    assert [f["name"] for f in body(api.http.get("/history/filters", headers=clerk))["items"]] == [
        "Solo manuales"
    ]
    assert subjects(history(api, clerk, f"?filter={saved['filter_id']}")) == ["Manual uno"]
    # And a colleague of the same company neither sees, applies nor deletes it
    assert body(api.http.get("/history/filters", headers=colleague))["items"] == []
    applied = api.http.get(f"/history/email?filter={saved['filter_id']}", headers=colleague)
    assert applied.status_code == 422 and body(applied)["field"] == "filter"
    assert api.http.delete(f"/history/filters/{saved['filter_id']}", headers=colleague).status_code == 404
    assert len(body(api.http.get("/history/filters", headers=clerk))["items"]) == 1
    # And a filter with a bad criterion is refused, naming it
    bad = api.http.post(
        "/history/filters", headers=clerk, body=json.dumps({"name": "Mal", "criteria": {"status": "lost"}})
    )
    assert bad.status_code == 422 and body(bad)["field"] == "status"
    # And the clerk deletes their own
    assert api.http.delete(f"/history/filters/{saved['filter_id']}", headers=clerk).status_code == 204
    assert body(api.http.get("/history/filters", headers=clerk))["items"] == []


def test_a_filter_saved_from_one_history_is_listed_in_that_history_only(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given a manual and an automatic e-mail
    send_email(tenant, "a@example.com", "Manual uno", kind="manual")
    send_email(tenant, "b@example.com", "Automático")
    deliver_outboxes()
    clerk = tenant.staff_headers()

    def save(name: str, **extra: Any) -> dict[str, Any]:
        answer = api.http.post(
            "/history/filters",
            headers=clerk,
            body=json.dumps({"name": name, "criteria": {"kind": "manual"}, **extra}),
        )
        assert answer.status_code == 201, answer.body
        return dict(body(answer))

    def listed(query: str = "") -> list[tuple[str, str | None]]:
        answer = api.http.get(f"/history/filters{query}", headers=clerk)
        assert answer.status_code == 200, answer.body
        return sorted((f["name"], f["channel"]) for f in body(answer)["items"])

    # When the clerk saves one filter from the SMS history, one from the e-mail history and one
    # without a channel (as every filter was saved before)
    sms = save("SMS manuales", channel="sms")
    save("Correos manuales", channel="email")
    save("Manuales de todo")

    # Then each history lists its own filters and the one without a channel
    assert listed("?channel=sms") == [("Manuales de todo", None), ("SMS manuales", "sms")]
    assert listed("?channel=email") == [("Correos manuales", "email"), ("Manuales de todo", None)]
    assert listed("?channel=push") == [("Manuales de todo", None)]
    # And without a channel the clerk still lists all of them, as before
    assert listed() == [("Correos manuales", "email"), ("Manuales de todo", None), ("SMS manuales", "sms")]
    # And the SMS filter applied on the e-mail history still selects what it says
    assert subjects(history(api, clerk, f"?filter={sms['filter_id']}")) == ["Manual uno"]
    # And a channel that is not a history is refused, naming `channel`, in the caller's language
    refused = api.http.get("/history/filters?channel=fax", headers={**clerk, "Accept-Language": "es"})
    assert refused.status_code == 422 and body(refused)["field"] == "channel"
    assert body(refused)["message"] == "channel: debe ser uno de: email, sms, push"
    empty = api.http.get("/history/filters?channel=", headers=clerk)  # the contract's enum has no ""
    assert empty.status_code == 422 and body(empty)["field"] == "channel", empty.body
    bad = api.http.post(
        "/history/filters", headers=clerk, body=json.dumps({"name": "Fax", "criteria": {}, "channel": "fax"})
    )
    assert bad.status_code == 422 and body(bad)["field"] == "channel"
    assert len(listed()) == 3


def test_a_level_4_user_sees_only_the_messages_they_sent(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given an automatic alert, a clerk's manual e-mail and a level-4 user's manual e-mail
    junior_id = f"junior@{tenant.company_id}"
    junior = {
        "Authorization": "Bearer "
        + IDENTITY.mint(tenant.company_id, user_id=junior_id, level=4, department="ops"),
        "Content-Type": "application/json",
    }
    automatic = send_email(tenant, "a@example.com", "Alerta automática")
    send_email(
        tenant, "b@example.com", "Del empleado", kind="manual", created_by=f"clerk@{tenant.company_id}"
    )
    clock.set_now(START + timedelta(minutes=1))
    send_email(tenant, "c@example.com", "Del junior", kind="manual", created_by=junior_id)
    deliver_outboxes()

    # Then the level-4 user's history holds only their own message
    assert subjects(history(api, junior)) == ["Del junior"]
    assert subjects(history(api, junior, "?status=sent")) == ["Del junior"]
    # And others' messages are not found for them, neither to view nor to resend
    assert api.http.get(f"/history/email/{automatic}", headers=junior).status_code == 404
    resend = api.http.post("/history/resend", headers=junior, body=json.dumps({"ids": [automatic]}))
    assert resend.status_code == 404
    # While a level-3 clerk sees all three
    assert len(history(api, tenant.staff_headers())["items"]) == 3


def test_the_excel_export_holds_exactly_the_filtered_rows(api: Client, tenant: Tenant, clock: Any) -> None:
    from openpyxl import load_workbook

    # Given three manual e-mails (one with a formula-looking subject) and two automatic ones
    for n in range(5):
        clock.set_now(START + timedelta(minutes=n))
        subject = '=HYPERLINK("http://evil")' if n == 4 else f"Mensaje {n}"
        send_email(tenant, f"c{n}@example.com", subject, kind="manual" if n % 2 == 0 else "automatic")
    deliver_outboxes()

    # When staff export the manual ones
    response = api.http.get(
        "/history/email/export?kind=manual",
        headers={**tenant.staff_headers(), "Accept": XLSX},
    )

    # Then the .xlsx holds a header and exactly those three rows, newest first
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == XLSX
    sheet: Any = load_workbook(io.BytesIO(response.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    subject_col = header.index("Asunto")
    assert [row[subject_col] for row in data] == ['=HYPERLINK("http://evil")', "Mensaje 2", "Mensaje 0"]
    assert {row[header.index("Tipo")] for row in data} == {"Manual"}
    # And the formula-looking subject is kept as text, not a formula
    assert sheet.cell(row=2, column=subject_col + 1).data_type == "s"


def test_an_english_speaking_company_exports_its_history_in_english(api: Client, tenant: Tenant) -> None:
    from openpyxl import load_workbook

    # Given a company whose staff read English, and a manual e-mail sent
    patched = api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps({"language": "en"}))
    assert patched.status_code == 200, patched.body
    send_email(tenant, "c0@example.com", "Statement", kind="manual")
    deliver_outboxes()
    # When staff export the history
    response = api.http.get("/history/email/export", headers={**tenant.staff_headers(), "Accept": XLSX})
    # Then its sheet, headers and codes are in English
    sheet: Any = load_workbook(io.BytesIO(response.body)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "email history"
    assert (header[1], header[header.index("Subject")], row[header.index("Type")]) == (
        "Created (UTC)",
        "Subject",
        "manual",
    )


def test_the_excel_export_is_a_download_no_browser_sniffs(api: Client, tenant: Tenant) -> None:
    # Given a sent e-mail whose subject a browser sniffing the file could take for markup
    send_email(tenant, "c0@example.com", "<html><script>alert(1)</script>")
    deliver_outboxes()

    # When staff export the history
    response = api.http.get("/history/email/export", headers={**tenant.staff_headers(), "Accept": XLSX})

    # Then it is saved as a file, of its own type only: the browser is told not to guess another
    assert response.status_code == 200, response.body
    assert response.headers["Content-Disposition"] == 'attachment; filename="history-email.xlsx"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_an_export_over_the_cap_is_refused(api: Client, tenant: Tenant, monkeypatch: Any) -> None:
    import chalicelib.records.exports

    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_ROWS", 2)
    for n in range(3):
        send_email(tenant, f"c{n}@example.com", f"Mensaje {n}")
    response = api.http.get("/history/email/export", headers=tenant.staff_headers())
    assert response.status_code == 422
    assert "at most 2 rows" in body(response)["message"]
    narrowed = api.http.get(
        "/history/email/export?q=mensaje%202", headers={**tenant.staff_headers(), "Accept": XLSX}
    )
    assert narrowed.status_code == 200


def test_a_page_of_a_search_reads_a_bounded_part_of_the_history(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    import chalicelib.store.communications

    # Given a page reads at most 2 messages (a year's history: 1,000 of a million), and six
    # e-mails a minute apart, the oldest the only one with "rara" in it and to client CLI-R
    monkeypatch.setattr(chalicelib.store.communications, "_PAGE_READ", 2)
    monkeypatch.setattr(chalicelib.store.communications, "READ_PER_PAGE", 2, raising=False)
    put_client(api, tenant, "CLI-R", emails=["rara@example.com"])
    for n in range(6):
        clock.set_now(START + timedelta(minutes=n))
        if n == 0:
            send_email(tenant, "rara@example.com", "Factura rara", client_id="CLI-R")
        else:
            send_email(tenant, f"c{n}@example.com", f"Aviso {n}")

    for criterion in ("q=rara", "client=CLI-R"):
        # When staff search the history, and follow its cursor
        first = history(api, tenant.staff_headers(), f"?{criterion}")
        found, page, pages = subjects(first), first, 1
        while page["next_cursor"]:
            page = history(api, tenant.staff_headers(), f"?{criterion}&cursor={page['next_cursor']}")
            found += subjects(page)
            pages += 1

        # Then the first page answers after reading its share, empty, with a cursor to search on
        assert first["items"] == [] and first["next_cursor"], criterion
        # And following it finds the one message, once
        assert found == ["Factura rara"], criterion
        assert pages >= 3, criterion


def test_an_export_that_would_search_too_much_is_refused(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    import chalicelib.records.exports
    import chalicelib.store.communications

    # Given an export may search at most 4 messages, and 6 e-mails one of which says "rara"
    monkeypatch.setattr(chalicelib.store.communications, "_PAGE_READ", 2)
    monkeypatch.setattr(chalicelib.store.communications, "READ_PER_PAGE", 2, raising=False)
    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_READ", 4, raising=False)
    for n in range(6):
        send_email(tenant, f"c{n}@example.com", "Factura rara" if n == 0 else f"Aviso {n}")

    # When staff export the search
    response = api.http.get(
        "/history/email/export?q=rara", headers={**tenant.staff_headers(), "Accept": XLSX}
    )

    # Then it is refused naming the limit and what to narrow, not answered late or cut short
    assert response.status_code == 422, response.status_code
    assert body(response)["message"] == "from: an export searches at most 4 messages: narrow the dates"


def test_another_company_sees_nothing(api: Client, tenant: Tenant, other_tenant: Tenant) -> None:
    sent = send_email(tenant, "ana@example.com", "Privado")
    deliver_outboxes()
    other = other_tenant.admin_headers()
    assert api.http.get(f"/history/email/{sent}", headers=other).status_code == 404
    assert body(api.http.get("/history/email", headers=other))["items"] == []
    assert (
        api.http.post("/history/resend", headers=other, body=json.dumps({"ids": [sent]})).status_code == 404
    )
