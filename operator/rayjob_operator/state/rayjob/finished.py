"""Complete and Failed: apply the deletion policy when it is due. Pure; the state never changes here.

Precedence: ``deletionStrategy`` (rules or legacy onSuccess/onFailure), then ``shutdownAfterJobFinishes``.
Unlike KubeRay, every terminal outcome is covered: legacy ``onSuccess`` applies to any Complete job
(SUCCEEDED or STOPPED) and ``onFailure`` to any Failed one (application or infrastructure failure),
and DeleteSelf works with a clusterSelector too (the selected cluster itself is never deleted).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from rayjob_operator.model.enums import DeletionPolicyType, JobDeploymentStatus
from rayjob_operator.model.rayjob import DeletionRule, RayJobStatus
from rayjob_operator.state import requeue
from rayjob_operator.state.rayjob.actions import Action, DeleteCluster, DeleteSelf, SuspendWorkers
from rayjob_operator.state.rayjob.observation import JobObservation
from rayjob_operator.state.rayjob.outcome import Decision, current, earliest, seconds_until


@dataclasses.dataclass(frozen=True)
class DueRule:
    policy: DeletionPolicyType
    due: datetime


def finished(obs: JobObservation) -> Decision:
    status = current(obs)
    end = status.end_time or obs.now  # a finished job restored without endTime must not crash us
    rules = _applicable(obs, status, end)
    pending = [r for r in rules if r.due > obs.now]
    overdue = [r for r in rules if r.due <= obs.now and not _done(obs, r.policy)]
    next_due = earliest(*(seconds_until(obs.now, r.due) + requeue.AFTER_DUE for r in pending))
    if not overdue:
        return Decision(status, requeue_after=next_due)
    strongest = max(overdue, key=lambda r: r.policy.impact)
    action = _action(obs, status, strongest.policy)
    return Decision(status, (action,) if action else (), requeue_after=earliest(next_due, requeue.AFTER_DUE))


def _applicable(obs: JobObservation, status: RayJobStatus, end: datetime) -> list[DueRule]:
    spec = obs.job.spec
    strategy = spec.deletion_strategy
    if strategy is not None and strategy.deletion_rules is not None:
        return [
            DueRule(r.policy, end + timedelta(seconds=r.condition.ttl_seconds))
            for r in strategy.deletion_rules
            if _matches(r, status)
        ]
    if strategy is not None and (strategy.on_success or strategy.on_failure):
        complete = status.job_deployment_status == JobDeploymentStatus.COMPLETE
        chosen = strategy.on_success if complete else strategy.on_failure
        policy = chosen.policy if chosen is not None else None
        if policy is None:
            return []
        return [DueRule(policy, end + timedelta(seconds=spec.ttl_seconds_after_finished))]
    if spec.shutdown_after_job_finishes:
        policy = (
            DeletionPolicyType.DELETE_SELF
            if obs.timeouts.delete_self_after_finish
            else DeletionPolicyType.DELETE_CLUSTER
        )
        return [DueRule(policy, end + timedelta(seconds=spec.ttl_seconds_after_finished))]
    return []


def _matches(rule: DeletionRule, status: RayJobStatus) -> bool:
    condition = rule.condition
    if condition.job_status is not None:
        return status.job_status is not None and condition.job_status.value == status.job_status.value
    if condition.job_deployment_status is not None:
        return (
            status.job_deployment_status is not None
            and condition.job_deployment_status.value == status.job_deployment_status.value
        )
    return False


def _done(obs: JobObservation, policy: DeletionPolicyType) -> bool:
    cluster = obs.cluster
    cluster_gone = cluster is None or cluster.deleting or not cluster.owned
    if policy == DeletionPolicyType.DELETE_NONE:
        return True
    if policy == DeletionPolicyType.DELETE_CLUSTER:
        return cluster_gone
    if policy == DeletionPolicyType.DELETE_WORKERS:
        return cluster_gone or (cluster is not None and cluster.workers_suspended)
    return False  # DeleteSelf: once done, this object is being deleted and is no longer reconciled here


def _action(obs: JobObservation, status: RayJobStatus, policy: DeletionPolicyType) -> Action | None:
    name = status.ray_cluster_name or (obs.cluster.name if obs.cluster else "")
    if policy == DeletionPolicyType.DELETE_SELF:
        return DeleteSelf()
    if policy == DeletionPolicyType.DELETE_CLUSTER:
        return DeleteCluster(name)
    if policy == DeletionPolicyType.DELETE_WORKERS:
        return SuspendWorkers(name)
    return None
