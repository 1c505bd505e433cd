"""One real Ray head on loopback for tests: private temp dir, every port chosen free, nothing left behind.

Ray comes from its own venv (``scripts/bootstrap.sh``: ``ray[default]==2.60.0`` in
``~/.cache/rayjob-operator/ray-2.60.0``), found through ``RAYJOB_RAY_BIN``.

Stopping never uses ``ray stop`` (it would kill every Ray on the machine). Every process of the head
carries a marker in its environment; :meth:`RayHead.stop` signals the ``ray start`` process group,
then finds and kills whatever still carries the marker (workers rename themselves ``ray::...`` and job
drivers run in their own sessions, so neither a process group nor a command line finds them all).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rayjob_devenv.ports import RAY_PORTS_LOW, claim_port

RAY_VERSION = "2.60.0"
ENV_RAY_BIN = "RAYJOB_RAY_BIN"
MARKER_ENV = "RAYJOB_DEVENV_RAY_HEAD"
NAMED_PORTS = (
    "port",
    "dashboard-port",
    "ray-client-server-port",
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "metrics-export-port",
    "node-manager-port",
    "object-manager-port",
    "runtime-env-agent-port",
)
EXTRA_PORT_ENVS = ("AUTOSCALER_METRIC_PORT", "DASHBOARD_METRIC_PORT")  # fixed defaults 44217/44227 otherwise
WORKER_PORTS = 60
# Inherited variables that would change how the head behaves (proxies break Ray's gRPC, a token would
# switch auth on, an address would make `ray start` join another cluster).
SCRUBBED_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "RAY_ADDRESS",
    "RAY_AUTH_MODE",
    "RAY_AUTH_TOKEN",
    "RAY_AUTH_TOKEN_PATH",
)
LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1
REAP_WAIT = 10.0


class RayHeadError(RuntimeError):
    """The head could not be found, started or stopped."""


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rayjob-operator"


def find_ray_bin(environ: Mapping[str, str] | None = None) -> Path:
    """The bin dir holding ``ray``: ``$RAYJOB_RAY_BIN``, else the bootstrap venv; fails loudly otherwise."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_RAY_BIN)
    if configured:
        if (Path(configured) / "ray").is_file():
            return Path(configured)
        raise RayHeadError(f"{ENV_RAY_BIN}={configured} holds no 'ray' executable; run scripts/bootstrap.sh")
    fallback = cache_root() / f"ray-{RAY_VERSION}" / "bin"
    if (fallback / "ray").is_file():
        return fallback
    raise RayHeadError(
        f"Ray {RAY_VERSION} is not installed: run scripts/bootstrap.sh (it installs ray[default]=={RAY_VERSION} "
        f"into {fallback.parent} and exports {ENV_RAY_BIN}), or set {ENV_RAY_BIN} to a bin dir holding 'ray'"
    )


def free_port_block(size: int, low: int = RAY_PORTS_LOW, high: int = 32000, tries: int = 200) -> list[int]:
    """``size`` consecutive ports, each free on all interfaces, below the ephemeral range and above the ports
    the control planes reserve (:mod:`rayjob_devenv.ports`)."""
    for _ in range(tries):
        base = random.randrange(low, high - size)
        block = range(base, base + size)
        if all(_port_is_free(port) for port in block) and all(claim_port(port) for port in block):
            return list(block)  # a block partly claimed stays so: other heads simply pick elsewhere
    raise RayHeadError(f"found no {size} consecutive free ports in [{low}, {high}) after {tries} tries")


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def _in_private_home(command: list[str], home: Path) -> list[str]:
    """Run ``command`` in a private mount namespace in which ``home`` is bind-mounted over /home (needs root)."""
    home.mkdir(parents=True, exist_ok=True)
    script = 'mount --bind "$0" /home && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(home), *command]


