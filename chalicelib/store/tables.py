"""Binds the models to their stage's table names, lazily, and creates tables locally."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.core.settings import get_settings
from chalicelib.store import models

T = TypeVar("T")
# Cancellation reasons that mean "someone else changed this item first": the caller backs off.
LOST_RACE = frozenset({"ConditionalCheckFailed", "TransactionConflict"})

_BASE_NAMES = {m: m.Meta.table_name for m in models.ALL_MODELS}
_TTL: dict[type[Model], str] = {
    models.SubscriptionModel: "expires",
    models.OutboxModel: "expires",
    models.RateLimitModel: "expires",
    models.WebhookDeliveryModel: "expires",
}


@lru_cache(maxsize=1)
def bind() -> str:
    """Point every model at ``<prefix><base name>``; returns the prefix. Idempotent. Store
    functions need not call it: ``models.BoundModel`` calls it before any operation."""
    prefix = get_settings().table_prefix
    for model, base in _BASE_NAMES.items():
        model.Meta.table_name = prefix + base
        model._connection = None
    return prefix


def rebind() -> str:
    bind.cache_clear()
    connection.cache_clear()
    return bind()


def base_table_names() -> dict[type[Model], str]:
    """Each model's table name without the stage prefix (for the deployment template)."""
    return dict(_BASE_NAMES)


def create_tables(*, expire_items: bool = True) -> None:
    """Create every table that does not exist yet, with its TTL (local stack and tests).

    ``expire_items=False`` turns TTL off (PynamoDB's ``create_table`` turns it on by itself): tests
    freeze the clock in the past, and DynamoDB Local would delete by the real date items whose
    expiry the frozen clock has not reached (a lockout counter vanished mid-test)."""
    bind()
    for model in models.ALL_MODELS:
        if not model.exists():
            if expire_items:
                model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
            else:
                with _ttl_left_off(model):
                    model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")
        else:
            _add_missing_indexes(model)
        ttl_attribute = _TTL.get(model)
        if not ttl_attribute:
            continue
        client: Any = model._get_connection().connection.client
        status = client.describe_time_to_live(TableName=model.Meta.table_name)
        enabled = status["TimeToLiveDescription"]["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
        if enabled != expire_items:
            client.update_time_to_live(
                TableName=model.Meta.table_name,
                TimeToLiveSpecification={"Enabled": expire_items, "AttributeName": ttl_attribute},
            )


def _projection_of(projection: dict[str, Any]) -> tuple[str, frozenset[str]]:
    return projection.get("ProjectionType", "ALL"), frozenset(projection.get("NonKeyAttributes") or ())


def _add_missing_indexes(model: type[Model]) -> None:
    """A table kept from an older run (the local stack persists DynamoDB Local's data) gets the
    global secondary indexes its model declared since, one at a time as DynamoDB wants them; an
    index whose projection changed since (issue 14's lean listing indexes) is built again."""
    client: Any = model._get_connection().connection.client
    table = client.describe_table(TableName=model.Meta.table_name)["Table"]
    present = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
    schema = model._get_schema()
    wanted = schema.get("global_secondary_indexes") or []
    definitions = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
    for index in wanted:
        if index["index_name"] in present:
            if _projection_of(present[index["index_name"]]["Projection"]) == _projection_of(
                index["projection"]
            ):
                continue
            client.update_table(
                TableName=model.Meta.table_name,
                GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index["index_name"]}}],
            )
            _wait_until_gone(client, model.Meta.table_name, index["index_name"])
        key_schema = sorted(index["key_schema"], key=lambda k: k["KeyType"] != "HASH")  # HASH first
        keys = [k["AttributeName"] for k in key_schema]
        client.update_table(
            TableName=model.Meta.table_name,
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": definitions[k]} for k in keys],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": index["index_name"],
                        "KeySchema": key_schema,
                        "Projection": index["projection"],
                    }
                }
            ],
        )
        client.get_waiter("table_exists").wait(TableName=model.Meta.table_name)
        _wait_until_active(client, model.Meta.table_name, index["index_name"])


def _wait_until_active(client: Any, table_name: str, index_name: str) -> None:
    """DynamoDB builds one index of a table at a time: the next change waits for this one."""
    for _ in range(600):
        table = client.describe_table(TableName=table_name)["Table"]
        states = {i["IndexName"]: i.get("IndexStatus") for i in table.get("GlobalSecondaryIndexes", [])}
        if states.get(index_name) in ("ACTIVE", None) and "CREATING" not in states.values():
            return
        time.sleep(0.1)
    raise TimeoutError(f"the index {index_name} of {table_name} was not built in 60 s")


