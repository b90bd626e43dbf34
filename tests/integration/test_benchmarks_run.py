"""The benchmarks under ``bench/`` run in the test run at their smallest size, on the servers the
test session already started (``bench._stack.borrowed_servers``), so a change that breaks one fails
here instead of the next time someone runs it by hand (session 40 broke ``bench.cost_model`` and
``bench.bulk_send`` that way). Nothing here times anything: speed targets live in the benchmarks."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.steps.tenants import MADE, purge_outbox_queue


@pytest.fixture
def results(local_aws: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The benchmarks run on the test run's DynamoDB Local and moto, with SMTP servers in this
    process, and write their results here; the companies they make leave the shared schedules when
    the test ends, as a test's own do."""
    from bench._stack import borrowed_servers
    from chalicelib.tenants import companies

    create = companies.create_company

    def noted(company_id: str, *args: Any, **kwargs: Any) -> Any:
        MADE.append(company_id)
        return create(company_id, *args, **kwargs)

    monkeypatch.setattr(companies, "create_company", noted)
    purge_outbox_queue()
    folder = tmp_path / "results"
    with borrowed_servers(local_aws, folder):
        yield folder


def result(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / f"{name}.json").read_text())


def run(monkeypatch: pytest.MonkeyPatch, name: str, *arguments: str) -> None:
    """``uv run python -m bench.<name> <arguments>``, in this process (on the borrowed servers)."""
    module = importlib.import_module(f"bench.{name}")
    monkeypatch.setattr(sys, "argv", [f"bench.{name}", *arguments])
    assert module.main() in (None, 0)


def test_the_cost_model_prices_a_bulk_send_a_sweep_and_their_feedback(results: Path) -> None:
    # Given the test run's servers
    from bench import cost_model

    # When the cost model runs with two clients, one due parcel and one SES e-mail
    assert cost_model.main(["--emails", "2", "--due", "1", "--feedback", "1"]) == 0

    # Then every part sent what it was given and each total is a dollar figure
    report = result(results, "cost_model")
    bulk, sweep, feedback = (report["parts"][p] for p in ("bulk_send", "tracking_sweep", "ses_feedback"))
    assert bulk["emails"] == 2 and bulk["job"] == {"state": "done", "total": 2, "sent": 2, "failed": 0}
    assert sweep["emails"] == 1 and feedback["emails"] == 1
    for name in ("bulk_send", "tracking_sweep"):
        assert report["results"][name]["usd_per_100k"] > 0


def test_the_bulk_send_sends_every_client_one_email_through_the_fan_out(results: Path) -> None:
    # Given the test run's servers
    from bench import bulk_send

    # When the bulk send runs to three clients with one worker process per handler
    assert bulk_send.main(["--emails", "3", "--workers", "1"]) == 0

    # Then the plain loop and the fan-out each had the SMTP server receive three e-mails, the job done
    report = result(results, "bulk_send")
    assert report["plain_smtplib"]["emails"] == 3
    fan_out = report["sqs_fan_out"]
    assert fan_out["emails"] == 3 and fan_out["handler_failures"] == 0
    assert fan_out["job"] == {"state": "done", "total": 3, "sent": 3, "failed": 0}
    assert fan_out["dynamodb_requests"] > 0


