"""No lost updates when two people edit the same thing (docs/api.md, "Editing safely").

Each thing the console edits whole (a client's card, a template, a reminder concept, a supplier, a
status, an alert's settings, the SMS auto-replies, the push settings, a webhook endpoint) or in
part (a note) answers its version as an ``ETag``; an edit sent with ``If-Match`` is saved only if
that is still its version (RFC 9110 §13.1.1), else 412 and nothing written. Without ``If-Match``
(or with ``*``) the last writer wins, as the ERP and scripts that never send it expect."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.documents import documents_key
from tests.steps.notes import staff_headers, write_note
from tests.steps.tenants import Tenant

Headers = dict[str, str]


@dataclass(frozen=True)
class Edited:
    """One kind of thing people edit, as a test reaches it: ``given`` makes one and gives its path
    and the headers of two people who may edit it; ``read`` gives what a GET shows of it (its
    listing's item when it has no GET of its own) and its ETag; ``edits`` are two different
    bodies, the first person's and the second's."""

    name: str
    method: str
    given: Callable[[Client, Tenant], tuple[str, Headers, Headers]]
    read: Callable[[Client, str, Headers], tuple[str, dict[str, Any]]]
    edits: tuple[dict[str, Any], dict[str, Any]]


def _got(api: Client, path: str, headers: Headers) -> tuple[str, dict[str, Any]]:
    response = api.http.get(path, headers=headers)
    assert response.status_code == 200, response.body
    shown = body(response)
    assert response.headers["ETag"] == shown["etag"]
    return response.headers["ETag"], shown


def _listed(listing: str, key: str) -> Callable[[Client, str, Headers], tuple[str, dict[str, Any]]]:
    """Read from ``listing`` the item whose ``key`` is the path's last segment."""

    def read(api: Client, path: str, headers: Headers) -> tuple[str, dict[str, Any]]:
        response = api.http.get(listing, headers=headers)
        assert response.status_code == 200, response.body
        [item] = [i for i in body(response)["items"] if i[key] == path.rsplit("/", 1)[1]]
        return item["etag"], item

    return read


def _admins(tenant: Tenant) -> tuple[Headers, Headers]:
    return tenant.admin_headers(), staff_headers(tenant, "bea", 1, name="Bea")


def _template(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    return "/templates/invoice", *_admins(tenant)  # the shipped default: never saved yet


def _concept(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    concepts = body(api.http.get("/reminders/concepts", headers=tenant.admin_headers()))["items"]
    return f"/reminders/concepts/{concepts[0]['concept_id']}", *_admins(tenant)


def _supplier(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    erp = documents_key(tenant)
    created = api.http.put(
        "/suppliers/COMINT", headers=erp, body=json.dumps({"name": "Comint", "emails": []})
    )
    assert created.status_code == 200, created.body
    return "/suppliers/COMINT", erp, documents_key(tenant)


def _status(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    catalog = body(api.http.get("/status-catalog", headers=tenant.admin_headers()))["items"]
    return f"/status-catalog/{catalog[0]['code']}", *_admins(tenant)


def _note(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    put_client(api, tenant, "CLI-1")
    eva = staff_headers(tenant, "eva", 2, department="sales", name="Eva")
    note = write_note(api, eva, "CLI-1", "Llamó por la cotización")
    # its author edits it in two tabs: only the author may edit a note
    return f"/clients/CLI-1/notes/{note['note_id']}", eva, eva


def _client(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    put_client(api, tenant, "CLI-1", balance="1500.00")
    # a clerk's card in the console, and the company's ERP, which writes the client at any time
    return "/clients/CLI-1", tenant.staff_headers(), tenant.key_headers()


def _client_reminders(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    put_client(api, tenant, "CLI-1")
    return "/clients/CLI-1/reminders", *_admins(tenant)


def _motive(api: Client, tenant: Tenant) -> str:
    added = api.http.post(
        "/register/motives",
        headers=tenant.admin_headers(),
        body=json.dumps({"code": "RECL", "name": "Reclamo"}),
    )
    assert added.status_code == 201, added.body
    return "/register/motives/RECL"


def _mailbox(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    admin, other = _admins(tenant)
    mailbox = {"host": "127.0.0.1", "port": 10993, "encryption": "none", "username": "ana"}
    mailbox["folders"] = ["INBOX"]
    added = api.http.post("/mailboxes", headers=admin, body=json.dumps(mailbox))
    assert added.status_code == 201, added.body
    return f"/mailboxes/{body(added)['mailbox_id']}", admin, other


def _account(display_name: str) -> dict[str, Any]:
    """A sender account's settings as a PUT body (no server listens: only saved, never used)."""
    return {
        "display_name": display_name,
        "from_address": "clara@cargasdelsur.example",
        "smtp_host": "127.0.0.1",
        "smtp_port": 2525,
        "encryption": "none",
        "username": "clara",
    }


def _personal_account(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    path, (admin, other) = "/users/clara/sender-account", _admins(tenant)
    assert api.http.put(path, headers=admin, body=json.dumps(_account("Clara"))).status_code == 200
    return path, admin, other


def _webhook(api: Client, tenant: Tenant) -> tuple[str, Headers, Headers]:
    admin, other = _admins(tenant)
    endpoint = {"url": "http://127.0.0.1:9/pregon", "events": ["message.bounced"]}  # saved, never posted to
    added = api.http.post("/webhooks", headers=admin, body=json.dumps(endpoint))
    assert added.status_code == 201, added.body
    return f"/webhooks/{body(added)['endpoint_id']}", admin, other


EDITED = [
    Edited(
        "template",
        "PUT",
        _template,
        _got,
        (
            {"subject": "Factura {{ invoice.number }}", "text": "Hola A", "html": "<p>Hola A</p>"},
            {"subject": "Su factura {{ invoice.number }}", "text": "Hola B", "html": "<p>Hola B</p>"},
        ),
    ),
    Edited(
        "reminder concept",
        "PUT",
        _concept,
        _listed("/reminders/concepts", "concept_id"),
        (
            {"description": "Aviso de Ana", "days": 5, "type": "before_due"},
            {"description": "Aviso de Bea", "days": 3, "type": "before_due"},
        ),
    ),
    Edited(
        "supplier",
        "PUT",
        _supplier,
        _got,
        (
            {"name": "Comercial Internacional", "emails": ["ventas@comint.example"]},
            {"name": "Comint S.A.", "emails": ["compras@comint.example"]},
        ),
    ),
    Edited(
        "status",
        "PUT",
        _status,
        _listed("/status-catalog", "code"),
        (
            {"display_name": "En camino", "visibility": "visible", "notify": True},
            {"display_name": "Viajando", "visibility": "hidden", "notify": False},
        ),
    ),
    Edited(
        "alert settings",
        "PUT",
        lambda api, tenant: ("/alerts/tracking", *_admins(tenant)),
        _listed("/alerts", "alert_type"),
        ({"enabled": True, "frequency_minutes": 15}, {"enabled": False, "frequency_minutes": 0}),
    ),
    Edited(
        "SMS auto-replies",
        "PUT",
        lambda api, tenant: ("/sms/auto-replies", *_admins(tenant)),
        _got,
        ({"balance": {"keywords": "saldo, deuda"}}, {"balance": {"keywords": "cuenta"}}),
    ),
    Edited(
        "push settings",
        "PUT",
        lambda api, tenant: ("/push/settings", *_admins(tenant)),
        _got,
        # no SNS application to name: the two people's saves differ in who made them
        ({"fcm_application_arn": None}, {"apns_application_arn": None}),
    ),
    Edited(
        "note",
        "PATCH",
        _note,
        _got,
        (
            {"note": "Llamó: quiere la cotización en dólares"},
            {"note": "Llamó dos veces", "location": "archivo"},
        ),
    ),
    Edited(
        # the card sends back the balance it read; the ERP's balance must not be put back
        "client",
        "PUT",
        _client,
        _got,
        (
            {"name": "Transportes Norte", "emails": ["compras@norte.example"], "balance": "1500.00"},
            {"name": "Transportes Norte", "emails": ["cobranzas@norte.example"], "balance": "900.00"},
        ),
    ),
    Edited(
        "client's reminder settings",
        "PUT",
        _client_reminders,
        _got,
        (
            {"active": True, "subject": "Aviso de Ana", "send_to_contacts": True},
            {"active": False, "subject": "Aviso de Bea"},
        ),
    ),
    Edited(
        # a PATCH of some fields: the second person's form sends the fields the first one changed too
        "company settings",
        "PATCH",
        lambda api, tenant: ("/company", *_admins(tenant)),
        _got,
        (
            {"language": "en", "time_zone": "America/Argentina/Cordoba"},
            {"language": "es", "time_zone": "America/Argentina/Buenos_Aires"},
        ),
    ),
    Edited(
        "branding",
        "PATCH",
        lambda api, tenant: ("/company/branding", *_admins(tenant)),
        _got,
        (
            {"tracking_page_url": "https://ana.example/{tracking_id}"},
            {"tracking_page_url": "https://bea.example/{tracking_id}"},
        ),
    ),
    Edited(
        "document settings",
        "PATCH",
        lambda api, tenant: ("/documents/settings", *_admins(tenant)),
        _got,
        ({"statement_comment": "Pague antes del 10"}, {"statement_comment": "Pague antes del 15"}),
    ),
    Edited(
        "SMS settings",
        "PUT",
        lambda api, tenant: ("/sms/settings", *_admins(tenant)),
        _got,
        (
            {"enabled": False, "help_text": "Escriba SALDO (Ana)"},
            {"enabled": False, "help_text": "Escriba SALDO (Bea)"},
        ),
    ),
    Edited(
        "register table entry",
        "PUT",
        lambda api, tenant: (_motive(api, tenant), *_admins(tenant)),
        _listed("/register/motives", "code"),
        ({"name": "Reclamo (Ana)"}, {"name": "Reclamo (Bea)"}),
    ),
    Edited(
        "mailbox",
        "PATCH",
        _mailbox,
        _got,
        ({"folders": ["INBOX", "Clientes"]}, {"folders": ["INBOX", "Proveedores"]}),
    ),
    Edited(
        "area's sender account",
        "PUT",
        lambda api, tenant: ("/sender-accounts/tracking", *_admins(tenant)),
        _listed("/sender-accounts", "area"),
        (_account("Avisos (Ana)"), _account("Avisos (Bea)")),
    ),
    Edited(
        "personal sender account",
        "PUT",
        _personal_account,
        _got,
        (_account("Clara (Ana)"), _account("Clara (Bea)")),
    ),
    Edited(
        "webhook endpoint",
        "PUT",
        _webhook,
        _got,
        (
            {"url": "http://127.0.0.1:9/ana", "events": ["message.bounced", "message.failed"]},
            {"url": "http://127.0.0.1:9/bea", "events": ["message.delivered"], "enabled": False},
        ),
    ),
]


def _edit(
    api: Client, edited: Edited, path: str, headers: Headers, edit: dict[str, Any], **extra: str
) -> Any:
    return api.http.request(edited.method, path, headers={**headers, **extra}, body=json.dumps(edit).encode())


def _shows(shown: dict[str, Any], edit: dict[str, Any]) -> bool:
    """Whether what a GET shows holds the edit (auto-replies nest theirs one level down)."""
    return all(
        _shows(shown[name], value) if isinstance(value, dict) else shown[name] == value
        for name, value in edit.items()
    )


@pytest.mark.parametrize("edited", EDITED, ids=[e.name for e in EDITED])
def test_an_edit_based_on_what_someone_else_has_since_changed_is_refused_and_writes_nothing(
    api: Client, tenant: Tenant, edited: Edited
) -> None:
    # Given two people who opened the same thing, with the same ETag
    path, first, second = edited.given(api, tenant)
    opened, _ = edited.read(api, path, first)
    # And the first saves their edit with it
    saved = _edit(api, edited, path, first, edited.edits[0], **{"If-Match": opened})
    assert saved.status_code == 200, saved.body
    after_first, shown = edited.read(api, path, first)
    # When the second saves theirs with the ETag they opened it with
    refused = _edit(api, edited, path, second, edited.edits[1], **{"If-Match": opened})
    # Then it is refused with 412, saying what to do and naming If-Match
    assert refused.status_code == 412, refused.body
    answer = body(refused)
    assert answer["error"] == "PreconditionFailed" and answer["field"] == "If-Match"
    assert "someone else changed" in answer["message"] and "reload it" in answer["message"]
    assert "If-Match" in answer["message"]
    # And nothing was written: the thing is still the first person's edit, at the same version
    assert edited.read(api, path, first) == (after_first, shown)
    assert _shows(shown, edited.edits[0])


@pytest.mark.parametrize("edited", EDITED, ids=[e.name for e in EDITED])
def test_an_edit_with_the_current_etag_saves_and_answers_the_new_one(
    api: Client, tenant: Tenant, edited: Edited
) -> None:
    # Given one person who opened the thing
    path, first, _second = edited.given(api, tenant)
    opened, _ = edited.read(api, path, first)
    # When they save with its ETag
    saved = _edit(api, edited, path, first, edited.edits[0], **{"If-Match": opened})
    # Then it is saved, and the answer carries a new strong ETag, the one a GET now shows
    assert saved.status_code == 200, saved.body
    new = saved.headers["ETag"]
    assert new != opened and new.startswith('"') and new.endswith('"') and not new.startswith("W/")
    assert body(saved)["etag"] == new
    current, shown = edited.read(api, path, first)
    assert current == new and _shows(shown, edited.edits[0])
    # And their next save with that ETag is saved too
    again = _edit(api, edited, path, first, edited.edits[1], **{"If-Match": new})
    assert again.status_code == 200, again.body


@pytest.mark.parametrize("edited", EDITED, ids=[e.name for e in EDITED])
def test_an_edit_without_if_match_still_saves_over_whatever_is_stored(
    api: Client, tenant: Tenant, edited: Edited
) -> None:
    # Given a thing someone saved
    path, first, second = edited.given(api, tenant)
    assert _edit(api, edited, path, first, edited.edits[0]).status_code == 200
    before, _ = edited.read(api, path, first)
    # When the ERP (or a script) saves it without If-Match, or with If-Match: *
    blind = _edit(api, edited, path, second, edited.edits[1])
    starred = _edit(api, edited, path, second, edited.edits[1], **{"If-Match": "*"})
    # Then both are saved, as before ETags (the last writer wins), each at a version of its own
    assert (blind.status_code, starred.status_code) == (200, 200), (blind.body, starred.body)
    versions = [before, blind.headers["ETag"], starred.headers["ETag"]]
    assert len(set(versions)) == 3
    current, shown = edited.read(api, path, first)
    assert current == starred.headers["ETag"] and _shows(shown, edited.edits[1])


@pytest.fixture(scope="module")
def served(api: Client) -> Any:
    """The app on a real socket (Chalice's local server, a thread per request)."""
    from tests.steps.browser import served_app

    with served_app() as base:
        yield base


def _at_once(base: str, method: str, requests: list[tuple[str, Headers, dict[str, Any]]]) -> list[int]:
    """Send the requests together, each from its own thread, released at the same moment; their
    statuses, in order."""
    start = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def send(index: int, path: str, headers: Headers, edit: dict[str, Any]) -> None:
        request = urllib.request.Request(
            base + path, data=json.dumps(edit).encode(), headers=headers, method=method
        )
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                statuses[index] = answer.status
        except urllib.error.HTTPError as refused:
            statuses[index] = refused.code

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


@pytest.mark.parametrize("edited", EDITED, ids=[e.name for e in EDITED])
def test_two_people_saving_at_once_with_the_same_etag_only_one_is_saved(
    api: Client, tenant: Tenant, served: str, edited: Edited
) -> None:
    # Given two people who opened the same thing, with the same ETag
    path, first, second = edited.given(api, tenant)
    opened, _ = edited.read(api, path, first)
    # When both save at the same moment
    statuses = _at_once(
        served,
        edited.method,
        [
            (path, {**first, "If-Match": opened}, edited.edits[0]),
            (path, {**second, "If-Match": opened}, edited.edits[1]),
        ],
    )
    # Then exactly one is saved and the other refused with 412
    assert sorted(statuses) == [200, 412], statuses
    # And the thing holds the edit of the one saved, whole
    _, shown = edited.read(api, path, first)
    assert _shows(shown, edited.edits[statuses.index(200)])


def test_the_refusal_is_in_spanish_for_the_console(api: Client, tenant: Tenant) -> None:
    # Given a template two administrators opened, and the first saved
    admin, other = _admins(tenant)
    opened = api.http.get("/templates/invoice", headers=admin).headers["ETag"]
    edit = {"subject": "Factura", "text": "Hola", "html": "<p>Hola</p>"}
    first = api.http.put("/templates/invoice", headers={**admin, "If-Match": opened}, body=json.dumps(edit))
    assert first.status_code == 200, first.body
    # When the second saves with the ETag they opened it with, in Spanish
    refused = api.http.put(
        "/templates/invoice",
        headers={**other, "If-Match": opened, "Accept-Language": "es"},
        body=json.dumps(edit),
    )
    # Then the refusal says what happened and what to do, in Spanish
    assert refused.status_code == 412
    assert body(refused)["message"] == (
        "otra persona guardó cambios en esta plantilla desde que usted abrió la pantalla: vuelva a cargar "
        "para ver sus cambios y luego haga los suyos de nuevo (el If-Match que envió ya no es su ETag)"
    )


@pytest.mark.parametrize(
    ("if_match", "status"),
    [
        ('W/"0"', 412),  # a weak tag never matches an edit (strong comparison)
        ('"7", "0"', 200),  # a list matches when one of its tags does
        ('"abc"', 412),  # a tag this API never gave out
        ("0", 422),  # not an entity tag: no quotes
    ],
)
def test_if_match_is_read_as_rfc_9110_says(api: Client, tenant: Tenant, if_match: str, status: int) -> None:
    # Given a template never saved (its ETag is "0")
    assert api.http.get("/templates/invoice", headers=tenant.admin_headers()).headers["ETag"] == '"0"'
    # When an administrator saves it with this If-Match
    edit = {"subject": "Factura", "text": "Hola", "html": "<p>Hola</p>"}
    answer = api.http.put(
        "/templates/invoice", headers={**tenant.admin_headers(), "If-Match": if_match}, body=json.dumps(edit)
    )
    # Then it is saved, refused as stale, or refused as malformed naming If-Match
    assert answer.status_code == status, answer.body
    if status == 422:
        assert body(answer)["errors"][0]["field"] == "If-Match"


def test_a_template_saved_before_versions_is_at_version_0(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given a template stored before versions existed (its item has no version)
    from chalicelib.store.models import MessageTemplateModel

    MessageTemplateModel(
        tenant.company_id,
        "invoice",
        sender_area="invoices",
        subject="Factura vieja",
        text="Hola",
        html="<p>Hola</p>",
        language="es",
        updated_at=clock.now(),
        updated_by="admin",
    ).save()
    # When an administrator opens it
    opened = api.http.get("/templates/invoice", headers=tenant.admin_headers())
    # Then its ETag is "0", and a save with it is saved
    assert opened.headers["ETag"] == '"0"' and body(opened)["subject"] == "Factura vieja"
    edit = {"subject": "Factura nueva", "text": "Hola", "html": "<p>Hola</p>"}
    headers = {**tenant.admin_headers(), "If-Match": '"0"'}
    saved = api.http.put("/templates/invoice", headers=headers, body=json.dumps(edit))
    assert saved.status_code == 200 and saved.headers["ETag"] not in ('"0"', '"1"')
    # And a second save with "0" is refused
    assert api.http.put("/templates/invoice", headers=headers, body=json.dumps(edit)).status_code == 412


def test_a_run_of_the_alert_does_not_make_an_open_edit_stale(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given an administrator who opened the alert monitor
    listed = body(api.http.get("/alerts", headers=tenant.admin_headers()))["items"]
    [tracking] = [i for i in listed if i["alert_type"] == "tracking"]
    # When the tracking alert runs meanwhile (its last run changes)
    from chalicelib.producers.tracking.sweep import sweep_due_tracking_alerts

    assert tenant.company_id in [r.company_id for r in sweep_due_tracking_alerts()]
    ran = body(api.http.get("/alerts", headers=tenant.admin_headers()))["items"]
    assert [i["last_run_at"] for i in ran if i["alert_type"] == "tracking"] != [tracking["last_run_at"]]
    # Then their save with the ETag they opened it with is saved: a run is no one's edit
    headers = {**tenant.admin_headers(), "If-Match": tracking["etag"]}
    edit = {"enabled": True, "frequency_minutes": 30}
    saved = api.http.put("/alerts/tracking", headers=headers, body=json.dumps(edit))
    assert saved.status_code == 200, saved.body


def test_a_template_reset_and_saved_again_does_not_take_an_etag_read_before_the_reset(
    api: Client, tenant: Tenant
) -> None:
    # Given a template an administrator saved, and a second administrator who opened it then
    admin, other = _admins(tenant)
    first = {"subject": "Factura", "text": "Hola A", "html": "<p>Hola A</p>"}
    assert api.http.put("/templates/invoice", headers=admin, body=json.dumps(first)).status_code == 200
    opened = api.http.get("/templates/invoice", headers=other).headers["ETag"]
    # And the first resets it to the default and saves it again, as they did before
    assert api.http.delete("/templates/invoice", headers=admin).status_code == 204
    assert api.http.get("/templates/invoice", headers=admin).headers["ETag"] == '"0"'
    again = api.http.put("/templates/invoice", headers=admin, body=json.dumps(first))
    assert again.status_code == 200
    # When the second saves with the ETag they opened it with, before the reset
    stale = {"subject": "Factura de Bea", "text": "Hola B", "html": "<p>Hola B</p>"}
    refused = api.http.put(
        "/templates/invoice", headers={**other, "If-Match": opened}, body=json.dumps(stale)
    )
    # Then it is refused: the template saved again is not the one they opened, whatever its count
    assert again.headers["ETag"] != opened
    assert refused.status_code == 412, refused.body
    assert body(api.http.get("/templates/invoice", headers=admin))["subject"] == "Factura"


def test_a_register_entry_deleted_and_added_again_does_not_take_an_etag_read_before(
    api: Client, tenant: Tenant
) -> None:
    # Given a motive a second administrator opened (it was never renamed)
    admin, other = _admins(tenant)
    path = _motive(api, tenant)
    opened, _ = _listed("/register/motives", "code")(api, path, other)
    # And the first deletes it and adds the code again, for something else
    assert api.http.delete(path, headers=admin).status_code == 204
    again = api.http.post(
        "/register/motives", headers=admin, body=json.dumps({"code": "RECL", "name": "Recupero"})
    )
    assert again.status_code == 201
    # When the second renames it with the ETag they opened it with
    renamed = api.http.put(path, headers={**other, "If-Match": opened}, body=json.dumps({"name": "Reclamo!"}))
    # Then it is refused: the motive added again is not the one they opened
    assert body(again)["etag"] != opened
    assert renamed.status_code == 412, renamed.body
    assert _listed("/register/motives", "code")(api, path, admin)[1]["name"] == "Recupero"


def test_a_rename_of_a_register_entry_deleted_meanwhile_is_not_found(api: Client, tenant: Tenant) -> None:
    # Given a motive an administrator opened, and another deleted meanwhile
    admin, other = _admins(tenant)
    path = _motive(api, tenant)
    opened, _ = _listed("/register/motives", "code")(api, path, other)
    assert api.http.delete(path, headers=admin).status_code == 204
    # When they rename it with its ETag
    renamed = api.http.put(path, headers={**other, "If-Match": opened}, body=json.dumps({"name": "Reclamo!"}))
    # Then there is no such motive any more
    assert renamed.status_code == 404, renamed.body


@pytest.mark.parametrize("path", ["/sender-accounts/tracking", "/users/clara/sender-account"])
def test_a_sender_account_removed_and_set_up_again_does_not_take_an_etag_read_before(
    api: Client, tenant: Tenant, path: str
) -> None:
    # Given a sender account a second administrator opened
    admin, other = _admins(tenant)
    assert api.http.put(path, headers=admin, body=json.dumps(_account("Avisos"))).status_code == 200
    opened = api.http.put(path, headers=admin, body=json.dumps(_account("Avisos"))).headers["ETag"]
    # And the first removes it and sets it up again, as it was
    assert api.http.delete(path, headers=admin).status_code == 200
    again = api.http.put(path, headers=admin, body=json.dumps(_account("Avisos")))
    assert again.status_code == 200
    # When the second saves it with the ETag they opened it with, before the removal
    stale = api.http.put(
        path, headers={**other, "If-Match": opened}, body=json.dumps(_account("Avisos de Bea"))
    )
    # Then it is refused: the account set up again is not the one they opened
    assert again.headers["ETag"] != opened
    assert stale.status_code == 412, stale.body


LOGO_SAVES = [
    # (the settings, what another person changes there, the logo's save, where its files are kept)
    ("/company/branding", {"primary_color": "#1F4E79"}, "PUT /company/branding/logo", "brand-logos"),
    ("/company/branding", {"primary_color": "#1F4E79"}, "DELETE /company/branding/logo", "brand-logos"),
    ("/documents/settings", {"statement_comment": "Hasta el 10"}, "PUT /documents/settings/logo", "logos"),
]


@pytest.mark.parametrize(("settings", "change", "logo_save", "purpose"), LOGO_SAVES)
def test_a_logo_saved_with_an_etag_someone_else_has_since_changed_is_refused_and_keeps_nothing(
    api: Client, tenant: Tenant, settings: str, change: dict[str, Any], logo_save: str, purpose: str
) -> None:
    import base64

    from tests.steps.branding import png
    from tests.steps.hostile_mail import company_files

    method, path = logo_save.split(" ")
    logo = json.dumps({"content_base64": base64.b64encode(png()).decode()}).encode()
    ana, bea = _admins(tenant)
    # Given a logo, and the settings Ana opened with it
    assert api.http.put(path, headers=ana, body=logo).status_code == 200
    files = company_files(tenant.company_id, purpose)
    opened, _ = _got(api, settings, ana)
    # And Bea saved a change to them since
    assert api.http.patch(settings, headers=bea, body=json.dumps(change)).status_code == 200
    after_bea, shown = _got(api, settings, ana)
    # When Ana uploads (or removes) the logo with the ETag she opened them with
    refused = api.http.request(method, path, headers={**ana, "If-Match": opened}, body=logo)
    # Then it is refused with 412 naming If-Match, as every other save of them is
    assert refused.status_code == 412, refused.body
    assert body(refused)["field"] == "If-Match"
    # And nothing was written: the settings are Bea's, at her ETag, and no new file was kept
    assert _got(api, settings, ana) == (after_bea, shown)
    assert company_files(tenant.company_id, purpose) == files
    # And with the ETag Bea's save gave them, Ana's logo save is saved and answers a new one
    saved = api.http.request(method, path, headers={**ana, "If-Match": after_bea}, body=logo)
    assert saved.status_code == 200, saved.body
    assert saved.headers["ETag"] not in (opened, after_bea)


PRECONDITIONS_NOT_HELD = [
    # (a change, a precondition it cannot hold, the header the refusal names)
    ("PUT /clients/CLI-9", {"If-None-Match": '"0"'}, "If-None-Match"),  # not even where an ETag is kept
    ("POST /clients/CLI-9/erasure", {"If-Match": '"0"'}, "If-Match"),  # nor does its erasure
    ("PUT /templates/invoice", {"If-None-Match": "*"}, "If-None-Match"),  # no change evaluates it
]


@pytest.mark.parametrize(("change", "precondition", "header"), PRECONDITIONS_NOT_HELD)
def test_a_change_with_a_precondition_pregon_cannot_hold_is_refused_and_nothing_is_done(
    api: Client, tenant: Tenant, change: str, precondition: Headers, header: str
) -> None:
    method, path = change.split(" ")
    edit = {"name": "Cliente nuevo", "emails": ["nuevo@example.com"]}
    if path.startswith("/templates"):
        edit = {"subject": "Factura", "text": "Hola", "html": "<p>Hola</p>"}
    # Given a client and a template as they are
    put_client(api, tenant, "CLI-9", name="Ana Pérez")
    client_before = body(api.http.get("/clients/CLI-9", headers=tenant.admin_headers()))
    template_before = _got(api, "/templates/invoice", tenant.admin_headers())
    # When an administrator sends the change with a precondition Pregón does not hold there
    answer = api.http.request(
        method, path, headers={**tenant.admin_headers(), **precondition}, body=json.dumps(edit).encode()
    )
    # Then it is refused with 412 naming the header, instead of being done regardless (RFC 9110)
    assert answer.status_code == 412, answer.body
    assert body(answer)["error"] == "PreconditionFailed" and body(answer)["field"] == header
    # And nothing was done: the client is as it was, not erased, and the template not saved
    assert body(api.http.get("/clients/CLI-9", headers=tenant.admin_headers())) == client_before
    assert api.http.get("/clients/CLI-9/erasure", headers=tenant.admin_headers()).status_code == 404
    assert _got(api, "/templates/invoice", tenant.admin_headers()) == template_before
    # And without it (or with If-Match: *, "whatever is stored") the same change is done
    done = api.http.request(
        method, path, headers={**tenant.admin_headers(), "If-Match": "*"}, body=json.dumps(edit).encode()
    )
    assert done.status_code in (200, 202), done.body
