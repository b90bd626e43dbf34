"""H1 use cases: list a channel's history, view a message as sent, resend, my filters, export."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.domain import Client, Communication, SavedFilter
from chalicelib.core.errors import NotFound, ValidationFailed
from chalicelib.records.history.criteria import HistoryCriteria, history_criteria, one_of
from chalicelib.store import communications as store
from chalicelib.store import register as lookups
from chalicelib.tenants.auth.principal import Principal, may_see, own_only
from chalicelib.tenants.companies import company_time_zone

if TYPE_CHECKING:
    from chalicelib.messaging.outbox import OutgoingMessage

CHANNELS = ("email", "sms", "push")
MAX_RESEND = 100
MANUAL_CAUSE = "manual:"  # the cause of a manual send's messages (``producers.sends``), kept by resends
MAX_FILTERS_PER_USER = 50
# Headers written for each message itself; a resend gets its own.
# Headers a resend does not copy: its own Message-ID and Date, and the ``X-Pregon-Alert`` tracking
# alerts carried until session 22 (``<tracking id>/<event id>#<subscription id>``, ids of ours
# the recipient has no use for), which an alert written before session 6 keeps in its headers.
_OWN_HEADERS = frozenset({"message-id", "date", "x-pregon-alert"})


@dataclass(frozen=True)
class HistoryPage:
    items: list[Communication]
    cursor: dict[str, Any] | None


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise NotFound(f"there is no history for the channel {channel!r} (email, sms, push)")
    return channel


def criteria_for(viewer: Principal, params: Mapping[str, str | None]) -> HistoryCriteria:
    """The query's criteria; with ``filter=<id>``, one of the caller's saved filters, which the
    query's own parameters override."""
    filter_id = (params.get("filter") or "").strip()
    merged: dict[str, str | None] = {}
    if filter_id:
        saved = lookups.get_filter(viewer.company_id, viewer.subject, filter_id)
        if saved is None:
            raise ValidationFailed([{"field": "filter", "message": "is not one of your saved filters"}])
        merged.update(saved.criteria)
    merged.update({k: v for k, v in params.items() if v and k != "filter"})
    return history_criteria(merged, company_time_zone(viewer.company_id))


def query_history(
    viewer: Principal, channel: str, criteria: HistoryCriteria, limit: int, cursor: Any
) -> store.Page:
    return store.history_page(
        viewer.company_id,
        check_channel(channel),
        status=criteria.status,
        limit=limit,
        cursor=cursor,
        created=store.id_range(criteria.since, criteria.until),
        text=criteria.text,
        filter_condition=store.listing_filter(
            kind=criteria.kind,
            client_id=criteria.client_id,
            created_by=own_only(viewer),
        ),
    )


def list_history(
    viewer: Principal, channel: str, criteria: HistoryCriteria, limit: int, cursor: dict[str, Any] | None
) -> HistoryPage:
    page = query_history(viewer, channel, criteria, limit, cursor)
    return HistoryPage(page.items, page.cursor)


def export_rows(viewer: Principal, channel: str, criteria: HistoryCriteria, cap: int) -> list[Communication]:
    """Every message the criteria select, newest first; more than ``cap`` is refused (422)."""
    from chalicelib.records.exports import export_rows as every_row

    return every_row(lambda limit, cursor: query_history(viewer, channel, criteria, limit, cursor), cap)


def visible(viewer: Principal, comm: Communication | None) -> bool:
    if comm is None or comm.company_id != viewer.company_id:
        return False
    return may_see(viewer, comm.created_by)


def history_entry(viewer: Principal, channel: str, communication_id: str) -> Communication:
    """One message of a channel's history, as sent."""
    check_channel(channel)
    comm = store.get(viewer.company_id, communication_id)
    if (
        comm is None
        or not visible(viewer, comm)
        or comm.channel != channel
        or comm.direction not in ("out", "in")
    ):
        raise NotFound(f"there is no {channel} message {communication_id!r} in your history")
    return comm


