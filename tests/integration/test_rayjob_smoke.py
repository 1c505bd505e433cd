"""The whole path once per mode: operator → RayCluster → submission → the real Ray head → status."""

from __future__ import annotations

import pytest

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.podrunner import LocalPodRunner
from tests.integration.kube import Kube
from tests.integration.rayjobs import rayjob


@pytest.mark.parametrize("mode", ["HTTPMode", "K8sJobMode"])
def test_rayjob_succeeds(mode: str, kube: Kube, operator: OperatorProcess, pod_runner: LocalPodRunner) -> None:
    kube.create("rayjobs", rayjob("smoke", submissionMode=mode))
    status = kube.wait_job("smoke", ("Complete", "Failed"))["status"]
    assert (status["jobDeploymentStatus"], status["jobStatus"]) == ("Complete", "SUCCEEDED"), status
