#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok, helm) from the pinned Go modules next to this script, into a cache outside the
# checkout. A group whose binaries are already cached is not rebuilt.
#
#   hack/controlplane/build.sh            build what is missing, print the bin directory
#   RAYJOB_CP_CACHE=/path build.sh        use another cache root
#
# The cache key of each group is its version plus a hash of its go.mod/go.sum, so changing the
# recipe builds a new directory and never reuses stale binaries.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${RAYJOB_CP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rayjob-operator/controlplane}
bin_dir="$cache_root/bin-$(cat "$here"/*/go.mod "$here"/*/go.sum "$here/versions.env" "$0" | sha256sum | cut -c1-12)"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

log() { printf '[controlplane] %s\n' "$*" >&2; }

k8s_ldflags() {
    local v=$KUBERNETES_VERSION minor
    minor=$(echo "$v" | cut -d. -f2)
    local flags="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor"
        flags+=" -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000"
        flags+=" -X $p.buildDate=1970-01-01T00:00:00Z"
    done
    echo "$flags"
}

# build_group NAME OUTPUTS... -- GO_BUILD_ARGS...
build_group() {
    local group=$1; shift
    local outputs=()
    while [ "$1" != "--" ]; do outputs+=("$1"); shift; done
    shift
    local missing=0
    for o in "${outputs[@]}"; do [ -x "$bin_dir/$o" ] || missing=1; done
    if [ $missing = 0 ]; then
        log "$group: cached"
        return
    fi
    local tmp
    tmp=$(mktemp -d "$bin_dir/.build-$group.XXXXXX")
    log "$group: building (this is slow only the first time)"
    local start=$SECONDS
    local target="$tmp/"
    [ ${#outputs[@]} = 1 ] && target="$tmp/${outputs[0]}"   # a single binary gets its name explicitly
    (cd "$here/$group" && go build -o "$target" "$@")
    for o in "${outputs[@]}"; do mv -f "$tmp/$o" "$bin_dir/$o"; done
    rm -rf "$tmp"
    log "$group: built in $((SECONDS - start)) s"
}

main() {
    mkdir -p "$bin_dir"
    exec 9>"$bin_dir/.lock"
    flock 9   # two runs on one machine wait for each other instead of building twice

    build_group etcd etcd -- -ldflags "-s -w" go.etcd.io/etcd/server/v3
    build_group kwok kwok -- -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
        sigs.k8s.io/kwok/cmd/kwok
    build_group helm helm -- -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
        helm.sh/helm/v3/cmd/helm
    build_group k8s kube-apiserver kube-controller-manager kube-scheduler kubectl -- \
        -ldflags "$(k8s_ldflags)" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
    echo "$bin_dir"
}

main "$@"
