"""The operator as a child process (``rayjob-operator``) against a local control plane.

Tests and ``make run`` run the real console script, out of cluster, with a kubeconfig, the operator's
``RAYJOB_OPERATOR_*`` settings and the HTTP proxy that routes in-cluster dashboard names to the local
Ray head. It can be stopped, SIGKILLed and started again (the operator keeps no state of its own).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from rayjob_devenv.procs import Component
from rayjob_devenv.waiting import wait_for

READY_LINE = "Controller started"
FAST_SETTINGS = {
    # Timers short enough for tests and demos; the behaviour is the same as with the defaults.
    "RAYJOB_OPERATOR_POLL_INTERVAL_SECONDS": "0.5",
    "RAYJOB_OPERATOR_STATUS_CHECK_TIMEOUT_SECONDS": "8",
    "RAYJOB_OPERATOR_TRANSITION_GRACE_PERIOD_SECONDS": "8",
    "RAYJOB_OPERATOR_SUBMITTER_FINISHED_TIMEOUT_SECONDS": "5",
    "RAYJOB_OPERATOR_SUBMITTER_START_TIMEOUT_SECONDS": "10",
    "RAYJOB_OPERATOR_HEAD_LOST_GRACE_SECONDS": "5",
    "RAYJOB_OPERATOR_FINALIZER_TIMEOUT_SECONDS": "3",
    "RAYJOB_OPERATOR_DASHBOARD_TIMEOUT_SECONDS": "3",
    "RAYJOB_OPERATOR_RESYNC_SECONDS": "60",
    "RAYJOB_OPERATOR_METRICS_PORT": "0",
}


def operator_command() -> list[str]:
    """The ``rayjob-operator`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("rayjob-operator")
    return [str(script)] if script.exists() else [sys.executable, "-m", "rayjob_operator.cli"]


class OperatorProcess:
    def __init__(
        self,
        *,
        kubeconfig: Path,
        log_path: Path,
        settings: Mapping[str, str] | None = None,
        proxy: str | None = None,
        args: Sequence[str] = (),
        fast: bool = True,
        verbose: bool = True,
    ) -> None:
        """``fast``: apply :data:`FAST_SETTINGS` under ``settings``; ``verbose``: debug logging.

        Both off runs the operator as shipped (its defaults, INFO logging), as the benchmark does.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAYJOB_OPERATOR_")}
        if fast:
            env.update(FAST_SETTINGS)
        env.update(settings or {})
        env["KUBECONFIG"] = str(kubeconfig)
        if proxy:
            env.update(
                HTTP_PROXY=proxy, http_proxy=proxy, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost"
            )
        self.env = env
        self.log_path = log_path
        self.args = ["--standalone", *(["--verbose"] if verbose and "--verbose" not in args else []), *args]
        self._process: Component | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until the controller has primed its caches and runs its workers."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._process = Component("rayjob-operator", [*operator_command(), *self.args], self.log_path, self.env)
        self._process.start()
        self.starts += 1
        process = self._process
        wait_for(
            lambda: READY_LINE in self.log_text(offset),
            timeout,
            "the operator to start its controller",
            abort=lambda: None if process.running() else process.describe_failure("exited during start-up"),
        )

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a node dies."""
        if self._process is not None:
            self._process.signal(signal.SIGKILL)
            self._process.wait(10)

    def stop(self, grace: float = 15.0) -> None:
        if self._process is None:
            return
        self._process.signal(signal.SIGTERM)
        if not self._process.wait(grace):
            self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self, offset: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
