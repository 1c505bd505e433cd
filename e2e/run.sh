#!/usr/bin/env bash
# End-to-end run on a kind cluster with the real images (opt-in; needs a container engine).
#
#   e2e/run.sh                  everything: images, kind cluster, chart, the eight KubeRay samples
#   e2e/run.sh setup            images, kind cluster and chart only (then `pytest e2e` works too)
#   e2e/run.sh samples [FILE…]  only the samples (all, or the named files of tests/data/kuberay)
#   e2e/run.sh down             delete the kind cluster
#
# Environment:
#   CONTAINER_ENGINE   docker (default) or podman
#   KIND_CLUSTER       name of the kind cluster (default rayjob-e2e; its context is kind-<name>)
#   IMAGE_TAG          tag of the two images built here (default e2e; never "latest")
#   E2E_PARALLEL=1     run the samples at once (needs about 12 CPUs and 24 GiB); default one by one
#   E2E_KEEP=1         keep each sample's namespace afterwards (default: deleted when it passed)
#
# Every wait has a deadline: per sample from e2e/samples.tsv, the rest below.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/e2e"
engine=${CONTAINER_ENGINE:-docker}
cluster=${KIND_CLUSTER:-rayjob-e2e}
context="kind-$cluster"
tag=${IMAGE_TAG:-e2e}
operator_image="rayjob-operator/operator:$tag"
submitter_image="rayjob-operator/submitter:$tag"
release=rayjob-operator
release_namespace=rayjob-system
poll_seconds=5
operator_ready_timeout=300s
namespace_gone_seconds=300
after_terminal_seconds=300   # for cluster-deleted / deleted: ttl or deletion-rule delay plus slack

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

kc() { kubectl --context "$context" "$@"; }

need() {
    local missing=()
    for tool in "$engine" kind kubectl helm; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]} (see e2e/README.md)"
    [ "$tag" != latest ] || die "IMAGE_TAG=latest would make the kubelet pull from a registry; choose another tag"
    case "$context" in kind-*) ;; *) die "refusing kube context $context: only kind-* contexts" ;; esac
}

build_images() {
    log "building $operator_image and $submitter_image with $engine"
    "$engine" build --target operator -t "$operator_image" "$root"
    "$engine" build --target submitter -t "$submitter_image" "$root"
}

create_cluster() {
    if kind get clusters | grep -qx "$cluster"; then
        log "kind cluster $cluster exists; reusing it"
    else
        log "creating kind cluster $cluster"
        kind create cluster --name "$cluster" --wait 180s
    fi
}

load_images() {
    local archive
    archive=$(mktemp -d)/images.tar
    log "loading the images into $cluster"
    "$engine" save -o "$archive" "$operator_image" "$submitter_image"
    kind load image-archive "$archive" --name "$cluster"
    rm -rf "$(dirname "$archive")"
}

install_chart() {
    log "installing the chart (release $release in $release_namespace)"
    # Helm installs crds/ only when missing and never upgrades them: apply them first so a reused
    # cluster has the current schema.
    kc apply --server-side --force-conflicts -f "$root/charts/rayjob-operator/crds/"
    helm upgrade --install "$release" "$root/charts/rayjob-operator" \
        --kube-context "$context" --namespace "$release_namespace" --create-namespace \
        --set image.repository="${operator_image%:*}" --set image.tag="$tag" --set image.pullPolicy=Never \
        --set submitterImage.repository="${submitter_image%:*}" --set submitterImage.tag="$tag" \
        --wait --timeout "$operator_ready_timeout"
    # A rebuilt image under the same tag needs a new pod.
    kc -n "$release_namespace" rollout restart "deployment/$release"
    kc -n "$release_namespace" rollout status "deployment/$release" --timeout "$operator_ready_timeout"
}

# --- samples -------------------------------------------------------------------------------------------

