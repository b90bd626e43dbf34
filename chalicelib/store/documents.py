"""Documents (D1-D3): suppliers, the company's document settings and PDF templates, clients' open
movements (what bulk statements print), and the documents generated."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core import domain
from chalicelib.store.clients import _as_dict
from chalicelib.store.models import (
    ClientModel,
    DocumentModel,
    DocumentSettingsModel,
    DocumentTemplateModel,
    OpenMovementsModel,
    SupplierModel,
)
from chalicelib.store.tables import written

# --- suppliers -----------------------------------------------------------------------------------


def _supplier(item: SupplierModel) -> domain.Supplier:
    return domain.Supplier(
        company_id=item.company_id,
        supplier_id=item.supplier_id,
        name=item.name,
        emails=tuple(str(e) for e in item.emails or ()),
        updated_at=item.updated_at,
    )


def save_supplier(supplier: domain.Supplier) -> None:
    SupplierModel(
        supplier.company_id,
        supplier.supplier_id,
        name=supplier.name,
        emails=list(supplier.emails),
        updated_at=supplier.updated_at,
    ).save()


def get_supplier(company_id: str, supplier_id: str) -> domain.Supplier | None:
    try:
        return _supplier(SupplierModel.get(company_id, supplier_id))
    except SupplierModel.DoesNotExist:
        return None


def list_suppliers(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Supplier], dict[str, Any] | None]:
    result = SupplierModel.query(company_id, limit=limit, page_size=limit, last_evaluated_key=cursor)
    items = [_supplier(i) for i in result]
    return items, result.last_evaluated_key


# --- settings and templates ----------------------------------------------------------------------


def get_settings(company_id: str) -> domain.DocumentSettings:
    try:
        item = DocumentSettingsModel.get(company_id)
    except DocumentSettingsModel.DoesNotExist:
        return domain.DocumentSettings(company_id=company_id)
    return domain.DocumentSettings(
        company_id=company_id,
        statement_area=item.statement_area or "documents",
        statement_comment=item.statement_comment,
        delete_after_sending={str(k): bool(v) for k, v in _as_dict(item.delete_after_sending).items()},
        logo_key=item.logo_key,
        logo_content_type=item.logo_content_type,
        updated_at=item.updated_at,
        updated_by=item.updated_by,
    )


def save_settings(settings: domain.DocumentSettings) -> None:
    DocumentSettingsModel(
        settings.company_id,
        statement_area=settings.statement_area,
        statement_comment=settings.statement_comment,
        delete_after_sending=dict(settings.delete_after_sending),
        logo_key=settings.logo_key,
        logo_content_type=settings.logo_content_type,
        updated_at=settings.updated_at,
        updated_by=settings.updated_by,
    ).save()


def get_template(company_id: str, document_type: str) -> domain.DocumentTemplate | None:
    try:
        item = DocumentTemplateModel.get(company_id, document_type)
    except DocumentTemplateModel.DoesNotExist:
        return None
    return domain.DocumentTemplate(
        company_id, item.document_type, item.source, item.updated_at, item.updated_by
    )


def save_template(template: domain.DocumentTemplate) -> None:
    DocumentTemplateModel(
        template.company_id,
        template.document_type,
        source=template.source,
        updated_at=template.updated_at,
        updated_by=template.updated_by,
    ).save()


def delete_template(company_id: str, document_type: str) -> None:
    DocumentTemplateModel(company_id, document_type).delete()


# --- open movements ------------------------------------------------------------------------------


def save_open_movements(entry: domain.OpenMovements) -> None:
    OpenMovementsModel(
        entry.company_id,
        entry.client_id,
        movements=json.dumps([vars(m) for m in entry.movements], ensure_ascii=False),
        currency=entry.currency,
        updated_at=entry.updated_at,
    ).save()


def _movements(item: OpenMovementsModel) -> domain.OpenMovements:
    return domain.OpenMovements(
        company_id=item.company_id,
        client_id=item.client_id,
        movements=tuple(domain.Movement(**m) for m in json.loads(item.movements or "[]")),
        currency=item.currency,
        updated_at=item.updated_at,
    )


def get_open_movements(company_id: str, client_id: str) -> domain.OpenMovements | None:
    try:
        return _movements(OpenMovementsModel.get(company_id, client_id))
    except OpenMovementsModel.DoesNotExist:
        return None


def open_movements_of(company_id: str, client_ids: list[str]) -> dict[str, domain.OpenMovements]:
    """The open movements of many clients at once (one BatchGet per 100)."""
    keys = [(company_id, client_id) for client_id in dict.fromkeys(client_ids)]
    return {item.client_id: _movements(item) for item in OpenMovementsModel.batch_get(keys)}


# --- clients by code range -----------------------------------------------------------------------


def clients_in_range(
    company_id: str,
    *,
    first: str | None,
    last: str | None,
    preferred_agent: str | None,
    collection_agent: str | None,
    limit: int,
    cursor: dict[str, Any] | None,
    classification: dict[str, str] | None = None,
) -> tuple[list[domain.Client], dict[str, Any] | None]:
    """One page of the company's clients whose code lies in [first, last] (either end open) and
    who match the agents and classification given: a Query over the company's partition with a key
    condition on the code, the rest as a filter (never a Scan)."""
    from chalicelib.store.clients import _client

    range_condition: Any = None
    if first is not None and last is not None:
        range_condition = ClientModel.client_id.between(first, last)
    elif first is not None:
        range_condition = ClientModel.client_id >= first
    elif last is not None:
        range_condition = ClientModel.client_id <= last
    condition: Any = None
    if preferred_agent is not None:
        condition = ClientModel.preferred_agent == preferred_agent
    if collection_agent is not None:
        extra = ClientModel.collection_agent == collection_agent
        condition = extra if condition is None else condition & extra
    for name, value in (classification or {}).items():
        wanted: Any = ClientModel.classification[name] == value
        condition = wanted if condition is None else condition & wanted
    result = ClientModel.query(
        company_id,
        range_key_condition=range_condition,
        filter_condition=condition,
        limit=limit,
        page_size=limit,
        last_evaluated_key=cursor,
    )
    items = [_client(i) for i in result]
    return items, result.last_evaluated_key


# --- documents generated -------------------------------------------------------------------------


def _document(item: DocumentModel) -> domain.Document:
    return domain.Document(
        company_id=item.company_id,
        document_key=item.document_key,
        document_type=item.document_type,
        number=item.number,
        recipient_id=item.recipient_id,
        responsible=item.responsible,
        communication_id=item.communication_id,
        state=item.state,
        created_at=item.created_at,
        file_name=item.file_name,
        error=item.error,
    )


def get_document(company_id: str, document_key: str) -> domain.Document | None:
    try:
        return _document(DocumentModel.get(company_id, document_key))
    except DocumentModel.DoesNotExist:
        return None


def record_document(document: domain.Document) -> bool:
    """Record a document the first time only; False when it was recorded before."""
    item = DocumentModel(
        document.company_id,
        document.document_key,
        document_type=document.document_type,
        number=document.number,
        recipient_id=document.recipient_id,
        responsible=document.responsible,
        communication_id=document.communication_id,
        state=document.state,
        file_name=document.file_name,
        error=document.error,
        created_at=document.created_at,
    )
    return written(lambda: item.save(condition=DocumentModel.document_key.does_not_exist()))


def list_documents(
    company_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[domain.Document], dict[str, Any] | None]:
    result = DocumentModel.query(company_id, limit=limit, page_size=limit, last_evaluated_key=cursor)
    items = [_document(i) for i in result]
    return items, result.last_evaluated_key
