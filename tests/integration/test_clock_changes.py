"""Z1 across the clock's changes: a company's daily runs go at their hour of its clock on both
sides of a summer-time change, once a day, and follow the company when it moves to another zone;
"30 days" of a subscription are 30 of the company's days.
(Days of 23 and 25 hours in the filters, and the hours a clock skips or goes through twice, are
walked by ``tests/unit/test_localization.py``.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.mail import header_fields, text_of
from tests.steps.tenants import Tenant, set_zone
from tests.steps.tracking import T0, issue, post_event, staff_subscribe, sweep


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def reminders_at(api: Client, tenant: Tenant, hour: int) -> str:
    """The administrator has the reminders run daily at ``hour``: their next run (UTC)."""
    answer = api.http.put(
        "/alerts/reminders",
        headers=tenant.admin_headers(),
        body=json.dumps({"enabled": True, "hour_of_day": hour}),
    )
    assert answer.status_code == 200, answer.body
    return str(body(answer)["next_run_at"])


def reminders_row(api: Client, tenant: Tenant) -> dict[str, Any]:
    items = body(api.http.get("/alerts", headers=tenant.staff_headers()))["items"]
    [row] = [i for i in items if i["alert_type"] == "reminders"]
    return dict(row)


def next_run(api: Client, tenant: Tenant) -> tuple[str, str]:
    """The monitor's next run of the reminders: in UTC, and as the company's people read it."""
    row = reminders_row(api, tenant)
    return row["next_run_at"], row["next_run_shown"]


def ticks(clock: Any, tenant: Tenant, *moments: str) -> list[int]:
    """The reminders' schedule ticks at each of ``moments`` (UTC): whether each ran the company."""
    from chalicelib.producers.reminders.run import run_due_reminders

    ran = []
    for moment in moments:
        clock.set_now(at(moment))
        ran.append(sum(1 for r in run_due_reminders() if r.company_id == tenant.company_id))
    return ran


