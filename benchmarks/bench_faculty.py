"""Scale figures of one deployment for a whole faculty (issue 15, item 4).

Run from the repository root (about 5 minutes with the defaults; `--quick` about 35 s):

    .venv/bin/python -m benchmarks.bench_faculty [--quick] [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432]

Three figures, each a ratio against a baseline measured in the same run:
(a) `/idl status` p99 with 20 courses x 300 students served by one `idlbot run`, over the
    p99 of the same harness with one course x 300 students (goal <= 1.5); the bare
    aiohttp handler of `wrk_baseline` is measured alongside for scale (`faculty_status`);
(b) 6 000 DMs fanned out through two `idlbot run` replicas against the simulator's rate
    limit, over the least time the limit allows for the requests the replicas made
    (goal <= 1.1) (`faculty_fanout`);
(c) each replica's resident memory after the fan-out, and the single bot's after (a)
    (goal <= 200 MB).
Every process is real: the bot and the replicas are `python -m idlbot run` with a
deployment file and a course file per course (`faculty_world`), each run on a fresh
PostgreSQL database that is dropped afterwards; wrk generates the load.

The rate limit: Mattermost's default (10/s, burst 100) would make the 12 000 requests of
a cold 6 000-DM fan-out take 20 minutes; 100/s (burst 100, both admin settings) makes it
two, and stays well below what the replicas and the simulator manage without a limit, so
the limit, not the machine, sets the pace and the ratio shows what the bot wastes on it.

Times are measured, never asserted; the exit status is 1 only when an answer was wrong
or a DM was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.faculty_fanout import fanout_run
from benchmarks.faculty_status import status_run
from benchmarks.faculty_world import build_faculty
from benchmarks.wrk_measure import ensure_wrk
from benchmarks.wrk_report import load_average

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432"
GOALS = {"status_p99_ratio": 1.5, "fanout_vs_limit": 1.1, "rss_mb": 200.0}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    wrk = ensure_wrk()
    logging.getLogger().setLevel(logging.ERROR)
    timing = {"rounds": args.rounds, "duration": args.duration, "connections": args.connections}
    out: dict[str, Any] = {"bench": "faculty", "load_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="bench_faculty_") as name:
        tmp = Path(name)
        phases = out["phases_s"] = {}
        clock = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal clock
            phases[name], clock = round(time.perf_counter() - clock, 1), time.perf_counter()

        one = await build_faculty(tmp / "one", 1, args.students)
        try:
            out["status_one"] = await status_run(one, tmp / "one", args.pg_url, wrk, **timing)
        finally:
            await one.sim.stop()
        lap("status_one")
        others = max(0, args.dms - args.courses * args.students)  # DM targets beyond the rosters
        many = await build_faculty(tmp / "many", args.courses, args.students, others)
        lap("build_many")
        try:
            out["status_many"] = await status_run(many, tmp / "many", args.pg_url, wrk, **timing)
            lap("status_many")
            out["fanout"] = await fanout_run(
                many, tmp / "many", args.pg_url, dms=args.dms, per_sec=args.per_sec, burst=args.burst
            )
            lap("fanout")
        finally:
            await many.sim.stop()
    out["load_after"] = load_average()
    one_s, many_s, fan = out["status_one"], out["status_many"], out["fanout"]
    out["ratios"] = {
        "status_p99_ratio": round(many_s["p99_ms"] / one_s["p99_ms"], 2),
        "status_rps_ratio": round(many_s["rps"] / one_s["rps"], 2),
        "fanout_vs_limit": fan["vs_limit"],
        "rss_mb": max([many_s["rss_mb"], *fan["rss_mb"].values()]),
    }
    return out


def report(r: dict[str, Any]) -> list[str]:
    one, many, fan, ratios = r["status_one"], r["status_many"], r["fanout"], r["ratios"]

    def verdict(key: str) -> str:
        value = ratios[key]
        return "n/a" if value is None else ("ok" if value <= GOALS[key] else "MISSED")

    lines = [f"machine load (1/5/15 min): before {r['load_before']}, after {r['load_after']}"]
    lines += [f"phases (s): {r['phases_s']}", ""]
    args = r["args"]
    lines.append(
        f"(a) /idl status, one `idlbot run`, wrk -t1 -c{args['connections']} (best of {args['rounds']}):"
    )
    lines.append(
        f"  {'':<22}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}{'bare p99':>10}{'bare req/s':>12}{'RSS MB':>8}"
    )
    for s in (one, many):
        label = f"{s['courses']} course(s) x {s['students'] // s['courses']}"
        p50 = min(x["p50_ms"] for x in s["bot"])
        lines.append(f"  {label:<22}{p50:>8.1f}{s['p99_ms']:>8.1f}{s['rps']:>8.0f}"
                     f"{s['bare_p99_ms']:>10.1f}{s['bare_rps']:>12.0f}{s['rss_mb']:>8.0f}")  # fmt: skip
    for s in (one, many):
        lines.append(
            f"  {s['courses']} course(s): startup {s['startup_s']} s; warm-up answered 'Working on it' "
            f"{s['warmup_late']}x (then a status); idle {s['settle_s']} s after it; replies via "
            f"response_url in the rounds: {s['via_response_url']}"
        )
    lines.append(f"  p99 ratio (many / one): {ratios['status_p99_ratio']} (goal <= 1.5: "
                 f"{verdict('status_p99_ratio')}); req/s ratio: {ratios['status_rps_ratio']}")  # fmt: skip
    lines.append("")
    lines.append(
        f"(b) fan-out of {fan['dms']} DMs, two replicas, limit {fan['per_sec']:g}/s burst {fan['burst']}:"
    )
    lines.append(f"  {fan['seconds']} s; the limit allows {fan['limit_allows_s']} s for {fan['accepted']} "
                 f"accepted requests ({fan['throttled_429']} more answered 429) -> {fan['vs_limit']} x "
                 f"(goal <= 1.1: {verdict('fanout_vs_limit')})")  # fmt: skip
    lines.append(f"  requests by route: {fan['routes']}")
    lines.append(
        f"  first request {fan['first_request_s']} s after the enqueue; DMs per 10 s {fan['dms_per_10s']}; "
        f"the last 5 % took {fan['last_5pct_s']} s; replica CPU s {fan['replica_cpu_s']}"
    )
    lines.append(f"  delivered {fan['delivered']} / {fan['dms']}, duplicates {fan['duplicates']}, "
                 f"split by replica {fan['split']}")  # fmt: skip
    lines.append("")
    lines.append(f"(c) RSS MB: replicas {fan['rss_mb']}, single bot after (a) {many['rss_mb']} "
                 f"(goal <= 200: {verdict('rss_mb')})")  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pg-url", default=PG_DEFAULT, help="a PostgreSQL server (databases are made and dropped)"
    )
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--students", type=int, default=300, help="per course")
    parser.add_argument("--dms", type=int, default=6000)
    parser.add_argument("--per-sec", type=float, default=100.0, help="RateLimitSettings.PerSec")
    parser.add_argument("--burst", type=int, default=100, help="RateLimitSettings.MaxBurst")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 courses x 50 students, 300 DMs")
    args = parser.parse_args()
    if args.quick:
        args.courses, args.students, args.dms, args.duration, args.rounds = 3, 50, 300, 1.0, 1
    result = asyncio.run(bench(args))
    result["args"] = {k: v for k, v in vars(args).items() if k != "pg_url"}
    print("\n".join(report(result)))
    print(json.dumps(result))
    fan = result["fanout"]
    wrong = result["status_one"]["errors"] + result["status_many"]["errors"]
    return 1 if wrong or fan["duplicates"] or fan["delivered"] != fan["dms"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
