"""What the e2e tests share: the sample table, named timeouts, and the one waiting function."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import kubernetes

ROOT = Path(__file__).resolve().parent.parent
SAMPLES_DIR = ROOT / "tests" / "data" / "kuberay"
SAMPLES_TABLE = ROOT / "e2e" / "samples.tsv"
MANIFESTS = ROOT / "e2e" / "manifests"

# Named timeouts (seconds). A sample's own deadline is in e2e/samples.tsv.
OPERATOR_READY = 300.0
NAMESPACE_GONE = 300.0
AFTER_TERMINAL = 300.0
"""For what follows a terminal state: the TTL or deletion-rule delay, plus slack."""
POLL_INTERVAL = 5.0

TERMINAL_STATES = frozenset({"Complete", "Failed", "ValidationFailed"})
EXPECTATIONS = frozenset({"Complete", "cluster-deleted", "deleted"})

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Kube:
    context: str
    api_client: Any

    @property
    def core_v1(self) -> Any:
        return kubernetes.client.CoreV1Api(self.api_client)

    @property
    def apps_v1(self) -> Any:
        return kubernetes.client.AppsV1Api(self.api_client)

    @property
    def custom_objects(self) -> Any:
        return kubernetes.client.CustomObjectsApi(self.api_client)


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline (an AssertionError, so pytest shows it as a failure)."""


@dataclasses.dataclass(frozen=True)
class Sample:
    file: str
    deadline: float
    expect: frozenset[str]
    needs: str | None

    @property
    def stem(self) -> str:
        return self.file.removeprefix("ray-job.").removesuffix(".yaml")

    @property
    def path(self) -> Path:
        return SAMPLES_DIR / self.file


def load_samples(table: Path = SAMPLES_TABLE) -> list[Sample]:
    """The rows of e2e/samples.tsv: file, deadline_seconds, expect (comma-separated), needs (or -)."""
    samples = []
    for line in table.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, deadline, expect, needs = line.split("\t")
        samples.append(Sample(file, float(deadline), frozenset(expect.split(",")), None if needs == "-" else needs))
    return samples


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = POLL_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``predicate`` until it returns something other than None/False; return that.

    Raises :class:`WaitTimeout` naming ``what`` (and the predicate's last error) after ``timeout``.
    """
    deadline = clock() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except Exception as error:  # a failing probe is a reason to look again, until the deadline
            last_error, value = error, None
        if value is not None and value is not False:
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        sleep(min(interval, remaining))
