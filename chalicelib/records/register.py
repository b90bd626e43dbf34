"""H2 use cases: a client's register (list, detail, export), manual records (add, edit, delete,
attachments), and the company's motive and area tables."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import AttachmentRef, Communication, RegisterLookup, StaffUser
from chalicelib.core.errors import Conflict, NotFound, PregonError, ValidationFailed, edited_meanwhile
from chalicelib.core.links import without_portal_tokens
from chalicelib.records.history.criteria import date_range, one_of, short_text
from chalicelib.store import communications as store
from chalicelib.store import register as lookups
from chalicelib.tenants.auth.principal import Principal, may_see, own_only

# The fixed table of record types (a3ASESOR's "Tipo": predefined, not editable).
RECORD_TYPES = ("visit", "call", "email", "meeting", "other")
# What a listing's ``type`` filter accepts: the fixed types and the channels of automatic records.
LISTED_TYPES = (*RECORD_TYPES, "sms", "push")
INITIATED_BY = ("client", "staff")
DIRECTIONS = ("out", "in", "note")
TABLES = {"motives": "motive", "areas": "area", "categories": "category"}
# The document portal's categories a company starts with (seed 004's a3doc categories): written
# the first time its list is read, then the company's own to rename, delete or add to.
DEFAULT_CATEGORIES = (
    ("facturas", "Facturas"),
    ("impuestos", "Impuestos"),
    ("contabilidad", "Contabilidad"),
    ("laboral", "Laboral y nóminas"),
    ("contratos", "Contratos"),
    ("otros", "Otros documentos"),
    # seed 003's documents (session 42): a distributor publishing a sent order or statement to its
    # client's portal had no category for it
    ("pedidos", "Pedidos"),
    ("ordenes_compra", "Órdenes de compra"),
    ("estados_cuenta", "Estados de cuenta"),
)
# Defaults added after companies had their list: each batch is written once to a list read after
# it came (its own ``seeded#`` marker), those of its codes and names the company lacks.
LATER_CATEGORIES = {"category.documents": ("pedidos", "ordenes_compra", "estados_cuenta")}
# The category a sent document's file is published under unless told (the record's message type).
DOCUMENT_CATEGORIES = {
    "order": "pedidos",
    "purchase_order": "ordenes_compra",
    "statement": "estados_cuenta",
    "invoice": "facturas",
}
# What may change on a record that Pregón wrote by itself (a message sent or received).
AUTOMATIC_EDITABLE = frozenset({"motive", "area"})
MANUAL_EDITABLE = frozenset({"record_type", "motive", "area", "initiated_by", "subject", "text"})
# Records Pregón writes by itself that are not messages: a preferred-agent change (N4).
SYSTEM_KINDS = frozenset({"agent_change", "portal_revoked"})
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS = 20
STORED = "attachments of register records"  # how the log names the files records store


def is_automatic(comm: Communication) -> bool:
    """Written by Pregón itself: a message sent or received, or a system record (N4)."""
    return comm.direction in ("out", "in") or comm.kind in SYSTEM_KINDS


class PayloadTooLarge(PregonError):
    status = 413


@dataclass(frozen=True)
class RegisterCriteria:
    since: datetime | None = None
    until: datetime | None = None
    record_type: str | None = None
    motive: str | None = None
    area: str | None = None
    direction: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class RegisterPage:
    items: list[Communication]
    cursor: dict[str, Any] | None


def register_criteria(params: Mapping[str, str | None], time_zone: str = "UTC") -> RegisterCriteria:
    """The register's criteria; dates in ``from``/``to`` are days in the company's ``time_zone``."""
    since, until = date_range(params, time_zone)
    return RegisterCriteria(
        since=since,
        until=until,
        record_type=one_of(params, "type", LISTED_TYPES),
        motive=short_text(params, "motive", 64),
        area=short_text(params, "area", 64),
        direction=one_of(params, "direction", DIRECTIONS),
        text=short_text(params, "q"),
    )


def _client(viewer: Principal, client_id: str) -> None:
    from chalicelib.tenants.clients import get_client

    get_client(viewer.company_id, client_id)  # NotFound for another company's client


def private_viewer(viewer: Principal) -> str | None:
    """H3: records from a private staff mailbox are its owner's (and level 1's): the user whose
    private records a listing may show, or None when the viewer sees them all."""
    return None if viewer.kind == "user" and viewer.level == 1 else viewer.subject


def may_see_private(viewer: Principal, comm: Communication) -> bool:
    mine = private_viewer(viewer)
    return comm.private_to is None or mine is None or comm.private_to == mine


def _query(
    viewer: Principal, client_id: str, criteria: RegisterCriteria, limit: int, cursor: Any
) -> store.Page:
    return store.register_page(
        viewer.company_id,
        client_id,
        limit=limit,
        cursor=cursor,
        created=store.id_range(criteria.since, criteria.until),
        text=criteria.text,
        filter_condition=store.listing_filter(
            record_type=criteria.record_type,
            motive=criteria.motive,
            area=criteria.area,
            direction=criteria.direction,
            created_by=own_only(viewer),
            private_viewer=private_viewer(viewer),
        ),
    )


def list_register(
    viewer: Principal, client_id: str, criteria: RegisterCriteria, limit: int, cursor: dict[str, Any] | None
) -> RegisterPage:
    _client(viewer, client_id)
    page = _query(viewer, client_id, criteria, limit, cursor)
    return RegisterPage(page.items, page.cursor)


def export_rows(
    viewer: Principal, client_id: str, criteria: RegisterCriteria, cap: int
) -> list[Communication]:
    """Every record the criteria select, newest first; more than ``cap`` is refused (422)."""
    from chalicelib.records.exports import export_rows as every_row

    _client(viewer, client_id)
    return every_row(lambda limit, cursor: _query(viewer, client_id, criteria, limit, cursor), cap)


# --- its Excel export (H2): built in the API call up to 10,000 rows, or in the background ------

# The register's query parameters an export keeps (the client is named as ``client``).
EXPORT_FILTERS = ("from", "to", "type", "motive", "area", "direction", "q")
_COLUMNS = (
    "Type",
    "Direction",
    "Initiated by",
    "Subject",
    "From",
    "To",
    "Motive",
    "Area",
    "Created by",
    "State",
    "Attachments",
    "Notes / text",
)


@dataclass(frozen=True)
class RegisterLayout:
    """How a client's register is laid out in a spreadsheet for its company's staff."""

    viewer: Principal
    client_id: str
    language: str
    time_zone: str
    locale: str
    # the company's motives and areas by code: the file names them as the console's list does
    # (seed 004's clerk reads "Cobro de honorarios", not "cobro"); a deleted one keeps its code
    motives: Mapping[str, str]
    areas: Mapping[str, str]

    @property
    def title(self) -> str:
        from chalicelib.records.exports import word

        return f"{word('Register', self.language)} {self.client_id}"

    @property
    def file_name(self) -> str:
        return f"register-{self.client_id}.xlsx"

    def columns(self) -> list[str]:
        from chalicelib.records.exports import heading

        language = self.language
        return [heading("Id", language), heading("Date", language, self.time_zone)] + [
            heading(name, language) for name in _COLUMNS
        ]

    def rows(self, records: list[Communication], names: dict[str, str]) -> list[list[Any]]:
        """Each record's cells; ``names``: the creators' names (``tenants.staff.staff_names``)."""
        from chalicelib.records.exports import word
        from chalicelib.tenants.staff import name_or_shown

        language = self.language
        return [
            [
                c.communication_id,
                c.created_at,
                word(c.record_type or c.channel, language),
                word(c.direction, language),
                word(c.initiated_by or ("client" if c.direction == "in" else "staff"), language),
                c.subject,
                # a message's sender and recipient, as a mail program shows them (which contact
                # of the client wrote, which one was written to); a manual record has neither
                _party(c.from_name, c.from_address),
                _party(c.to_name, c.to_address),
                self.motives.get(c.motive, c.motive) if c.motive else None,
                self.areas.get(c.area, c.area) if c.area else None,
                name_or_shown(self.viewer, names, c.created_by),
                word(c.shown_state, language),
                [a.name for a in c.attachments],
                without_portal_tokens(c.text),
            ]
            for c in records
        ]


def _party(name: str | None, address: str | None) -> str | None:
    if not address:
        return name or None
    return f"{name} <{address}>" if name else address


def _layout(viewer: Principal, client_id: str) -> RegisterLayout:
    from chalicelib.tenants.companies import get_company

    company = get_company(viewer.company_id)
    motives, areas = (
        {entry.code: entry.name for entry in lookups.list_lookups(viewer.company_id, table)}
        for table in ("motive", "area")
    )
    return RegisterLayout(
        viewer, client_id, company.language, company.time_zone, company.locale, motives, areas
    )


def export_register(viewer: Principal, client_id: str, params: Mapping[str, str | None]) -> tuple[bytes, str]:
    """The client's filtered register as an .xlsx file and its name, built now: at most
    :data:`~chalicelib.records.exports.MAX_EXPORT_ROWS` rows; past that, 422 ``ExportTooLarge``
    naming the background export."""
    from chalicelib.records import exports
    from chalicelib.tenants.staff import staff_names

    layout = _layout(viewer, client_id)
    criteria = register_criteria(params, layout.time_zone)
    try:
        rows = export_rows(viewer, client_id, criteria, exports.MAX_EXPORT_ROWS)
    except exports.ExportTooLarge as too_large:
        too_large.background = f"POST /clients/{client_id}/register/exports"
        raise
    names = staff_names(viewer.company_id, [c.created_by for c in rows])
    data = exports.workbook(
        layout.title,
        layout.columns(),
        layout.rows(rows, names),
        time_zone=layout.time_zone,
        locale=layout.locale,
    )
    return data, layout.file_name


def start_export(viewer: Principal, client_id: str, params: Mapping[str, str | None]) -> Any:
    """Ask for the client's register export in the background: its filters and the client are
    checked now (a 4xx naming the field, nothing written)."""
    from chalicelib.records.history.exports import REGISTER, queue_export
    from chalicelib.tenants.companies import company_time_zone

    register_criteria(params, company_time_zone(viewer.company_id))
    _client(viewer, client_id)
    kept = {name: str(params[name]).strip() for name in EXPORT_FILTERS if (params.get(name) or "").strip()}
    return queue_export(viewer, REGISTER, {**kept, "client": client_id})


def find_export(viewer: Principal, client_id: str, export_id: str) -> Any:
    """A background export of the client's register: its creator's, or any for level 1 (it may
    hold what another level does not read, a private mailbox's records)."""
    from chalicelib.records.history.exports import REGISTER
    from chalicelib.records.history.exports import find_export as find

    export = find(viewer, REGISTER, export_id, viewer.kind == "user" and viewer.level == 1)
    if export is None or export.criteria.get("client") != client_id:
        raise NotFound(f"there is no register export {export_id!r} of client {client_id!r}")
    return export


def register_sheet(viewer: Principal, criteria: Mapping[str, str], cap: int, read_limit: int) -> Any:
    """What a background export of a client's register writes (``criteria``: its query parameters
    and ``client``), read a page at a time as ``viewer`` reads it."""
    from chalicelib.records.exports import Sheet, export_pages
    from chalicelib.tenants.staff import staff_names

    client_id = criteria["client"]
    layout = _layout(viewer, client_id)
    chosen = register_criteria(criteria, layout.time_zone)

    def pages() -> Any:
        names: dict[str, str] = {}
        for page in export_pages(
            lambda limit, cursor: _query(viewer, client_id, chosen, limit, cursor), cap, read_limit
        ):
            new = [c.created_by for c in page if c.created_by and c.created_by not in names]
            names.update(staff_names(viewer.company_id, new))
            yield layout.rows(page, names), len(page)

    return Sheet(layout.title, layout.columns(), layout.file_name, pages(), layout.time_zone, layout.locale)


def may_read_record(viewer: Principal, comm: Communication) -> bool:
    """Who sees a register record, the one rule of every register route (view, edit, files, task,
    notices): levels 1-3 every record, level 4 only those they created (``may_see``), and a private
    mailbox's record only its owner and level 1 (``may_see_private``). No branch, department or
    area narrows it: records carry none that a user's could be matched to."""
    return may_see(viewer, comm.created_by) and may_see_private(viewer, comm)


def as_reader(user: StaffUser) -> Principal:
    """A staff user as the register's rule sees them when they open a link to a record."""
    return Principal(
        company_id=user.company_id,
        kind="user",
        subject=user.user_id,
        level=user.level,
        branch=user.branch,
        department=user.department,
    )


def get_record(viewer: Principal, client_id: str, record_id: str) -> Communication:
    comm = store.get(viewer.company_id, record_id)
    if (
        comm is None
        or comm.client_id != client_id
        or not comm.in_register
        or not may_read_record(viewer, comm)
    ):
        raise NotFound(f"client {client_id!r} has no register record {record_id!r}")
    return comm


def record_link(client_id: str, record_id: str) -> str:
    """The record in the console's register (the screen opens the record its address names)."""
    from urllib.parse import urlencode

    from chalicelib.core.settings import get_settings

    where = urlencode({"client": client_id, "record": record_id})
    return f"{get_settings().public_base_url}/console#/clients?{where}"


def lookup_name(company_id: str, table: str, code: str | None) -> str | None:
    """A motive's or an area's name, as the company calls it (its code once deleted)."""
    entry = lookups.get_lookup(company_id, table, code) if code else None
    return entry.name if entry else code


def record_task(viewer: Principal, client_id: str, record_id: str) -> tuple[str, bytes]:
    """Seed 004's "Crear tarea": the record as an iCalendar task (file name, bytes); 404 as the
    record's view answers when ``viewer`` may not see it."""
    from chalicelib.records.register_task import task_calendar
    from chalicelib.tenants.clients import get_client
    from chalicelib.tenants.companies import get_company
    from chalicelib.tenants.staff import users_by_id

    record = get_record(viewer, client_id, record_id)
    company = get_company(viewer.company_id)
    user = users_by_id(viewer.company_id, [viewer.subject]).get(viewer.subject)
    data = task_calendar(
        company,
        get_client(viewer.company_id, client_id),
        record,
        user,
        motive=lookup_name(viewer.company_id, "motive", record.motive),
        area=lookup_name(viewer.company_id, "area", record.area),
        link=record_link(client_id, record_id),
    )
    return f"tarea-{record.communication_id}.ics", data


def _check_lookup(company_id: str, table: str, code: str | None) -> None:
    if code and lookups.get_lookup(company_id, table, code) is None:
        raise ValidationFailed(
            [
                {
                    "field": table,
                    "message": f"{code!r} is not one of the company's {table}s (see /register/{table}s)",
                }
            ]
        )


def check_fields(company_id: str, fields: Mapping[str, Any]) -> None:
    """422 naming the first of ``fields`` (a record's, as written or changed) that is not valid: a
    type or an initiator not known, a blank subject, a motive or an area not in the company's tables."""
    if fields.get("record_type") not in (None, *RECORD_TYPES):
        raise ValidationFailed(
            [{"field": "record_type", "message": f"must be one of {', '.join(RECORD_TYPES)}"}]
        )
    if fields.get("initiated_by") not in (None, *INITIATED_BY):
        raise ValidationFailed([{"field": "initiated_by", "message": "must be client or staff"}])
    if "subject" in fields and not (fields["subject"] or "").strip():
        raise ValidationFailed([{"field": "subject", "message": "is required"}])
    _check_lookup(company_id, "motive", fields.get("motive"))
    _check_lookup(company_id, "area", fields.get("area"))


def add_record(
    viewer: Principal,
    client_id: str,
    *,
    record_type: str | None,
    subject: str,
    text: str | None,
    motive: str | None,
    area: str | None,
    initiated_by: str | None,
) -> Communication:
    """A record written by hand: "created by" and the time are the system's."""
    _client(viewer, client_id)
    fields = {
        "record_type": record_type,
        "subject": subject,
        "text": text,
        "motive": motive,
        "area": area,
        "initiated_by": initiated_by,
    }
    check_fields(viewer.company_id, fields)
    now = clock.now()
    record = Communication(
        company_id=viewer.company_id,
        communication_id=store.new_communication_id(now),
        direction="note",
        channel="note",
        kind="manual",
        state="recorded",
        created_at=now,
        updated_at=now,
        client_id=client_id,
        record_type=record_type or "other",
        subject=subject.strip(),
        text=text,
        motive=motive,
        area=area,
        initiated_by=initiated_by or "staff",
        created_by=viewer.subject,
    )
    return store.save(record)


def update_record(
    viewer: Principal, client_id: str, record_id: str, changes: Mapping[str, Any]
) -> Communication:
    """Automatic records (messages sent or received) take a new motive and area only; manual
    ones take everything but who created them and when."""
    record = get_record(viewer, client_id, record_id)
    automatic = is_automatic(record)
    editable = AUTOMATIC_EDITABLE if automatic else MANUAL_EDITABLE
    for name in changes:
        if name not in editable:
            what = "an automatic record (a message, or one Pregón wrote)" if automatic else "a record"
            allowed = "motive and area" if automatic else ", ".join(sorted(editable))
            raise ValidationFailed(
                [{"field": name, "message": f"cannot be changed on {what}: only {allowed}"}]
            )
    check_fields(viewer.company_id, changes)
    now = clock.now()
    if record.direction in ("out", "in"):
        # Only these two attributes: the message as sent stays exactly as it was.
        store.update_fields(viewer.company_id, record_id, dict(changes), now)
        return replace(record, updated_at=now, **changes)
    updated = replace(record, updated_at=now, **changes)
    return store.save(updated)


def delete_record(viewer: Principal, client_id: str, record_id: str) -> None:
    """Out of the register only: a message sent stays in the history (and in the mailbox)."""
    record = get_record(viewer, client_id, record_id)
    store.remove_from_register(viewer.company_id, record_id, record.client_id or client_id, clock.now())


def add_attachment(
    viewer: Principal, client_id: str, record_id: str, *, name: str, content_type: str, content_base64: str
) -> AttachmentRef:
    """A file staff attach to a record (the seed: to one written by hand or to a message logged
    from their mail); it says who added it, apart from the files the message came with."""
    from chalicelib.core.files import discard_files, discard_unless_named, put_file

    record = get_record(viewer, client_id, record_id)
    if record.direction != "note" and record.mailbox_id is None:
        raise Conflict(
            "attachments are added to manual records and to mail logged from a staff mailbox only; "
            "a message Pregón sent or received keeps the attachments it was sent with",
            field="record_id",
        )
    if len(record.attachments) >= MAX_ATTACHMENTS:
        raise Conflict(f"a record holds at most {MAX_ATTACHMENTS} attachments", field="record_id")
    if len(content_base64) > (MAX_ATTACHMENT_BYTES * 4) // 3 + 4:
        raise PayloadTooLarge(
            f"an attachment is at most {MAX_ATTACHMENT_BYTES} bytes", field="content_base64"
        )
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationFailed([{"field": "content_base64", "message": "is not valid base64"}]) from exc
    if not data:
        raise ValidationFailed([{"field": "content_base64", "message": "is empty"}])
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(
            f"an attachment is at most {MAX_ATTACHMENT_BYTES} bytes", field="content_base64"
        )
    ref = replace(put_file(viewer.company_id, "register", name, content_type, data), added_by=viewer.subject)
    try:
        added = store.append_attachment(
            viewer.company_id, record_id, ref, clock.now(), at_most=MAX_ATTACHMENTS
        )
    except Exception:

        def named() -> bool:
            written = store.get(viewer.company_id, record_id)
            return written is not None and any(a.key == ref.key for a in written.attachments)

        discard_unless_named(
            viewer.company_id, [ref.key or ""], STORED, "its record could not be written", named
        )
        raise
    if not added:  # filled by other uploads since it was read: nothing written
        discard_files(viewer.company_id, [ref.key or ""], STORED, "its record was full")
        raise Conflict(f"a record holds at most {MAX_ATTACHMENTS} attachments", field="record_id")
    return ref


# --- motives and areas (company tables, admins) -------------------------------------------------


def _table(name: str) -> str:
    if name not in TABLES:
        raise NotFound(f"there is no register table {name!r} (motives, areas)")
    return TABLES[name]


def list_table(company_id: str, name: str) -> list[RegisterLookup]:
    entries = lookups.list_lookups(company_id, _table(name))
    if name == "categories" and _default_categories_added(company_id, entries):
        entries = lookups.list_lookups(company_id, "category")
    return sorted(entries, key=lambda e: e.code)


def _default_categories_added(company_id: str, entries: list[RegisterLookup]) -> bool:
    """Write the default categories a company's list is due: all of them the first time it is
    read (and every later batch marked done, so a default deleted later stays deleted); a later
    batch (:data:`LATER_CATEGORIES`) once to a list that had its defaults before it came, those of
    its codes and names the list lacks (a company's own "Pedidos" under another code is not
    doubled). True when something was written."""
    titles = dict(DEFAULT_CATEGORIES)
    if not entries and lookups.seed_once(company_id, "category"):
        for marker in LATER_CATEGORIES:
            lookups.seed_once(company_id, marker)
        due = list(titles)
    else:
        codes = {e.code for e in entries}
        names = {e.name.casefold() for e in entries}
        due = []
        for marker, batch in LATER_CATEGORIES.items():
            missing = [c for c in batch if c not in codes]
            # a GetItem only while a code of the batch is missing (deleted, or never written);
            # the marker's conditional put makes one of two readers at once write them
            if missing and not lookups.seeded(company_id, marker) and lookups.seed_once(company_id, marker):
                due += [c for c in missing if titles[c].casefold() not in names]
    now = clock.now()
    for code in due:
        lookups.add_lookup(RegisterLookup(company_id, "category", code, titles[code], now), "pregon")
    return bool(due)


def document_categories(company_id: str, record: Communication) -> tuple[str, ...]:
    """What a file of ``record`` is filed under in the client's portal unless told: a sent
    order's *Pedidos*, a statement's *Estados de cuenta* ..., when the company's list has it
    (an administrator may have deleted it); nothing for other records."""
    code = DOCUMENT_CATEGORIES.get(record.message_type or "") if record.direction == "out" else None
    if code is None:
        return ()
    return (code,) if any(e.code == code for e in list_table(company_id, "categories")) else ()


def add_entry(admin: Principal, name: str, code: str, title: str) -> RegisterLookup:
    entry = RegisterLookup(admin.company_id, _table(name), code, title, clock.now())
    version = lookups.add_lookup(entry, admin.subject)
    if version is None:
        raise Conflict(f"the {entry.table} {code!r} exists already", field="code")
    return replace(entry, version=version)


def rename_entry(
    company_id: str, name: str, code: str, title: str, if_match: tuple[int, ...] | None = None
) -> RegisterLookup:
    """Rename a motive or an area. With ``if_match`` (the versions an ``If-Match`` names), a 412
    when someone else renamed it since, or deleted it and added it again."""
    entry = lookups.rename_lookup(company_id, _table(name), code, title, if_match)
    if entry is None:
        if if_match is not None and lookups.get_lookup(company_id, _table(name), code) is not None:
            raise edited_meanwhile("this register table entry")
        raise NotFound(f"there is no {TABLES[name]} {code!r}")
    return entry


def delete_entry(company_id: str, name: str, code: str) -> None:
    """Records that use it keep its code (as a3ASESOR keeps the history of a deleted area)."""
    if not lookups.delete_lookup(company_id, _table(name), code):
        raise NotFound(f"there is no {TABLES[name]} {code!r}")
