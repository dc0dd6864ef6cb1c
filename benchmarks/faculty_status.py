"""(a) of `bench_faculty`: `/idl status` through one real `idlbot run` serving every course
of a faculty, under wrk, against the bare-handler baseline of `wrk_baseline`.

The bot is a subprocess (`python -m idlbot run --config <deployment> --pretend-now`,
production JSON logging to a file), on a PostgreSQL database of its own. Before the
rounds every student's status goes once through the route, 32 at a time, and each answer
is checked to be a status (this also warms the bot's user cache, as in production). Each
round runs wrk (`-t1`, `--latency`, one thread) on the bare handler, then on the bot, with
`wrk_faculty.lua` rotating over every student of every course with that course's token.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_deadlines import ROUTE, slash_headers
from benchmarks.bench_wrk import database
from benchmarks.faculty_world import Faculty, fill_database, register
from benchmarks.wrk_measure import Run, free_port, rss_mb, run_wrk, settle, spawn, stop, wait_http
from benchmarks.wrk_world import NOW

LUA = Path(__file__).resolve().parent / "wrk_faculty.lua"
STATUS_HEAD = "#### Exam qualification: you"


def run_json(run: Run) -> dict[str, Any]:
    return {
        "requests": run.requests, "rps": round(run.rps), "p50_ms": round(run.p50_ms, 2),
        "p99_ms": round(run.p99_ms, 2), "max_ms": round(run.max_ms, 1), "errors": run.errors,
        "server_cpu_us": round(run.cpu_us_per_request), "gen_cpu": round(run.gen_cpu, 2),
    }  # fmt: skip


async def check_every_status(url: str, forms: list[tuple[str, str]], clients: int = 32) -> None:
    """Each form once; every answer must be the student's status, not an error or a
    'Working on it' (which would mean the answer went out via response_url)."""
    queue = list(forms)
    bad: list[str] = []
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            while queue:
                token, body = queue.pop()
                async with session.post(url, data=body.encode(), headers=slash_headers(token)) as resp:
                    reply = await resp.json(content_type=None)
                if resp.status != 200 or not str(reply.get("text", "")).startswith(STATUS_HEAD):
                    bad.append(f"{resp.status} {str(reply)[:200]}")

        await asyncio.gather(*(worker() for _ in range(clients)))
    if bad:
        raise SystemExit(f"FAILED: {len(bad)} of {len(forms)} answers were not a status, e.g. {bad[0]}")


async def status_run(
    faculty: Faculty, tmp: Path, pg_url: str, wrk: str, *, rounds: int, duration: float, connections: int
) -> dict[str, Any]:
    """The whole (a) measurement for this faculty; a result dict for the report."""
    label = f"status{len(faculty.courses)}"
    async with database("postgres", tmp, pg_url) as db_url:
        port, base_port = free_port(), free_port()
        deployment = faculty.write_files(label, db_url, port)
        bot_url, base_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{base_port}"
        await register(faculty, bot_url)
        env = faculty.env({**os.environ})
        await fill_database(faculty, deployment, db_url, env)
        forms = faculty.forms("status")
        forms_file = tmp / f"{label}.forms"
        forms_file.write_text("".join(f"{token}\t{body}\n" for token, body in forms))
        log = tmp / f"{label}.log"
        base = await spawn(
            [sys.executable, "-m", "benchmarks.wrk_baseline", "--port", str(base_port), "--db-url", db_url],
            env, tmp / f"{label}.baseline.log",
        )  # fmt: skip
        bot = await spawn(
            [sys.executable, "-m", "idlbot", "run", "--config", str(deployment), "--log-level", "INFO",
             "--pretend-now", NOW.isoformat()],
            env, log,
        )  # fmt: skip
        try:
            startup = await wait_http(f"{bot_url}/healthz", timeout=120)
            await wait_http(f"{base_url}/ready", timeout=30)
            await check_every_status(bot_url + ROUTE, forms)
            await settle(bot.pid, lambda: 0)
            bare_runs: list[Run] = []
            bot_runs: list[Run] = []
            for _ in range(rounds):
                for runs, url, pid in ((bare_runs, f"{base_url}/bare", base.pid),
                                       (bot_runs, bot_url + ROUTE, bot.pid)):  # fmt: skip
                    runs.append(await run_wrk(
                        wrk, label, url, forms_file, "", server_pid=pid, duration=duration,
                        connections=connections, script=LUA,
                    ))  # fmt: skip
                await settle(bot.pid, lambda: 0)
            rss, hwm = rss_mb(bot.pid)
        except BaseException:
            print(f"bot log (tail):\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            await stop(bot)
            await stop(base)
    return {
        "courses": len(faculty.courses),
        "students": len(forms),
        "startup_s": round(startup, 2),
        "bare": [run_json(r) for r in bare_runs],
        "bot": [run_json(r) for r in bot_runs],
        "p99_ms": min(r.p99_ms for r in bot_runs),
        "rps": max(r.rps for r in bot_runs),
        "bare_p99_ms": min(r.p99_ms for r in bare_runs),
        "bare_rps": max(r.rps for r in bare_runs),
        "rss_mb": round(rss, 1),
        "hwm_mb": round(hwm, 1),
        "errors": sum(r.errors for r in bot_runs + bare_runs),
    }
