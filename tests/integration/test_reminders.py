"""Receivable reminders (R1-R3, seed 001 "Avisos"): the ERP pushes receivables, the company sets
concepts and each client's reminders, and the daily run sends each reminder once, through the
outbox, to a real SMTP server, on the company's days."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.branding import set_branding
from tests.steps.clients import put_client
from tests.steps.hostile_mail import company_files
from tests.steps.mail import html_of, text_of, wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.reminders import (
    erp_headers,
    preview_run,
    push,
    push_ok,
    receivable,
    run_now,
    set_reminders,
    set_reminders_ok,
)
from tests.steps.sms import free_inbound_number, sms_sent_to
from tests.steps.tenants import Tenant, make_tenant, smtp_sender_account, staff_user


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def erp(api: Client, tenant: Tenant, mailbox: MailCatcher) -> dict[str, str]:
    """The company's ERP: a key with ``receivables:write``, the client Ferretería Los Andes
    (``CLI-1``), and the company's default (``all``) account on the test's SMTP server."""
    smtp_sender_account(
        tenant.company_id, "all", mailbox, "Cargas del Sur", "administracion@cargasdelsur.example"
    )
    headers = erp_headers(tenant)
    put_client(api, headers, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"])
    return headers


def delivered(mailbox: MailCatcher, new: int, total: int | None = None) -> list[Any]:
    """The outbox workers deliver ``new`` messages; every message caught so far (``total``)."""
    sent = deliver_outboxes()["sent"]
    assert sent == new, sent
    total = new if total is None else total
    return mailbox.wait_for(total) if total else mailbox.messages()


# --- R1 concepts --------------------------------------------------------------------------------


def test_every_company_starts_with_the_seeds_two_concepts_and_edits_them(api: Client, tenant: Tenant) -> None:
    # Given a company that never looked at its reminder concepts
    # When staff read the catalog
    answer = api.http.get("/reminders/concepts", headers=tenant.staff_headers())
    # Then it holds 7 days before the due date and 7 days after
    assert answer.status_code == 200
    concepts = {c["concept_id"]: (c["days"], c["type"]) for c in body(answer)["items"]}
    assert concepts == {"before-7": (7, "before_due"), "after-7": (7, "after_due")}
    # When the administrator adds one and changes another
    added = api.http.post(
        "/reminders/concepts",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "Tres días antes", "days": 3, "type": "before_due"}),
    )
    assert added.status_code == 201, added.body
    edited = api.http.put(
        "/reminders/concepts/after-7",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "Aviso a los 10 días", "days": 10, "type": "after_due"}),
    )
    assert edited.status_code == 200, edited.body
    # Then the catalog shows both; a clerk may not change it; a bad type is refused by name
    items = body(api.http.get("/reminders/concepts", headers=tenant.staff_headers()))["items"]
    assert [(c["description"], c["days"], c["type"]) for c in items] == [
        ("Tres días antes", 3, "before_due"),
        ("Recordatorio 7 días antes del vencimiento", 7, "before_due"),
        ("Aviso a los 10 días", 10, "after_due"),
    ]
    clerk = api.http.post(
        "/reminders/concepts",
        headers=tenant.staff_headers(),
        body=json.dumps({"description": "x", "days": 1, "type": "before_due"}),
    )
    assert clerk.status_code == 403
    bad = api.http.post(
        "/reminders/concepts",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "x", "days": 1, "type": "someday"}),
    )
    assert bad.status_code == 422 and body(bad)["errors"][0]["field"] == "type"


def test_a_concept_of_the_other_type_is_refused_naming_the_field(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    # When the ERP names an after-due concept as the before-due one, and the other way round
    answer = set_reminders(
        api,
        erp,
        "CLI-1",
        active=True,
        before_due_concept="after-7",
        after_due=True,
        after_due_concept="before-7",
    )
    # Then both fields are named and nothing is stored
    assert answer.status_code == 422
    assert sorted(e["field"] for e in body(answer)["errors"]) == ["after_due_concept", "before_due_concept"]
    stored = body(api.http.get("/clients/CLI-1/reminders", headers=erp))
    assert stored["active"] is False
    # And a concept in use cannot change its type
    set_reminders_ok(api, erp, "CLI-1", active=True)
    switched = api.http.put(
        "/reminders/concepts/before-7",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "x", "days": 7, "type": "after_due"}),
    )
    assert switched.status_code == 422 and body(switched)["errors"][0]["field"] == "type"


def test_turning_reminders_on_turns_the_before_due_reminder_on_and_templates_are_checked(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    settings = set_reminders_ok(api, erp, "CLI-1", active=True)
    assert settings["before_due_concept"] == "before-7" and settings["after_due"] is False
    broken = set_reminders(api, erp, "CLI-1", active=True, reminder_body="Hola {{ client.name ")
    assert broken.status_code == 422 and body(broken)["errors"][0]["field"] == "reminder_body"
    # a clerk may not change a client's reminders; the ERP and the administrator may
    clerk = set_reminders(api, tenant.staff_headers(), "CLI-1", active=False)
    assert clerk.status_code == 403
    admin = set_reminders(api, tenant.admin_headers(), "CLI-1", active=False)
    assert admin.status_code == 200
    # an SMS text may use only the reminder's %variables%: a 422 naming the field, nothing written
    bad = set_reminders(api, erp, "CLI-1", active=True, sms=True, after_due_sms="Hola %nombre%, %cuota%")
    assert bad.status_code == 422, bad.body
    assert [e["field"] for e in body(bad)["errors"]] == ["after_due_sms"]
    assert "%cuota%" in body(bad)["errors"][0]["message"]
    kept = body(api.http.get("/clients/CLI-1/reminders", headers=erp))
    assert kept["active"] is False and kept["sms"] is False and kept["after_due_sms"] is None
    # none of its own: the default in the company's language, shown beside it
    assert kept["reminder_sms_default"].startswith("Estimado %nombre%: el comprobante %comprobante%")


def test_turning_reminders_on_takes_the_seeds_default_concepts_whatever_else_the_catalog_holds(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    # Given an administrator who added eight more concepts of each type to the catalog
    for n in range(8):
        for kind in ("before_due", "after_due"):
            added = api.http.post(
                "/reminders/concepts",
                headers=tenant.admin_headers(),
                body=json.dumps({"description": f"{kind} {n + 10}", "days": n + 10, "type": kind}),
            )
            assert added.status_code == 201, added.body
    # When the ERP turns a client's reminders and after-due notice on, naming no concept
    settings = set_reminders_ok(api, erp, "CLI-1", active=True, after_due=True)
    # Then they are the seed's defaults: 7 days before the due date, 7 days after (never one of
    # the added concepts picked by its random id)
    assert (settings["before_due_concept"], settings["after_due_concept"]) == ("before-7", "after-7")


# --- receivables ---------------------------------------------------------------------------------


def test_receivables_are_idempotent_and_many_are_checked_before_any_is_stored(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    # When the ERP pushes two receivables, the second for a client that does not exist
    answer = push(
        api, erp, receivable("A-1", "2026-11-20"), receivable("A-2", "2026-11-20", client_id="NOPE")
    )
    # Then the answer names the item and the field, and neither is stored
    assert answer.status_code == 422
    assert [e["field"] for e in body(answer)["errors"]] == ["receivables[1].client_id"]
    assert api.http.get("/receivables/A-1", headers=erp).status_code == 404
    # When it pushes a good one twice
    first = push_ok(api, erp, receivable("A-1", "2026-11-20"))
    again = push_ok(api, erp, receivable("A-1", "2026-11-20", balance="100.00"))
    # Then it is created once and replaced the second time
    assert [i["created"] for i in first["items"] + again["items"]] == [True, False]
    stored = body(api.http.get("/receivables/A-1", headers=erp))
    assert (stored["balance"], stored["state"]) == ("100.00", "open")
    bad = push(api, erp, receivable("A-3", "2026-11-20", currency="XXY"))
    assert body(bad)["errors"][0]["field"] == "receivables[0].currency"


def test_a_receivable_due_at_the_end_of_the_calendar_is_stored_with_the_others_and_gets_no_notice(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    # Given a client whose reminders and after-due notices are on
    set_reminders_ok(api, erp, "CLI-1", active=True, after_due=True)
    # When the ERP pushes two receivables, the second with its "no due date" day, 9999-12-31
    # (after it, the notice's day 9999-12-38 is no day of the calendar)
    answer = push(api, erp, receivable("A-1", "2026-11-20"), receivable("A-2", "9999-12-31"))
    # Then both are stored: the first with its reminder planned, the second with its reminder
    # before the due day and never a notice after it
    assert answer.status_code == 200, answer.body
    assert [(i["document_number"], i["remind_on"]) for i in body(answer)["items"]] == [
        ("A-1", "2026-11-13"),
        ("A-2", "9999-12-24"),
    ]
    assert body(api.http.get("/receivables/A-2", headers=erp))["due_on"] == "9999-12-31"


def test_a_settings_or_concept_change_replans_a_receivable_due_at_the_end_of_the_calendar(
    api: Client, tenant: Tenant, erp: dict[str, str]
) -> None:
    # Given a receivable due on 9999-12-30 of a client whose reminders are on
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-9", "9999-12-30"))
    # When the after-due notice is turned on, and its concept moved to 30 days after
    turned_on = set_reminders(api, erp, "CLI-1", active=True, after_due=True)
    moved = api.http.put(
        "/reminders/concepts/after-7",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "Aviso a los 30 días", "days": 30, "type": "after_due"}),
    )
    # Then both are saved, and the receivable keeps its reminder before the due day only
    assert (turned_on.status_code, moved.status_code) == (200, 200), (turned_on.body, moved.body)
    assert body(api.http.get("/receivables/A-9", headers=erp))["remind_on"] == "9999-12-23"


# --- R3 the daily run ------------------------------------------------------------------------------


def test_reminder_on_its_day_after_due_notice_on_its_day_and_nothing_in_between(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given a client with reminders on, the after-due notice too, and a receivable due on the 20th
    set_reminders_ok(api, erp, "CLI-1", active=True, after_due=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    # When the run goes on the 12th: nothing yet
    clock.set_now(at("2026-11-12T09:00:00"))
    assert run_now(api, tenant)["reminders"] == 0
    delivered(mailbox, 0)
    # On the 13th (7 days before): the reminder, amounts as the company's locale writes them
    clock.set_now(at("2026-11-13T09:00:00"))
    assert run_now(api, tenant)["reminders"] == 1
    [mail] = delivered(mailbox, 1)
    assert envelope_recipients(mail) == ["compras@losandes.example"]
    assert "A-0001-00001234" in mail["Subject"]
    text = text_of(mail)
    assert "vence el 20/11/2026" in text
    assert "$12.345,67" in text  # Babel, es_AR
    assert "A-0001-00001234" in html_of(mail)
    # From the 14th to the 26th: nothing more
    for day in ("2026-11-14", "2026-11-20", "2026-11-26"):
        clock.set_now(at(f"{day}T09:00:00"))
        assert run_now(api, tenant)["reminders"] == 0
    # On the 27th (7 days after): the after-due notice; then never again
    clock.set_now(at("2026-11-27T09:00:00"))
    assert run_now(api, tenant)["reminders"] == 1
    mails = delivered(mailbox, 1, total=2)
    assert "venció el 20/11/2026" in text_of(mails[1])
    clock.set_now(at("2026-11-28T09:00:00"))
    assert run_now(api, tenant)["receivables"] == 0  # nothing left in the run's index
    # Both are in the history and the client's register
    register = body(api.http.get("/clients/CLI-1/register", headers=tenant.admin_headers()))
    subjects = [i["subject"] for i in register["items"] if i["direction"] == "out"]
    assert len(subjects) == 2 and all("A-0001-00001234" in s for s in subjects)
    history = body(api.http.get("/history/email?q=A-0001-00001234", headers=tenant.admin_headers()))
    assert len(history["items"]) == 2


def test_a_reminder_reaches_the_server_as_a_strict_receiver_reads_it(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given a client with reminders on and a receivable due on the 20th
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    # When the run goes 7 days before
    clock.set_now(at("2026-11-13T09:00:00"))
    assert run_now(api, tenant)["reminders"] == 1
    delivered(mailbox, 1)
    # Then the reminder's bytes are 7-bit and well formed
    assert wire_problems(mailbox.files()[0].read_bytes(), domain="cargasdelsur.example") == []


def test_a_paid_or_cancelled_receivable_is_never_reminded(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    set_reminders_ok(api, erp, "CLI-1", active=True, after_due=True)
    push_ok(api, erp, receivable("A-1", "2026-11-20"), receivable("A-2", "2026-11-20"))
    assert api.http.post("/receivables/A-1/paid", headers=erp).status_code == 200
    push_ok(api, erp, receivable("A-2", "2026-11-20", state="cancelled"))
    for day in ("2026-11-13", "2026-11-27"):
        clock.set_now(at(f"{day}T09:00:00"))
        assert preview_run(api, tenant)["items"] == []
        assert run_now(api, tenant)["reminders"] == 0
    delivered(mailbox, 0)


def test_two_runs_at_once_send_once(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.producers.reminders.run import run_company

    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, *[receivable(f"A-{n}", "2026-11-20") for n in range(30)])
    clock.set_now(at("2026-11-13T09:00:00"))
    reports: list[Any] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        reports.append(run_company(tenant.company_id))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.reminders for r in reports) == 30
    assert len(delivered(mailbox, 30)) == 30


def test_a_large_reminder_whose_claim_lost_leaves_no_body_in_s3(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.store import communications
    from chalicelib.store import receivables as store

    # Given a company whose reminder carries its whole terms (a body too large for an item)
    terms = "{{ 'Condiciones de pago: transferencia, cheque o efectivo — Córdoba. ' * 2000 }}"
    saved = api.http.put(
        "/templates/reminder",
        headers=tenant.admin_headers(),
        body=json.dumps({"subject": "Aviso de vencimiento", "text": terms, "html": f"<p>{terms}</p>"}),
    )
    assert saved.status_code == 200, saved.body
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    # When the ERP pushes the receivable again while the run is between rendering and claiming
    real = store.claim_reminders

    def interleaved(claims: Any) -> Any:
        monkeypatch.setattr(store, "claim_reminders", real)
        push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20", balance="10000"))
        return real(claims)

    monkeypatch.setattr(store, "claim_reminders", interleaved)
    clock.set_now(at("2026-11-13T09:00:00"))
    # Then the run decides it again and sends one reminder
    assert run_now(api, tenant)["reminders"] == 1
    [mail] = delivered(mailbox, 1)
    # And the body the lost claim had put in S3 is gone: the one left is the sent reminder's
    stored = communications.get(tenant.company_id, mail["X-Pregon-Message"])
    assert stored is not None and company_files(tenant.company_id, "bodies") == [stored.body_key]


def test_two_missed_days_are_caught_up_once_by_the_daily_schedule(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.producers.reminders.run import run_due_reminders

    # Given reminders that run at 8:00 and a receivable whose reminder day is the 13th
    clock.set_now(at("2026-11-12T12:00:00"))
    answer = api.http.put(
        "/alerts/reminders",
        headers=tenant.admin_headers(),
        body=json.dumps({"enabled": True, "hour_of_day": 8}),
    )
    assert answer.status_code == 200, answer.body
    assert body(answer)["next_run_at"].startswith("2026-11-13T08:00:00")
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    # When the service is down on the 13th and 14th and comes back on the 15th at 10:00
    clock.set_now(at("2026-11-15T10:00:00"))
    event = api.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:rule/reminders"],
    )
    first = api.lambda_.invoke("run_reminders", event).payload  # the deployed scheduled Lambda
    second = run_due_reminders()  # the next tick of the schedule, the same day
    # Then the missed reminder goes out once, and the next run is tomorrow at 8:00
    assert first["reminders"] == 1 and second == []
    delivered(mailbox, 1)
    monitor = {
        i["alert_type"]: i for i in body(api.http.get("/alerts", headers=tenant.staff_headers()))["items"]
    }
    assert set(monitor) == {"tracking", "reminders"}
    assert monitor["reminders"]["next_run_at"].startswith("2026-11-16T08:00:00")
    assert monitor["reminders"]["hour_of_day"] == 8
    assert monitor["reminders"]["sent_count"] == 1


def _reminders_at_eight(api: Client, tenant: Tenant) -> None:
    answer = api.http.put(
        "/alerts/reminders",
        headers=tenant.admin_headers(),
        body=json.dumps({"enabled": True, "hour_of_day": 8}),
    )
    assert answer.status_code == 200, answer.body


def test_a_company_whose_run_is_out_of_time_goes_on_at_the_next_tick_and_holds_back_no_other(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.producers.reminders import run

    # Given reminders at 8:00 for two companies: this one with 5 receivables to remind (decided
    # 2 at a time here), and Ferretería Norte with one
    clock.set_now(at("2026-11-12T12:00:00"))
    monkeypatch.setattr(run, "PAGE", 2)
    _reminders_at_eight(api, tenant)
    set_reminders_ok(api, erp, "CLI-1", active=True)
    push_ok(api, erp, *[receivable(f"A-{n}", "2026-11-20") for n in range(5)])
    other = make_tenant(None, name="Ferretería Norte")
    smtp_sender_account(other.company_id, "all", mailbox, "Ferretería Norte", "cobranzas@norte.example")
    other_erp = erp_headers(other)
    put_client(api, other_erp, "N-1", name="Obra Sur", emails=["pagos@obrasur.example"])
    _reminders_at_eight(api, other)
    set_reminders_ok(api, other_erp, "N-1", active=True)
    push_ok(api, other_erp, receivable("B-1", "2026-11-20", client_id="N-1"))
    # When the schedule runs on the 13th at 8:00 with a time per company that is up after one page
    clock.set_now(at("2026-11-13T08:00:00"))
    first = {r.company_id: r for r in run.run_due_reminders(company_seconds=0.0)}
    # Then the other company's reminder goes out, and this one's first page; the rest waits
    assert (first[other.company_id].reminders, first[other.company_id].deferred) == (1, False)
    assert (first[tenant.company_id].reminders, first[tenant.company_id].deferred) == (2, True)
    delivered(mailbox, 3)
    # When the schedule ticks every 5 minutes, the company goes on where it stopped, the same day
    sent = 2
    for tick in range(1, 4):
        clock.set_now(at(f"2026-11-13T08:{5 * tick:02d}:00"))
        sent += sum(r.reminders for r in run.run_due_reminders(company_seconds=0.0))
    # Then all 5 are sent once each, and its next run is tomorrow at 8:00
    assert sent == 5
    mails = delivered(mailbox, 3, total=6)
    subjects = sorted(m["Subject"] for m in mails if "compras@losandes.example" in envelope_recipients(m))
    assert len(subjects) == 5 and all(any(f"A-{n}" in s for s in subjects) for n in range(5))
    monitor = {
        i["alert_type"]: i for i in body(api.http.get("/alerts", headers=tenant.staff_headers()))["items"]
    }
    assert monitor["reminders"]["next_run_at"].startswith("2026-11-14T08:00:00")


def test_from_the_collection_agents_own_account_else_the_default_one(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given Marta, the collection agent of CLI-2, with her own account; CLI-1 has no agent
    staff_user(tenant.company_id, "marta", "marta@cargasdelsur.example")
    smtp_sender_account(
        tenant.company_id, "user:marta", mailbox, "Marta Cobranzas", "marta@cargasdelsur.example"
    )
    put_client(api, erp, "CLI-2", name="Kiosco Sol", emails=["sol@example.com"], collection_agent="marta")
    for client in ("CLI-1", "CLI-2"):
        set_reminders_ok(
            api, erp, client, active=True, reminder_body="Su cobrador: {{ collection_agent.name }}."
        )
    push_ok(api, erp, receivable("A-1", "2026-11-20"), receivable("B-1", "2026-11-20", client_id="CLI-2"))
    clock.set_now(at("2026-11-13T09:00:00"))
    # The preview says who, which document, which concept and from which account, sending nothing
    planned = {i["document_number"]: i for i in preview_run(api, tenant)["items"]}
    assert (planned["B-1"]["from_address"], planned["B-1"]["sender_area"]) == (
        "marta@cargasdelsur.example",
        "user:marta",
    )
    assert (planned["A-1"]["from_address"], planned["A-1"]["concept_id"], planned["A-1"]["to"]) == (
        "administracion@cargasdelsur.example",
        "before-7",
        ["compras@losandes.example"],
    )
    assert deliver_outboxes()["sent"] == 0
    run_now(api, tenant)
    mails = {envelope_recipients(m)[0]: m for m in delivered(mailbox, 2)}
    assert "marta@cargasdelsur.example" in mails["sol@example.com"]["From"]
    assert "Su cobrador: Marta Cobranzas." in text_of(mails["sol@example.com"])
    assert "administracion@cargasdelsur.example" in mails["compras@losandes.example"]["From"]


def test_the_clients_balance_reads_in_the_companys_number_format(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given the ERP pushed the client's balance as a number, and its reminder body says it
    put_client(
        api, erp, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"], balance="15300.5"
    )
    set_reminders_ok(
        api, erp, "CLI-1", active=True, reminder_body="Su saldo total es $ {{ client.balance }}."
    )
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    clock.set_now(at("2026-11-13T09:00:00"))
    # When the day's run sends the reminder
    run_now(api, tenant)
    [mail] = delivered(mailbox, 1)
    # Then the balance reads as the company writes numbers (es_AR), as templates.md promises
    assert "Su saldo total es $ 15.300,50." in text_of(mail)


def test_a_reminder_in_the_companys_own_words_keeps_the_default_footer_and_postal_address(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given a company with a postal address (CAN-SPAM, LSSI) and a client whose reminder is the
    # company's own two lines
    saved = set_branding(api, tenant, postal_address="Av. Colón 1234\nX5000 Córdoba")
    assert saved.status_code == 200, saved.body
    own = "Hola {{ client.name }}: vence {{ receivable.number }}.\nCobranzas y Pagos"
    set_reminders_ok(api, erp, "CLI-1", active=True, reminder_body=own)
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    clock.set_now(at("2026-11-13T09:00:00"))
    # When the day's run sends the reminder, as the SMTP server receives it
    run_now(api, tenant)
    [mail] = delivered(mailbox, 1)
    text, html = (part.replace("\r\n", "\n") for part in (text_of(mail), html_of(mail)))
    # Then the text part is the company's text whole, then the default's footer: why the client
    # gets it, that it is not advertising, the company's postal address
    company = "Cargas del Sur"
    assert text.rstrip("\n") == (
        "Hola Ferretería Los Andes: vence A-1.\nCobranzas y Pagos\n\n"
        f"Recibe este correo porque es cliente de {company}, que le recuerda por e-mail los "
        "vencimientos de su cuenta.\n"
        f"Es un mensaje de servicio de {company}, no publicidad. Para una consulta, o para pedir "
        "acceso, corrección o supresión de sus datos, responda este correo.\n"
        "Av. Colón 1234\nX5000 Córdoba"
    )
    # And the HTML part holds the same text, in the default's layout with its footer band
    assert "Hola Ferretería Los Andes: vence A-1.\nCobranzas y Pagos</div>" in html
    assert "no publicidad" in html and "Av. Colón 1234<br>X5000 Córdoba</p>" in html
    assert html.index("Cobranzas y Pagos") < html.index("Recibe este correo porque")
    # (nothing of the default's own message comes with it)
    assert "Le recordamos" not in html and "Importe original" not in html + text


def test_contacts_get_it_only_when_marked_and_when_the_client_sends_to_contacts(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    contacts = [
        {
            "contact_id": "c1",
            "first_name": "Luis",
            "last_name": "Pagos",
            "email": "pagos@losandes.example",
            "receives_reminders": True,
        },
        {"contact_id": "c2", "first_name": "Ana", "last_name": "Ventas", "email": "ventas@losandes.example"},
    ]
    put_client(
        api, erp, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"], contacts=contacts
    )
    set_reminders_ok(api, erp, "CLI-1", active=True, send_to_contacts=True)
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    clock.set_now(at("2026-11-13T09:00:00"))
    run_now(api, tenant)
    assert sorted(r for m in delivered(mailbox, 2) for r in envelope_recipients(m)) == [
        "compras@losandes.example",
        "pagos@losandes.example",
    ]


def test_days_are_the_companys_days_in_buenos_aires(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given a company in Buenos Aires (UTC-3), a 1-day-before concept, receivables due on the 2nd and 3rd
    zone = api.http.patch(
        "/company",
        headers=tenant.admin_headers(),
        body=json.dumps({"time_zone": "America/Argentina/Buenos_Aires"}),
    )
    assert zone.status_code == 200
    concept = body(
        api.http.post(
            "/reminders/concepts",
            headers=tenant.admin_headers(),
            body=json.dumps({"description": "Un día antes", "days": 1, "type": "before_due"}),
        )
    )
    set_reminders_ok(
        api,
        erp,
        "CLI-1",
        active=True,
        before_due_concept=concept["concept_id"],
        reminder_body="Faltan {{ reminder.days_to_due }} día(s): vence el {{ receivable.due_on }}.",
    )
    push_ok(api, erp, receivable("A-2", "2026-12-02"), receivable("A-3", "2026-12-03"))
    # When the run goes at 22:00 UTC on the 1st (19:00 there): the one due "tomorrow" is reminded
    clock.set_now(at("2026-12-01T22:00:00"))
    assert [i["document_number"] for i in run_now(api, tenant)["items"]] == ["A-2"]
    [mail] = delivered(mailbox, 1)
    assert "Faltan 1 día(s): vence el 2/12/2026." in text_of(mail)
    # At 01:00 UTC on the 2nd it is still the 1st there: A-3 is not due yet (in UTC it would be)
    clock.set_now(at("2026-12-02T01:00:00"))
    report = run_now(api, tenant)
    assert (report["day"], report["reminders"]) == ("2026-12-01", 0)
    # At 03:00 UTC it is the 2nd there: A-3 now
    clock.set_now(at("2026-12-02T03:00:00"))
    assert [i["document_number"] for i in run_now(api, tenant)["items"]] == ["A-3"]


def test_changing_a_clients_settings_or_a_concepts_days_replans_its_receivables(
    api: Client, tenant: Tenant, erp: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given a receivable pushed while the client's reminders are off: nothing planned
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    assert body(api.http.get("/receivables/A-1", headers=erp))["remind_on"] is None
    # When the ERP turns them on: the 7-days-before reminder is planned
    set_reminders_ok(api, erp, "CLI-1", active=True, after_due=True)
    assert body(api.http.get("/receivables/A-1", headers=erp))["remind_on"] == "2026-11-13"
    # When the administrator makes it 10 days: planned 3 days earlier, and sent on that day
    changed = api.http.put(
        "/reminders/concepts/before-7",
        headers=tenant.admin_headers(),
        body=json.dumps({"description": "Diez días antes", "days": 10, "type": "before_due"}),
    )
    assert changed.status_code == 200, changed.body
    assert body(api.http.get("/receivables/A-1", headers=erp))["remind_on"] == "2026-11-10"
    clock.set_now(at("2026-11-10T09:00:00"))
    assert run_now(api, tenant)["reminders"] == 1
    delivered(mailbox, 1)
    stored = body(api.http.get("/receivables/A-1", headers=erp))
    assert (stored["reminded"], stored["remind_on"]) == (["before-7"], "2026-11-27")
    # When the ERP pushes it again (a new balance), what was sent stays sent
    push_ok(api, erp, receivable("A-1", "2026-11-20", balance="5000.00"))
    stored = body(api.http.get("/receivables/A-1", headers=erp))
    assert (stored["reminded"], stored["remind_on"], stored["balance"]) == (
        ["before-7"],
        "2026-11-27",
        "5000.00",
    )
    assert run_now(api, tenant)["reminders"] == 0


# --- SMS reminders (seed 002's companies reach their clients by SMS) -------------------------------


def sms_service_on(api: Client, tenant: Tenant) -> None:
    """The administrator switches the company's SMS service on, through Amazon SNS (moto)."""
    saved = api.http.put(
        "/sms/settings", headers=tenant.admin_headers(), body=json.dumps({"provider": "sns", "enabled": True})
    )
    assert saved.status_code == 200, saved.body


