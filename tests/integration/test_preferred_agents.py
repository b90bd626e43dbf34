"""N4 (seed 001, "cambio de agente preferente"): a user with the permission moves all the clients of
a preferred sales agent to another in one confirmed step; each moved client's register says so."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.aws import dynamodb_requests, dynamodb_requests_by_table
from tests.steps.clients import put_client
from tests.steps.notes import (
    agents,
    lose_an_agent_change_page,
    many_clients,
    run_agent_change_workers,
    staff_headers,
)
from tests.steps.outbox import run_minute_schedule, sqs_failing
from tests.steps.tenants import Tenant, named_user


def manager(api: Client, tenant: Tenant, level: int = 2) -> dict[str, str]:
    """A user (level 2 unless said) the administrator gave the change_preferred_agent permission."""
    headers = staff_headers(tenant, "gerente", level, branch="north", department="sales")
    assert api.http.get("/staff/me", headers=headers).status_code == 200  # in the directory now
    response = api.http.put(
        "/staff/users/gerente",
        headers=tenant.admin_headers(),
        body=json.dumps({"permissions": ["change_preferred_agent"]}),
    )
    assert response.status_code in (200, 201), response.body
    return headers


def clients_of(api: Client, tenant: Tenant) -> None:
    for n in range(5):
        put_client(api, tenant, f"J{n}", preferred_agent="juan")
    for n in range(2):
        put_client(api, tenant, f"M{n}", preferred_agent="maria")
    put_client(api, tenant, "P0", preferred_agent="pedro")


def preview_change(api: Client, headers: dict[str, str], change_to: dict[str, Any]) -> Any:
    response = api.http.post(
        "/preferred-agents/changes", headers=headers, body=json.dumps({"change_to": change_to})
    )
    assert response.status_code == 201, response.body
    return body(response)


def apply(api: Client, headers: dict[str, str], token: str) -> Any:
    return api.http.post("/preferred-agents/apply", headers=headers, body=json.dumps({"token": token}))


class ProcessDied(BaseException):
    """Not an error the handler answers: the process is gone."""


def apply_dying_before_its_pages_leave(
    api: Client, headers: dict[str, str], token: str, monkeypatch: Any
) -> None:
    """Apply a change in a process that dies after marking it applying, before its pages leave."""
    with monkeypatch.context() as patched, pytest.raises(ProcessDied):
        sqs_failing(patched, lambda _: ProcessDied())
        apply(api, headers, token)


def juans_clients_and_a_change_to_sofia(api: Client, tenant: Tenant) -> tuple[list[str], dict[str, str], Any]:
    """250 clients of Juan (three pages), a manager, and the previewed change of Juan's clients to
    Sofía: (client ids, manager, change)."""
    ids = many_clients(tenant.company_id, 250, "juan")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant)
    return ids, boss, preview_change(api, boss, {"juan": "sofia"})


def juans_clients_to_sofia_applied_by_a_dying_process(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> tuple[list[str], dict[str, str], Any]:
    """:func:`juans_clients_and_a_change_to_sofia`, applied by a process that dies before its
    pages leave."""
    ids, boss, change = juans_clients_and_a_change_to_sofia(api, tenant)
    apply_dying_before_its_pages_leave(api, boss, change["token"], monkeypatch)
    return ids, boss, change


def agent_records(api: Client, tenant: Tenant, client_id: str) -> list[str]:
    items = body(api.http.get(f"/clients/{client_id}/register", headers=tenant.admin_headers()))["items"]
    return [i["subject"] for i in items if i["kind"] == "agent_change" and i["automatic"]]


def agent_record_text(api: Client, tenant: Tenant, client_id: str) -> str:
    """The text of the client's one preferred-agent record, as its detail shows it."""
    items = body(api.http.get(f"/clients/{client_id}/register", headers=tenant.admin_headers()))["items"]
    [record] = [i["communication_id"] for i in items if i["kind"] == "agent_change"]
    path = f"/clients/{client_id}/register/{record}"
    return str(body(api.http.get(path, headers=tenant.admin_headers()))["text"])


# What the register of a client of Juan (no name in the directory) reads once Sofía has it.
JUAN_TO_SOFIA = "Agente preferido cambiado de juan a Sofía Gómez"