def resend(viewer: Principal, ids: list[str], *, bulk_password: str | None = None) -> Resent:
    """Send the selected messages again, each as a new manual message to the same recipient with
    the same content (``resend_of`` its original); the originals list their resends. SMS to more
    than one client at once need the company's bulk-send password (C6), as a manual send does.
    The messages of a client being erased are refused (:func:`_enqueue_by_client`): 422 when
    that leaves none."""
    from chalicelib.messaging.accounts.sms import check_bulk_send
    from chalicelib.messaging.outbox import OutgoingMessage

    if not ids:
        raise ValidationFailed([{"field": "ids", "message": "select at least one message"}])
    if len(ids) > MAX_RESEND:
        raise ValidationFailed([{"field": "ids", "message": f"at most {MAX_RESEND} messages at once"}])
    if len(set(ids)) != len(ids):
        raise ValidationFailed([{"field": "ids", "message": "lists a message twice"}])
    found = store.get_many(viewer.company_id, ids)
    originals: list[Communication] = []
    for n, communication_id in enumerate(ids):
        comm = found.get(communication_id)
        if comm is None or not visible(viewer, comm) or comm.direction not in ("out", "in"):
            raise NotFound(f"there is no message {communication_id!r} in your history", field=f"ids[{n}]")
        if comm.direction != "out" or not comm.to_address:
            raise ValidationFailed(
                [{"field": f"ids[{n}]", "message": "only a message we sent can be resent"}]
            )
        originals.append(comm)
    from chalicelib.tenants.clients import get_clients

    # the clients the messages are to or about, read once: who unsubscribed, who is still there
    clients = get_clients(
        viewer.company_id, sorted({c for o in originals if (c := o.client_id or o.about_client)})
    )
    _refuse_unsubscribed(originals, clients)
    # A client is one recipient however many of its SMS are resent (a message to no client: its number).
    sms_recipients = {comm.client_id or comm.to_address for comm in originals if comm.channel == "sms"}
    check_bulk_send(viewer.company_id, len(sms_recipients), bulk_password, user=viewer.subject)
    messages = [
        OutgoingMessage(
            channel=comm.channel,
            to_address=comm.to_address or "",
            text=comm.text or "",
            subject=comm.subject,
            html=comm.html,
            to_name=comm.to_name,
            message_type=comm.message_type,
            kind="manual",
            client_id=comm.client_id,
            contact_id=comm.contact_id,
            area=comm.sender_area or "all",
            cause=comm.cause,
            resend_of=comm.communication_id,
            created_by=viewer.subject,
            headers=_resent_headers(comm),
            attachments=comm.attachments,
            in_reply_to=comm.in_reply_to,
            thread_id=comm.thread_id,
            about_client=comm.about_client,
        )
        for comm in originals
    ]
    written, refused = _enqueue_by_client(viewer.company_id, originals, messages, clients)
    if not written and refused:
        raise ValidationFailed(refused)
    now = clock.now()
    for comm in written:
        if comm.resend_of:
            store.link_resend(viewer.company_id, comm.resend_of, comm.communication_id, now)
    return Resent(written, refused)


@dataclass(frozen=True)
class Resent:
    """What a resend wrote (in the order of its ``ids``), and the ``ids[n]`` it refused, and why."""

    items: list[Communication]
    refused: list[dict[str, str]]


def _enqueue_by_client(
    company_id: str,
    originals: list[Communication],
    messages: list[OutgoingMessage],
    there: Mapping[str, Client],
) -> tuple[list[Communication], list[dict[str, str]]]:
    """Write each client's resends on their own, on condition that no erasure of that client runs
    or ran (``tenants.clients.unless_erased``; a notice to colleagues checks the client it is
    about): the erasure finds what is written, and a client's part that lost to it is refused,
    each of its ``ids[n]`` saying why, while the other clients' go (decision 0017, session 35).
    Messages to no client go together, as before. ``there``: the clients whose items exist."""
    from chalicelib.messaging.outbox import enqueue
    from chalicelib.tenants.clients import unless_erased

    parts: dict[str | None, list[int]] = {}
    for n, comm in enumerate(originals):
        parts.setdefault(comm.client_id or comm.about_client, []).append(n)
    # A code with no client (a parcel's alert: the ERP may name codes it never pushed) is checked
    # for an erasure running only: "the client is there" would refuse it for ever
    written: dict[int, Communication] = {}
    refused: dict[int, str] = {}
    for client_id, positions in parts.items():
        try:
            with unless_erased(company_id, client_id, "ids", client_item=client_id in there) as checks:
                part = enqueue(company_id, [messages[n] for n in positions], checks=checks)
        except ValidationFailed as lost:
            refused.update(dict.fromkeys(positions, lost.errors[0]["message"]))
            continue
        by_original = {c.resend_of: c for c in part}
        written.update({n: by_original[originals[n].communication_id] for n in positions})
    return [written[n] for n in sorted(written)], [
        {"field": f"ids[{n}]", "message": refused[n]} for n in sorted(refused)
    ]


