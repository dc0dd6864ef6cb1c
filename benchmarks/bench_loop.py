"""`/healthz` and slash-command latency under 64 concurrent clients, with and without
overviews (chart rendering) running at the same time.

Run from the repository root:

    .venv/bin/python -m benchmarks.bench_loop [--seconds 8] [--warmup 2] [--clients 64] [--overview-rate 2]

The server process runs, on one event loop (like production), the Mattermost simulator
and the real `Bot` (production `Tuning`, SQLite in a temp dir, clock inside the 2018
term), built as `benchmarks.bench_deadlines.bot_server` builds it. The load generator is
a separate process (this file with `--generate`), with three kinds of clients:

* `--clients` keep-alive slash clients looping POST `/idl deadlines` → read body;
* one `/healthz` poller: GET, read, wait 50 ms, again;
* in the second run only, `/idl overview` by an instructor, `--overview-rate` per second
  (fired on a timer, not waiting for the previous one).

The first run (no overviews) is the baseline of the second: the slash p99 ratio
with/without overviews must stay ≤ 2, and `/healthz` p99 ≤ 100 ms in both. The server
also runs a 10 ms ticker and reports the longest gap between its ticks (event loop lag).
Only requests that complete inside the measured window count; a non-200 `/healthz` is
counted and reported (that is one of the things measured), a non-200 slash answer is an
error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_deadlines import (
    END_MARK,
    REPO_ROOT,
    ROUTE,
    START_MARK,
    bot_server,
    percentile,
    quiet_logging,
)

BENCH = "loop"
TARGET_HEALTHZ_P99_MS = 100.0
TARGET_SLASH_RATIO = 2.0
HEALTHZ_PAUSE = 0.05


@dataclass(frozen=True)
class Spec:
    base: str
    slash_body: str
    overview_body: str
    headers: dict[str, str]
    clients: int
    overview_rate: float
    warmup: float
    seconds: float


def _stats(latencies: list[float]) -> dict[str, float]:
    latencies.sort()
    return {
        "n": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "max_ms": (latencies[-1] * 1e3) if latencies else math.nan,
    }


class Generator:
    """The load of one run: slash clients, a /healthz poller and (maybe) overviews."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.loop = asyncio.get_running_loop()
        begin = self.loop.time()
        self.measure_from = begin + spec.warmup
        self.stop = self.measure_from + spec.seconds
        self.lat: dict[str, list[float]] = {"slash": [], "healthz": [], "overview": []}
        self.errors: Counter[str] = Counter()
        self.healthz_status: Counter[int] = Counter()
        self.later = 0
        self.chartless = 0  # overviews answered inline without their chart (renderer busy)

    def in_window(self) -> bool:
        return self.measure_from <= self.loop.time() <= self.stop

    def record(self, kind: str, started: float) -> None:
        if self.in_window():
            self.lat[kind].append(self.loop.time() - started)

    async def post(self, session: aiohttp.ClientSession, kind: str, body: str) -> None:
        started = self.loop.time()
        try:
            async with session.post(self.spec.base + ROUTE, data=body, headers=self.spec.headers) as resp:
                reply = await resp.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            self.errors[f"{kind} {type(err).__name__}"] += 1
            return
        if resp.status != 200:
            self.errors[f"{kind} HTTP {resp.status}"] += 1
            return
        self.record(kind, started)
        if kind == "overview" and b"Working on it" in reply:
            self.later += 1
        if kind == "overview" and b"without the chart" in reply:
            self.chartless += 1

    async def slash_client(self, session: aiohttp.ClientSession) -> None:
        while self.loop.time() < self.stop:
            await self.post(session, "slash", self.spec.slash_body)

    async def healthz(self, session: aiohttp.ClientSession) -> None:
        while self.loop.time() < self.stop:
            started = self.loop.time()
            try:
                async with session.get(self.spec.base + "/healthz") as resp:
                    await resp.read()
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                self.errors[f"healthz {type(err).__name__}"] += 1
                continue
            if self.in_window():
                self.healthz_status[resp.status] += 1
            self.record("healthz", started)
            await asyncio.sleep(HEALTHZ_PAUSE)

    async def overviews(self, session: aiohttp.ClientSession) -> None:
        if self.spec.overview_rate <= 0:
            return
        fired: list[asyncio.Task[None]] = []
        while self.loop.time() < self.stop:
            fired.append(asyncio.ensure_future(self.post(session, "overview", self.spec.overview_body)))
            await asyncio.sleep(1 / self.spec.overview_rate)
        await asyncio.gather(*fired)

    async def marks(self) -> None:
        await asyncio.sleep(max(0.0, self.measure_from - self.loop.time()))
        print(START_MARK, flush=True)
        await asyncio.sleep(max(0.0, self.stop - self.loop.time()))
        print(END_MARK, flush=True)

    async def run(self) -> dict[str, Any]:
        connector = aiohttp.TCPConnector(limit=self.spec.clients + 32)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(
                self.marks(),
                self.healthz(session),
                self.overviews(session),
                *(self.slash_client(session) for _ in range(self.spec.clients)),
            )
        return {
            **{kind: _stats(values) for kind, values in self.lat.items()},
            "healthz_status": {str(k): v for k, v in self.healthz_status.items()},
            "overview_later": self.later,
            "overview_chartless": self.chartless,
            "errors": dict(self.errors),
        }


