"""The store's models find their stage's tables by themselves, on first use (DynamoDB Local)."""

from __future__ import annotations

from collections.abc import Iterator

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
