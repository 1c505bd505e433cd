"""One chaos run: a fresh control plane (kwok nodes), the faulty load-generator dashboard, the operator as
shipped, the harness on its own thread and the faults on the main thread; then the verdict.

The run's directory keeps the operator's log (every life of it), the load generator's, and each control plane
component's (``rayjob-cp-*/logs``; etcd's data is removed).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from rayjob_bench import workload
from rayjob_bench.loadgen import running_loadgen
from rayjob_bench.operators import OUR_CRDS
from rayjob_chaos.faults import FaultInjector
from rayjob_chaos.harness import Harness
from rayjob_chaos.observations import Observations
from rayjob_chaos.plan import JobPlan, ScenarioConfig
from rayjob_chaos.verdict import Report, judge
from rayjob_devenv.components import FakeNode
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.operator_process import OperatorProcess

logger = logging.getLogger(__name__)
NODE_PODS = "1000"
OPERATOR_SETTINGS = {"RAYJOB_OPERATOR_METRICS_PORT": "0"}
"""The operator runs with its defaults; only its metrics listener is off (a port freed by a SIGKILL)."""
JOB_SECONDS = 5.0
"""The dashboard's default job duration (every RayJob of the plan sets its own)."""
STARTED_TIMEOUT = 120.0
JOIN_TIMEOUT = 60.0


def describe_settings() -> str:
    changed = ", ".join(f"{k}={v}" for k, v in OPERATOR_SETTINGS.items())
    return f"the defaults of operator/rayjob_operator/config.py, except {changed} (no metrics listener)"


def execute(config: ScenarioConfig, plan: list[JobPlan], run_dir: Path) -> Report:
    run_dir.mkdir(parents=True, exist_ok=True)
    nodes = [FakeNode(name=name, pods=NODE_PODS) for name in workload.node_names(config.nodes)]
    crds = sorted(OUR_CRDS.glob("*.yaml"))
    with LocalControlPlane(nodes=nodes, crds=crds, base_dir=run_dir, keep_data=True, startup_timeout=180) as cp:
        logger.info("control plane up in %.1fs (%s)", cp.startup_seconds or 0.0, cp.data_dir)
        for namespace in sorted({job.namespace for job in plan}):
            cp.api.call("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
        with running_loadgen(run_dir, duration=JOB_SECONDS, extra_args=config.loadgen_args()) as fake:
            operator = OperatorProcess(
                kubeconfig=cp.kubeconfig,
                log_path=run_dir / "operator.log",
                settings=OPERATOR_SETTINGS,
                proxy=fake.url,
                fast=False,
                verbose=False,
            )
            operator.start(timeout=STARTED_TIMEOUT)
            try:
                obs = _with_faults(cp, operator, Harness(cp, config, plan, fake))
            finally:
                operator.stop()
            obs.loadgen = fake.stats()
    return judge(config, plan, obs)


def _with_faults(cp: LocalControlPlane, operator: OperatorProcess, harness: Harness) -> Observations:
    """Run the harness on its thread and the faults here until it is done; its observations."""
    thread = threading.Thread(target=harness.run, name="chaos-harness", daemon=True)
    thread.start()
    try:
        if not harness.started.wait(STARTED_TIMEOUT) and not harness.done.is_set():
            raise RuntimeError(f"the harness did not start creating RayJobs within {STARTED_TIMEOUT:.0f}s")
        if harness.started.is_set():
            logger.info("t0: creating %d RayJobs; the faults begin", len(harness.plan))
            FaultInjector(cp, operator, harness.config, harness.obs.faults, harness.elapsed).run_until(harness.done)
    finally:
        harness.cancel()
        thread.join(JOIN_TIMEOUT)
    if harness.error is not None:
        raise RuntimeError(f"the chaos harness failed: {harness.error!r}") from harness.error
    if thread.is_alive():
        raise RuntimeError(f"the chaos harness did not end within {JOIN_TIMEOUT:.0f}s of being cancelled")
    return harness.obs