async def generate(spec: Spec) -> dict[str, Any]:
    return await Generator(spec).run()


def generator_main() -> int:
    spec = Spec(**json.loads(sys.stdin.read()))
    print(json.dumps(asyncio.run(generate(spec))), flush=True)
    return 0


class LoopLag:
    """The server loop's longest gap between ticks of a ticker (10 ms apart; `tick=0`
    only yields, so a gap is how long the loop was held), between marks."""

    def __init__(self, tick: float = 0.01) -> None:
        self.max_gap = 0.0
        self.measuring = False
        self.tick = tick

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(self.tick)
            now = loop.time()
            if self.measuring:
                self.max_gap = max(self.max_gap, now - last)
            last = now


async def run_load(label: str, spec: Spec) -> dict[str, Any]:
    lag = LoopLag()
    ticker = asyncio.ensure_future(lag.run())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.bench_loop", "--generate",
        cwd=REPO_ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(asdict(spec)).encode())
    await proc.stdin.drain()
    proc.stdin.close()
    result: dict[str, Any] | None = None
    cpu = wall = 0.0
    async for raw in proc.stdout:
        line = raw.decode().strip()
        if line == START_MARK:
            lag.measuring, cpu, wall = True, time.process_time(), time.monotonic()
        elif line == END_MARK:
            lag.measuring = False
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        elif line.startswith("{"):
            result = json.loads(line)
    ticker.cancel()
    if await proc.wait() != 0 or result is None:
        raise SystemExit(f"load generator for {label} failed (exit {proc.returncode})")
    result.update(label=label, loop_lag_max_ms=lag.max_gap * 1e3, server_cpu=cpu / wall if wall else math.nan)
    return result


def instructor_body(slash_body: str, user_id: str, user_name: str, text: str) -> str:
    """The same form as a slash client's, sent by `user_name` with `text`."""
    import urllib.parse

    fields = dict(urllib.parse.parse_qsl(slash_body, keep_blank_values=True))
    fields.update(user_id=user_id, user_name=user_name, text=text)
    return urllib.parse.urlencode(sorted(fields.items()))