def test_preview_then_apply_moves_the_clients_once_and_writes_their_register(
    api: Client, tenant: Tenant
) -> None:
    # Given clients of three agents, two agents named in the staff directory (María is not), and a
    # manager with the permission
    clients_of(api, tenant)
    named_user(tenant.company_id, "juan", "Juan Pérez")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant)
    # Then the manager sees each agent with how many clients it has, by name beside the user id
    assert agents(api, boss) == {"juan": 5, "maria": 2, "pedro": 1}
    answer = body(api.http.get("/preferred-agents", headers=boss))
    assert [(a["agent"], a["agent_name"]) for a in answer["items"]] == [
        ("juan", "Juan Pérez"),
        ("maria", None),
        ("pedro", None),
    ]
    # And whom they may go to: the directory's active people, by name, with the user id to send
    assert {(p["user_id"], p["name"]) for p in answer["people"]} >= {
        ("juan", "Juan Pérez"),
        ("sofia", "Sofía Gómez"),
    }
    # When she fills "change to" for Juan only (blank keeps the others) and previews
    change = preview_change(api, boss, {"juan": "sofia", "maria": "", "pedro": None})
    # Then the preview says which agent goes to which (ids and names), with how many clients, and
    # gives a token
    assert [(m["from_agent"], m["to_agent"], m["clients"]) for m in change["moves"]] == [("juan", "sofia", 5)]
    names = [(m["from_agent_name"], m["to_agent_name"]) for m in change["moves"]]
    assert names == [("Juan Pérez", "Sofía Gómez")]
    assert change["state"] == "previewed" and change["token"]
    assert agents(api, boss) == {"juan": 5, "maria": 2, "pedro": 1}  # nothing moved yet
    # And a clerk has the card of one of Juan's clients open
    opened = api.http.get("/clients/J0", headers=tenant.staff_headers()).headers["ETag"]
    # When she confirms
    response = apply(api, boss, change["token"])
    assert response.status_code == 202, response.body
    assert (body(response)["state"], body(response)["moved"]) == ("done", 5)
    assert [m["to_agent_name"] for m in body(response)["moves"]] == ["Sofía Gómez"]
    # Then Juan's clients are Sofía's, and each client's register records the change in the
    # company's language, naming who (by name, with the user id in the text)
    assert agents(api, boss) == {"sofia": 5, "maria": 2, "pedro": 1}
    # And the client's card opened before is stale: saved, it would give the client back to Juan
    assert api.http.get("/clients/J0", headers=tenant.staff_headers()).headers["ETag"] != opened
    card = {"name": "Cliente J0", "preferred_agent": "juan"}
    clerk = {**tenant.staff_headers(), "If-Match": opened}
    stale = api.http.put("/clients/J0", headers=clerk, body=json.dumps(card))
    assert stale.status_code == 412, stale.body
    juan_to_sofia = "Agente preferido cambiado de Juan Pérez a Sofía Gómez"
    assert agent_records(api, tenant, "J0") == [juan_to_sofia]
    text = agent_record_text(api, tenant, "J0")
    assert text.startswith("Agente preferido: Juan Pérez (juan) → Sofía Gómez (sofia) (cambio ")
    assert text.endswith(", aplicado por gerente)")  # the manager has no name in the directory
    assert agent_records(api, tenant, "M0") == []
    # When she confirms again: the same answer, nothing more is written
    again = apply(api, boss, change["token"])
    assert again.status_code == 200 and (body(again)["state"], body(again)["moved"]) == ("done", 5)
    assert agent_records(api, tenant, "J0") == [juan_to_sofia]
    # When Juan's name changes in the directory, Then the record still says what was true then
    named_user(tenant.company_id, "juan", "Juan Pérez Ruiz")
    assert agent_records(api, tenant, "J0") == [juan_to_sofia]
    # When the company writes in English and María's clients go to Juan
    language = api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps({"language": "en"}))
    assert language.status_code == 200, language.body
    assert apply(api, boss, preview_change(api, boss, {"maria": "juan"})["token"]).status_code == 202
    # Then their records read in English, María by her user id (the directory has no name for her)
    assert agent_records(api, tenant, "M0") == ["Preferred agent changed from maria to Juan Pérez Ruiz"]
    assert agent_records(api, tenant, "J0") == [juan_to_sofia]