def _refuse_unsubscribed(originals: list[Communication], clients: Mapping[str, Client]) -> None:
    """A manual send's message is not resent to a client who unsubscribed from manual sends since
    (Q5): 422 naming it, as a new send to that client alone is. Event messages and alerts are not
    manual sends and may be resent."""
    manual = [c for c in originals if c.client_id and (c.cause or "").startswith(MANUAL_CAUSE)]
    manual_ids = {c.communication_id for c in manual}
    for n, comm in enumerate(originals):
        client = clients.get(comm.client_id or "") if comm.communication_id in manual_ids else None
        if client is not None and client.manual_sends_off_at is not None:
            raise ValidationFailed(
                [
                    {
                        "field": f"ids[{n}]",
                        "message": f"client {client.client_id!r} unsubscribed from manual sends",
                    }
                ]
            )


def _resent_headers(comm: Communication) -> dict[str, str]:
    """The original's headers for its resend: a reply's ``In-Reply-To`` and the thread its
    ``References`` continued stay (the client's mail program threads the resend where the
    original was); the original's own reply reference leaves, the outbox adds the resend's."""
    from chalicelib.core.links import reply_reference

    headers = {k: v for k, v in comm.headers.items() if k.lower() not in _OWN_HEADERS}
    own = reply_reference(comm.company_id, comm.communication_id)
    for name in [k for k in headers if k.lower() == "references"]:
        thread = " ".join(r for r in headers.pop(name).split() if r != own)
        if thread:
            headers["References"] = thread
    return headers


# --- my filters ----------------------------------------------------------------------------------


def save_filter(
    viewer: Principal, name: str, params: Mapping[str, str | None], channel: str | None = None
) -> SavedFilter:
    """Keep a filter in the viewer's filters; with ``channel``, it belongs to that history (listed
    there only), without one to every history."""
    # checked like a query's own parameters, dates in the company's days
    criteria = history_criteria(params, company_time_zone(viewer.company_id))
    if len(lookups.list_filters(viewer.company_id, viewer.subject)) >= MAX_FILTERS_PER_USER:
        raise ValidationFailed(
            [{"field": "name", "message": f"you have {MAX_FILTERS_PER_USER} saved filters already"}]
        )
    saved = SavedFilter(
        company_id=viewer.company_id,
        user_id=viewer.subject,
        filter_id=secrets.token_hex(6),
        name=name,
        criteria=criteria.as_params(),
        created_at=clock.now(),
        channel=channel,
    )
    return lookups.save_filter(saved)


def my_filters(viewer: Principal, params: Mapping[str, str | None] | None = None) -> list[SavedFilter]:
    """The viewer's saved filters, oldest first; with ``channel`` in ``params``, that history's and
    those saved without a channel (which belong to every history). A ``channel`` given empty is
    refused as any other that is not a channel (422): the contract's enum has no empty value."""
    given = (params or {}).get("channel")
    if given is not None and given.strip() not in CHANNELS:
        raise ValidationFailed([{"field": "channel", "message": f"must be one of {', '.join(CHANNELS)}"}])
    channel = one_of(params or {}, "channel", CHANNELS)
    found = lookups.list_filters(viewer.company_id, viewer.subject, channel)
    return sorted(found, key=lambda f: f.created_at)


def delete_filter(viewer: Principal, filter_id: str) -> None:
    if not lookups.delete_filter(viewer.company_id, viewer.subject, filter_id):
        raise NotFound(f"you have no saved filter {filter_id!r}")
