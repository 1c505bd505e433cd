"""The chaos run's scenario (pure): treatments, timings, manifests; and the load generator's per-job directives."""

from __future__ import annotations

from collections import Counter

import pytest

from rayjob_bench.config import Mode
from rayjob_chaos import plan
from rayjob_chaos.cli import parse_args
from rayjob_chaos.plan import ScenarioConfig, Treatment, actions, make_plan, manifest
from rayjob_devenv.loadgen_model import LoadgenState, parse_directive
from rayjob_operator.model.validation import validate_rayjob

T0 = 1_800_000_000.0


def test_every_block_of_twenty_has_the_mix_and_each_treatment_alternates_modes() -> None:
    jobs = make_plan(ScenarioConfig(n=200))
    counts = Counter(j.treatment for j in jobs)
    assert counts == {t: n * 10 for t, n in plan.MIX}
    for treatment in Treatment:
        modes = Counter(j.mode for j in jobs if j.treatment is treatment)
        assert modes[Mode.HTTP] == modes[Mode.K8SJOB]
    assert len({j.name for j in jobs}) == 200
    assert {j.namespace for j in jobs} == {"chaos-0", "chaos-1", "chaos-2", "chaos-3"}


def test_the_plan_is_the_same_for_a_seed_and_another_for_another_seed() -> None:
    assert make_plan(ScenarioConfig(n=40)) == make_plan(ScenarioConfig(n=40))
    assert make_plan(ScenarioConfig(n=40)) != make_plan(ScenarioConfig(n=40, seed=2))


def test_treatments_set_what_they_promise() -> None:
    jobs = make_plan(ScenarioConfig(n=200))
    for job in jobs:
        match job.treatment:
            case Treatment.FAIL_RETRY:
                assert (job.backoff_limit, job.end_status, job.expected.attempts) == (2, "FAILED", 3)
            case Treatment.DEADLINE:
                assert job.active_deadline is not None and job.active_deadline < job.seconds
            case Treatment.SUSPEND_AT_CREATE:
                assert job.suspend_at == 0 and job.resume_at is not None and job.resume_at > 0
            case Treatment.SUSPEND_MIDFLIGHT:
                assert job.suspend_at and job.resume_at and job.suspend_at < min(job.resume_at, job.seconds)
            case Treatment.DELETE_MIDFLIGHT:
                assert job.delete_at is not None and job.delete_at < job.seconds
            case Treatment.SUCCEED:
                assert 5 <= job.seconds <= 20
    kept = [j for j in jobs if j.treatment is Treatment.SUCCEED and not j.shutdown]
    assert len(kept) == 20  # a quarter keep their cluster


def test_actions_are_in_time_order_and_created_suspended_is_no_action() -> None:
    jobs = make_plan(ScenarioConfig(n=60))
    todo = actions(jobs)
    assert [a.at for a in todo] == sorted(a.at for a in todo)
    verbs = Counter(a.verb for a in todo)
    by_treatment = Counter(j.treatment for j in jobs)
    assert verbs["suspend"] == by_treatment[Treatment.SUSPEND_MIDFLIGHT]
    resumed = by_treatment[Treatment.SUSPEND_MIDFLIGHT] + by_treatment[Treatment.SUSPEND_AT_CREATE]
    assert verbs["resume"] == resumed
    assert verbs["delete"] == by_treatment[Treatment.DELETE_MIDFLIGHT]


def test_every_manifest_is_a_valid_rayjob_with_its_treatment() -> None:
    for job in make_plan(ScenarioConfig(n=40)):
        body = manifest(job, namespaces=4, nodes=4)
        model = validate_rayjob(body)
        assert model.spec.submission_mode == job.mode.value
        assert body["metadata"]["labels"] == {plan.RUN_LABEL: "1", plan.TREATMENT_LABEL: job.treatment.value}
        assert model.spec.backoff_limit == job.backoff_limit
        assert bool(model.spec.suspend) == (job.suspend_at == 0)
        assert model.spec.active_deadline_seconds == job.active_deadline
        assert parse_directive(body["spec"]["entrypoint"]) == (job.seconds, job.end_status)


def test_a_failing_k8sjob_submitter_pod_fails_after_its_job() -> None:
    job = next(
        j for j in make_plan(ScenarioConfig(n=40)) if j.treatment is Treatment.FAIL_RETRY and j.mode is Mode.K8SJOB
    )
    annotations = manifest(job, namespaces=4, nodes=4)["spec"]["submitterPodTemplate"]["metadata"]["annotations"]
    assert annotations == {
        "devenv.rayjob-operator.io/complete": "Failed",
        "devenv.rayjob-operator.io/complete-after": "6000ms",
        "devenv.rayjob-operator.io/exit-code": "1",
    }


def test_configuration_checks_and_defaults() -> None:
    config = ScenarioConfig()
    assert (config.n, config.deadline, config.failing_share) == (200, 700.0, pytest.approx(0.2))
    assert "--timeout-seconds=6.0" in config.loadgen_args()
    with pytest.raises(ValueError, match="at least 1"):
        ScenarioConfig(n=0)
    parsed, _ = parse_args(["--n", "30", "--apiserver-restarts", "30"])
    assert (parsed.n, parsed.apiserver_restarts) == (30, (30.0,))
    none, _ = parse_args(["--apiserver-restarts", ""])
    assert none.apiserver_restarts == ()


# --- the load generator's directives and hosts ---------------------------------------------------------
@pytest.mark.parametrize(
    ("entrypoint", "parsed"),
    [
        ("python -c pass", (None, "SUCCEEDED")),
        ("python -c pass # loadgen: seconds=60", (60.0, "SUCCEEDED")),
        ("x # loadgen: status=FAILED seconds=2.5", (2.5, "FAILED")),
    ],
)
def test_directives_set_a_jobs_run_time_and_end(entrypoint: str, parsed: tuple[float | None, str]) -> None:
    assert parse_directive(entrypoint) == parsed


def test_a_bad_directive_is_refused_as_ray_refuses_a_bad_request() -> None:
    with pytest.raises(ValueError, match="status=STOPPED"):
        parse_directive("x # loadgen: status=STOPPED")
    state = LoadgenState()
    body = {"entrypoint": "x # loadgen: seconds=-1", "submission_id": "a"}
    assert state.handle("POST", "/api/jobs/", body, client="operator", now=T0).status == 400
    assert state.jobs == {}


def test_a_failing_job_ends_failed_with_exit_code_1_and_records_its_head() -> None:
    state = LoadgenState(duration=5)
    body = {"entrypoint": "x # loadgen: seconds=3 status=FAILED", "submission_id": "a"}
    head = "c1-head-svc.ns.svc.cluster.local:8265"
    assert state.handle("POST", "/api/jobs/", body, client="operator", now=T0, host=head).status == 200
    assert state.handle("POST", "/api/jobs/", body, client="operator", now=T0 + 1, host="other:8265").status == 500
    info = state.handle("GET", "/api/jobs/a", None, client="operator", now=T0 + 3).body
    assert (info["status"], info["driver_exit_code"], info["end_time"]) == ("FAILED", 1, int((T0 + 3) * 1000))
    assert info["message"].startswith("Job entrypoint command failed with exit code 1")
    entry = state.stats()["jobs"]["a"]
    assert (entry["host"], entry["hosts"], entry["end_status"]) == (head, [head, "other:8265"], "FAILED")
