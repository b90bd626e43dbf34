"""A client's phone, address and search items are always the client as stored: a save that is
refused or loses its race leaves none pointing at what it did not save, an update or a removal no
longer finds the client by what it lost, and ``If-None-Match: *`` creates a client without ever
replacing one (docs/decisions/0016-edit-versions.md, 0020-finding-a-client.md). Real DynamoDB Local."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.clients import client_answer, put_client, saved_meanwhile
from tests.steps.tenants import Tenant

ANA = {"name": "Ana Pérez", "emails": ["ana@example.com"], "phones": ["+5491159876543"]}
NEW = {
    "name": "Ana Pérez de Gómez",
    "emails": ["ana.gomez@example.com"],
    "phones": ["+5491144445555"],
    "contacts": [
        {
            "contact_id": "c1",
            "first_name": "Luis",
            "last_name": "Gómez",
            "email": "luis@example.com",
            "phone": "+5493515551234",
        }
    ],
}


def finds(tenant: Tenant, *, phone: str | None = None, address: str | None = None) -> list[str]:
    """The clients the inbound SMS (by phone) or e-mail (by address) indexes name."""
    from chalicelib.store.clients import clients_by_address, clients_by_phone

    if phone is not None:
        return [o.client_id for o in clients_by_phone(tenant.company_id, phone)]
    return [o.client_id for o in clients_by_address(tenant.company_id, str(address))]


def searched(api: Client, tenant: Tenant, q: str) -> list[str]:
    from urllib.parse import quote

    answer = api.http.get(f"/clients?q={quote(q)}", headers=tenant.staff_headers())
    assert answer.status_code == 200, answer.body
    return [c["client_id"] for c in body(answer)["items"]]


def nothing_of_new_points_at(api: Client, tenant: Tenant) -> None:
    assert finds(tenant, phone="+5491144445555") == []
    assert finds(tenant, phone="+5493515551234") == []
    assert finds(tenant, address="ana.gomez@example.com") == []
    assert finds(tenant, address="luis@example.com") == []
    assert searched(api, tenant, "+5491144445555") == []
    assert searched(api, tenant, "luis@example.com") == []


def ana_is_found_as_she_is(api: Client, tenant: Tenant) -> None:
    assert finds(tenant, phone="+5491159876543") == ["CLI-1"]
    assert finds(tenant, address="ana@example.com") == ["CLI-1"]
    assert searched(api, tenant, "ana@example.com") == ["CLI-1"]


def test_a_save_that_loses_every_race_leaves_no_index_pointing_at_what_it_did_not_save(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Ana, with her phone and e-mail
    put_client(api, tenant, "CLI-1", **ANA)
    # And the company's system saving her again just before each try of the next save
    made = saved_meanwhile(monkeypatch, tenant, "CLI-1", 3, **ANA)
    # When another save gives her new phones, e-mails and a contact, and loses all three tries
    answer = client_answer(api, tenant, "CLI-1", NEW)
    # Then it is refused (409) and she is as the company's system saved her
    assert answer.status_code == 409, answer.body
    assert len(made) == 3
    assert body(api.http.get("/clients/CLI-1", headers=tenant.staff_headers()))["name"] == "Ana Pérez"
    # And no phone, address or search item points at what was not saved
    nothing_of_new_points_at(api, tenant)
    ana_is_found_as_she_is(api, tenant)
    # When a clerk's card, opened now, is saved with its ETag after the system saved her once more
    monkeypatch.undo()
    opened = api.http.get("/clients/CLI-1", headers=tenant.staff_headers()).headers["ETag"]
    saved_meanwhile(monkeypatch, tenant, "CLI-1", 1, **ANA)
    answer = api.http.put(
        "/clients/CLI-1", headers={**tenant.staff_headers(), "If-Match": opened}, body=json.dumps(NEW)
    )
    # Then it is refused (412) and, again, no index item points at what the card held
    assert answer.status_code == 412, answer.body
    nothing_of_new_points_at(api, tenant)
    ana_is_found_as_she_is(api, tenant)


def test_if_none_match_creates_a_client_and_never_replaces_one(api: Client, tenant: Tenant) -> None:
    create = {**tenant.staff_headers(), "If-None-Match": "*", "Accept-Language": "es"}
    # Given Ana, pushed by the company's system
    put_client(api, tenant, "CLI-1", **ANA)
    before = body(api.http.get("/clients/CLI-1", headers=tenant.staff_headers()))
    # When a clerk adds a client under her code, create-only
    answer = api.http.put("/clients/CLI-1", headers=create, body=json.dumps(NEW))
    # Then it is refused with 412 naming If-None-Match, in Spanish, and nothing is written
    assert answer.status_code == 412, answer.body
    assert body(answer)["field"] == "If-None-Match"
    assert body(answer)["message"].startswith("ya hay un cliente 'CLI-1'")
    assert body(api.http.get("/clients/CLI-1", headers=tenant.staff_headers())) == before
    nothing_of_new_points_at(api, tenant)
    # When the clerk uses a code no client has
    answer = api.http.put("/clients/CLI-2", headers=create, body=json.dumps(NEW))
    # Then the client is created, at a version of its own, and found by what it has
    assert answer.status_code == 200, answer.body
    assert body(answer)["name"] == "Ana Pérez de Gómez" and answer.headers["ETag"] == body(answer)["etag"]
    assert finds(tenant, phone="+5493515551234") == ["CLI-2"]
    assert searched(api, tenant, "gomez") == ["CLI-2"]
    # And doing it again (a double click, a retry) is refused, the client kept as created
    again = api.http.put("/clients/CLI-2", headers=create, body=json.dumps({"name": "Otro"}))
    assert again.status_code == 412, again.body
    assert (
        body(api.http.get("/clients/CLI-2", headers=tenant.staff_headers()))["name"] == "Ana Pérez de Gómez"
    )
    # And create-only takes only "*": a tag there is still a precondition no change evaluates
    tagged = api.http.put("/clients/CLI-3", headers={**create, "If-None-Match": '"0"'}, body=json.dumps(NEW))
    assert tagged.status_code == 412 and body(tagged)["field"] == "If-None-Match"
    assert api.http.get("/clients/CLI-3", headers=tenant.staff_headers()).status_code == 404


def many_contacts(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": f"{prefix}{n}",
            "first_name": "Persona",
            "last_name": f"{prefix}{n}",
            "email": f"{prefix}{n}@example.com",
            "phone": f"+54911{(4000_0000 if prefix == 'a' else 4100_0000) + n}",
        }
        for n in range(count)
    ]


def test_a_client_whose_items_do_not_fit_one_transaction_is_indexed_after_it_and_repaired_if_cut(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import clients as store
    from chalicelib.store.models import ClientModel

    # Given a client with 40 contacts, each with a phone and an e-mail (80 items and its search
    # items: more than one transaction holds)
    put_client(api, tenant, "CLI-1", name="Ana Pérez", contacts=many_contacts(40, "a"))
    # Then every number and address finds it, and it is not marked as half-written
    assert finds(tenant, phone="+5491140000039") == ["CLI-1"]
    assert finds(tenant, address="a39@example.com") == ["CLI-1"]
    assert ClientModel.get(tenant.company_id, "CLI-1").index_pending is None
    # When a save replaces every contact and is cut right after its transaction (a crash)
    monkeypatch.setattr(store, "_index_after", lambda *args: False)
    put_client(api, tenant, "CLI-1", name="Ana Pérez", contacts=many_contacts(40, "b"))
    # Then the client says its items are pending
    assert ClientModel.get(tenant.company_id, "CLI-1").index_pending
    monkeypatch.undo()
    # And the search backfill, the repair, deletes the old items and writes the new ones
    from infrastructure import ops

    assert ops.main(["--target", "env", "clients", "index-search", tenant.company_id]) == 0
    assert finds(tenant, phone="+5491140000039") == []
    assert finds(tenant, address="a39@example.com") == []
    assert finds(tenant, phone="+5491141000001") == ["CLI-1"]  # b1's
    assert finds(tenant, address="b39@example.com") == ["CLI-1"]
    assert ClientModel.get(tenant.company_id, "CLI-1").index_pending is None
    # And a save that is not cut removes what it dropped at once: only one contact is kept
    put_client(api, tenant, "CLI-1", name="Ana Pérez", contacts=many_contacts(1, "b"))
    assert finds(tenant, address="b1@example.com") == []
    assert finds(tenant, phone="+5491141000000") == ["CLI-1"]
    assert finds(tenant, phone="+5491141000001") == []


def test_erasing_a_client_whose_save_was_cut_leaves_no_phone_or_address_pointing_at_its_code(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import clients as store
    from chalicelib.store import erasures
    from chalicelib.store.models import ClientModel
    from infrastructure import ops
    from tests.steps.erasure import erase, erasure_ended, erasure_in_the_request
    from tests.steps.sms import free_inbound_number, receive_sms

    number = free_inbound_number(assigned_to=tenant.company_id)
    sms = {"enabled": True, "provider": "sns", "inbound_number": number}
    assert (
        api.http.put("/sms/settings", headers=tenant.admin_headers(), body=json.dumps(sms)).status_code == 200
    )
    # Given a client with 30 contacts, each with a phone and an e-mail
    put_client(api, tenant, "CLI-1", name="Ana Pérez", contacts=many_contacts(30, "a"))

    # And a save that replaced every contact was cut right after its transaction (decision 0016:
    # more than one transaction holds): the old contacts' items are still there, ten new ones too
    def cut(item: Any, puts: list[Any], deletes: list[Any]) -> bool:
        for index_item in puts[:10]:
            index_item.save()
        return False

    monkeypatch.setattr(store, "_index_after", cut)
    put_client(api, tenant, "CLI-1", name="Ana Pérez", contacts=many_contacts(30, "b"))
    monkeypatch.undo()
    assert ClientModel.get(tenant.company_id, "CLI-1").index_pending
    assert finds(tenant, phone="+5491140000029") == ["CLI-1"]  # an old contact's, left by the cut
    # When the administrator erases the client, and its run stops just before it deletes the
    # client's item (its phone and address items are gone by then)
    erasure_in_the_request(monkeypatch)
    client_page = erasures.client_page

    def stopped(job: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    monkeypatch.setattr(erasures, "client_page", stopped)
    answer = erase(api, tenant.admin_headers(), "CLI-1")
    assert (body(answer)["state"], body(answer)["phase"]) == ("erasing", "client"), answer.body
    monkeypatch.setattr(erasures, "client_page", client_page)
    # And the operator's repair of half-written clients runs before the erasure's next run, and
    # so does the one-off backfill of the address index (docs/inbound-email.md)
    assert ops.main(["--target", "env", "clients", "index-search", tenant.company_id]) == 0
    assert store.reindex_addresses(tenant.company_id) == 0
    # And the erasure ends
    erasure_ended(api, tenant, "CLI-1", clock)
    # Then no phone, address or search item, old or new, points at its code
    for n in (0, 9, 10, 29):
        assert finds(tenant, phone=f"+54911{4000_0000 + n}") == []
        assert finds(tenant, phone=f"+54911{4100_0000 + n}") == []
        assert finds(tenant, address=f"a{n}@example.com") == finds(tenant, address=f"b{n}@example.com") == []
    assert searched(api, tenant, "ana") == []
    # And once the ERP pushes the code again, as a new client with no phones, an SMS from an old
    # contact's or a new contact's phone lands unassigned, not on the new client
    put_client(api, tenant, "CLI-1", name="Otra persona")
    for phone in ("+5491140000029", "+5491141000029"):
        got = receive_sms(api, number, phone, "hola")
        assert (got["company_id"], got["client_id"]) == (tenant.company_id, None)


def test_the_address_backfill_indexes_a_client_saved_before_the_index_and_is_safe_to_rerun(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.store import clients as store
    from chalicelib.store.models import ClientAddressModel

    # Given a client saved before the address index existed (its address items are not there)
    put_client(api, tenant, "CLI-1", **NEW)
    for address in ("ana.gomez@example.com", "luis@example.com"):
        ClientAddressModel(f"{tenant.company_id}#{address}", "CLI-1").delete()
    assert finds(tenant, address="luis@example.com") == []
    # When the operator runs the backfill, twice
    assert [store.reindex_addresses(tenant.company_id) for _ in range(2)] == [1, 1]
    # Then inbound mail from its address and its contact's finds it
    assert finds(tenant, address="ana.gomez@example.com") == ["CLI-1"]
    assert finds(tenant, address="luis@example.com") == ["CLI-1"]
