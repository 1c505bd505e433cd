#!/usr/bin/env bash
# Builds KubeRay's operator (the benchmark's reference) from the pinned Go module next to this script,
# and copies that version's CRDs out of the module source, into a cache outside the checkout:
#
#   hack/kuberay/build.sh        build what is missing; print the directory holding
#                                kuberay-operator and crds/*.yaml
#   RAYJOB_KUBERAY_CACHE=/path   use another cache root
#
# The cache key is the version plus a hash of the recipe (go.mod, go.sum, versions.env, this script),
# separate from the control plane's, so changing one never rebuilds the other.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${RAYJOB_KUBERAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rayjob-operator}
key=$(cat "$here/operator/go.mod" "$here/operator/go.sum" "$here/versions.env" "$0" | sha256sum | cut -c1-12)
out="$cache_root/kuberay-$KUBERAY_VERSION-$key"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

log() { printf '[kuberay] %s\n' "$*" >&2; }

build_operator() {
    if [ -x "$out/kuberay-operator" ]; then
        log "operator $KUBERAY_VERSION: cached"
        return
    fi
    log "operator $KUBERAY_VERSION: building (a few minutes, first time only)"
    local start=$SECONDS tmp
    tmp=$(mktemp -d "$out/.build.XXXXXX")
    (cd "$here/operator" && go build -ldflags "-s -w" -o "$tmp/kuberay-operator" "$KUBERAY_MODULE")
    mv -f "$tmp/kuberay-operator" "$out/kuberay-operator"
    rm -rf "$tmp"
    log "operator $KUBERAY_VERSION: built in $((SECONDS - start)) s"
}

copy_crds() {
    if compgen -G "$out/crds/*.yaml" >/dev/null; then
        return
    fi
    local dir
    dir=$(cd "$here/operator" && go list -m -f '{{.Dir}}' "$KUBERAY_MODULE")
    if [ -z "$dir" ] || ! compgen -G "$dir/config/crd/bases/*.yaml" >/dev/null; then
        log "no CRDs under '$dir/config/crd/bases' (module $KUBERAY_MODULE@$KUBERAY_VERSION)"
        exit 1
    fi
    mkdir -p "$out/crds.tmp"
    cp "$dir"/config/crd/bases/*.yaml "$out/crds.tmp/"
    chmod u+w "$out"/crds.tmp/*.yaml
    rm -rf "$out/crds"
    mv "$out/crds.tmp" "$out/crds"
    log "CRDs $KUBERAY_VERSION: $(cd "$out/crds" && echo *.yaml)"
}

main() {
    mkdir -p "$out"
    exec 9>"$out/.lock"
    flock 9   # two runs on one machine wait for each other instead of building twice
    build_operator
    copy_crds
    echo "$out"
}

main "$@"
