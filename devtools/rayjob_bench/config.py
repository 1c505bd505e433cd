"""What one benchmark invocation measures: the workload, the operators, the modes, the limits. Pure."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from pathlib import Path


class Mode(enum.StrEnum):
    HTTP = "HTTPMode"
    K8SJOB = "K8sJobMode"

    @property
    def short(self) -> str:
        return {Mode.HTTP: "http", Mode.K8SJOB: "k8sjob"}[self]


class OperatorName(enum.StrEnum):
    OURS = "ours"
    KUBERAY = "kuberay"  # KubeRay's defaults (reconcile concurrency 1)
    KUBERAY_C10 = "kuberay-c10"  # --reconcile-concurrency=10

    @property
    def is_kuberay(self) -> bool:
        return self is not OperatorName.OURS


MODE_NAMES = {m.short: m for m in Mode} | {m.value.lower(): m for m in Mode}
KUBERAY_REFERENCE = OperatorName.KUBERAY
"""Ratios are ours ÷ this run (and ÷ every other KubeRay variant measured)."""


def parse_modes(text: str) -> tuple[Mode, ...]:
    modes = [MODE_NAMES.get(part.strip().lower()) for part in text.split(",") if part.strip()]
    if not modes or None in modes:
        raise ValueError(f"modes={text!r}: use a comma-separated list of {', '.join(m.short for m in Mode)}")
    return tuple(dict.fromkeys(m for m in modes if m is not None))


def parse_operators(text: str) -> tuple[OperatorName, ...]:
    known = {o.value: o for o in OperatorName}
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise ValueError(f"operators={text!r}: use a comma-separated list of {', '.join(known)}")
    return tuple(dict.fromkeys(known[n] for n in names))


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    n: int = 100
    """RayJobs per run."""
    modes: tuple[Mode, ...] = (Mode.HTTP, Mode.K8SJOB)
    operators: tuple[OperatorName, ...] = (OperatorName.OURS, OperatorName.KUBERAY, OperatorName.KUBERAY_C10)
    namespaces: int = 10
    nodes: int = 10
    job_seconds: float = 5.0
    """The fake Ray job's run time: SUCCEEDED this long after submission."""
    submitter_margin_seconds: float = 0.5
    """K8sJobMode: the stand-in submitter pod exits this long after its job ended (``ray job submit`` follows
    the job to its end, then exits)."""
    create_concurrency: int = 16
    """Create requests in flight at once (the client creates as fast as it can)."""
    warmup_seconds: float = 5.0
    """Idle time between the operator's start and the first create (not measured)."""
    timeout_seconds: float | None = None
    """Deadline for every RayJob to be terminal; default 300 s + 0.5 s per RayJob."""
    cleanup_timeout_seconds: float = 120.0
    """Deadline, after the last terminal RayJob, for every RayCluster to be gone."""
    sample_interval_seconds: float = 0.5
    out_dir: Path = Path("bench/results")
    loadgen_args: tuple[str, ...] = ()
    """Extra options of the load-generator dashboard, e.g. ``--error-rate=0.05`` (the chaos run)."""
    keep_audit_log: bool = False
    """Keep each run's audit log (large at N = 1,000) next to its other logs."""
    profile: bool = False
    """Sample our operator with py-spy during its runs (``profile.txt`` next to its logs)."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n={self.n}: must be at least 1")
        if self.namespaces < 1 or self.nodes < 1:
            raise ValueError("namespaces and nodes must be at least 1")
        if self.create_concurrency < 1:
            raise ValueError(f"create_concurrency={self.create_concurrency}: must be at least 1")
        if self.job_seconds < 0 or self.submitter_margin_seconds < 0:
            raise ValueError("job_seconds and submitter_margin_seconds must be >= 0")

    @property
    def deadline_seconds(self) -> float:
        return self.timeout_seconds if self.timeout_seconds is not None else 300.0 + 0.5 * self.n

    def runs(self) -> Sequence[tuple[Mode, OperatorName]]:
        """Every (mode, operator) pair, mode by mode, operators interleaved in the order given."""
        return [(mode, operator) for mode in self.modes for operator in self.operators]
