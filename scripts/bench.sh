#!/usr/bin/env bash
# The side-by-side benchmark (make bench; never part of make test): installs what is missing (the project,
# the control plane, matplotlib, KubeRay's operator built from Go modules), then runs
# python -m rayjob_bench with the arguments given (see bench/README.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

stamp="$root/.venv/.bench-$(sha256sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
    echo "[bench] installing the benchmark's extras into .venv" >&2
    .venv/bin/python -m pip install --quiet -e "${root}[dev,bench]"
    rm -f "$root"/.venv/.bench-*
    touch "$stamp"
fi
RAYJOB_KUBERAY_DIR=$(hack/kuberay/build.sh)
export RAYJOB_KUBERAY_DIR
PYTHONPATH="$root/devtools" exec .venv/bin/python -m rayjob_bench "$@"
