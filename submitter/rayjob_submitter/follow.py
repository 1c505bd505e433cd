"""Following a submitted job: print its new log text, report its state, end with a verdict line."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TextIO

from rayjob_submitter import status as st
from rayjob_submitter.client import DashboardApi, Response, Unreachable
from rayjob_submitter.config import Settings
from rayjob_submitter.contract import ExitCode
from rayjob_submitter.logs import LogCursor
from rayjob_submitter.runner import Clock

logger = logging.getLogger("rayjob_submitter")

PENDING_REPORT_SECONDS = 10.0


@dataclass
class Follower:
    """The loop state of :func:`follow`."""

    api: DashboardApi
    submission_id: str
    settings: Settings
    clock: Clock
    out: TextIO
    cursor: LogCursor
    last_status: str | None = None
    status_since: float = 0.0
    next_report: float = 0.0
    lost_since: float | None = None

    def run(self) -> ExitCode:
        while True:
            state = self.poll_state()
            if state is not None:
                self.report(state)
                if state.status != "PENDING" and self.print_logs() and state.terminal:
                    return self.finish(state)
            self.clock.sleep(self.settings.poll_seconds)

    # --- status ---------------------------------------------------------------------------------------

    def poll_state(self) -> st.JobState | None:
        """The job's state, or None while the dashboard is lost (within the grace period)."""
        try:
            response = self.api.job(self.submission_id)
            if response.status == 200:
                state = st.JobState.from_json(response.json())
                self.found_again()
                return state
        except (Unreachable, ValueError) as error:
            self.lost(str(error))
            return None
        if response.status == 404:
            raise st.Fatal(
                ExitCode.JOB_FAILED,
                f"job {self.submission_id!r} vanished from the dashboard after it was submitted "
                "(the Ray cluster was restarted and lost its job history?); not submitting it again",
            )
        if st.is_rejection(response):
            raise st.rejection(response, f"the status request for job {self.submission_id!r}")
        self.lost(st.unclear(response))
        return None

    def report(self, state: st.JobState) -> None:
        now = self.clock.monotonic()
        if state.status != self.last_status:
            self.last_status, self.status_since, self.next_report = state.status, now, now + PENDING_REPORT_SECONDS
            logger.info("job %r is %s: %s", self.submission_id, state.status, st.first_line(state.message))
        elif state.status == "PENDING" and now >= self.next_report:
            self.next_report = now + PENDING_REPORT_SECONDS
            logger.info(
                "job %r is still PENDING after %.0fs: %s",
                self.submission_id, now - self.status_since, st.first_line(state.message),
            )  # fmt: skip

    # --- logs -----------------------------------------------------------------------------------------

    def print_logs(self) -> bool:
        """Print the new part of the log; False when the dashboard could not be reached for it."""
        try:
            response = self.api.logs(self.submission_id)
        except Unreachable as error:
            self.lost(str(error))
            return False
        if response.status == 200:
            self.write(self.cursor.delta(_logs_text(response)))
        else:
            logger.debug("no logs for job %r: %s", self.submission_id, st.unclear(response))
        return True

    def write(self, text: str) -> None:
        if text:
            self.out.write(text)
            self.out.flush()

    def finish(self, state: st.JobState) -> ExitCode:
        printed = self.cursor.printed
        if printed and not printed.endswith("\n"):
            self.write("\n")
        if state.status == "FAILED" and not printed.strip() and "\n" in state.message.strip():
            self.write(state.message.rstrip("\n") + "\n")  # the only place Ray put the error
        self.write(st.verdict_line(self.submission_id, state) + "\n")
        return st.exit_code_for(state)

    # --- losing the dashboard -------------------------------------------------------------------------

    def lost(self, reason: str) -> None:
        now = self.clock.monotonic()
        if self.lost_since is None:
            self.lost_since = now
        lost_for = now - self.lost_since
        grace = self.settings.grace_seconds
        if lost_for >= grace:
            raise st.Fatal(
                ExitCode.UNREACHABLE,
                f"lost the Ray dashboard at {self.settings.base_url} for {lost_for:.0f}s (grace {grace:g}s) "
                f"while following job {self.submission_id!r}: {reason}",
            )
        logger.info(
            "cannot check job %r: %s; retrying for up to %.0fs more", self.submission_id, reason, grace - lost_for
        )

    def found_again(self) -> None:
        if self.lost_since is not None:
            logger.info("the Ray dashboard answers again")
            self.lost_since = None


def _logs_text(response: Response) -> str:
    try:
        data = response.json()
    except Unreachable:
        return ""
    logs = data.get("logs") if isinstance(data, dict) else None
    return logs if isinstance(logs, str) else ""


def follow(api: DashboardApi, submission_id: str, settings: Settings, clock: Clock, out: TextIO) -> ExitCode:
    """Follow the job until it is terminal; return its exit code (Fatal on lost dashboard or vanished job)."""
    return Follower(api, submission_id, settings, clock, out, LogCursor()).run()
