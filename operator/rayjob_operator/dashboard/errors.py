"""The dashboard client's errors: Ray's HTTP answers translated once, at the boundary.

``DashboardError``
 ├─ ``DashboardUnreachable``  connection refused/reset, timeout, proxy failure, unexpected 5xx or body:
 │                            transient; retry later.
 ├─ ``JobNotFound``           404 for a job id.
 ├─ ``DashboardAuthError``    401 (a token is needed) / 403 (the token is wrong): configuration.
 ├─ ``DashboardRejected``     4xx with Ray's text (its last line, e.g. ``TypeError: ...``): configuration.
 ├─ ``SubmissionIdConflict``  the submission id is used by a job with another entrypoint.
 └─ ``InvalidSubmission``     refused before sending (an id Ray 2.60 would turn into a zombie).
"""

from __future__ import annotations


class DashboardError(Exception):
    """Base of every error of :mod:`rayjob_operator.dashboard`."""


class DashboardUnreachable(DashboardError):
    """The dashboard could not be reached or gave an answer that says nothing certain."""


class JobNotFound(DashboardError):
    """The dashboard does not know the job (HTTP 404)."""

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"job {submission_id!r} does not exist on the dashboard")
        self.submission_id = submission_id


class DashboardAuthError(DashboardError):
    """HTTP 401 or 403: the token is missing or wrong."""

    def __init__(self, status: int, detail: str) -> None:
        if status == 401:
            text = f"the dashboard requires a token (HTTP 401: {detail})"
        else:
            text = f"the dashboard rejected the token (HTTP {status}: {detail})"
        super().__init__(text)
        self.status = status
        self.detail = detail


class DashboardRejected(DashboardError):
    """A 4xx answer; ``detail`` is the last non-empty line of Ray's text body."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the dashboard rejected the request (HTTP {status}): {detail}")
        self.status = status
        self.detail = detail


class SubmissionIdConflict(DashboardError):
    """The submission id exists with a different entrypoint: not ours, never attach to it."""

    def __init__(self, submission_id: str, existing: str | None, wanted: str) -> None:
        super().__init__(
            f"submission id {submission_id!r} is already used by a different entrypoint "
            f"(existing {existing!r}, wanted {wanted!r})"
        )
        self.submission_id = submission_id
        self.existing_entrypoint = existing
        self.wanted_entrypoint = wanted


class InvalidSubmission(DashboardError):
    """The request was refused before it was sent."""
