"""A company's document settings (D1, D3; the seed's "Configurar Mailer"), its logo, its suppliers
and its clients' open movements (what a statement lists when the ERP does not send them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import DocumentSettings, Movement, OpenMovements, Supplier
from chalicelib.core.errors import NotFound, ValidationFailed, edited_meanwhile
from chalicelib.core.localization import checked_currency

MAX_LOGO_BYTES = 300 * 1024
LOGO_TOO_LARGE = f"the logo is larger than {MAX_LOGO_BYTES // 1024} kB"
# The most movements a statement holds: those of a statement call, a client's open movements, and
# a client's open receivables printed in their place (docs/documents.md, "How long a document may be").
MAX_MOVEMENTS = 2000
_ATTEMPTS = 5  # reads and writes of the settings when other writes keep coming between


class TooManyReceivables(ValidationFailed):
    """A client has more open receivables than a statement holds: a 422 naming ``client_id``."""

    def __init__(self, client_id: str, count: int) -> None:
        message = (
            f"{client_id!r} has {count:,} open receivables, more than the {MAX_MOVEMENTS:,} a statement "
            "prints (mark those settled as paid or cancelled, or send the statement with its movements)"
        )
        super().__init__([{"field": "client_id", "message": message}])
        self.count = count


def get_settings(company_id: str) -> DocumentSettings:
    from chalicelib.store import documents as store

    return store.get_settings(company_id)


def update_settings(
    company_id: str,
    *,
    by: str,
    statement_area: str | None = None,
    statement_comment: str | None = None,
    delete_after_sending: Mapping[str, bool] | None = None,
    clear_comment: bool = False,
    if_match: tuple[int, ...] | None = None,
) -> DocumentSettings:
    """Change what is given; 422 naming the field for an unknown area or document type. With
    ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved the settings
    (or the logo) since."""
    from chalicelib.messaging.accounts.email import AREAS
    from chalicelib.producers.documents.templates import DOCUMENT_TYPES

    errors = []
    if statement_area is not None and statement_area not in AREAS:
        errors.append({"field": "statement_area", "message": f"must be one of {', '.join(AREAS)}"})
    for kind in delete_after_sending or {}:
        if kind not in DOCUMENT_TYPES:
            errors.append(
                {
                    "field": f"delete_after_sending.{kind}",
                    "message": f"must be one of {', '.join(DOCUMENT_TYPES)}",
                }
            )
    if errors:
        raise ValidationFailed(errors)

    def change(current: DocumentSettings) -> DocumentSettings:
        return replace(
            current,
            statement_area=statement_area or current.statement_area,
            statement_comment=None
            if clear_comment
            else (statement_comment if statement_comment is not None else current.statement_comment),
            delete_after_sending={**current.delete_after_sending, **dict(delete_after_sending or {})},
            updated_at=clock.now(),
            updated_by=by,
        )

    return _save_changed(company_id, change, if_match)


def _save_changed(
    company_id: str,
    change: Callable[[DocumentSettings], DocumentSettings],
    if_match: tuple[int, ...] | None = None,
) -> DocumentSettings:
    """Read the settings, ``change`` them and write them over what was read; read again when
    another write came between (a logo saved while the comment changes): what it changed stays.
    With ``if_match``, only over a version it names (the write holds only while the settings are
    still at the version read: the check and the write are one), else a 412."""
    from chalicelib.store import documents as store

    for _ in range(_ATTEMPTS):
        current = store.get_settings(company_id, consistent=True)
        if if_match is not None and (current.version or 0) not in if_match:
            raise edited_meanwhile("the document settings")
        changed = change(current)
        version = store.save_settings(changed)
        if version is not None:
            return replace(changed, version=version)
    raise RuntimeError("the document settings kept changing; try again")  # pragma: no cover


def set_logo(
    company_id: str, content_base64: str, *, by: str, if_match: tuple[int, ...] | None = None
) -> DocumentSettings:
    """Keep the company's logo (PNG or JPEG, at most 300 kB) for its documents. It is a save of
    the settings: with ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else
    saved them since, and the uploaded file is not kept."""
    from chalicelib.core.files import decode_upload, discard_unless_named, image_type, put_file
    from chalicelib.store import documents as store

    data = decode_upload(
        content_base64, field="content_base64", max_bytes=MAX_LOGO_BYTES, too_large=LOGO_TOO_LARGE
    )
    content_type = image_type(data)
    if content_type is None:
        raise ValidationFailed([{"field": "content_base64", "message": "must be a PNG or JPEG image"}])
    current = store.get_settings(company_id, consistent=True)
    if if_match is not None and (current.version or 0) not in if_match:
        raise edited_meanwhile("the document settings")
    ref = put_file(company_id, "logos", f"logo.{content_type.rsplit('/', 1)[1]}", content_type, data)
    try:
        changed = _save_changed(
            company_id,
            lambda current: replace(
                current,
                logo_key=ref.key,
                logo_content_type=content_type,
                updated_at=clock.now(),
                updated_by=by,
            ),
            if_match,
        )
    except Exception:
        discard_unless_named(
            company_id,
            [ref.key or ""],
            "document logos",
            "the document settings could not be saved",
            lambda: store.get_settings(company_id, consistent=True).logo_key == ref.key,
        )
        raise
    _logo_bytes.cache_clear()
    return changed


def company_logo(company_id: str) -> tuple[bytes, str] | None:
    settings = get_settings(company_id)
    if not settings.logo_key or not settings.logo_content_type:
        return None
    return _logo_bytes(settings.logo_key), settings.logo_content_type


@lru_cache(maxsize=32)
def _logo_bytes(key: str) -> bytes:
    """A logo's bytes; an S3 key never changes its content (a new logo gets a new key)."""
    from chalicelib.core.files import read_file

    return read_file(key)


