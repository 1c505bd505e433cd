"""Free loopback ports for the control plane's listeners."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000


def _candidate_range() -> range:
    """Ports below the kernel's ephemeral range: no outgoing connection is ever given one of them.

    A port chosen with ``bind(0)`` comes from the ephemeral range, where any ``connect()`` may take it
    between our check and the component's own ``bind``.
    """
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(_LOWEST, max(low, _LOWEST + 1000))


def _try_bind(host: str, port: int) -> socket.socket | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        return None
    return s


def reserve_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct ports that were free on ``host`` a moment ago.

    Candidates are drawn at random below the ephemeral range (so concurrent instances rarely even
    try the same one); every port is held bound until all are chosen, then released for the
    caller's processes to bind.
    """
    held: list[socket.socket] = []
    candidates = _candidate_range()
    try:
        for port in random.sample(candidates, min(len(candidates), 50 * count)):
            if len(held) == count:
                break
            if (s := _try_bind(host, port)) is not None:
                held.append(s)
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
