"""The store's models find their stage's tables by themselves, on first use (DynamoDB Local)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.steps.tenants import Tenant


@pytest.fixture
def fresh_process(local_aws: dict[str, str]) -> Iterator[None]:
    """The models as a new Lambda process has them: base table names, nothing bound yet."""
    from chalicelib.store import tables

    tables.bind.cache_clear()
    for model, base in tables.base_table_names().items():
        model.Meta.table_name = base
        model._connection = None
    yield
    tables.rebind()


def test_a_model_used_first_thing_in_a_new_process_reads_the_stages_table(
    tenant: Tenant, fresh_process: None
) -> None:
    from chalicelib.store.models import CompanyModel, SendJobModel

    # Given a company stored in the stage's tables, and a process where nothing has bound them
    # When a model is used directly, with no store function binding the tables first
    item = CompanyModel.get(tenant.company_id, consistent_read=True)
    # Then it reads the stage's table (pregon-test-companies), not a table called "companies"
    assert item.name == "Cargas del Sur"
    assert CompanyModel.Meta.table_name == "pregon-test-companies"
    # And every other model was bound by that first use too
    assert SendJobModel.Meta.table_name.startswith("pregon-test-")


def test_a_new_process_makes_every_table_client_from_one_session(tenant: Tenant, fresh_process: None) -> None:
    from chalicelib.core.aws import botocore_session, client
    from chalicelib.store import tables
    from chalicelib.store.models import CompanyModel, ParcelModel, SendJobModel

    # Given a process where nothing has touched DynamoDB yet
    # When three tables, a transaction's connection and an SQS client are used
    assert CompanyModel.get(tenant.company_id, consistent_read=True).name == "Cargas del Sur"
    assert ParcelModel.count(f"{tenant.company_id}#none") == 0
    assert SendJobModel.count(tenant.company_id) == 0
    made: list[Any] = [
        m._get_connection().connection.client for m in (CompanyModel, ParcelModel, SendJobModel)
    ]
    made += [tables.connection().client, client("sqs")]
    # Then every client was made from the process's one session: botocore's service models are
    # read and parsed once (a new session per table cost a cold worker ~70 ms of CPU each)
    loaders = {id(c._loader) for c in made}
    assert loaders == {id(botocore_session().get_component("data_loader"))}
    # And each table still has its own client, as PynamoDB makes it
    assert len({id(c) for c in made}) == len(made)


def test_a_local_table_kept_from_an_older_run_gets_the_indexes_projections_of_now(
    local_aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import secrets

    import boto3

    from chalicelib.store import tables
    from chalicelib.store.models import LISTING_ATTRIBUTES, OUTCOME_ATTRIBUTES, CommunicationModel

    # Given a communications table kept from before issue 14: every index projecting ALL
    tables.bind()
    schema: Any = CommunicationModel._get_schema()
    client = boto3.client("dynamodb")
    name = f"pregon-test-old-communications-{secrets.token_hex(3)}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=schema["attribute_definitions"],
        KeySchema=sorted(schema["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
        GlobalSecondaryIndexes=[
            {
                "IndexName": index["index_name"],
                "KeySchema": sorted(index["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in schema["global_secondary_indexes"]
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setattr(CommunicationModel.Meta, "table_name", name)
    monkeypatch.setattr(CommunicationModel, "_connection", None)

    # When the local stack starts on it again
    tables._add_missing_indexes(CommunicationModel)

    # Then its indexes project what the model declares now
    found = client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
    projections = {i["IndexName"]: i["Projection"] for i in found}
    assert projections["by-client"]["ProjectionType"] == "INCLUDE"
    assert set(projections["by-client"]["NonKeyAttributes"]) == set(LISTING_ATTRIBUTES)
    assert set(projections["by-channel"]["NonKeyAttributes"]) == set(LISTING_ATTRIBUTES + OUTCOME_ATTRIBUTES)
    assert projections["unassigned"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["thread_owner"]}
    assert projections["ready"] == {"ProjectionType": "KEYS_ONLY"}
    assert len(projections) == len(schema["global_secondary_indexes"])
    client.delete_table(TableName=name)
