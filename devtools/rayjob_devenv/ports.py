"""Free loopback ports for the control plane's listeners.

A port is free when chosen and bound by its component a few seconds later. Three things could take it in
between, and each is kept out:

* outgoing connections: candidates lie below the kernel's ephemeral range, which ``connect()`` draws from;
* the Ray heads of the harness: they take blocks of ports from :data:`RAY_PORTS_LOW` up
  (:func:`rayjob_devenv.rayhead.free_port_block`), and their workers bind and release those ports all the
  time, so candidates lie below that;
* another reservation on this machine (two pytest workers start control planes at the same time): each port
  handed out is claimed in a shared directory for as long as the reserving process lives.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import tempfile
from pathlib import Path

LOOPBACK = "127.0.0.1"
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000
RAY_PORTS_LOW = 20000
"""Ray heads of the harness take their ports from here up (to the ephemeral range)."""
CLAIMS = Path(tempfile.gettempdir()) / "rayjob-port-claims"


def _candidate_range() -> range:
    """Ports below the Ray heads' blocks and below the kernel's ephemeral range."""
    try:
        ephemeral = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    return range(_LOWEST, max(min(ephemeral, RAY_PORTS_LOW), _LOWEST + 1000))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim_port(port: int) -> bool:
    """Claim ``port`` for this process; False if a live process holds it already (a dead one's is taken over)."""
    CLAIMS.mkdir(exist_ok=True)
    path = CLAIMS / str(port)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                owner = int(path.read_text() or "0")
            except (OSError, ValueError):
                return False  # being written by its claimant right now
            if owner == os.getpid() or _alive(owner):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a dead process's claim
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        return True
    return False


def _try_bind(host: str, port: int) -> socket.socket | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        return None
    return s


def reserve_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct ports that were free on ``host`` a moment ago and that no other reservation
    on this machine hands out while this process lives.

    Candidates are drawn at random from :func:`_candidate_range`; every port is held bound until all are
    chosen, then released for the caller's processes to bind.
    """
    held: list[socket.socket] = []
    candidates = _candidate_range()
    try:
        for port in random.sample(candidates, min(len(candidates), 50 * count)):
            if len(held) == count:
                break
            if (s := _try_bind(host, port)) is None:
                continue
            if claim_port(port):
                held.append(s)
            else:
                s.close()
        while len(held) < count:  # a crowded range: fall back to the kernel's choice
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind((host, 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True when nothing listens on ``host:port`` (a server could bind it now).

    ``SO_REUSEADDR`` is set like every server does, so connections left in TIME_WAIT by a stopped
    server do not count as "in use"; only a live listener does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen(1)
        except OSError:
            return False
        return True
