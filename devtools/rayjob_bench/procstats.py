"""CPU seconds and resident memory of process trees, read from /proc (Linux).

The parsers are pure; :func:`sample_tree` reads the files. A tree is a process and its live descendants
(found through ``/proc/<pid>/task/<tid>/children``); its CPU time includes the children it has reaped.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True)
class StatLine:
    ppid: int
    cpu_ticks: int
    """utime + stime + cutime + cstime: the process's own CPU time and that of its reaped children."""


def parse_stat(text: str) -> StatLine:
    """``/proc/<pid>/stat``; the command name may hold spaces and parentheses, so split after the last ')'."""
    fields = text.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5): ppid is field 4, utime..cstime are fields 14..17.
    return StatLine(ppid=int(fields[1]), cpu_ticks=sum(int(f) for f in fields[11:15]))


def parse_status_kib(text: str, key: str) -> int | None:
    """A ``kB`` value of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), or None if absent."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    return None


def parse_children(texts: Iterable[str]) -> list[int]:
    """PIDs listed in ``/proc/<pid>/task/*/children`` files."""
    return [int(pid) for text in texts for pid in text.split()]


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    texts = (_read(task / "children") or "" for task in (PROC / str(pid) / "task").glob("*"))
    return parse_children(texts)


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children(current))
    return found


@dataclasses.dataclass(frozen=True)
class TreeSample:
    cpu_seconds: float
    rss_bytes: int
    hwm_bytes: int
    """The largest peak RSS (VmHWM) of a single process in the tree (exact, unlike sampling)."""
    processes: int


def sample_tree(pid: int) -> TreeSample | None:
    """CPU and memory of the tree under ``pid`` now; None if ``pid`` is gone."""
    ticks = rss = hwm = count = 0
    for member in tree(pid):
        stat = _read(PROC / str(member) / "stat")
        status = _read(PROC / str(member) / "status")
        if stat is None or status is None:
            continue
        ticks += parse_stat(stat).cpu_ticks
        rss += (parse_status_kib(status, "VmRSS") or 0) * 1024
        hwm = max(hwm, (parse_status_kib(status, "VmHWM") or 0) * 1024)
        count += 1
    if count == 0:
        return None
    return TreeSample(ticks / CLOCK_TICKS, rss, hwm, count)


def cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    sample = sample_tree(pid)
    return sample.cpu_seconds if sample is not None else None


@dataclasses.dataclass
class PeakTracker:
    """CPU and the peak memory of one tree over a measurement window, fed with samples."""

    start_cpu: float | None = None
    last_cpu: float | None = None
    peak_rss_bytes: int = 0
    peak_hwm_bytes: int = 0
    samples: list[tuple[float, float, int]] = dataclasses.field(default_factory=list)
    """(time, cpu seconds since start, rss bytes) of every sample."""

    def add(self, now: float, sample: TreeSample | None) -> None:
        if sample is None:
            return
        if self.start_cpu is None:
            self.start_cpu = sample.cpu_seconds
        self.last_cpu = sample.cpu_seconds
        self.peak_rss_bytes = max(self.peak_rss_bytes, sample.rss_bytes)
        self.peak_hwm_bytes = max(self.peak_hwm_bytes, sample.hwm_bytes)
        self.samples.append((now, sample.cpu_seconds - self.start_cpu, sample.rss_bytes))

    @property
    def cpu_used(self) -> float | None:
        if self.start_cpu is None or self.last_cpu is None:
            return None
        return self.last_cpu - self.start_cpu

    @property
    def peak_bytes(self) -> int:
        """Peak of the summed tree RSS samples, or the kernel's single-process peak if that is higher."""
        return max(self.peak_rss_bytes, self.peak_hwm_bytes)
