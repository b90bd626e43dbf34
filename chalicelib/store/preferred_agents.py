"""How many clients each preferred agent has (N4's ``GET /preferred-agents``), without reading the
clients: a counter per (company, agent) in ``preferred-agents``, moved in the transaction of every
write that changes a client's agent (docs/decisions/0007-notes-and-staff.md).

A client counts under its agent once its item says ``agent_counted``: every writer (a save, a
page of an agent change, the client's erasure) reads the client, moves its count from the agent it
was counted under to the new one, and sets the mark, in one transaction conditioned on the client
as read. A transaction that does not hold changes neither; one run twice finds the client already
moved (or gone) and counts nothing. The item :data:`COUNTED` says every client of the company is
counted: a new company has it from its creation; an older one from :func:`count_clients` (``ops
clients count-agents``). Until then the listing reads the clients as before.
"""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.transactions import TransactWrite

from chalicelib.store.models import ClientModel, PreferredAgentModel

# The item saying every client of the company is counted (no agent code holds a '#': schemas.Code).
COUNTED = "#counted"
# Clients counted per transaction by the backfill: one update each, and at most one per agent.
_TX_CLIENTS = 50


def counted_under(item: ClientModel | None) -> str | None:
    """The agent a stored client is counted under: its agent once ``agent_counted``, else none."""
    if item is None or not item.agent_counted or not item.preferred_agent:
        return None
    return str(item.preferred_agent)


def moves(pairs: Iterable[tuple[str | None, str | None]]) -> dict[str, int]:
    """The counts to move for clients going from the agent each is counted under to its new one
    (``(counted_under, new agent)``): agent -> change, none that is zero."""
    deltas: dict[str, int] = {}
    for old, new in pairs:
        if old == new:
            continue
        if old:
            deltas[old] = deltas.get(old, 0) - 1
        if new:
            deltas[new] = deltas.get(new, 0) + 1
    return {agent: n for agent, n in deltas.items() if n}


def move_counts(tx: TransactWrite, company_id: str, deltas: dict[str, int]) -> None:
    """Add to the transaction one update per agent whose count changes (an ``ADD``: the first
    client of an agent creates its counter)."""
    for agent, n in sorted(deltas.items()):
        tx.update(PreferredAgentModel(company_id, agent), actions=[PreferredAgentModel.clients.add(n)])


def counted_mark(company_id: str) -> PreferredAgentModel:
    """The :data:`COUNTED` item, which a new company is created with (it has no client yet)."""
    return PreferredAgentModel(company_id, COUNTED, clients=0)


def agent_counts(company_id: str) -> dict[str, int] | None:
    """Each preferred agent with clients -> how many: one Query of the company's counters (as many
    items as agents, whatever the number of clients); None while the company's clients are not all
    counted (no :data:`COUNTED` item: ``ops clients count-agents`` has not run for it)."""
    found = {
        str(item.agent): int(item.clients or 0)
        for item in PreferredAgentModel.query(company_id, consistent_read=True)
    }
    if found.pop(COUNTED, None) is None:
        return None
    return {agent: n for agent, n in found.items() if n > 0}


def count_clients(company_id: str) -> int:
    """Count every client of the company not counted yet under its agent, then mark the company
    counted (``ops clients count-agents``, once after the upgrade). One Query of the clients; each
    client counted in a transaction with its counter, on condition that it still has the agent read
    and is still not counted (a save or a move meanwhile counted it itself). Stopped midway and run
    again, it counts only the rest; run again after, nothing. Returns how many it counted."""
    from chalicelib.store.tables import transact_all_or_drop, written

    todo = [
        item
        for item in ClientModel.query(
            company_id,
            attributes_to_get=["company_id", "client_id", "preferred_agent", "agent_counted"],
            consistent_read=True,
        )
        if item.preferred_agent and not item.agent_counted
    ]

    def add(tx: TransactWrite, item: ClientModel) -> None:
        tx.update(
            item,
            actions=[ClientModel.agent_counted.set(True)],
            condition=(ClientModel.preferred_agent == item.preferred_agent)
            & ClientModel.agent_counted.does_not_exist(),
        )

    def counters(tx: TransactWrite, items: list[ClientModel]) -> None:
        move_counts(tx, company_id, moves((None, str(i.preferred_agent)) for i in items))

    counted = 0
    for start in range(0, len(todo), _TX_CLIENTS):
        counted += len(transact_all_or_drop(todo[start : start + _TX_CLIENTS], add, extra=counters))
    written(lambda: counted_mark(company_id).save(condition=PreferredAgentModel.agent.does_not_exist()))
    return counted
