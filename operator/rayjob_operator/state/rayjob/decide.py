"""``decide(observation) -> Decision``: one explicit, pure state machine for the RayJob lifecycle.

Every reconcile observes, calls ``decide``, carries out the actions in order, and writes the returned
status once if it changed. The per-state rules live in the sibling modules; this module dispatches on
``status.jobDeploymentStatus``, handles validation failures, and fills in the fields every status carries
(``observedGeneration`` and standard conditions).
"""

from __future__ import annotations

from collections.abc import Callable

from rayjob_operator.model.enums import JobDeploymentStatus, JobFailedReason
from rayjob_operator.model.event_reasons import EventReason
from rayjob_operator.model.rayjob import RayJobStatus
from rayjob_operator.state import requeue
from rayjob_operator.state.conditions import set_condition
from rayjob_operator.state.rayjob.actions import Action, DeleteCluster, DeleteSubmitter, Emit, StopJob
from rayjob_operator.state.rayjob.finished import finished
from rayjob_operator.state.rayjob.observation import JobObservation
from rayjob_operator.state.rayjob.outcome import Decision, current, ray_job_active, reset, state_of
from rayjob_operator.state.rayjob.running import running
from rayjob_operator.state.rayjob.starting import initializing, new, waiting
from rayjob_operator.state.rayjob.teardown import suspended, teardown

S = JobDeploymentStatus
HANDLERS: dict[JobDeploymentStatus, Callable[[JobObservation], Decision]] = {
    S.NEW: new,
    S.INITIALIZING: initializing,
    S.WAITING: waiting,
    S.RUNNING: running,
    S.SUSPENDING: teardown,
    S.RETRYING: teardown,
    S.SUSPENDED: suspended,
    S.COMPLETE: finished,
    S.FAILED: finished,
}
CONDITIONS = {"Complete": S.COMPLETE, "Failed": S.FAILED, "Suspended": S.SUSPENDED, "Running": S.RUNNING}


def decide(obs: JobObservation) -> Decision:
    state = state_of(current(obs))
    if obs.invalid is not None and not state.is_terminal:
        decision = _validation_failed(obs, str(obs.invalid), obs.invalid.reason)
    elif state == S.VALIDATION_FAILED:
        decision = Decision(reset(current(obs), S.NEW), requeue_after=requeue.NOW)  # the spec was fixed: start over
    else:
        decision = HANDLERS[state](obs)
    return _finalize(obs, decision)


def _validation_failed(obs: JobObservation, message: str, reason: EventReason) -> Decision:
    """Terminal until the spec is fixed; whatever already exists is cleaned up."""
    status = current(obs)
    actions: list[Action] = []
    if status.dashboard_url and status.job_id and ray_job_active(obs, status) and obs.cluster is not None:
        actions.append(StopJob(status.dashboard_url, status.job_id))
    if obs.cluster is not None and obs.cluster.owned and not obs.cluster.deleting:
        actions.append(DeleteCluster(obs.cluster.name))
    if obs.submitter is not None and obs.submitter.exists and not obs.submitter.deleting:
        actions.append(DeleteSubmitter(obs.job.metadata.name or ""))
    if status.job_deployment_status != S.VALIDATION_FAILED or status.message != message:
        note = f"{obs.job.metadata.namespace}/{obs.job.metadata.name}: {message}"
        actions.append(Emit("Warning", reason, "Validate", note))
    failed = status.model_copy(
        update={
            "job_deployment_status": S.VALIDATION_FAILED,
            "reason": JobFailedReason.VALIDATION_FAILED,
            "message": message,
        }
    )
    pending = (obs.cluster is not None and obs.cluster.owned) or (obs.submitter is not None and obs.submitter.exists)
    return Decision(failed, tuple(actions), requeue_after=requeue.WHILE_DELETING if pending else None)


def _finalize(obs: JobObservation, decision: Decision) -> Decision:
    status = decision.status
    state = state_of(status)
    conditions = status.conditions
    for type_, when in CONDITIONS.items():
        active = state == when or (type_ == "Failed" and state == S.VALIDATION_FAILED)
        reason = (status.reason.value if status.reason else state.value) if active else (state.value or "New")
        message = (status.message or "") if active else ""
        conditions = set_condition(
            conditions,
            type_,
            active,
            reason=reason or "New",
            message=message[:1024],
            now=obs.now,
            generation=obs.job.metadata.generation,
        )
    status = status.model_copy(update={"conditions": conditions, "observed_generation": obs.job.metadata.generation})
    return Decision(status, decision.actions, decision.requeue_after)


__all__ = ["Decision", "RayJobStatus", "decide"]
