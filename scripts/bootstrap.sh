#!/usr/bin/env bash
# Installs what the project needs, idempotently, and prints nothing else on success:
#   - .venv/ inside the checkout with the package (editable) and its dev tools;
#   - the local control plane binaries (hack/controlplane/build.sh, cached outside the checkout);
#   - Kueue's controller-manager (hack/kueue/build.sh, cached apart from the control plane);
#   - a pinned Ray for the local Ray head, in its own venv cached outside the checkout.
# Sourced by the other scripts; exports RAYJOB_CP_BIN, RAYJOB_KUEUE_BIN, RAYJOB_KUEUE_SRC and RAYJOB_RAY_BIN.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/rayjob-operator
RAY_VERSION=2.60.0

log() { printf '[bootstrap] %s\n' "$*" >&2; }

ensure_project_venv() {
    local stamp="$root/.venv/.installed-$(sha256sum "$root/pyproject.toml" | cut -c1-12)"
    [ -f "$stamp" ] && return
    log "installing the project into .venv"
    [ -x "$root/.venv/bin/python" ] || python3 -m venv "$root/.venv"
    "$root/.venv/bin/python" -m pip install --quiet --upgrade pip
    "$root/.venv/bin/python" -m pip install --quiet -e "$root[dev,bench]"  # bench: mypy checks the benchmark too
    rm -f "$root"/.venv/.installed-*
    touch "$stamp"
}

ensure_ray_venv() {
    local venv="$cache_root/ray-$RAY_VERSION"
    if [ ! -f "$venv/.installed" ]; then
        log "installing ray[default]==$RAY_VERSION into $venv (first run only)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet "ray[default]==$RAY_VERSION"
        touch "$venv/.installed"
    fi
    RAYJOB_RAY_BIN="$venv/bin"
}

ensure_project_venv
RAYJOB_CP_BIN=$("$root/hack/controlplane/build.sh")
RAYJOB_KUEUE_BIN=$("$root/hack/kueue/build.sh")
RAYJOB_KUEUE_SRC=$("$root/hack/kueue/build.sh" --module-dir)
ensure_ray_venv
export RAYJOB_CP_BIN RAYJOB_KUEUE_BIN RAYJOB_KUEUE_SRC RAYJOB_RAY_BIN
