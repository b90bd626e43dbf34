"""One document at a time (D1): the ERP posts an order (to a client), a purchase order (to a
supplier) or an account statement (to a client); Pregón renders the PDF from the company's
template, keeps it in S3 and hands the e-mail carrying it to the outbox.

Who sends it (C5): an order or purchase order goes out from the responsible user's own account,
else the account of the e-mail template's area (``documents`` unless the company changed it),
else ``all``; a statement from the area the company chose for statements (its "Configurar
Mailer"), else ``all``. Posting the same document (type and number) again answers the first
post with ``duplicate: true`` and sends nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import (
    AttachmentRef,
    Communication,
    Company,
    Document,
    DocumentSettings,
    Movement,
    record_of,
)
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.core.localization import checked_currency
from chalicelib.producers.documents.templates import ORDER, PURCHASE_ORDER, STATEMENT
from chalicelib.store.tables import Check
from chalicelib.tenants.auth.principal import Principal, may_see

MAX_LINES = 500
STORED = "document PDFs"  # how the log names the files documents store


@dataclass(frozen=True)
class Line:
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRequest:
    """An order (to a client) or a purchase order (to a supplier)."""

    document_type: str  # order | purchase_order
    number: str
    issued_on: date
    recipient_id: str
    lines: Sequence[Line]
    currency: str | None = None
    responsible_user: str | None = None
    responsible_name: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class StatementRequest:
    client_id: str
    as_of: date | None = None
    # The client's open movements; None: those last pushed to /clients/{id}/open-movements.
    movements: Sequence[Movement] | None = None
    currency: str | None = None
    number: str | None = None
    responsible_user: str | None = None


@dataclass(frozen=True)
class DocumentOutcome:
    document_type: str
    number: str
    recipient_id: str
    communication_id: str | None
    state: str  # queued | failed
    file_name: str
    duplicate: bool
    created_at: Any
    to_address: str | None = None
    error: str | None = None


# --- formatting ------------------------------------------------------------------------------------


def currency_of(company: Company, given: str | None) -> str:
    """The currency given, else the one of the company's country (ARS in AR, MXN in MX)."""
    from babel.numbers import get_territory_currencies

    if given:
        return given.upper()
    found = get_territory_currencies(company.country or "AR")
    return found[0] if found else "USD"


class Formats:
    """How the company writes days and amounts (Z1: its locale, Babel)."""

    def __init__(self, company: Company, currency: str) -> None:
        self.locale = company.locale
        self.currency = currency

    def money(self, amount: Decimal) -> str:
        from chalicelib.core.localization import show_money

        return show_money(amount, self.currency, self.locale)

    def day(self, day: date | str | None) -> str:
        from chalicelib.core.localization import show_date

        if day is None or day == "":
            return ""
        if isinstance(day, str):
            day = date.fromisoformat(day)
        return show_date(day, self.locale)


# --- the three documents ---------------------------------------------------------------------------


