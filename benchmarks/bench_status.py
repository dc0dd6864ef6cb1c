"""Server CPU per `/idl status` through the bot's real slash route, against a bare handler.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_status [--students 500] [--requests 3000]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/status_bench] [--profile 25]

One server process runs, on one event loop like production: the Mattermost simulator
(the example course plus `--students` student accounts), the real `Bot` on SQLite in a
temp dir (or the given, empty PostgreSQL database), its clock on Tue 4 Dec 2018 (eight
assignments due), and a bare aiohttp app whose one handler reads the same form and
answers a small JSON body. The roster has `--students` students, each with hand-ins
(some late), a failed presentation every 7th, an override every 5th, a blog post each.

The requests come from a separate process (this file with `--generate`), so its CPU is
not the server's: `--clients` keep-alive connections, each sending the exact form
Mattermost sends, rotating over the students. The server counts its own CPU
(`time.process_time`) between the generator's start and end marks and divides by the
requests answered. Bare and bot runs alternate (`--rounds`); the best of each is shown.
Before measuring, every student's status goes once through the route (warming the
bot's user cache, as in production) and is checked to be a status; SQL statements per
call are counted on the bot's engine. `--profile N` adds one bot run under cProfile and
prints its top N functions by own and by cumulative time.

Logging is production's (`idlbot.logs.setup("INFO")`, JSON lines), written to a temp file.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import logging
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import event, insert

from benchmarks.bench_deadlines import ROUTE, baseline_server, slash_form, slash_headers

NOW = datetime(2018, 12, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
REPO_ROOT = Path(__file__).resolve().parents[1]


# ---- the generator (its own process) ------------------------------------------------------


async def generate(spec: dict[str, Any]) -> dict[str, Any]:
    """POST the bodies round-robin from `clients` connections; print marks around the window."""
    bodies = [b.encode() for b in spec["bodies"]]
    total, warm = spec["requests"], spec["warmup"]
    sent = 0
    errors = 0
    marks: dict[str, float] = {}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent, errors
        while sent < warm + total:
            n = sent
            sent += 1
            if n == warm:
                print("START", flush=True)
                marks["start"] = time.monotonic()
            async with session.post(spec["url"], data=bodies[n % len(bodies)], headers=spec["headers"]) as r:
                body = await r.read()
                if r.status != 200 or b"Working on it" in body:
                    errors += 1

    connector = aiohttp.TCPConnector(limit=spec["clients"])
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(spec["clients"])))
    print("END", flush=True)
    wall = time.monotonic() - marks["start"]
    return {"requests": total, "errors": errors, "wall": wall}


async def drive(
    url: str, bodies: list[str], headers: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """Run the generator against `url`; the server's CPU seconds between its marks."""
    spec = {
        "url": url,
        "bodies": bodies,
        "headers": headers,
        "requests": args.requests,
        "warmup": min(200, args.requests),
        "clients": args.clients,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.bench_status", "--generate", cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    cpu0 = cpu1 = 0.0
    result: dict[str, Any] = {}
    async for raw in proc.stdout:
        line = raw.decode().strip()
        if line == "START":
            cpu0 = time.process_time()
        elif line == "END":
            cpu1 = time.process_time()
        elif line.startswith("{"):
            result = json.loads(line)
    if await proc.wait() != 0 or not result:
        raise SystemExit("the generator failed")
    result["cpu_us"] = (cpu1 - cpu0) / result["requests"] * 1e6
    result["rps"] = result["requests"] / result["wall"]
    return result


# ---- the server side ----------------------------------------------------------------------


@asynccontextmanager
async def bare_server() -> AsyncIterator[str]:
    """The same bare handler as `bench_deadlines` (parses the form, answers ephemeral)."""
    async with baseline_server() as port:
        yield f"http://127.0.0.1:{port}{ROUTE}"


async def seed_ledger(url: str, course: Any, names: list[str], *, first_id: int = 1) -> None:
    """Roster and ledger rows of `course` in bulk: hand-ins (15 % missing, some late), a
    failed presentation every 7th student, an excuse every 5th, a blog post each. Student
    ids start at `first_id` (they are unique across the courses of one database)."""
    from idlbot.storage.db import create_engine
    from idlbot.storage.models_qualification import (
        HandInRow,
        OverrideRow,
        PresentationRow,
        StudentRow,
        WikiPostRow,
    )

    rng = random.Random(7)
    now = NOW.astimezone(UTC)
    teams = [t.id for t in course.teams]
    engine = create_engine(url)
    students, hand_ins, presentations, overrides, posts = [], [], [], [], []
    for n, name in enumerate(names, start=first_id):
        students.append(
            {"id": n, "mattermost": name, "gitlab": name, "group_id": f"g{1 + n % 3}",
             "team_id": teams[n % len(teams)], "active": True, "updated_at": now}
        )  # fmt: skip
        for a in course.assignments:
            if a.due < now and rng.random() < 0.85:
                pushed = a.due - timedelta(hours=rng.randint(-20, 60))
                hand_ins.append(
                    {"student_id": n, "assignment_id": a.id, "repo_path": f"idl2018/assignments/{name}",
                     "pushed_at": pushed, "pusher": name}
                )  # fmt: skip
        if n % 7 == 0:
            presentations.append(
                {"student_id": n, "assignment_id": "a01", "outcome": "fail", "note": "could not explain",
                 "by": "tutor1", "at": now - timedelta(days=20)}
            )  # fmt: skip
        if n % 5 == 0:
            overrides.append(
                {"student_id": n, "assignment_id": "a02", "status": "excused", "reason": "sick",
                 "by": "stober", "at": now - timedelta(days=30)}
            )  # fmt: skip
        posts.append(
            {"kind": "blog", "slug": f"blog/{name}/first", "student_id": n, "team_id": None,
             "author": name, "created_at": now - timedelta(days=10)}
        )  # fmt: skip
    async with engine.begin() as conn:
        for table, rows in (
            (StudentRow, students),
            (HandInRow, hand_ins),
            (PresentationRow, presentations),
            (OverrideRow, overrides),
            (WikiPostRow, posts),
        ):
            if rows:
                await conn.execute(insert(table), [{**row, "course": course.id} for row in rows])
    await engine.dispose()


@dataclass
class BotRun:
    url: str
    bodies: list[str]
    headers: dict[str, str]
    statements: list[int]
    split: dict[str, float]  # in-process CPU per call (us): the dispatcher, the ledger read


@asynccontextmanager
async def bot_server(db_url: str, students: int, log_path: Path) -> AsyncIterator[BotRun]:
    from idlbot import logs
    from idlbot.adapters.mattermost.rest import MattermostChat
    from idlbot.adapters.mattermost.setup import setup_command
    from idlbot.app import Bot
    from idlbot.clock import ShiftedClock
    from idlbot.commands import build_registry
    from idlbot.config import example_config_path, load
    from idlbot.devtools.demo import seed, with_endpoints
    from idlbot.devtools.sim.mattermost import MattermostSim
    from idlbot.storage.db import upgrade

    sim = MattermostSim(ping_interval=60.0)
    env = {"IDLBOT_MATTERMOST_TOKEN": "x" * 26, "IDLBOT_SLASH_TOKEN": "y" * 26}
    base = load(example_config_path(), env=env)
    info = seed(sim, base)
    names = [f"s{n:04d}" for n in range(students)]
    ids = {name: sim.add_user(name)["id"] for name in names}
    for uid in ids.values():
        sim.add_team_member(info["team_id"], uid)
    sim_url = await sim.start()
    await upgrade(db_url)
    await seed_ledger(db_url, base.course, names)

    async def register(public_url: str) -> str:
        chat = MattermostChat(sim_url, info["tokens"]["idlbot"], team=base.mattermost.team)
        try:
            await chat.login()
            _, command = await setup_command(chat, public_url, build_registry())
        finally:
            await chat.close()
        return str(command["token"])

    env["IDLBOT_MATTERMOST_TOKEN"] = info["tokens"]["idlbot"]
    env["IDLBOT_SLASH_TOKEN"] = await register("http://127.0.0.1:9")
    settings = with_endpoints(load(example_config_path(), env=env), mattermost_url=sim_url, port=0,
                              database_url=db_url)  # fmt: skip
    log_stream = log_path.open("w", encoding="utf-8")
    s = settings.secrets
    secrets = (s.mattermost_token, s.slash_token, s.gitlab_token, s.gitlab_webhook_secret, s.slurm_secret)
    logs.setup("INFO", secrets=secrets, stream=log_stream)
    bot = Bot(settings, clock=ShiftedClock(NOW))
    counts: list[int] = []
    try:
        await bot.start()
        await asyncio.wait_for(bot.ready.wait(), 10)
        await register(f"http://127.0.0.1:{bot.port}")
        token = env["IDLBOT_SLASH_TOKEN"]
        channel = str(info["channels"]["town-square"])
        team = str(info["team_id"])
        bodies = [
            slash_form(token=token, user_id=ids[n], user_name=n, channel_id=channel, team_id=team,
                       sim_url=sim_url, text="status")
            for n in names
        ]  # fmt: skip
        headers = slash_headers(token)
        url = f"http://127.0.0.1:{bot.port}{ROUTE}"
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(bot.engine.sync_engine, "before_cursor_execute", count)
        async with aiohttp.ClientSession() as http:  # once each: warms the user cache, checks
            for n, body in zip(names, bodies, strict=True):
                before = statements
                async with http.post(url, data=body, headers=headers) as resp:
                    reply = await resp.json()
                counts.append(statements - before)
                if resp.status != 200 or not reply["text"].startswith("#### Exam qualification: you"):
                    raise SystemExit(f"{n}: not a status: {resp.status} {reply}")
        event.remove(bot.engine.sync_engine, "before_cursor_execute", count)
        split = await in_process(bot, [(ids[n], n) for n in names], channel)
        opened = 0

        def connected(*_: Any) -> None:
            nonlocal opened
            opened += 1

        event.listen(bot.engine.sync_engine, "connect", connected)
        yield BotRun(url, bodies, headers, counts, split)
        print(f"database connections opened during the runs: {opened}", file=sys.stderr)
    finally:
        await bot.stop()
        await sim.stop()
        logging.getLogger().handlers.clear()
        log_stream.close()


async def in_process(
    bot: Any, users: list[tuple[str, str]], channel: str, calls: int = 2000
) -> dict[str, float]:
    """CPU per call without HTTP: `Dispatcher.run("status")` (user lookup from the warm
    cache, the command, its log line), and the ledger read alone."""
    dispatcher, store = bot.dispatcher, bot.qualification
    split = {}
    started = time.process_time()
    for n in range(calls):
        uid, name = users[n % len(users)]
        await dispatcher.run(uid, channel, "status", "slash", name)
    split["dispatcher_us"] = (time.process_time() - started) / calls * 1e6
    if os.environ.get("BENCH_STATUS_PROFILE_DISPATCH"):  # the command alone, under cProfile
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(calls):
            uid, name = users[n % len(users)]
            await dispatcher.run(uid, channel, "status", "slash", name)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(40)
    started = time.process_time()
    for n in range(calls):
        await store.ledger_for(users[n % len(users)][1])
    split["ledger_read_us"] = (time.process_time() - started) / calls * 1e6
    return {k: round(v, 1) for k, v in split.items()}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.postgres or f"sqlite+aiosqlite:///{Path(tmp) / 'idlbot.db'}"
        async with bot_server(db_url, args.students, Path(tmp) / "bot.log") as bot, bare_server() as bare:
            bare_runs, bot_runs = [], []
            for _ in range(args.rounds):
                bare_runs.append(await drive(bare, bot.bodies, bot.headers, args))
                bot_runs.append(await drive(bot.url, bot.bodies, bot.headers, args))
            profile = ""
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await drive(bot.url, bot.bodies, bot.headers, args)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(args.profile)
                stats.sort_stats("cumulative").print_stats(args.profile)
                profile = out.getvalue()
    bare_us = min(r["cpu_us"] for r in bare_runs)
    bot_us = min(r["cpu_us"] for r in bot_runs)
    return {
        "bench": "status",
        "database": "postgresql" if args.postgres else "sqlite",
        "students": args.students,
        "requests": args.requests,
        "clients": args.clients,
        # the fewest seen: the bot's own periodic work (outbox, health) shares the engine
        "sql_statements_per_status": min(bot.statements),
        "bare_cpu_us": [round(r["cpu_us"], 1) for r in bare_runs],
        "bot_cpu_us": [round(r["cpu_us"], 1) for r in bot_runs],
        "bot_rps": [round(r["rps"]) for r in bot_runs],
        "errors": sum(r["errors"] for r in bot_runs + bare_runs),
        "ratio": round(bot_us / bare_us, 1),
        "in_process": bot.split,
        "profile": profile,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="an empty PostgreSQL database's URL")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(asyncio.run(generate(json.loads(sys.stdin.read())))), flush=True)
        return 0
    result = asyncio.run(bench(args))
    print(result.pop("profile"))
    print(
        f"/idl status, {result['students']} students, {result['database']}: "
        f"{result['sql_statements_per_status']} SQL statements per call"
    )
    print(f"  bare aiohttp handler  CPU per request (us): {result['bare_cpu_us']}")
    print(f"  bot /idl status       CPU per request (us): {result['bot_cpu_us']}  req/s {result['bot_rps']}")
    print(f"  in-process CPU per call (us), no HTTP: {result['in_process']}")
    print(
        f"  ratio (best bot / best bare): {result['ratio']}x   errors or 'Working on it': {result['errors']}"
    )
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
