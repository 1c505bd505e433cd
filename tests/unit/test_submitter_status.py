"""Pure interpretation: exit codes, verdict lines, Ray's error text, log deltas."""

from __future__ import annotations

import pytest

from rayjob_submitter import contract as c
from rayjob_submitter.client import Response, job_path
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.logs import RESTART_NOTICE, LogCursor
from rayjob_submitter.status import (
    JobState,
    exit_code_for,
    is_already_exists,
    is_rejection,
    rejection,
    unclear,
    verdict_line,
)

DUPLICATE_BODY = """Traceback (most recent call last):
  File ".../job_head.py", line 419, in submit_job
    resp = await job_agent_client.submit_job_internal(submit_request)
RuntimeError: Request failed with status code 400: Traceback (most recent call last):
  File ".../job_manager.py", line 553, in submit_job
    raise ValueError(
ValueError: Job with submission_id timing-0 already exists. Please use a different submission_id.
.
"""


def state(status: str, **fields: object) -> JobState:
    return JobState.from_json({"status": status, "entrypoint": "x", **fields})


def test_exit_codes_are_stable() -> None:
    assert [int(code) for code in ExitCode] == [0, 1, 2, 3, 4, 5]
    assert set(c.EXIT_CODE_HELP) == set(ExitCode)


@pytest.mark.parametrize(
    ("status", "code"),
    [("SUCCEEDED", ExitCode.SUCCEEDED), ("FAILED", ExitCode.JOB_FAILED), ("STOPPED", ExitCode.JOB_STOPPED)],
)
def test_exit_code_for_terminal_states(status: str, code: ExitCode) -> None:
    assert exit_code_for(state(status)) is code


def test_exit_code_for_a_running_job_is_a_bug() -> None:
    with pytest.raises(ValueError, match="not a terminal status"):
        exit_code_for(state("RUNNING"))


def test_verdict_of_a_missing_command() -> None:
    failed = state(
        "FAILED",
        error_type="JOB_ENTRYPOINT_COMMAND_ERROR",
        driver_exit_code=127,
        message="Job entrypoint command failed with exit code 127, last available logs (truncated to 20,000 "
        "chars):\n/bin/sh: 1: /no/such/binary: not found\n",
    )
    assert verdict_line("j", failed) == (
        "job 'j' FAILED, error type JOB_ENTRYPOINT_COMMAND_ERROR, driver exit code 127: "
        "Job entrypoint command failed with exit code 127"
    )


def test_verdict_of_a_stopped_job() -> None:
    stopped = state("STOPPED", message="Job was intentionally stopped.", driver_exit_code=None)
    assert verdict_line("j", stopped) == "job 'j' STOPPED: Job was intentionally stopped."


def test_job_state_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a job description"):
        JobState.from_json(["not", "a", "job"])
    assert state("RUNNING", driver_exit_code="7").driver_exit_code is None


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            DUPLICATE_BODY,
            "ValueError: Job with submission_id timing-0 already exists. Please use a different submission_id.",
        ),
        (
            "TypeError: entrypoint must be a string, got <class 'list'>\n",
            "TypeError: entrypoint must be a string, got <class 'list'>",
        ),
        ("500 Internal Server Error\n\nServer got itself in trouble", "Server got itself in trouble"),
        ("Unauthorized: Missing authentication token", "Unauthorized: Missing authentication token"),
        ("", ""),
        ("\n.\n", ""),
    ],
)
def test_ray_error_line(body: str, line: str) -> None:
    assert c.ray_error_line(body) == line


def test_already_exists_needs_500_and_the_marker() -> None:
    assert is_already_exists(Response(500, DUPLICATE_BODY))
    assert not is_already_exists(Response(500, "Server got itself in trouble"))
    assert not is_already_exists(Response(400, "already exists"))


@pytest.mark.parametrize(
    ("status", "final"), [(400, True), (401, True), (403, True), (405, True), (404, False), (500, False), (502, False)]
)
def test_which_answers_are_final_rejections(status: int, final: bool) -> None:
    assert is_rejection(Response(status, "")) is final


def test_rejection_messages() -> None:
    missing = rejection(Response(401, "Unauthorized: Missing authentication token"), "x")
    wrong = rejection(Response(403, "Forbidden: Invalid authentication token"), "x")
    bad = rejection(Response(400, "Traceback...\nTypeError: metadata values must be strings\n"), "the submission")

    assert missing.code is wrong.code is bad.code is ExitCode.REJECTED
    assert missing.message.startswith("the dashboard requires a token: set RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH")
    assert wrong.message == "the dashboard rejected the token (HTTP 403: Forbidden: Invalid authentication token)"
    assert bad.message.endswith("(HTTP 400): TypeError: metadata values must be strings")
    assert unclear(Response(502, "")) == "HTTP 502"


def test_job_paths_are_percent_encoded() -> None:
    assert job_path("ok.id:with-chars_1@x") == "/api/jobs/ok.id%3Awith-chars_1%40x"
    assert job_path("a b/c?d", "/logs") == "/api/jobs/a%20b%2Fc%3Fd/logs"


def test_log_cursor_prints_only_new_text() -> None:
    cursor = LogCursor()
    assert cursor.delta("") == ""
    assert cursor.delta("line 1\nli") == "line 1\nli"
    assert cursor.delta("line 1\nline 2\n") == "ne 2\n"
    assert cursor.delta("line 1\nline 2\n") == ""
    assert cursor.delta("line 1\n") == ""  # a lagging, shorter read prints nothing
    assert cursor.delta("line 1\nline 2\nline 3\n") == "line 3\n"
    assert cursor.delta("other\n") == RESTART_NOTICE + "other\n"  # replaced: printed again
    assert cursor.printed == "other\n"
