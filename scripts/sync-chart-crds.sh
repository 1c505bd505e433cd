#!/usr/bin/env bash
# Copies the CRDs (crds/, generated from the models by `python -m rayjob_operator.model.crdgen crds/`)
# into the chart (charts/rayjob-operator/crds/). The chart's copy is never edited by hand:
# tests/tools/test_chart.py fails when the two differ and names this script.
#
#   scripts/sync-chart-crds.sh           copy
#   scripts/sync-chart-crds.sh --check   exit 1 (and list the differences) if the copy is stale
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/crds"
dst="$root/charts/rayjob-operator/crds"

if [ "${1:-}" = "--check" ]; then
    if diff -rq "$src" "$dst"; then
        exit 0
    fi
    echo "charts/rayjob-operator/crds is stale: run scripts/sync-chart-crds.sh" >&2
    exit 1
fi

mkdir -p "$dst"
rm -f "$dst"/*.yaml
cp "$src"/*.yaml "$dst"/
echo "copied $(find "$src" -maxdepth 1 -name '*.yaml' | wc -l) CRDs into ${dst#"$root"/}"
