"""``python -m rayjob_chaos`` (``make chaos``): one chaos run, its report printed and saved; exit 0 only on PASS.

python -m rayjob_chaos                      # 200 RayJobs, operator SIGKILLed every 15 s, 2 API server restarts
python -m rayjob_chaos --n 30 --apiserver-restarts 30     # the short variant
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import time
from pathlib import Path

from rayjob_chaos.plan import ScenarioConfig, make_plan
from rayjob_chaos.render import render
from rayjob_chaos.run import describe_settings, execute

logger = logging.getLogger("rayjob_chaos")
DEFAULT_OUT = Path("bench/results")


def _times(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None) -> tuple[ScenarioConfig, Path]:
    d = ScenarioConfig()
    parser = argparse.ArgumentParser(prog="rayjob_chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=d.n, help="RayJobs (default %(default)s)")
    parser.add_argument("--namespaces", type=int, default=d.namespaces)
    parser.add_argument("--seed", type=int, default=d.seed, help="treatments, timings and dashboard faults")
    parser.add_argument("--kill-period", type=float, default=d.operator_kill_period, help="s between operator kills")
    parser.add_argument(
        "--apiserver-restarts",
        type=_times,
        default=d.apiserver_restarts,
        help="s after the first create, comma-separated (default 40,100; '' for none)",
    )
    parser.add_argument("--error-rate", type=float, default=d.error_rate, help="dashboard job calls answered 500")
    parser.add_argument("--timeout-rate", type=float, default=d.timeout_rate, help="dashboard job calls never answered")
    parser.add_argument("--reset-rate", type=float, default=d.reset_rate, help="dashboard job calls reset")
    parser.add_argument("--deadline", type=float, help="s for every RayJob to be terminal (default 300 + 2 per RayJob)")
    parser.add_argument("--cleanup", type=float, default=d.cleanup_seconds, help="s more for leaks to go away")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results root (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        config = ScenarioConfig(
            n=args.n,
            namespaces=args.namespaces,
            seed=args.seed,
            operator_kill_period=args.kill_period,
            apiserver_restarts=args.apiserver_restarts,
            error_rate=args.error_rate,
            timeout_rate=args.timeout_rate,
            reset_rate=args.reset_rate,
            deadline_seconds=args.deadline,
            cleanup_seconds=args.cleanup,
        )
    except ValueError as error:
        parser.error(str(error))
    return config, args.out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config, out = parse_args(argv)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = (out / f"chaos-{stamp}-n{config.n}").resolve()
    started = time.monotonic()
    report = execute(config, make_plan(config), run_dir)
    wall = time.monotonic() - started
    text = render(report, operator_settings=describe_settings())
    text += f"wall time: {wall:.0f} s (control plane start-up and teardown included); results: {run_dir}\n"
    (run_dir / "report.txt").write_text(text)
    document = report.to_json() | {"wall_seconds": round(wall, 1)}
    (run_dir / "report.json").write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    print(text, end="")
    return 0 if report.passed else 1
