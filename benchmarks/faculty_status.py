"""(a) of `bench_faculty`: `/idl status` through one real `idlbot run` serving every course
of a faculty, under wrk, against the bare-handler baseline of `wrk_baseline`.

The bot is a subprocess (`python -m idlbot run --config <deployment> --pretend-now`,
production JSON logging to a file), on a PostgreSQL database of its own. Before the
rounds every student's status goes once through the route, 32 at a time, and each answer
is checked to be a status (this also warms the bot's user cache, as in production); then
the bot is left to finish what its courses' reminders send at the pretend instant (each
course is the 2018 course, so all of them are due at once) until it is idle. Each
round runs wrk (`-t1`, `--latency`, one thread) on the bare handler, then on the bot, with
`wrk_forms.lua` rotating over every student of every course with that course's token.
Answers that went out via response_url instead (slower than the bot's deadline) are
counted from the simulator's record.
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

LUA = Path(__file__).resolve().parent / "wrk_forms.lua"  # each line with its own token
STATUS_HEAD = "#### Exam qualification: you"
SETTLE_S = 240.0  # the courses' catch-up reminders at the pretend instant finish first


def run_json(run: Run) -> dict[str, Any]:
    return {
        "requests": run.requests, "rps": round(run.rps), "p50_ms": round(run.p50_ms, 2),
        "p99_ms": round(run.p99_ms, 2), "max_ms": round(run.max_ms, 1), "errors": run.errors,
        "server_cpu_us": round(run.cpu_us_per_request), "gen_cpu": round(run.gen_cpu, 2),
    }  # fmt: skip


async def check_every_status(url: str, forms: list[tuple[str, str]], clients: int = 32) -> int:
    """Each form once, `clients` at a time; every answer must be the student's status.
    On the cold user cache (and while the courses' catch-up reminders go out) a few may
    be answered 'Working on it' (the status then follows via response_url): those are
    sent again, one at a time, and must then be a status. Returns how many were late."""
    queue = list(forms)
    bad: list[str] = []
    late: list[tuple[str, str]] = []
    async with aiohttp.ClientSession() as session:

        async def one(form: tuple[str, str]) -> str:
            token, body = form
            async with session.post(url, data=body.encode(), headers=slash_headers(token)) as resp:
                reply = await resp.json(content_type=None)
            text = str(reply.get("text", ""))
            if resp.status == 200 and text.startswith(STATUS_HEAD):
                return "ok"
            return "late" if resp.status == 200 and "Working on it" in text else f"{resp.status} {text[:200]}"

        async def worker() -> None:
            while queue:
                form = queue.pop()
                outcome = await one(form)
                if outcome == "late":
                    late.append(form)
                elif outcome != "ok":
                    bad.append(outcome)

        await asyncio.gather(*(worker() for _ in range(clients)))
        for form in late:
            outcome = await one(form)
            if outcome != "ok":
                bad.append(outcome)
    if bad:
        raise SystemExit(f"FAILED: {len(bad)} of {len(forms)} answers were not a status, e.g. {bad[0]}")
    return len(late)


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
            late_in_warmup = await check_every_status(bot_url + ROUTE, forms)
            replies = faculty.replies_via_response_url
            settled = await settle(bot.pid, replies, timeout=SETTLE_S)
            before = replies()
            bare_runs: list[Run] = []
            bot_runs: list[Run] = []
            for _ in range(rounds):
                for runs, url, pid in ((bare_runs, f"{base_url}/bare", base.pid),
                                       (bot_runs, bot_url + ROUTE, bot.pid)):  # fmt: skip
                    runs.append(await run_wrk(
                        wrk, label, url, forms_file, "", server_pid=pid, duration=duration,
                        connections=connections, script=LUA,
                    ))  # fmt: skip
                await settle(bot.pid, replies, timeout=SETTLE_S)
            via_response_url = replies() - before
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
        "warmup_late": late_in_warmup,
        "settle_s": round(settled, 1),
        "via_response_url": via_response_url,
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
