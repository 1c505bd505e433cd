"""One benchmark run: a fresh control plane, the load-generator dashboard, one operator, N RayJobs.

    start control plane (operator's CRDs, audit log of the operator's identity) → namespaces → dashboard →
    operator → warm-up → measurement window (:mod:`rayjob_bench.window`) → stop all → count the audit log

The raw observations go to :mod:`rayjob_bench.results`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from rayjob_bench import apicounts, workload
from rayjob_bench.config import BenchConfig, Mode, OperatorName
from rayjob_bench.loadgen import running_loadgen
from rayjob_bench.observations import RawRun
from rayjob_bench.operators import KubeRayBuild, OperatorUnderTest, crds_for, make_operator
from rayjob_bench.profile import Profiler
from rayjob_bench.window import Stage, measure
from rayjob_devenv.components import FakeNode
from rayjob_devenv.controlplane import LocalControlPlane
from rayjob_devenv.kubeconfig import render_kubeconfig, write_kubeconfig
from rayjob_devenv.pki import KeyPair, issue_client_cert

logger = logging.getLogger(__name__)
OPERATOR_USER = "bench-operator"
NODE_PODS = "1000"


def operator_kubeconfig(cp: LocalControlPlane, path: Path) -> Path:
    """A kubeconfig for the operator's own identity (system:masters, its own user name for the audit log)."""
    ca = KeyPair(cp.pki.ca_cert.read_bytes(), cp.pki.ca_key.read_bytes())
    client = issue_client_cert(ca, OPERATOR_USER)
    config = render_kubeconfig(
        cp.server,
        ca_pem=ca.cert_pem,
        client_cert_pem=client.cert_pem,
        client_key_pem=client.key_pem,
        user=OPERATOR_USER,
    )
    return write_kubeconfig(path, config)


def audit_flags(run_dir: Path) -> list[str]:
    policy = run_dir / "audit-policy.json"
    policy.write_text(json.dumps(apicounts.audit_policy(OPERATOR_USER)))
    return [f"--audit-policy-file={policy}", f"--audit-log-path={run_dir / 'audit.log'}", "--audit-log-maxsize=0"]


class Run:
    def __init__(
        self, config: BenchConfig, mode: Mode, operator: OperatorName, run_dir: Path, kuberay: KubeRayBuild | None
    ) -> None:
        self.config = config
        self.mode = mode
        self.operator_name = operator
        self.run_dir = run_dir
        self.kuberay = kuberay
        self.manifests = [
            workload.rayjob(
                i,
                mode=mode,
                namespaces=config.namespaces,
                nodes=config.nodes,
                submitter_seconds=config.job_seconds + config.submitter_margin_seconds,
            )
            for i in range(config.n)
        ]

    def execute(self) -> RawRun:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        nodes = [FakeNode(name=name, pods=NODE_PODS) for name in workload.node_names(self.config.nodes)]
        with LocalControlPlane(
            nodes=nodes,
            crds=crds_for(self.operator_name, self.kuberay),
            apiserver_args=audit_flags(self.run_dir),
            startup_timeout=180,
        ) as cp:
            for namespace in workload.namespace_names(self.config.namespaces):
                cp.api.call("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
            loadgen = running_loadgen(
                self.run_dir, duration=self.config.job_seconds, extra_args=self.config.loadgen_args
            )
            with loadgen as fake:
                operator = make_operator(
                    self.operator_name,
                    kubeconfig=operator_kubeconfig(cp, self.run_dir / "operator.kubeconfig"),
                    log_path=self.run_dir / "operator.log",
                    proxy=fake.url,
                    kuberay=self.kuberay,
                )
                operator.start()
                profiler = self._profiler(operator)
                try:
                    time.sleep(self.config.warmup_seconds)  # the operator idles before the window opens
                    stage = Stage(self.config, self.mode, cp, fake, operator)
                    raw = asyncio.run(measure(stage, self.manifests))
                finally:
                    operator.stop()
                if profiler is not None:
                    logger.info("profile of %s: %s", self.operator_name.value, profiler.finish())
                raw.loadgen = fake.stats()
        raw.audit = self._audit(raw)
        return raw

    def _profiler(self, operator: OperatorUnderTest) -> Profiler | None:
        """py-spy on our operator, when asked for (KubeRay is Go: py-spy cannot read it)."""
        if not self.config.profile or self.operator_name is not OperatorName.OURS or operator.pid is None:
            return None
        profiler = Profiler(operator.pid, self.run_dir)
        profiler.start()
        return profiler

    def _audit(self, raw: RawRun) -> apicounts.AuditCounts:
        log = self.run_dir / "audit.log"
        with log.open() as lines:
            counts = apicounts.AuditCounts.from_lines(lines, OPERATOR_USER, since=raw.before.at, until=raw.after.at)
        if not self.config.keep_audit_log:
            log.unlink()
        return counts
