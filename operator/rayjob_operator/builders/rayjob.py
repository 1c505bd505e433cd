"""The RayCluster a RayJob creates for one attempt. Pure.

Labels and annotations of the RayJob are copied (queue labels included, in every submission mode),
plus where it came from; the RayJob is the cluster's controller owner, so Kueue sees it as a child.
"""

from __future__ import annotations

import copy
from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels, services
from rayjob_operator.builders.options import PodOptions
from rayjob_operator.builders.submitter import sidecar_container
from rayjob_operator.model.enums import SubmissionMode
from rayjob_operator.model.raycluster import RayCluster
from rayjob_operator.model.rayjob import RayJob


def build_cluster_for_job(
    job: RayJob, *, cluster_name: str, job_id: str, submitter_image: str, options: PodOptions
) -> dict[str, Any]:
    spec = job.spec
    if spec.ray_cluster_spec is None:
        raise ValueError("a RayJob with a clusterSelector has no RayCluster of its own")
    mode = spec.submission_mode
    annotations = dict(job.metadata.annotations or {})
    if mode == SubmissionMode.SIDECAR:
        annotations[constants.ANNOTATION_DISABLE_HEAD_RESTART] = "true"
    body: dict[str, Any] = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.RAYCLUSTER_KIND,
        "metadata": {
            "name": cluster_name,
            "namespace": job.metadata.namespace,
            "labels": labels.merge_labels(
                job.metadata.labels,
                labels.originated_from(job.metadata.name or "", constants.RAYJOB_KIND),
                {constants.LABEL_SUBMISSION_MODE: mode.value},
            ),
            "annotations": annotations,
            "ownerReferences": [labels.owner_reference(job, kind=constants.RAYJOB_KIND)],
        },
        "spec": copy.deepcopy(spec.ray_cluster_spec.to_dict()),
    }
    if mode == SubmissionMode.SIDECAR:
        _add_sidecar(body, job, job_id=job_id, image=submitter_image, options=options)
    return body


def _add_sidecar(body: dict[str, Any], job: RayJob, *, job_id: str, image: str, options: PodOptions) -> None:
    """The head runs the submitter next to Ray and is never restarted (a new head has lost the job)."""
    cluster = RayCluster.model_validate(body)
    address = services.dashboard_address(cluster, options=options)
    head_spec = body["spec"]["headGroupSpec"]["template"].setdefault("spec", {})
    head_spec["restartPolicy"] = "Never"
    head_spec.setdefault("containers", []).append(
        sidecar_container(job, cluster, job_id=job_id, dashboard_address=address, image=image)
    )


def job_head_service_name(job: RayJob) -> str:
    return f"{job.metadata.name}{constants.HEAD_SERVICE_SUFFIX}"


def build_job_head_service(job: RayJob, cluster: RayCluster, *, options: PodOptions) -> dict[str, Any]:
    """``<rayjob>-head-svc``: the cluster's head Service under a name that stays the same across retries.

    Same ports and type as the cluster's, selecting the current attempt's head pod, owned by the RayJob.
    """
    base = services.build_head_service(cluster, options=options)
    name = job.metadata.name or ""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": job_head_service_name(job),
            "namespace": job.metadata.namespace,
            "labels": {
                **labels.originated_from(name, constants.RAYJOB_KIND),
                constants.LABEL_NODE_TYPE: constants.NODE_TYPE_HEAD,
                constants.LABEL_IDENTIFIER: labels.identifier(name, constants.NODE_TYPE_HEAD),
                constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE,
            },
            "ownerReferences": [labels.owner_reference(job, kind=constants.RAYJOB_KIND)],
        },
        "spec": copy.deepcopy(base["spec"]),
    }
