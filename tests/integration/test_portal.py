"""Seed 004, "Adjuntar documentos y publicar en a3doc cloud": staff publish a file of a client's
register to the client's document portal; the client opens it from a signed link (docs/portal.md,
decision 0035). Real DynamoDB Local, moto's S3, the SMTP server's raw bytes."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.history import add_register_record
from tests.steps.hostile_mail import company_files
from tests.steps.mail import text_of, wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import IDENTITY, Tenant, smtp_sender_account

PDF = b"%PDF-1.4\n% Declaracion de IVA de octubre\n" + bytes(range(256)) * 8


def level(tenant: Tenant, user: str, n: int) -> dict[str, str]:
    token = IDENTITY.mint(tenant.company_id, user_id=f"{user}@{tenant.company_id}", level=n, department="ops")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def a_record_with_a_file(api: Client, headers: dict[str, str], client_id: str = "CLI-1") -> str:
    """Staff note a visit in the client's register and attach the signed declaration to it."""
    record = add_register_record(api, headers, client_id, record_type="visit", subject="Firma de la DDJJ")
    rid = str(record["communication_id"])
    attached = api.http.post(
        f"/clients/{client_id}/register/{rid}/attachments",
        headers=headers,
        body=json.dumps(
            {
                "name": "ddjj.pdf",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(PDF).decode(),
            }
        ),
    )
    assert attached.status_code == 201, attached.body
    return rid


def publish(api: Client, headers: dict[str, str], client_id: str = "CLI-1", **fields: Any) -> Any:
    return api.http.post(f"/clients/{client_id}/publications", headers=headers, body=json.dumps(fields))


def portal_link_in(raw: bytes) -> str:
    """The portal link a client clicks, read from the e-mail's bytes as its mail program would."""
    message = message_from_bytes(raw, policy=policy.default)
    [link] = re.findall(r"https?://\S+/public/portal\?token=[\w.\-]+", text_of(message))
    return link


def opened(api: Client, link: str, **headers: str) -> Any:
    """The browser opens ``link`` (the app's path and query)."""
    parts = urlsplit(link)
    return api.http.get(f"{parts.path}?{parts.query}" if parts.query else parts.path, headers=headers)


def downloads(page: str) -> list[str]:
    return re.findall(r'href="(portal/files/[0-9a-f]{24}\?token=[^"]+)"', page)


