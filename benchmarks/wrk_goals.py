"""Issue 13's goals, checked on every run of one `bench_wrk` run, database by database.

Each goal is counted run by run (met in how many of how many, and the range of what was
measured), not on a mean: a 10 s run on this 2-core machine moves by more than the goals'
margins from one minute to the next, and a goal met on average but missed by one run in
four should read as such, not as met. The thresholds are the issue's, in its units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from benchmarks.wrk_measure import Run
from benchmarks.wrk_report import (
    DASH,
    TIMES,
    DbResult,
    alone_runs,
    mixed_ratios,
    mixed_runs,
    pooled_mixed,
    ratios,
    span,
)

# per command: (req/s ÷ the bare handler's, at least; p99 in ms, at most)
COMMAND_GOALS = {"/idl deadlines": (0.5, 20.0), "/idl status": (0.35, 30.0)}
STATUS_CPU_US = 500.0  # "≤ 0.5 ms of server CPU per call at 500 students"
MIXED_P99 = 1.2  # the p99 with 2 overviews/s ÷ the p99 without
STARTUP_S, STOP_S, RSS_MB = 1.5, 1.0, 120.0
GC_PAUSE = "idlbot_gc_pause_seconds"
GC_LIMIT_LE = "0.01"  # "no pause over 10 ms": a bucket bound of the bot's histogram, in s


@dataclass(frozen=True)
class Verdict:
    """One goal on one database: `met` of `measured` runs, and what they measured."""

    db: str
    goal: str
    met: int
    measured: int
    values: str

    def line(self) -> str:
        if not self.measured:
            return f"{self.db:<9} {self.goal}: not measured"
        mark = "ok" if self.met == self.measured else "MISSED"
        return f"{self.db:<9} {self.goal}: {self.met} of {self.measured} ({self.values}) {mark}"


def counted(
    db: str, goal: str, values: Iterable[float], ok: Callable[[float], bool], fmt: str, unit: str = ""
) -> Verdict:
    values = list(values)
    return Verdict(db, goal, sum(1 for v in values if ok(v)), len(values), span(values, fmt, unit))


def gc_pauses_over(delta: dict[str, float], metric: str = GC_PAUSE, le: str = GC_LIMIT_LE) -> tuple[int, int]:
    """(collections longer than the bucket bound `le`, all collections) over the measured
    window, every generation together, from the histogram's change (`gc_delta`)."""
    total = within = 0.0
    for key, value in delta.items():
        if key.startswith(f"{metric}_count{{"):
            total += value
        elif key.startswith(f"{metric}_bucket{{") and f'le="{le}"' in key:
            within += value
    return round(total - within), round(total)


def command_verdicts(res: DbResult, label: str) -> list[Verdict]:
    floor, p99_ms = COMMAND_GOALS[label]
    alone = alone_runs(res, label)
    everything: list[Run] = [*alone, *(m for _, m in mixed_runs(res, label))]
    db = res.db
    pooled = pooled_mixed(res, label)
    out = [
        counted(db, f"`{label}` ÷ bare ≥ {floor}", ratios(res, label, "bare"), lambda v: v >= floor,
                "{:.2f}", TIMES),
        counted(db, f"`{label}` p99 ≤ {p99_ms:g} ms", (x.p99_ms for x in alone), lambda v: v <= p99_ms,
                "{:.1f}", " ms"),
        counted(db, f"`{label}` no reply via response_url, alone and mixed",
                (x.via_response_url for x in everything), lambda v: v == 0, "{:.0f}"),
        counted(db, f"`{label}` p99 with 2 overviews/s ≤ {MIXED_P99}{TIMES} the runs either side",
                mixed_ratios(res, label), lambda v: v <= MIXED_P99, "{:.2f}", TIMES),
        counted(db, f"`{label}` the same, the mean of the mixed runs ÷ the mean of the runs alone",
                [pooled[0] / pooled[1]] if pooled and pooled[1] else [],
                lambda v: v <= MIXED_P99, "{:.2f}", TIMES),
    ]  # fmt: skip
    if label == "/idl status":
        out.append(
            counted(db, f"`{label}` server CPU ≤ {STATUS_CPU_US:g} µs per request",
                    (x.cpu_us_per_request for x in alone), lambda v: v <= STATUS_CPU_US, "{:.0f}", " µs")
        )  # fmt: skip
    return out


def verdicts(res: DbResult, commands: list[str]) -> list[Verdict]:
    out: list[Verdict] = []
    for c in commands:
        if f"/idl {c}" in COMMAND_GOALS:
            out += command_verdicts(res, f"/idl {c}")
    stops = [*res.quick_stops, *([res.stop_s] if res.stop_s else [])]
    out += [
        counted(res.db, f"startup ≤ {STARTUP_S} s", res.startups, lambda v: v <= STARTUP_S, "{:.2f}", " s"),
        counted(res.db, f"stop ≤ {STOP_S:g} s", stops, lambda v: v <= STOP_S, "{:.2f}", " s"),
        counted(res.db, f"RSS after the run ≤ {RSS_MB:g} MB", [res.rss_mb] if res.rss_mb else [],
                lambda v: v <= RSS_MB, "{:.0f}", " MB"),
    ]  # fmt: skip
    gc_goal = f"GC collections with a pause ≤ {float(GC_LIMIT_LE) * 1000:g} ms"
    if res.gc_delta:
        over, total = gc_pauses_over(res.gc_delta)
        out.append(Verdict(res.db, gc_goal, total - over, total, f"{over} over"))
    else:
        out.append(Verdict(res.db, gc_goal, 0, 0, DASH))
    return out


def goal_lines(results: list[DbResult], commands: list[str]) -> list[str]:
    """The goals' lines for the output: each goal on each database, run by run."""
    lines = ["Issue 13's goals, run by run (met in how many of the runs measured; their range):"]
    for res in results:
        lines += [f"  {v.line()}" for v in verdicts(res, commands)]
    return lines
