"""The one codec of Kubernetes times: ``metav1.Time`` (RFC 3339, UTC, seconds) and ``MicroTime``."""

from __future__ import annotations

from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MICRO_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(value: datetime) -> str:
    """``2026-11-23T12:00:00Z`` (seconds; a naive value is taken as UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(TIME_FORMAT)


def format_micro_time(value: datetime) -> str:
    """``2026-11-23T12:00:00.123456Z``, as ``events.k8s.io`` wants its ``eventTime``."""
    return value.astimezone(UTC).strftime(MICRO_TIME_FORMAT)


def parse_time(value: object) -> datetime | None:
    """A ``metav1.Time`` string as an aware UTC datetime; None for anything else (absent, malformed)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def truncate(value: datetime) -> datetime:
    """To the second: times compared with ones read back from the API must have their precision."""
    return value.replace(microsecond=0)