def test_a_clerk_publishes_a_file_and_the_client_downloads_it_from_the_emailed_link(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a firm with a general sender account, and a client with a visit in its register
    # carrying the signed declaration
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Sur", "avisos@cargasdelsur.example")
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    staff = tenant.staff_headers()
    rid = a_record_with_a_file(api, staff)
    # And the company's categories, a default list until it changes it
    categories = body(api.http.get("/register/categories", headers=staff))["items"]
    assert ("impuestos", "Impuestos") in {(c["code"], c["name"]) for c in categories}
    # When the clerk publishes it under another name, in "Impuestos", leaving "Visible" as it comes
    answer = publish(
        api, staff, record_id=rid, attachment=0, name="DDJJ IVA octubre.pdf", categories=["impuestos"]
    )
    assert answer.status_code == 201, answer.body
    published = body(answer)
    assert (published["name"], published["categories"], published["visible"]) == (
        "DDJJ IVA octubre.pdf",
        ["impuestos"],
        True,
    )
    # Then the record's file reads "Publicado", and a second publication of it is refused
    detail = body(api.http.get(f"/clients/CLI-1/register/{rid}", headers=staff))
    assert [(a["published"], a["publication_id"]) for a in detail["attachments"]] == [
        (True, published["publication_id"])
    ]
    again = publish(api, staff, record_id=rid, attachment=0)
    assert (again.status_code, body(again)["field"]) == (409, "attachment")

    # When the clerk sends the client its access ("Enviar acceso al portal") and the e-mail goes out
    sent = api.http.post("/clients/CLI-1/portal-access", headers=staff, body=b"")
    assert sent.status_code == 202, sent.body
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw) == []
    link = portal_link_in(raw)
    # And the client opens the link from the e-mail's bytes
    page = opened(api, link, **{"Accept-Language": "es"})
    # Then a page in the company's look lists the document by its category
    assert page.status_code == 200, page.body
    html = page.body.decode() if isinstance(page.body, bytes) else page.body
    assert "Documentos de Ana Pérez" in html and "DDJJ IVA octubre.pdf" in html and "Impuestos" in html
    assert f"track/{tenant.company_id}/brand.css" in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    # And its download is a one-minute presigned link to the very bytes the clerk attached
    [download] = downloads(html)
    got = api.http.get("/public/" + download.replace("&amp;", "&"))
    assert got.status_code == 302
    [expires] = re.findall(r"[?&]Expires=(\d+)", got.headers["Location"])  # S3's own clock: the real one
    assert 0 < int(expires) - time.time() <= 61
    fetched = requests.get(got.headers["Location"], timeout=10)
    assert fetched.content == PDF
    assert "DDJJ%20IVA%20octubre.pdf" in fetched.headers["Content-Disposition"]

    # When the clerk unpublishes it
    gone = api.http.delete(f"/clients/CLI-1/publications/{published['publication_id']}", headers=staff)
    assert gone.status_code == 204
    # Then the portal no longer lists it, its link is a 404 page, its copy is deleted, the record's
    # file stays and reads "No"
    html = opened(api, link).body.decode()
    assert "DDJJ IVA octubre.pdf" not in html and "Todavía no hay documentos" in html
    refused = api.http.get("/public/" + download.replace("&amp;", "&"), headers={"Accept-Language": "es"})
    assert refused.status_code == 404 and "Este documento ya no está" in refused.body.decode()
    assert company_files(tenant.company_id, "portal") == []
    detail = body(api.http.get(f"/clients/CLI-1/register/{rid}", headers=staff))
    assert [(a["published"], a["download_url"] is not None) for a in detail["attachments"]] == [(False, True)]


def test_hidden_unpublished_another_clients_and_another_companys_documents_are_out_of_reach(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any
) -> None:
    from chalicelib.core.links import manual_unsubscribe_token
    from chalicelib.tenants.clients import portal_link

    # Given two clients, each with a file published, and a third file published hidden
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    put_client(api, tenant, "CLI-2", emails=["luis@example.com"], name="Luis Díaz")
    staff = tenant.staff_headers()
    mine = body(publish(api, staff, record_id=a_record_with_a_file(api, staff), attachment=0, name="ana.pdf"))
    theirs = body(
        publish(api, staff, "CLI-2", record_id=a_record_with_a_file(api, staff, "CLI-2"), attachment=0)
    )
    hidden = publish(
        api,
        staff,
        record_id=a_record_with_a_file(api, staff),
        attachment=0,
        name="borrador.pdf",
        visible=False,
    )
    assert hidden.status_code == 201
    link = portal_link(tenant.company_id, "CLI-1")
    token = link.split("token=")[1]
    # When Ana's link is used for her page, Luis's document, and the hidden one
    html = opened(api, link).body.decode()
    luis = api.http.get(f"/public/portal/files/{theirs['publication_id']}?token={token}")
    draft = api.http.get(f"/public/portal/files/{body(hidden)['publication_id']}?token={token}")
    # Then she sees her visible document only, and the others are the same 404
    assert "ana.pdf" in html and "borrador.pdf" not in html and len(downloads(html)) == 1
    assert (luis.status_code, draft.status_code) == (404, 404)
    own = api.http.get(f"/public/portal/files/{mine['publication_id']}?token={token}")
    assert own.status_code == 302

    # When a link is forged: its signature changed, another kind of signed link, a made-up id
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    unsubscribe = manual_unsubscribe_token(tenant.company_id, "CLI-1")
    for bad in (forged, unsubscribe, "x"):
        answer = api.http.get(f"/public/portal?token={bad}", headers={"Accept-Language": "es"})
        # Then it is refused with a page that names no company and lists nothing
        assert answer.status_code == 422, (bad, answer.status_code)
        assert "Este enlace no funciona" in answer.body.decode() and "ana.pdf" not in answer.body.decode()
    assert api.http.get(f"/public/portal/files/{'0' * 24}?token={token}").status_code == 404
    # And another company's link to a client of the same code shows that company's only
    put_client(api, other_tenant, "CLI-1", emails=["otra@example.com"], name="Otra Ana")
    other = opened(api, portal_link(other_tenant.company_id, "CLI-1")).body.decode()
    assert "Otra Ana" in other and "ana.pdf" not in other
    # And another company's staff find no publication of this company's client
    for method, path in [
        ("GET", "/clients/CLI-2/publications"),
        ("GET", f"/clients/CLI-2/publications/{theirs['publication_id']}"),
        ("DELETE", f"/clients/CLI-2/publications/{theirs['publication_id']}"),
    ]:
        assert api.http.request(method, path, headers=other_tenant.admin_headers()).status_code == 404

    # When the link is 31 days old and a day more
    clock.set_now(clock.now() + timedelta(days=32))
    late = api.http.get(f"/public/portal?token={token}", headers={"Accept-Language": "es"})
    # Then it has expired: a 410 page, in the company's look, saying to ask for a new one
    assert late.status_code == 410 and "Este enlace venció" in late.body.decode()
    assert api.http.get(f"/public/portal/files/{mine['publication_id']}?token={token}").status_code == 410


