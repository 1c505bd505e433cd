"""Nothing outlives a control plane: not after stop(), not after Ctrl-C, not after SIGKILL of Python.

Each test starts its own instance next to the session's one (so it also proves that two instances
share the machine without conflicts).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rayjob_devenv.binaries import find_bin_dir
from rayjob_devenv.controlplane import ControlPlaneError, LocalControlPlane
from rayjob_devenv.ports import port_is_free
from rayjob_devenv.procs import pid_alive, pids_mentioning
from rayjob_devenv.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _leftovers(data_dir: str, pids: list[int], ports: list[int]) -> list[str]:
    """Everything of one instance that is still around (empty when it is fully gone)."""
    return (
        [f"pid {p} alive" for p in pids if pid_alive(p)]
        + [f"process {p} mentions {data_dir}" for p in pids_mentioning(data_dir)]
        + [f"port {p} has a listener" for p in ports if not port_is_free(p)]
    )


def test_second_instance_stops_without_leftovers(control_plane: Any) -> None:
    cp = LocalControlPlane()
    with cp:
        pids = list(cp.pids().values())
        ports = cp.ports.all()
        assert sorted(cp.pids()) == sorted(
            ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
        )
        assert cp.server != control_plane.server
        assert not set(ports) & set(control_plane.cp.ports.all())
        assert all(pid_alive(p) for p in pids)
        assert not any(port_is_free(p) for p in ports), "every port should have a listener while running"
    assert cp.stopped
    assert _leftovers(str(cp.data_dir), pids, ports) == []
    assert not cp.data_dir.exists()


@pytest.fixture
def child_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``python -m rayjob_devenv up`` in a child Python; yields it once its cluster is ready."""
    ready = tmp_path / "ready.json"
    log = (tmp_path / "up.log").open("w+")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "devtools"), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-m", "rayjob_devenv", "up", "--no-crds", "--ready-file", str(ready)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )

    def child_output() -> str:
        log.seek(0)
        return log.read()[-4000:]

    def child_died() -> str | None:
        code = child.poll()
        return None if code is None else f"the child exited with {code}:\n{child_output()}"

    try:
        wait_for(lambda: ready.exists() and ready.read_text(), 120, "the child's control plane", abort=child_died)
        yield child, json.loads(ready.read_text())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        log.close()


def test_ctrl_c_in_the_child_tears_everything_down(
    child_up: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    child, info = child_up
    pids, ports = list(info["pids"].values()), info["ports"]
    assert all(pid_alive(p) for p in pids)
    child.send_signal(signal.SIGINT)
    assert child.wait(60) == 0
    assert _leftovers(info["data_dir"], pids, ports) == []
    assert not Path(info["data_dir"]).exists()


def test_sigkill_of_the_child_python_kills_its_components(
    child_up: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    child, info = child_up
    pids, ports = list(info["pids"].values()), info["ports"]
    child.kill()  # no atexit, no finalizer: only PR_SET_PDEATHSIG can clean up
    child.wait(10)
    try:
        wait_for(
            lambda: _leftovers(info["data_dir"], pids, ports) == [],
            15,
            "the kernel to kill the components of a SIGKILLed parent",
        )
    finally:
        shutil.rmtree(info["data_dir"], ignore_errors=True)  # nobody else will remove it


def test_a_component_failing_at_startup_is_named_and_cleaned_up(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for binary in find_bin_dir().iterdir():
        (bin_dir / binary.name).symlink_to(binary)
    (bin_dir / "kwok").unlink()
    (bin_dir / "kwok").write_text("#!/bin/sh\necho 'simulated kwok failure' >&2\nexit 7\n")
    (bin_dir / "kwok").chmod(0o755)
    cp = LocalControlPlane(bin_dir=bin_dir, base_dir=tmp_path)
    with pytest.raises(ControlPlaneError) as info:
        cp.start()
    message = str(info.value)
    assert message.startswith("kwok: gave up waiting for ")
    assert "kwok exited (exited with code 7)" in message
    assert "simulated kwok failure" in message
    assert str(cp.data_dir) in message
    assert cp.stopped
    assert _leftovers(str(cp.data_dir), list(cp.pids().values()), cp.ports.all()) == []
    assert (cp.data_dir / "logs" / "kwok.log").exists(), "the logs the message points to are kept"
