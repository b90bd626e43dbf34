"""O1, O2: operators onboard companies and manage their API keys, from the operator API and the
command; revoked keys are refused, rotated keys overlap, company credentials cannot operate."""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.tenants.companies import SCOPES as API_KEY_SCOPES
from infrastructure import ops
from tests.steps.answers import body
from tests.steps.operators import (
    issue_key,
    key_headers,
    lists_clients,
    operator_headers,
)
from tests.steps.tenants import Tenant

# What the gateway answers when the authorizer lets nobody in (Chalice's test client: 403; AWS: 401/403).
REFUSED = (401, 403)


def _company_id() -> str:
    return f"op-{uuid.uuid4().hex[:10]}"


def test_an_operator_creates_a_company_in_its_zone_and_lists_it(api: Client, operator: str) -> None:
    company_id = _company_id()
    # When the operator creates a company in Mexico City, Spanish
    new = {
        "company_id": company_id,
        "name": "Paquetería Azteca",
        "country": "MX",
        "time_zone": "America/Mexico_City",
    }
    answer = api.http.post("/operator/companies", headers=operator_headers(operator), body=json.dumps(new))
    # Then it exists with its zone and a locale made of the language and the country
    assert answer.status_code == 201, answer.body
    created = body(answer)
    assert (created["time_zone"], created["locale"], created["created"]) == (
        "America/Mexico_City",
        "es_MX",
        True,
    )
    # And creating it again changes nothing
    again = api.http.post("/operator/companies", headers=operator_headers(operator), body=json.dumps(new))
    assert again.status_code == 200 and body(again)["created"] is False
    # And the listing shows it, page by page
    seen, cursor = [], None
    while True:
        path = "/operator/companies?limit=50" + (f"&cursor={cursor}" if cursor else "")
        page = body(api.http.get(path, headers=operator_headers(operator)))
        seen += [c["company_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert company_id in seen and seen == sorted(seen)


def test_bad_company_settings_are_refused_naming_the_field(api: Client, operator: str) -> None:
    bad = {"company_id": _company_id(), "name": "X", "time_zone": "Mars/Olympus"}
    answer = api.http.post("/operator/companies", headers=operator_headers(operator), body=json.dumps(bad))
    assert answer.status_code == 422 and body(answer)["field"] == "time_zone"
    listing = body(api.http.get("/operator/companies?limit=200", headers=operator_headers(operator)))
    assert bad["company_id"] not in [c["company_id"] for c in listing["items"]]


def test_company_credentials_cannot_operate_and_operators_cannot_act_as_a_company(
    api: Client, operator: str, tenant: Tenant
) -> None:
    # A company's administrator JWT and its API key are refused on the operator API
    for headers in (tenant.admin_headers(), tenant.key_headers()):
        answer = api.http.get("/operator/companies", headers=headers)
        assert answer.status_code == 403, answer.body
        assert "operator" in body(answer)["message"]
    # A wrong operator token, or none, is refused by the authorizer (the gateway's own refusal)
    assert api.http.get("/operator/companies", headers=operator_headers("op_wrong")).status_code in REFUSED
    assert api.http.get("/operator/companies").status_code in REFUSED
    # And the operator token is no company credential
    assert api.http.get("/clients", headers=operator_headers(operator)).status_code == 403


def test_a_key_is_issued_listed_with_its_last_use_and_refused_once_revoked(
    api: Client, operator: str, tenant: Tenant, clock: Any
) -> None:
    # Given a key issued by the operator with the scope to read clients
    issued = issue_key(api, operator, tenant.company_id, "clients:read")
    # (and one with every scope the routes ask keys for, from the documents' to the tickets')
    every = issue_key(api, operator, tenant.company_id, *API_KEY_SCOPES, name="erp")
    assert every["scopes"] == list(API_KEY_SCOPES) and "tickets:read" in API_KEY_SCOPES
    assert issued["api_key"].startswith(issued["prefix"] + ".")
    # When the company's system uses it
    assert lists_clients(api, issued["api_key"]) == 200
    # And its id with a wrong secret holding a character outside ASCII is refused like any wrong
    # secret (the secret's hash refused the character: the authorizer failed, a server error)
    assert lists_clients(api, issued["api_key"][:-1] + "ñ") in REFUSED
    first_use = clock.now()
    clock.set_now(first_use + timedelta(minutes=2))
    assert lists_clients(api, issued["api_key"]) == 200
    # Then the listing shows its prefix, scopes, creation and last use (noted at most every 5 minutes)
    keys = body(
        api.http.get(f"/operator/companies/{tenant.company_id}/api-keys", headers=operator_headers(operator))
    )
    mine = next(k for k in keys["items"] if k["key_id"] == issued["key_id"])
    assert mine["scopes"] == ["clients:read"] and mine["state"] == "active"
    assert mine["last_used_at"] == first_use.isoformat()
    assert "api_key" not in mine and "secret_hash" not in json.dumps(keys)
    # When the operator revokes it
    path = f"/operator/companies/{tenant.company_id}/api-keys/{issued['key_id']}"
    assert api.http.delete(path, headers=operator_headers(operator)).status_code == 200
    # Then the next call with it is refused, and a second revocation is a conflict
    assert lists_clients(api, issued["api_key"]) in REFUSED
    assert api.http.delete(path, headers=operator_headers(operator)).status_code == 409
    # And another company cannot be reached through this one's path
    other = f"/operator/companies/{tenant.company_id}x/api-keys/{issued['key_id']}"
    assert api.http.delete(other, headers=operator_headers(operator)).status_code == 404


def test_a_rotated_keys_old_secret_works_until_the_overlap_ends_then_not(
    api: Client, operator: str, tenant: Tenant, clock: Any
) -> None:
    # Given a key in use
    old = issue_key(api, operator, tenant.company_id, "clients:read", "parcels:read")
    # When the operator rotates it with an hour of overlap
    answer = api.http.post(
        f"/operator/companies/{tenant.company_id}/api-keys/{old['key_id']}/rotate",
        headers=operator_headers(operator),
        body=json.dumps({"overlap_minutes": 60}),
    )
    assert answer.status_code == 201, answer.body
    new = body(answer)
    assert new["scopes"] == ["clients:read", "parcels:read"] and new["key_id"] != old["key_id"]
    # Then both work during the overlap
    clock.set_now(clock.now() + timedelta(minutes=59))
    assert (lists_clients(api, old["api_key"]), lists_clients(api, new["api_key"])) == (200, 200)
    # And once it has ended, only the new one
    clock.set_now(clock.now() + timedelta(minutes=2))
    assert lists_clients(api, old["api_key"]) in REFUSED and lists_clients(api, new["api_key"]) == 200
    keys = body(
        api.http.get(f"/operator/companies/{tenant.company_id}/api-keys", headers=operator_headers(operator))
    )
    states = {k["key_id"]: (k["state"], k["replaced_by"]) for k in keys["items"]}
    assert states[old["key_id"]] == ("expired", new["key_id"])
    # And a rotated key cannot be rotated again
    again = api.http.post(
        f"/operator/companies/{tenant.company_id}/api-keys/{old['key_id']}/rotate",
        headers=operator_headers(operator),
        body="{}",
    )
    assert again.status_code == 409


def test_the_operator_command_on_a_deployed_stage_takes_its_region_from_aws_region(
    local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.core.aws import client
    from infrastructure.local.aws_env import reset_process_caches

    try:
        # Given an operator's shell as docs/operations.md says: AWS_REGION, no AWS_DEFAULT_REGION
        # (the variables the command sets are kept to be put back)
        for name in ("PREGON_STAGE", "PREGON_TABLE_PREFIX", "AWS_DEFAULT_REGION"):
            monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.setenv("AWS_REGION", "sa-east-1")
        # When it points the command at the prod stage
        ops.use_target(ops._parser().parse_args(["--target", "aws", "--stage", "prod", "company", "list"]))
        # Then the AWS clients go to that region
        assert client("sqs").meta.region_name == "sa-east-1"
        # And with no region at all, the command says what to set instead of failing in the SDK
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        with pytest.raises(SystemExit, match="no AWS region: set AWS_REGION"):
            ops.main(["--target", "aws", "--stage", "prod", "company", "list"])
    finally:
        monkeypatch.undo()
        reset_process_caches()


def test_the_operator_command_onboards_a_company_and_rotates_its_key(
    operator: str, local_aws: dict[str, str], capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    company_id = _company_id()
    # When an operator runs the command against this stack
    run = ["--target", "env", "--json"]
    assert (
        ops.main(
            [
                *run,
                "company",
                "create",
                company_id,
                "--name",
                "Cargas Madrid",
                "--country",
                "ES",
                "--time-zone",
                "Europe/Madrid",
            ]
        )
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert (created["locale"], created["time_zone"]) == ("es_ES", "Europe/Madrid")
    # (the list is in id order, a page at a time: the test database holds many companies)
    companies: list[str] = []
    after: list[str] = []
    while True:
        assert ops.main([*run, "company", "list", "--limit", "200", *after]) == 0
        page = json.loads(capsys.readouterr().out)
        companies += [c["company_id"] for c in page["items"]]
        if not page.get("next_cursor"):
            break
        after = ["--after", page["next_cursor"]]
    assert company_id in companies
    with caplog.at_level(logging.INFO):
        # (every scope a route asks keys for: the reminders' ERP needs receivables:write)
        scopes = ["--scope", "parcels:write", "--scope", "receivables:write"]
        assert ops.main([*run, "key", "issue", company_id, "--name", "erp", *scopes]) == 0
        issued = json.loads(capsys.readouterr().out)
        assert issued["scopes"] == ["parcels:write", "receivables:write"]
        assert ops.main([*run, "key", "rotate", company_id, issued["key_id"], "--overlap-minutes", "5"]) == 0
        rotated = json.loads(capsys.readouterr().out)
    assert ops.main([*run, "key", "list", company_id]) == 0
    listed = {k["key_id"]: k["state"] for k in json.loads(capsys.readouterr().out)["items"]}
    assert listed == {issued["key_id"]: "rotating", rotated["key_id"]: "active"}
    # A bad zone is refused with the field named, and nothing is created
    assert (
        ops.main([*run, "company", "create", company_id + "-b", "--name", "B", "--time-zone", "Nowhere"]) == 2
    )
    assert "time_zone" in capsys.readouterr().err
    # Every operation is logged, never with a secret
    logged = caplog.text + capsys.readouterr().out
    secret = issued["api_key"].partition(".")[2]
    assert secret not in logged and rotated["api_key"].partition(".")[2] not in logged


def test_a_company_in_mexico_reads_local_phone_numbers_as_mexican(api: Client, operator: str) -> None:
    import secrets

    # Given a company the operator created in Mexico, whose administrator never touched its SMS settings
    company_id = _company_id()
    new = {
        "company_id": company_id,
        "name": "Paquetería Azteca",
        "country": "MX",
        "time_zone": "America/Mexico_City",
    }
    assert (
        api.http.post(
            "/operator/companies", headers=operator_headers(operator), body=json.dumps(new)
        ).status_code
        == 201
    )
    key = issue_key(api, operator, company_id, "clients:write")["api_key"]
    local = f"55 {secrets.randbelow(10**4):04d} {secrets.randbelow(10**4):04d}"
    # When its back office pushes a client with a Mexico City number written as people there write it
    client = api.http.put(
        "/clients/C-1", headers=key_headers(key), body=json.dumps({"name": "Juan Pérez", "phones": [local]})
    )
    # Then it is kept as that Mexican number, not refused as a bad Argentine one
    assert client.status_code == 200, client.body
    assert body(client)["phones"] == ["+52" + local.replace(" ", "")]
    # And when the operator gives the company a two-way number written the same way
    number = f"55 {secrets.randbelow(10**4):04d} {secrets.randbelow(10**4):04d}"
    given = api.http.put(
        f"/operator/companies/{company_id}/sms-numbers",
        headers=operator_headers(operator),
        body=json.dumps({"numbers": [number]}),
    )
    # Then it is that Mexican number too
    assert given.status_code == 200, given.body
    assert body(given)["numbers"] == ["+52" + number.replace(" ", "")]
    # And the SMS settings that assignment made go on reading the company's local numbers as Mexican
    later = api.http.put(
        "/clients/C-2", headers=key_headers(key), body=json.dumps({"name": "Ana Ruiz", "phones": [local]})
    )
    assert later.status_code == 200, later.body
    assert body(later)["phones"] == ["+52" + local.replace(" ", "")]


def test_the_identity_check_says_when_a_signed_in_user_could_change_their_own_company_or_level(
    local_aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.core.aws import client

    idp = client("cognito-idp")
    custom = [
        {"Name": n, "AttributeDataType": "String"} for n in ("company_id", "level", "branch", "department")
    ]
    # Given a user pool whose custom attributes may change (Cognito's default), and two app clients:
    # one made with no write attributes (the console ticks them all), one that names its own
    pool = idp.create_user_pool(PoolName="staff", Schema=custom)["UserPool"]["Id"]
    ticked = idp.create_user_pool_client(UserPoolId=pool, ClientName="console")["UserPoolClient"]["ClientId"]
    named = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="console-2", WriteAttributes=["email", "name"]
    )
    # When the operator checks the first / Then it is unsafe, naming what a clerk could change
    assert ops.main(["--target", "env", "identity", "check", pool, ticked]) == 1
    said = capsys.readouterr().out
    assert "UNSAFE: a signed-in user can change their own custom:company_id, custom:level" in said
    # And the one whose write attributes leave them out is fine
    assert ops.main(["--target", "env", "identity", "check", pool, named["UserPoolClient"]["ClientId"]]) == 0
    assert capsys.readouterr().out.startswith("OK: a signed-in user can change none")
    # As is a pool whose company and level are fixed once set (immutable), but for what stays writable
    fixed = [{**a, "Mutable": a["Name"] not in ("company_id", "level")} for a in custom]
    other = idp.create_user_pool(PoolName="staff-fixed", Schema=fixed)["UserPool"]["Id"]
    app = idp.create_user_pool_client(UserPoolId=other, ClientName="console")["UserPoolClient"]["ClientId"]
    assert ops.main(["--target", "env", "--json", "identity", "check", other, app]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "writable_by_users": ["custom:branch", "custom:department"]
    }


def test_a_key_is_stored_with_its_companys_existence_checked_in_the_same_request(tenant: Tenant) -> None:
    from chalicelib.core.errors import NotFound
    from chalicelib.tenants.companies import issue_api_key, list_api_keys
    from tests.steps.aws import dynamodb_requests_by_table

    # When the operator issues a key for the company
    with dynamodb_requests_by_table() as sent:
        issue_api_key(tenant.company_id, "erp", ["clients:read"])
    # Then it is stored in one request that also checks the company exists (no read before it)
    assert dict(sent) == {"TransactWriteItems api-keys+companies": 1}
    assert sorted(k.name for k in list_api_keys(tenant.company_id)) == ["back office", "erp"]
    # And a company that does not exist gets none: a 404, nothing stored
    missing = f"{tenant.company_id}-gone"
    with pytest.raises(NotFound):
        issue_api_key(missing, "erp", ["clients:read"])
    from chalicelib.store.companies import list_api_keys as stored_keys

    assert stored_keys(missing) == []