def test_agents_whose_user_ids_are_email_addresses_take_clients_and_the_moved_clients_cards_still_save(
    api: Client, tenant: Tenant
) -> None:
    # Given staff users whose user ids are their e-mail addresses (the token's sub, as the console's
    # directory suggests), Juan by name
    juan, sofia, cobros = "juan@cargas.example", "sofia@cargas.example", "cobros@cargas.example"
    named_user(tenant.company_id, juan, "Juan Pérez")
    named_user(tenant.company_id, sofia, "Sofía Gómez")
    # When a clerk gives a client Juan as its preferred agent and the collector as its collection agent
    card = {"name": "Ferretería López", "preferred_agent": juan, "collection_agent": cobros}
    saved = api.http.put("/clients/FL-1", headers=tenant.staff_headers(), body=json.dumps(card))
    # Then the client keeps them
    assert saved.status_code == 200, saved.body
    assert (body(saved)["preferred_agent"], body(saved)["collection_agent"]) == (juan, cobros)
    # When a manager moves Juan's clients to Sofía
    boss = manager(api, tenant)
    assert agents(api, boss) == {juan: 1}
    assert apply(api, boss, preview_change(api, boss, {juan: sofia})["token"]).status_code == 202
    # Then the client's card, read again and saved as read, keeps Sofía
    read = api.http.get("/clients/FL-1", headers=tenant.staff_headers())
    clerk = {**tenant.staff_headers(), "If-Match": read.headers["ETag"]}
    again = {k: body(read)[k] for k in ("name", "emails", "preferred_agent", "collection_agent")}
    resaved = api.http.put("/clients/FL-1", headers=clerk, body=json.dumps(again))
    assert resaved.status_code == 200, resaved.body
    assert body(resaved)["preferred_agent"] == sofia
    # And an agent with a space is still refused, naming the field, as is one holding a '#' (the
    # agents' counters keep '#counted', the mark that every client is counted, beside the agents)
    refused = (("preferred_agent", "juan p"), ("preferred_agent", "#counted"), ("collection_agent", "a#b"))
    for field, agent in refused:
        bad = api.http.put(
            "/clients/FL-2", headers=tenant.staff_headers(), body=json.dumps({"name": "X", field: agent})
        )
        assert bad.status_code == 422 and body(bad)["errors"][0]["field"] == field, bad.body
    # And nothing of them was written: no client FL-2, the counts as they were
    assert api.http.get("/clients/FL-2", headers=tenant.staff_headers()).status_code == 404
    assert agents(api, boss) == {sofia: 1}


def directory_ids(api: Client, tenant: Tenant) -> set[str]:
    """The user id of everyone in the company's staff directory (as an administrator reads it)."""
    users = body(api.http.get("/staff/users", headers=tenant.admin_headers()))["items"]
    return {u["user_id"] for u in users}


@pytest.mark.parametrize("level", [1, 4])
def test_each_level_names_colleagues_as_it_is_shown_them_and_a_level_4_user_never_sees_their_ids(
    api: Client, tenant: Tenant, level: int
) -> None:
    # Given clients of three agents, Juan and Sofía named in the directory, and a user of each
    # level with the permission
    clients_of(api, tenant)
    named_user(tenant.company_id, "juan", "Juan Pérez")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant, level)
    colleagues = (directory_ids(api, tenant) | {"juan", "maria", "pedro"}) - {"gerente"}
    # When they list the agents, preview Juan's clients to Sofía as they were shown them, apply it
    # and follow it
    listed = api.http.get("/preferred-agents", headers=boss)
    shown = body(listed)
    [juan] = [a["agent"] for a in shown["items"] if a["agent_name"] == "Juan Pérez"]
    [sofia] = [p["user_id"] for p in shown["people"] if p["name"] == "Sofía Gómez"]
    preview = api.http.post(
        "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {juan: sofia}})
    )
    assert preview.status_code == 201, preview.body
    token = body(preview)["token"]
    applied = apply(api, boss, token)
    assert applied.status_code == 202, applied.body
    followed = api.http.get(f"/preferred-agents/changes/{token}", headers=boss)
    # Then the change is made: Juan's clients are Sofía's
    after = agents(api, boss)
    assert after[sofia] == 5 and juan not in after
    moves = [(m["from_agent_name"], m["to_agent_name"], m["clients"]) for m in body(followed)["moves"]]
    assert moves == [("Juan Pérez", "Sofía Gómez", 5)] and body(followed)["state"] == "done"
    # And the register of a moved client, which the user who applied the change reads as theirs
    register = api.http.get("/clients/J0/register", headers=boss)
    [record] = [r for r in body(register)["items"] if r["kind"] == "agent_change"]
    detail = api.http.get(f"/clients/J0/register/{record['communication_id']}", headers=boss)
    assert body(detail)["subject"].endswith("de Juan Pérez a Sofía Gómez")
    answers = [listed, preview, applied, followed, register, detail]
    if level < 4:
        # And levels 1-3 see and send user ids
        assert (juan, sofia) == ("juan", "sofia")
        assert all("sofia" in a.body.decode() for a in answers if a is not register)
    else:
        # And a level-4 user sees each colleague only by name and handle, in every answer, and
        # their own user id as it is
        found = {i for a in answers for i in colleagues if i in a.body.decode()}
        assert found == set()
        assert body(followed)["created_by"] == "gerente"
        # And a colleague's user id, which a level-4 user was never shown, names no one in change_to
        response = api.http.post(
            "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {"sofia": "juan"}})
        )
        assert response.status_code == 422, response.body
        assert body(response)["errors"] == [
            {"field": "change_to.sofia", "message": "no client has this preferred agent"}
        ]
        response = api.http.post(
            "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {sofia: "juan"}})
        )
        assert body(response)["errors"] == [
            {
                "field": f"change_to.{sofia}",
                "message": "no active user of the staff directory has this user id",
            }
        ]


