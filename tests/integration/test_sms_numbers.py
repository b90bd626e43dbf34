"""A two-way SMS number is one company's (I1, I2, Q7): inbound SMS to a number two companies hold
would reach neither, so Pregón's operator cannot assign (`PUT /operator/companies/{id}/sms-numbers`)
a number another company holds: a 409 naming `numbers` and the number, never the other company.
Each number is claimed (table `sms-number-claims`) in the same transaction as the assignment, so two
operators assigning one number to two companies at once leave exactly one holder. Numbers assigned
twice before claims existed are listed by `ops sms numbers --shared` for the operator to settle; an
administrator may not receive on one whose claim is the other company's (a 422 naming
`inbound_number`), and choosing one no company claimed claims it, in the same transaction; so does
a save that sends again, unchanged, the number the company had (refused likewise, with how to save,
when the claim is another company's), and the operator taking it back at the same time wins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from infrastructure import ops
from tests.steps.answers import body
from tests.steps.operators import configure_operator_token, operator_headers
from tests.steps.sms import free_inbound_number, receive_sms, settings_changed_after_every_read
from tests.steps.tenants import Tenant

ANA = "+5491159876543"


@pytest.fixture
def number_operator(local_aws: dict[str, str]) -> Iterator[str]:
    import os

    from chalicelib.core.settings import get_settings, reset_settings

    yield configure_operator_token()
    os.environ.pop("PREGON_OPERATOR_TOKEN_SHA256", None)
    reset_settings()
    get_settings()  # from the tests' environment (configure_operator_token says why)


def assign_numbers(api: Client, headers: dict[str, str], company_id: str, numbers: list[str]) -> Any:
    return api.http.put(
        f"/operator/companies/{company_id}/sms-numbers",
        headers=headers,
        body=json.dumps({"numbers": numbers}),
    )


def raw_item(model_name: str, key: dict[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB holds it (``{}``: none)."""
    import boto3

    from chalicelib.store import models
    from chalicelib.store.tables import bind

    bind()
    table = getattr(models, model_name).Meta.table_name
    found = boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
    return dict(found.get("Item", {}))


def claim_of(number: str) -> dict[str, Any]:
    return raw_item("SmsNumberClaimModel", {"number": {"S": number}})


def settings_item(company_id: str) -> dict[str, Any]:
    return raw_item("SmsSettingsModel", {"company_id": {"S": company_id}})


def numbers_held_as_written_before_claims(company_id: str, *numbers: str) -> None:
    """The company's settings item holds these numbers as the operator's assignments wrote them
    before numbers were claimed: in the settings alone, whoever else held them."""
    import boto3

    from chalicelib.store.models import SmsSettingsModel
    from chalicelib.store.tables import bind

    bind()
    boto3.client("dynamodb").update_item(
        TableName=SmsSettingsModel.Meta.table_name,
        Key={"company_id": {"S": company_id}},
        UpdateExpression="SET assigned_numbers = :n, enabled = :f, provider = :p, sms_type = :t, "
        "default_region = :r, updated_at = :u",
        ExpressionAttributeValues={
            ":n": {"SS": list(numbers)},
            ":f": {"BOOL": False},
            ":p": {"S": "sns"},
            ":t": {"S": "Transactional"},
            ":r": {"S": "AR"},
            ":u": {"S": "2026-11-01T12:00:00.000000+0000"},
        },
    )


