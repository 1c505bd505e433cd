"""The chaos scenario, decided before anything runs: each RayJob's treatment and timings, and the faults. Pure.

Treatments come in a fixed mix (every block of 20 RayJobs has each in the same share), shuffled by a seed;
each treatment alternates HTTPMode and K8sJobMode. Times are seconds after the first create (``t0``).
"""

from __future__ import annotations

import dataclasses
import enum
import random
from collections import Counter
from typing import Any

from rayjob_bench import workload
from rayjob_bench.config import Mode

NAMESPACE_PREFIX = "chaos-"
RUN_LABEL = "rayjob-chaos/run"
TREATMENT_LABEL = "rayjob-chaos/treatment"
EXIT_CODE_ANNOTATION = "devenv.rayjob-operator.io/exit-code"
SUBMITTER_MARGIN_SECONDS = 3.0
"""K8sJobMode: kwok ends the submitter pod this long after the Ray job would end (``ray job submit`` follows
the job to its end); a late stand-in POST still fits in the operator's submitter-finished grace."""


class Treatment(enum.StrEnum):
    SUCCEED = "succeed"
    """Runs 5-20 s and SUCCEEDS: Complete (a quarter keep their RayCluster: shutdownAfterJobFinishes false;
    another quarter have backoffLimit 2, which must not make them run twice)."""
    FAIL_RETRY = "fail"
    """backoffLimit 2 and a Ray job that always FAILS: Failed (AppFailed) after 3 attempts."""
    DEADLINE = "deadline"
    """activeDeadlineSeconds 30-45, the job runs an hour: Failed (DeadlineExceeded)."""
    SUSPEND_AT_CREATE = "suspcreate"
    """Created suspended, resumed 20-60 s later: Complete."""
    SUSPEND_MIDFLIGHT = "suspend"
    """A 90 s job suspended 20-60 s after t0, resumed 20-30 s later: Complete on a new attempt."""
    DELETE_MIDFLIGHT = "delete"
    """A 300 s job deleted 10-60 s after t0: gone, with everything it owned."""


MIX: tuple[tuple[Treatment, int], ...] = (
    (Treatment.SUCCEED, 8),
    (Treatment.FAIL_RETRY, 3),
    (Treatment.DEADLINE, 2),
    (Treatment.SUSPEND_AT_CREATE, 2),
    (Treatment.SUSPEND_MIDFLIGHT, 2),
    (Treatment.DELETE_MIDFLIGHT, 3),
)
BLOCK = [t for t, count in MIX for _ in range(count)]


@dataclasses.dataclass(frozen=True)
class Expected:
    """What a treated RayJob should end as (None: it is deleted)."""

    state: str | None
    reason: str | None = None
    attempts: int = 1


EXPECTED = {
    Treatment.SUCCEED: Expected("Complete"),
    Treatment.FAIL_RETRY: Expected("Failed", "AppFailed", attempts=3),
    Treatment.DEADLINE: Expected("Failed", "DeadlineExceeded"),
    Treatment.SUSPEND_AT_CREATE: Expected("Complete"),
    Treatment.SUSPEND_MIDFLIGHT: Expected("Complete", attempts=2),
    Treatment.DELETE_MIDFLIGHT: Expected(None),
}


@dataclasses.dataclass(frozen=True)
class ScenarioConfig:
    n: int = 200
    namespaces: int = 4
    nodes: int = 4
    seed: int = 1
    operator_kill_period: float = 15.0
    """Seconds between two SIGKILLs of the operator (counted from the moment it is up again)."""
    apiserver_restarts: tuple[float, ...] = (40.0, 100.0)
    """Seconds after t0 at which kube-apiserver is restarted."""
    error_rate: float = 0.08
    timeout_rate: float = 0.04
    reset_rate: float = 0.08
    dashboard_timeout_seconds: float = 6.0
    """How long a timed-out dashboard call hangs before its connection is closed (above the operator's 5 s)."""
    deadline_seconds: float | None = None
    """Every RayJob terminal or deleted by then (s after t0); default 300 s + 2 s per RayJob."""
    cleanup_seconds: float = 120.0
    """After that, how long leaked objects may take to go away."""

    def __post_init__(self) -> None:
        if self.n < 1 or self.namespaces < 1 or self.nodes < 1:
            raise ValueError("n, namespaces and nodes must be at least 1")
        if self.operator_kill_period <= 0:
            raise ValueError(f"operator_kill_period={self.operator_kill_period}: must be > 0")

    @property
    def deadline(self) -> float:
        return self.deadline_seconds if self.deadline_seconds is not None else 300.0 + 2.0 * self.n

    @property
    def failing_share(self) -> float:
        return self.error_rate + self.timeout_rate + self.reset_rate

    def loadgen_args(self) -> tuple[str, ...]:
        return (
            f"--error-rate={self.error_rate}",
            f"--timeout-rate={self.timeout_rate}",
            f"--reset-rate={self.reset_rate}",
            f"--timeout-seconds={self.dashboard_timeout_seconds}",
            f"--seed={self.seed}",
        )


