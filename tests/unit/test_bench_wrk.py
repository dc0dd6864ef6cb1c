"""The parts of `benchmarks/bench_wrk` that decide what is measured: the wrk script
sends the exact Mattermost request rotating over every form and reports what wrk saw,
the config the bot runs with is the example course with local endpoints, and the bot's
log is read the way production writes it."""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from pathlib import Path

import pytest
from aiohttp import web

from benchmarks.wrk_measure import Run, children_cpu, cpu_seconds, free_port, machine_cpu, run_wrk
from benchmarks.wrk_report import (
    DbResult,
    control_cell,
    cpu,
    log_summary,
    machine_cell,
    mixed_cell,
    mixed_pairs,
    mixed_ratio_cell,
    p99_over_bare,
    p99_per_cpu,
    pooled_cell,
    pooled_mixed,
    ratios,
    startup_cell,
)
from benchmarks.wrk_world import config_text
from idlbot.config import load

ENV = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}


def test_config_is_the_example_course_with_local_endpoints_and_no_gitlab(tmp_path: Path) -> None:
    path = tmp_path / "idlbot.toml"
    path.write_text(config_text("http://127.0.0.1:8065", "sqlite+aiosqlite:////tmp/x.db", 9123))
    settings = load(path, env=ENV)
    assert settings.gitlab is None
    assert settings.mattermost.url == "http://127.0.0.1:8065"
    assert settings.server.port == 9123 and settings.server.public_url == "http://127.0.0.1:9123"
    assert settings.database.url == "sqlite+aiosqlite:////tmp/x.db"
    assert len(settings.course.teams) == 2 and len(settings.course.assignments) > 5


def test_log_summary_counts_lines_and_reads_each_commands_own_time(tmp_path: Path) -> None:
    log = tmp_path / "bot.log"
    user = "abcdefghijklmnopqrstuvwxyz"
    lines = [
        {"level": "info", "msg": f"command status outcome=ok user={user} via=slash {ms}ms"}
        for ms in (1.5, 2.5, 9.0)
    ] + [{"level": "warning", "msg": "response_url answered 404"}]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    digest, handler = log_summary(log)
    assert digest[0].split()[:2] == ["3", "info"]
    assert digest[0].endswith("command status outcome=ok user=ID via=slash Nms")
    assert any("response_url answered N" in line for line in digest)
    assert handler == {"status": (3, 2.5, 9.0)}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)")
