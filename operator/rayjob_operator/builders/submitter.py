"""The K8sJobMode submitter Job and the SidecarMode submitter container. Pure.

Both run ``rayjob-submit`` (it submits with the fixed id, attaches if the job exists, follows it to the
end and exits with a code that tells the outcome). A user ``submitterPodTemplate`` is kept as written:
its first container gets the submitter's environment, and a command only if it has none: ``rayjob-submit``
in our submitter image, else the portable submitter (``python -c <source>``, same contract and exit codes),
which any Ray image can run. That is the case of the template Kueue writes on admission (the head's Ray
image, no command). A template's own command (KubeRay's light-weight ``/submitter``, ...) is left alone.
"""

from __future__ import annotations

import copy
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels
from rayjob_operator.builders.pod_parts import add_env, auth_env
from rayjob_operator.builders.submission import submitter_env
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.rayjob import RayJob
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.inline import is_portable_command, portable_command

SUBMITTER_COMMAND = ["rayjob-submit"]
# Outcomes a new pod cannot change: the job failed or was stopped, or the input/config is wrong.
FINAL_EXIT_CODES = sorted(
    int(c) for c in (ExitCode.JOB_FAILED, ExitCode.INVALID_INPUT, ExitCode.JOB_STOPPED, ExitCode.REJECTED)
)


def submitter_labels(job: RayJob) -> dict[str, str]:
    return {
        **labels.originated_from(job.metadata.name or "", constants.RAYJOB_KIND),
        constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE,
    }


def submitter_resources() -> dict[str, Any]:
    return {"requests": dict(constants.SUBMITTER_REQUESTS), "limits": dict(constants.SUBMITTER_LIMITS)}


def default_template(image: str) -> dict[str, Any]:
    """What Kueue assumes when there is no template: one container, 500m/200Mi requests, 1/1Gi limits."""
    return {
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": constants.SUBMITTER_CONTAINER_NAME,
                    "image": image,
                    "command": list(SUBMITTER_COMMAND),
                    "resources": submitter_resources(),
                }
            ],
        }
    }


def build_submitter_job(
    job: RayJob, *, job_id: str, dashboard_address: str, cluster: RayCluster | None, image: str
) -> dict[str, Any]:
    """The batch/v1 Job ``<rayjob>`` that runs the submitter (``cluster`` gives token auth, if any)."""
    template = job.spec.submitter_pod_template.to_dict() if job.spec.submitter_pod_template else default_template(image)
    template = copy.deepcopy(template)
    template.setdefault("metadata", {})
    template["metadata"]["labels"] = labels.merge_labels(template["metadata"].get("labels"), submitter_labels(job))
    pod_spec = template.setdefault("spec", {})
    pod_spec.setdefault("restartPolicy", "Never")  # a Job needs one; KubeRay left such Jobs uncreatable
    container = pod_spec.setdefault("containers", [{}])[0]
    container.setdefault("image", image)
    if not container.get("command"):
        container["command"] = _default_command(container["image"], submitter_image=image)
    # Exit codes with the contract's meaning (rayjob-submit or the portable submitter).
    ours = container["command"][:1] == SUBMITTER_COMMAND or is_portable_command(container["command"])
    container.setdefault("name", constants.SUBMITTER_CONTAINER_NAME)
    env = submitter_env(job, job_id=job_id, dashboard_address=dashboard_address)
    if cluster is not None:
        env += auth_env(cluster, cluster_name=cluster.metadata.name or "")
    add_env(container, env)
    spec: dict[str, Any] = {
        "backoffLimit": _backoff_limit(job),
        "template": template,
    }
    if pod_spec["restartPolicy"] == "Never":
        spec["podFailurePolicy"] = _pod_failure_policy(container["name"], final_codes=ours)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job.metadata.name,
            "namespace": job.metadata.namespace,
            "labels": submitter_labels(job),
            "ownerReferences": [labels.owner_reference(job, kind=constants.RAYJOB_KIND)],
        },
        "spec": spec,
    }


def _default_command(container_image: str, *, submitter_image: str) -> list[str]:
    """``rayjob-submit`` in our submitter image; in any other image (a Ray image) the portable submitter."""
    return list(SUBMITTER_COMMAND) if container_image == submitter_image else portable_command()


def _backoff_limit(job: RayJob) -> int:
    config = job.spec.submitter_config
    if config is not None and config.backoff_limit is not None:
        return config.backoff_limit
    return constants.DEFAULT_SUBMITTER_BACKOFF_LIMIT


def _pod_failure_policy(container: str, *, final_codes: bool) -> dict[str, Any]:
    """Evictions never use up the backoff; with our submitter, final outcomes do not retry the pod."""
    rules: list[dict[str, Any]] = [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
    if final_codes:
        rules.append(
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": container, "operator": "In", "values": FINAL_EXIT_CODES},
            }
        )
    return {"rules": rules}


def sidecar_container(
    job: RayJob, cluster: RayCluster, *, job_id: str, dashboard_address: str, image: str
) -> dict[str, Any]:
    """SidecarMode: the submitter as a container of the head pod, with the default submitter resources."""
    container: dict[str, Any] = {
        "name": constants.SUBMITTER_CONTAINER_NAME,
        "image": image,
        "command": list(SUBMITTER_COMMAND),
        "resources": submitter_resources(),
    }
    env = submitter_env(job, job_id=job_id, dashboard_address=dashboard_address)
    add_env(container, env + auth_env(cluster, cluster_name=cluster.metadata.name or ""))
    return container
