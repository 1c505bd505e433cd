"""Pure interpretation of the dashboard's answers: job states, verdicts, HTTP errors → exit codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rayjob_submitter import contract as c
from rayjob_submitter.client import Response
from rayjob_submitter.contract import ExitCode


class Fatal(Exception):
    """Ends the submitter with ``code`` after printing ``message`` (one line)."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class JobState:
    """The fields of ``GET /api/jobs/{id}`` the submitter uses."""

    status: str
    message: str
    error_type: str | None
    driver_exit_code: int | None
    entrypoint: str | None

    @property
    def terminal(self) -> bool:
        return self.status in c.TERMINAL_STATUSES

    @classmethod
    def from_json(cls, data: object) -> JobState:
        if not isinstance(data, Mapping) or not isinstance(data.get("status"), str):
            raise ValueError(f"not a job description: {str(data)[:120]!r}")
        exit_code = data.get("driver_exit_code")
        return cls(
            status=str(data["status"]),
            message=str(data.get("message") or ""),
            error_type=_optional_str(data.get("error_type")),
            driver_exit_code=exit_code if isinstance(exit_code, int) else None,
            entrypoint=_optional_str(data.get("entrypoint")),
        )


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_EXIT_BY_STATUS = {"SUCCEEDED": ExitCode.SUCCEEDED, "FAILED": ExitCode.JOB_FAILED, "STOPPED": ExitCode.JOB_STOPPED}


def exit_code_for(state: JobState) -> ExitCode:
    """SUCCEEDED → 0, FAILED → 1, STOPPED → 3 (only for terminal states)."""
    if state.status not in _EXIT_BY_STATUS:
        raise ValueError(f"{state.status} is not a terminal status")
    return _EXIT_BY_STATUS[state.status]


LOGS_SUFFIX = ", last available logs"  # Ray appends the log tail after this; it was printed already


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def verdict_line(submission_id: str, state: JobState) -> str:
    """The final line printed for a terminal job."""
    parts = [f"job {submission_id!r} {state.status}"]
    if state.error_type:
        parts.append(f"error type {state.error_type}")
    if state.driver_exit_code is not None:
        parts.append(f"driver exit code {state.driver_exit_code}")
    line = ", ".join(parts)
    detail = first_line(state.message).split(LOGS_SUFFIX, 1)[0]
    return f"{line}: {detail}" if detail else line


def rejection(response: Response, what: str) -> Fatal:
    """A :class:`Fatal` (exit 5) for a 4xx answer; 401/403 get the token hints."""
    detail = c.ray_error_line(response.text)
    if response.status == 401:
        hint = f"set {c.ENV_AUTH_TOKEN} or {c.ENV_AUTH_TOKEN_PATH} (or {c.FLAG_TOKEN_FILE})"
        return Fatal(ExitCode.REJECTED, f"the dashboard requires a token: {hint} (HTTP 401: {detail})")
    if response.status == 403:
        return Fatal(ExitCode.REJECTED, f"the dashboard rejected the token (HTTP 403: {detail})")
    return Fatal(ExitCode.REJECTED, f"the dashboard rejected {what} (HTTP {response.status}): {detail}")


def is_rejection(response: Response) -> bool:
    """4xx answers other than 404 are final: retrying will not change them."""
    return 400 <= response.status < 500 and response.status != 404


def is_already_exists(response: Response) -> bool:
    """Ray 2.60 answers a duplicate submission id with HTTP 500 and 'already exists' in the text."""
    return response.status == 500 and c.ALREADY_EXISTS_MARKER in response.text


def unclear(response: Response) -> str:
    """One line for an answer that says nothing certain (5xx, or a 2xx that is not the expected JSON)."""
    detail = c.ray_error_line(response.text)
    return f"HTTP {response.status}: {detail}" if detail else f"HTTP {response.status}"
