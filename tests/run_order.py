"""The order in which the whole run hands its test files to its processes (a pytest plugin,
``-p tests.run_order`` in infrastructure/local/test.sh): the heaviest files first, then the rest,
most tests first.

With ``--dist loadfile`` each file runs whole in one process, and a process asks for the next file
when it is nearly done with its own. pytest-xdist's own order (files with most tests first) left the
heavy files with one or two long tests (the small screens, accessibility, the statements' layout)
for the end, where one process ran them while the other two had nothing left to do. Handed out
first, they run while the many short files fill the other processes, and the run ends on short
files. The order changes nothing in what a test does, only when its file starts.
"""

from __future__ import annotations

from collections import Counter

import pytest

# The files that take longest (setup, calls and teardown summed by file, from `--durations=120` of
# a whole run: session 38's, at 14 s or more on an idle machine), heaviest first. The others run
# after these; a stale list costs only time (tests/unit/test_test_layout.py checks each file exists).
HEAVIEST = (
    "tests/integration/test_outbox_recovery.py",
    "tests/integration/test_bulk_statements.py",
    "tests/integration/test_benchmarks_run.py",  # session 41: ~45 s alone, most of it polls and sleeps
    "tests/integration/test_client_erasure.py",
    "tests/integration/test_tracking_alerts.py",
    "tests/integration/test_receivable_statements.py",
    "tests/integration/test_mailboxes.py",
    "tests/integration/test_manual_sends.py",
    "tests/integration/test_sms_allowances.py",
    "tests/integration/test_company_leaving.py",
    "tests/integration/test_document_bounds.py",
    "tests/integration/test_accessibility.py",
    "tests/integration/test_small_screens.py",
    "tests/integration/test_local_aws_loops.py",
    "tests/integration/test_wire_matrix.py",
    "tests/integration/test_console_channels_and_people.py",
    "tests/integration/test_preferred_agents.py",
    "tests/integration/test_documents.py",
    "tests/integration/test_console_work_records.py",
    "tests/integration/test_sending_domain_notices.py",
    "tests/integration/test_sms_sender_ids.py",
    "tests/integration/test_console_work_clients.py",
    "tests/integration/test_openapi_matches_the_app.py",
    "tests/integration/test_sender_domains.py",
    "tests/integration/test_reminders.py",
    "tests/integration/test_sms_numbers.py",
    "tests/unit/test_openapi.py",
    "tests/integration/test_email_allowances.py",
    "tests/integration/test_email_reputation.py",
    "tests/integration/test_mailboxes_hostile_server.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist would sort the files by their number of tests again (--no-loadscope-reorder)
    config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    files = [item.nodeid.split("::")[0] for item in items]
    tests = Counter(files)
    first = {file: n for n, file in reversed(list(enumerate(files)))}
    rank = {file: n for n, file in enumerate(HEAVIEST)}
    order = {
        file: (rank.get(file, len(HEAVIEST)), -tests[file], first[file]) for file in tests
    }  # (each file's tests stay together, in their own order)
    items[:] = [item for _, item in sorted(zip(files, items, strict=True), key=lambda pair: order[pair[0]])]
