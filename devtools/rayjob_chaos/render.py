"""The chaos report as text (printed, and saved next to the JSON). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rayjob_bench.config import Mode
from rayjob_chaos.leaks import KINDS, count_by_kind
from rayjob_chaos.observations import FaultLog
from rayjob_chaos.verdict import Report

CHAOS_KINDS = ("submit", "status", "logs", "stop", "delete")
LISTED = 25
"""At most this many entries of each problem list are printed (the JSON has them all)."""


def _row(label: str, value: object) -> str:
    return f"  {label:<48} {value}"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


def render(report: Report, *, operator_settings: str) -> str:
    lines = [*_header(report), *_faults(report), *_outcomes(report), *_checks(report), *_details(report)]
    lines.append(f"operator settings: {operator_settings}")
    verdict = "PASS" if report.passed else "FAIL: " + ", ".join(f"{v} {k}" for k, v in report.failures.items() if v)
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines) + "\n"


def _header(report: Report) -> list[str]:
    config, obs = report.config, report.obs
    modes = {m: sum(1 for o in report.outcomes if o.plan.mode is m) for m in Mode}
    return [
        f"chaos run: {config.n} RayJobs ({', '.join(f'{m.value} {n}' for m, n in modes.items())}), "
        f"{config.namespaces} namespaces, seed {config.seed}",
        _row("all created after", _seconds(obs.created)),
        _row("all terminal or deleted after", f"{_seconds(obs.finished)} (deadline {config.deadline:.0f} s)"),
        _row("leak check ended after", _seconds(obs.ended)),
    ]


def _faults(report: Report) -> list[str]:
    faults: FaultLog = report.obs.faults
    restarts = faults.of("operator-restart")
    back = max((e.seconds for e in restarts), default=0.0)
    api = faults.of("apiserver-restart")
    api_text = "; ".join(f"at {e.at:.0f} s, away {e.seconds:.1f} s" for e in api) or "none"
    stats = report.obs.loadgen
    calls = sum(int((stats.get("by_kind") or {}).get(k, 0)) for k in CHAOS_KINDS)
    injected = stats.get("faults") or {}
    failed = sum(int(v) for v in injected.values())
    share = f"{100.0 * failed / calls:.1f}%" if calls else "n/a"
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(injected.items()))
    return [
        "faults",
        _row("operator SIGKILLed and restarted (survived)", f"{len(restarts)} (back up in at most {back:.1f} s)"),
        _row(
            "operator exits of its own / failed starts",
            f"{faults.count('operator-exited')} / {faults.count('operator-start-failed')}",
        ),
        _row("kube-apiserver restarts", f"{len(api)} ({api_text})"),
        _row(
            "dashboard job calls failed",
            f"{failed} of {calls} ({share}; configured {100 * report.config.failing_share:.0f}%): {kinds or 'none'}",
        ),
    ]


def _outcomes(report: Report) -> list[str]:
    expected, observed = report.outcome_counts()
    lines = ["outcomes" + " " * 43 + "expected  observed"]
    for name in sorted(set(expected) | set(observed)):
        lines.append(f"  {name:<48} {expected.get(name, 0):>8}  {observed.get(name, 0):>8}")
    lines.append(_row("not as planned (informational, listed below)", len(report.unexpected)))
    return lines


def _checks(report: Report) -> list[str]:
    by_kind = ", ".join(f"{k} {v}" for k, v in count_by_kind(report.leaks).items())
    subs = report.submissions
    lines = ["checks (each must be 0)"]
    for label, count in report.failures.items():
        lines.append(_row(label, f"{count} ({by_kind})" if label == "leaked objects" else count))
    lines += [
        "informational",
        *_acted(report),
        _row("objects left at the end", _left(report)),
        _row("driver logs kept (<rayjob>-driver-log)", _logs(report)),
        _row("submission ids accepted", subs.accepted),
        _row("ids POSTed more than once (after faults)", f"{subs.repeated_ids} ({subs.repeated_posts} extra POSTs)"),
        _row("harness problems", len(report.obs.problems)),
    ]
    return lines


def _acted(report: Report) -> list[str]:
    lines = []
    for verb in ("suspend", "resume", "delete"):
        states = Counter(state for (v, _), state in report.obs.acted.items() if v == verb)
        before = ", ".join(f"{state} {n}" for state, n in sorted(states.items()))
        lines.append(_row(f"{verb}s made (state just before)", f"{states.total()} ({before})"))
    return lines


def _logs(report: Report) -> str:
    eligible, missing = report.driver_logs
    return f"{eligible - len(missing)} of {eligible} terminal RayJobs whose Ray job ran"


def _left(report: Report) -> str:
    return ", ".join(f"{kind} {len(report.obs.objects.get(kind, []))}" for kind in KINDS)


def _section(title: str, entries: Iterable[str]) -> list[str]:
    items = list(entries)
    if not items:
        return []
    more = [f"  ... and {len(items) - LISTED} more (see report.json)"] if len(items) > LISTED else []
    return [f"{title}:", *(f"  {item}" for item in items[:LISTED]), *more]


def _details(report: Report) -> list[str]:
    return [
        *_section("duplicate submissions", report.submissions.duplicates),
        *_section("not terminal by the deadline", (o.line() for o in report.stuck)),
        *_section("gone, never deleted", (o.line() for o in report.lost)),
        *_section("leaked objects", (str(leak) for leak in report.leaks)),
        *_section("terminal without a reason", (o.line() for o in report.reasonless)),
        *_section("not as planned", (o.line() for o in report.unexpected if o not in report.stuck)),
        *_section("driver logs not kept (informational)", report.driver_logs[1]),
        *_section("harness problems", report.obs.problems),
    ]
