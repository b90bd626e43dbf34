"""N4: reassign, in one confirmed step, the clients of preferred sales agents to others.

A user with the ``change_preferred_agent`` permission lists the preferred agents with how many
clients each has, fills in "change to" (blank keeps), gets a preview and its token, and applies
it. Applying is idempotent and runs as a job over SQS for more than one page of clients; each
moved client gets an automatic record in its register (H2), written in the company's language with
the people by name as the staff directory had them then (docs/decisions/0007). A token whose
clients changed since the preview is refused (409).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import AgentChange, Communication, StaffUser
from chalicelib.core.errors import Conflict, NotFound, ValidationFailed
from chalicelib.core.observability import logger
from chalicelib.store import outbox as watches
from chalicelib.store import staff as store
from chalicelib.tenants.auth.principal import Principal
from chalicelib.tenants.staff_jobs import AGENT_CHANGES_QUEUE

PAGE_SIZE = 100
NOT_A_NEW_AGENT = "no active user of the staff directory has this user id"
# A change applying with no page counted for this long is taken as stalled: the minute schedule
# resumes it, as does applying it again (a page of 100 clients takes seconds; SQS retries a failed
# one after its visibility timeout, and a page run twice moves and counts nothing twice).
RESUME_AFTER = timedelta(minutes=5)


def agent_changes_queue() -> str:
    return os.environ.get("PREGON_AGENT_CHANGES_QUEUE", AGENT_CHANGES_QUEUE)


@dataclass(frozen=True)
class AgentCount:
    agent: str
    clients: int


def preferred_agents(caller: Principal) -> list[AgentCount]:
    """The preferred agents assigned to the company's clients, with how many clients each has:
    their counts, one Query whatever the number of clients (``store.preferred_agents``). A company
    whose clients are not all counted yet (``ops clients count-agents`` not run since the upgrade)
    has them counted from every client, as before, and it is logged."""
    from chalicelib.store.preferred_agents import agent_counts

    counts = agent_counts(caller.company_id)
    if counts is None:
        logger().warning(
            "preferred agents counted from every client: run ops clients count-agents",
            extra={"company_id": caller.company_id},
        )
        found = store.clients_by_preferred_agent(caller.company_id)
        counts = {agent: len(ids) for agent, ids in found.items()}
    return [AgentCount(agent, n) for agent, n in sorted(counts.items())]


def count_clients(company_id: str) -> int:
    """``ops clients count-agents``: count the company's clients stored before the preferred
    agents' counts, then answer ``GET /preferred-agents`` from the counts. Safe to run again."""
    from chalicelib.store.preferred_agents import count_clients as count

    return count(company_id)


def new_agents(caller: Principal) -> list[StaffUser]:
    """Whom clients may be moved to: the active users of the staff directory, by name."""
    from chalicelib.tenants.staff import active_users

    return active_users(caller.company_id)


