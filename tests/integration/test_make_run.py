"""``make run``'s command path, non-interactively: both modes end SUCCEEDED with the program's real output, and
nothing is left running afterwards (also when interrupted with Ctrl-C while kept up)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from rayjob_devenv.procs import pids_mentioning
from rayjob_devenv.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _command(*args: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "devtools")}
    env = {k: v for k, v in env.items() if not k.startswith(("HTTP_PROXY", "http_proxy", "RAYJOB_OPERATOR_"))}
    return [sys.executable, "-m", "rayjob_devenv", "run", *args], env


def _left_running(output: str) -> list[int]:
    dirs = re.findall(r"(/tmp/(?:rayjob-cp|rjh|rayjob-demo)-[\w-]+)", output)
    assert dirs, output
    return [pid for d in set(dirs) for pid in pids_mentioning(d)]


def test_make_run_succeeds_in_both_modes_and_leaves_nothing(tmp_path: Path) -> None:
    argv, env = _command()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Done. K8sJobMode: SUCCEEDED, HTTPMode: SUCCEEDED." in output
    assert output.count("counter: 5") == 2 and output.count("the counter is done") >= 2
    assert re.search(r"counter-k8sjob\s+SUCCEEDED\s+Complete", output), output
    assert re.search(r"counter-http\s+SUCCEEDED\s+Complete", output), output
    assert _left_running(output) == []


def test_kept_environment_stops_on_ctrl_c() -> None:
    argv, env = _command("--mode", "HTTPMode", "--keep")
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    assert process.stdout is not None
    lines: list[str] = []

    def kept_up() -> bool:
        line = process.stdout.readline()  # type: ignore[union-attr]
        lines.append(line)
        return "The environment stays up" in line or process.poll() is not None

    wait_for(kept_up, 300, "the environment to be kept up")
    assert "export KUBECONFIG=" in "".join(lines) or process.poll() is None
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    output = "".join(lines) + rest
    assert process.returncode == 0, output
    assert "HTTPMode: SUCCEEDED" in output
    assert _left_running(output) == []