def _wait_until_gone(client: Any, table_name: str, index_name: str) -> None:
    for _ in range(600):
        table = client.describe_table(TableName=table_name)["Table"]
        if all(i["IndexName"] != index_name for i in table.get("GlobalSecondaryIndexes", [])):
            return
        time.sleep(0.1)
    raise TimeoutError(f"the index {index_name} of {table_name} was not deleted in 60 s")


@contextmanager
def _ttl_left_off(model: type[Model]) -> Iterator[None]:
    """PynamoDB's ``create_table`` enables TTL for a model with a TTL attribute; skip that."""
    original = model.__dict__.get("update_ttl")
    model.update_ttl = classmethod(lambda cls, ignore_update_ttl_errors: None)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        if original is None:
            del model.update_ttl
        else:
            model.update_ttl = original  # type: ignore[method-assign]


@lru_cache(maxsize=1)
def connection() -> Connection:
    """The low-level connection transactions need (same region and endpoint as the models)."""
    bind()
    return share_session(Connection())


def share_session(low_level: Connection) -> Connection:
    """Make the connection's DynamoDB client now, from the process's one botocore session
    (``core.aws.botocore_session``), with PynamoDB's own client settings. PynamoDB would give
    each connection a session of its own, and a new session parses botocore's DynamoDB model
    and endpoint rules again: ~70 ms of CPU per table on a cold worker (issue 14)."""
    from chalicelib.core.aws import CLIENT_CREATION, botocore_session

    if low_level._client is None:  # PynamoDB keeps the client once made
        with CLIENT_CREATION:
            if low_level._client is None:
                low_level._local.session = botocore_session()  # the session it makes clients from
                _ = low_level.client
    return low_level


