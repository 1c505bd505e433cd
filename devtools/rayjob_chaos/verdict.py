"""The chaos run's verdict and report, computed from the plan and the observations. Pure.

The run passes only with 0 duplicate submissions, 0 RayJobs not terminal by the deadline (a deleted RayJob
whose deletion hangs counts), 0 RayJobs gone that nobody deleted, 0 leaked objects and every terminal state
with its reason: Failed carries ``reason`` and ``message``, Complete a terminal ``jobStatus``. Outcomes
other than the plan expected are reported, not failed: under faults a RayJob may legitimately fail another
way (with its own reason), and each is worth a look.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from rayjob_chaos.leaks import Leak, count_by_kind, find_leaks
from rayjob_chaos.observations import Key, Observations
from rayjob_chaos.plan import JobPlan, ScenarioConfig, Treatment
from rayjob_chaos.submissions import SubmissionCheck, check_submissions

COMPLETE_JOB_STATUSES = ("SUCCEEDED", "STOPPED")
RAN = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "STOPPED")
"""A RayJob whose last attempt's Ray job got this far has a driver log to keep."""
DRIVER_LOG_SUFFIX = "-driver-log"
JOB_ID_ANNOTATION = "ray.io/job-id"


@dataclasses.dataclass(frozen=True)
class JobOutcome:
    plan: JobPlan
    outcome: str
    """"Complete", "Failed/<reason>", "deleted", "lost" or "stuck: <state>"."""
    status: dict[str, Any]
    attempts: int

    @property
    def expected(self) -> str:
        exp = self.plan.expected
        if exp.state is None:
            return "deleted"
        return f"{exp.state}/{exp.reason}" if exp.reason else exp.state

    @property
    def as_expected(self) -> bool:
        if self.outcome != self.expected:
            return False
        failed = int(self.status.get("failed") or 0)
        return self.plan.treatment is not Treatment.FAIL_RETRY or failed == self.plan.expected.attempts

    def line(self) -> str:
        s = self.status
        return (
            f"{self.plan.namespace}/{self.plan.name} ({self.plan.mode.value}): {self.outcome},"
            f" expected {self.expected};"
            f" jobStatus={s.get('jobStatus')} failed={s.get('failed')} attempts={self.attempts}"
            f" reason={s.get('reason')} message={str(s.get('message'))[:160]!r}"
        )


