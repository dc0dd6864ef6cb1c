"""The honest benchmark: the real `idlbot run` process under wrk, against two baselines.

Run from the repository root (about 4.5 minutes per database with the defaults):

    .venv/bin/python -m benchmarks.bench_wrk [--db sqlite|postgres|both] [--duration 10]
        [--rounds 2] [--commands deadlines,status] [--students 500] [--connections 64]

Per database:
* the Mattermost simulator (in this process) with 500 students; `/idl` registered as
  `setup-mattermost` does; the database migrated and the roster imported by the real CLI;
  hand-ins and presentations written through the ledger (`wrk_world`);
* the bot as a subprocess, `python -m idlbot run --log-level INFO` (production JSON
  logging, to a file), clock inside the 2018 term; startup = spawn → `/healthz` 200;
* the baselines in a process of their own (`wrk_baseline`): `bare` parses the same form,
  `select` also reads the student's row with one indexed SELECT on the same database;
* load from wrk (`-t1 -c64 --latency`, Debian's package, installed when missing) with
  `wrk_forms.lua`: the exact request Mattermost sends, rotating over every student.

The runs alternate: bare, select, then in each round every command followed by bare,
and select at the round's end; each command run is compared with the mean of the bare
(and select) runs on either side of it. Each command's run is followed at once by the
same command while 2 `/idl overview` a second are fired at the bot (mixed load), then by
the command alone again; the mixed run's p99 is compared with
the mean of the runs before and after it (and, in the JSON, with the one before alone).
The set-up is in `wrk_world`, the measuring in `wrk_measure`, the tables in `wrk_report`.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.wrk_goals import goal_lines, verdicts
from benchmarks.wrk_measure import (
    REPO_ROOT,
    Run,
    ensure_wrk,
    free_port,
    gc_delta,
    gc_metrics,
    gc_report,
    rss_mb,
    run_wrk,
    settle,
    spawn,
    stop,
    thread_cpu,
    wait_http,
)
from benchmarks.wrk_report import DbResult, as_json, fmt_run, load_average, log_summary, summary
from benchmarks.wrk_world import NOW, World, build_world

PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432"
ROUTE = "/mattermost/command"
GEN_CPU_LIMIT = 0.60
DASH, TIMES = "\u2013", "\u00d7"  # in the Markdown table: 0.24\u20130.27\u00d7


@contextlib.asynccontextmanager
async def database(kind: str, tmp: Path, pg_url: str) -> AsyncIterator[str]:
    """A SQLite file, or a PostgreSQL database of our own (dropped afterwards)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        return
    import asyncpg  # type: ignore[import-untyped]

    name = f"idlbot_bench_{os.getpid()}"
    admin = pg_url.replace("postgresql+asyncpg://", "postgresql://") + "/postgres"
    try:
        conn = await asyncpg.connect(admin)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(
            f"FAILED: PostgreSQL at {pg_url} is not reachable ({exc}); use --db sqlite"
        ) from None
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
        yield f"{pg_url}/{name}"
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def fire_overviews(
    world: World, bot_url: str, rate: float, stop_at: float, out: dict[str, Any]
) -> None:
    """`/idl overview` by an instructor `rate` times a second, on a timer (not waiting for
    the previous one), as Mattermost would forward them; their latency and how many were
    answered "Working on it…" (then via response_url)."""
    headers = mattermost_headers(world.token)
    latencies: list[float] = []
    later = 0
    async with aiohttp.ClientSession() as session:

        async def one() -> None:
            nonlocal later
            body = world.form(world.instructor, "overview", world.new_hook(world.instructor))
            start = time.perf_counter()
            async with session.post(bot_url + ROUTE, data=body.encode(), headers=headers) as resp:
                reply = await resp.json(content_type=None)
                if resp.status != 200:
                    raise SystemExit(f"FAILED: overview answered {resp.status}")
            latencies.append(time.perf_counter() - start)
            later += "Working on it" in str(reply.get("text", ""))

        tasks = []
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while loop.time() < stop_at:
            tasks.append(asyncio.create_task(one()))
            next_at += 1 / rate
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        await asyncio.gather(*tasks)
    latencies.sort()
    out["sent"] = out.get("sent", 0) + len(latencies)
    out["later"] = out.get("later", 0) + later
    out.setdefault("latencies", []).extend(latencies)


