"""The eight KubeRay samples, applied unchanged with kubectl, reach their terminal state on the local control plane.

Their clusters are played by kwok; their dashboards are routed to one Ray head that stands in for every sample
head: it declares what the samples' head groups declare (3 CPUs, 2 GPUs, resource1/resource2, as
``ray-job.resources.yaml`` asserts) and sees the samples' ConfigMap code where their head pods mount it
(``/home/ray/samples``), projected by the pod runner as a kubelet would mount the volume.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import stop_job
from tests.integration.kube import Kube

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "kuberay"
RESULTS: list[tuple[str, str, str, str, float]] = []


@pytest.fixture(scope="module")
def samples_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    head = RayHead(
        num_cpus=3,
        num_gpus=2,
        resources={"resource1": 2, "resource2": 3},
        home_dir=tmp_path_factory.mktemp("home"),
        env={"RAY_JOB_START_TIMEOUT_SECONDS": "60"},
    )
    head.start()
    try:
        yield head
    finally:
        head.stop()
        assert not head.processes(), "processes of the samples' Ray head survived its stop"
        if RESULTS:
            rows = "\n".join(f"| {s} | {d} | {j} | {r} | {t:.1f} |" for s, d, j, r, t in RESULTS)
            print(f"\n| sample | deployment status | job status | reason | seconds |\n|---|---|---|---|---|\n{rows}")


@pytest.fixture
def sample_env(
    kube: Kube,
    samples_head: RayHead,
    dashboard_proxy: ForwardProxy,
    pod_runner: LocalPodRunner,
    operator: OperatorProcess,
) -> Iterator[Kube]:
    route = dashboard_proxy.prepend_route(rf".*-head-svc\.{kube.ns}\.svc\.cluster\.local:8265", samples_head.address)
    assert samples_head.home_dir is not None
    pod_runner.project_head_volumes(kube.ns, samples_head.home_dir)
    try:
        yield kube
    finally:
        dashboard_proxy.remove_route(route)


def apply(kube: Kube, *paths: Path) -> str:
    """``kubectl create`` the files (a sample keeps its generateName); the RayJob's name."""
    names = []
    for path in paths:
        result = kube.cp.run_kubectl("create", "-n", kube.ns, "-f", str(path), "-o", "name")
        assert result.returncode == 0, result.stderr
        names += [line.split("/", 1)[1] for line in result.stdout.split() if line.startswith("rayjob")]
    (name,) = names
    return name


def record(sample: str, status: dict[str, Any], started: float) -> None:
    RESULTS.append(
        (
            sample,
            status.get("jobDeploymentStatus", ""),
            status.get("jobStatus", ""),
            status.get("reason", ""),
            time.monotonic() - started,
        )
    )


def finish(kube: Kube, sample: str, name: str, started: float, timeout: float = 180) -> dict[str, Any]:
    status = kube.wait_job(name, ("Complete", "Failed"), timeout=timeout)["status"]
    record(sample, status, started)
    return status


def succeeded(status: dict[str, Any]) -> None:
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status


@pytest.mark.parametrize(
    "sample",
    [
        "ray-job.sample.yaml",
        "ray-job.resources.yaml",
        "ray-job.sidecar-mode.yaml",
        "ray-job.light-weight-submitter.yaml",
    ],
)
def test_sample_succeeds(sample: str, sample_env: Kube) -> None:
    started = time.monotonic()
    name = apply(sample_env, SAMPLES / sample)
    succeeded(finish(sample_env, sample, name, started))


def test_shutdown_sample_deletes_its_cluster(sample_env: Kube) -> None:
    started = time.monotonic()
    name = apply(sample_env, SAMPLES / "ray-job.shutdown.yaml")
    status = finish(sample_env, "ray-job.shutdown.yaml", name, started)
    succeeded(status)
    sample_env.wait_gone("rayclusters", status["rayClusterName"], timeout=30)  # ttlSecondsAfterFinished: 10


def test_deletion_rules_sample_deletes_workers_first(sample_env: Kube) -> None:
    started = time.monotonic()
    name = apply(sample_env, SAMPLES / "ray-job.deletion-rules.yaml")
    status = finish(sample_env, "ray-job.deletion-rules.yaml", name, started)
    succeeded(status)
    workers = f"ray.io/cluster={status['rayClusterName']},ray.io/node-type=worker"
    sample_env.wait(lambda: sample_env.pods(workers) == [], "DeleteWorkers after 30 s", timeout=60)
    assert sample_env.get("rayclusters", status["rayClusterName"]) is not None  # DeleteCluster is due at 60 s


def test_use_existing_raycluster_sample(sample_env: Kube) -> None:
    started = time.monotonic()
    cluster = ROOT / "e2e" / "manifests" / "raycluster-kuberay.yaml"
    result = sample_env.cp.run_kubectl("create", "-n", sample_env.ns, "-f", str(cluster))
    assert result.returncode == 0, result.stderr
    name = apply(sample_env, SAMPLES / "ray-job.use-existing-raycluster.yaml")
    status = finish(sample_env, "ray-job.use-existing-raycluster.yaml", name, started)
    succeeded(status)
    assert sample_env.get("rayclusters", "ray-cluster-kuberay") is not None


def test_kueue_toy_sample_is_suspended_resumed_and_stopped(sample_env: Kube, samples_head: RayHead) -> None:
    """Its entrypoint loops for 600 s; here it goes through a Kueue-style preemption, then is stopped."""
    started = time.monotonic()
    name = apply(sample_env, SAMPLES / "ray-job.kueue-toy-sample.yaml")
    assert name.startswith("rayjob-sample-")

    def running() -> dict[str, Any] | None:
        status = (sample_env.get("rayjobs", name) or {}).get("status") or {}
        return status if status.get("jobStatus") == "RUNNING" else None

    first = sample_env.wait(running, "the loop to run", timeout=120)
    sample_env.patch("rayjobs", name, {"spec": {"suspend": True}})  # what Kueue does on preemption
    sample_env.wait_job(name, "Suspended", timeout=60)
    sample_env.patch("rayjobs", name, {"spec": {"suspend": False}})  # re-admitted
    second = sample_env.wait(running, "the loop to run again on a new cluster", timeout=120)
    assert second["rayClusterName"] != first["rayClusterName"]
    stop_job(samples_head, second["jobId"])
    status = finish(sample_env, "ray-job.kueue-toy-sample.yaml", name, started)
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "STOPPED")
    sample_env.wait_gone("rayclusters", status["rayClusterName"], timeout=30)  # shutdown with ttl 10


def test_samples_are_unchanged_copies() -> None:
    for path in sorted(SAMPLES.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert any(d["kind"] == "RayJob" for d in docs), path.name
    assert len(list(SAMPLES.glob("*.yaml"))) == 8
