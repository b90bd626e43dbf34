"""H2, seed 004: from a register record, staff "Enviar un mensaje" (tell colleagues by e-mail) and
"Crear tarea" (the record as a calendar task, an .ics file any calendar imports)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.core.settings import get_settings
from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.history import add_register_record, register_items, register_tables, set_company_zone
from tests.steps.links import link_key_rotated
from tests.steps.mail import header_fields, html_of, text_of, wire_problems
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import (
    IDENTITY,
    Tenant,
    smtp_sender_account,
    staff_user_saved_before_addresses_were_checked,
)

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
ZONE = "America/Argentina/Buenos_Aires"


def colleague(tenant: Tenant, user_id: str, name: str | None, email: str | None, level: int = 2) -> None:
    """An administrator puts a colleague in the company's staff directory."""
    from chalicelib.tenants.staff import UserFields, save_user

    save_user(tenant.company_id, user_id, UserFields(name=name, email=email, level=level))


def firm(api: Client, tenant: Tenant, mailbox: MailCatcher) -> None:
    """An accounting firm in Buenos Aires: its general sender account, its tables, a client, and
    two colleagues with e-mail addresses."""
    smtp_sender_account(tenant.company_id, "all", mailbox, "Estudio Sur", "avisos@cargasdelsur.example")
    set_company_zone(api, tenant, ZONE, "es_AR")
    register_tables(api, tenant)
    put_client(api, tenant, "CLI-1", emails=["ana@example.com"], name="Ana Pérez")
    colleague(tenant, "marta", "Marta Núñez", "marta@estudio.example")
    colleague(tenant, "luis", "Luis Gómez", "luis@estudio.example")


def notify(api: Client, headers: dict[str, str], record_id: str, **fields: Any) -> Any:
    return api.http.post(
        f"/clients/CLI-1/register/{record_id}/notify", headers=headers, body=json.dumps(fields)
    )


def a_call(api: Client, tenant: Tenant) -> str:
    record = add_register_record(
        api,
        tenant.staff_headers(),
        "CLI-1",
        record_type="call",
        subject="Llamó por el IVA de octubre",
        motive="consulta",
        area="fiscal",
        initiated_by="client",
        text="Pide que lo llamen",
    )
    return str(record["communication_id"])


