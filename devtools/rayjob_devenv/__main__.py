"""``python -m rayjob_devenv up``: a local control plane for manual work, until Ctrl-C.

``python -m rayjob_devenv run``: the operator end to end with a real Ray head (see ``rayjob_devenv.demo``).

It applies the CRDs from ``crds/``, starts Kueue with ``--kueue`` (``make up ARGS=--kueue``), prints how to
point kubectl at the cluster, and tears everything down on Ctrl-C (or SIGTERM/SIGHUP).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from rayjob_devenv.binaries import REPO_ROOT
from rayjob_devenv.components import FakeNode
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.kueue import LocalKueue
from rayjob_devenv.procs import Component

DEFAULT_CRDS = REPO_ROOT / "crds"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rayjob_devenv", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run a local control plane until Ctrl-C")
    up.add_argument("--bin-dir", type=Path, help="control plane binaries (default: $RAYJOB_CP_BIN or build.sh)")
    up.add_argument("--crds", type=Path, default=DEFAULT_CRDS, help="directory of CRD YAMLs to apply")
    up.add_argument("--no-crds", action="store_true", help="do not apply any CRD")
    up.add_argument("--nodes", type=int, default=1, help="number of fake (kwok) nodes")
    up.add_argument("--keep", action="store_true", help="keep the data dir (logs) after shutdown")
    up.add_argument("--ready-file", type=Path, help="write a JSON description here once ready")
    up.add_argument("--kueue", action="store_true", help="also run Kueue (hack/kueue/build.sh builds it when missing)")
    run = sub.add_parser("run", help="run a RayJob end to end (control plane, Ray head, operator), then tear down")
    run.add_argument("--mode", choices=["both", "K8sJobMode", "HTTPMode"], default="both", help="submission mode(s)")
    run.add_argument("--keep", action="store_true", help="keep the environment up afterwards, until Ctrl-C")
    run.add_argument("--timeout", type=float, default=300.0, help="seconds each RayJob may take")
    return parser


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _describe(cp: LocalControlPlane) -> dict[str, object]:
    return {
        "data_dir": str(cp.data_dir),
        "kubeconfig": str(cp.kubeconfig),
        "server": cp.server,
        "kubectl": str(cp.kubectl),
        "ports": cp.ports.all(),
        "pids": cp.pids(),
        "startup_seconds": cp.startup_seconds,
    }


def _instructions(cp: LocalControlPlane) -> str:
    return "\n".join(
        [
            f"Control plane ready in {cp.startup_seconds:.1f}s at {cp.server} (data and logs: {cp.data_dir})",
            "Point kubectl at it (the system kubectl is too old for this server; use the built one):",
            f"  export KUBECONFIG={cp.kubeconfig}",
            f"  alias kubectl={cp.kubectl}",
            f"  kubectl get nodes        # or: export PATH={cp.bin_dir}:$PATH",
            "Press Ctrl-C to stop.",
        ]
    )


def _run_until_interrupted(components: Sequence[Component]) -> int:
    """Block until Ctrl-C (exit 0) or until a component dies (exit 1)."""
    idle = threading.Event()
    try:
        while True:
            dead = [c for c in components if c.exit_code() is not None]
            if dead:
                print(dead[0].describe_failure("stopped unexpectedly"), file=sys.stderr)
                return 1
            idle.wait(1.0)
    except KeyboardInterrupt:
        print("\nStopping the control plane...", file=sys.stderr)
        return 0


def up(args: argparse.Namespace) -> int:
    nodes = [FakeNode(name=f"kwok-node-{i}") for i in range(args.nodes)]
    crds = [] if args.no_crds else sorted(args.crds.glob("*.yaml"))
    with contextlib.ExitStack() as stack:
        cp = stack.enter_context(
            LocalControlPlane(bin_dir=args.bin_dir, nodes=nodes, crds=crds, keep_data=args.keep or None)
        )
        if crds:
            print(f"CRDs applied and Established: {', '.join(cp.crds)}")
        watched = list(cp.procs.values())
        if args.kueue:
            kueue = stack.enter_context(LocalKueue(cp))
            watched.append(kueue.process)
            print(f"Kueue {kueue.version} ready in {kueue.startup_seconds:.1f}s (log: {kueue.log_path})")
        if args.ready_file:  # written whole, then renamed: a reader never sees half a file
            partial = args.ready_file.with_name(args.ready_file.name + ".partial")
            partial.write_text(json.dumps(_describe(cp), indent=2))
            partial.replace(args.ready_file)
        print(_instructions(cp), flush=True)
        code = _run_until_interrupted(watched)
    print("Stopped.", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Python leaves SIGINT ignored if it was ignored at start (e.g. `... up &` in a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        if args.command == "run":
            from rayjob_devenv.demo import run

            return run(args)
        return up(args)
    except KeyboardInterrupt:  # Ctrl-C while starting: the context manager already tore down
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
