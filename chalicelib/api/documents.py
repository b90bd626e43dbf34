"""Documents as PDFs (D1-D3): the ERP posts orders, purchase orders and account statements
(API key scope ``documents:write``; staff may post them too); Pregón renders the PDF from the
company's template and e-mails it through the outbox. Administrators set the statement account and
comment, deletion after sending and the logo, and may replace the PDF templates."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF, api_key
from chalicelib.api.http import (
    Routes,
    creates_only,
    etag,
    if_match,
    json_response,
    page_request,
    page_response,
    parse_body,
    plain,
    versioned_response,
)
from chalicelib.tenants.auth.principal import Principal

documents = Blueprint(__name__)
route = Routes(documents, schemas="documents_schemas")
WRITE = api_key("documents:write")
READ = api_key("documents:read")
MAX_DOCUMENT_BODY_BYTES = 1024 * 1024
NO_STATEMENT_ACCOUNT = {409: "No working sender account for statements (their area, nor `all`)."}
SENT_BY_ANOTHER = {
    409: "A level-4 user posted the number of a document another user is responsible for (nothing is "
    "sent, and nothing of that document is shown)."
}


def _body(model: Any) -> Any:
    return parse_body(documents.current_request, model, max_bytes=MAX_DOCUMENT_BODY_BYTES)


def _responsible(body: Any) -> tuple[str | None, str | None]:
    if body.responsible is None:
        return None, None
    return body.responsible.user_id, body.responsible.name


def _lines(body: Any) -> list[Any]:
    from chalicelib.producers.documents.send import Line

    return [Line(line.code, line.description, line.quantity, line.unit_price) for line in body.lines]


def _movements(items: list[Any]) -> list[Any]:
    from chalicelib.core.domain import Movement

    return [
        Movement(
            date=m.date.isoformat(),
            document=m.document,
            amount=str(m.amount),
            description=m.description,
            due_on=m.due_on.isoformat() if m.due_on else None,
        )
        for m in items
    ]


def _answer(outcome: Any) -> Response:
    return json_response(outcome, 200 if outcome.duplicate else 202)


def _posted(endpoint: str, body: str) -> Any:
    """A document the ERP posts: 202 once queued, 200 when the same document was sent already."""
    return route(
        endpoint, WRITE, body=body, response="DocumentOut", status=202, existing=200, errors=SENT_BY_ANOTHER
    )


def _send_order(caller: Principal, document_type: str, body: Any, party_id: str) -> Response:
    from chalicelib.producers.documents.send import OrderRequest, send_order

    user, name = _responsible(body)
    request = OrderRequest(
        document_type, body.number, body.date, party_id, _lines(body), body.currency, user, name, body.notes
    )
    return _answer(send_order(caller, request))


@_posted("POST /documents/orders", "OrderIn")
def post_order(caller: Principal) -> Response:
    """An order to a client: render its PDF and e-mail it from the responsible user's account (D1)"""
    from chalicelib.api.documents_schemas import OrderIn

    body = _body(OrderIn)
    return _send_order(caller, "order", body, body.client_id)


@_posted("POST /documents/purchase-orders", "PurchaseOrderIn")
def post_purchase_order(caller: Principal) -> Response:
    """A purchase order to a supplier: render its PDF and e-mail it from the responsible
    user's account (D1)"""
    from chalicelib.api.documents_schemas import PurchaseOrderIn

    body = _body(PurchaseOrderIn)
    return _send_order(caller, "purchase_order", body, body.supplier_id)


@_posted("POST /documents/statements", "StatementIn")
def post_statement(caller: Principal) -> Response:
    """A client's account statement: open movements, balance and the company's comment, as a PDF e-mailed from
    the account the company chose for statements (D1)"""
    from chalicelib.api.documents_schemas import StatementIn
    from chalicelib.producers.documents.send import StatementRequest, send_statement

    body = _body(StatementIn)
    user, _ = _responsible(body)
    if user is None and caller.kind == "user":
        # a statement a person sends (the console's "Envía Edo. Cta.") is theirs, as a bulk job
        # they start is: they find it again, a level-4 user too, and the register says who sent it
        user = caller.subject
    request = StatementRequest(
        client_id=body.client_id,
        as_of=body.as_of,
        movements=_movements(body.movements) if body.movements is not None else None,
        currency=body.currency,
        number=body.number,
        responsible_user=user,
    )
    return _answer(send_statement(caller, request))


@route("GET /documents/sent/{document_type}/{number}", STAFF, response="DocumentViewOut")
def get_document(caller: Principal, document_type: str, number: str) -> Response:
    """A document sent, its e-mail's state and a 5-minute download link to its PDF (none once it was deleted
    after sending, D3); level 4: only documents they are responsible for, as in the history"""
    from urllib.parse import unquote

    from chalicelib.producers.documents.send import view_document
    from chalicelib.producers.documents.templates import check_type

    found = view_document(caller, check_type(document_type), unquote(number))
    return json_response(found)


# --- bulk statements (D2) --------------------------------------------------------------------------