async def overviews_alone(
    world: World, bot_url: str, pid: int, rate: float, seconds: float
) -> dict[str, float]:
    """The bot's CPU per overview with no other load, split into its event loop's thread
    and the rest (the database driver's thread, the thread pools): what the mixed load
    adds to each second of the commands' runs. Fired as in the mixed load, then waited
    for until the bot is idle again (the DMs delivered). One overview first, not counted:
    the first works out every standing and draws the chart, which later ones reuse."""
    await fire_overviews(world, bot_url, rate, asyncio.get_running_loop().time() + 0.1, {})
    await settle(pid, world.replies_via_response_url)
    # what the bot spends idle (its periodic passes, the websocket's pings) is taken away
    print(f"  overviews alone: the idle bot for {seconds:.0f} s first", flush=True)
    idle0, start = thread_cpu(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    idle1 = thread_cpu(pid)
    idle = [(b - a) / (time.perf_counter() - start) for a, b in zip(idle0, idle1, strict=True)]
    print(f"  overviews alone: idle {idle[0] * 100:.1f} % of a core; firing for {seconds:.0f} s", flush=True)
    main0, other0 = thread_cpu(pid)
    start = time.perf_counter()
    out: dict[str, Any] = {}
    await fire_overviews(world, bot_url, rate, asyncio.get_running_loop().time() + seconds, out)
    await settle(pid, world.replies_via_response_url)
    main1, other1 = thread_cpu(pid)
    wall = time.perf_counter() - start
    count = max(1, out.get("sent", 0))
    return {
        "count": count,
        "main_ms": (main1 - main0 - idle[0] * wall) / count * 1e3,
        "other_ms": (other1 - other0 - idle[1] * wall) / count * 1e3,
        "idle_main": idle[0],
    }


async def measure_db(kind: str, args: argparse.Namespace, wrk: str) -> DbResult:
    result = DbResult(kind)
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    with tempfile.TemporaryDirectory(prefix="bench_wrk_") as tmp_name:
        tmp = Path(tmp_name)
        async with database(kind, tmp, args.pg_url) as db_url:
            bot_port, base_port = free_port(), free_port()
            world = await build_world(tmp, db_url, args.students, bot_port, {**os.environ})
            result.setup_s = world.setup_s
            forms = {text: world.write_forms(tmp / f"forms_{text}.txt", text) for text in commands}
            forms["whoami"] = world.write_forms(tmp / "forms_whoami.txt", "whoami")
            bot_url, base_url = f"http://127.0.0.1:{bot_port}", f"http://127.0.0.1:{base_port}"
            log = tmp / "bot.log"
            profile = ["-m", "cProfile", "-o", f"{args.profile_bot}.{kind}"] if args.profile_bot else []
            command = [sys.executable, *profile, "-m", "idlbot", "run", "--config", str(world.config),
                       "--log-level", "INFO", "--pretend-now", NOW.isoformat()]  # fmt: skip
            baseline = [sys.executable, "-m", "benchmarks.wrk_baseline",
                        "--port", str(base_port), "--db-url", db_url]  # fmt: skip

            async def start_baseline() -> asyncio.subprocess.Process:
                """The baselines' process, spawned after the bot answers (their imports
                would share the 2 cores with the bot's): its start-up (python, aiohttp,
                SQLAlchemy, an engine) is the floor the bot's start-up is read against."""
                start = time.perf_counter()
                proc = await spawn(baseline, world.env, tmp / "baseline.log")
                try:
                    await wait_http(f"{base_url}/ready", timeout=30)
                except BaseException:
                    await stop(proc)
                    raise
                result.baseline_startups.append(time.perf_counter() - start)
                return proc

            for n in range(args.starts - 1):  # start-ups alone, each stopped once it answers
                start = time.perf_counter()
                bot = await spawn(command, world.env, tmp / f"bot-start{n}.log")
                try:
                    await wait_http(f"{bot_url}/healthz", timeout=60)
                    result.startups.append(time.perf_counter() - start)
                finally:
                    result.quick_stops.append(await stop(bot))
                await stop(await start_baseline())
            start = time.perf_counter()
            bot = await spawn(command, world.env, log)
            base: asyncio.subprocess.Process | None = None
            try:
                await wait_http(f"{bot_url}/healthz", timeout=60)
                result.startups.append(time.perf_counter() - start)
                base = await start_baseline()
                await result_runs(result, world, wrk, args, commands, forms, bot, base, bot_url, base_url)
                result.rss_mb, result.hwm_mb = rss_mb(bot.pid)
                result.baseline_rss_mb = rss_mb(base.pid)[0]
            except BaseException:
                print(f"bot log (tail):\n{log.read_text()[-3000:]}", file=sys.stderr)
                raise
            finally:
                result.stop_s = await stop(bot)
                result.log, result.handler_ms = log_summary(log)
                if base is not None:
                    await stop(base)
                await world.sim.stop()
    return result


async def warm_users(world: World, url: str) -> None:
    """`/idl whoami` once for every student, 8 at a time: the bot looks each user up in
    Mattermost once and keeps them for 5 minutes, so the rounds run on a warm cache."""
    queue = list(world.students)
    async with aiohttp.ClientSession(headers=mattermost_headers(world.token)) as session:

        async def worker() -> None:
            while queue:
                name = queue.pop()
                body = world.form(name, "whoami", world.new_hook(name))
                async with session.post(url, data=body.encode()) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise SystemExit(f"FAILED: warm-up whoami for {name} answered {resp.status}")

        await asyncio.gather(*(worker() for _ in range(8)))


def mattermost_headers(token: str) -> dict[str, str]:
    """What Mattermost's DoCommandRequest sends with the form (as in `wrk_forms.lua`)."""
    return {
        "Accept": "application/json", "User-Agent": "Mattermost-Bot/1.1", "Accept-Encoding": "gzip",
        "Authorization": f"Token {token}", "Content-Type": "application/x-www-form-urlencoded",
    }  # fmt: skip


async def result_runs(
    result: DbResult, world: World, wrk: str, args: argparse.Namespace, commands: list[str],
    forms: dict[str, Path], bot: asyncio.subprocess.Process, base: asyncio.subprocess.Process,
    bot_url: str, base_url: str,
) -> None:  # fmt: skip
    """Warm-up, the overviews alone, then the alternating rounds, each command followed
    by its run with the overviews (mixed load) and by itself again."""

    async def cell(label: str, url: str, form: str, pid: int, duration: float) -> Run:
        replies = world.replies_via_response_url()
        run = await run_wrk(
            wrk, label, url, forms[form], world.token, server_pid=pid, duration=duration,
            connections=args.connections,
        )  # fmt: skip
        # what the target still works on after wrk stops (requests queued inside the bot,
        # answers going out via response_url) belongs to this run, not to the next one
        run.settle_s = await settle(pid, world.replies_via_response_url)
        run.via_response_url = world.replies_via_response_url() - replies
        if run.errors:
            print(f"  ! {label}: {run.errors} errors (non-2xx/3xx answers or socket errors)")
        return run

    # warm-up, not counted: every student once through the bot (the bot's user cache, as in
    # production where it is warm), the database's pages, both processes' code paths
    await warm_users(world, bot_url + ROUTE)
    for text in commands:
        await cell("warm-up", bot_url + ROUTE, text, bot.pid, 2)
    await cell("warm-up", base_url + "/select", "whoami", base.pid, 1)
    if args.overview_rate > 0:  # before the rounds: its first overview starts the chart worker
        result.overview_alone = await overviews_alone(
            world, bot_url, bot.pid, args.overview_rate, args.duration
        )
        alone = result.overview_alone
        print(
            f"  {result.db} overviews alone: {alone['count']:.0f}, bot CPU per overview: event loop "
            f"{alone['main_ms']:.1f} ms, other threads {alone['other_ms']:.1f} ms (idle, taken away: "
            f"event loop {alone['idle_main'] * 100:.1f} % of a core)",
            flush=True,
        )
    gc_before = await gc_metrics(bot_url)
    sim_mark = len(world.sim.requests)
    order = 0

    async def measured(
        rnd: int, label: str, url: str, form: str, pid: int, into: list[tuple[int, Run]]
    ) -> Run:
        nonlocal order
        run = await cell(label, url, form, pid, args.duration)
        order += 1
        run.seq = order
        into.append((rnd, run))
        print(f"  {result.db} round {rnd}: {fmt_run(run)}", flush=True)
        return run

    # B, S, then per round every command (alone, mixed, alone again) followed by B, and S at
    # the round's end: each command's runs sit between two bare runs seconds away
    bare = ("bare", base_url + "/bare", commands[0], base.pid)
    select = ("select", base_url + "/select", commands[0], base.pid)
    if args.rounds > 0:
        await measured(1, *bare, result.runs)
        await measured(1, *select, result.runs)
    for rnd in range(1, args.rounds + 1):
        for c in commands:
            label = f"/idl {c}"
            await measured(rnd, label, bot_url + ROUTE, c, bot.pid, result.runs)
            if args.overview_rate > 0:
                # the same command again at once with the overviews: the pair is measured on
                # the same few seconds of the machine, whose speed drifts over a whole run
                stop_at = asyncio.get_running_loop().time() + args.duration + 0.5
                firing = asyncio.create_task(
                    fire_overviews(world, bot_url, args.overview_rate, stop_at, result.overviews)
                )
                await measured(rnd, f"{label} + overviews", bot_url + ROUTE, c, bot.pid, result.mixed)
                await firing
                # and once more without: the pair's reference is the runs on either side of
                # it, so a machine that speeds up or slows down over the 30 s cancels out
                await measured(rnd, f"{label} again", bot_url + ROUTE, c, bot.pid, result.after)
            await measured(rnd, *bare, result.runs)
        await measured(rnd, *select, result.runs)
    calls = Counter(f"{r.method} {r.route}" for r in world.sim.requests[sim_mark:])
    result.sim_calls = dict(calls.most_common(6))
    gc_after = await gc_metrics(bot_url)
    result.gc, result.gc_delta = gc_report(gc_before, gc_after), gc_delta(gc_before, gc_after)


def compile_bytecode() -> str:
    """Compile idlbot's (and the baselines') modules to bytecode, as `pip install` does for
    a deployed bot. In this editable checkout nothing else would when the environment sets
    PYTHONDONTWRITEBYTECODE (this machine does): every start-up would compile 230 modules
    from source again, 0.1-0.3 s that no installed bot spends."""
    ok = all(compileall.compile_dir(REPO_ROOT / d, quiet=1) for d in ("idlbot", "benchmarks"))
    if not ok:
        raise SystemExit("FAILED: compiling idlbot's modules to bytecode (see above)")
    why = " (PYTHONDONTWRITEBYTECODE is set here)" if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""
    return f"bytecode of idlbot/ and benchmarks/ compiled, as an install does{why}"


async def main(args: argparse.Namespace) -> int:
    wrk = ensure_wrk()
    print(compile_bytecode(), flush=True)
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    print(f"wrk: {wrk}; {os.cpu_count()} CPUs; load average before: {load_average()}", flush=True)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        res = await measure_db(kind, args, wrk)
        results.append(res)
        print(f"  {kind}: set-up {json.dumps({k: round(v, 2) for k, v in res.setup_s.items()})}")
        if res.overviews:
            lat = res.overviews["latencies"]
            print(
                f"  {kind}: overviews fired {res.overviews['sent']}, p50 {lat[len(lat) // 2] * 1e3:.0f} ms, "
                f"answered 'Working on it…' {res.overviews['later']}"
            )
        for line in res.gc:
            print(f"  {kind}: {line}")
        print(
            f"  {kind}: Mattermost calls by the bot during the rounds (simulator's record): {res.sim_calls}"
        )
        for name, (n, p50, p99) in sorted(res.handler_ms.items()):
            print(
                f"  {kind}: the bot's own log, command {name}: {n} runs, p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            )
        print(f"  {kind}: the bot's log, lines by level and message:")
        for line in res.log:
            print(f"    {line}")
    print(f"load average after: {load_average()}")
    print()
    print("\n".join(summary(results, commands)))
    print()
    print("\n".join(goal_lines(results, commands)))
    gen = max((x.gen_cpu for r in results for _, x in r.of("bare")), default=0.0)
    if any(r.of("bare") for r in results):
        verdict = "below" if gen < GEN_CPU_LIMIT else "ABOVE"
        print(
            f"\nwrk used at most {gen * 100:.0f} % of a core on the bare baseline ({verdict} the 60 % limit)."
        )
    errors = sum(x.errors for r in results for _, x in r.runs + r.mixed + r.after)
    report = as_json(results, gen, errors)
    report["goals"] = [asdict(v) for r in results for v in verdicts(r, commands)]
    print(json.dumps(report))
    if errors:
        print("FAILED: some requests got errors (see the lines marked '!')")
        return 1
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=PG_DEFAULT, help="server URL, without a database name")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--commands", default="deadlines,status", help="e.g. deadlines,status,whoami")
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--overview-rate", type=float, default=2.0, help="0 skips the mixed load")
    parser.add_argument(
        "--starts", type=int, default=3, help="start-ups measured (all but the last stopped at once)"
    )
    parser.add_argument(
        "--profile-bot",
        metavar="PATH",
        help="run the bot under cProfile, stats to PATH.sqlite / PATH.postgres (read them with "
        "`python -m pstats`; the profiler slows the bot, so not for the figures)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