async def test_wrk_script_sends_mattermosts_request_rotating_over_every_form(tmp_path: Path) -> None:
    seen: list[tuple[str, str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append((str(form["user_name"]), request.headers["Authorization"], request.content_type))
        return web.json_response({"text": "ok"})

    app = web.Application()
    app.router.add_post("/mattermost/command", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    forms = tmp_path / "forms.txt"
    names = ["s0000", "s0001", "s0002"]
    forms.write_text(
        "\n".join(urllib.parse.urlencode({"text": "status", "user_name": n}) for n in names) + "\n"
    )
    try:
        before = children_cpu()
        run = await run_wrk(
            shutil.which("wrk") or "wrk", "t", f"http://127.0.0.1:{port}/mattermost/command", forms, "tok",
            server_pid=os.getpid(), duration=1, connections=2,
        )  # fmt: skip
    finally:
        await runner.cleanup()
    assert run.errors == 0 and run.requests > 10
    assert abs(run.requests - len(seen)) <= 2  # wrk's count is what the server answered
    assert {name for name, _, _ in seen} == set(names)
    assert {(auth, ctype) for _, auth, ctype in seen} == {("Token tok", "application/x-www-form-urlencoded")}
    assert 0 < run.p50_ms <= run.p99_ms and children_cpu() > before
    assert cpu_seconds(os.getpid()) > 0
    assert 0 <= run.other_cpu < 2.5 and 0 <= run.steal < 2.5  # per wall second, 2 cores at most here


def test_the_machines_busy_cpu_counts_this_process() -> None:
    busy0, steal0 = machine_cpu()
    own0 = cpu_seconds(os.getpid())
    while cpu_seconds(os.getpid()) - own0 < 0.2:
        pass
    busy1, steal1 = machine_cpu()
    assert busy1 - busy0 >= 0.15 and steal1 >= steal0


async def test_gc_histogram_is_read_from_metrics_when_present_and_said_absent_otherwise() -> None:
    from benchmarks.wrk_measure import gc_metrics, gc_report

    body = {"text": "# TYPE idlbot_commands_total counter\nidlbot_commands_total 3\n"}

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(text=body["text"])

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}"
        assert gc_report(None, await gc_metrics(url)) == [
            "GC pause histogram: not exposed in /metrics (no metric with 'gc' in its name)"
        ]
        body["text"] = (
            "# HELP idlbot_gc_pause_seconds GC pauses.\n# TYPE idlbot_gc_pause_seconds histogram\n"
            'idlbot_gc_pause_seconds_bucket{generation="2",le="0.01"} 4.0\n'
            'idlbot_gc_pause_seconds_bucket{generation="2",le="+Inf"} 6.0\n'
            'idlbot_gc_pause_seconds_count{generation="2"} 6.0\nidlbot_commands_total 9\n'
        )
        before = await gc_metrics(url)
        body["text"] = body["text"].replace("} 6.0", "} 7.0")
        report = gc_report(before, await gc_metrics(url))
    finally:
        await runner.cleanup()
    assert 'idlbot_gc_pause_seconds_bucket{generation="2",le="+Inf"} 1 (7)' in [r.strip() for r in report]
    assert 'idlbot_gc_pause_seconds_bucket{generation="2",le="0.01"} 0 (4)' in [r.strip() for r in report]
    assert not any("commands" in r for r in report)


def p99(label: str, ms: float) -> Run:
    return Run(label, 1000, 10.0, 0, ms / 2, ms, ms * 2, 1.0, 0.1)


def test_the_mixed_run_is_compared_with_the_runs_on_either_side_of_it() -> None:
    res = DbResult("sqlite")
    res.runs = [(1, p99("/idl status", 10.0)), (2, p99("/idl status", 20.0)), (1, p99("bare", 5.0))]
    res.mixed = [(1, p99("/idl status + overviews", 15.0)), (2, p99("/idl status + overviews", 20.0))]
    res.after = [(1, p99("/idl status again", 20.0))]  # round 2 has no run after (an older JSON)
    assert mixed_pairs(res, "/idl status") == [(15.0, 15.0), (20.0, 20.0)]
    assert mixed_pairs(res, "/idl status", bracketed=False) == [(15.0, 10.0), (20.0, 20.0)]
    assert mixed_cell(res, "/idl status") == "15.0\u201320.0 ms (1.00\u00d7)"
    assert mixed_cell(res, "/idl status", bracketed=False) == "15.0\u201320.0 ms (1.00\u20131.50\u00d7)"
    assert mixed_cell(res, "/idl deadlines") == "\u2013"
    # the control: the run after ÷ the run before, both alone; round 2 has no run after
    assert control_cell(res, "/idl status") == "2.00\u00d7"
    assert control_cell(res, "/idl deadlines") == "\u2013"
    # the means over the rounds: the mixed runs (15, 20) against every run alone (10, 20, 20)
    assert pooled_mixed(res, "/idl status") == (17.5, 50.0 / 3)
    assert pooled_cell(res, "/idl status") == "17.5 ms (1.05\u00d7)"
    assert pooled_mixed(res, "/idl deadlines") is None
    assert pooled_cell(res, "/idl deadlines") == "\u2013"


def run_at(label: str, p99_ms: float, cpu_us: float) -> Run:
    return Run(label, 1000, 10.0, 0, p99_ms / 2, p99_ms, p99_ms * 2, cpu_us * 1000 / 1e6, 0.1)


def test_a_mixed_runs_p99_is_also_read_per_cpu_per_request() -> None:
    """Round 1: the machine was 1.4x slower during the mixed run, so its p99 and its CPU
    per request are both 1.4x the runs around it, and per CPU nothing changed. Round 2:
    the same CPU per request but a p99 1.4x as long, what a loop held by the overviews
    would do."""
    res = DbResult("sqlite")
    res.runs = [(1, run_at("/idl status", 10.0, 100.0)), (2, run_at("/idl status", 10.0, 100.0))]
    res.after = [(1, run_at("/idl status again", 10.0, 100.0)), (2, run_at("/idl status again", 10.0, 100.0))]
    res.mixed = [
        (1, run_at("/idl status + overviews", 14.0, 140.0)),
        (2, run_at("/idl status + overviews", 14.0, 100.0)),
    ]
    assert mixed_cell(res, "/idl status") == "14.0 ms (1.40\u00d7)"
    assert mixed_ratio_cell(res, "/idl status", cpu) == "1.00\u20131.40\u00d7"
    assert mixed_ratio_cell(res, "/idl status", p99_per_cpu) == "1.00\u20131.40\u00d7"
    assert [m / p for m, p in mixed_pairs(res, "/idl status", value=p99_per_cpu)] == pytest.approx([1.0, 1.4])
    assert mixed_ratio_cell(res, "/idl deadlines", cpu) == "\u2013"


def rps(label: str, per_s: float, seq: int) -> Run:
    run = Run(label, int(per_s * 10), 10.0, 0, 1.0, per_s / 1000, 9.0, 1.0, 0.1)
    run.seq = seq
    return run


def test_each_command_run_is_read_against_the_bare_runs_on_either_side_of_it() -> None:
    """B, S, D, D+o, D', B, St, St+o, St', B, S: the machine drifts (bare 1000 -> 800 ->
    600 req/s), and each command run alone is divided by the mean of its two nearest bare
    runs, not by one bare run a minute away; the last select has no select after it."""
    res = DbResult("sqlite")
    res.runs = [
        (1, rps("bare", 1000, 1)), (1, rps("select", 900, 2)), (1, rps("/idl deadlines", 540, 3)),
        (1, rps("bare", 800, 6)), (1, rps("/idl status", 280, 7)), (1, rps("bare", 600, 10)),
        (1, rps("select", 500, 11)),
    ]  # fmt: skip
    res.mixed = [(1, rps("/idl deadlines + overviews", 1, 4)), (1, rps("/idl status + overviews", 1, 8))]
    res.after = [(1, rps("/idl deadlines again", 450, 5)), (1, rps("/idl status again", 210, 9))]
    assert ratios(res, "/idl deadlines", "bare") == pytest.approx([0.6, 0.5])
    assert ratios(res, "/idl status", "bare") == pytest.approx([0.4, 0.3])
    assert ratios(res, "/idl status", "select") == pytest.approx([0.4, 0.3])  # (900 + 500) / 2
    assert ratios(res, "/idl whoami", "bare") == []
    # p99s the same way: deadlines' 0.54 ms and 0.45 ms against bare's (1.0 + 0.8) / 2 ms
    assert p99_over_bare(res, "/idl deadlines") == pytest.approx([0.6, 0.5])
    last = DbResult("sqlite", runs=[(1, rps("bare", 1000, 1)), (1, rps("/idl deadlines", 500, 2))])
    assert ratios(last, "/idl deadlines", "bare") == [0.5]  # no bare after it: the one before


def test_the_machines_other_cpu_spans_every_command_run_but_the_baselines() -> None:
    res = DbResult("postgres")
    res.runs = [(1, p99("/idl status", 10.0)), (1, p99("bare", 5.0))]
    res.mixed = [(1, p99("/idl status + overviews", 15.0))]
    res.after = [(1, p99("/idl status again", 20.0))]
    runs = [run for _, run in (*res.runs, *res.mixed, *res.after)]
    for run, other, steal in zip(runs, (0.05, 0.9, 0.2, 0.3), (0.0, 0.5, 0.01, 0.04), strict=True):
        run.other_cpu, run.steal = other, steal
    assert machine_cell(res) == "5\u201330 % / 0\u20134 %"  # bare's 90 % and 50 % are not in it


def test_each_start_up_is_read_against_the_baselines_start_up_right_after_it() -> None:
    res = DbResult("sqlite", startups=[1.5, 1.2, 0.9], baseline_startups=[1.0, 0.8, 0.6])
    assert startup_cell(res) == "1.50\u00d7"
    res.baseline_startups = [1.0, 0.6]  # an older run: the serving bot's baseline not timed
    assert startup_cell(res) == "1.50\u20132.00\u00d7"
    assert startup_cell(DbResult("postgres")) == "\u2013"
