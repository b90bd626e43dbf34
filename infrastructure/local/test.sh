#!/usr/bin/env bash
# Runs every check and test: ruff (lint and format), mypy, then pytest (options go to pytest).
set -euo pipefail
cd "$(dirname "$0")/../.."
source infrastructure/local/bootstrap.sh
source infrastructure/local/browser.sh
"${UV[@]}" run ruff check .
"${UV[@]}" run ruff format --check .
"${UV[@]}" run mypy
"${UV[@]}" run pytest "$@"
