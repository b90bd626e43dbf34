"""Client notes (N1, N2) and the notes report (N3) with its Excel export.

A note is kept under its author; its branch and department are the author's current ones in the
staff directory (docs/decisions/0007-notes-and-staff.md). Who sees what: level 1 the company,
2 its branch, 3 its department, 4 its own notes; a note outside that is "not found".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import ClientNote, StaffUser
from chalicelib.core.errors import Forbidden, NotFound, ValidationFailed, edited_meanwhile
from chalicelib.records.history.criteria import short_text
from chalicelib.store import notes as store
from chalicelib.tenants import staff
from chalicelib.tenants.auth.principal import Principal

MAX_NOTE = 4000
MAX_FIELD = 500
MAX_REPORT_ROWS = 10_000  # the most one client's notes, a last-three report or an export holds
_READ_PAGE = 200
# The notes one page of a client's notes reads at most (decision 0012: a page costs the same
# whatever the client holds). A viewer who sees few of a client's notes (a level-4 user among
# colleagues' thousands) gets a page with fewer than ``limit``, even none, and a cursor to read on.
READ_PER_PAGE = 1_000
# A client's notes report reads all of a client with at most this many notes at once (one request,
# the rows sorted and sliced); a client with more is read author by author, each page reading at
# most READ_PER_PAGE of the authors' notes (docs/decisions/0012, session 38).
FEW_NOTES = 200


@dataclass(frozen=True)
class NoteView:
    """A note as a person reads it: with its author's current branch and department."""

    note: ClientNote
    author_name: str | None
    branch: str | None
    department: str | None
    client_name: str | None = None  # in the report: who the note is about, as a person knows them


def _with_client_names(company_id: str, rows: list[NoteView]) -> list[NoteView]:
    """The report's rows with their clients' names, read in one batch (a client no longer there:
    none, its code stands alone)."""
    from chalicelib.tenants.clients import get_clients

    if not rows:
        return rows
    found = get_clients(company_id, sorted({row.note.client_id for row in rows}))
    return [
        replace(row, client_name=c.name if (c := found.get(row.note.client_id)) else None) for row in rows
    ]


def _view(note: ClientNote, author: StaffUser | None) -> NoteView:
    return NoteView(
        note,
        author.name if author else None,
        author.branch if author else None,
        author.department if author else None,
    )


def _check_client(company_id: str, client_id: str) -> None:
    from chalicelib.tenants.clients import get_client

    get_client(company_id, client_id)  # 404 for a client the company does not have


