"""Waiting for the dashboard and submitting exactly once (attach when the job exists already)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rayjob_submitter import status as st
from rayjob_submitter.client import DashboardApi, Response, Unreachable
from rayjob_submitter.config import JobRequest, Settings
from rayjob_submitter.contract import ExitCode

logger = logging.getLogger("rayjob_submitter")

MAX_SUBMIT_ATTEMPTS = 5


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def backoff(first: float = 0.5, factor: float = 2.0, cap: float = 5.0) -> Iterator[float]:
    """0.5, 1, 2, 4, 5, 5, ... seconds."""
    delay = first
    while True:
        yield delay
        delay = min(delay * factor, cap)


@dataclass
class Deadline:
    """A bound on a retry loop; says what it bounds in its error."""

    clock: Clock
    seconds: float
    started: float

    @classmethod
    def start(cls, clock: Clock, seconds: float) -> Deadline:
        return cls(clock, seconds, clock.monotonic())

    @property
    def elapsed(self) -> float:
        return self.clock.monotonic() - self.started

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed)

    def pause(self, delay: float) -> None:
        """Sleep ``delay`` but never past the deadline."""
        self.clock.sleep(min(delay, self.remaining))


def wait_for_dashboard(api: DashboardApi, settings: Settings, clock: Clock) -> None:
    """Poll ``GET /api/version`` with a bounded, logged backoff. 401/403 end the wait at once (exit 5)."""
    deadline = Deadline.start(clock, settings.wait_seconds)
    delays = backoff()
    attempt = 0
    while True:
        attempt += 1
        reason = _version_problem(api)
        if reason is None:
            return
        if deadline.remaining <= 0:
            raise st.Fatal(
                ExitCode.UNREACHABLE,
                f"the Ray dashboard at {settings.base_url} did not answer within {settings.wait_seconds:g}s "
                f"({attempt} attempts); last error: {reason}",
            )
        delay = min(next(delays), deadline.remaining)
        logger.info(
            "waiting for the Ray dashboard at %s (attempt %d, %.1fs of %gs): %s; next try in %.1fs",
            settings.base_url, attempt, deadline.elapsed, settings.wait_seconds, reason, delay,
        )  # fmt: skip
        deadline.pause(delay)


def _version_problem(api: DashboardApi) -> str | None:
    try:
        response = api.version()
    except Unreachable as error:
        return error.reason
    if response.status == 200:
        logger.info("the Ray dashboard answers (%s)", _version_text(response))
        return None
    if response.status in (401, 403):
        raise st.rejection(response, "the request")
    return st.unclear(response)


def _version_text(response: Response) -> str:
    try:
        data = response.json()
    except Unreachable:
        return "version unknown"
    return f"Ray {data.get('ray_version', '?')}" if isinstance(data, dict) else "version unknown"


def submit_or_attach(api: DashboardApi, request: JobRequest, settings: Settings, clock: Clock) -> None:
    """Create the job with its fixed id, or attach to the job that already has that id.

    Ambiguous outcomes (transport error, 5xx without 'already exists') are settled with
    ``GET /api/jobs/{id}``: 200 → attach, 404 → POST again (bounded). A different entrypoint under the
    same id ends the submitter with exit 5.
    """
    deadline = Deadline.start(clock, settings.wait_seconds)
    delays = backoff()
    reason = ""
    for attempt in range(1, MAX_SUBMIT_ATTEMPTS + 1):
        outcome = _post(api, request)
        if outcome is None:
            logger.info("submitted job %r", request.submission_id)
            return
        reason = outcome
        logger.info("submission %d of job %r: %s; checking whether it exists", attempt, request.submission_id, reason)
        existing = _lookup(api, request.submission_id, deadline)
        if existing is not None:
            _check_same_entrypoint(existing, request)
            logger.info("job %r exists already (%s): attaching to it", request.submission_id, existing.status)
            return
        logger.info("job %r does not exist: submitting again", request.submission_id)
        deadline.pause(next(delays))
    raise st.Fatal(
        ExitCode.UNREACHABLE,
        f"could not submit job {request.submission_id!r} in {MAX_SUBMIT_ATTEMPTS} attempts; last: {reason}",
    )


def _post(api: DashboardApi, request: JobRequest) -> str | None:
    """None when the job was created; otherwise why the outcome must be checked with a GET."""
    try:
        response = api.submit(request.to_json())
    except Unreachable as error:
        return f"no answer ({error})"
    if response.status == 200:
        return None
    if st.is_already_exists(response):
        return "the submission id exists already"
    if st.is_rejection(response):
        raise st.rejection(response, f"the submission of job {request.submission_id!r}")
    return f"unclear answer ({st.unclear(response)})"


def _lookup(api: DashboardApi, submission_id: str, deadline: Deadline) -> st.JobState | None:
    """The job's state, None on 404; transport errors and 5xx are retried until the deadline."""
    delays = backoff()
    while True:
        try:
            response = api.job(submission_id)
            if response.status == 200:
                return _state(response)
            if response.status == 404:
                return None
            if st.is_rejection(response):
                raise st.rejection(response, f"the lookup of job {submission_id!r}")
            reason = st.unclear(response)
        except Unreachable as error:
            reason = str(error)
        if deadline.remaining <= 0:
            raise st.Fatal(ExitCode.UNREACHABLE, f"could not look up job {submission_id!r}: {reason}")
        logger.info("looking up job %r failed (%s); retrying", submission_id, reason)
        deadline.pause(next(delays))


def _state(response: Response) -> st.JobState:
    try:
        return st.JobState.from_json(response.json())
    except ValueError as error:
        raise Unreachable(str(error)) from None


def _check_same_entrypoint(existing: st.JobState, request: JobRequest) -> None:
    if existing.entrypoint == request.entrypoint:
        return
    raise st.Fatal(
        ExitCode.REJECTED,
        f"submission id {request.submission_id!r} is already used by a different entrypoint: the dashboard "
        f"has {_short(existing.entrypoint)}, this submitter has {_short(request.entrypoint)}",
    )


def _short(text: str | None, limit: int = 200) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