def test_a_token_older_than_its_clients_is_refused(api: Client, tenant: Tenant) -> None:
    clients_of(api, tenant)
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant)
    change = preview_change(api, boss, {"juan": "sofia"})
    # When the back office reassigns one of Juan's clients meanwhile
    put_client(api, tenant, "J3", preferred_agent="maria")
    # Then confirming the old preview is refused, and nothing moved
    response = apply(api, boss, change["token"])
    assert response.status_code == 409 and "preview again" in body(response)["message"]
    assert agents(api, boss) == {"juan": 4, "maria": 3, "pedro": 1}
    # And a fresh preview goes through
    fresh = preview_change(api, boss, {"juan": "sofia"})
    assert apply(api, boss, fresh["token"]).status_code == 202
    assert agents(api, boss) == {"sofia": 4, "maria": 3, "pedro": 1}


def test_without_the_permission_the_window_is_refused(api: Client, tenant: Tenant) -> None:
    clients_of(api, tenant)
    for headers in (tenant.admin_headers(), tenant.key_headers()):
        response = api.http.get("/preferred-agents", headers=headers)
        assert response.status_code == 403, response.body
        response = api.http.post(
            "/preferred-agents/changes", headers=headers, body=json.dumps({"change_to": {"juan": "x"}})
        )
        assert response.status_code == 403
    # And bad input names the field
    boss = manager(api, tenant)
    response = api.http.post(
        "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {"nadie": "sofia"}})
    )
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "change_to.nadie"
    response = api.http.post(
        "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {"juan": ""}})
    )
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "change_to"
    # And a new agent must be an active user of the staff directory: one it does not have, or one
    # no longer active, is refused at the agent whose clients would go to them
    named_user(tenant.company_id, "ex", "Ex Empleado")
    left = api.http.put("/staff/users/ex", headers=tenant.admin_headers(), body=json.dumps({"active": False}))
    assert left.status_code == 200, left.body
    for nobody in ("sofia", "ex"):
        response = api.http.post(
            "/preferred-agents/changes", headers=boss, body=json.dumps({"change_to": {"juan": nobody}})
        )
        assert response.status_code == 422, response.body
        assert body(response)["errors"] == [
            {"field": "change_to.juan", "message": "no active user of the staff directory has this user id"}
        ]
    assert "ex" not in {p["user_id"] for p in body(api.http.get("/preferred-agents", headers=boss))["people"]}


def test_a_thousand_clients_move_through_the_job(api: Client, tenant: Tenant) -> None:
    # Given 1,000 clients of Juan (ten pages)
    ids = many_clients(tenant.company_id, 1000, "juan")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant)
    assert agents(api, boss) == {"juan": 1000}
    change = preview_change(api, boss, {"juan": "sofia"})
    # When the manager confirms: a job starts, its pages on the queue
    response = apply(api, boss, change["token"])
    assert response.status_code == 202 and body(response)["state"] == "applying"
    # When the workers run every page
    assert run_agent_change_workers() == 10
    # Then all 1,000 are Sofía's, the change is done, and each client's register says so
    done = body(api.http.get(f"/preferred-agents/changes/{change['token']}", headers=boss))
    assert (done["state"], done["moved"], done["skipped"]) == ("done", 1000, 0)
    assert agents(api, boss) == {"sofia": 1000}
    assert agent_records(api, tenant, ids[0]) == [JUAN_TO_SOFIA]
    assert agent_records(api, tenant, ids[-1]) == [JUAN_TO_SOFIA]
    # And a page delivered twice changes and counts nothing more
    from chalicelib.tenants.staff_agents import move_page

    assert move_page(tenant.company_id, change["token"], 0, ids[:100]) == {"moved": 100, "skipped": 0}
    again = body(api.http.get(f"/preferred-agents/changes/{change['token']}", headers=boss))
    assert (again["moved"], again["skipped"]) == (1000, 0)
    assert agent_records(api, tenant, ids[0]) == [JUAN_TO_SOFIA]
    assert counted_agents(api, boss) == {"sofia": 1000}


