"""Per-RayJob timestamps seen by the harness's watch, and what follows from them. Pure.

Times are epoch seconds (``time.time()``), the clock the load-generator dashboard also uses for a job's
end, so the status lag is one subtraction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

TERMINAL_DEPLOYMENT = frozenset({"Complete", "Failed"})


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclasses.dataclass
class JobTimeline:
    key: str
    create_sent: float | None = None
    created: float | None = None  # the create's answer arrived
    running: float | None = None  # first jobDeploymentStatus=Running
    succeeded: float | None = None  # first jobStatus=SUCCEEDED
    terminal: float | None = None  # first jobDeploymentStatus Complete or Failed
    deployment_status: str = ""
    job_status: str = ""
    job_id: str | None = None
    failure: str | None = None

    def observe(self, status: Mapping[str, Any], now: float) -> None:
        """Record what one watch event shows (first sightings only)."""
        self.deployment_status = str(status.get("jobDeploymentStatus") or "")
        self.job_status = str(status.get("jobStatus") or "")
        self.job_id = status.get("jobId") or self.job_id
        if self.deployment_status == "Running" and self.running is None:
            self.running = now
        if self.job_status == "SUCCEEDED" and self.succeeded is None:
            self.succeeded = now
        if self.deployment_status in TERMINAL_DEPLOYMENT and self.terminal is None:
            self.terminal = now
            if self.deployment_status == "Failed":
                self.failure = f"{status.get('reason') or ''}: {status.get('message') or ''}".strip(": ")

    @property
    def done(self) -> bool:
        return self.terminal is not None

    @property
    def completed(self) -> bool:
        return self.deployment_status == "Complete" and self.job_status == "SUCCEEDED"


class Timelines:
    """Every benchmark RayJob's timeline, keyed ``namespace/name``."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.jobs = {key: JobTimeline(key) for key in keys}
        self.done_count = 0

    def sent(self, key: str, now: float) -> None:
        self.jobs[key].create_sent = now

    def created(self, key: str, now: float) -> None:
        self.jobs[key].created = now

    def observe(self, obj: Mapping[str, Any], now: float) -> None:
        job = self.jobs.get(object_key(obj))
        if job is None:
            return  # not one of ours
        was_done = job.done
        job.observe(obj.get("status") or {}, now)
        if job.done and not was_done:
            self.done_count += 1

    @property
    def all_done(self) -> bool:
        return self.done_count == len(self.jobs)

    def by_job_id(self) -> dict[str, JobTimeline]:
        return {job.job_id: job for job in self.jobs.values() if job.job_id}


def first(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def last(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def create_to_running(jobs: Iterable[JobTimeline]) -> list[float]:
    return [j.running - j.created for j in jobs if j.running is not None and j.created is not None]


def status_lags(jobs: Iterable[JobTimeline], end_times: Mapping[str, float]) -> list[float]:
    """SUCCEEDED seen in a watch − the dashboard's end time of that job, for every job with both."""
    lags = []
    for job in jobs:
        end = end_times.get(job.job_id or "")
        if job.succeeded is not None and end is not None:
            lags.append(job.succeeded - end)
    return lags


def completion_curve(jobs: Iterable[JobTimeline], origin: float) -> list[float]:
    """Seconds since ``origin`` at which each RayJob completed (Complete + SUCCEEDED), sorted."""
    return sorted(j.terminal - origin for j in jobs if j.completed and j.terminal is not None)
