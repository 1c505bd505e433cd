"""Deadline-bound polling: every wait says what it waited for and why it gave up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A condition did not hold before its deadline."""


def wait_for(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    max_interval: float = 0.5,
    abort: Callable[[], str | None] | None = None,
) -> T:
    """Call ``probe`` until it returns a truthy value, and return that value.

    Empty answers (``[]``, ``set()``, ``""``, ``0``) mean "not yet", like None and False: a probe listing
    the objects it waits for keeps waiting while there are none.

    ``abort`` is checked between probes; when it returns a message, waiting stops at once with that
    message (e.g. "the process exited"). On timeout the error names ``what`` and the last probe error.
    Probing backs off from ``interval`` to ``max_interval`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = probe()
        except Exception as e:  # the probe's failures are the reason we keep polling
            last_error, value = e, None
        if value:
            return value
        if abort is not None and (reason := abort()) is not None:
            raise WaitTimeout(f"gave up waiting for {what}: {reason}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_interval)
