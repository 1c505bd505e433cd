"""The benchmark's RayJobs: N of them, 1 head + 1 worker, spread over namespaces and fake nodes. Pure.

Every pod template is bound to a kwok node by ``nodeName`` (round-robin), so no scheduler is involved and
both operators get the same placement. In K8sJobMode the submitter pod template carries the devenv kwok
annotations that complete it (Succeeded) a fixed time after it starts: nothing runs inside kwok pods, and the
benchmark's submitter stand-in (:mod:`rayjob_bench.submitter`) submits the job when the pod is Running.
"""

from __future__ import annotations

from typing import Any

from rayjob_bench.config import Mode

RAY_VERSION = "2.60.0"
IMAGE = f"rayproject/ray:{RAY_VERSION}"
ENTRYPOINT = "python -c pass"
NAMESPACE_PREFIX = "bench-"
NODE_PREFIX = "kwok-node-"
JOB_PREFIX = "bench-"
BENCH_LABEL = "rayjob-bench/run"
COMPLETE_ANNOTATION = "devenv.rayjob-operator.io/complete"
COMPLETE_AFTER_ANNOTATION = "devenv.rayjob-operator.io/complete-after"


def namespace_names(count: int) -> list[str]:
    return [f"{NAMESPACE_PREFIX}{i}" for i in range(count)]


def node_names(count: int) -> list[str]:
    return [f"{NODE_PREFIX}{i}" for i in range(count)]


def job_name(index: int) -> str:
    return f"{JOB_PREFIX}{index:05d}"


def _pod_template(container: str, node: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"nodeName": node, "containers": [{"name": container, "image": IMAGE}]}}
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return template


def go_duration(seconds: float) -> str:
    """A Go duration string (kwok's ``complete-after``), millisecond precision."""
    return f"{round(seconds * 1000)}ms"


def rayjob(index: int, *, mode: Mode, namespaces: int, nodes: int, submitter_seconds: float) -> dict[str, Any]:
    """RayJob number ``index`` (namespace and nodes chosen round-robin from it)."""
    names = node_names(nodes)
    node = names[index % nodes]
    worker_node = names[(index + 1) % nodes]
    spec: dict[str, Any] = {
        "entrypoint": ENTRYPOINT,
        "submissionMode": mode.value,
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": 0,
        "rayClusterSpec": {
            "rayVersion": RAY_VERSION,
            "headGroupSpec": {"rayStartParams": {}, "template": _pod_template("ray-head", node)},
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": 1,
                    "minReplicas": 1,
                    "maxReplicas": 1,
                    "rayStartParams": {},
                    "template": _pod_template("ray-worker", worker_node),
                }
            ],
        },
    }
    if mode is Mode.K8SJOB:
        annotations = {COMPLETE_ANNOTATION: "Succeeded", COMPLETE_AFTER_ANNOTATION: go_duration(submitter_seconds)}
        submitter = _pod_template("ray-job-submitter", names[(index + 2) % nodes], annotations)
        submitter["spec"]["restartPolicy"] = "Never"
        spec["submitterPodTemplate"] = submitter
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {
            "name": job_name(index),
            "namespace": namespace_names(namespaces)[index % namespaces],
            "labels": {BENCH_LABEL: "1"},
        },
        "spec": spec,
    }
