"""H1: a year's history exported in the background: the filters checked at once, a worker that
writes the workbook a page at a time and keeps it in S3, its progress and, once done, a short-lived
link; only for staff who may read what it holds."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.history import (
    XLSX,
    LambdaTimedOut,
    exported_rows,
    run_dead_export_workers,
    run_export_workers,
    time_out_every_delivery,
    write_history,
)
from tests.steps.notes import staff_headers, write_note
from tests.steps.tenants import IDENTITY, Tenant

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)


def start_export(api: Client, headers: dict[str, str], filters: dict[str, str] | None = None) -> Any:
    return api.http.post("/history/email/exports", headers=headers, body=json.dumps(filters or {}))


def export_of(api: Client, headers: dict[str, str], export_id: str) -> Any:
    return api.http.get(f"/history/email/exports/{export_id}", headers=headers)


def files_under(prefix: str) -> list[str]:
    from chalicelib.core.aws import client
    from chalicelib.core.settings import get_settings

    listed = client("s3").list_objects_v2(Bucket=get_settings().files_bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_history_past_the_synchronous_cap_comes_out_whole_from_the_background(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    import chalicelib.records.exports

    # Given an export built in the API call holds at most 150 rows (10,000 in production), and
    # a history of 250 e-mails written straight into the table (two pages of the worker's reads)
    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_ROWS", 150)
    ids = write_history(tenant.company_id, 250, NOW)
    staff = tenant.staff_headers()

    # When staff ask for it as today
    refused = api.http.get("/history/email/export", headers={**staff, "Accept": XLSX})
    # Then it is refused, naming the background export that builds it
    assert refused.status_code == 422
    assert body(refused)["error"] == "ExportTooLarge"
    assert body(refused)["export_in_background"] == "POST /history/email/exports"

    # When they ask for it in the background
    started = start_export(api, staff, {"from": "2026-10-01"})
    # Then it is queued, with its filters
    assert started.status_code == 202, started.body
    export = body(started)
    assert (export["state"], export["rows"], export["download_url"]) == ("queued", 0, None)
    assert export["criteria"] == {"from": "2026-10-01T00:00:00+00:00"}

    # When its worker runs
    outcomes = run_export_workers()
    assert outcomes == [{"done": 1, "failed": 0, "skipped": 0}], outcomes

    # Then it is done, with every row, a link to its file and when the file expires
    done = body(export_of(api, staff, export["export_id"]))
    assert (done["state"], done["rows"]) == ("done", 250)
    assert done["expires_at"] == "2026-11-04T12:00:00+00:00"
    # And the file holds the header and the 250 messages, newest first, each with its columns
    rows = exported_rows(done["download_url"])
    header, data = rows[0], rows[1:]
    assert len(data) == 250
    assert [row[0] for row in data] == ids
    newest = dict(zip(header, data[0], strict=True))
    assert newest["Asunto"] == "Resumen de cuenta 249"
    assert newest["Cliente"] == "CLI-00249"
    assert newest["Para"] == "cli-00249@example.com"
    assert newest["Situación"] == "Enviado"
    assert newest["Texto"] == "Saldo al cierre: 249 pesos"
    assert newest["Creado (UTC)"] == datetime(2026, 11, 2, 12, 0)
    # And it is kept under the company's prefix, never public
    [key] = files_under(f"{tenant.company_id}/exports/")
    assert key.endswith("/history-email.xlsx")


def test_the_filters_are_checked_before_anything_is_written(api: Client, tenant: Tenant) -> None:
    staff = tenant.staff_headers()
    # When staff ask for exports with a filter that is not valid, or for no history
    cases = [
        ({"from": "ayer"}, 422, "from"),
        ({"from": "2026-11-02", "to": "2026-11-01"}, 422, "to"),
        ({"status": "perdido"}, 422, "status"),
        ({"filter": "nada"}, 422, "filter"),
        ({"desde": "2026-11-01"}, 422, "desde"),
    ]
    for filters, status, field in cases:
        answer = start_export(api, staff, filters)
        # Then each is refused naming the field
        assert answer.status_code == status, (filters, answer.body)
        assert body(answer)["field"] == field, filters
    assert api.http.post("/history/fax/exports", headers=staff, body="{}").status_code == 404
    # And no worker was asked for any
    assert run_export_workers() == []


def test_a_worker_that_dies_mid_export_is_retried_and_no_half_file_is_shown(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    import chalicelib.records.history.exports as exports

    # Given a history of 6 e-mails, read 2 at a time, counted on the export every 2 rows, and an
    # export asked for
    monkeypatch.setattr(exports, "COUNT_EVERY", 2)
    write_history(tenant.company_id, 6, NOW)
    staff = tenant.staff_headers()
    export_id = body(start_export(api, staff))["export_id"]

    # When its worker dies while it reads the third page (as a Lambda that times out)
    query = exports.query_history
    pages = {"read": 0}

    def dies_on_the_third_page(viewer: Any, channel: str, criteria: Any, limit: int, cursor: Any) -> Any:
        pages["read"] += 1
        if pages["read"] == 3:
            raise TimeoutError("the worker died")
        return query(viewer, channel, criteria, 2, cursor)

    monkeypatch.setattr(exports, "query_history", dies_on_the_third_page)
    try:
        run_export_workers(visibility_timeout=1)
    except TimeoutError:
        pass
    else:
        raise AssertionError("the worker did not die")

    # Then the export shows it is running with the rows written so far, and no file
    running = body(export_of(api, staff, export_id))
    assert (running["state"], running["rows"], running["download_url"]) == ("running", 4, None)
    assert files_under(f"{tenant.company_id}/exports/") == []

    # When SQS delivers the request again (after its visibility timeout) to a worker that lives
    deadline = time.monotonic() + 15
    outcomes: list[dict[str, int]] = []
    while not outcomes and time.monotonic() < deadline:
        outcomes = run_export_workers(visibility_timeout=1)
    # Then the export is built again from the start and is done with every row
    assert outcomes == [{"done": 1, "failed": 0, "skipped": 0}]
    done = body(export_of(api, staff, export_id))
    assert (done["state"], done["rows"]) == ("done", 6)
    assert len(exported_rows(done["download_url"])) == 1 + 6


def test_an_export_whose_every_attempt_failed_says_so(api: Client, tenant: Tenant, monkeypatch: Any) -> None:
    import chalicelib.records.history.exports as exports

    # Given an export asked for, whose worker fails
    write_history(tenant.company_id, 3, NOW)
    staff = tenant.staff_headers()
    export_id = body(start_export(api, staff))["export_id"]

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("DynamoDB is out")

    monkeypatch.setattr(exports, "query_history", fails)
    # When SQS delivers its request the fifth and last time (then it goes to the dead-letter queue)
    event = {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "r1",
                "body": json.dumps({"company_id": tenant.company_id, "export_id": export_id}),
                "attributes": {"ApproximateReceiveCount": "5"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pregon-history-exports",
            }
        ]
    }
    answer = api.lambda_.invoke("build_history_export", event)
    assert answer.payload == {"done": 0, "failed": 1, "skipped": 0}
    # Then the export failed, saying so in the caller's language, with no file
    failed = body(export_of(api, {**staff, "Accept-Language": "es"}, export_id))
    assert (failed["state"], failed["download_url"]) == ("failed", None)
    assert failed["error"] == "no se pudo generar la exportación: vuelva a pedirla"


def test_an_export_whose_every_delivery_timed_out_fails_saying_why(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    import chalicelib.records.history.exports as exports

    # Given an export asked for, whose worker is stopped at its time limit on every delivery
    write_history(tenant.company_id, 3, NOW)
    staff = {**tenant.staff_headers(), "Accept-Language": "es"}
    export_id = body(start_export(api, staff))["export_id"]

    def times_out(*args: Any, **kwargs: Any) -> Any:
        raise LambdaTimedOut

    monkeypatch.setattr(exports, "query_history", times_out)
    # When SQS delivers its request to the worker again and again (at once visible again), until
    # it moves it to the dead-letter queue (the receive after the fifth)
    assert time_out_every_delivery() == 5
    # Then the export still says running: no attempt could end it
    assert body(export_of(api, staff, export_id))["state"] == "running"

    # When the dead-letter queue's worker runs
    assert run_dead_export_workers() == [{"failed": 1, "skipped": 0}]
    # Then the export failed, saying why in the caller's language, with no file
    failed = body(export_of(api, staff, export_id))
    assert (failed["state"], failed["download_url"]) == ("failed", None)
    assert failed["error"] == (
        "la exportación se detuvo antes de terminar en cada uno de sus intentos (tiene más de lo "
        "que se puede escribir en el tiempo disponible): pídala para un período más corto"
    )
    assert files_under(f"{tenant.company_id}/exports/") == []
    # And a request that reaches it for an export that ended meanwhile changes nothing
    from chalicelib.records.history.exports import give_up_export

    assert give_up_export(tenant.company_id, export_id) is False


def test_only_staff_who_may_read_what_it_holds_see_an_export(
    api: Client, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Given two automatic e-mails and one a level-4 user sent by hand, and each asks for an export
    junior_id = f"junior@{tenant.company_id}"
    junior = {
        "Authorization": "Bearer "
        + IDENTITY.mint(tenant.company_id, user_id=junior_id, level=4, department="ops")
    }
    write_history(tenant.company_id, 2, NOW.replace(hour=10))
    [mine] = write_history(tenant.company_id, 1, NOW, created_by=junior_id, kind="manual")
    clerks = body(start_export(api, tenant.staff_headers()))["export_id"]
    juniors = body(start_export(api, junior))["export_id"]
    run_export_workers()

    # Then the clerk's (level 3) holds all three; the junior's only their own
    assert len(exported_rows(body(export_of(api, tenant.staff_headers(), clerks))["download_url"])) == 4
    own = body(export_of(api, junior, juniors))
    assert [row[0] for row in exported_rows(own["download_url"])][1:] == [mine]
    # And the junior cannot see the clerk's, which holds what they may not read
    assert export_of(api, junior, clerks).status_code == 404
    # And the administrator (level 1) sees both
    for export_id in (clerks, juniors):
        assert export_of(api, tenant.admin_headers(), export_id).status_code == 200
    # And another company's staff see neither, nor its file
    for export_id in (clerks, juniors):
        assert export_of(api, other_tenant.admin_headers(), export_id).status_code == 404
    # And the company's systems (an API key) have no exports: they read the history page by page
    assert start_export(api, tenant.key_headers()).status_code == 403
    assert export_of(api, tenant.key_headers(), clerks).status_code == 403
    # And an export of another channel is not found there
    assert api.http.get(f"/history/sms/exports/{clerks}", headers=tenant.staff_headers()).status_code == 404


def test_a_register_and_a_notes_report_past_the_synchronous_cap_come_out_of_the_background(
    api: Client, tenant: Tenant, monkeypatch: Any
) -> None:
    import chalicelib.records.exports
    import chalicelib.records.notes

    # Given an export built in the API call holds at most 3 rows (10,000 in production), CLI-7
    # with 5 e-mails in its register, and 4 notes on it by Ana (level 1, department sales)
    monkeypatch.setattr(chalicelib.records.exports, "MAX_EXPORT_ROWS", 3)
    monkeypatch.setattr(chalicelib.records.notes, "MAX_REPORT_ROWS", 3)
    put_client(api, tenant, "CLI-7")
    ids = write_history(tenant.company_id, 5, NOW, client_id="CLI-7")
    ana = staff_headers(tenant, "ana", 1, branch="north", department="sales", name="Ana")
    for n in range(4):
        write_note(api, ana, "CLI-7", f"nota {n}")
    clerk = tenant.staff_headers()  # level 3

    # When each is downloaded as today
    register = api.http.get("/clients/CLI-7/register/export", headers={**clerk, "Accept": XLSX})
    notes = api.http.get("/notes/report/export?client=CLI-7", headers={**ana, "Accept": XLSX})
    # Then each is refused, naming the background export that builds it (on main the notes report
    # named none, and neither had one)
    for refused, route in [
        (register, "POST /clients/CLI-7/register/exports"),
        (notes, "POST /notes/report/exports"),
    ]:
        assert refused.status_code == 422, refused.body
        assert (body(refused)["error"], body(refused)["export_in_background"]) == ("ExportTooLarge", route)

    # When filters that are not valid are asked for in the background
    cases = [
        ("/clients/CLI-7/register/exports", {"direction": "sideways"}, 422, "direction"),
        ("/clients/CLI-7/register/exports", {"from": "ayer"}, 422, "from"),
        ("/clients/CLI-7/register/exports", {"desde": "2026-10-01"}, 422, "desde"),
        ("/notes/report/exports", {"group_by": "author"}, 422, "group_by"),
        ("/notes/report/exports", {"last_three": "maybe"}, 422, "last_three"),
    ]
    for path, filters, status, field in cases:
        answer = api.http.post(path, headers=ana, body=json.dumps(filters))
        # Then each is refused naming the field
        assert (answer.status_code, body(answer)["field"]) == (status, field), (filters, answer.body)
    # And a client the company does not have is not found
    assert api.http.post("/clients/CLI-0/register/exports", headers=ana, body="{}").status_code == 404
    # And no worker was asked for any
    assert run_export_workers() == []

    # When the clerk asks for the register and Ana for the report grouped by department, in the background
    started = api.http.post(
        "/clients/CLI-7/register/exports", headers=clerk, body=json.dumps({"from": "2026-10-01"})
    )
    assert started.status_code == 202, started.body
    register_export = body(started)
    assert (register_export["channel"], register_export["state"]) == ("register", "queued")
    assert register_export["criteria"] == {"client": "CLI-7", "from": "2026-10-01"}
    started = api.http.post(
        "/notes/report/exports", headers=ana, body=json.dumps({"client": "CLI-7", "group_by": "department"})
    )
    assert started.status_code == 202, started.body
    notes_export = body(started)
    # And their worker runs (the history exports' own)
    assert run_export_workers() == [{"done": 1, "failed": 0, "skipped": 0}] * 2

    # Then the register's export is done with the 5 records, newest first
    register_path = f"/clients/CLI-7/register/exports/{register_export['export_id']}"
    done = body(api.http.get(register_path, headers=clerk))
    assert (done["state"], done["rows"]) == ("done", 5)
    rows = exported_rows(done["download_url"])
    assert [row[0] for row in rows[1:]] == ids
    assert dict(zip(rows[0], rows[1], strict=True))["Asunto"] == "Resumen de cuenta 4"
    # And the report's holds its group line and the 4 notes, as the file built at once lays them out
    report_path = f"/notes/report/exports/{notes_export['export_id']}"
    done = body(api.http.get(report_path, headers=ana))
    assert (done["state"], done["rows"]) == ("done", 4)
    rows = exported_rows(done["download_url"])
    assert rows[0][:3] == ("Departamento", "Sucursal", "Usuario")
    assert rows[1][0] == "Departamento: sales (4 notas)"
    assert [row[5] for row in rows[2:]] == ["nota 3", "nota 2", "nota 1", "nota 0"]

    # And each is seen by its creator and level 1 only: not by another level-3 user, nor the
    # clerk the report's (it holds what Ana's level shows), nor under another client or company
    other_clerk = {"Authorization": "Bearer " + IDENTITY.mint(tenant.company_id, user_id="otro", level=3)}
    assert api.http.get(register_path, headers=tenant.admin_headers()).status_code == 200
    assert api.http.get(register_path, headers=other_clerk).status_code == 404
    assert api.http.get(report_path, headers=clerk).status_code == 404
    put_client(api, tenant, "CLI-8")
    assert api.http.get(register_path.replace("CLI-7", "CLI-8"), headers=clerk).status_code == 404
    assert (
        api.http.get(f"/history/email/exports/{register_export['export_id']}", headers=clerk).status_code
        == 404
    )
