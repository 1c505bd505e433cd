#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls it): installs what is missing, then runs
# every gate: ruff, mypy --strict, import-linter contracts, unit tests, integration tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/bootstrap.sh
export PATH="$root/.venv/bin:$PATH"

echo "== ruff";          ruff check .
echo "== ruff format";   ruff format --check .
echo "== mypy --strict"; mypy
echo "== import contracts"; PYTHONPATH=operator:submitter lint-imports
# Two workers, whole files per worker: each worker starts its own control plane, Ray head and operator.
# Each tier in its own run: session fixtures of the integration tier (control plane, operator) are torn down
# under the integration timeout, never under a unit test's 10 s.
echo "== pytest unit and tools"; pytest tests/unit tests/tools -p no:xdist -q
echo "== pytest integration";    pytest tests/integration -n 2 --dist loadfile --durations=20 "$@"