def test_a_colleague_told_of_a_record_receives_it_by_e_mail(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a call noted in a client's register at 12:00 UTC (09:00 in Buenos Aires) by Clara
    firm(api, tenant, mailbox)
    colleague(tenant, f"clerk@{tenant.company_id}", "Clara Ruiz", "clara@estudio.example", level=3)
    record_id = a_call(api, tenant)
    # When the clerk tells Marta (named twice) with a comment that tries to be a header and HTML
    answer = notify(
        api,
        tenant.staff_headers(),
        record_id,
        users=["marta", "marta"],
        comment="Llamalo <b>hoy</b>\r\nBcc: intruso@example.com",
    )
    assert answer.status_code == 201, answer.body
    assert body(answer)["users"] == ["marta"] and len(body(answer)["messages"]) == 1
    assert deliver_outboxes()["sent"] == 1
    [mail] = mailbox.wait_for(1)

    # Then Marta alone gets one e-mail from the firm's general account
    assert envelope_recipients(mail) == ["marta@estudio.example"]
    assert mail["From"].addresses[0].addr_spec == "avisos@cargasdelsur.example"
    assert mail["To"].addresses[0].display_name == "Marta Núñez"
    # And her answer would go to Clara, who told her
    assert mail["Reply-To"].addresses[0].addr_spec == "clara@estudio.example"
    # And the bytes on the wire are a clean message: 7-bit, each header once, the Subject as
    # UTF-8 encoded-words, no Bcc made of the comment, no unsubscribe (it is staff mail), and
    # marked as written by no person
    raw = mailbox.files()[0].read_bytes()
    assert wire_problems(raw, domain="cargasdelsur.example") == []
    [subject] = header_fields(raw, "Subject")
    assert b"=?utf-8?" in subject.lower()
    assert str(make_header(decode_header(subject.partition(b":")[2].decode()))) == (
        "Clara Ruiz te avisa de una comunicación con Ana Pérez (CLI-1): Llamó por el IVA de octubre"
    )
    assert header_fields(raw, "Bcc") == [] and header_fields(raw, "List-Unsubscribe") == []
    assert [f.strip() for f in header_fields(raw, "Auto-Submitted")] == [b"Auto-Submitted: auto-generated"]
    # And it says the client, the record's type, motive, area, subject, its date in the company's
    # zone, the comment as typed, and links to the record in the console
    text = text_of(mail)
    for line in [
        "Cliente: Ana Pérez (CLI-1)",
        f"Fecha: 2/11/2026 09:00 ({ZONE})",
        "Tipo: Llamada",
        "Motivo: Consulta fiscal",
        "Área: Área fiscal",
        "Asunto: Llamó por el IVA de octubre",
        "Llamalo <b>hoy</b>",
        f"/console#/clients?client=CLI-1&record={record_id}",
    ]:
        assert line in text, line
    page = html_of(mail)
    assert "Llamalo &lt;b&gt;hoy&lt;/b&gt;" in page and "<b>hoy</b>" not in page
    base = get_settings().public_base_url
    assert f'href="{base}/console#/clients?client=CLI-1&amp;record={record_id}"' in page

    # And the record shows who was told, by whom (by id and by the staff directory's name) and when
    detail = body(api.http.get(f"/clients/CLI-1/register/{record_id}", headers=tenant.staff_headers()))
    assert detail["notices"] == [
        {
            "at": START.isoformat(),
            "by": f"clerk@{tenant.company_id}",
            "by_name": "Clara Ruiz",
            "users": ["marta"],
            "user_names": ["Marta Núñez"],
        }
    ]
    # And the e-mail is not the client's: the register holds the call alone
    assert [i["communication_id"] for i in register_items(api, tenant.staff_headers(), "CLI-1")] == [
        record_id
    ]


def test_only_users_of_the_company_with_an_address_can_be_told(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a record, a colleague without an e-mail address, one whose e-mail field was saved as free
    # text before addresses were checked (two addresses), and a user of another company
    firm(api, tenant, mailbox)
    colleague(tenant, "sinmail", "Sin Correo", None)
    staff_user_saved_before_addresses_were_checked(
        tenant.company_id, "lista", "marta@estudio.example, intruso@example.com", level=2
    )
    colleague(other_tenant, "ajeno", "Ajeno", "ajeno@otra.example")
    record_id = a_call(api, tenant)
    staff = tenant.staff_headers()
    # When the clerk names them, nobody, or more than 20 users
    for users in (["marta", "ajeno"], ["sinmail"], ["lista"], [], [f"u{n}" for n in range(21)]):
        answer = notify(api, staff, record_id, users=users)
        # Then each is a 422 naming users, and nothing is sent
        assert answer.status_code == 422, (users, answer.body)
        assert body(answer)["field"] == "users"
    assert "ajeno" in body(notify(api, staff, record_id, users=["marta", "ajeno"]))["message"]
    assert deliver_outboxes()["sent"] == 0
    assert body(api.http.get(f"/clients/CLI-1/register/{record_id}", headers=staff))["notices"] == []
    # And the directory the console picks from lists the colleagues who can be told, by name
    listed = body(api.http.get("/staff/colleagues", headers=staff))["items"]
    assert {"user_id": "marta", "name": "Marta Núñez"} in [
        {k: u[k] for k in ("user_id", "name")} for u in listed
    ]
    assert not {"sinmail", "lista"} & {u["user_id"] for u in listed}
    # And asked for every active user (a client's agent lists), those are there too, said so
    everyone = body(api.http.get("/staff/colleagues?without_email=true", headers=staff))["items"]
    has_email = {u["user_id"]: u["has_email"] for u in everyone}
    assert (has_email["marta"], has_email["sinmail"], has_email["lista"]) == (True, False, False)
    bad = api.http.get("/staff/colleagues?without_email=si", headers=staff)
    assert bad.status_code == 422 and body(bad)["errors"][0]["field"] == "without_email"


def test_the_colleagues_to_pick_from_are_in_alphabetical_order_as_a_spanish_reader_reads_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the firm's colleagues, one whose name starts with an accent and one in lower case
    firm(api, tenant, mailbox)
    colleague(tenant, "alvaro", "Álvaro Ríos", "alvaro@estudio.example")
    colleague(tenant, "zoe", "Zoe Paz", "zoe@estudio.example")
    colleague(tenant, "bea", "beatriz Sosa", "bea@estudio.example")
    # When staff open the picker's list
    listed = body(api.http.get("/staff/colleagues", headers=tenant.staff_headers()))["items"]
    # Then Álvaro comes first, not after Zoe, and case does not matter
    assert [u["name"] for u in listed] == [
        "Álvaro Ríos",
        "beatriz Sosa",
        "Luis Gómez",
        "Marta Núñez",
        "Zoe Paz",
    ]


def test_a_level_4_user_cannot_tell_anyone_of_a_record_they_cannot_see(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a record the clerk wrote, and a level-4 user who sees only their own records
    firm(api, tenant, mailbox)
    record_id = a_call(api, tenant)
    junior = {
        "Authorization": "Bearer "
        + IDENTITY.mint(tenant.company_id, user_id=f"junior@{tenant.company_id}", level=4, department="ops"),
        "Content-Type": "application/json",
    }
    # When the junior tries to tell Marta of it, or to take it as a task
    told = notify(api, junior, record_id, users=["marta"])
    task = api.http.get(f"/clients/CLI-1/register/{record_id}/task.ics", headers=junior)
    # Then both answer 404, as the record's view does, and nothing is sent
    assert told.status_code == 404 and task.status_code == 404
    assert deliver_outboxes()["sent"] == 0


def test_a_user_cannot_flood_colleagues(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers import register_notices
    from chalicelib.producers.tracking.limits import Limit

    # Given a user's allowance of 3 e-mails to colleagues an hour, and a third colleague
    monkeypatch.setattr(register_notices, "NOTICE_EMAILS_PER_USER", Limit("register-notice-email", 3, 3600))
    firm(api, tenant, mailbox)
    colleague(tenant, "sofia", "Sofía Ruiz", "sofia@estudio.example")
    record_id = a_call(api, tenant)
    staff = tenant.staff_headers()
    # When they tell two colleagues, then ask to tell two more (four e-mails: one past the allowance)
    assert notify(api, staff, record_id, users=["marta", "luis"]).status_code == 201
    refused = notify(api, staff, record_id, users=["marta", "sofia"])
    # Then the whole request is refused, naming users, with when to try again
    assert refused.status_code == 429 and body(refused)["field"] == "users"
    assert "allowance of 3 e-mails" in body(refused)["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # and nothing of it was counted: the one e-mail left still goes
    assert notify(api, staff, record_id, users=["sofia"]).status_code == 201
    assert notify(api, staff, record_id, users=["luis"]).status_code == 429
    # and only the three allowed e-mails went, and the record names only those told
    assert deliver_outboxes()["sent"] == 3
    assert sorted(a for m in mailbox.wait_for(3) for a in envelope_recipients(m)) == [
        "luis@estudio.example",
        "marta@estudio.example",
        "sofia@estudio.example",
    ]
    notices = body(api.http.get(f"/clients/CLI-1/register/{record_id}", headers=staff))["notices"]
    assert [n["users"] for n in notices] == [["marta", "luis"], ["sofia"]]


def test_a_record_as_a_calendar_task(api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any) -> None:
    from icalendar import Calendar

    # Given a call noted at 12:00 UTC, and the clerk in the directory with an address
    firm(api, tenant, mailbox)
    colleague(tenant, f"clerk@{tenant.company_id}", "Clara Ruiz", "clara@estudio.example", level=3)
    record_id = a_call(api, tenant)
    # When the clerk downloads it as a task ("Crear tarea")
    answer = api.http.get(f"/clients/CLI-1/register/{record_id}/task.ics", headers=tenant.staff_headers())

    # Then it is an iCalendar file, saved as one
    assert answer.status_code == 200, answer.body
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="tarea-{record_id}.ics"'
    calendar = Calendar.from_ical(answer.body)
    [task] = calendar.walk("VTODO")
    # With the subject, the client and the record's details, and a link to it
    assert str(task["SUMMARY"]) == "Llamó por el IVA de octubre"
    description = str(task["DESCRIPTION"])
    for line in (
        "Cliente: Ana Pérez (CLI-1)",
        "Tipo: Llamada",
        "Motivo: Consulta fiscal",
        "Área: Área fiscal",
    ):
        assert line in description, line
    assert str(task["URL"]).endswith(f"/console#/clients?client=CLI-1&record={record_id}")
    # Starting when the call was noted, due a day later, in the company's zone (its VTIMEZONE in the file)
    start, due = task.decoded("DTSTART"), task.decoded("DUE")
    assert start == START and due == START + timedelta(days=1)
    assert str(start.tzinfo) == ZONE and start.hour == 9
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == [ZONE]
    # With the clerk as organizer and attendee
    assert str(task["ORGANIZER"]) == "mailto:clara@estudio.example"
    assert task["ORGANIZER"].params["CN"] == "Clara Ruiz"
    assert str(task["ATTENDEE"]) == "mailto:clara@estudio.example"
    # And the same record is the same task however often it is downloaded
    clock.set_now(START + timedelta(hours=3))
    again = Calendar.from_ical(
        api.http.get(f"/clients/CLI-1/register/{record_id}/task.ics", headers=tenant.staff_headers()).body
    )
    assert str(again.walk("VTODO")[0]["UID"]) == str(task["UID"])


@pytest.mark.parametrize(
    "saved_email", ["clara@estudio.example\r\nX-Inyectado: 1", "clara@estudio.example, intruso@example.com"]
)
def test_a_task_names_no_organizer_whose_address_is_not_one_plain_address(
    api: Client, tenant: Tenant, mailbox: MailCatcher, saved_email: str
) -> None:
    from icalendar import Calendar

    # Given a record, and the clerk's e-mail field saved as free text before addresses were checked
    # (a line break in it, or two addresses)
    firm(api, tenant, mailbox)
    staff_user_saved_before_addresses_were_checked(
        tenant.company_id, f"clerk@{tenant.company_id}", saved_email, 3
    )
    record_id = a_call(api, tenant)
    # When the clerk downloads the record as a task
    answer = api.http.get(f"/clients/CLI-1/register/{record_id}/task.ics", headers=tenant.staff_headers())
    # Then it is the task, as for a clerk without an address: no organizer or attendee made of that text
    assert answer.status_code == 200, answer.body
    [task] = Calendar.from_ical(answer.body).walk("VTODO")
    assert str(task["SUMMARY"]) == "Llamó por el IVA de octubre"
    assert "ORGANIZER" not in task and "ATTENDEE" not in task
    assert b"intruso" not in answer.body and b"X-Inyectado" not in answer.body


def test_another_company_cannot_reach_a_record(
    api: Client, tenant: Tenant, other_tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given a record of one company, and a user of another company in that company's directory
    firm(api, tenant, mailbox)
    record_id = a_call(api, tenant)
    colleague(other_tenant, "marta", "Marta", "marta@otra.example")
    other = other_tenant.admin_headers()
    # When the other company's administrator asks for it as a task, or tells their own user of it
    task = api.http.get(f"/clients/CLI-1/register/{record_id}/task.ics", headers=other)
    told = notify(api, other, record_id, users=["marta"])
    # Then both are 404 and nothing is sent
    assert task.status_code == 404 and told.status_code == 404
    assert deliver_outboxes()["sent"] == 0


def test_a_level_4_user_picks_colleagues_by_name_and_area_never_by_their_login(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.tenants.staff import UserFields, save_unit, save_user

    # Given a colleague whose user id is the address she signs in with, in the firm's labour area
    firm(api, tenant, mailbox)
    save_unit(tenant.company_id, "departments", "laboral", "Laboral")
    login = "irene.login@estudio.example"
    save_user(
        tenant.company_id,
        login,
        UserFields(name="Irene Vidal", email="irene@estudio.example", level=2, department="laboral"),
    )
    # And a level-4 junior with a call of their own in the register
    junior = {
        "Authorization": "Bearer "
        + IDENTITY.mint(tenant.company_id, user_id=f"junior@{tenant.company_id}", level=4, department="ops"),
        "Content-Type": "application/json",
    }
    mine = add_register_record(api, junior, "CLI-1", record_type="call", subject="Dudas con la nómina")
    # When the junior opens the colleague picker
    answer = api.http.get("/staff/colleagues", headers=junior)
    listed = body(answer)["items"]
    # Then Irene is there by name and area, with a handle to pick her by, and no one's login shows
    [irene] = [u for u in listed if u["name"] == "Irene Vidal"]
    assert irene["department"] == "Laboral" and irene["handle"] == irene["user_id"]
    assert login.encode() not in answer.body and "marta" not in {u["user_id"] for u in listed}
    # When the junior tells Irene of the call by that handle
    told = notify(api, junior, str(mine["communication_id"]), users=[irene["handle"]])
    # Then Irene gets the e-mail, and neither the answer nor the record shows her login
    assert told.status_code == 201, told.body
    assert body(told)["users"] == [irene["handle"]]
    assert deliver_outboxes()["sent"] == 1
    assert envelope_recipients(mailbox.wait_for(1)[0]) == ["irene@estudio.example"]
    detail = api.http.get(f"/clients/CLI-1/register/{mine['communication_id']}", headers=junior)
    assert body(detail)["notices"][0]["users"] == [irene["handle"]] and login.encode() not in detail.body
    # And her login, which the junior was never shown, names no one (a guess tells nothing)
    guessed = notify(api, junior, str(mine["communication_id"]), users=[login])
    assert guessed.status_code == 422 and "not active users" in body(guessed)["errors"][0]["message"]
    # And the firm's administrators and clerks still see and use user ids, as before
    clerk_list = body(api.http.get("/staff/colleagues", headers=tenant.staff_headers()))["items"]
    assert {"user_id": login, "name": "Irene Vidal"}.items() <= next(
        u for u in clerk_list if u["name"] == "Irene Vidal"
    ).items()
    admin_detail = body(
        api.http.get(f"/clients/CLI-1/register/{mine['communication_id']}", headers=tenant.admin_headers())
    )
    assert admin_detail["notices"][0]["users"] == [login]
    # When the operator rotates the link-signing key
    with link_key_rotated() as keys:
        # Then the junior still knows Irene by the same handle, in the picker and on the record
        again = api.http.get("/staff/colleagues", headers=junior)
        assert [u["handle"] for u in body(again)["items"] if u["name"] == "Irene Vidal"] == [irene["handle"]]
        detail = api.http.get(f"/clients/CLI-1/register/{mine['communication_id']}", headers=junior)
        assert body(detail)["notices"][0]["users"] == [irene["handle"]]
        # And a handle made with the old key, before handles had a key of their own (what a page
        # opened before that upgrade holds), still tells her
        message = f"colleague:{tenant.company_id}:{login}".encode()
        before = "c-" + hmac.new(keys.old.encode(), message, hashlib.sha256).hexdigest()[:24]
        assert before != irene["handle"]
        told = notify(api, junior, str(mine["communication_id"]), users=[before])
        assert told.status_code == 201, told.body
        assert deliver_outboxes()["sent"] == 1


def test_a_colleague_who_could_not_open_the_record_is_refused_before_anything_is_sent(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the clerk's call in the register, and Pablo, a level-4 user who sees only his own records
    firm(api, tenant, mailbox)
    colleague(tenant, "pablo", "Pablo Díaz", "pablo@estudio.example", level=4)
    record_id = a_call(api, tenant)
    # When the clerk tells Marta and Pablo of it, the console asking in Spanish
    staff = {**tenant.staff_headers(), "Accept-Language": "es"}
    refused = notify(api, staff, record_id, users=["marta", "pablo"])
    # Then the request is refused, naming users, Pablo and why: he could not open the record
    assert refused.status_code == 422, refused.body
    [error] = body(refused)["errors"]
    assert error["field"] == "users"
    assert error["message"] == (
        "los usuarios de nivel 4 solo ven los registros que crearon, así que no podrían abrir este: "
        "Pablo Díaz (pablo)"
    )
    # And no one got the record's subject by e-mail, and the record names no notice
    assert deliver_outboxes()["sent"] == 0
    assert body(api.http.get(f"/clients/CLI-1/register/{record_id}", headers=staff))["notices"] == []
    # And Marta alone, who may open it, is told
    assert notify(api, staff, record_id, users=["marta"]).status_code == 201


def test_no_one_but_its_owner_and_administrators_is_told_of_a_private_mailboxs_record(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from dataclasses import replace

    from chalicelib.store import communications as store

    # Given a message logged from Marta's private mailbox into the client's register
    firm(api, tenant, mailbox)
    colleague(tenant, "jefa", "Inés Jefa", "jefa@estudio.example", level=1)
    call = store.get(tenant.company_id, a_call(api, tenant))
    assert call is not None
    private = store.save(replace(call, communication_id=call.communication_id + "p", private_to="marta"))
    admin = tenant.admin_headers()
    # When the administrator tells Luis (level 2), Marta and Inés (level 1) of it
    refused = notify(api, admin, private.communication_id, users=["luis", "marta", "jefa"])
    # Then Luis, who could not open it, is named with why, and nothing is sent
    assert refused.status_code == 422, refused.body
    assert body(refused)["errors"] == [
        {
            "field": "users",
            "message": "this record is from a private mailbox, which only its owner and level-1 users "
            "see, so they could not open it: Luis Gómez (luis)",
        }
    ]
    assert deliver_outboxes()["sent"] == 0
    # And its owner and the administrator may be told
    assert notify(api, admin, private.communication_id, users=["marta", "jefa"]).status_code == 201