async def warm_up(spec: Spec) -> None:
    """One overview before the runs: starts the renderer (or imports matplotlib) and caches
    the instructor's user lookup, so the runs measure the steady state."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(spec.base + ROUTE, data=spec.overview_body, headers=spec.headers) as resp,
    ):
        reply = await resp.json()
    text = str(reply.get("text", ""))
    if resp.status != 200 or not ("on its way" in text or "Working on it" in text):
        raise SystemExit(f"warm-up overview failed: {resp.status} {reply}")
    await asyncio.sleep(3)  # let a reply answered later (response_url) finish outside the runs


def row(r: dict[str, Any]) -> str:
    s, h = r["slash"], r["healthz"]
    return (
        f"{r['label']:<16} {s['n'] / r['seconds']:>7.0f} {s['p50_ms']:>8.1f} {s['p99_ms']:>8.1f} "
        f"{h['n']:>5} {h['p50_ms']:>8.1f} {h['p99_ms']:>8.1f} {h['max_ms']:>8.1f} "
        f"{sum(v for k, v in r['healthz_status'].items() if k != '200'):>5} "
        f"{r['overview']['n']:>4} {r['overview']['p50_ms']:>8.0f} {r['loop_lag_max_ms']:>7.0f} "
        f"{r['server_cpu'] * 100:>5.0f}%"
    )


HEADER = (
    f"{'run':<16} {'slash/s':>7} {'s p50':>8} {'s p99':>8} {'hz n':>5} {'hz p50':>8} {'hz p99':>8} "
    f"{'hz max':>8} {'hz!200':>5} {'ovw':>4} {'ovw p50':>8} {'lag max':>7} {'srvCPU':>6}"
)


async def bench(args: argparse.Namespace) -> int:
    quiet_logging()
    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        async with bot_server(Path(tmp), "deadlines") as bot:
            sstober = bot.users["sstober"]
            spec = Spec(
                base=f"http://127.0.0.1:{bot.port}",
                slash_body=bot.body,
                overview_body=instructor_body(bot.body, sstober, "sstober", "overview"),
                headers=bot.headers,
                clients=args.clients,
                overview_rate=0.0,
                warmup=args.warmup,
                seconds=args.seconds,
            )
            await warm_up(spec)
            print(
                f"bench loop: /idl deadlines x {args.clients} clients, /healthz "
                f"every {HEALTHZ_PAUSE * 1e3:.0f} ms after each answer, "
                f"overviews {args.overview_rate:g}/s in the second run; "
                f"{args.warmup:g} s warm-up + {args.seconds:g} s per run; load average before "
                f"{' '.join(f'{v:.2f}' for v in load_before)}",
                flush=True,
            )
            for label, rate in (("no overviews", 0.0), ("with overviews", args.overview_rate)):
                spec = Spec(**{**asdict(spec), "overview_rate": rate})
                result = await run_load(label, spec)
                result["seconds"] = args.seconds
                runs.append(result)
                print(f"  {label}: done", flush=True)
    return report(args, runs, load_before, os.getloadavg())


def report(
    args: argparse.Namespace,
    runs: list[dict[str, Any]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> int:
    quiet, busy = runs
    ratio = busy["slash"]["p99_ms"] / quiet["slash"]["p99_ms"]
    healthz_p99 = max(quiet["healthz"]["p99_ms"], busy["healthz"]["p99_ms"])
    met = healthz_p99 <= TARGET_HEALTHZ_P99_MS and ratio <= TARGET_SLASH_RATIO
    print()
    print(HEADER)
    for r in runs:
        print(row(r))
    print()
    print(
        f"slash p99 with/without overviews = {ratio:.2f} (target <= {TARGET_SLASH_RATIO:g}); "
        f"/healthz p99 = {healthz_p99:.1f} ms (target <= {TARGET_HEALTHZ_P99_MS:g} ms) "
        f"-> {'MET' if met else 'NOT MET'}"
    )
    print(
        f"overviews answered later via response_url (over the 2 s inline budget): {busy['overview_later']}"
        f" of {busy['overview']['n']}; answered inline without the chart: {busy['overview_chartless']}"
    )
    print(
        f"load average before {' '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{' '.join(f'{v:.2f}' for v in load_after)} ({os.cpu_count()} cores; other load skews the numbers)"
    )
    summary = {
        "bench": BENCH,
        "clients": args.clients,
        "overview_rate": args.overview_rate,
        "seconds": args.seconds,
        "ratio_slash_p99": round(ratio, 3),
        "healthz_p99_ms": round(healthz_p99, 2),
        "target_met": met,
        "runs": runs,
        "loadavg": {"before": list(load_before), "after": list(load_after)},
    }
    print(json.dumps(summary, default=lambda v: None))
    errors = {r["label"]: r["errors"] for r in runs if r["errors"]}
    if errors:
        print(f"FAILED: errors {errors}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--overview-rate", type=float, default=2.0)
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        return generator_main()
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