def failure_code(exc: PynamoDBException) -> str | None:
    """DynamoDB's error code behind a PynamoDB error (``ConditionalCheckFailedException``...); None
    when DynamoDB never answered: a connection reset or refused leaves botocore's error with
    ``response=None``, on which PynamoDB's own ``cause_response_code`` raises an AttributeError
    that would hide the lost connection (found by the soak, bench/soak.py)."""
    response = getattr(exc.cause, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code is not None else None


def written(write: Callable[[], object]) -> bool:
    """Run one conditional write (a save, update or delete with a condition); False when DynamoDB
    refused it because the condition did not hold, so nothing changed. Other errors are raised."""
    try:
        write()
    except PynamoDBException as exc:
        if failure_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def version_held(model: type[Model], expected: tuple[int, ...] | None, attribute: Any = None) -> Any:
    """The condition that the stored item of ``model`` is still at one of the versions ``expected``
    (what an ``If-Match`` names); None (no ``If-Match``, or ``*``) is no condition, and none at all
    never holds. Version 0 is an item written before versions, or none yet: no ``version``.
    ``attribute``: the version of one part of the item people edit apart (a company's settings and
    its branding), instead of ``model.version``."""
    if expected is None:
        return None
    version = model.version if attribute is None else attribute  # type: ignore[attr-defined]
    held = version == -1  # holds for no item: versions start at 0
    if 0 in expected:
        held = held | version.does_not_exist() | (version == 0)
    if any(expected):
        held = held | version.is_in(*[v for v in expected if v])
    return held


# Versions are drawn at random from 1 .. 10**15 - 1 (at most 15 digits, what ``api.http.if_match``
# reads): 0 stays "never versioned", and two writes share a version with odds of 1 in 10**15.
_VERSIONS = 10**15 - 1


def fresh_version() -> int:
    """A version no other write of the same thing gave, with odds of 1 in 10**15 (:func:`new_version`)."""
    return secrets.randbelow(_VERSIONS) + 1


def new_version(model: type[Model], attribute: Any = None) -> Any:
    """The action that gives the item of ``model`` a version no other write gave it: a fresh
    random one, not the stored one plus 1, so deleting a thing and creating it again (a template
    reset to the default and saved again, a sender account removed and set up again) does not
    start its versions again at 1, where an ETag read before the delete would match it
    (docs/decisions/0016-edit-versions.md). ``attribute``: as for :func:`version_held`."""
    version = model.version if attribute is None else attribute  # type: ignore[attr-defined]
    return version.set(fresh_version())


def replace_versioned(item: Model, expected: tuple[int, ...] | None, *, condition: Any = None) -> bool:
    """Write ``item`` whole, as the next version of the stored one, in one conditional UpdateItem:
    each attribute set (None removes it) and ``version`` set to a fresh one (:func:`new_version`),
    so every write, with or without ``expected``, gives a version no other write gave, even after
    a delete. With ``expected`` (the versions an ``If-Match`` names, :func:`version_held`), only if
    the stored item is still at one; False then, nothing written.
    ``item`` then holds what was stored, its new ``version`` too.

    PynamoDB's ``VersionAttribute`` would add its condition to every ``save`` of the model, also
    the blind writes the ERP relies on and the other kinds of item a table keeps (a reminder
    concept shares its table with clients' settings): docs/decisions/0016-edit-versions.md."""
    model = type(item)
    actions: list[Any] = []
    for name, attribute in model.get_attributes().items():
        if attribute.is_hash_key or attribute.is_range_key or name == "version":
            continue
        value = getattr(item, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    actions.append(new_version(model))
    held = version_held(model, expected)
    if held is not None:
        condition = held if condition is None else condition & held
    return written(lambda: item.update(actions=actions, condition=condition))


def transacted(build: Callable[[TransactWrite], None]) -> bool:
    """Run one transaction ``build`` fills; False when DynamoDB cancelled it because a condition
    did not hold (or another writer raced it): nothing changed. Other errors are raised."""
    try:
        with TransactWrite(connection=connection()) as tx:
            build(tx)
    except TransactWriteError as exc:
        if any(r is not None and r.code in LOST_RACE for r in exc.cancellation_reasons or []):
            return False
        raise
    return True


# A condition check a transaction holds on an item it does not write (``tx.condition_check``).
Check = Callable[[TransactWrite], None]


class CheckFailed(Exception):
    """A transaction's condition on an item it does not write (:func:`transact_all_or_drop`'s
    ``checks``) did not hold: nothing was written. ``failed``: the positions of those checks;
    ``written``: what earlier transactions of the same write wrote, for a writer that needs more
    than one (``store.communications.add_new``)."""

    def __init__(self, failed: Sequence[int], written: Sequence[Any] = ()) -> None:
        super().__init__(f"the conditions {list(failed)} of the transaction did not hold")
        self.failed = tuple(failed)
        self.written: tuple[Any, ...] = tuple(written)


def saved_once(item: Model, condition: Any, checks: Sequence[Check] = ()) -> bool:
    """Save ``item`` on ``condition`` (its first time, as a rule); False when the condition did
    not hold. With ``checks``, in one transaction with them (:func:`transact_all_or_drop`'s:
    :class:`CheckFailed`, nothing written, when one does not hold)."""
    if checks:
        return bool(
            transact_all_or_drop([item], lambda tx, i: tx.save(i, condition=condition), checks=checks)
        )
    return written(lambda: item.save(condition=condition))


# How often a transaction whose checks raced another writer (``TransactionConflict``) is tried again.
_CHECK_TRIES = 5


def transact_all_or_drop(
    entries: Sequence[T],
    add: Callable[[TransactWrite, T], None],
    actions_per_entry: int = 1,
    *,
    extra: Callable[[TransactWrite, list[T]], None] | None = None,
    checks: Sequence[Check] = (),
) -> list[T]:
    """Write each entry's conditional actions in one transaction, all-or-nothing per entry: when
    the transaction is cancelled, the entries whose conditions failed (or that raced another
    writer) are dropped and the rest written again. Returns the entries that were written.

    Every entry must add ``actions_per_entry`` actions of one kind (all puts or all updates):
    PynamoDB orders a transaction's items by kind, and the cancellation reasons come back in
    that order. ``extra`` adds, after them, updates that belong with the entries written
    (counters of what they became): they commit exactly when the entries do. One that raced
    another writer (``TransactionConflict`` on a busy counter) is written again with them; one
    whose own condition fails (the counted item is gone) cancels the write: it is raised.
    ``checks`` each add one condition check (``tx.condition_check``) on an item the transaction
    does not write, which PynamoDB puts first: the entries are written only while every one
    holds, and :class:`CheckFailed` is raised (nothing written) when one does not.
    """
    pending = list(entries)
    conflicts = 0
    while pending:
        try:
            with TransactWrite(connection=connection()) as tx:
                for check in checks:
                    check(tx)
                for entry in pending:
                    add(tx, entry)
                if extra is not None:
                    extra(tx, pending)  # nosec B610 # our transaction callback named extra, not Django's
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            checked, reasons = reasons[: len(checks)], reasons[len(checks) :]
            codes = [why.code if why is not None else None for why in checked]
            failed = [n for n, code in enumerate(codes) if code == "ConditionalCheckFailed"]
            if failed:
                raise CheckFailed(failed) from exc
            if "TransactionConflict" in codes:
                conflicts += 1  # a checked item written meanwhile: look again
                if conflicts < _CHECK_TRIES:
                    time.sleep(0.025 * 2**conflicts)
                    continue
                raise
            lost = {
                n // actions_per_entry
                for n, reason in enumerate(reasons)
                if reason is not None and reason.code in LOST_RACE
            }
            counted_gone = any(  # an extra's own condition (its item is gone): no entry to drop
                reason is not None and reason.code == "ConditionalCheckFailed"
                for reason in reasons[len(pending) * actions_per_entry :]
            )
            if not lost or counted_gone:
                raise
            pending = [entry for i, entry in enumerate(pending) if i not in lost]
            continue
        return pending
    return []


# PartiQL's batch (issue 14): up to 25 statements a request, each billed as the single-item
# write it is (1 WRU per KB), not twice as in a transaction.
_BATCH_STATEMENTS = 25
# Per-statement errors that mean "this key already exists" (an INSERT's built-in condition).
_ALREADY_THERE = frozenset({"DuplicateItem", "ConditionalCheckFailed"})
_INSERT_TRIES = 8


def backoff(attempt: int) -> None:
    """Wait before trying a refused write again: 25 ms doubling with each attempt, at most 1 s."""
    time.sleep(min(1.0, 0.025 * 2**attempt))


def insert_all_or_drop(items: Sequence[Model]) -> list[bool]:
    """Put new items, each only if its key is not taken yet (PartiQL ``INSERT``, 25 to a request):
    the conditional put of every item without a transaction's double price, and without one
    request per item. Returns, in order, whether each item was written (False: its key existed,
    nothing changed)."""
    return execute_all_or_drop([_insert_statement(item) for item in items])


def execute_all_or_drop(statements: Sequence[dict[str, Any]]) -> list[bool]:
    """Run conditional PartiQL writes (``INSERT``, or ``UPDATE ... WHERE`` its conditions), 25 to
    a request, each on its own. Returns, in order, whether each was written (False: its
    condition did not hold, nothing changed). A statement refused for another reason
    (throttled, a conflict with a transaction) is tried again, with backoff; what still fails
    after that raises."""
    done: list[bool | None] = [None] * len(statements)
    pending = list(range(len(statements)))
    for attempt in range(_INSERT_TRIES):
        retry: list[int] = []
        for start in range(0, len(pending), _BATCH_STATEMENTS):
            chunk = pending[start : start + _BATCH_STATEMENTS]
            client: Any = connection().client  # botocore's client; PynamoDB has no PartiQL
            answer = client.batch_execute_statement(Statements=[statements[i] for i in chunk])
            for i, response in zip(chunk, answer["Responses"], strict=True):
                code = (response.get("Error") or {}).get("Code")
                if code is None:
                    done[i] = True
                elif code in _ALREADY_THERE:
                    done[i] = False
                else:
                    retry.append(i)
        if not retry:
            return [bool(d) for d in done]
        pending = retry
        backoff(attempt)
    raise RuntimeError(f"{len(pending)} PartiQL writes failed: {statements[pending[0]]['Statement'][:80]}")


def attribute_value(attribute: Any, value: Any) -> dict[str, Any]:
    """A model attribute's value as DynamoDB's typed JSON (a PartiQL parameter)."""
    return {attribute.attr_type: attribute.serialize(value)}


def _insert_statement(item: Model) -> dict[str, Any]:
    """``INSERT INTO "table" VALUE {'name': ?, ...}`` with the item's serialized attributes."""
    values = item.serialize()
    names = ", ".join(f"'{name}': ?" for name in values)
    return {
        "Statement": f'INSERT INTO "{type(item).Meta.table_name}" VALUE {{{names}}}',
        "Parameters": list(values.values()),
    }


def existing_items(items: list[Model]) -> list[Model]:
    """Those of ``items`` that exist (a batch read of their keys), as keys only: a client's
    erasure and a company's deletion delete what they find."""
    by_model: dict[type[Model], list[Model]] = {}
    for item in items:
        by_model.setdefault(type(item), []).append(item)
    found: list[Model] = []
    for model, group in by_model.items():
        keys = [key_of(i) for i in group]
        found += [model(*key_of(i)) for i in model.batch_get(keys)]
    return found


def key_of(item: Model) -> tuple[Any, ...]:
    """The item's key: (hash,) or (hash, range)."""
    hash_name = str(type(item)._hash_keyname)
    range_name = type(item)._range_keyname
    hash_value = getattr(item, hash_name)
    return (hash_value,) if range_name is None else (hash_value, getattr(item, range_name))