def test_a_number_another_company_holds_is_refused_naming_the_number_not_the_company(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given Pregón's operator gave the number to a company
    given = assign_numbers(api, operator, tenant.company_id, [number])
    assert given.status_code == 200, given.body
    assert claim_of(number)["company_id"] == {"S": tenant.company_id}
    # When an operator assigns the same number to another company (written locally, as "0" + 11 15)
    local = f"011 15 {number[-8:-4]}-{number[-4:]}"
    refused = assign_numbers(api, operator, other_tenant.company_id, [free_inbound_number(), local])
    # Then it is a 409 naming the field and the number, but not the company that holds it
    assert refused.status_code == 409, refused.body
    answer = body(refused)
    assert answer["field"] == "numbers"
    assert answer["message"] == (
        f"the number {number} is assigned to another company: take it back from that company first"
    )
    assert tenant.company_id not in refused.body.decode()
    # And nothing of the assignment was written: neither the other number nor the settings
    assert "assigned_numbers" not in settings_item(other_tenant.company_id)
    assert claim_of(number)["company_id"] == {"S": tenant.company_id}
    # And in Spanish for a caller who reads Spanish
    spanish = assign_numbers(api, operator | {"Accept-Language": "es-AR"}, other_tenant.company_id, [number])
    assert spanish.status_code == 409 and body(spanish)["field"] == "numbers"
    assert body(spanish)["message"] == (
        f"el número {number} está asignado a otra empresa: quíteselo primero a esa empresa"
    )
    # And the company that holds it may be assigned it again, beside another one
    again = assign_numbers(api, operator, tenant.company_id, [number, free_inbound_number()])
    assert again.status_code == 200 and number in body(again)["numbers"], again.body


def test_only_the_operator_assigns_numbers(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    number = free_inbound_number()
    # A company's administrator, another company's administrator and an API key are refused
    for headers in (tenant.admin_headers(), other_tenant.admin_headers(), tenant.key_headers()):
        refused = assign_numbers(api, headers, tenant.company_id, [number])
        assert refused.status_code == 403, (headers, refused.body)
    # And so is a call with no credentials
    assert assign_numbers(
        api, {"Content-Type": "application/json"}, tenant.company_id, [number]
    ).status_code in (
        401,
        403,
    )
    # And none of them claimed the number or changed the company's settings
    assert claim_of(number) == {}
    assert "assigned_numbers" not in settings_item(tenant.company_id)
    # The operator: an unknown company is a 404 and claims nothing; its own company is assigned it
    operator = operator_headers(number_operator)
    assert assign_numbers(api, operator, "no-such-company", [number]).status_code == 404
    assert claim_of(number) == {}
    assigned = assign_numbers(api, operator, tenant.company_id, [number])
    assert body(assigned) == {"company_id": tenant.company_id, "numbers": [number]}
    assert settings_item(tenant.company_id)["assigned_numbers"] == {"SS": [number]}


def test_two_operators_assigning_one_number_to_two_companies_at_once_leave_one_holder(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import sms as store

    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given two operators assigning the same number, one to each company, and the second's whole
    # call runs just after the first has read the company's settings (both read before either
    # writes: this hook runs the second at that exact point)
    real_read = store.get_sms_settings
    second: list[Any] = []

    def read_then_the_other_operator_assigns(company_id: str) -> Any:
        current = real_read(company_id)
        if company_id == tenant.company_id and not second:
            second.append(assign_numbers(api, operator, other_tenant.company_id, [number]))
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_the_other_operator_assigns)
    # When the first operator's assignment goes on to write
    first = assign_numbers(api, operator, tenant.company_id, [number])
    # Then one of them was assigned the number and the other was refused with a 409 naming it
    assert [second[0].status_code, first.status_code] == [200, 409], (second[0].body, first.body)
    assert body(first)["field"] == "numbers" and number in body(first)["message"]
    # And exactly one company holds it: in its claim, in its settings, and it receives on it
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    assert settings_item(other_tenant.company_id)["assigned_numbers"] == {"SS": [number]}
    assert "assigned_numbers" not in settings_item(tenant.company_id)
    monkeypatch.undo()
    holder = api.http.put(
        "/sms/settings",
        headers=other_tenant.admin_headers(),
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )
    assert holder.status_code == 200, holder.body
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == other_tenant.company_id


def test_a_number_taken_back_from_one_company_may_be_assigned_to_another(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a company receiving SMS on the number the operator gave it
    assert assign_numbers(api, operator, tenant.company_id, [number]).status_code == 200
    chosen = api.http.put(
        "/sms/settings",
        headers=tenant.admin_headers(),
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )
    assert chosen.status_code == 200, chosen.body
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == tenant.company_id
    # When the operator takes it back
    assert body(assign_numbers(api, operator, tenant.company_id, []))["numbers"] == []
    # Then its claim went in the same write, with the company's numbers and its inbound_number
    assert claim_of(number) == {}
    item = settings_item(tenant.company_id)
    assert "assigned_numbers" not in item and "inbound_number" not in item
    # And the operator may give it to another company, which receives on it
    given = assign_numbers(api, operator, other_tenant.company_id, [number])
    assert given.status_code == 200, given.body
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    moved = api.http.put(
        "/sms/settings",
        headers=other_tenant.admin_headers(),
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )
    assert moved.status_code == 200, moved.body
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == other_tenant.company_id
    # And the first company can no longer be given it
    assert assign_numbers(api, operator, tenant.company_id, [number]).status_code == 409


def test_numbers_held_twice_before_claims_are_listed_and_settled_with_the_command(
    api: Client, tenant: Tenant, other_tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = sorted((tenant.company_id, other_tenant.company_id))
    number = free_inbound_number()
    # Given a number the operator assigned to both companies before numbers were claimed, and the
    # first company receiving on it
    numbers_held_as_written_before_claims(first, number)
    numbers_held_as_written_before_claims(second, number)
    admin = {tenant.company_id: tenant, other_tenant.company_id: other_tenant}
    receiving = api.http.put(
        "/sms/settings",
        headers=admin[first].admin_headers(),
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )
    assert receiving.status_code == 200, receiving.body
    # And the second cannot receive on it as well (a 409 naming the number)
    both = api.http.put(
        "/sms/settings",
        headers=admin[second].admin_headers(),
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )
    assert both.status_code == 409 and number in body(both)["message"], both.body
    # When the operator lists the numbers two companies hold
    run = ["--target", "env", "--json"]
    capsys.readouterr()  # (the log lines so far)
    assert ops.main([*run, "sms", "numbers", "--shared"]) == 0
    shared = json.loads(capsys.readouterr().out)["items"]
    # Then this number is listed with both companies, the first receiving on it and holding its
    # claim (choosing a number no company had claimed claimed it)
    assert {
        "number": number,
        "companies": [first, second],
        "claimed_by": first,
        "receiving": [first],
        "shared": True,
    } in shared
    # When the operator settles it: taken back from the second, assigned again to the first
    assert ops.main([*run, "sms", "assign-numbers", second]) == 0
    assert json.loads(capsys.readouterr().out) == {"company_id": second, "numbers": []}
    assert ops.main([*run, "sms", "assign-numbers", first, number]) == 0
    assert json.loads(capsys.readouterr().out) == {"company_id": first, "numbers": [number]}
    # Then it is no longer shared, and it is the first company's claim
    assert ops.main([*run, "sms", "numbers", "--shared"]) == 0
    assert number not in capsys.readouterr().out
    assert ops.main([*run, "sms", "numbers"]) == 0
    listed = [i for i in json.loads(capsys.readouterr().out)["items"] if i["number"] == number]
    assert listed == [
        {"number": number, "companies": [first], "claimed_by": first, "receiving": [first], "shared": False}
    ]
    # And the command refuses to give it to the second again, naming the number (exit status 2)
    assert ops.main(["--target", "env", "sms", "assign-numbers", second, number]) == 2
    assert f"refused (409): the number {number} is assigned to another company" in capsys.readouterr().err


def test_two_assignments_to_one_company_at_once_leave_its_claims_as_its_numbers(
    api: Client, tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import sms as store

    operator = operator_headers(number_operator)
    kept, dropped, meanwhile, added = (free_inbound_number() for _ in range(4))
    # Given a company holding two numbers
    assert assign_numbers(api, operator, tenant.company_id, [kept, dropped]).status_code == 200
    # And a second operator giving it another list just after the first operator read its settings
    real_read = store.get_sms_settings
    reads: list[Any] = []

    def read_then_the_other_operator_assigns(company_id: str) -> Any:
        current = real_read(company_id)
        reads.append(current)
        if len(reads) == 1:
            assert assign_numbers(api, operator, tenant.company_id, [kept, meanwhile]).status_code == 200
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_the_other_operator_assigns)
    # When the first operator's assignment writes
    first = assign_numbers(api, operator, tenant.company_id, [kept, added])
    # Then it saw the change, read again and replaced the list the second wrote (the last one wins)
    assert first.status_code == 200 and body(first)["numbers"] == sorted([kept, added]), first.body
    assert sorted(settings_item(tenant.company_id)["assigned_numbers"]["SS"]) == sorted([kept, added])
    # And the company's claims are exactly its numbers: none is left claimed for it without being its own
    assert {n: claim_of(n).get("company_id") for n in (kept, dropped, meanwhile, added)} == {
        kept: {"S": tenant.company_id},
        dropped: None,
        meanwhile: None,
        added: {"S": tenant.company_id},
    }


def choose_inbound_number(api: Client, tenant: Tenant, number: str, language: str = "en") -> Any:
    return api.http.put(
        "/sms/settings",
        headers=tenant.admin_headers() | {"Accept-Language": language},
        body=json.dumps({"enabled": True, "inbound_number": number}),
    )


def test_an_administrator_cannot_receive_on_a_number_whose_claim_is_another_companys(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number the operator assigned to both companies before numbers were claimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    # And the operator assigned the other company its list again since, which claimed it for it
    assert assign_numbers(api, operator, other_tenant.company_id, [number]).status_code == 200
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    # When the first company's administrator chooses it as the number its clients write to
    refused = choose_inbound_number(api, tenant, number)
    # Then it is a 422 naming inbound_number and the number, but not the company that holds it
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == "inbound_number"
    assert body(refused)["errors"] == [
        {
            "field": "inbound_number",
            "message": f"the number {number} is another company's: "
            "Pregón's operator settles which company a two-way number is",
        }
    ]
    assert other_tenant.company_id not in refused.body.decode()
    # And in Spanish for an administrator who reads Spanish
    spanish = choose_inbound_number(api, tenant, number, language="es-AR")
    assert spanish.status_code == 422 and body(spanish)["field"] == "inbound_number", spanish.body
    assert body(spanish)["errors"][0]["message"] == (
        f"el número {number} es de otra empresa: el operador de Pregón decide de qué empresa es un número "
        "de SMS bidireccional"
    )
    # And nothing was written: the company does not receive on it, the claim is the other's
    assert "inbound_number" not in settings_item(tenant.company_id)
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    # And the company holding the claim chooses it and receives on it, alone
    own = choose_inbound_number(api, other_tenant, number)
    assert own.status_code == 200 and body(own)["inbound_number"] == number, own.body
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == other_tenant.company_id


def test_choosing_a_number_no_company_claimed_claims_it_for_the_company(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number the operator assigned to both companies before numbers were claimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    assert claim_of(number) == {}
    # When the first company's administrator chooses it (no company receives on it)
    chosen = choose_inbound_number(api, tenant, number)
    # Then it is saved, and claimed for the company in the same write
    assert chosen.status_code == 200 and body(chosen)["inbound_number"] == number, chosen.body
    assert settings_item(tenant.company_id)["inbound_number"] == {"S": number}
    assert claim_of(number)["company_id"] == {"S": tenant.company_id}
    # And the operator can no longer give it to the other company by assigning its list again
    refused = assign_numbers(api, operator, other_tenant.company_id, [number])
    assert refused.status_code == 409 and body(refused)["field"] == "numbers", refused.body
    # And the other company's administrator cannot receive on it as well
    assert choose_inbound_number(api, other_tenant, number).status_code == 409
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == tenant.company_id


def test_a_claim_taken_by_an_assignment_between_the_check_and_the_save_leaves_one_receiver(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import sms as store

    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number the operator assigned to both companies before numbers were claimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    # And the operator assigns the other company its list again (claiming the number) just after
    # the first company's save checked that no other company receives on it
    real_receivers = store.companies_by_inbound_number
    assigned: list[Any] = []

    def check_then_the_operator_assigns(checked: str) -> list[str]:
        receivers = real_receivers(checked)
        if checked == number and not assigned:
            assigned.append(assign_numbers(api, operator, other_tenant.company_id, [number]))
        return receivers

    monkeypatch.setattr(store, "companies_by_inbound_number", check_then_the_operator_assigns)
    # When the first company's administrator's save goes on to write
    saved = choose_inbound_number(api, tenant, number)
    monkeypatch.undo()
    # Then the assignment claimed it, and the save is refused with a 422 naming inbound_number
    assert assigned[0].status_code == 200, assigned[0].body
    assert saved.status_code == 422 and body(saved)["field"] == "inbound_number", saved.body
    assert "inbound_number" not in settings_item(tenant.company_id)
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    # And once the company holding the claim chooses it, it alone receives on it
    assert choose_inbound_number(api, other_tenant, number).status_code == 200
    assert store.companies_by_inbound_number(number) == [other_tenant.company_id]
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == other_tenant.company_id


def test_an_assignment_whose_settings_keep_changing_names_the_numbers_it_was_sent(
    api: Client, tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = operator_headers(number_operator)
    first, second, added = (free_inbound_number() for _ in range(3))
    # Given a company holding two numbers and receiving on the first
    assert assign_numbers(api, operator, tenant.company_id, [first, second]).status_code == 200
    assert choose_inbound_number(api, tenant, first).status_code == 200
    # And its administrator switching between them every time the operator's assignment reads them
    receiving = [first]

    def switch() -> None:
        receiving[0] = second if receiving[0] == first else first
        assert choose_inbound_number(api, tenant, receiving[0]).status_code == 200

    changes = settings_changed_after_every_read(monkeypatch, tenant.company_id, switch)
    # When the operator gives it a third number beside them
    refused = assign_numbers(api, operator, tenant.company_id, [first, second, added])
    monkeypatch.undo()
    # Then, its tries spent, it is a 409 naming the field the operator sent: numbers
    assert changes[0] >= 2
    assert refused.status_code == 409, refused.body
    assert body(refused)["field"] == "numbers"
    assert body(refused)["message"] == "the company's SMS settings kept changing: try again"
    # And nothing of it was written: the company holds its two numbers, the third is unclaimed
    assert sorted(settings_item(tenant.company_id)["assigned_numbers"]["SS"]) == sorted([first, second])
    assert claim_of(added) == {}


def received_on_as_written_before_claims(company_id: str, number: str) -> None:
    """The company's settings name the number as the one its clients write to, as a save wrote it
    before numbers were claimed (or, with no number assigned, before numbers were assigned)."""
    import boto3

    from chalicelib.store.models import SmsSettingsModel
    from chalicelib.store.tables import bind

    bind()
    boto3.client("dynamodb").update_item(
        TableName=SmsSettingsModel.Meta.table_name,
        Key={"company_id": {"S": company_id}},
        UpdateExpression="SET inbound_number = :n, enabled = :t, provider = if_not_exists(provider, :p), "
        "sms_type = if_not_exists(sms_type, :s), default_region = if_not_exists(default_region, :r), "
        "updated_at = if_not_exists(updated_at, :u)",
        ExpressionAttributeValues={
            ":n": {"S": number},
            ":t": {"BOOL": True},
            ":p": {"S": "sns"},
            ":s": {"S": "Transactional"},
            ":r": {"S": "AR"},
            ":u": {"S": "2026-11-01T12:00:00.000000+0000"},
        },
    )


def save_settings_as_the_console_does(
    api: Client, tenant: Tenant, help_text: str, number: str | None, language: str = "en"
) -> Any:
    """The console's save: every field of the form, the two-way number as it shows it."""
    return api.http.put(
        "/sms/settings",
        headers=tenant.admin_headers() | {"Accept-Language": language},
        body=json.dumps({"enabled": True, "help_text": help_text, "inbound_number": number or ""}),
    )


def kept_number_refusal(number: str) -> str:
    return (
        f"the number {number} is now another company's: to save, choose another of this company's numbers "
        "or leave it empty (its SMS then stop reaching this company), and ask Pregón's operator which "
        "company it is"
    )


def test_saving_the_number_a_company_had_claims_it_when_no_company_has(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number the operator assigned to both companies before numbers were claimed, and the
    # first company receiving on it since then (its number was never claimed)
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    received_on_as_written_before_claims(tenant.company_id, number)
    assert claim_of(number) == {}
    # When its administrator saves another setting, sending the number again as it was
    saved = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
    # Then the settings are saved and the number is claimed for the company in the same write
    assert saved.status_code == 200, saved.body
    assert body(saved)["inbound_number"] == number and body(saved)["help_text"] == "Escriba SALDO"
    assert settings_item(tenant.company_id)["help_text"] == {"S": "Escriba SALDO"}
    assert claim_of(number)["company_id"] == {"S": tenant.company_id}
    # And the operator can no longer give it to the other company, which it alone receives on
    refused = assign_numbers(api, operator, other_tenant.company_id, [number])
    assert refused.status_code == 409 and body(refused)["field"] == "numbers", refused.body
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == tenant.company_id
    # And saving again, the number still sent, keeps its claim
    again = save_settings_as_the_console_does(api, tenant, "Escriba AYUDA", number)
    assert again.status_code == 200 and claim_of(number)["company_id"] == {"S": tenant.company_id}


def test_saving_the_number_a_company_had_is_refused_when_another_company_holds_its_claim(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number assigned to both companies before numbers were claimed, the first receiving
    # on it, and the operator's assignment of the other company's list since, which claimed it
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    received_on_as_written_before_claims(tenant.company_id, number)
    assert assign_numbers(api, operator, other_tenant.company_id, [number]).status_code == 200
    # When the first company's administrator saves another setting, sending the number as it was
    refused = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
    # Then it is a 422 naming inbound_number that says how to save, not naming the other company
    assert refused.status_code == 422, refused.body
    assert body(refused)["errors"] == [{"field": "inbound_number", "message": kept_number_refusal(number)}]
    assert other_tenant.company_id not in refused.body.decode()
    spanish = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number, language="es-AR")
    assert spanish.status_code == 422 and body(spanish)["field"] == "inbound_number", spanish.body
    assert body(spanish)["errors"][0]["message"] == (
        f"el número {number} ahora es de otra empresa: para guardar, elija otro de los números de esta "
        "empresa o déjelo vacío (sus SMS dejan entonces de llegar a esta empresa), y pregunte al operador "
        "de Pregón de qué empresa es"
    )
    # And nothing of the save was written: the claim is the other company's
    assert "help_text" not in settings_item(tenant.company_id)
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    # And a save that leaves the number out (saving is a merge) saves the rest, the number kept
    merged = api.http.put(
        "/sms/settings", headers=tenant.admin_headers(), body=json.dumps({"help_text": "Escriba SALDO"})
    )
    assert merged.status_code == 200 and body(merged)["inbound_number"] == number, merged.body
    # And once the administrator leaves it empty, it saves, and the company holding the claim may
    # receive on it, alone
    emptied = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", None)
    assert emptied.status_code == 200 and body(emptied)["inbound_number"] is None, emptied.body
    assert choose_inbound_number(api, other_tenant, number).status_code == 200
    assert receive_sms(api, number, ANA, "saldo")["company_id"] == other_tenant.company_id


def test_a_number_received_on_before_numbers_were_assigned_goes_with_its_claim_when_taken_back(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str
) -> None:
    operator = operator_headers(number_operator)
    number, another = free_inbound_number(), free_inbound_number()
    # Given a company receiving on a number it chose before numbers were assigned (none assigned)
    received_on_as_written_before_claims(tenant.company_id, number)
    # When its administrator saves, sending it again as it was
    saved = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
    # Then it keeps it, now claimed
    assert saved.status_code == 200 and body(saved)["inbound_number"] == number, saved.body
    assert claim_of(number)["company_id"] == {"S": tenant.company_id}
    # When the operator assigns the company its numbers, without that one
    assert assign_numbers(api, operator, tenant.company_id, [another]).status_code == 200
    # Then the number went from its settings with its claim, in the same write
    assert "inbound_number" not in settings_item(tenant.company_id)
    assert claim_of(number) == {}
    # And the operator may give it to another company
    given = assign_numbers(api, operator, other_tenant.company_id, [number])
    assert given.status_code == 200, given.body
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}


def test_an_assignment_claiming_the_number_between_the_read_and_the_save_of_the_one_it_had_refuses_it(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import sms as store

    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a number assigned to both companies before claims, the first receiving on it unclaimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    numbers_held_as_written_before_claims(other_tenant.company_id, number)
    received_on_as_written_before_claims(tenant.company_id, number)
    # And the operator assigns the other company its list (claiming the number) just after the
    # first company's save read its settings (both read before either writes)
    real_read = store.get_sms_settings
    assigned: list[Any] = []

    def read_then_the_operator_assigns(company_id: str) -> Any:
        current = real_read(company_id)
        if company_id == tenant.company_id and not assigned:
            assigned.append(assign_numbers(api, operator, other_tenant.company_id, [number]))
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_the_operator_assigns)
    # When the first company's save, sending the number as it was, goes on to write
    saved = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
    monkeypatch.undo()
    # Then the assignment claimed it, and the save is refused with the 422 naming inbound_number
    assert assigned[0].status_code == 200, assigned[0].body
    assert saved.status_code == 422, saved.body
    assert body(saved)["errors"] == [{"field": "inbound_number", "message": kept_number_refusal(number)}]
    # And the number has one claim, the other company's; the save wrote nothing
    assert claim_of(number)["company_id"] == {"S": other_tenant.company_id}
    assert "help_text" not in settings_item(tenant.company_id)


def test_the_operator_taking_the_number_back_between_the_read_and_the_save_of_the_one_it_had_wins(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import sms as store

    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a company receiving, unclaimed, on a number assigned to it before numbers were claimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    received_on_as_written_before_claims(tenant.company_id, number)
    # And the operator takes its numbers back just after its administrator's save read its settings
    real_read = store.get_sms_settings
    taken_back: list[Any] = []

    def read_then_the_operator_takes_it_back(company_id: str) -> Any:
        current = real_read(company_id)
        if company_id == tenant.company_id and not taken_back:
            taken_back.append(None)  # (the assignment reads the same settings: only the save's read)
            taken_back[0] = assign_numbers(api, operator, tenant.company_id, [])
        return current

    monkeypatch.setattr(store, "get_sms_settings", read_then_the_operator_takes_it_back)
    # When the save, sending the number as it was, goes on to write
    saved = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
    monkeypatch.undo()
    # Then it is refused: the number is no longer the company's (a 422 naming inbound_number)
    assert taken_back[0].status_code == 200, taken_back[0].body
    assert saved.status_code == 422, saved.body
    assert body(saved)["errors"] == [
        {
            "field": "inbound_number",
            "message": f"{number} is not a two-way number of this company: Pregón's operator assigns them",
        }
    ]
    # And the save neither put the number back nor claimed it: the operator may give it to another
    assert "inbound_number" not in settings_item(tenant.company_id)
    assert claim_of(number) == {}
    assert assign_numbers(api, operator, other_tenant.company_id, [number]).status_code == 200


def test_a_save_claiming_the_number_it_had_while_the_operator_takes_it_back_leaves_no_claim(
    api: Client, tenant: Tenant, other_tenant: Tenant, number_operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.models import SmsNumberClaimModel

    operator = operator_headers(number_operator)
    number = free_inbound_number()
    # Given a company receiving, unclaimed, on a number assigned to it before numbers were claimed
    numbers_held_as_written_before_claims(tenant.company_id, number)
    received_on_as_written_before_claims(tenant.company_id, number)
    # And its administrator's save, sending the number as it was, writes (claiming it) just after
    # the operator's assignment that takes it back read the company's settings and claims
    real_claims = SmsNumberClaimModel.batch_get
    saved: list[Any] = []

    def read_then_the_administrator_saves(keys: Any, *args: Any, **kwargs: Any) -> list[Any]:
        found = list(real_claims(keys, *args, **kwargs))
        if not saved:
            saved.append(None)  # (only the first read: the assignment's)
            saved[0] = save_settings_as_the_console_does(api, tenant, "Escriba SALDO", number)
        return found

    monkeypatch.setattr(SmsNumberClaimModel, "batch_get", read_then_the_administrator_saves)
    # When the operator's assignment goes on to write
    taken_back = assign_numbers(api, operator, tenant.company_id, [])
    monkeypatch.undo()
    # Then both went through: the save claimed the number, the assignment took it back with its claim
    assert saved[0].status_code == 200, saved[0].body
    assert taken_back.status_code == 200, taken_back.body
    assert claim_of(number) == {}
    item = settings_item(tenant.company_id)
    assert "inbound_number" not in item and "assigned_numbers" not in item
    assert item["help_text"] == {"S": "Escriba SALDO"}
    # And the operator may give it to another company
    assert assign_numbers(api, operator, other_tenant.company_id, [number]).status_code == 200


def test_the_command_refuses_more_numbers_than_the_api_takes_naming_the_field_and_writing_nothing(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given 100 free numbers (the API takes at most 20 in one assignment; 100 claims and the
    # settings are more items than one DynamoDB transaction writes)
    numbers = [free_inbound_number() for _ in range(100)]
    capsys.readouterr()
    # When the operator gives them all to a company with the command
    status = ops.main(["--target", "env", "sms", "assign-numbers", tenant.company_id, *numbers])
    # Then it is refused as the API refuses it, naming the field (exit status 2, not a traceback)
    assert status == 2
    assert "refused (422): numbers: " in capsys.readouterr().err
    # And nothing was written: no claim, no assignment
    assert all(claim_of(number) == {} for number in numbers)
    assert "assigned_numbers" not in settings_item(tenant.company_id)
