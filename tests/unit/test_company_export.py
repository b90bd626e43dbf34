"""A company's export (``ops company export``, docs/operations.md "A company leaves") holds every
table of Pregón's but those it says it leaves out, and why."""

from __future__ import annotations


def test_every_table_is_exported_or_the_export_says_why_not() -> None:
    from chalicelib.records.leaving import LEFT_OUT
    from chalicelib.store import leaving as store
    from chalicelib.store.models import ALL_MODELS

    # Given every table Pregón keeps, and what a company's export writes and what it leaves out
    tables = {store.table_of(model) for model in ALL_MODELS}
    exported = {kind for kind, _ in store.export_sources("co-1")}
    left_out = {store.table_of(model) for model in store.NOT_EXPORTED}
    # Then each table is in one of them, not both (a table added later is exported, or named here)
    assert sorted(tables - exported - left_out) == []
    assert exported & left_out == set()
    # And the export's README says why each left out is left out, naming it
    for model, why in store.NOT_EXPORTED.items():
        assert why.startswith(f"{store.table_of(model)}: ") and why in LEFT_OUT
