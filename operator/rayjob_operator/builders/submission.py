"""What the operator sends to Ray for a RayJob: the HTTPMode request and the submitter's inputs. Pure."""

from __future__ import annotations

import json
from typing import Any

import yaml

from rayjob_operator.model.controller_rules import parse_entrypoint_resources
from rayjob_operator.model.rayjob import RayJob, RayJobSpec
from rayjob_submitter import contract


def runtime_env(spec: RayJobSpec) -> dict[str, Any] | None:
    """``runtimeEnvYAML`` as the runtime_env mapping (validation guarantees it parses to one)."""
    if not spec.runtime_env_yaml:
        return None
    value = yaml.safe_load(spec.runtime_env_yaml)
    return value if isinstance(value, dict) and value else None


def submit_request(job: RayJob, *, job_id: str) -> dict[str, Any]:
    """The body of ``POST /api/jobs/``; empty optional fields are left out."""
    spec = job.spec
    request: dict[str, Any] = {"entrypoint": spec.entrypoint or "", "submission_id": job_id}
    env = runtime_env(spec)
    if env:
        request["runtime_env"] = env
    if spec.metadata:
        request["metadata"] = dict(spec.metadata)
    if spec.entrypoint_num_cpus:
        request["entrypoint_num_cpus"] = spec.entrypoint_num_cpus
    if spec.entrypoint_num_gpus:
        request["entrypoint_num_gpus"] = spec.entrypoint_num_gpus
    if spec.entrypoint_resources:
        request["entrypoint_resources"] = parse_entrypoint_resources(spec.entrypoint_resources)
    return request


def submitter_env(job: RayJob, *, job_id: str, dashboard_address: str) -> list[dict[str, Any]]:
    """The environment contract of ``rayjob-submit`` for this RayJob (the entrypoint never meets a shell)."""
    spec = job.spec
    values: list[tuple[str, str | None]] = [
        ("PYTHONUNBUFFERED", "1"),
        (contract.ENV_DASHBOARD_ADDRESS, dashboard_address),
        (contract.ENV_SUBMISSION_ID, job_id),
        (contract.ENV_ENTRYPOINT, spec.entrypoint),
        (contract.ENV_RUNTIME_ENV, json.dumps(runtime_env(spec), sort_keys=True) if runtime_env(spec) else None),
        (contract.ENV_METADATA, json.dumps(spec.metadata, sort_keys=True) if spec.metadata else None),
        (contract.ENV_ENTRYPOINT_NUM_CPUS, repr(spec.entrypoint_num_cpus) if spec.entrypoint_num_cpus else None),
        (contract.ENV_ENTRYPOINT_NUM_GPUS, repr(spec.entrypoint_num_gpus) if spec.entrypoint_num_gpus else None),
        (contract.ENV_ENTRYPOINT_RESOURCES, spec.entrypoint_resources or None),
    ]
    return [{"name": name, "value": value} for name, value in values if value is not None]