def change_of(api: Client, headers: dict[str, str], token: str) -> tuple[str, int, int]:
    change = body(api.http.get(f"/preferred-agents/changes/{token}", headers=headers))
    return change["state"], change["moved"], change["skipped"]


def test_a_change_whose_pages_never_left_is_resumed_by_applying_it_again(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    # Given 250 clients of Juan (three pages) and a change to Sofía
    # When the process applying it dies after marking it applying, before its pages leave
    ids, boss, change = juans_clients_to_sofia_applied_by_a_dying_process(api, tenant, monkeypatch)
    applied_at = clock.now()
    # Then the change stays applying and no worker has anything to run
    assert change_of(api, boss, change["token"]) == ("applying", 0, 0)
    assert run_agent_change_workers() == 0
    # And applying it again at once answers it as it is: it may still be under way
    again = apply(api, boss, change["token"])
    assert again.status_code == 200 and body(again)["state"] == "applying"
    assert run_agent_change_workers() == 0
    # When, a minute later, someone gives Juan one more client
    clock.set_now(applied_at + timedelta(minutes=1))
    put_client(api, tenant, "BULK-00150b", preferred_agent="juan")
    # And the manager applies the change again once it has stalled for five minutes
    clock.set_now(applied_at + timedelta(minutes=6))
    resumed = apply(api, boss, change["token"])
    assert resumed.status_code == 202 and body(resumed)["state"] == "applying"
    assert run_agent_change_workers() == 3
    # Then the 250 clients of the change are Sofía's, once each, and the change is done
    assert change_of(api, boss, change["token"]) == ("done", 250, 0)
    assert agent_records(api, tenant, ids[0]) == [JUAN_TO_SOFIA]
    assert agent_records(api, tenant, ids[-1]) == [JUAN_TO_SOFIA]
    # And the client given to Juan after the change was applied stays his
    assert agents(api, boss) == {"sofia": 250, "juan": 1}
    assert agent_records(api, tenant, "BULK-00150b") == []
    # And applying it again now answers it as it is
    done = apply(api, boss, change["token"])
    assert done.status_code == 200 and run_agent_change_workers() == 0


def test_a_change_with_a_lost_page_sends_that_page_again_and_counts_each_client_once(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given 250 clients of Juan and a change to Sofía applied as a job of three pages
    _, boss, change = juans_clients_and_a_change_to_sofia(api, tenant)
    started = clock.now()
    assert apply(api, boss, change["token"]).status_code == 202
    # When one page's message is lost and the workers run the others
    lost = lose_an_agent_change_page()
    assert run_agent_change_workers() == 2
    state, moved, _ = change_of(api, boss, change["token"])
    assert state == "applying" and moved == (150 if lost < 2 else 200)  # pages of 100, 100, 50
    # And the manager applies it again once nothing has moved for five minutes
    clock.set_now(started + timedelta(minutes=5))
    resumed = apply(api, boss, change["token"])
    # Then only the lost page runs again (one page: in the request, as a one-page change does)
    assert resumed.status_code == 202 and body(resumed)["state"] == "done"
    assert run_agent_change_workers() == 0
    # And every client is counted once
    assert change_of(api, boss, change["token"]) == ("done", 250, 0)
    assert agents(api, boss) == {"sofia": 250}


def test_the_minute_schedule_resumes_a_stalled_change_that_nobody_applies_again(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    # Given 250 clients of Juan (three pages) and a change to Sofía
    # When the process applying it dies after marking it applying, before its pages leave
    ids, boss, change = juans_clients_to_sofia_applied_by_a_dying_process(api, tenant, monkeypatch)
    applied_at = clock.now()
    # Then the minute schedule leaves it alone while it may still be under way
    clock.set_now(applied_at + timedelta(minutes=4))
    assert run_minute_schedule(api)["agent_changes"] == 0
    assert run_agent_change_workers() == 0
    # When nobody applies it again and five minutes pass with no page counted
    clock.set_now(applied_at + timedelta(minutes=5, seconds=30))
    # Then the minute schedule resumes it, once however often it runs
    assert run_minute_schedule(api)["agent_changes"] == 1
    assert run_minute_schedule(api)["agent_changes"] == 0
    assert run_agent_change_workers() == 3
    # And the 250 clients are Sofía's, once each, and the change is done
    assert change_of(api, boss, change["token"]) == ("done", 250, 0)
    assert agents(api, boss) == {"sofia": 250}
    assert agent_records(api, tenant, ids[0]) == [JUAN_TO_SOFIA]
    # And a done change is not looked at again
    clock.set_now(applied_at + timedelta(minutes=30))
    assert run_minute_schedule(api)["agent_changes"] == 0
    assert watched_agent_changes(tenant) == []


def test_a_change_that_finishes_leaves_nothing_for_the_schedule(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given 250 clients of Juan, a change to Sofía applied as three pages, and every page run
    _, boss, change = juans_clients_and_a_change_to_sofia(api, tenant)
    started = clock.now()
    assert apply(api, boss, change["token"]).status_code == 202
    assert watched_agent_changes(tenant) == [change["token"]]  # watched while it is applied
    assert run_agent_change_workers() == 3
    # When the minute schedule runs long after
    clock.set_now(started + timedelta(minutes=10))
    # Then it finds nothing to resume: the change forgot its watch when its last page was counted
    assert watched_agent_changes(tenant) == []
    assert run_minute_schedule(api)["agent_changes"] == 0
    assert change_of(api, boss, change["token"]) == ("done", 250, 0)


def test_a_change_that_fails_to_resume_holds_up_neither_the_others_nor_the_outboxes(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    # Given two changes whose applying processes died before their pages left (Juan's 250
    # clients to Sofía, María's 150 to Pedro), and five minutes with no page counted
    boss, first, second, applied_at = two_changes_stalled(api, tenant, clock, monkeypatch)
    # When the queue refuses the pages of the first change the schedule resumes
    refused: list[str] = []

    def refuses_juans(bodies: list[dict[str, Any]]) -> BaseException | None:
        if any(b.get("change_id") == first["token"] for b in bodies):
            refused.append(first["token"])
            return RuntimeError("SQS is unavailable")
        return None

    sqs_failing(monkeypatch, refuses_juans)
    answer = run_minute_schedule(api)
    # Then the schedule still answers, the second change is resumed, and the first waits
    assert refused and answer["agent_changes"] == 1
    assert run_agent_change_workers() == 2
    assert change_of(api, boss, second["token"]) == ("done", 150, 0)
    assert change_of(api, boss, first["token"])[0] == "applying"
    # When the queue is back and five more minutes pass
    monkeypatch.undo()
    clock.set_now(applied_at + timedelta(minutes=11))
    # Then the first change is resumed too, and both are done once
    assert run_minute_schedule(api)["agent_changes"] == 1
    assert run_agent_change_workers() == 3
    assert change_of(api, boss, first["token"]) == ("done", 250, 0)
    assert agents(api, boss) == {"sofia": 250, "pedro": 150}


def test_a_schedule_that_dies_resuming_one_change_leaves_the_next_for_the_next_minute(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    # Given two changes whose applying processes died before their pages left, and five minutes
    # with no page counted
    boss, first, second, applied_at = two_changes_stalled(api, tenant, clock, monkeypatch)
    # When the minute schedule's own process dies resuming the first change it comes to
    resumed: list[str] = []

    def dies_at_the_first(bodies: list[dict[str, Any]]) -> BaseException | None:
        if bodies[0].get("company_id") != tenant.company_id:  # the wake-ups are every tenant's
            return None
        resumed.append(bodies[0]["change_id"])
        return ProcessDied() if len(resumed) == 1 else None

    sqs_failing(monkeypatch, dies_at_the_first)
    with pytest.raises(ProcessDied):
        run_minute_schedule(api)
    (died_on,) = resumed
    (other,) = {first["token"], second["token"]} - {died_on}
    # Then at the next minute the other change is resumed: it was never taken, so it waits for
    # nothing
    clock.set_now(applied_at + timedelta(minutes=6, seconds=30))
    run_minute_schedule(api)
    assert resumed == [died_on, other]
    # And the one it died on is resumed once its own look is due, and both end done once
    clock.set_now(applied_at + timedelta(minutes=11))
    run_minute_schedule(api)
    assert resumed == [died_on, other, died_on]
    assert run_agent_change_workers() == 5
    assert change_of(api, boss, first["token"]) == ("done", 250, 0)
    assert change_of(api, boss, second["token"]) == ("done", 150, 0)
    assert agents(api, boss) == {"sofia": 250, "pedro": 150}


def two_changes_stalled(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> tuple[dict[str, str], Any, Any, datetime]:
    """Juan's 250 clients to Sofía and María's 150 to Pedro, each change applied by a process
    that dies before its pages leave, and the clock five and a half minutes later, when the
    minute schedule resumes them: (manager, first change, second change, when applied)."""
    many_clients(tenant.company_id, 250, "juan")
    many_clients(tenant.company_id, 150, "maria", prefix="MAR")
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    named_user(tenant.company_id, "pedro", "Pedro Díaz")
    boss = manager(api, tenant)
    first = preview_change(api, boss, {"juan": "sofia"})
    second = preview_change(api, boss, {"maria": "pedro"})
    applied_at = clock.now()
    for change in (first, second):
        apply_dying_before_its_pages_leave(api, boss, change["token"], monkeypatch)
    clock.set_now(applied_at + timedelta(minutes=5, seconds=30))
    return boss, first, second, applied_at


def watched_agent_changes(tenant: Tenant) -> list[str]:
    """The changes of the tenant the minute schedule watches (its raw wake-up items)."""
    from chalicelib.store.models import OutboxModel
    from tests.steps.outbox import raw_items

    return [
        json.loads(i["work"]["S"])["change_id"]
        for i in raw_items(OutboxModel.Meta.table_name, tenant.company_id, "agentchange#")
    ]


# --- the counts: GET /preferred-agents without reading the clients -------------------------------


def counted_agents(api: Client, headers: dict[str, str]) -> dict[str, int]:
    """:func:`agents`, asserting the listing read none of the company's clients."""
    from chalicelib.store.models import ClientModel

    with dynamodb_requests(ClientModel) as clients_read:
        found = agents(api, headers)
    assert clients_read == [], "GET /preferred-agents read the clients"
    return found


def listing_requests(api: Client, headers: dict[str, str]) -> tuple[int, list[str]]:
    """How many DynamoDB requests one GET /preferred-agents makes (the caller's own directory entry,
    read on a request or kept for 10 s, read beforehand so each count is alike), and its agents."""
    assert api.http.get("/preferred-agents", headers=headers).status_code == 200
    with dynamodb_requests() as made:
        response = api.http.get("/preferred-agents", headers=headers)
    assert response.status_code == 200, response.body
    return len(made), [a["agent"] for a in body(response)["items"]]


def test_the_listing_costs_the_same_at_300_clients_as_at_3(api: Client, tenant: Tenant) -> None:
    # Given three clients of Juan, and a level-4 user with the permission
    many_clients(tenant.company_id, 3, "juan")
    boss = manager(api, tenant, 4)
    few, shown = listing_requests(api, boss)
    # When the company has 300 more (of Juan and María)
    many_clients(tenant.company_id, 200, "juan", prefix="MORE")
    many_clients(tenant.company_id, 100, "maria", prefix="MAR")
    # Then the listing makes as many requests as before, none of them to the clients' table, and
    # counts each client (a level-4 user sees the agents by handle, as before)
    many, shown_now = listing_requests(api, boss)
    assert many == few
    assert sorted(counted_agents(api, boss).values()) == [100, 203]
    assert shown[0] in shown_now and "juan" not in shown_now and "maria" not in shown_now
    # And the callers without the permission are refused as before: an administrator, a level-4
    # user, an API key
    without = staff_headers(tenant, "vendedor", 4, branch="north", department="sales")
    for headers in (tenant.admin_headers(), without, tenant.key_headers()):
        assert api.http.get("/preferred-agents", headers=headers).status_code == 403


def test_the_listing_reads_its_agents_names_in_one_request_however_many_they_are(
    api: Client, tenant: Tenant
) -> None:
    from chalicelib.tenants.staff import forget_cached_users

    # Given clients of twelve agents, each named in the staff directory, and a manager
    for n in range(12):
        many_clients(tenant.company_id, 1, f"agente{n:02d}", prefix=f"A{n:02d}")
        named_user(tenant.company_id, f"agente{n:02d}", f"Agente {n:02d}")
    boss = manager(api, tenant)
    assert api.http.get("/preferred-agents", headers=boss).status_code == 200  # the manager's entry
    # When the manager lists the agents, none of them read in the seconds before
    forget_cached_users()
    with dynamodb_requests_by_table() as requests:
        response = api.http.get("/preferred-agents", headers=boss)
    # Then each agent is named, and their names were read in one request, not one each
    assert response.status_code == 200, response.body
    items = body(response)["items"]
    assert [(a["agent"], a["agent_name"]) for a in items] == [
        (f"agente{n:02d}", f"Agente {n:02d}") for n in range(12)
    ]
    assert requests["BatchGetItem staff-users"] == 1, dict(requests)
    assert requests["GetItem staff-users"] <= 1, dict(requests)  # the manager's own entry, at most


def test_the_counts_follow_every_save_move_and_erasure(
    api: Client, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import erasures
    from tests.steps.erasure import erase, erasure_in_the_request

    erasure_in_the_request(monkeypatch)
    # Given clients of three agents and a manager
    clients_of(api, tenant)
    named_user(tenant.company_id, "sofia", "Sofía Gómez")
    boss = manager(api, tenant)
    assert counted_agents(api, boss) == {"juan": 5, "maria": 2, "pedro": 1}
    # When the back office moves a client of Juan to María, saves another unchanged, takes
    # María's agent off one of hers and adds a client of Pedro
    put_client(api, tenant, "J0", preferred_agent="maria")
    put_client(api, tenant, "J1", preferred_agent="juan", name="Otro nombre")
    put_client(api, tenant, "M1")
    put_client(api, tenant, "P1", preferred_agent="pedro")
    # Then each count moved with its client
    assert counted_agents(api, boss) == {"juan": 4, "maria": 2, "pedro": 2}

    # When P0's erasure stops just before it deletes the client, and two runs of it then each read
    # its last page (the client, counted under Pedro) and commit it
    def stopped(job: Any) -> Any:
        raise RuntimeError("the erasure's run stopped here")

    with monkeypatch.context() as patched:
        patched.setattr(erasures, "client_page", stopped)
        assert erase(api, tenant.admin_headers(), "P0").status_code in (200, 202)
    assert counted_agents(api, boss) == {"juan": 4, "maria": 2, "pedro": 2}  # still there
    job = erasures.get_erasure(tenant.company_id, erasures.erasure_key(tenant.company_id, "P0"))
    assert job is not None
    first, second = erasures.client_page(job), erasures.client_page(job)
    now = datetime.now().astimezone()
    # Then the client goes once and Pedro counts it off once
    assert erasures.commit(job, first, now, done=True)
    assert not erasures.commit(job, second, now, done=True)
    assert counted_agents(api, boss) == {"juan": 4, "maria": 2, "pedro": 1}
    # When Juan's clients go to Sofía, and the change's page is delivered again
    change = preview_change(api, boss, {"juan": "sofia"})
    assert apply(api, boss, change["token"]).status_code == 202
    from chalicelib.tenants.staff_agents import move_page

    assert move_page(tenant.company_id, change["token"], 0, ["J1", "J2", "J3", "J4"])["moved"] == 4
    # Then Sofía has them, counted once
    assert counted_agents(api, boss) == {"sofia": 4, "maria": 2, "pedro": 1}


def test_a_company_from_before_the_counts_is_counted_once_by_the_backfill(
    api: Client, tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.store.models import PreferredAgentModel
    from chalicelib.store.preferred_agents import COUNTED
    from infrastructure import ops

    # Given a company whose clients were stored before the counts (120 of Juan, 30 of María)
    PreferredAgentModel(tenant.company_id, COUNTED).delete()
    many_clients(tenant.company_id, 120, "juan", counted=False)
    many_clients(tenant.company_id, 30, "maria", prefix="MAR", counted=False)
    boss = manager(api, tenant)
    # Then until the backfill runs the listing counts every client, as it did
    assert agents(api, boss) == {"juan": 120, "maria": 30}
    # When the back office moves one of Juan's old clients to Pedro before the backfill
    put_client(api, tenant, "BULK-00000", preferred_agent="pedro")
    # And the operator runs the backfill, then again
    capsys.readouterr()
    argv = ["--target", "env", "--json", "clients", "count-agents", tenant.company_id]
    assert ops.main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert ops.main(argv) == 0
    second = json.loads(capsys.readouterr().out)
    # Then it counted the 149 clients not counted yet, and nothing the second time
    assert first["items"] == [{"company_id": tenant.company_id, "clients": 149}]
    assert second["items"] == [{"company_id": tenant.company_id, "clients": 0}]
    # And the listing answers from the counts, which saves keep
    assert counted_agents(api, boss) == {"juan": 119, "maria": 30, "pedro": 1}
    put_client(api, tenant, "MAR-00000", preferred_agent="juan")
    assert counted_agents(api, boss) == {"juan": 120, "maria": 29, "pedro": 1}
