"""The PDF template of each document type (D1): the shipped default in the company's language
(``templates/<es|en>/documents/<type>.typ``), or the company's own. A template is typst markup
written as a Jinja template; see :mod:`chalicelib.producers.documents.pdf` for what it may do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import DocumentTemplate
from chalicelib.core.errors import NotFound
from chalicelib.messaging.sandbox import LANGUAGES, TEMPLATES_DIR

ORDER = "order"
PURCHASE_ORDER = "purchase_order"
STATEMENT = "statement"
DOCUMENT_TYPES = (ORDER, PURCHASE_ORDER, STATEMENT)
# How the default statement numbers its pages ("Página 3 de 40"), for one joined from parts
PAGE_WORDS = {"es": ("Página", "de"), "en": ("Page", "of")}

_LINES = [
    {
        "code": "A-100",
        "description": "Tornillo autorroscante 8 × 1½ (caja × 100)",
        "quantity": "12",
        "unit_price": "$ 1.250,00",
        "amount": "$ 15.000,00",
    },
    {
        "code": "B-220",
        "description": "Llave térmica bipolar 2 × 25 A",
        "quantity": "3",
        "unit_price": "$ 11.300,00",
        "amount": "$ 33.900,00",
    },
]
_COMPANY = {"name": "Distribuidora Ñandú S.R.L.", "has_logo": False}
SAMPLES: dict[str, dict[str, Any]] = {
    ORDER: {
        "company": _COMPANY,
        "document": {"type": ORDER, "number": "P-2026-0088", "date": "02/11/2026"},
        "recipient": {"code": "CEDIMU", "name": "Ferretería Los Andes", "email": "compras@losandes.example"},
        "responsible": "Carla Méndez",
        "lines": _LINES,
        "total": "$ 48.900,00",
        "notes": "Entrega en depósito, de 8 a 16 h.",
    },
    PURCHASE_ORDER: {
        "company": _COMPANY,
        "document": {"type": PURCHASE_ORDER, "number": "OC-2026-0031", "date": "02/11/2026"},
        "recipient": {
            "code": "COMINT",
            "name": "Comercial Internacional S.A.",
            "email": "ventas@comint.example",
        },
        "responsible": "Luis Ortega",
        "lines": _LINES,
        "total": "$ 48.900,00",
        "notes": None,
    },
    STATEMENT: {
        "company": _COMPANY,
        "document": {"type": STATEMENT, "number": "EC-CEDIMU-20261031", "date": "31/10/2026"},
        "recipient": {"code": "CEDIMU", "name": "Ferretería Los Andes", "email": "compras@losandes.example"},
        "responsible": None,
        "statement": {
            "as_of": "31/10/2026",
            "movements": [
                {
                    "date": "01/10/2026",
                    "document": "A-0001-00001234",
                    "description": "Factura",
                    "due_on": "31/10/2026",
                    "amount": "$ 12.345,67",
                    "balance": "$ 12.345,67",
                },
                {
                    "date": "15/10/2026",
                    "document": "NC-0001-00000077",
                    "description": "Nota de crédito",
                    "due_on": "",
                    "amount": "-$ 1.000,00",
                    "balance": "$ 11.345,67",
                },
            ],
            "balance": "$ 11.345,67",
            "comment": "Recuerde que aceptamos pagos por transferencia.",
            "continues": False,
            "continued": False,
        },
    },
}


@dataclass(frozen=True)
class EffectiveDocumentTemplate:
    document_type: str
    source: str
    customized: bool
    language: str
    updated_at: datetime | None = None
    updated_by: str | None = None


def check_type(document_type: str, *, field: str = "document_type") -> str:
    if document_type not in DOCUMENT_TYPES:
        raise NotFound(f"there is no document type {document_type!r} (known: {', '.join(DOCUMENT_TYPES)})")
    return document_type


@lru_cache(maxsize=16)
def default_source(document_type: str, language: str) -> str:
    lang = language if language in LANGUAGES else "es"
    return (TEMPLATES_DIR / lang / "documents" / f"{document_type}.typ").read_text(encoding="utf-8")


def effective_template(company_id: str, document_type: str, language: str) -> EffectiveDocumentTemplate:
    from chalicelib.store import documents as store

    check_type(document_type)
    own = store.get_template(company_id, document_type)
    if own is not None:
        return EffectiveDocumentTemplate(
            document_type, own.source, True, language, own.updated_at, own.updated_by
        )
    lang = language if language in LANGUAGES else "es"
    return EffectiveDocumentTemplate(document_type, default_source(document_type, lang), False, lang)


def sample_for(document_type: str, company_name: str) -> dict[str, Any]:
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in SAMPLES[document_type].items()}
    data["company"] = {**data["company"], "name": company_name}
    return data


def preview(company_id: str, document_type: str, source: str | None = None) -> bytes:
    """The PDF of the company's template (or of ``source``, unsaved) with sample data."""
    from chalicelib.producers.documents.pdf import render_pdf
    from chalicelib.producers.documents.settings import company_logo
    from chalicelib.tenants.companies import get_company

    check_type(document_type)
    company = get_company(company_id)
    own = True  # a source given to preview is the company's, whatever it says
    if source is None:
        template = effective_template(company_id, document_type, company.language)
        source, own = template.source, template.customized
    logo = company_logo(company_id)
    data = sample_for(document_type, company.name)
    data["company"]["has_logo"] = logo is not None
    return render_pdf(source, data, logo=logo, own=own)


def save_template(company_id: str, document_type: str, source: str, *, by: str) -> EffectiveDocumentTemplate:
    """Check a company's template (safe, and renders with sample data: else 422 naming ``source``)
    and keep it."""
    from chalicelib.store import documents as store
    from chalicelib.tenants.companies import get_company

    preview(company_id, document_type, source)
    store.save_template(DocumentTemplate(company_id, document_type, source, clock.now(), by))
    return effective_template(company_id, document_type, get_company(company_id).language)


def reset_template(company_id: str, document_type: str) -> None:
    from chalicelib.store import documents as store

    check_type(document_type)
    store.delete_template(company_id, document_type)
