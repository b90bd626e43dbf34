#!/usr/bin/env bash
# Runs the whole service locally: API, scheduled sweeps, DynamoDB Local, a mail catcher, moto,
# and the demo company. Options go to `stack run` (e.g. --port 8000). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infrastructure/local/bootstrap.sh
exec "${UV[@]}" run python -m infrastructure.local.stack run "$@"
