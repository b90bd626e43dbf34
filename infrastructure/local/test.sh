#!/usr/bin/env bash
# Runs every check and test: ruff (lint and format), mypy, Bandit, then pytest (options go to pytest;
# without options, the end-to-end tests run in a second pytest beside the rest).
set -euo pipefail
cd "$(dirname "$0")/../.."
source infrastructure/local/bootstrap.sh
source infrastructure/local/browser.sh
static_checks() {
    "${UV[@]}" run ruff check .
    "${UV[@]}" run ruff format --check .
    "${UV[@]}" run mypy
    # Bandit over the service and its infrastructure (its settings in pyproject.toml; every finding
    # is fixed or marked "# nosec BXXX # why": docs/operations.md, "Security checks").
    "${UV[@]}" run bandit -c pyproject.toml -q -r chalicelib infrastructure
}
if [ "$#" -gt 0 ]; then
    static_checks
    exec "${UV[@]}" run pytest "$@"
fi
# The whole run: the static checks (about 45 s, most of it mypy on a fresh clone) run beside the
# tests, in the CPU their waits leave idle; their report follows the main one, and all must pass.
checks_log=$(mktemp)
static_checks >"$checks_log" 2>&1 </dev/null &
checks=$!
# The whole run. The end-to-end tests (marker e2e) spend most of their minutes waiting for the
# local stack's one-minute schedules, so they run in a second pytest beside the others (each
# stack on its own free ports and folders), with the deployment's checks (marker beside: synth,
# cfn-lint, Checkov; CPU the waiting leaves free); both must pass. Their report follows the main one.
# The others run in four processes on two cores (pytest-xdist, each test file whole in one
# process, each process with its own DynamoDB Local and moto): a test waiting on a server, the
# browser or a schedule leaves its core to another (two processes left a sixth of the CPU idle;
# three a quarter, and took 15 min 53 s where four took 14 min 58 s, session 39).
# The heaviest files are handed out first (tests/run_order.py; on the path through PYTHONPATH, as
# `-p` imports it before pytest adds the repository), so the run does not end on one long file.
# That pytest collects only the files holding them: collecting every test file costs a process
# ~20 CPU-seconds the others need (tests/unit/test_test_layout.py checks no marked test is elsewhere).
beside_files=(tests/e2e tests/integration/test_infrastructure.py)
e2e_log=$(mktemp)
trap 'rm -f "$e2e_log" "$checks_log"' EXIT
"${UV[@]}" run pytest -m "e2e or beside" -p no:cacheprovider "${beside_files[@]}" >"$e2e_log" 2>&1 </dev/null &
e2e=$!
status=0
PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" "${UV[@]}" run pytest -m "not e2e and not beside" --numprocesses 4 --dist loadfile -p tests.run_order || status=$?
e2e_status=0
wait "$e2e" || e2e_status=$?
checks_status=0
wait "$checks" || checks_status=$?
echo "----- static checks (ruff, ruff format, mypy, Bandit; run beside the tests): exit $checks_status -----"
cat "$checks_log"
echo "----- end-to-end tests and deployment checks (pytest -m \"e2e or beside\", run beside the others): exit $e2e_status -----"
cat "$e2e_log"
[ "$status" -eq 0 ] && [ "$e2e_status" -eq 0 ] && [ "$checks_status" -eq 0 ]