@route(
    "POST /documents/statements/bulk",
    WRITE,
    body="BulkStatementsIn",
    response="BulkStatementsOut",
    status=201,
    existing=200,
    errors=NO_STATEMENT_ACCOUNT,
)
def start_bulk_statements(caller: Principal) -> Response:
    """Statements to a range of clients (from, to) filtered by agents; empty: every client. Only clients with
    an e-mail and open movements get one; a job with progress (D2)"""
    from chalicelib.api.documents_schemas import BulkStatementsIn
    from chalicelib.producers.documents.bulk import StatementSelection
    from chalicelib.producers.documents.bulk import start_bulk_statements as start

    body = _body(BulkStatementsIn)
    selection = StatementSelection(
        body.from_client,
        body.to_client,
        body.preferred_agent,
        body.collection_agent,
        dict(body.classification),
        body.include_settled,
    )
    job, created = start(
        caller.company_id, selection, as_of=body.as_of, created_by=caller.subject, request_id=body.request_id
    )
    return json_response(_job_out(caller, job), 201 if created else 200)


def _job_out(caller: Principal, job: Any) -> dict[str, Any]:
    from chalicelib.api.people import named

    return named(caller, dict(plain(job)), "created_by")


@route("GET /documents/statements/bulk/{job_id}", READ, response="BulkStatementsOut")
def get_bulk_statements(caller: Principal, job_id: str) -> Response:
    """A bulk statement job's progress: total, sent, failed, skipped by reason, waiting (D2); level 4:
    own jobs only"""
    from chalicelib.producers.documents.bulk import get_bulk_statements as fetch

    return json_response(_job_out(caller, fetch(caller, job_id)))


# --- suppliers and open movements ------------------------------------------------------------------


def _company_free(record: Any) -> dict[str, Any]:
    """A supplier or a client's open movements as answered: without the company, which is the caller's."""
    data = dict(plain(record))
    data.pop("company_id", None)
    if "version" in data:  # a supplier: the version to edit it at
        data["etag"] = etag(data.pop("version"))
    return data


@route(
    "PUT /suppliers/{supplier_id}",
    WRITE,
    body="SupplierIn",
    response="SupplierOut",
    versioned=True,
    create_only=True,
)
def put_supplier(caller: Principal, supplier_id: str) -> Response:
    """Create or replace a supplier with its e-mails (purchase orders go to the first, D1); with
    ``If-None-Match: *`` (the console's new supplier) it only creates: 412 naming ``If-None-Match``,
    nothing written, when there is a supplier of that code"""
    from chalicelib.api.documents_schemas import SupplierIn
    from chalicelib.producers.documents.settings import save_supplier

    _check_code(supplier_id, "supplier_id")
    body = _body(SupplierIn)
    emails = [str(e) for e in body.emails]
    request = documents.current_request
    supplier = save_supplier(
        caller.company_id,
        supplier_id,
        body.name,
        emails,
        if_match(request),
        create_only=creates_only(request),
    )
    return versioned_response(_company_free(supplier), supplier.version)


@route("GET /suppliers/{supplier_id}", READ, response="SupplierOut", versioned=True)
def get_supplier(caller: Principal, supplier_id: str) -> Response:
    """A supplier"""
    from chalicelib.producers.documents.settings import get_supplier as fetch

    supplier = fetch(caller.company_id, supplier_id)
    return versioned_response(_company_free(supplier), supplier.version)


@route("GET /suppliers", READ, response="SuppliersOut", query=("limit", "cursor"))
def list_suppliers(caller: Principal) -> Response:
    """The company's suppliers, by code"""
    from chalicelib.producers.documents.settings import list_suppliers as fetch

    items, cursor = fetch(caller.company_id, *page_request(documents.current_request))
    return page_response(items, cursor, _company_free)


@route("PUT /clients/{client_id}/open-movements", WRITE, body="OpenMovementsIn", response="OpenMovementsOut")
def put_open_movements(caller: Principal, client_id: str) -> Response:
    """Replace a client's open movements: what its statements list when the statement call brings none, and
    what bulk statements print (D2)"""
    from chalicelib.api.documents_schemas import OpenMovementsIn
    from chalicelib.producers.documents.settings import save_open_movements

    body = _body(OpenMovementsIn)
    entry = save_open_movements(caller.company_id, client_id, _movements(body.movements), body.currency)
    return json_response(_company_free(entry))


@route("GET /clients/{client_id}/open-movements", READ, response="OpenMovementsOut")
def get_open_movements(caller: Principal, client_id: str) -> Response:
    """A client's open movements as last put"""
    from chalicelib.producers.documents.settings import get_open_movements as fetch

    return json_response(_company_free(fetch(caller.company_id, client_id)))


def _check_code(value: str, field: str) -> None:
    import re

    from chalicelib.core.errors import ValidationFailed

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", value):
        raise ValidationFailed([{"field": field, "message": "must be 1-64 letters, digits, '.', '_' or '-'"}])


# --- settings and templates (administrators) -------------------------------------------------------


