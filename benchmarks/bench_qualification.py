"""`/idl status` and `/idl overview` on a synthetic 500-student course.

Run: `.venv/bin/python -m benchmarks.bench_qualification [--students 500] [--repeat 200]`

Measured in one process on SQLite (a temp file), through the real command registry and
SQL ports, with a warm database:
- `/idl status` per call: wall time and SQL statements (counted on the engine), against a
  baseline of one bare `SELECT` over the same students table in the same process;
- the overview: `build_overview` + `render_overview` for all students, against the same
  baseline; the chart (matplotlib) is reported separately, as it is rendered once per
  overview request and dominates its cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

from benchmarks.bench_loop import LoopLag
from idlbot.clock import FakeClock
from idlbot.commands import build_registry
from idlbot.commands.context import Context, Ports, User
from idlbot.config import example_config_path, load
from idlbot.domain import overview as ov
from idlbot.domain.gitlab import TagPush
from idlbot.domain.ledger import Student
from idlbot.domain.roles import Role
from idlbot.services.qualification import QualificationService
from idlbot.storage.db import create_engine, sessionmaker, upgrade
from idlbot.storage.ledger import SqlQualification
from idlbot.storage.roster import SqlRoster

ENV = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
NOW = datetime(2018, 12, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


async def build(url: str, students: int) -> tuple[Any, SqlQualification]:
    settings = load(example_config_path(), env=ENV)
    course = settings.course
    await upgrade(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    rng = random.Random(7)
    roster = [
        Student(
            f"s{n:04d}", gitlab=f"s{n:04d}", group_id=f"g{1 + n % 3}", team_id=("lyrics-a", "lyrics-b")[n % 2]
        )
        for n in range(students)
    ]
    await SqlRoster(sessions).bulk_upsert(roster, now=NOW)
    ledger = SqlQualification(sessions, course)
    for n, student in enumerate(roster):
        for a in course.assignments:
            if a.due < NOW.astimezone(UTC) and rng.random() < 0.85:
                pushed = a.due - timedelta(hours=rng.randint(-20, 60))
                push = TagPush(
                    n,
                    f"idl2018/assignments/{student.gitlab}",
                    a.id,
                    pushed.astimezone(UTC),
                    student.mattermost,
                )
                await ledger.record_tag_push(push, [student.mattermost])
        if n % 7 == 0:
            await ledger.present(
                student.mattermost, "a01", "fail", note="could not explain", by="tutor1", now=NOW
            )
    return engine, ledger


async def longest_hold(work: Callable[[], Awaitable[object]]) -> float:
    """The longest the event loop was held while `work` ran, in seconds (`LoopLag` with a
    ticker that only yields). A slash command arriving meanwhile waits up to that long
    before it is even read."""
    lag = LoopLag(tick=0.0)
    lag.measuring = True
    ticker = asyncio.ensure_future(lag.run())
    await asyncio.sleep(0)
    try:
        await work()
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    return lag.max_gap


def timed(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1e3, 3),
    }


async def main(students: int, repeat: int) -> dict[str, Any]:
    settings = load(example_config_path(), env=ENV)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine, ledger = await build(url, students)
        statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        registry = build_registry()
        clock = FakeClock(NOW)

        ports = Ports(qualification=QualificationService(ledger, settings.course))

        def ctx(name: str, role: Role) -> Context:
            user = User(id=f"id-{name}", username=name, role=role, tz=ZoneInfo("Europe/Berlin"))
            return Context(
                user=user,
                channel_id="c",
                via="slash",
                clock=clock,
                course=settings.course,
                ports=ports,
            )

        names = [f"s{n:04d}" for n in range(students)]
        status_t, baseline_t, counts = [], [], []
        for i in range(repeat):
            name = names[i % students]
            start = time.perf_counter()
            async with engine.connect() as conn:
                await conn.execute(text("SELECT * FROM students WHERE mattermost = :n"), {"n": name})
            baseline_t.append(time.perf_counter() - start)
            before = len(statements)
            start = time.perf_counter()
            reply = await registry.run(ctx(name, Role.STUDENT), "status")
            status_t.append(time.perf_counter() - start)
            counts.append(len(statements) - before)
            assert "a01" in reply.text, reply.text
        holds = [await longest_hold(ledger.read_all_ledgers) for _ in range(7)]
        ledgers = await ledger.all_ledgers()
        overview_t = []
        for _ in range(5):
            start = time.perf_counter()
            result = ov.build_overview(ledgers, settings.course, now=NOW)
            ov.render_overview(result, title="bench")
            overview_t.append(time.perf_counter() - start)
        from idlbot.adapters.chart import overview_png

        start = time.perf_counter()
        png = overview_png(result, title="bench")
        chart_s = time.perf_counter() - start
        await engine.dispose()
    status, baseline = timed(status_t), timed(baseline_t)
    return {
        "bench": "qualification",
        "students": students,
        "status": status,
        "baseline_select": baseline,
        "status_vs_baseline": round(status["median_ms"] / baseline["median_ms"], 2),
        "status_sql_statements": sorted(set(counts)),
        "overview_build_ms": round(min(overview_t) * 1e3, 2),
        "overview_vs_baseline": round(min(overview_t) * 1e3 / baseline["median_ms"], 1),
        "chart_ms": round(chart_s * 1e3, 1),
        "read_all_longest_hold_ms": round(statistics.median(holds) * 1e3, 2),
        "chart_bytes": len(png),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main(args.students, args.repeat))
    print(f"{args.students} students, /idl status x{args.repeat} (SQLite):")
    print(
        f"  status      median {result['status']['median_ms']:.2f} ms, "
        f"p99 {result['status']['p99_ms']:.2f} ms, "
        f"{result['status_sql_statements']} SQL statements per call"
    )
    print(f"  baseline    one bare SELECT: median {result['baseline_select']['median_ms']:.3f} ms")
    print(f"  ratio       status / baseline = {result['status_vs_baseline']}")
    print(
        f"  overview    build + render {result['overview_build_ms']} ms "
        f"(= {result['overview_vs_baseline']} x baseline); chart {result['chart_ms']} ms, "
        f"{result['chart_bytes']} bytes"
    )
    print(
        f"  read all    every ledger from the rows (the first overview after a write): the event "
        f"loop held at most {result['read_all_longest_hold_ms']} ms at a time (median of 7)"
    )
    print(json.dumps(result))
