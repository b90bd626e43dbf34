"""What one conditional write costs DynamoDB Local, by API and by how many indexes its table has.

    uv run python -m bench.emulator_writes [--items 2000] [--rounds 3]

Not a target of its own: it measures the emulator the other benchmarks run on (issue 14, point 1).
The ``communications`` table as Pregón creates it (its seven global secondary indexes) is copied
into tables that keep its key and only its first 0, 1, 3 and 5 indexes. Into each, ``--items``
message-like items (the attributes a queued e-mail carries, ~0.8 KB, none of the indexes' keys, so
no index entry is ever written) are written and then updated, one API at a time:

* ``partiql``: conditional PartiQL ``INSERT`` / ``UPDATE ... WHERE`` statements, 25 to a
  ``BatchExecuteStatement`` (how the store puts new messages and records a hand-off's outcomes:
  ``store.tables.execute_all_or_drop``);
* ``transaction``: the same conditions as ``Put`` / ``Update`` actions, 25 to a
  ``TransactWriteItems`` (AWS bills each action twice);
* ``single``: one conditional ``PutItem`` / ``UpdateItem`` per item (one request each);
* ``batch_write``: ``BatchWriteItem``, 25 to a request (puts only: it takes no condition).

It reports DynamoDB Local's CPU milliseconds per item (the JVM's user and system time from /proc),
warm: the first round compiles, so the table shows the median of the later rounds. On AWS none of
this is Pregón's cost (a write is billed by size, not by how many indexes its table declares); here
it is what a benchmark's DynamoDB side spends on each e-mail (see decision 0011, session 28).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bench._stack import cpu_by_side, local_stack, median, table, write_result

KEEP_INDEXES = (0, 1, 3, 5, 7)
STATEMENTS = 25  # a BatchExecuteStatement, a TransactWriteItems and a BatchWriteItem at most
_PLAIN = [
    "direction", "channel", "kind", "message_type", "client_id", "contact_id", "outbox",
    "sender_area", "from_address", "from_name", "to_address", "to_name", "subject", "job_id",
]  # fmt: skip


def _emulator_cpu() -> float:
    """CPU seconds DynamoDB Local's JVM used so far (user and system, from /proc)."""
    return cpu_by_side()["dynamodb_local"]


def _copies(client: Any, source: str) -> dict[int, str]:
    """The source table's key and attribute definitions, with its first ``n`` indexes each."""
    described = client.describe_table(TableName=source)["Table"]
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in described.get("GlobalSecondaryIndexes", [])
    ]
    indexes.sort(key=lambda i: str(i["IndexName"]))
    names: dict[int, str] = {}
    for n in KEEP_INDEXES:
        kept = indexes[:n]
        used = {k["AttributeName"] for k in described["KeySchema"]}
        used |= {k["AttributeName"] for i in kept for k in i["KeySchema"]}
        name = f"emulator-writes-{n}-indexes"
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=described["KeySchema"],
            AttributeDefinitions=[a for a in described["AttributeDefinitions"] if a["AttributeName"] in used],
            **({"GlobalSecondaryIndexes": kept} if kept else {}),
        )
        names[n] = name
    return names


def _item(key: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "company_id": {"S": "co-emulator"},
        "communication_id": {"S": key},
        "state": {"S": "sending"},
        "attempts": {"N": "1"},
        "lease_until": {"S": "2026-12-05T00:05:00.000000+0000"},
        "body_z": {"B": os.urandom(400)},
    }
    item.update({name: {"S": f"{name}-{key}"} for name in _PLAIN})
    return item


def _key(key: str) -> dict[str, Any]:
    return {"company_id": {"S": "co-emulator"}, "communication_id": {"S": key}}


_SENT = {
    ":sent": {"S": "sent"},
    ":sending": {"S": "sending"},
    ":at": {"S": "2026-12-05T00:01:00.000000+0000"},
}
_UPDATE = {
    "UpdateExpression": "SET #state = :sent, sent_at = :at",
    "ConditionExpression": "#state = :sending",
    "ExpressionAttributeNames": {"#state": "state"},
    "ExpressionAttributeValues": _SENT,
}


Write = Callable[[str, list[str]], None]  # (table, keys)


def _insert(name: str, item: dict[str, Any]) -> dict[str, Any]:
    """The store's ``INSERT INTO "table" VALUE {'name': ?, ...}`` (``store.tables``)."""
    names = ", ".join(f"'{attribute}': ?" for attribute in item)
    return {"Statement": f'INSERT INTO "{name}" VALUE {{{names}}}', "Parameters": list(item.values())}


