"""What Pregón itself costs on AWS per 100,000 e-mails, beside what SES charges for them (issue 14).

    uv run python -m bench.cost_model [--emails 3000] [--due 1000] [--feedback 300]

Three measured parts on the real local stack (DynamoDB Local, moto, a MailCatcher over SMTP):

* **bulk send**: one manual send (C8) to ``--emails`` clients through the SQS fan-out, as
  ``bench.bulk_send`` does (``start_send`` → ``expand_send_job`` pages → outbox →
  ``deliver_outbox``), one poller per queue;
* **tracking sweep**: one ``sweep_company`` over ``--due`` due parcels (one follower each) and the
  outbox worker draining what it queued, as ``bench.sweep_cost`` does;
* **SES feedback**: on AWS every e-mail goes out through SES, whose configuration set publishes
  the event types in ``SES_EVENT_TYPES`` to SNS: a ``Delivery`` per delivered e-mail (and a
  ``Send`` too before issue 14 dropped it). The topic delivers them into the ``ses_events``
  queue, read in batches of 10 (one invocation, one receive and one delete per batch; before
  issue 14, one invocation per event). ``--feedback`` e-mails are sent through an SES account
  (moto), their events published to the topic and the queue read by the deployed handler as
  the event source mapping does. Its cost per e-mail is added to both totals.

Every botocore call is metered (service and operation). DynamoDB is asked for
``ReturnConsumedCapacity=INDEXES`` so table and index units are apart; read and write units are
told apart by operation. DynamoDB Local reports single-item and batch operations correctly
(checked against item sizes: 1 WRU per KB per item and per index the item is in; 0.5 RRU per 4 KB
eventually consistent), but not transactions: it reports one item per table and action kind (a
100-item TransactWriteItems of 100-byte items: 2 units). So transactional units are computed here
from the items themselves: the items each transaction touches are read (unmetered, one
BatchGetItem before and one after) and each action is billed 2 WRU per KB of the larger image on
the table, plus 1 WRU per KB per index entry written (deleted and put again when its key changes:
indexes are updated after the commit, not transactionally); TransactGetItems 2 RRU per 4 KB. A
PartiQL batches (``BatchExecuteStatement``: how the store puts new items, and records a
hand-off's outcomes, without a transaction) get no capacity from DynamoDB Local either: each
statement is billed here as the single-item conditional write it is, 1 WRU per KB of the item
(an ``UPDATE``: of the larger image) plus its index entries; a ``SELECT ... IN [...]`` (the sweep's
followers) as the one query per partition DynamoDB runs for it. A
failed conditional write is billed 1 WRU (AWS bills the item's size; most of ours are under 1 KB).

Lambda: each handler invocation is timed (wall time, rounded up to the ms as AWS bills; the
meter's own size reads taken off) and priced at the function's memory from ``.chalice/config.json``
(prod stage; a function's own ``lambda_memory_size`` wins), plus the per-request charge. Two
bounds beside it: every send taking 30 ms more (SES over HTTPS instead of an SMTP server on this
machine), and the handler thread's CPU time stretched to the vCPU share the memory buys (512 MB:
0.29 of a vCPU). SQS: every request, 64 KB chunks counted; the local poller's receives and deletes
stand for the event source mapping's (empty receives are a fixed monthly cost, reported apart).
CloudWatch Logs: the bytes the handlers log at production's level (INFO) and the metrics they
print, measured, plus 400 bytes of Lambda's own lines per invocation (modelled). X-Ray (tracing is
on in both stages): 5 % of invocations recorded (modelled). Prices: :data:`PRICES`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import smtplib
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench._stack import (
    REPO_ROOT,
    MailServer,
    load_due_parcels,
    local_stack,
    mail_server,
    make_company,
    table,
    write_result,
)

# --- prices ------------------------------------------------------------------------------------

PRICES_DATE = "2026-12-01"
PRICES_REGION = "us-east-1"
#: AWS on-demand list prices (us-east-1) as read on PRICES_DATE, free tiers ignored.
PRICES: dict[str, dict[str, Any]] = {
    "dynamodb_wru": {
        "usd": 0.625 / 1e6,
        "unit": "write request unit",
        "source": (
            "DynamoDB on-demand, after the 1 Nov 2024 reduction; "
            "seen at airbyte.com/data-engineering-resources/dynamodb-pricing"
        ),
    },
    "dynamodb_rru": {
        "usd": 0.125 / 1e6,
        "unit": "read request unit",
        "source": (
            "DynamoDB on-demand, after the 1 Nov 2024 reduction; "
            "seen at airbyte.com/data-engineering-resources/dynamodb-pricing"
        ),
    },
    "lambda_gb_second": {
        "usd": 0.0000166667,
        "unit": "GB-second (x86)",
        "source": (
            "aws.amazon.com/lambda/pricing (x86, first tier); "
            "docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html"
        ),
    },
    "lambda_request": {
        "usd": 0.20 / 1e6,
        "unit": "invocation",
        "source": "docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html",
    },
    "sqs_request": {
        "usd": 0.40 / 1e6,
        "unit": "request (per 64 KB chunk)",
        "source": (
            "standard queue, first 100 billion a month, 64 KB chunks; "
            "seen at cloudburn.io/blog/amazon-sqs-pricing (Mar 2026)"
        ),
    },
    "s3_put": {
        "usd": 0.005 / 1000,
        "unit": "PUT/COPY/POST/LIST",
        "source": "S3 Standard; seen at c3x.dev/blog/s3-request-fees-explained",
    },
    "s3_get": {
        "usd": 0.0004 / 1000,
        "unit": "GET/HEAD",
        "source": "S3 Standard; seen at c3x.dev/blog/s3-request-fees-explained",
    },
    "kms_request": {
        "usd": 0.03 / 10_000,
        "unit": "request",
        "source": "symmetric keys; seen at wring.co/blog/aws-kms-pricing-guide (Mar 2026)",
    },
    "sns_publish": {
        "usd": 0.50 / 1e6,
        "unit": "publish (SES event to the topic; delivery to Lambda is free)",
        "source": (
            "standard topic; "
            "seen at factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols (Jun 2026); "
            "deliveries to Lambda free (not confirmed there)"
        ),
    },
    "cloudwatch_logs_kb": {
        "usd": 0.50 / 1e6,
        "unit": "KB of logs ingested (standard class; $0.50 per GB)",
        "source": (
            "standard log class ingestion; seen at c3x.dev/blog/cloudwatch-logs-cost-optimization (Jun 2026)"
        ),
    },
    "xray_trace": {
        "usd": 5.00 / 1e6,
        "unit": "trace recorded",
        "source": "aws.amazon.com/de/xray/pricing ($5 per million recorded; default sampling 1/s + 5 %)",
    },
    "dynamodb_storage_gb_month": {
        "usd": 0.25,
        "unit": "GB-month stored (standard table class)",
        "source": "standard table class (not confirmed with the search tool)",
    },
    "ses_email": {
        "usd": 0.10 / 1000,
        "unit": "e-mail",
        "source": "outbound e-mail; seen at acecloudinterviews.com/tutorials/aws/ses",
    },
}
PER = 100_000  # e-mails the figures are given for
TARGET_USD = 0.50  # Pregón's own cost per 100,000 e-mails (5 % of SES)
SES_SEND_SECONDS = 0.030  # the bound: each send waits this much longer for SES than for the local server
LAMBDA_FULL_VCPU_MB = 1769
# Modelled, not measured: Lambda writes START, END and REPORT lines (with X-Ray on, a trace id too)
# for every invocation; X-Ray's default sampling records the first request each second and 5 % of
# the rest, so at volume about 5 % of invocations become a trace.
LAMBDA_PLATFORM_LOG_BYTES = 400
XRAY_SAMPLED = 0.05  # Lambda gives one full vCPU at 1,769 MB; CPU share scales with memory

_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "ExecuteStatement"})
_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "BatchExecuteStatement"}
)
# A PartiQL INSERT as the store writes it (``store.tables.insert_all_or_drop``).
_INSERT = re.compile(r'INSERT INTO "([^"]+)" VALUE \{(.*)\}', re.DOTALL)
_INSERT_NAME = re.compile(r"'([^']+)': \?")
_UPDATE = re.compile(r'UPDATE "([^"]+)" ')
_SELECT = re.compile(r'SELECT .* FROM "([^"]+)" WHERE \S+ IN \[([^\]]*)\]', re.DOTALL)


def _where_key(table_: _Table, statement: dict[str, Any]) -> dict[str, Any]:
    """The key an ``UPDATE ... WHERE "k"=? AND ...`` names (its placeholders are in order)."""
    text = statement["Statement"]
    where = text.index(" WHERE ")
    key = {}
    for name in table_.keys:
        at = text.index(f'"{name}"=?', where)
        key[name] = statement["Parameters"][text[: at + len(name) + 4].count("?") - 1]
    return key


_S3_GETS = frozenset({"GetObject", "HeadObject", "HeadBucket"})


# --- DynamoDB item sizes -----------------------------------------------------------------------


def value_size(value: dict[str, Any]) -> int:
    """Bytes DynamoDB counts for one attribute value (its documented sizing rules)."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in data)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in data)
    if kind == "BS":
        return sum(len(b) for b in data)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class _Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()


