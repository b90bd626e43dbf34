"""Staff IMAP mailboxes for the register (H3): settings, the write-only password, how far each
folder was read, the monitor's figures, and the sparse ``mailbox-syncs`` index the schedule reads.

A sync holds the mailbox by a lease (``sync_lease_until``, a conditional update), so two syncs of
one mailbox never run side by side; the folders' progress is written after each batch of
messages, so a sync that dies goes on from there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist
from pynamodb.transactions import TransactWrite

from chalicelib.core import domain
from chalicelib.store.communications import stamp
from chalicelib.store.fields import item_from, record_from
from chalicelib.store.models import MailboxModel
from chalicelib.store.tables import new_version, version_held, written

_SYNC_SHARD = "mailboxes"
# The mailbox settings a user edits; a change of host, port or user also clears the password.
SETTINGS = (
    "visibility",
    "host",
    "port",
    "encryption",
    "username",
    "folders",
    "enabled",
    "auth",
    "tenant_id",
    "client_id",
)


def _state(raw: str | None) -> dict[str, domain.FolderState]:
    data: dict[str, Any] = json.loads(raw) if raw else {}
    return {
        str(folder): domain.FolderState(int(value["uidvalidity"]), int(value["last_uid"]))
        for folder, value in data.items()
    }


def _state_text(state: dict[str, domain.FolderState]) -> str:
    return json.dumps(
        {f: {"uidvalidity": s.uidvalidity, "last_uid": s.last_uid} for f, s in sorted(state.items())}
    )


def _record(item: MailboxModel) -> domain.Mailbox:
    from chalicelib.store.communications import parse_stamp

    return record_from(
        item,
        domain.Mailbox,
        port=int(item.port),
        folders=tuple(str(f) for f in item.folders or ()),
        enabled=bool(item.enabled),
        password_ciphertext=bytes(item.password_ciphertext) if item.password_ciphertext else None,
        auth=item.auth or "password",
        client_secret_ciphertext=(
            bytes(item.client_secret_ciphertext) if item.client_secret_ciphertext else None
        ),
        service_account_key_ciphertext=(
            bytes(item.service_account_key_ciphertext) if item.service_account_key_ciphertext else None
        ),
        folder_state=_state(item.folder_state),
        logged_count=int(item.logged_count or 0),
        next_sync_at=parse_stamp(item.next_sync_at) if item.next_sync_at else None,
        version=int(item.version or 0),
    )


def create_mailbox(mailbox: domain.Mailbox) -> bool:
    """Write a new mailbox (its settings only: no password, progress or sync yet); False when its
    id exists already."""
    item = item_from(
        MailboxModel,
        mailbox,
        leave_out=(
            "password_ciphertext",
            "client_secret_ciphertext",
            "service_account",
            "service_account_key_ciphertext",
            "folder_state",
            "last_sync_at",
            "last_error",
            "next_sync_at",
        ),
        folders=list(mailbox.folders),
        logged_count=0,
    )
    return written(lambda: item.save(condition=MailboxModel.mailbox_id.does_not_exist()))


def get_mailbox(company_id: str, mailbox_id: str) -> domain.Mailbox | None:
    try:
        return _record(MailboxModel.get(company_id, mailbox_id, consistent_read=True))
    except DoesNotExist:
        return None


def list_mailboxes(company_id: str) -> list[domain.Mailbox]:
    return [_record(i) for i in MailboxModel.query(company_id)]


def update_settings(
    company_id: str,
    mailbox_id: str,
    fields: dict[str, Any],
    now: datetime,
    *,
    clear_password: bool,
    restart_folders: bool | None = None,
    clear_client_secret: bool = False,
    clear_service_account_key: bool = False,
    expected: tuple[int, ...] | None = None,
) -> bool:
    """Change settings of a mailbox that exists, as their next version (False, nothing written,
    when it does not, or is no longer at a version ``expected`` names: ``If-Match``); a setting
    given as None is removed. A mailbox pointed at another server or user loses its password and starts its
    folders again (``restart_folders`` defaults to ``clear_password``; the same server read
    without TLS keeps its place); one pointed at another Entra app, or back to a password, loses
    its client secret (``clear_client_secret``); one switched away from Google, its service
    account and key (``clear_service_account_key``)."""
    actions: list[Any] = [MailboxModel.updated_at.set(now)]
    for name, value in fields.items():
        if name not in SETTINGS:
            raise ValueError(name)
        attribute = getattr(MailboxModel, name)
        if value is None:
            actions.append(attribute.remove())
        else:
            actions.append(attribute.set(list(value) if name == "folders" else value))
    if clear_password:
        actions.append(MailboxModel.password_ciphertext.remove())
    if clear_client_secret:
        actions.append(MailboxModel.client_secret_ciphertext.remove())
    if clear_service_account_key:
        actions.append(MailboxModel.service_account.remove())
        actions.append(MailboxModel.service_account_key_ciphertext.remove())
    if clear_password if restart_folders is None else restart_folders:
        actions.append(MailboxModel.folder_state.remove())
    actions.append(new_version(MailboxModel))
    return _update(company_id, mailbox_id, actions, version_held(MailboxModel, expected))


def set_password(company_id: str, mailbox_id: str, ciphertext: bytes, now: datetime) -> bool:
    return _update(
        company_id,
        mailbox_id,
        [MailboxModel.password_ciphertext.set(ciphertext), MailboxModel.updated_at.set(now)],
    )


def set_client_secret(company_id: str, mailbox_id: str, ciphertext: bytes, now: datetime) -> bool:
    """A Microsoft 365 mailbox's Entra app client secret (KMS ciphertext), as a password is kept."""
    return _update(
        company_id,
        mailbox_id,
        [MailboxModel.client_secret_ciphertext.set(ciphertext), MailboxModel.updated_at.set(now)],
    )


