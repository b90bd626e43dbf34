"""Copying a domain record to a stored item and back, field by field, by name.

The store reads items into the frozen dataclasses of ``core.domain`` and writes them back; most
fields are the model attribute of the same name. These helpers copy those, so a converter spells
out only the fields that differ (a default, a type, a key made of two fields)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pynamodb.attributes import AttributeContainer
from pynamodb.models import Model

from chalicelib.core.domain import record_of

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


def page_of(result: Any, convert: Callable[[Any], R]) -> tuple[list[R], dict[str, Any] | None]:
    """One page of a query's ``result`` (limited to the page): its items as records, and the key
    to go on from (None on the last page)."""
    return [convert(item) for item in result], result.last_evaluated_key
