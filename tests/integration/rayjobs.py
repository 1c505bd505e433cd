"""RayJob manifests for the integration tests (small clusters; kwok plays the pods, Ray runs the job)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

HEAD_TEMPLATE = {
    "spec": {
        "containers": [
            {
                "name": "ray-head",
                "image": "rayproject/ray:2.52.0",
                "ports": [
                    {"containerPort": 6379, "name": "gcs-server"},
                    {"containerPort": 8265, "name": "dashboard"},
                    {"containerPort": 10001, "name": "client"},
                ],
            }
        ]
    }
}
WORKER_TEMPLATE = {"spec": {"containers": [{"name": "ray-worker", "image": "rayproject/ray:2.52.0"}]}}


def rayjob(
    name: str,
    entrypoint: str | None = "python -c \"print('hello from ray')\"",
    *,
    workers: int = 1,
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {
            "rayClusterSpec": {
                "rayVersion": "2.52.0",
                "headGroupSpec": {"rayStartParams": {}, "template": copy.deepcopy(HEAD_TEMPLATE)},
                "workerGroupSpecs": [
                    {
                        "groupName": "small",
                        "replicas": workers,
                        "minReplicas": 0,
                        "maxReplicas": 5,
                        "rayStartParams": {},
                        "template": copy.deepcopy(WORKER_TEMPLATE),
                    }
                ],
            },
        },
    }
    if entrypoint is not None:
        body["spec"]["entrypoint"] = entrypoint
    for key, value in spec.items():
        if value is None:
            body["spec"].pop(key, None)
        else:
            body["spec"][key] = value
    return body


def entrypoint_appending(path: str, *, exit_code: int = 0, sleep: float = 0.0, text: str = "ran") -> str:
    """A Python entrypoint that appends one line to ``path`` (proof of how often it ran), then exits."""
    code = (
        f"import sys, time; open({path!r}, 'a').write('{text}\\n'); print('{text}', flush=True); "
        f"time.sleep({sleep}); sys.exit({exit_code})"
    )
    return f'python -c "{code}"'


def entrypoint_failing_first(path: str) -> str:
    """Fails the first time it runs and succeeds afterwards (the attempt counter is the file)."""
    code = (
        f"import os, sys; seen = os.path.exists({path!r}); open({path!r}, 'a').write('x\\n'); "
        "print('second run' if seen else 'first run', flush=True); sys.exit(0 if seen else 1)"
    )
    return f'python -c "{code}"'


def entrypoint_until(release: Path, marker: Path, *, limit_seconds: int = 150) -> str:
    """A shell entrypoint that appends a line to ``marker``, then runs until the test creates ``release``
    (it fails after ``limit_seconds``, so a broken test never leaves it running)."""
    polls = limit_seconds * 5
    return (
        f"echo ran >> {marker}; echo started; for i in $(seq {polls}); do "
        f"if [ -e {release} ]; then echo released; exit 0; fi; sleep 0.2; done; echo 'never released'; exit 1"
    )


def sleeping(seconds: float, message: str = "working") -> str:
    return f"python -c \"import time; print('{message}', flush=True); time.sleep({seconds})\""


def runs(path: str) -> int:
    try:
        with open(path) as handle:
            return sum(1 for _ in handle)
    except FileNotFoundError:
        return 0


def stay_pending(body: dict[str, Any]) -> dict[str, Any]:
    """Keep the head pod Pending (kwok never starts it): a cluster that never becomes ready."""
    template = body["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]
    template.setdefault("metadata", {}).setdefault("annotations", {})["devenv.rayjob-operator.io/stay-pending"] = "true"
    return body


MANUAL_SUBMITTER = {
    "spec": {"restartPolicy": "Never", "containers": [{"name": "manual", "image": "x", "command": ["/manual"]}]}
}
"""A submitter the pod runner does not execute: the test plays it (submits itself, then ends the pod)."""


def end_manual_submitter(kube: Any, job_name: str, exit_code: int = 0) -> None:
    """Write the terminated state of the manual submitter's pod, as a kubelet would."""
    pod = kube.wait(lambda: kube.pods(f"job-name={job_name}"), "the submitter pod")[0]
    terminated = {
        "exitCode": exit_code,
        "reason": "Completed" if exit_code == 0 else "Error",
        "startedAt": "2026-01-01T00:00:00Z",
        "finishedAt": "2026-01-01T00:00:01Z",
    }
    status = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "containerStatuses": [
            {
                "name": "manual",
                "ready": False,
                "restartCount": 0,
                "image": "x",
                "imageID": "",
                "state": {"running": None, "terminated": terminated},
            }
        ],
    }
    kube.core.patch_namespaced_pod_status(pod.metadata.name, kube.ns, {"status": status})