def _writers(client: Any) -> dict[str, tuple[Write, Write | None]]:
    def chunks(keys: list[str]) -> list[list[str]]:
        return [keys[i : i + STATEMENTS] for i in range(0, len(keys), STATEMENTS)]

    def statements(statements: list[dict[str, Any]]) -> None:
        answer = client.batch_execute_statement(Statements=statements)
        failed = [r["Error"] for r in answer["Responses"] if "Error" in r]
        if failed:
            raise RuntimeError(f"PartiQL statement refused: {failed[0]}")

    def partiql_insert(name: str, keys: list[str]) -> None:
        for chunk in chunks(keys):
            statements([_insert(name, _item(k)) for k in chunk])

    def partiql_update(name: str, keys: list[str]) -> None:
        where = 'WHERE "company_id"=? AND "communication_id"=? AND "state"=?'
        for chunk in chunks(keys):
            statements(
                [
                    {
                        "Statement": f'UPDATE "{name}" SET "state"=? SET "sent_at"=? {where}',
                        "Parameters": [_SENT[":sent"], _SENT[":at"], *_key(k).values(), _SENT[":sending"]],
                    }
                    for k in chunk
                ]
            )

    new = {"ConditionExpression": "attribute_not_exists(communication_id)"}

    def transaction_put(name: str, keys: list[str]) -> None:
        for chunk in chunks(keys):
            client.transact_write_items(
                TransactItems=[{"Put": {"TableName": name, "Item": _item(k), **new}} for k in chunk]
            )

    def transaction_update(name: str, keys: list[str]) -> None:
        for chunk in chunks(keys):
            client.transact_write_items(
                TransactItems=[{"Update": {"TableName": name, "Key": _key(k), **_UPDATE}} for k in chunk]
            )

    def single_put(name: str, keys: list[str]) -> None:
        for k in keys:
            client.put_item(TableName=name, Item=_item(k), **new)

    def single_update(name: str, keys: list[str]) -> None:
        for k in keys:
            client.update_item(TableName=name, Key=_key(k), **_UPDATE)

    def batch_write(name: str, keys: list[str]) -> None:
        for chunk in chunks(keys):
            client.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": _item(k)}} for k in chunk]})

    return {
        "partiql": (partiql_insert, partiql_update),
        "transaction": (transaction_put, transaction_update),
        "single": (single_put, single_update),
        "batch_write": (batch_write, None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with local_stack():
        from chalicelib.store.models import CommunicationModel
        from chalicelib.store.tables import connection

        client: Any = connection().client
        names = _copies(client, CommunicationModel.Meta.table_name)
        writers = _writers(client)
        serial = 0
        # (api, write, indexes) -> CPU ms per item, one per round
        samples: dict[tuple[str, str, int], list[float]] = {}
        for _ in range(args.rounds):
            for indexes, name in names.items():
                for api, (put, update) in writers.items():
                    keys = [f"m{serial + i:08d}" for i in range(args.items)]
                    serial += args.items
                    before = _emulator_cpu()
                    put(name, keys)
                    middle = _emulator_cpu()
                    samples.setdefault((api, "put", indexes), []).append(
                        (middle - before) * 1000 / args.items
                    )
                    if update is not None:
                        update(name, keys)
                        after = _emulator_cpu()
                        samples.setdefault((api, "update", indexes), []).append(
                            (after - middle) * 1000 / args.items
                        )

    warm = {key: median(values[1:] or values) for key, values in samples.items()}
    rows = [
        [f"{api} {write}", *(warm[(api, write, n)] for n in KEEP_INDEXES)]
        for api, write in sorted({(a, w) for a, w, _ in warm})
    ]
    print(f"\nDynamoDB Local's CPU ms per item, warm (median of rounds 2..{args.rounds}), by indexes")
    print(table(["write", *(f"{n} indexes" for n in KEEP_INDEXES)], rows))
    per_index = {
        f"{api} {write}": round((warm[(api, write, 7)] - warm[(api, write, 0)]) / 7, 4)
        for api, write in sorted({(a, w) for a, w, _ in warm})
    }
    print("\neach index of the table adds, per item written (ms):")
    print(table(["write", "ms per index"], sorted(per_index.items())))
    path = write_result(
        "emulator_writes",
        {
            "arguments": vars(args),
            "cpu_ms_per_item_warm": {
                f"{a} {w} {n} indexes": round(v, 4) for (a, w, n), v in sorted(warm.items())
            },
            "cpu_ms_per_index_per_item": per_index,
            "rounds": {
                f"{a} {w} {n} indexes": [round(v, 4) for v in vs] for (a, w, n), vs in sorted(samples.items())
            },
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
