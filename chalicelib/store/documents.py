"""Documents (D1-D3): suppliers, the company's document settings and PDF templates, clients' open
movements (what bulk statements print), and the documents generated."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from chalicelib.core import domain
from chalicelib.store.clients import as_dict
from chalicelib.store.fields import checked_cursor, item_from, page_of, record_from
from chalicelib.store.models import (
    DocumentModel,
    DocumentSettingsModel,
    DocumentTemplateModel,
    OpenMovementsModel,
    SupplierModel,
)
from chalicelib.store.tables import Check, fresh_version, replace_versioned, saved_once, written

# --- suppliers -----------------------------------------------------------------------------------


def _supplier(item: SupplierModel) -> domain.Supplier:
    emails = tuple(str(e) for e in item.emails or ())
    return record_from(item, domain.Supplier, emails=emails, version=int(item.version or 0))


def save_supplier(
    supplier: domain.Supplier, expected: tuple[int, ...] | None = None, *, create_only: bool = False
) -> int | None:
    """Create or replace a supplier as its next version (the version written); None (nothing
    written) when it is no longer at a version ``expected`` names (``If-Match``), or, with
    ``create_only`` (``If-None-Match: *``), when there is one of its code already."""
    item = item_from(SupplierModel, supplier, emails=list(supplier.emails))
    condition = SupplierModel.supplier_id.does_not_exist() if create_only else None
    return int(item.version) if replace_versioned(item, expected, condition=condition) else None


def get_supplier(company_id: str, supplier_id: str) -> domain.Supplier | None:
    try:
        return _supplier(SupplierModel.get(company_id, supplier_id))
    except SupplierModel.DoesNotExist:
        return None


def list_suppliers(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Supplier], dict[str, Any] | None]:
    return page_of(
        SupplierModel,
        company_id,
        limit=limit,
        cursor=checked_cursor(SupplierModel, company_id, cursor),
        convert=_supplier,
    )


# --- settings and templates ----------------------------------------------------------------------


def get_settings(company_id: str, *, consistent: bool = False) -> domain.DocumentSettings:
    try:
        item = DocumentSettingsModel.get(company_id, consistent_read=consistent)
    except DocumentSettingsModel.DoesNotExist:
        return domain.DocumentSettings(company_id=company_id)
    return record_from(
        item,
        domain.DocumentSettings,
        company_id=company_id,
        statement_area=item.statement_area or "documents",
        delete_after_sending={str(k): bool(v) for k, v in as_dict(item.delete_after_sending).items()},
        version=int(item.version) if item.version is not None else None,
    )


def save_settings(settings: domain.DocumentSettings) -> int | None:
    """Write the settings over those they were read from (their ``version``), at a fresh version
    (the one written; store.tables.fresh_version, as every edit version); None, nothing written,
    when another write came between (read them again and change those)."""
    version = fresh_version()
    item = item_from(
        DocumentSettingsModel,
        settings,
        delete_after_sending=dict(settings.delete_after_sending),
        version=version,
    )
    read = DocumentSettingsModel.version
    condition = read.does_not_exist() if settings.version is None else read == settings.version
    return version if written(lambda: item.save(condition=condition)) else None


def get_template(company_id: str, document_type: str) -> domain.DocumentTemplate | None:
    try:
        item = DocumentTemplateModel.get(company_id, document_type)
    except DocumentTemplateModel.DoesNotExist:
        return None
    return record_from(item, domain.DocumentTemplate, company_id=company_id)


def save_template(template: domain.DocumentTemplate) -> None:
    item_from(DocumentTemplateModel, template).save()


def delete_template(company_id: str, document_type: str) -> None:
    DocumentTemplateModel(company_id, document_type).delete()


# --- open movements ------------------------------------------------------------------------------


# What one item may keep of a client's movements, compressed: DynamoDB's items are at most 400 KB.
MAX_PACKED_MOVEMENTS = 380_000


class MovementsTooLarge(Exception):
    """The movements, compressed, are more than one item holds (:data:`MAX_PACKED_MOVEMENTS`)."""


def save_open_movements(entry: domain.OpenMovements) -> None:
    """Keep the client's movements as compressed JSON (ordinary movements take a tenth of their
    JSON); MovementsTooLarge when even so they do not fit in one item."""
    movements = json.dumps([vars(m) for m in entry.movements], ensure_ascii=False, separators=(",", ":"))
    packed = zlib.compress(movements.encode(), 9)
    if len(packed) > MAX_PACKED_MOVEMENTS:
        raise MovementsTooLarge
    item_from(OpenMovementsModel, entry, movements=None, movements_z=packed).save()


def _movements(item: OpenMovementsModel) -> domain.OpenMovements:
    text = zlib.decompress(item.movements_z) if item.movements_z is not None else item.movements or "[]"
    movements = tuple(domain.Movement(**m) for m in json.loads(text))
    return record_from(item, domain.OpenMovements, movements=movements)


def get_open_movements(company_id: str, client_id: str) -> domain.OpenMovements | None:
    try:
        return _movements(OpenMovementsModel.get(company_id, client_id))
    except OpenMovementsModel.DoesNotExist:
        return None


def open_movements_of(company_id: str, client_ids: list[str]) -> dict[str, domain.OpenMovements]:
    """The open movements of many clients at once (one BatchGet per 100)."""
    keys = [(company_id, client_id) for client_id in dict.fromkeys(client_ids)]
    return {item.client_id: _movements(item) for item in OpenMovementsModel.batch_get(keys)}


# --- documents generated -------------------------------------------------------------------------


def _document(item: DocumentModel) -> domain.Document:
    return record_from(item, domain.Document)


def get_document(company_id: str, document_key: str) -> domain.Document | None:
    try:
        return _document(DocumentModel.get(company_id, document_key))
    except DocumentModel.DoesNotExist:
        return None


def record_document(document: domain.Document, *, checks: Sequence[Check] = ()) -> bool:
    """Record a document the first time only; False when it was recorded before. ``checks``:
    conditions on other items it is written with (``store.tables.saved_once``)."""
    item = item_from(DocumentModel, document)
    return saved_once(item, DocumentModel.document_key.does_not_exist(), checks)


def claim_job_document(document: domain.Document) -> bool:
    """Record a bulk job's document under its number unless another document holds the number;
    True when it is this job's for this recipient (now, or from an earlier delivery of the page).
    One conditional PutItem (1 WRU: the item is a few hundred bytes)."""
    item = item_from(DocumentModel, document)
    mine = (DocumentModel.job_id == document.job_id) & (DocumentModel.recipient_id == document.recipient_id)
    return written(lambda: item.save(condition=DocumentModel.document_key.does_not_exist() | mine))


def release_job_document(company_id: str, document_key: str, job_id: str) -> None:
    """Forget a number a bulk job claimed for a statement it could not make."""
    written(lambda: DocumentModel(company_id, document_key).delete(condition=DocumentModel.job_id == job_id))


def list_documents(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Document], dict[str, Any] | None]:
    return page_of(
        DocumentModel,
        company_id,
        limit=limit,
        cursor=checked_cursor(DocumentModel, company_id, cursor),
        convert=_document,
    )