def _settings_out(caller: Principal, settings: Any) -> Response:
    """The settings as answered, with their version as the ETag (a logo saved is a save of them)."""
    from chalicelib.api.people import named

    shown = {
        "statement_area": settings.statement_area,
        "statement_comment": settings.statement_comment,
        "delete_after_sending": dict(settings.delete_after_sending),
        "has_logo": settings.logo_key is not None,
        "updated_at": settings.updated_at,
        "updated_by": settings.updated_by,
    }
    return versioned_response(named(caller, shown, "updated_by"), settings.version or 0)


@route("GET /documents/settings", STAFF, response="DocumentSettingsOut", versioned=True)
def get_document_settings(caller: Principal) -> Response:
    """The company's document settings: statement account and comment, delete after sending (D3)"""
    from chalicelib.producers.documents.settings import get_settings

    return _settings_out(caller, get_settings(caller.company_id))


@route(
    "PATCH /documents/settings",
    ADMIN,
    body="DocumentSettingsIn",
    response="DocumentSettingsOut",
    versioned=True,
)
def patch_document_settings(caller: Principal) -> Response:
    """Change the statement account and comment, and per type whether PDFs are deleted after
    sending (D1, D3)"""
    from chalicelib.api.documents_schemas import DocumentSettingsIn
    from chalicelib.producers.documents.settings import update_settings

    body = _body(DocumentSettingsIn)
    settings = update_settings(
        caller.company_id,
        by=caller.subject,
        statement_area=body.statement_area,
        statement_comment=body.statement_comment or None,
        clear_comment=body.statement_comment == "",
        delete_after_sending=body.delete_after_sending,
        if_match=if_match(documents.current_request),
    )
    return _settings_out(caller, settings)


@route("PUT /documents/settings/logo", ADMIN, body="LogoIn", response="DocumentSettingsOut", versioned=True)
def put_logo(caller: Principal) -> Response:
    """The company's logo on its documents (PNG or JPEG, at most 300 kB)"""
    from chalicelib.api.documents_schemas import LogoIn
    from chalicelib.core.files import upload_too_large
    from chalicelib.producers.documents.settings import LOGO_TOO_LARGE, set_logo

    # A body over the cap is a logo far over 300 kB: the same answer, and it is never read
    request = documents.current_request
    body = parse_body(
        request,
        LogoIn,
        max_bytes=MAX_DOCUMENT_BODY_BYTES,
        too_large=upload_too_large("content_base64", LOGO_TOO_LARGE),
    )
    return _settings_out(
        caller,
        set_logo(caller.company_id, body.content_base64, by=caller.subject, if_match=if_match(request)),
    )


@route("GET /documents/templates/{document_type}", STAFF, response="DocumentTemplateOut")
def get_document_template(caller: Principal, document_type: str) -> Response:
    """The PDF template of a document type: the company's own or the default (D1)"""
    from chalicelib.producers.documents.templates import effective_template
    from chalicelib.tenants.companies import get_company

    language = get_company(caller.company_id).language
    return _template_out(caller, effective_template(caller.company_id, document_type, language))


def _template_out(caller: Principal, template: Any) -> Response:
    """A PDF template, its last editor named as the caller is shown them (a level-4 user: by
    handle, never the administrator's user id)."""
    from chalicelib.api.people import named

    return json_response(named(caller, dict(plain(template)), "updated_by"))


@route(
    "PUT /documents/templates/{document_type}",
    ADMIN,
    body="DocumentTemplateIn",
    response="DocumentTemplateOut",
)
def put_document_template(caller: Principal, document_type: str) -> Response:
    """Replace the PDF template of a document type; refused (422 naming `source`) when it is unsafe or does
    not render with sample data"""
    from chalicelib.api.documents_schemas import DocumentTemplateIn
    from chalicelib.producers.documents.templates import check_type, save_template

    check_type(document_type)
    body = _body(DocumentTemplateIn)
    saved = save_template(caller.company_id, document_type, body.source, by=caller.subject)
    return _template_out(caller, saved)


@route("DELETE /documents/templates/{document_type}", ADMIN, response="DocumentTemplateOut")
def reset_document_template(caller: Principal, document_type: str) -> Response:
    """Go back to the default PDF template of a document type"""
    from chalicelib.producers.documents.templates import effective_template, reset_template
    from chalicelib.tenants.companies import get_company

    reset_template(caller.company_id, document_type)
    language = get_company(caller.company_id).language
    return _template_out(caller, effective_template(caller.company_id, document_type, language))


@route("POST /documents/templates/{document_type}/preview", STAFF, body="PreviewIn", response="PreviewOut")
def preview_document_template(caller: Principal, document_type: str) -> Response:
    """The PDF of the template (or of an unsaved `source`) with sample data, base64"""
    import base64

    from chalicelib.api.documents_schemas import PreviewIn
    from chalicelib.producers.documents.templates import preview

    body = _body(PreviewIn)
    pdf = preview(caller.company_id, document_type, body.source)
    return json_response({"pdf_base64": base64.b64encode(pdf).decode(), "size": len(pdf)})