def test_reminders_at_midnight_in_santiago_run_at_midnight_each_day_across_the_september_change(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given a company in Santiago de Chile whose reminders run at 00:00 of its clock, set on
    # Friday 2027-09-03 at 08:00 there (-04:00)
    set_zone(api, tenant, "America/Santiago", "es_CL")
    clock.set_now(at("2027-09-03T12:00:00"))
    assert reminders_at(api, tenant, 0) == "2027-09-04T04:00:00+00:00"
    # When the schedule ticks at Saturday's midnight there and 5 minutes later: it runs once
    assert ticks(clock, tenant, "2027-09-04T04:00:00", "2027-09-04T04:05:00") == [1, 0]
    # Then its next run is Sunday's midnight, which the clock skips that night (00:00 -04:00 is
    # 01:00 -03:00): the moment the clock jumps, not 08:00 (the default hour) nor Monday
    assert next_run(api, tenant) == ("2027-09-05T04:00:00+00:00", "05-09-2027 01:00")
    assert ticks(clock, tenant, "2027-09-05T04:00:00") == [1]
    # And on Monday it is midnight again, on summer time (-03:00)
    assert next_run(api, tenant) == ("2027-09-06T03:00:00+00:00", "06-09-2027 00:00")
    assert reminders_row(api, tenant)["hour_of_day"] == 0


def test_reminders_at_two_in_madrid_run_once_on_the_day_the_clock_goes_back(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given a company in Madrid whose reminders run at 02:00, on Saturday 2027-10-30
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    clock.set_now(at("2027-10-30T10:00:00"))
    assert reminders_at(api, tenant, 2) == "2027-10-31T00:00:00+00:00"  # 02:00 +02:00
    # When the schedule ticks through Sunday's two 02:00s (00:00 and 01:00 UTC)
    assert ticks(clock, tenant, "2027-10-31T00:00:00", "2027-10-31T01:00:00") == [1, 0]
    # Then it ran once, at the first, and next goes at Monday's 02:00 (+01:00)
    assert next_run(api, tenant) == ("2027-11-01T01:00:00+00:00", "1/11/2027 2:00")


def test_a_company_that_moves_to_another_zone_has_its_next_run_at_the_hour_of_its_new_clock(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    # Given a company in Madrid whose reminders run at 08:00: on 2027-06-10 at 12:00 there, the
    # next run is tomorrow at 08:00 Madrid (06:00 UTC)
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    clock.set_now(at("2027-06-10T10:00:00"))
    assert reminders_at(api, tenant, 8) == "2027-06-11T06:00:00+00:00"
    # When its administrator moves it to Mexico City (04:00 there, today's 08:00 still to come)
    set_zone(api, tenant, "America/Mexico_City", "es_MX")
    # Then the next run is today's 08:00 in Mexico City, not 00:00 there (Madrid's 08:00)
    row = reminders_row(api, tenant)
    assert (row["next_run_at"], row["next_run_shown"], row["time_zone"]) == (
        "2027-06-10T14:00:00+00:00",
        "10/6/2027 08:00",
        "America/Mexico_City",
    )
    assert row["last_run_at"] is None  # moved, not run
    # And a run already due when the company moves stays due (it catches up at the next tick)
    clock.set_now(at("2027-06-10T14:00:00"))
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    assert reminders_row(api, tenant)["next_run_at"] == "2027-06-10T14:00:00+00:00"
    assert ticks(clock, tenant, "2027-06-10T14:00:00") == [1]
    assert reminders_row(api, tenant)["next_run_at"] == "2027-06-11T06:00:00+00:00"


def test_a_subscription_made_just_after_midnight_before_the_clock_goes_back_lasts_30_of_the_companys_days(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    # Given a carrier in Madrid whose clerk subscribes a customer to a parcel at 00:30 on Sunday
    # 2027-10-31 there (22:30 UTC on the 30th), the night its clock goes back an hour
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    clock.set_now(at("2027-10-30T22:30:00"))
    issue(api, tenant, "DST-1")
    subscribed = body(staff_subscribe(api, tenant, "DST-1", "ana@dst.example"))
    # Then it lasts until 00:30 on 30 November there (23:30 UTC on the 29th), 30 of the company's
    # days; not 30 × 24 hours, which end at 23:30 on the 29th there
    assert subscribed["expires_at"] == "2027-11-29T23:30:00+00:00"
    # And the alert the customer gets says so
    clock.set_now(at("2027-10-30T22:45:00"))
    minutes = int((at("2027-10-30T22:40:00") - T0).total_seconds() // 60)
    post_event(api, tenant, "DST-1", "ev-1", "OUT_FOR_DELIVERY", minutes=minutes)
    assert sweep(tenant).sent == 1
    [alert] = [m for m in mailbox.messages() if envelope_recipients(m) == ["ana@dst.example"]]
    assert "hasta el 30/11/2027" in text_of(alert)
    # And its Date header on the wire is the UTC moment it left, whatever the company's clock says
    [raw] = [f.read_bytes() for f in mailbox.files() if b"ana@dst.example" in f.read_bytes()]
    assert [f.strip() for f in header_fields(raw, "Date")] == [b"Date: Sat, 30 Oct 2027 22:45:00 +0000"]


def test_a_local_time_without_its_offset_is_refused_naming_the_field_never_guessed(
    api: Client, tenant: Tenant
) -> None:
    # Given a company in Madrid, and 02:30 on the night its clock goes back (it comes twice)
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    issue(api, tenant, "DST-2")
    # When its carrier system posts an event at that time without an offset, or a clerk filters
    # the history from it: a 422 names the field (Pregón never picks one of the two 02:30s)
    event = api.http.post(
        "/parcels/DST-2/events",
        headers=tenant.key_headers(),
        body=json.dumps(
            {"event_id": "ev-1", "status": "OUT_FOR_DELIVERY", "occurred_at": "2027-10-31T02:30:00"}
        ),
    )
    assert event.status_code == 422 and "occurred_at" in event.body.decode(), event.body
    history = api.http.get("/history/email?from=2027-10-31T02:30:00", headers=tenant.staff_headers())
    assert history.status_code == 422 and body(history)["field"] == "from", history.body
    # Then with its offset each is a moment of its own
    for offset in ("%2B02:00", "%2B01:00"):  # "+" URL-encoded
        answer = api.http.get(
            f"/history/email?from=2027-10-31T02:30:00{offset}", headers=tenant.staff_headers()
        )
        assert answer.status_code == 200, answer.body
