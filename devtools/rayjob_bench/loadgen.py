"""The load-generator dashboard (:mod:`rayjob_devenv.loadgen_dashboard`) as a child process of the benchmark.

It runs in its own process so its CPU is measured apart and its event loop never delays the harness's.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rayjob_devenv.binaries import REPO_ROOT
from rayjob_devenv.ports import LOOPBACK
from rayjob_devenv.procs import Component, stop_all
from rayjob_devenv.waiting import wait_for


class LoadgenProcess:
    def __init__(self, run_dir: Path, *, duration: float, extra_args: tuple[str, ...] = ()) -> None:
        self._ready_file = run_dir / "loadgen.port"
        argv = [
            sys.executable,
            "-m",
            "rayjob_devenv.loadgen_dashboard",
            f"--host={LOOPBACK}",
            f"--ready-file={self._ready_file}",
            f"--duration={duration}",
            *extra_args,
        ]
        env = {"PYTHONPATH": str(REPO_ROOT / "devtools"), "PATH": "/usr/bin:/bin"}
        self._component = Component("loadgen-dashboard", argv, run_dir / "loadgen-dashboard.log", env)
        self.port = 0

    def start(self) -> None:
        self._ready_file.unlink(missing_ok=True)
        self._component.start()
        component = self._component
        text = wait_for(
            lambda: self._ready_file.read_text().strip() if self._ready_file.exists() else None,
            30,
            "the load-generator dashboard to listen",
            abort=lambda: None if component.running() else component.describe_failure("exited"),
        )
        self.port = int(text)

    def stop(self) -> None:
        stop_all([self._component], grace=5.0)

    @property
    def pid(self) -> int | None:
        return self._component.pid

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stats(self) -> dict[str, Any]:
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=30)
        try:
            connection.request("GET", "/_loadgen/stats")
            result: dict[str, Any] = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        return result


@contextlib.contextmanager
def running_loadgen(run_dir: Path, *, duration: float, extra_args: tuple[str, ...] = ()) -> Iterator[LoadgenProcess]:
    """A started load generator, stopped on exit."""
    process = LoadgenProcess(run_dir, duration=duration, extra_args=extra_args)
    process.start()
    try:
        yield process
    finally:
        process.stop()