def send_order(caller: Principal, request: OrderRequest) -> DocumentOutcome:
    """Render and e-mail an order (to a client) or a purchase order (to a supplier)."""
    from chalicelib.producers.documents.settings import get_supplier
    from chalicelib.tenants.clients import find_client
    from chalicelib.tenants.companies import get_company

    company_id = caller.company_id
    kind = request.document_type
    currency = checked_currency(request.currency)
    previous = _previous(caller, kind, request.number)
    if previous is not None:
        return previous
    if not request.lines:
        raise ValidationFailed([{"field": "lines", "message": "must have at least one line"}])
    company = get_company(company_id)
    if kind == ORDER:
        client = find_client(company_id, request.recipient_id)
        if client is None:
            raise ValidationFailed(
                [{"field": "client_id", "message": f"there is no client {request.recipient_id!r}"}]
            )
        name, emails, id_field = client.name, client.emails, "client_id"
    else:
        try:
            supplier = get_supplier(company_id, request.recipient_id)
        except NotFound as exc:
            raise ValidationFailed([{"field": "supplier_id", "message": exc.message}]) from exc
        name, emails, id_field = supplier.name, supplier.emails, "supplier_id"
    if not emails:
        raise ValidationFailed(
            [{"field": id_field, "message": f"{request.recipient_id!r} has no e-mail address"}]
        )
    fmt = Formats(company, currency_of(company, currency))
    total = sum((line.quantity * line.unit_price for line in request.lines), Decimal(0))
    responsible = request.responsible_name or request.responsible_user
    pdf_data = {
        "document": {"type": kind, "number": request.number, "date": fmt.day(request.issued_on)},
        "recipient": {"code": request.recipient_id, "name": name, "email": emails[0]},
        "responsible": responsible,
        "lines": [
            {
                "code": line.code,
                "description": line.description,
                "quantity": _quantity(line.quantity, fmt.locale),
                "unit_price": fmt.money(line.unit_price),
                "amount": fmt.money(line.quantity * line.unit_price),
            }
            for line in request.lines
        ],
        "total": fmt.money(total),
        "notes": request.notes,
    }
    summary = {
        "number": request.number,
        "date": fmt.day(request.issued_on),
        "total": fmt.money(total),
        "responsible": responsible,
    }
    if kind == ORDER:
        mail_data: dict[str, Any] = {
            "client": _client_vars(request.recipient_id, name, emails),
            "order": summary,
        }
    else:
        mail_data = {"supplier": {"name": name, "email": emails[0]}, "purchase_order": summary}
    return _send(
        company,
        kind,
        request.number,
        request.recipient_id,
        (name, emails[0]),
        pdf_data,
        mail_data,
        responsible_user=request.responsible_user,
        client_id=request.recipient_id if kind == ORDER else None,
        caller=caller,
    )


def send_statement(caller: Principal, request: StatementRequest) -> DocumentOutcome:
    """Render and e-mail a client's account statement: its open movements and balance, and the
    company's statement comment."""
    from chalicelib.producers.documents.settings import get_open_movements, get_settings
    from chalicelib.tenants.clients import find_client
    from chalicelib.tenants.companies import get_company

    company_id = caller.company_id
    currency = checked_currency(request.currency)
    company = get_company(company_id)
    as_of = request.as_of or _today(company)
    if request.number:
        previous = _previous(caller, STATEMENT, request.number)
        if previous is not None:
            return previous
    client = find_client(company_id, request.client_id)
    if client is None:
        raise ValidationFailed(
            [{"field": "client_id", "message": f"there is no client {request.client_id!r}"}]
        )
    if not client.emails:
        raise ValidationFailed(
            [{"field": "client_id", "message": f"{request.client_id!r} has no e-mail address"}]
        )
    movements = request.movements
    if movements is None:
        stored = get_open_movements(company_id, client.client_id)
        movements, currency = stored.movements, currency or stored.currency
    digest = None
    number = request.number
    if number is None:  # the day's statement: a repeat of the same one, or a new one with its own number
        digest = _statement_digest(as_of, currency, movements, client.name, client.emails[0])
        number, previous = _statement_number(caller, f"EC-{client.client_id}-{as_of:%Y%m%d}", digest)
        if previous is not None:
            return previous
    settings = get_settings(company_id)
    pdf_data, mail_data = statement_data(
        company, settings, client.client_id, client.name, client.emails, movements, currency, as_of, number
    )
    return _send(
        company,
        STATEMENT,
        number,
        client.client_id,
        (client.name, client.emails[0]),
        pdf_data,
        mail_data,
        responsible_user=request.responsible_user,
        client_id=client.client_id,
        settings=settings,
        caller=caller,
        content_digest=digest,
    )


#: How many statements with a default number one client may get in one day (the day's first is
#: ``EC-<client>-<day>``, the next ``...-2`` and so on); past it, the caller names a ``number``.
STATEMENTS_A_DAY = 20


