"""The short chaos run (``make chaos`` with fewer RayJobs): 30 RayJobs of every treatment while the operator is
SIGKILLed every 15 s, kube-apiserver restarts once and 20% of the dashboard's job calls fail.

It starts its own control plane, load generator and operator next to the session's (see bench/CHAOS.md).
"""

from __future__ import annotations

from pathlib import Path

from rayjob_chaos.plan import ScenarioConfig, make_plan
from rayjob_chaos.render import render
from rayjob_chaos.run import describe_settings, execute


def test_the_guarantees_hold_under_load_with_faults_together(tmp_path: Path) -> None:
    config = ScenarioConfig(n=30, apiserver_restarts=(30.0,), deadline_seconds=360.0, cleanup_seconds=90.0)
    report = execute(config, make_plan(config), tmp_path / "chaos")
    text = render(report, operator_settings=describe_settings())
    print(text)
    assert report.passed, text
    assert report.obs.faults.count("operator-restart") >= 3, text
    assert report.obs.faults.count("apiserver-restart") == 1, text
