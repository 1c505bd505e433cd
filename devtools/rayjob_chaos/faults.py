"""The process faults of a chaos run, on the main thread: the operator SIGKILLed and started again every
``operator_kill_period`` seconds, kube-apiserver restarted at the planned times, until the harness is done.

The main thread started every process, so it is the one that starts them again (a child dies with the
thread that started it, see :mod:`rayjob_devenv.procs`). An operator that exits without being killed is
noted and started again; an operator that does not come back is retried, then the run gives up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rayjob_chaos.observations import FaultEvent, FaultLog
from rayjob_chaos.plan import ScenarioConfig
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.waiting import WaitTimeout

START_TIMEOUT = 120.0
START_ATTEMPTS = 5
APISERVER_TIMEOUT = 120.0
TICK = 0.5


class FaultError(RuntimeError):
    """A fault could not be recovered from (the operator or the API server did not come back)."""


class FaultInjector:
    def __init__(
        self,
        cp: LocalControlPlane,
        operator: OperatorProcess,
        config: ScenarioConfig,
        log: FaultLog,
        elapsed: Callable[[], float],
    ) -> None:
        """``elapsed()``: seconds since t0 (the harness's first create)."""
        self.cp, self.operator, self.config, self.log, self.elapsed = cp, operator, config, log, elapsed

    def run_until(self, done: threading.Event) -> None:
        apiserver_due = sorted(self.config.apiserver_restarts)
        next_kill = self.elapsed() + self.config.operator_kill_period
        while not done.is_set():
            if not self.operator.running():
                self._record("operator-exited", 0.0, self.operator.log_tail(20))
                self._start_operator()
            now = self.elapsed()
            if apiserver_due and now >= apiserver_due[0]:
                apiserver_due.pop(0)
                self._restart_apiserver()
            elif now >= next_kill:
                self._restart_operator()
                next_kill = self.elapsed() + self.config.operator_kill_period
            done.wait(TICK)

    def _record(self, what: str, seconds: float, detail: str = "") -> None:
        self.log.events.append(FaultEvent(round(self.elapsed(), 1), what, round(seconds, 2), detail))

    def _restart_operator(self) -> None:
        at = time.monotonic()
        self.operator.kill()
        self._start_operator()
        self._record("operator-restart", time.monotonic() - at)

    def _start_operator(self) -> None:
        for _ in range(START_ATTEMPTS):
            try:
                self.operator.start(timeout=START_TIMEOUT)
            except WaitTimeout as error:
                self._record("operator-start-failed", 0.0, str(error)[-2000:])
                self.operator.kill()
            else:
                return
        raise FaultError(f"the operator did not start in {START_ATTEMPTS} attempts; see {self.operator.log_path}")

    def _restart_apiserver(self) -> None:
        at = self.elapsed()
        away = self.cp.restart_apiserver(timeout=APISERVER_TIMEOUT)
        self.log.events.append(FaultEvent(round(at, 1), "apiserver-restart", round(away, 2)))
