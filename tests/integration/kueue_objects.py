"""Kueue objects for the tests (ResourceFlavor, ClusterQueue, LocalQueue, WorkloadPriorityClass, Workloads)
and queue-labelled RayJobs that ask for resources Kueue can count."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import kubernetes
import pytest

from rayjob_devenv.waiting import wait_for
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob

GROUP, VERSION = "kueue.x-k8s.io", "v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
HEAD_IMAGE = "rayproject/ray:2.52.0"
SUBMITTER_RESOURCES = {"requests": {"cpu": "500m", "memory": "200Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
KUEUE_SUBMITTER_TEMPLATE = {
    "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "ray-job-submitter", "image": HEAD_IMAGE, "resources": SUBMITTER_RESOURCES}],
    }
}
"""The template Kueue writes for a K8sJobMode RayJob without one: the head's image, no command."""


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return dict(cond)
    return {}


def status_of(kube: Kube, name: str) -> dict[str, Any]:
    """The RayJob's status ({} while it has none, or is gone)."""
    return (kube.get("rayjobs", name) or {}).get("status") or {}


def is_true(obj: dict[str, Any] | None, kind: str) -> bool:
    return condition(obj, kind).get("status") == "True"


def queued(name: str, queue: str, entrypoint: str, *, priority: str | None = None, **spec: Any) -> dict[str, Any]:
    """A RayJob for ``queue`` whose head and each worker ask for 1 CPU (with the submitter: 2.5 CPUs)."""
    labels = {QUEUE_LABEL: queue, **({PRIORITY_LABEL: priority} if priority else {})}
    body = rayjob(name, entrypoint, labels=labels, shutdownAfterJobFinishes=True, **spec)
    cluster = body["spec"].get("rayClusterSpec")
    if cluster:
        groups = [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]
        for group in groups:
            group["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1", "memory": "1Gi"}}
    return body


class Queues:
    """Kueue objects of one test: cluster-scoped names are unique and removed afterwards."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.suffix = secrets.token_hex(3)
        self._cluster_scoped: list[tuple[str, str]] = []

    # --- creating ----------------------------------------------------------------------------------

    def _create_cluster_scoped(self, plural: str, body: dict[str, Any]) -> str:
        self.kube.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        self._cluster_scoped.append((plural, body["metadata"]["name"]))
        return str(body["metadata"]["name"])

    def priority_class(self, name: str, value: int) -> str:
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "WorkloadPriorityClass", "value": value}
        body["metadata"] = {"name": f"{name}-{self.suffix}"}
        return self._create_cluster_scoped("workloadpriorityclasses", body)

    def queue(
        self,
        *,
        cpu: str,
        memory: str = "64Gi",
        node_labels: dict[str, str] | None = None,
        preemption: dict[str, str] | None = None,
    ) -> str:
        """A ResourceFlavor, a ClusterQueue with that quota (all namespaces), and a LocalQueue; its name."""
        flavor = self._create_cluster_scoped(
            "resourceflavors",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ResourceFlavor",
                "metadata": {"name": f"flavor-{self.suffix}"},
                "spec": {"nodeLabels": node_labels} if node_labels else {},
            },
        )
        resources = [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": memory}]
        spec: dict[str, Any] = {
            "namespaceSelector": {},
            "resourceGroups": [
                {"coveredResources": ["cpu", "memory"], "flavors": [{"name": flavor, "resources": resources}]}
            ],
        }
        if preemption:
            spec["preemption"] = preemption
        cluster_queue = self._create_cluster_scoped(
            "clusterqueues",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ClusterQueue",
                "metadata": {"name": f"cq-{self.suffix}"},
                "spec": spec,
            },
        )
        local = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "LocalQueue",
            "metadata": {"name": "queue", "namespace": self.kube.ns},
            "spec": {"clusterQueue": cluster_queue},
        }
        self.kube.custom.create_namespaced_custom_object(GROUP, VERSION, self.kube.ns, "localqueues", local)
        return "queue"

    def cleanup(self) -> None:
        for plural, name in reversed(self._cluster_scoped):
            try:
                self.kube.custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)
            except kubernetes.client.ApiException as exc:
                if exc.status != 404:
                    raise

    # --- reading -----------------------------------------------------------------------------------

    def workloads(self) -> list[dict[str, Any]]:
        items = self.kube.custom.list_namespaced_custom_object(GROUP, VERSION, self.kube.ns, "workloads")["items"]
        return list(items)

    def workload_of(self, rayjob_name: str) -> dict[str, Any] | None:
        for workload in self.workloads():
            owners = workload["metadata"].get("ownerReferences") or []
            if any(o["kind"] == "RayJob" and o["name"] == rayjob_name for o in owners):
                return workload
        return None

    def admitted(self, rayjob_name: str) -> bool:
        return is_true(self.workload_of(rayjob_name), "Admitted")

    def wait_workload(self, rayjob_name: str, kind: str, timeout: float = 90) -> dict[str, Any]:
        return wait_for(
            lambda: (w := self.workload_of(rayjob_name)) is not None and is_true(w, kind) and w,
            timeout,
            f"the Workload of RayJob {self.kube.ns}/{rayjob_name} to be {kind}",
        )


def first_seen(probes: dict[str, Callable[[], bool]], what: str, timeout: float = 120) -> dict[str, float]:
    """Poll every probe (every 0.1 s) until all have held; the monotonic time each was first seen to hold."""
    seen: dict[str, float] = {}

    def all_seen() -> bool:
        for name, probe in probes.items():
            if name not in seen and probe():
                seen[name] = time.monotonic()
        return len(seen) == len(probes)

    wait_for(all_seen, timeout, what, interval=0.05, max_interval=0.1)
    return seen


def deployment_is(kube: Kube, name: str, state: str) -> Callable[[], bool]:
    return lambda: status_of(kube, name).get("jobDeploymentStatus") == state


def admission_probes(queues: Queues, name: str) -> dict[str, Callable[[], bool]]:
    """``<name> admitted`` (its Workload) and ``<name> Running`` (the RayJob), for :func:`first_seen`."""
    return {
        f"{name} admitted": lambda: queues.admitted(name),
        f"{name} Running": deployment_is(queues.kube, name, "Running"),
    }


def admitted_then_running(queues: Queues, names: list[str], timeout: float = 120) -> dict[str, float]:
    """Wait until every RayJob of ``names`` is Running; the seconds each took from its Workload's admission."""
    probes = {k: v for name in names for k, v in admission_probes(queues, name).items()}
    seen = first_seen(probes, f"RayJobs {names} to be admitted and Running", timeout)
    return {name: seen[f"{name} Running"] - seen[f"{name} admitted"] for name in names}


def report_timing(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    """Shown in the session summary (``kueue timing`` lines), never asserted: timings belong to the benchmark."""
    request.node.user_properties.append(("kueue timing", f"{request.node.name}: {what} {seconds:.1f}s"))