def _die_with_parent() -> None:
    """preexec_fn: the head gets SIGKILL when the process that started it dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@dataclass
class RayHead:
    """A Ray head started with ``ray start --head --block``. Use :meth:`start`/:meth:`stop` or ``with``."""

    num_cpus: int = 2
    env: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    start_timeout: float = 90.0
    ray_bin: Path | None = None
    temp_dir: Path | None = None
    ports: dict[str, int] = field(default_factory=dict)
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    num_gpus: float = 0
    resources: Mapping[str, float] = field(default_factory=dict)
    """Custom Ray resources the head declares (a stand-in for a cluster's rayStartParams)."""
    extra_args: tuple[str, ...] = ()
    """More ``ray start`` flags (e.g. ``--no-monitor``, as KubeRay starts the head of an autoscaling cluster)."""
    home_dir: Path | None = None
    """If set, the head sees this directory as ``/home`` (a private mount namespace), so files a pod mounts
    under /home (e.g. a ConfigMap at /home/ray/samples) can be placed where its entrypoint expects them."""
    _process: subprocess.Popen[bytes] | None = None

    @property
    def dashboard_port(self) -> int:
        return self.ports["dashboard-port"]

    @property
    def address(self) -> str:
        """``127.0.0.1:<dashboard port>`` (no scheme, like KubeRay's dashboard URL)."""
        return f"127.0.0.1:{self.dashboard_port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def log_path(self) -> Path:
        if self.temp_dir is None:
            raise RayHeadError("the head was not started")
        return self.temp_dir / "ray-start.log"

    def __enter__(self) -> RayHead:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- start ----------------------------------------------------------------------------------------

    def start(self) -> None:
        ray_bin = self.ray_bin or find_ray_bin()
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rjh-", dir="/tmp"))  # short: unix socket paths
        block = free_port_block(len(NAMED_PORTS) + len(EXTRA_PORT_ENVS) + WORKER_PORTS)
        self.ports = dict(zip(NAMED_PORTS + EXTRA_PORT_ENVS, block, strict=False))
        workers = block[len(self.ports) :]
        flags = [*self._flags(workers[0], workers[-1]), *self.extra_args]
        command = [str(ray_bin / "ray"), "start", "--head", "--block", *flags]
        if self.home_dir is not None:
            command = _in_private_home(command, self.home_dir)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(ray_bin),
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (single-threaded at this point in practice)
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _flags(self, min_worker: int, max_worker: int) -> list[str]:
        ports = [f"--{name}={self.ports[name]}" for name in NAMED_PORTS]
        return [
            *ports,
            f"--min-worker-port={min_worker}",
            f"--max-worker-port={max_worker}",
            f"--num-cpus={self.num_cpus}",
            f"--num-gpus={self.num_gpus:g}",
            *([f"--resources={json.dumps(dict(self.resources))}"] if self.resources else []),
            f"--object-store-memory={100 * 1024 * 1024}",
            f"--temp-dir={self.temp_dir}",
            "--include-dashboard=true",
            f"--node-ip-address={LOOPBACK}",
            f"--dashboard-host={LOOPBACK}",
            "--disable-usage-stats",
            "--log-style=record",
            "--log-color=false",
        ]

    def _environment(self, ray_bin: Path) -> dict[str, str]:
        environment = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
        environment.update({name: str(self.ports[name]) for name in EXTRA_PORT_ENVS})
        environment.update(
            {
                MARKER_ENV: self.marker,
                "PATH": f"{ray_bin}{os.pathsep}{environment.get('PATH', '')}",
                "RAY_USAGE_STATS_ENABLED": "0",
                # Ray swaps a loopback node address for the primary interface's unless it runs "local only":
                # with this, GCS, raylet, agents and workers bind to 127.0.0.1 as well as the dashboard.
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                "RAY_AUTH_MODE": "token" if self.token else "disabled",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.token:
            environment["RAY_AUTH_TOKEN"] = self.token
        environment.update(self.env)
        return environment

    def _wait_until_ready(self) -> None:
        """Until ``GET /api/version`` answers 200, the process dies, or the deadline passes."""
        deadline = time.monotonic() + self.start_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                code = None if self._process is None else self._process.returncode
                raise RayHeadError(f"`ray start` exited with {code} before the dashboard answered:\n{self.log_tail()}")
            last = self._probe_version()
            if last == "ok":
                return
            time.sleep(0.2)
        raise RayHeadError(
            f"the Ray dashboard at {self.url} did not answer GET /api/version within {self.start_timeout:g}s "
            f"(last: {last}):\n{self.log_tail()}"
        )

    def _probe_version(self) -> str:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.url + "/api/version", headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=2) as reply:
                json.loads(reply.read())
                return "ok"
        except urllib.error.HTTPError as error:
            with error:
                return f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return str(error)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, RayHeadError):
            return "(no ray start log)"
        return "\n".join(text.splitlines()[-lines:])

    # --- stop -----------------------------------------------------------------------------------------

    def stop(self, timeout: float = 20.0, polite: float = 2.0) -> None:
        """Stop every process of this head and remove its temp dir. Raises if any process survives.

        SIGTERM to the ``ray start`` group and every marked process, ``polite`` seconds of grace, then
        SIGKILL until none is left (bounded by ``timeout``).
        """
        signalled = set(self.processes())
        if self._process is not None:
            signalled |= _descendants(self._process.pid)  # zombies too: no marker is readable in them
        if self._process is not None:
            _signal_group(self._process.pid, signal.SIGTERM)
        self._signal_all(signal.SIGTERM)
        if not self._wait_gone(polite):
            if self._process is not None:
                _signal_group(self._process.pid, signal.SIGKILL)
            self._kill_leftovers(timeout)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=timeout)
            self._process = None
        _wait_reaped(signalled, REAP_WAIT)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _signal_all(self, sig: signal.Signals) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def _wait_gone(self, seconds: float) -> bool:
        """Whether every process of the head is gone within ``seconds``."""
        deadline = time.monotonic() + seconds
        while self.processes() or (self._process is not None and self._process.poll() is None):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _kill_leftovers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._signal_all(signal.SIGKILL)
            if self._wait_gone(0.5):
                return
            if time.monotonic() >= deadline:
                raise RayHeadError(f"Ray head processes survived SIGKILL for {timeout:g}s: {self.processes()}")

    def listening_addresses(self) -> set[str]:
        """The local addresses (``ip:port``) on which the head's processes listen (TCP) or are bound (UDP)."""
        inodes = _socket_inodes(self.processes())
        return {address for address, inode in _bound_sockets() if inode in inodes}

    def processes(self) -> list[int]:
        """PIDs of live processes of this head: its marker in their environment or its temp dir in argv."""
        needles = [f"{MARKER_ENV}={self.marker}".encode()]
        if self.temp_dir is not None:
            needles.append(str(self.temp_dir).encode())
        return [pid for pid in _live_pids() if _matches(pid, needles)]


