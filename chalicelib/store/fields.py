"""Copying a domain record to a stored item and back, field by field, by name.

The store reads items into the frozen dataclasses of ``core.domain`` and writes them back; most
fields are the model attribute of the same name. These helpers copy those, so a converter spells
out only the fields that differ (a default, a type, a key made of two fields)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pynamodb.attributes import AttributeContainer
from pynamodb.models import Model

from chalicelib.core.domain import record_of
from chalicelib.core.errors import ValidationFailed

R = TypeVar("R")
M = TypeVar("M", bound=AttributeContainer)  # a model, or a map attribute inside one


def record_from(item: Any, record_type: type[R], **values: Any) -> R:
    """The domain record ``record_type`` of a stored item (or map attribute): each field is the
    item's attribute of the same name, unless ``values`` gives it."""
    return record_of(record_type, item, **values)


def item_from(model: type[M], record: Any, *, leave_out: Iterable[str] = (), **values: Any) -> M:
    """A stored item of ``model`` (or a map attribute of one) with each of ``record``'s fields that
    ``model`` has an attribute of the same name for (keys included), but those in ``leave_out``;
    ``values`` gives the rest."""
    attributes = model.get_attributes()
    skipped = set(leave_out) | set(values)
    copied = {
        f.name: getattr(record, f.name)
        for f in dataclasses.fields(record)
        if f.name in attributes and f.name not in skipped
    }
    return model(**copied, **values)


def set_or_remove(
    model: type[Model], record: Any, names: Iterable[str], *, remove: Iterable[str] = ()
) -> list[Any]:
    """Update actions writing ``record``'s fields ``names`` on the attributes of the same name; a
    field that is None removes its attribute, as do the attributes named in ``remove`` (say, a
    password kept for a destination the record no longer points at)."""
    actions = []
    for name in names:
        attribute, value = getattr(model, name), getattr(record, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions + [getattr(model, name).remove() for name in remove]


def checked_cursor(queried: Any, partition: str, cursor: dict[str, Any] | None) -> dict[str, Any] | None:
    """``cursor`` as a caller sent it back, if it can be where a query of ``queried`` (a model or
    one of its indexes) in ``partition`` stopped: the table's key attributes and no others than
    the index's, each of the type the table defines it with, in that partition. Anything else
    (tampered, another listing's, another company's) is a 422 naming ``cursor``, not DynamoDB's
    ValidationException."""
    if cursor is None:
        return None
    model = getattr(queried, "_model", queried)
    table_keys = _key_schema(model)
    queried_keys = table_keys if queried is model else _key_schema(queried)
    keys = {**table_keys, **queried_keys}
    partition_key = next(name for name, kind in queried_keys.items() if kind == "HASH")
    types = {d["AttributeName"]: d["AttributeType"] for d in model._get_schema()["attribute_definitions"]}
    well_formed = set(table_keys) <= set(cursor) <= set(keys) and all(
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) == types.get(name)
        and isinstance(next(iter(value.values())), str)
        and (types[name] != "N" or _is_number(next(iter(value.values()))))
        for name, value in cursor.items()
    )
    if not well_formed or cursor.get(partition_key) != {"S": partition}:
        raise not_a_cursor()
    return cursor


def cursor_within(
    cursor: dict[str, Any] | None, attribute: Any, low: Any = None, high: Any = None
) -> dict[str, Any] | None:
    """``cursor`` when its value of ``attribute`` (the range key the query's key condition bounds)
    is within ``low`` to ``high`` (either end open): a cursor of the same listing under other
    bounds (another date range, another ``since``) is a 422 naming ``cursor``, where DynamoDB
    would refuse the start key as outside the query's boundaries."""
    if cursor is None:
        return None
    value = (cursor.get(attribute.attr_name) or {}).get("S")
    if not isinstance(value, str):
        raise not_a_cursor()
    if (low is not None and value < attribute.serialize(low)) or (
        high is not None and value > attribute.serialize(high)
    ):
        raise not_a_cursor()
    return cursor


