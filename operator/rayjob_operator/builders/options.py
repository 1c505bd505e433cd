"""Operator-level switches the RayCluster child builders take (KubeRay's operator env knobs, as values)."""

from __future__ import annotations

import dataclasses

from rayjob_operator import __version__, constants


@dataclasses.dataclass(frozen=True)
class PodOptions:
    """How the head/worker pods and the head Service are built; one value per operator, passed in."""

    cluster_domain: str = constants.DEFAULT_CLUSTER_DOMAIN
    """DNS domain of the cluster (KubeRay's ``CLUSTER_DOMAIN``), used in the head Service FQDN."""
    inject_init_container: bool = True
    """Give worker pods the ``wait-gcs-ready`` init container (``ENABLE_INIT_CONTAINER_INJECTION``)."""
    inject_probes: bool = True
    """Give Ray containers readiness/liveness probes when they have none (``ENABLE_PROBES_INJECTION``)."""
    head_cluster_ip_service: bool = False
    """Give the head Service a cluster IP instead of making it headless (``ENABLE_RAY_HEAD_CLUSTER_IP_SERVICE``)."""
    operator_version: str = __version__
    """Reported to Ray's usage stats in ``RAY_USAGE_STATS_EXTRA_TAGS`` (head pod only)."""
