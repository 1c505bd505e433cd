#!/usr/bin/env bash
# The chaos run (make chaos; never part of make test): installs what is missing (the project, the control
# plane), then runs python -m rayjob_chaos with the arguments given (see bench/CHAOS.md). Exits 0 only if the
# run found no duplicate submission, no stuck or lost RayJob, no leaked object and no reasonless terminal state.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
# This checkout's code for the harness and the operator it starts, even with a .venv shared with another checkout
# (the editable install points at the checkout that made it; PYTHONPATH comes first).
PYTHONPATH="$root/devtools:$root/operator:$root/submitter" exec .venv/bin/python -m rayjob_chaos "$@"
