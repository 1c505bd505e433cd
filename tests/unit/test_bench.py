"""The benchmark's pure parts: statistics, timelines, /proc and API counters, figures, the table and the JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from rayjob_bench import apicounts, procstats, results, stats, timeline, workload
from rayjob_bench.cli import parse_args
from rayjob_bench.config import BenchConfig, Mode, OperatorName, parse_modes, parse_operators
from rayjob_bench.kube import split_lines
from rayjob_bench.observations import RawRun, Snapshot
from rayjob_bench.profile import summarize
from rayjob_bench.report import RunReport, document, ratios, table
from rayjob_bench.submitter import is_running, submission_id
from rayjob_operator.model.validation import validate_rayjob

T0 = 1_800_000_000.0


# --- statistics --------------------------------------------------------------------------------------
def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 50) == pytest.approx(50.5)
    assert stats.percentile(values, 99) == pytest.approx(99.01)
    assert stats.percentile([3.0], 99) == 3.0
    assert stats.percentile([], 50) is None
    with pytest.raises(ValueError, match="q=101"):
        stats.percentile(values, 101)


def test_summary_ratio_and_per_job() -> None:
    assert stats.summary([1.0, 3.0]) == {
        "n": 2,
        "p50": 2.0,
        "p90": 2.8,
        "p99": pytest.approx(2.98),
        "max": 3.0,
        "mean": 2.0,
    }
    assert stats.summary([])["p50"] is None
    assert stats.ratio(1.0, 4.0) == 0.25
    assert stats.ratio(1.0, 0.0) is None
    assert stats.ratio(None, 1.0) is None
    assert stats.per_job(30, 10) == 3.0


# --- configuration and workload ----------------------------------------------------------------------
def test_modes_and_operators_parse_with_clear_errors() -> None:
    assert parse_modes("http, K8sJobMode,http") == (Mode.HTTP, Mode.K8SJOB)
    assert parse_operators("kuberay-c10,ours") == (OperatorName.KUBERAY_C10, OperatorName.OURS)
    with pytest.raises(ValueError, match="modes='grpc'"):
        parse_modes("grpc")
    with pytest.raises(ValueError, match="operators='kuberay2'"):
        parse_operators("kuberay2")
    with pytest.raises(ValueError, match="n=0: must be at least 1"):
        BenchConfig(n=0)


def test_runs_go_mode_by_mode_with_operators_interleaved() -> None:
    config = BenchConfig(operators=(OperatorName.OURS, OperatorName.KUBERAY))
    assert config.runs() == [
        (Mode.HTTP, OperatorName.OURS),
        (Mode.HTTP, OperatorName.KUBERAY),
        (Mode.K8SJOB, OperatorName.OURS),
        (Mode.K8SJOB, OperatorName.KUBERAY),
    ]
    assert BenchConfig(n=1000).deadline_seconds == 800.0


@pytest.mark.parametrize("mode", list(Mode))
def test_every_benchmark_rayjob_is_valid_for_our_operator(mode: Mode) -> None:
    for index in range(12):
        manifest = workload.rayjob(index, mode=mode, namespaces=10, nodes=10, submitter_seconds=5.5)
        job = validate_rayjob(manifest)
        assert job.spec.submission_mode == mode.value


def test_rayjobs_are_spread_over_namespaces_and_bound_to_nodes() -> None:
    jobs = [workload.rayjob(i, mode=Mode.K8SJOB, namespaces=10, nodes=10, submitter_seconds=5.5) for i in range(20)]
    assert {j["metadata"]["namespace"] for j in jobs} == set(workload.namespace_names(10))
    assert len({j["metadata"]["name"] for j in jobs}) == 20
    first = jobs[3]["spec"]
    assert first["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["nodeName"] == "kwok-node-3"
    assert first["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["nodeName"] == "kwok-node-4"
    submitter = first["submitterPodTemplate"]
    assert submitter["metadata"]["annotations"] == {
        workload.COMPLETE_ANNOTATION: "Succeeded",
        workload.COMPLETE_AFTER_ANNOTATION: "5500ms",
    }
    assert (
        "submitterPodTemplate"
        not in workload.rayjob(0, mode=Mode.HTTP, namespaces=1, nodes=1, submitter_seconds=1)["spec"]
    )


# --- timelines ---------------------------------------------------------------------------------------
def event(name: str, **status: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "bench-0", "name": name}, "status": status}


def test_a_timeline_keeps_first_sightings_and_counts_terminal_jobs_once() -> None:
    lines = timeline.Timelines(["bench-0/a", "bench-0/b"])
    lines.created("bench-0/a", T0)
    lines.observe(event("a", jobDeploymentStatus="Initializing"), T0 + 1)
    lines.observe(event("a", jobDeploymentStatus="Running", jobId="id-a"), T0 + 2)
    lines.observe(event("a", jobDeploymentStatus="Running", jobStatus="SUCCEEDED"), T0 + 8)
    lines.observe(event("a", jobDeploymentStatus="Complete", jobStatus="SUCCEEDED"), T0 + 9)
    lines.observe(event("a", jobDeploymentStatus="Complete", jobStatus="SUCCEEDED"), T0 + 10)
    lines.observe(event("other", jobDeploymentStatus="Complete"), T0 + 10)
    job = lines.jobs["bench-0/a"]
    assert (job.running, job.succeeded, job.terminal, job.job_id) == (T0 + 2, T0 + 8, T0 + 9, "id-a")
    assert job.completed
    assert lines.done_count == 1
    assert not lines.all_done
    lines.observe(event("b", jobDeploymentStatus="Failed", reason="AppFailed", message="boom"), T0 + 11)
    assert lines.all_done
    assert lines.jobs["bench-0/b"].failure == "AppFailed: boom"
    assert timeline.create_to_running(lines.jobs.values()) == [2.0]
    assert timeline.status_lags(lines.jobs.values(), {"id-a": T0 + 7.5}) == [0.5]
    assert timeline.completion_curve(lines.jobs.values(), T0) == [9.0]


# --- /proc, API counters, watch stream ----------------------------------------------------------------
def test_proc_files_parse_even_with_odd_command_names() -> None:
    stat = "42 (a) b (c)) S 7 42 42 0 -1 4194560 100 0 0 0 250 50 3 2 20 0 4 0 1000 2000000 500"
    assert procstats.parse_stat(stat) == procstats.StatLine(ppid=7, cpu_ticks=305)
    status = "Name:\tpython\nVmHWM:\t  81234 kB\nVmRSS:\t  70000 kB\n"
    assert procstats.parse_status_kib(status, "VmRSS") == 70000
    assert procstats.parse_status_kib(status, "VmSwap") is None
    assert procstats.parse_children(["12 13 ", "", "14\n"]) == [12, 13, 14]


def test_a_peak_tracker_reports_cpu_used_and_the_highest_memory() -> None:
    tracker = procstats.PeakTracker()
    assert tracker.cpu_used is None
    tracker.add(T0, procstats.TreeSample(cpu_seconds=10.0, rss_bytes=100, hwm_bytes=90, processes=1))
    tracker.add(T0 + 1, None)
    tracker.add(T0 + 2, procstats.TreeSample(cpu_seconds=12.5, rss_bytes=80, hwm_bytes=150, processes=1))
    assert tracker.cpu_used == 2.5
    assert tracker.peak_bytes == 150
    assert tracker.samples == [(T0, 0.0, 100), (T0 + 2, 2.5, 80)]


def test_apiserver_request_totals_are_summed_per_verb_and_resource() -> None:
    text = "\n".join(
        [
            "# TYPE apiserver_request_total counter",
            'apiserver_request_total{code="201",component="apiserver",resource="pods",subresource="",verb="POST"} 3',
            'apiserver_request_total{code="409",component="apiserver",resource="pods",subresource="",verb="POST"} 1',
            'apiserver_request_total{code="200",resource="rayjobs",subresource="status",verb="PATCH"} 2e+00',
            'apiserver_request_duration_seconds_count{resource="pods",verb="POST"} 99',
        ]
    )
    before = apicounts.request_totals(text)
    assert before == Counter({("POST", "pods"): 4, ("PATCH", "rayjobs/status"): 2})
    after = before + Counter({("POST", "pods"): 6})
    assert apicounts.counter_delta(before, after) == Counter({("POST", "pods"): 6})


def audit_line(audit_id: str, verb: str, resource: str, *, user: str = "bench-operator", **extra: Any) -> str:
    event = {
        "auditID": audit_id,
        "stage": extra.pop("stage", "ResponseComplete"),
        "verb": verb,
        "user": {"username": user},
        "objectRef": {"resource": resource, **extra.pop("ref", {})},
        "responseStatus": {"code": extra.pop("code", 200)},
        "requestReceivedTimestamp": extra.pop("at", "2027-01-15T08:00:01.000000Z"),
    }
    return json.dumps(event)


def test_the_audit_log_counts_one_users_requests_once_each_by_kind() -> None:
    lines = [
        audit_line("1", "watch", "rayjobs", stage="ResponseStarted"),
        audit_line("1", "watch", "rayjobs"),
        audit_line("2", "patch", "rayjobs", ref={"subresource": "status"}),
        audit_line("3", "create", "events"),
        audit_line("4", "update", "rayjobs", code=409),
        audit_line("5", "get", "pods"),
        audit_line("6", "create", "pods", user="admin"),
        audit_line("7", "create", "pods", at="2027-01-15T07:00:00.000000Z"),
        "",
    ]
    since = apicounts._epoch("2027-01-15T08:00:00Z")
    counts = apicounts.AuditCounts.from_lines(lines, "bench-operator", since=since)
    assert (counts.total, counts.writes, counts.reads, counts.watches, counts.event_writes) == (5, 2, 1, 1, 1)
    assert counts.to_json()["conflicts_409"] == 1
    assert counts.by_verb_resource["patch rayjobs/status"] == 1
    assert apicounts.audit_policy("bench-operator")["rules"][0] == {"level": "Metadata", "users": ["bench-operator"]}


def test_watch_stream_lines_are_split_across_chunks() -> None:
    lines, rest = split_lines(b'{"a":', b'1}\n{"b":2}\n{"c"')
    assert (lines, rest) == ([b'{"a":1}', b'{"b":2}'], b'{"c"')
    assert split_lines(rest, b":3}\n\n") == ([b'{"c":3}'], b"")


def test_the_submitter_stand_in_reads_the_pod_it_would_run_in() -> None:
    pod = {
        "metadata": {"uid": "u1"},
        "spec": {"containers": [{"name": "c", "env": [{"name": "RAY_JOB_SUBMISSION_ID", "value": "bench-00001-x"}]}]},
        "status": {"phase": "Running"},
    }
    assert submission_id(pod) == "bench-00001-x"
    assert is_running(pod)
    assert not is_running({**pod, "metadata": {"deletionTimestamp": "now"}})
    assert (
        submission_id({"spec": {"containers": [{"env": [{"name": "RAY_JOB_SUBMISSION_ID", "valueFrom": {}}]}]}}) is None
    )


# --- figures, table, JSON -----------------------------------------------------------------------------
def raw_run(operator: OperatorName, *, lag: float, polls: int) -> RawRun:
    lines = timeline.Timelines(["bench-0/a", "bench-0/b"])
    for name, offset in (("a", 0.0), ("b", 1.0)):
        key = f"bench-0/{name}"
        lines.sent(key, T0 + offset)
        lines.created(key, T0 + offset + 0.1)
        lines.observe(event(name, jobDeploymentStatus="Running", jobId=f"id-{name}"), T0 + offset + 2)
        lines.observe(event(name, jobDeploymentStatus="Complete", jobStatus="SUCCEEDED"), T0 + offset + 7 + lag)
    tracker = procstats.PeakTracker()
    tracker.add(T0, procstats.TreeSample(1.0, 50 * 2**20, 0, 1))
    tracker.add(T0 + 9, procstats.TreeSample(3.0, 60 * 2**20, 0, 1))
    before = Snapshot(T0, 100, Counter({("POST", "pods"): 10}), {"etcd": 1.0, "kube-apiserver": 2.0})
    after = Snapshot(T0 + 10, 160, Counter({("POST", "pods"): 14}), {"etcd": 2.0, "kube-apiserver": 5.0})
    raw = RawRun(operator, Mode.HTTP, 2, lines, before, after, tracker, started=T0, created_all=T0 + 1.1)
    raw.cleaned = T0 + 9.5 + lag
    raw.loadgen = {
        "by_client": {"operator": polls},
        "not_found": 2,
        "jobs": {
            "id-a": {"submissions": 1, "end_time": T0 + 7},
            "id-b": {"submissions": 2, "end_time": T0 + 8},
        },
    }
    raw.audit.add({"verb": "create", "objectRef": {"resource": "rayclusters"}})
    return raw


def test_figures_of_a_run() -> None:
    figures = results.figures(raw_run(OperatorName.OURS, lag=0.5, polls=10))
    assert figures["makespan_s"] == pytest.approx(8.5)
    assert figures["running_p50_s"] == pytest.approx(1.9)
    assert figures["lag_p99_s"] == pytest.approx(0.5)
    assert figures["etcd_writes_per_job"] == 30.0
    assert figures["apiserver_requests_per_job"] == 2.0
    assert figures["api_writes_per_job"] == 0.5
    assert figures["dashboard_requests_per_job"] == 5.0
    assert figures["dashboard_404_per_job"] == 1.0
    assert figures["operator_cpu_s"] == 2.0
    assert figures["operator_cpu_ms_per_job"] == 1000.0
    assert figures["operator_peak_rss_mib"] == 60.0
    assert figures["controlplane_cpu_s"] == 4.0
    assert figures["client_create_s"] == pytest.approx(1.1)
    assert figures["cleanup_s"] == pytest.approx(1.5)
    assert (figures["completed"], figures["failed"], figures["unfinished"]) == (2, 0, 0)
    assert figures["duplicate_submissions"] == 1


def test_a_run_that_timed_out_has_no_makespan() -> None:
    raw = raw_run(OperatorName.OURS, lag=0.5, polls=10)
    raw.timed_out = True
    assert results.figures(raw)["makespan_s"] is None


def reports() -> list[RunReport]:
    found = []
    for operator, lag, polls in ((OperatorName.OURS, 0.5, 10), (OperatorName.KUBERAY, 2.0, 20)):
        raw = raw_run(operator, lag=lag, polls=polls)
        found.append(RunReport(operator, Mode.HTTP, 2, results.figures(raw), results.details(raw)))
    return found


def test_ratios_are_ours_over_each_kuberay_variant() -> None:
    found = ratios(reports())
    assert set(found) == {"HTTPMode"}
    assert found["HTTPMode"]["kuberay"]["lag_p99_s"] == pytest.approx(0.25)
    assert found["HTTPMode"]["kuberay"]["dashboard_requests_per_job"] == pytest.approx(0.5)
    assert "completed" not in found["HTTPMode"]["kuberay"]  # counts are compared as they are


def test_the_table_has_a_row_per_metric_and_a_column_per_run_and_ratio() -> None:
    text = table(reports())
    lines = text.splitlines()
    assert lines[0].split("|")[2:5] == [" http ours ", " http kuberay ", " http ours/kuberay "]
    assert len(lines) == 2 + len(results.METRICS)
    makespan = next(line for line in lines if line.startswith("| makespan (s)"))
    assert [cell.strip() for cell in makespan.split("|")[2:5]] == ["8.5", "10.0", "0.85×"]
    completed = next(line for line in lines if "completed" in line)
    assert [cell.strip() for cell in completed.split("|")[2:5]] == ["2", "2", ""]


def test_the_json_document_round_trips() -> None:
    doc = json.loads(json.dumps(document({"n": 2}, reports())))
    assert doc["meta"] == {"n": 2}
    assert [run["operator"] for run in doc["runs"]] == ["ours", "kuberay"]
    assert doc["runs"][0]["details"]["completions_s"] == [7.5, 8.5]
    assert doc["ratios_ours_over"]["HTTPMode"]["kuberay"]["makespan_s"] == pytest.approx(0.85)
    assert doc["metrics"]["lag_p99_s"] == "status lag p99 (s)"


def test_the_command_line_builds_the_config() -> None:
    config, kuberay_dir = parse_args(
        ["--n", "20", "--modes", "http", "--operators", "ours,kuberay", "--loadgen-arg=--reset-rate=0.05"]
    )
    assert (config.n, config.modes, config.operators) == (20, (Mode.HTTP,), (OperatorName.OURS, OperatorName.KUBERAY))
    assert config.loadgen_args == ("--reset-rate=0.05",)
    assert kuberay_dir is None
    assert not config.profile
    assert parse_args(["--profile"])[0].profile
    with pytest.raises(SystemExit):
        parse_args(["--n", "0"])


def test_a_profile_sums_the_samples_per_function_itself_and_below_it() -> None:
    raw = [
        "main (cli.py:1);reconcile (rayjob.py:40);decode (client.py:9) 6",
        "main (cli.py:1);reconcile (rayjob.py:40) 2",
        "main (cli.py:1);poll (poller.py:200);decode (client.py:9) 2",
        "",
        "not a stack line",
    ]
    text = summarize(raw, top=3)
    assert text.startswith("10 samples")
    own = text.split("self  function\n")[1].split("\n\n")[0].splitlines()
    assert own[0] == " 80.0% decode (client.py:9)"
    below = text.split("(itself and what it calls)\n")[1].splitlines()
    assert below[0] == "100.0% main (cli.py:1)"
    assert " 80.0% reconcile (rayjob.py:40)" in below
    assert summarize([]) == "no samples\n"
