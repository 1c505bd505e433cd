"""Fixtures of the real Kueue (star-imported by tests/integration/conftest.py).

- ``kueue`` (session, started on first use): Kueue's manager from ``hack/kueue/build.sh`` on this worker's
  control plane (see ``rayjob_devenv.kueue``). Its RayJob webhooks only see namespaces labelled
  ``rayjob-devenv/kueue=true``, so the rest of the suite on this worker never depends on the Kueue process;
  Kueue's own kinds are admitted everywhere. A Kueue that cannot be built or started fails the test.
- ``kueue_kube`` (function): a fresh namespace with that label, and the ``Kube`` helpers bound to it.
- ``queues`` (function): the test's Kueue objects (``tests.integration.kueue_objects.Queues``), removed after.

The version the running Kueue reports, and the timings the Kueue tests measure, go to ``user_properties``;
tests/conftest.py prints them in the session summary (also from pytest-xdist workers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rayjob_devenv.kueue import LocalKueue
from tests.integration.fixtures_controlplane import _namespace_name
from tests.integration.kube import Kube
from tests.integration.kueue_objects import Queues

__all__ = ["_kueue_version_reported", "kueue", "kueue_kube", "queues"]
NAMESPACE_LABEL = "rayjob-devenv/kueue"


@pytest.fixture(scope="session")
def kueue(control_plane: Any) -> Iterator[LocalKueue]:
    with LocalKueue(control_plane.cp, namespace_selector={"matchLabels": {NAMESPACE_LABEL: "true"}}) as running:
        yield running


@pytest.fixture(autouse=True)
def _kueue_version_reported(request: pytest.FixtureRequest) -> None:
    if "kueue" in request.fixturenames:
        running: LocalKueue = request.getfixturevalue("kueue")
        line = f"Kueue {running.version} ({running.binary}) started in {running.startup_seconds:.1f}s"
        request.node.user_properties.append(("kueue", line))


@pytest.fixture
def kueue_kube(control_plane: Any, kueue: LocalKueue, request: pytest.FixtureRequest) -> Iterator[Kube]:
    name = _namespace_name(request.node.name)
    labels = {"rayjob-devenv/test": "true", NAMESPACE_LABEL: "true"}
    control_plane.core_v1.create_namespace({"metadata": {"name": name, "labels": labels}})
    yield Kube(control_plane, name)
    control_plane.core_v1.delete_namespace(name)


@pytest.fixture
def queues(kueue_kube: Kube) -> Iterator[Queues]:
    objects = Queues(kueue_kube)
    yield objects
    objects.cleanup()
