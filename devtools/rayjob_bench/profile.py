"""``--profile``: our operator sampled by py-spy during a run, summed up as the functions that take its CPU.

py-spy (from the ``bench`` extra) attaches to the operator's process for the whole run and writes collapsed
stacks (one ``frame;frame;... count`` line per distinct stack); :func:`summarize` turns them into two tables,
time spent in a function itself and time spent in it or below it, written to ``profile.txt`` next to the run's
logs. Only our operator is sampled (py-spy reads Python stacks; KubeRay is Go).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from rayjob_devenv.procs import Component

SAMPLES_PER_SECOND = 100
PY_SPY = "py-spy"


def py_spy() -> str:
    """The py-spy of this interpreter's environment (installed with the ``bench`` extra), else one on PATH."""
    beside = Path(sys.executable).with_name(PY_SPY)
    found = str(beside) if beside.exists() else shutil.which(PY_SPY)
    if found is None:
        raise RuntimeError("--profile needs py-spy: install the project with its bench extra (make bench does)")
    return found


def summarize(lines: Iterable[str], *, top: int = 30) -> str:
    """Self and inclusive shares of the samples, per function, from py-spy's raw (collapsed-stack) lines."""
    own: collections.Counter[str] = collections.Counter()
    within: collections.Counter[str] = collections.Counter()
    total = 0
    for line in lines:
        stack, _, count = line.strip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            within[frame] += samples
    if total == 0:
        return "no samples\n"
    rows = [f"{total} samples ({SAMPLES_PER_SECOND}/s while the operator was on a CPU)", "", "self  function"]
    rows += [f"{100 * n / total:5.1f}% {frame}" for frame, n in own.most_common(top)]
    rows += ["", "total function (itself and what it calls)"]
    rows += [f"{100 * n / total:5.1f}% {frame}" for frame, n in within.most_common(top)]
    return "\n".join(rows) + "\n"


class Profiler:
    """py-spy recording one process until it exits; ``finish`` writes the summary."""

    def __init__(self, pid: int, run_dir: Path) -> None:
        self.raw = run_dir / "profile.raw"
        self.summary = run_dir / "profile.txt"
        argv = [
            py_spy(),
            "record",
            f"--pid={pid}",
            f"--output={self.raw}",
            "--format=raw",
            f"--rate={SAMPLES_PER_SECOND}",
            "--nonblocking",
        ]
        self._component = Component("py-spy", argv, run_dir / "py-spy.log")

    def start(self) -> None:
        self._component.start()

    def finish(self, timeout: float = 60.0) -> Path:
        """Once the profiled process has ended: wait for py-spy to write its file, then sum it up."""
        if not self._component.wait(timeout):
            raise subprocess.TimeoutExpired(PY_SPY, timeout)
        text = self.raw.read_text() if self.raw.exists() else ""
        self.summary.write_text(summarize(text.splitlines()))
        return self.summary
