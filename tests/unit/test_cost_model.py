"""The cost model's DynamoDB arithmetic (bench.cost_model) follows DynamoDB's documented rules,
the ones DynamoDB Local gets right for single-item writes and wrong for transactions."""

from __future__ import annotations

from typing import Any

from bench.cost_model import (
    PRICES,
    PRICES_DATE,
    _Index,
    _index_write_units,
    _Table,
    function_memory_mb,
    item_size,
)

TABLE = _Table(
    keys=("pk",),
    indexes=[_Index("by-status", ("status",), "ALL"), _Index("ready", ("ready_at",), "KEYS_ONLY")],
)


def item(status: str | None, body_bytes: int, ready_at: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"pk": {"S": "m-1"}, "body": {"S": "x" * body_bytes}}
    if status:
        found["status"] = {"S": status}
    if ready_at:
        found["ready_at"] = {"S": ready_at}
    return found


def test_an_item_is_sized_by_its_names_and_values() -> None:
    # Given an item with a string, a number, a boolean, a list and a map
    sized = {
        "name": {"S": "Ana"},  # 4 + 3
        "total": {"N": "12345.67"},  # 5 + (7 digits + 1) // 2 + 1 = 5
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"L": [{"S": "a"}, {"S": "bc"}]},  # 4 + 3 + (1 + 1) + (2 + 1)
        "m": {"M": {"k": {"S": "v"}}},  # 1 + 3 + (1 + 1 + 1)
    }
    # When it is sized; Then the bytes are DynamoDB's
    assert item_size(sized) == 7 + 10 + 3 + 12 + 7


def test_an_index_write_is_one_unit_per_kb_of_its_entry_and_two_when_its_key_moves() -> None:
    # Given a 2.5 KB item entering both indexes
    new = item("queued", 2500, ready_at="2026-12-01T10:00")
    # When it is put; Then the ALL index copies the whole item (3 WRU), the keys-only one 1 WRU
    assert _index_write_units(TABLE, TABLE.indexes[0], None, new) == 3.0
    assert _index_write_units(TABLE, TABLE.indexes[1], None, new) == 1.0

    # When its status moves and it leaves the ready index
    sent = item("sent", 2500)
    # Then by-status deletes the old entry and puts the new one (3 + 3), ready deletes its entry (1)
    assert _index_write_units(TABLE, TABLE.indexes[0], new, sent) == 6.0
    assert _index_write_units(TABLE, TABLE.indexes[1], new, sent) == 1.0

    # When nothing an index holds changes; Then that index is not written
    assert _index_write_units(TABLE, TABLE.indexes[1], sent, item("sent", 2600)) == 0.0
    assert _index_write_units(TABLE, TABLE.indexes[0], sent, item("sent", 2600)) == 3.0


def test_functions_are_priced_at_their_deployed_memory_and_prices_carry_their_date() -> None:
    # Given the prod stage of .chalice/config.json; When the outbox worker's memory is read
    # Then it is the stage's 512 MB (the function overrides only its timeout)
    assert function_memory_mb("deliver_outbox") == 512
    # And every price says where it came from, as of one date
    assert PRICES_DATE == "2026-12-01"
    assert all(p["usd"] > 0 and p["source"] for p in PRICES.values())
    assert PRICES["dynamodb_wru"]["usd"] * 1e6 == 0.625