# --- suppliers -------------------------------------------------------------------------------------


def save_supplier(
    company_id: str,
    supplier_id: str,
    name: str,
    emails: Sequence[str],
    if_match: tuple[int, ...] | None = None,
    *,
    create_only: bool = False,
) -> Supplier:
    """Create or replace a supplier; with ``if_match`` (the versions an ``If-Match`` names), a 412
    when someone else saved it since; with ``create_only`` (``If-None-Match: *``, the console's
    *Agregar un proveedor*), a 412 naming ``If-None-Match``, nothing written, when the code is in use."""
    from chalicelib.core.errors import PreconditionFailed
    from chalicelib.store import documents as store

    supplier = Supplier(company_id, supplier_id, name, tuple(dict.fromkeys(emails)), clock.now())
    version = store.save_supplier(supplier, if_match, create_only=create_only)
    if version is None and create_only and if_match is None:
        raise PreconditionFailed(
            f"there is a supplier {supplier_id!r} already and If-None-Match: * only creates one: "
            "nothing was saved (open that supplier, or choose another code)",
            field="If-None-Match",
        )
    if version is None:
        raise edited_meanwhile("this supplier")
    return replace(supplier, version=version)


def get_supplier(company_id: str, supplier_id: str) -> Supplier:
    from chalicelib.store import documents as store

    found = store.get_supplier(company_id, supplier_id)
    if found is None:
        raise NotFound(f"there is no supplier {supplier_id!r}", field="supplier_id")
    return found


def list_suppliers(company_id: str, limit: int, cursor: dict[str, Any] | None) -> Any:
    from chalicelib.store import documents as store

    return store.list_suppliers(company_id, limit, cursor)


# --- open movements --------------------------------------------------------------------------------


def save_open_movements(
    company_id: str, client_id: str, movements: Sequence[Movement], currency: str | None
) -> OpenMovements:
    """Replace the client's open movements (an empty list: the client owes nothing)."""
    from chalicelib.store import documents as store
    from chalicelib.tenants.clients import get_client

    currency = checked_currency(currency)
    get_client(company_id, client_id)  # 404 naming the client
    entry = OpenMovements(company_id, client_id, tuple(movements), currency, clock.now())
    try:
        store.save_open_movements(entry)
    except store.MovementsTooLarge as exc:
        too_large = (
            f"are too large to keep: more than {store.MAX_PACKED_MOVEMENTS // 1000} kB compressed "
            "(send the statement with its movements instead)"
        )
        raise ValidationFailed([{"field": "movements", "message": too_large}]) from exc
    return entry


def get_open_movements(company_id: str, client_id: str) -> OpenMovements:
    """What the back office last put as the client's open movements, else the client's open
    receivables (R1-R3: pushed for the reminders), else nothing."""
    from chalicelib.store import documents as store

    found = store.get_open_movements(company_id, client_id)
    return found or receivables_as_movements(company_id, client_id)


def receivables_as_movements(company_id: str, client_id: str) -> OpenMovements:
    """The client's open receivables as statement lines: each document, its issue and due days and
    what is still owed on it (one Query of the open-by-client index, at most one more item than a
    statement holds). Receivables in more than one currency give no currency (each amount is then
    printed as a plain number). More than :data:`MAX_MOVEMENTS` of them: :class:`TooManyReceivables`
    (a statement never leaves any out), saying how many the client has (a counting Query)."""
    from chalicelib.core.domain import Movement
    from chalicelib.store.receivables import count_open_receivables_of_client, open_receivables_of_client

    read = list(open_receivables_of_client(company_id, client_id, at_most=MAX_MOVEMENTS + 1))
    if len(read) > MAX_MOVEMENTS:
        raise TooManyReceivables(client_id, count_open_receivables_of_client(company_id, client_id))
    open_ones = sorted(read, key=lambda r: (r.issued_on, r.document_number))
    currencies = {r.currency for r in open_ones}
    lines = tuple(
        Movement(
            date=r.issued_on.isoformat(),
            document=r.document_number,
            amount=str(r.balance),
            due_on=r.due_on.isoformat(),
        )
        for r in open_ones
    )
    currency = currencies.pop() if len(currencies) == 1 else None
    return OpenMovements(company_id, client_id, lines, currency, clock.now())


def decimal_of(value: str, *, field: str) -> Decimal:
    from decimal import InvalidOperation

    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValidationFailed([{"field": field, "message": "must be a decimal number"}]) from exc
    if not amount.is_finite():
        raise ValidationFailed([{"field": field, "message": "must be a decimal number"}])
    return amount
