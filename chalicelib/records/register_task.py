"""H2, seed 004's "Crear tarea en a3agenda": a register record as a calendar task (RFC 5545).

a3ASESOR opened a new a3agenda task filled in with the client, the user, the date and the
subject. In the cloud the same task is an iCalendar file with one ``VTODO`` that Outlook, Google
and Apple calendars import: its summary the record's subject, its description the client and the
record's details, its start the record's time and its due time :data:`DUE_AFTER` later, both in
the company's time zone (the file carries that ``VTIMEZONE``), the user as organizer and attendee
when the directory has one plain e-mail address for them, and a link to the record in the
console. Its ``UID`` is the record's, so importing it again updates the same task instead of
adding another.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from chalicelib.core import clock
from chalicelib.core.domain import Client, Communication, Company, StaffUser

ICS_TYPE = "text/calendar; charset=utf-8"
DUE_AFTER = timedelta(days=1)
PRODUCT = "-//Pregón//Registro de comunicaciones//ES"


def task_uid(company_id: str, record_id: str) -> str:
    """The same for a record every time (an import of it again updates the task)."""
    from chalicelib.core.settings import get_settings

    return f"register-{record_id}.{company_id}@{get_settings().mail_domain}"


def task_calendar(
    company: Company,
    client: Client,
    record: Communication,
    user: StaffUser | None,
    *,
    motive: str | None,
    area: str | None,
    link: str,
) -> bytes:
    """The ``.ics`` file of one task for ``record`` (``motive`` and ``area`` as the company names
    them)."""
    from icalendar import Calendar, Todo, vCalAddress, vText

    from chalicelib.core.emails import is_email
    from chalicelib.records.exports import word

    spanish = company.language == "es"
    zone = ZoneInfo(company.time_zone)
    start = record.created_at.astimezone(zone)
    details = [
        ("Cliente" if spanish else "Client", f"{client.name} ({client.client_id})"),
        ("Tipo" if spanish else "Type", word(record.record_type or record.channel, company.language)),
        ("Motivo" if spanish else "Motive", motive),
        ("Área" if spanish else "Area", area),
        ("Asunto" if spanish else "Subject", record.subject),
        ("Creado por" if spanish else "Created by", record.created_by),
    ]
    lines = [f"{k}: {v}" for k, v in details if v]
    if record.direction == "note" and record.text:
        lines += ["", record.text]
    lines += ["", link]
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    task = Todo()
    task.add("uid", task_uid(company.company_id, record.communication_id))
    task.add("dtstamp", clock.now())
    task.add("summary", " ".join((record.subject or "").split()) or f"{client.name} ({client.client_id})")
    task.add("description", "\n".join(lines))
    task.add("dtstart", start)
    task.add("due", start + DUE_AFTER)
    task.add("status", "NEEDS-ACTION")
    task.add("url", link)
    # one plain address only: a value saved before addresses were checked (a list, a line break,
    # which icalendar refuses with an error) names no organizer, as for the notices' Reply-To
    if user is not None and user.email and is_email(user.email):
        for role in ("organizer", "attendee"):
            address = vCalAddress(f"mailto:{user.email}")
            if user.name:
                address.params["cn"] = vText(user.name)
            task.add(role, address)
    calendar.add_component(task)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