@dataclass
class _Table:
    keys: tuple[str, ...]
    indexes: list[_Index]

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def entry(self, index: _Index, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item's entry in ``index`` (None when the item is not in it)."""
        if not item or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return item
        names = set(self.keys) | set(index.keys) | set(index.include)
        return {k: v for k, v in item.items() if k in names}


# --- the meter ---------------------------------------------------------------------------------


@dataclass
class CostMeter:
    """Counts every botocore call while active and turns them into billable units."""

    calls: Counter[str] = field(default_factory=Counter)
    dynamodb: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    dynamodb_by_table: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    local_reported_transactions: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    transact_items: Counter[str] = field(default_factory=Counter)
    failed_conditional_writes: int = 0
    cancelled_transactions: int = 0
    sqs_requests: int = 0
    sqs_empty_receives: int = 0
    shadow_seconds: float = 0.0  # wall time while at least one size read was in flight
    _shadow_running: int = 0
    _shadow_since: float = 0.0
    what_if: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    put_sizes: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    stored: dict[tuple[str, str], int] = field(default_factory=dict)  # bytes kept, table + indexes
    _tables: dict[str, _Table] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def thread_shadow_seconds(self) -> float:
        return float(getattr(self._local, "shadow", 0.0))

    def _add(self, key: str, units: float, table_name: str = "") -> None:
        with self._lock:
            self.dynamodb[key] += units
            if table_name:
                self.dynamodb_by_table[f"{table_name}:{key.split('_', 1)[0]}"] += units

    @contextmanager
    def active(self) -> Iterator[CostMeter]:
        from botocore.client import BaseClient

        original_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, patched below
        meter = self

        def counted_call(client: Any, operation: str, params: Any) -> Any:
            service = client.meta.service_model.service_name
            with meter._lock:
                meter.calls[f"{service}:{operation}"] += 1
            if service == "dynamodb" and (operation in _READS or operation in _WRITES):
                return meter._dynamodb_call(original_call, client, operation, params)
            response = original_call(client, operation, params)
            if service == "sqs":
                meter._sqs(operation, params, response)
            return response

        setattr(BaseClient, "_make_api_call", counted_call)  # noqa: B010
        try:
            yield self
        finally:
            setattr(BaseClient, "_make_api_call", original_call)  # noqa: B010

    # SQS: one request per 64 KB chunk of payload; empty receives apart (the pollers' fixed cost).
    def _sqs(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        payload = 0
        if operation == "SendMessage":
            payload = len(str(params.get("MessageBody", "")).encode())
        elif operation == "SendMessageBatch":
            payload = sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries", []))
        elif operation == "ReceiveMessage":
            messages = response.get("Messages") or []
            if not messages:
                with self._lock:
                    self.sqs_empty_receives += 1
                return
            payload = sum(len(str(m.get("Body", "")).encode()) for m in messages)
        with self._lock:
            self.sqs_requests += max(1, math.ceil(payload / 65536))

    # DynamoDB ------------------------------------------------------------------------------------
    def _table(self, original_call: Any, client: Any, name: str) -> _Table:
        found = self._tables.get(name)
        if found is None:
            described = original_call(client, "DescribeTable", {"TableName": name})["Table"]
            indexes = [
                _Index(
                    gsi["IndexName"],
                    tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                    gsi["Projection"].get("ProjectionType", "ALL"),
                    tuple(gsi["Projection"].get("NonKeyAttributes", ())),
                )
                for gsi in described.get("GlobalSecondaryIndexes", [])
            ]
            found = _Table(tuple(k["AttributeName"] for k in described["KeySchema"]), indexes)
            self._tables[name] = found
        return found

    def _dynamodb_call(self, original_call: Any, client: Any, operation: str, params: Any) -> Any:
        params["ReturnConsumedCapacity"] = "INDEXES"
        if operation == "TransactWriteItems":
            return self._transact_write(original_call, client, params)
        if operation == "BatchExecuteStatement":
            return self._batch_insert(original_call, client, params)
        if operation == "ExecuteStatement":
            return self._select(original_call, client, params)
        try:
            response = original_call(client, operation, params)
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                with self._lock:
                    self.failed_conditional_writes += 1
                self._add("write_table", 1.0, str(params.get("TableName", "")))
            raise
        if operation == "TransactGetItems":
            self._transact_get(params, response)
            return response
        kind = "read" if operation in _READS else "write"
        consumed = response.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            name = str(entry.get("TableName", ""))
            table_units = float((entry.get("Table") or {}).get("CapacityUnits", 0.0))
            index_units = sum(
                float(v.get("CapacityUnits", 0.0))
                for part in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                for v in (entry.get(part) or {}).values()
            )
            if not entry.get("Table") and not index_units:
                table_units = float(entry.get("CapacityUnits", 0.0))
            self._add(f"{kind}_table", table_units, name)
            self._add(f"{kind}_index", index_units, name)
        return response

    def _batch_insert(self, original_call: Any, client: Any, params: dict[str, Any]) -> Any:
        """PartiQL writes, 25 to a request (how the store puts new items and records a hand-off's
        outcomes without a transaction): DynamoDB Local reports no capacity for them, so each is
        billed here as the single-item write it is: an ``INSERT`` 1 WRU per KB of the item, an
        ``UPDATE`` 1 WRU per KB of the larger of its images (read before and after, unmetered,
        as for transactions), each plus its index entries; a refused one (its key existed, its
        condition failed) 1 WRU, like a failed condition."""
        statements = params.get("Statements", [])
        updates: list[tuple[int, str, dict[str, Any]]] = []
        for n, statement in enumerate(statements):
            found = _UPDATE.match(statement["Statement"])
            if found is not None:
                name = found.group(1)
                table_ = self._table(original_call, client, name)
                updates.append((n, name, _where_key(table_, statement)))
        before = self._images(original_call, client, [(name, key) for _, name, key in updates])
        response = original_call(client, "BatchExecuteStatement", params)
        after = self._images(original_call, client, [(name, key) for _, name, key in updates])
        images = {n: (old, new) for (n, _, _), old, new in zip(updates, before, after, strict=True)}
        answers = response.get("Responses", [])
        for n, (statement, answer) in enumerate(zip(statements, answers, strict=True)):
            if n in images:
                name = _UPDATE.match(statement["Statement"]).group(1)  # type: ignore[union-attr]
                old, new = images[n]
                item, previous = new, old
            else:
                found = _INSERT.fullmatch(statement["Statement"])
                if found is None:
                    raise ValueError(f"cost_model meters INSERT and UPDATE only: {statement['Statement']!r}")
                name = found.group(1)
                item = dict(zip(_INSERT_NAME.findall(found.group(2)), statement["Parameters"], strict=True))
                previous = None
            table_ = self._table(original_call, client, name)
            if answer.get("Error"):
                with self._lock:
                    self.failed_conditional_writes += 1
                self._add("write_table", 1.0, name)
                continue
            self._add("write_table", float(_kb(max(item_size(previous), item_size(item)))), name)
            for index in table_.indexes:
                self._add("write_index", _index_write_units(table_, index, previous, item), name)
            self._keep(table_, name, item)
            if previous is None:
                with self._lock:
                    sizes = self.put_sizes[name]
                    sizes[0] += 1
                    sizes[1] += item_size(item)
                    sizes[2] += item_size(item) - item_size(_without(item, _BODIES))
        return response

    def _select(self, original_call: Any, client: Any, params: dict[str, Any]) -> Any:
        """A PartiQL ``SELECT ... WHERE <partition key> IN [...]`` (the sweep's followers): DynamoDB
        runs it as one query per partition named and DynamoDB Local reports no capacity, so each
        partition is billed here as that query: the items it returned, per started 4 KB (1 RRU
        consistent, 0.5 not), at least one unit (items a filter dropped are not seen: a floor)."""
        response = original_call(client, "ExecuteStatement", params)
        text = str(params["Statement"])
        found = _SELECT.search(text)
        if found is None:
            raise ValueError(f"cost_model meters SELECT ... IN [...] only: {text!r}")
        name = found.group(1)
        table_ = self._table(original_call, client, name)
        hash_key = table_.keys[0]
        named = params["Parameters"][: found.group(2).count("?")]
        sizes: Counter[str] = Counter({json.dumps(value, sort_keys=True): 0 for value in named})
        for item in response.get("Items", []):
            sizes[json.dumps(item[hash_key], sort_keys=True)] += item_size(item)
        unit = 1.0 if params.get("ConsistentRead") else 0.5
        self._add("read_table", sum(unit * max(1, math.ceil(n / 4096)) for n in sizes.values()), name)
        return response

    def _transact_get(self, params: dict[str, Any], response: dict[str, Any]) -> None:
        for action, answer in zip(
            params.get("TransactItems", []), response.get("Responses", []), strict=False
        ):
            name = str(action["Get"]["TableName"])
            self._add("read_table", 2.0 * max(1, math.ceil(item_size(answer.get("Item")) / 4096)), name)
        consumed = response.get("ConsumedCapacity") or []
        with self._lock:
            self.local_reported_transactions["TransactGetItems"] += sum(
                float(c.get("CapacityUnits", 0.0)) for c in consumed
            )

    def _images(self, original_call: Any, client: Any, keys: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """The current items at ``keys`` (consistent reads, not metered), in order."""
        started = time.perf_counter()
        with self._lock:
            self._shadow_running += 1
            if self._shadow_running == 1:
                self._shadow_since = started
        found: dict[tuple[str, str], dict[str, Any]] = {}
        request: dict[str, Any] = {}
        for name, key in keys:
            request.setdefault(name, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        while request:
            answer = original_call(client, "BatchGetItem", {"RequestItems": request})
            for name, items in answer.get("Responses", {}).items():
                table_ = self._tables[name]
                for item in items:
                    found[(name, json.dumps(table_.key_of(item), sort_keys=True, default=str))] = item
            request = answer.get("UnprocessedKeys") or {}
        ended = time.perf_counter()
        seconds = ended - started
        with self._lock:
            self._shadow_running -= 1
            if self._shadow_running == 0:
                self.shadow_seconds += ended - self._shadow_since
        self._local.shadow = self.thread_shadow_seconds() + seconds
        return [found.get((name, json.dumps(key, sort_keys=True, default=str))) for name, key in keys]

    def _transact_write(self, original_call: Any, client: Any, params: dict[str, Any]) -> Any:
        actions: list[tuple[str, str, dict[str, Any]]] = []
        for entry in params.get("TransactItems", []):
            (kind, body), *_ = entry.items()
            name = str(body["TableName"])
            table_ = self._table(original_call, client, name)
            key = table_.key_of(body["Item"]) if kind == "Put" else body["Key"]
            actions.append((kind, name, key))
            with self._lock:
                self.transact_items[kind] += 1
        keys = [(name, key) for _, name, key in actions]
        before = self._images(original_call, client, keys)
        try:
            response = original_call(client, "TransactWriteItems", params)
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if code == "TransactionCanceledException":
                with self._lock:
                    self.cancelled_transactions += 1
                for (_, name, _), old in zip(actions, before, strict=True):
                    self._add("write_table", 2.0 * _kb(item_size(old)), name)
            raise
        after = self._images(original_call, client, keys)
        for (kind, name, _), old, new in zip(actions, before, after, strict=True):
            table_ = self._tables[name]
            if kind == "ConditionCheck":
                self._add("write_table", 2.0 * _kb(item_size(old)), name)
                continue
            self._add("write_table", 2.0 * _kb(max(item_size(old), item_size(new))), name)
            for index in table_.indexes:
                self._add("write_index", _index_write_units(table_, index, old, new), name)
            self._what_if(table_, name, kind, old, new)
            self._keep(table_, name, new)
        consumed = response.get("ConsumedCapacity") or []
        with self._lock:
            self.local_reported_transactions["TransactWriteItems"] += sum(
                float(c.get("CapacityUnits", 0.0)) for c in consumed
            )
        return response

    def _keep(self, table_: _Table, name: str, item: dict[str, Any] | None) -> None:
        """What an item written in a transaction leaves stored: DynamoDB bills its size plus
        100 bytes, in the table and in every index holding an entry for it."""
        if item is None:
            return
        entries = [table_.entry(index, item) for index in table_.indexes]
        kept = item_size(item) + 100 + sum(item_size(e) + 100 for e in entries if e is not None)
        with self._lock:
            self.stored[(name, json.dumps(table_.key_of(item), sort_keys=True, default=str))] = kept

    def _what_if(self, table_: _Table, name: str, kind: str, old: Any, new: Any) -> None:
        """What the same transactional action would cost another way (for the report)."""
        slim_old, slim_new = _without(old, _BODIES), _without(new, _BODIES)
        keys_only = [_Index(i.name, i.keys, "KEYS_ONLY") for i in table_.indexes]
        with self._lock:
            self.what_if["table_actual"] += 2.0 * _kb(max(item_size(old), item_size(new)))
            self.what_if["table_not_transactional"] += 1.0 * _kb(max(item_size(old), item_size(new)))
            self.what_if["table_without_bodies"] += 2.0 * _kb(max(item_size(slim_old), item_size(slim_new)))
            self.what_if["index_actual"] += sum(
                _index_write_units(table_, i, old, new) for i in table_.indexes
            )
            self.what_if["index_keys_only"] += sum(_index_write_units(table_, i, old, new) for i in keys_only)
            self.what_if["index_without_bodies"] += sum(
                _index_write_units(table_, i, slim_old, slim_new) for i in table_.indexes
            )
            self.what_if["table_lean"] += 1.0 * _kb(max(item_size(slim_old), item_size(slim_new)))
            self.what_if["index_lean"] += sum(
                _index_write_units(table_, i, slim_old, slim_new) for i in keys_only
            )
            if kind == "Put" and new is not None:
                sizes = self.put_sizes[name]
                sizes[0] += 1
                sizes[1] += item_size(new)
                sizes[2] += item_size(new) - item_size(_without(new, _BODIES))


# Attributes holding a message's rendered content (and the search text made from it).
_BODIES = frozenset({"text", "html", "search_text", "headers"})


def _without(item: dict[str, Any] | None, names: frozenset[str]) -> dict[str, Any] | None:
    return None if item is None else {k: v for k, v in item.items() if k not in names}


def _index_write_units(table_: _Table, index: _Index, old: Any, new: Any) -> float:
    """WRU an index pays for one change of an item: a put, a delete, or both when its key moves."""
    was, now = table_.entry(index, old), table_.entry(index, new)
    if was is None and now is None:
        return 0.0
    if was is None or now is None:
        return float(_kb(item_size(was or now)))
    if any(was[k] != now[k] for k in index.keys):
        return float(_kb(item_size(was)) + _kb(item_size(now)))
    return float(_kb(max(item_size(was), item_size(now)))) if was != now else 0.0


# --- Lambda ------------------------------------------------------------------------------------


def function_memory_mb(function: str, stage: str = "prod") -> int:
    """The memory a function is deployed with (``.chalice/config.json``)."""
    config = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text())
    stage_config = config.get("stages", {}).get(stage, {})
    memory = stage_config.get("lambda_memory_size", config.get("lambda_memory_size", 128))
    own = stage_config.get("lambda_functions", {}).get(function, {})
    return int(own.get("lambda_memory_size", memory))


@dataclass
class LambdaMeter:
    """Invocations of the deployed handlers, their billed wall time (ms, rounded up) and the
    handler thread's CPU time, by function; time spent in the meter's own size reads is taken off."""

    meter: CostMeter
    invocations: Counter[str] = field(default_factory=Counter)
    billed_ms: Counter[str] = field(default_factory=Counter)
    cpu_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: int = 0
    _started: int = 0

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        with self._lock:
            self._running += 1
            self._started += 1
            alone, ticket = self._running == 1, self._started
        shadow_all, shadow_mine = self.meter.shadow_seconds, self.meter.thread_shadow_seconds()
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - wall
            cpu_used = time.thread_time() - cpu
            with self._lock:
                alone = alone and self._started == ticket
                self._running -= 1
            # Alone, every size read during the call was ours (a handler's pools included).
            shadow = (
                self.meter.shadow_seconds - shadow_all
                if alone
                else self.meter.thread_shadow_seconds() - shadow_mine
            )
            with self._lock:
                self.invocations[function] += 1
                self.billed_ms[function] += max(1, math.ceil((seconds - shadow) * 1000))
                self.cpu_seconds[function] += cpu_used

    @contextmanager
    def handlers(self, app: Any, names: tuple[str, ...]) -> Iterator[None]:
        """Time the app's deployed handlers ``names`` while active (the local queue runner
        invokes them through ``app.handler_map``)."""
        originals = {name: app.handler_map[name] for name in names}

        def timed(name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
            def call(event: Any, context: Any) -> Any:
                with self.invocation(name):
                    return handler(event, context)

            return call

        for name, handler in originals.items():
            app.handler_map[name] = timed(name, handler)
        try:
            yield
        finally:
            app.handler_map.update(originals)


@dataclass
class SendClock:
    """Wall time spent handing e-mails to the SMTP server (smtplib), to swap for SES's latency."""

    seconds: float = 0.0
    sends: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def active(self) -> Iterator[SendClock]:
        original = smtplib.SMTP.sendmail
        clock = self

        def sendmail(smtp: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(smtp, *args, **kwargs)
            finally:
                with clock._lock:
                    clock.seconds += time.perf_counter() - started
                    clock.sends += 1

        setattr(smtplib.SMTP, "sendmail", sendmail)  # noqa: B010
        try:
            yield self
        finally:
            setattr(smtplib.SMTP, "sendmail", original)  # noqa: B010


class _CountingSink:
    def __init__(self, meter: LogMeter) -> None:
        self.meter = meter

    def write(self, text: str) -> int:
        with self.meter._lock:
            self.meter.bytes += len(text.encode())
        return len(text)

    def flush(self) -> None:
        pass


@dataclass
class LogMeter:
    """Bytes the handlers write to their logs at production's log level (INFO: the stages set
    none, so Powertools' default) and the metrics Powertools prints (EMF lines), none shown."""

    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def active(self) -> Iterator[LogMeter]:
        import contextlib
        import logging

        from chalicelib.core.observability import logger

        log = logger()
        handler = log.registered_handler
        sink = _CountingSink(self)
        level = log.log_level
        old = handler.setStream(sink) if isinstance(handler, logging.StreamHandler) else None
        log.setLevel("INFO")
        try:
            with contextlib.redirect_stdout(sink):  # type: ignore[type-var,unused-ignore]
                yield self
        finally:
            log.setLevel(level)
            if old is not None and isinstance(handler, logging.StreamHandler):
                handler.setStream(old)


# --- pricing -----------------------------------------------------------------------------------


def price(name: str) -> float:
    return float(PRICES[name]["usd"])


def costs(
    part: dict[str, Any], emails: int, *, lambda_seconds_key: str = "billed_seconds"
) -> list[dict[str, Any]]:
    """Each billable component of one measured part: units per e-mail and $ per 100,000 e-mails."""
    ddb, calls, lam = part["dynamodb_units"], part["aws_calls"], part["lambda"]
    s3_gets = sum(v for k, v in calls.items() if k.startswith("s3:") and k.split(":", 1)[1] in _S3_GETS)
    s3_puts = sum(v for k, v in calls.items() if k.startswith("s3:") and k.split(":", 1)[1] not in _S3_GETS)
    kms = sum(v for k, v in calls.items() if k.startswith("kms:"))
    gb_seconds = sum(f["memory_mb"] / 1024 * f[lambda_seconds_key] for f in lam["functions"].values())
    invocations = sum(f["invocations"] for f in lam["functions"].values())
    rows = [
        ("DynamoDB writes, tables (WRU)", ddb.get("write_table", 0.0), "dynamodb_wru"),
        ("DynamoDB writes, indexes (WRU)", ddb.get("write_index", 0.0), "dynamodb_wru"),
        ("DynamoDB reads, tables (RRU)", ddb.get("read_table", 0.0), "dynamodb_rru"),
        ("DynamoDB reads, indexes (RRU)", ddb.get("read_index", 0.0), "dynamodb_rru"),
        ("Lambda duration (GB-s)", gb_seconds, "lambda_gb_second"),
        ("Lambda requests", invocations, "lambda_request"),
        ("SQS requests", part["sqs_requests"], "sqs_request"),
        ("S3 PUT", s3_puts, "s3_put"),
        ("S3 GET", s3_gets, "s3_get"),
        ("KMS requests", kms, "kms_request"),
        ("SNS publishes (SES events)", part.get("sns_publishes", 0), "sns_publish"),
        (
            "CloudWatch Logs (KB)",
            (part["log_bytes"] + invocations * LAMBDA_PLATFORM_LOG_BYTES) / 1e3,
            "cloudwatch_logs_kb",
        ),
        ("X-Ray traces (modelled)", invocations * XRAY_SAMPLED, "xray_trace"),
    ]
    return [
        {
            "component": label,
            "units": round(float(units), 4),
            "units_per_email": float(units) / emails if emails else 0.0,
            "usd_per_100k": float(units) / emails * PER * price(key) if emails else 0.0,
        }
        for label, units, key in rows
    ]


def _part(
    meter: CostMeter, lambdas: LambdaMeter, sends: SendClock, logs: LogMeter, emails: int, **extra: Any
) -> dict[str, Any]:
    functions = {}
    for name, count in sorted(lambdas.invocations.items()):
        billed = lambdas.billed_ms[name] / 1000
        cpu = lambdas.cpu_seconds[name]
        memory = function_memory_mb(name)
        share = min(1.0, memory / LAMBDA_FULL_VCPU_MB)
        functions[name] = {
            "invocations": count,
            "memory_mb": memory,
            "billed_seconds": round(billed, 3),
            "handler_thread_cpu_seconds": round(cpu, 3),
            # At ``memory`` a function gets ``share`` of a vCPU: its own CPU work takes 1/share as long.
            "cpu_share_bound_seconds": round(billed + cpu * (1 / share - 1), 3),
        }
    # The SES bound: the local SMTP server is on this machine; SES is an HTTPS call away. Every
    # send is charged SES_SEND_SECONDS more than it took here.
    extra_seconds = sends.sends * SES_SEND_SECONDS
    senders = [n for n in functions if n == "deliver_outbox"]
    for name in functions:
        functions[name]["ses_bound_seconds"] = round(
            functions[name]["billed_seconds"] + (extra_seconds if name in senders else 0.0), 3
        )
    return {
        "emails": emails,
        "aws_calls": dict(sorted(meter.calls.items())),
        "dynamodb_units": {k: round(v, 2) for k, v in sorted(meter.dynamodb.items())},
        "dynamodb_units_by_table": {k: round(v, 2) for k, v in sorted(meter.dynamodb_by_table.items())},
        "dynamodb_local_reported_for_transactions": dict(meter.local_reported_transactions),
        "transaction_actions": dict(meter.transact_items),
        "failed_conditional_writes": meter.failed_conditional_writes,
        "cancelled_transactions": meter.cancelled_transactions,
        "sqs_requests": meter.sqs_requests,
        "sqs_empty_receives_not_counted": meter.sqs_empty_receives,
        "lambda": {
            "functions": functions,
            "smtp_sends": sends.sends,
            "smtp_send_seconds": round(sends.seconds, 3),
        },
        "size_reads_seconds_not_billed": round(meter.shadow_seconds, 3),
        "log_bytes": logs.bytes,
        "stored_bytes_of_new_items": sum(meter.stored.values()),
        "transactional_write_units_other_ways": {k: round(v, 1) for k, v in sorted(meter.what_if.items())},
        "new_items_put": {
            name: {"items": n, "mean_bytes": round(total / n), "mean_body_bytes": round(body / n)}
            for name, (n, total, body) in sorted(meter.put_sizes.items())
            if n
        },
        **extra,
    }


# --- the measured parts ------------------------------------------------------------------------


def measure_bulk(mail: MailServer, emails: int) -> tuple[dict[str, Any], Any]:
    """The bulk send's cost, and one of its e-mails (the SES feedback part sends look-alikes)."""
    from app import app
    from bench.bulk_send import _company_with_clients
    from chalicelib.messaging.templates import MESSAGE_TYPES
    from chalicelib.producers.sends.manual import ClientFilter, SendRequest, get_send_job, start_send
    from chalicelib.tenants.auth.principal import Principal
    from infrastructure.local.queues import LocalQueueRunner

    started = time.perf_counter()
    company_id = _company_with_clients(mail, emails)
    print(f"bulk: {emails:,} clients saved in {time.perf_counter() - started:.1f}s", flush=True)
    variables = MESSAGE_TYPES["invoice"].sample_send_variables()
    before = mail.count()
    meter = CostMeter()
    lambdas = LambdaMeter(meter)
    with (
        SendClock().active() as sends,
        LogMeter().active() as logs,
        meter.active(),
        lambdas.handlers(app, ("expand_send_job", "deliver_outbox")),
        LocalQueueRunner(app, workers=1) as runner,
    ):
        started = time.perf_counter()
        with lambdas.invocation("api_handler"):  # POST /sends
            result = start_send(
                company_id,
                SendRequest(
                    channel="email",
                    template_key="invoice",
                    variables=variables,
                    client_filter=ClientFilter(),
                    created_by="bench",
                ),
            )
        assert result.job is not None
        caught = mail.wait_for(before + emails, timeout=1800) - before
        user = Principal(company_id=company_id, kind="user", subject="bench", level=1)
        job = get_send_job(user, result.job.job_id)
        while job.state != "done" and time.perf_counter() - started < 1900:
            time.sleep(0.5)
            job = get_send_job(user, result.job.job_id)
        seconds = time.perf_counter() - started
        failures = runner.failures
    print(f"bulk: {caught:,} e-mails in {seconds:.1f}s, job {job.state}", flush=True)
    from chalicelib.store import communications as comm_store

    sample = comm_store.history_page(company_id, "email", limit=1).items[0]
    part = _part(
        meter,
        lambdas,
        sends,
        logs,
        caught,
        seconds=round(seconds, 1),
        job={"state": job.state, "total": job.total, "sent": job.sent, "failed": job.failed},
        handler_failures=failures,
    )
    return part, sample


def measure_sweep(mail: MailServer, due: int) -> dict[str, Any]:
    from app import app
    from chalicelib.producers.tracking.sweep import sweep_company
    from infrastructure.local.queues import run_queues_until_empty

    company_id = make_company(mail.port)
    started = time.perf_counter()
    load_due_parcels(company_id, due, prefix="COST")
    print(f"sweep: {due:,} due parcels made in {time.perf_counter() - started:.1f}s", flush=True)
    before = mail.count()
    meter = CostMeter()
    lambdas = LambdaMeter(meter)
    with (
        SendClock().active() as sends,
        LogMeter().active() as logs,
        meter.active(),
        lambdas.handlers(app, ("deliver_outbox",)),
    ):
        started = time.perf_counter()
        with lambdas.invocation("sweep_tracking_alerts"):
            report = sweep_company(company_id)
        answers = run_queues_until_empty(app)
        seconds = time.perf_counter() - started
    sent = sum(int((a or {}).get("sent", 0)) for a in answers)
    caught = mail.wait_for(before + sent) - before
    print(f"sweep: {caught:,} e-mails in {seconds:.1f}s", flush=True)
    return _part(
        meter, lambdas, sends, logs, caught, seconds=round(seconds, 1), parcels=report.parcels, sent=sent
    )


def measure_feedback(count: int, sample: Any) -> dict[str, Any]:
    """E-mails like ``sample`` (same subject and bodies, so the items are as large) through an
    SES account (moto), then the SES events published for each (Delivery, tagged as SES echoes
    our send's tags), delivered as on AWS since issue 14: SES publishes each to the SNS topic
    (moto, not metered: its price is ``sns_publishes``), the topic delivers it raw into the
    ``ses_events`` queue (free), and the event source mapping hands the deployed handler batches
    of up to 10: each batch is one invocation, one receive and one delete request."""
    import boto3

    from app import app
    from chalicelib.channels.ses import COMMUNICATION_TAG, COMPANY_TAG, company_tag_value
    from chalicelib.events.ses_events import SES_EVENTS_TOPIC
    from chalicelib.messaging.accounts.domains import register_sending_domain
    from chalicelib.messaging.accounts.email import save_sender_account
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.store import communications as comm_store
    from infrastructure.local.queues import consumers, run_queues_until_empty

    company_id = make_company(None, name="Feedback SES")
    # SES accounts send only from a domain the company registered and SES verified (session 4).
    domain = f"{company_id}.ses.example"
    assert register_sending_domain(company_id, domain, by="bench").verified
    sender = f"avisos@{domain}"
    boto3.client("ses").verify_email_identity(EmailAddress=sender)
    save_sender_account(
        company_id,
        "all",
        {"kind": "ses", "display_name": "Feedback", "from_address": sender, "ses_identity": sender},
    )
    queued = enqueue(
        company_id,
        [
            OutgoingMessage(
                channel="email",
                to_address=f"cliente{i}@example.com",
                subject=sample.subject,
                text=sample.text,
                html=sample.html,
            )
            for i in range(count)
        ],
    )
    run_queues_until_empty(app)
    comms = [comm_store.get(company_id, c.communication_id) for c in queued]
    sent = [c for c in comms if c is not None and c.state == "sent" and c.provider_message_id]
    tags = {COMPANY_TAG: [company_tag_value(company_id)]}
    messages = [
        _ses_event(event_type, comm, tags | {COMMUNICATION_TAG: [comm.communication_id]})
        for comm in sent
        for event_type in _published_event_types()
    ]
    sns = boto3.client("sns")
    topic = sns.create_topic(Name=SES_EVENTS_TOPIC)["TopicArn"]
    for start in range(0, len(messages), 10):  # SES publishes one at a time; batches only load faster
        sns.publish_batch(
            TopicArn=topic,
            PublishBatchRequestEntries=[
                {"Id": str(n), "Message": m} for n, m in enumerate(messages[start : start + 10])
            ],
        )
    meter = CostMeter()
    lambdas = LambdaMeter(meter)
    results: Counter[str] = Counter()
    answers: list[Any] = []
    with (
        SendClock().active() as sends,
        LogMeter().active() as logs,
        meter.active(),
        lambdas.handlers(app, ("ses_events",)),
    ):
        [consumer] = [c for c in consumers(app) if c.name == "ses_events"]
        while consumer.poll_once(results=answers):
            pass
    for answer in answers:
        results.update((answer or {}).get("results") or {})
    print(
        f"feedback: {len(sent):,} SES e-mails, events {dict(results)} in {len(answers)} batches", flush=True
    )
    return _part(
        meter,
        lambdas,
        sends,
        logs,
        len(sent),
        sns_publishes=len(messages),
        results=dict(results),
        batches=len(answers),
    )


def _published_event_types() -> list[str]:
    """The events SES publishes for a delivered e-mail under the configuration set's event types
    (``SES_EVENT_TYPES``): Delivery; Send too while the set asked for it (before issue 14)."""
    from chalicelib.events.ses_events import SES_EVENT_TYPES

    return [name for name in ("Send", "Delivery") if name.lower() in SES_EVENT_TYPES]


def _ses_event(event_type: str, comm: Any, tags: dict[str, list[str]]) -> str:
    """SES's event-publishing record for one of our messages (fields as SES documents them)."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    address = comm.to_address or ""
    message: dict[str, Any] = {
        "eventType": event_type,
        "mail": {
            "timestamp": now,
            "source": "avisos@ses.example",
            "sendingAccountId": "123456789012",
            "messageId": comm.provider_message_id,
            "destination": [address],
            "headersTruncated": False,
            "commonHeaders": {"to": [address], "subject": "Su factura"},
            "tags": tags | {"ses:configuration-set": ["pregon-events"]},
        },
    }
    if event_type == "Delivery":
        message["delivery"] = {
            "timestamp": now,
            "processingTimeMillis": 1200,
            "recipients": [address],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    else:
        message["send"] = {}
    return json.dumps(message)


# --- the report --------------------------------------------------------------------------------


def _total(rows: list[dict[str, Any]]) -> float:
    return sum(r["usd_per_100k"] for r in rows)


@contextmanager
def _smtp_counted_as_ses() -> Iterator[None]:
    """The bulk send and the sweep go through an SMTP account standing for SES (as the 30 ms bound
    does): on AWS they go through Pregón's SES, whose e-mails count in the company's daily e-mail
    allowance (session 37), so the stand-in's count there too, at the same requests."""
    from chalicelib.messaging.accounts import email_allowance

    counts = email_allowance.counts_in_allowance
    email_allowance.counts_in_allowance = lambda account: True
    try:
        yield
    finally:
        email_allowance.counts_in_allowance = counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--emails", type=int, default=3_000, help="clients in the bulk send")
    parser.add_argument("--due", type=int, default=1_000, help="due parcels in the sweep")
    parser.add_argument("--feedback", type=int, default=300, help="SES e-mails whose events are fed")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_stack(),
        mail_server(Path(tmp) / "mail") as mail,
        _smtp_counted_as_ses(),
    ):
        bulk, sample = measure_bulk(mail, args.emails)
        parts = {
            "bulk_send": bulk,
            "tracking_sweep": measure_sweep(mail, args.due),
            "ses_feedback": measure_feedback(args.feedback, sample),
        }
    feedback_rows = costs(parts["ses_feedback"], parts["ses_feedback"]["emails"])
    feedback_bound = costs(
        parts["ses_feedback"], parts["ses_feedback"]["emails"], lambda_seconds_key="cpu_share_bound_seconds"
    )
    ses_usd = price("ses_email") * PER
    verdicts: dict[str, Any] = {}
    for name in ("bulk_send", "tracking_sweep"):
        part = parts[name]
        rows = costs(part, part["emails"])
        measured = _total(rows) + _total(feedback_rows)
        with_ses = _total(costs(part, part["emails"], lambda_seconds_key="ses_bound_seconds")) + _total(
            feedback_rows
        )
        cpu_bound = _total(
            costs(part, part["emails"], lambda_seconds_key="cpu_share_bound_seconds")
        ) + _total(feedback_bound)
        # The lower bound of this claim's shape: its transactional writes as lean as the what-ifs
        # below allow together (not transactional, every index keys-only, no bodies).
        ways = part["transactional_write_units_other_ways"]
        lean_saving = (
            (
                (ways.get("table_actual", 0.0) - ways.get("table_lean", 0.0))
                + (ways.get("index_actual", 0.0) - ways.get("index_lean", 0.0))
            )
            / max(part["emails"], 1)
            * PER
            * price("dynamodb_wru")
        )
        lean_bound = measured - lean_saving
        verdicts[name] = {
            "rows": rows,
            "usd_per_100k_if_transactional_writes_lean": round(lean_bound, 4),
            "usd_per_100k": round(measured, 4),
            "usd_per_100k_30ms_more_per_send": round(with_ses, 4),
            "usd_per_100k_cpu_share_bound": round(cpu_bound, 4),
            "share_of_ses": round(measured / ses_usd, 4),
            "target_met": max(measured, with_ses) <= TARGET_USD,
        }
        print()
        print(f"{name.replace('_', ' ')}: {part['emails']:,} e-mails measured; per e-mail and per {PER:,}")
        print(
            table(
                ["component", "units / e-mail", f"$ / {PER:,} e-mails"],
                [[r["component"], f"{r['units_per_email']:.4f}", f"{r['usd_per_100k']:.4f}"] for r in rows]
                + [
                    [
                        "+ SES feedback (the published events: SNS, Lambda, DynamoDB)",
                        "",
                        f"{_total(feedback_rows):.4f}",
                    ],
                    ["Pregón total", "", f"{measured:.4f}"],
                    [
                        f"  with {SES_SEND_SECONDS * 1000:.0f} ms more per send (SES over HTTPS)",
                        "",
                        f"{with_ses:.4f}",
                    ],
                    ["  with Lambda's CPU share at the configured memory", "", f"{cpu_bound:.4f}"],
                    [
                        "  if its transactional writes were lean (no transaction, keys-only, no bodies)",
                        "",
                        f"{lean_bound:.4f}",
                    ],
                    ["SES itself", "", f"{ses_usd:.4f}"],
                ],
            )
        )
        print(
            f"target: Pregón <= ${TARGET_USD:.2f} per {PER:,} e-mails (5 % of SES): "
            f"{'MET' if verdicts[name]['target_met'] else 'NOT MET'} "
            f"({measured / ses_usd:.1%} of SES; {with_ses / ses_usd:.1%} with 30 ms more per send)"
        )
    print()
    print("Where the DynamoDB writes go: WRU per e-mail of the transactional writes, measured and other ways")
    other_ways = [
        ("table, as measured (2 per KB)", "table_actual"),
        ("table, if not transactional", "table_not_transactional"),
        ("table, without the bodies (text, html, search_text, headers)", "table_without_bodies"),
        ("indexes, as measured", "index_actual"),
        ("indexes, if every index were keys-only", "index_keys_only"),
        ("indexes, without the bodies", "index_without_bodies"),
        ("table, all three: no bodies, not transactional", "table_lean"),
        ("indexes, all three: no bodies, keys-only", "index_lean"),
    ]
    print(
        table(
            ["", *parts],
            [
                [
                    label,
                    *[
                        f"{p['transactional_write_units_other_ways'].get(key, 0.0) / max(p['emails'], 1):.2f}"
                        for p in parts.values()
                    ],
                ]
                for label, key in other_ways
            ],
        )
    )
    for name, part in parts.items():
        for table_name, sizes in part["new_items_put"].items():
            print(f"  {name}: {table_name} items put: {sizes}")
    print()
    for name in ("bulk_send", "tracking_sweep"):
        part = parts[name]
        kept = part["stored_bytes_of_new_items"] / max(part["emails"], 1)
        monthly = kept * PER / 1e9 * price("dynamodb_storage_gb_month")
        verdicts[name]["stored_bytes_per_email"] = round(kept)
        verdicts[name]["storage_usd_per_100k_per_month_kept"] = round(monthly, 4)
        print(
            f"{name}: {kept:,.0f} bytes stored per e-mail (table and index copies): "
            f"${monthly:.4f} per {PER:,} e-mails for every month they are kept (not in the totals)"
        )
    print()
    print("SES feedback per e-mail:")
    print(
        table(
            ["component", "units / e-mail", f"$ / {PER:,} e-mails"],
            [
                [r["component"], f"{r['units_per_email']:.4f}", f"{r['usd_per_100k']:.4f}"]
                for r in feedback_rows
            ],
        )
    )
    path = write_result(
        "cost_model",
        {
            "arguments": vars(args),
            "prices": {"date": PRICES_DATE, "region": PRICES_REGION, "items": PRICES},
            "per_emails": PER,
            "target_usd": TARGET_USD,
            "ses_usd": ses_usd,
            "ses_send_seconds_bound": SES_SEND_SECONDS,
            "parts": parts,
            "ses_feedback_rows": feedback_rows,
            "results": verdicts,
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
