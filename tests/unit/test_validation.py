"""validate_rayjob over the corpus, the KubeRay samples, and the shape of its errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayjob_operator.model import rules
from rayjob_operator.model.validation import InvalidSpec, validate_rayjob
from tests.unit.corpus import Case, load_cases

CASES = load_cases()
SAMPLES = sorted((Path(__file__).resolve().parent.parent / "data" / "kuberay").glob("*.yaml"))


def test_corpus_is_large_and_covers_every_cel_rule() -> None:
    assert len(CASES) >= 40
    tagged = {c.rule.id for c in CASES if c.rule is not None}
    cel_rules = {r.id for r in vars(rules).values() if isinstance(r, rules.Rule) and r.cel}
    # the immutability rule needs an update, not a create; everything else has a manifest
    assert cel_rules - tagged == {"managed-by-immutable"}
    assert sum(1 for c in CASES if c.rule is None) >= 15


@pytest.mark.parametrize("case", [c for c in CASES if c.rule is None], ids=lambda c: c.name)
def test_valid_manifest_passes(case: Case) -> None:
    job = validate_rayjob(case.manifest)
    assert job.metadata.name == case.name


@pytest.mark.parametrize("case", [c for c in CASES if c.rule is not None], ids=lambda c: c.name)
def test_invalid_manifest_fails_with_its_rule(case: Case) -> None:
    assert case.rule is not None
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(case.manifest)
    assert case.rule.id in caught.value.rule_ids
    assert case.rule.message in str(caught.value)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_kuberay_sample_validates(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "RayJob":
            validate_rayjob(doc)


def _minimal(**spec: Any) -> dict[str, Any]:
    case = next(c for c in CASES if c.name == "valid-minimal")
    body = copy.deepcopy(case.manifest)
    body["spec"].update(spec)
    return body


def test_every_violation_is_reported_not_only_the_first() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(_minimal(suspend=True, activeDeadlineSeconds=0, backoffLimit=-1))
    assert set(caught.value.rule_ids) >= {
        "suspend-requires-shutdown",
        "active-deadline-positive",
        "backoff-limit-non-negative",
    }


def test_messages_name_the_field() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(_minimal(suspend=True))
    assert "spec.suspend" in str(caught.value)
    assert "spec.shutdownAfterJobFinishes" in str(caught.value)


def test_a_type_error_names_the_path() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(_minimal(backoffLimit="three"))
    assert caught.value.rule_ids == ["schema"]
    assert "spec.backoffLimit" in str(caught.value)


def test_an_unknown_field_is_reported() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(_minimal(shutdownAfterJobFinish=True))
    assert "spec.shutdownAfterJobFinish" in str(caught.value)


def test_runtime_env_error_carries_the_parse_detail() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(_minimal(runtimeEnvYAML="invalid_yaml_string"))
    assert str(caught.value) == f"{rules.RUNTIME_ENV_YAML_MAPPING.message}: got a str"


def test_waiting_status_requires_interactive_mode() -> None:
    body = _minimal()
    body["status"] = {"jobDeploymentStatus": "Waiting"}
    with pytest.raises(InvalidSpec) as caught:
        validate_rayjob(body)
    assert caught.value.rule_ids == ["waiting-needs-interactive"]