@dataclasses.dataclass(frozen=True)
class Report:
    config: ScenarioConfig
    obs: Observations
    outcomes: list[JobOutcome]
    submissions: SubmissionCheck
    leaks: list[Leak]

    @property
    def stuck(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.outcome.startswith("stuck")]

    @property
    def lost(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.outcome == "lost"]

    @property
    def reasonless(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if _reasonless(o)]

    @property
    def unexpected(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.as_expected]

    @property
    def driver_logs(self) -> tuple[int, list[str]]:
        """(terminal RayJobs whose Ray job ran, those of them without the driver log of that job kept)."""
        return missing_driver_logs(self.obs.final_rayjobs, self.obs.objects.get("ConfigMap", []))

    @property
    def failures(self) -> dict[str, int]:
        return {
            "duplicate submissions": len(self.submissions.duplicates),
            "RayJobs not terminal by the deadline": len(self.stuck),
            "RayJobs gone that nobody deleted": len(self.lost),
            "leaked objects": len(self.leaks),
            "terminal states without a reason": len(self.reasonless),
        }

    @property
    def passed(self) -> bool:
        return not any(self.failures.values())

    def outcome_counts(self) -> tuple[Counter[str], Counter[str]]:
        """(expected, observed) outcome counts."""
        return Counter(o.expected for o in self.outcomes), Counter(o.outcome for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        expected, observed = self.outcome_counts()
        faults = self.obs.faults
        return {
            "passed": self.passed,
            "failures": self.failures,
            "config": dataclasses.asdict(self.config),
            "seconds": {"created": self.obs.created, "finished": self.obs.finished, "ended": self.obs.ended},
            "outcomes": {"expected": dict(expected), "observed": dict(observed)},
            "duplicates": self.submissions.duplicates,
            "stuck": [o.line() for o in self.stuck],
            "lost": [o.line() for o in self.lost],
            "reasonless": [o.line() for o in self.reasonless],
            "unexpected": [o.line() for o in self.unexpected],
            "leaks": {"by_kind": count_by_kind(self.leaks), "objects": [str(leak) for leak in self.leaks]},
            "submissions": dataclasses.asdict(self.submissions),
            "faults": [dataclasses.asdict(e) for e in faults.events],
            "dashboard": {k: self.obs.loadgen.get(k) for k in ("by_kind", "by_client", "faults", "not_found")},
            "acted": [{"verb": v, "rayjob": "/".join(k), "before": s} for (v, k), s in self.obs.acted.items()],
            "left": {kind: len(items) for kind, items in self.obs.objects.items()},
            "driver_logs": {"eligible": self.driver_logs[0], "missing": self.driver_logs[1]},
            "problems": self.obs.problems,
            "jobs": {f"{o.plan.namespace}/{o.plan.name}": _job_json(o) for o in self.outcomes},
        }


def _job_json(o: JobOutcome) -> dict[str, Any]:
    return {
        "treatment": o.plan.treatment.value,
        "mode": o.plan.mode.value,
        "expected": o.expected,
        "outcome": o.outcome,
        "attempts": o.attempts,
        "status": {k: o.status.get(k) for k in ("jobDeploymentStatus", "jobStatus", "reason", "message", "failed")},
    }


def _reasonless(o: JobOutcome) -> bool:
    state = o.status.get("jobDeploymentStatus")
    if state == "Failed":
        return not (o.status.get("reason") and o.status.get("message"))
    if state == "Complete":
        return o.status.get("jobStatus") not in COMPLETE_JOB_STATUSES
    return False


def missing_driver_logs(rayjobs: list[dict[str, Any]], configmaps: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """(how many terminal RayJobs' Ray jobs ran, "ns/name" of those without ``<rayjob>-driver-log`` of that job)."""
    kept = {
        (meta.get("namespace"), meta.get("name"), (meta.get("annotations") or {}).get(JOB_ID_ANNOTATION))
        for meta in (cm.get("metadata") or {} for cm in configmaps)
    }
    eligible, missing = 0, []
    for job in rayjobs:
        meta, status = job.get("metadata") or {}, job.get("status") or {}
        if status.get("jobDeploymentStatus") not in ("Complete", "Failed") or status.get("jobStatus") not in RAN:
            continue
        eligible += 1
        name = str(meta.get("name"))
        if (meta.get("namespace"), name + DRIVER_LOG_SUFFIX, status.get("jobId")) not in kept:
            missing.append(
                f"{meta.get('namespace')}/{name} (job {status.get('jobId')}, jobStatus {status.get('jobStatus')})"
            )
    return eligible, missing


def outcome_of(status: dict[str, Any] | None, *, deleted: bool, deleting: bool) -> str:
    if status is None:
        return "deleted" if deleted else "lost"
    state = status.get("jobDeploymentStatus") or "New"
    if deleting:
        return f"stuck: deleting ({state})"
    if state == "Complete":
        return "Complete"
    if state == "Failed":
        return f"Failed/{status.get('reason')}"
    return f"stuck: {state}"


def judge(config: ScenarioConfig, plan: list[JobPlan], obs: Observations) -> Report:
    found: dict[Key, dict[str, Any]] = {}
    for body in obs.rayjobs:
        meta = body.get("metadata") or {}
        found[(str(meta.get("namespace")), str(meta.get("name")))] = body
    outcomes = []
    for job in plan:
        now = found.get(job.key)
        status = None if now is None else dict(now.get("status") or {})
        deleting = now is not None and bool((now.get("metadata") or {}).get("deletionTimestamp"))
        outcome = outcome_of(status, deleted=job.key in obs.deleted, deleting=deleting)
        outcomes.append(JobOutcome(job, outcome, status or {}, len(obs.attempts.get(job.key, ()))))
    submissions = check_submissions(obs.loadgen.get("jobs") or {}, obs.attempts)
    return Report(config, obs, outcomes, submissions, find_leaks(obs.final_rayjobs, obs.objects))
