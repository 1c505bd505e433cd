"""Where the binaries are: ``$RAYJOB_CP_BIN`` / ``$RAYJOB_KUEUE_BIN``, else what the build scripts print."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "controlplane" / "build.sh"
KUEUE_BUILD_SCRIPT = REPO_ROOT / "hack" / "kueue" / "build.sh"
ENV_VAR = "RAYJOB_CP_BIN"
KUEUE_BIN_ENV = "RAYJOB_KUEUE_BIN"
"""Directory holding the ``kueue`` binary (scripts/bootstrap.sh exports it)."""
KUEUE_SRC_ENV = "RAYJOB_KUEUE_SRC"
"""Kueue's module source directory in the Go module cache (CRDs and webhook manifests)."""
REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl")


class BinariesMissing(RuntimeError):
    """The control plane's binaries could not be found or built."""


def _run_build_script(script: Path = BUILD_SCRIPT, *args: str) -> Path:
    """Run a build script; the last line it prints is the directory it names."""
    try:
        done = subprocess.run([str(script), *args], check=False, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BinariesMissing(f"{script} could not run: {e}") from e
    if done.returncode != 0:
        raise BinariesMissing(f"{script} failed with code {done.returncode}:\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise BinariesMissing(f"{script} printed no directory; stderr:\n{done.stderr[-4000:]}")
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


def find_kueue() -> tuple[Path, Path]:
    """``(kueue binary, module source dir)``: from ``$RAYJOB_KUEUE_BIN``/``$RAYJOB_KUEUE_SRC``, else from
    ``hack/kueue/build.sh`` (which builds Kueue when it is not cached: many minutes the first time)."""
    bin_env, src_env = os.environ.get(KUEUE_BIN_ENV), os.environ.get(KUEUE_SRC_ENV)
    bin_dir = Path(bin_env) if bin_env else _run_build_script(KUEUE_BUILD_SCRIPT)
    source = Path(src_env) if src_env else _run_build_script(KUEUE_BUILD_SCRIPT, "--module-dir")
    binary = bin_dir / "kueue"
    if not os.access(binary, os.X_OK):
        raise BinariesMissing(f"{binary} is missing; run {KUEUE_BUILD_SCRIPT} or scripts/bootstrap.sh")
    if not (source / "config" / "components" / "crd" / "bases").is_dir():
        raise BinariesMissing(f"{source} is not Kueue's module source (no config/components/crd/bases)")
    return binary, source
