"""Fixtures of the e2e tests: a kind cluster only, the installed operator, a namespace per test.

Run ``e2e/run.sh setup`` first (images, kind cluster, chart), then ``pytest e2e``. The kube context
is ``--kube-context`` / ``$E2E_KUBE_CONTEXT``, else the kubeconfig's current one; anything not named
``kind-*`` is refused before a single request is sent.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest

from e2e.support import NAMESPACE_GONE, OPERATOR_READY, Kube, wait_for

ALLOWED_CONTEXT = re.compile(r"kind-.+")
OPERATOR_NAMESPACE = os.environ.get("E2E_OPERATOR_NAMESPACE", "rayjob-system")
OPERATOR_SELECTOR = "app.kubernetes.io/name=rayjob-operator"
k8s: Any = kubernetes  # the client is untyped


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--kube-context", default=os.environ.get("E2E_KUBE_CONTEXT"), help="a kind-* context")


def _context(config: pytest.Config) -> str:
    chosen = config.getoption("--kube-context")
    if chosen:
        return str(chosen)
    _, current = k8s.config.list_kube_config_contexts()
    return str(current["name"])


@pytest.fixture(scope="session")
def kube(request: pytest.FixtureRequest) -> Iterator[Kube]:
    context = _context(request.config)
    if not ALLOWED_CONTEXT.fullmatch(context):
        pytest.exit(f"refusing kube context {context!r}: e2e tests run only on kind-* contexts", returncode=2)
    configuration = k8s.client.Configuration()
    k8s.config.load_kube_config(context=context, client_configuration=configuration)
    client = k8s.client.ApiClient(configuration)
    try:
        yield Kube(context, client)
    finally:
        client.close()


@pytest.fixture(scope="session")
def operator(kube: Kube) -> dict[str, Any]:
    """The operator installed by the chart (e2e/run.sh setup), once Available."""

    def available() -> dict[str, Any] | None:
        found = kube.apps_v1.list_namespaced_deployment(OPERATOR_NAMESPACE, label_selector=OPERATOR_SELECTOR).items
        if not found:
            raise LookupError(f"no rayjob-operator Deployment in {OPERATOR_NAMESPACE}: run e2e/run.sh setup")
        deployment = found[0]
        ready = any(c.type == "Available" and c.status == "True" for c in deployment.status.conditions or [])
        return {"name": deployment.metadata.name, "namespace": OPERATOR_NAMESPACE} if ready else None

    return wait_for(available, OPERATOR_READY, "the rayjob-operator Deployment to be Available")


@pytest.fixture
def namespace(kube: Kube, request: pytest.FixtureRequest) -> Iterator[str]:
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"e2e-{stem}-{secrets.token_hex(3)}"
    kube.core_v1.create_namespace({"metadata": {"name": name, "labels": {"rayjob-operator/e2e": "true"}}})
    yield name
    if os.environ.get("E2E_KEEP") == "1":
        return
    kube.core_v1.delete_namespace(name)

    def gone() -> bool:
        try:
            kube.core_v1.read_namespace(name)
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return True
            raise
        return False

    wait_for(gone, NAMESPACE_GONE, f"namespace {name} to be deleted")
