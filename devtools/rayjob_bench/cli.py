"""``python -m rayjob_bench`` (``make bench``): every (mode, operator) run, then the table, JSON and plot.

python -m rayjob_bench --n 100                                  # both modes, ours + KubeRay + KubeRay c=10
python -m rayjob_bench --n 1000 --modes http --operators ours,kuberay
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any

from rayjob_bench import results
from rayjob_bench.config import BenchConfig, OperatorName, parse_modes, parse_operators
from rayjob_bench.operators import KubeRayBuild, find_kuberay
from rayjob_bench.plot import completion_plot
from rayjob_bench.report import RunReport, document, table
from rayjob_bench.run import Run
from rayjob_bench.window import load_average

logger = logging.getLogger("rayjob_bench")


def parse_args(argv: list[str] | None) -> tuple[BenchConfig, Path | None]:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="rayjob_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=defaults.n, help="RayJobs per run (default %(default)s)")
    parser.add_argument("--modes", default="http,k8sjob", help="http, k8sjob or both (default %(default)s)")
    parser.add_argument(
        "--operators", default="ours,kuberay,kuberay-c10", help="any of ours, kuberay, kuberay-c10 (default all)"
    )
    parser.add_argument("--namespaces", type=int, default=defaults.namespaces)
    parser.add_argument("--job-seconds", type=float, default=defaults.job_seconds, help="fake Ray job duration")
    parser.add_argument("--concurrency", type=int, default=defaults.create_concurrency, help="creates in flight")
    parser.add_argument("--warmup", type=float, default=defaults.warmup_seconds, help="idle seconds before the window")
    parser.add_argument("--timeout", type=float, help="deadline for all RayJobs (default 300 s + 0.5 s per RayJob)")
    parser.add_argument("--out", type=Path, default=defaults.out_dir, help="results root (default %(default)s)")
    parser.add_argument("--kuberay-dir", type=Path, help="a KubeRay build (default: hack/kuberay/build.sh)")
    parser.add_argument("--keep-audit-log", action="store_true", help="keep each run's API audit log")
    parser.add_argument("--profile", action="store_true", help="sample our operator with py-spy (profile.txt)")
    parser.add_argument(
        "--loadgen-arg",
        action="append",
        default=[],
        help="an option for the load-generator dashboard, e.g. --loadgen-arg=--reset-rate=0.05 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        config = BenchConfig(
            n=args.n,
            modes=parse_modes(args.modes),
            operators=parse_operators(args.operators),
            namespaces=args.namespaces,
            job_seconds=args.job_seconds,
            create_concurrency=args.concurrency,
            warmup_seconds=args.warmup,
            timeout_seconds=args.timeout,
            out_dir=args.out,
            keep_audit_log=args.keep_audit_log,
            profile=args.profile,
            loadgen_args=tuple(args.loadgen_arg),
        )
    except ValueError as error:
        parser.error(str(error))
    return config, args.kuberay_dir


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def run_all(config: BenchConfig, out: Path, kuberay: KubeRayBuild | None) -> list[RunReport]:
    reports = []
    for mode, operator in config.runs():
        logger.info("run %s %s: N=%d (load average %s)", mode.value, operator.value, config.n, load_average())
        run_dir = out / "runs" / f"{mode.short}-{operator.value}"
        raw = Run(config, mode, operator, run_dir, kuberay).execute()
        report = RunReport(operator, mode, config.n, results.figures(raw), results.details(raw))
        (run_dir / "report.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")  # kept if a later run fails
        for problem in raw.problems:
            logger.warning("run %s %s: %s", mode.value, operator.value, problem)
        logger.info("run %s %s: %s", mode.value, operator.value, json.dumps(report.figures))
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    config, kuberay_dir = parse_args(argv)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    out = config.out_dir / f"{stamp}-n{config.n}"
    needs_kuberay = any(o is not OperatorName.OURS for o in config.operators)
    kuberay = find_kuberay(kuberay_dir) if needs_kuberay else None
    meta = {
        "started_utc": stamp,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(config).items()},
        "kuberay_version": kuberay.version if kuberay else None,
        "machine": machine(),
        "load_average_start": load_average(),
    }
    reports = run_all(config, out, kuberay)
    meta["load_average_end"] = load_average()
    out.mkdir(parents=True, exist_ok=True)
    text = table(reports)
    (out / "table.md").write_text(text + "\n")
    (out / "results.json").write_text(json.dumps(document(meta, reports), indent=1, default=str) + "\n")
    plot = completion_plot(reports, out / "completions.png")
    print(text)
    print(f"\nload average: {meta['load_average_start']} at the start, {meta['load_average_end']} at the end")
    print(f"results: {out / 'results.json'}\ntable:   {out / 'table.md'}\nplot:    {plot}")
