"""A clerk finds a client by what they remember (``GET /clients?q=``): part of the name, the start
of the code, an e-mail address or a phone as they type it; in name order, a page at a time, never
another company's clients. Real DynamoDB Local (docs/decisions/0020-finding-a-client.md)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client

from infrastructure import ops
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.tenants import Tenant


def search(api: Client, headers: dict[str, str], q: str, *extra: str) -> Any:
    query = "&".join([f"q={quote(q)}", *extra])
    return api.http.get(f"/clients?{query}", headers=headers)


def found(api: Client, headers: dict[str, str], q: str) -> list[str]:
    """The names a search shows, in its order (every page)."""
    names: list[str] = []
    cursor: list[str] = []
    while True:
        answer = search(api, headers, q, *cursor)
        assert answer.status_code == 200, answer.body
        page = body(answer)
        names += [c["name"] for c in page["items"]]
        if not page["next_cursor"]:
            return names
        cursor = [f"cursor={page['next_cursor']}"]


@pytest.fixture
def clients(api: Client, tenant: Tenant) -> Tenant:
    put_client(
        api,
        tenant,
        "FG-001",
        name="Ferretería Gómez",
        emails=["Compras@Gomez.example"],
        phones=["011 4555-1234"],
    )
    put_client(api, tenant, "AL-7", name="Almacén Álvarez e Hijos", emails=["alvarez@almacen.example"])
    put_client(api, tenant, "GZ-2", name="Gomez y Cía. S.A.", emails=["gz@example.com"])
    return tenant


def test_a_clerk_finds_a_client_by_the_start_of_any_word_of_its_name_without_minding_case_or_accents(
    api: Client, clients: Tenant
) -> None:
    staff = clients.staff_headers()
    # When the clerk types part of a word of the name, with or without accents, in any case
    # Then the clients with a word starting so are listed, in name order
    assert found(api, staff, "ferre") == ["Ferretería Gómez"]
    assert found(api, staff, "gomez") == ["Ferretería Gómez", "Gomez y Cía. S.A."]
    assert found(api, staff, "GÓM") == ["Ferretería Gómez", "Gomez y Cía. S.A."]
    assert found(api, staff, "alvarez") == ["Almacén Álvarez e Hijos"]
    assert found(api, staff, "Hijos") == ["Almacén Álvarez e Hijos"]
    # And every word typed must start a word of the name, in any order
    assert found(api, staff, "gom ferr") == ["Ferretería Gómez"]
    assert found(api, staff, "ferreteria gomez") == ["Ferretería Gómez"]
    assert found(api, staff, "ferreterías") == []
    # And the middle of a word finds nothing
    assert found(api, staff, "rreter") == []


def test_a_clerk_finds_a_client_by_the_start_of_its_code_its_email_or_its_phone_as_typed(
    api: Client, clients: Tenant
) -> None:
    staff = clients.staff_headers()
    # When the clerk types the start of a code, in any case
    assert found(api, staff, "fg-0") == ["Ferretería Gómez"]
    assert found(api, staff, "FG-001") == ["Ferretería Gómez"]
    # Or a whole e-mail address, in any case (part of one finds nothing)
    assert found(api, staff, "compras@gomez.EXAMPLE") == ["Ferretería Gómez"]
    assert found(api, staff, "compras@gomez") == []
    # Or the phone, the way people write it (read in the company's country: Argentina)
    for typed in ("011 4555-1234", "(011) 4555 1234", "+54 11 4555-1234", "1145551234"):
        assert found(api, staff, typed) == ["Ferretería Gómez"], typed
    # And the back office's key with clients:read finds the same
    assert [c["client_id"] for c in body(search(api, clients.key_headers(), "gomez"))["items"]] == [
        "FG-001",
        "GZ-2",
    ]


def test_a_clerk_finds_a_mobile_the_way_it_is_said_in_argentina(api: Client, tenant: Tenant) -> None:
    # Given an Argentine company's clients: a Buenos Aires mobile pushed with its 9, one pushed
    # without it (as seed 002 types numbers), and a Córdoba mobile (7-digit subscriber number)
    put_client(api, tenant, "BN-1", name="Bulonera Norte", phones=["+54 9 11 5555-1234"])
    put_client(api, tenant, "GO-2", name="Gas del Oeste", phones=["11 5555-4321"])
    put_client(api, tenant, "CB-3", name="Cerealera Córdoba", phones=["0351 15 555-1234"])
    staff = tenant.staff_headers()
    # When a clerk types the mobile as it is said locally, with or without the 9 or the 15
    # Then the client whose stored phone is that number is found
    for typed in ("11 5555-1234", "011 15 5555-1234", "+54 11 5555 1234", "15 5555-1234", "5555-1234"):
        assert found(api, staff, typed) == ["Bulonera Norte"], typed
    for typed in ("011 15 5555-4321", "+54 9 11 5555-4321", "15 5555-4321"):
        assert found(api, staff, typed) == ["Gas del Oeste"], typed
    # And without the area code, the subscriber number finds its owner in any area
    assert found(api, staff, "15 555-1234") == ["Cerealera Córdoba"]
    assert found(api, staff, "351 555-1234") == ["Cerealera Córdoba"]


@pytest.mark.parametrize(
    ("country", "stored", "typed"),
    [
        ("MX", "55 1234 5678", ["55 1234 5678", "044 55 1234 5678", "+52 1 55 1234 5678", "1234 5678"]),
        ("ES", "+34 612 34 56 78", ["612 34 56 78", "+34 612345678", "0034 612 34 56 78"]),
    ],
)
def test_a_clerk_finds_a_phone_the_way_it_is_said_in_the_companys_country(
    api: Client, tenant: Tenant, country: str, stored: str, typed: list[str]
) -> None:
    from chalicelib.tenants.companies import update_settings

    # Given a company in Mexico (or Spain) and a client with a mobile
    update_settings(tenant.company_id, language=None, ask_tracking_contacts=None, country=country)
    put_client(api, tenant, "C-1", name="Cliente Uno", phones=[stored])
    # When a clerk types it as it is said there (Mexico's retired mobile markers included)
    # Then the client is found
    for text in typed:
        assert found(api, tenant.staff_headers(), text) == ["Cliente Uno"], text


def test_results_come_a_page_at_a_time_in_name_order(api: Client, tenant: Tenant) -> None:
    # Given five clients whose names start with "Distribuidora" (their codes in another order)
    # and one that does not
    for code, name in [
        ("A1", "Distribuidora Zeta"),
        ("C3", "Distribuidora Álamo"),
        ("B2", "Distribuidora Mar"),
        ("E5", "distribuidora Beta"),
        ("D4", "Distribuidora Ñandú"),
        ("A0", "Bazar Central"),
    ]:
        put_client(api, tenant, code, name=name)
    staff = tenant.staff_headers()
    # When the clerk searches two at a time
    first = body(search(api, staff, "distri", "limit=2"))
    second = body(search(api, staff, "distri", "limit=2", f"cursor={first['next_cursor']}"))
    third = body(search(api, staff, "distri", "limit=2", f"cursor={second['next_cursor']}"))
    # Then the pages follow each other in name order (accents and case aside), none repeated
    pages = [[c["client_id"] for c in p["items"]] for p in (first, second, third)]
    assert pages == [["C3", "E5"], ["B2", "D4"], ["A1"]]
    assert third["next_cursor"] is None


def test_another_companys_clients_are_never_found(api: Client, clients: Tenant, other_tenant: Tenant) -> None:
    # Given another company with a client of the same name, code and address
    put_client(
        api, other_tenant, "FG-001", name="Ferretería Gómez del Otro", emails=["compras@gomez.example"]
    )
    # When each company searches
    # Then each finds its own only
    assert found(api, clients.staff_headers(), "ferre") == ["Ferretería Gómez"]
    assert found(api, clients.staff_headers(), "compras@gomez.example") == ["Ferretería Gómez"]
    assert found(api, other_tenant.staff_headers(), "fg-0") == ["Ferretería Gómez del Otro"]
    assert found(api, other_tenant.staff_headers(), "(011) 4555 1234") == []
    # And a search spelling the other company's index keys (its id, '#', a term) finds nothing
    for spelled in (f"{clients.company_id}#w:ferreter", f"{clients.company_id}#e:compras@gomez.example"):
        assert found(api, other_tenant.staff_headers(), spelled) == [], spelled
    # And a cursor of one company's search is refused by the other's (422 naming cursor)
    put_client(api, clients, "GZ-3", name="Gomez Hermanos")
    page = body(search(api, clients.staff_headers(), "gomez", "limit=1"))
    answer = search(api, other_tenant.staff_headers(), "gomez", f"cursor={page['next_cursor']}")
    assert answer.status_code == 422
    assert [e["field"] for e in json.loads(answer.body)["errors"]] == ["cursor"]


def test_a_renamed_client_is_found_by_its_new_name_only(api: Client, clients: Tenant) -> None:
    staff = clients.staff_headers()
    # When the back office renames Ferretería Gómez and changes its address
    put_client(api, clients, "FG-001", name="Bulonera del Sur", emails=["ventas@bulonera.example"])
    # Then its new name and address find it, and its old ones do not
    assert found(api, staff, "bulon") == ["Bulonera del Sur"]
    assert found(api, staff, "sur") == ["Bulonera del Sur"]
    assert found(api, staff, "ventas@bulonera.example") == ["Bulonera del Sur"]
    assert found(api, staff, "ferre") == []
    assert found(api, staff, "compras@gomez.example") == []
    assert found(api, staff, "gomez") == ["Gomez y Cía. S.A."]
    # And its code still finds it, under its new name
    assert found(api, staff, "fg-001") == ["Bulonera del Sur"]


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("a", "at least 2 letters or digits"),
        ("a b", "at least 2 letters or digits"),
        ("-", "at least 2 letters or digits"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_a_search_too_short_or_too_long_is_refused_naming_q(
    api: Client, tenant: Tenant, q: str, message: str
) -> None:
    # When the clerk searches for too little or too much
    answer = search(api, tenant.staff_headers(), q)
    # Then a 422 says what is wrong with q
    assert answer.status_code == 422, answer.body
    errors = json.loads(answer.body)["errors"]
    assert [e["field"] for e in errors] == ["q"] and message in errors[0]["message"]


def _forget_search_items(company_id: str) -> None:
    """The clients were stored before search existed: they have no search items (deleted behind
    Pregón's back; a Query of the company's clients says which)."""
    from chalicelib.store.clients import search_keys
    from chalicelib.store.models import ClientModel, ClientSearchModel
    from chalicelib.store.tables import bind

    bind()
    for client in ClientModel.query(company_id):
        for key in search_keys(company_id, client.client_id):
            ClientSearchModel(*key).delete()


def test_the_backfill_gives_clients_stored_before_search_their_items(
    api: Client, clients: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three clients stored before search existed
    _forget_search_items(clients.company_id)
    staff = clients.staff_headers()
    assert found(api, staff, "gomez") == []
    # When the operator runs the backfill for the company
    assert ops.main(["--target", "env", "--json", "clients", "index-search", clients.company_id]) == 0
    # Then it says how many clients it indexed, and they are found by name, code, e-mail and phone
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"items": [{"company_id": clients.company_id, "clients": 3}]}
    assert found(api, staff, "gomez") == ["Ferretería Gómez", "Gomez y Cía. S.A."]
    assert found(api, staff, "al-7") == ["Almacén Álvarez e Hijos"]
    assert found(api, staff, "compras@gomez.example") == ["Ferretería Gómez"]
    assert found(api, staff, "011 4555-1234") == ["Ferretería Gómez"]
    # And running it again changes nothing; a rename afterwards leaves no trace of the old name
    assert ops.main(["--target", "env", "clients", "index-search", clients.company_id]) == 0
    assert "3 clients indexed for search" in capsys.readouterr().out
    put_client(api, clients, "AL-7", name="Almacén Central")
    assert found(api, staff, "alvarez") == []
    assert found(api, staff, "alm") == ["Almacén Central"]
    # And an unknown company is refused
    assert ops.main(["--target", "env", "clients", "index-search", "no-such-company"]) == 2