def _text(value: str | None, field: str, maximum: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationFailed([{"field": field, "message": "is required"}])
        return None
    if len(text) > maximum:
        raise ValidationFailed([{"field": field, "message": f"must be at most {maximum} characters"}])
    return text


# --- one client's notes ----------------------------------------------------------------------


def add_note(
    author: Principal, client_id: str, *, note: str, location: str | None, treatment: str | None
) -> NoteView:
    """N1: a note takes its author; a user without a department cannot write one."""
    if author.kind != "user":
        raise Forbidden("notes are written by staff users")
    if not author.department:
        raise ValidationFailed(
            [
                {
                    "field": "department",
                    "message": "your user has no department: an administrator must assign one "
                    "in the staff directory before you can write notes",
                }
            ]
        )
    text = _text(note, "note", MAX_NOTE, required=True)
    assert text is not None
    where = _text(location, "location", MAX_FIELD)
    then = _text(treatment, "treatment", MAX_FIELD)
    _check_client(author.company_id, client_id)
    from chalicelib.store.communications import new_communication_id

    now = clock.now()
    saved = store.add_note(
        ClientNote(
            company_id=author.company_id,
            note_id=new_communication_id(now),
            client_id=client_id,
            author=author.subject,
            note=text,
            location=where,
            treatment=then,
            created_at=now,
            updated_at=now,
        )
    )
    return _view(saved, staff.directory_entry(author))


def list_client_notes(
    viewer: Principal, client_id: str, limit: int, cursor: dict[str, Any] | None
) -> tuple[list[NoteView], dict[str, Any] | None]:
    """A client's notes the viewer may see, newest first: one page reads at most
    :data:`READ_PER_PAGE` of them, and its cursor goes on from where the reading stopped."""
    _check_client(viewer.company_id, client_id)
    _check_key(cursor, "client_key", f"{viewer.company_id}#{client_id}")
    authors = {u.user_id: u for u in staff.visible_authors(viewer)}
    found: list[NoteView] = []
    read = 0
    while True:
        size = min(_READ_PAGE, READ_PER_PAGE - read)
        page = store.client_notes(viewer.company_id, client_id, created=None, limit=size, cursor=cursor)
        read += len(page.items)
        for n, note in enumerate(page.items):
            if note.author in authors:
                found.append(_view(note, authors[note.author]))
                if len(found) == limit:
                    more = n + 1 < len(page.items) or page.cursor is not None
                    return found, _resume_after(note) if more else None
        if page.cursor is None or read >= READ_PER_PAGE:
            return found, page.cursor
        cursor = page.cursor


def _resume_after(note: ClientNote) -> dict[str, Any]:
    """The cursor of ``by-client`` that resumes after ``note`` (its key attributes)."""
    return {
        "client_key": {"S": f"{note.company_id}#{note.client_id}"},
        "note_id": {"S": note.note_id},
        "author_key": {"S": f"{note.company_id}#{note.author}"},
    }


def _visible_note(viewer: Principal, client_id: str, note_id: str) -> tuple[ClientNote, StaffUser | None]:
    note = store.find_note(viewer.company_id, client_id, note_id)
    author = staff.users_by_id(viewer.company_id, [note.author]).get(note.author) if note else None
    if note is None or not staff.sees_author(viewer, author):
        raise NotFound(f"there is no note {note_id!r} on client {client_id!r}")
    return note, author


def get_note(viewer: Principal, client_id: str, note_id: str) -> NoteView:
    return _view(*_visible_note(viewer, client_id, note_id))


def edit_note(
    viewer: Principal,
    client_id: str,
    note_id: str,
    changes: Mapping[str, Any],
    if_match: tuple[int, ...] | None = None,
) -> NoteView:
    """Only the note's author edits it (N2). With ``if_match`` (the versions an ``If-Match``
    names), a 412 when someone else saved it since (the author in another tab)."""
    note, author = _visible_note(viewer, client_id, note_id)
    if viewer.kind != "user" or note.author != viewer.subject:
        raise Forbidden("only the note's author may edit it")
    fields: dict[str, Any] = {}
    if "note" in changes:
        fields["note"] = _text(changes["note"], "note", MAX_NOTE, required=True)
    if "location" in changes:
        fields["location"] = _text(changes["location"], "location", MAX_FIELD)
    if "treatment" in changes:
        fields["treatment"] = _text(changes["treatment"], "treatment", MAX_FIELD)
    # Only the fields given are written: an edit of another field made meanwhile (another tab,
    # or a read from the client index a moment behind it) stays.
    edited = store.edit_note(note, fields, clock.now(), if_match)
    if edited is None and if_match is not None and store.find_note(viewer.company_id, client_id, note_id):
        raise edited_meanwhile("this note")
    if edited is None:
        raise NotFound(f"there is no note {note_id!r} on client {client_id!r}")
    return _view(edited, author)


def delete_note(viewer: Principal, client_id: str, note_id: str) -> None:
    """Only level 1 deletes (N2); a note the viewer cannot see is "not found" first."""
    note, _author = _visible_note(viewer, client_id, note_id)
    if viewer.kind != "user" or viewer.level != staff.ADMIN_LEVEL:
        raise Forbidden("only a company administrator (level 1) may delete notes")
    store.delete_note(note.company_id, note.author, note.note_id)


# --- the report (N3) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCriteria:
    client_id: str | None = None
    branch: str | None = None
    department: str | None = None
    user_id: str | None = None
    first: date | None = None
    last: date | None = None
    last_three: bool = False
    by_department: bool = False


def _day(params: Mapping[str, str | None], name: str) -> date | None:
    from chalicelib.core.localization import checked_day

    return checked_day(params.get(name), name)


def _flag(params: Mapping[str, str | None], name: str) -> bool:
    raw = (params.get(name) or "").strip().lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise ValidationFailed([{"field": name, "message": "must be true or false"}])
    return raw in ("true", "1")


def report_criteria(params: Mapping[str, str | None]) -> ReportCriteria:
    """The report's filters from the query string: client, branch, department, user, from, to
    (the company's days), last_three, group_by=department."""
    first, last = _day(params, "from"), _day(params, "to")
    if first and last and first > last:
        raise ValidationFailed([{"field": "to", "message": "must not be before from"}])
    group = (params.get("group_by") or "").strip()
    if group not in ("", "department"):
        raise ValidationFailed([{"field": "group_by", "message": "must be department"}])
    return ReportCriteria(
        client_id=short_text(params, "client", 64),
        branch=short_text(params, "branch", 64),
        department=short_text(params, "department", 64),
        user_id=short_text(params, "user", 64),
        first=first,
        last=last,
        last_three=_flag(params, "last_three"),
        by_department=group == "department",
    )


@dataclass(frozen=True)
class ReportPage:
    rows: list[NoteView]
    cursor: dict[str, Any] | None
    by_department: bool


def _authors(viewer: Principal, criteria: ReportCriteria) -> list[StaffUser]:
    """The authors in the report, in its order: the viewer's visible authors, narrowed by the
    filters (branch and department are the authors' current ones)."""
    found = [
        u
        for u in staff.visible_authors(viewer)
        if (criteria.branch is None or u.branch == criteria.branch)
        and (criteria.department is None or u.department == criteria.department)
        and (criteria.user_id is None or u.user_id == criteria.user_id)
    ]
    return sorted(found, key=lambda u: _author_order(u, criteria.by_department))


def _author_order(user: StaffUser, by_department: bool) -> tuple[str, ...]:
    who = ((user.name or user.user_id).lower(), user.user_id)
    return ((user.department or "").lower(), *who) if by_department else who


def _row_order(row: NoteView, authors: dict[str, StaffUser], by_department: bool) -> tuple[Any, ...]:
    author = authors[row.note.author]
    # newest first within an author: invert the sortable id
    return (*_author_order(author, by_department), tuple(-ord(c) for c in row.note.note_id))


def _created(viewer: Principal, criteria: ReportCriteria) -> tuple[str, str] | None:
    from chalicelib.core.localization import days_interval
    from chalicelib.tenants.companies import get_company

    if criteria.first is None and criteria.last is None:
        return None
    start, end = days_interval(criteria.first, criteria.last, get_company(viewer.company_id).time_zone)
    return store.note_ids_between(start, end)


def report_page(
    viewer: Principal, criteria: ReportCriteria, limit: int, cursor: dict[str, Any] | None
) -> ReportPage:
    """One page of the report. Ordered by author (grouped: department, then author), newest note
    first. Without "last three", each author's notes are read with a Query that stops at the
    page's end: every item read is a row returned; with a client filter, the authors' notes on
    other clients are read and left out, at most :data:`READ_PER_PAGE` a page (a page may then
    hold fewer rows than ``limit``, even none, and a cursor to read on)."""
    page = _page(viewer, criteria, _authors(viewer, criteria), _created(viewer, criteria), limit, cursor)
    return replace(page, rows=_with_client_names(viewer.company_id, page.rows))


def _page(
    viewer: Principal,
    criteria: ReportCriteria,
    authors: list[StaffUser],
    created: tuple[str, str] | None,
    limit: int,
    cursor: dict[str, Any] | None,
) -> ReportPage:
    if criteria.last_three:
        return _slice(_all_rows(viewer, criteria, authors, created), limit, cursor, criteria.by_department)
    if criteria.client_id is not None and (cursor is None or "offset" in cursor):
        few = _few_client_rows(viewer, criteria.client_id, authors, created, criteria.by_department)
        if few is not None:
            return _slice(few, limit, cursor, criteria.by_department)
        if cursor is not None:  # the client's notes grew past a small client's meanwhile
            raise _bad_cursor()
    rows: list[NoteView] = []
    position = _start(authors, cursor)
    resume = (cursor or {}).get("key")
    if position < len(authors):
        _check_key(resume, "author_key", f"{viewer.company_id}#{authors[position].user_id}")
    allowance = READ_PER_PAGE  # of a client's report: the authors' notes on other clients it reads
    while position < len(authors) and len(rows) < limit and allowance > 0:
        author = authors[position]
        if criteria.client_id is None:
            page = store.author_notes(
                viewer.company_id, author.user_id, created=created, limit=limit - len(rows), cursor=resume
            )
        else:
            page, read = store.author_notes_of_client(
                viewer.company_id,
                author.user_id,
                criteria.client_id,
                created=created,
                limit=limit - len(rows),
                cursor=resume,
                read_at_most=allowance,
            )
            allowance -= read
        rows += [_view(n, author) for n in page.items]
        if page.cursor is not None:
            return ReportPage(rows, {"author": author.user_id, "key": page.cursor}, criteria.by_department)
        position, resume = position + 1, None
    if len(rows) >= limit:  # full, ending with an author's last note: where the next page starts
        after = _next_author(viewer.company_id, criteria.client_id, authors[position:], created, allowance)
        return ReportPage(rows, after, criteria.by_department)
    left = position < len(authors)
    return ReportPage(
        rows, {"author": authors[position].user_id, "key": None} if left else None, criteria.by_department
    )


def _next_author(
    company_id: str,
    client_id: str | None,
    authors: list[StaffUser],
    created: tuple[str, str] | None,
    allowance: int,
) -> dict[str, Any] | None:
    """The cursor of the report's next page after a full one that ended with an author's last
    note: at the first of ``authors`` (those after it) with a note in the report, read a note of
    each (one Query each; a client's report reads on through the author's notes on other clients
    within what is left of the page's allowance, and stops there, with a cursor to read on from,
    when it runs out); None when none has one, so this page is the last and no «Más» leads to an
    empty page (decision 0012, "No empty last page in any listing")."""
    for author in authors:
        if allowance <= 0:
            return {"author": author.user_id, "key": None}
        if client_id is None:
            page = store.author_notes(company_id, author.user_id, created=created, limit=1)
            read = len(page.items) + 1
        else:
            page, read = store.author_notes_of_client(
                company_id,
                author.user_id,
                client_id,
                created=created,
                limit=1,
                cursor=None,
                read_at_most=allowance,
            )
        allowance -= max(read, 1)
        if page.items:
            return {"author": author.user_id, "key": None}
        if page.cursor is not None:  # the allowance ran out within this author's notes
            return {"author": author.user_id, "key": page.cursor}
    return None


def _slice(
    whole: list[NoteView], limit: int, cursor: dict[str, Any] | None, by_department: bool
) -> ReportPage:
    """A page of a report read whole, by offset."""
    offset = (cursor or {}).get("offset", 0)
    if not isinstance(offset, int) or offset < 0:
        raise _bad_cursor()
    end = offset + limit
    return ReportPage(whole[offset:end], {"offset": end} if end < len(whole) else None, by_department)


def _few_client_rows(
    viewer: Principal,
    client_id: str,
    authors: list[StaffUser],
    created: tuple[str, str] | None,
    by_department: bool,
) -> list[NoteView] | None:
    """Every row of one client's report when the client holds at most :data:`FEW_NOTES` notes
    (one request of ``by-client`` reads them all), in the report's order; None for a client with
    more, whose report is read author by author."""
    page = store.client_notes(viewer.company_id, client_id, created=created, limit=FEW_NOTES + 1, cursor=None)
    if len(page.items) > FEW_NOTES:
        return None
    by_id = {a.user_id: a for a in authors}
    rows = [_view(n, by_id[n.author]) for n in page.items if n.author in by_id]
    return sorted(rows, key=lambda r: _row_order(r, by_id, by_department))


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([{"field": "cursor", "message": "is not a cursor of this listing (ask again)"}])


def _check_key(cursor: Any, attribute: str, expected: str) -> None:
    """A cursor given back resumes the listing it came from (the same partition), or is refused."""
    if cursor is None:
        return
    value = cursor.get(attribute) if isinstance(cursor, dict) else None
    if not isinstance(value, dict) or value.get("S") != expected:
        raise _bad_cursor()


def _start(authors: list[StaffUser], cursor: dict[str, Any] | None) -> int:
    if not cursor:
        return 0
    wanted = cursor.get("author")
    for n, author in enumerate(authors):
        if author.user_id == wanted:
            return n
    raise _bad_cursor()


def _all_rows(
    viewer: Principal, criteria: ReportCriteria, authors: list[StaffUser], created: tuple[str, str] | None
) -> list[NoteView]:
    """Every row of a "last three" report (the last three notes per client, of one client or
    all) read whole, in the report's order; at most :data:`MAX_REPORT_ROWS`."""
    by_id = {a.user_id: a for a in authors}
    notes: list[ClientNote] = []
    if criteria.client_id is not None:
        sources: list[Any] = [
            lambda c: store.client_notes(
                viewer.company_id, criteria.client_id or "", created=created, limit=_READ_PAGE, cursor=c
            )
        ]
    else:
        sources = [
            (
                lambda c, a=a: store.author_notes(
                    viewer.company_id, a.user_id, created=created, limit=_READ_PAGE, cursor=c
                )
            )
            for a in authors
        ]
    for read in sources:
        cursor: dict[str, Any] | None = None
        while True:
            page = read(cursor)
            notes += [n for n in page.items if n.author in by_id]
            if len(notes) > MAX_REPORT_ROWS * (1 if not criteria.last_three else 50):
                raise ValidationFailed(
                    [{"field": "from", "message": "the report holds too many notes: narrow the filters"}]
                )
            if page.cursor is None:
                break
            cursor = page.cursor
    if criteria.last_three:
        newest: dict[str, list[ClientNote]] = {}
        for note in sorted(notes, key=lambda n: n.note_id, reverse=True):
            kept = newest.setdefault(note.client_id, [])
            if len(kept) < 3:
                kept.append(note)
        notes = [n for kept in newest.values() for n in kept]
    rows = [_view(n, by_id[n.author]) for n in notes]
    return sorted(rows, key=lambda r: _row_order(r, by_id, criteria.by_department))


def _report_pages(viewer: Principal, criteria: ReportCriteria, cap: int) -> Iterator[list[NoteView]]:
    """The report's rows in its order, a page at a time; past ``cap`` rows, 422 ``ExportTooLarge``.
    The directory and the company are read once for all the pages."""
    from chalicelib.records.exports import ExportTooLarge

    authors, created = _authors(viewer, criteria), _created(viewer, criteria)
    rows = 0
    cursor: dict[str, Any] | None = None
    while True:
        size = cap + 1 if criteria.last_three else _READ_PAGE
        page = _page(viewer, criteria, authors, created, min(size, cap + 1 - rows), cursor)
        rows += len(page.rows)
        if rows > cap:
            raise ExportTooLarge(
                [{"field": "from", "message": f"an export holds at most {cap} rows: narrow the filters"}]
            )
        yield _with_client_names(viewer.company_id, page.rows)
        if page.cursor is None:
            return
        cursor = page.cursor


def report_rows(viewer: Principal, criteria: ReportCriteria) -> list[NoteView]:
    """Every row of the report, in its order (for the export); at most MAX_REPORT_ROWS."""
    return [row for page in _report_pages(viewer, criteria, MAX_REPORT_ROWS) for row in page]


EXPORT_COLUMNS = ("Department", "Branch", "User", "Client", "Date", "Note", "Location", "Treatment")


def _lines(
    pages: Iterable[list[NoteView]], by_department: bool, company: Any
) -> Iterator[tuple[list[list[Any]], int]]:
    """The export's lines a page at a time, with how many notes each holds; grouped by department,
    each group opens with a line naming the department and how many notes it holds (a group's
    rows are held until the next group starts: the report lists each department's together).
    Branches and departments are written by their names in the staff directory, as the console
    shows them (a code the directory has no name for, as it is)."""
    from chalicelib.core.localization import show_datetime

    branches, departments = (
        {unit.code: unit.name for unit in staff.list_units(company.company_id, table)}
        for table in ("branches", "departments")
    )

    def department(code: str | None) -> str | None:
        return departments.get(code, code) if code else code

    def line(row: NoteView) -> list[Any]:
        return [
            department(row.department),
            branches.get(row.branch, row.branch) if row.branch else row.branch,
            row.author_name or row.note.author,
            f"{row.client_name} ({row.note.client_id})" if row.client_name else row.note.client_id,
            show_datetime(row.note.created_at, company.time_zone, company.locale),
            row.note.note,
            row.note.location,
            row.note.treatment,
        ]

    group: list[NoteView] = []
    for page in pages:
        if not by_department:
            yield [line(row) for row in page], len(page)
            continue
        for row in page:
            if group and (row.department or "") != (group[0].department or ""):
                yield _group(group, company.language, line, department), len(group)
                group = []
            group.append(row)
    if group:
        yield _group(group, company.language, line, department), len(group)


def _group(rows: list[NoteView], language: str, line: Any, department: Any) -> list[list[Any]]:
    heading = _group_line(department(rows[0].department) or "", len(rows), language)
    return [[heading], *(line(row) for row in rows)]


def _columns(language: str) -> list[str]:
    from chalicelib.records.exports import heading

    return [heading(name, language) for name in EXPORT_COLUMNS]


def _sheet_title(language: str) -> str:
    from chalicelib.records.exports import word

    return word("Notes", language) or "Notes"


def export_report(viewer: Principal, criteria: ReportCriteria) -> bytes:
    """The report as an .xlsx file: the same rows in the same order; grouped by department, each
    group opens with a row naming the department and how many notes it holds. More than
    :data:`MAX_REPORT_ROWS` rows: 422 ``ExportTooLarge`` naming the background export."""
    from chalicelib.records.exports import ExportTooLarge, workbook
    from chalicelib.tenants.companies import get_company

    company = get_company(viewer.company_id)
    try:
        rows = report_rows(viewer, criteria)
    except ExportTooLarge as too_large:
        too_large.background = "POST /notes/report/exports"
        raise
    lines = [cells for page, _count in _lines([rows], criteria.by_department, company) for cells in page]
    return workbook(_sheet_title(company.language), _columns(company.language), lines)


# What a background export of the report keeps of its query parameters.
EXPORT_FILTERS = ("client", "branch", "department", "user", "from", "to", "last_three", "group_by")


def start_export(viewer: Principal, params: Mapping[str, str | None]) -> Any:
    """Ask for the report's export in the background (its filters checked now: a 4xx naming the
    field, nothing written); it holds what the viewer's level, branch and department show now."""
    from chalicelib.records.history.exports import NOTES, queue_export

    report_criteria(params)
    kept = {name: str(params[name]).strip() for name in EXPORT_FILTERS if (params.get(name) or "").strip()}
    return queue_export(viewer, NOTES, kept)


def find_export(viewer: Principal, export_id: str) -> Any:
    """A background export of the report: its creator's, or any for level 1 (one holds what its
    creator's branch or department shows)."""
    from chalicelib.records.history.exports import NOTES
    from chalicelib.records.history.exports import find_export as find

    export = find(viewer, NOTES, export_id, viewer.kind == "user" and viewer.level == staff.ADMIN_LEVEL)
    if export is None:
        raise NotFound(f"there is no notes report export {export_id!r}")
    return export


def report_sheet(viewer: Principal, criteria: Mapping[str, str], cap: int) -> Any:
    """What a background export of the report writes, read a page at a time as ``viewer`` reads it."""
    from chalicelib.records.exports import Sheet
    from chalicelib.tenants.companies import get_company

    company = get_company(viewer.company_id)
    chosen = report_criteria(criteria)
    pages = _lines(_report_pages(viewer, chosen, cap), chosen.by_department, company)
    return Sheet(_sheet_title(company.language), _columns(company.language), "notes-report.xlsx", pages)


def _group_line(department: str, count: int, language: str) -> str:
    """The row that opens a department's notes in the export: its name and how many notes."""
    if language == "es":
        return f"Departamento: {department or '(ninguno)'} ({count} {'nota' if count == 1 else 'notas'})"
    return f"Department: {department or '(none)'} ({count} {'note' if count == 1 else 'notes'})"
