"""K8sJobMode's submitter, played by the benchmark the same way for both operators.

kwok runs nothing inside a pod, so no submitter ever calls the dashboard. The harness watches the pods of
batch Jobs; when a submitter pod is Running, it submits that pod's job to the load-generator dashboard
(``POST /api/jobs/`` with the id from the pod's ``RAY_JOB_SUBMISSION_ID``, which both operators set), as
``ray job submit`` would at that moment, counted as the ``submitter`` client. kwok then completes the pod
(Succeeded) a fixed time after it started (the annotations of :mod:`rayjob_bench.workload`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

SUBMISSION_ENV = "RAY_JOB_SUBMISSION_ID"
JOB_POD_SELECTOR = "batch.kubernetes.io/job-name"


def pod_env(pod: Mapping[str, Any], name: str) -> str | None:
    """The literal value of the env var ``name`` in the pod's first container that has one (non-empty)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for env in container.get("env") or []:
            if env.get("name") == name and isinstance(env.get("value"), str) and env["value"]:
                return str(env["value"])
    return None


def submission_id(pod: Mapping[str, Any]) -> str | None:
    """The literal ``RAY_JOB_SUBMISSION_ID`` of the pod's first container that has one."""
    return pod_env(pod, SUBMISSION_ENV)


def is_running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    )


class SubmitterStandIn:
    """Submits once per submitter pod (a retried pod submits again, as a real submitter would)."""

    def __init__(self, submit: Callable[[str], Awaitable[None]]) -> None:
        self._submit = submit
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.submitted = 0
        self.failures: list[str] = []

    def on_pod(self, event_type: str, pod: dict[str, Any]) -> None:
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        if event_type == "DELETED" or uid in self._seen or not is_running(pod):
            return
        job_id = submission_id(pod)
        if job_id is None:
            return
        self._seen.add(uid)
        task = asyncio.create_task(self._run(job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job_id: str) -> None:
        try:
            await self._submit(job_id)
            self.submitted += 1
        except Exception as error:  # a failed stand-in submission is a benchmark fault: report it
            self.failures.append(f"{job_id}: {error!r}")
