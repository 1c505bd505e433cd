"""Prometheus metrics: KubeRay's RayJob series plus the operator's own health.

KubeRay's names and labels are kept, so existing dashboards work:

- ``kuberay_job_execution_duration_seconds{name,namespace,uid,job_deployment_status,retry_count}``: set when
  an attempt ends (Complete, Failed or Retrying) to the seconds since its ``startTime``;
- ``kuberay_job_info{name,namespace,uid}`` and ``kuberay_job_deployment_status{name,namespace,uid,deployment_status}``:
  one series per RayJob, read from the cache at scrape time;
- ``kuberay_cluster_info{name,namespace,uid,owner_kind}`` (``owner_kind``: the ``ray.io/originated-from-crd``
  label, else ``None``) and ``kuberay_cluster_condition_provisioned{name,namespace,uid,condition}``
  (``condition``: ``true``/``false``): one series per RayCluster, read from the cache at scrape time;
- ``kuberay_cluster_provisioned_duration_seconds{name,namespace,uid}``: set when ``RayClusterProvisioned``
  first becomes true, to the seconds since the RayCluster was created; removed with the RayCluster.

Ours: reconcile counts, errors and durations per kind, the number of RayJobs per deployment status,
state transitions, dashboard polls, and the work-queue depth.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from rayjob_operator.model import bodies

Body = dict[str, Any]
DURATION_LABELS = ("name", "namespace", "uid", "job_deployment_status", "retry_count")
CLUSTER_LABELS = ("name", "namespace", "uid")
PROVISIONED = "RayClusterProvisioned"
ORIGINATED_FROM_CRD = "ray.io/originated-from-crd"


class _CacheCollector(Collector):
    """Series computed from the RayJob cache at scrape time (nothing to keep in sync)."""

    def __init__(self, rayjobs: Callable[[], Iterable[Body]]) -> None:
        self._rayjobs = rayjobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "kuberay_job_info", "Information about each RayJob", labels=["name", "namespace", "uid"]
        )
        state = GaugeMetricFamily(
            "kuberay_job_deployment_status",
            "The jobDeploymentStatus of each RayJob",
            labels=["name", "namespace", "uid", "deployment_status"],
        )
        counts: collections.Counter[str] = collections.Counter()
        for body in self._rayjobs():
            ident = [bodies.name(body), bodies.namespace(body), bodies.uid(body)]
            deployment = str((body.get("status") or {}).get("jobDeploymentStatus") or "New")
            info.add_metric(ident, 1)
            state.add_metric([*ident, deployment], 1)
            counts[deployment] += 1
        per_status = GaugeMetricFamily(
            "rayjob_operator_rayjobs", "Number of RayJobs per deployment status", labels=["deployment_status"]
        )
        for deployment, count in sorted(counts.items()):
            per_status.add_metric([deployment], count)
        yield from (info, state, per_status)


def _provisioned(body: Body) -> bool:
    conditions = (body.get("status") or {}).get("conditions") or []
    return any(c.get("type") == PROVISIONED and c.get("status") == "True" for c in conditions)


class _ClusterCollector(Collector):
    """``kuberay_cluster_info`` and ``kuberay_cluster_condition_provisioned``, from the RayCluster cache."""

    def __init__(self, rayclusters: Callable[[], Iterable[Body]]) -> None:
        self._rayclusters = rayclusters

    def collect(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily(
            "kuberay_cluster_info",
            "Metadata information about RayCluster custom resources",
            labels=[*CLUSTER_LABELS, "owner_kind"],
        )
        provisioned = GaugeMetricFamily(
            "kuberay_cluster_condition_provisioned",
            "Indicates whether the RayCluster is provisioned",
            labels=[*CLUSTER_LABELS, "condition"],
        )
        for body in self._rayclusters():
            ident = [bodies.name(body), bodies.namespace(body), bodies.uid(body)]
            info.add_metric([*ident, str(bodies.labels(body).get(ORIGINATED_FROM_CRD) or "None")], 1)
            provisioned.add_metric([*ident, "true" if _provisioned(body) else "false"], 1)
        yield from (info, provisioned)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.job_duration = ObjectGauge(
            Gauge(
                "kuberay_job_execution_duration_seconds",
                "Seconds from the start of a RayJob attempt to its end (Complete, Failed or Retrying)",
                DURATION_LABELS,
                registry=r,
            )
        )
        self.cluster_provisioned = ObjectGauge(
            Gauge(
                "kuberay_cluster_provisioned_duration_seconds",
                "The time, in seconds, when a RayCluster's `RayClusterProvisioned` status transitions from false"
                " (or unset) to true",
                CLUSTER_LABELS,
                registry=r,
            )
        )
        self.reconciles = Counter("rayjob_operator_reconciles", "Reconciles run", ["kind"], registry=r)
        self.reconcile_errors = Counter(
            "rayjob_operator_reconcile_errors", "Reconciles that raised an error", ["kind"], registry=r
        )
        self.reconcile_seconds = Histogram(
            "rayjob_operator_reconcile_duration_seconds",
            "Duration of one reconcile",
            ["kind"],
            registry=r,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.transitions = Counter(
            "rayjob_operator_transitions",
            "RayJob deployment status transitions",
            ["from_status", "to_status"],
            registry=r,
        )
        self.polls = Counter("rayjob_operator_dashboard_polls", "Dashboard job queries", ["result"], registry=r)
        self.queue_depth = Gauge("rayjob_operator_queue_depth", "Keys waiting in a work queue", ["kind"], registry=r)

    def watch_cache(
        self, rayjobs: Callable[[], Iterable[Body]], rayclusters: Callable[[], Iterable[Body]] | None = None
    ) -> None:
        self.registry.register(_CacheCollector(rayjobs))
        if rayclusters is not None:
            self.registry.register(_ClusterCollector(rayclusters))

    def forget_cluster(self, namespace: str, name: str) -> None:
        """Drop the provisioning series of a RayCluster that is gone."""
        self.cluster_provisioned.forget(namespace, name)

    def forget_job(self, namespace: str, name: str) -> None:
        """Drop the duration series of a RayJob that is gone (as KubeRay does)."""
        self.job_duration.forget(namespace, name)

    def serve(self, port: int) -> None:
        if port:
            start_http_server(port, registry=self.registry)


class ObjectGauge:
    """A gauge with series per object: set by label values whose first two are name and namespace, forgotten
    per object without scanning every series (thousands of RayJobs come and go)."""

    def __init__(self, gauge: Gauge) -> None:
        self.gauge = gauge
        self._series: dict[tuple[str, str], set[tuple[str, ...]]] = {}

    def set(self, *labels: str | None, value: float) -> None:
        values = tuple(str(v) for v in labels)
        self.gauge.labels(*values).set(value)
        self._series.setdefault((values[1], values[0]), set()).add(values)

    def forget(self, namespace: str, name: str) -> None:
        for values in self._series.pop((namespace, name), set()):
            self.gauge.remove(*values)
