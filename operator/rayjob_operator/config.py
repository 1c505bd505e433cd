"""The operator's configuration: one frozen object, read once from the environment at startup.

Every variable has the prefix ``RAYJOB_OPERATOR_``; where KubeRay has an operator-level variable for
the same knob, its name is honoured too (ours wins). Each field's docstring is its documentation
(the README table and the chart's values point here).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

PREFIX = "RAYJOB_OPERATOR_"
T = TypeVar("T")


class ConfigurationError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    cluster_domain: str = dataclasses.field(default="cluster.local", metadata={"kuberay": "CLUSTER_DOMAIN"})
    """DNS domain of the cluster, used in the head Service's dashboard address."""
    submitter_image: str = "rayjob-operator/submitter:0.1.0"
    """Image of the default K8sJobMode submitter (it runs ``rayjob-submit``)."""
    reconcile_workers: int = 16
    """How many objects of each kind are reconciled at once."""
    poll_interval_seconds: float = 1.0
    """How often the Ray job of each running RayJob is polled on its dashboard."""
    poll_concurrency: int = 32
    """How many dashboard requests may be in flight at once (a slow dashboard never blocks others)."""
    dashboard_timeout_seconds: float = 5.0
    """Timeout of one dashboard request."""
    status_check_timeout_seconds: float = dataclasses.field(
        default=300.0, metadata={"kuberay": "RAYJOB_STATUS_CHECK_TIMEOUT_SECONDS"}
    )
    """A RayJob whose dashboard cannot be reached for this long fails (JobStatusCheckTimeoutExceeded)."""
    transition_grace_period_seconds: float = dataclasses.field(
        default=300.0, metadata={"kuberay": "RAYJOB_DEPLOYMENT_STATUS_TRANSITION_GRACE_PERIOD_SECONDS"}
    )
    """A Ray job that is terminal while its submitter still runs is made terminal after this long."""
    submitter_finished_timeout_seconds: float = 30.0
    """A submitter that finished while Ray still reports a running job fails the RayJob after this long."""
    submitter_start_timeout_seconds: float = 300.0
    """A submitter Job whose pod never starts (unschedulable, image errors) fails the RayJob after this long."""
    head_lost_grace_seconds: float = 60.0
    """A head pod that is gone (or the Ray job that vanished from a restarted head) fails the RayJob after this."""
    teardown_pod_timeout_seconds: float = 300.0
    """A suspend or retry waits until the attempt's pods are gone from the API (Kueue frees quota on Suspended);
    pods still terminating after this long are reported and no longer waited for."""
    finalizer_timeout_seconds: float = 10.0
    """Bound of the work done when a RayJob is deleted (stopping its Ray job); deletion never waits longer."""
    delete_rayjob_after_finish: bool = dataclasses.field(
        default=False, metadata={"kuberay": "DELETE_RAYJOB_CR_AFTER_JOB_FINISHES"}
    )
    """With shutdownAfterJobFinishes, delete the RayJob itself instead of only its RayCluster."""
    log_tail_bytes: int = 64 * 1024
    """How much of a finished Ray job's log is kept in a ConfigMap after the cluster is gone."""
    resync_seconds: float = 300.0
    """How often the watched objects are re-listed to catch deletions a watch gap hid."""
    inject_init_container: bool = dataclasses.field(
        default=True, metadata={"kuberay": "ENABLE_INIT_CONTAINER_INJECTION"}
    )
    """Add the wait-gcs-ready init container to worker pods."""
    inject_probes: bool = dataclasses.field(default=True, metadata={"kuberay": "ENABLE_PROBES_INJECTION"})
    """Add readiness and liveness probes to Ray containers that have none."""
    metrics_port: int = 8080
    """Port of the Prometheus /metrics endpoint (0 disables it)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OperatorConfig:
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            names = [PREFIX + field.name.upper()]
            if "kuberay" in field.metadata:
                names.append(field.metadata["kuberay"])
            for name in names:
                if name in environ:
                    values[field.name] = _parse(name, environ[name], field.type)
                    break
        return cls(**values)


def _parse(name: str, raw: str, type_name: Any) -> Any:
    parsers: dict[str, Callable[[str], Any]] = {
        "str": str,
        "int": int,
        "float": float,
        "bool": _bool,
    }
    parser = parsers[str(type_name)]
    try:
        value = parser(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a valid {type_name}") from None
    if type_name in ("int", "float") and value < 0:
        raise ConfigurationError(f"{name}={raw!r} must not be negative")
    return value


def _bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)
