"""Where the control plane's binaries are: ``$RAYJOB_CP_BIN``, else what ``build.sh`` prints."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "controlplane" / "build.sh"
ENV_VAR = "RAYJOB_CP_BIN"
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")


class BinariesMissing(RuntimeError):
    """The control plane's binaries could not be found or built."""


def _run_build_script() -> Path:
    try:
        done = subprocess.run([str(BUILD_SCRIPT)], check=False, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BinariesMissing(f"{BUILD_SCRIPT} could not run: {e}") from e
    if done.returncode != 0:
        raise BinariesMissing(f"{BUILD_SCRIPT} failed with code {done.returncode}:\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BinariesMissing(f"{BUILD_SCRIPT} printed no bin directory; stderr:\n{done.stderr[-4000:]}")
    return Path(lines[-1])


def find_bin_dir(explicit: Path | None = None) -> Path:
    """The directory holding every binary in :data:`REQUIRED`; raise :class:`BinariesMissing` if not.

    Order: ``explicit``, then ``$RAYJOB_CP_BIN``, then the output of ``hack/controlplane/build.sh``
    (fast when its cache is warm; a cold build takes many minutes).
    """
    if explicit is not None:
        source, bin_dir = "the bin_dir argument", explicit
    elif os.environ.get(ENV_VAR):
        source, bin_dir = f"${ENV_VAR}", Path(os.environ[ENV_VAR])
    else:
        source, bin_dir = str(BUILD_SCRIPT), _run_build_script()
    missing = [name for name in REQUIRED if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        raise BinariesMissing(
            f"{bin_dir} (from {source}) lacks {', '.join(missing)}; run {BUILD_SCRIPT} or scripts/bootstrap.sh"
        )
    return bin_dir
