"""N1-N3 (seed 001, "Notas específicas"): staff write notes on clients; who sees a note depends on
its author's current branch and department in the staff directory, and a report lists them with an
Excel export of the same rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.notes import (
    add_department,
    client_notes,
    export_lines,
    report,
    report_pages,
    staff_headers,
    write_note,
)
from tests.steps.tenants import Tenant

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)

# Four users at levels 1-4 in two branches (north, south) and two departments (sales, billing).
PEOPLE = {
    "ana": (1, "north", "sales"),
    "beto": (2, "north", "billing"),
    "carla": (3, "south", "sales"),
    "dario": (4, "south", "billing"),
}


def team(tenant: Tenant) -> dict[str, dict[str, str]]:
    return {
        user: staff_headers(tenant, user, level, branch=branch, department=department, name=user.title())
        for user, (level, branch, department) in PEOPLE.items()
    }


def units(api: Client, tenant: Tenant) -> None:
    for table, code in [("branches", "north"), ("branches", "south"), ("departments", "sales"),
                        ("departments", "billing"), ("departments", "support")]:  # fmt: skip
        response = api.http.post(
            f"/staff/units/{table}",
            headers=tenant.admin_headers(),
            body=json.dumps({"code": code, "name": code}),
        )
        assert response.status_code == 201, response.body


def matrix(api: Client, tenant: Tenant, clock: Any) -> dict[str, dict[str, str]]:
    """Each of the four writes one note on CLI-1 and one on CLI-2, a minute apart."""
    put_client(api, tenant, "CLI-1")
    put_client(api, tenant, "CLI-2")
    people = team(tenant)
    minute = 0
    for client_id in ("CLI-1", "CLI-2"):
        for user, headers in people.items():
            minute += 1
            clock.set_now(START + timedelta(minutes=minute))
            write_note(api, headers, client_id, f"{user} on {client_id}", location="office")
    return people


EXPECTED = {
    "ana": {"ana", "beto", "carla", "dario"},  # level 1: the company
    "beto": {"ana", "beto"},  # level 2: branch north
    "carla": {"ana", "carla"},  # level 3: department sales
    "dario": {"dario"},  # level 4: own notes
}


@pytest.mark.parametrize("viewer", list(PEOPLE))
def test_each_level_sees_exactly_its_notes_in_the_api_the_report_and_the_export(
    api: Client, tenant: Tenant, clock: Any, viewer: str
) -> None:
    # Given four users at levels 1-4, each with a note on two clients
    people = matrix(api, tenant, clock)
    headers = people[viewer]
    authors = EXPECTED[viewer]
    # Then the client tab shows the notes of exactly the authors the level allows, newest first
    for client_id in ("CLI-1", "CLI-2"):
        expected = [f"{u} on {client_id}" for u in reversed(list(PEOPLE)) if u in authors]
        assert client_notes(api, headers, client_id) == expected
    # And the report holds the same notes, by author (name), newest first
    rows = report(api, headers)
    expected_rows = [(f"{u} on {c}") for u in sorted(authors) for c in ("CLI-2", "CLI-1")]
    assert [r["note"] for r in rows] == expected_rows
    # And the Excel file the same rows in the same order
    lines = export_lines(api, headers)
    header, data = lines[0], lines[1:]
    assert [line[header.index("Nota")] for line in data] == expected_rows


def test_a_note_takes_its_author_and_where_the_author_works(api: Client, tenant: Tenant, clock: Any) -> None:
    people = matrix(api, tenant, clock)
    note = body(api.http.get("/clients/CLI-1/notes?limit=1", headers=people["ana"]))["items"][0]
    assert (note["author"], note["author_name"], note["branch"], note["department"]) == (
        "dario", "Dario", "south", "billing",
    )  # fmt: skip
    assert note["location"] == "office" and note["treatment"] is None


def test_a_user_without_a_department_cannot_write_notes(api: Client, tenant: Tenant) -> None:
    put_client(api, tenant, "CLI-1")
    nobody = staff_headers(tenant, "eva", 2, branch="north")
    response = api.http.post("/clients/CLI-1/notes", headers=nobody, body=json.dumps({"note": "Llamó"}))
    assert response.status_code == 422
    assert body(response)["errors"][0]["field"] == "department"
    assert "no department" in body(response)["errors"][0]["message"]
    # And an empty note is refused naming the field, nothing written
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales")
    response = api.http.post("/clients/CLI-1/notes", headers=ana, body=json.dumps({"note": "  "}))
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "note"
    assert client_notes(api, ana, "CLI-1") == []


def test_a_user_always_sees_and_edits_the_notes_they_wrote(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given a level-2 user with a department but no branch yet (the seed: a department is what a
    # user needs to write notes), and a level-3 user with no department
    put_client(api, tenant, "CLI-1")
    eva = staff_headers(tenant, "eva", 2, department="sales", name="Eva")
    # When she writes a note on a client
    note = write_note(api, eva, "CLI-1", "Llamó por la cotización", treatment="llamar en 2 meses")
    # Then she sees it on the client's tab, on its own and in the report, and may edit it
    assert client_notes(api, eva, "CLI-1") == ["Llamó por la cotización"]
    path = f"/clients/CLI-1/notes/{note['note_id']}"
    assert api.http.get(path, headers=eva).status_code == 200
    assert [r["note"] for r in report(api, eva)] == ["Llamó por la cotización"]
    response = api.http.patch(path, headers=eva, body=json.dumps({"location": "oficina"}))
    assert response.status_code == 200 and body(response)["location"] == "oficina"
    # And another level-2 user without a branch does not see it
    leo = staff_headers(tenant, "leo", 2, department="sales", name="Leo")
    assert client_notes(api, leo, "CLI-1") == []
    assert api.http.get(path, headers=leo).status_code == 404


def test_only_level_1_deletes_and_only_the_author_edits(api: Client, tenant: Tenant, clock: Any) -> None:
    people = matrix(api, tenant, clock)
    [ana_note] = [
        n
        for n in body(api.http.get("/clients/CLI-1/notes", headers=people["ana"]))["items"]
        if n["author"] == "ana"
    ]
    path = f"/clients/CLI-1/notes/{ana_note['note_id']}"
    # When the level-2 user of the same branch (who sees it) deletes it: 403
    response = api.http.delete(path, headers=people["beto"])
    assert response.status_code == 403 and "level 1" in body(response)["message"]
    # When the level-4 user (who does not see it) tries: 404, the note's existence stays hidden
    assert api.http.delete(path, headers=people["dario"]).status_code == 404
    assert api.http.get(path, headers=people["dario"]).status_code == 404
    # When another user edits it: refused; the author may
    edit = json.dumps({"treatment": "llamar en 2 meses"})
    response = api.http.patch(path, headers=people["beto"], body=edit)
    assert response.status_code == 403 and "author" in body(response)["message"]
    response = api.http.patch(path, headers=people["ana"], body=edit)
    assert response.status_code == 200 and body(response)["treatment"] == "llamar en 2 meses"
    # When the administrator deletes it, it is gone for everyone
    assert api.http.delete(path, headers=people["ana"]).status_code == 204
    assert "ana on CLI-1" not in client_notes(api, people["ana"], "CLI-1")


def test_two_edits_of_one_note_at_once_keep_both(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import notes as records
    from chalicelib.store import notes as store
    from chalicelib.tenants.auth.principal import Principal

    # Given Ana's note on a client
    put_client(api, tenant, "CLI-1")
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales")
    note = write_note(api, ana, "CLI-1", "Llamó por la factura", location="oficina")
    path = f"/clients/CLI-1/notes/{note['note_id']}"
    # When she saves its treatment in one tab while her edit of its text from another lands
    # between the treatment's request reading the note and writing it (or the read comes from the
    # client index a moment behind the text's edit: the same)
    found = store.find_note

    def read_then_the_other_edit_lands(*args: Any) -> Any:
        seen = found(*args)
        monkeypatch.setattr(store, "find_note", found)
        viewer = Principal(kind="user", company_id=tenant.company_id, subject="ana", level=1)
        records.edit_note(viewer, "CLI-1", note["note_id"], {"note": "Llamó: paga el lunes"})
        return seen

    monkeypatch.setattr(store, "find_note", read_then_the_other_edit_lands)
    response = api.http.patch(path, headers=ana, body=json.dumps({"treatment": "llamar el martes"}))
    # Then the note has both: the new text and the treatment, and its place as before
    assert response.status_code == 200, response.body
    shown = body(api.http.get(path, headers=ana))
    assert (shown["note"], shown["treatment"], shown["location"]) == (
        "Llamó: paga el lunes", "llamar el martes", "oficina",
    )  # fmt: skip


def test_moving_a_user_moves_their_past_notes(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given the four users' notes, and a level-2 user of the south branch
    people = matrix(api, tenant, clock)
    units(api, tenant)
    south_lead = staff_headers(tenant, "fede", 2, branch="south", department="sales")
    assert {r["author"] for r in report(api, south_lead)} == {"carla", "dario"}
    # When an administrator moves Beto from north to south
    response = api.http.put("/staff/users/beto", headers=people["ana"], body=json.dumps({"branch": "south"}))
    assert response.status_code == 200, response.body
    # Then Beto's old notes show for the south's level-2 user, and no longer for the north's
    assert {r["author"] for r in report(api, south_lead)} == {"beto", "carla", "dario"}
    assert "beto on CLI-1" in client_notes(api, south_lead, "CLI-1")
    north_lead = staff_headers(tenant, "gabi", 2, branch="north", department="sales")
    assert {r["author"] for r in report(api, north_lead)} == {"ana"}
    assert "beto on CLI-1" not in client_notes(api, north_lead, "CLI-1")
    # And Beto (a level-2 user now in the south) sees the south's notes, not the north's
    assert {r["author"] for r in report(api, people["beto"])} == {"beto", "carla", "dario"}


def test_report_filters_last_three_and_grouping_with_the_export(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given Carla's five notes on CLI-1 and two on CLI-2, and Ana's one on CLI-1, on different days
    put_client(api, tenant, "CLI-1")
    put_client(api, tenant, "CLI-2")
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales", name="Ana")
    carla = staff_headers(tenant, "carla", 3, branch="south", department="billing", name="Carla")
    for day in range(5):
        clock.set_now(START + timedelta(days=day))
        write_note(api, carla, "CLI-1", f"carla 1 day {day}")
    for day in range(2):
        clock.set_now(START + timedelta(days=day, hours=1))
        write_note(api, carla, "CLI-2", f"carla 2 day {day}")
    clock.set_now(START + timedelta(days=4, hours=2))
    write_note(api, ana, "CLI-1", "ana 1 day 4")
    # Then "last three per client" keeps the three newest of each client (any author)
    rows = report(api, ana, "&last_three=true")
    assert [r["note"] for r in rows] == [
        "ana 1 day 4",
        "carla 1 day 4",
        "carla 1 day 3",
        "carla 2 day 1",
        "carla 2 day 0",
    ]
    # And grouped by department, billing comes before sales, and the export shows the groups
    rows = report(api, ana, "&group_by=department&client=CLI-1")
    assert [(r["department"], r["note"]) for r in rows][:2] == [
        ("billing", "carla 1 day 4"),
        ("billing", "carla 1 day 3"),
    ]
    assert rows[-1]["note"] == "ana 1 day 4"
    # (the directory names billing, as the console shows it; sales is a code it has no name for)
    add_department(api, tenant, "billing", "Facturación")
    lines = export_lines(api, ana, "&group_by=department&client=CLI-1")
    assert lines[0][:3] == ("Departamento", "Sucursal", "Usuario")  # the company writes Spanish
    assert lines[1] == ("Departamento: Facturación (5 notas)",) + (None,) * 7
    assert lines[2][0] == "Facturación"
    # And each note names its client as a person knows it, in the report and in the file
    assert {r["client_name"] for r in rows} == {"Cliente CLI-1"}
    assert lines[2][3] == "Cliente CLI-1 (CLI-1)"
    assert lines[7][0] == "Departamento: sales (1 nota)"
    notes_in_file = [
        line[5] for line in lines[1:] if line[1] is not None or line[0] in ("Facturación", "sales")
    ]
    assert notes_in_file == [r["note"] for r in rows]
    # And a date range is the company's days, both ends included
    rows = report(api, ana, "&from=2026-11-03&to=2026-11-04")
    assert [r["note"] for r in rows] == ["carla 1 day 2", "carla 2 day 1", "carla 1 day 1"]
    # And a user filter, and a bad day named
    assert {r["author"] for r in report(api, ana, "&user=ana")} == {"ana"}
    response = api.http.get("/notes/report?from=03/11/2026", headers=ana)
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "from"


def test_report_days_are_the_companys_days(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given a company in Buenos Aires (UTC-3) and notes just before and after its midnight
    response = api.http.patch(
        "/company", headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": "America/Argentina/Buenos_Aires"}),
    )  # fmt: skip
    assert response.status_code == 200, response.body
    put_client(api, tenant, "CLI-1")
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales")
    clock.set_now(datetime(2026, 11, 3, 2, 59, tzinfo=timezone.utc))  # Nov 2, 23:59 there
    write_note(api, ana, "CLI-1", "late on the 2nd")
    clock.set_now(datetime(2026, 11, 3, 3, 0, tzinfo=timezone.utc))  # Nov 3, 00:00 there
    write_note(api, ana, "CLI-1", "first thing on the 3rd")
    assert [r["note"] for r in report(api, ana, "&to=2026-11-02")] == ["late on the 2nd"]
    assert [r["note"] for r in report(api, ana, "&from=2026-11-03")] == ["first thing on the 3rd"]


@pytest.mark.parametrize("time_zone", ["America/Argentina/Buenos_Aires", "Asia/Tokyo"])
def test_a_report_from_the_calendars_first_day_to_its_last_lists_every_note(
    api: Client, tenant: Tenant, clock: Any, time_zone: str
) -> None:
    # Given a company west or east of UTC, and a note
    response = api.http.patch(
        "/company", headers=tenant.admin_headers(), body=json.dumps({"time_zone": time_zone})
    )
    assert response.status_code == 200, response.body
    put_client(api, tenant, "CLI-1")
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales")
    clock.set_now(START)
    write_note(api, ana, "CLI-1", "the only note")
    # When the report asks for every day there is, from 0001-01-01 to 9999-12-31 (the end of the
    # calendar's last day there is past what a date-time holds)
    rows = report(api, ana, "&from=0001-01-01&to=9999-12-31")
    # Then it lists the note, as it does with no days given
    assert [r["note"] for r in rows] == ["the only note"]
    # And the history, asked for the same days, answers too (its days are the company's as well)
    history = api.http.get("/history/email?from=0001-01-01&to=9999-12-31", headers=ana)
    assert history.status_code == 200, history.body
    # And a date-time that is no moment in UTC is refused naming the field
    refused = api.http.get("/history/email?from=0001-01-01T00:00:00%2B05:00", headers=ana)
    assert (refused.status_code, body(refused)["errors"][0]["field"]) == (422, "from"), refused.body


def test_a_cursor_resumes_only_the_listing_it_came_from(api: Client, tenant: Tenant, clock: Any) -> None:
    people = matrix(api, tenant, clock)
    page = body(api.http.get("/clients/CLI-1/notes?limit=1", headers=people["ana"]))
    # When the next page of CLI-1 is asked of CLI-2, or a report cursor is made up
    response = api.http.get(f"/clients/CLI-2/notes?cursor={page['next_cursor']}", headers=people["ana"])
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "cursor"
    report_page = body(api.http.get("/notes/report?limit=1", headers=people["ana"]))
    response = api.http.get(f"/notes/report?cursor={report_page['next_cursor']}", headers=people["dario"])
    assert response.status_code == 422 and body(response)["errors"][0]["field"] == "cursor"


def test_a_page_of_a_clients_notes_reads_a_bounded_part_of_them(
    api: Client, tenant: Tenant, clock: Any, monkeypatch: Any
) -> None:
    import chalicelib.records.notes

    # Given a page reads at most 2 notes (a big client's: 1,000 of its thousands), and CLI-1 with
    # Dario's (level 4) note, the oldest, under five of Ana's he does not see
    monkeypatch.setattr(chalicelib.records.notes, "_READ_PAGE", 2)
    monkeypatch.setattr(chalicelib.records.notes, "READ_PER_PAGE", 2, raising=False)
    people = team(tenant)
    put_client(api, tenant, "CLI-1")
    for minute, author in enumerate(["dario", "ana", "ana", "ana", "ana", "ana"]):
        clock.set_now(START + timedelta(minutes=minute))
        write_note(api, people[author], "CLI-1", f"{author} {minute}", location="office")

    # When Dario lists the client's notes, and follows the cursor
    first = body(api.http.get("/clients/CLI-1/notes?limit=2", headers=people["dario"]))
    page, found, pages = first, [n["note"] for n in first["items"]], 1
    while page["next_cursor"]:
        response = api.http.get(
            f"/clients/CLI-1/notes?limit=2&cursor={page['next_cursor']}", headers=people["dario"]
        )
        assert response.status_code == 200, response.body
        page = body(response)
        found += [n["note"] for n in page["items"]]
        pages += 1

    # Then the first page answers after reading its share, empty, with a cursor to read on
    assert first["items"] == [] and first["next_cursor"]
    # And following it finds his one note, once
    assert found == ["dario 0"]
    assert pages >= 3

    # Given a client with more than 4 notes has its report read author by author (more than 200
    # in production), and Ana's three newest notes are on CLI-2
    monkeypatch.setattr(chalicelib.records.notes, "FEW_NOTES", 4, raising=False)
    put_client(api, tenant, "CLI-2")
    for minute in range(6, 9):
        clock.set_now(START + timedelta(minutes=minute))
        write_note(api, people["ana"], "CLI-2", f"ana {minute}")
    # When Ana (level 1) asks for the notes report of CLI-1, and follows the cursor
    first = body(api.http.get("/notes/report?client=CLI-1&limit=2", headers=people["ana"]))
    page, rows = first, list(first["items"])
    while page["next_cursor"]:
        response = api.http.get(
            f"/notes/report?client=CLI-1&limit=2&cursor={page['next_cursor']}", headers=people["ana"]
        )
        assert response.status_code == 200, response.body
        page = body(response)
        rows += page["items"]
    # Then the first page answers after reading its share of her notes (on CLI-2), empty, with
    # a cursor to read on (on main it read every note of the client on each page)
    assert first["items"] == [] and first["next_cursor"]
    # And following it finds the client's notes in the report's order (by author, newest first)
    assert [r["note"] for r in rows] == ["ana 5", "ana 4", "ana 3", "ana 2", "ana 1", "dario 0"]
    # And the report of CLI-2, with its few notes, is read at once: its first page is full
    few = body(api.http.get("/notes/report?client=CLI-2&limit=2", headers=people["ana"]))
    assert [r["note"] for r in few["items"]] == ["ana 8", "ana 7"] and few["next_cursor"]


def notes_on_each_page(api: Client, headers: dict[str, str], query: str, limit: int) -> list[list[str]]:
    return [[row["note"] for row in page] for page in report_pages(api, headers, query, limit)]


def test_a_report_page_ending_with_an_authors_last_note_is_the_last_when_the_others_wrote_nothing_then(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given Ana's two notes on the 5th, Beto's one on the 3rd, Dario's one on the 5th (the report
    # lists its authors by name: Ana, Beto, Carla, Dario) and Carla's none
    people = team(tenant)
    put_client(api, tenant, "CLI-1")
    for author, day in (("ana", 5), ("ana", 5), ("beto", 3), ("dario", 5)):
        clock.set_now(START + timedelta(days=day - 2, minutes=len(author)))
        write_note(api, people[author], "CLI-1", f"{author} on the {day}th")
    five = "&from=2026-11-05&to=2026-11-05"
    # When Ana asks for the 5th's report of branch north (Ana, Beto) two rows a page
    # Then its one page holds her two notes, and no «Más» leads to an empty page after them (on
    # main: a cursor to Beto, who wrote nothing that day, and an empty second page)
    assert notes_on_each_page(api, people["ana"], five + "&branch=north", 2) == [["ana on the 5th"] * 2]
    # And asked for the whole company, the page after Ana's notes starts at Dario, who wrote that
    # day (Beto and Carla, who did not, are read past), and it is the last
    assert notes_on_each_page(api, people["ana"], five, 2) == [["ana on the 5th"] * 2, ["dario on the 5th"]]
    # And a day nobody wrote on is one page, empty and the last
    assert notes_on_each_page(api, people["ana"], "&from=2026-11-04&to=2026-11-04", 2) == [[]]
