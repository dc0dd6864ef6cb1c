"""(b) and (c) of `bench_faculty`: a fan-out of personal DMs through two real `idlbot run`
replicas on one fresh PostgreSQL database, against the simulator's rate limiter; then
each replica's memory.

Both replicas serve the whole faculty (the same course files; a deployment file each,
differing only in the port) with `IDLBOT_REPLICA_ID` "a" and "b". Once both answer
/healthz and are idle, the limiter is switched on (Mattermost's `RateLimitSettings`:
`per_sec`, `burst`; keyed by remote address, so the two replicas on 127.0.0.1 share one
bucket, as two pods behind one NAT would) and the DMs are queued in one transaction
(`SqlOutbox.enqueue_dms`, unique keys), as a reminder's fan-out queues them. Every DM
channel is new, so each DM costs the bot two requests: POST /channels/direct and
POST /posts. The clock runs from the enqueue to the moment the simulator holds the last
DM.

What the limit allows: the limiter (throttled's GCRA) lets `burst + 1` requests through
at once and then one per `1 / per_sec`; a 429 does not use up the bucket. So `n`
accepted requests need at least `(n - burst - 1) / per_sec` seconds; every /api/v4
request in the window counts, whichever replica sent it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import text

from benchmarks.bench_wrk import database
from benchmarks.faculty_world import Faculty
from benchmarks.wrk_measure import cpu_seconds, free_port, rss_mb, settle, spawn, stop, wait_http
from benchmarks.wrk_world import cli
from idlbot.adapters.mattermost.rest import KEY_PROP
from idlbot.clock import SystemClock
from idlbot.storage.db import create_engine, sessionmaker
from idlbot.storage.outbox import SqlOutbox

PREFIX = "faculty-fanout:"
REPLICAS = ("a", "b")


class Delivered:
    """The fan-out's posts in the simulator, read incrementally (its post list only grows)."""

    def __init__(self, posts: list[dict[str, Any]], bot_id: str) -> None:
        self._posts, self._bot_id, self._seen = posts, bot_id, 0
        self.keys: Counter[str] = Counter()

    def update(self) -> int:
        new, self._seen = self._posts[self._seen :], len(self._posts)
        for post in new:
            key = str(post.get("props", {}).get(KEY_PROP))
            if post["user_id"] == self._bot_id and key.startswith(PREFIX):
                self.keys[key] += 1
        return len(self.keys)


async def fanout_run(
    faculty: Faculty, tmp: Path, pg_url: str, *, dms: int, per_sec: float, burst: int
) -> dict[str, Any]:
    users = faculty.dm_targets(dms)
    if len(users) < dms:
        raise SystemExit(f"FAILED: {dms} DMs need {dms} users; the faculty has {len(users)}")
    sim = faculty.sim
    async with database("postgres", tmp, pg_url) as db_url:
        ports = {name: free_port() for name in REPLICAS}
        files = {name: faculty.write_files(f"replica-{name}", db_url, ports[name]) for name in REPLICAS}
        env = faculty.env({**os.environ})
        cli("migrate", "--config", str(files["a"]), env=env)
        log = tmp / "replicas.log"
        procs = {
            name: await spawn(
                [sys.executable, "-m", "idlbot", "run", "--config", str(files[name]), "--log-level", "INFO"],
                {**env, "IDLBOT_REPLICA_ID": name}, log,
            )
            for name in REPLICAS
        }  # fmt: skip
        engine = create_engine(db_url)
        try:
            for name in REPLICAS:
                await wait_http(f"http://127.0.0.1:{ports[name]}/healthz", timeout=120)
            for proc in procs.values():
                await settle(proc.pid, lambda: 0)
            delivered = Delivered(sim.posts, faculty.bot_id)
            delivered.update()
            sim.faults.set_rate_limit(per_sec, burst=burst)
            before = len(sim.requests)
            outbox = SqlOutbox(sessionmaker(engine))
            started = time.perf_counter()
            items = [(f"{PREFIX}{n:05d}", uid) for n, uid in enumerate(users)]
            await outbox.enqueue_dms(
                items=items, message="a04 is due in 6 h and I have no hand-in yet", now=SystemClock().now()
            )
            enqueued = time.perf_counter() - started
            cpu0 = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
            samples: list[tuple[float, int, int]] = []  # (s since enqueue, requests so far, DMs so far)
            while delivered.update() < dms:  # polling the simulator is the measurement
                samples.append(
                    (time.perf_counter() - started, len(sim.requests) - before, len(delivered.keys))
                )
                await asyncio.sleep(0.05)
                if time.perf_counter() - started > 30 + 4 * dms / per_sec:
                    raise SystemExit(f"FAILED: only {len(delivered.keys)} of {dms} DMs after the time limit")
            elapsed = time.perf_counter() - started
            cpu = {name: round(cpu_seconds(proc.pid) - cpu0[name], 1) for name, proc in procs.items()}
            window = sim.requests[before:]
            await asyncio.sleep(1.0)  # a duplicate would arrive right behind
            delivered.update()
            sim.faults.set_rate_limit(None)
            memory = {name: round(rss_mb(proc.pid)[0], 1) for name, proc in procs.items()}
            async with engine.connect() as conn:
                rows = await conn.execute(
                    text("SELECT claimed_by, count(*) FROM outbox WHERE key LIKE :p AND state = 'sent' "
                         "GROUP BY claimed_by"), {"p": PREFIX + "%"},
                )  # fmt: skip
                split = {str(by): int(n) for by, n in rows}
        except BaseException:
            print(f"replica log (tail):\n{log.read_text()[-3000:]}", file=sys.stderr)
            raise
        finally:
            await engine.dispose()
            for proc in procs.values():
                await stop(proc)
    api = [r for r in window if r.path.startswith("/api/v4/")]
    throttled = sum(1 for r in api if r.status == 429)
    routes = Counter(f"{r.method} {r.route}" for r in api if r.status != 429)
    accepted = len(api) - throttled
    allowed = max(0.0, (accepted - burst - 1) / per_sec)
    return {
        "dms": dms,
        "per_sec": per_sec,
        "burst": burst,
        "seconds": round(elapsed, 2),
        "enqueue_s": round(enqueued, 2),
        "requests": len(api),
        "accepted": accepted,
        "throttled_429": throttled,
        "routes": dict(routes.most_common(6)),
        "limit_allows_s": round(allowed, 2),
        "vs_limit": round(elapsed / allowed, 3) if allowed else None,
        "delivered": len(delivered.keys),
        "duplicates": sum(n - 1 for n in delivered.keys.values()),
        "split": split,
        "rss_mb": memory,
        "replica_cpu_s": cpu,
        **timeline(samples, elapsed, dms),
    }


def timeline(samples: list[tuple[float, int, int]], elapsed: float, dms: int) -> dict[str, Any]:
    """Where the time went: until the first request reached the simulator, DMs delivered
    per 10 s, and how long the last 5 % of the DMs took."""
    first = next((t for t, n, _ in samples if n > 0), None)
    marks = [0]  # DMs delivered by 10 s, 20 s, ... (the last window is partial)
    for t, _, done in samples:
        if t >= 10 * len(marks):
            marks.append(done)
    rates = [b - a for a, b in pairwise([*marks, dms])]
    tail_from = next((t for t, _, done in samples if done >= 0.95 * dms), elapsed)
    return {
        "first_request_s": None if first is None else round(first, 2),
        "dms_per_10s": rates,
        "last_5pct_s": round(elapsed - tail_from, 2),
    }
