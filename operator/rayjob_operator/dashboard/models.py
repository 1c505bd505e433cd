"""Typed values exchanged with the Ray Jobs REST API (Ray 2.60), parsed once from its JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rayjob_operator.model.enums import JobStatus
from rayjob_submitter.contract import SubmitRequest

__all__ = ["DashboardVersion", "JobInfo", "JobStatus", "MalformedAnswer", "SubmitRequest"]


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
            status = JobStatus.NEW
        if status == JobStatus.NEW:  # Ray always reports one of its five statuses
            raise MalformedAnswer(f"unknown job status {data.get('status')!r}")
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
