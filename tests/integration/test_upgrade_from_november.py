"""A company's data written by the November 2026 release (1d2ca25) meets main's code: the items in
tests/fixtures/upgrade/november-items.json are what that release wrote to DynamoDB (captured from
its local stack, trimmed), put back raw into DynamoDB Local; then the operator runs the upgrade
steps docs/operations.md lists and the company's people use the service."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client

from infrastructure import ops
from tests.steps.answers import body
from tests.steps.tenants import Tenant

NOVEMBER_ITEMS = Path(__file__).parents[1] / "fixtures" / "upgrade" / "november-items.json"


def put_as_november_wrote(kind: str, company_id: str) -> None:
    """The fixture's items of ``kind`` (``companies``, ``clients``), stored raw as the November
    release stored them, under ``company_id``."""
    from chalicelib.store import models
    from chalicelib.store.tables import bind

    bind()
    model = {"companies": models.CompanyModel, "clients": models.ClientModel}[kind]
    dynamodb: Any = model._get_connection().connection.client
    for item in json.loads(NOVEMBER_ITEMS.read_text())[kind]:
        dynamodb.put_item(TableName=model.Meta.table_name, Item=item | {"company_id": {"S": company_id}})


def names_found(api: Client, tenant: Tenant, q: str) -> list[str]:
    answer = api.http.get(f"/clients?q={quote(q)}", headers=tenant.staff_headers())
    assert answer.status_code == 200, answer.body
    return [c["name"] for c in body(answer)["items"]]


def test_a_company_from_november_is_listed_once_the_operator_runs_the_upgrade_step(
    local_aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a company the November release created (its item has no entry in the listing index)
    company_id = f"nov-{secrets.token_hex(4)}"
    put_as_november_wrote("companies", company_id)
    listing = ["--target", "env", "--json", "company", "list", "--after", company_id[:-1], "--limit", "1"]
    assert ops.main(listing) == 0
    assert company_id not in capsys.readouterr().out
    # When the operator runs the step docs/operations.md gives for it
    assert ops.main(["--target", "env", "company", "index-listing"]) == 0
    assert "companies added to the listing" in capsys.readouterr().out
    # Then the operator's listing shows it, with the settings it had
    assert ops.main(listing) == 0
    [company] = json.loads(capsys.readouterr().out)["items"]
    assert (company["company_id"], company["name"], company["language"]) == (company_id, "Demo Cargas", "es")
    # And run again, the step lists nothing more
    assert ops.main(["--target", "env", "company", "index-listing"]) == 0
    assert capsys.readouterr().out.strip() == "0 companies added to the listing"


def test_clients_from_november_are_found_by_their_phones_as_written_then_after_the_backfill(
    api: Client, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given two clients the November release stored with their phones as the back office wrote
    # them ("0351 15-555-1234", "+54 9 11 5987-6543"), and no search items
    put_as_november_wrote("clients", tenant.company_id)
    assert names_found(api, tenant, "0351 15-555-1234") == []
    # And a clerk's card of one of them, read before versions: at version 0
    opened = api.http.get("/clients/CLI-2", headers=tenant.staff_headers()).headers["ETag"]
    assert opened == '"0"'
    # When the operator runs the search backfill, as docs/operations.md says
    assert ops.main(["--target", "env", "clients", "index-search", tenant.company_id]) == 0
    assert "2 clients indexed for search" in capsys.readouterr().out
    # Then a clerk finds each by its phone said in any way, as a client saved today
    assert names_found(api, tenant, "0351 15-555-1234") == ["Distribuidora Sur SA"]
    assert names_found(api, tenant, "555-1234") == ["Distribuidora Sur SA"]
    assert names_found(api, tenant, "11 5987-6543") == ["Ferretería Norte SRL"]
    assert names_found(api, tenant, "ferre") == ["Ferretería Norte SRL"]
    # And the clients' answers show the phones as every client's are shown since (E.164)
    answer = api.http.get("/clients/CLI-2", headers=tenant.staff_headers())
    assert body(answer)["phones"] == ["+5493515551234"]
    # And the backfill's rewrite of the phones is a write of the client: the card read before it
    # (its e-mails gone) is refused (412) when saved, and nothing is written
    card = {"name": "Distribuidora Sur SA", "phones": ["0351 15-555-1234"]}
    stale = api.http.put(
        "/clients/CLI-2", headers={**tenant.staff_headers(), "If-Match": opened}, body=json.dumps(card)
    )
    assert stale.status_code == 412, stale.body
    assert answer.headers["ETag"] != opened
    assert body(api.http.get("/clients/CLI-2", headers=tenant.key_headers())) == body(answer)
    answer = api.http.get("/clients/CLI-1", headers=tenant.key_headers())
    assert body(answer)["phones"] == ["+5491159876543"]
    # And running it again changes nothing: the written forms left no search items behind
    assert ops.main(["--target", "env", "clients", "index-search", tenant.company_id]) == 0
    assert names_found(api, tenant, "0351 15-555-1234") == ["Distribuidora Sur SA"]