def test_a_closed_company_and_an_erased_client_show_nothing(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records.leaving import close_company, reopen_company
    from chalicelib.tenants.clients import portal_link
    from tests.steps.erasure import erase, erasure_in_the_request

    # Given a client with a published document
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    staff = tenant.staff_headers()
    published = body(publish(api, staff, record_id=a_record_with_a_file(api, staff), attachment=0))
    link = portal_link(tenant.company_id, "CLI-1")
    assert opened(api, link).status_code == 200
    # When the company is closed
    close_company(tenant.company_id, by="ops")
    # Then its portal is a 410 page
    closed = opened(api, link, **{"Accept-Language": "es"})
    assert closed.status_code == 410
    reopen_company(tenant.company_id, by="ops")
    # When the client is erased
    erasure_in_the_request(monkeypatch)
    assert erase(api, tenant.admin_headers(), "CLI-1").status_code in (200, 202)
    # Then the publication and its copy are gone, and the link finds nothing
    assert company_files(tenant.company_id, "portal") == []
    assert opened(api, link).status_code == 404
    from chalicelib.store import publications

    assert publications.get(tenant.company_id, "CLI-1", published["publication_id"]) is None
    # When the company gives the code to a new client, with a document of its own
    put_client(api, tenant, "CLI-1", emails=["otro@example.com"], name="Otro Cliente")
    assert publish(api, staff, record_id=a_record_with_a_file(api, staff), attachment=0).status_code == 201
    # Then the erased client's link does not open the new client's portal: it is a 410 page
    reused = opened(api, link, **{"Accept-Language": "es"})
    assert reused.status_code == 410 and "Otro Cliente" not in reused.body.decode()
    # And the new client's own link does
    assert "Otro Cliente" in opened(api, portal_link(tenant.company_id, "CLI-1")).body.decode()


def test_publishing_is_refused_once_the_clients_erasure_started(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import erasures
    from tests.steps.erasure import erase, erasure_in_the_request

    # Given a client with a file in its register, whose erasure started and stopped before its end
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    staff = tenant.staff_headers()
    rid = a_record_with_a_file(api, staff)

    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    monkeypatch.setattr(erasures, "communications_page", stopped)
    assert body(erase(api, tenant.admin_headers(), "CLI-1"))["state"] == "erasing"
    # When a clerk publishes the file
    answer = publish(api, staff, record_id=rid, attachment=0)
    # Then it is refused, naming the erasure, and nothing is published nor copied
    assert (answer.status_code, body(answer)["field"]) == (422, "client_id"), answer.body
    assert "being erased" in body(answer)["message"]
    assert body(api.http.get("/clients/CLI-1/publications", headers=staff))["items"] == []
    assert company_files(tenant.company_id, "portal") == []
    # And its links cannot be revoked meanwhile either (nothing to write while the client goes)
    revoke = api.http.post("/clients/CLI-1/portal-access/revoke", headers=staff, body=b"")
    assert (revoke.status_code, body(revoke)["field"]) == (422, "client_id")
    # And once the erasure ends, the record's file cannot be published at all (the record is gone)
    monkeypatch.undo()
    erasure_in_the_request(monkeypatch)
    assert body(erase(api, tenant.admin_headers(), "CLI-1"))["state"] == "done"
    assert publish(api, staff, record_id=rid, attachment=0).status_code == 404
    assert company_files(tenant.company_id, "portal") == []


def test_staff_revoke_a_clients_portal_links_and_a_new_access_email_opens_it_again(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a client with a published document, and the access e-mail it was sent (and forwarded
    # to a stranger)
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Sur", "avisos@cargasdelsur.example")
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    staff = tenant.staff_headers()
    publish(api, staff, record_id=a_record_with_a_file(api, staff), attachment=0, name="ana.pdf")
    assert api.http.post("/clients/CLI-1/portal-access", headers=staff, body=b"").status_code == 202
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(1)
    old = portal_link_in(mailbox.files()[0].read_bytes())
    [download] = downloads(opened(api, old).body.decode())
    # When another company's staff try to revoke its links
    other = api.http.post(
        "/clients/CLI-1/portal-access/revoke", headers=other_tenant.admin_headers(), body=b""
    )
    # Then there is no such client for them, and the link still opens the portal
    assert other.status_code == 404 and opened(api, old).status_code == 200
    # When a level-4 clerk revokes the client's portal links
    clerk = level(tenant, "junior", 4)
    revoked = api.http.post("/clients/CLI-1/portal-access/revoke", headers=clerk, body=b"")
    assert revoked.status_code == 200, revoked.body
    # Then the e-mailed link and its download answer 410, the expired link's page
    page = opened(api, old, **{"Accept-Language": "es"})
    assert page.status_code == 410 and "Este enlace venció" in page.body.decode()
    assert "ana.pdf" not in page.body.decode()
    assert api.http.get("/public/" + download.replace("&amp;", "&")).status_code == 410
    # And the client's register says who revoked them, as a record no one edits
    [entry] = [
        r
        for r in body(api.http.get("/clients/CLI-1/register", headers=staff))["items"]
        if r["communication_id"] == body(revoked)["record_id"]
    ]
    assert (entry["subject"], entry["created_by"]) == (
        "Acceso al portal revocado",
        f"junior@{tenant.company_id}",
    )
    assert body(revoked)["revoked_by"] == f"junior@{tenant.company_id}"
    edit = api.http.patch(
        f"/clients/CLI-1/register/{entry['communication_id']}",
        headers=staff,
        body=json.dumps({"subject": "x"}),
    )
    assert edit.status_code in (403, 409, 422), edit.status_code
    # When the clerk sends the client its access again
    resent = api.http.post("/clients/CLI-1/portal-access", headers=clerk, body=b"")
    assert resent.status_code == 202
    assert deliver_outboxes()["sent"] == 1
    mailbox.wait_for(2)
    [new] = {portal_link_in(f.read_bytes()) for f in mailbox.files()} - {old}
    # Then the new e-mail's link opens the portal, and the old one stays refused
    assert "ana.pdf" in opened(api, new).body.decode()
    assert opened(api, old).status_code == 410
    # And the clerk, whom the register's rule does not show the publication a colleague made,
    # reads the e-mail she sent in the client's register and in the history without the link's
    # token (the link would open every document the client sees); so does an administrator
    assert body(api.http.get("/clients/CLI-1/publications", headers=clerk))["items"] == []
    token = new.split("token=")[1]
    sent = body(resent)["communication_id"]
    for who, headers in (("clerk", clerk), ("administrator", tenant.admin_headers())):
        for path in (f"/clients/CLI-1/register/{sent}", f"/history/email/{sent}"):
            shown = body(api.http.get(path, headers=headers))
            for part in ("text", "html"):
                assert "/public/portal?token=[the-clients-own]" in shown[part], (who, path, part)
                assert token not in shown[part], (who, path, part)
    # And searching her history for a piece of the token finds nothing (it would tell the token a
    # character at a time), as a word of the e-mail finds it
    found = {
        q: [
            m["communication_id"] for m in body(api.http.get(f"/history/email?q={q}", headers=clerk))["items"]
        ]
        for q in (token[-12:], "documentos")
    }
    assert found == {token[-12:]: [], "documentos": [sent]}, found
    # And the register's Excel file holds the e-mail's text without it too
    from openpyxl import load_workbook

    from tests.steps.history import XLSX

    sheet = api.http.get("/clients/CLI-1/register/export", headers={**clerk, "Accept": XLSX})
    raw = sheet.body if isinstance(sheet.body, bytes) else base64.b64decode(sheet.body)
    rows: Any = load_workbook(io.BytesIO(raw)).active
    cells = [str(c) for row in rows.iter_rows(values_only=True) for c in row]
    assert any("token=[the-clients-own]" in c for c in cells) and not any(token in c for c in cells)


def test_each_level_publishes_and_sees_what_the_register_lets_it_see(api: Client, tenant: Tenant) -> None:
    # Given a record noted by a level-4 user, and one by a level-3 user
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    junior, other_junior, senior = (
        level(tenant, "junior", 4),
        level(tenant, "otro", 4),
        level(tenant, "jefa", 3),
    )
    juniors = a_record_with_a_file(api, junior)
    seniors = a_record_with_a_file(api, senior)
    # When the level-4 user publishes the senior's record's file, and then their own
    refused = publish(api, junior, record_id=seniors, attachment=0)
    own = publish(api, junior, record_id=juniors, attachment=0, categories=["facturas"])
    # Then the senior's is not found (as the register answers) and their own is published
    assert refused.status_code == 404 and own.status_code == 201, (refused.body, own.body)
    pid = body(own)["publication_id"]
    by_senior = body(publish(api, senior, record_id=seniors, attachment=0))["publication_id"]
    # And each sees the publications the register's rule lets them see
    listed = {
        who: [
            p["publication_id"] for p in body(api.http.get("/clients/CLI-1/publications", headers=h))["items"]
        ]
        for who, h in {"junior": junior, "other junior": other_junior, "senior": senior}.items()
    }
    assert listed == {"junior": [pid], "other junior": [], "senior": [by_senior, pid]}
    # And another level-4 user can neither read, change nor unpublish the junior's
    for method, payload in [("GET", None), ("PATCH", {"visible": False}), ("DELETE", None)]:
        answer = api.http.request(
            method,
            f"/clients/CLI-1/publications/{pid}",
            headers=other_junior,
            body=json.dumps(payload).encode() if payload else b"",
        )
        assert answer.status_code == 404, (method, answer.status_code)
    # And the senior hides it and files it elsewhere; a category the company lacks is refused
    changed = api.http.patch(
        f"/clients/CLI-1/publications/{pid}",
        headers=senior,
        body=json.dumps({"visible": False, "categories": ["contratos"]}),
    )
    assert (body(changed)["visible"], body(changed)["categories"]) == (False, ["contratos"])
    wrong = api.http.patch(
        f"/clients/CLI-1/publications/{pid}", headers=senior, body=json.dumps({"categories": ["yates"]})
    )
    assert (wrong.status_code, body(wrong)["field"]) == (422, "categories")
    # And the page of older ones starts after the last one listed
    first = body(api.http.get("/clients/CLI-1/publications?limit=1", headers=senior))
    second = body(
        api.http.get(f"/clients/CLI-1/publications?limit=1&cursor={first['next_cursor']}", headers=senior)
    )
    assert [p["publication_id"] for p in first["items"] + second["items"]] == [by_senior, pid]
    assert second["next_cursor"] is None


def test_reading_the_portal_is_rate_limited_per_address_bad_links_counted_too(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import portal
    from chalicelib.store.rate_limits import Limit
    from chalicelib.tenants.clients import portal_link

    # Given an allowance of 3 requests an hour from one address (300 in production)
    monkeypatch.setattr(portal, "VIEWS_PER_ADDRESS", Limit("portal-address-test", 3, 3600))
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    link = portal_link(tenant.company_id, "CLI-1")
    # When a guesser tries two made-up links, then the real one twice
    statuses = [api.http.get(f"/public/portal?token=guess{n}").status_code for n in range(2)]
    statuses += [opened(api, link).status_code for _ in range(2)]
    # Then the guesses spent the allowance: the fourth request is 429 with Retry-After
    assert statuses == [422, 422, 200, 429]
    assert int(opened(api, link).headers["Retry-After"]) > 0


def test_a_revoked_link_spends_nothing_of_the_clients_allowance(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import portal
    from chalicelib.store.rate_limits import Limit
    from chalicelib.tenants.clients import portal_link

    # Given an allowance of 2 requests an hour with one client's links (600 in production), and a
    # client whose leaked link staff revoked
    monkeypatch.setattr(portal, "VIEWS_PER_CLIENT", Limit("portal-client-test", 2, 3600))
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    leaked = portal_link(tenant.company_id, "CLI-1")
    revoked = api.http.post("/clients/CLI-1/portal-access/revoke", headers=tenant.staff_headers(), body=b"")
    assert revoked.status_code == 200, revoked.body
    # When whoever holds the leaked link opens it three times
    statuses = [opened(api, leaked).status_code for _ in range(3)]
    # Then each is the withdrawn link's 410, never a 429 of the client's allowance
    assert statuses == [410, 410, 410]
    # And the client's new link opens the portal: the revoked one spent none of its allowance
    assert opened(api, portal_link(tenant.company_id, "CLI-1")).status_code == 200


def test_any_template_prints_the_clients_portal_link(api: Client, tenant: Tenant) -> None:
    from chalicelib.messaging.templates import render_for

    # Given an invoice template the company wrote with {{ portal_link }}
    saved = api.http.put(
        "/templates/invoice",
        headers=tenant.admin_headers(),
        body=json.dumps(
            {
                "subject": "Factura {{ invoice.number }}",
                "text": "Vea sus documentos: {{ portal_link }}",
                "html": '<p><a href="{{ portal_link }}">Sus documentos</a></p>',
            }
        ),
    )
    assert saved.status_code == 200, saved.body
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    # When an invoice for the client is rendered
    _, rendered = render_for(
        tenant.company_id,
        "invoice",
        {"client": {"code": "CLI-1", "name": "Ana"}, "invoice": {"number": "A-1"}},
    )
    # Then it carries the client's portal link, which opens the client's portal
    [link] = re.findall(r"https?://\S+/public/portal\?token=\S+", rendered.text)
    assert "Documentos de Ana Pérez" in opened(api, link).body.decode()
    # When a level-4 clerk sends the client the company's access e-mail with a link of her own
    # in place of the portal's ("Sus documentos", from the company's address)
    clerk = level(tenant, "junior", 4)
    forged = api.http.post(
        "/sends",
        headers={**clerk, "Accept-Language": "es"},
        body=json.dumps(
            {
                "channel": "email",
                "template": "portal_access",
                "client_ids": ["CLI-1"],
                "variables": {"portal_link": "https://phish.example/login"},
            }
        ),
    )
    # Then it is refused, naming the variables: the link is the client's own, signed by Pregón
    assert (forged.status_code, body(forged)["field"]) == (422, "variables"), forged.body
    assert "portal_link" in body(forged)["message"] and "enlace" in body(forged)["message"]


def test_a_sent_order_and_statement_are_published_under_pedidos_and_estados_de_cuenta(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.tenants.clients import portal_link
    from tests.steps.documents import documents_key, post_document

    # Given a distributor (seed 003) whose ERP sent CLI-1 an order and a statement by e-mail
    smtp_sender_account(tenant.company_id, "all", mailbox, "Distribuidora Sur", "info@distsur.example")
    erp = documents_key(tenant)
    put_client(api, erp, "CLI-1", emails=["compras@losandes.example"], name="Ferretería Los Andes")
    line = {"code": "A-100", "description": "Tornillo", "quantity": "12", "unit_price": "1250"}
    order = post_document(
        api,
        erp,
        "/documents/orders",
        {"number": "P-1", "date": "2026-11-02", "client_id": "CLI-1", "lines": [line]},
    )
    movements = [{"date": "2026-10-05", "document": "A-0001-00000999", "amount": "500"}]
    statement = post_document(
        api,
        erp,
        "/documents/statements",
        {"client_id": "CLI-1", "as_of": "2026-10-31", "movements": movements},
    )
    assert (order.status_code, statement.status_code) == (202, 202), (order.body, statement.body)
    assert deliver_outboxes()["sent"] == 2
    staff = tenant.staff_headers()
    # Then the company's default categories have a place for them
    categories = {
        c["code"]: c["name"] for c in body(api.http.get("/register/categories", headers=staff))["items"]
    }
    assert {k: categories.get(k) for k in ("pedidos", "ordenes_compra", "estados_cuenta")} == {
        "pedidos": "Pedidos",
        "ordenes_compra": "Órdenes de compra",
        "estados_cuenta": "Estados de cuenta",
    }
    # And the register's record of each says where its PDF goes unless told (the console ticks it)
    ids = {
        kind: body(answer)["communication_id"]
        for kind, answer in (("order", order), ("statement", statement))
    }
    record = body(api.http.get(f"/clients/CLI-1/register/{ids['order']}", headers=staff))
    assert [a["portal_categories"] for a in record["attachments"]] == [["pedidos"]]
    # When the clerk publishes each without choosing categories
    published = {kind: publish(api, staff, record_id=rid, attachment=0) for kind, rid in ids.items()}
    # Then each is filed under its own: the order under "Pedidos", the statement under "Estados de cuenta"
    assert {k: (a.status_code, body(a)["categories"]) for k, a in published.items()} == {
        "order": (201, ["pedidos"]),
        "statement": (201, ["estados_cuenta"]),
    }
    # While a file of a record written by hand is filed under none, and told categories are kept
    own = publish(api, staff, record_id=a_record_with_a_file(api, staff), attachment=0)
    assert body(own)["categories"] == []
    # And the client's portal page offers both categories, and "Pedidos" lists the order alone
    link = portal_link(tenant.company_id, "CLI-1")
    html = opened(api, link + "&category=pedidos", **{"Accept-Language": "es"}).body.decode()
    assert "Pedidos" in html and "Estados de cuenta" in html
    assert "pedido_P-1.pdf" in html and "EC-CLI-1" not in html, html


def test_a_company_that_had_its_categories_gets_the_documents_ones_once(api: Client, tenant: Tenant) -> None:
    from chalicelib.core import clock
    from chalicelib.core.domain import RegisterLookup
    from chalicelib.store import register as lookups

    # Given a company whose categories were written before the documents' ones came, one of its own
    # named "Pedidos" under another code
    assert lookups.seed_once(tenant.company_id, "category")
    for code, name in (("facturas", "Facturas"), ("otros", "Otros documentos"), ("compras", "Pedidos")):
        lookups.add_lookup(RegisterLookup(tenant.company_id, "category", code, name, clock.now()), "pregon")
    staff, admin = tenant.staff_headers(), tenant.admin_headers()

    def listed() -> dict[str, str]:
        items = body(api.http.get("/register/categories", headers=staff))["items"]
        return {c["code"]: c["name"] for c in items}

    # When its list is next read
    # Then the documents' categories are added, but not a second "Pedidos"
    assert listed() == {
        "compras": "Pedidos",
        "estados_cuenta": "Estados de cuenta",
        "facturas": "Facturas",
        "ordenes_compra": "Órdenes de compra",
        "otros": "Otros documentos",
    }
    # And one the administrator deletes stays deleted
    assert api.http.delete("/register/categories/ordenes_compra", headers=admin).status_code == 204
    assert "ordenes_compra" not in listed()
