"""The composition root and the only module that uses kopf.

kopf provides login, probes and the process lifecycle; the watch streams are the controller's own
(``runtime.informer``: one stream per kind, parsed once, with no per-event framework work). kopf has no
resource handler, so it never writes anything to our objects: no progress annotations, no diff-base, no
finalizer of its own (``ray.io/rayjob-finalizer`` is managed by the RayJob reconciler itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import kopf

from rayjob_operator.config import OperatorConfig
from rayjob_operator.k8s.client import KubeClient
from rayjob_operator.k8s.credentials import ApiCredentials
from rayjob_operator.reconcilers.controller import Controller
from rayjob_operator.runtime.namespaces import NamespaceScope

logger = logging.getLogger("rayjob_operator")
CONTROLLER_KEY = "controller"


def _as_bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _credentials(info: kopf.ConnectionInfo) -> ApiCredentials:
    return ApiCredentials(
        server=info.server,
        ca_path=os.fspath(info.ca_path) if isinstance(info.ca_path, str | os.PathLike) else None,  # type: ignore[arg-type]
        ca_data=_as_bytes(info.ca_data),
        insecure=bool(info.insecure),
        token=info.token,
        scheme=info.scheme or "Bearer",
        username=info.username,
        password=info.password,
        certificate_path=os.fspath(info.certificate_path)
        if isinstance(info.certificate_path, str | os.PathLike)
        else None,  # type: ignore[arg-type]
        certificate_data=_as_bytes(info.certificate_data),
        private_key_path=os.fspath(info.private_key_path)
        if isinstance(info.private_key_path, str | os.PathLike)
        else None,  # type: ignore[arg-type]
        private_key_data=_as_bytes(info.private_key_data),
    )


async def load_credentials() -> ApiCredentials:
    """The same credentials kopf uses (kubeconfig, in-cluster service account, exec plugins)."""
    settings = kopf.OperatorSettings()
    info = await asyncio.get_running_loop().run_in_executor(
        None, lambda: kopf.login_via_client(logger=logger, settings=settings)
    )
    if info is None:
        raise kopf.PermanentError("No Kubernetes credentials found (no kubeconfig, not in a cluster).")
    return _credentials(info)


def _scope() -> NamespaceScope:
    patterns = os.environ.get("RAYJOB_OPERATOR_NAMESPACES", "")
    return NamespaceScope(tuple(p for p in patterns.split(";") if p))


@kopf.on.startup()
async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = False  # our reconcilers post their own events
    settings.persistence.finalizer = "rayjob-operator.ray.io/kopf-unused"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="rayjob-operator.ray.io")
    settings.scanning.disabled = True  # kopf serves no resource: it needs no namespace or CRD scanning
    scope = _scope()
    config = OperatorConfig.from_env(os.environ)
    controller = Controller(config, KubeClient(load_credentials), scope)
    await controller.start()
    memo[CONTROLLER_KEY] = controller


@kopf.on.cleanup()
async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    controller: Controller | None = memo.get(CONTROLLER_KEY)
    if controller is not None:
        await controller.stop()