def _statement_digest(
    as_of: date, currency: str | None, movements: Sequence[Movement], name: str, address: str
) -> str:
    """What a statement prints, as a digest: its day, currency, movements and recipient."""
    import hashlib

    printed = [as_of.isoformat(), currency, name, address.lower(), [astuple(m) for m in movements]]
    return hashlib.sha256(json.dumps(printed, ensure_ascii=False).encode()).hexdigest()[:32]


def _statement_number(caller: Principal, base: str, digest: str) -> tuple[str, DocumentOutcome | None]:
    """The number of a statement posted without one (D1; the seed's "Envía Edo. Cta.", a send at
    each click): the day's first is ``base``; posted again the same (a retry, a double click), it
    answers the first; another one the same day (a payment came in, the address was corrected) is
    sent as ``base-2``, ``base-3``... A statement recorded before digests were kept counts as the
    same. One GetItem per statement of that client and day."""
    from chalicelib.store import documents as store

    for n in range(1, STATEMENTS_A_DAY + 1):
        number = base if n == 1 else f"{base}-{n}"
        found = store.get_document(caller.company_id, document_key(STATEMENT, number))
        if found is None:
            return number, None
        if found.job_id is None and found.content_digest in (None, digest):
            return number, _repeated(caller, found)
    raise ValidationFailed(
        [
            {
                "field": "number",
                "message": f"{base!r} was sent {STATEMENTS_A_DAY} times today with other contents; "
                "give this statement a number of its own",
            }
        ]
    )