def set_service_account_key(
    company_id: str, mailbox_id: str, ciphertext: bytes, now: datetime, *, service_account: str
) -> bool:
    """A Google Workspace mailbox's service account (its ``client_email``) and private key (KMS
    ciphertext), written together: the key is bound to that account."""
    return _update(
        company_id,
        mailbox_id,
        [
            MailboxModel.service_account.set(service_account),
            MailboxModel.service_account_key_ciphertext.set(ciphertext),
            MailboxModel.updated_at.set(now),
        ],
    )


def delete_mailbox(company_id: str, mailbox_id: str) -> bool:
    return written(
        lambda: MailboxModel(company_id, mailbox_id).delete(condition=MailboxModel.mailbox_id.exists())
    )


# --- syncs ----------------------------------------------------------------------------------------


def claim_sync(company_id: str, mailbox_id: str, now: datetime, until: datetime) -> domain.Mailbox | None:
    """Hold the mailbox for one sync until ``until``; None when another sync holds it (or it is gone)."""
    item = MailboxModel(company_id, mailbox_id)
    if not written(
        lambda: item.update(
            actions=[MailboxModel.sync_lease_until.set(stamp(until))],
            condition=MailboxModel.mailbox_id.exists()
            & (MailboxModel.sync_lease_until.does_not_exist() | (MailboxModel.sync_lease_until < stamp(now))),
        )
    ):
        return None
    return get_mailbox(company_id, mailbox_id)


def save_progress(company_id: str, mailbox_id: str, state: dict[str, domain.FolderState]) -> None:
    """How far the folders were read (one update)."""
    _update(company_id, mailbox_id, [MailboxModel.folder_state.set(_state_text(state))])


def count_logged(tx: TransactWrite, company_id: str, mailbox_id: str, records: int) -> None:
    """Count ``records`` logged from a mailbox in the transaction that writes them (while the
    mailbox exists: one deleted meanwhile cancels the write)."""
    tx.update(
        MailboxModel(company_id, mailbox_id),
        actions=[MailboxModel.logged_count.add(records)],
        condition=MailboxModel.mailbox_id.exists(),
    )


def finish_sync(
    company_id: str, mailbox_id: str, now: datetime, error: str | None, next_sync_at: datetime | None
) -> None:
    """The sync's outcome for the monitor; the lease is let go and the next sync scheduled."""
    actions: list[Any] = [
        MailboxModel.last_sync_at.set(now),
        MailboxModel.last_error.set(error) if error else MailboxModel.last_error.remove(),
        MailboxModel.sync_lease_until.remove(),
    ]
    if next_sync_at is not None:
        actions += _schedule(next_sync_at)
    _update(company_id, mailbox_id, actions)


def schedule_sync(company_id: str, mailbox_id: str, at: datetime | None) -> None:
    """Put the mailbox on the schedule at ``at`` (None takes it off)."""
    _update(company_id, mailbox_id, _schedule(at))


def _schedule(at: datetime | None) -> list[Any]:
    """Update actions putting the mailbox in the sparse ``mailbox-syncs`` index at ``at`` (None
    takes it out)."""
    if at is None:
        return [MailboxModel.sync_shard.remove(), MailboxModel.next_sync_at.remove()]
    return [MailboxModel.sync_shard.set(_SYNC_SHARD), MailboxModel.next_sync_at.set(stamp(at))]


def _update(company_id: str, mailbox_id: str, actions: list[Any], held: Any = None) -> bool:
    """Apply ``actions`` to a mailbox that exists (and ``held``, when given, holds); False
    (nothing written) when it does not."""
    condition = MailboxModel.mailbox_id.exists()
    if held is not None:
        condition = condition & held
    return written(lambda: MailboxModel(company_id, mailbox_id).update(actions=actions, condition=condition))


def due_syncs(now: datetime, limit: int = 1000) -> Iterator[tuple[str, str]]:
    """(company, mailbox) of mailboxes whose scheduled sync has come (a query of the sparse index)."""
    for item in MailboxModel.syncs.query(_SYNC_SHARD, MailboxModel.next_sync_at <= stamp(now), limit=limit):
        yield item.company_id, item.mailbox_id
