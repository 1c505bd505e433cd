"""The ConfigMap that keeps the end of a Ray job's driver log after its cluster is gone. Pure."""

from __future__ import annotations

from typing import Any

from rayjob_operator import constants
from rayjob_operator.builders import labels
from rayjob_operator.model.rayjob import RayJob

LOG_KEY = "driver.log"
SUFFIX = "-driver-log"


def log_configmap_name(job_name: str) -> str:
    return f"{job_name}{SUFFIX}"


def tail(text: str, limit: int) -> str:
    """The last ``limit`` bytes of the log, starting at a line boundary when possible."""
    data = text.encode()
    if len(data) <= limit:
        return text
    cut = data[-limit:].decode(errors="ignore")
    newline = cut.find("\n")
    return cut[newline + 1 :] if 0 <= newline < len(cut) - 1 else cut


def build_log_configmap(job: RayJob, *, job_id: str, text: str, limit: int) -> dict[str, Any]:
    kept = tail(text, limit)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": log_configmap_name(job.metadata.name or ""),
            "namespace": job.metadata.namespace,
            "labels": {
                **labels.originated_from(job.metadata.name or "", constants.RAYJOB_KIND),
                constants.LABEL_APP_CREATED_BY: constants.CREATED_BY_VALUE,
            },
            "annotations": {
                "ray.io/job-id": job_id,
                "ray.io/log-truncated": "true" if kept != text else "false",
            },
            "ownerReferences": [labels.owner_reference(job, kind=constants.RAYJOB_KIND)],
        },
        "data": {LOG_KEY: kept},
    }
