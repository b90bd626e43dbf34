"""Z1: every time a person reads is in the company's time zone and locale; date filters are the
company's days."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher, envelope_recipients
from tests.steps.answers import body
from tests.steps.history import XLSX, send_email
from tests.steps.mail import html_of, text_of
from tests.steps.tenants import Tenant, make_tenant, set_zone
from tests.steps.tracking import T0, issue, post_event, staff_subscribe, sweep


def alert_to(mailbox: MailCatcher, address: str) -> Any:
    [message] = [m for m in mailbox.messages() if envelope_recipients(m) == [address]]
    return message


def test_an_alert_reads_in_each_companys_zone_and_locale(
    api: Client, local_aws: dict[str, str], mailbox: MailCatcher, clock: Any
) -> None:
    # Given two carriers on the same stack, one in Mexico City and one in Madrid
    mexico, madrid = (
        make_tenant(mailbox, name="Paquetería Azteca"),
        make_tenant(mailbox, name="Cargas Madrid"),
    )
    set_zone(api, mexico, "America/Mexico_City", "es_MX")
    set_zone(api, madrid, "Europe/Madrid", "es_ES")
    # And each has a parcel that went out for delivery at 10:30 UTC, followed by a customer
    for tenant, email in ((mexico, "ana@mx.example"), (madrid, "ana@es.example")):
        issue(api, tenant, "TZ-1")
        staff_subscribe(api, tenant, "TZ-1", email)
        post_event(api, tenant, "TZ-1", "ev-1", "OUT_FOR_DELIVERY", minutes=-90)  # T0 - 90 min = 10:30 UTC
    # When their sweeps run
    sweep(mexico), sweep(madrid)
    # Then each customer reads the time on the company's clock, written the company's way
    in_mexico, in_madrid = alert_to(mailbox, "ana@mx.example"), alert_to(mailbox, "ana@es.example")
    assert "Fecha: 2/11/2026 04:30" in text_of(in_mexico)
    assert "Fecha: 2/11/2026 11:30" in text_of(in_madrid)
    assert "2/11/2026 11:30" in html_of(in_madrid)
    assert "UTC" not in text_of(in_mexico) + text_of(in_madrid)


def test_the_alert_monitor_shows_the_next_run_in_the_companys_zone(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    set_zone(api, tenant, "America/Argentina/Buenos_Aires", "es_AR")
    [tracking] = [
        a
        for a in body(api.http.get("/alerts", headers=tenant.staff_headers()))["items"]
        if a["alert_type"] == "tracking"
    ]
    # The monitor's next run is due now, 12:00 UTC: 09:00 in Buenos Aires
    assert tracking["next_run_at"] == T0.isoformat()
    assert (tracking["next_run_shown"], tracking["time_zone"]) == (
        "2/11/2026 09:00",
        "America/Argentina/Buenos_Aires",
    )


def test_a_date_filter_means_the_companys_days(api: Client, tenant: Tenant, clock: Any) -> None:
    # Given a company in Buenos Aires (UTC-3)
    set_zone(api, tenant, "America/Argentina/Buenos_Aires", "es_AR")
    # And an e-mail at 01:30 UTC on the 2nd (22:30 on the 1st there), another at 04:00 UTC (01:00 on the 2nd)
    clock.set_now(datetime(2026, 11, 2, 1, 30, tzinfo=timezone.utc))
    late = send_email(tenant, "ana@example.com", "Tarde del 1")
    clock.set_now(datetime(2026, 11, 2, 4, 0, tzinfo=timezone.utc))
    early = send_email(tenant, "ana@example.com", "Madrugada del 2")
    clock.set_now(datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc))

    def day(text: str) -> list[str]:
        answer = api.http.get(f"/history/email?from={text}&to={text}", headers=tenant.staff_headers())
        assert answer.status_code == 200, answer.body
        return [item["communication_id"] for item in body(answer)["items"]]

    # When staff filter by day, Then each e-mail is on its day in Buenos Aires, not in UTC
    assert day("2026-11-01") == [late]
    assert day("2026-11-02") == [early]
    # And the export shows the company's wall-clock times, in its order of day and month
    from openpyxl import load_workbook

    export = api.http.get(
        "/history/email/export?from=2026-11-01&to=2026-11-02",
        headers={**tenant.staff_headers(), "Accept": XLSX},
    )
    assert export.status_code == 200 and export.headers["Content-Type"] == XLSX
    sheet: Any = load_workbook(io.BytesIO(export.body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "Creado (America/Argentina/Buenos_Aires)"  # the company writes Spanish
    created = {row[0]: row[1] for row in rows[1:]}
    assert created[late] == datetime(2026, 11, 1, 22, 30)
    assert sheet.cell(row=2, column=2).number_format == "dd/mm/yyyy hh:mm"


def test_an_event_message_reads_days_and_times_the_companys_way(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from chalicelib.tenants.companies import issue_api_key
    from tests.steps.clients import put_client
    from tests.steps.outbox import deliver_outboxes
    from tests.steps.tenants import smtp_sender_account

    # Given a company in Madrid, its back office, and a client who wants ticket news
    set_zone(api, tenant, "Europe/Madrid", "es_ES")
    assert tenant.mailbox is not None
    smtp_sender_account(tenant.company_id, "all", tenant.mailbox, "Cargas Madrid", "admin@cargas.example")
    key = issue_api_key(tenant.company_id, "erp", ["events:write", "clients:write"])
    headers = {"Authorization": f"ApiKey {key}", "Content-Type": "application/json"}
    put_client(api, headers, "CLI-TZ", name="Ana García", emails=["ana@example.com"])
    # When a ticket changes at 23:15 UTC on the 1st (00:15 on the 2nd in Madrid)
    event = {
        "event_id": "tk-1",
        "client_id": "CLI-TZ",
        "notify_client": True,
        "ticket": {
            "id": "T-9",
            "subject": "Sin servicio",
            "status": "open",
            "updated_at": (T0 - timedelta(hours=12, minutes=45)).isoformat(),
        },
    }
    answer = api.http.post("/events/ticket-changed", headers=headers, body=json.dumps(event))
    assert answer.status_code in (200, 201, 202), answer.body
    deliver_outboxes()
    # Then the e-mail says the Madrid time and day
    [message] = [m for m in tenant.mailbox.messages() if envelope_recipients(m) == ["ana@example.com"]]
    assert "2/11/2026 0:15" in text_of(message)  # CLDR es_ES: day/month/year, hours without a zero


def test_the_register_filters_and_exports_by_the_companys_days(
    api: Client, tenant: Tenant, clock: Any
) -> None:
    from openpyxl import load_workbook

    from tests.steps.clients import put_client

    # Given a company in Mexico City (UTC-6) and a client with an e-mail at 03:00 UTC on the 2nd
    # (21:00 on the 1st there)
    set_zone(api, tenant, "America/Mexico_City", "es_MX")
    put_client(api, tenant, "CLI-MX", emails=["ana@example.com"])
    clock.set_now(datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc))
    sent = send_email(tenant, "ana@example.com", "Factura", client_id="CLI-MX")
    clock.set_now(T0)

    def on(day: str) -> list[str]:
        path = f"/clients/CLI-MX/register?from={day}&to={day}"
        return [
            r["communication_id"] for r in body(api.http.get(path, headers=tenant.staff_headers()))["items"]
        ]

    # Then staff find it on the 1st, not on the 2nd
    assert (on("2026-11-01"), on("2026-11-02")) == ([sent], [])
    # And the register's export writes 21:00 on the 1st, naming the zone
    export = api.http.get(
        "/clients/CLI-MX/register/export", headers={**tenant.staff_headers(), "Accept": XLSX}
    )
    assert export.status_code == 200, export.body
    rows = list(load_workbook(io.BytesIO(export.body)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][1] == "Fecha (America/Mexico_City)"
    assert rows[1][:2] == (sent, datetime(2026, 11, 1, 21, 0))