def test_a_client_with_sms_reminders_gets_one_sms_beside_its_email_and_a_second_run_sends_neither(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    clock: Any,
    local_aws: dict[str, str],
) -> None:
    # Given the company's SMS service on, a client with a mobile whose reminders also go by SMS
    # (the default text), and a receivable due in 7 days
    sms_service_on(api, tenant)
    mobile = free_inbound_number()
    put_client(
        api, erp, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"], phones=[mobile]
    )
    set_reminders_ok(api, erp, "CLI-1", active=True, sms=True)
    push_ok(api, erp, receivable("A-0001-00001234", "2026-11-20"))
    clock.set_now(at("2026-11-13T09:00:00"))
    # When the day's run goes
    [item] = run_now(api, tenant)["items"]
    # Then it reports the SMS beside the e-mail, and both are delivered
    assert item["to"] == ["compras@losandes.example"] and item["sms_to"] == mobile
    assert item["sms_skipped"] is None and item["skipped"] is None
    [mail] = delivered(mailbox, 2, total=1)
    assert "A-0001-00001234" in mail["Subject"]
    company = body(api.http.get("/company", headers=tenant.admin_headers()))["name"]
    assert sms_sent_to(local_aws, mobile) == [
        f"Estimado Ferretería Los Andes: el comprobante A-0001-00001234 por $12.345,67 vence el "
        f"20/11/2026. {company}."
    ]
    # When the run goes again that day, and a run of that day is retried
    from chalicelib.producers.reminders.run import run_company

    assert run_now(api, tenant)["reminders"] == 0
    assert run_company(tenant.company_id, at("2026-11-13T09:00:00")).reminders == 0
    # Then neither is sent again
    assert deliver_outboxes()["sent"] == 0
    assert len(sms_sent_to(local_aws, mobile)) == 1 and len(mailbox.messages()) == 1
    # And the SMS is in the SMS history and the client's register, as other SMS are
    [listed] = body(api.http.get("/history/sms", headers=tenant.admin_headers()))["items"]
    assert listed["to_address"] == mobile and listed["state"] == "sent"
    shown = body(api.http.get(f"/history/sms/{listed['communication_id']}", headers=tenant.admin_headers()))
    assert shown["text"] == sms_sent_to(local_aws, mobile)[0]
    register = body(api.http.get("/clients/CLI-1/register", headers=tenant.admin_headers()))
    assert sorted(i["channel"] for i in register["items"] if i["direction"] == "out") == ["email", "sms"]


