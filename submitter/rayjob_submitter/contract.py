"""The input contract of ``rayjob-submit``: env vars, CLI flags, exit codes, submission-id rules.

The operator's submitter-Job builder imports this module (never the reverse), so the names below are
the single source of truth for both sides. Keep the values stable: pods built by an older operator
and KubeRay manifests that run the submitter must keep working.

Inputs (a flag always wins over its env var):

=================================  ==================================  =======================================
what                               env var                             flag
=================================  ==================================  =======================================
dashboard address (required)       ``RAY_DASHBOARD_ADDRESS``           ``--address``
submission id (required)           ``RAY_JOB_SUBMISSION_ID``           ``--submission-id``
entrypoint (required)              ``RAY_JOB_ENTRYPOINT``              the words after ``--``
runtime env (YAML or JSON object)  ``RAY_JOB_RUNTIME_ENV``             ``--runtime-env-json`` / ``--runtime-env``
metadata (JSON object str→str)     ``RAY_JOB_METADATA``                ``--metadata-json``
entrypoint CPUs (number ≥ 0)       ``RAY_JOB_ENTRYPOINT_NUM_CPUS``     ``--entrypoint-num-cpus``
entrypoint GPUs (number ≥ 0)       ``RAY_JOB_ENTRYPOINT_NUM_GPUS``     ``--entrypoint-num-gpus``
entrypoint memory (int bytes ≥ 0)  ``RAY_JOB_ENTRYPOINT_MEMORY``       ``--entrypoint-memory``
custom resources (JSON str→num)    ``RAY_JOB_ENTRYPOINT_RESOURCES``    ``--entrypoint-resources``
dashboard token                    ``RAY_AUTH_TOKEN``                  (env only: argv is visible in ``ps``)
file holding the token             ``RAY_AUTH_TOKEN_PATH``             ``--token-file``
wait for the dashboard (s)         ``RAY_JOB_SUBMITTER_WAIT_SECONDS``  ``--dashboard-wait-seconds``
unreachable grace mid-job (s)      ``RAY_JOB_SUBMITTER_GRACE_SECONDS`` ``--unreachable-grace-seconds``
status/log poll interval (s)       ``RAY_JOB_SUBMITTER_POLL_SECONDS``  ``--poll-interval-seconds``
timeout of one HTTP request (s)    ``RAY_JOB_SUBMITTER_HTTP_TIMEOUT``  ``--http-timeout-seconds``
=================================  ==================================  =======================================

``RAY_DASHBOARD_ADDRESS`` and ``RAY_JOB_SUBMISSION_ID`` are the names KubeRay sets on its submitter
container; the address may come with or without ``http://`` (KubeRay passes ``host:port``). The flags
``--runtime-env-json``, ``--metadata-json``, ``--entrypoint-resources``, ``--entrypoint-num-cpus`` and
``--entrypoint-num-gpus`` and the entrypoint after ``--`` are those of KubeRay's light-weight submitter,
so its manifests work unchanged. Several words after ``--`` are joined with single spaces (as KubeRay
does); a single word is used as is. ``RAY_JOB_ENTRYPOINT`` is never passed through any shell on our
side: Ray runs it with ``/bin/sh -c`` exactly as written.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final


class ExitCode(enum.IntEnum):
    """Exit codes of ``rayjob-submit``. Stable: a Job ``podFailurePolicy`` keys on them."""

    SUCCEEDED = 0
    """The Ray job SUCCEEDED."""
    JOB_FAILED = 1
    """The Ray job FAILED (its driver exit code and Ray's message are printed), or vanished from the
    dashboard after it was submitted (the Ray cluster lost it). Retrying the pod would run it again."""
    INVALID_INPUT = 2
    """Invalid input detected before anything was sent (bad id, unparsable runtime env, bad numbers)."""
    JOB_STOPPED = 3
    """The Ray job was STOPPED (by someone else: the submitter never stops a job)."""
    UNREACHABLE = 4
    """The dashboard could not be reached or talked to. Infrastructure: retrying the pod may help."""
    REJECTED = 5
    """The dashboard rejected the request: HTTP 400 (with Ray's text), 401/403 (token), or the
    submission id is already used by a different entrypoint. Configuration: retrying will not help."""


EXIT_CODE_HELP: Final = {
    ExitCode.SUCCEEDED: "the Ray job SUCCEEDED",
    ExitCode.JOB_FAILED: "the Ray job FAILED (or the cluster lost it after submission)",
    ExitCode.INVALID_INPUT: "invalid input, detected before anything was sent",
    ExitCode.JOB_STOPPED: "the Ray job was STOPPED",
    ExitCode.UNREACHABLE: "could not reach or talk to the dashboard (retrying the pod may help)",
    ExitCode.REJECTED: "the dashboard rejected the request: 400, 401/403, or the id is used by "
    "another entrypoint (retrying will not help)",
}

# --- env vars set by KubeRay (same names) -------------------------------------------------------------
ENV_DASHBOARD_ADDRESS: Final = "RAY_DASHBOARD_ADDRESS"
ENV_SUBMISSION_ID: Final = "RAY_JOB_SUBMISSION_ID"
ENV_AUTH_TOKEN: Final = "RAY_AUTH_TOKEN"
ENV_AUTH_TOKEN_PATH: Final = "RAY_AUTH_TOKEN_PATH"

# --- env vars of ours ---------------------------------------------------------------------------------
ENV_ENTRYPOINT: Final = "RAY_JOB_ENTRYPOINT"
ENV_RUNTIME_ENV: Final = "RAY_JOB_RUNTIME_ENV"
ENV_METADATA: Final = "RAY_JOB_METADATA"
ENV_ENTRYPOINT_NUM_CPUS: Final = "RAY_JOB_ENTRYPOINT_NUM_CPUS"
ENV_ENTRYPOINT_NUM_GPUS: Final = "RAY_JOB_ENTRYPOINT_NUM_GPUS"
ENV_ENTRYPOINT_MEMORY: Final = "RAY_JOB_ENTRYPOINT_MEMORY"
ENV_ENTRYPOINT_RESOURCES: Final = "RAY_JOB_ENTRYPOINT_RESOURCES"
ENV_WAIT_SECONDS: Final = "RAY_JOB_SUBMITTER_WAIT_SECONDS"
ENV_GRACE_SECONDS: Final = "RAY_JOB_SUBMITTER_GRACE_SECONDS"
ENV_POLL_SECONDS: Final = "RAY_JOB_SUBMITTER_POLL_SECONDS"
ENV_HTTP_TIMEOUT: Final = "RAY_JOB_SUBMITTER_HTTP_TIMEOUT"

# --- CLI flags ----------------------------------------------------------------------------------------
FLAG_ADDRESS: Final = "--address"
FLAG_SUBMISSION_ID: Final = "--submission-id"
FLAG_RUNTIME_ENV_JSON: Final = "--runtime-env-json"  # KubeRay
FLAG_RUNTIME_ENV: Final = "--runtime-env"  # YAML or JSON
FLAG_METADATA_JSON: Final = "--metadata-json"  # KubeRay
FLAG_ENTRYPOINT_NUM_CPUS: Final = "--entrypoint-num-cpus"  # KubeRay
FLAG_ENTRYPOINT_NUM_GPUS: Final = "--entrypoint-num-gpus"  # KubeRay
FLAG_ENTRYPOINT_MEMORY: Final = "--entrypoint-memory"
FLAG_ENTRYPOINT_RESOURCES: Final = "--entrypoint-resources"  # KubeRay
FLAG_TOKEN_FILE: Final = "--token-file"
FLAG_WAIT_SECONDS: Final = "--dashboard-wait-seconds"
FLAG_GRACE_SECONDS: Final = "--unreachable-grace-seconds"
FLAG_POLL_SECONDS: Final = "--poll-interval-seconds"
FLAG_HTTP_TIMEOUT: Final = "--http-timeout-seconds"
ENTRYPOINT_SEPARATOR: Final = "--"

# --- defaults -----------------------------------------------------------------------------------------
DEFAULT_WAIT_SECONDS: Final = 600.0
DEFAULT_GRACE_SECONDS: Final = 60.0
DEFAULT_POLL_SECONDS: Final = 1.0
DEFAULT_HTTP_TIMEOUT: Final = 10.0

# --- submission ids -----------------------------------------------------------------------------------
# Ray 2.60 writes the job record before it opens the driver log file named after the id; an id with
# "/" (or one too long for a file name) makes that fail, leaving a PENDING job that can be neither
# stopped nor deleted until the cluster restarts. So ids are checked before anything is sent.
SUBMISSION_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._:@-]{1,200}")
SUBMISSION_ID_RULE: Final = (
    "a submission id must be 1-200 characters from [A-Za-z0-9._:@-]: Ray 2.60 turns an id with '/' "
    "or a long id into a PENDING job that can never be stopped or deleted"
)

# --- facts about the Ray dashboard shared by both clients -----------------------------------------------
ALREADY_EXISTS_MARKER: Final = "already exists"
"""A duplicate submission id is answered with HTTP 500 whose text body contains this."""
TERMINAL_STATUSES: Final = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})


def submission_id_problem(submission_id: str) -> str | None:
    """Why ``submission_id`` must not be sent to Ray, or None when it is safe."""
    if SUBMISSION_ID_PATTERN.fullmatch(submission_id):
        return None
    return f"invalid submission id {submission_id!r}: {SUBMISSION_ID_RULE}"


def ray_error_line(body: str) -> str:
    """The useful part of a Ray error body (text/plain, often a traceback): its last non-empty line.

    Ray wraps agent errors as ``RuntimeError: ... {text}.`` and then adds a lone ``.`` line, so lines
    made only of dots are skipped too.
    """
    for line in reversed(body.splitlines()):
        stripped = line.strip()
        if stripped and stripped.strip(".") != "":
            return stripped
    return ""


@dataclass(frozen=True)
class SubmitRequest:
    """The body of ``POST /api/jobs/``, as the operator (HTTPMode) and ``rayjob-submit`` send it; :meth:`to_json`
    leaves out null, zero and empty optional fields."""

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
        id_problem = submission_id_problem(self.submission_id)
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
class Answer:
    """A dashboard's HTTP answer, as both clients see it: the status and the text body."""

    status: int
    text: str

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` (its message says why) when it is not JSON, as when something other
        than the dashboard (a proxy, a load balancer) answered."""
        try:
            return json.loads(self.text)
        except json.JSONDecodeError:
            snippet = " ".join(self.text.split())[:120]
            raise ValueError(f"HTTP {self.status} with a body that is not JSON: {snippet!r}") from None
