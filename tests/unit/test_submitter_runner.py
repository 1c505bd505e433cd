"""The submitter's decisions with a scripted fake dashboard and a virtual clock (no network, no Ray)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from rayjob_submitter import follow, runner
from rayjob_submitter.client import Response, Unreachable
from rayjob_submitter.config import JobRequest, Settings
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.status import Fatal

Answer = Response | Unreachable
Script = list[Answer]

ALREADY_EXISTS = (
    "Traceback (most recent call last):\n  ...\nValueError: Job with submission_id j already exists. "
    "Please use a different submission_id.\n.\n"
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class FakeDashboard:
    """Answers each endpoint from its script; the last answer repeats. Records every call."""

    versions: Script = field(default_factory=lambda: [ok({"ray_version": "2.60.0"})])
    submits: Script = field(default_factory=lambda: [ok({"submission_id": "j"})])
    jobs: Script = field(default_factory=list)
    logs_script: Script = field(default_factory=lambda: [ok({"logs": ""})])
    calls: list[str] = field(default_factory=list)
    clock: FakeClock | None = None
    on_call: Callable[[str], None] | None = None

    def _next(self, name: str, script: Script) -> Response:
        self.calls.append(name)
        answer = script.pop(0) if len(script) > 1 else script[0]
        if self.clock is not None:
            self.clock.now += 0.01
        if isinstance(answer, Unreachable):
            raise answer
        return answer

    def version(self) -> Response:
        return self._next("version", self.versions)

    def submit(self, body: dict[str, Any]) -> Response:
        return self._next("submit", self.submits)

    def job(self, submission_id: str) -> Response:
        return self._next("job", self.jobs)

    def logs(self, submission_id: str) -> Response:
        return self._next("logs", self.logs_script)


def ok(body: Any) -> Response:
    return Response(200, json.dumps(body))


def job(status: str, entrypoint: str = "echo hi", **extra: Any) -> Response:
    return ok({"status": status, "entrypoint": entrypoint, "message": f"{status} message", **extra})


SETTINGS = Settings(base_url="http://h:1", wait_seconds=10, grace_seconds=5, poll_seconds=1)
REQUEST = JobRequest(submission_id="j", entrypoint="echo hi")


# --- waiting for the dashboard ------------------------------------------------------------------------


def test_wait_retries_until_the_dashboard_answers(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeDashboard(versions=[Unreachable("refused"), Response(503, "busy"), ok({"ray_version": "2.60.0"})])
    clock = FakeClock()

    with caplog.at_level("INFO", logger="rayjob_submitter"):
        runner.wait_for_dashboard(api, SETTINGS, clock)

    assert api.calls == ["version"] * 3
    attempts = [r.getMessage() for r in caplog.records if "waiting for the Ray dashboard" in r.getMessage()]
    assert len(attempts) == 2
    assert "attempt 1" in attempts[0]
    assert "refused" in attempts[0]
    assert "HTTP 503" in attempts[1]


def test_wait_is_bounded() -> None:
    clock = FakeClock()
    with pytest.raises(Fatal) as caught:
        runner.wait_for_dashboard(FakeDashboard(versions=[Unreachable("refused")]), SETTINGS, clock)

    assert caught.value.code is ExitCode.UNREACHABLE
    assert "did not answer within 10s" in caught.value.message
    assert clock.now <= SETTINGS.wait_seconds + 1


@pytest.mark.parametrize(("status", "text"), [(401, "requires a token"), (403, "rejected the token")])
def test_wait_stops_at_once_on_auth_errors(status: int, text: str) -> None:
    api = FakeDashboard(versions=[Response(status, "Unauthorized")])
    with pytest.raises(Fatal, match=text) as caught:
        runner.wait_for_dashboard(api, SETTINGS, FakeClock())
    assert caught.value.code is ExitCode.REJECTED


# --- submitting exactly once --------------------------------------------------------------------------


def test_plain_submission() -> None:
    api = FakeDashboard()
    runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert api.calls == ["submit"]


def test_already_exists_with_the_same_entrypoint_attaches() -> None:
    api = FakeDashboard(submits=[Response(500, ALREADY_EXISTS)], jobs=[job("RUNNING")])
    runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert api.calls == ["submit", "job"]


def test_already_exists_with_another_entrypoint_is_rejected() -> None:
    api = FakeDashboard(submits=[Response(500, ALREADY_EXISTS)], jobs=[job("RUNNING", entrypoint="rm -rf x")])
    with pytest.raises(Fatal, match="already used by a different entrypoint") as caught:
        runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert caught.value.code is ExitCode.REJECTED


@pytest.mark.parametrize("unclear", [Unreachable("timed out"), Response(502, "bad gateway"), Response(500, "boom")])
def test_ambiguous_outcome_then_404_posts_again(unclear: Answer) -> None:
    api = FakeDashboard(submits=[unclear, ok({})], jobs=[Response(404, "Job j does not exist")])
    runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert api.calls == ["submit", "job", "submit"]


def test_ambiguous_outcome_then_200_attaches_without_posting_again() -> None:
    api = FakeDashboard(submits=[Unreachable("connection reset by peer")], jobs=[job("PENDING")])
    runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert api.calls == ["submit", "job"]


def test_lookup_failures_are_retried_until_the_deadline() -> None:
    api = FakeDashboard(submits=[Unreachable("timed out")], jobs=[Unreachable("refused")])
    with pytest.raises(Fatal, match="could not look up job") as caught:
        runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert caught.value.code is ExitCode.UNREACHABLE


def test_repeated_unclear_posts_are_bounded() -> None:
    api = FakeDashboard(submits=[Response(500, "boom")], jobs=[Response(404, "no")])
    with pytest.raises(Fatal, match=f"in {runner.MAX_SUBMIT_ATTEMPTS} attempts") as caught:
        runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert caught.value.code is ExitCode.UNREACHABLE
    assert api.calls.count("submit") == runner.MAX_SUBMIT_ATTEMPTS


def test_bad_request_is_rejected_with_rays_last_line() -> None:
    body = "Traceback (most recent call last):\n  File x\nTypeError: entrypoint_memory must be an integer\n"
    api = FakeDashboard(submits=[Response(400, body)])
    with pytest.raises(Fatal) as caught:
        runner.submit_or_attach(api, REQUEST, SETTINGS, FakeClock())
    assert caught.value.code is ExitCode.REJECTED
    assert caught.value.message.endswith("TypeError: entrypoint_memory must be an integer")


# --- following ----------------------------------------------------------------------------------------


def run_follow(api: FakeDashboard, clock: FakeClock) -> tuple[ExitCode, str]:
    out = io.StringIO()
    code = follow.follow(api, "j", SETTINGS, clock, out)
    return code, out.getvalue()


def test_follow_prints_each_log_part_once_then_the_verdict() -> None:
    api = FakeDashboard(
        jobs=[job("PENDING"), job("RUNNING"), job("RUNNING"), job("SUCCEEDED", driver_exit_code=0)],
        logs_script=[ok({"logs": "a\n"}), ok({"logs": "a\nb"}), ok({"logs": "a\nb\nc\n"})],
    )
    code, out = run_follow(api, FakeClock())

    assert code is ExitCode.SUCCEEDED
    assert out == "a\nb\nc\njob 'j' SUCCEEDED, driver exit code 0: SUCCEEDED message\n"


@pytest.mark.parametrize(("status", "code"), [("FAILED", ExitCode.JOB_FAILED), ("STOPPED", ExitCode.JOB_STOPPED)])
def test_follow_maps_terminal_states_to_exit_codes(status: str, code: ExitCode) -> None:
    api = FakeDashboard(jobs=[job(status, driver_exit_code=7 if status == "FAILED" else None)])
    result, out = run_follow(api, FakeClock())

    assert result is code
    assert out.splitlines()[-1].startswith(f"job 'j' {status}")


def test_failed_before_start_prints_rays_message() -> None:
    message = "Failed to start supervisor actor j: 'bad env'. Full traceback:\nTraceback...\nTypeError: bad env"
    failed = ok({"status": "FAILED", "message": message, "error_type": "JOB_SUPERVISOR_ACTOR_START_FAILURE"})
    code, out = run_follow(FakeDashboard(jobs=[failed]), FakeClock())

    assert code is ExitCode.JOB_FAILED
    assert "TypeError: bad env" in out
    assert out.splitlines()[-1] == (
        "job 'j' FAILED, error type JOB_SUPERVISOR_ACTOR_START_FAILURE: "
        "Failed to start supervisor actor j: 'bad env'. Full traceback:"
    )


def test_follow_survives_a_short_outage() -> None:
    clock = FakeClock()
    api = FakeDashboard(
        jobs=[job("RUNNING"), Unreachable("refused"), Response(502, "proxy"), job("SUCCEEDED")],
        clock=clock,
    )
    code, _ = run_follow(api, clock)
    assert code is ExitCode.SUCCEEDED


def test_follow_gives_up_after_the_grace_period() -> None:
    clock = FakeClock()
    api = FakeDashboard(jobs=[job("RUNNING"), Unreachable("refused")], clock=clock)

    with pytest.raises(Fatal, match="lost the Ray dashboard at http://h:1") as caught:
        run_follow(api, clock)

    assert caught.value.code is ExitCode.UNREACHABLE
    assert SETTINGS.grace_seconds <= clock.now <= SETTINGS.grace_seconds + 2 * SETTINGS.poll_seconds


def test_a_job_that_vanishes_is_not_submitted_again() -> None:
    api = FakeDashboard(jobs=[job("RUNNING"), Response(404, "Job j does not exist")])
    with pytest.raises(Fatal, match="vanished") as caught:
        run_follow(api, FakeClock())
    assert caught.value.code is ExitCode.JOB_FAILED
    assert "submit" not in api.calls


def test_pending_is_reported_periodically(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    script: Script = [job("PENDING")] * 25
    api = FakeDashboard(jobs=[*script, job("FAILED")], clock=clock)
    with caplog.at_level("INFO", logger="rayjob_submitter"):
        run_follow(api, clock)
    still = [r for r in caplog.records if "still PENDING" in r.getMessage()]
    assert len(still) == 2  # at ~10 s and ~20 s of 25 s
    assert api.calls.count("logs") == 1  # logs are only fetched once the job started
