"""From one run's raw observations to its figures (the table's rows) and details (the JSON). Pure."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from rayjob_bench import apicounts, stats, timeline
from rayjob_bench.observations import RawRun

MIB = 1024 * 1024
CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


@dataclasses.dataclass(frozen=True)
class Metric:
    key: str
    label: str
    digits: int = 2
    ratio: bool = True
    """Whether ours ÷ KubeRay is shown for it (counts of failures are compared as they are)."""


METRICS = (
    Metric("makespan_s", "makespan (s)", 1),
    Metric("running_p50_s", "create→Running p50 (s)"),
    Metric("running_p99_s", "create→Running p99 (s)"),
    Metric("lag_p50_s", "status lag p50 (s)"),
    Metric("lag_p99_s", "status lag p99 (s)"),
    Metric("etcd_writes_per_job", "etcd writes / RayJob", 1),
    Metric("api_requests_per_job", "operator API requests / RayJob", 1),
    Metric("api_writes_per_job", "operator API writes / RayJob (no Events)", 1),
    Metric("events_per_job", "operator Events / RayJob", 1),
    Metric("apiserver_requests_per_job", "API requests / RayJob, all clients", 1),
    Metric("dashboard_requests_per_job", "dashboard requests / RayJob", 1),
    Metric("dashboard_404_per_job", "dashboard 404s / RayJob", 1),
    Metric("operator_cpu_s", "operator CPU (s)", 1),
    Metric("operator_cpu_ms_per_job", "operator CPU / RayJob (ms)", 1),
    Metric("operator_peak_rss_mib", "operator peak RSS (MiB)", 0),
    Metric("controlplane_cpu_s", "control plane CPU (s)", 1),
    Metric("client_create_s", "client: create N RayJobs (s)"),
    Metric("cleanup_s", "last terminal → clusters gone (s)"),
    Metric("completed", "completed (Complete + SUCCEEDED)", 0, ratio=False),
    Metric("failed", "Failed", 0, ratio=False),
    Metric("unfinished", "not terminal at the deadline", 0, ratio=False),
    Metric("leaked_clusters", "RayClusters left", 0, ratio=False),
    Metric("duplicate_submissions", "RayJobs POSTed more than once", 0, ratio=False),
    Metric("conflicts_409", "operator 409 conflicts", 0, ratio=False),
)


def end_times(loadgen: Mapping[str, Any]) -> dict[str, float]:
    """Submission id → the dashboard's end time (epoch seconds) of every submitted job."""
    jobs = loadgen.get("jobs") or {}
    return {job_id: float(entry["end_time"]) for job_id, entry in jobs.items() if "end_time" in entry}


def duplicate_submissions(loadgen: Mapping[str, Any]) -> int:
    return sum(1 for entry in (loadgen.get("jobs") or {}).values() if int(entry.get("submissions", 0)) > 1)


def cpu_delta(
    before: Mapping[str, float | None], after: Mapping[str, float | None], names: Iterable[str]
) -> float | None:
    """CPU seconds used by the named processes between two snapshots (None if none was measured twice)."""
    deltas = []
    for name in names:
        start, end = before.get(name), after.get(name)
        if start is not None and end is not None:
            deltas.append(end - start)
    return sum(deltas) if deltas else None


def figures(raw: RawRun) -> dict[str, float | int | None]:
    n = raw.n
    jobs = list(raw.timelines.jobs.values())
    last_terminal = timeline.last(j.terminal for j in jobs)
    running = stats.summary(timeline.create_to_running(jobs))
    lags = stats.summary(timeline.status_lags(jobs, end_times(raw.loadgen)))
    api_delta = apicounts.counter_delta(raw.before.apiserver, raw.after.apiserver)
    dashboard = raw.loadgen.get("by_client") or {}
    operator_cpu = raw.tracker.cpu_used
    return {
        "makespan_s": None if raw.timed_out or last_terminal is None else last_terminal - raw.started,
        "running_p50_s": running["p50"],
        "running_p99_s": running["p99"],
        "lag_p50_s": lags["p50"],
        "lag_p99_s": lags["p99"],
        "etcd_writes_per_job": stats.per_job(raw.after.etcd_revision - raw.before.etcd_revision, n),
        "api_requests_per_job": stats.per_job(raw.audit.total, n),
        "api_writes_per_job": stats.per_job(raw.audit.writes, n),
        "events_per_job": stats.per_job(raw.audit.event_writes, n),
        "apiserver_requests_per_job": stats.per_job(sum(api_delta.values()), n),
        "dashboard_requests_per_job": stats.per_job(dashboard.get("operator", 0), n),
        "dashboard_404_per_job": stats.per_job(raw.loadgen.get("not_found", 0), n),
        "operator_cpu_s": operator_cpu,
        "operator_cpu_ms_per_job": None if operator_cpu is None else 1000 * operator_cpu / n,
        "operator_peak_rss_mib": raw.tracker.peak_bytes / MIB if raw.tracker.peak_bytes else None,
        "controlplane_cpu_s": cpu_delta(raw.before.cpu, raw.after.cpu, CONTROL_PLANE),
        "client_create_s": raw.created_all - raw.started,
        "cleanup_s": None if raw.cleaned is None or last_terminal is None else raw.cleaned - last_terminal,
        "completed": sum(1 for j in jobs if j.completed),
        "failed": sum(1 for j in jobs if j.deployment_status == "Failed"),
        "unfinished": sum(1 for j in jobs if not j.done),
        "leaked_clusters": raw.leaked_clusters,
        "duplicate_submissions": duplicate_submissions(raw.loadgen),
        "conflicts_409": raw.audit.codes.get(409, 0),
    }


def details(raw: RawRun) -> dict[str, Any]:
    """Everything behind the figures, for the JSON file."""
    jobs = list(raw.timelines.jobs.values())
    api_delta = apicounts.counter_delta(raw.before.apiserver, raw.after.apiserver)
    failures = Counter(j.failure or "" for j in jobs if j.deployment_status == "Failed")
    cpu = {name: cpu_delta(raw.before.cpu, raw.after.cpu, [name]) for name in raw.after.cpu}
    return {
        "create_to_running_s": stats.summary(timeline.create_to_running(jobs)),
        "status_lag_s": stats.summary(timeline.status_lags(jobs, end_times(raw.loadgen))),
        "operator_api": raw.audit.to_json(),
        "apiserver_requests": {f"{verb} {res}": count for (verb, res), count in api_delta.most_common()},
        "etcd_revision_delta": raw.after.etcd_revision - raw.before.etcd_revision,
        "dashboard": {key: raw.loadgen.get(key) for key in ("by_kind", "by_client", "not_found", "faults")},
        "cpu_s_by_process": cpu,
        "operator_rss_samples_mib": [round(rss / MIB, 1) for _, _, rss in raw.tracker.samples],
        "failures": dict(failures.most_common(10)),
        "problems": raw.problems,
        "k8sjob_standin_submissions": raw.standin_submitted,
        "load_average_before": raw.load_before,
        "load_average_after": raw.load_after,
        "window_s": raw.after.at - raw.before.at,
        "started_epoch": raw.started,  # the origin of completions_s, to line them up with the logs
        "completions_s": [round(t, 3) for t in timeline.completion_curve(jobs, raw.started)],
    }
