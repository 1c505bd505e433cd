"""The PNG: completed RayJobs over time, every operator of a mode on one chart (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rayjob_bench.report import RunReport

STYLES = {"ours": "tab:blue", "kuberay": "tab:red", "kuberay-c10": "tab:orange"}


def completion_plot(reports: Sequence[RunReport], path: Path) -> Path:
    """One panel per submission mode; x = seconds since the first create, y = RayJobs completed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(dict.fromkeys(r.mode for r in reports))
    figure, axes = plt.subplots(1, len(modes), figsize=(6.5 * len(modes), 4.5), squeeze=False)
    for axis, mode in zip(axes[0], modes, strict=True):
        for report in (r for r in reports if r.mode is mode):
            times = list(report.details.get("completions_s") or [])
            name = report.operator.value
            axis.step([0.0, *times], range(len(times) + 1), where="post", label=name, color=STYLES.get(name))
        n = max(r.n for r in reports if r.mode is mode)
        axis.axhline(n, color="grey", linewidth=0.5, linestyle=":")
        axis.set_title(f"{mode.value}: {n} RayJobs")
        axis.set_xlabel("seconds since the first create")
        axis.set_ylabel("RayJobs completed")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
