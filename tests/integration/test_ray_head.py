"""The Ray heads of the harness stay on loopback: no socket on the machine's other interfaces."""

from __future__ import annotations

import ipaddress

from rayjob_devenv.rayhead import RayHead
from tests.integration.fixtures_ray import ray_call
from tests.integration.rayjobs import sleeping


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def _off_loopback(addresses: set[str]) -> set[str]:
    return {a for a in addresses if not _is_loopback(a)}


def test_every_process_of_the_head_binds_to_loopback_only(ray_head: RayHead, submission_id: str) -> None:
    # A job makes the head start its job agent's supervisor and a worker: they must stay on loopback too.
    answer = ray_call(ray_head, "POST", "/api/jobs/", {"entrypoint": sleeping(0.5), "submission_id": submission_id})
    assert answer.status == 200, answer
    addresses = ray_head.listening_addresses()
    assert len(addresses) >= 5, f"expected the head's GCS, raylet, dashboard and agents to listen: {addresses}"
    assert _off_loopback(addresses) == set(), f"sockets on other interfaces: {sorted(_off_loopback(addresses))}"