def _socket_inodes(pids: list[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd.path)
                    if target.startswith("socket:["):
                        inodes.add(target[len("socket:[") : -1])
    return inodes


def _bound_sockets() -> Iterator[tuple[str, str]]:
    """(address, inode) of every listening TCP socket and bound UDP socket of the machine (IPv4 and IPv6)."""
    tables = (("tcp", True), ("tcp6", True), ("udp", False), ("udp6", False))
    for table, tcp in tables:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                listening = fields[3] == "0A"  # TCP_LISTEN; UDP sockets have no listen state
                if listening or not tcp:
                    yield _decode_address(fields[1]), fields[9]


def _decode_address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:  # four little-endian 32-bit words
        ip = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return f"{ip}:{int(port, 16)}"


def _wait_reaped(pids: set[int], seconds: float) -> None:
    """Give init a moment to reap the head's orphans, so that no zombie shows in ``ps`` afterwards.

    Zombies hold no resources, so running out of time here is not an error.
    """
    deadline = time.monotonic() + seconds
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)


def _descendants(root: int) -> set[int]:
    """PIDs below ``root`` in the process tree, zombies included."""
    children: dict[int, list[int]] = {}
    for pid in _live_pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[-1].split()[1])
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = [root]
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _live_pids() -> Iterator[int]:
    own = os.getpid()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != own:
            yield int(entry.name)


def _matches(pid: int, needles: list[bytes]) -> bool:
    for name in ("environ", "cmdline"):
        try:
            data = Path(f"/proc/{pid}/{name}").read_bytes()
        except OSError:
            continue
        if _is_zombie(pid):
            return False
        if any(needle in data for needle in needles):
            return True
    return False


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")
