"""Port reservation of the local environment: it binds real sockets, so it is not a unit test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from rayjob_devenv import ports
from rayjob_devenv.ports import RAY_PORTS_LOW, claim_port, port_is_free, reserve_ports
from rayjob_devenv.rayhead import free_port_block


def test_reserved_ports_are_distinct_and_free() -> None:
    reserved = reserve_ports(5)
    assert len(set(reserved)) == 5
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(10000 <= p < ephemeral_low for p in reserved), "outgoing connections could take them"
    assert all(p < RAY_PORTS_LOW for p in reserved), "a Ray head's workers could take them"
    assert all(port_is_free(p) for p in reserved)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", reserved[0]))
        listener.listen(1)
        assert not port_is_free(reserved[0])


def test_a_port_is_handed_out_once_while_its_reserver_lives() -> None:
    first = set(reserve_ports(20))
    assert not first & set(reserve_ports(20)), "a port already handed out was handed out again"
    assert all((ports.CLAIMS / str(p)).read_text() == str(os.getpid()) for p in first)


def test_a_live_process_keeps_its_claim_and_a_dead_ones_is_taken_over() -> None:
    port = next(p for p in range(RAY_PORTS_LOW - 1, 10000, -1) if not (ports.CLAIMS / str(p)).exists())
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        ports.CLAIMS.mkdir(exist_ok=True)
        (ports.CLAIMS / str(port)).write_text(str(holder.pid))
        assert not claim_port(port)
    finally:
        holder.communicate(b"")
    assert claim_port(port)  # its holder is gone


def test_ray_head_blocks_lie_above_the_reserved_ports_and_are_claimed() -> None:
    block = free_port_block(8)
    assert block == list(range(block[0], block[0] + 8))
    assert block[0] >= RAY_PORTS_LOW
    assert all(not claim_port(p) for p in block), "another reservation could take a port of the block"
