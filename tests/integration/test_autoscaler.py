"""The in-tree autoscaler end to end: the real ``ray kuberay-autoscaler`` (Ray 2.60 from ``$RAYJOB_RAY_BIN``) runs as
the sidecar of the operator's head pod, authenticated as the cluster's ServiceAccount, against a real Ray head;
a Ray task that needs a resource only the worker group has makes it raise the group's ``replicas``, and the
operator creates the worker pod.

The Ray head stands in for the head pod: started as KubeRay starts an autoscaling head (``--no-monitor``, the
autoscaler version's switch), on loopback, with its own ports; the cluster's ``autoscalerOptions.args`` point the
sidecar at its GCS (``$KUBERAY_GEN_AUTOSCALER_START_CMD --gcs-address ...``).

Autoscaler v1 is what runs here. v2 matches Ray nodes to pods by ``RAY_CLOUD_INSTANCE_ID`` (the pod's name, which
KubeRay's head pod env sets); the stand-in head has to start before the head pod exists (its GCS port goes into
the cluster's args), so it cannot carry that name, and v2 never takes it for its head ("Ray node ... has no
instance id") and does not scale. v2's pod changes are checked in test_raycluster_parity.py and the unit tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rayjob_devenv.autoscaler_runner import SERVICE_ACCOUNT_DIR, AutoscalerRunner
from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.rayhead import RayHead, find_ray_bin
from tests.integration.fixtures_ray import job_path, ray_call, wait_for_status
from tests.integration.kube import Kube

DEMAND = "autoscale-demo"
IMAGE = "rayproject/ray:2.52.0"
TASK = f"import ray; ray.init(); print(ray.get(ray.remote(resources={{'{DEMAND}': 1}})(lambda: 'scaled').remote()))"


@pytest.fixture(scope="module")
def autoscaling_head() -> Iterator[RayHead]:
    """A head as KubeRay runs the head of an autoscaling cluster (autoscaler v1): no monitor of its own."""
    head = RayHead(
        num_cpus=1,
        env={"RAY_enable_autoscaler_v2": "0"},
        extra_args=("--no-monitor",),
    )
    head.start()
    try:
        yield head
    finally:
        head.stop()
        assert not head.processes(), f"processes of the Ray head survived its stop: {head.processes()}"


def autoscaling_cluster(name: str, gcs_address: str) -> dict[str, Any]:
    worker = {
        "name": "ray-worker",
        "image": IMAGE,
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}},
    }
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": name},
        "spec": {
            "rayVersion": "2.52.0",
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {
                "version": "v1",
                "idleTimeoutSeconds": 600,
                "args": [f"$KUBERAY_GEN_AUTOSCALER_START_CMD --gcs-address {gcs_address}"],
            },
            "headGroupSpec": {
                "rayStartParams": {"num-cpus": "1"},
                "template": {"spec": {"containers": [{"name": "ray-head", "image": IMAGE}]}},
            },
            "workerGroupSpecs": [
                {
                    "groupName": "demo",
                    "replicas": 0,
                    "minReplicas": 0,
                    "maxReplicas": 2,
                    "resources": {DEMAND: "1"},
                    "template": {"spec": {"containers": [worker]}},
                }
            ],
        },
    }


def _replicas(kube: Kube, name: str) -> int:
    return int(((kube.get("rayclusters", name) or {})["spec"]["workerGroupSpecs"][0]).get("replicas", 0))


def test_the_real_autoscaler_scales_the_worker_group_up_and_the_operator_follows(
    control_plane: Any, operator: OperatorProcess, kube: Kube, autoscaling_head: RayHead, tmp_path: Path
) -> None:
    gcs = f"127.0.0.1:{autoscaling_head.ports['port']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "HTTP", "http", "NO_PROXY", "no_proxy"))}
    runner = AutoscalerRunner(
        control_plane.api_client, namespaces=[kube.ns], ray_bin=find_ray_bin(), env=env, log_dir=tmp_path / "pods"
    )
    submission = f"autoscale-{uuid.uuid4().hex[:8]}"
    with runner:
        kube.create("rayclusters", autoscaling_cluster("auto", gcs))
        head = kube.wait(
            lambda: next(iter(kube.running_pods("ray.io/cluster=auto,ray.io/node-type=head")), None),
            "the head pod to run",
        )
        log = lambda: runner.log_of(kube.ns, head.metadata.name, "autoscaler")  # noqa: E731
        kube.wait(lambda: "Starting the autoscaler" in log(), "the autoscaler sidecar to reach the Ray head", 90)
        answer = ray_call(
            autoscaling_head, "POST", "/api/jobs/", {"entrypoint": f'python -c "{TASK}"', "submission_id": submission}
        )
        assert answer.status == 200, answer
        try:
            kube.wait(lambda: _replicas(kube, "auto") >= 1 or None, "the autoscaler to raise replicas", 120)
            workers = kube.wait(
                lambda: kube.running_pods("ray.io/cluster=auto,ray.io/group=demo") or None,
                "the operator to create the worker the autoscaler asked for",
            )
        finally:
            ray_call(autoscaling_head, "POST", job_path(submission, "/stop"))
        assert len(workers) == _replicas(kube, "auto") == 1
        assert "Autoscaler is submitting the following patch" in log(), log()[-3000:]
        assert "'idle_timeout_minutes': 10.0" in log()  # autoscalerOptions.idleTimeoutSeconds: 600, read from the CR
        assert "403" not in log() and "Forbidden" not in log(), log()[-3000:]
        wait_for_status(autoscaling_head, submission, {"STOPPED", "FAILED", "SUCCEEDED"})
    assert not Path(SERVICE_ACCOUNT_DIR).exists()  # the token was only ever visible to the sidecar
