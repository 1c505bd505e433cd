"""Typed values exchanged with the Ray Jobs REST API (Ray 2.60), parsed once from its JSON."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rayjob_submitter import contract


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        return self.value in contract.TERMINAL_STATUSES


class MalformedAnswer(ValueError):
    """A 200 answer whose JSON does not have the expected shape."""


@dataclass(frozen=True)
class JobInfo:
    """``GET /api/jobs/{id}`` (JobDetails). Times are epoch milliseconds; ``start_time`` is the
    submission time (Ray records no RUNNING time)."""

    submission_id: str | None
    status: JobStatus
    entrypoint: str
    message: str | None = None
    error_type: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    driver_exit_code: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    runtime_env: Mapping[str, Any] = field(default_factory=dict)
    job_type: str = "SUBMISSION"
    ray_job_id: str | None = None
    """The Ray core job id (e.g. ``02000000``), set only if the entrypoint called ``ray.init()``."""

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @classmethod
    def from_json(cls, data: object) -> JobInfo:
        if not isinstance(data, Mapping):
            raise MalformedAnswer(f"a job description must be an object, got {type(data).__name__}")
        try:
            status = JobStatus(str(data.get("status")))
        except ValueError:
            raise MalformedAnswer(f"unknown job status {data.get('status')!r}") from None
        return cls(
            submission_id=_opt_str(data.get("submission_id")),
            status=status,
            entrypoint=_opt_str(data.get("entrypoint")) or "",
            message=_opt_str(data.get("message")),
            error_type=_opt_str(data.get("error_type")),
            start_time=_opt_int(data.get("start_time")),
            end_time=_opt_int(data.get("end_time")),
            driver_exit_code=_opt_int(data.get("driver_exit_code")),
            metadata=_str_map(data.get("metadata")),
            runtime_env=dict(data.get("runtime_env") or {}),
            job_type=_opt_str(data.get("type")) or "SUBMISSION",
            ray_job_id=_opt_str(data.get("job_id")),
        )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}


@dataclass(frozen=True)
class SubmitRequest:
    """The body of ``POST /api/jobs/``; :meth:`to_json` leaves out empty optional fields."""

    submission_id: str
    entrypoint: str
    runtime_env: Mapping[str, Any] | None = None
    metadata: Mapping[str, str] | None = None
    entrypoint_num_cpus: float | None = None
    entrypoint_num_gpus: float | None = None
    entrypoint_memory: int | None = None
    entrypoint_resources: Mapping[str, float] | None = None

    def problem(self) -> str | None:
        """Why Ray would reject or mishandle this request, checked before sending; None when fine."""
        id_problem = contract.submission_id_problem(self.submission_id)
        if id_problem:
            return id_problem
        if not isinstance(self.entrypoint, str) or not self.entrypoint.strip():
            return "the entrypoint is empty"
        if any(not isinstance(v, str) for v in (self.metadata or {}).values()):
            return "metadata values must be strings"
        numbers = [self.entrypoint_num_cpus, self.entrypoint_num_gpus, *(self.entrypoint_resources or {}).values()]
        if any(n is not None and (not math.isfinite(n) or n < 0) for n in numbers):
            return "entrypoint resources must be finite numbers >= 0"
        if self.entrypoint_memory is not None and self.entrypoint_memory < 0:
            return "entrypoint_memory must be an integer >= 0"
        return None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"entrypoint": self.entrypoint, "submission_id": self.submission_id}
        optional: dict[str, Any] = {
            "runtime_env": dict(self.runtime_env or {}),
            "metadata": dict(self.metadata or {}),
            "entrypoint_num_cpus": self.entrypoint_num_cpus,
            "entrypoint_num_gpus": self.entrypoint_num_gpus,
            "entrypoint_memory": self.entrypoint_memory,
            "entrypoint_resources": dict(self.entrypoint_resources or {}),
        }
        body.update({key: value for key, value in optional.items() if value})
        return body


@dataclass(frozen=True)
class DashboardVersion:
    """``GET /api/version``. ``session_name`` changes on every ``ray start`` (job history lost)."""

    api_version: str
    ray_version: str
    session_name: str

    @classmethod
    def from_json(cls, data: object) -> DashboardVersion:
        if not isinstance(data, Mapping) or "ray_version" not in data:
            raise MalformedAnswer("not a /api/version answer")
        return cls(str(data.get("version", "")), str(data["ray_version"]), str(data.get("session_name", "")))
