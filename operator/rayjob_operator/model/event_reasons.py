"""Every reason of an Event the operator posts, in one place (KubeRay's names where KubeRay has one).

Events about a RayCluster come from ``raycluster-controller``, events about a RayJob from
``rayjob-controller``. The reasons a RayJob fails with (``status.reason``, :class:`JobFailedReason`) double as
the reasons of the Warning event posted when it fails or retries: :data:`Reason` is either.
"""

from __future__ import annotations

from enum import StrEnum

from rayjob_operator.model.enums import JobFailedReason


class EventReason(StrEnum):
    # --- RayCluster: validation --------------------------------------------------------------------------
    INVALID_RAYCLUSTER_SPEC = "InvalidRayClusterSpec"
    # --- RayCluster: head and worker pods -------------------------------------------------------------------
    CREATED_HEAD_POD = "CreatedHeadPod"
    FAILED_TO_CREATE_HEAD_POD = "FailedToCreateHeadPod"
    DELETED_HEAD_POD = "DeletedHeadPod"
    FAILED_TO_DELETE_HEAD_POD = "FailedToDeleteHeadPod"
    CREATED_WORKER_POD = "CreatedWorkerPod"
    FAILED_TO_CREATE_WORKER_POD = "FailedToCreateWorkerPod"
    DELETED_WORKER_POD = "DeletedWorkerPod"
    FAILED_TO_DELETE_WORKER_POD = "FailedToDeleteWorkerPod"
    # --- RayCluster: the autoscaler's ServiceAccount, Role and RoleBinding -------------------------------------
    CREATED_SERVICE_ACCOUNT = "CreatedServiceAccount"
    FAILED_TO_CREATE_SERVICE_ACCOUNT = "FailedToCreateServiceAccount"
    AUTOSCALER_SERVICE_ACCOUNT_NOT_FOUND = "AutoscalerServiceAccountNotFound"
    CREATED_ROLE = "CreatedRole"
    FAILED_TO_CREATE_ROLE = "FailedToCreateRole"
    CREATED_ROLE_BINDING = "CreatedRoleBinding"
    FAILED_TO_CREATE_ROLE_BINDING = "FailedToCreateRoleBinding"
    # --- RayCluster: the token authentication Secret ---------------------------------------------------------
    CREATED_SECRET = "CreatedSecret"
    FAILED_TO_CREATE_SECRET = "FailedToCreateSecret"
    # --- Services (RayCluster head and headless Services, the RayJob's own head Service) ---------------------
    CREATED_SERVICE = "CreatedService"
    FAILED_TO_CREATE_SERVICE = "FailedToCreateService"
    UPDATED_SERVICE = "UpdatedService"
    # --- RayJob: validation -----------------------------------------------------------------------------------
    INVALID_RAYJOB_METADATA = "InvalidRayJobMetadata"
    INVALID_RAYJOB_SPEC = "InvalidRayJobSpec"
    INVALID_RAYJOB_STATUS = "InvalidRayJobStatus"
    RAYCLUSTER_NOT_FOUND = "RayClusterNotFound"
    # --- RayJob: its RayCluster and submitter ---------------------------------------------------------------
    CREATED_RAYCLUSTER = "CreatedRayCluster"
    FAILED_TO_CREATE_RAYCLUSTER = "FailedToCreateRayCluster"
    UPDATED_RAYCLUSTER = "UpdatedRayCluster"
    DELETED_RAYCLUSTER = "DeletedRayCluster"
    FAILED_TO_DELETE_RAYCLUSTER = "FailedToDeleteRayCluster"
    CREATED_RAYJOB_SUBMITTER = "CreatedRayJobSubmitter"
    FAILED_TO_CREATE_RAYJOB_SUBMITTER = "FailedToCreateRayJobSubmitter"
    DELETED_RAYJOB_SUBMITTER = "DeletedRayJobSubmitter"
    FAILED_TO_DELETE_RAYJOB_SUBMITTER = "FailedToDeleteRayJobSubmitter"
    PODS_STILL_TERMINATING = "PodsStillTerminating"
    """Ours: a suspend or retry stopped waiting for pods that did not go away in time."""


Reason = EventReason | JobFailedReason
"""The reason of any event the operator posts: one of the above, or why a RayJob attempt failed."""
