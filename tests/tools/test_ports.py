"""Port reservation of the local environment: it binds real sockets, so it is not a unit test."""

from __future__ import annotations

import socket
from pathlib import Path

from rayjob_devenv.ports import port_is_free, reserve_ports


def test_reserved_ports_are_distinct_and_free() -> None:
    ports = reserve_ports(5)
    assert len(set(ports)) == 5
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(10000 <= p < ephemeral_low for p in ports), "outgoing connections could take them"
    assert all(port_is_free(p) for p in ports)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports[0]))
        listener.listen(1)
        assert not port_is_free(ports[0])