sample_stem() { local f=${1#ray-job.}; echo "${f%.yaml}"; }

fresh_namespace() {
    local ns=$1 deadline=$((SECONDS + namespace_gone_seconds))
    kc delete namespace "$ns" --ignore-not-found --wait=false >/dev/null
    while kc get namespace "$ns" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "namespace $ns still terminating after ${namespace_gone_seconds}s"
        sleep "$poll_seconds"
    done
    kc create namespace "$ns" >/dev/null
}

# status NS NAME -> "deploymentStatus|jobStatus|reason|clusterName", "gone" (NotFound) or "unknown" (API error)
status() {
    local out
    if out=$(kc -n "$1" get rayjob "$2" --ignore-not-found -o \
        jsonpath='{.status.jobDeploymentStatus}{"|"}{.status.jobStatus}{"|"}{.status.reason}{"|"}{.status.rayClusterName}' 2>/dev/null); then
        echo "${out:-gone}"
    else
        echo unknown
    fi
}

diagnose() {
    local ns=$1 name=$2
    log "diagnostics of $ns/$name"
    kc -n "$ns" get rayjob,raycluster,job,pod,svc -o wide >&2 || true
    kc -n "$ns" describe rayjob "$name" >&2 || true
    kc -n "$ns" get events --sort-by=.lastTimestamp >&2 || true
    kc -n "$release_namespace" logs "deployment/$release" --tail=100 >&2 || true
}

# run_sample FILE DEADLINE EXPECT NEEDS RESULT_FILE: one row "file ns state jobStatus reason seconds verdict"
run_sample() {
    local file=$1 deadline_seconds=$2 expect=$3 needs=$4 result=$5
    local ns name started state job reason cluster_name verdict=FAIL
    ns="e2e-$(sample_stem "$file")"
    fresh_namespace "$ns"
    if [ "$needs" != - ]; then
        kc -n "$ns" create -f "$here/manifests/$needs" >/dev/null
    fi
    started=$SECONDS
    # create, not apply: the kueue sample uses generateName.
    name=$(kc -n "$ns" create -f "$root/tests/data/kuberay/$file" -o name | sed -n 's|^rayjob.ray.io/||p')
    log "$file: RayJob $ns/$name created; deadline ${deadline_seconds}s"
    local deadline=$((started + deadline_seconds))
    state="" job="" reason="" cluster_name=""
    while :; do
        IFS='|' read -r state job reason cluster_name <<<"$(status "$ns" "$name")" || true
        case "$state" in Complete | Failed | ValidationFailed | gone) break ;; esac
        if [ $SECONDS -ge $deadline ]; then
            state="timeout(${state:-New})"
            break
        fi
        sleep "$poll_seconds"
    done
    if [ "$state" = Complete ] && [ "$job" = SUCCEEDED ]; then
        verdict=PASS
        case ",$expect," in
            *,cluster-deleted,*)
                wait_gone "$ns" "raycluster/$cluster_name" || { verdict=FAIL; reason="RayCluster $cluster_name kept"; } ;;
        esac
        case ",$expect," in
            *,deleted,*)
                wait_gone "$ns" "rayjob/$name" || { verdict=FAIL; reason="RayJob not deleted (DeleteSelf)"; } ;;
        esac
    fi
    [ "$verdict" = PASS ] || diagnose "$ns" "$name"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$ns" "$state" "${job:--}" "${reason:--}" \
        "$((SECONDS - started))" "$verdict" >"$result"
    if [ "$verdict" = PASS ] && [ "${E2E_KEEP:-0}" != 1 ]; then
        kc delete namespace "$ns" --wait=false >/dev/null
    fi
}

wait_gone() {
    local ns=$1 object=$2 deadline=$((SECONDS + after_terminal_seconds))
    while kc -n "$ns" get "$object" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep "$poll_seconds"
    done
}

run_samples() {
    local results wanted=("$@") failed=0
    results=$(mktemp -d)
    local file deadline expect needs
    while IFS=$'\t' read -r file deadline expect needs; do
        case "$file" in '#'* | '') continue ;; esac
        if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" $file "* ]]; then
            continue
        fi
        if [ "${E2E_PARALLEL:-0}" = 1 ]; then
            run_sample "$file" "$deadline" "$expect" "$needs" "$results/$file.row" &
        else
            run_sample "$file" "$deadline" "$expect" "$needs" "$results/$file.row"
        fi
    done <"$here/samples.tsv"
    wait
    printf '\n%-38s %-28s %-22s %-10s %-40s %6s %s\n' SAMPLE NAMESPACE STATE JOB REASON SECONDS RESULT
    for row in "$results"/*.row; do
        [ -e "$row" ] || die "no sample ran"
        IFS=$'\t' read -r file ns state job reason seconds verdict <"$row"
        printf '%-38s %-28s %-22s %-10s %-40s %6s %s\n' "$file" "$ns" "$state" "$job" "${reason:0:40}" "$seconds" "$verdict"
        [ "$verdict" = PASS ] || failed=$((failed + 1))
    done
    rm -rf "$results"
    [ $failed -eq 0 ] || die "$failed sample(s) failed"
    log "every sample passed"
}

main() {
    local command=${1:-all}
    [ $# -eq 0 ] || shift
    need
    case "$command" in
        all) build_images; create_cluster; load_images; install_chart; run_samples ;;
        setup) build_images; create_cluster; load_images; install_chart ;;
        samples) run_samples "$@" ;;
        down) kind delete cluster --name "$cluster" ;;
        *) die "unknown command $command (all, setup, samples, down)" ;;
    esac
}

main "$@"
