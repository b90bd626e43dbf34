"""Issue 14: the history and register indexes hold only what their filters read, and a listing
reads its page's messages; users see the same pages as before: newest first, every filter
applied, a text search that pages past many messages without skipping or repeating one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.history import queue_emails
from tests.steps.tenants import Tenant

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
LONG_TEXT = "Estimado cliente, le informamos el estado de su envío. " * 8  # compressed when stored


def pages_of(api: Client, headers: dict[str, str], query: str) -> list[list[str]]:
    """Every page of the e-mail history for ``query``, following the cursors, as subjects."""
    pages: list[list[str]] = []
    cursor = ""
    while True:
        response = api.http.get(f"/history/email?{query}{cursor}", headers=headers)
        assert response.status_code == 200, response.body
        page = body(response)
        pages.append([item["subject"] for item in page["items"]])
        if not page["next_cursor"]:
            return pages
        assert len(pages) < 50, "the cursor does not move on"
        cursor = f"&cursor={page['next_cursor']}"


def test_a_text_search_pages_past_hundreds_of_other_messages_and_resumes_after_its_last_match(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given 300 e-mails written a minute apart in batches of 100, four of them about a "Reclamo"
    # (one of those only in its long text body), far apart in the history
    subjects = [f"Aviso {n}" for n in range(300)]
    for n in (3, 250, 251):
        subjects[n] = f"Reclamo {n}"
    ids: list[str] = []
    for batch in range(3):
        clock.set_now(START + timedelta(minutes=batch))
        ids += queue_emails(tenant, subjects[batch * 100 : (batch + 1) * 100])
    clock.set_now(START + timedelta(minutes=3))
    ids += queue_emails(tenant, ["Aviso 299 (cuerpo)"], text=LONG_TEXT + " Su reclamo fue recibido.")
    staff = tenant.staff_headers()

    # When staff search for "reclamo", two at a time
    pages = pages_of(api, staff, "limit=2&q=reclamo")

    # Then the pages hold exactly the four matches, newest first, none skipped or repeated: the
    # second page crosses the 246 messages between the two older matches
    assert pages[:2] == [["Aviso 299 (cuerpo)", "Reclamo 251"], ["Reclamo 250", "Reclamo 3"]]
    assert len(pages) == 2
    # And one at a time gives the same four
    assert [s for page in pages_of(api, staff, "limit=1&q=RECLAMO") for s in page] == [
        "Aviso 299 (cuerpo)",
        "Reclamo 251",
        "Reclamo 250",
        "Reclamo 3",
    ]


def test_a_text_search_cursor_has_the_shape_of_any_other_listing_cursor(tenant: Tenant, clock: Any) -> None:
    from chalicelib.store import communications

    # Given ten e-mails, the fourth newest about a "Reclamo", and an older one too (a page that
    # holds the last match answers no cursor)
    clock.set_now(START)
    subjects = [f"Aviso {n}" for n in range(10)]
    subjects[6], subjects[2] = "Reclamo 6", "Reclamo 2"
    queue_emails(tenant, subjects)

    # When the history is searched for it, and listed without a search up to the same message
    searched = communications.history_page(tenant.company_id, "email", limit=1, text="reclamo")
    listed = communications.history_page(tenant.company_id, "email", limit=4)

    # Then both end on that message with the same cursor (table and index keys), so the API's
    # cursors work the same with or without a search
    assert [c.subject for c in searched.items] == ["Reclamo 6"]
    assert listed.items[-1].subject == "Reclamo 6"
    assert searched.cursor == listed.cursor
    assert searched.cursor is not None and set(searched.cursor) == {
        "company_id",
        "communication_id",
        "history_key",
    }


def test_a_page_keeps_newest_first_after_reading_its_messages(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given 150 e-mails written in order (more than one BatchGetItem reads at once)
    clock.set_now(START)
    queue_emails(tenant, [f"Aviso {n:03d}" for n in range(150)])

    # When staff list the history 120 at a time
    pages = pages_of(api, tenant.staff_headers(), "limit=120")

    # Then every message is there once, newest first, and whole (not just the index's keys)
    assert [s for page in pages for s in page] == [f"Aviso {n:03d}" for n in reversed(range(150))]
    first = body(api.http.get("/history/email?limit=1", headers=tenant.staff_headers()))["items"][0]
    assert first["to_address"] == "cliente149@example.com" and first["subject"] == "Aviso 149"


def test_status_and_kind_still_filter_beside_a_text_search(api: Client, tenant: Tenant, clock: Any) -> None:
    from chalicelib.store import communications

    # Given manual and automatic e-mails about a "Reclamo", one of the manual ones bounced
    clock.set_now(START)
    automatic = queue_emails(tenant, ["Reclamo automático", "Aviso"])
    clock.set_now(START + timedelta(minutes=1))
    manual = queue_emails(tenant, ["Reclamo manual 1", "Reclamo manual 2", "Otro"], kind="manual")
    comm = communications.get(tenant.company_id, manual[0])
    assert comm is not None and automatic
    communications.set_delivery_state(comm, "bounced", START, "550 user unknown")
    staff = tenant.staff_headers()

    # Then each criterion applies with the search
    assert pages_of(api, staff, "q=reclamo&kind=manual") == [["Reclamo manual 2", "Reclamo manual 1"]]
    assert pages_of(api, staff, "q=reclamo&status=bounced") == [["Reclamo manual 1"]]
    assert pages_of(api, staff, "q=reclamo&status=not_sent&kind=manual") == [["Reclamo manual 2"]]
    assert pages_of(api, staff, "q=reclamo&kind=automatic") == [["Reclamo automático"]]
    assert pages_of(api, staff, "kind=manual&status=not_sent") == [["Otro", "Reclamo manual 2"]]


def test_a_message_stored_before_the_body_dictionary_reads_as_it_was_sent(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    import json
    import zlib

    from chalicelib.store.models import CommunicationModel

    # Given an e-mail whose body was stored the way it was before the dictionary (plain zlib)
    clock.set_now(START)
    [sent] = queue_emails(tenant, ["Aviso viejo"], text=LONG_TEXT)
    old_body = zlib.compress(json.dumps([LONG_TEXT, "<p>viejo</p>"]).encode(), 6)
    CommunicationModel(tenant.company_id, sent).update(actions=[CommunicationModel.body_z.set(old_body)])

    # When staff open it and search for words of its text
    detail = body(api.http.get(f"/history/email/{sent}", headers=tenant.staff_headers()))

    # Then it shows the text and HTML it was sent with, and a search finds it
    assert (detail["text"], detail["html"]) == (LONG_TEXT, "<p>viejo</p>")
    assert pages_of(api, tenant.staff_headers(), "q=estado+de+su+env%C3%ADo") == [["Aviso viejo"]]