def test_sms_off_no_mobile_or_a_balance_never_pushed_sends_the_email_only_and_says_why(
    api: Client,
    tenant: Tenant,
    erp: dict[str, str],
    mailbox: MailCatcher,
    clock: Any,
    local_aws: dict[str, str],
) -> None:
    # Given three clients whose reminders also go by SMS: one with a mobile, one without a phone,
    # and one with a mobile whose SMS prints its whole balance (%deuda%), never pushed
    mobile, other = free_inbound_number(), free_inbound_number()
    put_client(
        api, erp, "CLI-1", name="Ferretería Los Andes", emails=["compras@losandes.example"], phones=[mobile]
    )
    put_client(api, erp, "CLI-2", emails=["cli-2@example.com"], phones=[])
    put_client(api, erp, "CLI-3", emails=["cli-3@example.com"], phones=[other])
    for client in ("CLI-1", "CLI-2"):
        set_reminders_ok(api, erp, client, active=True, sms=True)
    set_reminders_ok(api, erp, "CLI-3", active=True, sms=True, reminder_sms="Su deuda es $ %deuda%.")
    push_ok(api, erp, receivable("A-1", "2026-11-20"))
    # When the run goes while the company's SMS service is off
    clock.set_now(at("2026-11-13T09:00:00"))
    [item] = run_now(api, tenant)["items"]
    # Then the client gets the e-mail only, and the report says why
    assert item["to"] == ["compras@losandes.example"] and item["sms_to"] is None
    assert item["sms_skipped"] == "the company's SMS service is switched off"
    delivered(mailbox, 1)
    # When the service is on, and the other two clients' receivables are due
    sms_service_on(api, tenant)
    push_ok(api, erp, receivable("A-2", "2026-11-21", "CLI-2"), receivable("A-3", "2026-11-21", "CLI-3"))
    clock.set_now(at("2026-11-14T09:00:00"))
    spanish = tenant.admin_headers() | {"Accept-Language": "es"}
    run = body(api.http.post("/reminders/run", headers=spanish))
    # Then each gets the e-mail only, and the report says why, in the reader's language
    reasons = {i["client_id"]: (i["to"], i["sms_to"], i["sms_skipped"]) for i in run["items"]}
    assert reasons == {
        "CLI-2": (["cli-2@example.com"], None, "el cliente no tiene teléfono"),
        "CLI-3": (
            ["cli-3@example.com"],
            None,
            "el cliente no tiene saldo cargado, que el texto del SMS del recordatorio imprime "
            "(%deuda%, %saldo%)",
        ),
    }
    delivered(mailbox, 2, total=3)
    assert sms_sent_to(local_aws, mobile) == [] and sms_sent_to(local_aws, other) == []