def _fingerprint(clients: dict[str, list[str]], agents: list[str]) -> str:
    data = json.dumps({a: sorted(clients.get(a, [])) for a in sorted(agents)}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def preview(caller: Principal, change_to: dict[str, str | None]) -> AgentChange:
    """Which agent goes to which, how many clients each; the change's id is the token. Each new
    agent is an active user of the staff directory. Agents and new agents are named as the caller
    is shown them (``GET /preferred-agents``): by user id, or for a level-4 caller each colleague
    by handle (``tenants.staff.shown_user``)."""
    from chalicelib.tenants.staff import shown_user, users_as_shown

    given = {a.strip(): (t or "").strip() for a, t in change_to.items() if (t or "").strip()}
    nothing = ValidationFailed([{"field": "change_to", "message": "name a new agent for at least one agent"}])
    if not any(a != t for a, t in given.items()):
        raise nothing
    clients = store.clients_by_preferred_agent(caller.company_id)
    agents = {shown_user(caller, agent): agent for agent in clients}
    people = users_as_shown(caller, list(given.values()))

    def refused(agent: str, to: str) -> str | None:
        if agent not in agents:
            return "no client has this preferred agent"
        if to not in people or not people[to].active:
            return NOT_A_NEW_AGENT
        return None

    errors = [
        {"field": f"change_to.{agent}", "message": reason}
        for agent, to in given.items()
        if (reason := refused(agent, to))
    ]
    if errors:
        raise ValidationFailed(errors)
    wanted = {agents[a]: people[t].user_id for a, t in given.items()}
    wanted = {a: t for a, t in wanted.items() if a != t}
    if not wanted:
        raise nothing
    from chalicelib.store.communications import new_communication_id

    now = clock.now()
    moves = tuple(
        {"from_agent": a, "to_agent": t, "clients": len(clients[a])} for a, t in sorted(wanted.items())
    )
    change = AgentChange(
        company_id=caller.company_id,
        change_id=new_communication_id(now),
        moves=moves,
        fingerprint=_fingerprint(clients, list(wanted)),
        state="previewed",
        created_by=caller.subject,
        created_at=now,
        updated_at=now,
        total=sum(len(clients[a]) for a in wanted),
    )
    return store.save_change(change)


def get_change(caller: Principal, change_id: str) -> AgentChange:
    change = store.get_change(caller.company_id, change_id)
    if change is None:
        raise NotFound(f"there is no preferred-agent change {change_id!r}")
    return change


def apply(caller: Principal, token: str) -> tuple[AgentChange, bool]:
    """Apply a previewed change once; returns it and whether this call started it. A second apply
    answers the change as it is, or resumes it when it stalled (:func:`_resume`). Refused (409)
    when the agents' clients changed since the preview."""
    change = get_change(caller, token)
    if change.state == "applying" and clock.now() - change.updated_at >= RESUME_AFTER:
        resumed = _resume(change)
        return get_change(caller, token), resumed
    if change.state != "previewed":
        return change, False
    agents = [m["from_agent"] for m in change.moves]
    clients = store.clients_by_preferred_agent(caller.company_id)
    if _fingerprint(clients, agents) != change.fingerprint:
        raise Conflict(
            "the clients of these agents changed since the preview (a client was reassigned "
            "meanwhile): preview again"
        )
    ids = sorted(c for a in agents for c in clients.get(a, []))
    pages = [ids[i : i + PAGE_SIZE] for i in range(0, len(ids), PAGE_SIZE)]
    now = clock.now()
    starts = [page[0] for page in pages]
    # watched before it is marked applying, so no crash leaves it applying unwatched
    watches.watch_agent_change(caller.company_id, change.change_id, now + RESUME_AFTER)
    if not store.start_applying(caller.company_id, change.change_id, caller.subject, starts, now):
        return get_change(caller, token), False
    _run_pages(caller.company_id, change.change_id, dict(enumerate(pages)))
    return get_change(caller, token), True


def _run_pages(company_id: str, change_id: str, pages: dict[int, list[str]]) -> None:
    """One page is moved in the request; more go to the workers, a page an SQS message."""
    if len(pages) == 1:
        [(number, client_ids)] = pages.items()
        move_page(company_id, change_id, number, client_ids)
    elif pages:
        from chalicelib.core.aws import send_json_messages

        send_json_messages(
            agent_changes_queue(),
            [
                {"company_id": company_id, "change_id": change_id, "page": n, "client_ids": ids}
                for n, ids in sorted(pages.items())
            ],
        )


def resume_stalled_changes(now: datetime | None = None) -> int:
    """The minute schedule: resume each change being applied that has stalled (no page counted
    for :data:`RESUME_AFTER`), and forget the watch of changes that are done. Costs what is due:
    one Query of the due watches, one read per change found. A change that fails to resume is
    logged and looked at again in :data:`RESUME_AFTER` (its watch was taken until then); it holds
    up neither the other changes nor the rest of the schedule. Returns how many were resumed."""
    now = now or clock.now()
    resumed = 0
    for company_id, change_id in watches.due_agent_changes(now, now + RESUME_AFTER):
        try:
            resumed += _look_at(company_id, change_id, now)
        except Exception:
            logger().exception(
                "preferred-agent change could not be resumed; tried again later",
                extra={"company_id": company_id, "change_id": change_id},
            )
    return resumed


def _look_at(company_id: str, change_id: str, now: datetime) -> int:
    change = store.get_change(company_id, change_id)
    if change is None or change.state != "applying" or not change.page_starts:
        watches.forget_agent_change(company_id, change_id)
        return 0
    if now - change.updated_at < RESUME_AFTER or not _resume(change):
        return 0
    logger().warning(
        "preferred-agent change stalled: resumed",
        extra={"company_id": company_id, "change_id": change_id, "pages_done": change.pages_done},
    )
    return 1


def _resume(change: AgentChange) -> bool:
    """Send again the pages of a change that stalled: no page counted for :data:`RESUME_AFTER`
    (the process that applied it died before its pages left, or a page's message ended in the
    dead-letter queue). Each page not counted yet is made again from its range of client ids:
    the clients still with an agent the change moves and not changed since it was applied (one
    given that agent afterwards is not moved), and those this change moved before (so the page
    counts them as its first run would have). Moving stays once per client; a page that is
    counted twice counts once. A change applied before pages were written down (no
    ``page_starts``) is left as it is. False when another resume took it first."""
    company_id, starts = change.company_id, change.page_starts
    left = [n for n in range(len(starts)) if n not in change.done_pages]
    taken = bool(starts) and store.resume_applying(
        company_id, change.change_id, change.updated_at, clock.now()
    )
    if not taken:
        return False
    from chalicelib.store.communications import existing_key

    applied_at = change.applied_at or change.created_at
    from_agents = {m["from_agent"] for m in change.moves}
    to_agents = {m["to_agent"] for m in change.moves}
    pages: dict[int, list[str]] = {}
    for number in left:
        end = starts[number + 1] if number + 1 < len(starts) else None
        pages[number] = [
            client_id
            for client_id, agent, updated_at in store.clients_of_page(company_id, starts[number], end)
            if (agent in from_agents and updated_at <= applied_at)
            or (
                agent in to_agents
                and existing_key(company_id, _key_prefix(change.change_id) + client_id) is not None
            )
        ]
    if pages:
        _run_pages(company_id, change.change_id, pages)
    else:  # every page was counted, but the process died before it marked the change done
        store.mark_done(company_id, change.change_id)
        watches.forget_agent_change(company_id, change.change_id)
    return True


def _key_prefix(change_id: str) -> str:
    """The idempotency key of a client's register record for this change is this + its id."""
    return f"agent-change:{change_id}:"


def move_page(company_id: str, change_id: str, page: int, client_ids: list[str]) -> dict[str, Any]:
    """Move one page of a change's clients (the job worker, or inline for one page): idempotent."""
    change = store.get_change(company_id, change_id)
    if change is None or change.state == "previewed":
        return {"moved": 0, "skipped": 0}
    moves = {m["from_agent"]: m["to_agent"] for m in change.moves}
    by = change.applied_by or change.created_by
    now = clock.now()
    words = _record_words(company_id, [*moves, *moves.values(), by], by)

    def record(client_id: str, old: str, new: str) -> Communication:
        from chalicelib.store.communications import new_communication_id

        return Communication(
            company_id=company_id,
            communication_id=new_communication_id(now),
            direction="note",
            channel="note",
            kind="agent_change",
            state="recorded",
            created_at=now,
            updated_at=now,
            client_id=client_id,
            record_type="other",
            subject=words.subject(old, new),
            text=words.text(old, new, change_id, by),
            initiated_by="staff",
            created_by=by,
        )

    moved, skipped = store.move_clients(company_id, client_ids, moves, record, _key_prefix(change_id), now)
    counted = store.count_page(company_id, change_id, page, moved, skipped, now)
    if counted is not None and counted.state == "done":
        watches.forget_agent_change(company_id, change_id)
    return {"moved": moved, "skipped": skipped}


# The register record of a moved client, in the company's language. Written once, as things were
# when the client moved: the register is a record of what happened, and a later rename in the
# staff directory does not rewrite it (docs/decisions/0007).
RECORD_TEXTS = {
    "es": {
        "subject": "Agente preferido cambiado de {old} a {new}",
        "text": "Agente preferido: {old} → {new} (cambio {change}, aplicado por {by})",
    },
    "en": {
        "subject": "Preferred agent changed from {old} to {new}",
        "text": "Preferred agent: {old} → {new} (change {change}, applied by {by})",
    },
}


@dataclass(frozen=True)
class RecordWords:
    """How a change's register records read: the company's :data:`RECORD_TEXTS`, and each person
    by name in the subject (the user id when the directory has no name) and by name with the id
    in the text, ``Juan Pérez (juan)``, so the record still tells who when two share a name. Each
    id as the user who applied the change is shown it (``shown``; ``tenants.staff.shown_user``):
    the record is theirs, and a level-4 user reads colleagues by handle, never by user id."""

    texts: dict[str, str]
    names: dict[str, str]
    shown: dict[str, str]

    def subject(self, old: str, new: str) -> str:
        return self.texts["subject"].format(old=self._name(old), new=self._name(new))

    def text(self, old: str, new: str, change_id: str, by: str) -> str:
        old, new, by = (self._with_id(i) for i in (old, new, by))
        return self.texts["text"].format(old=old, new=new, change=change_id, by=by)

    def _name(self, user_id: str) -> str:
        return self.names.get(user_id) or self.shown.get(user_id, user_id)

    def _with_id(self, user_id: str) -> str:
        shown = self.shown.get(user_id, user_id)
        return f"{self.names[user_id]} ({shown})" if user_id in self.names else shown


def _record_words(company_id: str, user_ids: list[str], by: str) -> RecordWords:
    from chalicelib.tenants.companies import get_company
    from chalicelib.tenants.staff import ADMIN_LEVEL, shown_user, users_by_id

    language = get_company(company_id).language
    ids = [i for i in dict.fromkeys(user_ids) if i]
    people = users_by_id(company_id, ids)
    names = {i: " ".join((u.name or "").split()) for i, u in people.items()}
    author = Principal(company_id, "user", by, level=people[by].level if by in people else ADMIN_LEVEL)
    return RecordWords(
        RECORD_TEXTS.get(language, RECORD_TEXTS["es"]),
        {i: n for i, n in names.items() if n},
        {i: shown_user(author, i) for i in ids},
    )