def test_the_sweep_cost_sweeps_due_parcels_alone_and_among_idle_ones(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the sweep cost runs with one due parcel, alone (A) and among two idle ones (B)
    run(monkeypatch, "sweep_cost", "--due", "1", "--idle", "2")

    # Then each scenario's sweep sent its alert, which the SMTP server received, its requests counted
    report = result(results, "sweep_cost")
    for scenario in ("A", "B"):
        assert report[scenario]["emails_caught"] == 1 and report[scenario]["requests_per_email"] > 0


def test_the_reminder_run_reminds_due_receivables_alone_and_among_others(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the reminder run's cost runs with two receivables due, alone (A) and among two not due (B)
    run(monkeypatch, "reminders_run", "--due", "2", "--not-due", "2", "--clients", "1")

    # Then each run's reminders reached the SMTP server, their requests counted
    report = result(results, "reminders_run")
    assert report["passed"]["all_sent"]
    for scenario in ("A", "B"):
        assert report[scenario]["reminders"] == 2 and report[scenario]["requests_per_reminder"] > 0


def test_the_notes_report_walks_each_scenario(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # When the notes report runs over twenty notes by two authors
    run(monkeypatch, "notes_report", "--notes", "20", "--authors", "2", "--page", "5")

    # Then each scenario was walked and its reads per row counted
    scenarios = result(results, "notes_report")["scenarios"]
    assert len(scenarios) == 4
    assert scenarios["level 2, whole report"]["rows"] > 0
    assert scenarios["level 2, whole report"]["items_read_per_row"] > 0


def test_the_smtp_wire_sends_over_a_relay_with_and_without_pipelining(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the SMTP wire benchmark sends two e-mails at no added round trip, once each way
    run(monkeypatch, "smtp_wire", "--emails", "2", "--rtt", "0", "--runs", "1")

    # Then each way has a rate (e-mails per second)
    [row] = result(results, "smtp_wire")["rows"]
    assert (
        row["plain_smtplib"] > 0
        and row["pregon_without_pipelining"] > 0
        and row["pregon_with_pipelining"] > 0
    )


def test_the_inbound_flood_records_and_holds_each_flood(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the inbound flood runs with one message a flood
    run(monkeypatch, "inbound_flood", "--messages", "1")

    # Then each flood's message was recorded before the ceilings and held under them, its cost priced
    report = result(results, "inbound_flood")
    for flood in ("one stranger", "as many strangers", "one known client"):
        assert report[flood]["before"]["messages"] == 1 and report[flood]["before"]["recorded"] == 1
        assert report[flood]["held"]["held"] == 1
        assert report[flood]["before"]["usd_per_100k"] >= 0


def test_the_history_export_exports_every_row(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the benchmark's identity is the one the test run's API trusts
    from bench import big_tenant, history_export
    from tests.steps.tenants import IDENTITY

    monkeypatch.setattr(big_tenant, "IDENTITY", IDENTITY)
    monkeypatch.setattr(history_export, "IDENTITY", IDENTITY)

    # When the history export runs over five messages
    run(monkeypatch, "history_export", "--rows", "5", "--text", "40")

    # Then the file holds all five
    report = result(results, "history_export")
    assert report["rows"] == 5 and report["rows_in_file"] == 5 and report["file_bytes"] > 0


def test_the_delivery_benchmark_sweeps_and_sends_a_plain_loop(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the delivery benchmark runs once with one due parcel (and a warm-up sweep of one)
    run(monkeypatch, "delivery", "--due", "1", "--runs", "1", "--warm", "1")

    # Then the sweep's alert and the plain loop's e-mail reached the SMTP server, a ratio made
    report = result(results, "delivery")
    [sweep], [plain] = report["sweep"], report["plain_smtplib"]
    assert sweep["emails"] == 1 and plain["emails"] == 1
    assert report["ratio"] > 0


def test_the_scale_out_hands_off_to_a_worker_and_nothing_arrives_twice(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import scale_out

    # When the scale-out benchmark hands three e-mails to one outbox worker
    assert scale_out.main(["--emails", "3", "--workers", "1"]) == 0

    # Then the SMTP server received all three, none twice
    [one] = result(results, "scale_out")["runs"]
    assert one["workers"] == 1 and one["emails"] == 3 and one["files"] == 3 and one["sent_twice"] == 0


def test_the_bulk_statements_send_every_client_its_statement(results: Path) -> None:
    from bench import bulk_statements

    # When the bulk statements run to one client with one movement, one worker per handler
    assert bulk_statements.main(["--clients", "1", "--workers", "1", "--lines", "1"]) == 0

    # Then the plain loop and the job each had the SMTP server receive its e-mail, the job done
    report = result(results, "bulk_statements")
    assert report["plain_smtplib"]["emails"] == 1 and report["pdf_bytes"] > 0
    bulk = report["bulk_statements"]
    assert bulk["emails"] == 1 and bulk["job"]["state"] == "done" and bulk["job"]["sent"] == 1


def test_the_emulator_writes_measure_each_write_api_by_indexes(
    results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # When the emulator's cost per write runs with one item, one round
    run(monkeypatch, "emulator_writes", "--items", "1", "--rounds", "1")

    # Then each write API has a figure per index kept
    report = result(results, "emulator_writes")
    assert len(report["cpu_ms_per_item_warm"]) >= 5 * 5 and report["cpu_ms_per_index_per_item"]


def test_the_pdf_render_renders_a_statement_that_reads_back(results: Path) -> None:
    from bench import pdf_render

    # When the PDF benchmark renders for a moment
    assert pdf_render.main(["--seconds", "0.001"]) == 0

    # Then Pregón's template and a company's own each made a one-page statement whose text reads back
    rendered = result(results, "pdf_render")["results"]
    assert [r["renderer"] for r in rendered] == ["typst (Pregón)", "typst, a company's own template"]
    assert all(r["statements"] >= 1 and r["pages"] == 1 and r["spanish_text_extracted"] for r in rendered)


def test_the_mailbox_sync_syncs_first_idle_and_new(results: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # When the mailbox sync runs over a mailbox of one message, then one new one
    run(monkeypatch, "mailbox_sync", "--sizes", "1", "--new", "1")

    # Then each sync ran and its IMAP commands and DynamoDB requests were counted
    [size] = result(results, "mailbox_sync")["runs"]
    assert size["first"]["logged"] >= 1 and size["idle"]["logged"] == 0
    assert all(size[sync]["imap_commands"] > 0 for sync in ("first", "idle", "new"))


def test_the_big_tenant_pages_and_exports_its_history(
    results: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the benchmark's identity is the one the test run's API trusts
    from bench import big_tenant
    from tests.steps.tenants import IDENTITY

    monkeypatch.setattr(big_tenant, "IDENTITY", IDENTITY)

    # When the big tenant runs with a history of four messages
    run(monkeypatch, "big_tenant", "--sizes", "4", "--text", "40")

    # Then every page and export answered and was measured
    rows = result(results, "big_tenant")["rows"]
    assert len(rows) == 9 and all(r["status"] == 200 and r["requests"] > 0 for r in rows)

    # When its other listings run over three of everything, for the clients' listing only
    few = ["--clients", "3", "--parcels", "3", "--inbound", "3", "--tickets", "3", "--notes", "3"]
    few += ["--suppressions", "3", "--jobs", "3", "--messages", "4", "--big-messages", "2", "--text", "40"]
    run(monkeypatch, "big_tenant", "--other", "--only", "clients", *few)

    # Then the listing's pages answered (a partial run prints them only)
    printed = capsys.readouterr().out
    assert "'what': 'clients', 'page': 'first page', 'status': 200" in printed


# Three benchmarks cannot run on the test run's servers at any size worth running: the soak starts
# its whole local stack as processes of its own and kills them; typst_memory bisects each of its
# documents' memory (~25 min); cold_start times fresh interpreters (~20 of them). Each is imported,
# its command line parsed, and its smallest part run.


def test_the_soak_parses_its_command_line_and_explains_a_copy(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import soak

    with pytest.raises(SystemExit) as helped:
        soak.main(["--help"])
    assert helped.value.code == 0 and "--fault-seconds" in capsys.readouterr().out
    assert soak._cause(10.0, [(9.5, "SIGKILL outbox worker (pid 1)")]) == "9.5 SIGKILL outbox worker"


def test_the_typst_memory_lays_out_a_statement_in_a_capped_process(tmp_path: Path) -> None:
    from bench import typst_memory

    values = typst_memory._longest_statement(2)
    assert len(values["statement"]["movements"]) == 2
    fits, pages, peak = typst_memory._laid_out([b"Hola"], tmp_path, tmp_path, 4096)
    assert fits and pages == 1 and peak > 0


def test_the_cold_start_times_an_import_in_a_fresh_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import cold_start

    monkeypatch.setattr(sys, "argv", ["bench.cold_start", "--help"])
    with pytest.raises(SystemExit) as helped:
        cold_start.main()
    assert helped.value.code == 0 and "--runs" in capsys.readouterr().out
    (tmp_path / "app.py").write_text(cold_start.BARE_APP)
    seconds, wall = cold_start._time_import(tmp_path)
    assert 0 < seconds <= wall