@dataclasses.dataclass(frozen=True)
class JobPlan:
    index: int
    treatment: Treatment
    mode: Mode
    namespace: str
    seconds: float
    """The Ray job's run time on the load-generator dashboard."""
    end_status: str = "SUCCEEDED"
    backoff_limit: int = 0
    active_deadline: int | None = None
    shutdown: bool = True
    suspend_at: float | None = None
    """0: created suspended."""
    resume_at: float | None = None
    delete_at: float | None = None

    @property
    def name(self) -> str:
        return f"chaos-{self.index:04d}-{self.treatment.value}"

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name

    @property
    def expected(self) -> Expected:
        return EXPECTED[self.treatment]

    @property
    def entrypoint(self) -> str:
        return f"python -c pass # loadgen: seconds={self.seconds:g} status={self.end_status}"


@dataclasses.dataclass(frozen=True)
class Action:
    """A change the harness makes to one RayJob at ``at`` seconds after t0."""

    at: float
    verb: str  # "suspend", "resume" or "delete"
    key: tuple[str, str]


def make_plan(config: ScenarioConfig) -> list[JobPlan]:
    rng = random.Random(config.seed)
    treatments = [BLOCK[i % len(BLOCK)] for i in range(config.n)]
    rng.shuffle(treatments)
    seen: Counter[Treatment] = Counter()
    jobs: list[JobPlan] = []
    for index, treatment in enumerate(treatments):
        nth = seen[treatment]
        seen[treatment] += 1
        mode = Mode.HTTP if nth % 2 == 0 else Mode.K8SJOB
        base = JobPlan(index, treatment, mode, f"{NAMESPACE_PREFIX}{index % config.namespaces}", seconds=0.0)
        jobs.append(_treat(base, nth, rng))
    return jobs


def _treat(base: JobPlan, nth: int, rng: random.Random) -> JobPlan:
    r = dataclasses.replace
    match base.treatment:
        case Treatment.SUCCEED:
            seconds = round(rng.uniform(5, 20), 1)
            return r(base, seconds=seconds, shutdown=nth % 4 != 3, backoff_limit=2 if nth % 4 == 1 else 0)
        case Treatment.FAIL_RETRY:
            return r(base, seconds=3.0, end_status="FAILED", backoff_limit=2)
        case Treatment.DEADLINE:
            return r(base, seconds=3600.0, active_deadline=rng.randint(30, 45))
        case Treatment.SUSPEND_AT_CREATE:
            return r(base, seconds=round(rng.uniform(5, 15), 1), suspend_at=0.0, resume_at=round(rng.uniform(20, 60)))
        case Treatment.SUSPEND_MIDFLIGHT:
            at = round(rng.uniform(20, 60))
            return r(base, seconds=90.0, suspend_at=at, resume_at=at + round(rng.uniform(20, 30)))
        case Treatment.DELETE_MIDFLIGHT:
            return r(base, seconds=300.0, delete_at=round(rng.uniform(10, 60)))


def actions(jobs: list[JobPlan]) -> list[Action]:
    """Every suspend (mid-flight), resume and delete, in time order."""
    found: list[Action] = []
    for job in jobs:
        if job.suspend_at:  # 0 is "created suspended", not an action
            found.append(Action(job.suspend_at, "suspend", job.key))
        if job.resume_at is not None:
            found.append(Action(job.resume_at, "resume", job.key))
        if job.delete_at is not None:
            found.append(Action(job.delete_at, "delete", job.key))
    return sorted(found, key=lambda a: (a.at, a.key))


def manifest(job: JobPlan, *, namespaces: int, nodes: int) -> dict[str, Any]:
    """The RayJob of ``job``: the benchmark's (1 head + 1 worker bound to kwok nodes), treated."""
    body = workload.rayjob(job.index, mode=job.mode, namespaces=namespaces, nodes=nodes, submitter_seconds=0)
    body["metadata"] = {
        "name": job.name,
        "namespace": job.namespace,
        "labels": {RUN_LABEL: "1", TREATMENT_LABEL: job.treatment.value},
    }
    spec = body["spec"]
    spec.update(entrypoint=job.entrypoint, shutdownAfterJobFinishes=job.shutdown, backoffLimit=job.backoff_limit)
    if job.active_deadline is not None:
        spec["activeDeadlineSeconds"] = job.active_deadline
    if job.suspend_at == 0:
        spec["suspend"] = True
    if job.mode is Mode.K8SJOB:
        failed = job.end_status == "FAILED"
        spec["submitterPodTemplate"]["metadata"]["annotations"] = {
            workload.COMPLETE_ANNOTATION: "Failed" if failed else "Succeeded",
            workload.COMPLETE_AFTER_ANNOTATION: workload.go_duration(job.seconds + SUBMITTER_MARGIN_SECONDS),
            **({EXIT_CODE_ANNOTATION: "1"} if failed else {}),
        }
    return body