def statement_data(
    company: Company,
    settings: DocumentSettings,
    client_id: str,
    name: str,
    emails: Sequence[str],
    movements: Sequence[Movement],
    currency: str | None,
    as_of: date,
    number: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a statement's PDF and its e-mail print: each movement with the running balance."""
    from chalicelib.producers.documents.settings import decimal_of

    fmt = Formats(company, currency_of(company, currency))
    running = Decimal(0)
    lines = []
    for n, movement in enumerate(movements):
        amount = decimal_of(movement.amount, field=f"movements[{n}].amount")
        running += amount
        lines.append(
            {
                "date": fmt.day(movement.date),
                "document": movement.document,
                "description": movement.description,
                "due_on": fmt.day(movement.due_on),
                "amount": fmt.money(amount),
                "balance": fmt.money(running),
            }
        )
    statement = {
        "as_of": fmt.day(as_of),
        "movements": lines,
        "balance": fmt.money(running),
        "comment": settings.statement_comment,
        "continues": False,  # True in a part of a long statement that is not its last
        "continued": False,  # True in a part of a long statement that is not its first
    }
    pdf_data = {
        "document": {"type": STATEMENT, "number": number, "date": fmt.day(as_of)},
        "recipient": {"code": client_id, "name": name, "email": emails[0] if emails else None},
        "responsible": None,
        "statement": statement,
    }
    mail_data = {
        "client": _client_vars(client_id, name, emails),
        # the number the PDF's name carries, so the e-mail carries it too whatever the company's
        # own PDF template prints (the client quotes it; staff find the statement by it)
        "statement": {"number": number, **{k: v for k, v in statement.items() if k != "movements"}},
    }
    return pdf_data, mail_data


# --- shared ----------------------------------------------------------------------------------------


def _today(company: Company) -> date:
    from chalicelib.core.localization import today

    return today(company.time_zone, clock.now())


def _quantity(value: Decimal, locale: str) -> str:
    from babel.numbers import format_decimal

    return str(format_decimal(value, locale=locale))


def _client_vars(code: str, name: str, emails: Sequence[str]) -> dict[str, Any]:
    return {"code": code, "name": name, "email": emails[0] if emails else None}


def document_key(document_type: str, number: str) -> str:
    return f"{document_type}#{number}"


def _previous(caller: Principal, document_type: str, number: str) -> DocumentOutcome | None:
    from chalicelib.store import documents as store

    found = store.get_document(caller.company_id, document_key(document_type, number))
    return _repeated(caller, found) if found else None


def _repeated(caller: Principal, first: Document) -> DocumentOutcome:
    """What a repeated post answers: the first post's answer, with ``duplicate`` true. The record
    keeps no address: the first answered its message's, which is read back (the message is
    written before the record, so a recorded document has one). A caller who may not see the
    first (a level-4 user, another's document: ``may_see``, as in the history) learns nothing of
    it: 409 naming ``number``."""
    from chalicelib.core.errors import Conflict

    comm = message_of(first)
    if not may_see(caller, comm.created_by if comm else first.responsible):
        raise Conflict(
            f"the {first.document_type} {first.number!r} was sent before, by another user", field="number"
        )
    if comm is not None and first.communication_id is None:  # a bulk statement's: found by its key
        first = replace(first, communication_id=comm.communication_id)
    return _outcome(first, duplicate=True, to_address=comm.to_address if comm else None)


def message_of(document: Document) -> Communication | None:
    """The e-mail that carried a document: by the id its record keeps, or for a bulk statement
    (recorded before its e-mail was written) by the e-mail's key ``job:<job>:<client>``."""
    from chalicelib.store import communications as comm_store

    company_id = document.company_id
    if document.communication_id:
        return comm_store.get(company_id, document.communication_id)
    if document.job_id:
        found = comm_store.existing_key(company_id, f"job:{document.job_id}:{document.recipient_id}")
        return comm_store.get(company_id, found) if found else None
    return None


def _outcome(document: Document, *, duplicate: bool, to_address: str | None = None) -> DocumentOutcome:
    return record_of(DocumentOutcome, document, duplicate=duplicate, to_address=to_address)


def file_name_of(document_type: str, number: str, language: str) -> str:
    from chalicelib.core.files import safe_name

    names = {
        "es": {ORDER: "pedido", PURCHASE_ORDER: "orden_de_compra", STATEMENT: "estado_de_cuenta"},
        "en": {ORDER: "order", PURCHASE_ORDER: "purchase_order", STATEMENT: "statement"},
    }
    prefix = names.get(language, names["es"])[document_type]
    return f"{prefix}_{safe_name(number)}.pdf"


class Renderer:
    """Renders one company's documents of one type: the template, logo and settings read once
    (a bulk statement renders a page of clients with one of these)."""

    def __init__(
        self, company: Company, document_type: str, settings: DocumentSettings | None = None
    ) -> None:
        from chalicelib.producers.documents.settings import company_logo, get_settings
        from chalicelib.producers.documents.templates import effective_template

        self.company = company
        self.document_type = document_type
        self.settings = settings or get_settings(company.company_id)
        self.template = effective_template(company.company_id, document_type, company.language)
        self.logo = company_logo(company.company_id)
        self._mail: Any = None

    def _mail_template(self) -> Any:
        """The company's e-mail template of the document's type, read once per renderer."""
        if self._mail is None:
            from chalicelib.messaging.templates import effective_template

            self._mail = effective_template(
                self.company.company_id, self.document_type, language=self.company.language
            )
        return self._mail

    def pdf(self, data: dict[str, Any]) -> bytes:
        """The PDF; a company template that fails with these values is a 422 naming ``template``.
        Pregón's own statement template lays out a statement of more than
        :data:`~chalicelib.producers.documents.pdf.PART_ROWS` movements in parts (its layout
        whole would take more memory than the Lambda has), joined into one PDF that reads as
        one long table (:func:`~chalicelib.producers.documents.pdf.render_parts`)."""
        from chalicelib.producers.documents.pdf import PART_ROWS, render_parts, render_pdf
        from chalicelib.producers.documents.templates import PAGE_WORDS

        values = {**data, "company": {"name": self.company.name, "has_logo": self.logo is not None}}
        own = self.template.customized
        movements = (values.get("statement") or {}).get("movements") or []
        if own or len(movements) <= PART_ROWS:
            return render_pdf(self.template.source, values, logo=self.logo, field="template", own=own)
        return render_parts(
            self.template.source,
            len(movements),
            lambda start, stop, last: statement_part(values, start, stop, last),
            logo=self.logo,
            field="template",
            page_words=PAGE_WORDS.get(self.template.language, PAGE_WORDS["es"]),
        )

    def attachment(self, number: str, pdf: bytes) -> AttachmentRef:
        from chalicelib.core.files import put_file

        name = file_name_of(self.document_type, number, self.company.language)
        ref = put_file(self.company.company_id, "documents", name, "application/pdf", pdf, tagged=True)
        return replace(
            ref, delete_after_sending=self.settings.delete_after_sending.get(self.document_type, False)
        )

    def message(
        self,
        number: str,
        recipient: tuple[str, str],
        mail_data: dict[str, Any],
        attachment: AttachmentRef,
        *,
        client_id: str | None,
        responsible_user: str | None,
        idempotency_key: str,
        job_id: str | None = None,
        created_by: str | None = None,
    ) -> Any:
        """The e-mail carrying the PDF, from the company's e-mail template of the same type."""
        from chalicelib.messaging.outbox import OutgoingMessage
        from chalicelib.messaging.sandbox import render_untrusted
        from chalicelib.tenants.branding import company_variables

        error = None
        values = {**mail_data, "company": company_variables(self.company)}
        try:
            template = self._mail_template()
            rendered = render_untrusted(template.sources, values)
            subject, text, html, area = rendered.subject, rendered.text, rendered.html, template.sender_area
        except ValidationFailed as exc:  # the company's e-mail template: a failed message, recorded
            subject, text, html, area, error = (
                "",
                "",
                "",
                "documents",
                f"the template cannot be rendered: {exc}",
            )
        if self.document_type == STATEMENT:
            area, responsible_user = self.settings.statement_area, None
        name, address = recipient
        return OutgoingMessage(
            channel="email",
            to_address=address,
            to_name=name,
            subject=subject,
            text=text,
            html=html or None,
            error=error,
            message_type=self.document_type,
            kind="automatic",
            client_id=client_id,
            area=area,
            personal_user=responsible_user,
            cause=f"document:{self.document_type}:{number}",
            idempotency_key=idempotency_key,
            job_id=job_id,
            created_by=created_by,
            attachments=(attachment,),
        )


def statement_part(values: dict[str, Any], start: int, stop: int, last: bool) -> dict[str, Any]:
    """The values of the part of a long statement that prints its movements ``start:stop``: the
    first with the heading (the others ``statement.continued``), the last with the balance (the
    others ``statement.continues``). Each movement keeps its running balance."""
    statement = values["statement"]
    part = {**statement, "movements": statement["movements"][start:stop], "continues": not last}
    return {**values, "statement": {**part, "continued": start > 0}}


def _send(
    company: Company,
    document_type: str,
    number: str,
    recipient_id: str,
    recipient: tuple[str, str],
    pdf_data: dict[str, Any],
    mail_data: dict[str, Any],
    *,
    responsible_user: str | None,
    client_id: str | None,
    caller: Principal,
    settings: DocumentSettings | None = None,
    content_digest: str | None = None,
) -> DocumentOutcome:
    from chalicelib.core.files import discard_files

    renderer = Renderer(company, document_type, settings)
    pdf = renderer.pdf(pdf_data)  # 422 before anything is written
    attachment = renderer.attachment(number, pdf)
    key = f"document:{document_type}:{number}"
    try:
        message = renderer.message(
            number,
            recipient,
            mail_data,
            attachment,
            client_id=client_id,
            responsible_user=responsible_user,
            idempotency_key=key,
            created_by=responsible_user,
        )
    except Exception:  # nothing written: no message names the PDF
        discard_files(company.company_id, [attachment.key or ""], STORED, "its message could not be made")
        raise
    # A client's document and its record are written on condition that no erasure of the client
    # started since it was read, nor ended (``store.erasures.unerased``): before the erasure
    # starts, and it finds them, or not at all (the request is refused, 422 on ``client_id``).
    from chalicelib.tenants.clients import unless_erased

    with unless_erased(company.company_id, client_id) as checks:
        return _write(
            company,
            document_type,
            number,
            recipient_id,
            recipient,
            message,
            attachment,
            checks,
            caller=caller,
            responsible_user=responsible_user,
            content_digest=content_digest,
        )


def _write(
    company: Company,
    document_type: str,
    number: str,
    recipient_id: str,
    recipient: tuple[str, str],
    message: Any,
    attachment: AttachmentRef,
    checks: list[Check],
    *,
    caller: Principal,
    responsible_user: str | None,
    content_digest: str | None,
) -> DocumentOutcome:
    from chalicelib.messaging.outbox import enqueue_with_files
    from chalicelib.store import documents as store

    key = f"document:{document_type}:{number}"
    # The PDF goes when no message written names it: the write failed, or a post of the same
    # document whose record could not be written wrote the message (with its own PDF) first.
    written = enqueue_with_files(company.company_id, [message], [attachment], STORED, checks=checks)
    comm = written[0] if written else None
    if comm is None:  # a post racing this one enqueued it first
        found = store.get_document(company.company_id, document_key(document_type, number))
        if found is not None:
            return _repeated(caller, found)
        from chalicelib.store import communications as comm_store

        existing = comm_store.existing_key(company.company_id, key)
        comm = comm_store.get_many(company.company_id, [existing]).get(existing) if existing else None
    document = Document(
        company_id=company.company_id,
        document_key=document_key(document_type, number),
        document_type=document_type,
        number=number,
        recipient_id=recipient_id,
        responsible=responsible_user,
        communication_id=comm.communication_id if comm else None,
        state=comm.state if comm else "queued",
        created_at=clock.now(),
        file_name=attachment.name,
        error=comm.error if comm else None,
        content_digest=content_digest,
    )
    if not store.record_document(document, checks=checks):
        first = store.get_document(company.company_id, document.document_key)
        if first is not None:
            return _repeated(caller, first)
    return _outcome(document, duplicate=False, to_address=recipient[1])


@dataclass(frozen=True)
class DocumentView:
    document_type: str
    number: str
    recipient_id: str
    responsible: str | None
    created_at: Any
    communication_id: str | None
    message_state: str | None
    file_name: str
    download_url: str | None
    deleted_at: Any
    job_id: str | None = None
    to_address: str | None = None
    error: str | None = None


def view_document(viewer: Principal, document_type: str, number: str) -> DocumentView:
    """A document sent, with a short-lived download link to its PDF (none once it was deleted).
    Who sees it is who sees its e-mail in the history (``may_see`` its ``created_by``, the
    document's responsible user): another's document is not found for a level-4 user."""
    from chalicelib.core.files import download_url
    from chalicelib.store import documents as store

    company_id = viewer.company_id
    found = store.get_document(company_id, document_key(document_type, number))
    comm = message_of(found) if found is not None else None
    if found is None or not may_see(viewer, comm.created_by if comm else found.responsible):
        raise NotFound(f"there is no {document_type} {number!r}")
    ref = comm.attachments[0] if comm and comm.attachments else None
    return record_of(
        DocumentView,
        found,
        communication_id=comm.communication_id if comm else found.communication_id,
        message_state=comm.state if comm else None,
        download_url=download_url(ref) if ref and not ref.deleted_at else None,
        deleted_at=ref.deleted_at if ref else None,
        # where it went and why it did not: what the clerk answers "did you send it?" with (seed 003)
        to_address=comm.to_address if comm else None,
        error=comm.error if comm else None,
    )