def not_a_cursor() -> ValidationFailed:
    """What a listing answers a cursor it did not give out."""
    return ValidationFailed([{"field": "cursor", "message": "is not a cursor this listing gave out"}])


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _key_schema(queried: Any) -> dict[str, str]:
    """The key attributes of a model or an index: name -> ``HASH`` or ``RANGE``."""
    return {k["AttributeName"]: k["KeyType"] for k in queried._get_schema()["key_schema"]}


def page_of(
    queried: Any,
    partition: str,
    range_condition: Any = None,
    *,
    limit: int,
    cursor: dict[str, Any] | None,
    convert: Callable[[Any], R],
    scan_index_forward: bool = True,
    filter_condition: Any = None,
) -> tuple[list[R], dict[str, Any] | None]:
    """One page of a Query of ``queried`` (a model or an index) in ``partition`` from ``cursor``:
    up to ``limit`` items as records, and the key to go on from, None on the page holding the
    partition's last item. DynamoDB answers a ``LastEvaluatedKey`` whenever a Query stops at its
    ``Limit``, even with nothing after it, so the Query reads one item past the page (still one
    request) and the cursor is the key of the page's last item, in the shape of DynamoDB's own:
    a cursor given out before still resumes where it did. With ``filter_condition``, PynamoDB
    reads on until ``limit`` + 1 items pass it or the partition ends."""
    items = list(
        queried.query(
            partition,
            range_condition,
            filter_condition=filter_condition,
            scan_index_forward=scan_index_forward,
            limit=limit + 1,
            page_size=limit + 1,
            last_evaluated_key=cursor,
        )
    )
    if len(items) <= limit:
        return [convert(item) for item in items], None
    return [convert(item) for item in items[:limit]], _key_of(queried, items[limit - 1])


# The items one page of a listing with a DynamoDB filter reads at most (decision 0012: a page
# costs the same in a company of a million items as in one of a thousand), and how many each of
# its requests reads. A filter that leaves out most of what it reads answers a page with fewer
# than ``limit`` items, even none, and a cursor to read on from where it stopped.
READ_PER_PAGE = 1_000
PAGE_READ = 200


def filtered_read(
    queried: Any,
    partition: str,
    range_condition: Any,
    *,
    filter_condition: Any,
    limit: int,
    cursor: dict[str, Any] | None,
    scan_index_forward: bool = False,
    read_at_most: int | None = None,
) -> tuple[list[Any], dict[str, Any] | None, int]:
    """Up to ``limit`` items of ``queried`` (a model or an index) in ``partition`` that
    ``filter_condition`` keeps, over as many requests as needed until ``read_at_most`` items
    (:data:`READ_PER_PAGE` when None) were read (PynamoDB's own ``limit`` reads on to the
    partition's end for them); the key to go on from: after the last item given when one more
    passes the filter (read to know, as :func:`page_of` does), or where the reading stopped (None
    at the end: no empty page follows a page holding the last match); and how many it read (a
    page that reads several partitions within one allowance)."""
    model = getattr(queried, "_model", queried)
    allowance = READ_PER_PAGE if read_at_most is None else max(read_at_most, 1)
    pages = queried.query(
        partition,
        range_condition,
        filter_condition=filter_condition,
        scan_index_forward=scan_index_forward,
        page_size=min(PAGE_READ, allowance),
        last_evaluated_key=cursor,
    ).page_iter
    found: list[Any] = []
    read = 0
    for page in pages:
        read += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", ()):
            found.append(model.from_raw_data(raw))
            if len(found) > limit:
                return found[:limit], _key_of(queried, found[limit - 1]), read
        resume = page.get("LastEvaluatedKey")
        if resume is None or read >= allowance:
            return found, resume, read
        pages.page_size = min(PAGE_READ, allowance - read)  # the last request reads what is left
    return found, None, read


def _key_of(queried: Any, item: Any) -> dict[str, Any]:
    """The key a query of ``queried`` resumes after ``item`` from (the shape of DynamoDB's
    ``LastEvaluatedKey``: the table's key attributes and the index's, serialized)."""
    model = getattr(queried, "_model", queried)
    names = set(_key_schema(model)) | set(_key_schema(queried))
    serialized = item.serialize(null_check=False)
    return {name: serialized[name] for name in sorted(names)}
