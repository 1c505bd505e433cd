"""Errors of the Kubernetes API, translated once at the boundary into a few of our own."""

from __future__ import annotations


class KubeError(Exception):
    """An API call failed; ``status`` is the HTTP status (0 when no response arrived)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        super().__init__(f"{status} {reason}: {message}" if status else f"{reason}: {message}")


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    """409: a stale resourceVersion (an update lost a race) or an object that already exists."""


class AlreadyExists(Conflict):
    pass


class Gone(KubeError):
    """410: the resourceVersion a watch asked for is too old (compacted): list again, then watch from there."""


class Invalid(KubeError):
    """422: the API server rejected the object (validation, immutable fields)."""


class Forbidden(KubeError):
    """401/403: the operator's identity may not do this (RBAC) or its credentials are gone."""


class Unavailable(KubeError):
    """No usable answer: connection errors, timeouts, 429 and 5xx. Worth retrying."""


def translate(status: int, body: dict[str, object] | None, fallback: str) -> KubeError:
    reason = str((body or {}).get("reason") or fallback)
    message = str((body or {}).get("message") or fallback)
    if status == 404:
        return NotFound(status, reason, message)
    if status == 409:
        cls = AlreadyExists if reason == "AlreadyExists" else Conflict
        return cls(status, reason, message)
    if status == 410:
        return Gone(status, reason, message)
    if status == 422:
        return Invalid(status, reason, message)
    if status in (401, 403):
        return Forbidden(status, reason, message)
    if status == 429 or status >= 500:
        return Unavailable(status, reason, message)
    return KubeError(status, reason, message)


def namespace_terminating(error: KubeError) -> bool:
    """The API server refuses new objects in a namespace that is being deleted (the rest goes with it)."""
    return error.status == 403 and "because it is being terminated" in error.message
