"""Fixtures of the operator under test (star-imported by tests/integration/conftest.py).

- ``operator`` (session): the real ``rayjob-operator`` process against the local control plane, with
  ``HTTP_PROXY`` pointing at the proxy that routes every ``<cluster>-head-svc.<ns>.svc.cluster.local:8265``
  to the local Ray head (no test-only code path in the operator). Tests may kill and restart it; the
  fixture hands the next test a running operator.
- ``pod_runner`` (session): runs submitter containers of kwok pods as local processes (see
  ``rayjob_devenv.podrunner``) and reports their exits in the pod status.
- ``kube`` (function): small helpers over the control plane's clients, bound to the test's namespace.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rayjob_devenv.operator_process import OperatorProcess
from rayjob_devenv.podrunner import LocalPodRunner
from rayjob_devenv.proxy import ForwardProxy
from rayjob_devenv.rayhead import find_ray_bin
from tests.integration.kube import Kube

__all__ = ["kube", "operator", "own_operator", "pod_runner"]
SHARED_SCOPE = "!rs-*"
"""The session operator serves every namespace but ``rs-*``: those belong to tests with their own operator."""


@pytest.fixture(scope="session")
def operator(
    control_plane: Any, dashboard_proxy: ForwardProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    process = OperatorProcess(
        kubeconfig=control_plane.kubeconfig,
        log_path=log,
        proxy=dashboard_proxy.url,
        args=[f"--namespace={SHARED_SCOPE}"],
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        print(f"\noperator log: {log}")


@pytest.fixture(autouse=True)
def _operator_running(request: pytest.FixtureRequest) -> None:
    """A test that killed the operator leaves it to the fixture to bring it back for the next one."""
    if "operator" in request.fixturenames:
        process: OperatorProcess = request.getfixturevalue("operator")
        if not process.running():
            process.start()


@pytest.fixture(scope="session")
def pod_runner(
    control_plane: Any, dashboard_proxy: ForwardProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPodRunner]:
    runner = LocalPodRunner.for_local_ray(
        control_plane.api_client,
        proxy_url=dashboard_proxy.url,
        log_dir=tmp_path_factory.mktemp("pods"),
        ray_bin=find_ray_bin(),
    )
    with runner:
        yield runner


@pytest.fixture
def kube(control_plane: Any, namespace: str) -> Kube:
    return Kube(control_plane, namespace)


@pytest.fixture
def own_operator(
    control_plane: Any, dashboard_proxy: ForwardProxy, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., tuple[OperatorProcess, Kube]]]:
    """Start an operator with other settings, alone in a fresh ``rs-*`` namespace: ``(operator, kube)``."""
    started: list[tuple[OperatorProcess, str]] = []

    def start(**settings: str) -> tuple[OperatorProcess, Kube]:
        namespace = f"rs-{secrets.token_hex(4)}"
        control_plane.core_v1.create_namespace({"metadata": {"name": namespace}})
        process = OperatorProcess(
            kubeconfig=control_plane.kubeconfig,
            log_path=tmp_path / f"operator-{namespace}.log",
            proxy=dashboard_proxy.url,
            settings={f"RAYJOB_OPERATOR_{k.upper()}": v for k, v in settings.items()},
            args=[f"--namespace={namespace}"],
        )
        started.append((process, namespace))
        process.start()
        return process, Kube(control_plane, namespace)

    yield start
    for process, namespace in started:
        process.stop()
        control_plane.core_v1.delete_namespace(namespace)
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            print(f"\noperator log: {process.log_path}")
