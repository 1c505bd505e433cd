#!/usr/bin/env bash
# Builds Kueue's controller-manager from the pinned Go module next to this script (go.mod/go.sum), into a
# cache outside the checkout, and prints the bin directory. Nothing is rebuilt when the binary is cached.
#
#   hack/kueue/build.sh                  build if missing, print the bin directory (holding `kueue`)
#   hack/kueue/build.sh --module-dir     print the module source directory (CRDs, webhook manifests)
#   RAYJOB_KUEUE_CACHE=/path build.sh    use another cache root
#
# Its own cache key (version + hash of go.mod/go.sum and this script), apart from the control plane's:
# changing Kueue never re-keys (and rebuilds) the control plane.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KUEUE_MODULE=sigs.k8s.io/kueue
KUEUE_VERSION=$(sed -n "s|^\t$KUEUE_MODULE \(v[^ ]*\).*|\1|p" "$here/go.mod")
[ -n "$KUEUE_VERSION" ] || { echo "[kueue] no $KUEUE_MODULE requirement in $here/go.mod" >&2; exit 1; }

cache_root=${RAYJOB_KUEUE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rayjob-operator/kueue}
bin_dir="$cache_root/bin-$KUEUE_VERSION-$(cat "$here/go.mod" "$here/go.sum" "$0" | sha256sum | cut -c1-12)"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -mod=readonly"

log() { printf '[kueue] %s\n' "$*" >&2; }

module_dir() {
    (cd "$here" && go mod download -json "$KUEUE_MODULE@$KUEUE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

build() {
    mkdir -p "$bin_dir"
    exec 9>"$bin_dir/.lock"
    flock 9   # two runs on one machine wait for each other instead of building twice
    if [ -x "$bin_dir/kueue" ]; then
        log "cached ($KUEUE_VERSION)"
        return
    fi
    log "building $KUEUE_MODULE $KUEUE_VERSION (this is slow only the first time)"
    local start=$SECONDS tmp
    tmp=$(mktemp -d "$bin_dir/.build.XXXXXX")
    local pkg=$KUEUE_MODULE/pkg/version
    (cd "$here" && go build -o "$tmp/kueue" \
        -ldflags "-s -w -X $pkg.GitVersion=$KUEUE_VERSION -X $pkg.GitCommit=unknown -X $pkg.BuildDate=1970-01-01T00:00:00Z" \
        "$KUEUE_MODULE/cmd/kueue")
    mv -f "$tmp/kueue" "$bin_dir/kueue"
    rm -rf "$tmp"
    log "built in $((SECONDS - start)) s"
}

case "${1:-}" in
    --module-dir) module_dir ;;
    "") build; echo "$bin_dir" ;;
    *) echo "usage: $0 [--module-dir]" >&2; exit 2 ;;
esac
