"""Client notes (N1), kept under their author (docs/decisions/0007-notes-and-staff.md): by author
and date on the table, by client and date on ``by-client``. A note holds no branch or department."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import domain
from chalicelib.store.communications import id_range
from chalicelib.store.fields import (
    checked_cursor,
    cursor_within,
    filtered_read,
    item_from,
    page_of,
    record_from,
)
from chalicelib.store.models import ClientNoteModel
from chalicelib.store.tables import new_version, version_held, written


@dataclass(frozen=True)
class NotesPage:
    items: list[domain.ClientNote]
    cursor: dict[str, Any] | None


def _note(item: ClientNoteModel) -> domain.ClientNote:
    return record_from(item, domain.ClientNote, version=int(item.version or 0))


def _item(note: domain.ClientNote) -> ClientNoteModel:
    return item_from(
        ClientNoteModel,
        note,
        author_key=f"{note.company_id}#{note.author}",
        client_key=f"{note.company_id}#{note.client_id}",
    )


def note_ids_between(start: datetime | None, end: datetime | None) -> tuple[str, str] | None:
    """The note ids created in ``[start, end)`` (ids begin with their creation time): a key
    condition, never a filter."""
    return id_range(start, end - timedelta(milliseconds=1) if end else None)


def add_note(note: domain.ClientNote) -> domain.ClientNote:
    _item(note).save(condition=ClientNoteModel.note_id.does_not_exist())
    return note


#: The fields of a note its author edits (:func:`edit_note`); a value None removes it.
EDITED_FIELDS = ("note", "location", "treatment")


def edit_note(
    note: domain.ClientNote,
    changes: dict[str, str | None],
    now: datetime,
    expected: tuple[int, ...] | None = None,
) -> domain.ClientNote | None:
    """Set only the fields in ``changes`` of a stored note (one UpdateItem, so an edit of another
    field made meanwhile stays), as its next version; the note as written, or None when it was
    deleted meanwhile or is no longer at a version ``expected`` names (``If-Match``)."""
    item = ClientNoteModel(f"{note.company_id}#{note.author}", note.note_id)
    actions: list[Any] = [ClientNoteModel.updated_at.set(now)]
    for name, value in changes.items():
        if name not in EDITED_FIELDS:
            raise ValueError(name)
        attribute = getattr(ClientNoteModel, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    actions.append(new_version(ClientNoteModel))
    condition = ClientNoteModel.note_id.exists()
    held = version_held(ClientNoteModel, expected)
    if held is not None:
        condition = condition & held
    if not written(lambda: item.update(actions=actions, condition=condition)):
        return None
    return _note(item)


def delete_note(company_id: str, author: str, note_id: str) -> None:
    ClientNoteModel(f"{company_id}#{author}", note_id).delete()


def find_note(company_id: str, client_id: str, note_id: str) -> domain.ClientNote | None:
    """One note of a client (a Query of one key on ``by-client``)."""
    for item in ClientNoteModel.by_client.query(
        f"{company_id}#{client_id}", ClientNoteModel.note_id == note_id, limit=1
    ):
        return _note(item)
    return None


def author_notes(
    company_id: str,
    author: str,
    *,
    created: tuple[str, str] | None,
    limit: int,
    cursor: dict[str, Any] | None = None,
) -> NotesPage:
    """One author's notes, newest first, within ``created`` (ids from :func:`note_ids_between`)."""
    return _newest_first(ClientNoteModel, f"{company_id}#{author}", created, limit, cursor)


def author_notes_of_client(
    company_id: str,
    author: str,
    client_id: str,
    *,
    created: tuple[str, str] | None,
    limit: int,
    cursor: dict[str, Any] | None,
    read_at_most: int,
) -> tuple[NotesPage, int]:
    """One author's notes on one client, newest first, reading at most ``read_at_most`` of the
    author's notes (a page with fewer than ``limit``, even none, and a cursor to read on from
    where it stopped); and how many it read."""
    key = f"{company_id}#{author}"
    items, after, read = filtered_read(
        ClientNoteModel,
        key,
        ClientNoteModel.note_id.between(*created) if created else None,
        filter_condition=ClientNoteModel.client_key == f"{company_id}#{client_id}",
        limit=limit,
        cursor=cursor_within(
            checked_cursor(ClientNoteModel, key, cursor), ClientNoteModel.note_id, *(created or (None, None))
        ),
        read_at_most=read_at_most,
    )
    return NotesPage([_note(i) for i in items], after), read


def client_notes(
    company_id: str,
    client_id: str,
    *,
    created: tuple[str, str] | None,
    limit: int,
    cursor: dict[str, Any] | None = None,
) -> NotesPage:
    """One client's notes, newest first (every author: the caller keeps the visible ones)."""
    return _newest_first(ClientNoteModel.by_client, f"{company_id}#{client_id}", created, limit, cursor)


def _newest_first(
    queried: Any,
    key: str,
    created: tuple[str, str] | None,
    limit: int,
    cursor: dict[str, Any] | None,
) -> NotesPage:
    """One page of the notes under ``key`` of ``queried`` (the table or an index), newest first."""
    return NotesPage(
        *page_of(
            queried,
            key,
            ClientNoteModel.note_id.between(*created) if created else None,
            scan_index_forward=False,
            limit=limit,
            cursor=cursor_within(
                checked_cursor(queried, key, cursor), ClientNoteModel.note_id, *(created or (None, None))
            ),
            convert=_note,
        )
    )
